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

use crate::harness::thread_rounds::{thread_rounds, together};
use crate::harness::throughput::{in_bytes, read_stamp, stamp};
use crate::harness::wait::Spinner;
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

/// Runs `$f::<M>($args)` with `M` the message type for `$size`-byte
/// messages: an array by value up to 1 KiB, a box above.
macro_rules! by_message_type {
    ($size:expr, $f:ident($($arg:expr),*)) => {
        match $size {
            8 => $f::<[u8; 8]>($($arg),*),
            64 => $f::<[u8; 64]>($($arg),*),
            1024 => $f::<[u8; 1024]>($($arg),*),
            _ => $f::<Box<[u8]>>($($arg),*),
        }
    };
}

/// Throughput of `n` messages of `size` bytes per repeat, copied.
///
/// # Errors
///
/// When a wait times out or the consumer sees a wrong message.
pub(crate) fn throughput(profile: &Profile, size: usize, n: usize) -> Result<Runs> {
    by_message_type!(size, throughput_of(profile, size, n))
}

fn throughput_of<M: Message>(profile: &Profile, size: usize, n: usize) -> Result<Runs> {
    let queue = ArrayQueue::<M>::new(Profile::capacity_for(size));
    let mut out = vec![0u8; size];
    let mut src = vec![1u8; size];
    thread_rounds(
        profile,
        n,
        size,
        in_bytes(size, false),
        || {
            let mut spinner = Spinner::new("a message");
            loop {
                match queue.pop() {
                    Some(msg) => {
                        out.copy_from_slice(msg.bytes());
                        return Ok(read_stamp(&out));
                    }
                    None => spinner.pause()?,
                }
            }
        },
        |seq| {
            stamp(&mut src, seq);
            push(&queue, M::copy_of(&src))
        },
    )
}

/// Pushes `msg`, waiting for room.
fn push<M: Message>(queue: &ArrayQueue<M>, msg: M) -> Result<()> {
    let mut spinner = Spinner::new("queue space");
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
    by_message_type!(size, mpmc_of(profile, size, n))
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
                    let src = vec![1u8; size];
                    ready.wait();
                    let start = Instant::now();
                    for _ in 0..per {
                        push(&queue, M::copy_of(&src))?;
                    }
                    Ok((start, Instant::now()))
                }));
                handles.push(s.spawn(|| -> Result<(Instant, Instant)> {
                    let mut out = vec![0u8; size];
                    ready.wait();
                    let start = Instant::now();
                    // A wait per message: one spinner for the whole drain
                    // would yield the core after every message once it had
                    // spun its window in all.
                    let mut spinner = Spinner::new("a message");
                    while consumed.load(Ordering::Relaxed) < 2 * per {
                        match queue.pop() {
                            Some(msg) => {
                                out.copy_from_slice(msg.bytes());
                                consumed.fetch_add(1, Ordering::Relaxed);
                                spinner.restart();
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
        let Some(took) = together(&spans) else {
            bail!("no thread ran");
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
