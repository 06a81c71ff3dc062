//! Bounded busy-waiting: a hung peer fails its row instead of the run.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};

/// How long any one wait may take before the measurement is abandoned.
pub(crate) const WAIT_LIMIT: Duration = Duration::from_secs(60);

/// A point in time after which waits give up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(Instant);

impl Deadline {
    /// [`WAIT_LIMIT`] from now.
    pub(crate) fn after_limit() -> Deadline {
        Deadline(Instant::now() + WAIT_LIMIT)
    }

    /// Whether the deadline has passed.
    pub(crate) fn passed(&self) -> bool {
        Instant::now() >= self.0
    }
}

/// The pause between two checks of one wait: spins at first, then yields
/// the core between checks, so a descheduled peer on a busy 2-core machine
/// can run. Make one per wait: its count starts the spinning anew.
#[derive(Debug)]
pub(crate) struct Spinner<'a> {
    deadline: Deadline,
    what: &'a str,
    spins: u32,
}

impl<'a> Spinner<'a> {
    /// A wait for `what`, given up at `deadline`.
    pub(crate) fn new(deadline: Deadline, what: &'a str) -> Spinner<'a> {
        Spinner {
            deadline,
            what,
            spins: 0,
        }
    }

    /// Pauses once after a check that found nothing.
    ///
    /// # Errors
    ///
    /// When the deadline has passed, naming what was awaited.
    #[inline]
    pub(crate) fn pause(&mut self) -> Result<()> {
        self.spins = self.spins.wrapping_add(1);
        if self.spins < 4096 {
            std::hint::spin_loop();
            return Ok(());
        }
        if self.spins.is_multiple_of(256) && self.deadline.passed() {
            bail!(
                "timed out after {}s waiting for {}",
                WAIT_LIMIT.as_secs(),
                self.what
            );
        }
        std::thread::yield_now();
        Ok(())
    }
}

/// Spins until `done()` holds (see [`Spinner`]).
///
/// # Errors
///
/// When `deadline` passes first, naming `what` was awaited.
#[inline]
pub(crate) fn spin_until(
    deadline: Deadline,
    what: &str,
    mut done: impl FnMut() -> bool,
) -> Result<()> {
    let mut spinner = Spinner::new(deadline, what);
    while !done() {
        spinner.pause()?;
    }
    Ok(())
}
