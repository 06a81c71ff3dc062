//! `mproc-queue`: lock-free ring-buffer queues in shared memory.
#![allow(dead_code)]

mod atomics;
mod error;
mod ring;
#[cfg(not(loom))]
mod control;
#[cfg(not(loom))]
mod layout;
#[cfg(not(loom))]
mod records;
#[cfg(not(loom))]
mod wait;

pub use error::{QueueError, Result};
#[cfg(not(loom))]
pub use wait::{DEFAULT_SPIN, WaitStrategy};
