//! [`PoolError`]: everything a pool call can report.

use std::io;

use mproc_queue::QueueError;
use mproc_shm::ShmError;

use crate::error::ProcessError;

/// Everything that can go wrong with a [`Pool`](crate::Pool) or one of its
/// tasks, each variant carrying the values at fault.
///
/// Per-task errors ([`WorkerLost`](Self::WorkerLost),
/// [`TaskPanicked`](Self::TaskPanicked),
/// [`EncodeResult`](Self::EncodeResult), [`DecodeResult`](Self::DecodeResult))
/// are reported in the place of that task's result; the pool keeps working.
///
/// # Examples
///
/// ```
/// use mproc_process::PoolError;
///
/// let e = PoolError::WorkerLost { pid: 4242, exitcode: -9 };
/// assert_eq!(e.to_string(), "worker 4242 died while running the task (exitcode -9)");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// The worker running the task died (killed, crashed, exited) before
    /// returning its result. A replacement worker was started. Only the task
    /// the worker was running gets this; it is not run again (it may have
    /// run in part). The worker's finished tasks keep their results and its
    /// tasks not started run elsewhere.
    #[error("worker {pid} died while running the task (exitcode {exitcode})")]
    WorkerLost {
        /// The dead worker's pid.
        pid: i32,
        /// How it ended, with Python's meaning (minus the signal number);
        /// `i32::MIN` if its exit status was lost (this process ignores
        /// `SIGCHLD`, or something else reaped it).
        exitcode: i32,
    },
    /// The task finished in a worker that then died, and its result could
    /// not be recovered (it did not fit the worker's staging area). The
    /// task is not run again: it ran once, its side effects happened.
    #[error("worker {pid} died after running the task; its result was lost (exitcode {exitcode})")]
    ResultLost {
        /// The dead worker's pid.
        pid: i32,
        /// How it ended, with Python's meaning (minus the signal number);
        /// `i32::MIN` if its exit status was lost (this process ignores
        /// `SIGCHLD`, or something else reaped it).
        exitcode: i32,
    },
    /// The task panicked in the worker.
    #[error("task panicked: {message}")]
    TaskPanicked {
        /// The panic message.
        message: String,
    },
    /// An argument could not be encoded. For `map`, `starmap`, `apply`
    /// and their async forms the call gives no result: arguments are
    /// encoded and sent chunk by chunk, so that workers start early, and
    /// the chunks before the failing item may already have run (their
    /// outcomes are dropped). A streaming call (`imap`, `imap_unordered`)
    /// ends with this error in the iteration, after the results of the
    /// items before it.
    #[error("cannot encode the argument at index {index}: {reason}")]
    EncodeArgument {
        /// Its position among the call's arguments.
        index: usize,
        /// The serializer's reason.
        reason: String,
    },
    /// `starmap` was given a callable with state (a capturing closure, a
    /// function pointer): only function items and closures that capture
    /// nothing can be named in a worker.
    #[error(
        "starmap needs a function item or a closure capturing nothing, not {size} bytes of state"
    )]
    CapturingFunction {
        /// The callable's size.
        size: usize,
    },
    /// The worker could not decode an argument (a type mismatch between
    /// caller and worker, which a same-executable pool rules out).
    #[error("worker cannot decode the task's argument: {reason}")]
    DecodeArgument {
        /// The deserializer's reason.
        reason: String,
    },
    /// The worker could not encode the task's return value.
    #[error("cannot encode the task's result: {reason}")]
    EncodeResult {
        /// The serializer's reason.
        reason: String,
    },
    /// The result bytes sent back by a worker do not decode as the result
    /// type.
    #[error("cannot decode the task's result: {reason}")]
    DecodeResult {
        /// The deserializer's reason.
        reason: String,
    },
    /// A bounded wait ended before the result was ready; the result can
    /// still be collected later.
    #[error("result not ready after {waited_ms} ms")]
    Timeout {
        /// How long the call waited, in milliseconds.
        waited_ms: u64,
    },
    /// The result of this [`AsyncResult`](crate::AsyncResult) was taken
    /// already.
    #[error("the result was already taken")]
    ResultTaken,
    /// Work was submitted after [`close`](crate::Pool::close) or
    /// [`terminate`](crate::Pool::terminate); or, at the end of a streaming
    /// call's iteration, the pool stopped taking its input (terminated, or
    /// closed and joined) before all of it was pulled.
    #[error("the pool is not running (closed or terminated)")]
    NotRunning,
    /// The pool was terminated before the task finished.
    #[error("the pool was terminated before the task finished")]
    Terminated,
    /// Workers kept dying before running any task (an initializer that
    /// panics, a spawned program whose `main` does not call
    /// [`init`](crate::init()) first): the pool stopped instead of starting
    /// replacements forever, and fails what was submitted.
    #[error(
        "pool workers keep dying before running any task ({attempts} in a row, last exitcode {exitcode}); the pool stopped"
    )]
    WorkersFailing {
        /// How the last one ended.
        exitcode: i32,
        /// How many died in a row.
        attempts: u32,
    },
    /// No worker is left and none could be started for a while (fork or
    /// spawn refused: a process limit, no memory, the executable gone):
    /// the pool stopped instead of retrying forever while callers wait,
    /// and fails what was submitted.
    #[error(
        "the pool has no worker left and cannot start one ({attempts} attempts in a row): {}",
        os_error_text(*errno)
    )]
    WorkersCannotStart {
        /// How many starts failed in a row.
        attempts: u32,
        /// The OS error of the last failed start, if it came from the OS.
        errno: Option<i32>,
    },
    /// The pool was used in another process than the one that made it (a
    /// pool does not survive `fork`: its handler thread and workers stay
    /// with the parent).
    #[error("the pool belongs to process {owner}; process {caller} cannot use it")]
    NotOwner {
        /// The process that made the pool.
        owner: i32,
        /// The calling process.
        caller: i32,
    },
    /// [`join`](crate::Pool::join) was called before
    /// [`close`](crate::Pool::close) or [`terminate`](crate::Pool::terminate)
    /// (Python's `ValueError`).
    #[error("join() needs close() or terminate() first")]
    StillRunning,
    /// A pool needs at least one process (and at most 2 040); a chunk at
    /// least one item.
    #[error("invalid pool option `{option}` = {value}: {}", allowed(option))]
    InvalidOption {
        /// Which option (`processes`, `chunksize`, `maxtasksperchild`).
        option: &'static str,
        /// Its value.
        value: usize,
    },
    /// A worker could not be started or waited for.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// A pool queue could not be made or used.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// A pool segment could not be made or opened.
    #[error(transparent)]
    Shm(#[from] ShmError),
    /// The pool's result handler thread could not be started.
    #[error("cannot start the pool's handler thread: {source}")]
    Thread {
        /// The OS reason.
        source: io::Error,
    },
}

impl PoolError {
    /// Whether this error belongs to one task (the pool goes on serving),
    /// as opposed to the whole call or the pool.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_process::PoolError;
    /// assert!(PoolError::TaskPanicked { message: "x".into() }.is_task_error());
    /// assert!(!PoolError::Terminated.is_task_error());
    /// ```
    pub fn is_task_error(&self) -> bool {
        matches!(
            self,
            PoolError::WorkerLost { .. }
                | PoolError::ResultLost { .. }
                | PoolError::TaskPanicked { .. }
                | PoolError::DecodeArgument { .. }
                | PoolError::EncodeResult { .. }
                | PoolError::DecodeResult { .. }
        )
    }
}

/// What an [`PoolError::InvalidOption`] option may be.
fn allowed(option: &str) -> String {
    match option {
        "processes" => format!("must be from 1 to {}", super::MAX_PROCESSES),
        _ => "must be at least 1".to_owned(),
    }
}

/// The text of an OS error number, or why there is none.
fn os_error_text(errno: Option<i32>) -> String {
    match errno {
        Some(n) => std::io::Error::from_raw_os_error(n).to_string(),
        None => "not an OS error".to_owned(),
    }
}
