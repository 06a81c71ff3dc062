//! Process control: `fork`, `waitpid`, `kill`, `_exit`, `prctl`, ids.

use std::io;

use crate::Signal;

/// Which side of a [`fork`] the caller is on.
///
/// # Examples
///
/// ```
/// use mproc_sys::ForkResult;
/// let r = ForkResult::Parent { child: 42 };
/// assert!(matches!(r, ForkResult::Parent { child: 42 }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForkResult {
    /// In the parent, with the child's pid.
    Parent {
        /// The new child's process id.
        child: i32,
    },
    /// In the child.
    Child,
}

/// Forks the calling process.
///
/// # Safety
///
/// In the child of a multi-threaded parent only the calling thread exists;
/// locks held by other threads (the allocator's, stdout's) stay held forever.
/// Until it execs or exits, the child must do only what cannot deadlock on
/// such a lock, and it should leave through [`exit_immediately`] rather than
/// return into code that runs the parent's destructors.
///
/// # Errors
///
/// The `errno` of `fork` (`EAGAIN` when the process limit is reached,
/// `ENOMEM`).
///
/// # Examples
///
/// ```
/// use mproc_sys::{fork, waitpid, exit_immediately, ExitStatus, ForkResult};
///
/// // SAFETY: the child only calls `_exit`.
/// match unsafe { fork() }.unwrap() {
///     ForkResult::Child => exit_immediately(7),
///     ForkResult::Parent { child } => {
///         assert_eq!(waitpid(child, false).unwrap(), Some(ExitStatus::Exited(7)));
///     }
/// }
/// ```
pub unsafe fn fork() -> io::Result<ForkResult> {
    // SAFETY: the caller upholds this function's contract for the child.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(ForkResult::Child),
        child => Ok(ForkResult::Parent { child }),
    }
}

/// How a child process ended.
///
/// # Examples
///
/// ```
/// use mproc_sys::ExitStatus;
/// assert_eq!(ExitStatus::Exited(3).python_exitcode(), 3);
/// assert_eq!(ExitStatus::Signaled(15).python_exitcode(), -15);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// It called `exit`/`_exit` with this status (0..=255).
    Exited(i32),
    /// It was killed by this signal number.
    Signaled(i32),
}

impl ExitStatus {
    /// Python's `Process.exitcode`: the exit status, or minus the signal number.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_sys::ExitStatus::Signaled(9).python_exitcode(), -9);
    /// ```
    pub fn python_exitcode(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Signaled(sig) => -sig,
        }
    }
}

/// Waits for the child `pid` to end and reaps it. With `nohang`, returns
/// `Ok(None)` at once if it is still running.
///
/// Interrupted waits (`EINTR`) are retried.
///
/// # Errors
///
/// `ECHILD` if `pid` is not an unreaped child of the caller (a pid of 0 or
/// less, which would reap any child, is none), or another `errno`.
///
/// # Examples
///
/// ```
/// let err = mproc_sys::waitpid(1, true).unwrap_err();
/// assert_eq!(err.raw_os_error(), Some(10)); // ECHILD: init is nobody's child here
/// assert_eq!(mproc_sys::waitpid(-1, true).unwrap_err().raw_os_error(), Some(10));
/// ```
pub fn waitpid(pid: i32, nohang: bool) -> io::Result<Option<ExitStatus>> {
    if pid <= 0 {
        return Err(io::Error::from_raw_os_error(libc::ECHILD));
    }
    let flags = if nohang { libc::WNOHANG } else { 0 };
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: `status` is a valid, writable int for the duration of the call.
        let rc = unsafe { libc::waitpid(pid, &mut status, flags) };
        if rc == -1 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(err);
        }
        if rc == 0 {
            return Ok(None);
        }
        if libc::WIFEXITED(status) {
            return Ok(Some(ExitStatus::Exited(libc::WEXITSTATUS(status))));
        }
        if libc::WIFSIGNALED(status) {
            return Ok(Some(ExitStatus::Signaled(libc::WTERMSIG(status))));
        }
        // Stopped/continued are only reported with WUNTRACED/WCONTINUED,
        // which are not passed; loop defensively.
    }
}

