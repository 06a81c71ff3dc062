//! Human-readable figures: sizes, durations, rates.

use crate::report::model::Unit;

/// `8 B`, `64 KiB`, `1 MiB`.
pub(crate) fn size_label(size: usize) -> String {
    match size {
        s if s >= 1 << 20 && s % (1 << 20) == 0 => format!("{} MiB", s >> 20),
        s if s >= 1 << 10 && s % (1 << 10) == 0 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    }
}

/// A figure with its unit, three significant digits: `182 ns`, `4.21 µs`,
/// `12.3 M/s`, `6.02 GiB/s`.
pub(crate) fn figure(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Nanos => scaled(value, &[(1e9, "s"), (1e6, "ms"), (1e3, "µs"), (1.0, "ns")]),
        Unit::PerSecond => scaled(
            value,
            &[(1e9, "G/s"), (1e6, "M/s"), (1e3, "k/s"), (1.0, "/s")],
        ),
        Unit::BytesPerSecond => scaled(
            value,
            &[
                (1024.0 * 1024.0 * 1024.0, "GiB/s"),
                (1024.0 * 1024.0, "MiB/s"),
                (1024.0, "KiB/s"),
                (1.0, "B/s"),
            ],
        ),
    }
}

fn scaled(value: f64, steps: &[(f64, &str)]) -> String {
    for (scale, suffix) in steps {
        if value >= *scale {
            return format!("{} {suffix}", three_digits(value / scale));
        }
    }
    let (_, suffix) = steps[steps.len() - 1];
    format!("{} {suffix}", three_digits(value))
}

fn three_digits(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// A ratio: `12.3×`, `0.52×`.
pub(crate) fn ratio(r: f64) -> String {
    format!("{}×", three_digits(r))
}
