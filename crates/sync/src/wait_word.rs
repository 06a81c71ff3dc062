//! [`WaitWord`]: a 32-bit word in shared memory that processes can sleep on
//! until it changes, with a count of sleepers so that waking nobody costs
//! no system call.

use std::marker::PhantomData;
use std::time::{Duration, Instant};

use crate::futex::{DefaultFutex, Futex, FutexWait};
use crate::loom::atomic::{AtomicU32, Ordering};

/// How many times [`WaitWord::wait_while`] re-reads the word, with a CPU
/// spin hint in between, before it registers as a waiter and sleeps.
///
/// About a microsecond on current x86 cores: long enough to catch a
/// hand-off by a process running on another core, short enough to cost
/// little when the wait is long. Under loom the spin is skipped.
pub const DEFAULT_SPINS: u32 = if cfg!(loom) { 0 } else { 64 };

/// How long [`WaitWord::wait_while_rechecking`] sleeps at most before it
/// reads the word again: the longest a wake-up lost to a waker killed
/// between its change and its wake delays a waiter.
pub const RECHECK_INTERVAL: Duration = Duration::from_millis(100);

/// How a wait on a [`WaitWord`] ended.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use mproc_sync::{WaitOutcome, WaitWord};
///
/// let w = WaitWord::new(3);
/// assert_eq!(w.wait_while(2, None), WaitOutcome::Changed);
/// let soon = Instant::now() + Duration::from_millis(1);
/// assert_eq!(w.wait_while(3, Some(soon)), WaitOutcome::TimedOut);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitOutcome {
    /// The word no longer held the expected value when last read.
    Changed,
    /// The deadline passed and the word still held the expected value.
    TimedOut,
}

/// A 32-bit word that processes sleep on until it changes: the futex of
/// every blocking mproc primitive, and of the queue and dict.
///
/// Eight bytes, `#[repr(C, align(8))]`: the word itself (`value`), then the
/// number of processes registered as (about to be) asleep on it
/// (`waiters`). All-zero bytes are a valid initial state, and it lives in
/// segments ([`mproc_shm::ShmSafe`]). Any bytes a peer may write leave it
/// memory-safe: a corrupt waiter count can only cost a needless system call
/// or, if a peer zeroes it while others sleep, a missed wake that the
/// sleepers' deadlines bound. A waiter killed while asleep leaves the count
/// one too high for good: wakes then make a system call that finds nobody.
///
/// # Protocol
///
/// The word's meaning belongs to the protocol built on it (a lock state, a
/// sequence number, a count). The protocol changes [`value`](Self::value)
/// with any atomic write, then calls [`wake_one`](Self::wake_one) or
/// [`wake_all`](Self::wake_all); a waiter calls
/// [`wait_while`](Self::wait_while) with the value it last read, and
/// re-checks its condition when that returns.
///
/// Why no wake is lost although `wake_*` skip the system call when
/// `waiters == 0`:
///
/// * the waiter registers (`waiters += 1`, an AcqRel read-modify-write)
///   *before* it re-reads `value` and sleeps;
/// * the waker changes `value` *before* it reads `waiters` with an AcqRel
///   read-modify-write (`fetch_add(0)`), not a plain load.
///
/// The two read-modify-writes of `waiters` are ordered in its modification
/// order. If the waker's comes first, it is a Release that the waiter's
/// Acquire reads from (RMWs extend release sequences): the waker's change of
/// `value` happens-before the waiter's re-read, which sees it and does not
/// sleep. If the waiter's comes first, the waker reads `waiters >= 1` and
/// makes the system call, and the kernel's check-and-sleep is atomic with
/// respect to wake. Either way the waiter wakes. (Plain acquire/release
/// reasoning, so loom checks it exactly; a `SeqCst` store-then-load pair
/// would need the stronger `SeqCst` total order that loom does not model.)
///
/// Wakes are broadcast in nature: a waiter may return `Changed` because a
/// wake meant for another arrived, or because the word changed and changed
/// back (ABA); protocols that care use a sequence number. Spurious kernel
/// wakes with an unchanged word are absorbed: `wait_while` sleeps again.
///
/// The futex is a type parameter so tests can count or model it (see
/// [`Futex`]); it is always a shared, never a private, futex.
///
/// # Examples
///
/// One thread (in real use, one process) waits for another to publish:
///
/// ```
/// use std::sync::atomic::Ordering;
/// use std::time::{Duration, Instant};
/// use mproc_sync::{WaitOutcome, WaitWord};
///
/// static READY: WaitWord = WaitWord::new(0);
///
/// let t = std::thread::spawn(|| {
///     let deadline = Instant::now() + Duration::from_secs(10);
///     while READY.value().load(Ordering::Acquire) == 0 {
///         if READY.wait_while(0, Some(deadline)) == WaitOutcome::TimedOut {
///             panic!("nobody published");
///         }
///     }
/// });
/// READY.value().store(1, Ordering::Release);
/// READY.wake_all();
/// t.join().unwrap();
/// ```
#[repr(C, align(8))]
pub struct WaitWord<F: Futex = DefaultFutex> {
    value: AtomicU32,
    waiters: AtomicU32,
    _futex: PhantomData<fn() -> F>,
}