/// Sends `signal` to process `pid`.
///
/// # Errors
///
/// `ESRCH` if there is no such process, `EPERM` if the caller may not
/// signal it.
///
/// # Examples
///
/// ```
/// use mproc_sys::{fork, kill, waitpid, ExitStatus, ForkResult, Signal};
///
/// // SAFETY: the child only sleeps, in a loop of raw syscalls.
/// match unsafe { fork() }.unwrap() {
///     ForkResult::Child => loop { std::thread::sleep(std::time::Duration::from_secs(1)) },
///     ForkResult::Parent { child } => {
///         kill(child, Signal::Kill).unwrap();
///         assert_eq!(waitpid(child, false).unwrap(), Some(ExitStatus::Signaled(9)));
///     }
/// }
/// ```
pub fn kill(pid: i32, signal: Signal) -> io::Result<()> {
    if pid <= 0 {
        // kill(0, ..) and kill(-1, ..) signal whole groups: never what a
        // caller holding a single pid means.
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    // SAFETY: plain syscall with integer arguments.
    let rc = unsafe { libc::kill(pid, signal.as_raw()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sends `signal` to every process of process group `group` (a leader's
/// pid, as `std::os::unix::process::CommandExt::process_group(0)` makes).
///
/// # Errors
///
/// As `kill(2)`; `ESRCH` for a group of 0 or less (the caller's own group
/// and every process are never what a group's id means).
///
/// # Examples
///
/// ```
/// use std::os::unix::process::CommandExt;
/// use mproc_sys::{Signal, kill_group};
///
/// let mut child = std::process::Command::new("sleep").arg("60").process_group(0).spawn().unwrap();
/// kill_group(child.id() as i32, Signal::Kill).unwrap();
/// assert!(!child.wait().unwrap().success());
/// ```
pub fn kill_group(group: i32, signal: Signal) -> io::Result<()> {
    if group <= 0 {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    // SAFETY: plain syscall with integer arguments; a negative pid names
    // the group.
    let rc = unsafe { libc::kill(-group, signal.as_raw()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether a process with this pid exists (possibly a zombie), by `kill(pid, 0)`.
pub(crate) fn pid_exists(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 performs only the existence and permission checks.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Ends the calling process at once with `status` (`_exit`): no destructors,
/// no atexit handlers, no stdio flush.
///
/// # Examples
///
/// ```no_run
/// mproc_sys::exit_immediately(0);
/// ```
pub fn exit_immediately(status: i32) -> ! {
    // SAFETY: `_exit` is always safe to call; it does not return.
    unsafe { libc::_exit(status) }
}

/// Asks the kernel to send `signal` to the caller when its parent thread
/// dies (`prctl(PR_SET_PDEATHSIG)`).
///
/// The request is lost if the parent already died: callers compare
/// [`getppid`] with the parent they expected right after this call.
///
/// # Errors
///
/// The `errno` of `prctl`.
///
/// # Examples
///
/// ```
/// mproc_sys::set_parent_death_signal(None).unwrap(); // clears it
/// ```
pub fn set_parent_death_signal(signal: Option<Signal>) -> io::Result<()> {
    let sig = signal.map_or(0, Signal::as_raw) as libc::c_ulong;
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and no pointers.
    let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig, 0, 0, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The caller's process id.
///
/// # Examples
///
/// ```
/// assert_eq!(mproc_sys::getpid() as u32, std::process::id());
/// ```
pub fn getpid() -> i32 {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() }
}

/// The caller's parent's process id.
///
/// # Examples
///
/// ```
/// assert!(mproc_sys::getppid() > 0);
/// ```
pub fn getppid() -> i32 {
    // SAFETY: getppid cannot fail.
    unsafe { libc::getppid() }
}

/// The caller's real user id.
///
/// # Examples
///
/// ```
/// let _uid: u32 = mproc_sys::getuid();
/// ```
pub fn getuid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

/// Sets the caller's user id (`setuid`), as a privileged process dropping
/// to another user does.
///
/// # Errors
///
/// `EPERM` without the privilege, `EINVAL` for an invalid uid.
///
/// # Examples
///
/// ```
/// // Setting the uid one already has always succeeds.
/// mproc_sys::setuid(mproc_sys::getuid()).unwrap();
/// ```
pub fn setuid(uid: u32) -> io::Result<()> {
    // SAFETY: plain syscall with an integer argument.
    let rc = unsafe { libc::setuid(uid) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets the caller's group id (`setgid`).
///
/// # Errors
///
/// `EPERM` without the privilege, `EINVAL` for an invalid gid.
///
/// # Examples
///
/// ```no_run
/// mproc_sys::setgid(65534).unwrap();
/// ```
pub fn setgid(gid: u32) -> io::Result<()> {
    // SAFETY: plain syscall with an integer argument.
    let rc = unsafe { libc::setgid(gid) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
