//! A started child process: waiting, polling and signalling it without ever
//! signalling a stranger that reused its pid.
//!
//! A pid can be reused only once its process is reaped. Reaping and
//! signalling both happen with the child's state lock held, and a signal is
//! sent only if the state says "not reaped": so the pid signalled is always
//! still our child (running or a zombie).

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use mproc_sys::{ProcessId, Signal};

use crate::error::{ProcessError, Result};
use crate::info::ProcessInfo;
use crate::start_method::StartMethod;
use crate::table;

/// `waitpid`'s errno for "no such child" on Linux.
const ECHILD: i32 = 10;

/// Whether the child has been reaped, and how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Not reaped: running, or a zombie.
    Running,
    /// Reaped; Python's exit code.
    Exited(i32),
    /// Reaped by someone else; the exit code is lost.
    Lost,
}

#[derive(Debug)]
struct State {
    status: Status,
    /// A spawn hand-off the child may still have to read; closed once the
    /// child is reaped.
    hand_off: Option<OwnedFd>,
}

/// A child as the process table and its [`Child`] handle share it.
#[derive(Debug)]
pub(crate) struct ChildShared {
    pub(crate) info: ProcessInfo,
    /// The process that started it: after a fork, inherited entries of an
    /// ancestor are recognized by this, by pid and start time
    /// ([`ProcessId::is_current`]), even in a descendant given a dead
    /// ancestor's pid.
    pub(crate) owner: ProcessId,
    state: Mutex<State>,
}

impl ChildShared {
    pub(crate) fn new(info: ProcessInfo) -> ChildShared {
        ChildShared {
            info,
            owner: ProcessId::current_or_pid(),
            state: Mutex::new(State {
                status: Status::Running,
                hand_off: None,
            }),
        }
    }

    /// Keeps `file` open until the child is reaped.
    pub(crate) fn keep_until_reaped(&self, file: OwnedFd) {
        self.lock().hand_off = Some(file);
    }

    fn pid(&self) -> i32 {
        self.info.pid
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reaps the child if it has ended. `Ok(None)`: still running.
    pub(crate) fn poll(self: &Arc<Self>) -> Result<Option<i32>> {
        let mut state = self.lock();
        let code = match state.status {
            Status::Exited(code) => return Ok(Some(code)),
            Status::Lost => return Err(ProcessError::ReapedElsewhere { pid: self.pid() }),
            Status::Running => match mproc_sys::waitpid(self.pid(), true) {
                Ok(None) => return Ok(None),
                Ok(Some(status)) => status.python_exitcode(),
                Err(e) if e.raw_os_error() == Some(ECHILD) => {
                    // Not our child any more.
                    state.status = Status::Lost;
                    state.hand_off = None;
                    drop(state);
                    self.forget();
                    return Err(ProcessError::ReapedElsewhere { pid: self.pid() });
                }
                Err(source) => {
                    return Err(ProcessError::Wait {
                        pid: self.pid(),
                        source,
                    });
                }
            },
        };
        state.status = Status::Exited(code);
        state.hand_off = None;
        drop(state);
        self.forget();
        Ok(Some(code))
    }

    /// Drops this child from the process table (after reaping). Called
    /// without the state lock: the table lock is always taken first.
    fn forget(self: &Arc<Self>) {
        table::lock().children.retain(|c| !Arc::ptr_eq(c, self));
    }

    /// Waits until the child ends, at most `timeout`, and reaps it.
    pub(crate) fn wait(self: &Arc<Self>, timeout: Option<Duration>) -> Result<Option<i32>> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut backoff = Duration::from_micros(50);
        let mut woken = false;
        loop {
            if let Some(code) = self.poll()? {
                return Ok(Some(code));
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                return Ok(None);
            }
            // A pidfd taken while the child is known unreaped names exactly
            // this child, even if another thread reaps it meanwhile.
            let pidfd = {
                let state = self.lock();
                if state.status != Status::Running {
                    continue;
                }
                mproc_sys::pidfd_open(self.pid())
            };
            match pidfd {
                Ok(fd) => {
                    let ready = mproc_sys::wait_readable(fd.as_fd(), left).map_err(|source| {
                        ProcessError::Wait {
                            pid: self.pid(),
                            source,
                        }
                    })?;
                    if ready && woken {
                        // Readable twice yet not reapable (the kernel may
                        // report the leader thread's exit before the last
                        // thread's): do not spin.
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_millis(10));
                    }
                    woken = ready;
                }
                Err(_) => {
                    // No pidfd (old kernel, out of descriptors): poll with a
                    // growing sleep.
                    let nap = left.map_or(backoff, |l| l.min(backoff));
                    std::thread::sleep(nap);
                    backoff = (backoff * 2).min(Duration::from_millis(10));
                }
            }
        }
    }

    /// Sends `signal` unless the child has been reaped (then does nothing:
    /// the pid may belong to a stranger by now).
    pub(crate) fn signal(self: &Arc<Self>, signal: Signal) -> Result<()> {
        // Reaps it first if it has ended, and finds out if someone else
        // did (`SIGCHLD` ignored, a `waitpid(-1)` elsewhere): then its pid
        // is free for reuse, and is not signalled.
        let _ = self.poll();
        let state = self.lock();
        if state.status != Status::Running {
            return Ok(());
        }
        // Sent with the state lock held: nobody can reap the child (and free
        // its pid for reuse) until this returns.
        mproc_sys::kill(self.pid(), signal).map_err(|source| ProcessError::Signal {
            pid: self.pid(),
            signal,
            source,
        })
    }
}

