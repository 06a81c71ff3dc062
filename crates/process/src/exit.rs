//! Leaving a child process, and killing daemon children when a process
//! exits.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use mproc_sys::Signal;

use crate::child::ChildShared;
use crate::table;

/// How long daemon children get to honour `SIGTERM` before `SIGKILL`.
const TERM_GRACE: Duration = Duration::from_millis(500);

/// Terminates this process's daemon children that are still running, as
/// Python does at exit: `SIGTERM`, a grace period, then `SIGKILL`; all are
/// reaped. Non-daemon children are left running.
pub(crate) fn terminate_daemons() {
    let daemons: Vec<Arc<ChildShared>> = table::lock()
        .children
        .iter()
        .filter(|c| c.info.daemon && c.owner.is_current())
        .cloned()
        .collect();
    for d in &daemons {
        let _ = d.signal(Signal::Term);
    }
    let deadline = Instant::now() + TERM_GRACE;
    for d in &daemons {
        let left = deadline.saturating_duration_since(Instant::now());
        if matches!(d.wait(Some(left)), Ok(None)) {
            let _ = d.signal(Signal::Kill);
            // SIGKILL cannot be caught; bound the wait all the same.
            let _ = d.wait(Some(Duration::from_secs(2)));
        }
    }
}

extern "C" fn at_exit_hook() {
    // Unwinding out of an `extern "C" fn` aborts; swallow any panic.
    let _ = std::panic::catch_unwind(terminate_daemons);
}

/// Makes sure daemon children are terminated when this process exits
/// normally (`main` returns or `std::process::exit`).
pub(crate) fn kill_daemons_at_exit() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        // Without the hook, daemon children still die with this process
        // through their parent-death signal; nothing more to do on failure.
        let _ = mproc_sys::at_exit(at_exit_hook);
    });
}

fn flush_stdio() {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
}

/// Set in a forked child (before it runs its body): [`exit`] then ends it
/// as a forked child ends.
static FORKED_CHILD: AtomicBool = AtomicBool::new(false);

/// Marks this process a forked child (called in the child of the fork).
pub(crate) fn mark_forked_child() {
    FORKED_CHILD.store(true, Ordering::Relaxed);
}

/// Ends the calling process with exit status `code`, from anywhere in
/// it: Python's `sys.exit(code)` in a child, where a child's exit code is
/// what its parent's [`join`](crate::Child::join) returns.
///
/// Use it rather than `std::process::exit` in a forked child: that runs
/// the C library's `exit`, and with it the atexit hooks and C++ static
/// destructors the child inherited from its parent, and flushes C stdio
/// buffers the parent had filled (printing them twice). This ends a
/// forked child as returning from its function does: its daemon children
/// terminated, Rust's stdio flushed, then `_exit`. In any other process
/// (the main program, a spawned child, which are programs of their own)
/// it terminates the daemon children and calls `std::process::exit`.
///
/// # Examples
///
/// ```
/// use mproc_process::Process;
///
/// let child = Process::new(|| {
///     for n in 0.. {
///         if n * n > 50 {
///             mproc_process::exit(n);
///         }
///     }
/// })
/// .start()
/// .unwrap();
/// assert_eq!(child.join().unwrap(), 8);
/// ```
pub fn exit(code: i32) -> ! {
    if FORKED_CHILD.load(Ordering::Relaxed) {
        finish_forked(code)
    }
    finish_spawned(code)
}

/// Ends a forked child: terminates its daemon children, flushes stdio and
/// `_exit`s, so that neither the parent's destructors nor its atexit hooks
/// run in the child.
pub(crate) fn finish_forked(code: i32) -> ! {
    terminate_daemons();
    flush_stdio();
    mproc_sys::exit_immediately(code)
}

/// Ends a spawned child as a program ends: it is its own program, so its
/// own atexit hooks run.
pub(crate) fn finish_spawned(code: i32) -> ! {
    terminate_daemons();
    flush_stdio();
    std::process::exit(code)
}

/// Makes a daemon child die with its parent: `PR_SET_PDEATHSIG`, then a
/// check that the parent did not die before the request was made.
pub(crate) fn die_with_parent(parent: i32) {
    if mproc_sys::set_parent_death_signal(Some(Signal::Kill)).is_err()
        || mproc_sys::getppid() != parent
    {
        die_now();
    }
}

/// Dies as the parent-death signal would have made us.
pub(crate) fn die_now() -> ! {
    let _ = mproc_sys::kill(mproc_sys::getpid(), Signal::Kill);
    mproc_sys::exit_immediately(137)
}
