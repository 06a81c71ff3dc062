//! Human units: byte sizes, rates, and durations given on the command line.

use std::time::Duration;

use crate::{CliError, Result};

/// A byte count for people: `512 B`, `4.1 KiB`, `16.0 MiB`.
///
/// # Examples
///
/// ```
/// use mproc_cli::human_bytes;
///
/// assert_eq!(human_bytes(512), "512 B");
/// assert_eq!(human_bytes(4224), "4.1 KiB");
/// assert_eq!(human_bytes(16 << 20), "16.0 MiB");
/// ```
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A rate for people: `0/s`, `950/s`, `12.3k/s`, `4.50M/s`.
///
/// # Examples
///
/// ```
/// use mproc_cli::human_rate;
///
/// assert_eq!(human_rate(0.0), "0/s");
/// assert_eq!(human_rate(950.4), "950/s");
/// assert_eq!(human_rate(12_345.0), "12.3k/s");
/// assert_eq!(human_rate(4_500_000.0), "4.50M/s");
/// ```
pub fn human_rate(per_second: f64) -> String {
    if per_second >= 1e6 {
        format!("{:.2}M/s", per_second / 1e6)
    } else if per_second >= 1e4 {
        format!("{:.1}k/s", per_second / 1e3)
    } else {
        format!("{per_second:.0}/s")
    }
}

/// Parses a duration: `250ms`, `2s`, `1m`, or plain seconds (`0.5`).
///
/// # Errors
///
/// [`CliError::InvalidDuration`] for an empty, negative, non-numeric or
/// zero duration, or one longer than a day.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mproc_cli::parse_duration;
///
/// assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
/// assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
/// assert_eq!(parse_duration("0.5").unwrap(), Duration::from_millis(500));
/// assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
/// assert!(parse_duration("0").is_err());
/// assert!(parse_duration("1e-10").is_err()); // rounds to zero
/// assert!(parse_duration("soon").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration> {
    let invalid = |reason| CliError::InvalidDuration {
        value: text.to_owned(),
        reason,
    };
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (t, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| invalid("expected a number with an optional unit ms, s, m or h"))?;
    let seconds = value * scale;
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(invalid("must be greater than zero"));
    }
    if seconds > 86_400.0 {
        return Err(invalid("must be at most a day"));
    }
    // Rounded to nanoseconds: what rounds to nothing is zero too.
    let duration = Duration::from_secs_f64(seconds);
    if duration.is_zero() {
        return Err(invalid("must be greater than zero"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_at_unit_boundaries() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(u64::MAX), "16384.0 PiB");
    }

    #[test]
    fn durations_refused_with_reasons() {
        for bad in ["", "-1", "nan", "inf", "0ms", "2d", "100000"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration(" 10ms ").unwrap(), Duration::from_millis(10));
    }
}
