//! Forked children: run a closure in a child process that leaves with
//! `_exit`, and never leave one behind.
//!
//! The harness forks only while it has no other thread but the signal
//! watcher, which waits in `read` holding no lock (threads of the
//! in-process peers are joined before their measurement returns), so the
//! child inherits no held lock. Live children are recorded (see
//! [`tracked`](crate::harness::tracked)) for the watcher to kill.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use mproc::sys::{ExitStatus, ForkResult, Signal};

use crate::harness::tracked::Tracked;

/// A child process forked by [`fork_child`]; killed and reaped on drop if
/// not joined.
#[derive(Debug)]
pub(crate) struct ForkedChild {
    pid: i32,
    /// Its entry in the record of live children, until it is reaped.
    tracked: Option<Tracked>,
}

/// Exit status of a child whose closure returned an error or panicked.
const FAILED: i32 = 70;

/// Forks; the child runs `body` and exits 0 on `Ok`, [`FAILED`] otherwise.
/// The child is killed if the harness dies.
///
/// # Errors
///
/// When `fork` fails, or the run is stopping on a signal.
pub(crate) fn fork_child(body: impl FnOnce() -> Result<()>) -> Result<ForkedChild> {
    crate::harness::interrupt::ensure_running()?;
    let harness = mproc::sys::getpid();
    // SAFETY: the harness's only other thread when it forks, the signal
    // watcher, holds no lock (see the module docs), and the child leaves
    // through `exit_immediately`.
    match unsafe { mproc::sys::fork() }.context("fork")? {
        ForkResult::Child => {
            let _ = mproc::sys::set_parent_death_signal(Some(Signal::Kill));
            if mproc::sys::getppid() != harness {
                // The harness died before the request was made.
                mproc::sys::exit_immediately(FAILED);
            }
            crate::harness::pin::other_side();
            let ok = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
                Ok(Ok(())) => true,
                Ok(Err(e)) => {
                    eprintln!("mproc-bench child process: {e:#}");
                    false
                }
                Err(_) => false,
            };
            mproc::sys::exit_immediately(if ok { 0 } else { FAILED })
        }
        ForkResult::Parent { child } => Ok(ForkedChild {
            pid: child,
            tracked: Some(Tracked::process(child)),
        }),
    }
}

impl ForkedChild {
    /// The child's pid.
    #[allow(dead_code)]
    pub(crate) fn pid(&self) -> i32 {
        self.pid
    }

    /// Waits up to `limit` for the child to exit 0.
    ///
    /// # Errors
    ///
    /// When it exits otherwise, or is still running at `limit` (then it is
    /// killed).
    pub(crate) fn join(mut self, limit: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            if let Some(status) = mproc::sys::waitpid(self.pid, true).context("waitpid")? {
                // Reaped: its pid may name another process from now on.
                self.tracked = None;
                return match status {
                    ExitStatus::Exited(0) => Ok(()),
                    ExitStatus::Exited(FAILED) => bail!("the child process's side failed"),
                    other => bail!("child process ended with {other:?}"),
                };
            }
            if start.elapsed() > limit {
                bail!("child process still running after {}s", limit.as_secs());
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

impl Drop for ForkedChild {
    fn drop(&mut self) {
        // Not reaped yet: killed, reaped, and only then off the record.
        if let Some(entry) = self.tracked.take() {
            let _ = mproc::sys::kill(self.pid, Signal::Kill);
            let _ = mproc::sys::waitpid(self.pid, false);
            drop(entry);
        }
    }
}
