//! Peer for locks: `raw_sync`'s process-shared pthread mutex in shared
//! memory, locked by one process, and contended by two processes
//! incrementing a counter that lives next to it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Result, anyhow, bail};
use raw_sync::locks::{LockImpl, LockInit, Mutex};

use crate::harness::fork::fork_child;
use crate::harness::shared::SharedBlock;
use crate::harness::wait::{Deadline, WAIT_LIMIT, spin_until};
use crate::report::model::Runs;

/// Bytes reserved for the mutex (a pthread mutex is 40 bytes on Linux).
const LOCK_BYTES: usize = 256;

/// Opens the mutex laid at the start of `block`'s extra bytes; the counter
/// it guards is the `u64` right after [`LOCK_BYTES`].
fn attach(block: &SharedBlock, create: bool) -> Result<Box<dyn LockImpl>> {
    let (mem, len) = block.extra();
    if len < LOCK_BYTES + 8 {
        bail!("shared block too small for the mutex");
    }
    // SAFETY: `mem` is LOCK_BYTES writable shared bytes reserved for the
    // mutex, followed by 8 bytes for the data it guards; both stay mapped
    // for as long as `block` lives, which outlives the returned handle.
    let made = unsafe {
        let data = mem.add(LOCK_BYTES);
        if create {
            Mutex::new(mem, data)
        } else {
            Mutex::from_existing(mem, data)
        }
    };
    made.map(|(lock, _)| lock)
        .map_err(|e| anyhow!("raw_sync: {e}"))
}

/// The counter guarded by the mutex.
fn counter(block: &SharedBlock) -> &AtomicU64 {
    let (mem, _) = block.extra();
    // SAFETY: the 8 bytes after LOCK_BYTES are in the block, 8-byte aligned
    // (the extra bytes start on a cache line), zeroed, and only used as an
    // AtomicU64; they live as long as `block`.
    unsafe { &*(mem.add(LOCK_BYTES) as *const AtomicU64) }
}

/// Lock, increment the counter (relaxed: the mutex orders it), unlock.
fn bump(lock: &dyn LockImpl, count: &AtomicU64) -> Result<()> {
    let guard = lock.lock().map_err(|e| anyhow!("raw_sync lock: {e}"))?;
    count.store(count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    drop(guard);
    Ok(())
}

/// Nanoseconds per lock + unlock, one process.
///
/// # Errors
///
/// When the mutex cannot be made.
pub(crate) fn uncontended(ops: usize, repeats: usize) -> Result<Runs> {
    let block = SharedBlock::new(1, LOCK_BYTES + 64)?;
    let lock = attach(&block, true)?;
    let count = counter(&block);
    let once = || -> Result<f64> {
        let t0 = Instant::now();
        for _ in 0..ops {
            bump(lock.as_ref(), count)?;
        }
        Ok(t0.elapsed().as_nanos() as f64 / ops as f64)
    };
    once()?;
    Ok(Runs((0..repeats).map(|_| once()).collect::<Result<_>>()?))
}

/// Nanoseconds per acquisition with two processes each doing `ops`
/// lock + increment + unlock.
///
/// # Errors
///
/// When a process fails or updates are lost.
pub(crate) fn contended(ops: usize, repeats: usize) -> Result<Runs> {
    let block = SharedBlock::new(2, LOCK_BYTES + 64)?;
    let lock = attach(&block, true)?;
    let count = counter(&block);
    let (go, done) = (block.word(0), block.word(1));
    let rounds = repeats as u64 + 1;
    let child = fork_child(|| {
        let lock = attach(&block, false)?;
        let deadline = Deadline::after_limit();
        for r in 1..=rounds {
            spin_until(deadline, "the start signal", || {
                go.load(Ordering::Acquire) >= r
            })?;
            for _ in 0..ops {
                bump(lock.as_ref(), count)?;
            }
            done.store(r, Ordering::Release);
        }
        Ok(())
    })?;
    let mut runs = Vec::new();
    for r in 1..=rounds {
        count.store(0, Ordering::Relaxed);
        let t0 = Instant::now();
        go.store(r, Ordering::Release);
        for _ in 0..ops {
            bump(lock.as_ref(), count)?;
        }
        spin_until(Deadline::after_limit(), "the other process", || {
            done.load(Ordering::Acquire) >= r
        })?;
        let took = t0.elapsed();
        let total = count.load(Ordering::Relaxed);
        if total != 2 * ops as u64 {
            bail!("lost updates: {total} != {}", 2 * ops);
        }
        if r > 1 {
            runs.push(took.as_nanos() as f64 / (2 * ops) as f64);
        }
    }
    child.join(WAIT_LIMIT)?;
    Ok(Runs(runs))
}
