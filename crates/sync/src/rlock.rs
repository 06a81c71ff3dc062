//! [`RawRLock`] and [`RLock`]: Python's `multiprocessing.RLock`, robust.

use std::marker::PhantomData;
use std::time::{Duration, Instant};

use crate::identity::{self, Identity};
use crate::loom::atomic::{AtomicU32, Ordering};
use crate::tag::{check_tag, tag};
use crate::{LockGuard, LockResult, OwnerDied, RawLock, Result, TryLockError, TryLockResult};

const RLOCK_TAG: u32 = tag(b"RLCK");

/// A reentrant, robust, process-shared lock, 24 bytes `#[repr(C)]`: a
/// [`RawLock`], the recursion count, a tag.
///
/// The thread that holds it may acquire it again; it is released when every
/// guard is dropped. The holder is the thread whose id the inner lock's
/// word holds *and* whose identity (id and start time) its holder record
/// holds, so "do I hold it?" is two loads: a dead holder whose thread id
/// the caller was later given is not the caller, and is taken over with
/// `OwnerDied` as for [`RawLock`]. The count is touched only by the
/// holder. A holder's death is reported like [`RawLock`]'s, to the
/// outermost acquisition of the next holder.
///
/// # Examples
///
/// ```
/// let lock = mproc_sync::RawRLock::new();
/// let outer = lock.lock().unwrap();
/// let inner = lock.lock().unwrap(); // same thread: no deadlock
/// assert_eq!(lock.count(), 2);
/// drop(inner);
/// drop(outer);
/// assert!(!lock.is_locked());
/// ```
#[repr(C, align(8))]
pub struct RawRLock {
    lock: RawLock,
    count: AtomicU32,
    tag: AtomicU32,
}

#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<RawRLock>() == 24);

// SAFETY: repr(C) of a RawLock and atomics: no padding, any bit pattern is
// a valid value, no pointers, no Drop.
#[cfg(not(loom))]
unsafe impl mproc_shm::ShmSafe for RawRLock {}

impl RawRLock {
    /// Bytes a `RawRLock` occupies in a region.
    pub const SIZE: u64 = 24;

    /// An unlocked reentrant lock (for memory that is not a segment).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_sync::RawRLock::new().count(), 0);
    /// ```
    pub fn new() -> RawRLock {
        RawRLock {
            lock: RawLock::new(),
            count: AtomicU32::new(0),
            tag: AtomicU32::new(RLOCK_TAG),
        }
    }