/// A running (or finished) child process, returned by
/// [`Process::start`](crate::Process::start). The verbs are Python's.
///
/// All methods take `&self`: one thread may `join` while another
/// `terminate`s. Dropping a `Child` neither waits for nor kills the
/// process; an unjoined child is reaped by the next
/// [`Process::start`](crate::Process::start) or
/// [`active_children`](crate::active_children) once it ends, and a daemon
/// one is killed when this process exits.
///
/// # Examples
///
/// ```
/// use mproc_process::Process;
///
/// let child = Process::new(|| 3).start().unwrap();
/// assert_eq!(child.join().unwrap(), 3);
/// assert_eq!(child.exitcode(), Some(3));
/// assert!(!child.is_alive());
/// ```
#[derive(Debug)]
pub struct Child {
    shared: Arc<ChildShared>,
    method: StartMethod,
}

impl Child {
    pub(crate) fn new(shared: Arc<ChildShared>, method: StartMethod) -> Child {
        Child { shared, method }
    }

    /// The child's process id.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = mproc_process::Process::new(|| ()).start().unwrap();
    /// assert!(c.pid() > 0);
    /// c.join().unwrap();
    /// ```
    pub fn pid(&self) -> i32 {
        self.shared.info.pid
    }

    /// The child's name (`Process-1` unless set).
    ///
    /// # Examples
    ///
    /// ```
    /// let c = mproc_process::Process::new(|| ()).name("worker").start().unwrap();
    /// assert_eq!(c.name(), "worker");
    /// c.join().unwrap();
    /// ```
    pub fn name(&self) -> &str {
        &self.shared.info.name
    }

    /// Whether the child is a daemon.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = mproc_process::Process::new(|| ()).daemon(true).start().unwrap();
    /// assert!(c.daemon());
    /// c.join().unwrap();
    /// ```
    pub fn daemon(&self) -> bool {
        self.shared.info.daemon
    }

    /// How the child was started.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_process::{Process, StartMethod};
    /// let c = Process::new(|| ()).start().unwrap();
    /// assert_eq!(c.start_method(), StartMethod::Fork);
    /// c.join().unwrap();
    /// ```
    pub fn start_method(&self) -> StartMethod {
        self.method
    }

    /// The child as [`active_children`](crate::active_children) describes it.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = mproc_process::Process::new(|| ()).start().unwrap();
    /// assert_eq!(c.info().pid(), c.pid());
    /// c.join().unwrap();
    /// ```
    pub fn info(&self) -> &ProcessInfo {
        &self.shared.info
    }

