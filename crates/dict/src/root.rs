//! The root segment of a dict: what every handle opens first. It holds the
//! current generation number (the one word every operation loads), the
//! base name of the generation segments, and the options.
//!
//! Payload: `generation: AtomicU64`, then the permission bits of the
//! dict's segments (u64: `1 << 32 | mode`; 0 in roots made before they
//! were recorded, read as `0o600`), on their own line; then the base
//! name's length (u64) and bytes.

use std::sync::atomic::{AtomicU64, Ordering};

use mproc_shm::{MAX_NAME_LEN, Segment, SegmentKind, ShmError};

use crate::error::corrupt;
use crate::layout::TableLayout;
use crate::{DictError, Result};

/// `params[0]` of a root segment.
pub(crate) const ROOT_ROLE: u64 = 0x524f_4f54; // "ROOT"
/// Payload bytes of a root segment.
pub(crate) const ROOT_LEN: u64 = 64 + 8 + MAX_NAME_LEN as u64;
const NAME_OFF: u64 = 64;
/// Where the root records the permission bits of the dict's segments.
const MODE_OFF: u64 = 8;
/// Marks the mode word as written (so that mode 0 is told from a root
/// made before modes were recorded, whose word is 0).
const MODE_RECORDED: u64 = 1 << 32;
/// Longest base name: room for `.g` and a 20-digit generation.
pub(crate) const MAX_BASE_LEN: usize = MAX_NAME_LEN - 22;
/// What a named dict's base adds to its name: `.i` and 8 hex digits that
/// tell this dict from any other made under the same name.
pub(crate) const TAG_LEN: usize = 10;
/// Longest name of a named dict.
pub(crate) const MAX_DICT_NAME_LEN: usize = MAX_BASE_LEN - TAG_LEN;

/// The base of a new named dict's generation segments: its name and a tag
/// of this dict. A dict made again under the name of an unlinked one,
/// whose handles may still be in use and grow it, never shares a
/// generation name with it.
pub(crate) fn named_base(name: &str) -> String {
    static MADE: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mixed = (nanos ^ (u64::from(mproc_sys::getpid().unsigned_abs()) << 32))
        .wrapping_add(MADE.fetch_add(1, Ordering::Relaxed))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    format!("{name}.i{:08x}", (mixed >> 32) as u32)
}

