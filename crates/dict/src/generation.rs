//! [`Generation`]: one table segment mapped by this process.

use std::sync::atomic::AtomicU64;

use mproc_shm::{HEADER_LEN, Segment, SegmentKind, ShmError};

use crate::layout::TableLayout;
use crate::table::Table;
use crate::{DictError, Result};

/// A mapped table segment and its validated layout.
#[derive(Debug)]
pub(crate) struct Generation {
    seg: Segment,
    /// Its layout.
    pub(crate) layout: TableLayout,
}

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
        layout: TableLayout,
        fill: impl FnOnce(&Table<'_>) -> Result<()>,
    ) -> Result<Generation> {
        layout.validate()?;
        let mut fill = Some(fill);
        match Generation::try_create(name, layout, &mut fill) {
            Err(DictError::Shm(ShmError::AlreadyExists { .. })) if name.is_some() => {
                let n = name.unwrap_or_default();
                let _ = Segment::unlink(n);
                Generation::try_create(name, layout, &mut fill)
            }
            r => r,
        }
    }

    fn try_create<F: FnOnce(&Table<'_>) -> Result<()>>(
        name: Option<&str>,
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
            .init(init);
        let seg = match name {
            None => builder.create_anonymous(),
            Some(n) => builder.persist(true).create(n),
        };
        match seg {
            Ok(seg) => Ok(Generation { seg, layout }),
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
        if (seg.payload().len() as u64) < layout.payload_len() {
            return Err(DictError::Shm(ShmError::Truncated {
                len: seg.payload().len() as u64,
                needed: layout.payload_len(),
            }));
        }
        Ok(Generation { seg, layout })
    }

    /// The table view; `current` is the root's generation word. The
    /// layout was validated and the payload length checked when this
    /// generation was made or attached.
    #[inline]
    pub(crate) fn table<'a>(&'a self, current: &'a AtomicU64) -> Table<'a> {
        Table::trusted(self.seg.payload(), self.layout, current)
    }
}
