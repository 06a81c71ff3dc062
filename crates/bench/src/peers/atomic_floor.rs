//! The floor of cross-process ping-pong: two processes bouncing a counter
//! through two shared atomics (one cache line each), spinning. No IPC system
//! can round-trip faster than two cache-line transfers.

use std::sync::atomic::Ordering;

use anyhow::Result;

use crate::harness::context::Figures;
use crate::harness::fork::fork_child;
use crate::harness::latency::measure_round_trips;
use crate::harness::shared::SharedBlock;
use crate::harness::wait::{Deadline, WAIT_LIMIT, spin_until};
use crate::profile::Profile;

/// Round-trip latency of the shared-atomic ping-pong.
///
/// # Errors
///
/// When the child cannot be forked or a wait times out.
pub(crate) fn ping_pong(profile: &Profile) -> Result<Figures> {
    let block = SharedBlock::new(2, 0)?;
    let (ping, pong) = (block.word(0), block.word(1));
    let total = (profile.round_trips * (profile.repeats + 1)) as u64;
    let child = fork_child(|| {
        let deadline = Deadline::after_limit();
        for seq in 1..=total {
            // SYNC POINT with the parent's Release store of `ping`.
            spin_until(deadline, "ping", || ping.load(Ordering::Acquire) == seq)?;
            pong.store(seq, Ordering::Release);
        }
        Ok(())
    })?;
    let deadline = Deadline::after_limit();
    let figures = measure_round_trips(profile.round_trips, profile.repeats, |seq| {
        ping.store(seq, Ordering::Release);
        // SYNC POINT with the child's Release store of `pong`.
        spin_until(deadline, "pong", || pong.load(Ordering::Acquire) == seq)
    })?;
    child.join(WAIT_LIMIT)?;
    Ok(figures)
}
