//! `mproc-dict`: Python's `Manager().dict()`, `Value` and `Array`, living
//! in shared memory with no server process.
//!
//! - [`Dict`]: byte keys and values; [`TypedDict`]: serde types (postcard
//!   encoded). Sharded, with a robust lock per shard; atomic
//!   read-modify-write with [`Dict::update`]; zero-copy reads with
//!   [`Dict::get_with`]; grows into new segment generations by itself.
//! - [`Value`] and [`Array`]: plain data (`bytemuck::Pod`) with a lock, like
//!   `multiprocessing.Value` / `Array`.
//! - [`Manager`]: one name prefix for a family of named objects, removed
//!   together when the creating manager drops.
//!
//! # Layout of a dict
//!
//! A root segment holds the current generation number; each generation is
//! a table segment: per shard a control block (robust lock, counters,
//! free-list heads per size class), a range of buckets (`hash tag | block
//! offset`, one u64 each) and an arena of blocks (`[header | key |
//! value]`). An entry becomes visible by one atomic store of its bucket
//! after its bytes are written, so a process killed mid-operation leaves at
//! worst blocks no bucket names; whoever next takes that shard's lock sees
//! the holder dead and puts them back on the free lists.
//!
//! The shard lock is the sync crate's robust [`RawLock`](mproc_sync::RawLock),
//! embedded in each shard's control block: when its holder dies, the next
//! locker is told so, repairs the shard, then marks the lock consistent.
//!
//! # Examples
//!
//! A counter shared by forked children, without an explicit lock:
//!
//! ```
//! use mproc_dict::{Dict, DictOptions};
//! use mproc_sys::{fork, waitpid, exit_immediately, ForkResult};
//!
//! let d = Dict::new(DictOptions::new()).unwrap();
//! let mut children = Vec::new();
//! for _ in 0..2 {
//!     // SAFETY: the child only uses the dict and exits immediately.
//!     match unsafe { fork() }.unwrap() {
//!         ForkResult::Child => {
//!             for _ in 0..1000 {
//!                 let ok = d.update(b"n", |v| {
//!                     let n = v.map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
//!                     Some((n + 1).to_le_bytes())
//!                 });
//!                 if ok.is_err() { exit_immediately(1) }
//!             }
//!             exit_immediately(0)
//!         }
//!         ForkResult::Parent { child } => children.push(child),
//!     }
//! }
//! for c in children {
//!     assert_eq!(waitpid(c, false).unwrap(), Some(mproc_sys::ExitStatus::Exited(0)));
//! }
//! assert_eq!(d.get(b"n").unwrap(), Some(2000u64.to_le_bytes().to_vec()));
//! ```

/// The crate proper, left out under `--cfg loom`, where only the loom
/// models build (the sync crate offers its raw primitives alone there).
macro_rules! not_under_loom {
    ($($item:item)*) => { $(#[cfg(not(loom))] $item)* };
}

not_under_loom! {
    mod array;
    mod block;
    mod bytes;
    mod class;
    mod dict;
    mod error;
    mod generation;
    mod grow;
    mod handle;
    mod hash;
    mod layout;
    mod manager;
    mod options;
    mod pod_segment;
    mod recovery;
    #[cfg(test)]
    mod reentry_tests;
    mod root;
    mod shard;
    mod stats;
    mod table;
    #[cfg(test)]
    mod table_tests;
    mod typed;
    mod value;
    mod whole;

    pub use array::{Array, ArrayGuard};
    pub use dict::Dict;
    pub use error::{DictError, Locked, Result};
    pub use manager::{MAX_NAMES, MAX_OBJECT_NAME, Manager};
    pub use root::table_base_belongs_to;
    pub use options::{DEFAULT_CAPACITY, DEFAULT_MAX_KEY_LEN, DEFAULT_MAX_VALUE_LEN, DictOptions};
    pub use stats::DictStats;
    pub use typed::TypedDict;
    pub use value::{Value, ValueGuard};
}

#[cfg(all(loom, test))]
mod loom_models;
