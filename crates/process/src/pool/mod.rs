//! [`Pool`]: Python's `multiprocessing.Pool`, which never hangs when a
//! worker dies.
//!
//! Tasks are `fn` pointers (named by [`FnOffset`](crate::FnOffset), valid
//! after fork and spawn) with postcard-encoded arguments, sent in chunks
//! through one shared-memory SPSC queue per worker; outcomes come back
//! postcard-encoded through one MPMC queue. Messages larger than a queue
//! slot are cut into frames. Each worker publishes in a shared record which
//! task it is running, so that when it dies the handler thread fails
//! exactly that task with [`PoolError::WorkerLost`], sends the rest of its
//! work elsewhere and starts a replacement.
//!
//! `imap` and `imap_unordered` consume their input lazily (`feed`): chunks
//! are pulled from the caller's iterator as results are taken, a bounded
//! window of them in flight, so an endless input works; `map` and the
//! other calls encode all their input before they return.
//!
//! Delivery: a worker mirrors each finished task's outcome into a staging
//! area of its shared record before it starts the next task (outcomes of
//! several tasks and chunks still travel back together, in one message).
//! When it dies, the handler takes the outcomes it had staged but not sent
//! as if they had arrived, fails the one task it was running with
//! [`PoolError::WorkerLost`], and re-dispatches only the tasks it never
//! started. A task that finished is never run again. Only if a worker's
//! unsent outcomes outgrow its staging area (1 MiB; the worker sends them
//! once they pass half of it, so this takes one chunk whose outcomes
//! together pass that size) and it dies before sending them, are the
//! finished tasks among them reported as [`PoolError::ResultLost`]
//! (still not run again).

mod async_result;
mod builder;
mod codec;
mod error;
mod feed;
mod frame;
mod handler;
mod imap;
mod items;
mod job;
mod map;
mod records;
mod shared;
mod spawner;
mod task;
mod wire;
mod worker;

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use async_result::AsyncResult;
pub use builder::PoolBuilder;
pub use error::PoolError;
pub use imap::IMap;
pub use task::StarFn;

use handler::{Handler, run_guarded};
use items::Counted;
use shared::{Order, Shared};
use spawner::{Common, Config};
use task::Call;

/// The most workers: the result queue has at most 4 096 handle records,
/// and the pool reserves two per worker and a few for itself
/// (`Common::create`).
const MAX_PROCESSES: usize = 2040;

/// The stack of the handler thread, and so of the workers forked from it.
const WORKER_STACK: usize = 8 << 20;

/// A pool of worker processes, as Python's `multiprocessing.Pool`: `map`,
/// `imap`, `imap_unordered`, `starmap`, `apply`, `apply_async`,
/// `map_async`, `close`, `join`, `terminate`. Dropping it terminates it
/// (Python's `with Pool() as p:`).
///
/// A worker killed while running a task (`SIGKILL`, a segfault, an abort)
/// fails that task alone with [`PoolError::WorkerLost`]; the pool starts a
/// replacement and finishes the rest. Tasks the dead worker had finished
/// but not yet reported (earlier tasks of the same chunk or message) are
/// not run again: their outcomes are recovered from the worker's shared
/// record (or, only for outcomes too large to stage, reported as
/// [`PoolError::ResultLost`]); tasks it never started run elsewhere. So a
/// task never runs twice: it runs once, or, if its worker dies running it,
/// at most once and in part, failing with [`PoolError::WorkerLost`]. A task
/// that panics fails with [`PoolError::TaskPanicked`].
/// The pool is `Sync`: several threads may submit at once; it belongs to
/// the process that made it ([`PoolError::NotOwner`] in a forked copy).
///
/// Workers are not daemons (the parent-death signal follows the thread
/// that started a child, and replacements start on the pool's own
/// thread): a worker whose pool's process died exits as soon as it is
/// idle, when its task queue reports that the producer is gone.
///
/// Functions are plain `fn` items or closures that capture nothing, with
/// serde arguments and results.
///
/// With the fork start method, replacement workers (after a death, or
/// with `maxtasksperchild`) are forked from the pool's own thread, which
/// takes the stdout and stderr locks for the fork so that no child
/// inherits them held. A thread that keeps `std::io::stdout().lock()` while
/// it waits for the pool's results therefore stalls the pool at its next
/// replacement: print under a lock taken per line (`println!`), or use the
/// spawn start method.
///
/// # Examples
///
/// ```
/// use mproc_process::Pool;
///
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// let pool = Pool::new(2).unwrap();
/// assert_eq!(pool.map(square, 0..5).unwrap(), [0, 1, 4, 9, 16]);
/// assert_eq!(pool.apply(square, 12).unwrap(), 144);
/// pool.close();
/// pool.join().unwrap();
/// ```
#[derive(Debug)]
pub struct Pool {
    shared: Arc<Shared>,
    handler: Mutex<Option<JoinHandle<()>>>,
}