/// Whether `base` (read from a root) may name the generations of the dict
/// named `name`: the name and a tag (`.i` and 8 hex digits), or the name
/// alone (dicts made before tags). A root pointing at another dict's
/// segments is corrupt: [`Dict::open`](crate::Dict::open) refuses it, and
/// a tool that removes a dict's tables by the base its root records must
/// refuse it too (`docs/layout.md`, dict root).
///
/// # Examples
///
/// ```
/// use mproc_dict::table_base_belongs_to;
/// assert!(table_base_belongs_to("cache.i0123abcd", "cache"));
/// assert!(table_base_belongs_to("cache", "cache"));
/// assert!(!table_base_belongs_to("other.i0123abcd", "cache"));
/// assert!(!table_base_belongs_to("cache.ixyz", "cache"));
/// ```
pub fn table_base_belongs_to(base: &str, name: &str) -> bool {
    match base.strip_prefix(name) {
        Some("") => true,
        Some(tag) => {
            tag.len() == TAG_LEN
                && tag.starts_with(".i")
                && tag[2..].bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}

/// Flag: generation 0 is an anonymous segment (no name).
pub(crate) const FLAG_ANON_GEN0: u64 = 1;

/// What a root segment records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RootInfo {
    /// Base of the generation segment names.
    pub(crate) base: String,
    /// Layout of generation 0 (limits and shard count hold for all).
    pub(crate) first: TableLayout,
    /// The memory cap, if any.
    pub(crate) max_bytes: Option<u64>,
    /// `FLAG_*` bits.
    pub(crate) flags: u64,
    /// Permission bits of the root and of every generation's segment.
    pub(crate) mode: u32,
}

impl RootInfo {
    /// Header parameters.
    fn params(&self) -> [u64; 8] {
        [
            ROOT_ROLE,
            self.first.max_key,
            self.first.max_value,
            self.max_bytes.unwrap_or(0),
            self.first.shard_bits.into(),
            self.first.bucket_bits.into(),
            self.first.arena_len,
            self.flags,
        ]
    }

    /// The name of generation `g`'s segment.
    pub(crate) fn gen_name(&self, g: u64) -> String {
        format!("{}.g{g}", self.base)
    }

    /// Creates the root segment (named, or anonymous if `name` is `None`).
    pub(crate) fn create(&self, name: Option<&str>) -> Result<Segment> {
        self.create_with(name, || Ok(()))
    }

    /// Creates the root segment and runs `more` before it becomes ready.
    pub(crate) fn create_with(
        &self,
        name: Option<&str>,
        more: impl FnOnce() -> Result<()>,
    ) -> Result<Segment> {
        if self.base.len() > MAX_BASE_LEN {
            return Err(DictError::NameTooLong {
                name: self.base.clone(),
                max: MAX_BASE_LEN as u64,
            });
        }
        let base = self.base.as_bytes();
        let mut failure = None;
        // An anonymous root is known by its base in `/proc/PID/maps`: the
        // dict's tables are in use while any process maps it (`mproc gc`).
        let builder = Segment::builder(SegmentKind::Dict, ROOT_LEN)
            .label(&self.base)
            .params(self.params())
            .mode(self.mode)
            .init(|p| {
                p.write_pod(MODE_OFF, &(MODE_RECORDED | u64::from(self.mode)))?;
                p.write_pod(NAME_OFF, &(base.len() as u64))?;
                p.write_bytes(NAME_OFF + 8, base)?;
                more().map_err(|e| {
                    failure = Some(e);
                    ShmError::Corrupt {
                        field: "dict generation 0",
                        value: 0,
                    }
                })
            });
        let made = match name {
            Some(n) => builder.create(n),
            None => builder.create_anonymous(),
        };
        made.map_err(|e| failure.take().unwrap_or(e.into()))
    }

    /// What the root of the dict named `name` records, refusing a base
    /// that names another dict's segments.
    pub(crate) fn read_named(seg: &Segment, name: &str) -> Result<RootInfo> {
        let info = RootInfo::read(seg)?;
        if !table_base_belongs_to(&info.base, name) {
            return Err(corrupt(
                "root base name (another dict's segments)",
                NAME_OFF + 8,
                info.base.len() as u64,
            ));
        }
        Ok(info)
    }

    /// Reads and checks what an opened root segment records.
    pub(crate) fn read(seg: &Segment) -> Result<RootInfo> {
        let p = seg.header().params;
        if p[0] != ROOT_ROLE {
            return Err(corrupt("root role (not a dict's root segment)", 0, p[0]));
        }
        let small = |what, v: u64| u32::try_from(v).map_err(|_| corrupt(what, 0, v));
        let first = TableLayout {
            generation: 0,
            shard_bits: small("shard_bits", p[4])?,
            bucket_bits: small("bucket_bits", p[5])?,
            arena_len: p[6],
            max_key: p[1],
            max_value: p[2],
        };
        first.validate()?;
        let payload = seg.payload();
        let len: u64 = payload.read_pod(NAME_OFF)?;
        if len == 0 || len > MAX_BASE_LEN as u64 {
            return Err(corrupt("root base name length", NAME_OFF, len));
        }
        let mut buf = vec![0u8; len as usize];
        payload.read_bytes(NAME_OFF + 8, &mut buf)?;
        let base = String::from_utf8(buf)
            .ok()
            .filter(|s| {
                s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            })
            .ok_or(corrupt("root base name", NAME_OFF + 8, len))?;
        let mode = match payload.read_pod::<u64>(MODE_OFF)? {
            // A root made before modes were recorded: the default then.
            0 => mproc_shm::DEFAULT_MODE,
            m if m & !0o777 == MODE_RECORDED => (m & 0o777) as u32,
            m => return Err(corrupt("root permission bits", MODE_OFF, m)),
        };
        Ok(RootInfo {
            base,
            first,
            max_bytes: (p[3] != 0).then_some(p[3]),
            flags: p[7],
            mode,
        })
    }
}

/// The current-generation word of a root segment.
pub(crate) fn generation_word(seg: &Segment) -> Result<&AtomicU64> {
    Ok(seg.payload().get::<AtomicU64>(0)?)
}

/// Removes the names of generations `first..=last+1` (the one past the
/// last may be a half-made generation of a grower that died).
pub(crate) fn unlink_generations(info: &RootInfo, first: u64, last: u64) {
    for g in first.max(last.saturating_sub(64))..=last.saturating_add(1) {
        // NotFound is the common case (a grower removed it already).
        let _: std::result::Result<(), ShmError> = Segment::unlink(&info.gen_name(g));
    }
}

/// Reads the current generation of an opened root.
pub(crate) fn current_generation(seg: &Segment) -> Result<u64> {
    // SYNC POINT: Acquire pairs with the Release store in `grow::publish`.
    Ok(generation_word(seg)?.load(Ordering::Acquire))
}
