//! A process identity that survives pid reuse: the pid plus the process's
//! start time, read from `/proc/<pid>/stat`.

use std::io;

use crate::proc_stat::{self, Stat};
use crate::process::{getpid, pid_exists};

/// A process, named by its pid and its start time (clock ticks since boot).
///
/// Pids are reused; the pair is not. [`is_alive`](Self::is_alive) is true only
/// if a process with this pid exists, is not a zombie, and started at the
/// recorded time.
///
/// # Examples
///
/// ```
/// use mproc_sys::ProcessId;
///
/// let me = ProcessId::current().unwrap();
/// assert!(me.is_alive());
/// let impostor = ProcessId { pid: me.pid, start_time: me.start_time + 1 };
/// assert!(!impostor.is_alive());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcessId {
    /// The process id.
    pub pid: i32,
    /// Start time in clock ticks after boot (field 22 of `/proc/<pid>/stat`).
    pub start_time: u64,
}

/// Bits of a pid in [`ProcessId::to_word`] (Linux's largest pid is 2^22).
const PID_BITS: u32 = 22;

impl ProcessId {
    /// The calling process.
    ///
    /// # Errors
    ///
    /// If `/proc/self/stat` cannot be read or parsed (no procfs mounted).
    ///
    /// # Examples
    ///
    /// ```
    /// let me = mproc_sys::ProcessId::current().unwrap();
    /// assert_eq!(me.pid as u32, std::process::id());
    /// ```
    pub fn current() -> io::Result<ProcessId> {
        let pid = getpid();
        if let Some(me) = current_cache::get(pid) {
            return Ok(me);
        }
        let stat = read_stat(pid)?;
        let me = ProcessId {
            pid,
            start_time: stat.start_time,
        };
        current_cache::set(me);
        Ok(me)
    }

    /// The process with this pid now, if it exists.
    ///
    /// # Errors
    ///
    /// `NotFound` if there is no such process.
    ///
    /// # Examples
    ///
    /// ```
    /// let me = mproc_sys::ProcessId::of(mproc_sys::getpid()).unwrap();
    /// assert_eq!(me, mproc_sys::ProcessId::current().unwrap());
    /// ```
    pub fn of(pid: i32) -> io::Result<ProcessId> {
        let stat = read_stat(pid)?;
        Ok(ProcessId {
            pid,
            start_time: stat.start_time,
        })
    }

    /// Whether this very process is still running (not dead, not a zombie,
    /// and not another process that reused the pid).
    ///
    /// A process that exists (the kernel says so) but whose `/proc` entry
    /// cannot be read counts as running: `/proc` mounted with `hidepid`
    /// hides other users' processes, and without `/proc` nothing can be
    /// read at all. Callers take "dead" as leave to take over what the
    /// process held (a lock, a slot), so when in doubt the answer is the
    /// one that only makes them wait (a pid reused by such a hidden
    /// process then also reads as running).
    ///
    /// # Examples
    ///
    /// ```
    /// let ghost = mproc_sys::ProcessId { pid: i32::MAX, start_time: 0 };
    /// assert!(!ghost.is_alive());
    /// assert!(mproc_sys::ProcessId::current().unwrap().is_alive());
    /// ```
    pub fn is_alive(&self) -> bool {
        if !pid_exists(self.pid) {
            return false;
        }
        match read_stat(self.pid) {
            Ok(stat) => stat.start_time == self.start_time && !stat.is_dead(),
            // It exists but /proc does not show it (hidden, no /proc, or
            // gone between the two looks, which the next look tells).
            Err(_) => true,
        }
    }

    /// The calling process, or, if `/proc` cannot tell its start time, its
    /// pid with a start time of 0 (which [`is_current`](Self::is_current)
    /// reads as "compare the pids alone").
    ///
    /// # Examples
    ///
    /// ```
    /// let me = mproc_sys::ProcessId::current_or_pid();
    /// assert_eq!(me.pid, mproc_sys::getpid());
    /// ```
    pub fn current_or_pid() -> ProcessId {
        ProcessId::current().unwrap_or(ProcessId {
            pid: getpid(),
            start_time: 0,
        })
    }

    /// This identity in one word, for a single atomic store and load:
    /// the pid in the low 22 bits (Linux's largest pid fits), the start
    /// time above (42 bits of clock ticks, centuries at 100 Hz). `None`
    /// if it does not fit; never 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_sys::ProcessId;
    /// let me = ProcessId::current().unwrap();
    /// assert_eq!(ProcessId::from_word(me.to_word().unwrap()), Some(me));
    /// assert_eq!(ProcessId { pid: 1 << 22, start_time: 0 }.to_word(), None);
    /// ```
    pub fn to_word(&self) -> Option<u64> {
        let fits = self.pid > 0
            && (self.pid as u64) < 1 << PID_BITS
            && self.start_time < 1 << (64 - PID_BITS);
        fits.then_some((self.start_time << PID_BITS) | self.pid as u64)
    }

    /// The identity [`to_word`](Self::to_word) made `word` of; `None` for
    /// 0 (no identity).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_sys::ProcessId::from_word(0), None);
    /// ```
    pub fn from_word(word: u64) -> Option<ProcessId> {
        (word != 0).then_some(ProcessId {
            pid: (word & ((1 << PID_BITS) - 1)) as i32,
            start_time: word >> PID_BITS,
        })
    }

