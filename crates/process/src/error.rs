//! The one error type of `mproc-process`.

use std::io;
use std::path::PathBuf;

use mproc_sys::Signal;

/// Everything that can go wrong starting, waiting for, or signalling a
/// process, each variant carrying the values at fault.
///
/// # Examples
///
/// ```
/// use mproc_process::ProcessError;
///
/// let e = ProcessError::ReapedElsewhere { pid: 42 };
/// assert_eq!(e.to_string(), "process 42 was reaped by someone else; its exit code is lost");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// `fork` failed (`EAGAIN`: too many processes, `ENOMEM`).
    #[error("fork failed: {source}")]
    Fork {
        /// The OS reason.
        source: io::Error,
    },
    /// The executable could not be re-executed for the spawn start method.
    #[error("cannot spawn {exe}: {source}")]
    Spawn {
        /// The program that was to be executed.
        exe: PathBuf,
        /// The OS reason.
        source: io::Error,
    },
    /// Waiting for a child failed for a reason other than its absence.
    #[error("waiting for process {pid} failed: {source}")]
    Wait {
        /// The child's pid.
        pid: i32,
        /// The OS reason.
        source: io::Error,
    },
    /// Sending a signal to a live child failed.
    #[error("sending {signal:?} to process {pid} failed: {source}")]
    Signal {
        /// The child's pid.
        pid: i32,
        /// The signal.
        signal: Signal,
        /// The OS reason.
        source: io::Error,
    },
    /// The child was reaped behind this handle's back (`SIGCHLD` ignored,
    /// or a `waitpid(-1)` elsewhere): its exit code is lost.
    #[error("process {pid} was reaped by someone else; its exit code is lost")]
    ReapedElsewhere {
        /// The child's pid.
        pid: i32,
    },
    /// The arguments for a spawned process could not be serialized.
    #[error("cannot encode the arguments of a spawned process: {source}")]
    EncodeArguments {
        /// The serializer's reason.
        source: postcard::Error,
    },
    /// A spawned child could not deserialize its arguments.
    #[error("cannot decode the arguments of a spawned process: {source}")]
    DecodeArguments {
        /// The deserializer's reason.
        source: postcard::Error,
    },
    /// The hand-off from parent to spawned child could not be written (by
    /// the parent) or read (by the child, through `/proc/<parent>/fd`).
    #[error("cannot pass the spawn hand-off to the child: {source}")]
    HandOff {
        /// The OS reason.
        source: io::Error,
    },
    /// The spawn hand-off found in the environment is malformed.
    #[error("malformed spawn hand-off: {reason}")]
    BadPayload {
        /// What was wrong.
        reason: &'static str,
    },
    /// A closure that captures state cannot be re-created in a new program;
    /// only non-capturing closures and functions can be spawned.
    #[error("a closure capturing {size} bytes cannot be spawned: use Process::with_args(fn, args)")]
    CapturingClosure {
        /// The size of the captured state.
        size: usize,
    },
    /// A function pointer lies outside the executable image, so its offset
    /// means nothing in a re-executed copy (a function from a shared library).
    #[error("function at {addr:#x} is not in the executable image of this program")]
    NotInImage {
        /// The function's address in this process.
        addr: usize,
    },
    /// `/proc/self/maps` or `/proc/self/exe` could not be read.
    #[error("cannot inspect this program's executable image: {source}")]
    Image {
        /// The OS reason.
        source: io::Error,
    },
    /// The spawned child runs another executable file than its parent did
    /// (it was replaced between the two), so function offsets are meaningless.
    #[error(
        "executable changed: parent ran (dev {expected_dev}, inode {expected_ino}), child runs (dev {found_dev}, inode {found_ino})"
    )]
    ExecutableChanged {
        /// The parent's executable's device.
        expected_dev: u64,
        /// The parent's executable's inode.
        expected_ino: u64,
        /// The child's executable's device.
        found_dev: u64,
        /// The child's executable's inode.
        found_ino: u64,
    },
    /// This process was spawned, but its `main` did not call
    /// `mproc::init()` first and is running the parent's program again;
    /// spawning from here would recurse.
    #[error("spawned process did not call mproc::init() first in main; refusing to spawn again")]
    InitNotCalled,
    /// A daemon process tried to start a child. As in Python, daemonic
    /// processes may not have children: a daemon is killed when its parent
    /// ends, and its children would be left behind.
    #[error("daemonic process {name} is not allowed to have children")]
    DaemonCannotHaveChildren {
        /// The daemon's name.
        name: String,
    },
}

/// `Result` with [`ProcessError`].
pub type Result<T, E = ProcessError> = std::result::Result<T, E>;
