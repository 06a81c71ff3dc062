//! Process file descriptors (`pidfd_open`) and waiting on them with `poll`:
//! a handle on one exact process that pid reuse cannot redirect.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// Opens a file descriptor that refers to process `pid` (`pidfd_open`,
/// Linux 5.3+). It becomes readable when the process exits, and keeps
/// naming that very process even after the pid is reused.
///
/// # Errors
///
/// `ESRCH` if there is no such process, `ENOSYS` on kernels without
/// `pidfd_open`, `EMFILE` when out of descriptors.
///
/// # Examples
///
/// ```
/// let fd = mproc_sys::pidfd_open(mproc_sys::getpid()).unwrap();
/// use std::os::fd::AsFd;
/// // We are running: not readable yet.
/// assert!(!mproc_sys::wait_readable(fd.as_fd(), Some(std::time::Duration::ZERO)).unwrap());
/// ```
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    if pid <= 0 {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    // SAFETY: pidfd_open takes a pid and a flags word, no pointers.
    let rc = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_long, 0 as libc::c_long) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = rc as libc::c_int;
    // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Waits until `fd` is readable (`poll` for `POLLIN`), at most `timeout`
/// (`None`, or a timeout past the clock's range: no limit). Returns whether
/// it became readable. Interrupted waits (`EINTR`) resume with the time
/// that is left.
///
/// # Errors
///
/// The `errno` of `poll`.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
/// use std::time::Duration;
/// let fd = mproc_sys::pidfd_open(mproc_sys::getpid()).unwrap();
/// assert!(!mproc_sys::wait_readable(fd.as_fd(), Some(Duration::from_millis(1))).unwrap());
///
/// // Readable at once: no limit needed, and `Duration::MAX` is no limit.
/// use std::io::Write;
/// let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
/// a.write_all(b"x").unwrap();
/// assert!(mproc_sys::wait_readable(b.as_fd(), Some(Duration::MAX)).unwrap());
/// ```
pub fn wait_readable(fd: BorrowedFd<'_>, timeout: Option<Duration>) -> io::Result<bool> {
    // A timeout past the clock's range waits without limit.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        let ms: libc::c_int = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                // Round up so that a sub-millisecond rest still waits.
                let ms = left.as_nanos().div_ceil(1_000_000);
                ms.min(libc::c_int::MAX as u128) as libc::c_int
            }
        };
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `pfd` is one valid, writable pollfd for the duration of the call.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(err);
        }
        if rc > 0 {
            return Ok(true);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(false);
        }
    }
}
