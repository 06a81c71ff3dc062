//! In-process ceiling for locks: `std::sync::Mutex` locked and unlocked by
//! one thread, contended by two threads incrementing a counter, and passed
//! between two threads taking strict turns.

use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};

use crate::harness::repeat::Repeats;
use crate::harness::thread_rounds::together;
use crate::harness::wait::WaitClock;
use crate::report::model::Runs;

/// Nanoseconds per lock + unlock, no contention.
///
/// # Errors
///
/// When the mutex is poisoned (never here).
pub(crate) fn uncontended(ops: usize, repeats: Repeats) -> Result<Runs> {
    let m = Mutex::new(0u64);
    repeats.run(|| {
        let t0 = Instant::now();
        for _ in 0..ops {
            let mut g = m.lock().map_err(|_| anyhow!("poisoned"))?;
            *g = std::hint::black_box(*g + 1);
        }
        Ok(t0.elapsed().as_nanos() as f64 / ops as f64)
    })
}

/// Runs `work` on two threads at once and returns how long they took
/// [`together`], once both were ready (thread start and exit are not
/// timed).
///
/// # Errors
///
/// The first error of either thread.
fn two_threads(work: impl Fn(usize) -> Result<()> + Sync) -> Result<Duration> {
    let ready = Barrier::new(2);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|me| {
                let (ready, work) = (&ready, &work);
                s.spawn(move || -> Result<(Instant, Instant)> {
                    ready.wait();
                    let start = Instant::now();
                    work(me)?;
                    Ok((start, Instant::now()))
                })
            })
            .collect();
        let spans = handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow!("thread panicked"))?)
            .collect::<Result<Vec<_>>>()?;
        together(&spans).ok_or_else(|| anyhow!("no thread ran"))
    })
}

/// Nanoseconds per acquisition with two threads each doing `ops`
/// lock + increment + unlock.
///
/// # Errors
///
/// When updates are lost (never, for a correct mutex).
pub(crate) fn contended(ops: usize, repeats: Repeats) -> Result<Runs> {
    repeats.run(|| {
        let m = Mutex::new(0u64);
        let took = two_threads(|_| {
            for _ in 0..ops {
                *m.lock().map_err(|_| anyhow!("poisoned"))? += 1;
            }
            Ok(())
        })?;
        let total = *m.lock().map_err(|_| anyhow!("poisoned"))?;
        if total != 2 * ops as u64 {
            bail!("lost updates: {total} != {}", 2 * ops);
        }
        Ok(took.as_nanos() as f64 / (2 * ops) as f64)
    })
}

/// Nanoseconds per handoff between two threads taking strict turns under
/// the mutex, `handoffs` turns in all. Each turn is awaited for at most
/// `WAIT_LIMIT`.
///
/// # Errors
///
/// When a turn does not come in time, or is lost (never, for a correct
/// mutex).
pub(crate) fn handoff(handoffs: usize, repeats: Repeats) -> Result<Runs> {
    let mine = handoffs / 2;
    repeats.run(|| {
        // (whose turn, turns taken)
        let m = Mutex::new((0usize, 0usize));
        let took = two_threads(|me| {
            let mut clock = WaitClock::new("the turn");
            let mut taken = 0;
            while taken < mine {
                let mut g = m.lock().map_err(|_| anyhow!("poisoned"))?;
                if g.0 == me {
                    g.0 = 1 - me;
                    g.1 += 1;
                    taken += 1;
                    drop(g);
                    clock.restart();
                } else {
                    drop(g);
                    clock.tick()?;
                }
            }
            Ok(())
        })?;
        let total = m.lock().map_err(|_| anyhow!("poisoned"))?.1;
        if total != 2 * mine {
            bail!("lost turns: {total} != {}", 2 * mine);
        }
        Ok(took.as_nanos() as f64 / (2 * mine) as f64)
    })
}
