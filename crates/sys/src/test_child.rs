//! Checks that must run in a forked child, the only thread there (for
//! unit tests that set up process-global state other test threads read).

use std::os::fd::AsFd;
use std::time::Duration;

use crate::{ExitStatus, ForkResult, Signal, exit_immediately, fork, kill, pidfd_open, waitpid};

/// Runs `check` in a forked child and returns its verdict; a child that
/// has not ended within 10 s is killed and counts as failed.
pub(crate) fn passes_in_child(check: fn() -> bool) -> bool {
    // SAFETY: `check` touches only atomics and makes system calls (no
    // lock another test thread could hold at the fork; glibc makes
    // allocation safe in a child), and the child leaves with `_exit`.
    match unsafe { fork() }.unwrap() {
        ForkResult::Child => exit_immediately(if check() { 0 } else { 1 }),
        ForkResult::Parent { child } => {
            let fd = pidfd_open(child).unwrap();
            let ended = crate::wait_readable(fd.as_fd(), Some(Duration::from_secs(10))).unwrap();
            if !ended {
                let _ = kill(child, Signal::Kill);
            }
            let status = waitpid(child, false).unwrap();
            ended && status == Some(ExitStatus::Exited(0))
        }
    }
}
