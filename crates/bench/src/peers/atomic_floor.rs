//! The floor of cross-process ping-pong: two processes bouncing a counter
//! through two shared atomics (one cache line each), spinning. No IPC system
//! can round-trip faster than two cache-line transfers.
//!
//! The pair of lines changes with every round trip, over [`PAIRS`] pairs:
//! what a transfer costs depends on the line (each address hashes to one
//! L3 slice; single line pairs measured medians 289..322 ns on the 2-CPU
//! development VM), and a queue moves its messages through many lines, so
//! the floor is that of a typical line, not of whichever line the
//! allocator handed out.

use std::sync::atomic::Ordering;

use anyhow::Result;

use crate::harness::context::Figures;
use crate::harness::fork::fork_child;
use crate::harness::latency::measure_round_trips;
use crate::harness::shared::SharedBlock;
use crate::harness::wait::{WAIT_LIMIT, spin_until};
use crate::profile::Profile;

/// How many line pairs the ping-pong rotates over.
const PAIRS: u64 = 64;

/// The control lines of round trip `seq`: ping and pong, two lines apart
/// (so that the adjacent-line prefetcher does not pair them), each pair
/// four lines from the next.
fn lines_of(seq: u64) -> (usize, usize) {
    let pair = (seq % PAIRS) as usize;
    (4 * pair, 4 * pair + 2)
}

/// Round-trip latency of the shared-atomic ping-pong.
///
/// # Errors
///
/// When the child cannot be forked or a wait times out.
pub(crate) fn ping_pong(profile: &Profile) -> Result<Figures> {
    let block = SharedBlock::new(4 * PAIRS as usize, 0)?;
    let words = |seq: u64| {
        let (ping, pong) = lines_of(seq);
        (block.word(ping), block.word(pong))
    };
    let total = (profile.round_trips * (profile.repeats + 1)) as u64;
    let child = fork_child(|| {
        for seq in 1..=total {
            let (ping, pong) = words(seq);
            // SYNC POINT with the parent's Release store of `ping`.
            spin_until("ping", || ping.load(Ordering::Acquire) == seq)?;
            pong.store(seq, Ordering::Release);
        }
        Ok(())
    })?;
    let figures = measure_round_trips(profile.round_trips, profile.repeats, |seq| {
        let (ping, pong) = words(seq);
        ping.store(seq, Ordering::Release);
        // SYNC POINT with the child's Release store of `pong`.
        spin_until("pong", || pong.load(Ordering::Acquire) == seq)
    })?;
    child.join(WAIT_LIMIT)?;
    Ok(figures)
}
