//! Every system mproc is measured against: floors (what no IPC can beat),
//! in-process ceilings, Rust IPC peers, and Python's multiprocessing.

pub(crate) mod atomic_floor;
pub(crate) mod crossbeam;
pub(crate) mod fork_floor;
pub(crate) mod futex_floor;
pub(crate) mod hashmap;
pub(crate) mod iceoryx2;
pub(crate) mod ipc_channel;
pub(crate) mod memcpy_floor;
pub(crate) mod python;
pub(crate) mod raw_sync;
pub(crate) mod rtrb;
pub(crate) mod std_mutex;
