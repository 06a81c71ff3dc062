//! Pointing standard input at `/dev/null`, as Python's multiprocessing does
//! in every child it starts.

use std::io;

/// Makes descriptor 0 of the calling process read `/dev/null`: a child
/// that reads its standard input then sees end of file at once, instead of
/// competing with its parent (and siblings) for the parent's input.
///
/// Works whether descriptor 0 was open or closed before. Whatever
/// descriptor 0 was is replaced, even a file the process opened there
/// after starting without a standard input. Input the process had
/// already read into a buffer (Rust's `std::io::stdin()` keeps one) is
/// not affected: a reader drains it before it sees the end of file.
///
/// # Errors
///
/// The `errno` of `open` or `dup2`.
///
/// # Examples
///
/// ```no_run
/// // In a freshly forked child, before it runs anything else:
/// mproc_sys::stdin_from_null().unwrap();
/// let mut line = String::new();
/// assert_eq!(std::io::stdin().read_line(&mut line).unwrap(), 0);
/// ```
pub fn stdin_from_null() -> io::Result<()> {
    // Close-on-exec while it is a temporary descriptor, so that another
    // thread's exec in between does not inherit it.
    // SAFETY: a NUL-terminated path literal and plain flags.
    let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    if fd == 0 {
        // Descriptor 0 was free: this one stays, so it must survive exec.
        // SAFETY: F_SETFD on a descriptor we own, with a plain flag word.
        if unsafe { libc::fcntl(0, libc::F_SETFD, 0) } < 0 {
            return Err(io::Error::last_os_error());
        }
        return Ok(());
    }
    // SAFETY: both are descriptor numbers; dup2 replaces 0 atomically.
    let rc = unsafe { libc::dup2(fd, 0) };
    let err = (rc < 0).then(io::Error::last_os_error);
    // SAFETY: `fd` was opened above and nothing else refers to it.
    unsafe { libc::close(fd) };
    err.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use crate::test_child::passes_in_child;

    #[test]
    fn stdin_reads_end_of_file_in_a_child() {
        // In a forked child: descriptor 0 belongs to the whole test binary.
        assert!(passes_in_child(|| {
            if super::stdin_from_null().is_err() {
                return false;
            }
            let target = std::fs::read_link("/proc/self/fd/0");
            let mut buf = [0u8; 1];
            // SAFETY: reads into a valid one-byte buffer.
            let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), 1) };
            target.is_ok_and(|t| t == std::path::Path::new("/dev/null")) && n == 0
        }));
    }

    #[test]
    fn a_closed_stdin_is_opened_on_null() {
        assert!(passes_in_child(|| {
            // SAFETY: closes descriptor 0 of this forked child only.
            unsafe { libc::close(0) };
            // SAFETY: F_GETFD on descriptor 0, just opened by the call.
            let flags = || unsafe { libc::fcntl(0, libc::F_GETFD) };
            super::stdin_from_null().is_ok()
                && std::fs::read_link("/proc/self/fd/0")
                    .is_ok_and(|t| t == std::path::Path::new("/dev/null"))
                // Kept across exec, as a standard input must be.
                && flags() == 0
        }));
    }
}
