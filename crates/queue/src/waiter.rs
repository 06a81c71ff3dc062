//! The [`Waiter`] pair a blocked handle sleeps on: a futex [`WaitWord`]
//! bumped when the condition may have become true, and a count of
//! sleepers, so that the fast path makes no system call. Compiled under
//! loom too, whose models check that no wake-up is lost.

use std::time::Instant;

use mproc_sync::WaitWord;

use crate::Result;
use crate::atomics::{AtomicU32, Ordering, fence};

/// The `parked` word of a sleeper of process `pid` counted per `tag`
/// (`PARKED_NOT_EMPTY` or `PARKED_NOT_FULL` of the records, the low two bits): the pid
/// is in the bits above (Linux pids are below 2^22), so that a reaper
/// that found the record's process dead clears that process's mark and
/// not the mark of a handle that took the record over in the meantime.
pub(crate) fn parked_mark(tag: u32, pid: i32) -> u32 {
    tag | ((pid as u32) << 2)
}

/// What one attempt of a blocking operation found.
pub(crate) enum Attempt<T> {
    /// Done.
    Ready(T),
    /// Not yet: wait and try again.
    Wait,
}

/// A condition processes sleep on: a futex word bumped when the condition
/// may have become true, and the number of sleepers.
#[derive(Clone, Copy)]
pub(crate) struct Waiter<'a> {
    pub(crate) word: &'a WaitWord,
    pub(crate) sleepers: &'a AtomicU32,
    /// What a sleeper writes in its handle record's `parked` word while
    /// counted in `sleepers`.
    pub(crate) tag: u32,
    /// The sleeping handle's `parked` word, if it has a record.
    pub(crate) mark: Option<&'a AtomicU32>,
}

impl<'a> Waiter<'a> {
    /// The same waiter for a handle of process `pid` whose record's
    /// `parked` word is `mark`: while asleep, the handle is marked there as
    /// counted, with its pid ([`parked_mark`]),
    /// so that a reaper clears only the mark of the process it found dead.
    pub(crate) fn marked(self, mark: &'a AtomicU32, pid: i32) -> Waiter<'a> {
        Waiter {
            mark: Some(mark),
            tag: parked_mark(self.tag, pid),
            ..self
        }
    }

    /// Wakes up to `n` sleepers after the caller made the condition true.
    /// Returns whether sleepers were counted but the kernel woke none: a
    /// sleeper between its count and its futex wait, or one killed asleep
    /// (`Records::reap_parked` takes those out).
    ///
    /// Dekker-style with [`sleep_unless`](Self::sleep_unless): we store
    /// (the caller's publish), fence, load `sleepers`; a sleeper stores
    /// `sleepers`, fences, loads the condition. With both fences SeqCst, at
    /// least one side sees the other's store, so no wake is lost.
    #[inline]
    pub(crate) fn notify(&self, n: u32) -> bool {
        fence(Ordering::SeqCst);
        if self.sleepers.load(Ordering::Relaxed) != 0 {
            self.word.value().fetch_add(1, Ordering::Release);
            return self.word.wake_n(n) == 0;
        }
        false
    }

    /// Wakes every sleeper (close, detach).
    pub(crate) fn notify_all(&self) {
        self.notify(i32::MAX as u32);
    }

    /// One sleep of a blocked handle: registers as a sleeper, fences,
    /// reads the word, and tries `attempt` once more; only if that still
    /// finds nothing does it sleep until the word moves (or `wake_at`).
    /// Returns what the attempt found ready, `None` after a sleep.
    ///
    /// SYNC POINT with [`notify`](Self::notify): a notifier whose fence
    /// comes first in the total order sees our count and bumps the word
    /// (after `seen` was read, or the attempt saw its condition); one whose
    /// fence comes after has made its condition visible to our attempt.
    pub(crate) fn sleep_unless<T>(
        &self,
        wake_at: Option<Instant>,
        attempt: impl FnOnce() -> Result<Attempt<T>>,
    ) -> Result<Option<T>> {
        // Relaxed: the fence orders it before the attempt's loads.
        self.sleepers.fetch_add(1, Ordering::Relaxed);
        // Marked after counting and cleared before uncounting, so that a
        // mark left by a process killed asleep always stands for a count
        // (a kill between the two leaves one count behind, as before marks
        // existed). Release: a reaper that reads the mark (Acquire) reads
        // the record's owner as this handle wrote it when it attached.
        if let Some(mark) = self.mark {
            mark.store(self.tag, Ordering::Release);
        }
        fence(Ordering::SeqCst);
        let seen = self.word.value().load(Ordering::Acquire);
        let found = match attempt() {
            Ok(Attempt::Wait) => {
                self.word.wait_while_spin(seen, wake_at, 0);
                Ok(None)
            }
            Ok(Attempt::Ready(v)) => Ok(Some(v)),
            Err(e) => Err(e),
        };
        if let Some(mark) = self.mark {
            mark.store(0, Ordering::Relaxed);
        }
        self.sleepers.fetch_sub(1, Ordering::Relaxed);
        found
    }
}