impl Pool {
    /// A pool of `processes` workers, started with the default start
    /// method.
    ///
    /// # Errors
    ///
    /// As [`PoolBuilder::build`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::Pool::new(2).unwrap();
    /// assert_eq!(pool.processes(), 2);
    /// ```
    pub fn new(processes: usize) -> Result<Pool, PoolError> {
        PoolBuilder::new().processes(processes).build()
    }

    /// Options beyond the number of processes.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::Pool::builder().processes(1).build().unwrap();
    /// assert_eq!(pool.processes(), 1);
    /// ```
    pub fn builder() -> PoolBuilder {
        PoolBuilder::new()
    }

    fn start(cfg: Config) -> Result<Pool, PoolError> {
        let (mut common, rx, waker) = Common::create(cfg)?;
        let mut workers = Vec::with_capacity(cfg.processes);
        for slot in 0..cfg.processes {
            match common.start(slot) {
                Ok(w) => workers.push(Some(w)),
                Err(e) => {
                    for w in workers.iter().flatten() {
                        let _ = w.child.kill();
                        let _ = w.child.join();
                    }
                    return Err(e);
                }
            }
        }
        let shared = Arc::new(Shared::new(cfg.processes, waker));
        let handler = Handler::new(Arc::clone(&shared), common, rx, workers);
        // Replacement workers are forked from this thread and run on a
        // copy of its stack: as large as a main thread's (Linux's default
        // 8 MiB, reserved, not touched), so that a task that recurses
        // deeply in the first workers does so in their replacements too.
        let thread = std::thread::Builder::new()
            .name("mproc-pool".into())
            .stack_size(WORKER_STACK)
            .spawn(move || run_guarded(handler))
            .map_err(|source| PoolError::Thread { source })?;
        Ok(Pool {
            shared,
            handler: Mutex::new(Some(thread)),
        })
    }

    /// How many workers the pool keeps.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_process::Pool::new(2).unwrap().processes(), 2);
    /// ```
    pub fn processes(&self) -> usize {
        self.shared.processes
    }

    /// The current workers' pids (they change as workers are replaced).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::Pool::new(2).unwrap();
    /// assert_eq!(pool.pids().len(), 2);
    /// ```
    pub fn pids(&self) -> Vec<i32> {
        self.shared.pids()
    }

