//! Becoming the reaper of orphaned descendants (`PR_SET_CHILD_SUBREAPER`).

use std::io;

/// Marks the caller as a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`):
/// descendants orphaned by their parent's death are re-parented to the
/// caller rather than to init, so the caller can reap them with
/// [`waitpid`](crate::waitpid). Supervisors and test harnesses use this so
/// that no orphan outlives them as a zombie.
///
/// # Errors
///
/// The `errno` of `prctl`.
///
/// # Examples
///
/// ```
/// mproc_sys::set_child_subreaper(true).unwrap();
/// mproc_sys::set_child_subreaper(false).unwrap();
/// ```
pub fn set_child_subreaper(on: bool) -> io::Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes a flag and no pointers.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_CHILD_SUBREAPER,
            libc::c_ulong::from(on),
            0,
            0,
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
