//! [`ActingProcess`]: the process a queue handle acts for, taken up anew by
//! a handle copied into a forked child.

use mproc_sys::ProcessId;

/// The process a handle acts for (liveness comparisons, parked marks), and
/// the fork epoch it was found in.
///
/// A handle copied into a forked child takes up the child's identity at the
/// first [`adopt_if_forked`](Self::adopt_if_forked): its handle calls that
/// on the paths that wait and check peers (the only ones that act for a
/// process) and at its drop, never on a send or receive that succeeds at
/// once. Its record stands for the child once the parent has handed it
/// over (a `Process` body's capture, see
/// [`Records::hand_over`](crate::records::Records::hand_over)); a copy of a
/// handle its parent kept (a bare `fork`) shares the parent's record, as
/// before.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ActingProcess {
    id: ProcessId,
    /// The fork epoch `id` is of ([`mproc_sys::fork_epoch`]).
    epoch: u64,
}

impl ActingProcess {
    /// Acting for `id`, the calling process.
    pub(crate) fn new(id: ProcessId) -> ActingProcess {
        ActingProcess {
            id,
            epoch: mproc_sys::fork_epoch(),
        }
    }

    /// The process acted for, as last taken up.
    #[inline]
    pub(crate) fn id(&self) -> ProcessId {
        self.id
    }

    /// Takes up the calling process's identity if this is a forked copy.
    #[inline(always)]
    pub(crate) fn adopt_if_forked(&mut self) {
        if self.epoch != mproc_sys::fork_epoch() {
            self.adopt();
        }
    }

    #[cold]
    #[inline(never)]
    fn adopt(&mut self) {
        *self = ActingProcess::new(ProcessId::current_or_pid());
    }
}
