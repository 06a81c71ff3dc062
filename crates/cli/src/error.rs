//! The one error type of the `mproc` command.

use std::io;

use mproc_shm::ShmError;

/// Everything that can stop an `mproc` command.
///
/// A segment that cannot be parsed is not an error: it is listed with its
/// reason. These are the failures of the command itself: a missing segment
/// asked for by name, `/dev/shm` unreadable, output that cannot be written.
///
/// # Examples
///
/// ```
/// use mproc_cli::CliError;
///
/// let err = CliError::Vanished { name: "jobs".into() };
/// assert_eq!(err.to_string(), "segment `jobs` disappeared");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// A segment operation failed (not found, invalid name, permission).
    #[error(transparent)]
    Shm(#[from] ShmError),
    /// The segment being watched was removed.
    #[error("segment `{name}` disappeared")]
    Vanished {
        /// The segment's name.
        name: String,
    },
    /// A duration on the command line could not be parsed.
    #[error("invalid duration {value:?}: {reason}")]
    InvalidDuration {
        /// The text given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Some of the segments given to `rm` could not be removed; each was
    /// reported as it failed.
    #[error("{failed} of {total} segments could not be removed")]
    PartlyRemoved {
        /// How many failed.
        failed: usize,
        /// How many were to be removed: those named, and the members
        /// (a dict's tables, a manager's objects) found with them.
        total: usize,
    },
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Io(#[from] io::Error),
    /// Encoding JSON output failed.
    #[error("cannot encode JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// `Result` with [`CliError`].
pub type Result<T, E = CliError> = std::result::Result<T, E>;
