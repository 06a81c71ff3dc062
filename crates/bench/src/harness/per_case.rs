//! Systems measured case by case: a case that fails leaves the figures of
//! the others in their cells.

use anyhow::Result;

use crate::harness::context::Figures;
use crate::report::model::Runs;

/// Some cases of a system failed: the figures of the others, and the error
/// of each failed case (its key and the message).
#[derive(Debug)]
pub(crate) struct CasesFailed {
    /// Figures of the cases that were measured.
    pub(crate) figures: Figures,
    /// Key and error message of each case that failed.
    pub(crate) failed: Vec<(String, String)>,
}

impl std::fmt::Display for CasesFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (key, why)) in self.failed.iter().enumerate() {
            let sep = if i == 0 { "" } else { "; " };
            write!(f, "{sep}{key}: {why}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CasesFailed {}

/// The figures of a system whose cases were measured one by one, each
/// given with its key.
///
/// # Errors
///
/// When a case failed: a [`CasesFailed`] holding the figures of the others.
pub(crate) fn per_case(results: Vec<(&str, Result<Runs>)>) -> Result<Figures> {
    let mut figures = Vec::new();
    let mut failed = Vec::new();
    for (key, result) in results {
        match result {
            Ok(runs) => figures.push((key.to_string(), runs)),
            Err(e) => failed.push((key.to_string(), format!("{e:#}"))),
        }
    }
    if failed.is_empty() {
        Ok(figures)
    } else {
        Err(CasesFailed { figures, failed }.into())
    }
}
