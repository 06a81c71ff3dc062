//! [`Lock`]: Python's `multiprocessing.Lock`, robust, in its own segment.

use mproc_shm::{Segment, SegmentKind};

use crate::shared::{self, Shared};
use crate::{RawLock, Result};

/// A process-shared, robust lock in its own segment: Python's
/// `multiprocessing.Lock`, plus recovery when a holder dies.
///
/// `Lock::new()` lives in an anonymous segment that children forked
/// afterwards share; `Lock::create(name)` / `Lock::open(name)` serve
/// unrelated processes. It dereferences to [`RawLock`], whose `lock`,
/// `try_lock`, `lock_timeout` return a [`LockGuard`](crate::LockGuard).
///
/// # Examples
///
/// ```
/// use mproc_sync::{Lock, OwnerDied};
///
/// let lock = Lock::create("doc-lock").unwrap();
/// let same = Lock::open("doc-lock").unwrap(); // in real use, another process
/// match same.lock() {
///     Ok(_guard) => { /* critical section */ }
///     Err(OwnerDied(mut guard)) => guard.make_consistent(), // repair first
/// }
/// assert!(!lock.is_locked());
/// ```
pub struct Lock {
    shared: Shared<RawLock>,
}

impl Lock {
    /// Payload bytes of a lock segment.
    const PAYLOAD: u64 = 64;

    /// A lock in an anonymous segment, shared with children forked later.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm) if the memory cannot be had.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = mproc_sync::Lock::new().unwrap();
    /// assert!(lock.try_lock().is_ok());
    /// ```
    pub fn new() -> Result<Lock> {
        Lock::from_segment(Lock::builder().create_anonymous()?)
    }

    /// A lock in a new named segment.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm): invalid name, name taken, ...
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = mproc_sync::Lock::create("doc-lock-create").unwrap();
    /// assert!(lock.segment().name().is_some());
    /// ```
    pub fn create(name: &str) -> Result<Lock> {
        Lock::from_segment(Lock::builder().create(name)?)
    }

    /// Opens the lock another process created under `name`.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm) (`NotFound`, `WrongKind`
    /// for a segment of another kind, ...), [`SyncError::Corrupt`](crate::SyncError::Corrupt).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{ShmError, SegmentKind};
    /// use mproc_sync::{Event, Lock, SyncError};
    /// let _e = Event::create("doc-lock-wrong-kind").unwrap();
    /// let err = Lock::open("doc-lock-wrong-kind").unwrap_err();
    /// assert!(matches!(err, SyncError::Shm(ShmError::WrongKind { found: SegmentKind::Event, expected: SegmentKind::Lock })));
    /// ```
    pub fn open(name: &str) -> Result<Lock> {
        Lock::from_segment(shared::open(name, SegmentKind::Lock)?)
    }

    /// A handle on the lock in `seg` (of kind [`SegmentKind::Lock`]),
    /// validating its bytes.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm) with `WrongKind`, or with
    /// `ReadOnly` naming the segment if it was opened
    /// [read-only](mproc_shm::SegmentOpener::read_only) (a lock must write
    /// to lock), [`SyncError::Corrupt`](crate::SyncError::Corrupt).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{Segment, SegmentKind, ShmError};
    /// use mproc_sync::{Lock, SyncError};
    /// let raw = Segment::builder(SegmentKind::Lock, 64).create_anonymous().unwrap();
    /// assert!(Lock::from_segment(raw).is_err()); // never initialized
    ///
    /// let lock = Lock::create("doc-lock-from-ro").unwrap();
    /// let ro = Segment::opener("doc-lock-from-ro").read_only().open().unwrap();
    /// let err = Lock::from_segment(ro).unwrap_err();
    /// assert!(matches!(err, SyncError::Shm(ShmError::ReadOnly { name, .. }) if name == "doc-lock-from-ro"));
    /// # drop(lock);
    /// ```
    pub fn from_segment(seg: Segment) -> Result<Lock> {
        shared::check_segment(&seg, SegmentKind::Lock, "Lock::from_segment")?;
        Ok(Lock {
            shared: Shared::new(seg, |p| RawLock::attach(p, 0))?,
        })
    }

    fn builder() -> mproc_shm::SegmentBuilder<'static> {
        Segment::builder(SegmentKind::Lock, Lock::PAYLOAD).init(|p| {
            RawLock::init_in_place(&p, 0)
                .map(drop)
                .map_err(shared::to_shm)
        })
    }

    /// The segment the lock lives in.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_sync::Lock::new().unwrap().segment().name().is_none());
    /// ```
    pub fn segment(&self) -> &Segment {
        self.shared.segment()
    }
}

impl std::ops::Deref for Lock {
    type Target = RawLock;

    fn deref(&self) -> &RawLock {
        &self.shared
    }
}

impl std::fmt::Debug for Lock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Lock").field(&*self.shared).finish()
    }
}
