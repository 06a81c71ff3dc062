//! `mproc-sync`: the synchronization half of Python's `multiprocessing`,
//! living in shared memory.
//!
//! At the bottom is [`WaitWord`], a futex word with a waiter count: sleep
//! while it holds a value, wake sleepers with no system call when there are
//! none. The queue and dict crates build on it.
//!
//! Atomics come from one place (`loom.rs`), switched to loom's under
//! `cfg(loom)`; the futex is a type parameter ([`Futex`]) so the loom
//! build swaps in a model of it.
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

mod futex;
mod loom;
mod wait_word;

#[cfg(loom)]
pub use futex::LoomFutex;
#[cfg(not(loom))]
pub use futex::SharedFutex;
pub use futex::{DefaultFutex, Futex, FutexWait};
pub use wait_word::{DEFAULT_SPINS, WaitOutcome, WaitWord};
