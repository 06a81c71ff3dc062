//! [`Shared`]: a segment plus a reference into it, the body of every
//! handle (`Lock`, `Event`, ...).

use std::ptr::NonNull;

use mproc_shm::{Region, Segment, SegmentKind, ShmError, ShmSafe};

use crate::{Result, SyncError};

/// A segment and the primitive at the start of its payload.
pub(crate) struct Shared<T> {
    /// Points into `seg`'s mapping, which does not move when `seg` does
    /// and lives until `seg` drops.
    ptr: NonNull<T>,
    seg: Segment,
}

// SAFETY: `T: ShmSafe` is Sync and is shared between whole processes by
// design; the handle owns the mapping, which is valid in any thread.
unsafe impl<T: ShmSafe> Send for Shared<T> {}
// SAFETY: as above; all access is through `&T`.
unsafe impl<T: ShmSafe> Sync for Shared<T> {}

impl<T: ShmSafe> Shared<T> {
    /// Wraps `seg`, finding the primitive with `attach` (which validates it).
    pub(crate) fn new(
        seg: Segment,
        attach: impl for<'a> FnOnce(&Region<'a>) -> Result<&'a T>,
    ) -> Result<Shared<T>> {
        let ptr = NonNull::from(attach(&seg.payload())?);
        Ok(Shared { ptr, seg })
    }

    /// The segment.
    pub(crate) fn segment(&self) -> &Segment {
        &self.seg
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: `ptr` was derived from a validated `&T` into the mapping
        // owned by `self.seg`, which stays mapped (at the same address) for
        // as long as `self` lives.
        unsafe { self.ptr.as_ref() }
    }
}

/// Maps an error of an in-segment initializer to the segment builder's
/// error type.
pub(crate) fn to_shm(e: SyncError) -> ShmError {
    match e {
        SyncError::Shm(e) => e,
        SyncError::Corrupt { field, value, .. } => ShmError::Corrupt { field, value },
        other => ShmError::Os(std::io::Error::other(other.to_string())),
    }
}

/// Opens the named segment of `kind`.
pub(crate) fn open(name: &str, kind: SegmentKind) -> Result<Segment> {
    Ok(Segment::opener(name).kind(kind).open()?)
}

/// What every handle's `from_segment` checks before attaching: `seg`
/// holds `kind` (else `WrongKind`), and this handle may write to it (else
/// `ReadOnly` naming the segment and `operation`): every primitive writes
/// its words, and a read-only handle's writes would never reach the other
/// processes (see `SegmentOpener::read_only`).
pub(crate) fn check_segment(
    seg: &Segment,
    kind: SegmentKind,
    operation: &'static str,
) -> Result<()> {
    check_kind(seg, kind)?;
    Ok(seg.check_writable(operation)?)
}

/// `Err(WrongKind)` unless `seg` holds `kind`.
fn check_kind(seg: &Segment, kind: SegmentKind) -> Result<()> {
    let found = seg.header().kind;
    if found == kind {
        Ok(())
    } else {
        Err(ShmError::WrongKind {
            found,
            expected: kind,
        }
        .into())
    }
}

/// The parts every handle has alike: `open`, `from_segment`, `segment`,
/// `Deref` to its raw form, `Debug`. The handle is
/// `struct $handle { shared: Shared<$raw> }`, its raw form has
/// `attach(region, offset)`, `$check` validates the raw form against the
/// handle's expectations (bounded or not, ...), and `$anonymous` makes one
/// in an anonymous segment (for the examples).
macro_rules! handle_common {
    ($handle:ident, $raw:ident, $kind:ident, $check:expr, $anonymous:literal) => {
        impl $handle {
            #[doc = concat!("Opens the `", stringify!($handle), "` another process created under `name`.")]
            ///
            /// # Errors
            ///
            /// [`SyncError::Shm`](crate::SyncError::Shm) (`NotFound`,
            /// `WrongKind` for a segment of another kind, ...),
            /// [`SyncError::Corrupt`](crate::SyncError::Corrupt) if its bytes
            /// are not a valid primitive.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("assert!(mproc_sync::", stringify!($handle), "::open(\"doc-missing-", stringify!($handle), "\").is_err());")]
            /// ```
            pub fn open(name: &str) -> crate::Result<$handle> {
                $handle::from_segment(crate::shared::open(name, mproc_shm::SegmentKind::$kind)?)
            }

            #[doc = concat!("A handle on the `", stringify!($handle), "` in `seg`, validating the segment's kind and the primitive's bytes.")]
            ///
            /// # Errors
            ///
            /// [`SyncError::Shm`](crate::SyncError::Shm) with `WrongKind`, or
            /// with `ReadOnly` naming the segment if it was opened read-only,
            /// [`SyncError::Corrupt`](crate::SyncError::Corrupt),
            /// [`SyncError::LayoutMismatch`](crate::SyncError::LayoutMismatch).
            ///
            /// # Examples
            ///
            /// ```
            /// use mproc_shm::{Segment, SegmentKind};
            #[doc = concat!("let blank = Segment::builder(SegmentKind::", stringify!($kind), ", 4096).create_anonymous().unwrap();")]
            #[doc = concat!("assert!(mproc_sync::", stringify!($handle), "::from_segment(blank).is_err()); // never initialized")]
            /// ```
            pub fn from_segment(seg: mproc_shm::Segment) -> crate::Result<$handle> {
                crate::shared::check_segment(
                    &seg,
                    mproc_shm::SegmentKind::$kind,
                    concat!(stringify!($handle), "::from_segment"),
                )?;
                let shared = crate::shared::Shared::new(seg, |p| $raw::attach(p, 0))?;
                let check: fn(&$raw) -> crate::Result<()> = $check;
                check(&shared)?;
                Ok($handle { shared })
            }

            /// The segment the primitive lives in (no name when anonymous).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let h = mproc_sync::", $anonymous, ".unwrap();")]
            /// assert!(h.segment().name().is_none());
            /// ```
            pub fn segment(&self) -> &mproc_shm::Segment {
                self.shared.segment()
            }
        }

        impl std::ops::Deref for $handle {
            type Target = $raw;

            fn deref(&self) -> &$raw {
                &self.shared
            }
        }

        impl std::fmt::Debug for $handle {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($handle)).field(&*self.shared).finish()
            }
        }
    };
}

pub(crate) use handle_common;

/// A builder for a handle's segment: `payload` bytes of `kind`, `params`,
/// laid out by `init`.
pub(crate) fn builder(
    kind: SegmentKind,
    payload: u64,
    params: [u64; 8],
    init: impl for<'a> FnOnce(&Region<'a>) -> Result<()> + 'static,
) -> mproc_shm::SegmentBuilder<'static> {
    Segment::builder(kind, payload)
        .params(params)
        .init(move |p| init(&p).map_err(to_shm))
}
