//! `init()`: the first line of `main`, where a spawned child takes over.

use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, Ordering};

use mproc_sys::ProcessId;

use crate::body::run_recipe;
use crate::error::{ProcessError, Result};
use crate::exit::{die_now, die_with_parent, finish_spawned};
use crate::fn_offset::ExecutableId;
use crate::outcome::run_guarded;
use crate::payload::{ENV_VAR, Payload};
use crate::table;

static INIT_CALLED: AtomicBool = AtomicBool::new(false);

/// Call first in `main`. In the program's own process it returns at once
/// (it does nothing else). In a child created by
/// [`StartMethod::Spawn`](crate::StartMethod::Spawn) (this same executable
/// re-executed) it runs the function the parent asked for and exits with
/// its status: it never returns there.
///
/// Call it before starting any thread. A program that spawns but does not
/// call `init` runs its whole `main` again in each child (as a Python
/// script without `if __name__ == "__main__"`); such a child's attempts to
/// spawn fail with [`ProcessError::InitNotCalled`] instead of recursing.
///
/// # Examples
///
/// ```
/// use mproc_process::{Process, StartMethod};
///
/// fn square(x: i32) -> i32 {
///     x * x
/// }
///
/// fn main() {
///     mproc_process::init();
///     let c = Process::with_args(square, 7)
///         .start_method(StartMethod::Spawn)
///         .start()
///         .unwrap();
///     assert_eq!(c.join().unwrap(), 49);
/// }
/// ```
pub fn init() {
    if INIT_CALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let Some(hex) = std::env::var_os(ENV_VAR) else {
        return;
    };
    let payload = match Payload::receive(hex.as_encoded_bytes()) {
        Ok(p) => p,
        Err(e) if meant_for_us(hex.as_encoded_bytes()) => {
            // The hand-off of our own spawning parent, unreadable (a
            // parent whose /proc entries we may not open, or one that died
            // first): running `main` instead would start a second copy of
            // the program.
            eprintln!("mproc: a spawned child cannot read its hand-off ({ENV_VAR}): {e}");
            mproc_sys::exit_immediately(1)
        }
        Err(e) => {
            // Not a hand-off this program wrote: run as a program.
            eprintln!("mproc: ignoring {ENV_VAR}: {e}");
            return;
        }
    };
    forget_hand_off();
    if mproc_sys::getppid() != payload.parent_pid {
        let parent = ProcessId {
            pid: payload.parent_pid,
            start_time: payload.parent_start_time,
        };
        if parent.is_alive() {
            // The intended child is someone else: we merely inherited the
            // variable from a spawned ancestor.
            return;
        }
        // We are the child, orphaned before getting here.
        if payload.me.daemon {
            die_now();
        }
    }
    run_spawned(payload)
}

/// Whether a hand-off this process cannot read was written for it: a
/// memory-file hand-off by its parent, or by a process gone since (an
/// orphaned child). One naming another live process was inherited from a
/// spawned ancestor.
fn meant_for_us(env_value: &[u8]) -> bool {
    crate::payload::file_hand_off_parent(env_value).is_some_and(|pid| {
        pid == mproc_sys::getppid() || !ProcessId::of(pid).is_ok_and(|p| p.is_alive())
    })
}

/// Removes the hand-off from the environment, so that programs this child
/// runs do not mistake themselves for spawned children.
fn forget_hand_off() {
    let single_threaded = std::fs::read_dir("/proc/self/task").is_ok_and(|d| d.count() == 1);
    if single_threaded {
        // SAFETY: this process has one thread, the caller, so no other
        // thread can be reading or writing the environment; only this
        // thread could start one, and it is busy here.
        unsafe { std::env::remove_var(ENV_VAR) };
    }
}

fn run_spawned(payload: Payload) -> ! {
    let Payload {
        parent_pid,
        exe,
        mut me,
        parent,
        recipe,
        ..
    } = payload;
    if me.daemon {
        die_with_parent(parent_pid);
    }
    me.pid = mproc_sys::getpid();
    let name = me.name.clone();
    table::lock().become_child(me, parent);
    let code = run_guarded(|| match check_executable(exe) {
        // SAFETY: the recipe was built by the parent, which ran the same
        // executable file as this process (just checked).
        Ok(()) => unsafe { run_recipe(&recipe) }.unwrap_or_else(|e| report(&name, &e)),
        Err(e) => report(&name, &e),
    });
    finish_spawned(code)
}

fn report(name: &str, e: &ProcessError) -> i32 {
    eprintln!("Process {name}: {e}");
    1
}

fn check_executable(expected: ExecutableId) -> Result<()> {
    let found = ExecutableId::current()?;
    if found != expected {
        return Err(ProcessError::ExecutableChanged {
            expected_dev: expected.dev,
            expected_ino: expected.ino,
            found_dev: found.dev,
            found_ino: found.ino,
        });
    }
    Ok(())
}

/// Refuses to spawn from a spawned child whose `main` skipped [`init`]
/// (it is running the parent's program again, and would recurse).
pub(crate) fn refuse_if_uninitialized() -> Result<()> {
    if INIT_CALLED.load(Ordering::SeqCst) {
        return Ok(());
    }
    let Some(hex) = std::env::var_os(ENV_VAR) else {
        return Ok(());
    };
    if addressed_to_me(&hex) {
        return Err(ProcessError::InitNotCalled);
    }
    Ok(())
}

fn addressed_to_me(hex: &OsString) -> bool {
    Payload::receive(hex.as_encoded_bytes()).is_ok_and(|p| p.parent_pid == mproc_sys::getppid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_running_executable_passes_the_check() {
        check_executable(ExecutableId::current().unwrap()).unwrap();
    }

    #[test]
    fn another_executable_is_refused() {
        let me = ExecutableId::current().unwrap();
        let other = ExecutableId {
            dev: me.dev,
            ino: me.ino + 1,
        };
        assert!(matches!(
            check_executable(other),
            Err(ProcessError::ExecutableChanged { expected_ino, found_ino, .. })
                if expected_ino == me.ino + 1 && found_ino == me.ino
        ));
    }
}
