//! The analogue of subclassing Python's `Process` and overriding `run`.

/// A unit of work with state, run in a child process by
/// [`Process::from_target`](crate::Process::from_target), as a Python
/// `Process` subclass overrides `run`.
///
/// # Examples
///
/// ```
/// use mproc_process::{Process, Target};
///
/// struct Countdown { from: u32 }
///
/// impl Target for Countdown {
///     fn run(&mut self) {
///         while self.from > 0 { self.from -= 1; }
///         mproc_process::exit(42);
///     }
/// }
///
/// let child = Process::from_target(Countdown { from: 3 }).start().unwrap();
/// assert_eq!(child.join().unwrap(), 42);
/// ```
pub trait Target {
    /// The work, run once in the child. Returning ends the child with exit
    /// status 0, panicking with 1.
    fn run(&mut self);
}
