//! Which CPUs the calling thread may run on (`sched_getaffinity` /
//! `sched_setaffinity`), for benchmarks that place two processes on two
//! cores.

use std::io;

/// The CPUs the calling thread may run on, in ascending order.
///
/// # Errors
///
/// The `errno` of `sched_getaffinity`.
///
/// # Examples
///
/// ```
/// let cpus = mproc_sys::cpu_affinity().unwrap();
/// assert!(!cpus.is_empty());
/// ```
pub fn cpu_affinity() -> io::Result<Vec<usize>> {
    // SAFETY: an all-zero cpu_set_t is a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable cpu_set_t of the size passed.
    let rc =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let max = 8 * std::mem::size_of::<libc::cpu_set_t>();
    let is_set = |cpu: usize| {
        // SAFETY: `set` was filled in by the kernel; every index passed is
        // below the set's capacity in bits.
        unsafe { libc::CPU_ISSET(cpu, &set) }
    };
    Ok((0..max).filter(|&cpu| is_set(cpu)).collect())
}

/// Restricts the calling thread (and the threads and processes it creates
/// afterwards) to `cpus`.
///
/// # Errors
///
/// `EINVAL` when `cpus` is empty, names no online CPU, or a CPU beyond the
/// set's capacity; another `errno` of `sched_setaffinity`.
///
/// # Examples
///
/// ```
/// let all = mproc_sys::cpu_affinity().unwrap();
/// mproc_sys::set_cpu_affinity(&all[..1]).unwrap();
/// assert_eq!(mproc_sys::cpu_affinity().unwrap(), &all[..1]);
/// mproc_sys::set_cpu_affinity(&all).unwrap();
/// ```
pub fn set_cpu_affinity(cpus: &[usize]) -> io::Result<()> {
    let max = 8 * std::mem::size_of::<libc::cpu_set_t>();
    if cpus.is_empty() || cpus.iter().any(|&c| c >= max) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: an all-zero cpu_set_t is a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        // SAFETY: `cpu` is below the set's capacity in bits (checked above).
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: `set` is a valid cpu_set_t of the size passed; the kernel only
    // reads it.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
