//! The lock scenario's protocol, the same for every cross-process lock:
//! uncontended lock+unlock (in the harness process); two processes
//! contending (each `ops` lock + increment + unlock); and strict handoffs
//! (two processes take turns: each locks, and if it is its turn, passes the
//! turn, so every counted step is the lock changing hands). The two
//! processes are forked children, and the harness sleeps while they run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Result, bail};

use crate::harness::fork::fork_child;
use crate::harness::repeat::Repeats;
use crate::harness::shared::SharedBlock;
use crate::harness::wait::{WAIT_LIMIT, WaitClock, bump_and_wake, sleep_on, spin_until};
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
pub(crate) fn uncontended(lock: &dyn SharedLock, ops: usize, repeats: Repeats) -> Result<Runs> {
    let block = SharedBlock::new(1, 0)?;
    let count = block.word(0);
    repeats.run(|| {
        let t0 = Instant::now();
        for _ in 0..ops {
            lock.with(&mut || bump(count))?;
        }
        Ok(t0.elapsed().as_nanos() as f64 / ops as f64)
    })
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
pub(crate) fn contended(lock: &dyn SharedLock, ops: usize, repeats: Repeats) -> Result<Runs> {
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
pub(crate) fn handoff(lock: &dyn SharedLock, handoffs: usize, repeats: Repeats) -> Result<Runs> {
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

/// Runs `work(count, turn, me)` in two forked children (`me` = 0 and 1) at
/// once, in rounds (a warm-up, then `repeats`); nanoseconds per unit of
/// `expected` (the final count), from the earlier child's start to the
/// later one's end, each noted by the child itself.
///
/// The harness process only sleeps meanwhile: it never waits on the shared
/// lock, so a holder that dies (raw_sync's lock then stays locked forever)
/// stalls only the other child, which is killed once the count has not
/// moved for [`WAIT_LIMIT`], and the row fails.
fn two_processes(
    repeats: Repeats,
    expected: u64,
    work: impl Fn(&AtomicU64, &AtomicU64, u64) -> Result<()>,
) -> Result<Runs> {
    // Lines: 0 count, 1 turn, 2 go (round, or STOP), 3 rounds finished (both
    // children's, in all), 4..6 when each child started its round and
    // 6..8 when it ended (nanoseconds since `base`).
    let block = SharedBlock::new(8, 0)?;
    let (count, turn, go) = (block.word(0), block.word(1), block.word(2));
    let finished = block.word32(3);
    // The monotonic clock is the same in every process: the children note
    // their times against this instant, taken before they fork.
    let base = Instant::now();
    let mut children = Vec::new();
    for me in 0..2u64 {
        let work = &work;
        let (started, ended) = (block.word(4 + me as usize), block.word(6 + me as usize));
        children.push(fork_child(move || {
            for r in 1.. {
                // SYNC POINT with the harness's Release store of `go`,
                // after its resets of `count` and `turn`.
                spin_until("the start", || go.load(Ordering::Acquire) >= r)?;
                if go.load(Ordering::Relaxed) == STOP {
                    break;
                }
                started.store(base.elapsed().as_nanos() as u64, Ordering::Relaxed);
                work(count, turn, me)?;
                ended.store(base.elapsed().as_nanos() as u64, Ordering::Relaxed);
                bump_and_wake(finished);
            }
            Ok(())
        })?);
    }
    let mut r = 0u64;
    let runs = repeats.run(|| {
        r += 1;
        count.store(0, Ordering::Relaxed);
        turn.store(0, Ordering::Relaxed);
        go.store(r, Ordering::Release);
        // SYNC POINT with the children's increments of `finished`, after
        // their stores of `started` and `ended`.
        sleep_on(finished, 2 * r as u32, "the two processes", || {
            count.load(Ordering::Relaxed)
        })?;
        let total = count.load(Ordering::Relaxed);
        if total != expected {
            bail!("lost updates: {total} != {expected}");
        }
        let times = |first: usize| [4, 5].map(|i| block.word(i + first).load(Ordering::Relaxed));
        let (start, end) = (times(0), times(2));
        let took = end[0].max(end[1]).saturating_sub(start[0].min(start[1]));
        Ok(took as f64 / expected as f64)
    });
    go.store(STOP, Ordering::Release);
    // On an error the children are killed (dropped), not awaited.
    let runs = runs?;
    for child in children {
        child.join(WAIT_LIMIT)?;
    }
    Ok(runs)
}

/// The value of `go` that ends the children's rounds.
const STOP: u64 = u64::MAX;
