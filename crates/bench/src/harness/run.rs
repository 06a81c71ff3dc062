//! The run: pick the scenarios, measure, print the table, write the JSON,
//! Markdown and SVG outputs, and clean up.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::Args;
use crate::harness::context::Ctx;
use crate::harness::interrupt;
use crate::harness::outputs::Outputs;
use crate::harness::pin;
use crate::harness::python::Python;
use crate::peers;
use crate::profile::Profile;
use crate::report::{chart, json, machine::Machine, table};
use crate::scenarios::{ALL, Scenario};

/// Where outputs go by default: `target/mproc-bench/` of this workspace, or
/// under `$CARGO_TARGET_DIR` when that is set.
fn default_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("mproc-bench");
    let _ = std::fs::create_dir_all(&dir);
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

fn selected(args: &Args) -> Vec<&'static Scenario> {
    ALL.iter()
        .filter(|s| {
            args.filter.is_empty() || args.filter.iter().any(|f| s.name.contains(f.as_str()))
        })
        .collect()
}

/// Runs the harness as `args` say.
///
/// # Errors
///
/// When no scenario matches the filter, the signal handlers cannot be
/// installed, or an output cannot be written.
pub(crate) fn run(args: &Args) -> Result<()> {
    if args.list {
        for s in &ALL {
            println!("{:<18} {}", s.name, s.about);
        }
        return Ok(());
    }
    let scenarios = selected(args);
    if scenarios.is_empty() {
        bail!("no scenario matches {:?}; see --list", args.filter);
    }
    interrupt::watch()?;
    peers::iceoryx2::cleanup_stale();
    pin::init(args.pin);
    let profile = if args.full {
        Profile::full()
    } else {
        Profile::quick()
    };
    let dir = default_dir();
    let outputs = Outputs::prepare(args, &dir)?;
    let python = Python::new(
        &dir.join("python"),
        Duration::from_secs(profile.python_limit_secs),
    );
    let python_line = match python.version() {
        Ok(v) => v.to_string(),
        Err(e) => format!("no Python peers: {e}"),
    };
    let machine = Machine::read(python_line);
    let progress = if args.no_progress || !std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden())
    } else {
        ProgressBar::new(0)
    };
    progress.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut ctx = Ctx {
        profile,
        python,
        progress,
        rows: Vec::new(),
    };
    let start = Instant::now();
    for s in &scenarios {
        pin::section(s.pinned);
        (s.run)(&mut ctx);
    }
    pin::section(false);
    ctx.progress.finish_and_clear();
    peers::iceoryx2::cleanup();

    let tables = table::render(&ctx.rows);
    let command = format!(
        "cargo run --release -p mproc-bench --{}{}{}",
        if args.full { " --full" } else { "" },
        if args.pin { " --pin" } else { "" },
        args.filter
            .iter()
            .map(|f| format!(" --filter {f}"))
            .collect::<String>()
    );
    let heading = format!(
        "mproc-bench ({} profile, {:.0} s): `{}`\n\n{}\n",
        ctx.profile.name,
        start.elapsed().as_secs_f64(),
        command.trim_end_matches(" --"),
        machine.summary()
    );
    println!("{heading}\n{tables}");

    // Stopped by a signal: the figures are cut short, and the watcher
    // thread is about to exit the process. The last complete run's files
    // stay as they are.
    if crate::harness::interrupt::ensure_running().is_err() {
        loop {
            std::thread::park();
        }
    }
    let Outputs {
        json: json_path,
        svg: svg_path,
        markdown: md_path,
    } = outputs;
    json::write(&json_path, &machine, &ctx.profile, &ctx.rows)?;
    std::fs::write(&md_path, format!("{heading}\n{tables}"))
        .with_context(|| format!("writing {}", md_path.display()))?;
    if let Err(e) = chart::write(&svg_path, &ctx.rows, &machine.short()) {
        eprintln!("charts not written to {}: {e:#}", svg_path.display());
    }
    eprintln!(
        "wrote {}, {} and {}",
        json_path.display(),
        md_path.display(),
        svg_path.display()
    );
    Ok(())
}
