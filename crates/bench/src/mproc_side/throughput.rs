//! mproc one-way throughput: the harness process produces, a forked child
//! consumes. Copied: `send(&msg)` and `recv_into(&mut buf)`. Loaned:
//! `loan()` + write the 8-byte stamp in place + `commit(size)`, and
//! `recv_ref()` read in place.

use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Result, bail};

use crate::harness::fork::fork_child;
use crate::harness::shared::SharedBlock;
use crate::harness::throughput::{in_bytes, measure_rounds, read_stamp, stamp, stamp_matches};
use crate::harness::wait::{WAIT_LIMIT, spin_until};
use crate::mproc_side::queues::{AnyQueue, Flavor};
use crate::profile::Profile;
use crate::report::model::Runs;

/// Throughput of `n` messages of `size` bytes per repeat through a queue of
/// `flavor` with as many slots as every other ring at this size.
///
/// # Errors
///
/// When the queue, the fork or a transfer fails, or a message is wrong.
pub(crate) fn one_way(
    profile: &Profile,
    flavor: Flavor,
    size: usize,
    n: usize,
    loaned: bool,
) -> Result<Runs> {
    let queue = AnyQueue::new(flavor, Profile::capacity_for(size), size)?;
    let block = SharedBlock::new(1, 0)?;
    let done = block.word(0);
    let rounds = (profile.repeats + 1) as u64;
    let child = fork_child(|| {
        let mut rx = queue.consumer()?;
        let mut out = vec![0u8; size];
        let mut seq = 0u64;
        for round in 1..=rounds {
            for _ in 0..n {
                seq += 1;
                let got = if loaned {
                    read_stamp(&rx.recv_ref_timeout(WAIT_LIMIT)?)
                } else {
                    let len = rx.recv_into(&mut out)?;
                    if len != size {
                        bail!("message {seq} has {len} bytes, not {size}");
                    }
                    read_stamp(&out)
                };
                if !stamp_matches(got, seq, size) {
                    bail!("message {seq} out of order");
                }
            }
            done.store(round, Ordering::Release);
        }
        Ok(())
    })?;
    let mut tx = queue.producer()?;
    let mut src = vec![1u8; size];
    let mut seq = 0u64;
    let runs = measure_rounds(profile.repeats, n, size, in_bytes(size, loaned), |r| {
        let t0 = Instant::now();
        for _ in 0..n {
            seq += 1;
            if loaned {
                let mut slot = tx.loan()?;
                stamp(&mut slot[..size], seq);
                slot.commit(size)?;
            } else {
                stamp(&mut src, seq);
                tx.send(&src)?;
            }
        }
        // SYNC POINT with the consumer's Release store of `done`.
        spin_until("the consumer", || done.load(Ordering::Acquire) > r as u64)?;
        Ok(t0.elapsed())
    });
    let joined = child.join(WAIT_LIMIT);
    let runs = runs?;
    joined?;
    Ok(runs)
}
