//! Forking replacement workers (fork start method) without the handler
//! thread ever waiting for stdout's lock.
//!
//! A fork takes the stdout and stderr locks, so that no child inherits them
//! held by a thread it does not have. Forked from the handler, a thread of
//! the user's that keeps `stdout().lock()` while it waits for results would
//! stall the pool for good: the handler waits for the lock, the user for
//! results only the handler delivers. So the handler only posts a launch
//! here. It is run by whichever comes first: the pool's forker thread, as
//! soon as it has the locks, or a caller waiting for a result of this pool
//! (every [`POLL`]), which may be the very thread that holds stdout (the
//! lock is reentrant). The forked child is handed back to the handler.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::Duration;

use super::error::PoolError;
use super::shared::Shared;
use crate::child::Child;

/// How often a caller waiting for results looks for a launch to run.
pub(crate) const POLL: Duration = Duration::from_millis(10);

/// Forks one worker; returns its child.
pub(crate) type ForkWorker = Box<dyn FnOnce() -> Result<Child, PoolError> + Send>;

/// A worker to fork into `slot`.
pub(crate) struct Launch {
    pub(crate) slot: usize,
    pub(crate) fork: ForkWorker,
}

#[derive(Default)]
struct Queues {
    pending: VecDeque<Launch>,
    /// Forked (or failed), not yet taken by the handler: slot and outcome.
    done: Vec<(usize, Result<Child, PoolError>)>,
    stopped: bool,
}

/// Launches posted by the handler, run by the forker thread or a caller.
#[derive(Default)]
pub(crate) struct Launcher {
    queues: Mutex<Queues>,
    /// Signals the forker thread: a launch was posted, or the pool stops.
    posted: Condvar,
    /// A launch is pending (read without the lock by waiting callers).
    any_pending: AtomicBool,
    /// An outcome waits for the handler.
    any_done: AtomicBool,
    /// The pool's shared state, to wake its handler with an outcome.
    shared: OnceLock<Weak<Shared>>,
}

impl std::fmt::Debug for Launcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launcher")
            .field("any_pending", &self.any_pending.load(Ordering::Relaxed))
            .field("any_done", &self.any_done.load(Ordering::Relaxed))
            .finish()
    }
}

impl Launcher {
    fn queues(&self) -> MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes the handler of `shared` when an outcome is ready.
    pub(crate) fn wake_through(&self, shared: &Arc<Shared>) {
        let _ = self.shared.set(Arc::downgrade(shared));
    }

    /// Posts a launch (from the handler).
    pub(crate) fn post(&self, launch: Launch) {
        let mut q = self.queues();
        if q.stopped {
            return;
        }
        q.pending.push_back(launch);
        self.any_pending.store(true, Ordering::Release);
        self.posted.notify_all();
    }

    /// Whether a launch waits to be run.
    pub(crate) fn has_pending(&self) -> bool {
        self.any_pending.load(Ordering::Acquire)
    }

    /// Whether an outcome waits for the handler.
    pub(crate) fn has_done(&self) -> bool {
        self.any_done.load(Ordering::Acquire)
    }

    /// Runs one pending launch on this thread, if any; whether it did.
    ///
    /// Takes stdout's and stderr's locks first, as the fork will (the same
    /// order), then the queues' lock, held across the fork so that
    /// [`stop`](Self::stop) never misses a child forked meanwhile (the
    /// child never touches it).
    pub(crate) fn run_one(&self) -> bool {
        if !self.has_pending() {
            return false;
        }
        let out = std::io::stdout().lock();
        let err = std::io::stderr().lock();
        let mut q = self.queues();
        let Some(launch) = q.pending.pop_front() else {
            return false;
        };
        self.any_pending
            .store(!q.pending.is_empty(), Ordering::Release);
        let outcome = (launch.fork)();
        q.done.push((launch.slot, outcome));
        self.any_done.store(true, Ordering::Release);
        drop(q);
        drop(err);
        drop(out);
        if let Some(shared) = self.shared.get().and_then(Weak::upgrade) {
            shared.poke();
        }
        true
    }

    /// The outcomes of the launches run since the last call (handler).
    pub(crate) fn take_done(&self) -> Vec<(usize, Result<Child, PoolError>)> {
        let mut q = self.queues();
        self.any_done.store(false, Ordering::Release);
        std::mem::take(&mut q.done)
    }

    /// Stops launching: pending launches are dropped, the forker thread
    /// ends. Returns the children forked and not yet taken, for the
    /// handler to kill.
    pub(crate) fn stop(&self) -> Vec<Child> {
        let mut q = self.queues();
        q.stopped = true;
        q.pending.clear();
        self.any_pending.store(false, Ordering::Release);
        self.posted.notify_all();
        q.done.drain(..).filter_map(|(_, r)| r.ok()).collect()
    }

    /// The forker thread's loop: runs launches as they come, each once it
    /// holds stdout's lock, until [`stop`](Self::stop).
    pub(crate) fn serve(&self) {
        loop {
            {
                let mut q = self.queues();
                while q.pending.is_empty() && !q.stopped {
                    q = self.posted.wait(q).unwrap_or_else(PoisonError::into_inner);
                }
                if q.stopped {
                    return;
                }
            }
            self.run_one();
        }
    }
}
