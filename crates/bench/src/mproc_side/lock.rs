//! mproc's `Lock` (robust, process-shared) through the shared lock protocol.

use anyhow::{Result, anyhow};
use mproc::Lock;

use crate::harness::lock_protocol::SharedLock;

/// An mproc `Lock` in an anonymous segment, shared with forked children.
pub(crate) struct MprocLock(pub(crate) Lock);

impl MprocLock {
    /// A new lock.
    ///
    /// # Errors
    ///
    /// When the segment cannot be made.
    pub(crate) fn new() -> Result<MprocLock> {
        Ok(MprocLock(Lock::new()?))
    }
}

impl SharedLock for MprocLock {
    fn with(&self, f: &mut dyn FnMut()) -> Result<()> {
        // No holder dies here; a dead holder would be an error of the run.
        let guard = self.0.lock().map_err(|_| anyhow!("a lock holder died"))?;
        f();
        drop(guard);
        Ok(())
    }
}
