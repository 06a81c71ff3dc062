//! [`RawLock`]: a robust, process-shared lock in 16 bytes, the state
//! machine under [`Lock`](crate::Lock), [`Mutex`](crate::Mutex),
//! [`RLock`](crate::RLock) and [`Condition`](crate::Condition).
//!
//! # Why not a pthread robust mutex
//!
//! A `PTHREAD_PROCESS_SHARED | PTHREAD_MUTEX_ROBUST` mutex is recovered by
//! the kernel when its holder dies, but glibc links every held robust mutex
//! into a per-thread list *through pointers stored inside the mutex*, which
//! lives in the segment. A peer that scribbles over those bytes can make
//! glibc (or the kernel, at thread exit) follow and write through pointers
//! of its choosing in our address space. The design rule is that a segment's
//! bytes are untrusted input, so this lock keeps only plain values in shared
//! memory: the holder's thread id, in the futex word itself (the format of
//! the kernel's robust futexes, without the pointer list), and its start
//! time. Waiters find a dead holder by looking it up in `/proc`.
//!
//! # State word
//!
//! | bits | name | meaning |
//! | --- | --- | --- |
//! | 0..=29 | tid | holder's kernel thread id, 0 when unlocked |
//! | 30 | `OWNER_DIED` | a holder died holding it; cleared by `make_consistent` |
//! | 31 | `WAITERS` | sleepers may exist: unlock must wake one |
//!
//! | word | state |
//! | --- | --- |
//! | `0` | unlocked |
//! | `OWNER_DIED` | unlocked, data not yet vouched for since a holder died |
//! | `tid` | held, nobody asleep: unlock is one swap, no system call |
//! | `tid \| WAITERS` | held, sleepers: unlock wakes one |
//! | `tid \| OWNER_DIED [\| WAITERS]` | held by a recoverer, not yet consistent |
//!
//! Only the holder clears tid bits (unlock) or `OWNER_DIED`
//! (`make_consistent`); waiters only set `WAITERS`, or replace a dead
//! holder's exact word by their own with one CAS.
//!
//! # Dead holders
//!
//! A waiter that has slept [`FIRST_OWNER_CHECK`], then every
//! [`OWNER_CHECK_INTERVAL`], and once more when its deadline passes
//! (however short the wait), checks that the holder still runs (its
//! `/proc/<tid>/stat` exists, is not a zombie, and shows the recorded start
//! time); if not, it takes the lock over with one CAS from the dead
//! holder's word and is told [`OwnerDied`]. Limits: thread ids are
//! per pid namespace, so every process sharing a lock must see the others'
//! ids (the same pid namespace); the check needs `/proc` (without it,
//! only a holder's disappearance, not pid reuse, is noticed); and a peer
//! that writes the id of some live thread into the word blocks lockers
//! (their timeouts bound the wait) without endangering memory safety.

use std::time::{Duration, Instant};

use crate::futex::{DefaultFutex, Futex};
use crate::identity::{self, Identity};
use crate::lock_guard::LockGuard;
use crate::loom::atomic::{AtomicU32, AtomicU64, Ordering};
use crate::tag::{check_field, check_tag, tag};
use crate::{LockResult, OwnerDied, Result, TryLockError, TryLockResult};

mod slow;

/// Bits of the state word holding the holder's thread id.
pub const TID_MASK: u32 = 0x3FFF_FFFF;
/// State bit: a holder died holding the lock; not yet made consistent.
pub const OWNER_DIED: u32 = 0x4000_0000;
/// State bit: sleepers may exist, unlock must wake one.
pub const WAITERS: u32 = 0x8000_0000;
/// The largest thread id Linux hands out (`PID_MAX_LIMIT`, 2^22).
const MAX_TID: u32 = 1 << 22;
const LOCK_TAG: u32 = tag(b"LOCK");
/// Reads of the state word a locker makes before it sleeps (none under
/// loom, whose models cover the sleeping protocol). See [`SPIN_MAX_PAUSES`].
const SPIN_READS: u32 = if cfg!(loom) { 0 } else { 16 };
/// Spin policy: a bounded exponential backoff. After each read of a held
/// word the locker waits 1, 2, 4, .. pause hints, capped at this many: 16
/// reads, 383 hints in all (about 3 µs at the ~8 ns a hint took on the
/// 2-core benchmark machine), then it sleeps on the futex. The spin stops
/// early when sleepers are registered (it joins them).
///
/// Why not read after every hint: each read pulls the lock's cache line
/// away from a holder that re-locks at once, whose next store must then
/// take it back, and the spinner wins the line often enough that the lock
/// changes hands on most acquisitions. Measured with two processes each
/// doing 50 000 lock + increment + unlock, 80 runs per policy per session,
/// interleaved with a process-shared pthread mutex run the same way, on a
/// 2-core machine shared with other work: the former policy (100 reads, one
/// hint apart) had a fifth to a half of its runs at 70-250 ns per
/// acquisition, which the pthread mutex (never spinning) almost never had;
/// means per session 51-67 ns against the mutex's 31-46, and 108-121 ns
/// against 56-67 in busier ones. This backoff, in the same sessions: 42 ns
/// (mutex 44.5) with no run above 70 ns; busier, 70-110 ns (mutex 60-89),
/// a third of runs above 70. Strict handoffs and the uncontended path did
/// not change measurably (handoff medians 875 against 847 ns, 1165 against
/// 1224 ns). Fewer reads with a higher cap (12 reads, cap 64) measured
/// the same. A `sched_yield` before spinning did as well under contention
/// but slowed handoffs by a tenth to a third, so the spin never yields.
const SPIN_MAX_PAUSES: u32 = 32;

