//! `mproc-sys`: the platform layer of mproc, and the only crate that calls
//! `libc`.
//!
//! Every function here is a small, documented, safe (where it can be) wrapper
//! around one system call or one `/proc` read. Errors carry `errno` as a
//! [`std::io::Error`]. Higher crates (`shm`, `sync`, `queue`, `dict`,
//! `process`) build concepts on these and never touch `libc` themselves, so a
//! port to another OS is this crate's work.
//!
//! # Examples
//!
//! ```
//! use mproc_sys::ProcessId;
//!
//! let me = ProcessId::current().unwrap();
//! assert_eq!(me.pid, mproc_sys::getpid());
//! assert!(me.is_alive());
//! ```

mod affinity;
mod at_exit;
mod cpu_count;
mod cpu_time;
mod fork_epoch;
mod futex;
mod hand_over;
mod pidfd;
mod prefetch;
mod proc_stat;
mod process;
mod process_id;
mod rlimit;
mod shm_fd;
mod signal;
mod stdin_null;
mod subreaper;
#[cfg(test)]
mod test_child;
mod thread_id;

pub use affinity::{cpu_affinity, set_cpu_affinity};
pub use at_exit::at_exit;
pub use cpu_count::{affinity_cpu_count, online_cpu_count};
pub use cpu_time::{process_cpu_time, thread_cpu_time};
pub use fork_epoch::fork_epoch;
pub use futex::{FutexWait, futex_wait, futex_wake, futex_wake_all};
pub use hand_over::{handing_over_to, is_handing_over, while_handing_over_to};
pub use pidfd::{pidfd_open, wait_readable};
pub use prefetch::prefetch_for_write;
pub use process::{
    ExitStatus, ForkResult, exit_immediately, fork, getpid, getppid, getuid, kill, kill_group,
    set_parent_death_signal, setgid, setuid, waitpid,
};
pub use process_id::{ProcessId, process_start_time};
pub use rlimit::{process_limit, set_process_limit};
pub use shm_fd::{
    FileStat, SHM_DIR, fchmod, fstat, ftruncate, memfd_create, shm_create, shm_open_existing,
    shm_stat, shm_unlink,
};
pub use signal::Signal;
pub use stdin_null::stdin_from_null;
pub use subreaper::set_child_subreaper;
pub use thread_id::{gettid, gettid_cached, thread_is_alive, thread_start_time};
