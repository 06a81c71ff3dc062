//! How a child process is created: fork or spawn.

use std::sync::atomic::{AtomicU8, Ordering};

/// How [`Process::start`](crate::Process::start) creates the child.
///
/// # Examples
///
/// ```
/// use mproc_process::StartMethod;
///
/// assert_eq!(StartMethod::default(), StartMethod::Fork);
/// assert_eq!(StartMethod::Spawn.to_string(), "spawn");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StartMethod {
    /// `fork()`: the child is a copy of the parent and runs the closure
    /// there, then `_exit`s. Fast and able to run any closure, but hazardous
    /// when other threads hold locks (allocator, I/O) at the moment of the
    /// fork: the child may deadlock on them.
    #[default]
    Fork,
    /// Re-execute the current binary, which calls [`init`](crate::init)
    /// first in `main` and runs a function with serialized arguments. Safe
    /// in multi-threaded parents; slower; only non-capturing closures and
    /// [`Process::with_args`](crate::Process::with_args) can be spawned.
    Spawn,
}

impl std::fmt::Display for StartMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StartMethod::Fork => "fork",
            StartMethod::Spawn => "spawn",
        })
    }
}

static DEFAULT_METHOD: AtomicU8 = AtomicU8::new(0);

/// Sets the start method used by processes that do not choose one, as
/// Python's `multiprocessing.set_start_method`.
///
/// # Examples
///
/// ```
/// use mproc_process::{StartMethod, get_start_method, set_start_method};
///
/// set_start_method(StartMethod::Spawn);
/// assert_eq!(get_start_method(), StartMethod::Spawn);
/// set_start_method(StartMethod::Fork);
/// ```
pub fn set_start_method(method: StartMethod) {
    let raw = match method {
        StartMethod::Fork => 0,
        StartMethod::Spawn => 1,
    };
    DEFAULT_METHOD.store(raw, Ordering::Relaxed);
}

/// The start method used by processes that do not choose one
/// ([`StartMethod::Fork`] unless [`set_start_method`] said otherwise).
///
/// # Examples
///
/// ```
/// assert_eq!(mproc_process::get_start_method(), mproc_process::StartMethod::Fork);
/// ```
pub fn get_start_method() -> StartMethod {
    match DEFAULT_METHOD.load(Ordering::Relaxed) {
        1 => StartMethod::Spawn,
        _ => StartMethod::Fork,
    }
}
