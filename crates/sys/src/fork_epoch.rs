//! A per-process counter that changes in the child at every `fork`, so that
//! caches of the process identity (pid, start time) can tell, with one
//! atomic load, that they now run in another process.

use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

static EPOCH: AtomicU64 = AtomicU64::new(0);
static REGISTER: Once = Once::new();

extern "C" fn bump_in_child() {
    EPOCH.fetch_add(1, Ordering::Relaxed);
}

/// A number that differs in a forked child from what it was in the parent
/// at the moment of the fork (a `pthread_atfork` child handler bumps it).
///
/// The first call registers the handler; forks before that first call are
/// not counted, which is harmless for a cache that is filled only after
/// calling this function.
///
/// # Examples
///
/// ```
/// use mproc_sys::{fork, fork_epoch, waitpid, exit_immediately, ExitStatus, ForkResult};
///
/// let before = fork_epoch();
/// // SAFETY: the child only reads an atomic and calls `_exit`.
/// match unsafe { fork() }.unwrap() {
///     ForkResult::Child => exit_immediately(if fork_epoch() != before { 0 } else { 1 }),
///     ForkResult::Parent { child } => {
///         assert_eq!(waitpid(child, false).unwrap(), Some(ExitStatus::Exited(0)));
///         assert_eq!(fork_epoch(), before);
///     }
/// }
/// ```
pub fn fork_epoch() -> u64 {
    REGISTER.call_once(|| {
        // SAFETY: `bump_in_child` is async-signal-safe (one atomic add) and
        // lives for the whole program; no prepare/parent handlers.
        unsafe {
            libc::pthread_atfork(None, None, Some(bump_in_child));
        }
    });
    EPOCH.load(Ordering::Relaxed)
}
