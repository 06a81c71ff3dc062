//! mproc 2 × 2: two forked producer processes each send half of the
//! messages into one `Queue`, two forked consumer processes drain it until
//! the harness closes it after both producers finished. All four are
//! started before the clock and released together.

use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Result, bail};
use mproc::queue::QueueError;

use crate::harness::fork::{ForkedChild, fork_child};
use crate::harness::shared::SharedBlock;
use crate::harness::wait::{WAIT_LIMIT, spin_until};
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
        // 4..6 messages each consumer received.
        let block = SharedBlock::new(6, 0)?;
        let (ready, go, produced, consumed) =
            (block.word(0), block.word(1), block.word(2), block.word(3));
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
                produced.fetch_add(1, Ordering::AcqRel);
                Ok(())
            })?);
        }
        for c in 0..2 {
            let count = block.word(4 + c);
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
                count.store(got, Ordering::Release);
                consumed.fetch_add(1, Ordering::AcqRel);
                Ok(())
            })?);
        }
        spin_until("four ready processes", || {
            ready.load(Ordering::Acquire) == 4
        })?;
        let t0 = Instant::now();
        go.store(1, Ordering::Release);
        spin_until("the producers", || produced.load(Ordering::Acquire) == 2)?;
        queue.close();
        spin_until("the consumers", || consumed.load(Ordering::Acquire) == 2)?;
        let took = t0.elapsed();
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