#[cfg(not(loom))]
const _: () =
    assert!(std::mem::size_of::<WaitWord>() == 8 && std::mem::align_of::<WaitWord>() == 8);

// SAFETY: repr(C) of two AtomicU32 (and a zero-sized marker): no padding,
// every bit pattern valid, no pointers, no Drop, mutated only atomically.
#[cfg(not(loom))]
unsafe impl<F: Futex> mproc_shm::ShmSafe for WaitWord<F> {}

impl WaitWord {
    /// A word holding `value`, nobody waiting, on the kernel's shared futex.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::Ordering;
    /// let w = mproc_sync::WaitWord::new(7);
    /// assert_eq!(w.value().load(Ordering::Relaxed), 7);
    /// ```
    #[cfg(not(loom))]
    pub const fn new(value: u32) -> WaitWord {
        WaitWord::with_futex(value)
    }

    /// A word holding `value` (loom build: not `const`).
    #[cfg(loom)]
    pub fn new(value: u32) -> WaitWord {
        WaitWord::with_futex(value)
    }
}

impl<F: Futex> WaitWord<F> {
    /// A word holding `value` whose wait/wake step is `F`.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_sync::{SharedFutex, WaitWord};
    /// let w: WaitWord<SharedFutex> = WaitWord::with_futex(0);
    /// assert_eq!(w.waiters(), 0);
    /// ```
    #[cfg(not(loom))]
    pub const fn with_futex(value: u32) -> WaitWord<F> {
        WaitWord {
            value: AtomicU32::new(value),
            waiters: AtomicU32::new(0),
            _futex: PhantomData,
        }
    }

    /// A word holding `value` whose wait/wake step is `F` (loom build).
    #[cfg(loom)]
    pub fn with_futex(value: u32) -> WaitWord<F> {
        WaitWord {
            value: AtomicU32::new(value),
            waiters: AtomicU32::new(0),
            _futex: PhantomData,
        }
    }

    /// The word itself, for the protocol's loads, stores and CAS.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::Ordering;
    /// let w = mproc_sync::WaitWord::new(0);
    /// assert_eq!(w.value().compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed), Ok(0));
    /// ```
    #[inline]
    pub fn value(&self) -> &AtomicU32 {
        &self.value
    }

    /// How many processes are registered as waiting right now (a snapshot,
    /// for tests and diagnostics).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_sync::WaitWord::new(0).waiters(), 0);
    /// ```
    pub fn waiters(&self) -> u32 {
        self.waiters.load(Ordering::Relaxed)
    }

    /// Waits while the word holds `expected`: a short spin
    /// ([`DEFAULT_SPINS`]), then sleeps on the futex until woken or until
    /// `deadline` (`None`: no limit).
    ///
    /// Returns [`WaitOutcome::Changed`] as soon as the word is seen to hold
    /// anything else (possibly only for a moment: re-check the condition);
    /// spurious wakes with the word unchanged are absorbed internally.
    /// Returns [`WaitOutcome::TimedOut`] if the deadline passes first; a
    /// deadline already past returns at once without a system call.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Instant;
    /// use mproc_sync::{WaitOutcome, WaitWord};
    /// let w = WaitWord::new(1);
    /// assert_eq!(w.wait_while(1, Some(Instant::now())), WaitOutcome::TimedOut);
    /// assert_eq!(w.wait_while(0, None), WaitOutcome::Changed);
    /// ```
    #[inline]
    pub fn wait_while(&self, expected: u32, deadline: Option<Instant>) -> WaitOutcome {
        self.wait_while_spin(expected, deadline, DEFAULT_SPINS)
    }

    /// [`wait_while`](Self::wait_while), reading the word again at least
    /// every [`RECHECK_INTERVAL`] even if no wake comes: a process killed
    /// between changing the word and waking its sleepers (a `set`, a
    /// `release`, a `notify` cut short by SIGKILL) delays a waiter by at
    /// most that interval instead of leaving it asleep for good. The
    /// blocking calls of this crate's primitives wait this way.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::Ordering;
    /// use std::time::{Duration, Instant};
    /// use mproc_sync::{WaitOutcome, WaitWord};
    ///
    /// let w = WaitWord::new(0);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| {
    ///         std::thread::sleep(Duration::from_millis(20));
    ///         // Changed, and nobody woken: as if the waker died here.
    ///         w.value().store(1, Ordering::Release);
    ///     });
    ///     assert_eq!(w.wait_while_rechecking(0, None), WaitOutcome::Changed);
    /// });
    /// let soon = Instant::now() + Duration::from_millis(5);
    /// assert_eq!(w.wait_while_rechecking(1, Some(soon)), WaitOutcome::TimedOut);
    /// ```
    pub fn wait_while_rechecking(&self, expected: u32, deadline: Option<Instant>) -> WaitOutcome {
        loop {
            // Under loom a timed wait times out at once: wait as asked.
            let until = if cfg!(loom) {
                deadline
            } else {
                let soon = Instant::now() + RECHECK_INTERVAL;
                Some(deadline.map_or(soon, |d| d.min(soon)))
            };
            match self.wait_while(expected, until) {
                WaitOutcome::Changed => return WaitOutcome::Changed,
                WaitOutcome::TimedOut
                    if cfg!(loom) || deadline.is_some_and(|d| Instant::now() >= d) =>
                {
                    return WaitOutcome::TimedOut;
                }
                // Only the recheck interval passed: the next wait reads
                // the word before it sleeps again.
                WaitOutcome::TimedOut => {}
            }
        }
    }