    /// Writes an unlocked reentrant lock at `offset` in `region`.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm) for a bad range or a
    /// read-only region.
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(24);
    /// assert!(mproc_sync::RawRLock::init_in_place(&heap.region(), 0).is_ok());
    /// ```
    #[cfg(not(loom))]
    pub fn init_in_place<'a>(region: &mproc_shm::Region<'a>, offset: u64) -> Result<&'a RawRLock> {
        let r = region.get::<RawRLock>(offset)?;
        // Refuse a view of a read-only segment before writing anything.
        region.check_write(offset, RawRLock::SIZE)?;
        RawLock::init_in_place(region, offset)?;
        r.count.store(0, Ordering::Relaxed);
        r.tag.store(RLOCK_TAG, Ordering::Relaxed);
        Ok(r)
    }

    /// The reentrant lock at `offset` in `region`, after checking its bytes.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm),
    /// [`SyncError::Corrupt`](crate::SyncError::Corrupt).
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(24);
    /// assert!(mproc_sync::RawRLock::attach(&heap.region(), 0).is_err());
    /// ```
    #[cfg(not(loom))]
    pub fn attach<'a>(region: &mproc_shm::Region<'a>, offset: u64) -> Result<&'a RawRLock> {
        let r = region.get::<RawRLock>(offset)?;
        check_tag("rlock", offset, r.tag.load(Ordering::Relaxed), RLOCK_TAG)?;
        r.lock.validate(offset)?;
        Ok(r)
    }

    /// Whether someone holds it (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!mproc_sync::RawRLock::new().is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.lock.is_locked()
    }

    /// How many times the holder acquired it (0 when free; a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let r = mproc_sync::RawRLock::new();
    /// let _g = r.lock().unwrap();
    /// assert_eq!(r.count(), 1);
    /// ```
    pub fn count(&self) -> u32 {
        if self.lock.is_locked() {
            self.count.load(Ordering::Relaxed)
        } else {
            0
        }
    }

    /// Whether the calling thread holds it.
    ///
    /// # Examples
    ///
    /// ```
    /// let r = mproc_sync::RawRLock::new();
    /// let g = r.lock().unwrap();
    /// assert!(r.is_owned_by_current_thread());
    /// drop(g);
    /// assert!(!r.is_owned_by_current_thread());
    /// ```
    pub fn is_owned_by_current_thread(&self) -> bool {
        // The word's tid alone would also match a dead thread that had our
        // id (tid reuse): the holder record tells them apart. Why the
        // record is always ours when we hold it (we stored it in program
        // order right after our CAS, before our acquisition returned, so
        // no re-entry by this thread can read an older value), and why
        // Relaxed suffices, is at `RawLock::is_held_by`.
        self.lock.is_held_by(identity::current())
    }

    /// Acquires it, or counts one more acquisition if this thread holds it.
    ///
    /// # Errors
    ///
    /// `Err(OwnerDied(guard))` if the previous holder died holding it.
    ///
    /// # Examples
    ///
    /// ```
    /// let r = mproc_sync::RawRLock::new();
    /// let a = r.lock().unwrap();
    /// let b = r.lock().unwrap();
    /// drop((a, b));
    /// ```
    pub fn lock(&self) -> LockResult<RLockGuard<'_>> {
        if let Some(g) = self.reenter() {
            return Ok(g);
        }
        match self.lock.lock() {
            Ok(g) => Ok(self.first(g)),
            Err(OwnerDied(g)) => Err(OwnerDied(self.first(g))),
        }
    }

    /// [`lock`](Self::lock) without blocking.
    ///
    /// # Errors
    ///
    /// [`TryLockError::WouldBlock`] if another thread holds it,
    /// [`TryLockError::OwnerDied`].
    ///
    /// # Examples
    ///
    /// ```
    /// let r = mproc_sync::RawRLock::new();
    /// let _a = r.try_lock().unwrap();
    /// assert!(r.try_lock().is_ok()); // reentrant
    /// assert!(std::thread::scope(|s| s.spawn(|| r.try_lock().is_err()).join().unwrap()));
    /// ```
    pub fn try_lock(&self) -> TryLockResult<RLockGuard<'_>> {
        if let Some(g) = self.reenter() {
            return Ok(g);
        }
        self.map_try(self.lock.try_lock())
    }

    /// [`lock`](Self::lock), for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`TryLockError::TimedOut`], [`TryLockError::OwnerDied`].
    ///
    /// # Examples
    ///
    /// ```
    /// let r = mproc_sync::RawRLock::new();
    /// assert!(r.lock_timeout(std::time::Duration::from_millis(1)).is_ok());
    /// ```
    pub fn lock_timeout(&self, timeout: Duration) -> TryLockResult<RLockGuard<'_>> {
        // A free (or our own) lock is taken without reading the clock.
        match self.try_lock() {
            Err(TryLockError::WouldBlock) => {}
            taken => return taken,
        }
        self.lock_until(Instant::now().checked_add(timeout))
    }

    /// [`lock`](Self::lock), until `deadline` (`None`: no limit).
    ///
    /// # Errors
    ///
    /// [`TryLockError::TimedOut`], [`TryLockError::OwnerDied`].
    ///
    /// # Examples
    ///
    /// ```
    /// let r = mproc_sync::RawRLock::new();
    /// assert!(r.lock_until(None).is_ok());
    /// ```
    pub fn lock_until(&self, deadline: Option<Instant>) -> TryLockResult<RLockGuard<'_>> {
        if let Some(g) = self.reenter() {
            return Ok(g);
        }
        self.map_try(self.lock.lock_until(deadline))
    }

    fn reenter(&self) -> Option<RLockGuard<'_>> {
        // As `is_owned_by_current_thread`, keeping the identity for the guard.
        let me = identity::current();
        if !self.lock.is_held_by(me) {
            return None;
        }
        // Only the holder touches the count.
        let c = self.count.load(Ordering::Relaxed);
        self.count.store(c.saturating_add(1), Ordering::Relaxed);
        Some(RLockGuard {
            rlock: self,
            outer: None,
            taker: me,
            _not_send: PhantomData,
        })
    }

    fn first<'a>(&'a self, g: LockGuard<'a>) -> RLockGuard<'a> {
        // A dead holder's count is meaningless: start afresh.
        self.count.store(1, Ordering::Relaxed);
        RLockGuard {
            rlock: self,
            taker: g.taker(),
            outer: Some(g),
            _not_send: PhantomData,
        }
    }

    fn map_try<'a>(&'a self, r: TryLockResult<LockGuard<'a>>) -> TryLockResult<RLockGuard<'a>> {
        match r {
            Ok(g) => Ok(self.first(g)),
            Err(TryLockError::OwnerDied(g)) => Err(TryLockError::OwnerDied(self.first(g))),
            Err(TryLockError::WouldBlock) => Err(TryLockError::WouldBlock),
            Err(TryLockError::TimedOut { timeout }) => Err(TryLockError::TimedOut { timeout }),
        }
    }
}

