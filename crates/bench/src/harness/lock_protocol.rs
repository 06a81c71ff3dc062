//! The lock scenario's protocol, the same for every cross-process lock:
//! uncontended lock+unlock; two processes contending (each `ops` lock +
//! increment + unlock); and strict handoffs (two processes take turns: each
//! locks, and if it is its turn, passes the turn, so every counted step is
//! the lock changing hands).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Result, bail};

use crate::harness::fork::fork_child;
use crate::harness::shared::SharedBlock;
use crate::harness::wait::{WAIT_LIMIT, WaitClock, spin_until};
use crate::report::model::Runs;

/// A lock usable from the harness process and from its forked children
/// (a handle inherited across fork).
pub(crate) trait SharedLock {
    /// Runs `f` while holding the lock.
    ///
    /// # Errors
    ///
    /// When the lock cannot be taken.
    fn with(&self, f: &mut dyn FnMut()) -> Result<()>;
}

/// Nanoseconds per lock + unlock, one process, no contention.
///
/// # Errors
///
/// When the lock fails.
pub(crate) fn uncontended(lock: &dyn SharedLock, ops: usize, repeats: usize) -> Result<Runs> {
    let block = SharedBlock::new(1, 0)?;
    let count = block.word(0);
    let once = || -> Result<f64> {
        let t0 = Instant::now();
        for _ in 0..ops {
            lock.with(&mut || bump(count))?;
        }
        Ok(t0.elapsed().as_nanos() as f64 / ops as f64)
    };
    once()?;
    Ok(Runs((0..repeats).map(|_| once()).collect::<Result<_>>()?))
}

/// Relaxed increment: the lock orders it.
fn bump(count: &AtomicU64) {
    count.store(count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// Nanoseconds per acquisition, two processes each doing `ops`
/// lock + increment + unlock at once; checks that no update was lost.
///
/// # Errors
///
/// When a process fails or updates are lost.
pub(crate) fn contended(lock: &dyn SharedLock, ops: usize, repeats: usize) -> Result<Runs> {
    two_processes(repeats, 2 * ops as u64, |count, _turn, _me| {
        for _ in 0..ops {
            lock.with(&mut || bump(count))?;
        }
        Ok(())
    })
}

/// Nanoseconds per handoff: two processes take `handoffs` turns in all,
/// strictly alternating, each turn taken and passed under the lock.
///
/// # Errors
///
/// When a process fails or a wait times out.
pub(crate) fn handoff(lock: &dyn SharedLock, handoffs: usize, repeats: usize) -> Result<Runs> {
    let mine = handoffs / 2;
    two_processes(repeats, 2 * mine as u64, |count, turn, me| {
        let mut clock = WaitClock::new("the turn");
        let mut taken = 0;
        while taken < mine {
            let mut mine_now = false;
            lock.with(&mut || {
                if turn.load(Ordering::Relaxed) == me {
                    turn.store(1 - me, Ordering::Relaxed);
                    bump(count);
                    mine_now = true;
                }
            })?;
            if mine_now {
                taken += 1;
                clock.restart();
            } else {
                clock.tick()?;
            }
        }
        Ok(())
    })
}

/// Runs `work(count, turn, me)` in this process (`me` = 0) and a forked
/// child (`me` = 1) at once, `repeats` + 1 times (the first is warm-up);
/// nanoseconds per unit of `expected` (the final count).
fn two_processes(
    repeats: usize,
    expected: u64,
    work: impl Fn(&AtomicU64, &AtomicU64, u64) -> Result<()>,
) -> Result<Runs> {
    // Lines: 0 count, 1 turn, 2 go (round), 3 done (round).
    let block = SharedBlock::new(4, 0)?;
    let (count, turn, go, done) = (block.word(0), block.word(1), block.word(2), block.word(3));
    let rounds = repeats as u64 + 1;
    let child = fork_child(|| {
        for r in 1..=rounds {
            spin_until("the start", || go.load(Ordering::Acquire) >= r)?;
            work(count, turn, 1)?;
            done.store(r, Ordering::Release);
        }
        Ok(())
    })?;
    let mut runs = Vec::new();
    for r in 1..=rounds {
        count.store(0, Ordering::Relaxed);
        turn.store(0, Ordering::Relaxed);
        let t0 = Instant::now();
        go.store(r, Ordering::Release);
        work(count, turn, 0)?;
        spin_until("the other process", || done.load(Ordering::Acquire) >= r)?;
        let took = t0.elapsed();
        let total = count.load(Ordering::Relaxed);
        if total != expected {
            bail!("lost updates: {total} != {expected}");
        }
        if r > 1 {
            runs.push(took.as_nanos() as f64 / expected as f64);
        }
    }
    child.join(WAIT_LIMIT)?;
    Ok(Runs(runs))
}
