//! Handing a forked child what its parent's copies of handles stood for.
//!
//! `fork` copies every object of the parent into the child, and a closure
//! that a child runs owns the handles it captured twice: the child's copy
//! runs, and the parent's copy is dropped by the code that forked. A handle
//! registered in shared memory under its process (a queue producer, say)
//! would unregister itself there, though the child goes on using it. While
//! the forking code drops its copy inside [`while_handing_over_to`], such a
//! handle asks [`handing_over_to`] and passes its registration to the child
//! instead.

use std::cell::Cell;

use crate::ProcessId;

thread_local! {
    /// The child's pid, and its identity once asked for.
    static HEIR: Cell<Option<(i32, Option<ProcessId>)>> = const { Cell::new(None) };
}

/// Runs `f` (the drop of a forked child's body, in the parent) with
/// [`handing_over_to`] answering child `pid` on this thread.
///
/// # Examples
///
/// ```
/// use mproc_sys::{ProcessId, getpid, handing_over_to, while_handing_over_to};
///
/// // (Any live process will do for the example: this one.)
/// let heir = while_handing_over_to(getpid(), handing_over_to);
/// assert_eq!(heir, Some(ProcessId::current().unwrap()));
/// assert_eq!(handing_over_to(), None);
/// ```
pub fn while_handing_over_to<R>(pid: i32, f: impl FnOnce() -> R) -> R {
    /// Puts the previous answer back, also when `f` unwinds.
    struct Restore(Option<(i32, Option<ProcessId>)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            HEIR.with(|h| h.set(self.0));
        }
    }
    let _restore = Restore(HEIR.with(|h| h.replace(Some((pid, None)))));
    f()
}

/// The child that objects dropped now belong to, if this thread is
/// dropping a forked child's body in the parent (see
/// [`while_handing_over_to`]); `None` also if `/proc` cannot tell the
/// child's start time. Reads `/proc` once per hand-over.
///
/// # Examples
///
/// ```
/// assert_eq!(mproc_sys::handing_over_to(), None);
/// ```
pub fn handing_over_to() -> Option<ProcessId> {
    let (pid, known) = HEIR.with(Cell::get)?;
    if known.is_some() {
        return known;
    }
    let id = ProcessId::of(pid).ok();
    HEIR.with(|h| h.set(Some((pid, id))));
    id
}

/// Whether this thread is dropping a forked child's body in the parent
/// (see [`while_handing_over_to`]), without asking who the child is.
///
/// # Examples
///
/// ```
/// assert!(!mproc_sys::is_handing_over());
/// assert!(mproc_sys::while_handing_over_to(1, mproc_sys::is_handing_over));
/// ```
pub fn is_handing_over() -> bool {
    HEIR.with(Cell::get).is_some()
}