    /// Waits for the child to end and returns its exit code: 0, the status
    /// it exited with, or minus the signal that killed it. Joining again
    /// returns the same code at once, as Python's `join` does.
    ///
    /// # Errors
    ///
    /// [`ProcessError::ReapedElsewhere`] if something else reaped it;
    /// [`ProcessError::Wait`] if waiting failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_process::{Process, ProcessError};
    /// let c = Process::new(|| ()).start().unwrap();
    /// assert_eq!(c.join().unwrap(), 0);
    /// assert_eq!(c.join().unwrap(), 0);
    /// ```
    pub fn join(&self) -> Result<i32> {
        loop {
            if let Some(code) = self.shared.wait(None)? {
                return Ok(code);
            }
        }
    }

    /// Waits at most `timeout` for the child to end: `Some(exitcode)` if it
    /// did, `None` if it is still running (Python's `join(timeout)`
    /// followed by `exitcode`).
    ///
    /// # Errors
    ///
    /// As [`join`](Self::join).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = mproc_process::Process::new(|| std::thread::sleep(Duration::from_secs(10)))
    ///     .start()
    ///     .unwrap();
    /// assert_eq!(c.join_timeout(Duration::from_millis(10)).unwrap(), None);
    /// c.terminate().unwrap();
    /// assert_eq!(c.join_timeout(Duration::from_secs(5)).unwrap(), Some(-15));
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<Option<i32>> {
        self.shared.wait(Some(timeout))
    }

    /// Whether the child is still running (reaping it if it has ended).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = mproc_process::Process::new(|| std::thread::sleep(Duration::from_secs(10)))
    ///     .start()
    ///     .unwrap();
    /// assert!(c.is_alive());
    /// c.kill().unwrap();
    /// c.join().unwrap();
    /// assert!(!c.is_alive());
    /// ```
    pub fn is_alive(&self) -> bool {
        matches!(self.shared.poll(), Ok(None))
    }

    /// The exit code if the child has ended, else `None` (reaping it if it
    /// has ended). Python's meaning: 0, the exit status, or minus the
    /// signal number.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = mproc_process::Process::new(|| panic!("oops")).start().unwrap();
    /// c.join().unwrap();
    /// assert_eq!(c.exitcode(), Some(1));
    /// ```
    pub fn exitcode(&self) -> Option<i32> {
        self.shared.poll().ok().flatten()
    }

    /// Whether the child has ended, with its exit code, or `None` for the
    /// code if it was reaped by someone else (`SIGCHLD` ignored, a
    /// `waitpid(-1)` elsewhere): ended too, its code lost.
    pub(crate) fn ended(&self) -> Option<Option<i32>> {
        match self.shared.poll() {
            Ok(Some(code)) => Some(Some(code)),
            Err(ProcessError::ReapedElsewhere { .. }) => Some(None),
            Ok(None) | Err(_) => None,
        }
    }

    /// Asks the child to stop with `SIGTERM` (its exit code reads -15).
    /// Does nothing if the child was already reaped.
    ///
    /// # Errors
    ///
    /// [`ProcessError::Signal`] if `kill` fails.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = mproc_process::Process::new(|| loop { std::thread::park() }).start().unwrap();
    /// c.terminate().unwrap();
    /// assert_eq!(c.join().unwrap(), -15);
    /// c.terminate().unwrap(); // reaped: no signal is sent
    /// ```
    pub fn terminate(&self) -> Result<()> {
        self.shared.signal(Signal::Term)
    }

    /// Kills the child with `SIGKILL` (its exit code reads -9). Does
    /// nothing if the child was already reaped.
    ///
    /// # Errors
    ///
    /// [`ProcessError::Signal`] if `kill` fails.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = mproc_process::Process::new(|| loop { std::thread::park() }).start().unwrap();
    /// c.kill().unwrap();
    /// assert_eq!(c.join().unwrap(), -9);
    /// ```
    pub fn kill(&self) -> Result<()> {
        self.shared.signal(Signal::Kill)
    }

    /// Sends `signal` to the child. Does nothing if it was already reaped.
    ///
    /// # Errors
    ///
    /// [`ProcessError::Signal`] if `kill` fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_sys::Signal;
    /// let c = mproc_process::Process::new(|| loop { std::thread::park() }).start().unwrap();
    /// c.send_signal(Signal::Int).unwrap();
    /// assert_eq!(c.join().unwrap(), -2);
    /// ```
    pub fn send_signal(&self, signal: Signal) -> Result<()> {
        self.shared.signal(signal)
    }
}
