//! One record per worker slot in shared memory: which chunk the worker is
//! running and which task of it, so that the parent can tell exactly which
//! task a dead worker took with it.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use mproc_shm::{Segment, ShmSafe};

use super::error::PoolError;

/// What a worker publishes about itself. Written only by the worker in the
/// slot (and reset by the parent before a new worker takes the slot);
/// read by the parent once the worker is dead.
#[repr(C, align(64))]
#[derive(Debug)]
pub(crate) struct WorkerRecord {
    /// `dispatch id + 1` of the chunk being run, 0 when idle.
    pub(crate) running: AtomicU64,
    /// Index within that chunk of the task being run; the chunk's length
    /// once all its tasks ran.
    pub(crate) progress: AtomicU32,
    /// 1 once the worker has initialized and waits for work.
    pub(crate) ready: AtomicU32,
}

// SAFETY: repr(C), atomics only (any bit pattern is valid), no pointers,
// no Drop; every mutation is atomic.
unsafe impl ShmSafe for WorkerRecord {}

const STRIDE: usize = std::mem::size_of::<WorkerRecord>();

/// The records of all worker slots, in an anonymous segment (fork) or a
/// named one (spawn).
#[derive(Debug)]
pub(crate) struct Records {
    segment: Segment,
    slots: usize,
}

impl Records {
    /// Records for `slots` workers; named if `name` is given.
    pub(crate) fn create(slots: usize, name: Option<&str>) -> Result<Records, PoolError> {
        let len = (slots * STRIDE) as u64;
        let segment = match name {
            Some(name) => Segment::create(name, len)?,
            None => Segment::anonymous(len)?,
        };
        Ok(Records { segment, slots })
    }

    /// Opens the named records of a spawned worker's pool.
    pub(crate) fn open(name: &str) -> Result<Records, PoolError> {
        let segment = Segment::open(name)?;
        let slots = segment.payload().len() / STRIDE;
        Ok(Records { segment, slots })
    }

    /// The record of `slot`.
    pub(crate) fn get(&self, slot: usize) -> Result<&WorkerRecord, PoolError> {
        if slot >= self.slots {
            return Err(PoolError::InvalidOption {
                option: "worker slot",
                value: slot,
            });
        }
        Ok(self
            .segment
            .payload()
            .get::<WorkerRecord>((slot * STRIDE) as u64)?)
    }

    /// What the record of a dead worker says: the chunk it was running and
    /// the task within it.
    pub(crate) fn last_words(&self, slot: usize) -> Option<(u64, u32)> {
        let r = self.get(slot).ok()?;
        // SYNC POINT with the worker's Release stores in `run_items` and
        // `worker::serve`; the worker is dead, so these are its last.
        let running = r.running.load(Ordering::Acquire);
        let progress = r.progress.load(Ordering::Acquire);
        running.checked_sub(1).map(|id| (id, progress))
    }

    /// Whether the worker in `slot` got as far as waiting for work.
    pub(crate) fn was_ready(&self, slot: usize) -> bool {
        self.get(slot)
            .is_ok_and(|r| r.ready.load(Ordering::Acquire) != 0)
    }

    /// Clears a slot's record for its next worker.
    pub(crate) fn reset(&self, slot: usize) {
        if let Ok(r) = self.get(slot) {
            r.running.store(0, Ordering::Release);
            r.progress.store(0, Ordering::Release);
            r.ready.store(0, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_cache_line_sized_and_start_idle() {
        assert_eq!(STRIDE, 64);
        let r = Records::create(3, None).unwrap();
        assert_eq!(r.last_words(2), None);
        r.get(2).unwrap().running.store(8, Ordering::Relaxed);
        r.get(2).unwrap().progress.store(4, Ordering::Relaxed);
        assert_eq!(r.last_words(2), Some((7, 4)));
        r.reset(2);
        assert_eq!(r.last_words(2), None);
        assert!(r.get(3).is_err());
    }
}
