//! Charts as one SVG: ping-pong latency percentiles per system, and
//! throughput versus message size per system (copied and loaned), log scales.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use crate::report::model::{Row, Unit};
use crate::scenarios::throughput::SIZES;

const PERCENTILE_LABELS: [&str; 3] = ["p50", "p99", "p99.9"];

/// Distinct line colors (Tableau 10), in legend order.
const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One line of a chart: a system and its (x, y) points.
type Series = (String, Vec<(f64, f64)>);

/// Per-system latency points: x = percentile index, y = nanoseconds.
fn latency_series(rows: &[Row]) -> Vec<Series> {
    let mut series: Vec<Series> = Vec::new();
    for r in rows.iter().filter(|r| r.scenario == "ping-pong") {
        let Some(x) = PERCENTILE_LABELS
            .iter()
            .position(|p| r.case.ends_with(&format!(" {p}")))
        else {
            continue;
        };
        for c in &r.cells {
            if let Some(v) = c.value {
                push(&mut series, &c.system, (x as f64, v));
            }
        }
    }
    series
}

/// Per-system throughput points against message size: bytes/s, or
/// messages/s when `bytes` is false.
fn throughput_series(rows: &[Row], scenario: &str, bytes: bool) -> Vec<Series> {
    let mut series: Vec<Series> = Vec::new();
    for r in rows.iter().filter(|r| r.scenario == scenario) {
        let Some(size) = r.size else { continue };
        for c in &r.cells {
            if let Some(v) = c.value {
                let y = match (bytes, r.unit == Unit::BytesPerSecond) {
                    (true, true) | (false, false) => v,
                    (true, false) => v * size as f64,
                    (false, true) => v / size as f64,
                };
                let Some(x) = SIZES.iter().position(|s| *s == size) else {
                    continue;
                };
                push(&mut series, &c.system, (x as f64, y));
            }
        }
    }
    series
}

fn push(series: &mut Vec<Series>, system: &str, point: (f64, f64)) {
    match series.iter_mut().find(|(s, _)| s == system) {
        Some((_, pts)) => pts.push(point),
        None => series.push((system.to_string(), vec![point])),
    }
}

fn y_range(series: &[Series]) -> (f64, f64) {
    let ys = series.iter().flat_map(|(_, p)| p.iter().map(|(_, y)| *y));
    let (lo, hi) = ys.fold((f64::MAX, 0.0f64), |(lo, hi), y| (lo.min(y), hi.max(y)));
    if hi <= 0.0 {
        (1.0, 10.0)
    } else {
        (lo.max(1e-3) / 2.0, hi * 2.0)
    }
}

/// A throughput axis tick: the log scale puts ticks at powers of ten, so
/// bytes are labelled in decimal units there (`10 MB/s`, not the
/// `9.54 MiB/s` the table's binary units would give).
pub(crate) fn axis_label(y: f64, unit: Unit) -> String {
    match unit {
        Unit::BytesPerSecond => {
            crate::report::format::figure(y, Unit::PerSecond).replace("/s", "B/s")
        }
        other => crate::report::format::figure(y, other),
    }
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("chart: {e}")
}

/// Writes the charts to `path` (SVG).
///
/// # Errors
///
/// When the file cannot be written.
pub(crate) fn write(path: &Path, rows: &[Row], subtitle: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let root = SVGBackend::new(path, (1100, 1500)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root
        .titled(&format!("mproc-bench — {subtitle}"), ("sans-serif", 16))
        .map_err(err)?;
    let panels = root.split_evenly((3, 1));

    let lat = latency_series(rows);
    let (lo, hi) = y_range(&lat);
    let mut chart = ChartBuilder::on(&panels[0])
        .caption(
            "ping-pong round trip, 8 B, between two processes (lower is better)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.2f64..2.2f64, (lo..hi).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_labels(3)
        .x_label_formatter(&|x| {
            PERCENTILE_LABELS
                .get(x.round() as usize)
                .copied()
                .unwrap_or("")
                .to_string()
        })
        .y_desc("round trip")
        .y_label_formatter(&|y| crate::report::format::figure(*y, Unit::Nanos))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(err)?;
    draw_series(&mut chart, &lat)?;

    let panel_specs = [("throughput-copied", true), ("throughput-loaned", false)];
    for (panel, (scenario, bytes)) in panels[1..].iter().zip(panel_specs) {
        let series = throughput_series(rows, scenario, bytes);
        let unit = if bytes {
            Unit::BytesPerSecond
        } else {
            Unit::PerSecond
        };
        let what = if bytes { "bytes/s" } else { "messages/s" };
        let (lo, hi) = y_range(&series);
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!("{scenario}: {what} by message size (higher is better)"),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.3f64..(SIZES.len() as f64 - 0.7), (lo..hi).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("message size")
            .y_desc(what)
            .y_label_formatter(&|y| axis_label(*y, unit))
            .x_labels(SIZES.len())
            .light_line_style(TRANSPARENT)
            .x_label_formatter(&|x| {
                let i = x.round();
                match SIZES.get(i as usize) {
                    Some(s) if (x - i).abs() < 0.05 => crate::report::format::size_label(*s),
                    _ => String::new(),
                }
            })
            .draw()
            .map_err(err)?;
        draw_series(&mut chart, &series)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

fn draw_series<'a, 'b: 'a, X, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, Y>>,
    series: &[Series],
) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for (i, (name, points)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()].to_rgba();
        let width = if name.starts_with("mproc") { 3 } else { 2 };
        let style = ShapeStyle::from(color).stroke_width(width);
        chart
            .draw_series(LineSeries::new(points.iter().copied(), style))
            .map_err(err)?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)?;
    Ok(())
}
