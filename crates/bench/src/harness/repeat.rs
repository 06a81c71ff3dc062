//! Repeats of a measurement within a time budget: a case whose repeats
//! turn slow (two lock users placed on one core hand over about once per
//! scheduler tick) stops repeating instead of holding up the run.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::report::model::Runs;

/// How many times a case is measured after its warm-up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Repeats {
    /// Measured repeats wanted.
    pub(crate) count: usize,
    /// Time after which no further repeat starts (there is always one).
    pub(crate) budget: Duration,
}

impl Repeats {
    /// Runs `once` to warm up, then up to [`count`](Repeats::count) more
    /// times while less than the budget has passed since the warm-up began
    /// (but at least once); the figure of each measured repeat.
    ///
    /// # Errors
    ///
    /// The first error of `once`.
    pub(crate) fn run(self, mut once: impl FnMut() -> Result<f64>) -> Result<Runs> {
        let start = Instant::now();
        once()?;
        let mut runs = Vec::with_capacity(self.count);
        while runs.len() < self.count && (runs.is_empty() || start.elapsed() < self.budget) {
            runs.push(once()?);
        }
        Ok(Runs(runs))
    }
}
