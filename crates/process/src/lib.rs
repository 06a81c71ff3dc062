//! `mproc-process`: Python's `multiprocessing.Process`, in Rust.
//!
//! - [`Process`] builds a child: [`Process::new`] (a closure),
//!   [`Process::with_args`] (a function and serializable arguments),
//!   [`Process::from_target`] (a [`Target`], the analogue of subclassing
//!   `Process`); `.name(..)`, `.daemon(..)`, `.start_method(..)`, then
//!   [`start`](Process::start).
//! - [`Child`] is the started process: `pid`, `join`, `join_timeout`,
//!   `is_alive`, `terminate`, `kill`, `exitcode` with Python's meaning (0,
//!   the exit status, or minus the signal).
//! - [`StartMethod::Fork`] (default) runs any closure in a forked copy;
//!   [`StartMethod::Spawn`] re-executes the binary, which calls [`init`]
//!   first in `main`, and is safe from multi-threaded parents.
//! - [`current_process`], [`parent_process`], [`active_children`],
//!   [`cpu_count`].
//! - [`FnOffset`]: function pointers that stay valid across a re-exec of
//!   the same executable, for spawned children and pool workers.
//! - [`Pool`]: Python's `multiprocessing.Pool` (`map`, `imap`,
//!   `imap_unordered`, `starmap`, `apply`, `apply_async`, `map_async`,
//!   `close`, `join`, `terminate`) over shared-memory queues; a worker
//!   killed mid-task fails that task alone with [`PoolError::WorkerLost`]
//!   and is replaced; the tasks it had finished keep their results and are
//!   never run again, the ones it had not started go to another worker.
//!
//! # Examples
//!
//! ```
//! use mproc_process::{Process, current_process};
//!
//! let child = Process::new(|| {
//!     assert_eq!(current_process().name(), "Process-1");
//!     3 // the exit code; `mproc_process::exit(3)` from deeper down
//! })
//! .start()
//! .unwrap();
//! assert_eq!(child.join().unwrap(), 3);
//! ```

mod body;
mod child;
mod current;
mod error;
mod exit;
mod fn_offset;
mod fork;
mod info;
mod init;
mod outcome;
mod payload;
mod process;
mod spawn;
mod start_method;
mod table;
mod target;

pub use child::Child;
pub use current::{active_children, cpu_count, current_process, parent_process, process_cpu_count};
pub use error::{ProcessError, Result};
pub use exit::exit;
pub use fn_offset::{ExecutableId, FnOffset};
pub use info::ProcessInfo;
pub use init::init;
pub use outcome::Outcome;
pub use process::Process;
pub use start_method::{StartMethod, get_start_method, set_start_method};
pub use target::Target;

mod pool;
pub use pool::{AsyncResult, IMap, Pool, PoolBuilder, PoolError, StarFn, default_chunksize};
