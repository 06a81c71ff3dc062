//! [`RawCondition`] and [`Condition`]: Python's `multiprocessing.Condition`,
//! over its own robust lock.

use std::time::{Duration, Instant};

use crate::loom::atomic::{AtomicU32, Ordering};
use crate::tag::{check_tag, tag};
use crate::{LockGuard, LockResult, OwnerDied, RawLock, Result, WaitOutcome, WaitWord};

/// `CND2`: the layout with counted waiters and notifications. A condition
/// of the first layout (`COND`), whose notifiers only bump the number and
/// whose waiters return on any bump, is refused rather than shared: the
/// two would not wake each other.
const CONDITION_TAG: u32 = tag(b"CND2");

/// Whether a timed wait on a [`RawCondition`] returned because its timeout
/// passed (std's `WaitTimeoutResult`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let cond = mproc_sync::RawCondition::new();
/// let g = cond.lock().unwrap();
/// let (_g, r) = cond.wait_timeout(g, Duration::from_millis(1)).unwrap();
/// assert!(r.timed_out());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// Whether the wait ended by its timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// # let cond = mproc_sync::RawCondition::new();
    /// # let g = cond.lock().unwrap();
    /// let (_g, r) = cond.wait_timeout(g, std::time::Duration::ZERO).unwrap();
    /// assert!(r.timed_out());
    /// ```
    pub fn timed_out(self) -> bool {
        self.0
    }
}

/// A process-shared condition variable with its own [`RawLock`], 32 bytes
/// `#[repr(C)]`: the lock, a [`WaitWord`] holding a notification sequence
/// number, a tag, and the counts of waiters and of notifications not yet
/// taken.
///
/// A waiter counts itself and reads the sequence number while it holds the
/// lock, releases the lock, and sleeps until the number changes; `notify(n)`
/// grants up to `n` notifications (no more than there are waiters not yet
/// notified), bumps the number and wakes. A waiter returns once it has
/// taken a notification, so `notify(n)` ends at most `n` waits, as in
/// Python; a notification that follows a state change made under the lock
/// is never missed. As with every condition variable, re-check the
/// condition after a wait, or use [`wait_while`](Self::wait_while): a
/// waiter killed while it waited stays counted for good, so a notify made
/// while no live process waits grants it a notification, which the next
/// waiter takes (its wait ends within 100 ms, as if notified).
///
/// If the lock's holder died, re-acquiring it after a wait reports
/// `Err(OwnerDied(..))` like [`RawLock::lock`].
///
/// # Examples
///
/// ```
/// let heap = mproc_shm::HeapRegion::new(64);
/// let cond = mproc_sync::RawCondition::init_in_place(&heap.region(), 0).unwrap();
/// let g = cond.lock().unwrap();
/// cond.notify_all(); // nobody waits: no system call
/// drop(g);
/// ```
#[repr(C, align(8))]
pub struct RawCondition {
    lock: RawLock,
    seq: WaitWord,
    tag: AtomicU32,
    /// Waiters (high 16 bits) and notifications granted to them and not
    /// yet taken (low 16 bits), changed together by compare-and-swap.
    waits: AtomicU32,
}

/// How often a waiter looks for a notification it was not woken for (its
/// notifier killed between granting it and waking).
const RECHECK: Duration = Duration::from_millis(100);

/// The most waiters (and notifications) the counts hold; more saturate.
const COUNT_MAX: u32 = 0xffff;

/// `(waiters, notifications)` of a `waits` word.
fn unpack(word: u32) -> (u32, u32) {
    (word >> 16, word & COUNT_MAX)
}

fn pack(waiters: u32, notified: u32) -> u32 {
    (waiters.min(COUNT_MAX) << 16) | notified.min(COUNT_MAX)
}

#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<RawCondition>() == 32);

// SAFETY: repr(C) of ShmSafe parts (RawLock, WaitWord, atomics): no
// padding, any bit pattern is a valid value, no pointers, no Drop.
#[cfg(not(loom))]
unsafe impl mproc_shm::ShmSafe for RawCondition {}

impl RawCondition {
    /// Bytes a `RawCondition` occupies in a region.
    pub const SIZE: u64 = 32;

