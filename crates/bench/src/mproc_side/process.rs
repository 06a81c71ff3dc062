//! mproc's `Process`: start + join of a no-op child, fork and spawn.

use anyhow::{Result, bail};
use mproc::process::{Process, StartMethod};

use crate::peers::fork_floor::timed;
use crate::report::model::Runs;

/// The spawned child's function: does nothing.
fn noop(_: ()) {}

fn start_join(method: StartMethod) -> Result<()> {
    let process = match method {
        StartMethod::Fork => Process::new(|| ()),
        _ => Process::with_args(noop, ()),
    };
    let code = process.start_method(method).start()?.join()?;
    if code != 0 {
        bail!("no-op child exited with {code}");
    }
    Ok(())
}

/// Nanoseconds per start + join with `method`.
///
/// # Errors
///
/// When a child cannot be started or joined, or exits non-zero.
pub(crate) fn start_join_runs(method: StartMethod, starts: usize, repeats: usize) -> Result<Runs> {
    timed(starts, repeats, || start_join(method))
}
