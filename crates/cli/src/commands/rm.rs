//! `mproc rm NAME...`: remove segments by name.

use mproc_shm::{Segment, ShmError};

use crate::{CliError, Result, SegmentReport, Streams};

/// Removes each named segment (or says it would, with `dry_run`).
///
/// A name that cannot be removed is reported on the error stream and the
/// others are still removed; the command then fails with
/// [`CliError::PartlyRemoved`].
pub(crate) fn run(io: &mut Streams<'_>, names: &[String], dry_run: bool) -> Result<()> {
    let mut failed = 0;
    for name in names {
        match remove(name, dry_run) {
            Ok(report) => {
                let verb = if dry_run { "would remove" } else { "removed" };
                writeln!(io.out, "{verb} {name}{}", note(&report))?;
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
    let report = SegmentReport::new(&mproc_shm::inspect(name)?);
    if !dry_run {
        Segment::unlink(name)?;
    }
    Ok(report)
}

/// A warning when the creator still runs: it keeps its mapping, and may
/// expect others to open the name.
fn note(report: &SegmentReport) -> String {
    match report.creator {
        Some(c) if c.alive => format!(" (its creator, pid {}, is still running)", c.pid),
        _ => String::new(),
    }
}