    /// A condition with an unlocked lock (for memory that is not a
    /// segment: tests, loom).
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = mproc_sync::RawCondition::new();
    /// assert!(!cond.raw_lock().is_locked());
    /// ```
    pub fn new() -> RawCondition {
        RawCondition {
            lock: RawLock::new(),
            seq: WaitWord::new(0),
            tag: AtomicU32::new(CONDITION_TAG),
            waits: AtomicU32::new(0),
        }
    }

    /// Writes a condition at `offset` in `region` and returns it.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm) for a bad range or a
    /// read-only region.
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(32);
    /// assert!(mproc_sync::RawCondition::init_in_place(&heap.region(), 0).is_ok());
    /// ```
    #[cfg(not(loom))]
    pub fn init_in_place<'a>(
        region: &mproc_shm::Region<'a>,
        offset: u64,
    ) -> Result<&'a RawCondition> {
        let cond = region.get::<RawCondition>(offset)?;
        // Refuse a view of a read-only segment before writing anything.
        region.check_write(offset, RawCondition::SIZE)?;
        RawLock::init_in_place(region, offset)?;
        cond.seq.value().store(0, Ordering::Relaxed);
        cond.waits.store(0, Ordering::Relaxed);
        cond.tag.store(CONDITION_TAG, Ordering::Relaxed);
        Ok(cond)
    }

    /// The condition at `offset` in `region`, after checking its bytes (and
    /// its lock's).
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm),
    /// [`SyncError::Corrupt`](crate::SyncError::Corrupt).
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(32);
    /// assert!(mproc_sync::RawCondition::attach(&heap.region(), 0).is_err());
    /// ```
    #[cfg(not(loom))]
    pub fn attach<'a>(region: &mproc_shm::Region<'a>, offset: u64) -> Result<&'a RawCondition> {
        let cond = region.get::<RawCondition>(offset)?;
        check_tag(
            "condition",
            offset,
            cond.tag.load(Ordering::Relaxed),
            CONDITION_TAG,
        )?;
        cond.lock.validate(offset)?;
        Ok(cond)
    }

    /// The condition's lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = mproc_sync::RawCondition::new();
    /// let _g = cond.raw_lock().lock().unwrap();
    /// ```
    pub fn raw_lock(&self) -> &RawLock {
        &self.lock
    }

    /// Acquires the condition's lock (see [`RawLock::lock`]).
    ///
    /// # Errors
    ///
    /// `Err(OwnerDied(guard))` if a holder died.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = mproc_sync::RawCondition::new();
    /// assert!(cond.lock().is_ok());
    /// ```
    pub fn lock(&self) -> LockResult<LockGuard<'_>> {
        self.lock.lock()
    }

    /// Releases the lock held by `guard`, sleeps until notified, and
    /// re-acquires the lock.
    ///
    /// # Errors
    ///
    /// `Err(OwnerDied(guard))` if the lock's holder died while this waiter
    /// slept (the guard holds the lock again).
    ///
    /// # Panics
    ///
    /// If `guard` holds another lock than this condition's.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// let cond = mproc_sync::RawCondition::new();
    /// let ready = AtomicBool::new(false);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| {
    ///         let _g = cond.lock().unwrap();
    ///         ready.store(true, Ordering::Relaxed);
    ///         cond.notify_all();
    ///     });
    ///     let mut g = cond.lock().unwrap();
    ///     while !ready.load(Ordering::Relaxed) {
    ///         g = cond.wait(g).unwrap();
    ///     }
    /// });
    /// ```
    pub fn wait<'a>(&'a self, guard: LockGuard<'a>) -> LockResult<LockGuard<'a>> {
        match self.wait_until(guard, None) {
            Ok((g, _)) => Ok(g),
            Err(OwnerDied((g, _))) => Err(OwnerDied(g)),
        }
    }

    /// [`wait`](Self::wait), waiting for a notification for at most
    /// `timeout`. As with std's `Condvar` and Python's `Condition.wait`,
    /// the lock is then re-taken without a limit: a holder that keeps it
    /// (or a process stopped while holding it) delays the return past
    /// `timeout`.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    ///
    /// # Panics
    ///
    /// As [`wait`](Self::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = mproc_sync::RawCondition::new();
    /// let g = cond.lock().unwrap();
    /// let (g, r) = cond.wait_timeout(g, std::time::Duration::from_millis(2)).unwrap();
    /// assert!(r.timed_out() && g.is_consistent());
    /// ```
    pub fn wait_timeout<'a>(
        &'a self,
        guard: LockGuard<'a>,
        timeout: Duration,
    ) -> LockResult<(LockGuard<'a>, WaitTimeoutResult)> {
        self.wait_until(guard, Instant::now().checked_add(timeout))
    }

    /// [`wait`](Self::wait), until `deadline` (`None`: no limit).
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    ///
    /// # Panics
    ///
    /// As [`wait`](Self::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = mproc_sync::RawCondition::new();
    /// let g = cond.lock().unwrap();
    /// let (_g, r) = cond.wait_until(g, Some(std::time::Instant::now())).unwrap();
    /// assert!(r.timed_out());
    /// ```
    pub fn wait_until<'a>(
        &'a self,
        guard: LockGuard<'a>,
        deadline: Option<Instant>,
    ) -> LockResult<(LockGuard<'a>, WaitTimeoutResult)> {
        assert!(
            std::ptr::eq(guard.raw(), &self.lock),
            "Condition::wait with a guard of another lock"
        );
        // Counted and read while holding the lock: a notify that follows a
        // state change made under the lock counts this waiter, and bumps
        // the number after this read.
        self.update_waits(|w, n| Some(pack(w + 1, n)));
        let seq = self.seq.value().load(Ordering::Relaxed);
        let lock = guard.unlock_into_raw();
        let notified = self.take_notification(seq, deadline);
        let timed_out = WaitTimeoutResult(!notified);
        match lock.lock() {
            Ok(g) => Ok((g, timed_out)),
            Err(OwnerDied(g)) => Err(OwnerDied((g, timed_out))),
        }
    }

    /// Sleeps until it takes a notification (true) or `deadline` passes
    /// (false); either way this waiter is no longer counted.
    fn take_notification(&self, mut seen: u32, deadline: Option<Instant>) -> bool {
        loop {
            // Under loom a timed wait times out at once: wait as asked.
            let until = if cfg!(loom) {
                deadline
            } else {
                let soon = Instant::now() + RECHECK;
                Some(deadline.map_or(soon, |d| d.min(soon)))
            };
            let outcome = self.seq.wait_while(seen, until);
            // SYNC POINT: Acquire pairs with the Release bump in `grant`,
            // which follows its grant: a waiter that sees the bump sees the
            // notification. Read before the take, so that a grant the take
            // misses bumps the number after this read, and the next wait
            // does not sleep.
            seen = self.seq.value().load(Ordering::Acquire);
            if self.update_waits(|w, n| (n > 0).then(|| pack(w.saturating_sub(1), n - 1))) {
                return true;
            }
            let over = deadline.is_some_and(|d| Instant::now() >= d);
            if outcome == WaitOutcome::TimedOut && (cfg!(loom) || over) {
                // Leaving: a notification granted meanwhile is still ours.
                let mut took = false;
                self.update_waits(|w, n| {
                    took = n > 0;
                    Some(pack(w.saturating_sub(1), n.saturating_sub(1)))
                });
                return took;
            }
        }
    }

    /// Applies `f` to `(waiters, notifications)` by compare-and-swap until
    /// it sticks; `f` returning `None` leaves the word. Returns whether the
    /// word changed.
    fn update_waits(&self, mut f: impl FnMut(u32, u32) -> Option<u32>) -> bool {
        // AcqRel: a taker sees what the granter wrote before its grant.
        self.waits
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                let (w, n) = unpack(word);
                f(w, n)
            })
            .is_ok()
    }

    /// Grants up to `n` notifications to waiters not yet notified, then
    /// bumps the number and wakes that many.
    fn grant(&self, n: u32) {
        let mut granted = 0;
        self.update_waits(|w, pending| {
            granted = n.min(w.saturating_sub(pending));
            (granted > 0).then(|| pack(w, pending + granted))
        });
        if granted == 0 {
            return;
        }
        // Release: a waiter that sees the new number (Acquire in
        // `take_notification`) also sees the grant and what the notifier
        // wrote before; the lock orders the protected state itself.
        self.seq.value().fetch_add(1, Ordering::Release);
        self.seq.wake_n(granted);
    }

    /// Waits while `condition()` holds (std's `wait_while`; Python's
    /// `wait_for(p)` is `wait_while(guard, || !p())`). Checks first, so
    /// returns at once if it does not hold.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    ///
    /// # Panics
    ///
    /// As [`wait`](Self::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = mproc_sync::RawCondition::new();
    /// let g = cond.lock().unwrap();
    /// let g = cond.wait_while(g, || false).unwrap();
    /// drop(g);
    /// ```
    pub fn wait_while<'a>(
        &'a self,
        guard: LockGuard<'a>,
        mut condition: impl FnMut() -> bool,
    ) -> LockResult<LockGuard<'a>> {
        let mut guard = guard;
        while condition() {
            guard = self.wait(guard)?;
        }
        Ok(guard)
    }

    /// [`wait_while`](Self::wait_while), giving up once `timeout` has
    /// passed; the result says whether it gave up with the condition still
    /// holding. The lock is re-taken after each wait without a limit, as
    /// in [`wait_timeout`](Self::wait_timeout).
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    ///
    /// # Panics
    ///
    /// As [`wait`](Self::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = mproc_sync::RawCondition::new();
    /// let g = cond.lock().unwrap();
    /// let (_g, r) = cond.wait_timeout_while(g, std::time::Duration::from_millis(2), || true).unwrap();
    /// assert!(r.timed_out());
    /// ```
    pub fn wait_timeout_while<'a>(
        &'a self,
        guard: LockGuard<'a>,
        timeout: Duration,
        mut condition: impl FnMut() -> bool,
    ) -> LockResult<(LockGuard<'a>, WaitTimeoutResult)> {
        let deadline = Instant::now().checked_add(timeout);
        let mut guard = guard;
        loop {
            if !condition() {
                return Ok((guard, WaitTimeoutResult(false)));
            }
            let (g, r) = self.wait_until(guard, deadline)?;
            guard = g;
            if r.timed_out() {
                let still = condition();
                return Ok((guard, WaitTimeoutResult(still)));
            }
        }
    }

    /// Wakes up to `n` waiters (Python's `notify(n)`). Call it holding the
    /// lock, after changing the state the waiters test.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = mproc_sync::RawCondition::new();
    /// cond.notify(1);
    /// ```
    pub fn notify(&self, n: u32) {
        self.grant(n);
    }

    /// Wakes every waiter, in every process.
    ///
    /// # Examples
    ///
    /// ```
    /// mproc_sync::RawCondition::new().notify_all();
    /// ```
    pub fn notify_all(&self) {
        self.grant(COUNT_MAX);
    }
}

