//! `mproc inspect NAME`: the header and every statistic of one segment.

use crate::stats::yes_no;
use crate::{Result, SegmentReport, Streams, human_bytes};

/// Reports one segment, as labelled lines or JSON.
pub(crate) fn run(io: &mut Streams<'_>, name: &str, json: bool) -> Result<()> {
    let report = super::report(name)?;
    if json {
        serde_json::to_writer_pretty(&mut *io.out, &report)?;
        writeln!(io.out)?;
        return Ok(());
    }
    // Stale as `gc` judges it: with what goes with a stale dict or manager.
    let why = super::reports(None)
        .ok()
        .and_then(|all| super::gc::why_stale(&all, &report.name));
    for (label, value) in lines(&report, why) {
        writeln!(io.out, "{label:<13}{value}")?;
    }
    if let Some(stats) = &report.stats {
        writeln!(io.out, "statistics:")?;
        let fields = stats.fields();
        // Aligned, with at least one space after the longest label.
        let width = fields
            .iter()
            .map(|(label, _)| label.len() + 2)
            .max()
            .unwrap_or(0)
            .max(13);
        for (label, value) in fields {
            writeln!(io.out, "  {:<width$}{value}", format!("{label}:"))?;
        }
    }
    Ok(())
}

/// The header lines of `inspect`.
fn lines(r: &SegmentReport, stale: Option<String>) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("name:", r.name.clone()),
        ("kind:", r.kind.clone().unwrap_or_else(|| "?".to_owned())),
        ("status:", r.status.as_str().to_owned()),
    ];
    if let Some(why) = &r.reason {
        v.push(("reason:", why.clone()));
    }
    v.push((
        "size:",
        format!("{} bytes ({})", r.size, human_bytes(r.size)),
    ));
    if let Some(h) = &r.header {
        v.push(("version:", h.version.to_string()));
        v.push(("kind code:", h.kind_code.to_string()));
        v.push(("params:", format!("{:?}", h.params)));
    }
    v.push((
        "creator:",
        r.creator.map_or_else(
            || "unknown".to_owned(),
            |c| {
                let state = if c.alive { "running" } else { "dead" };
                format!("pid {} ({state}, started at tick {})", c.pid, c.start_time)
            },
        ),
    ));
    v.push(("persistent:", yes_no(r.persistent).to_owned()));
    v.push((
        "stale:",
        match stale {
            Some(why) => format!("yes ({why})"),
            None => "no".to_owned(),
        },
    ));
    v
}
