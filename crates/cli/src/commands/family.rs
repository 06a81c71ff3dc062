//! A dict is a family of segments: its root `NAME` and its table
//! generations `NAME.g0`, `NAME.g1`, ... The tables are persistent (they
//! must outlive whichever process grew them), so removing a dict means
//! removing the root and every table with it.

use crate::SegmentReport;
use crate::stats::dict_reader::{ROOT_ROLE, TABLE_ROLE};

/// The header's role parameter of a dict segment.
fn dict_role(r: &SegmentReport) -> Option<u64> {
    match (r.kind.as_deref(), &r.header) {
        (Some("dict"), Some(h)) => Some(h.params[0]),
        _ => None,
    }
}

/// Whether `r` is a dict's root segment.
pub(crate) fn is_root(r: &SegmentReport) -> bool {
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

/// The table generations of the dict `root` among `all`.
pub(crate) fn tables_of<'a>(
    root: &'a str,
    all: &'a [SegmentReport],
) -> impl Iterator<Item = &'a SegmentReport> + 'a {
    all.iter().filter(move |r| table_base(r) == Some(root))
}
