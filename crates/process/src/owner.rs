//! Which process a process-local object belongs to.

use mproc_sys::ProcessId;

/// The process that made an object living in process memory (an entry of
/// the child table, a pool). A forked copy of that memory is not the
/// owner's, even in a descendant that was given the owner's pid after the
/// owner died: the start time tells them apart, where a pid alone would
/// let the descendant signal, wait for or drive what is not its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner(ProcessId);

impl Owner {
    /// The calling process.
    pub(crate) fn current() -> Owner {
        Owner(ProcessId::current_or_pid())
    }

    /// The owner's pid.
    pub(crate) fn pid(self) -> i32 {
        self.0.pid
    }

    /// Whether the calling process is the owner
    /// ([`ProcessId::is_current`]).
    pub(crate) fn is_current(self) -> bool {
        self.0.is_current()
    }
}

#[cfg(test)]
mod tests {
    use mproc_sys::ProcessId;

    use super::Owner;

    #[test]
    fn the_maker_owns_and_a_process_with_its_pid_but_another_start_does_not() {
        let me = ProcessId::current().unwrap();
        assert!(Owner::current().is_current());
        assert_eq!(Owner::current().pid(), me.pid);
        // What a descendant given a dead owner's pid sees: the pid matches,
        // the start time does not.
        let reused = Owner(ProcessId {
            pid: me.pid,
            start_time: me.start_time + 1,
        });
        assert!(!reused.is_current());
        let other = Owner(ProcessId {
            pid: me.pid + 1,
            start_time: me.start_time,
        });
        assert!(!other.is_current());
    }
}
