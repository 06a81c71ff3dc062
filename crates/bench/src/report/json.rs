//! The JSON report: every figure, every repeat, the machine and the profile.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::profile::Profile;
use crate::report::machine::Machine;
use crate::report::model::Row;

#[derive(Serialize)]
struct Report<'a> {
    tool: &'static str,
    version: &'static str,
    command: String,
    machine: &'a Machine,
    profile: &'a Profile,
    rows: &'a [Row],
}

/// Writes the report to `path`, creating its folder.
///
/// # Errors
///
/// When the file cannot be written.
pub(crate) fn write(path: &Path, machine: &Machine, profile: &Profile, rows: &[Row]) -> Result<()> {
    let report = Report {
        tool: "mproc-bench",
        version: env!("CARGO_PKG_VERSION"),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        machine,
        profile,
        rows,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&report)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
