//! [`LockGuard`]: proof of holding a [`RawLock`]; unlocks on drop.

use std::marker::PhantomData;

use crate::RawLock;
use crate::identity::Identity;

/// Holds a [`RawLock`] (of a [`Lock`](crate::Lock), a
/// [`Condition`](crate::Condition), or an embedded one) until dropped.
///
/// Not `Send`: the lock word names the thread that holds it, and a waiter
/// that finds that thread gone recovers the lock. For the same reason only
/// the thread that took the lock releases it: the copy of a guard that a
/// forked child inherits (one moved into the child's closure, say) unlocks
/// nothing when it drops, since the child never held the lock; the
/// parent's own guard still does.
///
/// # Examples
///
/// ```
/// let lock = mproc_sync::Lock::new().unwrap();
/// let guard = lock.lock().unwrap();
/// assert!(guard.is_consistent());
/// drop(guard); // unlocks
/// assert!(!lock.is_locked());
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    lock: &'a RawLock,
    died: bool,
    /// The thread that took the lock (id and start time: a forked
    /// descendant's thread given the same id is not it).
    taker: Identity,
    _not_send: PhantomData<*const ()>,
}

impl<'a> LockGuard<'a> {
    /// # Safety
    ///
    /// The calling thread, `taker`, holds `lock`, and from now
    /// on only this guard releases it.
    pub(crate) unsafe fn new(lock: &'a RawLock, died: bool, taker: Identity) -> LockGuard<'a> {
        LockGuard {
            lock,
            died,
            taker,
            _not_send: PhantomData,
        }
    }

    /// Whether the data is vouched for: false after a holder died, until
    /// [`make_consistent`](Self::make_consistent).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = mproc_sync::RawLock::new();
    /// assert!(lock.lock().unwrap().is_consistent());
    /// ```
    pub fn is_consistent(&self) -> bool {
        !self.died
    }

    /// Declares the protected data repaired after a holder's death: later
    /// lockers get `Ok` again. Without it, every later locker is told
    /// `OwnerDied` too (the lock itself keeps working either way).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = mproc_sync::RawLock::new();
    /// let mut g = lock.lock().unwrap();
    /// g.make_consistent(); // harmless when nothing died
    /// assert!(g.is_consistent());
    /// ```
    pub fn make_consistent(&mut self) {
        // A forked child's copy of the guard holds nothing (see `drop`).
        if self.died && crate::identity::current() == self.taker {
            // SAFETY: the calling thread made this guard (checked just
            // above), so it holds the lock.
            unsafe { self.lock.make_consistent() };
            self.died = false;
        }
    }

    /// The lock this guard holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = mproc_sync::RawLock::new();
    /// let g = lock.lock().unwrap();
    /// assert!(std::ptr::eq(g.raw(), &lock));
    /// ```
    pub fn raw(&self) -> &'a RawLock {
        self.lock
    }

    /// The thread that took the lock.
    pub(crate) fn taker(&self) -> Identity {
        self.taker
    }

    /// Releases the lock and hands back the lock it held (for
    /// [`Condition`](crate::Condition), which re-acquires it).
    pub(crate) fn unlock_into_raw(self) -> &'a RawLock {
        let lock = self.lock;
        std::mem::drop(self);
        lock
    }
}

impl Drop for LockGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // A guard is not Send, so another thread has it only as a forked
        // child's copy of its parent's memory: that process never held the
        // lock, and unlocking would release whoever holds it now.
        if crate::identity::current() != self.taker {
            return;
        }
        // SAFETY: the guard was made by the calling thread (checked just
        // above), which took the lock then, and it is dropped only once;
        // `died` tracks the OWNER_DIED bit, which only the holder changes
        // (through this guard's `make_consistent`).
        unsafe { self.lock.unlock_as(self.died) };
    }
}

impl std::fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockGuard")
            .field("consistent", &!self.died)
            .finish()
    }
}
