//! `mproc ls`: every segment, one line each.

use crate::stats::yes_no;
use crate::{Result, SegmentReport, Streams, Table, human_bytes};

/// Lists the segments whose names start with `prefix`, as a table or JSON.
pub(crate) fn run(io: &mut Streams<'_>, prefix: Option<&str>, json: bool) -> Result<()> {
    let reports = super::reports(prefix)?;
    if json {
        serde_json::to_writer_pretty(&mut *io.out, &reports)?;
        writeln!(io.out)?;
        return Ok(());
    }
    if reports.is_empty() {
        match prefix {
            Some(p) => writeln!(io.out, "no mproc segments whose names start with `{p}`")?,
            None => writeln!(io.out, "no mproc segments")?,
        }
        return Ok(());
    }
    table(&reports).write(io.out)?;
    Ok(())
}

/// The `ls` table of `reports`.
fn table(reports: &[SegmentReport]) -> Table {
    let mut t = Table::new(&[
        "NAME", "KIND", "SIZE", "CREATOR", "ALIVE", "PERSIST", "DETAILS",
    ])
    .right_aligned(2)
    .right_aligned(3);
    for r in reports {
        t.push(vec![
            r.name.clone(),
            r.kind.clone().unwrap_or_else(|| "?".to_owned()),
            human_bytes(r.size),
            r.creator
                .map_or_else(|| "-".to_owned(), |c| c.pid.to_string()),
            r.creator.map_or("-", |c| yes_no(c.alive)).to_owned(),
            yes_no(r.persistent).to_owned(),
            r.details(),
        ]);
    }
    t
}
