//! Floors for starting a process: a raw `fork` whose child `_exit`s at once,
//! and a re-execution of this binary that exits at once (what any spawn start
//! method pays), each followed by a wait for the child.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use mproc::sys::{ExitStatus, ForkResult};

use crate::harness::spawn_noop::NOOP_ARG;
use crate::report::model::Runs;

/// Nanoseconds per `fork` + `_exit` + `waitpid`, `starts` per repeat.
///
/// # Errors
///
/// When `fork` or `waitpid` fails.
pub(crate) fn fork_join(starts: usize, repeats: usize) -> Result<Runs> {
    timed(starts, repeats, || {
        // SAFETY: the harness's only other thread here, the signal watcher,
        // holds no lock; the child only `_exit`s.
        match unsafe { mproc::sys::fork() }.context("fork")? {
            ForkResult::Child => mproc::sys::exit_immediately(0),
            ForkResult::Parent { child } => match mproc::sys::waitpid(child, false)? {
                Some(ExitStatus::Exited(0)) => Ok(()),
                other => bail!("child ended with {other:?}"),
            },
        }
    })
}

/// Nanoseconds per start + wait of this binary as a no-op child.
///
/// # Errors
///
/// When the binary cannot be found or started.
pub(crate) fn exec_join(starts: usize, repeats: usize) -> Result<Runs> {
    // The running file itself, even if its path was replaced since it
    // started (a rebuild): what a spawn start method re-executes.
    let exe = std::path::Path::new("/proc/self/exe");
    timed(starts, repeats, || {
        let status = Command::new(exe).arg(NOOP_ARG).status()?;
        if !status.success() {
            bail!("no-op child exited with {status}");
        }
        Ok(())
    })
}

/// Warm-up, then `repeats` timings of `starts` calls of `start`, in
/// nanoseconds per call.
pub(crate) fn timed(
    starts: usize,
    repeats: usize,
    mut start: impl FnMut() -> Result<()>,
) -> Result<Runs> {
    start()?;
    let mut runs = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let t0 = Instant::now();
        for _ in 0..starts {
            start()?;
        }
        runs.push(t0.elapsed().as_nanos() as f64 / starts as f64);
    }
    Ok(Runs(runs))
}
