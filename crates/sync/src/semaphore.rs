//! [`RawSemaphore`], [`Semaphore`] and [`BoundedSemaphore`].

use std::time::{Duration, Instant};

use crate::loom::atomic::{AtomicU32, Ordering};
use crate::tag::{check_field, check_tag, tag};
use crate::{Result, SyncError, WaitWord};

const SEMAPHORE_TAG: u32 = tag(b"SEMA");
/// The largest value a semaphore holds (POSIX's `SEM_VALUE_MAX`).
pub const SEMAPHORE_MAX: u32 = i32::MAX as u32;
/// The `bound` field of an unbounded semaphore.
const UNBOUNDED: u32 = u32::MAX;

/// A process-shared counting semaphore, 16 bytes `#[repr(C)]`: a
/// [`WaitWord`] holding the value, the bound (`u32::MAX`: none), a tag.
///
/// `acquire` takes one unit, sleeping while the value is 0; `release` adds
/// units and wakes as many sleepers. With a bound (Python's
/// `BoundedSemaphore`), a release above it is refused with
/// [`SyncError::ReleasedTooMany`]. Units held by a process that dies are
/// not given back (as in Python).
///
/// # Examples
///
/// ```
/// use mproc_sync::RawSemaphore;
/// let heap = mproc_shm::HeapRegion::new(64);
/// let sem = RawSemaphore::init_in_place(&heap.region(), 0, 2, Some(2)).unwrap();
/// assert!(sem.try_acquire() && sem.try_acquire());
/// assert!(!sem.try_acquire());
/// sem.release().unwrap();
/// sem.release().unwrap();
/// assert!(sem.release().is_err()); // above the bound
/// assert_eq!(sem.value(), 2);
/// ```
#[repr(C, align(8))]
pub struct RawSemaphore {
    count: WaitWord,
    bound: AtomicU32,
    tag: AtomicU32,
}

#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<RawSemaphore>() == 16);

// SAFETY: repr(C) of a WaitWord and atomics: no padding, any bit pattern is
// a valid value (attach checks value <= bound; methods tolerate any), no
// pointers, no Drop.
#[cfg(not(loom))]
unsafe impl mproc_shm::ShmSafe for RawSemaphore {}

fn check_args(value: u32, bound: Option<u32>) -> Result<u32> {
    let limit = bound.unwrap_or(SEMAPHORE_MAX);
    if limit > SEMAPHORE_MAX || value > limit {
        return Err(SyncError::InvalidArgument {
            what: "semaphore",
            param: "value",
            value: value.into(),
            reason: "above the bound or SEMAPHORE_MAX",
        });
    }
    Ok(bound.unwrap_or(UNBOUNDED))
}

impl RawSemaphore {
    /// Bytes a `RawSemaphore` occupies in a region.
    pub const SIZE: u64 = 16;

    /// A semaphore holding `value`, bounded by `bound` if given (for memory
    /// that is not a segment: tests, loom).
    ///
    /// # Errors
    ///
    /// [`SyncError::InvalidArgument`] if `value` exceeds the bound or
    /// [`SEMAPHORE_MAX`].
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = mproc_sync::RawSemaphore::new(1, None).unwrap();
    /// assert_eq!(sem.value(), 1);
    /// assert!(mproc_sync::RawSemaphore::new(3, Some(2)).is_err());
    /// ```
    pub fn new(value: u32, bound: Option<u32>) -> Result<RawSemaphore> {
        let bound = check_args(value, bound)?;
        Ok(RawSemaphore {
            count: WaitWord::new(value),
            bound: AtomicU32::new(bound),
            tag: AtomicU32::new(SEMAPHORE_TAG),
        })
    }

