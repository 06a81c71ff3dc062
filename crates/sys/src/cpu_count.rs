//! How many CPUs there are, and how many this process may run on.

use std::io;

/// The number of CPUs online (`sysconf(_SC_NPROCESSORS_ONLN)`), what
/// Python's `os.cpu_count()` reports.
///
/// # Errors
///
/// If `sysconf` cannot tell.
///
/// # Examples
///
/// ```
/// assert!(mproc_sys::online_cpu_count().unwrap() >= 1);
/// ```
pub fn online_cpu_count() -> io::Result<usize> {
    // SAFETY: sysconf takes an integer name and no pointers.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n < 1 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// The number of CPUs the calling thread may run on
/// (`sched_getaffinity`), what Python's `os.process_cpu_count()` reports.
///
/// # Errors
///
/// The `errno` of `sched_getaffinity`.
///
/// # Examples
///
/// ```
/// let usable = mproc_sys::affinity_cpu_count().unwrap();
/// assert!(usable >= 1);
/// assert!(usable <= mproc_sys::online_cpu_count().unwrap().max(usable));
/// ```
pub fn affinity_cpu_count() -> io::Result<usize> {
    // SAFETY: an all-zero cpu_set_t is a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable cpu_set_t of the size passed.
    let rc =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `set` was filled in by the kernel.
    let n = unsafe { libc::CPU_COUNT(&set) };
    Ok(n.max(1) as usize)
}
