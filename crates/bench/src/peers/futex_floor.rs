//! The floor of blocking cross-process ping-pong: each side sleeps in
//! `futex_wait` on a shared word until the other stores and `futex_wake`s
//! it. Any IPC that blocks instead of spinning pays at least this.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mproc::sys::FutexWait;

use anyhow::{Result, bail};

use crate::harness::context::Figures;
use crate::harness::fork::fork_child;
use crate::harness::latency::measure_round_trips;
use crate::harness::shared::SharedBlock;
use crate::harness::wait::WAIT_LIMIT;
use crate::profile::Profile;

/// How long one `futex_wait` sleeps at most before the limit is checked.
const NAP: Duration = Duration::from_millis(100);

/// Sleeps until `word` holds `want` (the low 32 bits of a sequence number),
/// for at most [`WAIT_LIMIT`]: timed-out naps are counted, so that a wait
/// that ends at its first wake reads no clock.
fn wait_for(word: &AtomicU32, want: u32) -> Result<()> {
    let mut slept = Duration::ZERO;
    loop {
        // SYNC POINT with the other side's Release store before its wake.
        let now = word.load(Ordering::Acquire);
        if now == want {
            return Ok(());
        }
        if slept >= WAIT_LIMIT {
            bail!(
                "timed out after {}s waiting on a futex",
                WAIT_LIMIT.as_secs()
            );
        }
        if mproc::sys::futex_wait(word, now, Some(NAP)) == FutexWait::TimedOut {
            slept += NAP;
        }
    }
}

/// Stores `value` into `word` and wakes its waiter.
fn post(word: &AtomicU32, value: u32) {
    word.store(value, Ordering::Release);
    mproc::sys::futex_wake(word, 1);
}

/// Round-trip latency of the futex-wake ping-pong.
///
/// # Errors
///
/// When the child cannot be forked or a wait times out.
pub(crate) fn ping_pong(profile: &Profile) -> Result<Figures> {
    let block = SharedBlock::new(2, 0)?;
    let (ping, pong) = (block.word32(0), block.word32(1));
    let total = (profile.round_trips * (profile.repeats + 1)) as u64;
    let child = fork_child(|| {
        for seq in 1..=total {
            wait_for(ping, seq as u32)?;
            post(pong, seq as u32);
        }
        Ok(())
    })?;
    let figures = measure_round_trips(profile.round_trips, profile.repeats, |seq| {
        post(ping, seq as u32);
        wait_for(pong, seq as u32)
    })?;
    child.join(WAIT_LIMIT)?;
    Ok(figures)
}