    /// Writes a semaphore at `offset` in `region` and returns it.
    ///
    /// # Errors
    ///
    /// [`SyncError::InvalidArgument`], [`SyncError::Shm`] (a bad range,
    /// a read-only region).
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(16);
    /// let s = mproc_sync::RawSemaphore::init_in_place(&heap.region(), 0, 0, None).unwrap();
    /// assert_eq!(s.bound(), None);
    /// ```
    #[cfg(not(loom))]
    pub fn init_in_place<'a>(
        region: &mproc_shm::Region<'a>,
        offset: u64,
        value: u32,
        bound: Option<u32>,
    ) -> Result<&'a RawSemaphore> {
        let bound = check_args(value, bound)?;
        let sem = region.get::<RawSemaphore>(offset)?;
        // Refuse a view of a read-only segment before writing anything.
        region.check_write(offset, RawSemaphore::SIZE)?;
        sem.count.value().store(value, Ordering::Relaxed);
        sem.bound.store(bound, Ordering::Relaxed);
        sem.tag.store(SEMAPHORE_TAG, Ordering::Relaxed);
        Ok(sem)
    }

    /// The semaphore at `offset` in `region`, after checking its bytes.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`], [`SyncError::Corrupt`] (wrong tag, a value above
    /// the bound, a bound above [`SEMAPHORE_MAX`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(16);
    /// assert!(mproc_sync::RawSemaphore::attach(&heap.region(), 0).is_err());
    /// ```
    #[cfg(not(loom))]
    pub fn attach<'a>(region: &mproc_shm::Region<'a>, offset: u64) -> Result<&'a RawSemaphore> {
        let sem = region.get::<RawSemaphore>(offset)?;
        check_tag(
            "semaphore",
            offset,
            sem.tag.load(Ordering::Relaxed),
            SEMAPHORE_TAG,
        )?;
        let bound = sem.bound.load(Ordering::Relaxed);
        let bad_bound = bound != UNBOUNDED && bound > SEMAPHORE_MAX;
        check_field("semaphore", offset, "bound", bound.into(), bad_bound)?;
        let value = sem.count.value().load(Ordering::Relaxed);
        check_field(
            "semaphore",
            offset,
            "value",
            value.into(),
            value > sem.limit(),
        )?;
        Ok(sem)
    }

    /// The bound (Python's `BoundedSemaphore`), `None` if unbounded.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_sync::RawSemaphore::new(0, Some(4)).unwrap().bound(), Some(4));
    /// ```
    pub fn bound(&self) -> Option<u32> {
        Some(self.bound.load(Ordering::Relaxed)).filter(|&b| b != UNBOUNDED)
    }

    fn limit(&self) -> u32 {
        self.bound().unwrap_or(SEMAPHORE_MAX).min(SEMAPHORE_MAX)
    }

    /// The current value (a snapshot; Python's `get_value`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_sync::RawSemaphore::new(3, None).unwrap().value(), 3);
    /// ```
    pub fn value(&self) -> u32 {
        self.count.value().load(Ordering::Relaxed)
    }

    /// Takes one unit if the value is above 0, without blocking.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = mproc_sync::RawSemaphore::new(1, None).unwrap();
    /// assert!(sem.try_acquire());
    /// assert!(!sem.try_acquire());
    /// ```
    pub fn try_acquire(&self) -> bool {
        let count = self.count.value();
        let mut c = count.load(Ordering::Relaxed);
        while c > 0 {
            // SYNC POINT: Acquire pairs with the Release CAS in `release_n`.
            match count.compare_exchange_weak(c, c - 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(now) => c = now,
            }
        }
        false
    }

    /// Takes one unit, blocking while the value is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = mproc_sync::RawSemaphore::new(1, None).unwrap();
    /// sem.acquire();
    /// assert_eq!(sem.value(), 0);
    /// ```
    pub fn acquire(&self) {
        while !self.acquire_until(None) {}
    }

    /// Takes one unit, blocking at most `timeout`; returns whether it did.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = mproc_sync::RawSemaphore::new(0, None).unwrap();
    /// assert!(!sem.acquire_timeout(std::time::Duration::from_millis(2)));
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        // A unit that is there is taken without reading the clock.
        self.try_acquire() || self.acquire_until(Instant::now().checked_add(timeout))
    }

    /// Takes one unit, blocking until `deadline` (`None`: no limit);
    /// returns whether it did.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = mproc_sync::RawSemaphore::new(1, None).unwrap();
    /// assert!(sem.acquire_until(None));
    /// ```
    pub fn acquire_until(&self, deadline: Option<Instant>) -> bool {
        loop {
            if self.try_acquire() {
                return true;
            }
            if self.count.wait_while_rechecking(0, deadline) == crate::WaitOutcome::TimedOut {
                return self.try_acquire();
            }
        }
    }

    /// Gives one unit back and wakes one sleeper.
    ///
    /// # Errors
    ///
    /// [`SyncError::ReleasedTooMany`] above a bound, [`SyncError::Overflow`]
    /// above [`SEMAPHORE_MAX`]; the value is unchanged then.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = mproc_sync::RawSemaphore::new(0, None).unwrap();
    /// sem.release().unwrap();
    /// assert_eq!(sem.value(), 1);
    /// ```
    pub fn release(&self) -> Result<()> {
        self.release_n(1)
    }

    /// Gives `n` units back and wakes up to `n` sleepers (Python's
    /// `release(n)`).
    ///
    /// # Errors
    ///
    /// As [`release`](Self::release); nothing is released then.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = mproc_sync::RawSemaphore::new(0, Some(3)).unwrap();
    /// sem.release_n(3).unwrap();
    /// assert!(sem.release_n(1).is_err());
    /// ```
    pub fn release_n(&self, n: u32) -> Result<()> {
        let count = self.count.value();
        let limit = self.limit();
        let mut c = count.load(Ordering::Relaxed);
        loop {
            let new = c.checked_add(n).filter(|&v| v <= limit);
            let Some(new) = new else {
                return Err(match self.bound() {
                    Some(bound) => SyncError::ReleasedTooMany { bound },
                    None => SyncError::Overflow {
                        what: "semaphore",
                        max: SEMAPHORE_MAX.into(),
                    },
                });
            };
            // SYNC POINT: Release pairs with the Acquire CAS in `try_acquire`.
            match count.compare_exchange_weak(c, new, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => c = now,
            }
        }
        self.count.wake_n(n);
        Ok(())
    }
}

