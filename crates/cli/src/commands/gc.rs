//! `mproc gc`: remove the segments whose creators are dead and that were
//! not made persistent, with what goes with them (a dict's tables, a
//! manager's objects), and dict tables left without their root.

use std::collections::HashSet;

use super::family::{members, table_base};
use crate::{CliError, Result, SegmentReport, Streams};

/// Removes every stale segment whose name starts with `prefix` (or says
/// it would, with `dry_run`).
///
/// Segments that cannot be parsed, whose creator is unknown, or that are
/// persistent are left alone: `mproc rm` removes them by name.
pub(crate) fn run(io: &mut Streams<'_>, prefix: Option<&str>, dry_run: bool) -> Result<()> {
    let all = super::reports(None)?;
    let plan = plan(&all, prefix);
    let mut removed = 0;
    let mut failed = 0;
    for (name, why) in &plan {
        if dry_run {
            writeln!(io.out, "would remove {name} ({why})")?;
            removed += 1;
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

/// What to remove, and why, among the segments of `all` whose names start
/// with `prefix`.
fn plan<'a>(all: &'a [SegmentReport], prefix: Option<&str>) -> Vec<(&'a str, String)> {
    let names: HashSet<&str> = all.iter().map(|r| r.name.as_str()).collect();
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
            && !names.contains(base)
        {
            plan.push((
                &r.name,
                format!("table of dict {base}, which is gone; creator pid {pid} is dead"),
            ));
        }
    }
    let mut seen = HashSet::new();
    plan.retain(|(name, _)| seen.insert(*name));
    plan
}
