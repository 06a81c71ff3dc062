//! The run context: profile, progress bar, Python runner, and the rows
//! collected so far. Scenarios describe their systems; the context runs each
//! one, turns an error or a panic into a reason in its cells (per case, when
//! a system's cases failed apart: see `per_case`), and builds rows.

use anyhow::Result;
use indicatif::ProgressBar;

use crate::harness::per_case::CasesFailed;
use crate::harness::python::Python;
use crate::profile::Profile;
use crate::report::model::{Cell, Role, Row, Runs, Unit};

/// Figures of one system: case key to per-repeat runs.
pub(crate) type Figures = Vec<(String, Runs)>;

/// One case (one row) of a scenario.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    /// Key the systems' figures use for it.
    pub(crate) key: String,
    /// Label shown in the table.
    pub(crate) label: String,
    /// Message size, if any.
    pub(crate) size: Option<usize>,
    /// What the figures count.
    pub(crate) unit: Unit,
    /// Whether its cells show the range of the repeats beside their median
    /// (for cases whose repeats fall into modes far apart).
    pub(crate) spread: bool,
}

impl Case {
    /// A case whose key is its label.
    pub(crate) fn new(label: impl Into<String>, size: Option<usize>, unit: Unit) -> Case {
        let label = label.into();
        Case {
            key: label.clone(),
            label,
            size,
            unit,
            spread: false,
        }
    }
}

type Measure<'a> = Box<dyn FnOnce(&Ctx) -> Result<Figures> + 'a>;

/// A system to measure in a scenario, or the reason it cannot be.
pub(crate) struct System<'a> {
    name: String,
    role: Role,
    measure: std::result::Result<Measure<'a>, String>,
}

impl<'a> System<'a> {
    /// A system measured by `measure`.
    pub(crate) fn new(
        name: impl Into<String>,
        role: Role,
        measure: impl FnOnce(&Ctx) -> Result<Figures> + 'a,
    ) -> System<'a> {
        System {
            name: name.into(),
            role,
            measure: Ok(Box::new(measure)),
        }
    }

    /// A system that cannot be measured in this build, and why.
    pub(crate) fn unavailable(
        name: impl Into<String>,
        role: Role,
        why: impl Into<String>,
    ) -> System<'a> {
        System {
            name: name.into(),
            role,
            measure: Err(why.into()),
        }
    }
}

/// What every scenario gets.
pub(crate) struct Ctx {
    /// Counts shared by all systems.
    pub(crate) profile: Profile,
    /// The Python peers' runner (or why there is none).
    pub(crate) python: Python,
    /// Progress over measurements.
    pub(crate) progress: ProgressBar,
    /// Rows collected so far.
    pub(crate) rows: Vec<Row>,
}

/// What measuring one system gave: figures by case key, why each failed
/// case has none, and why any other case has none.
struct Outcome {
    figures: Figures,
    failed: Vec<(String, String)>,
    otherwise: String,
}

impl Outcome {
    /// The outcome of a measurement that returned `result`.
    fn of(result: Result<Figures>) -> Outcome {
        match result {
            Ok(figures) => Outcome {
                figures,
                failed: Vec::new(),
                otherwise: "not measured for this case".to_string(),
            },
            Err(e) => match e.downcast::<CasesFailed>() {
                Ok(partial) => Outcome {
                    figures: partial.figures,
                    failed: partial
                        .failed
                        .into_iter()
                        .map(|(key, why)| (key, format!("failed: {}", one_line(&why))))
                        .collect(),
                    otherwise: "not measured for this case".to_string(),
                },
                Err(e) => Outcome::none(format!("failed: {}", one_line(&format!("{e:#}")))),
            },
        }
    }

    /// No figure at all, for the reason `why`.
    fn none(why: String) -> Outcome {
        Outcome {
            figures: Vec::new(),
            failed: Vec::new(),
            otherwise: why,
        }
    }

    /// The cell of `system` for `case`.
    fn cell(&self, system: &str, role: Role, case: &Case) -> Cell {
        if let Some((_, runs)) = self.figures.iter().find(|(k, _)| *k == case.key) {
            return Cell::measured(system, role, runs.clone());
        }
        match self.failed.iter().find(|(k, _)| *k == case.key) {
            Some((_, why)) => Cell::missing(system, role, why.clone()),
            None => Cell::missing(system, role, self.otherwise.clone()),
        }
    }
}

impl Ctx {
    /// Measures every system in turn and appends one row per case.
    pub(crate) fn table(&mut self, scenario: &str, cases: &[Case], systems: Vec<System<'_>>) {
        self.progress.inc_length(systems.len() as u64);
        let mut columns: Vec<(String, Role, Outcome)> = Vec::new();
        for system in systems {
            self.progress
                .set_message(format!("{scenario}: {}", system.name));
            let outcome = match system.measure {
                Err(why) => Outcome::none(why),
                Ok(measure) => {
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| measure(self))) {
                        Ok(result) => Outcome::of(result),
                        Err(panic) => Outcome::none(format!("panicked: {}", panic_text(&panic))),
                    }
                }
            };
            self.progress.inc(1);
            columns.push((system.name, system.role, outcome));
        }
        for case in cases {
            let cells = columns
                .iter()
                .map(|(name, role, outcome)| outcome.cell(name, *role, case))
                .collect();
            self.rows.push(Row {
                scenario: scenario.to_string(),
                case: case.label.clone(),
                size: case.size,
                unit: case.unit,
                spread: case.spread,
                cells,
            });
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        one_line(s)
    } else if let Some(s) = panic.downcast_ref::<String>() {
        one_line(s)
    } else {
        "unknown panic".to_string()
    }
}