    /// `f(arg)` in a worker, waiting for the result (Python's `apply`).
    ///
    /// # Errors
    ///
    /// As [`apply_async`](Self::apply_async), then the task's error.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::Pool::new(1).unwrap();
    /// assert_eq!(pool.apply(|(a, b): (u8, u8)| a + b, (2, 3)).unwrap(), 5);
    /// ```
    pub fn apply<A, R>(&self, f: fn(A) -> R, arg: A) -> Result<R, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        self.apply_async(f, arg)?.get()
    }

    /// `f(arg)` in a worker; the result is collected later (Python's
    /// `apply_async`).
    ///
    /// # Errors
    ///
    /// [`PoolError::EncodeArgument`], [`PoolError::NotRunning`],
    /// [`PoolError::Process`] if `f` is not in the executable image.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::Pool::new(1).unwrap();
    /// let r = pool.apply_async(|s: String| s.to_uppercase(), "hi".to_string()).unwrap();
    /// assert_eq!(r.get().unwrap(), "HI");
    /// ```
    pub fn apply_async<A, R>(&self, f: fn(A) -> R, arg: A) -> Result<AsyncResult<R>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let job = self.shared.submit_items(Call::of_fn(f)?, [arg], 1)?;
        Ok(AsyncResult::new(job, imap::decode_one::<R>))
    }

    /// [`map`](Self::map) whose result is collected later (Python's
    /// `map_async`).
    ///
    /// # Errors
    ///
    /// As [`apply_async`](Self::apply_async).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::Pool::new(2).unwrap();
    /// let r = pool.map_async(|x: i64| x - 1, [1, 2]).unwrap();
    /// assert_eq!(r.get().unwrap(), [0, 1]);
    /// ```
    pub fn map_async<A, R>(
        &self,
        f: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
    ) -> Result<AsyncResult<Vec<R>>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let (len, items) = Counted::new(items);
        let chunksize = default_chunksize(len, self.processes());
        let job = self
            .shared
            .submit_items(Call::of_fn(f)?, items, chunksize)?;
        Ok(AsyncResult::new(job, imap::decode_all::<R>))
    }

    /// No more work will be submitted: the workers exit once all submitted
    /// work is done (Python's `close`). A streaming call started before
    /// (`imap`) still pulls its input, and the workers wait for it, until
    /// its input ends, its iterator is dropped, or [`join`](Self::join) is
    /// called.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_process::{Pool, PoolError};
    /// let pool = Pool::new(1).unwrap();
    /// pool.close();
    /// assert!(matches!(pool.apply(|x: u8| x, 1), Err(PoolError::NotRunning)));
    /// pool.join().unwrap();
    /// ```
    pub fn close(&self) {
        if self.shared.check_owner().is_err() {
            return;
        }
        self.shared.order(Order::Close);
    }

    /// Stops the workers now (`SIGTERM`, then `SIGKILL` after 300 ms),
    /// reaps them, and fails unfinished work with
    /// [`PoolError::Terminated`] (Python's `terminate`). Returns when done.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use mproc_process::{Pool, PoolError};
    /// fn sleepy(_: ()) { std::thread::sleep(Duration::from_secs(30)) }
    /// let pool = Pool::new(1).unwrap();
    /// let r = pool.apply_async(sleepy, ()).unwrap();
    /// pool.terminate();
    /// assert!(matches!(r.get(), Err(PoolError::Terminated)));
    /// ```
    pub fn terminate(&self) {
        // In a forked copy of the owner, the workers and the handler are
        // not ours: leave them alone.
        if self.shared.check_owner().is_err() {
            return;
        }
        self.shared.order(Order::Terminate);
        self.shared.signal_workers();
        self.wait_handler();
    }

    /// Waits until the workers have exited, after [`close`](Self::close)
    /// or [`terminate`](Self::terminate) (Python's `join`). A streaming
    /// call whose input is not all pulled yet submits no more: its
    /// iteration gives what was submitted, then ends with
    /// [`PoolError::NotRunning`] (so `join` never waits on an iterator that
    /// nobody consumes).
    ///
    /// # Errors
    ///
    /// [`PoolError::StillRunning`] if neither was called;
    /// [`PoolError::NotOwner`] in another process than the pool's.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::Pool::new(2).unwrap();
    /// assert!(pool.join().is_err());
    /// pool.close();
    /// pool.join().unwrap();
    /// assert!(pool.pids().is_empty());
    ///
    /// // An endless stream joined before it is consumed.
    /// use mproc_process::{Pool, PoolError};
    /// let pool = Pool::new(2).unwrap();
    /// let it = pool.imap(|x: u64| x, 0u64..).unwrap();
    /// pool.close();
    /// pool.join().unwrap();
    /// let last = it.last().unwrap();
    /// assert!(matches!(last, Err(PoolError::NotRunning)));
    /// ```
    pub fn join(&self) -> Result<(), PoolError> {
        self.shared.check_owner()?;
        if self.shared.running() {
            return Err(PoolError::StillRunning);
        }
        // Streaming calls whose input is not all in submit no more: the
        // workers leave once what was submitted is done.
        self.shared.joining();
        self.wait_handler();
        Ok(())
    }

    /// Waits until the handler thread has finished. The lock is held
    /// across the join, so that a second caller (a `terminate` while
    /// another thread is in `join`) returns only once the handler is done,
    /// not as soon as the first caller has taken the handle.
    fn wait_handler(&self) {
        let mut thread = self.handler.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Python's default chunk size for `map`: `len / (4 * processes)`, rounded
/// up, at least 1.
///
/// # Examples
///
/// ```
/// use mproc_process::default_chunksize;
/// assert_eq!(default_chunksize(100_000, 2), 12_500);
/// assert_eq!(default_chunksize(10, 2), 2);
/// assert_eq!(default_chunksize(0, 2), 1);
/// ```
pub fn default_chunksize(len: usize, processes: usize) -> usize {
    let per = 4 * processes.max(1);
    len.div_ceil(per).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Pool>();
        send_sync::<AsyncResult<String>>();
        send::<IMap<'static, String>>();
        send_sync::<PoolError>();
    }

    #[test]
    fn python_chunk_heuristic() {
        // divmod(len, 4 * processes), plus one if there is a remainder.
        assert_eq!(default_chunksize(1_000_000, 2), 125_000);
        assert_eq!(default_chunksize(9, 2), 2);
        assert_eq!(default_chunksize(8, 2), 1);
        assert_eq!(default_chunksize(1, 8), 1);
    }
}
