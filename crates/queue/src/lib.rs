//! `mproc-queue`: lock-free ring-buffer queues in shared memory, Python's
//! `multiprocessing.Queue` without pickling or a feeder thread.
//!
//! | Python | here |
//! | --- | --- |
//! | `Queue(maxsize)` | [`Queue`] (many producers, many consumers) |
//! | `SimpleQueue` | [`SpscQueue`] (one producer, one consumer, fastest) |
//! | `JoinableQueue` (`task_done`, `join`) | [`JoinableQueue`] |
//! | `Pipe(duplex)` | [`Pipe`] → two [`Connection`]s |
//! | `put` / `put_nowait` / `put(timeout=)` | [`Producer::send`] / [`try_send`](Producer::try_send) / [`send_timeout`](Producer::send_timeout) |
//! | `get` / `get_nowait` / `get(timeout=)` | [`Consumer::recv`] / [`try_recv`](Consumer::try_recv) / [`recv_timeout`](Consumer::recv_timeout) |
//! | `close()` | [`Queue::close`]: consumers drain, then [`QueueError::Closed`] |
//! | (blocks forever when the producer died) | [`QueueError::Disconnected`] |
//!
//! Beyond Python: zero-copy [`Producer::loan`] / [`SlotMut::commit`] and
//! [`Consumer::recv_ref`] (also named [`borrow`](Consumer::borrow)) →
//! [`SlotRef`]; [`Consumer::recv`] copies out. Batches published or released
//! with one index store ([`Producer::send_batch`], zero-copy
//! [`Producer::loan_batch`] → [`LoanBatch`], [`Consumer::recv_batch`]); plain-data ([`Producer::send_pod`]) and serde
//! ([`Producer::send_value`]) messages; a [`WaitStrategy`] per handle; and
//! robustness: a process killed between `loan` and `commit`, or while
//! holding a `SlotRef`, does not stall the queue (its slot is skipped or
//! freed by the next handle that finds it in the way, within the 20 ms of
//! its check interval, and counted in [`QueueStats::abandoned`]; a handle
//! that only polls with `try_*` checks once in 16 fruitless polls after
//! the interval).
//!
//! The ring algorithms (`ring`) work on a plain byte region and are checked
//! by loom, miri and a model-based proptest; the queues lay them out in a
//! `mproc_shm::Segment` (anonymous, shared across `fork`, or named).
//!
//! # Examples
//!
//! A producer process and a consumer (here the same process, for brevity):
//!
//! ```
//! use mproc_queue::{Queue, QueueError, QueueOptions};
//!
//! let q = Queue::new(QueueOptions::new().capacity(64).slot_size(128)).unwrap();
//! let mut tx = q.producer().unwrap();
//! let mut rx = q.consumer().unwrap();
//! for i in 0..3u32 {
//!     tx.send_pod(&i).unwrap();
//! }
//! q.close();
//! let mut got = Vec::new();
//! loop {
//!     match rx.recv_pod::<u32>() {
//!         Ok(v) => got.push(v),
//!         Err(QueueError::Closed) => break,
//!         Err(e) => panic!("{e}"),
//!     }
//! }
//! assert_eq!(got, [0, 1, 2]);
//! ```

#[cfg(not(loom))]
mod acting_process;
mod atomics;
#[cfg(not(loom))]
mod batch;
#[cfg(not(loom))]
mod borrow;
#[cfg(not(loom))]
mod copy;
mod error;
mod ring;

#[cfg(not(loom))]
mod consumer;
#[cfg(not(loom))]
mod control;
#[cfg(not(loom))]
mod core;
#[cfg(not(loom))]
mod joinable;
#[cfg(not(loom))]
mod layout;
#[cfg(not(loom))]
mod loan_batch;
#[cfg(not(loom))]
mod options;
#[cfg(not(loom))]
mod pipe;
#[cfg(not(loom))]
mod producer;
#[cfg(not(loom))]
mod queue;
#[cfg(not(loom))]
mod records;
#[cfg(not(loom))]
mod slot;
#[cfg(not(loom))]
mod stats;
#[cfg(not(loom))]
mod typed;
#[cfg(not(loom))]
mod wait;
mod waiter;

#[cfg(not(loom))]
pub use consumer::Consumer;
pub use error::{QueueError, Result};
#[cfg(not(loom))]
pub use joinable::JoinableQueue;
#[cfg(not(loom))]
pub use loan_batch::LoanBatch;
#[cfg(not(loom))]
pub use options::QueueOptions;
#[cfg(not(loom))]
pub use pipe::{Connection, Pipe};
#[cfg(not(loom))]
pub use producer::Producer;
#[cfg(not(loom))]
pub use queue::{Queue, SpscQueue};
#[cfg(not(loom))]
pub use slot::{SlotMut, SlotRef};
#[cfg(not(loom))]
pub use stats::QueueStats;
#[cfg(not(loom))]
pub use wait::{DEFAULT_SPIN, WaitStrategy};
