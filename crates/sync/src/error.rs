//! The crate's error type, and the lock results that hand back a guard.

use std::time::Duration;

use mproc_shm::ShmError;

/// Everything that can go wrong with a synchronization primitive.
///
/// Every variant says what was wrong and with which value.
///
/// # Examples
///
/// ```
/// use mproc_sync::{Lock, SyncError};
///
/// let err = Lock::open("no-such-lock-doc").unwrap_err();
/// assert!(matches!(err, SyncError::Shm(mproc_shm::ShmError::NotFound { .. })));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// Creating, opening or reading the segment failed.
    #[error(transparent)]
    Shm(#[from] ShmError),
    /// The bytes of a primitive in shared memory are not a valid primitive
    /// of this kind (never initialized, overwritten, or another kind).
    #[error("{what} at offset {offset}: field `{field}` holds invalid value {value:#x}")]
    Corrupt {
        /// Which primitive (`"lock"`, `"event"`, ...).
        what: &'static str,
        /// Where it was expected in its region.
        offset: u64,
        /// Which field is wrong.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// A segment's layout parameters do not match what this handle expects
    /// (for instance a `Mutex<T>` opened with another `T`).
    #[error("{what}: layout parameter `{param}` is {found}, expected {expected}")]
    LayoutMismatch {
        /// Which primitive.
        what: &'static str,
        /// Which parameter.
        param: &'static str,
        /// The value in the segment.
        found: u64,
        /// The value this handle needs.
        expected: u64,
    },
    /// An argument is out of range (a barrier of 0 parties, ...).
    #[error("{what}: invalid {param} {value}: {reason}")]
    InvalidArgument {
        /// Which primitive.
        what: &'static str,
        /// Which argument.
        param: &'static str,
        /// The value given.
        value: u64,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The thread holding a lock died; the lock was recovered (the guard
    /// that reported it was dropped on conversion to this error).
    #[error("the holder of the {what} died; the lock was recovered")]
    OwnerDied {
        /// Which primitive.
        what: &'static str,
    },
    /// A non-blocking attempt found the primitive unavailable.
    #[error("{op} would block")]
    WouldBlock {
        /// The operation (`"try_lock"`, `"try_acquire"`, ...).
        op: &'static str,
    },
    /// A blocking call reached its timeout.
    #[error("{op} timed out after {timeout:?}")]
    TimedOut {
        /// The operation.
        op: &'static str,
        /// The timeout it was given.
        timeout: Duration,
    },
    /// The barrier was broken (by a timeout, an abort, a reset, or the death
    /// of a party) while or before this party waited.
    #[error("barrier of {parties} parties is broken")]
    BrokenBarrier {
        /// The barrier's number of parties.
        parties: u32,
    },
    /// A bounded semaphore was released more times than it was acquired.
    #[error("semaphore released too many times: value would exceed its bound {bound}")]
    ReleasedTooMany {
        /// The bound (the initial value).
        bound: u32,
    },
    /// A counter would overflow.
    #[error("{what}: value would overflow {max}")]
    Overflow {
        /// Which primitive.
        what: &'static str,
        /// The largest value it holds.
        max: u64,
    },
    /// A release by a thread that does not hold the lock.
    #[error("{what} released by thread {caller}, which does not hold it")]
    NotOwner {
        /// Which primitive.
        what: &'static str,
        /// The caller's thread id.
        caller: u32,
    },
}

/// `Result` with [`SyncError`].
pub type Result<T, E = SyncError> = std::result::Result<T, E>;

/// The lock was acquired, but its previous holder died while holding it:
/// the data it protects may be half-updated. The guard is inside; call its
/// `make_consistent()` once the data is repaired, or every later locker is
/// told the same.
///
/// # Examples
///
/// ```
/// use mproc_sync::{LockResult, OwnerDied};
///
/// fn value<G>(r: LockResult<G>) -> G {
///     match r {
///         Ok(guard) => guard,
///         Err(OwnerDied(guard)) => guard, // repair, then make_consistent()
///     }
/// }
/// assert_eq!(value(Err(OwnerDied(5))), 5);
/// ```
#[derive(Debug)]
pub struct OwnerDied<G>(pub G);

impl<G> OwnerDied<G> {
    /// The guard.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_sync::OwnerDied(1).into_inner(), 1);
    /// ```
    pub fn into_inner(self) -> G {
        self.0
    }
}

impl<G> std::fmt::Display for OwnerDied<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the holder of the lock died; the lock was recovered")
    }
}

impl<G: std::fmt::Debug> std::error::Error for OwnerDied<G> {}

impl<G> From<OwnerDied<G>> for SyncError {
    fn from(_: OwnerDied<G>) -> SyncError {
        SyncError::OwnerDied { what: "lock" }
    }
}

/// What a blocking lock call returns: the guard, or the guard wrapped in
/// [`OwnerDied`].
pub type LockResult<G> = std::result::Result<G, OwnerDied<G>>;

/// Why a non-blocking or timed lock call did not simply return a guard.
///
/// # Examples
///
/// ```
/// use mproc_sync::{Lock, TryLockError};
///
/// let lock = Lock::new().unwrap();
/// let _held = lock.lock().unwrap();
/// let other = std::thread::scope(|s| {
///     s.spawn(|| matches!(lock.try_lock(), Err(TryLockError::WouldBlock))).join().unwrap()
/// });
/// assert!(other);
/// ```
#[derive(Debug)]
pub enum TryLockError<G> {
    /// `try_*`: the lock is held by someone else.
    WouldBlock,
    /// `*_timeout`: the lock stayed held until the timeout.
    TimedOut {
        /// How long the caller was prepared to wait.
        timeout: Duration,
    },
    /// Acquired, but the previous holder died (see [`OwnerDied`]).
    OwnerDied(G),
}

impl<G> std::fmt::Display for TryLockError<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TryLockError::WouldBlock => "the lock is held",
            TryLockError::TimedOut { .. } => "timed out waiting for the lock",
            TryLockError::OwnerDied(_) => "the holder of the lock died; the lock was recovered",
        })
    }
}

impl<G: std::fmt::Debug> std::error::Error for TryLockError<G> {}

impl<G> From<TryLockError<G>> for SyncError {
    fn from(e: TryLockError<G>) -> SyncError {
        match e {
            TryLockError::WouldBlock => SyncError::WouldBlock { op: "try_lock" },
            TryLockError::TimedOut { timeout } => SyncError::TimedOut {
                op: "lock_timeout",
                timeout,
            },
            TryLockError::OwnerDied(_) => SyncError::OwnerDied { what: "lock" },
        }
    }
}

/// What `try_lock` and `lock_timeout` return.
pub type TryLockResult<G> = std::result::Result<G, TryLockError<G>>;