impl Default for RawRLock {
    fn default() -> RawRLock {
        RawRLock::new()
    }
}

impl std::fmt::Debug for RawRLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRLock")
            .field("lock", &self.lock)
            .field("count", &self.count())
            .finish()
    }
}

/// One acquisition of a [`RawRLock`]; the lock is released when the last
/// guard of its holder drops. Not `Send`. As a [`LockGuard`], it counts
/// only in the thread that made it: the copy a forked child inherits
/// neither lowers the holder's count nor unlocks when it drops (Python's
/// `RLock.release` by a thread that does not own it is an error).
///
/// # Examples
///
/// ```
/// let r = mproc_sync::RLock::new().unwrap();
/// let g = r.lock().unwrap();
/// assert!(g.is_consistent());
/// ```
#[must_use = "the acquisition is undone as soon as the guard is dropped"]
pub struct RLockGuard<'a> {
    rlock: &'a RawRLock,
    /// The outermost guard owns the inner lock's guard.
    outer: Option<LockGuard<'a>>,
    /// The thread that made this acquisition (id and start time).
    taker: Identity,
    _not_send: PhantomData<*const ()>,
}

impl RLockGuard<'_> {
    /// See [`LockGuard::make_consistent`]; nested guards have nothing to
    /// repair (their outermost guard reported the death).
    ///
    /// # Examples
    ///
    /// ```
    /// let r = mproc_sync::RawRLock::new();
    /// r.lock().unwrap().make_consistent();
    /// ```
    pub fn make_consistent(&mut self) {
        if let Some(g) = &mut self.outer {
            g.make_consistent();
        }
    }

    /// See [`LockGuard::is_consistent`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_sync::RawRLock::new().lock().unwrap().is_consistent());
    /// ```
    pub fn is_consistent(&self) -> bool {
        self.outer.as_ref().is_none_or(LockGuard::is_consistent)
    }
}

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        // Another thread has a guard only as a forked child's copy of its
        // parent's memory: that process holds nothing (and the copy of the
        // inner guard, dropped with this one, unlocks nothing either).
        if identity::current() != self.taker {
            return;
        }
        let c = self.rlock.count.load(Ordering::Relaxed);
        let left = c.saturating_sub(1);
        self.rlock.count.store(left, Ordering::Relaxed);
        if left == 0 {
            // The last acquisition: release the lock, whichever guard (the
            // outermost or a nested one) happens to drop last.
            match self.outer.take() {
                Some(g) => drop(g),
                // SAFETY: the count reached 0 in the holder's thread (the
                // thread that made this guard, checked above), so this
                // thread holds the lock; the outer guard was dropped earlier
                // without unlocking (see below).
                None => unsafe { self.rlock.lock.unlock() },
            }
        } else if let Some(g) = self.outer.take() {
            // The outermost guard drops before nested ones: keep the lock
            // held; the last nested guard to drop unlocks it.
            std::mem::forget(g);
        }
    }
}

impl std::fmt::Debug for RLockGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RLockGuard")
            .field("count", &self.rlock.count())
            .finish()
    }
}

/// Python's `multiprocessing.RLock` in its own segment (see [`RawRLock`],
/// to which it dereferences).
///
/// # Examples
///
/// ```
/// let r = mproc_sync::RLock::create("doc-rlock").unwrap();
/// let same = mproc_sync::RLock::open("doc-rlock").unwrap();
/// let _a = r.lock().unwrap();
/// let _b = same.lock().unwrap(); // same thread, same lock: reentrant
/// assert_eq!(r.count(), 2);
/// ```
#[cfg(not(loom))]
pub struct RLock {
    shared: crate::shared::Shared<RawRLock>,
}

#[cfg(not(loom))]
impl RLock {
    /// A reentrant lock in an anonymous segment shared with children forked
    /// later.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_sync::RLock::new().is_ok());
    /// ```
    pub fn new() -> Result<RLock> {
        RLock::from_segment(RLock::builder().create_anonymous()?)
    }

    /// A reentrant lock in a new named segment.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_sync::RLock::create("doc-rlock-create").is_ok());
    /// ```
    pub fn create(name: &str) -> Result<RLock> {
        RLock::from_segment(RLock::builder().create(name)?)
    }

    fn builder() -> mproc_shm::SegmentBuilder<'static> {
        crate::shared::builder(mproc_shm::SegmentKind::RLock, 64, [0; 8], |p| {
            RawRLock::init_in_place(p, 0).map(drop)
        })
    }
}

#[cfg(not(loom))]
crate::shared::handle_common!(RLock, RawRLock, RLock, |_| Ok(()), "RLock::new()");
