//! Sync scenarios (to come).
use crate::common::Ctx;
use mproc_torture::{Rng, Tally};
pub(crate) fn lock(_ctx: &Ctx, _rng: &mut Rng, _rounds: u64, _tally: &mut Tally) {}
pub(crate) fn barrier(_ctx: &Ctx, _rng: &mut Rng, _rounds: u64, _tally: &mut Tally) {}
pub(crate) fn condition(_ctx: &Ctx, _rng: &mut Rng, _rounds: u64, _tally: &mut Tally) {}
