//! Command-line options.

use std::path::PathBuf;

use clap::Parser;

/// mproc against iceoryx2, ipc-channel, Python multiprocessing, rtrb,
/// crossbeam, raw_sync and the hardware floors, in one run.
#[derive(Debug, Parser)]
#[command(name = "mproc-bench", version, about)]
pub(crate) struct Args {
    /// Short run, about a minute on 2 cores (the default).
    #[arg(long, conflicts_with = "full")]
    pub(crate) quick: bool,
    /// Long run: ten times the messages, 5 repeats (about 12 minutes on a
    /// busy 2-core machine).
    #[arg(long)]
    pub(crate) full: bool,
    /// Run only the scenarios whose name contains NAME (repeatable).
    #[arg(long, value_name = "NAME")]
    pub(crate) filter: Vec<String>,
    /// Where to write every figure as JSON [default: target/mproc-bench/results.json].
    #[arg(long, value_name = "PATH")]
    pub(crate) json: Option<PathBuf>,
    /// Where to write the charts as SVG [default: target/mproc-bench/charts.svg].
    #[arg(long, value_name = "PATH")]
    pub(crate) svg: Option<PathBuf>,
    /// Where to write the table as Markdown [default: target/mproc-bench/table.md].
    #[arg(long, value_name = "PATH")]
    pub(crate) markdown: Option<PathBuf>,
    /// Pin the two sides of the ping-pong and throughput scenarios to two
    /// different CPUs (every system alike). Steadier for spinning systems;
    /// on a busy machine it slows blocking ones, whose woken side may not
    /// move to an idle CPU.
    #[arg(long)]
    pub(crate) pin: bool,
    /// List the scenarios and exit.
    #[arg(long)]
    pub(crate) list: bool,
    /// No progress bar (for logs and CI).
    #[arg(long)]
    pub(crate) no_progress: bool,
}
