//! Python's `current_process()`, `parent_process()`, `active_children()`
//! and `cpu_count()`.

use std::sync::Arc;

use crate::child::ChildShared;
use crate::info::ProcessInfo;
use crate::table;

/// The calling process: `MainProcess` in a program's original process, or
/// the name, pid and daemon flag of a child mproc started.
///
/// # Examples
///
/// ```
/// use mproc_process::{Process, current_process};
///
/// assert_eq!(current_process().name(), "MainProcess");
/// let c = Process::new(|| {
///     if current_process().name() == "worker" { Ok(()) } else { Err("wrong name") }
/// })
/// .name("worker")
/// .start()
/// .unwrap();
/// assert_eq!(c.join().unwrap(), 0);
/// ```
pub fn current_process() -> ProcessInfo {
    table::lock().me().clone()
}

/// The process that started the calling one, if mproc started it; `None`
/// in the main process.
///
/// # Examples
///
/// ```
/// use mproc_process::{Process, parent_process};
///
/// assert!(parent_process().is_none());
/// let me = mproc_sys::getpid();
/// let c = Process::new(move || {
///     let p = parent_process().expect("a child has a parent");
///     assert_eq!((p.pid(), p.name()), (me, "MainProcess"));
/// })
/// .start()
/// .unwrap();
/// assert_eq!(c.join().unwrap(), 0);
/// ```
pub fn parent_process() -> Option<ProcessInfo> {
    table::lock().parent().cloned()
}

/// The children of the calling process that are still running. As in
/// Python, asking reaps those that have ended.
///
/// # Examples
///
/// ```
/// use mproc_process::{Process, active_children};
///
/// let c = Process::new(|| loop { std::thread::park() }).start().unwrap();
/// assert!(active_children().iter().any(|p| p.pid() == c.pid()));
/// c.kill().unwrap();
/// c.join().unwrap();
/// assert!(!active_children().iter().any(|p| p.pid() == c.pid()));
/// ```
pub fn active_children() -> Vec<ProcessInfo> {
    own_children()
        .into_iter()
        .filter(|c| matches!(c.poll(), Ok(None)))
        .map(|c| c.info.clone())
        .collect()
}

/// Reaps the children that have ended, so that dropped, unjoined handles
/// leave no zombies behind.
pub(crate) fn reap_finished() {
    for c in own_children() {
        let _ = c.poll();
    }
}

fn own_children() -> Vec<Arc<ChildShared>> {
    table::lock()
        .children
        .iter()
        .filter(|c| c.owner.is_current())
        .cloned()
        .collect()
}

/// The number of CPUs online, as Python's `multiprocessing.cpu_count()`;
/// at least 1.
///
/// # Examples
///
/// ```
/// assert!(mproc_process::cpu_count() >= 1);
/// ```
pub fn cpu_count() -> usize {
    mproc_sys::online_cpu_count()
        .or_else(|_| std::thread::available_parallelism().map(usize::from))
        .unwrap_or(1)
}

/// The number of CPUs this process may run on (its affinity mask), as
/// Python's `os.process_cpu_count()`; at least 1 and at most
/// [`cpu_count`] in the usual case. The natural default for a pool size.
///
/// # Examples
///
/// ```
/// assert!(mproc_process::process_cpu_count() >= 1);
/// ```
pub fn process_cpu_count() -> usize {
    mproc_sys::affinity_cpu_count()
        .or_else(|_| std::thread::available_parallelism().map(usize::from))
        .unwrap_or(1)
}
