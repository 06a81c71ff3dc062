//! Minimal reproductions of bugs the torture suite found in other crates,
//! skipped unless `MPROC_TORTURE_KNOWN_BUGS=1` (they fail until fixed; the
//! owners of those crates run them to confirm a fix, then move them into
//! the scenarios as plain checks).

use mproc_torture::{Rng, Tally};

use crate::common::Ctx;

const VAR: &str = "MPROC_TORTURE_KNOWN_BUGS";

/// A reproduction: its name, what it shows, and the test.
type Repro = (&'static str, &'static str, fn(&Ctx, &mut Tally));

/// Runs the reproductions if asked to; otherwise says what is skipped.
pub(crate) fn run(ctx: &Ctx, _rng: &mut Rng, _rounds: u64, tally: &mut Tally) {
    // None known at present (the pool's re-run of finished tasks of a
    // killed worker is fixed; its reproduction is a check of the pool
    // scenario now).
    let bugs: [Repro; 0] = [];
    let enabled = std::env::var(VAR).is_ok_and(|v| v == "1");
    let mut failed = Vec::new();
    for (name, what, f) in bugs {
        if enabled {
            tally.round(0, 0);
            tally.context(name);
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(ctx, tally)));
            if run.is_err() {
                failed.push(name);
            }
        } else {
            println!("    skipped (known bug, {VAR}=1 runs it): {name}: {what}");
        }
    }
    if !failed.is_empty() {
        tally.fail(&format!("still failing: {failed:?}"));
    }
}
