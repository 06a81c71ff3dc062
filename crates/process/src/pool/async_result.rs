//! [`AsyncResult`]: the result of `apply_async` / `map_async`, collected
//! later.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::error::PoolError;
use super::job::{Job, JobState};

/// Turns a finished job's outcomes into the call's value.
pub(crate) type Decode<T> = fn(&mut JobState) -> Result<T, PoolError>;

/// The result of [`Pool::apply_async`](crate::Pool::apply_async) or
/// [`Pool::map_async`](crate::Pool::map_async), as Python's
/// `AsyncResult`: poll it with [`ready`](Self::ready), wait with
/// [`wait`](Self::wait) / [`wait_timeout`](Self::wait_timeout), collect it
/// with [`get`](Self::get) / [`get_timeout`](Self::get_timeout).
///
/// The work goes on whether or not anyone waits; dropping an
/// `AsyncResult` discards its value when it arrives.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mproc_process::Pool;
///
/// fn slow_square(x: u64) -> u64 {
///     std::thread::sleep(Duration::from_millis(200));
///     x * x
/// }
///
/// let pool = Pool::new(1).unwrap();
/// let r = pool.apply_async(slow_square, 9).unwrap();
/// assert!(r.get_timeout(Duration::from_millis(1)).is_err()); // not yet
/// assert_eq!(r.get().unwrap(), 81); // still there
/// ```
pub struct AsyncResult<T> {
    job: Arc<Job>,
    decode: Decode<T>,
    /// The decoded value once finished; `None` inside once taken.
    value: Mutex<Option<Option<Result<T, PoolError>>>>,
}

impl<T> std::fmt::Debug for AsyncResult<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncResult")
            .field("ready", &self.ready())
            .finish_non_exhaustive()
    }
}

impl<T> AsyncResult<T> {
    pub(crate) fn new(job: Arc<Job>, decode: Decode<T>) -> AsyncResult<T> {
        AsyncResult {
            job,
            decode,
            value: Mutex::new(None),
        }
    }

    /// Whether the call has finished (successfully or not).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::Pool::new(1).unwrap();
    /// let r = pool.apply_async(|x: u8| x, 1).unwrap();
    /// r.wait();
    /// assert!(r.ready());
    /// ```
    pub fn ready(&self) -> bool {
        self.job.lock().finished()
    }

    /// Waits until the call has finished.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::Pool::new(1).unwrap();
    /// let r = pool.apply_async(|x: u8| x + 1, 1).unwrap();
    /// r.wait();
    /// assert_eq!(r.get().unwrap(), 2);
    /// ```
    pub fn wait(&self) {
        let _ = self.job.wait_until(None, JobState::finished);
    }

    /// Waits at most `timeout`; returns whether the call has finished.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = mproc_process::Pool::new(1).unwrap();
    /// let r = pool.apply_async(|x: u8| x, 1).unwrap();
    /// assert!(r.wait_timeout(Duration::from_secs(10)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.job
            .wait_until(Instant::now().checked_add(timeout), JobState::finished)
            .1
    }

    /// `None` until the call has finished; then whether it succeeded
    /// (Python raises `ValueError` before it is ready).
    ///
    /// # Examples
    ///
    /// ```
    /// fn boom(_: u8) -> u8 { panic!("boom") }
    /// let pool = mproc_process::Pool::new(1).unwrap();
    /// let r = pool.apply_async(boom, 1).unwrap();
    /// r.wait();
    /// assert_eq!(r.successful(), Some(false));
    /// ```
    pub fn successful(&self) -> Option<bool> {
        let mut value = self.value.lock().unwrap_or_else(PoisonError::into_inner);
        if value.is_none() {
            let mut state = self.job.lock();
            if !state.finished() {
                return None;
            }
            *value = Some(Some((self.decode)(&mut state)));
        }
        match &*value {
            Some(Some(r)) => Some(r.is_ok()),
            _ => Some(false),
        }
    }

    /// Waits for the call and returns its value: a task's error (the first
    /// in input order, for `map_async`) if it failed.
    ///
    /// # Errors
    ///
    /// The task's [`PoolError`]; [`PoolError::Terminated`] if the pool was
    /// terminated first; [`PoolError::ResultTaken`] if
    /// [`get_timeout`](Self::get_timeout) took it already.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::Pool::new(2).unwrap();
    /// let r = pool.map_async(|x: u32| x * 10, vec![1, 2, 3]).unwrap();
    /// assert_eq!(r.get().unwrap(), [10, 20, 30]);
    /// ```
    pub fn get(self) -> Result<T, PoolError> {
        self.take(None)
    }

    /// [`get`](Self::get), waiting at most `timeout`. On timeout the value
    /// stays, to be collected by a later call.
    ///
    /// # Errors
    ///
    /// [`PoolError::Timeout`] if the call has not finished in time, and
    /// those of [`get`](Self::get).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use mproc_process::{Pool, PoolError};
    ///
    /// fn nap(ms: u64) -> u64 { std::thread::sleep(Duration::from_millis(ms)); ms }
    ///
    /// let pool = Pool::new(1).unwrap();
    /// let r = pool.apply_async(nap, 300).unwrap();
    /// assert!(matches!(r.get_timeout(Duration::from_millis(10)), Err(PoolError::Timeout { .. })));
    /// assert_eq!(r.get_timeout(Duration::from_secs(10)).unwrap(), 300);
    /// assert!(matches!(r.get_timeout(Duration::ZERO), Err(PoolError::ResultTaken)));
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, PoolError> {
        self.take(Some(timeout))
    }

    fn take(&self, timeout: Option<Duration>) -> Result<T, PoolError> {
        // The wait holds no lock of ours, so that `ready` and `successful`
        // answer at once while another thread waits here.
        let decoded = self
            .value
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        if !decoded {
            let start = Instant::now();
            let (state, done) = self.job.wait_until(
                timeout.and_then(|t| start.checked_add(t)),
                JobState::finished,
            );
            drop(state);
            if !done {
                return Err(PoolError::Timeout {
                    waited_ms: start.elapsed().as_millis() as u64,
                });
            }
        }
        // The value, then the job's state: the order `successful` takes.
        let mut value = self.value.lock().unwrap_or_else(PoisonError::into_inner);
        if value.is_none() {
            let mut state = self.job.lock();
            *value = Some(Some((self.decode)(&mut state)));
        }
        match value.as_mut().and_then(Option::take) {
            Some(r) => r,
            None => Err(PoolError::ResultTaken),
        }
    }
}
