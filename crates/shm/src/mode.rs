//! The process-wide default permission bits of new named segments: what
//! every object without a mode of its own is made with (locks, events,
//! values, a manager's objects, ...), `0o600` until changed.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::DEFAULT_MODE;

/// The current default; only the permission bits.
static DEFAULT: AtomicU32 = AtomicU32::new(DEFAULT_MODE);

/// Sets the permission bits of named segments this process creates from
/// now on without a mode of their own (a [`SegmentBuilder::mode`],
/// `QueueOptions::mode` or `DictOptions::mode` still wins), and returns
/// the previous default. Bits beyond `0o777` are dropped. Like a umask,
/// but the bits given are the ones set, exactly.
///
/// Share with another user (or group) by opening the segments to them:
/// `0o660` lets the group read and write. A peer with write access can
/// also shrink a segment's file (see [`Segment`](crate::Segment)).
///
/// [`SegmentBuilder::mode`]: crate::SegmentBuilder::mode
///
/// # Examples
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
/// let before = mproc_shm::set_default_mode(0o640);
/// let s = mproc_shm::Segment::create("doc-default-mode", 8).unwrap();
/// let meta = std::fs::metadata("/dev/shm/mproc.doc-default-mode").unwrap();
/// assert_eq!(meta.permissions().mode() & 0o777, 0o640);
/// mproc_shm::set_default_mode(before);
/// assert_eq!(mproc_shm::default_mode(), 0o600);
/// # drop(s);
/// ```
pub fn set_default_mode(mode: u32) -> u32 {
    // Relaxed: a plain setting, read once per creation; no other memory
    // is published with it.
    DEFAULT.swap(mode & 0o777, Ordering::Relaxed)
}

/// The permission bits new named segments get unless they are given a
/// mode of their own: [`DEFAULT_MODE`] until [`set_default_mode`].
///
/// # Examples
///
/// ```
/// assert_eq!(mproc_shm::default_mode() & !0o777, 0);
/// ```
pub fn default_mode() -> u32 {
    DEFAULT.load(Ordering::Relaxed)
}
