//! Shared (inter-process) futex wait and wake.
//!
//! These futexes are never `FUTEX_PRIVATE_FLAG`: the private flag only works
//! between threads of one process, and mproc's words live in shared memory
//! mapped by several processes (at different addresses).

use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// How a [`futex_wait`] ended.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::AtomicU32;
/// use mproc_sys::{futex_wait, FutexWait};
///
/// let word = AtomicU32::new(1);
/// // The word is not 0, so the call returns at once.
/// assert_eq!(futex_wait(&word, 0, None), FutexWait::ValueChanged);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FutexWait {
    /// A wake arrived (or the kernel woke the waiter spuriously): re-check
    /// the condition.
    Woken,
    /// The word did not hold the expected value when the call began.
    ValueChanged,
    /// The timeout elapsed.
    TimedOut,
    /// A signal handler ran: re-check the condition and wait again.
    Interrupted,
}

/// Sleeps while `word` holds `expected`, until woken by [`futex_wake`] /
/// [`futex_wake_all`] on the same word from any process, or until `timeout`
/// (relative) elapses. `None` waits without a time limit.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::AtomicU32;
/// use std::time::Duration;
/// use mproc_sys::{futex_wait, FutexWait};
///
/// let word = AtomicU32::new(0);
/// let r = futex_wait(&word, 0, Some(Duration::from_millis(1)));
/// assert_eq!(r, FutexWait::TimedOut);
/// ```
pub fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> FutexWait {
    let ts;
    let ts_ptr = match timeout {
        Some(d) => {
            ts = libc::timespec {
                tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
                tv_nsec: libc::c_long::from(d.subsec_nanos() as i32),
            };
            &ts as *const libc::timespec
        }
        None => std::ptr::null(),
    };
    // SAFETY: `word` is a valid, aligned 4-byte atomic for the duration of the
    // call; FUTEX_WAIT only reads it. `ts_ptr` is null or points to `ts`,
    // which lives until the call returns.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            ts_ptr,
            std::ptr::null::<u32>(),
            0u32,
        )
    };
    if rc == 0 {
        return FutexWait::Woken;
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EAGAIN) => FutexWait::ValueChanged,
        Some(libc::ETIMEDOUT) => FutexWait::TimedOut,
        Some(libc::EINTR) => FutexWait::Interrupted,
        // EFAULT/EINVAL cannot happen for a valid &AtomicU32; treat anything
        // else as a spurious wake so that callers re-check their condition.
        _ => FutexWait::Woken,
    }
}

/// Wakes at most `n` waiters sleeping on `word` in any process; returns how
/// many were woken. `n == 0` wakes nobody (the kernel would wake one).
///
/// # Examples
///
/// ```
/// use std::sync::atomic::AtomicU32;
/// let word = AtomicU32::new(0);
/// assert_eq!(mproc_sys::futex_wake(&word, 1), 0); // nobody waits
/// assert_eq!(mproc_sys::futex_wake(&word, 0), 0);
/// ```
pub fn futex_wake(word: &AtomicU32, n: u32) -> usize {
    if n == 0 {
        return 0;
    }
    let n = n.min(i32::MAX as u32);
    // SAFETY: `word` is a valid, aligned 4-byte atomic; FUTEX_WAKE does not
    // access its memory beyond using the address as a key.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            n,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        )
    };
    usize::try_from(rc).unwrap_or(0)
}

/// Wakes every waiter sleeping on `word` in any process; returns how many.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::AtomicU32;
/// let word = AtomicU32::new(0);
/// assert_eq!(mproc_sys::futex_wake_all(&word), 0);
/// ```
pub fn futex_wake_all(word: &AtomicU32) -> usize {
    futex_wake(word, i32::MAX as u32)
}
