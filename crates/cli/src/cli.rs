//! The command line: [`Cli`], its [`Command`]s, and [`run`].

use std::io::Write;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::{Result, commands, parse_duration};

/// List, inspect, watch and clean mproc's shared-memory segments
/// (`/dev/shm/mproc.*`).
///
/// # Examples
///
/// ```
/// use clap::Parser;
/// use mproc_cli::{Cli, Command};
///
/// let cli = Cli::try_parse_from(["mproc", "gc", "--dry-run"]).unwrap();
/// assert!(matches!(cli.command, Command::Gc { dry_run: true, .. }));
/// ```
#[derive(Debug, Parser)]
#[command(name = "mproc", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `mproc`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every mproc segment: kind, size, creator, and per-kind
    /// statistics.
    Ls {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Only segments whose names start with PREFIX.
        #[arg(long, value_name = "PREFIX")]
        prefix: Option<String>,
    },
    /// Show the header and every statistic of one segment.
    Inspect {
        /// The segment's name (without `/mproc.`).
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show a segment's live numbers (queue depth and message rates),
    /// refreshed in place.
    Watch {
        /// The segment's name.
        name: String,
        /// Time between refreshes: 250ms, 2s, 1m, or seconds.
        #[arg(long, default_value = "1s", value_parser = parse_duration)]
        interval: Duration,
        /// Stop after N refreshes (default: run until interrupted).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        count: Option<u64>,
    },
    /// Remove segments by name (processes that have them mapped keep
    /// them; nobody can open them any more).
    Rm {
        /// The segments' names.
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
        /// Say what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove the segments whose creators are dead and that were not made
    /// persistent, with what goes with them (a stale dict's tables, a stale
    /// manager's objects).
    Gc {
        /// Say what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
        /// Only segments whose names start with PREFIX.
        #[arg(long, value_name = "PREFIX")]
        prefix: Option<String>,
        /// Also remove segments whose header was never written (their
        /// creator died between creating the file and writing its
        /// identity) once they are this old.
        #[arg(long, value_name = "AGE", default_value = "1m", value_parser = parse_duration)]
        unwritten_after: Duration,
    },
}

/// Where a command writes: its output, its per-item errors, and whether
/// the output is a terminal (`watch` refreshes in place only there).
///
/// # Examples
///
/// ```
/// let (mut out, mut err) = (Vec::new(), Vec::new());
/// let io = mproc_cli::Streams { out: &mut out, err: &mut err, tty: false };
/// assert!(!io.tty);
/// ```
pub struct Streams<'a> {
    /// Standard output.
    pub out: &'a mut dyn Write,
    /// Standard error, for items that fail while others succeed.
    pub err: &'a mut dyn Write,
    /// Whether `out` is a terminal.
    pub tty: bool,
}

/// Runs one command.
///
/// # Errors
///
/// Whatever stopped it: a [`CliError`](crate::CliError) for a missing
/// segment, an unreadable `/dev/shm`, a segment `rm` or `gc` could not
/// remove, or output that could not be written.
///
/// # Examples
///
/// ```
/// use clap::Parser;
/// use mproc_cli::{Cli, Streams, run};
///
/// let _seg = mproc_shm::Segment::create("doc-cli-run", 8).unwrap();
/// let cli = Cli::try_parse_from(["mproc", "ls", "--prefix", "doc-cli-run"]).unwrap();
/// let (mut out, mut err) = (Vec::new(), Vec::new());
/// run(&cli, &mut Streams { out: &mut out, err: &mut err, tty: false }).unwrap();
/// assert!(String::from_utf8(out).unwrap().contains("doc-cli-run"));
/// ```
pub fn run(cli: &Cli, io: &mut Streams<'_>) -> Result<()> {
    match &cli.command {
        Command::Ls { json, prefix } => commands::ls::run(io, prefix.as_deref(), *json),
        Command::Inspect { name, json } => commands::inspect::run(io, name, *json),
        Command::Watch {
            name,
            interval,
            count,
        } => commands::watch::run(io, name, *interval, *count),
        Command::Rm { names, dry_run } => commands::rm::run(io, names, *dry_run),
        Command::Gc {
            dry_run,
            prefix,
            unwritten_after,
        } => commands::gc::run(
            io,
            &commands::gc::GcOptions {
                prefix: prefix.as_deref(),
                dry_run: *dry_run,
                unwritten_after: *unwritten_after,
            },
        ),
    }
}
