//! mproc's `Pool`: per-task overhead of `map` over trivial tasks (default
//! chunk size, Python's formula), and start + close + join of a pool,
//! measured in a fresh process (this binary re-executed), as Python's
//! `pool.py start` is: a fork costs more the more the parent has mapped,
//! and the harness process has mapped every other scenario's peers.

use std::process::{Command, Stdio};

use anyhow::{Result, bail};
use mproc::Pool;

use crate::harness::context::Figures;
use crate::harness::tracked::{Tracked, dies_with_harness};
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
    let start = start_in_fresh_process(workers, starts, repeats)?;
    Ok(vec![("map".into(), map), ("start".into(), start)])
}

/// The argument that makes this binary measure pool starts and leave.
pub(crate) const START_ARG: &str = "--internal-pool-start";

/// Runs this binary with [`START_ARG`] and reads the nanoseconds per pool
/// of each repeat from its output.
fn start_in_fresh_process(workers: usize, starts: usize, repeats: usize) -> Result<Runs> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg(START_ARG)
        .args([workers, starts, repeats].map(|n| n.to_string()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    dies_with_harness(&mut command);
    let child = command.spawn()?;
    let entry = Tracked::process(child.id() as i32);
    let out = child.wait_with_output()?;
    drop(entry);
    if !out.status.success() {
        bail!(
            "pool start child failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let runs = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::parse::<f64>)
        .collect::<Result<Vec<_>, _>>()?;
    if runs.len() != repeats {
        bail!(
            "pool start child gave {} figures, not {repeats}",
            runs.len()
        );
    }
    Ok(Runs(runs))
}

/// The child's side: `WORKERS STARTS REPEATS`; prints nanoseconds per
/// pool start + close + join for each repeat.
///
/// # Errors
///
/// Bad arguments, or a pool that fails.
pub(crate) fn start_child(mut args: impl Iterator<Item = String>) -> Result<()> {
    let mut next = || -> Result<usize> {
        Ok(args
            .next()
            .ok_or_else(|| anyhow::anyhow!("missing argument"))?
            .parse()?)
    };
    let (workers, starts, repeats) = (next()?, next()?, next()?);
    // Every pool's handler thread is joined before the next fork.
    let runs = timed(starts, repeats, || {
        let pool = Pool::new(workers)?;
        pool.close();
        pool.join()?;
        Ok(())
    })?;
    let line: Vec<String> = runs.0.iter().map(|ns| format!("{ns:.0}")).collect();
    println!("{}", line.join(" "));
    Ok(())
}
