//! Condition scenario.
use crate::common::Ctx;
use mproc_torture::{Rng, Tally};
pub(crate) fn run(_c: &Ctx, _r: &mut Rng, _n: u64, _t: &mut Tally) {}