    /// Whether this is the calling process: the same pid and, when both
    /// start times are known (not 0), the same start time.
    ///
    /// For objects in process memory that belong to the process that made
    /// them (a segment it unlinks on drop, a child it reaps): a forked copy
    /// is not the maker, even in a descendant that was given the maker's pid
    /// after the maker died, which a pid alone cannot tell.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_sys::ProcessId;
    ///
    /// let me = ProcessId::current().unwrap();
    /// assert!(me.is_current());
    /// // A process that had this pid before us (or after a fork, a dead
    /// // ancestor whose pid we were given).
    /// let earlier = ProcessId { pid: me.pid, start_time: me.start_time - 1 };
    /// assert!(!earlier.is_current());
    /// assert!(!ProcessId { pid: me.pid + 1, ..me }.is_current());
    /// assert_eq!(ProcessId::current_or_pid(), me);
    /// ```
    pub fn is_current(&self) -> bool {
        let me = ProcessId::current_or_pid();
        self.pid == me.pid
            && (self.start_time == 0 || me.start_time == 0 || self.start_time == me.start_time)
    }
}

/// The calling process's identity, kept after the first read of
/// `/proc/self/stat` (a few microseconds, paid by every segment creation
/// and handle registration otherwise).
///
/// One word holds the pid (22 bits, Linux's largest) and the start time
/// (42 bits of clock ticks, centuries at 100 Hz), so a reader never sees
/// one process's pid with another's start time. A second word holds the
/// [`fork_epoch`](crate::fork_epoch) it was found in: a forked descendant
/// may be given the pid of a dead ancestor whose identity the inherited
/// word still holds, and its epoch differs.
mod current_cache {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::ProcessId;

    static CACHE: AtomicU64 = AtomicU64::new(0);
    static CACHE_EPOCH: AtomicU64 = AtomicU64::new(u64::MAX);

    /// The cached identity, if it is that of process `pid` in this fork
    /// epoch.
    pub(super) fn get(pid: i32) -> Option<ProcessId> {
        // Acquire: pairs with the Release store in `set`, so a matching
        // epoch comes with the word stored before it. Every thread of one
        // epoch stores the same values, so words and epochs of different
        // stores of the same epoch agree.
        if CACHE_EPOCH.load(Ordering::Acquire) != crate::fork_epoch() {
            return None;
        }
        ProcessId::from_word(CACHE.load(Ordering::Relaxed)).filter(|me| me.pid == pid)
    }

    /// Caches `me`, if it fits the word.
    pub(super) fn set(me: ProcessId) {
        let epoch = crate::fork_epoch();
        if let Some(word) = me.to_word() {
            CACHE.store(word, Ordering::Relaxed);
            CACHE_EPOCH.store(epoch, Ordering::Release);
        }
    }

    /// Whether an identity of this epoch is cached (tests).
    #[cfg(test)]
    pub(super) fn is_empty() -> bool {
        CACHE_EPOCH.load(Ordering::Acquire) != crate::fork_epoch()
    }
}

/// The start time (clock ticks after boot) of process `pid`.
///
/// # Errors
///
/// `NotFound` if there is no such process, `InvalidData` if its stat line
/// cannot be parsed.
///
/// # Examples
///
/// ```
/// let t = mproc_sys::process_start_time(mproc_sys::getpid()).unwrap();
/// assert_eq!(t, mproc_sys::ProcessId::current().unwrap().start_time);
/// ```
pub fn process_start_time(pid: i32) -> io::Result<u64> {
    Ok(read_stat(pid)?.start_time)
}

/// `/proc/<pid>/stat`; `NotFound` for a pid that is not positive.
fn read_stat(pid: i32) -> io::Result<Stat> {
    if pid <= 0 {
        return Err(io::ErrorKind::NotFound.into());
    }
    proc_stat::read(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cached_identity_is_the_one_read_from_proc() {
        let me = ProcessId::current().unwrap();
        let stat = read_stat(me.pid).unwrap();
        assert_eq!(me.start_time, stat.start_time);
        assert_eq!(current_cache::get(me.pid), Some(me));
        // Another pid (a forked child's) misses the cache.
        assert_eq!(current_cache::get(me.pid + 1), None);
    }

    #[test]
    fn identities_that_do_not_fit_the_word_are_not_cached() {
        let before = ProcessId::current().unwrap();
        current_cache::set(ProcessId {
            pid: 1 << 22,
            start_time: 5,
        });
        current_cache::set(ProcessId {
            pid: 7,
            start_time: 1 << 42,
        });
        assert_eq!(current_cache::get(before.pid), Some(before));
        assert_eq!(current_cache::get(1 << 22), None);
        assert_eq!(current_cache::get(7), None);
    }

    #[test]
    fn a_forked_child_does_not_inherit_the_cached_identity() {
        let me = ProcessId::current().unwrap();
        assert!(!current_cache::is_empty());
        assert!(crate::test_child::passes_in_child(current_cache::is_empty));
        assert_eq!(current_cache::get(me.pid), Some(me));
    }
}
