//! Rows of figures: one row per scenario case, one cell per system.

use serde::Serialize;

/// What a figure counts, and which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Unit {
    /// Nanoseconds per operation or round trip: lower is better.
    Nanos,
    /// Messages or operations per second: higher is better.
    PerSecond,
    /// Bytes per second: higher is better.
    BytesPerSecond,
}

impl Unit {
    /// Whether a larger figure is better.
    pub(crate) fn higher_is_better(self) -> bool {
        !matches!(self, Unit::Nanos)
    }
}

/// The part a system plays in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Role {
    /// One of mproc's own implementations.
    Mproc,
    /// Another IPC system a user could pick instead.
    Peer,
    /// A lower bound on cost no IPC system can beat (raw atomics, memcpy).
    Floor,
    /// An in-process bound (two threads, no process boundary).
    Ceiling,
}

/// One system's result in a row: a figure, or why there is none.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Cell {
    /// The system, e.g. `mproc SPSC`, `iceoryx2`, `Python Pipe`.
    pub(crate) system: String,
    /// Its part in the row.
    pub(crate) role: Role,
    /// The median over repeats, or `None` with `note` saying why.
    pub(crate) value: Option<f64>,
    /// Each repeat's figure, in run order.
    pub(crate) runs: Vec<f64>,
    /// Why there is no figure, or how it was taken when that matters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
}

/// One case of a scenario (a size, a percentile, an operation) across systems.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    /// The scenario's name, e.g. `ping-pong`.
    pub(crate) scenario: String,
    /// The case within it, e.g. `8 B p99` or `get`.
    pub(crate) case: String,
    /// Message size in bytes, when the case has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) size: Option<usize>,
    /// What the figures count.
    pub(crate) unit: Unit,
    /// Whether the table shows each cell's range of repeats (fastest to
    /// slowest, and how many) beside its median.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) spread: bool,
    /// One cell per system, mproc first.
    pub(crate) cells: Vec<Cell>,
}

impl Row {
    /// The best figure among cells of `role`, with its system.
    pub(crate) fn best(&self, role: Role) -> Option<(&str, f64)> {
        let higher = self.unit.higher_is_better();
        self.cells
            .iter()
            .filter(|c| c.role == role)
            .filter_map(|c| c.value.map(|v| (c.system.as_str(), v)))
            .fold(None, |best, (s, v)| match best {
                Some((_, b)) if (higher && b >= v) || (!higher && b <= v) => best,
                _ => Some((s, v)),
            })
    }

    /// How many times better mproc's best figure is than the best peer's
    /// (above 1: mproc is faster), with the two systems compared: the
    /// mproc system may differ from row to row.
    pub(crate) fn speedup(&self) -> Option<(&str, &str, f64)> {
        let (mine, m) = self.best(Role::Mproc)?;
        let (peer, p) = self.best(Role::Peer)?;
        if m <= 0.0 || p <= 0.0 {
            return None;
        }
        let ratio = if self.unit.higher_is_better() {
            m / p
        } else {
            p / m
        };
        Some((mine, peer, ratio))
    }
}

/// A measured figure before it becomes a cell: per-repeat values.
#[derive(Debug, Clone)]
pub(crate) struct Runs(pub(crate) Vec<f64>);

impl Runs {
    /// The median of the repeats (the mean of the middle two for an even count).
    pub(crate) fn median(&self) -> Option<f64> {
        median(&self.0)
    }
}

/// The median of `values`, `None` when empty.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

impl Cell {
    /// A cell from per-repeat figures.
    pub(crate) fn measured(system: &str, role: Role, runs: Runs) -> Cell {
        Cell {
            system: system.to_string(),
            role,
            value: runs.median(),
            runs: runs.0,
            note: None,
        }
    }

    /// A cell with no figure and the reason.
    pub(crate) fn missing(system: &str, role: Role, why: impl Into<String>) -> Cell {
        Cell {
            system: system.to_string(),
            role,
            value: None,
            runs: Vec::new(),
            note: Some(why.into()),
        }
    }
}
