//! The one error type of the queue crate.

use mproc_shm::ShmError;

/// Everything a queue operation can report.
///
/// Every variant names what was wrong and with which value. The bytes of a
/// queue's segment are untrusted: anything inconsistent in them is
/// [`QueueError::Corrupt`] or a [`QueueError::Shm`] validation error, never a
/// panic or an out-of-bounds access.
///
/// # Examples
///
/// ```
/// use mproc_queue::{Queue, QueueError, QueueOptions};
///
/// let q = Queue::new(QueueOptions::new().capacity(2).slot_size(8)).unwrap();
/// let mut tx = q.producer().unwrap();
/// let err = tx.try_send(&[0u8; 9]).unwrap_err();
/// assert!(matches!(err, QueueError::TooLarge { len: 9, max: 8 }));
/// assert_eq!(err.to_string(), "message of 9 bytes is larger than the slot size 8");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The queue is full (non-blocking send).
    #[error("queue is full ({capacity} messages)")]
    Full {
        /// The queue's capacity.
        capacity: u64,
    },
    /// The queue is empty (non-blocking receive).
    #[error("queue is empty")]
    Empty,
    /// A blocking operation's deadline passed.
    #[error("timed out after {waited_ms} ms")]
    Timeout {
        /// How long the call waited, in milliseconds.
        waited_ms: u64,
    },
    /// The queue was closed: consumers have drained everything that was
    /// sent before, producers may send no more.
    #[error("queue is closed")]
    Closed,
    /// Every peer on the other side is gone (died or detached) without
    /// closing: a consumer sees it once the queue is drained (every
    /// producer gone), a producer when the queue is full (every consumer
    /// gone).
    #[error("every peer on the other side of the queue is gone (died or detached without closing)")]
    Disconnected,
    /// A message is longer than the queue's slot size; nothing was sent.
    #[error("message of {len} bytes is larger than the slot size {max}")]
    TooLarge {
        /// The message's length.
        len: usize,
        /// The slot size.
        max: usize,
    },
    /// A receive buffer is shorter than the message; the message stays in
    /// the queue.
    #[error("message of {len} bytes does not fit a buffer of {buf} bytes")]
    BufferTooSmall {
        /// The message's length.
        len: usize,
        /// The buffer's length.
        buf: usize,
    },
    /// A message's bytes are not a valid value of the type asked for.
    #[error("message of {len} bytes does not decode: {reason}")]
    Decode {
        /// The message's length.
        len: usize,
        /// Why decoding failed.
        reason: String,
    },
    /// Options that describe no valid queue.
    #[error("invalid queue option `{option}` = {value}: {reason}")]
    InvalidOptions {
        /// Which option.
        option: &'static str,
        /// Its value.
        value: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The queue's segment or its live indices hold impossible values.
    #[error("queue field `{field}` holds an impossible value {value:#x}")]
    Corrupt {
        /// Which field.
        field: &'static str,
        /// Its value.
        value: u64,
    },
    /// Every handle record of the segment is taken.
    #[error("all {max} handle records of the queue are in use")]
    TooManyHandles {
        /// How many handles the queue can register.
        max: u64,
    },
    /// This operation is not possible on this end (a one-way pipe's
    /// receiving end cannot send, and the other way round).
    #[error("this end of the pipe cannot {op}")]
    WrongDirection {
        /// `"send"` or `"recv"`.
        op: &'static str,
    },
    /// [`LoanBatch::commit`](crate::LoanBatch::commit) got more lengths
    /// than the batch has slots (nothing was published).
    #[error("{lens} message lengths for a batch of {slots} slots")]
    TooManyLengths {
        /// Lengths given.
        lens: usize,
        /// Slots in the batch.
        slots: usize,
    },
    /// `task_done` was called more often than messages were sent (Python's
    /// `ValueError`).
    #[error("task_done() called more times than there were items")]
    TaskDoneTooOften,
    /// Creating, opening or validating the segment failed.
    #[error(transparent)]
    Shm(#[from] ShmError),
    /// An operating-system call failed.
    #[error("operating system error: {0}")]
    Os(#[from] std::io::Error),
}

/// `Result` with [`QueueError`].
pub type Result<T, E = QueueError> = std::result::Result<T, E>;
