//! The one error type of the `dict` crate.

use mproc_shm::ShmError;

/// Everything that can go wrong with a [`Dict`](crate::Dict),
/// [`TypedDict`](crate::TypedDict), [`Value`](crate::Value),
/// [`Array`](crate::Array) or [`Manager`](crate::Manager).
///
/// Every variant says what was wrong and with which value. The bytes of a
/// shared segment are untrusted input: anything inconsistent in them is one
/// of these errors (mostly [`DictError::Corrupt`]), never a panic or an
/// out-of-bounds access.
///
/// # Examples
///
/// ```
/// use mproc_dict::{Dict, DictError, DictOptions};
///
/// let d = Dict::new(DictOptions::new().max_key_len(4)).unwrap();
/// let err = d.insert(b"too long", b"v").unwrap_err();
/// assert!(matches!(err, DictError::KeyTooLarge { len: 8, max: 4 }));
/// assert_eq!(err.to_string(), "key of 8 bytes is over the limit of 4");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DictError {
    /// Creating, opening or reading a segment failed.
    #[error(transparent)]
    Shm(#[from] ShmError),
    /// A lock, event or other sync object failed (laid out, opened).
    #[error(transparent)]
    Sync(#[from] mproc_sync::SyncError),
    /// A queue made or opened through a [`Manager`](crate::Manager) failed.
    #[error(transparent)]
    Queue(#[from] mproc_queue::QueueError),
    /// A [`Manager`](crate::Manager)'s registry has no room for another
    /// name.
    #[error("manager registry is full ({max} names)")]
    RegistryFull {
        /// How many names it holds.
        max: u64,
    },
    /// The [`Manager`](crate::Manager)'s creator dropped it: it makes no
    /// more objects (those it made went with it).
    #[error("manager `{prefix}` was dropped by its creator and makes no more objects")]
    ManagerClosed {
        /// The manager's prefix.
        prefix: String,
    },
    /// A key is longer than the dict's `max_key_len`.
    #[error("key of {len} bytes is over the limit of {max}")]
    KeyTooLarge {
        /// The key's length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// A value is longer than the dict's `max_value_len`.
    #[error("value of {len} bytes is over the limit of {max}")]
    ValueTooLarge {
        /// The value's length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// The dict reached its memory cap: an entry of `needed` bytes does not
    /// fit in the `available` bytes of its shard (0 when the shard's
    /// buckets, not its bytes, ran out: the cap leaves no room for more).
    #[error("dict is full: {needed} bytes needed, {available} available under the memory cap")]
    Full {
        /// Bytes the entry needs (its block, header included).
        needed: u64,
        /// Bytes still free where it would go (0 if no bucket was).
        available: u64,
    },
    /// A lock stayed held for the whole timeout the caller gave (a dict
    /// handle's [`set_lock_timeout`](crate::Dict::set_lock_timeout), a
    /// manager's [`set_lock_timeout`](crate::Manager::set_lock_timeout), or
    /// [`Value::lock_timeout`](crate::Value::lock_timeout) and
    /// [`Array::lock_timeout`](crate::Array::lock_timeout)): its holder is
    /// alive (a dead one is taken over) but slow, for instance inside a
    /// long [`Dict::update`](crate::Dict::update) closure. Nothing was
    /// changed.
    #[error("{locked} stayed locked for the whole timeout of {timeout:?}")]
    LockTimeout {
        /// What stayed locked.
        locked: Locked,
        /// The timeout.
        timeout: std::time::Duration,
    },
    /// The calling thread holds this lock already (a guard of
    /// [`Value::lock`](crate::Value::lock) or
    /// [`Array::lock`](crate::Array::lock) is alive, or a closure of
    /// [`Dict::update`](crate::Dict::update) or
    /// [`Dict::get_with`](crate::Dict::get_with) runs under the shard):
    /// taking it again, for another guard or an accessor such as `get`,
    /// would wait for ever. Read and write through the guard, or after the
    /// closure, instead.
    #[error("this thread holds the {locked} already: use its guard")]
    HeldByThisThread {
        /// The lock.
        locked: Locked,
    },
    /// A field of a dict segment holds an impossible value.
    #[error("dict segment is corrupt: {what} holds {value:#x} at offset {offset}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// Where (bytes from the start of the region concerned).
        offset: u64,
        /// The value found.
        value: u64,
    },
    /// Options that cannot make a dict (zero limits, a cap below the
    /// smallest table).
    #[error("invalid option `{option}`: {value}")]
    InvalidOption {
        /// Which option.
        option: &'static str,
        /// Its value.
        value: u64,
    },
    /// A `Value<T>` or `Array<T>` segment was made for elements of another
    /// size or alignment.
    #[error(
        "segment holds elements of {found_size} bytes (align {found_align}), expected {expected_size} (align {expected_align})"
    )]
    TypeMismatch {
        /// `size_of::<T>()` asked for.
        expected_size: u64,
        /// Alignment asked for.
        expected_align: u64,
        /// Element size recorded in the segment.
        found_size: u64,
        /// Element alignment recorded in the segment.
        found_align: u64,
    },
    /// An `Array` index past its end.
    #[error("index {index} out of range for an array of {len} elements")]
    IndexOutOfRange {
        /// The index (or end of the range) asked for.
        index: u64,
        /// The array's length.
        len: u64,
    },
    /// Encoding a key or value of a [`TypedDict`](crate::TypedDict) failed.
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// `"key"` or `"value"`.
        what: &'static str,
        /// What postcard said.
        source: postcard::Error,
    },
    /// Decoding a value of a [`TypedDict`](crate::TypedDict) failed (it was
    /// stored by another type, or is corrupt).
    #[error("cannot decode {what}: {source}")]
    Decode {
        /// `"key"` or `"value"`.
        what: &'static str,
        /// What postcard said.
        source: postcard::Error,
    },
    /// The process identity needed by the robust locks cannot be read
    /// (`/proc` missing).
    #[error("cannot read this process's identity: {0}")]
    Identity(std::io::Error),
    /// The dict's current table generation is gone: this handle still
    /// mapped an older one, and the segment it had to move to was removed
    /// by name ([`Dict::unlink`](crate::Dict::unlink), the creator's drop,
    /// `mproc rm`). Nothing was changed; the handle stays unusable.
    #[error("dict table generation {generation} (segment `{segment}`) was removed")]
    GenerationRemoved {
        /// The generation the dict is at.
        generation: u64,
        /// Its segment's name.
        segment: String,
    },
    /// A name for a segment of the dict's family does not fit.
    #[error("name `{name}` is too long for a dict (at most {max} bytes)")]
    NameTooLong {
        /// The name given.
        name: String,
        /// The limit.
        max: u64,
    },
}

/// `Result` with [`DictError`].
pub type Result<T, E = DictError> = std::result::Result<T, E>;

/// A corrupt-field error.
pub(crate) fn corrupt(what: &'static str, offset: u64, value: u64) -> DictError {
    DictError::Corrupt {
        what,
        offset,
        value,
    }
}

/// The lock a [`DictError::LockTimeout`] waited for.
///
/// # Examples
///
/// ```
/// assert_eq!(mproc_dict::Locked::Shard(3).to_string(), "dict shard 3");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locked {
    /// A dict's shard, by index.
    Shard(u64),
    /// A [`Value`](crate::Value)'s lock.
    Value,
    /// An [`Array`](crate::Array)'s lock.
    Array,
    /// A [`Manager`](crate::Manager)'s registry lock (see
    /// [`Manager::set_lock_timeout`](crate::Manager::set_lock_timeout)).
    Registry,
}

impl std::fmt::Display for Locked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Locked::Shard(s) => write!(f, "dict shard {s}"),
            Locked::Value => f.write_str("value"),
            Locked::Array => f.write_str("array"),
            Locked::Registry => f.write_str("manager registry"),
        }
    }
}
