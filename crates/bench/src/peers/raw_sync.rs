//! Peer for locks: `raw_sync`'s process-shared pthread mutex in shared
//! memory (not robust: a dead holder blocks everyone), run through the
//! shared lock protocol.

use anyhow::{Result, anyhow, bail};
use raw_sync::locks::{LockImpl, LockInit, Mutex};

use crate::harness::lock_protocol::SharedLock;
use crate::harness::shared::SharedBlock;

/// Bytes reserved for the mutex (a pthread mutex is 40 bytes on Linux).
const LOCK_BYTES: usize = 256;

/// A `raw_sync` mutex in an anonymous shared block, usable by children
/// forked after it was made (the handle's pointers are the same there).
pub(crate) struct RawSyncLock {
    lock: Box<dyn LockImpl>,
    _block: SharedBlock,
}

impl RawSyncLock {
    /// A new mutex in its own shared block.
    ///
    /// # Errors
    ///
    /// When the block or the mutex cannot be made.
    pub(crate) fn new() -> Result<RawSyncLock> {
        let block = SharedBlock::new(1, LOCK_BYTES + 64)?;
        let (mem, len) = block.extra();
        if len < LOCK_BYTES + 8 {
            bail!("shared block too small for the mutex");
        }
        // SAFETY: `mem` is LOCK_BYTES writable shared bytes reserved for the
        // mutex, followed by 8 bytes for the data it guards (unused here);
        // both stay mapped as long as `block`, which this value owns and
        // drops after the handle.
        let (lock, _) = unsafe { Mutex::new(mem, mem.add(LOCK_BYTES)) }
            .map_err(|e| anyhow!("raw_sync: {e}"))?;
        Ok(RawSyncLock {
            lock,
            _block: block,
        })
    }
}

impl SharedLock for RawSyncLock {
    /// Takes the lock with `lock()`, no time limit: raw_sync's timed lock
    /// reads the clock on every call (it makes an absolute deadline), which
    /// took its uncontended figure from 15 to 34 ns here. The protocol makes
    /// the limit unneeded: while another process can hold the lock, only
    /// forked children take it, and the harness kills them when they stop
    /// making progress (a holder that died), failing the row.
    fn with(&self, f: &mut dyn FnMut()) -> Result<()> {
        let guard = self
            .lock
            .lock()
            .map_err(|e| anyhow!("raw_sync lock: {e}"))?;
        f();
        drop(guard);
        Ok(())
    }
}
