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
    for name in names {
        match remove(name, dry_run) {
            Ok(report) => {
                writeln!(io.out, "{verb} {name}{}", note(&report))?;
                if has_members(&report) {
                    failed += remove_members(io, &report, dry_run, verb)?;
                }
            }
            Err(e) => {
                failed += 1;
                writeln!(io.err, "mproc: {e}")?;
            }
        }
    }
    if failed > 0 {
        return Err(CliError::PartlyRemoved {
            failed,
            total: names.len(),
        });
    }
    Ok(())
}

/// Checks that `name` exists, then unlinks it unless `dry_run`.
fn remove(name: &str, dry_run: bool) -> Result<SegmentReport, ShmError> {
    let report = super::report(name)?;
    if !dry_run {
        Segment::unlink(name)?;
    }
    Ok(report)
}

/// Removes what goes with `owner`; returns how many removals failed.
fn remove_members(
    io: &mut Streams<'_>,
    owner: &SegmentReport,
    dry_run: bool,
    verb: &str,
) -> Result<usize> {
    let all = super::reports(None)?;
    let mut failed = 0;
    for (member, why) in members(owner, &all) {
        match if dry_run {
            Ok(())
        } else {
            Segment::unlink(&member.name)
        } {
            Ok(()) | Err(ShmError::NotFound { .. }) => {
                writeln!(io.out, "{verb} {} ({why})", member.name)?;
            }
            Err(e) => {
                failed += 1;
                writeln!(io.err, "mproc: cannot remove {}: {e}", member.name)?;
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
