//! The contended path of [`RawLock`]: a short spin with exponential
//! backoff, then sleeping on the futex with the `WAITERS` bit set, and
//! looking up the holder in `/proc` every so often to take the lock over
//! from a dead one.

use std::time::Instant;

use super::{Acquired, RawLock};
use super::{
    FIRST_OWNER_CHECK, OWNER_CHECK_INTERVAL, SPIN_MAX_PAUSES, SPIN_READS, TID_MASK, WAITERS,
};
use crate::futex::{DefaultFutex, Futex};
use crate::identity::{self, Identity};
use crate::loom::atomic::Ordering;

impl RawLock {
    #[cold]
    pub(super) fn lock_slow(&self, me: Identity, deadline: Option<Instant>) -> Option<Acquired> {
        // Bounded exponential backoff (the policy and its figures are at
        // `SPIN_MAX_PAUSES`); a read, not a CAS, until the word looks free
        // (test-and-test-and-set), so spinning leaves the line shared.
        let mut pauses = 1;
        for _ in 0..SPIN_READS {
            // Relaxed suffices: the value only picks what to try next, and
            // the CAS in `try_take` (Acquire) is what synchronizes.
            let w = self.state.load(Ordering::Relaxed);
            if w & TID_MASK == 0 {
                if let Some(how) = self.try_take(w, me.tid | (w & WAITERS), me) {
                    return Some(how);
                }
            } else if w & WAITERS != 0 {
                break; // others sleep already: join them
            }
            for _ in 0..pauses {
                crate::loom::spin_loop();
            }
            pauses = (pauses * 2).min(SPIN_MAX_PAUSES);
        }
        let mut next_check = Instant::now() + FIRST_OWNER_CHECK;
        loop {
            let w = self.state.load(Ordering::Relaxed);
            if w & TID_MASK == 0 {
                // Take it with WAITERS set: other sleepers may exist, and the
                // unlock that woke us woke only one.
                if let Some(how) = self.try_take(w, me.tid | WAITERS, me) {
                    return Some(how);
                }
                continue;
            }
            let sleeping_on = w | WAITERS;
            if w & WAITERS == 0
                && self
                    .state
                    .compare_exchange(w, sleeping_on, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                continue;
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                // A last look before giving up, so that a dead holder is
                // taken over even by waits shorter than the first check.
                return self.take_from_dead_holder(me);
            }
            let wake_at = deadline.map_or(next_check, |d| d.min(next_check));
            let timeout = if cfg!(loom) {
                None
            } else {
                Some(wake_at - now)
            };
            // Woken, timed out or interrupted: re-read the word either way.
            DefaultFutex::wait(&self.state, sleeping_on, timeout);
            // Not under loom, where every holder counts as alive: the
            // check's load, made or not by the wall clock, would make the
            // model's executions differ from run to run.
            if !cfg!(loom) && Instant::now() >= next_check {
                next_check = Instant::now() + OWNER_CHECK_INTERVAL;
                if let Some(how) = self.take_from_dead_holder(me) {
                    return Some(how);
                }
            }
        }
    }

    /// If the holder is dead, takes the lock over (one CAS from its exact
    /// word, so a holder that changed meanwhile is left alone).
    fn take_from_dead_holder(&self, me: Identity) -> Option<Acquired> {
        let w = self.state.load(Ordering::Acquire);
        let holder = w & TID_MASK;
        if holder == 0 {
            return None;
        }
        // The record names the thread it belongs to: one left by an earlier
        // holder (the current one has not written its own yet) is not used.
        if identity::holder_alive(holder, self.owner.load(Ordering::Relaxed)) {
            return None;
        }
        self.try_take(w, me.tid | WAITERS, me)
    }
}
