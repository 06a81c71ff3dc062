//! Who the caller is, as a lock word records it: the kernel thread id
//! (unique among live threads system-wide) and the thread's start time
//! (so that a reused id does not pass for a dead holder).
//!
//! Both are cached per thread and refreshed in a forked child (the child's
//! only thread has a new id but inherits the parent's thread-local cache),
//! so that the lock fast path makes no system call.

/// The caller's identity as recorded in lock words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identity {
    /// Kernel thread id; never 0, at most [`crate::raw_lock::TID_MASK`].
    pub(crate) tid: u32,
    /// Thread start time in clock ticks after boot; 0 if unknown.
    pub(crate) start: u64,
}

#[cfg(not(loom))]
mod imp {
    use std::cell::Cell;

    use super::Identity;

    thread_local! {
        /// The identity found last, with the fork epoch it was found in;
        /// tid 0 means empty.
        static CACHE: Cell<(u64, Identity)> =
            const { Cell::new((0, Identity { tid: 0, start: 0 })) };
    }

    /// The calling thread's identity. The thread id is cached per thread
    /// and forgotten in a forked child (`gettid_cached`); the start time is
    /// read once per id and fork epoch: a forked descendant may be given
    /// the tid of a dead ancestor's thread whose identity it inherited.
    #[inline]
    pub(crate) fn current() -> Identity {
        let tid = mproc_sys::gettid_cached() as u32;
        let epoch = mproc_sys::fork_epoch();
        CACHE.with(|c| {
            let (at, id) = c.get();
            if id.tid == tid && at == epoch {
                return id;
            }
            let id = fill(tid);
            c.set((epoch, id));
            id
        })
    }

    #[cold]
    fn fill(tid: u32) -> Identity {
        Identity {
            tid,
            start: mproc_sys::thread_start_time(tid as i32).unwrap_or(0),
        }
    }

    /// Whether thread `tid` still runs and, if `start` is known, started at
    /// that time (compared under `mask`).
    pub(crate) fn is_alive(tid: u32, start: Option<u64>, mask: u64) -> bool {
        let Ok(tid) = i32::try_from(tid) else {
            return false;
        };
        if !mproc_sys::thread_is_alive(tid, None) {
            return false;
        }
        match (start, mproc_sys::thread_start_time(tid)) {
            (Some(expected), Ok(now)) if expected != 0 => now & mask == expected,
            _ => true,
        }
    }
}

#[cfg(loom)]
mod imp {
    //! Under loom every model thread runs on one OS thread: identities are
    //! handed out per model thread, and every holder counts as alive.

    use loom::sync::atomic::{AtomicU32, Ordering};

    use super::Identity;

    loom::lazy_static! {
        static ref NEXT: AtomicU32 = AtomicU32::new(1);
    }
    loom::thread_local! {
        static TID: u32 = NEXT.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn current() -> Identity {
        Identity {
            tid: TID.with(|t| *t),
            start: 1,
        }
    }

    pub(crate) fn is_alive(_tid: u32, _start: Option<u64>, _mask: u64) -> bool {
        true
    }
}

pub(crate) use imp::current;

/// A record is `tid << START_BITS | start time (low bits)`.
const START_BITS: u32 = 40;
const START_MASK: u64 = (1 << START_BITS) - 1;

/// One `u64` naming a thread and its start time, stored next to a word that
/// holds the thread id alone, so that a later thread with the same id is not
/// taken for it.
pub(crate) fn record(id: Identity) -> u64 {
    u64::from(id.tid) << START_BITS | (id.start & START_MASK)
}

/// The thread id in a record.
pub(crate) fn record_tid(record: u64) -> u32 {
    (record >> START_BITS) as u32
}

/// Whether thread `tid` still runs. `record` is used for its start time only
/// if it names `tid` (a record left by an earlier thread is ignored).
pub(crate) fn holder_alive(tid: u32, record: u64) -> bool {
    let start = (record_tid(record) == tid).then_some(record & START_MASK);
    imp::is_alive(tid, start, START_MASK)
}
