//! How a blocked handle waits: [`WaitStrategy`] and the blocking loop,
//! which sleeps on a [`Waiter`].

use std::time::{Duration, Instant};

use crate::waiter::{Attempt, Waiter};
use crate::{QueueError, Result};

/// How long the default strategy spins before it sleeps on the futex.
///
/// Measured on 2-core VMs: a hand-off seen while spinning costs ~0.15 µs
/// one way (SPSC round trip 0.29 µs against 0.19-0.21 µs for two processes
/// alternating on one atomic); a futex wake costs ~1 µs when the sleeper
/// shares the waker's core and ~20 µs when it must wake an idle core. A
/// peer that answers within 100 µs is served at spinning speed, a consumer
/// idle for longer stops burning its core, and the cost of a wait that
/// ends in a sleep is at most this window of CPU. Past the first 2 µs the
/// spin yields the CPU between rounds, so that a peer waiting for this
/// core can answer.
pub const DEFAULT_SPIN: Duration = Duration::from_micros(100);

/// How long the spin of [`WaitStrategy::SpinThenPark`] runs before it
/// starts yielding the CPU between rounds.
const YIELD_AFTER: Duration = Duration::from_micros(2);

/// How often a blocked handle checks that its peers are alive and that no
/// slot is held by a dead process.
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_millis(20);

/// How a handle waits for room (producers) or messages (consumers).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mproc_queue::{QueueOptions, WaitStrategy};
///
/// let latency = QueueOptions::new().wait(WaitStrategy::BusySpin);
/// let frugal = QueueOptions::new().wait(WaitStrategy::Park);
/// let tuned = QueueOptions::new().wait(WaitStrategy::SpinThenPark { spin: Duration::from_micros(20) });
/// assert_eq!(QueueOptions::new().wait_strategy(), WaitStrategy::default());
/// # let _ = (latency, frugal, tuned);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStrategy {
    /// Spin until the deadline: the lowest latency, and a core burned while
    /// waiting.
    BusySpin,
    /// Spin for `spin`, then sleep on a shared futex until woken.
    SpinThenPark {
        /// How long to spin first.
        spin: Duration,
    },
    /// Sleep on the futex at once: no CPU while waiting, a futex wake (tens
    /// of microseconds) per hand-off.
    Park,
}

impl Default for WaitStrategy {
    fn default() -> WaitStrategy {
        WaitStrategy::SpinThenPark { spin: DEFAULT_SPIN }
    }
}

/// Repeats `attempt` until it is ready, fails, or `deadline` passes,
/// waiting per `strategy` on `waiter` in between. `attempt(true)` is asked
/// every [`CHECK_INTERVAL`] to do the slow checks (peers alive, slots held
/// by the dead).
pub(crate) fn block<T>(
    strategy: WaitStrategy,
    waiter: Waiter<'_>,
    deadline: Option<Instant>,
    mut attempt: impl FnMut(bool) -> Result<Attempt<T>>,
) -> Result<T> {
    if let Attempt::Ready(v) = attempt(false)? {
        return Ok(v);
    }
    let start = Instant::now();
    let mut next_check = start + CHECK_INTERVAL;
    let spin_until = match strategy {
        WaitStrategy::BusySpin => None,
        WaitStrategy::SpinThenPark { spin } => Some(start + spin),
        WaitStrategy::Park => Some(start),
    };
    let timeout = |now: Instant| QueueError::Timeout {
        waited_ms: now.duration_since(start).as_millis() as u64,
    };
    loop {
        let now = Instant::now();
        let check = now >= next_check;
        if check {
            next_check = now + CHECK_INTERVAL;
        }
        if let Attempt::Ready(v) = attempt(check)? {
            return Ok(v);
        }
        if deadline.is_some_and(|d| now >= d) {
            return Err(timeout(now));
        }
        if spin_until.is_none_or(|s| now < s) {
            for _ in 0..64 {
                std::hint::spin_loop();
                if let Attempt::Ready(v) = attempt(false)? {
                    return Ok(v);
                }
            }
            // Spinning while the peer waits for a CPU (an oversubscribed
            // machine, or the scheduler placing both on one core after a
            // wake) delays the very hand-off we wait for: past the first
            // microseconds, give the CPU away between rounds. With the peer
            // on another core this returns at once.
            if spin_until.is_some() && now.duration_since(start) > YIELD_AFTER {
                std::thread::yield_now();
            }
            continue;
        }
        let wake_at = deadline.map_or(next_check, |d| d.min(next_check));
        if let Some(v) = waiter.sleep_unless(Some(wake_at), || attempt(false))? {
            return Ok(v);
        }
    }
}
