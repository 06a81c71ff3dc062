//! Hooks run when the process exits normally (`atexit`).

use std::io;

/// Registers `hook` to run when the process exits normally: `main`
/// returning, or `std::process::exit`. It does not run on `_exit`
/// ([`exit_immediately`](crate::exit_immediately)) or death by a signal.
/// Hooks run in the reverse order of registration. A hook must not unwind:
/// a panic escaping an `extern "C" fn` aborts the process.
///
/// # Errors
///
/// `ENOMEM` if the C library cannot record another hook.
///
/// # Examples
///
/// ```
/// extern "C" fn goodbye() {}
/// mproc_sys::at_exit(goodbye).unwrap();
/// ```
pub fn at_exit(hook: extern "C" fn()) -> io::Result<()> {
    // SAFETY: `hook` is a valid function pointer for the life of the program.
    let rc = unsafe { libc::atexit(hook) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(libc::ENOMEM))
    }
}
