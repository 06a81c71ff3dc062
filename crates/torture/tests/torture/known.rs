//! Minimal reproductions of bugs the torture suite found in other crates,
//! skipped unless `MPROC_TORTURE_KNOWN_BUGS=1` (they fail until fixed; the
//! owners of those crates run them to confirm a fix, then move them into
//! the scenarios as plain checks).

use mproc_torture::{Board, Rng, Tally};

use crate::common::Ctx;

/// The note the pool scenario counts re-run tasks under.
pub(crate) const POOL_RERUN: &str =
    "KNOWN BUG pool_reruns_finished_tasks_of_a_killed_worker (tasks run twice tolerated)";

const VAR: &str = "MPROC_TORTURE_KNOWN_BUGS";

/// A reproduction: its name, what it shows, and the test.
type Repro = (&'static str, &'static str, fn(&Ctx, &mut Tally));

/// Runs the reproductions if asked to; otherwise says what is skipped.
pub(crate) fn run(ctx: &Ctx, _rng: &mut Rng, _rounds: u64, tally: &mut Tally) {
    let bugs: [Repro; 1] = [(
        "pool_reruns_finished_tasks_of_a_killed_worker",
        "Pool: when a worker dies mid-task, tasks it had already finished \
             (results not yet sent) run a second time on another worker: their \
             side effects happen twice, while the docs say the dead worker's \
             task fails alone and the rest of its work goes elsewhere",
        pool_reruns_finished_tasks_of_a_killed_worker,
    )];
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

/// Runs of each task of the pool reproduction, on a board the workers
/// inherit.
static RUNS: std::sync::OnceLock<Board> = std::sync::OnceLock::new();

/// Task 5 kills its own worker; the others count their runs.
fn counted_task(i: u64) -> u64 {
    if let Some(b) = RUNS.get() {
        b.add(i as usize, 1);
    }
    if i == 5 {
        let _ = mproc_sys::kill(mproc_sys::getpid(), mproc_sys::Signal::Kill);
    }
    i
}

/// One worker maps tasks 0..10; task 5 kills it. Expected: task 5 fails
/// with `WorkerLost`, every other task runs once. Observed: tasks 0..5,
/// finished by the dead worker before it died, run again.
fn pool_reruns_finished_tasks_of_a_killed_worker(ctx: &Ctx, tally: &mut Tally) {
    let b = RUNS.get_or_init(|| Board::new(10).unwrap_or_else(|e| panic!("board: {e}")));
    for i in 0..10 {
        b.set(i, 0);
    }
    let pool = mproc_process::Pool::new(1).unwrap_or_else(|e| tally.fail(&e.to_string()));
    ctx.adopt(&pool.pids());
    let results = pool
        .map_each(counted_task, 0..10u64)
        .unwrap_or_else(|e| tally.fail(&e.to_string()));
    drop(pool);
    let failed: Vec<usize> = (0..10).filter(|&i| results[i].is_err()).collect();
    let runs: Vec<u64> = (0..10).map(|i| b.get(i)).collect();
    let ran_twice: Vec<usize> = (0..10).filter(|&i| i != 5 && runs[i] > 1).collect();
    tally.check(failed == [5] && ran_twice.is_empty(), || {
        format!("failed tasks {failed:?} (expected [5]); runs per task {runs:?}: tasks {ran_twice:?} ran twice")
    });
}
