//! Resource limits (`setrlimit`) on the number of processes.

use std::io;

/// Sets the calling process's limit on the number of processes its real
/// user may own (`setrlimit(RLIMIT_NPROC)`): `soft` is enforced, `hard` is
/// the ceiling the soft limit may be raised to. A `fork` beyond the soft
/// limit fails with `EAGAIN` (root and `CAP_SYS_RESOURCE` are exempt).
///
/// # Errors
///
/// `EINVAL` if `soft > hard`, `EPERM` when raising the hard limit without
/// the privilege.
///
/// # Examples
///
/// ```
/// // Setting the limit to what it already is always succeeds.
/// let (soft, hard) = mproc_sys::process_limit().unwrap();
/// mproc_sys::set_process_limit(soft, hard).unwrap();
/// ```
pub fn set_process_limit(soft: u64, hard: u64) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `lim` is a valid rlimit for the duration of the call.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NPROC, &lim) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The calling process's `(soft, hard)` limit on the number of processes
/// (`getrlimit(RLIMIT_NPROC)`); `u64::MAX` means unlimited.
///
/// # Errors
///
/// The `errno` of `getrlimit`.
///
/// # Examples
///
/// ```
/// let (soft, hard) = mproc_sys::process_limit().unwrap();
/// assert!(soft <= hard);
/// ```
pub fn process_limit() -> io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for the duration of the call.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NPROC, &mut lim) };
    if rc == 0 {
        Ok((lim.rlim_cur, lim.rlim_max))
    } else {
        Err(io::Error::last_os_error())
    }
}
