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

/// How often a handle that finds nothing to do checks that its peers are
/// alive and that no slot is held by a dead process.
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_millis(20);

/// Longest spin window: larger ones (up to `Duration::MAX`) spin this long,
/// which no process outlives.
const MAX_SPIN: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// When a handle next runs the slow checks (peers alive, slots held by
/// the dead), kept by the handle across calls: a caller that polls with
/// `try_*` or waits with timeouts shorter than [`CHECK_INTERVAL`] still
/// gets them every interval, not only a wait that lasts one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CheckClock {
    next: Instant,
    /// Attempts of `try_*` calls that found nothing, counted so that only
    /// every [`POLLS_PER_LOOK`]th reads the clock.
    polls: u32,
}

/// How many fruitless `try_*` attempts share one look at the clock: a
/// caller polling an empty queue in a tight loop pays a clock read
/// (~17 ns here) once per this many polls, not on each.
const POLLS_PER_LOOK: u32 = 16;

impl CheckClock {
    /// A clock whose first check is due at once.
    pub(crate) fn new() -> CheckClock {
        CheckClock {
            next: Instant::now(),
            polls: 0,
        }
    }

    /// [`due`](Self::due) for a `try_*` attempt that found nothing: looks
    /// at the clock only every [`POLLS_PER_LOOK`] such attempts.
    #[inline]
    fn due_after_poll(&mut self) -> bool {
        self.polls = self.polls.wrapping_add(1);
        self.polls.is_multiple_of(POLLS_PER_LOOK) && self.due(Instant::now())
    }

    /// Whether a check is due at `now`; if so, the next one is due an
    /// interval later.
    #[inline]
    pub(crate) fn due(&mut self, now: Instant) -> bool {
        if now < self.next {
            return false;
        }
        self.next = now + CHECK_INTERVAL;
        true
    }

    /// When the next check is due.
    pub(crate) fn next(&self) -> Instant {
        self.next
    }
}

/// How long a send or receive may wait, kept relative until its first
/// attempt has found nothing: a call that succeeds at once (the common
/// case of `send_timeout` and `recv_timeout` on a busy queue) reads no
/// clock. A wait that blocks fixes its deadline in place ([`block`]), so
/// that further attempts of the same call (after a skipped slot) share
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Not at all (`try_*`).
    Never,
    /// Until done.
    Forever,
    /// At most this long, from the first attempt.
    Within(Duration),
    /// Until this instant.
    Until(Instant),
}

impl Wait {
    /// The deadline of a wait that starts `now`, `None` for no limit.
    fn deadline(self, now: Instant) -> Option<Instant> {
        match self {
            Wait::Never => Some(now),
            Wait::Forever => None,
            // A timeout past the clock's range (`Duration::MAX`) has none.
            Wait::Within(t) => now.checked_add(t),
            Wait::Until(at) => Some(at),
        }
    }
}

/// What a send or receive does after its first attempt found nothing
/// (the caller makes that one itself, so that the common case touches
/// neither `clock` nor `waiter`): [`Wait::Never`] (`try_*`) tries once more
/// with the slow checks if `clock` says they are due (looked at once every
/// [`POLLS_PER_LOOK`] fruitless attempts) and otherwise reports
/// `nothing()`; the others [`block`].
pub(crate) fn after_miss<T>(
    wait: &mut Wait,
    strategy: WaitStrategy,
    waiter: Waiter<'_>,
    clock: &mut CheckClock,
    nothing: impl FnOnce() -> QueueError,
    more: impl Fn() -> bool,
    mut attempt: impl FnMut(bool) -> Result<Attempt<T>>,
) -> Result<T> {
    match wait {
        Wait::Never if clock.due_after_poll() => match attempt(true)? {
            Attempt::Ready(v) => Ok(v),
            Attempt::Wait => Err(nothing()),
        },
        Wait::Never => Err(nothing()),
        wait => block(strategy, waiter, wait, clock, more, attempt),
    }
}

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

/// Repeats `attempt`, after one that found nothing, until it is ready,
/// fails, or `deadline` passes, waiting per `strategy` on `waiter` in
/// between. `attempt(true)` is asked to do the slow checks (peers alive,
/// slots held by the dead) whenever the handle's `clock` says they are due.
fn block<T>(
    strategy: WaitStrategy,
    waiter: Waiter<'_>,
    wait: &mut Wait,
    clock: &mut CheckClock,
    more: impl Fn() -> bool,
    mut attempt: impl FnMut(bool) -> Result<Attempt<T>>,
) -> Result<T> {
    let start = Instant::now();
    let deadline = wait.deadline(start);
    if let Wait::Within(_) = *wait {
        // Fixed for the rest of the call: a caller that attempts again
        // (after a skipped slot) waits out what is left, not a new timeout.
        *wait = deadline.map_or(Wait::Forever, Wait::Until);
    }
    let spin_until = match strategy {
        WaitStrategy::BusySpin => None,
        WaitStrategy::SpinThenPark { spin } => Some(start + spin.min(MAX_SPIN)),
        WaitStrategy::Park => Some(start),
    };
    let timeout = |now: Instant| QueueError::Timeout {
        waited_ms: now.duration_since(start).as_millis() as u64,
    };
    // After a sleep, success passes a wake on to the next sleeper of the
    // same condition if `more` is ready (messages beyond the one taken,
    // room beyond the slot taken): a wake can be spent by a handle that
    // then finds its way still blocked (an MPMC consumer woken for a
    // message behind a slot still loaned, a producer woken for a slot
    // behind one still held), and the wake of the publication that
    // unblocks it goes to one handle only. Without this, the others slept
    // until their next check (up to 20 ms). At most once per sleep, and
    // only with work left for the handle it wakes.
    let mut slept = false;
    let pass_on = |slept: bool| {
        if slept && more() {
            waiter.notify(1);
        }
    };
    loop {
        let now = Instant::now();
        if let Attempt::Ready(v) = attempt(clock.due(now))? {
            pass_on(slept);
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
        let wake_at = deadline.map_or(clock.next(), |d| d.min(clock.next()));
        let found = waiter.sleep_unless(Some(wake_at), || attempt(false))?;
        slept = true;
        if let Some(v) = found {
            pass_on(slept);
            return Ok(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::Wait;

    #[test]
    fn a_wait_becomes_a_deadline_only_when_asked() {
        let now = Instant::now();
        assert_eq!(Wait::Forever.deadline(now), None);
        assert_eq!(Wait::Never.deadline(now), Some(now));
        assert_eq!(
            Wait::Within(Duration::from_secs(1)).deadline(now),
            Some(now + Duration::from_secs(1))
        );
        // Past the clock's range: no deadline, not a panic.
        assert_eq!(Wait::Within(Duration::MAX).deadline(now), None);
        assert_eq!(
            Wait::Until(now).deadline(now + Duration::from_secs(1)),
            Some(now)
        );
    }
}
