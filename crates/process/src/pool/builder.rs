//! [`PoolBuilder`]: Python's `Pool(processes, initializer, maxtasksperchild)`
//! and the start method.

use super::error::PoolError;
use super::spawner::Config;
use super::{MAX_PROCESSES, Pool};
use crate::current::process_cpu_count;
use crate::fn_offset::FnOffset;
use crate::start_method::{StartMethod, get_start_method};

/// Options of a new [`Pool`]; [`build`](Self::build) starts it.
///
/// # Examples
///
/// ```
/// use mproc_process::{Pool, StartMethod};
///
/// fn setup() {
///     // runs once in each worker before its first task
/// }
///
/// let pool = Pool::builder()
///     .processes(2)
///     .start_method(StartMethod::Fork)
///     .initializer(setup)
///     .maxtasksperchild(100)
///     .build()
///     .unwrap();
/// assert_eq!(pool.processes(), 2);
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a PoolBuilder does nothing until built"]
pub struct PoolBuilder {
    processes: Option<usize>,
    method: Option<StartMethod>,
    initializer: Option<fn()>,
    maxtasks: Option<usize>,
}

impl PoolBuilder {
    /// Default options: [`process_cpu_count`] workers (the CPUs this
    /// process may run on, as Python 3.13's default), the default start
    /// method, no initializer, workers that live as long as the pool.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::PoolBuilder::new().build().unwrap();
    /// assert_eq!(pool.processes(), mproc_process::process_cpu_count());
    /// ```
    pub fn new() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// How many worker processes (default: [`process_cpu_count`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::Pool::builder().processes(3).build().unwrap();
    /// assert_eq!(pool.pids().len(), 3);
    /// ```
    pub fn processes(mut self, n: usize) -> PoolBuilder {
        self.processes = Some(n);
        self
    }

    /// How workers are started (default:
    /// [`get_start_method`](crate::get_start_method())). With
    /// [`StartMethod::Spawn`] the program's `main` must call
    /// [`init`](crate::init()) first.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_process::{Pool, StartMethod};
    /// let pool = Pool::builder().processes(1).start_method(StartMethod::Fork).build().unwrap();
    /// assert_eq!(pool.map(|x: i32| -x, [1, 2]).unwrap(), [-1, -2]);
    /// ```
    pub fn start_method(mut self, method: StartMethod) -> PoolBuilder {
        self.method = Some(method);
        self
    }

    /// A function each worker runs once when it starts (Python's
    /// `initializer`; pass state through statics or the environment).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// static READY: AtomicU32 = AtomicU32::new(0);
    /// fn setup() { READY.store(7, Ordering::Relaxed); }
    /// fn probe(_: ()) -> u32 { READY.load(Ordering::Relaxed) }
    ///
    /// let pool = mproc_process::Pool::builder().processes(1).initializer(setup).build().unwrap();
    /// assert_eq!(pool.apply(probe, ()).unwrap(), 7);
    /// ```
    pub fn initializer(mut self, f: fn()) -> PoolBuilder {
        self.initializer = Some(f);
        self
    }

    /// Replace each worker after it has run `k` chunks (Python's
    /// `maxtasksperchild`; a chunk is one task unless a chunksize says
    /// otherwise).
    ///
    /// # Examples
    ///
    /// ```
    /// fn pid(_: u8) -> i32 { std::process::id() as i32 }
    /// let pool = mproc_process::Pool::builder().processes(1).maxtasksperchild(1).build().unwrap();
    /// let pids = pool.map_chunked(pid, [0, 0, 0], 1).unwrap();
    /// assert!(pids[0] != pids[1] && pids[1] != pids[2]);
    /// ```
    pub fn maxtasksperchild(mut self, k: usize) -> PoolBuilder {
        self.maxtasks = Some(k);
        self
    }

    /// Starts the workers and the handler thread.
    ///
    /// # Errors
    ///
    /// [`PoolError::InvalidOption`] for zero processes or more than
    /// 2 040 (each worker takes two of the result queue's 4 096 handle
    /// records), or a `maxtasksperchild` of zero; [`PoolError::Process`] if a worker
    /// cannot be started (or the initializer lies outside the executable
    /// image); [`PoolError::Queue`] / [`PoolError::Shm`] if the pool's
    /// shared memory cannot be made; [`PoolError::Thread`].
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_process::{Pool, PoolError};
    /// let err = Pool::builder().processes(0).build().unwrap_err();
    /// assert!(matches!(err, PoolError::InvalidOption { option: "processes", value: 0 }));
    /// let err = Pool::builder().processes(5000).build().unwrap_err();
    /// assert!(matches!(err, PoolError::InvalidOption { option: "processes", value: 5000 }));
    /// assert!(err.to_string().ends_with("must be from 1 to 2040"), "{err}");
    /// ```
    pub fn build(self) -> Result<Pool, PoolError> {
        let processes = self.processes.unwrap_or_else(process_cpu_count);
        if processes == 0 || processes > MAX_PROCESSES {
            return Err(PoolError::InvalidOption {
                option: "processes",
                value: processes as _,
            });
        }
        if self.maxtasks == Some(0) {
            return Err(PoolError::InvalidOption {
                option: "maxtasksperchild",
                value: 0,
            });
        }
        let initializer = match self.initializer {
            Some(f) => Some(FnOffset::of_addr(f as usize)?),
            None => None,
        };
        Pool::start(Config {
            processes,
            method: self.method.unwrap_or_else(get_start_method),
            initializer,
            maxtasks: self.maxtasks,
        })
    }
}
