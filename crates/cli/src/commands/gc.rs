//! `mproc gc`: remove the segments whose creators are dead and that were
//! not made persistent, with what goes with them (a dict's tables, a
//! manager's objects), dict tables left without their root, and segments
//! whose header was never written, once they are old enough.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::family::{mapped_anonymous_dicts, members, table_base, table_orphaned, table_owner};
use crate::{CliError, Result, SegmentReport, Status, Streams};

/// What `gc` removes.
pub(crate) struct GcOptions<'a> {
    /// Only segments whose names start with this.
    pub(crate) prefix: Option<&'a str>,
    /// Say what would be removed, remove nothing.
    pub(crate) dry_run: bool,
    /// The age after which a segment whose header was never written is
    /// taken as abandoned.
    pub(crate) unwritten_after: Duration,
}

/// Removes every stale segment the options select (or says it would).
///
/// Segments that cannot be parsed, or that are persistent and belong to
/// no stale dict or manager, are left alone: `mproc rm` removes them by
/// name.
pub(crate) fn run(io: &mut Streams<'_>, opts: &GcOptions<'_>) -> Result<()> {
    let dry_run = opts.dry_run;
    let all = super::reports(None)?;
    let plan = plan(&all, opts);
    let mut removed = 0;
    let mut failed = 0;
    for (name, why) in &plan {
        if dry_run {
            writeln!(io.out, "would remove {name} ({why})")?;
            removed += 1;
            continue;
        }
        if !still_as_planned(&all, name) {
            continue;
        }
        match mproc_shm::Segment::unlink(name) {
            Ok(()) => {
                writeln!(io.out, "removed {name} ({why})")?;
                removed += 1;
            }
            // Someone else removed it meanwhile: it is gone, as wanted.
            Err(mproc_shm::ShmError::NotFound { .. }) => {}
            Err(e) => {
                failed += 1;
                writeln!(io.err, "mproc: cannot remove {name}: {e}")?;
            }
        }
    }
    let what = match (removed, dry_run) {
        (0, _) => "no stale segments".to_owned(),
        (1, true) => "1 stale segment would be removed".to_owned(),
        (n, true) => format!("{n} stale segments would be removed"),
        (1, false) => "1 stale segment removed".to_owned(),
        (n, false) => format!("{n} stale segments removed"),
    };
    writeln!(io.out, "{what}")?;
    if failed > 0 {
        return Err(CliError::PartlyRemoved {
            failed,
            total: plan.len(),
        });
    }
    Ok(())
}

/// Whether segment `name` is, looked at again just before its unlink, the
/// one the plan was made from (`all`): made by the same process (or still
/// by none). A listing may be long past, and a live process may have
/// made the name anew meanwhile (a restart's unlink and create); what is
/// left is a window of a few system calls. A segment gone or unreadable
/// since is left alone.
fn still_as_planned(all: &[SegmentReport], name: &str) -> bool {
    let planned = all.iter().find(|r| r.name == name).and_then(|r| r.creator);
    let Ok(now) = super::report(name) else {
        return false;
    };
    match (planned, now.creator) {
        (Some(then), Some(now)) => then.pid == now.pid && then.start_time == now.start_time,
        (None, None) => true,
        _ => false,
    }
}

/// Why `gc` (with its default options) would remove the segment `name` of
/// `all`, if it would: `inspect`'s "stale" answer, which also covers what
/// goes with a stale dict or manager though it is persistent itself.
pub(crate) fn why_stale(all: &[SegmentReport], name: &str) -> Option<String> {
    let opts = GcOptions {
        prefix: None,
        dry_run: true,
        unwritten_after: DEFAULT_UNWRITTEN_AFTER,
    };
    plan(all, &opts)
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, why)| why)
}

/// `gc --unwritten-after`'s default.
pub(crate) const DEFAULT_UNWRITTEN_AFTER: Duration = Duration::from_secs(60);

/// What to remove, and why, among the segments of `all` that `opts`
/// selects.
fn plan<'a>(all: &'a [SegmentReport], opts: &GcOptions<'_>) -> Vec<(&'a str, String)> {
    let prefix = opts.prefix;
    let names: HashSet<&str> = all.iter().map(|r| r.name.as_str()).collect();
    let mapped = mapped_anonymous_dicts();
    let mut plan: Vec<(&str, String)> = Vec::new();
    let dead = |r: &SegmentReport| r.creator.filter(|c| !c.alive).map(|c| c.pid);
    for r in all
        .iter()
        .filter(|r| prefix.is_none_or(|p| r.name.starts_with(p)))
    {
        if let (true, Some(pid)) = (r.is_stale(), dead(r)) {
            plan.push((&r.name, format!("creator pid {pid} is dead")));
            for (member, why) in members(r, all) {
                plan.push((&member.name, why));
            }
        } else if let (Some(base), Some(pid)) = (table_base(r), dead(r))
            && table_orphaned(base, &names, &mapped)
        {
            plan.push((
                &r.name,
                format!(
                    "table of dict {}, which is gone; creator pid {pid} is dead",
                    table_owner(base)
                ),
            ));
        } else if let Some(age) = unwritten_age(r)
            && age >= opts.unwritten_after
        {
            plan.push((
                &r.name,
                format!("header never written, {} s old", age.as_secs()),
            ));
        }
    }
    let mut seen = HashSet::new();
    plan.retain(|(name, _)| seen.insert(*name));
    plan
}

/// How long ago a segment whose header was never written (empty, or all
/// zeros) was last changed; `None` for any other segment.
fn unwritten_age(r: &SegmentReport) -> Option<Duration> {
    // A creator killed before sizing the file leaves it empty; killed
    // after, leaves it all zeros (`Unset`).
    let unwritten = r.status == Status::Unset || (r.status == Status::Unreadable && r.size == 0);
    if !unwritten {
        return None;
    }
    let file = Path::new(mproc_sys::SHM_DIR).join(format!("{}{}", mproc_shm::NAME_PREFIX, r.name));
    let modified = std::fs::metadata(file).and_then(|m| m.modified()).ok()?;
    SystemTime::now().duration_since(modified).ok()
}
