//! Pointing standard input at `/dev/null`, as Python's multiprocessing does
//! in every child it starts.

use std::io;

/// Makes descriptor 0 of the calling process read `/dev/null`: a child
/// that reads its standard input then sees end of file at once, instead of
/// competing with its parent (and siblings) for the parent's input.
///
/// Works whether descriptor 0 was open or closed before.
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
    // Not close-on-exec: if descriptor 0 was free, this is the descriptor
    // that stays; otherwise it is closed below before anything can run.
    // SAFETY: a NUL-terminated path literal and plain flags.
    let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    if fd == 0 {
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
            super::stdin_from_null().is_ok()
                && std::fs::read_link("/proc/self/fd/0")
                    .is_ok_and(|t| t == std::path::Path::new("/dev/null"))
        }));
    }
}
