//! Where the run writes its results, checked before anything is measured:
//! a bad path fails at once, naming it, not after the whole run.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cli::Args;

/// The three output files of a run.
#[derive(Debug)]
pub(crate) struct Outputs {
    /// Every figure, as JSON (`--json`).
    pub(crate) json: PathBuf,
    /// The charts, as SVG (`--svg`).
    pub(crate) svg: PathBuf,
    /// The table, as Markdown (`--markdown`).
    pub(crate) markdown: PathBuf,
}

impl Outputs {
    /// The paths `args` give, or the defaults under `dir`, each one's folder
    /// created and checked: a file can be written there.
    ///
    /// # Errors
    ///
    /// When a folder cannot be created or a file cannot be written, naming
    /// the option and the path.
    pub(crate) fn prepare(args: &Args, dir: &Path) -> Result<Outputs> {
        let pick =
            |given: &Option<PathBuf>, name: &str| given.clone().unwrap_or_else(|| dir.join(name));
        let outputs = Outputs {
            json: pick(&args.json, "results.json"),
            svg: pick(&args.svg, "charts.svg"),
            markdown: pick(&args.markdown, "table.md"),
        };
        check_writable("--json", &outputs.json)?;
        check_writable("--svg", &outputs.svg)?;
        check_writable("--markdown", &outputs.markdown)?;
        Ok(outputs)
    }
}

/// Creates the folder of `path` and checks that `path` can be written,
/// leaving an existing file as it is.
fn check_writable(option: &str, path: &Path) -> Result<()> {
    let shown = path.display();
    if path.is_dir() {
        bail!("{option} {shown}: a folder, not a file");
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{option} {shown}: cannot create its folder"))?;
    if path.exists() {
        OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("{option} {shown}: cannot write it"))?;
    } else {
        let probe = dir.join(format!(".mproc-bench-probe-{}", std::process::id()));
        File::create(&probe)
            .with_context(|| format!("{option} {shown}: cannot write in its folder"))?;
        let _ = std::fs::remove_file(&probe);
    }
    Ok(())
}
