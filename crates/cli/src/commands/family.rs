//! Segments that go together. A dict is its root `NAME` and its table
//! generations `BASE.g0`, `BASE.g1`, ... where the root records `BASE`:
//! `NAME.iXXXXXXXX`, the name and a tag of that dict (or `NAME` alone for
//! dicts made before tags). The tables are persistent: they must outlive
//! whichever process grew the table. A `Manager` is its registry `PREFIX`
//! and the objects it made, `PREFIX.name` (persistent: they belong to the
//! manager, not to the process that made them). Removing the one means
//! removing the others with it, as their own `Drop` does.

use std::collections::HashSet;

use crate::stats::dict_reader::{ROOT_ROLE, TABLE_ROLE, root_base};
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

/// The root name a table base belongs to: the base without its dict tag
/// (`.i` and 8 hex digits), or the base itself.
pub(crate) fn table_owner(base: &str) -> &str {
    match base.rsplit_once(".i") {
        Some((owner, tag)) if tag.len() == 8 && tag.bytes().all(|b| b.is_ascii_hexdigit()) => owner,
        _ => base,
    }
}

/// The base of the tables of dict root `root`: what the root records, or
/// its name if the root does not read.
fn dict_base(root: &SegmentReport) -> String {
    root_base(&root.name).unwrap_or_else(|| root.name.clone())
}

/// Whether a table of base `base` has lost its dict: no root of that
/// name, or a root of another dict made since under the name. An
/// anonymous dict has no root name: its tables are in use while some
/// process maps its root (`mapped`, from [`mapped_anonymous_dicts`]).
pub(crate) fn table_orphaned(base: &str, names: &HashSet<&str>, mapped: &HashSet<String>) -> bool {
    let owner = table_owner(base);
    if names.contains(owner) {
        return root_base(owner).is_some_and(|b| b != base);
    }
    // No root of that name: an anonymous dict's (whose base a named dict
    // could share only by taking such a name), or a named dict's, gone.
    !(owner.starts_with(ANONYMOUS_DICT_PREFIX) && mapped.contains(owner))
}

/// How the base of an anonymous dict begins (`mproc-dict.PID.NANOS.N`).
const ANONYMOUS_DICT_PREFIX: &str = "mproc-dict.";

/// The bases of the anonymous dicts that some process maps: their roots
/// are `memfd`s labelled with the base, which `/proc/PID/maps` shows as
/// `/memfd:BASE (deleted)`. Processes whose maps this one may not read
/// (another user's, without privileges) are not seen.
pub(crate) fn mapped_anonymous_dicts() -> HashSet<String> {
    let mut out = HashSet::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let is_pid = entry
            .file_name()
            .to_str()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !is_pid {
            continue;
        }
        let Ok(maps) = std::fs::read_to_string(entry.path().join("maps")) else {
            continue;
        };
        for line in maps.lines() {
            if let Some((_, label)) = line.split_once("/memfd:")
                && label.starts_with(ANONYMOUS_DICT_PREFIX)
            {
                out.insert(label.trim_end_matches(" (deleted)").to_owned());
            }
        }
    }
    out
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
        let base = is_dict_root(root).then(|| dict_base(root));
        all.iter()
            .filter(move |t| base.is_some() && table_base(t) == base.as_deref())
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

#[cfg(test)]
mod tests {
    use super::table_owner;

    #[test]
    fn a_tagged_base_belongs_to_the_name_before_its_tag() {
        assert_eq!(table_owner("app.prices.i0a1b2c3d"), "app.prices");
        // Dicts made before tags: the base is the name.
        assert_eq!(table_owner("app.prices"), "app.prices");
        // Not a tag: wrong length or not hex.
        assert_eq!(table_owner("app.i0a1b2c3"), "app.i0a1b2c3");
        assert_eq!(table_owner("app.izzzzzzzz"), "app.izzzzzzzz");
    }
}
