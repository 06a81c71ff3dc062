//! What a child's function returned, turned into its exit status.

use std::fmt::Display;
use std::panic::{self, AssertUnwindSafe};

/// A value a child process's function may return, and the exit status it
/// means (the analogue of `std::process::Termination`).
///
/// - `()` exits 0.
/// - An `i32` is the exit status (as `sys.exit(n)`; the system keeps its
///   low 8 bits).
/// - `Ok(_)` exits 0; `Err(e)` prints `e` to stderr and exits 1, as an
///   uncaught Python exception does.
/// - A function that never returns (`-> !`, `loop {}`) needs no status.
///
/// # Examples
///
/// ```
/// use mproc_process::Outcome;
///
/// assert_eq!(().exit_code(), 0);
/// assert_eq!(3.exit_code(), 3);
/// assert_eq!(Ok::<u8, String>(5).exit_code(), 0);
/// assert_eq!(Err::<(), _>("boom").exit_code(), 1); // prints "boom" to stderr
/// ```
pub trait Outcome {
    /// The exit status this outcome means, after reporting it if it is an
    /// error.
    fn exit_code(self) -> i32;
}

impl Outcome for () {
    fn exit_code(self) -> i32 {
        0
    }
}

impl Outcome for i32 {
    fn exit_code(self) -> i32 {
        self
    }
}

impl<T, E: Display> Outcome for Result<T, E> {
    fn exit_code(self) -> i32 {
        match self {
            Ok(_) => 0,
            Err(e) => {
                let name = crate::current_process();
                eprintln!("Process {}: {e}", name.name());
                1
            }
        }
    }
}

/// Names the never type `!` on stable Rust, as the return type of a
/// `fn() -> !`, so that closures that never return (`|| loop { .. }`, whose
/// return type falls back to `!`) can be children.
mod never {
    // Public so that `Outcome for Never` exposes nothing private; the
    // module keeps it unreachable from outside.
    #[allow(unreachable_pub)]
    pub trait FnOutput {
        type Output;
    }

    impl<T> FnOutput for fn() -> T {
        type Output = T;
    }

    pub(super) type Never = <fn() -> ! as FnOutput>::Output;
}

impl Outcome for never::Never {
    fn exit_code(self) -> i32 {
        self
    }
}

/// Runs a child's body; a panic (already reported by the panic hook)
/// becomes exit status 1.
pub(crate) fn run_guarded(body: impl FnOnce() -> i32) -> i32 {
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(code) => code,
        Err(payload) => {
            // Dropping a panic payload can itself panic; the process is about
            // to exit, so leak it instead.
            std::mem::forget(payload);
            1
        }
    }
}
