//! The wait/wake step under every blocking primitive, as a trait so that
//! tests can swap the kernel futex for a stand-in (a counting one in unit
//! tests, a loom condition variable under `cfg(loom)`).

use std::time::Duration;

use crate::loom::atomic::AtomicU32;

pub use mproc_sys::FutexWait;

/// The wait/wake step: sleep while a 32-bit word holds a value, and wake
/// sleepers of a word.
///
/// An implementation behaves like Linux's `FUTEX_WAIT`/`FUTEX_WAKE`: `wait`
/// checks the word and goes to sleep *atomically* with respect to `wake`
/// (a wake that follows a change of the word can never slip in between the
/// check and the sleep), and it may return early for no reason (callers
/// re-check). Implementations never use private (single-process) futexes.
///
/// # Examples
///
/// A futex that counts its calls, handy to check that a wake with nobody
/// waiting makes no system call:
///
/// ```
/// # #[cfg(not(loom))] {
/// use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
/// use std::time::Duration;
/// use mproc_sync::{Futex, FutexWait, SharedFutex, WaitWord};
///
/// static CALLS: AtomicUsize = AtomicUsize::new(0);
/// struct Counting;
/// impl Futex for Counting {
///     fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> FutexWait {
///         CALLS.fetch_add(1, Ordering::Relaxed);
///         SharedFutex::wait(word, expected, timeout)
///     }
///     fn wake(word: &AtomicU32, n: u32) -> usize {
///         CALLS.fetch_add(1, Ordering::Relaxed);
///         SharedFutex::wake(word, n)
///     }
/// }
///
/// let w: WaitWord<Counting> = WaitWord::with_futex(0);
/// w.value().store(1, Ordering::Release);
/// assert_eq!(w.wake_all(), 0);
/// assert_eq!(CALLS.load(Ordering::Relaxed), 0); // no waiter: no call
/// # }
/// ```
pub trait Futex: 'static {
    /// Sleeps while `word == expected`, for at most `timeout` (`None`: no
    /// limit). May return early ([`FutexWait::Woken`] without a change).
    fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> FutexWait;
    /// Wakes up to `n` sleepers of `word`; returns how many it woke.
    fn wake(word: &AtomicU32, n: u32) -> usize;
}

/// The kernel's shared futex (`FUTEX_WAIT`/`FUTEX_WAKE` without
/// `FUTEX_PRIVATE_FLAG`): works between processes that map the same memory
/// at different addresses.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::AtomicU32;
/// use std::time::Duration;
/// use mproc_sync::{Futex, FutexWait, SharedFutex};
///
/// let word = AtomicU32::new(5);
/// assert_eq!(SharedFutex::wait(&word, 4, None), FutexWait::ValueChanged);
/// assert_eq!(SharedFutex::wait(&word, 5, Some(Duration::from_millis(1))), FutexWait::TimedOut);
/// assert_eq!(SharedFutex::wake(&word, 1), 0);
/// ```
#[cfg(not(loom))]
#[derive(Debug, Clone, Copy, Default)]
pub struct SharedFutex;

#[cfg(not(loom))]
impl Futex for SharedFutex {
    #[inline]
    fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> FutexWait {
        mproc_sys::futex_wait(word, expected, timeout)
    }

    #[inline]
    fn wake(word: &AtomicU32, n: u32) -> usize {
        mproc_sys::futex_wake(word, n)
    }
}

/// The futex every primitive of this crate uses: [`SharedFutex`], or the
/// loom stand-in under `cfg(loom)`.
#[cfg(not(loom))]
pub type DefaultFutex = SharedFutex;

/// The futex every primitive of this crate uses under `cfg(loom)`.
#[cfg(loom)]
pub type DefaultFutex = loom_futex::LoomFutex;

#[cfg(loom)]
pub use loom_futex::LoomFutex;

#[cfg(loom)]
mod loom_futex {
    //! A model of the kernel futex for loom: one "hash bucket" (a loom mutex)
    //! makes check-and-sleep atomic with respect to wake, as the kernel's
    //! bucket lock does; a loom condition variable is the sleep.

    use std::time::Duration;

    use loom::sync::{Condvar, Mutex};

    use super::{Futex, FutexWait};
    use crate::loom::atomic::{AtomicU32, Ordering};

    struct Kernel {
        sleepers: Mutex<usize>,
        wakeup: Condvar,
    }

    loom::lazy_static! {
        static ref KERNEL: Kernel = Kernel { sleepers: Mutex::new(0), wakeup: Condvar::new() };
    }

    /// The loom stand-in for the kernel futex. A timed wait returns
    /// `TimedOut` at once (the deadline may pass at any moment); `wake`
    /// wakes every sleeper (waking more than asked is a spurious wake,
    /// which every caller tolerates).
    #[derive(Debug, Clone, Copy, Default)]
    pub struct LoomFutex;

    impl Futex for LoomFutex {
        fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> FutexWait {
            let mut sleepers = KERNEL.sleepers.lock().unwrap();
            if word.load(Ordering::SeqCst) != expected {
                return FutexWait::ValueChanged;
            }
            if timeout.is_some() {
                return FutexWait::TimedOut;
            }
            *sleepers += 1;
            let mut sleepers = KERNEL.wakeup.wait(sleepers).unwrap();
            *sleepers -= 1;
            FutexWait::Woken
        }

        fn wake(_word: &AtomicU32, n: u32) -> usize {
            let sleepers = KERNEL.sleepers.lock().unwrap();
            KERNEL.wakeup.notify_all();
            (*sleepers).min(n as usize)
        }
    }
}
