//! CPU time consumed, for checking that blocked waiters do not burn a core.

use std::time::Duration;

fn clock(id: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock ids used here
    // always exist on Linux, and on failure `ts` stays zero.
    unsafe { libc::clock_gettime(id, &mut ts) };
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// CPU time (user + system) consumed by the whole calling process so far.
///
/// # Examples
///
/// ```
/// let a = mproc_sys::process_cpu_time();
/// let mut x = 0u64;
/// for i in 0..1_000_000u64 { x = x.wrapping_add(std::hint::black_box(i)); }
/// assert!(mproc_sys::process_cpu_time() >= a);
/// ```
pub fn process_cpu_time() -> Duration {
    clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// CPU time (user + system) consumed by the calling thread so far.
///
/// # Examples
///
/// ```
/// let a = mproc_sys::thread_cpu_time();
/// assert!(mproc_sys::thread_cpu_time() >= a);
/// ```
pub fn thread_cpu_time() -> Duration {
    clock(libc::CLOCK_THREAD_CPUTIME_ID)
}
