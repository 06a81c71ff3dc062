//! The Markdown table: one section per scenario, one row per case, one
//! column per system, and the ratio of mproc's best to the best peer.

use std::fmt::Write as _;

use crate::report::format::{figure, ratio};
use crate::report::model::{Role, Row, Unit};

/// Renders `rows` as Markdown sections (`### scenario` + a table each),
/// with the notes that explain missing figures under each table.
pub(crate) fn render(rows: &[Row]) -> String {
    let mut out = String::new();
    let mut scenarios: Vec<&str> = Vec::new();
    for r in rows {
        if !scenarios.contains(&r.scenario.as_str()) {
            scenarios.push(&r.scenario);
        }
    }
    for scenario in scenarios {
        let section: Vec<&Row> = rows.iter().filter(|r| r.scenario == scenario).collect();
        render_section(&mut out, scenario, &section);
    }
    out
}

/// `median (fastest–slowest, n=count)`, or `median (n=1)`.
fn with_spread(median: f64, runs: &[f64], unit: Unit) -> String {
    let finite = runs.iter().copied().filter(|x| x.is_finite());
    let lo = finite.clone().fold(f64::INFINITY, f64::min);
    let hi = finite.clone().fold(f64::NEG_INFINITY, f64::max);
    let n = finite.count();
    if n < 2 {
        return format!("{} (n={n})", figure(median, unit));
    }
    format!(
        "{} ({}–{}, n={n})",
        figure(median, unit),
        figure(lo, unit),
        figure(hi, unit)
    )
}

fn render_section(out: &mut String, scenario: &str, rows: &[&Row]) {
    let mut systems: Vec<(String, Role)> = Vec::new();
    for r in rows {
        for c in &r.cells {
            if !systems.iter().any(|(s, _)| *s == c.system) {
                systems.push((c.system.clone(), c.role));
            }
        }
    }
    let _ = writeln!(out, "### {scenario}\n");
    let mut header = String::from("| case |");
    let mut rule = String::from("| --- |");
    for (s, _) in &systems {
        let _ = write!(header, " {s} |");
        rule.push_str(" ---: |");
    }
    header.push_str(" best mproc vs best peer |");
    rule.push_str(" --- |");
    let _ = writeln!(out, "{header}\n{rule}");
    let mut notes: Vec<String> = Vec::new();
    for r in rows {
        let mut line = format!("| {} |", r.case);
        for (s, _) in &systems {
            let cell = r.cells.iter().find(|c| c.system == *s);
            let text = match cell {
                Some(c) => match (c.value, &c.note) {
                    (Some(v), _) if r.spread => with_spread(v, &c.runs, r.unit),
                    (Some(v), _) => figure(v, r.unit),
                    (None, Some(why)) => {
                        let note = format!("{s}: {why}");
                        let idx = notes.iter().position(|n| *n == note).unwrap_or_else(|| {
                            notes.push(note);
                            notes.len() - 1
                        });
                        format!("— [{}]", idx + 1)
                    }
                    (None, None) => "—".to_string(),
                },
                None => String::new(),
            };
            let _ = write!(line, " {text} |");
        }
        let verdict = match r.speedup() {
            Some((mine, peer, x)) => {
                let mine = mine.strip_prefix("mproc ").unwrap_or(mine);
                format!("{} ({mine} vs {peer})", ratio(x))
            }
            None => "—".to_string(),
        };
        let _ = writeln!(out, "{line} {verdict} |");
    }
    out.push('\n');
    for (i, n) in notes.iter().enumerate() {
        let _ = writeln!(out, "[{}] {n}  ", i + 1);
    }
    if !notes.is_empty() {
        out.push('\n');
    }
}
