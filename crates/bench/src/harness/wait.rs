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

/// Spins until `done()` holds. After a few thousand spins it yields the core
/// between checks, so a descheduled peer on a busy 2-core machine can run.
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
    let mut spins: u32 = 0;
    while !done() {
        spins = spins.wrapping_add(1);
        if spins < 4096 {
            std::hint::spin_loop();
            continue;
        }
        if spins.is_multiple_of(256) && deadline.passed() {
            bail!(
                "timed out after {}s waiting for {what}",
                WAIT_LIMIT.as_secs()
            );
        }
        std::thread::yield_now();
    }
    Ok(())
}
