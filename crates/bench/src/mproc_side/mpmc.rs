//! mproc 2 × 2: two forked producer processes each send half of the
//! messages into one `Queue`, two forked consumer processes drain it until
//! the last producer to finish closes it. All four are started before the
//! clock and released together; the clock stops at the later consumer's
//! end, which it notes itself. The harness process sleeps meanwhile, on a
//! futex the consumers wake (as Python's parent sleeps in a pipe read),
//! taking no core from the four.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use mproc::queue::QueueError;

use crate::harness::fork::{ForkedChild, fork_child};
use crate::harness::shared::SharedBlock;
use crate::harness::wait::{WAIT_LIMIT, bump_and_wake, sleep_on, sleep_until, spin_until};
use crate::mproc_side::queues::{AnyQueue, Flavor};
use crate::profile::Profile;
use crate::report::model::Runs;

/// Messages per second, `n` messages of `size` bytes in all per repeat.
///
/// # Errors
///
/// When the queue, a fork or a transfer fails, or messages are lost.
pub(crate) fn two_by_two(profile: &Profile, size: usize, n: usize) -> Result<Runs> {
    let once = || -> Result<f64> {
        let queue = AnyQueue::new(Flavor::Mpmc, Profile::capacity_for(size), size)?;
        // Lines: 0 ready, 1 go, 2 producers done, 3 consumers done,
        // 4..6 messages each consumer received, 6..8 when each consumer
        // ended (nanoseconds since `base`).
        let block = SharedBlock::new(8, 0)?;
        // The monotonic clock is the same in every process: the children
        // note their end against this instant, taken before they fork.
        let base = Instant::now();
        let (ready, go, produced) = (block.word(0), block.word(1), block.word(2));
        let consumed = block.word32(3);
        let per = n / 2;
        let start = || {
            ready.fetch_add(1, Ordering::AcqRel);
            spin_until("the start", || go.load(Ordering::Acquire) == 1)
        };
        let mut children: Vec<ForkedChild> = Vec::new();
        for _ in 0..2 {
            children.push(fork_child(|| {
                let mut tx = queue.producer()?;
                let src = vec![1u8; size];
                start()?;
                for _ in 0..per {
                    tx.send(&src)?;
                }
                if produced.fetch_add(1, Ordering::AcqRel) == 1 {
                    // The last producer: consumers drain, then stop.
                    queue.close();
                }
                Ok(())
            })?);
        }
        for c in 0..2 {
            let (count, end) = (block.word(4 + c), block.word(6 + c));
            children.push(fork_child(|| {
                let mut rx = queue.consumer()?;
                let mut out = vec![0u8; size];
                start()?;
                let mut got = 0u64;
                loop {
                    match rx.recv_into(&mut out) {
                        Ok(_) => got += 1,
                        Err(QueueError::Closed) => break,
                        Err(e) => return Err(e.into()),
                    }
                }
                end.store(base.elapsed().as_nanos() as u64, Ordering::Relaxed);
                count.store(got, Ordering::Release);
                bump_and_wake(consumed);
                Ok(())
            })?);
        }
        sleep_until("four ready processes", || {
            ready.load(Ordering::Acquire) == 4
        })?;
        let start = base.elapsed();
        go.store(1, Ordering::Release);
        // SYNC POINT with the consumers' increments of `consumed`, after
        // their stores of `end` and `count`.
        sleep_on(consumed, 2, "the consumers", || 0)?;
        let end = (6..8)
            .map(|i| block.word(i).load(Ordering::Relaxed))
            .max()
            .unwrap_or_default();
        let took = Duration::from_nanos(end).saturating_sub(start);
        for child in children {
            child.join(WAIT_LIMIT)?;
        }
        let total = block.word(4).load(Ordering::Acquire) + block.word(5).load(Ordering::Acquire);
        if total != (2 * per) as u64 {
            bail!("consumers got {total} messages, not {}", 2 * per);
        }
        Ok((2 * per) as f64 / took.as_secs_f64().max(1e-9))
    };
    once()?;
    Ok(Runs(
        (0..profile.repeats)
            .map(|_| once())
            .collect::<Result<_>>()?,
    ))
}
