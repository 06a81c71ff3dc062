//! Stopping cleanly on `SIGINT`, `SIGTERM` or `SIGHUP`: the harness kills
//! what it started (its forked children and the running Python script's
//! process group, see [`tracked`]), removes this run's iceoryx2 files, and
//! exits with 128 + the signal's number.
//!
//! The signal handler only notes the signal and writes a byte to a
//! self-pipe (both async-signal-safe); a watcher thread, blocked reading
//! the pipe until then, does the work.

use std::io::{ErrorKind, Read};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::{Context, Result, bail};
use mproc::sys::Signal;

use crate::harness::tracked;
use crate::peers;

/// The signals that stop the run.
const SIGNALS: [Signal; 3] = [Signal::Int, Signal::Term, Signal::Hup];

/// The first stopping signal received, 0 before.
static CAUGHT: AtomicI32 = AtomicI32::new(0);

/// Refuses to start anything (a child, a script, an iceoryx2 node) once a
/// stopping signal has arrived: the main thread goes on while the watcher
/// cleans up, and what it started now could outlive the cleanup.
///
/// # Errors
///
/// When a stopping signal has arrived.
pub(crate) fn ensure_running() -> Result<()> {
    let signal = CAUGHT.load(Ordering::Relaxed);
    if signal != 0 {
        let name = signal_hook::low_level::signal_name(signal).unwrap_or("a signal");
        bail!("stopping on {name}");
    }
    Ok(())
}

/// Installs the handlers and starts the watcher thread. Call once, before
/// the run starts anything.
///
/// The watcher holds no lock while it waits (it sits in `read`), so the
/// harness can still fork: a child inherits no lock it could need.
///
/// # Errors
///
/// When a handler cannot be installed or the thread cannot start.
pub(crate) fn watch() -> Result<()> {
    let harness = mproc::sys::getpid();
    let (mut reader, writer) = UnixStream::pair().context("creating the signal pipe")?;
    for signal in SIGNALS {
        let raw = signal.as_raw();
        let name = signal_hook::low_level::signal_name(raw).unwrap_or("a signal");
        // SAFETY: the action is async-signal-safe: it calls `getpid` and
        // `_exit`, stores to an atomic, allocates nothing and takes no lock.
        unsafe {
            signal_hook::low_level::register(raw, move || {
                if mproc::sys::getpid() != harness {
                    // A forked child, or a child between fork and exec,
                    // inherited this handler: it ends as it would have
                    // without one, and does not stop the harness.
                    mproc::sys::exit_immediately(128 + raw);
                }
                let _ = CAUGHT.compare_exchange(0, raw, Ordering::Relaxed, Ordering::Relaxed);
            })
        }
        .with_context(|| format!("handling {name}"))?;
        // Actions run in the order they were registered: the byte is
        // written after the signal was noted, and never by a child.
        let end = writer.try_clone().context("cloning the signal pipe")?;
        signal_hook::low_level::pipe::register(raw, end)
            .with_context(|| format!("handling {name}"))?;
    }
    std::thread::Builder::new()
        .name("signal watcher".into())
        .spawn(move || {
            let mut byte = [0u8; 1];
            while let Err(e) = reader.read_exact(&mut byte) {
                if e.kind() != ErrorKind::Interrupted {
                    // No signal can be delivered any more; nothing to do.
                    return;
                }
            }
            stop(CAUGHT.load(Ordering::Relaxed))
        })
        .context("starting the signal watcher")?;
    Ok(())
}

/// Kills what the run started, removes its iceoryx2 files, and exits.
fn stop(signal: i32) -> ! {
    let name = signal_hook::low_level::signal_name(signal).unwrap_or("a signal");
    eprintln!(
        "\nmproc-bench: {name} received: killing the processes it started, \
         removing its iceoryx2 files, exiting"
    );
    tracked::kill_all();
    peers::iceoryx2::cleanup();
    crate::harness::python::remove_scratch();
    std::process::exit(128 + signal)
}