/// How long a waiter sleeps before its first check that the holder lives.
pub const FIRST_OWNER_CHECK: Duration = Duration::from_millis(2);
/// How often a waiter checks, after the first check, that the holder lives.
pub const OWNER_CHECK_INTERVAL: Duration = Duration::from_millis(20);

/// How a lock was acquired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Acquired {
    Clean,
    OwnerDied,
}

/// A robust, process-shared lock, laid out in 16 bytes (`#[repr(C)]`):
/// state word (`u32`), tag (`u32`), holder record (`u64`: thread id and
/// start time).
///
/// Embed it in a segment with [`init_in_place`](Self::init_in_place) and
/// find it again with [`attach`](Self::attach), which validates it. Its
/// methods return a [`LockGuard`] that unlocks on drop. If a holder dies,
/// the next locker gets `Err(OwnerDied(guard))`.
///
/// # Examples
///
/// ```
/// use mproc_shm::HeapRegion;
/// use mproc_sync::RawLock;
///
/// let heap = HeapRegion::new(64);
/// let lock = RawLock::init_in_place(&heap.region(), 16).unwrap();
/// {
///     let _g = lock.lock().unwrap();
///     assert!(lock.is_locked());
///     assert!(lock.try_lock().is_err());
/// }
/// assert!(!lock.is_locked());
/// let again = RawLock::attach(&heap.region(), 16).unwrap();
/// assert!(again.try_lock().is_ok());
/// ```
#[repr(C, align(8))]
pub struct RawLock {
    state: AtomicU32,
    tag: AtomicU32,
    owner: AtomicU64,
}

#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<RawLock>() == 16);

// SAFETY: repr(C) of atomics only: no padding, any bit pattern is a valid
// value (attach checks the tag; every method tolerates any state), no
// pointers, no Drop.
#[cfg(not(loom))]
unsafe impl mproc_shm::ShmSafe for RawLock {}

impl RawLock {
    /// Bytes a `RawLock` occupies in a region.
    pub const SIZE: u64 = 16;

    /// An unlocked lock (for memory that is not a segment: statics, tests).
    ///
    /// # Examples
    ///
    /// ```
    /// static LOCK: mproc_sync::RawLock = mproc_sync::RawLock::new();
    /// assert!(LOCK.lock().is_ok());
    /// ```
    #[cfg(not(loom))]
    pub const fn new() -> RawLock {
        RawLock {
            state: AtomicU32::new(0),
            tag: AtomicU32::new(LOCK_TAG),
            owner: AtomicU64::new(0),
        }
    }

    /// An unlocked lock (loom build).
    #[cfg(loom)]
    pub fn new() -> RawLock {
        RawLock {
            state: AtomicU32::new(0),
            tag: AtomicU32::new(LOCK_TAG),
            owner: AtomicU64::new(0),
        }
    }

