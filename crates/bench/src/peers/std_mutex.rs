//! In-process ceiling for locks: `std::sync::Mutex` locked and unlocked by
//! one thread, and contended by two threads incrementing a counter.

use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::harness::thread_rounds::together;
use crate::report::model::Runs;

/// Nanoseconds per lock + unlock, no contention.
///
/// # Errors
///
/// When the mutex is poisoned (never here).
pub(crate) fn uncontended(ops: usize, repeats: usize) -> Result<Runs> {
    let m = Mutex::new(0u64);
    let once = || -> Result<f64> {
        let t0 = Instant::now();
        for _ in 0..ops {
            let mut g = m.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            *g = std::hint::black_box(*g + 1);
        }
        Ok(t0.elapsed().as_nanos() as f64 / ops as f64)
    };
    once()?;
    Ok(Runs((0..repeats).map(|_| once()).collect::<Result<_>>()?))
}

/// Runs `work` on two threads at once and returns how long they took
/// [`together`], once both were ready (thread start and exit are not
/// timed).
fn two_threads(work: impl Fn(usize) + Sync) -> Duration {
    let ready = Barrier::new(2);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|me| {
                let (ready, work) = (&ready, &work);
                s.spawn(move || {
                    ready.wait();
                    let start = Instant::now();
                    work(me);
                    (start, Instant::now())
                })
            })
            .collect();
        let spans: Vec<(Instant, Instant)> =
            handles.into_iter().filter_map(|h| h.join().ok()).collect();
        together(&spans).unwrap_or(Duration::ZERO)
    })
}

/// Nanoseconds per acquisition with two threads each doing `ops`
/// lock + increment + unlock.
///
/// # Errors
///
/// When updates are lost (never, for a correct mutex).
pub(crate) fn contended(ops: usize, repeats: usize) -> Result<Runs> {
    let once = || -> Result<f64> {
        let m = Mutex::new(0u64);
        let took = two_threads(|_| {
            for _ in 0..ops {
                if let Ok(mut g) = m.lock() {
                    *g += 1;
                }
            }
        });
        let total = *m.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        if total != 2 * ops as u64 {
            bail!("lost updates: {total} != {}", 2 * ops);
        }
        Ok(took.as_nanos() as f64 / (2 * ops) as f64)
    };
    once()?;
    Ok(Runs((0..repeats).map(|_| once()).collect::<Result<_>>()?))
}

/// Nanoseconds per handoff between two threads taking strict turns under
/// the mutex, `handoffs` turns in all.
///
/// # Errors
///
/// When a turn is lost (never, for a correct mutex).
pub(crate) fn handoff(handoffs: usize, repeats: usize) -> Result<Runs> {
    let mine = handoffs / 2;
    let once = || -> Result<f64> {
        // (whose turn, turns taken)
        let m = Mutex::new((0usize, 0usize));
        let took = two_threads(|me| {
            let mut taken = 0;
            while taken < mine {
                if let Ok(mut g) = m.lock()
                    && g.0 == me
                {
                    g.0 = 1 - me;
                    g.1 += 1;
                    taken += 1;
                }
            }
        });
        let total = m.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.1;
        if total != 2 * mine {
            bail!("lost turns: {total} != {}", 2 * mine);
        }
        Ok(took.as_nanos() as f64 / (2 * mine) as f64)
    };
    once()?;
    Ok(Runs((0..repeats).map(|_| once()).collect::<Result<_>>()?))
}
