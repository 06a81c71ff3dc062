//! The header every segment starts with, and its validation.
//!
//! Byte layout (little-endian, 128 bytes, version 1):
//!
//! | offset | size | field | notes |
//! | --- | --- | --- | --- |
//! | 0 | 8 | magic | `b"MPROCSEG"` |
//! | 8 | 4 | version | [`LAYOUT_VERSION`] |
//! | 12 | 4 | kind | [`SegmentKind`] |
//! | 16 | 8 | total_len | header + payload, equals the file's size |
//! | 24 | 4 | creator_pid | |
//! | 28 | 4 | init | atomic: 0 unset, 1 initializing, 2 ready |
//! | 32 | 8 | creator_start_time | clock ticks after boot |
//! | 40 | 4 | flags | atomic: bit 0 = persistent, bit 1 = creator being handed over |
//! | 44 | 4 | reserved | |
//! | 48 | 64 | params | 8 × u64, kind-specific layout parameters |
//! | 112 | 16 | reserved | |
//!
//! The init word moves `0 -> INITIALIZING -> READY` and never back. The
//! creator writes the creator fields before `INITIALIZING` and everything
//! else before `READY`, each with a Release store; openers load it with
//! Acquire and trust nothing else until it reads `READY`.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use mproc_sys::ProcessId;

use crate::{Region, Result, SegmentKind, ShmError};

/// `b"MPROCSEG"` read as a little-endian u64.
pub const MAGIC: u64 = u64::from_le_bytes(*b"MPROCSEG");
/// The header layout version this build writes and reads.
pub const LAYOUT_VERSION: u32 = 1;
/// The header's length; the payload starts here (64-byte aligned).
pub const HEADER_LEN: u64 = 128;
/// How many kind-specific layout parameters the header holds.
pub const PARAM_COUNT: usize = 8;

pub(crate) const OFF_MAGIC: u64 = 0;
const OFF_VERSION: u64 = 8;
const OFF_KIND: u64 = 12;
const OFF_TOTAL_LEN: u64 = 16;
const OFF_CREATOR_PID: u64 = 24;
pub(crate) const OFF_INIT: u64 = 28;
const OFF_CREATOR_START: u64 = 32;
pub(crate) const OFF_FLAGS: u64 = 40;
const OFF_PARAMS: u64 = 48;

/// Init word: the creator has not written its identity yet.
pub(crate) const INIT_UNSET: u32 = 0;
/// Init word: the creator is laying the segment out.
pub(crate) const INIT_INITIALIZING: u32 = 1;
/// Init word: the segment is ready to use.
pub(crate) const INIT_READY: u32 = 2;
/// Flags bit: the segment outlives its creator and `remove_stale`.
pub(crate) const FLAG_PERSISTENT: u32 = 1;
/// Flags bit: the creator fields are being rewritten ([`set_creator`]).
pub(crate) const FLAG_HANDING_OVER: u32 = 2;

/// A copy of a segment's header, as read when it was opened.
///
/// # Examples
///
/// ```
/// use mproc_shm::{Segment, SegmentKind};
///
/// let seg = Segment::anonymous(4096).unwrap();
/// let h = seg.header();
/// assert_eq!(h.kind, SegmentKind::Raw);
/// assert_eq!(h.total_len, 4096 + mproc_shm::HEADER_LEN);
/// assert_eq!(h.creator.pid, mproc_sys::getpid());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The layout version (equal to [`LAYOUT_VERSION`] once validated).
    pub version: u32,
    /// What the segment holds.
    pub kind: SegmentKind,
    /// Header plus payload, in bytes.
    pub total_len: u64,
    /// The process that created the segment.
    pub creator: ProcessId,
    /// Kind-specific layout parameters (capacity, slot size, ...).
    pub params: [u64; PARAM_COUNT],
}

/// The header fields a creator writes.
pub(crate) struct NewHeader {
    pub(crate) kind: SegmentKind,
    pub(crate) total_len: u64,
    pub(crate) creator: ProcessId,
    pub(crate) params: [u64; PARAM_COUNT],
    pub(crate) persistent: bool,
}

fn word<'a>(region: &Region<'a>, off: u64) -> Result<&'a AtomicU32> {
    region.get::<AtomicU32>(off)
}

/// The header's init word.
pub(crate) fn init_word<'a>(region: &Region<'a>) -> Result<&'a AtomicU32> {
    region.get::<AtomicU32>(OFF_INIT)
}

/// The header's flags word.
pub(crate) fn flags_word<'a>(region: &Region<'a>) -> Result<&'a AtomicU32> {
    region.get::<AtomicU32>(OFF_FLAGS)
}

/// The creator fields as they are now (the process that unlinks the
/// segment when it is done with it, see [`set_creator`]).
pub(crate) fn creator(region: &Region<'_>) -> Result<ProcessId> {
    Ok(ProcessId {
        pid: region.read_pod(OFF_CREATOR_PID)?,
        start_time: region.read_pod(OFF_CREATOR_START)?,
    })
}

/// Makes `heir` the creator of a ready segment: the forked child its
/// creator handed it to (`Segment`'s drop). The two fields are written
/// with [`FLAG_HANDING_OVER`] raised around them: a reader in another
/// process (which reads the header twice until both reads agree,
/// `registry::read_header`) may see one creator's pid with the other's
/// start time while the writer is held up between the two writes, and the
/// flag tells it that the pair is in passing, not a dead creator.
pub(crate) fn set_creator(region: &Region<'_>, heir: ProcessId) -> Result<()> {
    let flags = flags_word(region)?;
    // SeqCst: raised before the creator fields change (and seen by a
    // reader that sees them changed; on x86 the stores are seen in order).
    flags.fetch_or(FLAG_HANDING_OVER, Ordering::SeqCst);
    let written = region
        .write_pod(OFF_CREATOR_START, &heir.start_time)
        .and_then(|()| region.write_pod(OFF_CREATOR_PID, &heir.pid));
    // Release: lowered after both fields are written.
    flags.fetch_and(!FLAG_HANDING_OVER, Ordering::Release);
    written
}

