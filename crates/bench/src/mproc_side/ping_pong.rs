//! mproc ping-pong: 8-byte messages there and back through two SPSC queues,
//! two MPMC queues, or a `Pipe` (two SPSC rings in one segment), the child
//! forked after the queues were made. Receives read in place (`recv_ref`).

use std::sync::atomic::Ordering;

use anyhow::{Result, bail};
use mproc::queue::Pipe;

use crate::harness::context::Figures;
use crate::harness::fork::fork_child;
use crate::harness::latency::measure_round_trips;
use crate::harness::shared::SharedBlock;
use crate::harness::throughput::{read_stamp, stamp};
use crate::harness::wait::{WAIT_LIMIT, spin_until};
use crate::mproc_side::queues::{AnyQueue, Flavor};
use crate::profile::Profile;

/// Ping-pong through two queues of `flavor`.
///
/// # Errors
///
/// When a queue, the fork or a transfer fails.
pub(crate) fn queues(profile: &Profile, flavor: Flavor) -> Result<Figures> {
    let ping = AnyQueue::new(flavor, 16, 8)?;
    let pong = AnyQueue::new(flavor, 16, 8)?;
    let block = SharedBlock::new(1, 0)?;
    let ready = block.word(0);
    let total = (profile.round_trips * (profile.repeats + 1)) as u64;
    let child = fork_child(|| {
        let mut rx = ping.consumer()?;
        let mut tx = pong.producer()?;
        ready.store(1, Ordering::Release);
        let mut msg = [0u8; 8];
        for _ in 0..total {
            msg.copy_from_slice(&rx.recv_ref_timeout(WAIT_LIMIT)?);
            tx.send(&msg)?;
        }
        Ok(())
    })?;
    let mut tx = ping.producer()?;
    let mut rx = pong.consumer()?;
    spin_until("the child's handles", || ready.load(Ordering::Acquire) == 1)?;
    let mut msg = [0u8; 8];
    let figures = measure_round_trips(profile.round_trips, profile.repeats, |seq| {
        stamp(&mut msg, seq);
        tx.send(&msg)?;
        if read_stamp(&rx.recv_ref_timeout(WAIT_LIMIT)?) != seq {
            bail!("pong carried the wrong sequence number");
        }
        Ok(())
    });
    let joined = child.join(WAIT_LIMIT);
    let figures = figures?;
    joined?;
    Ok(figures)
}

/// Ping-pong through a `Pipe` with default options.
///
/// # Errors
///
/// When the pipe, the fork or a transfer fails.
pub(crate) fn pipe(profile: &Profile) -> Result<Figures> {
    let (mut near, mut far) = Pipe::new()?;
    let total = (profile.round_trips * (profile.repeats + 1)) as u64;
    let child = fork_child(move || {
        let mut msg = [0u8; 8];
        for _ in 0..total {
            let n = far.recv_into(&mut msg)?;
            far.send(&msg[..n])?;
        }
        Ok(())
    })?;
    let mut msg = [0u8; 8];
    let mut back = [0u8; 8];
    let figures = measure_round_trips(profile.round_trips, profile.repeats, |seq| {
        stamp(&mut msg, seq);
        near.send(&msg)?;
        let n = near.recv_into(&mut back)?;
        if n != 8 || read_stamp(&back) != seq {
            bail!("pong carried the wrong sequence number");
        }
        Ok(())
    });
    let joined = child.join(WAIT_LIMIT);
    let figures = figures?;
    joined?;
    Ok(figures)
}
