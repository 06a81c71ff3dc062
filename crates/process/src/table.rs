//! The process-wide table: who this process is, who its parent is, and the
//! children it started. One mutex guards it; it is held across `fork` so
//! that the child inherits it in a consistent state.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::child::ChildShared;
use crate::info::{ProcessInfo, default_name};

pub(crate) struct Table {
    /// This process; `None` until first asked, meaning the main process.
    me: Option<ProcessInfo>,
    /// Its parent, when mproc started this process.
    parent: Option<ProcessInfo>,
    /// Children started so far, for the next default name.
    counter: u32,
    /// Children not yet reaped.
    pub(crate) children: Vec<Arc<ChildShared>>,
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    me: None,
    parent: None,
    counter: 0,
    children: Vec::new(),
});

/// Locks the table. A panic while it was held cannot leave it torn (every
/// update is a single push, retain or assignment), so poison is ignored.
pub(crate) fn lock() -> MutexGuard<'static, Table> {
    TABLE.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Table {
    /// This process, filling in the main process on first use. Its pid is
    /// read again each time: a process forked by other means than mproc
    /// (a daemonizing double fork, say) inherits the table with its
    /// parent's pid, which its children would otherwise take for their
    /// parent's.
    pub(crate) fn me(&mut self) -> &ProcessInfo {
        let pid = mproc_sys::getpid();
        let me = self
            .me
            .get_or_insert_with(|| ProcessInfo::main_process(pid));
        me.pid = pid;
        me
    }

    pub(crate) fn parent(&self) -> Option<&ProcessInfo> {
        self.parent.as_ref()
    }

    /// The identity and default name of the next child.
    pub(crate) fn next_child(&mut self) -> (Vec<u32>, String) {
        self.counter += 1;
        let mut identity = self.me().identity.clone();
        identity.push(self.counter);
        let name = default_name(&identity);
        (identity, name)
    }

    /// Becomes the table of a new child process: `me` is the child, the
    /// former `me` its parent, and no children yet. The inherited children
    /// list is leaked, not dropped: its entries belong to the parent.
    pub(crate) fn become_child(&mut self, me: ProcessInfo, parent: ProcessInfo) {
        std::mem::forget(std::mem::take(&mut self.children));
        self.me = Some(me);
        self.parent = Some(parent);
        self.counter = 0;
    }
}
