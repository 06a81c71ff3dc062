//! [`RawShardLock`]: a robust cross-process lock embedded in a segment.
//!
//! The sync crate's robust lock was not there yet when the dict was built,
//! so the dict carries this small one (see the crate docs). States of the
//! `owner` word:
//!
//! | owner | meaning |
//! | --- | --- |
//! | `0` | free |
//! | packed `(pid, start time)` | held by that process |
//!
//! Waiters count themselves in `waiters` and sleep on the `seq` futex word;
//! an unlock that sees a waiter bumps `seq` and wakes one. Waits are bounded
//! slices: after each one the waiter checks whether the owner still lives,
//! and takes over the lock of a dead owner with one compare-exchange, told
//! so by [`Acquired::OwnerDied`], so that it repairs what the owner left.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use mproc_shm::ShmSafe;
use mproc_sys::{FutexWait, futex_wait, futex_wake};

use crate::identity;

/// How a lock was acquired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Acquired {
    /// From a live owner or free: the protected data is consistent.
    Clean,
    /// Taken from a dead owner: the protected data may be half-changed.
    OwnerDied,
}

/// The lock as it lies in shared memory: one cache line.
#[repr(C, align(64))]
pub(crate) struct RawShardLock {
    owner: AtomicU64,
    waiters: AtomicU32,
    seq: AtomicU32,
    _pad: [AtomicU64; 6],
}

// SAFETY: repr(C), only atomics (any bit pattern valid), no pointers, no
// Drop; all mutation is atomic.
unsafe impl ShmSafe for RawShardLock {}

const SPINS: u32 = 100;
const FIRST_SLICE: Duration = Duration::from_millis(1);
const MAX_SLICE: Duration = Duration::from_millis(20);

impl RawShardLock {
    /// Acquires the lock for `me` (a packed identity, never 0).
    pub(crate) fn lock(&self, me: u64) -> Acquired {
        // SYNC POINT: Acquire pairs with the Release (SeqCst) store of 0 in
        // `unlock`: the previous holder's writes are visible.
        if self
            .owner
            .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return Acquired::Clean;
        }
        self.lock_slow(me)
    }

    /// Acquires the lock if it is free now.
    pub(crate) fn try_lock(&self, me: u64) -> bool {
        self.owner
            .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    #[cold]
    fn lock_slow(&self, me: u64) -> Acquired {
        for i in 0..SPINS {
            if self.owner.load(Ordering::Relaxed) == 0 && self.try_lock(me) {
                return Acquired::Clean;
            }
            if i < SPINS / 2 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        let mut slice = FIRST_SLICE;
        loop {
            self.waiters.fetch_add(1, Ordering::SeqCst);
            let seq = self.seq.load(Ordering::SeqCst);
            let owner = self.owner.load(Ordering::SeqCst);
            let woke = if owner == 0 {
                FutexWait::ValueChanged
            } else {
                // An unlock after our `waiters` increment bumps `seq`, so the
                // wait returns at once or is woken: no lost wake-up.
                futex_wait(&self.seq, seq, Some(slice))
            };
            self.waiters.fetch_sub(1, Ordering::SeqCst);
            if self.try_lock(me) {
                return Acquired::Clean;
            }
            if woke == FutexWait::TimedOut {
                let owner = self.owner.load(Ordering::Acquire);
                if owner != 0 && owner != me && !identity::is_alive(owner) {
                    // SYNC POINT: Acquire pairs with whatever the dead owner
                    // published before it died (its Release stores).
                    if self
                        .owner
                        .compare_exchange(owner, me, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok()
                    {
                        return Acquired::OwnerDied;
                    }
                }
                slice = (slice * 2).min(MAX_SLICE);
            }
        }
    }

    /// Releases the lock.
    pub(crate) fn unlock(&self) {
        // SYNC POINT: SeqCst store (a Release) pairs with the Acquire
        // compare-exchange in `lock`; SeqCst also orders it before the
        // `waiters` load against the waiter's increment-then-check.
        self.owner.store(0, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) != 0 {
            self.seq.fetch_add(1, Ordering::SeqCst);
            futex_wake(&self.seq, 1);
        }
    }

    /// Resets a lock word in a fresh segment.
    #[cfg(test)]
    pub(crate) fn owner_word(&self) -> &AtomicU64 {
        &self.owner
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mproc_shm::HeapRegion;
    use std::sync::atomic::AtomicU64 as StdU64;

    #[test]
    fn lock_unlock_and_dead_owner() {
        let heap = HeapRegion::new(64);
        let lock = heap.region().get::<RawShardLock>(0).unwrap();
        let me = identity::current().unwrap();
        assert_eq!(lock.lock(me), Acquired::Clean);
        assert!(!lock.try_lock(me));
        lock.unlock();
        // A dead owner (pid 0 is never alive) is taken over.
        lock.owner_word().store(identity::pack(mproc_sys::ProcessId { pid: 1 << 21, start_time: 3 }), Ordering::Relaxed);
        assert_eq!(lock.lock(me), Acquired::OwnerDied);
        lock.unlock();
    }

    #[test]
    fn threads_exclude_each_other() {
        let heap = HeapRegion::new(64);
        let region = heap.region();
        let counter = StdU64::new(0);
        let me = identity::current().unwrap();
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    let lock = region.get::<RawShardLock>(0).unwrap();
                    for _ in 0..20_000 {
                        lock.lock(me);
                        let v = counter.load(Ordering::Relaxed);
                        counter.store(v + 1, Ordering::Relaxed);
                        lock.unlock();
                    }
                });
            }
        });
        assert_eq!(counter.load(Ordering::Relaxed), 40_000);
    }
}
