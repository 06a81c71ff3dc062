//! [`Mutex<T>`]: plain data behind a robust [`RawLock`], in one segment.

use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::time::Duration;

use bytemuck::Pod;
use mproc_shm::{Segment, SegmentKind};

use crate::shared::{self, Shared};
use crate::{
    LockGuard, LockResult, OwnerDied, RawLock, Result, SyncError, TryLockError, TryLockResult,
};

/// `params[0]` of a mutex segment (a plain `Lock` has 0 there).
const MUTEX_LAYOUT: u64 = 1;

/// A `T` in shared memory behind a robust lock: `lock()` gives a guard
/// that dereferences to the `T`.
///
/// `T: Pod` (any bytes are a valid `T`, no pointers), because the data is
/// shared with other processes and may be left half-written by a holder
/// that died, in which case `lock()` returns `Err(OwnerDied(guard))`: repair
/// the value through the guard, then call `make_consistent()`.
///
/// The segment is of kind [`SegmentKind::Lock`], with the size and
/// alignment of `T` in its layout parameters; `open` refuses another `T`
/// size ([`SyncError::LayoutMismatch`]).
///
/// # Examples
///
/// ```
/// use mproc_sync::Mutex;
///
/// let counter = Mutex::create("doc-mutex", 0u64).unwrap();
/// *counter.lock().unwrap() += 1;
/// let other = Mutex::<u64>::open("doc-mutex").unwrap(); // another process, really
/// assert_eq!(*other.lock().unwrap(), 1);
/// assert!(Mutex::<u32>::open("doc-mutex").is_err());
/// ```
pub struct Mutex<T: Pod> {
    shared: Shared<RawLock>,
    data: NonNull<T>,
}

// SAFETY: the data is reached only through guards of the lock (exclusive
// across threads and processes); T: Pod is Send + Sync plain data.
unsafe impl<T: Pod> Send for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: Pod> Sync for Mutex<T> {}

impl<T: Pod> Mutex<T> {
    /// Where `T` starts in the payload: after the lock, aligned for `T`.
    fn data_offset() -> u64 {
        RawLock::SIZE.next_multiple_of(std::mem::align_of::<T>() as u64)
    }

    fn params() -> [u64; 8] {
        [
            MUTEX_LAYOUT,
            std::mem::size_of::<T>() as u64,
            std::mem::align_of::<T>() as u64,
            0,
            0,
            0,
            0,
            0,
        ]
    }

    /// A mutex holding `value` in an anonymous segment shared with
    /// children forked later.
    ///
    /// # Errors
    ///
    /// [`SyncError::InvalidArgument`] if `T` needs an alignment above 64,
    /// [`SyncError::Shm`].
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_sync::Mutex::new([0u32; 4]).unwrap();
    /// m.lock().unwrap()[2] = 7;
    /// assert_eq!(m.lock().unwrap()[2], 7);
    /// ```
    pub fn new(value: T) -> Result<Mutex<T>> {
        Mutex::from_segment(Mutex::builder(value)?.create_anonymous()?)
    }

    /// A mutex holding `value` in a new named segment.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), plus the name's errors.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_sync::Mutex::create("doc-mutex-create", 5i32).unwrap();
    /// assert_eq!(*m.lock().unwrap(), 5);
    /// ```
    pub fn create(name: &str, value: T) -> Result<Mutex<T>> {
        Mutex::from_segment(Mutex::builder(value)?.create(name)?)
    }

    /// Opens the mutex another process created under `name`.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`], [`SyncError::LayoutMismatch`] for another `T`
    /// layout, [`SyncError::Corrupt`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_sync::Mutex::<u8>::open("doc-mutex-missing").is_err());
    /// ```
    pub fn open(name: &str) -> Result<Mutex<T>> {
        Mutex::from_segment(shared::open(name, SegmentKind::Lock)?)
    }

    /// A handle on the mutex in `seg`, validating kind, layout and lock.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open), plus [`SyncError::Shm`](crate::SyncError::Shm)
    /// with `ReadOnly` naming the segment if it was opened
    /// [read-only](mproc_shm::SegmentOpener::read_only).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_sync::{Lock, Mutex, SyncError};
    /// let plain = Lock::new().unwrap();
    /// let seg = mproc_shm::Segment::builder(mproc_shm::SegmentKind::Lock, 64).create_anonymous().unwrap();
    /// assert!(matches!(Mutex::<u64>::from_segment(seg), Err(SyncError::LayoutMismatch { .. })));
    /// # drop(plain);
    /// ```
    pub fn from_segment(seg: Segment) -> Result<Mutex<T>> {
        shared::check_segment(&seg, SegmentKind::Lock, "Mutex::from_segment")?;
        let found = seg.header().params;
        for (i, param) in ["layout", "size", "align"].into_iter().enumerate() {
            if found[i] != Mutex::<T>::params()[i] {
                return Err(SyncError::LayoutMismatch {
                    what: "mutex",
                    param,
                    found: found[i],
                    expected: Mutex::<T>::params()[i],
                });
            }
        }
        let size = std::mem::size_of::<T>() as u64;
        let start = Mutex::<T>::data_offset();
        // Bounds and alignment of the data, checked once.
        let data = seg.payload().check(start, size)?.0;
        let base = seg.payload().as_ptr();
        let shared = Shared::new(seg, |p| RawLock::attach(p, 0))?;
        // SAFETY: `data..data+size` lies inside the payload (checked), whose
        // mapping lives as long as `shared`'s segment; the payload is
        // 64-byte aligned and `data` a multiple of align_of::<T>() <= 64.
        let data = unsafe { NonNull::new_unchecked(base.add(data).cast::<T>()) };
        Ok(Mutex { shared, data })
    }