    /// Writes an unlocked lock at `offset` in `region` (8-byte aligned) and
    /// returns it. Nobody may use those bytes concurrently.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm) if the range is out of
    /// bounds or misaligned, or the region is a view of a read-only segment
    /// ([`ShmError::ReadOnlyRegion`](mproc_shm::ShmError::ReadOnlyRegion)).
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(16);
    /// let lock = mproc_sync::RawLock::init_in_place(&heap.region(), 0).unwrap();
    /// assert!(!lock.is_locked());
    /// assert!(mproc_sync::RawLock::init_in_place(&heap.region(), 8).is_err());
    /// ```
    #[cfg(not(loom))]
    pub fn init_in_place<'a>(region: &mproc_shm::Region<'a>, offset: u64) -> Result<&'a RawLock> {
        let lock = region.get::<RawLock>(offset)?;
        // Refuse a view of a read-only segment before writing anything.
        region.check_write(offset, RawLock::SIZE)?;
        lock.state.store(0, Ordering::Relaxed);
        lock.owner.store(0, Ordering::Relaxed);
        // Publication to other processes is the segment's READY store
        // (Release) or the embedding protocol's own.
        lock.tag.store(LOCK_TAG, Ordering::Relaxed);
        Ok(lock)
    }

    /// The lock at `offset` in `region`, after checking that its bytes are
    /// an initialized lock.
    ///
    /// A view of a segment opened read-only is accepted, so that inspection
    /// tools can read the state (`is_locked`, `owner`). Locking through it
    /// cannot be refused from here and would not lock anything: its writes
    /// land in this process's private copy of the page (see
    /// [`SegmentOpener::read_only`](mproc_shm::SegmentOpener::read_only)).
    /// The same holds for every raw form's `attach`; the handles'
    /// `from_segment` refuse read-only segments.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm) for a bad range,
    /// [`SyncError::Corrupt`](crate::SyncError::Corrupt) for bytes that are
    /// not a lock (wrong tag, impossible thread id).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_sync::{RawLock, SyncError};
    /// let heap = mproc_shm::HeapRegion::new(32);
    /// assert!(matches!(RawLock::attach(&heap.region(), 0), Err(SyncError::Corrupt { field: "tag", .. })));
    /// RawLock::init_in_place(&heap.region(), 0).unwrap();
    /// assert!(RawLock::attach(&heap.region(), 0).is_ok());
    /// ```
    #[cfg(not(loom))]
    pub fn attach<'a>(region: &mproc_shm::Region<'a>, offset: u64) -> Result<&'a RawLock> {
        let lock = region.get::<RawLock>(offset)?;
        lock.validate(offset)?;
        Ok(lock)
    }

    /// Checks the tag and the state word; `offset` is for the error.
    pub(crate) fn validate(&self, offset: u64) -> Result<()> {
        check_tag("lock", offset, self.tag.load(Ordering::Relaxed), LOCK_TAG)?;
        let state = self.state.load(Ordering::Relaxed);
        check_field(
            "lock",
            offset,
            "state",
            state.into(),
            state & TID_MASK > MAX_TID,
        )
    }

    /// Whether someone holds the lock right now (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = mproc_sync::RawLock::new();
    /// assert!(!lock.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & TID_MASK != 0
    }

    /// The thread id of the holder, if held (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = mproc_sync::RawLock::new();
    /// let g = lock.lock().unwrap();
    /// assert_eq!(lock.owner(), Some(mproc_sys::gettid() as u32));
    /// drop(g);
    /// assert_eq!(lock.owner(), None);
    /// ```
    pub fn owner(&self) -> Option<u32> {
        Some(self.state.load(Ordering::Relaxed) & TID_MASK).filter(|&t| t != 0)
    }

    /// Whether the thread `me` holds the lock: the state word names its
    /// thread id *and* the holder record names its thread id and start
    /// time. The word alone cannot tell `me` from a dead thread that had
    /// the same id (ids are reused); the record can, when start times are
    /// known (without `/proc` both are 0 and only the ids are compared).
    ///
    /// Exact for the calling thread's own identity (`me ==
    /// identity::current()`): every acquisition stores the record after
    /// its CAS on the word, in the acquiring thread, before the acquiring
    /// call returns; so a later call by that thread is sequenced after the
    /// store and, by read-write coherence, reads it or a later value.
    /// Later values come only from this thread's own unlock (which clears
    /// the record before releasing the word), from a thread that took the
    /// word over (it stores its record after its own CAS changed the word,
    /// and finds a holder dead only if `/proc` says so, which it does not
    /// for a running thread), or from a peer scribbling on the segment,
    /// which no lock survives. Relaxed loads suffice: nothing else is read
    /// on the strength of the answer, and the holder's own data is
    /// already ordered before this call by program order.
    pub(crate) fn is_held_by(&self, me: Identity) -> bool {
        self.state.load(Ordering::Relaxed) & TID_MASK == me.tid
            && self.owner.load(Ordering::Relaxed) == identity::record(me)
    }

    /// Whether the calling thread holds this lock: a `lock()` from it
    /// would wait for ever (the lock is not reentrant; see
    /// [`RawRLock`](crate::RawRLock)).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = mproc_sync::RawLock::new();
    /// assert!(!lock.is_held_by_this_thread());
    /// let g = lock.lock().unwrap();
    /// assert!(lock.is_held_by_this_thread());
    /// std::thread::scope(|s| {
    ///     s.spawn(|| assert!(!lock.is_held_by_this_thread()));
    /// });
    /// drop(g);
    /// assert!(!lock.is_held_by_this_thread());
    /// ```
    pub fn is_held_by_this_thread(&self) -> bool {
        self.is_held_by(identity::current())
    }

    /// Whether a holder died and nobody has called `make_consistent` since.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!mproc_sync::RawLock::new().is_poisoned_by_death());
    /// ```
    pub fn is_poisoned_by_death(&self) -> bool {
        self.state.load(Ordering::Relaxed) & OWNER_DIED != 0
    }

    /// Blocks until the lock is acquired.
    ///
    /// # Errors
    ///
    /// `Err(OwnerDied(guard))`: acquired, but a holder died holding it
    /// (now, or earlier and nobody made it consistent since). Blocking on a
    /// lock the caller's own thread holds deadlocks, as Python's does.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = mproc_sync::RawLock::new();
    /// let guard = lock.lock().unwrap();
    /// drop(guard);
    /// ```
    #[inline]
    pub fn lock(&self) -> LockResult<LockGuard<'_>> {
        let me = identity::current();
        let how = match self.try_fast(me) {
            Some(how) => how,
            None => match self.lock_slow(me, None) {
                Some(how) => how,
                // Unreachable without a deadline; stay total rather than panic.
                None => return self.lock(),
            },
        };
        Ok(self.guard(how, me)).and_then(check_died)
    }

    /// Acquires the lock if nobody holds it, without blocking (and without
    /// checking whether the holder lives: that is `lock`'s job).
    ///
    /// # Errors
    ///
    /// [`TryLockError::WouldBlock`] if held, [`TryLockError::OwnerDied`] if
    /// acquired after a holder's death.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = mproc_sync::RawLock::new();
    /// let g = lock.try_lock().unwrap();
    /// assert!(std::thread::scope(|s| s.spawn(|| lock.try_lock().is_err()).join().unwrap()));
    /// drop(g);
    /// ```
    #[inline]
    pub fn try_lock(&self) -> TryLockResult<LockGuard<'_>> {
        let me = identity::current();
        match self.try_fast(me) {
            Some(how) => try_check_died(self.guard(how, me)),
            None => Err(TryLockError::WouldBlock),
        }
    }

    /// Blocks until the lock is acquired or `timeout` passes.
    ///
    /// # Errors
    ///
    /// [`TryLockError::TimedOut`], or [`TryLockError::OwnerDied`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use mproc_sync::{RawLock, TryLockError};
    /// let lock = RawLock::new();
    /// let _g = lock.lock().unwrap();
    /// let timed_out = std::thread::scope(|s| {
    ///     s.spawn(|| matches!(lock.lock_timeout(Duration::from_millis(5)), Err(TryLockError::TimedOut { .. })))
    ///         .join()
    ///         .unwrap()
    /// });
    /// assert!(timed_out);
    /// ```
    pub fn lock_timeout(&self, timeout: Duration) -> TryLockResult<LockGuard<'_>> {
        // A free lock is taken without reading the clock.
        match self.try_lock() {
            Err(TryLockError::WouldBlock) => {}
            taken => return taken,
        }
        self.lock_until(Instant::now().checked_add(timeout))
            .map_err(|e| match e {
                TryLockError::TimedOut { .. } => TryLockError::TimedOut { timeout },
                other => other,
            })
    }

    /// Blocks until the lock is acquired or `deadline` (`None`: no limit).
    ///
    /// # Errors
    ///
    /// [`TryLockError::TimedOut`], or [`TryLockError::OwnerDied`].
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = mproc_sync::RawLock::new();
    /// assert!(lock.lock_until(Some(std::time::Instant::now())).is_ok());
    /// ```
    pub fn lock_until(&self, deadline: Option<Instant>) -> TryLockResult<LockGuard<'_>> {
        let me = identity::current();
        let how = match self.try_fast(me) {
            Some(how) => how,
            None => {
                let start = Instant::now();
                self.lock_slow(me, deadline)
                    .ok_or_else(|| TryLockError::TimedOut {
                        timeout: deadline
                            .map_or(Duration::MAX, |d| d.saturating_duration_since(start)),
                    })?
            }
        };
        try_check_died(self.guard(how, me))
    }

    fn guard(&self, how: Acquired, me: Identity) -> LockGuard<'_> {
        // SAFETY: the calling thread, `me`, acquired the lock; the guard
        // takes over the duty to unlock it.
        unsafe { LockGuard::new(self, how == Acquired::OwnerDied, me) }
    }

    /// One attempt: takes an unlocked word (keeping `OWNER_DIED`).
    #[inline]
    fn try_fast(&self, me: Identity) -> Option<Acquired> {
        // SYNC POINT: Acquire pairs with the Release swap in `unlock`: the
        // previous holder's writes to the protected data are visible.
        match self
            .state
            .compare_exchange(0, me.tid, Ordering::Acquire, Ordering::Relaxed)
        {
            Ok(_) => {
                self.owner.store(identity::record(me), Ordering::Relaxed);
                Some(Acquired::Clean)
            }
            Err(w) if w & TID_MASK == 0 => self.try_take(w, me.tid | (w & WAITERS), me),
            Err(_) => None,
        }
    }

    /// CAS from the observed unlocked (or dead-held) word `w` to `new`.
    fn try_take(&self, w: u32, new: u32, me: Identity) -> Option<Acquired> {
        let died = w & OWNER_DIED != 0 || w & TID_MASK != 0;
        let new = if died { new | OWNER_DIED } else { new };
        // SYNC POINT: Acquire pairs with the Release swap in `unlock`.
        self.state
            .compare_exchange(w, new, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        self.owner.store(identity::record(me), Ordering::Relaxed);
        Some(if died {
            Acquired::OwnerDied
        } else {
            Acquired::Clean
        })
    }

    /// Releases the lock, keeping `OWNER_DIED` if the data was not made
    /// consistent, and wakes one sleeper if any registered.
    ///
    /// # Safety
    ///
    /// The caller holds the lock (acquired it and has not released it), and
    /// no guard will unlock it again.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = mproc_sync::RawLock::new();
    /// std::mem::forget(lock.lock().unwrap());
    /// // SAFETY: this thread holds the lock; its guard was forgotten.
    /// unsafe { lock.unlock() };
    /// assert!(!lock.is_locked());
    /// ```
    #[inline]
    pub unsafe fn unlock(&self) {
        // Stable while we hold the lock: only the holder changes this bit.
        let died = self.state.load(Ordering::Relaxed) & OWNER_DIED != 0;
        // SAFETY: the caller holds the lock.
        unsafe { self.unlock_as(died) }
    }

    /// [`unlock`](Self::unlock) for a holder that knows whether the data
    /// is still to be made consistent (its guard tracks it).
    ///
    /// # Safety
    ///
    /// As [`unlock`](Self::unlock); `died` is whether `OWNER_DIED` is set.
    #[inline]
    pub(crate) unsafe fn unlock_as(&self, died: bool) {
        let keep = if died { OWNER_DIED } else { 0 };
        self.owner.store(0, Ordering::Relaxed);
        // SYNC POINT: Release pairs with the Acquire CAS in `try_fast` /
        // `try_take`: our writes to the protected data reach the next holder.
        let prev = self.state.swap(keep, Ordering::Release);
        if prev & WAITERS != 0 {
            self.wake_one_waiter();
        }
    }

    #[cold]
    fn wake_one_waiter(&self) {
        DefaultFutex::wake(&self.state, 1);
    }

    /// Declares the protected data consistent again after a holder's
    /// death: later lockers are no longer told `OwnerDied`.
    ///
    /// # Safety
    ///
    /// The caller holds the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = mproc_sync::RawLock::new();
    /// let g = lock.lock().unwrap();
    /// // SAFETY: this thread holds the lock.
    /// unsafe { lock.make_consistent() };
    /// drop(g);
    /// ```
    pub unsafe fn make_consistent(&self) {
        self.state.fetch_and(!OWNER_DIED, Ordering::Relaxed);
    }
}

impl Default for RawLock {
    fn default() -> RawLock {
        RawLock::new()
    }
}

impl std::fmt::Debug for RawLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = self.state.load(Ordering::Relaxed);
        f.debug_struct("RawLock")
            .field("holder", &(w & TID_MASK))
            .field("owner_died", &(w & OWNER_DIED != 0))
            .field("waiters", &(w & WAITERS != 0))
            .finish()
    }
}

fn check_died(g: LockGuard<'_>) -> LockResult<LockGuard<'_>> {
    if g.is_consistent() {
        Ok(g)
    } else {
        Err(OwnerDied(g))
    }
}

fn try_check_died(g: LockGuard<'_>) -> TryLockResult<LockGuard<'_>> {
    if g.is_consistent() {
        Ok(g)
    } else {
        Err(TryLockError::OwnerDied(g))
    }
}
