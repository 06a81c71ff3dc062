//! Round-trip latency: warm-up, then per-repeat HDR histograms, reported as
//! the median over repeats of each percentile.

use std::time::Instant;

use anyhow::{Context, Result};
use hdrhistogram::Histogram;

use crate::report::model::Runs;

/// The percentiles reported for every latency scenario: key and quantile.
pub(crate) const PERCENTILES: [(&str, f64); 3] = [("p50", 0.50), ("p99", 0.99), ("p99.9", 0.999)];

/// Per-percentile runs, in the order of [`PERCENTILES`].
pub(crate) type Figures = Vec<(String, Runs)>;

/// Times `rounds` round trips per repeat, after `rounds` warm-up round trips.
/// `round_trip(i)` does one round trip carrying sequence number `i`
/// (distinct over the whole measurement, starting at 1).
///
/// # Errors
///
/// The first error of `round_trip`.
pub(crate) fn measure_round_trips(
    rounds: usize,
    repeats: usize,
    mut round_trip: impl FnMut(u64) -> Result<()>,
) -> Result<Figures> {
    let mut seq = 0u64;
    for _ in 0..rounds {
        seq += 1;
        round_trip(seq)?;
    }
    let mut per_pct: Vec<Vec<f64>> = vec![Vec::new(); PERCENTILES.len()];
    for _ in 0..repeats {
        let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)
            .context("creating a histogram")?;
        for _ in 0..rounds {
            seq += 1;
            let t0 = Instant::now();
            round_trip(seq)?;
            let ns = t0.elapsed().as_nanos() as u64;
            hist.saturating_record(ns.max(1));
        }
        for (i, (_, q)) in PERCENTILES.iter().enumerate() {
            per_pct[i].push(hist.value_at_quantile(*q) as f64);
        }
    }
    Ok(PERCENTILES
        .iter()
        .zip(per_pct)
        .map(|((k, _), v)| (k.to_string(), Runs(v)))
        .collect())
}

/// The same figures from runs measured elsewhere (a Python script).
pub(crate) fn from_lists(p50: Vec<f64>, p99: Vec<f64>, p999: Vec<f64>) -> Figures {
    vec![
        ("p50".to_string(), Runs(p50)),
        ("p99".to_string(), Runs(p99)),
        ("p99.9".to_string(), Runs(p999)),
    ]
}