impl Default for RawCondition {
    fn default() -> RawCondition {
        RawCondition::new()
    }
}

impl std::fmt::Debug for RawCondition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawCondition")
            .field("lock", &self.lock)
            .field("waiters", &unpack(self.waits.load(Ordering::Relaxed)).0)
            .field("notified", &unpack(self.waits.load(Ordering::Relaxed)).1)
            .finish()
    }
}

/// Python's `multiprocessing.Condition` in its own segment, with its own
/// robust lock (see [`RawCondition`], to which it dereferences).
///
/// # Examples
///
/// ```
/// let cond = mproc_sync::Condition::create("doc-cond").unwrap();
/// let same = mproc_sync::Condition::open("doc-cond").unwrap();
/// let g = same.lock().unwrap();
/// cond.notify(1);
/// drop(g);
/// ```
#[cfg(not(loom))]
pub struct Condition {
    shared: crate::shared::Shared<RawCondition>,
}

#[cfg(not(loom))]
impl Condition {
    /// A condition in an anonymous segment shared with children forked
    /// later.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_sync::Condition::new().is_ok());
    /// ```
    pub fn new() -> Result<Condition> {
        Condition::from_segment(Condition::builder().create_anonymous()?)
    }

    /// A condition in a new named segment.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_sync::Condition::create("doc-cond-create").is_ok());
    /// ```
    pub fn create(name: &str) -> Result<Condition> {
        Condition::from_segment(Condition::builder().create(name)?)
    }

    fn builder() -> mproc_shm::SegmentBuilder<'static> {
        crate::shared::builder(mproc_shm::SegmentKind::Condition, 64, [0; 8], |p| {
            RawCondition::init_in_place(p, 0).map(drop)
        })
    }
}

#[cfg(not(loom))]
crate::shared::handle_common!(
    Condition,
    RawCondition,
    Condition,
    |_| Ok(()),
    "Condition::new()"
);