    fn builder(value: T) -> Result<mproc_shm::SegmentBuilder<'static>> {
        let align = std::mem::align_of::<T>() as u64;
        if align > 64 {
            return Err(SyncError::InvalidArgument {
                what: "mutex",
                param: "align_of::<T>()",
                value: align,
                reason: "segments align data to 64 bytes at most",
            });
        }
        let start = Mutex::<T>::data_offset();
        let len = start + std::mem::size_of::<T>() as u64;
        Ok(Segment::builder(SegmentKind::Lock, len)
            .params(Mutex::<T>::params())
            .init(move |p| {
                p.write_pod(start, &value)?;
                RawLock::init_in_place(&p, 0)
                    .map(drop)
                    .map_err(shared::to_shm)
            }))
    }

    /// Blocks until the lock is held.
    ///
    /// # Errors
    ///
    /// `Err(OwnerDied(guard))` if a holder died: the value may be
    /// half-updated.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_sync::Mutex::new(1u8).unwrap();
    /// *m.lock().unwrap() *= 3;
    /// assert_eq!(*m.lock().unwrap(), 3);
    /// ```
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        match self.shared.lock() {
            Ok(g) => Ok(self.wrap(g)),
            Err(OwnerDied(g)) => Err(OwnerDied(self.wrap(g))),
        }
    }

    /// Takes the lock if free.
    ///
    /// # Errors
    ///
    /// [`TryLockError::WouldBlock`], [`TryLockError::OwnerDied`].
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_sync::Mutex::new(0u16).unwrap();
    /// assert!(m.try_lock().is_ok());
    /// ```
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        self.map_try(self.shared.try_lock())
    }

    /// Blocks until the lock is held or `timeout` passes.
    ///
    /// # Errors
    ///
    /// [`TryLockError::TimedOut`], [`TryLockError::OwnerDied`].
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_sync::Mutex::new(0u16).unwrap();
    /// assert!(m.lock_timeout(std::time::Duration::from_millis(1)).is_ok());
    /// ```
    pub fn lock_timeout(&self, timeout: Duration) -> TryLockResult<MutexGuard<'_, T>> {
        self.map_try(self.shared.lock_timeout(timeout))
    }

    /// The lock alone.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_sync::Mutex::new(0u16).unwrap();
    /// assert!(!m.raw().is_locked());
    /// ```
    pub fn raw(&self) -> &RawLock {
        &self.shared
    }

    /// The segment.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_sync::Mutex::new(0u16).unwrap().segment().name().is_none());
    /// ```
    pub fn segment(&self) -> &Segment {
        self.shared.segment()
    }

    fn wrap<'a>(&'a self, lock: LockGuard<'a>) -> MutexGuard<'a, T> {
        MutexGuard {
            lock,
            data: self.data,
            _data: PhantomData,
        }
    }

    fn map_try<'a>(&'a self, r: TryLockResult<LockGuard<'a>>) -> TryLockResult<MutexGuard<'a, T>> {
        match r {
            Ok(g) => Ok(self.wrap(g)),
            Err(TryLockError::OwnerDied(g)) => Err(TryLockError::OwnerDied(self.wrap(g))),
            Err(TryLockError::WouldBlock) => Err(TryLockError::WouldBlock),
            Err(TryLockError::TimedOut { timeout }) => Err(TryLockError::TimedOut { timeout }),
        }
    }
}

impl<T: Pod + std::fmt::Debug> std::fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mutex")
            .field("lock", self.raw())
            .finish_non_exhaustive()
    }
}

/// Access to a [`Mutex`]'s value while its lock is held.
///
/// The guard belongs to the thread that took the lock. A copy of it that a
/// forked child inherits (one moved into the child's closure) holds
/// nothing: dropping it releases nothing, and reading or writing through
/// it races with whoever holds the lock then. Take the lock in the child.
///
/// # Examples
///
/// ```
/// let m = mproc_sync::Mutex::new([1u32, 2]).unwrap();
/// let mut g = m.lock().unwrap();
/// g[0] += g[1];
/// assert_eq!(*g, [3, 2]);
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: Pod> {
    lock: LockGuard<'a>,
    data: NonNull<T>,
    _data: PhantomData<&'a mut T>,
}

impl<T: Pod> MutexGuard<'_, T> {
    /// See [`LockGuard::make_consistent`].
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_sync::Mutex::new(0u8).unwrap();
    /// let mut g = m.lock().unwrap();
    /// g.make_consistent();
    /// assert!(g.is_consistent());
    /// ```
    pub fn make_consistent(&mut self) {
        self.lock.make_consistent();
    }

    /// See [`LockGuard::is_consistent`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_sync::Mutex::new(0u8).unwrap().lock().unwrap().is_consistent());
    /// ```
    pub fn is_consistent(&self) -> bool {
        self.lock.is_consistent()
    }
}

impl<T: Pod> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: `data` is in bounds and aligned (checked at open), any
        // bytes are a valid T (Pod), and holding the lock excludes every
        // other writer that follows the protocol.
        unsafe { self.data.as_ref() }
    }
}

impl<T: Pod> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference
        // in this process, the lock the only one across processes.
        unsafe { self.data.as_mut() }
    }
}

impl<T: Pod + std::fmt::Debug> std::fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MutexGuard")
            .field("value", &**self)
            .field("consistent", &self.is_consistent())
            .finish()
    }
}
