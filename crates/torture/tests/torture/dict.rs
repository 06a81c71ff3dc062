//! Dict scenario (to come).
use crate::common::Ctx;
use mproc_torture::{Rng, Tally};
pub(crate) fn run(_ctx: &Ctx, _rng: &mut Rng, _rounds: u64, _tally: &mut Tally) {}
