//! `mproc gc`: remove the segments whose creators are dead and that were
//! not made persistent.

use crate::{CliError, Result, SegmentReport, Streams};

/// Removes every stale segment whose name starts with `prefix` (or says
/// it would, with `dry_run`).
///
/// Segments that cannot be parsed, whose creator is unknown, or that are
/// persistent are left alone: `mproc rm` removes them by name.
pub(crate) fn run(io: &mut Streams<'_>, prefix: Option<&str>, dry_run: bool) -> Result<()> {
    let stale: Vec<SegmentReport> = super::reports(prefix)?
        .into_iter()
        .filter(SegmentReport::is_stale)
        .collect();
    let mut removed = 0;
    let mut failed = 0;
    for r in &stale {
        let why = r
            .creator
            .map_or_else(String::new, |c| format!(" (creator pid {} is dead)", c.pid));
        if dry_run {
            writeln!(io.out, "would remove {}{why}", r.name)?;
            removed += 1;
            continue;
        }
        match mproc_shm::Segment::unlink(&r.name) {
            Ok(()) => {
                writeln!(io.out, "removed {}{why}", r.name)?;
                removed += 1;
            }
            // Someone else removed it meanwhile: it is gone, as wanted.
            Err(mproc_shm::ShmError::NotFound { .. }) => {}
            Err(e) => {
                failed += 1;
                writeln!(io.err, "mproc: cannot remove {}: {e}", r.name)?;
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
            total: stale.len(),
        });
    }
    Ok(())
}
