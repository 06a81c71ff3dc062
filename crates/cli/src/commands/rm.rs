//! `mproc rm NAME...`: remove segments by name (a dict with its tables, a
//! manager with its objects).

use mproc_shm::{Segment, ShmError};

use super::family::{has_members, members};
use crate::{CliError, Result, SegmentReport, Streams};

/// Removes each named segment (or says it would, with `dry_run`).
///
/// A name that cannot be removed is reported on the error stream and the
/// others are still removed; the command then fails with
/// [`CliError::PartlyRemoved`].
pub(crate) fn run(io: &mut Streams<'_>, names: &[String], dry_run: bool) -> Result<()> {
    let verb = if dry_run { "would remove" } else { "removed" };
    let mut failed = 0;
    let mut total = names.len();
    for name in names {
        let report = match super::report(name) {
            Ok(report) => report,
            Err(e) => {
                failed += 1;
                writeln!(io.err, "mproc: {e}")?;
                continue;
            }
        };
        // What goes with it is found first: a dict's root names the base
        // of its tables, and cannot be read once removed.
        let with = if has_members(&report) {
            let all = super::reports(None)?;
            members(&report, &all)
                .into_iter()
                .map(|(m, why)| (m.name.clone(), why))
                .collect()
        } else {
            Vec::new()
        };
        // The name the report resolved (`mproc.NAME` given for `NAME`).
        let name = &report.name;
        if let Err(e) = remove(name, dry_run) {
            failed += 1;
            writeln!(io.err, "mproc: {e}")?;
            continue;
        }
        writeln!(io.out, "{verb} {name}{}", note(&report))?;
        // Its members count among the segments to remove.
        total += with.len();
        failed += remove_members(io, &with, dry_run, verb)?;
    }
    if failed > 0 {
        return Err(CliError::PartlyRemoved { failed, total });
    }
    Ok(())
}

/// Unlinks `name` unless `dry_run`.
fn remove(name: &str, dry_run: bool) -> Result<(), ShmError> {
    if !dry_run {
        Segment::unlink(name)?;
    }
    Ok(())
}

/// Removes the members found with their owner (name, why); returns how
/// many removals failed.
fn remove_members(
    io: &mut Streams<'_>,
    with: &[(String, String)],
    dry_run: bool,
    verb: &str,
) -> Result<usize> {
    let mut failed = 0;
    for (member, why) in with {
        match remove(member, dry_run) {
            Ok(()) | Err(ShmError::NotFound { .. }) => {
                writeln!(io.out, "{verb} {member} ({why})")?;
            }
            Err(e) => {
                failed += 1;
                writeln!(io.err, "mproc: cannot remove {member}: {e}")?;
            }
        }
    }
    Ok(failed)
}

/// A warning when the creator still runs: it keeps its mapping, and may
/// expect others to open the name.
fn note(report: &SegmentReport) -> String {
    match report.creator {
        Some(c) if c.alive => format!(" (its creator, pid {}, is still running)", c.pid),
        _ => String::new(),
    }
}
