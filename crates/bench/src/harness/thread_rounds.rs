//! One-way throughput of an in-process ceiling: a consumer thread and the
//! harness thread, `n` sequence-numbered messages per round.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Result, bail};

use crate::harness::throughput::{measure_rounds, stamp_matches};
use crate::harness::wait::spin_until;
use crate::profile::Profile;
use crate::report::model::Runs;

/// Measures `n` messages of `size` bytes per round, as [`measure_rounds`]
/// does: `send(seq)` sends message `seq` (from 1, on this thread, timed),
/// and `receive()` takes the next one and returns
/// the stamp it carries, on a consumer thread that owns it (so that its
/// state lives on that thread, not beside the sender's). A round ends when
/// the consumer has taken all of its messages.
///
/// # Errors
///
/// The first error of either side, or wrong stamps the consumer saw.
pub(crate) fn thread_rounds(
    profile: &Profile,
    n: usize,
    size: usize,
    bytes: bool,
    mut receive: impl FnMut() -> Result<u64> + Send,
    mut send: impl FnMut(u64) -> Result<()>,
) -> Result<Runs> {
    let rounds = profile.repeats + 1;
    let done = AtomicUsize::new(0);
    let bad = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let (done, bad) = (&done, &bad);
        let consumer = s.spawn(move || -> Result<()> {
            crate::harness::pin::other_side();
            let mut seq = 0u64;
            for round in 1..=rounds {
                for _ in 0..n {
                    seq += 1;
                    if !stamp_matches(receive()?, seq, size) {
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                }
                done.store(round, Ordering::Release);
            }
            Ok(())
        });
        let mut seq = 0u64;
        let result = measure_rounds(profile.repeats, n, size, bytes, |r| {
            let t0 = Instant::now();
            for _ in 0..n {
                seq += 1;
                send(seq)?;
            }
            // SYNC POINT with the consumer's Release store of `done`.
            spin_until("the consumer", || done.load(Ordering::Acquire) > r)?;
            Ok(t0.elapsed())
        });
        consumer
            .join()
            .map_err(|_| anyhow::anyhow!("consumer panicked"))??;
        let wrong = bad.load(Ordering::Relaxed);
        if wrong != 0 {
            bail!("consumer saw {wrong} wrong messages");
        }
        result
    })
}

/// How long threads that each noted `(start, end)` took together: from
/// the earliest start to the latest end (`None` without spans). Each
/// thread reads the clock itself: on two busy cores, the thread that
/// spawned them may not run again before they are done.
pub(crate) fn together(spans: &[(Instant, Instant)]) -> Option<std::time::Duration> {
    let start = spans.iter().map(|s| s.0).min()?;
    let end = spans.iter().map(|s| s.1).max()?;
    Some(end.saturating_duration_since(start))
}
