//! mproc: Python's `multiprocessing`, done right, in Rust.
//!
//! Processes share memory instead of pickling through pipes. This facade
//! re-exports the workspace's crates, so that one dependency gives all of
//! it:
//!
//! | layer | crate | module here |
//! | --- | --- | --- |
//! | platform calls | `mproc-sys` | [`sys`] |
//! | shared-memory segments | `mproc-shm` | [`shm`] |
//! | cross-process locks and events | `mproc-sync` | [`sync`] |
//! | shared dict, `Value`, `Array`, `Manager` | `mproc-dict` | [`dict`] |
//! | lock-free queues in shared memory | `mproc-queue` | [`queue`] |
//! | processes: `Process`, `Child`, fork and spawn | `mproc-process` | [`process`] |
//!
//! Everything a program usually needs is in [`prelude`].
//!
//! # Examples
//!
//! ```
//! use mproc::shm::Segment;
//!
//! let seg = Segment::anonymous(64).unwrap();
//! seg.payload().write_bytes(0, b"shared").unwrap();
//! ```

pub use mproc_dict as dict;
pub use mproc_process as process;
pub use mproc_queue as queue;
pub use mproc_shm as shm;
pub use mproc_sync as sync;
pub use mproc_sys as sys;

pub use mproc_dict::{Array, Dict, DictError, DictOptions, Manager, TypedDict, Value};
pub use mproc_process::{
    AsyncResult, IMap, Pool, PoolBuilder, PoolError, StarFn, default_chunksize,
};
pub use mproc_process::{
    Child, FnOffset, Outcome, Process, ProcessError, ProcessInfo, StartMethod, Target,
    active_children, cpu_count, current_process, get_start_method, init, parent_process,
    process_cpu_count, set_start_method,
};
pub use mproc_queue::{
    Connection, Consumer, JoinableQueue, Pipe, Producer, Queue, QueueError, QueueOptions, SlotMut,
    SlotRef, SpscQueue, WaitStrategy,
};
pub use mproc_shm::{Segment, SegmentKind, ShmError, default_mode, set_default_mode};
pub use mproc_sync::{
    Barrier, BoundedSemaphore, Condition, Event, Lock, LockGuard, OwnerDied, RLock, RLockGuard,
    Semaphore, SyncError, TryLockError,
};

pub mod prelude {
    //! The names most programs use, in one import.
    //!
    //! # Examples
    //!
    //! ```
    //! use mproc::prelude::*;
    //!
    //! let q = Queue::new(QueueOptions::new().capacity(8).slot_size(64)).unwrap();
    //! let lock = Lock::new().unwrap();
    //! let d = Dict::new(DictOptions::new()).unwrap();
    //! let bounded = BoundedSemaphore::new(2).unwrap();
    //! let (a, b): (Connection, Connection) = Pipe::new().unwrap();
    //! // A lock whose holder was killed is taken with `OwnerDied`.
    //! let held = lock.lock().unwrap_or_else(OwnerDied::into_inner);
    //! assert!(matches!(lock.try_lock(), Err(TryLockError::WouldBlock)));
    //! drop((held, q, d, bounded, a, b));
    //! ```
    pub use crate::{
        Array, Barrier, BoundedSemaphore, Child, Condition, Connection, Dict, DictError,
        DictOptions, Event, JoinableQueue, Lock, Manager, OwnerDied, Pipe, Pool, PoolError,
        Process, ProcessError, Queue, QueueError, QueueOptions, RLock, Segment, Semaphore,
        ShmError, SpscQueue, StartMethod, SyncError, Target, TryLockError, TypedDict, Value,
        WaitStrategy, cpu_count, current_process,
    };
}

/// README.md's examples, compiled as doctests so the front door stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
