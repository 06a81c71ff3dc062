//! Bounded busy-waiting: a hung peer fails its row instead of the run.
//!
//! Every limit here is per wait: a wait that ends (a message arrived, a
//! turn came) starts the next one's clock anew, so a slow run that keeps
//! making progress is never cut short, however long it lasts in all.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

/// How long any one wait may last before the measurement is abandoned.
pub(crate) const WAIT_LIMIT: Duration = Duration::from_secs(60);

/// How long a wait spins before it yields the core between checks, for
/// every system alike: the rule of mproc's own queues, whose default wait
/// spins 2 µs and then yields between checks (until its 100 µs window
/// ends and it sleeps on a futex, which a polled peer cannot). A count of
/// polls instead would spin longer for a system whose poll costs more.
pub(crate) const SPIN_FOR: Duration = Duration::from_micros(2);

/// Fruitless checks between two clock reads of a [`Spinner`]: a wait that
/// ends within as many checks reads no clock at all, and a read every
/// few spins keeps [`SPIN_FOR`] close.
const SPINS_PER_CLOCK_READ: u32 = 8;

/// Fruitless checks between two clock reads of a [`WaitClock::new`]: for
/// loops whose every check does real work (a lock taken and released).
const CHECKS_PER_CLOCK_READ: u32 = 4096;

/// The clock of one wait, read every so many fruitless checks. Make one
/// per wait, or [`restart`](WaitClock::restart) it on progress.
#[derive(Debug)]
pub(crate) struct WaitClock<'a> {
    what: &'a str,
    checks: u32,
    checks_per_read: u32,
    since: Option<Instant>,
}

impl<'a> WaitClock<'a> {
    /// The clock of a wait for `what`, read every
    /// [`CHECKS_PER_CLOCK_READ`] fruitless checks.
    pub(crate) fn new(what: &'a str) -> WaitClock<'a> {
        WaitClock::reading_every(what, CHECKS_PER_CLOCK_READ)
    }

    /// The clock of a wait for `what`, read every `checks` fruitless checks.
    fn reading_every(what: &'a str, checks: u32) -> WaitClock<'a> {
        WaitClock {
            what,
            checks: 0,
            checks_per_read: checks,
            since: None,
        }
    }

    /// Starts the wait anew: what it waited for came.
    pub(crate) fn restart(&mut self) {
        self.checks = 0;
        self.since = None;
    }

    /// Notes a check that found nothing. Every so many calls, returns how
    /// long the wait has lasted (from the first clock read); `None` in
    /// between.
    ///
    /// # Errors
    ///
    /// When the wait has lasted [`WAIT_LIMIT`], naming what was awaited.
    #[inline]
    pub(crate) fn tick(&mut self) -> Result<Option<Duration>> {
        self.checks = self.checks.wrapping_add(1);
        if !self.checks.is_multiple_of(self.checks_per_read) {
            return Ok(None);
        }
        let now = Instant::now();
        let waited = now.saturating_duration_since(*self.since.get_or_insert(now));
        if waited >= WAIT_LIMIT {
            bail!(
                "timed out after {}s waiting for {}",
                WAIT_LIMIT.as_secs(),
                self.what
            );
        }
        Ok(Some(waited))
    }
}

/// The pause between two checks of one wait: spins for [`SPIN_FOR`],
/// then yields the core between checks, so that a descheduled peer on a
/// busy 2-core machine can run. Make one per wait (or
/// [`restart`](Spinner::restart) it): the spinning starts anew.
#[derive(Debug)]
pub(crate) struct Spinner<'a> {
    clock: WaitClock<'a>,
    yielding: bool,
}

impl<'a> Spinner<'a> {
    /// A wait for `what`.
    pub(crate) fn new(what: &'a str) -> Spinner<'a> {
        Spinner {
            clock: WaitClock::reading_every(what, SPINS_PER_CLOCK_READ),
            yielding: false,
        }
    }

    /// Starts a new wait: the last one ended.
    #[inline]
    pub(crate) fn restart(&mut self) {
        self.clock.restart();
        self.yielding = false;
    }

    /// Pauses once after a check that found nothing.
    ///
    /// # Errors
    ///
    /// When the wait has lasted [`WAIT_LIMIT`], naming what was awaited.
    #[inline]
    pub(crate) fn pause(&mut self) -> Result<()> {
        if let Some(waited) = self.clock.tick()? {
            self.yielding = waited >= SPIN_FOR;
        }
        if self.yielding {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
        Ok(())
    }
}

/// Spins until `done()` holds (see [`Spinner`]).
///
/// # Errors
///
/// When it has not held for [`WAIT_LIMIT`], naming `what` was awaited.
#[inline]
pub(crate) fn spin_until(what: &str, mut done: impl FnMut() -> bool) -> Result<()> {
    let mut spinner = Spinner::new(what);
    while !done() {
        spinner.pause()?;
    }
    Ok(())
}
/// How long [`sleep_until`] sleeps between checks.
const NAP: Duration = Duration::from_micros(200);

/// Sleeps in short naps until `done()` holds: for the harness process when
/// it only waits while other processes are measured, so that it takes no
/// core from them.
///
/// # Errors
///
/// When it has not held for [`WAIT_LIMIT`], naming `what` was awaited.
pub(crate) fn sleep_until(what: &str, mut done: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    while !done() {
        if start.elapsed() >= WAIT_LIMIT {
            bail!(
                "timed out after {}s waiting for {}",
                WAIT_LIMIT.as_secs(),
                what
            );
        }
        std::thread::sleep(NAP);
    }
    Ok(())
}

/// How long the harness sleeps on a futex at most before it checks for
/// progress again.
const FUTEX_NAP: Duration = Duration::from_millis(100);

/// Sleeps on the futex word `word` until it reaches `target`, for as long as
/// `progress()` keeps changing: for the harness process while other
/// processes measure, so that it wakes once, not every few hundred
/// microseconds, beside them. Whoever adds to `word` wakes it
/// ([`bump_and_wake`]).
///
/// # Errors
///
/// When `progress()` has not changed for [`WAIT_LIMIT`], naming `what` was
/// awaited.
pub(crate) fn sleep_on(
    word: &AtomicU32,
    target: u32,
    what: &str,
    mut progress: impl FnMut() -> u64,
) -> Result<()> {
    let mut last = progress();
    let mut since = Instant::now();
    loop {
        // SYNC POINT with the Release half of `bump_and_wake`'s increment.
        let now = word.load(Ordering::Acquire);
        if now >= target {
            return Ok(());
        }
        let moved = progress();
        if moved != last {
            (last, since) = (moved, Instant::now());
        } else if since.elapsed() >= WAIT_LIMIT {
            bail!(
                "no progress for {}s waiting for {}",
                WAIT_LIMIT.as_secs(),
                what
            );
        }
        mproc::sys::futex_wait(word, now, Some(FUTEX_NAP));
    }
}

/// Adds one to the futex word `word` and wakes whoever sleeps on it
/// ([`sleep_on`]).
pub(crate) fn bump_and_wake(word: &AtomicU32) {
    word.fetch_add(1, Ordering::AcqRel);
    mproc::sys::futex_wake_all(word);
}
