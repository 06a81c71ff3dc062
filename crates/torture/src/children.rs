//! Forking children that never return into the suite's `main`, tracking
//! them so that a failing or hung scenario leaves none behind, and waiting
//! for them with a bound.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use mproc_sys::{ExitStatus, ForkResult, Signal, exit_immediately, fork, kill, waitpid};

/// The exit code of a child whose closure panicked.
pub const PANICKED: i32 = 99;

static TRACKED: [AtomicI32; 256] = [const { AtomicI32::new(0) }; 256];

fn track(pid: i32) {
    for t in &TRACKED {
        if t.compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
}

fn untrack(pid: i32) {
    for t in &TRACKED {
        let _ = t.compare_exchange(pid, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// Forks a child that runs `f` and leaves through `_exit` with its return
/// value ([`PANICKED`] if it panicked): it never returns into the caller,
/// runs no destructor of the parent's and flushes no parent buffer.
///
/// Fork only while this process has no other thread holding a lock the
/// child needs (the suite's main is sequential; the watchdog thread sleeps
/// holding nothing).
///
/// # Errors
///
/// `fork`'s.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mproc_torture::children::{fork_child, wait_exit};
/// let pid = fork_child(|| 7).unwrap();
/// assert_eq!(wait_exit(pid, Duration::from_secs(10)).unwrap(), 7);
/// ```
pub fn fork_child(f: impl FnOnce() -> i32) -> std::io::Result<i32> {
    // SAFETY: the suite forks from its sequential main; its only other
    // thread (the watchdog) sleeps holding no lock. The child runs `f` and
    // leaves through `_exit`, never returning into the parent's code.
    match unsafe { fork() }? {
        ForkResult::Child => {
            let code = std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or(PANICKED);
            exit_immediately(code)
        }
        ForkResult::Parent { child } => {
            track(child);
            Ok(child)
        }
    }
}

/// A child did not end within its bound (it was then killed and reaped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hung {
    /// The child's pid.
    pub pid: i32,
    /// How long it was given.
    pub waited: Duration,
}

impl std::fmt::Display for Hung {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "child {} did not end within {:?}", self.pid, self.waited)
    }
}

/// A child's end as one number: its exit status, or 128 + the signal that
/// killed it (as a shell reports it).
///
/// # Examples
///
/// ```
/// use mproc_sys::ExitStatus;
/// assert_eq!(mproc_torture::children::code_of(ExitStatus::Signaled(9)), 137);
/// assert_eq!(mproc_torture::children::code_of(ExitStatus::Exited(2)), 2);
/// ```
pub fn code_of(status: ExitStatus) -> i32 {
    match status {
        ExitStatus::Exited(code) => code,
        ExitStatus::Signaled(sig) => 128 + sig,
    }
}

/// The exit code of a child killed by `SIGKILL`.
pub const KILLED: i32 = 128 + 9;

/// Waits for child `pid` at most `timeout` and returns its end
/// ([`code_of`]); past the bound, kills and reaps it and returns [`Hung`].
///
/// # Errors
///
/// [`Hung`] as said, also if `waitpid` fails (the child is not ours).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mproc_torture::children::{fork_child, wait_exit};
/// let pid = fork_child(|| loop { std::thread::sleep(Duration::from_secs(1)) }).unwrap();
/// assert!(wait_exit(pid, Duration::from_millis(20)).is_err());
/// ```
pub fn wait_exit(pid: i32, timeout: Duration) -> Result<i32, Hung> {
    let deadline = Instant::now() + timeout;
    let mut nap = Duration::from_micros(20);
    loop {
        match waitpid(pid, true) {
            Ok(Some(status)) => {
                untrack(pid);
                return Ok(code_of(status));
            }
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(nap);
                nap = (nap * 2).min(Duration::from_millis(2));
            }
            _ => {
                let _ = kill(pid, Signal::Kill);
                let _ = waitpid(pid, false);
                untrack(pid);
                return Err(Hung {
                    pid,
                    waited: timeout,
                });
            }
        }
    }
}

/// Sends `SIGKILL` to `pid` (a child of ours; it stays to be reaped).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mproc_torture::children::{KILLED, fork_child, sigkill, wait_exit};
/// let pid = fork_child(|| loop { std::thread::sleep(Duration::from_secs(1)) }).unwrap();
/// sigkill(pid);
/// assert_eq!(wait_exit(pid, Duration::from_secs(10)).unwrap(), KILLED);
/// ```
pub fn sigkill(pid: i32) {
    let _ = kill(pid, Signal::Kill);
}

/// Kills and reaps every tracked child still there, and every other child
/// of this process `/proc` shows (a pool's workers): after a failed or hung
/// scenario, nothing is left running.
///
/// # Examples
///
/// ```
/// mproc_torture::children::kill_all();
/// assert!(mproc_torture::leaks::children_of_self().is_empty());
/// ```
pub fn kill_all() {
    for t in &TRACKED {
        let pid = t.swap(0, Ordering::SeqCst);
        if pid > 0 {
            let _ = kill(pid, Signal::Kill);
            let _ = waitpid(pid, false);
        }
    }
    for child in crate::leaks::children_of_self() {
        let _ = kill(child.pid, Signal::Kill);
        let _ = waitpid(child.pid, false);
    }
}

/// Busy-waits `d` (a kill landing in a short critical window needs the
/// victim to stay in it without sleeping).
///
/// # Examples
///
/// ```
/// mproc_torture::children::spin_for(std::time::Duration::from_micros(5));
/// ```
pub fn spin_for(d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}
