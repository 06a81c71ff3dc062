//! [`fork_epoch`]: a number that changes in every forked child, for caches
//! of per-process or per-thread facts (ids, start times) that a child
//! inherits but must not trust.

use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

static EPOCH: AtomicU64 = AtomicU64::new(0);
static BUMP_IN_CHILD: Once = Once::new();

/// Runs in the child of every `fork`, before `fork` returns there.
extern "C" fn bump() {
    // An atomic RMW: async-signal-safe, as a fork handler must be.
    EPOCH.fetch_add(1, Ordering::Relaxed);
}

/// The calling process's fork epoch: the same in a process until it forks,
/// different in each forked child (a `pthread_atfork` child handler,
/// registered by the first call, moves it on).
///
/// A cache that records the epoch with what it caches, and refills when
/// the epoch differs, never serves a child its parent's facts, even when
/// the child was given an id that its cache holds (a descendant with the
/// pid or tid of a dead ancestor).
///
/// # Examples
///
/// ```
/// use mproc_sys::{exit_immediately, fork, fork_epoch, waitpid, ExitStatus, ForkResult};
///
/// let before = fork_epoch();
/// assert_eq!(fork_epoch(), before);
/// // SAFETY: the child only compares two numbers and calls `_exit`.
/// match unsafe { fork() }.unwrap() {
///     ForkResult::Child => exit_immediately(if fork_epoch() != before { 0 } else { 1 }),
///     ForkResult::Parent { child } => {
///         assert_eq!(waitpid(child, false).unwrap(), Some(ExitStatus::Exited(0)));
///     }
/// }
/// assert_eq!(fork_epoch(), before);
/// ```
#[inline]
pub fn fork_epoch() -> u64 {
    BUMP_IN_CHILD.call_once(|| {
        // SAFETY: the handler only updates a static atomic (no locks, no
        // allocation) and lives for the whole program.
        unsafe {
            libc::pthread_atfork(None, None, Some(bump));
        }
    });
    // Relaxed: the counter is compared for equality only and publishes
    // nothing; in the child it was moved on before `fork` returned.
    EPOCH.load(Ordering::Relaxed)
}
