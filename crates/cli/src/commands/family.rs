//! Segments that go together. A dict is its root `NAME` and its table
//! generations `NAME.g0`, `NAME.g1`, ... (persistent: they must outlive
//! whichever process grew the table). A `Manager` is its registry `PREFIX`
//! and the objects it made, `PREFIX.name` (persistent: they belong to the
//! manager, not to the process that made them). Removing the one means
//! removing the others with it, as their own `Drop` does.

use crate::stats::dict_reader::{ROOT_ROLE, TABLE_ROLE};
use crate::{KindStats, SegmentReport};

/// The header's role parameter of a dict segment.
fn dict_role(r: &SegmentReport) -> Option<u64> {
    match (r.kind.as_deref(), &r.header) {
        (Some("dict"), Some(h)) => Some(h.params[0]),
        _ => None,
    }
}

/// Whether `r` is a dict's root segment.
fn is_dict_root(r: &SegmentReport) -> bool {
    dict_role(r) == Some(ROOT_ROLE)
}

/// The root name of a table generation `BASE.gN`.
pub(crate) fn table_base(r: &SegmentReport) -> Option<&str> {
    if dict_role(r) != Some(TABLE_ROLE) {
        return None;
    }
    let (base, generation) = r.name.rsplit_once(".g")?;
    (!generation.is_empty() && generation.bytes().all(|b| b.is_ascii_digit())).then_some(base)
}

/// Whether removing `r` takes other segments along.
pub(crate) fn has_members(r: &SegmentReport) -> bool {
    is_dict_root(r) || r.stats.as_ref().and_then(KindStats::as_manager).is_some()
}

/// The segments of `all` that go with `owner`, each with why.
pub(crate) fn members<'a>(
    owner: &'a SegmentReport,
    all: &'a [SegmentReport],
) -> Vec<(&'a SegmentReport, String)> {
    let tables = |root: &'a SegmentReport| {
        all.iter()
            .filter(move |t| is_dict_root(root) && table_base(t) == Some(root.name.as_str()))
            .map(move |t| (t, format!("table of dict {}", root.name)))
    };
    let mut out: Vec<(&SegmentReport, String)> = tables(owner).collect();
    if let Some(m) = owner.stats.as_ref().and_then(KindStats::as_manager) {
        for object in &m.objects {
            if let Some(r) = all.iter().find(|r| r.name == object.name) {
                out.push((r, format!("object of manager {}", owner.name)));
                out.extend(tables(r));
            }
        }
    }
    out
}