    /// [`wait_while`](Self::wait_while) with `spins` re-reads before
    /// sleeping (`0`: sleep at once).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use mproc_sync::{WaitOutcome, WaitWord};
    /// let w = WaitWord::new(0);
    /// let deadline = Instant::now() + Duration::from_millis(2);
    /// assert_eq!(w.wait_while_spin(0, Some(deadline), 0), WaitOutcome::TimedOut);
    /// assert!(Instant::now() >= deadline);
    /// ```
    pub fn wait_while_spin(
        &self,
        expected: u32,
        deadline: Option<Instant>,
        spins: u32,
    ) -> WaitOutcome {
        for _ in 0..spins {
            // Acquire: a protocol that sees the change may read what the
            // changer published before its (Release or stronger) write.
            if self.value.load(Ordering::Acquire) != expected {
                return WaitOutcome::Changed;
            }
            crate::loom::spin_loop();
        }
        loop {
            // SYNC POINT with the `fetch_add(0)` in `waiters_present`: register
            // before re-reading the word (see the type's Protocol section).
            self.waiters.fetch_add(1, Ordering::AcqRel);
            let outcome = self.sleep_registered(expected, deadline);
            self.waiters.fetch_sub(1, Ordering::Release);
            if let Some(outcome) = outcome {
                return outcome;
            }
        }
    }

    /// One sleep while registered; `None` means "woken with the word
    /// unchanged: sleep again".
    fn sleep_registered(&self, expected: u32, deadline: Option<Instant>) -> Option<WaitOutcome> {
        if self.value.load(Ordering::Acquire) != expected {
            return Some(WaitOutcome::Changed);
        }
        let timeout = match deadline {
            None => None,
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return Some(WaitOutcome::TimedOut),
            },
        };
        let woke = F::wait(&self.value, expected, timeout);
        if self.value.load(Ordering::Acquire) != expected {
            return Some(WaitOutcome::Changed);
        }
        match woke {
            FutexWait::TimedOut => Some(WaitOutcome::TimedOut),
            FutexWait::Woken | FutexWait::ValueChanged | FutexWait::Interrupted => None,
        }
    }

    /// Whether anybody is registered as waiting. An AcqRel read-modify-write
    /// rather than a load: see the type's Protocol section.
    #[inline]
    fn waiters_present(&self) -> bool {
        // SYNC POINT with the `fetch_add(1)` in `wait_while_spin`.
        self.waiters.fetch_add(0, Ordering::AcqRel) != 0
    }

    /// Wakes one waiter, if any is registered; returns how many the kernel
    /// woke. Call it after changing [`value`](Self::value). Makes no system
    /// call when nobody waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = mproc_sync::WaitWord::new(0);
    /// assert_eq!(w.wake_one(), 0);
    /// ```
    #[inline]
    pub fn wake_one(&self) -> usize {
        if self.waiters_present() {
            F::wake(&self.value, 1)
        } else {
            0
        }
    }

    /// Wakes up to `n` waiters; see [`wake_one`](Self::wake_one).
    ///
    /// # Examples
    ///
    /// ```
    /// let w = mproc_sync::WaitWord::new(0);
    /// assert_eq!(w.wake_n(3), 0);
    /// ```
    #[inline]
    pub fn wake_n(&self, n: u32) -> usize {
        if n > 0 && self.waiters_present() {
            F::wake(&self.value, n)
        } else {
            0
        }
    }

    /// Wakes every waiter, in every process; see
    /// [`wake_one`](Self::wake_one).
    ///
    /// # Examples
    ///
    /// ```
    /// let w = mproc_sync::WaitWord::new(0);
    /// assert_eq!(w.wake_all(), 0);
    /// ```
    #[inline]
    pub fn wake_all(&self) -> usize {
        self.wake_n(i32::MAX as u32)
    }
}

impl<F: Futex> std::fmt::Debug for WaitWord<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitWord")
            .field("value", &self.value.load(Ordering::Relaxed))
            .field("waiters", &self.waiters.load(Ordering::Relaxed))
            .finish()
    }
}

impl Default for WaitWord {
    fn default() -> WaitWord {
        WaitWord::new(0)
    }
}
