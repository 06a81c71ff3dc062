//! `mproc-bench`: mproc against its peers and floors, in one run.
//!
//! Every scenario measures mproc and each peer on the same work (same message
//! sizes, same counts) in the same run, prints a table with the ratios, and
//! writes every figure to JSON and the charts to SVG. See `--help`.

mod cli;
mod harness;
mod mproc_side;
mod peers;
mod profile;
mod report;
mod scenarios;

use anyhow::Result;
use clap::Parser;

fn main() -> Result<()> {
    // A child started with the spawn start method re-executes this binary:
    // `init` runs its work and exits there. Before anything else, no thread.
    mproc::init();
    // The process-start floor re-executes this binary with this argument: it
    // must do nothing but leave.
    if std::env::args().nth(1).as_deref() == Some(harness::spawn_noop::NOOP_ARG) {
        return Ok(());
    }
    // Pool start + teardown is measured in a fresh process, as Python's is.
    if std::env::args().nth(1).as_deref() == Some(mproc_side::pool::START_ARG) {
        return mproc_side::pool::start_child(std::env::args().skip(2));
    }
    let args = cli::Args::parse();
    harness::run::run(&args)
}
