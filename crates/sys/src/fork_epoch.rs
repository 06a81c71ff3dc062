//! [`fork_epoch`]: a number that changes in every forked child, for caches
//! of per-process or per-thread facts (ids, start times) that a child
//! inherits but must not trust.

use std::sync::atomic::{AtomicU64, Ordering};

/// The epoch. Its top bit marks the values handed out while the fork
/// handler is not registered yet, each one different, which no cache can
/// match.
static EPOCH: AtomicU64 = AtomicU64::new(0);
const UNIQUE: u64 = 1 << 63;
static NEXT_UNIQUE: AtomicU64 = AtomicU64::new(UNIQUE);

/// Registration of the fork handler: 0 not yet, `pid << 2 | 1` while
/// process `pid` registers it, [`DONE`] once registered.
static REGISTRATION: AtomicU64 = AtomicU64::new(0);
const DONE: u64 = 2;

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
/// Registration never waits: a thread that finds another thread of its
/// process registering gets a value no cache can match (it refills), and a
/// child forked in the middle of its parent's registration registers
/// itself (a thread blocked in a one-time initializer at the fork would
/// otherwise leave the child waiting forever).
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
    // Acquire: pairs with the Release store of DONE, after which the
    // handler is in glibc's list (it runs in every later fork).
    if REGISTRATION.load(Ordering::Acquire) == DONE || register() {
        // Relaxed: compared for equality only; in a child it was moved on
        // before `fork` returned there.
        EPOCH.load(Ordering::Relaxed)
    } else {
        NEXT_UNIQUE.fetch_add(1, Ordering::Relaxed)
    }
}

/// Registers the fork handler unless another thread of this process is
/// doing it; returns whether it is registered.
#[cold]
fn register() -> bool {
    let me = crate::getpid() as u64;
    let mine = (me << 2) | 1;
    loop {
        let seen = REGISTRATION.load(Ordering::Acquire);
        if seen == DONE {
            return true;
        }
        if seen == mine {
            // Another thread of this process is registering right now.
            return false;
        }
        // Nobody yet, or a registration begun in the parent before this
        // process was forked from it, which no thread here will finish.
        if REGISTRATION
            .compare_exchange(seen, mine, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            continue;
        }
        // SAFETY: the handler only updates a static atomic (no locks, no
        // allocation) and lives for the whole program. Registered twice
        // (a child that inherited its parent's finished registration but
        // not the DONE mark), it bumps twice: still a new epoch.
        unsafe {
            libc::pthread_atfork(None, None, Some(bump));
        }
        REGISTRATION.store(DONE, Ordering::Release);
        return true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // In a forked child, the only thread there, so that the registration
    // state a test sets up is not raced by the other tests' threads (which
    // all call `fork_epoch`).
    use crate::test_child::passes_in_child;

    #[test]
    fn a_registration_left_by_another_process_is_taken_over() {
        assert!(passes_in_child(|| {
            // As if this process had been forked while its parent (pid 1
            // here) was registering.
            REGISTRATION.store((1 << 2) | 1, Ordering::SeqCst);
            fork_epoch() < UNIQUE && REGISTRATION.load(Ordering::SeqCst) == DONE
        }));
    }

    #[test]
    fn values_handed_out_while_registering_match_no_cache() {
        assert!(passes_in_child(|| {
            // As if another thread of this process were registering.
            let mine = ((crate::getpid() as u64) << 2) | 1;
            REGISTRATION.store(mine, Ordering::SeqCst);
            let a = fork_epoch();
            let b = fork_epoch();
            REGISTRATION.store(DONE, Ordering::SeqCst);
            a >= UNIQUE && b >= UNIQUE && a != b && fork_epoch() < UNIQUE
        }));
    }
}
