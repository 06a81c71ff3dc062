//! What is known about a process: name, pid, daemon flag.

use serde::{Deserialize, Serialize};

/// A process as Python's `current_process()`, `parent_process()` and
/// `active_children()` describe it.
///
/// # Examples
///
/// ```
/// let me = mproc_process::current_process();
/// assert_eq!(me.name(), "MainProcess");
/// assert_eq!(me.pid() as u32, std::process::id());
/// assert!(!me.daemon());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProcessInfo {
    pub(crate) name: String,
    pub(crate) pid: i32,
    pub(crate) daemon: bool,
    /// Position in the process tree: `[]` for the main process, `[2]` for
    /// its second child, `[2, 1]` for that child's first child.
    pub(crate) identity: Vec<u32>,
}

impl ProcessInfo {
    /// The main process of a program that was not started by mproc.
    pub(crate) fn main_process(pid: i32) -> ProcessInfo {
        ProcessInfo {
            name: "MainProcess".to_owned(),
            pid,
            daemon: false,
            identity: Vec::new(),
        }
    }

    /// The process's name: `MainProcess`, `Process-1`, `Process-1:2`, or
    /// what [`Process::name`](crate::Process::name) set.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_process::current_process().name(), "MainProcess");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_process::current_process().pid(), mproc_sys::getpid());
    /// ```
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Whether the process is a daemon: killed when its parent exits.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!mproc_process::current_process().daemon());
    /// ```
    pub fn daemon(&self) -> bool {
        self.daemon
    }

    /// The process's place in the tree of processes mproc started: empty
    /// for the main process, `[n]` for its `n`-th child, `[n, m]` for that
    /// child's `m`-th child (Python's `_identity`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_process::current_process().identity().is_empty());
    /// ```
    pub fn identity(&self) -> &[u32] {
        &self.identity
    }
}

/// The default name of a child at `identity`: `Process-1:2`.
pub(crate) fn default_name(identity: &[u32]) -> String {
    let parts: Vec<String> = identity.iter().map(u32::to_string).collect();
    format!("Process-{}", parts.join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_follow_python() {
        assert_eq!(default_name(&[1]), "Process-1");
        assert_eq!(default_name(&[2, 1, 3]), "Process-2:1:3");
    }
}
