//! The one error type of the `shm` crate.

use std::io;

use crate::SegmentKind;

/// Everything that can go wrong creating, opening or reading a segment.
///
/// Every variant names what was wrong and with which value. A segment's bytes
/// are untrusted input: anything inconsistent in them is one of these errors,
/// never a panic or an out-of-bounds access.
///
/// # Examples
///
/// ```
/// use mproc_shm::{Segment, ShmError};
///
/// let err = Segment::open("no-such-segment-doc").unwrap_err();
/// assert!(matches!(err, ShmError::NotFound { .. }));
/// assert_eq!(err.to_string(), "no segment named `no-such-segment-doc`");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShmError {
    /// No segment has this name.
    #[error("no segment named `{name}`")]
    NotFound {
        /// The name asked for, without the `/mproc.` prefix.
        name: String,
    },
    /// A segment with this name exists already.
    #[error("a segment named `{name}` exists already")]
    AlreadyExists {
        /// The name asked for.
        name: String,
    },
    /// The name is not a valid segment name.
    #[error("invalid segment name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The first eight bytes are not mproc's magic number.
    #[error("not an mproc segment: magic {found:#018x}")]
    BadMagic {
        /// The magic number found.
        found: u64,
    },
    /// The segment was laid out by another version of mproc.
    #[error("segment layout version {found}, this build reads version {expected}")]
    VersionMismatch {
        /// The version in the segment.
        found: u32,
        /// The version this build understands.
        expected: u32,
    },
    /// The segment holds another kind of object.
    #[error("segment holds a {found:?}, expected a {expected:?}")]
    WrongKind {
        /// The kind in the header.
        found: SegmentKind,
        /// The kind asked for.
        expected: SegmentKind,
    },
    /// The segment is shorter than its header or its layout needs.
    #[error("segment is {} long, {needed} are needed", bytes(*len))]
    Truncated {
        /// The real length.
        len: u64,
        /// The length needed.
        needed: u64,
    },
    /// A field of the segment holds an impossible value.
    #[error("segment field `{field}` holds an invalid value {value:#x}")]
    Corrupt {
        /// Which field.
        field: &'static str,
        /// Its value.
        value: u64,
    },
    /// An offset or range points outside its region.
    #[error("range {offset}..{offset}+{len} is outside a region of {region_len} bytes")]
    OutOfBounds {
        /// Start of the range.
        offset: u64,
        /// Length of the range.
        len: u64,
        /// Length of the region.
        region_len: u64,
    },
    /// An offset is not aligned for the type read at it.
    #[error("offset {offset} is not aligned to {align} bytes")]
    Misaligned {
        /// The offset.
        offset: u64,
        /// The alignment required.
        align: u64,
    },
    /// The creator died (or never wrote its pid) before the segment was
    /// ready.
    #[error("segment `{name}` was abandoned while initializing (creator pid {creator_pid})")]
    Abandoned {
        /// The segment's name (empty for anonymous segments).
        name: String,
        /// The creator's pid, 0 if it never wrote one.
        creator_pid: i32,
    },
    /// The segment's creator is alive but did not finish initializing it
    /// within the opener's ready timeout
    /// ([`SegmentOpener::ready_timeout`](crate::SegmentOpener::ready_timeout)).
    #[error(
        "segment `{name}` is still being initialized by pid {creator_pid} after {waited_ms} ms"
    )]
    NotReady {
        /// The segment's name.
        name: String,
        /// The creator's pid.
        creator_pid: i32,
        /// How long the opener waited.
        waited_ms: u64,
    },
    /// The operation would write to a segment this handle mapped
    /// read-only ([`SegmentOpener::read_only`](crate::SegmentOpener::read_only)).
    #[error("segment `{name}` is mapped read-only: cannot {operation}")]
    ReadOnly {
        /// The segment's name (empty for anonymous segments, which are
        /// never read-only).
        name: String,
        /// What was refused (`"persist"`, `"Lock::from_segment"`, ...).
        operation: &'static str,
    },
    /// A write to a view of a segment mapped read-only.
    #[error("cannot write range {offset}..{offset}+{len}: the region is mapped read-only")]
    ReadOnlyRegion {
        /// Start of the range.
        offset: u64,
        /// Length of the range.
        len: u64,
    },
    /// A segment being created could not be given its length: the length
    /// does not fit a file offset, the file system has no room, or the
    /// address space or memory limits refuse the mapping.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{Segment, ShmError};
    /// let err = Segment::anonymous(u64::MAX / 2).unwrap_err();
    /// assert!(matches!(err, ShmError::CannotAllocate { name: None, len, .. } if len == u64::MAX / 2));
    /// ```
    #[error("cannot allocate {} for segment {}: {source}", bytes(*len), shown(name.as_deref()))]
    CannotAllocate {
        /// The segment's name (`None`: anonymous).
        name: Option<String>,
        /// The payload length asked for.
        len: u64,
        /// What the operating system said.
        source: io::Error,
    },
    /// The caller may not open this segment (mode bits, owner).
    #[error("permission denied for segment `{name}`")]
    PermissionDenied {
        /// The name asked for.
        name: String,
    },
    /// Any other operating-system error.
    #[error("operating system error: {0}")]
    Os(#[from] io::Error),
}

/// `Result` with [`ShmError`].
pub type Result<T, E = ShmError> = std::result::Result<T, E>;

/// Maps the errno of an operation on a named segment to the right variant.
pub(crate) fn os_error(err: io::Error, name: &str) -> ShmError {
    match err.kind() {
        io::ErrorKind::NotFound => ShmError::NotFound {
            name: name.to_owned(),
        },
        io::ErrorKind::AlreadyExists => ShmError::AlreadyExists {
            name: name.to_owned(),
        },
        io::ErrorKind::PermissionDenied => ShmError::PermissionDenied {
            name: name.to_owned(),
        },
        _ => ShmError::Os(err),
    }
}

/// A segment's name for a message: quoted, or "(anonymous)".
fn shown(name: Option<&str>) -> String {
    name.map_or_else(|| "(anonymous)".to_owned(), |n| format!("`{n}`"))
}

/// `n` bytes, in words ("1 byte", "2 bytes").
fn bytes(n: u64) -> String {
    if n == 1 {
        "1 byte".to_owned()
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::ShmError;

    #[test]
    fn lengths_read_as_words() {
        let short = |len| ShmError::Truncated { len, needed: 128 }.to_string();
        assert_eq!(short(1), "segment is 1 byte long, 128 are needed");
        assert_eq!(short(0), "segment is 0 bytes long, 128 are needed");
        assert_eq!(short(10), "segment is 10 bytes long, 128 are needed");
    }
}
