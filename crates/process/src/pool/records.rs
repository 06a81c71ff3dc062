//! One record per worker slot in shared memory: which chunk the worker is
//! running and which task of it, so that the parent can tell exactly which
//! task a dead worker took with it; and, after the records, one staging
//! area per slot where the worker mirrors the outcomes it has not sent
//! yet, so that the parent recovers them when the worker dies.

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
    /// What the staging area holds: its valid length in the low 32 bits,
    /// the number of outcomes in its last entry in the high 32 bits.
    pub(crate) staged: AtomicU64,
}

// SAFETY: repr(C), atomics only (any bit pattern is valid), no pointers,
// no Drop; every mutation is atomic.
unsafe impl ShmSafe for WorkerRecord {}

const STRIDE: usize = std::mem::size_of::<WorkerRecord>();

/// Bytes of staging per slot: unsent outcomes beyond this are not
/// mirrored (the worker sends early instead, see `worker::serve`).
pub(crate) const STAGE: usize = 1 << 20;

/// What a dead worker had staged: the body of the result message it had
/// not sent (entries as in `wire::result_entries`), and how many outcomes
/// the last entry holds (the others are whole).
#[derive(Debug, Default)]
pub(crate) struct Staged {
    pub(crate) body: Vec<u8>,
    pub(crate) last_count: u32,
}

/// A worker's writer of its staging area.
pub(crate) struct Stage<'a> {
    /// The records' payload, resolved once (a commit per task must not
    /// pay for it).
    region: mproc_shm::Region<'a>,
    record: &'a WorkerRecord,
    base: u64,
    /// Bytes of the message body already copied.
    copied: std::cell::Cell<usize>,
    /// Where in the message the open entry's outcomes start.
    entry: std::cell::Cell<usize>,
    /// The unsent outcomes outgrew the area; nothing more is staged until
    /// they are sent.
    overflow: std::cell::Cell<bool>,
}

impl Stage<'_> {
    /// Notes that the entry whose outcomes start at `start` of the message
    /// is the open one.
    pub(crate) fn open_entry(&self, start: usize) {
        self.entry.set(start);
    }

    /// Mirrors `msg` (a result message: its kind byte, then the body) with
    /// `tasks` outcomes in its open entry, then publishes it.
    pub(crate) fn commit(&self, msg: &[u8], tasks: u32) {
        let body_len = msg.len().saturating_sub(1);
        if self.overflow.get() || body_len > STAGE {
            self.overflow.set(true);
            return;
        }
        let copied = self.copied.get().min(body_len);
        let fresh = msg.get(1 + copied..).unwrap_or_default();
        let entry = self.entry.get();
        let len = (msg.len().saturating_sub(entry) as u32).to_le_bytes();
        let region = self.region;
        let ok = region.write_bytes(self.base + copied as u64, fresh).is_ok()
            && (entry < 5
                || region
                    .write_bytes(self.base + (entry - 5) as u64, &len)
                    .is_ok());
        if !ok {
            self.overflow.set(true);
            return;
        }
        self.copied.set(body_len);
        // SYNC POINT with `Records::staged` in the parent after this
        // process died: the bytes above are written.
        self.record.staged.store(
            body_len as u64 | (u64::from(tasks) << 32),
            Ordering::Release,
        );
    }

    /// Whether unsent outcomes went beyond what could be staged.
    pub(crate) fn overflowed(&self) -> bool {
        self.overflow.get()
    }

    /// The staged outcomes were sent: start over.
    pub(crate) fn clear(&self) {
        self.record.staged.store(0, Ordering::Release);
        self.copied.set(0);
        self.overflow.set(false);
    }
}

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
        let len = (slots * (STRIDE + STAGE)) as u64;
        let segment = match name {
            Some(name) => Segment::create(name, len)?,
            None => Segment::anonymous(len)?,
        };
        Ok(Records { segment, slots })
    }

    /// Opens the named records of a spawned worker's pool.
    pub(crate) fn open(name: &str) -> Result<Records, PoolError> {
        let segment = Segment::open(name)?;
        let slots = segment.payload().len() / (STRIDE + STAGE);
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

    /// The staging writer of `slot` (in its worker).
    pub(crate) fn stage(&self, slot: usize) -> Result<Stage<'_>, PoolError> {
        let record = self.get(slot)?;
        let stage = Stage {
            region: self.segment.payload(),
            record,
            base: (self.slots * STRIDE + slot * STAGE) as u64,
            copied: std::cell::Cell::new(0),
            entry: std::cell::Cell::new(0),
            overflow: std::cell::Cell::new(false),
        };
        stage.clear();
        Ok(stage)
    }

    /// What a dead worker had staged and not sent.
    pub(crate) fn staged(&self, slot: usize) -> Staged {
        let Ok(r) = self.get(slot) else {
            return Staged::default();
        };
        // SYNC POINT with `Stage::commit`; the worker is dead.
        let word = r.staged.load(Ordering::Acquire);
        let len = (word as u32 as usize).min(STAGE);
        let mut body = vec![0; len];
        let base = (self.slots * STRIDE + slot * STAGE) as u64;
        if self.segment.payload().read_bytes(base, &mut body).is_err() {
            return Staged::default();
        }
        Staged {
            body,
            last_count: (word >> 32) as u32,
        }
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
            r.staged.store(0, Ordering::Release);
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

    #[test]
    fn staged_outcomes_round_trip() {
        let r = Records::create(2, None).unwrap();
        let stage = r.stage(1).unwrap();
        let mut msg = vec![1u8];
        let start = crate::pool::wire::begin_outcomes(7, &mut msg);
        stage.open_entry(start);
        msg.push(0xAA);
        stage.commit(&msg, 1);
        msg.push(0xBB);
        stage.commit(&msg, 2);
        let got = r.staged(1);
        assert_eq!(got.last_count, 2);
        let entries: Vec<_> = crate::pool::wire::result_entries(&got.body).collect();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].0, 7);
        assert_eq!(&got.body[entries[0].1.clone()], &[0xAA, 0xBB]);
        assert!(r.staged(0).body.is_empty());
        stage.clear();
        assert!(r.staged(1).body.is_empty());
    }
}
