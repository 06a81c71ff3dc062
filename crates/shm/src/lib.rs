//! `mproc-shm`: shared-memory segments that processes can create, open and
//! trust.
//!
//! A [`Segment`] is a mapping of a POSIX shared-memory object (named,
//! `/dev/shm/mproc.NAME`) or of an anonymous memory file (shared with
//! children across `fork`). It starts with a validated [`Header`] (magic,
//! layout version, [`SegmentKind`], length, creator, layout parameters, an
//! init word), followed by a payload that higher crates lay out with
//! offsets, never pointers. Everything read from a segment is checked:
//! corrupt bytes give a [`ShmError`], never a panic or an out-of-bounds
//! access.
//!
//! # Examples
//!
//! A segment created by one handle and opened by name through another (in
//! real use, another process):
//!
//! ```
//! use mproc_shm::{Segment, SegmentKind};
//!
//! let creator = Segment::builder(SegmentKind::Raw, 4096).create("doc-lib").unwrap();
//! creator.payload().write_bytes(0, b"hello").unwrap();
//!
//! let reader = Segment::opener("doc-lib").kind(SegmentKind::Raw).open().unwrap();
//! let mut buf = [0u8; 5];
//! reader.payload().read_bytes(0, &mut buf).unwrap();
//! assert_eq!(&buf, b"hello");
//! ```

mod error;
mod header;
mod kind;
mod mode;
mod name;
mod region;
mod registry;
mod segment;

pub use error::{Result, ShmError};
pub use header::{HEADER_LEN, Header, LAYOUT_VERSION, MAGIC, PARAM_COUNT};
pub use kind::SegmentKind;
pub use mode::{default_mode, set_default_mode};
pub use name::{MAX_NAME_LEN, NAME_PREFIX, SegmentName};
pub use region::{HeapRegion, Offset, Region, ShmSafe};
pub use registry::{SegmentInfo, SegmentStatus, StaleSweep, inspect, list, remove_stale};
pub use segment::{
    DEFAULT_MODE, DEFAULT_READY_TIMEOUT, MAX_LABEL_LEN, Segment, SegmentBuilder, SegmentOpener,
};
