//! `mproc`: list, inspect, watch and clean mproc's shared-memory segments.

use std::io::{ErrorKind, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use mproc_cli::{Cli, CliError, Streams};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let tty = stdout.is_terminal();
    let mut out = stdout.lock();
    let mut err = std::io::stderr();
    let outcome = mproc_cli::run(
        &cli,
        &mut Streams {
            out: &mut out,
            err: &mut err,
            tty,
        },
    )
    .and_then(|()| out.flush().map_err(CliError::from));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // `mproc ls | head`: the reader has all it wanted.
        Err(CliError::Io(e)) if e.kind() == ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(err, "mproc: {e}");
            ExitCode::FAILURE
        }
    }
}