impl std::fmt::Debug for RawSemaphore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSemaphore")
            .field("value", &self.value())
            .field("bound", &self.bound())
            .finish()
    }
}

#[cfg(not(loom))]
fn builder(value: u32, bound: Option<u32>) -> Result<mproc_shm::SegmentBuilder<'static>> {
    check_args(value, bound)?;
    Ok(crate::shared::builder(
        mproc_shm::SegmentKind::Semaphore,
        64,
        [0; 8],
        move |p| RawSemaphore::init_in_place(p, 0, value, bound).map(drop),
    ))
}

#[cfg(not(loom))]
fn layout(expected_bounded: bool) -> fn(&RawSemaphore) -> Result<()> {
    if expected_bounded {
        |s| expect_bounded(s, true)
    } else {
        |s| expect_bounded(s, false)
    }
}

#[cfg(not(loom))]
fn expect_bounded(s: &RawSemaphore, bounded: bool) -> Result<()> {
    if s.bound().is_some() == bounded {
        Ok(())
    } else {
        Err(SyncError::LayoutMismatch {
            what: "semaphore",
            param: "bounded",
            found: s.bound().is_some().into(),
            expected: bounded.into(),
        })
    }
}

/// Python's `multiprocessing.Semaphore` in its own segment: `acquire`,
/// `try_acquire`, `acquire_timeout`, `release`, `value` (see
/// [`RawSemaphore`], to which it dereferences).
///
/// # Examples
///
/// ```
/// let sem = mproc_sync::Semaphore::create("doc-sem", 1).unwrap();
/// let same = mproc_sync::Semaphore::open("doc-sem").unwrap();
/// sem.acquire();
/// assert!(!same.try_acquire());
/// same.release().unwrap();
/// assert_eq!(sem.value(), 1);
/// ```
#[cfg(not(loom))]
pub struct Semaphore {
    shared: crate::shared::Shared<RawSemaphore>,
}

#[cfg(not(loom))]
impl Semaphore {
    /// A semaphore holding `value` in an anonymous segment shared with
    /// children forked later.
    ///
    /// # Errors
    ///
    /// [`SyncError::InvalidArgument`] above [`SEMAPHORE_MAX`], [`SyncError::Shm`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_sync::Semaphore::new(2).unwrap().value(), 2);
    /// ```
    pub fn new(value: u32) -> Result<Semaphore> {
        Semaphore::from_segment(builder(value, None)?.create_anonymous()?)
    }

    /// A semaphore holding `value` in a new named segment.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), plus the name's errors.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_sync::Semaphore::create("doc-sem-create", 0).is_ok());
    /// ```
    pub fn create(name: &str, value: u32) -> Result<Semaphore> {
        Semaphore::from_segment(builder(value, None)?.create(name)?)
    }
}

#[cfg(not(loom))]
crate::shared::handle_common!(
    Semaphore,
    RawSemaphore,
    Semaphore,
    layout(false),
    "Semaphore::new(1)"
);

/// Python's `multiprocessing.BoundedSemaphore`: a [`Semaphore`] whose
/// value may not be released above its initial value.
///
/// # Examples
///
/// ```
/// use mproc_sync::{BoundedSemaphore, SyncError};
/// let sem = BoundedSemaphore::new(1).unwrap();
/// sem.acquire();
/// sem.release().unwrap();
/// assert!(matches!(sem.release(), Err(SyncError::ReleasedTooMany { bound: 1 })));
/// ```
#[cfg(not(loom))]
pub struct BoundedSemaphore {
    shared: crate::shared::Shared<RawSemaphore>,
}

#[cfg(not(loom))]
impl BoundedSemaphore {
    /// A semaphore holding and bounded by `value`, in an anonymous segment.
    ///
    /// # Errors
    ///
    /// [`SyncError::InvalidArgument`] above [`SEMAPHORE_MAX`], [`SyncError::Shm`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_sync::BoundedSemaphore::new(3).unwrap().bound(), Some(3));
    /// ```
    pub fn new(value: u32) -> Result<BoundedSemaphore> {
        BoundedSemaphore::from_segment(builder(value, Some(value))?.create_anonymous()?)
    }

    /// A semaphore holding and bounded by `value`, in a new named segment.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), plus the name's errors.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = mproc_sync::BoundedSemaphore::create("doc-bsem", 2).unwrap();
    /// assert!(mproc_sync::Semaphore::open("doc-bsem").is_err()); // bounded
    /// assert!(mproc_sync::BoundedSemaphore::open("doc-bsem").is_ok());
    /// ```
    pub fn create(name: &str, value: u32) -> Result<BoundedSemaphore> {
        BoundedSemaphore::from_segment(builder(value, Some(value))?.create(name)?)
    }
}

#[cfg(not(loom))]
crate::shared::handle_common!(
    BoundedSemaphore,
    RawSemaphore,
    Semaphore,
    layout(true),
    "BoundedSemaphore::new(1)"
);
