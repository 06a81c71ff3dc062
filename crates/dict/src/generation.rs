//! [`Generation`]: one table segment mapped by this process.

use std::sync::atomic::AtomicU64;

use mproc_shm::{HEADER_LEN, Segment, SegmentKind, ShmError};
use mproc_sync::RawLock;

use crate::layout::TableLayout;
use crate::table::Table;
use crate::{DictError, Result};

/// A mapped table segment and its validated layout.
#[derive(Debug)]
pub(crate) struct Generation {
    /// Owns the mapping `base` points into (read through `base` only).
    _seg: Segment,
    /// Its layout.
    pub(crate) layout: TableLayout,
    /// The payload's first byte, found once: [`Table::new`] accepted the
    /// payload for `layout` when this generation was made or attached.
    base: *mut u8,
}

// SAFETY: `base` points into `seg`'s mapping, which `Generation` owns and
// which does not move or go away while it lives; the memory is shared and
// every access to it goes through the table protocol (atomics, or bytes
// under a shard lock), whichever thread makes it.
unsafe impl Send for Generation {}
// SAFETY: as above.
unsafe impl Sync for Generation {}

/// The impls above add `base` only: the segment itself must be `Send` and
/// `Sync` on its own.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Segment>();
};

/// Bytes of a table segment with this layout, header included.
pub(crate) fn segment_len(layout: &TableLayout) -> u64 {
    layout.payload_len() + HEADER_LEN
}

impl Generation {
    /// Creates a table segment (named and persistent, or anonymous), lays
    /// it out, and lets `fill` put entries in before it becomes ready.
    /// A leftover segment of the same name (from a grower that died) is
    /// removed first.
    pub(crate) fn create(
        name: Option<&str>,
        mode: u32,
        layout: TableLayout,
        fill: impl FnOnce(&Table<'_>) -> Result<()>,
    ) -> Result<Generation> {
        layout.validate()?;
        let mut fill = Some(fill);
        match Generation::try_create(name, mode, layout, &mut fill) {
            Err(DictError::Shm(ShmError::AlreadyExists { .. })) if name.is_some() => {
                let n = name.unwrap_or_default();
                let _ = Segment::unlink(n);
                Generation::try_create(name, mode, layout, &mut fill)
            }
            r => r,
        }
    }

    fn try_create<F: FnOnce(&Table<'_>) -> Result<()>>(
        name: Option<&str>,
        mode: u32,
        layout: TableLayout,
        fill: &mut Option<F>,
    ) -> Result<Generation> {
        let mut failure: Option<DictError> = None;
        let init = |payload: mproc_shm::Region<'_>| -> mproc_shm::Result<()> {
            let own_gen = AtomicU64::new(layout.generation);
            let r = Table::new(payload, layout, &own_gen).and_then(|t| {
                t.init()?;
                match fill.take() {
                    Some(f) => f(&t),
                    None => Ok(()),
                }
            });
            r.map_err(|e| {
                failure = Some(e);
                ShmError::Corrupt {
                    field: "dict table fill",
                    value: layout.generation,
                }
            })
        };
        let builder = Segment::builder(SegmentKind::Dict, layout.payload_len())
            .params(layout.params())
            .mode(mode)
            .init(init);
        let seg = match name {
            None => builder.create_anonymous(),
            Some(n) => builder.persist(true).create(n),
        };
        match seg {
            Ok(seg) => Generation::attach(seg, layout.generation),
            Err(e) => Err(failure.take().unwrap_or(e.into())),
        }
    }

    /// Opens table segment `name`, which must be generation `generation`.
    pub(crate) fn open(name: &str, generation: u64) -> Result<Generation> {
        let seg = Segment::opener(name).kind(SegmentKind::Dict).open()?;
        Generation::attach(seg, generation)
    }

    /// Validates a mapped table segment.
    pub(crate) fn attach(seg: Segment, generation: u64) -> Result<Generation> {
        let layout = TableLayout::from_params(&seg.header().params)?;
        if layout.generation != generation {
            return Err(DictError::Corrupt {
                what: "table generation",
                offset: 0,
                value: layout.generation,
            });
        }
        let payload = seg.payload();
        if (payload.len() as u64) < layout.payload_len() {
            return Err(DictError::Shm(ShmError::Truncated {
                len: payload.len() as u64,
                needed: layout.payload_len(),
            }));
        }
        // Checks bounds and alignment once for every later `table()`.
        let unused = AtomicU64::new(generation);
        Table::new(payload, layout, &unused)?;
        // Every shard lock's tag and state word, as other segments' locks
        // are checked when attached: a garbage lock is an error here, not
        // a wait on a thread that never held it.
        for s in 0..layout.shards() {
            RawLock::attach(&payload, layout.ctl_off(s))?;
        }
        let base = payload.as_ptr();
        Ok(Generation {
            _seg: seg,
            layout,
            base,
        })
    }

    /// The table view; `current` is the root's generation word.
    #[inline(always)]
    pub(crate) fn table<'a>(&'a self, current: &'a AtomicU64) -> Table<'a> {
        // SAFETY: `Table::new` accepted the payload at `base` for `layout`
        // in `attach`, and the mapping lives as long as `self._seg`, so for
        // 'a.
        unsafe { Table::trusted(self.base, self.layout, current) }
    }
}
