//! In-process ceiling: `crossbeam_queue::ArrayQueue` of messages between
//! threads. Each message is copied into the queue by the producer and
//! copied out by the consumer (a queue of values has no loan). Messages of
//! up to 1 KiB are byte arrays, moved by value without allocation; larger
//! ones are boxed (a megabyte array by value would cross the stack), where
//! an allocation per message costs little next to its copy.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Result, bail};
use crossbeam_queue::ArrayQueue;

use crate::harness::throughput::{in_bytes, measure_rounds, read_stamp, stamp, stamp_matches};
use crate::harness::wait::{Deadline, Spinner, spin_until};
use crate::profile::Profile;
use crate::report::model::Runs;

/// A message as the queue holds it.
trait Message: Send + Sized {
    /// A copy of `src` (`size` bytes).
    fn copy_of(src: &[u8]) -> Self;
    /// Its bytes.
    fn bytes(&self) -> &[u8];
}

impl<const N: usize> Message for [u8; N] {
    #[inline]
    fn copy_of(src: &[u8]) -> Self {
        let mut m = [0u8; N];
        m.copy_from_slice(src);
        m
    }
    #[inline]
    fn bytes(&self) -> &[u8] {
        self
    }
}

impl Message for Box<[u8]> {
    fn copy_of(src: &[u8]) -> Self {
        src.into()
    }
    fn bytes(&self) -> &[u8] {
        self
    }
}

/// Throughput of `n` messages of `size` bytes per repeat, copied.
///
/// # Errors
///
/// When a wait times out or the consumer sees a wrong message.
pub(crate) fn throughput(profile: &Profile, size: usize, n: usize) -> Result<Runs> {
    match size {
        8 => throughput_of::<[u8; 8]>(profile, size, n),
        64 => throughput_of::<[u8; 64]>(profile, size, n),
        1024 => throughput_of::<[u8; 1024]>(profile, size, n),
        _ => throughput_of::<Box<[u8]>>(profile, size, n),
    }
}

fn throughput_of<M: Message>(profile: &Profile, size: usize, n: usize) -> Result<Runs> {
    let queue = ArrayQueue::<M>::new(Profile::capacity_for(size));
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
                    let Some(msg) = msg else {
                        bail!("a message vanished");
                    };
                    out.copy_from_slice(msg.bytes());
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
                push(&queue, M::copy_of(&src), deadline)?;
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

/// Pushes `msg`, waiting for room.
fn push<M: Message>(queue: &ArrayQueue<M>, msg: M, deadline: Deadline) -> Result<()> {
    let mut spinner = Spinner::new(deadline, "queue space");
    let mut msg = msg;
    loop {
        match queue.push(msg) {
            Ok(()) => return Ok(()),
            Err(back) => {
                msg = back;
                spinner.pause()?;
            }
        }
    }
}

/// Messages per second through one `ArrayQueue` shared by 2 producer and 2
/// consumer threads, `n` messages of `size` bytes in all per repeat.
///
/// # Errors
///
/// When a wait times out.
pub(crate) fn mpmc(profile: &Profile, size: usize, n: usize) -> Result<Runs> {
    match size {
        8 => mpmc_of::<[u8; 8]>(profile, size, n),
        64 => mpmc_of::<[u8; 64]>(profile, size, n),
        1024 => mpmc_of::<[u8; 1024]>(profile, size, n),
        _ => mpmc_of::<Box<[u8]>>(profile, size, n),
    }
}

fn mpmc_of<M: Message>(profile: &Profile, size: usize, n: usize) -> Result<Runs> {
    let once = || -> Result<f64> {
        let queue = ArrayQueue::<M>::new(Profile::capacity_for(size));
        let consumed = AtomicUsize::new(0);
        let per = n / 2;
        // Timed from the first thread's start, once all four were ready,
        // to the last one's end, as the processes of the other systems:
        // spawning and joining the threads is not timed.
        let ready = std::sync::Barrier::new(4);
        let spans = std::thread::scope(|s| -> Result<Vec<(Instant, Instant)>> {
            let mut handles = Vec::new();
            for _ in 0..2 {
                handles.push(s.spawn(|| -> Result<(Instant, Instant)> {
                    let deadline = Deadline::after_limit();
                    let src = vec![1u8; size];
                    ready.wait();
                    let start = Instant::now();
                    for _ in 0..per {
                        push(&queue, M::copy_of(&src), deadline)?;
                    }
                    Ok((start, Instant::now()))
                }));
                handles.push(s.spawn(|| -> Result<(Instant, Instant)> {
                    let deadline = Deadline::after_limit();
                    let mut out = vec![0u8; size];
                    ready.wait();
                    let start = Instant::now();
                    // A wait per message: one spinner for the whole drain
                    // would yield the core after every message once it had
                    // spun a few thousand times in all.
                    let mut spinner = Spinner::new(deadline, "a message");
                    while consumed.load(Ordering::Relaxed) < 2 * per {
                        match queue.pop() {
                            Some(msg) => {
                                out.copy_from_slice(msg.bytes());
                                consumed.fetch_add(1, Ordering::Relaxed);
                                spinner = Spinner::new(deadline, "a message");
                            }
                            None => spinner.pause()?,
                        }
                    }
                    Ok((start, Instant::now()))
                }));
            }
            handles
                .into_iter()
                .map(|h| h.join().map_err(|_| anyhow::anyhow!("thread panicked"))?)
                .collect()
        })?;
        let start = spans.iter().map(|s| s.0).min();
        let end = spans.iter().map(|s| s.1).max();
        let took = match (start, end) {
            (Some(a), Some(b)) => b.saturating_duration_since(a),
            _ => bail!("no thread ran"),
        };
        Ok((2 * per) as f64 / took.as_secs_f64().max(1e-9))
    };
    once()?;
    Ok(Runs(
        (0..profile.repeats)
            .map(|_| once())
            .collect::<Result<_>>()?,
    ))
}
