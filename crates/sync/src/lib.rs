//! `mproc-sync`: the synchronization half of Python's `multiprocessing`,
//! living in shared memory, and robust where Python's is not.
//!
//! | Python | here | raw, embeddable form |
//! | --- | --- | --- |
//! | `Lock` | [`Lock`] (and [`Mutex<T>`] with data) | [`RawLock`] |
//! | `RLock` | [`RLock`] | [`RawRLock`] |
//! | `Semaphore`, `BoundedSemaphore` | [`Semaphore`], [`BoundedSemaphore`] | [`RawSemaphore`] |
//! | `Condition` | [`Condition`] | [`RawCondition`] |
//! | `Event` | [`Event`] | [`RawEvent`] |
//! | `Barrier` | [`Barrier`] | [`RawBarrier`] |
//!
//! Each handle lives in its own segment: `X::new(..)` in an anonymous one
//! shared with children forked afterwards, `X::create(name, ..)` and
//! `X::open(name)` for unrelated processes. Each raw form is `#[repr(C)]`,
//! holds no pointers, and is laid into any segment with `init_in_place`
//! and found again with `attach`, which validates its bytes.
//!
//! At the bottom is [`WaitWord`], a futex word with a waiter count: sleep
//! while it holds a value, wake sleepers with no system call when there are
//! none. The queue and dict crates build on it too.
//!
//! # Robustness
//!
//! A lock whose holder dies is recovered: the next `lock()` returns
//! `Err(OwnerDied(guard))`; the guard's `make_consistent()` declares the
//! data repaired. The lock is a futex word holding the holder's thread id
//! (the kernel's robust-futex format, without its pointer list) plus the
//! holder's start time; a waiter that has slept [`FIRST_OWNER_CHECK`], then
//! every [`OWNER_CHECK_INTERVAL`], looks the holder up in `/proc` and takes
//! the lock over if it is gone (a zombie counts as gone). A pthread robust
//! mutex was not used: glibc links held robust mutexes through pointers
//! stored inside the mutex, that is inside the segment, so a peer that
//! scribbles there could make glibc or the kernel write through pointers of
//! its choosing; here the segment holds only plain values, and any bytes a
//! peer writes give an error or a timeout, never UB.
//!
//! A barrier whose registered party dies before arriving breaks for
//! everyone ([`SyncError::BrokenBarrier`]) instead of hanging them. Every
//! blocking call has a timeout form.
//!
//! Atomics come from one place (`loom.rs`), switched to loom's under
//! `cfg(loom)`; the futex is a type parameter ([`Futex`]) so the loom build
//! swaps in a model of it.
//!
//! # Examples
//!
//! ```
//! use std::sync::atomic::Ordering;
//! use mproc_sync::{WaitOutcome, WaitWord};
//!
//! let w = WaitWord::new(0);
//! w.value().store(1, Ordering::Release);
//! assert_eq!(w.wake_all(), 0); // nobody waits: no system call
//! assert_eq!(w.wait_while(0, None), WaitOutcome::Changed);
//! ```

// The loom build models the state machines only: segment plumbing (attach,
// validation, handles) is compiled out, leaving some helpers unused.
#![cfg_attr(loom, allow(unused_imports, dead_code, clippy::reversed_empty_ranges))]

#[cfg(not(loom))]
mod barrier;
mod condition;
mod error;
mod event;
mod futex;
mod identity;
mod lock_guard;
mod loom;
mod party_table;
mod raw_barrier;
mod raw_lock;
mod rlock;
mod semaphore;
mod tag;
mod wait_word;

#[cfg(not(loom))]
mod lock;
#[cfg(not(loom))]
mod mutex;
#[cfg(not(loom))]
mod shared;

#[cfg(not(loom))]
pub use barrier::Barrier;
#[cfg(not(loom))]
pub use condition::Condition;
pub use condition::{RawCondition, WaitTimeoutResult};
pub use error::{LockResult, OwnerDied, Result, SyncError, TryLockError, TryLockResult};
#[cfg(not(loom))]
pub use event::Event;
pub use event::RawEvent;
#[cfg(loom)]
pub use futex::LoomFutex;
#[cfg(not(loom))]
pub use futex::SharedFutex;
pub use futex::{DefaultFutex, Futex, FutexWait};
#[cfg(not(loom))]
pub use lock::Lock;
pub use lock_guard::LockGuard;
#[cfg(not(loom))]
pub use mutex::{Mutex, MutexGuard};
pub use party_table::PartySlot;
pub use raw_barrier::{
    BarrierHeader, FIRST_PARTY_CHECK, MAX_PARTIES, PARTY_CHECK_INTERVAL, RawBarrier,
};
pub use raw_lock::{
    FIRST_OWNER_CHECK, OWNER_CHECK_INTERVAL, OWNER_DIED, RawLock, TID_MASK, WAITERS,
};
#[cfg(not(loom))]
pub use rlock::RLock;
pub use rlock::{RLockGuard, RawRLock};
#[cfg(not(loom))]
pub use semaphore::{BoundedSemaphore, Semaphore};
pub use semaphore::{RawSemaphore, SEMAPHORE_MAX};
pub use wait_word::{DEFAULT_SPINS, RECHECK_INTERVAL, WaitOutcome, WaitWord};