/// Whether the creator fields were being rewritten when the header was
/// read (see [`set_creator`]).
pub(crate) fn is_handing_over(region: &Region<'_>) -> bool {
    flags_word(region).is_ok_and(|f| f.load(Ordering::Relaxed) & FLAG_HANDING_OVER != 0)
}

/// Writes a fresh header into a zeroed region and leaves it INITIALIZING.
pub(crate) fn write_initializing(region: &Region<'_>, h: &NewHeader) -> Result<()> {
    region.write_pod(OFF_CREATOR_PID, &h.creator.pid)?;
    region.write_pod(OFF_CREATOR_START, &h.creator.start_time)?;
    // SYNC POINT: Release publishes the creator fields to openers that load
    // `init` with Acquire in `state` and see INITIALIZING.
    word(region, OFF_INIT)?.store(INIT_INITIALIZING, Ordering::Release);
    region
        .get::<AtomicU64>(OFF_MAGIC)?
        .store(MAGIC, Ordering::Relaxed);
    region.write_pod(OFF_VERSION, &LAYOUT_VERSION)?;
    region.write_pod(OFF_KIND, &h.kind.as_raw())?;
    region.write_pod(OFF_TOTAL_LEN, &h.total_len)?;
    for (i, p) in h.params.iter().enumerate() {
        region.write_pod(OFF_PARAMS + 8 * i as u64, p)?;
    }
    let flags = if h.persistent { FLAG_PERSISTENT } else { 0 };
    flags_word(region)?.store(flags, Ordering::Relaxed);
    Ok(())
}

/// Marks a segment READY: everything written before becomes visible.
pub(crate) fn publish_ready(region: &Region<'_>) -> Result<()> {
    // SYNC POINT: Release pairs with the Acquire load of `init` in `state`:
    // an opener that reads READY sees the whole header and payload layout.
    init_word(region)?.store(INIT_READY, Ordering::Release);
    Ok(())
}

/// What an opener sees of a header right now.
pub(crate) enum HeaderState {
    /// Nothing written yet (or an all-zero file).
    Unset,
    /// The creator is still laying it out.
    Initializing(ProcessId),
    /// Ready: the validated header.
    Ready(Header),
}

/// Reads the header's state; validates it fully once READY.
///
/// `file_len` is the real length of the mapping (the file's size).
pub(crate) fn state(region: &Region<'_>, file_len: u64) -> Result<HeaderState> {
    if file_len < HEADER_LEN || (region.len() as u64) < HEADER_LEN {
        return Err(ShmError::Truncated {
            len: file_len,
            needed: HEADER_LEN,
        });
    }
    let magic = region.get::<AtomicU64>(OFF_MAGIC)?.load(Ordering::Relaxed);
    if magic != 0 && magic != MAGIC {
        return Err(ShmError::BadMagic { found: magic });
    }
    // SYNC POINT: Acquire pairs with the Release stores in
    // `write_initializing` and `publish_ready`.
    let init = init_word(region)?.load(Ordering::Acquire);
    let creator = ProcessId {
        pid: region.read_pod(OFF_CREATOR_PID)?,
        start_time: region.read_pod(OFF_CREATOR_START)?,
    };
    match init {
        INIT_UNSET => Ok(HeaderState::Unset),
        INIT_INITIALIZING => Ok(HeaderState::Initializing(creator)),
        INIT_READY => {
            let magic = region.get::<AtomicU64>(OFF_MAGIC)?.load(Ordering::Relaxed);
            if magic != MAGIC {
                return Err(ShmError::BadMagic { found: magic });
            }
            let version: u32 = region.read_pod(OFF_VERSION)?;
            if version != LAYOUT_VERSION {
                return Err(ShmError::VersionMismatch {
                    found: version,
                    expected: LAYOUT_VERSION,
                });
            }
            let raw_kind: u32 = region.read_pod(OFF_KIND)?;
            let kind = SegmentKind::from_raw(raw_kind).ok_or(ShmError::Corrupt {
                field: "kind",
                value: raw_kind.into(),
            })?;
            let total_len: u64 = region.read_pod(OFF_TOTAL_LEN)?;
            if total_len > file_len {
                return Err(ShmError::Truncated {
                    len: file_len,
                    needed: total_len,
                });
            }
            if total_len < HEADER_LEN || total_len != file_len {
                return Err(ShmError::Corrupt {
                    field: "total_len",
                    value: total_len,
                });
            }
            let mut params = [0u64; PARAM_COUNT];
            for (i, p) in params.iter_mut().enumerate() {
                *p = region.read_pod(OFF_PARAMS + 8 * i as u64)?;
            }
            Ok(HeaderState::Ready(Header {
                version,
                kind,
                total_len,
                creator,
                params,
            }))
        }
        other => Err(ShmError::Corrupt {
            field: "init",
            value: other.into(),
        }),
    }
}

/// Whether the persistent flag is set.
pub(crate) fn is_persistent(region: &Region<'_>) -> bool {
    flags_word(region).is_ok_and(|f| f.load(Ordering::Relaxed) & FLAG_PERSISTENT != 0)
}
