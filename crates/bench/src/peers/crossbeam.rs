//! In-process ceiling: `crossbeam_queue::ArrayQueue` of owned byte buffers
//! between two threads. Each message is copied into a fresh `Vec` by the
//! producer and copied out by the consumer (a queue of values has no loan).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Result, bail};
use crossbeam_queue::ArrayQueue;

use crate::harness::throughput::{in_bytes, measure_rounds, read_stamp, stamp, stamp_matches};
use crate::harness::wait::{Deadline, spin_until};
use crate::profile::Profile;
use crate::report::model::Runs;

/// Throughput of `n` messages of `size` bytes per repeat, copied.
///
/// # Errors
///
/// When a wait times out or the consumer sees a wrong message.
pub(crate) fn throughput(profile: &Profile, size: usize, n: usize) -> Result<Runs> {
    let queue = ArrayQueue::<Vec<u8>>::new(Profile::capacity_for(size));
    let rounds = profile.repeats + 1;
    let done = AtomicUsize::new(0);
    let bad = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let consumer = s.spawn(|| -> Result<()> {
            crate::harness::pin::other_side();
            let deadline = Deadline::after_limit();
            let mut out = vec![0u8; size];
            let mut seq = 0u64;
            for round in 1..=rounds {
                for _ in 0..n {
                    seq += 1;
                    let mut msg = None;
                    spin_until(deadline, "a message", || {
                        msg = queue.pop();
                        msg.is_some()
                    })?;
                    let msg = msg.unwrap_or_default();
                    out.copy_from_slice(&msg);
                    if !stamp_matches(read_stamp(&out), seq, size) {
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                }
                done.store(round, Ordering::Release);
            }
            Ok(())
        });
        let mut src = vec![1u8; size];
        let mut seq = 0u64;
        let result = measure_rounds(profile.repeats, n, size, in_bytes(size, false), |r| {
            let deadline = Deadline::after_limit();
            let t0 = Instant::now();
            for _ in 0..n {
                seq += 1;
                stamp(&mut src, seq);
                let mut msg = Some(src.clone());
                spin_until(deadline, "queue space", || {
                    match queue.push(msg.take().unwrap_or_default()) {
                        Ok(()) => true,
                        Err(back) => {
                            msg = Some(back);
                            false
                        }
                    }
                })?;
            }
            // SYNC POINT with the consumer's Release store of `done`.
            spin_until(deadline, "the consumer", || {
                done.load(Ordering::Acquire) > r
            })?;
            Ok(t0.elapsed())
        });
        consumer
            .join()
            .map_err(|_| anyhow::anyhow!("consumer panicked"))??;
        if bad.load(Ordering::Relaxed) != 0 {
            bail!(
                "consumer saw {} wrong messages",
                bad.load(Ordering::Relaxed)
            );
        }
        result
    })
}

/// Messages per second through one `ArrayQueue` shared by 2 producer and 2
/// consumer threads, `n` messages of `size` bytes in all per repeat.
///
/// # Errors
///
/// When a wait times out.
pub(crate) fn mpmc(profile: &Profile, size: usize, n: usize) -> Result<Runs> {
    let once = || -> Result<f64> {
        let queue = ArrayQueue::<Vec<u8>>::new(Profile::capacity_for(size));
        let consumed = AtomicUsize::new(0);
        let per = n / 2;
        let t0 = Instant::now();
        std::thread::scope(|s| -> Result<()> {
            let mut handles = Vec::new();
            for _ in 0..2 {
                handles.push(s.spawn(|| -> Result<()> {
                    let deadline = Deadline::after_limit();
                    let src = vec![1u8; size];
                    for _ in 0..per {
                        let mut msg = Some(src.clone());
                        spin_until(deadline, "queue space", || {
                            match queue.push(msg.take().unwrap_or_default()) {
                                Ok(()) => true,
                                Err(back) => {
                                    msg = Some(back);
                                    false
                                }
                            }
                        })?;
                    }
                    Ok(())
                }));
                handles.push(s.spawn(|| -> Result<()> {
                    let deadline = Deadline::after_limit();
                    let mut out = vec![0u8; size];
                    spin_until(deadline, "the other consumer", || {
                        if let Some(msg) = queue.pop() {
                            out.copy_from_slice(&msg);
                            consumed.fetch_add(1, Ordering::Relaxed);
                        }
                        consumed.load(Ordering::Relaxed) >= 2 * per
                    })
                }));
            }
            for h in handles {
                h.join().map_err(|_| anyhow::anyhow!("thread panicked"))??;
            }
            Ok(())
        })?;
        Ok((2 * per) as f64 / t0.elapsed().as_secs_f64().max(1e-9))
    };
    once()?;
    Ok(Runs(
        (0..profile.repeats)
            .map(|_| once())
            .collect::<Result<_>>()?,
    ))
}
