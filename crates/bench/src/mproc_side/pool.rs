//! mproc's `Pool`: per-task overhead of `map` over trivial tasks (default
//! chunk size, Python's formula), and start + close + join of a pool.

use anyhow::{Result, bail};
use mproc::Pool;

use crate::harness::context::Figures;
use crate::peers::fork_floor::timed;
use crate::report::model::Runs;

/// The task: returns its argument.
fn identity(x: u64) -> u64 {
    x
}

/// Nanoseconds per task of `pool.map(identity, 0..tasks)` on a live pool of
/// `workers`, and nanoseconds per pool start + close + join.
///
/// # Errors
///
/// When the pool fails or returns wrong results.
pub(crate) fn figures(
    workers: usize,
    tasks: usize,
    starts: usize,
    repeats: usize,
) -> Result<Figures> {
    let map = {
        let pool = Pool::new(workers)?;
        let expected: Vec<u64> = (0..tasks as u64).collect();
        let mut per_task = Vec::new();
        // Warm-up, then the repeats.
        for r in 0..=repeats {
            let t0 = std::time::Instant::now();
            let got = pool.map(identity, expected.iter().copied())?;
            let took = t0.elapsed();
            if got != expected {
                bail!("map returned wrong results");
            }
            if r > 0 {
                per_task.push(took.as_nanos() as f64 / tasks as f64);
            }
        }
        pool.close();
        pool.join()?;
        Runs(per_task)
    };
    // Every pool's handler thread is joined before the next fork.
    let start = timed(starts, repeats, || {
        let pool = Pool::new(workers)?;
        pool.close();
        pool.join()?;
        Ok(())
    })?;
    Ok(vec![("map".into(), map), ("start".into(), start)])
}
