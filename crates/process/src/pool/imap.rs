//! [`IMap`]: the streaming iterator of `imap` and `imap_unordered`, and
//! the decoding of whole jobs for `map` and the async results.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use super::error::PoolError;
use super::job::{ChunkOutcome, Failure, Job, JobState};

/// The results of [`Pool::imap`](crate::Pool::imap) (in input order) or
/// [`Pool::imap_unordered`](crate::Pool::imap_unordered) (as they come),
/// each as it arrives while later tasks still run; a task's error comes in
/// its place and the iteration goes on.
///
/// # Examples
///
/// ```
/// let pool = mproc_process::Pool::new(2).unwrap();
/// let mut it = pool.imap(|x: u32| x + 1, 0..4).unwrap();
/// assert_eq!(it.next().unwrap().unwrap(), 1);
/// let rest: Vec<u32> = it.map(Result::unwrap).collect();
/// assert_eq!(rest, [2, 3, 4]);
/// ```
pub struct IMap<R> {
    job: Arc<Job>,
    ordered: bool,
    /// Next chunk to hand out (ordered).
    next_chunk: usize,
    /// Chunks handed out.
    taken: usize,
    /// Which chunks were handed out (unordered).
    seen: Vec<bool>,
    buf: VecDeque<Result<R, PoolError>>,
    _r: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for IMap<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IMap")
            .field("ordered", &self.ordered)
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}

/// What one wait for more chunks found.
enum Batch {
    Chunks(Vec<ChunkOutcome>),
    /// The job ended (terminated) without these chunks: their sizes, and
    /// the error to give for each of their tasks.
    Missing(Vec<u32>, Failure),
    End,
    TimedOut,
}

impl<R: DeserializeOwned> IMap<R> {
    pub(crate) fn new(job: Arc<Job>, ordered: bool) -> IMap<R> {
        IMap {
            job,
            ordered,
            next_chunk: 0,
            taken: 0,
            seen: Vec::new(),
            buf: VecDeque::new(),
            _r: PhantomData,
        }
    }

    /// The next result, waiting at most `timeout` for it (Python's
    /// `next(timeout)`); `None` at the end.
    ///
    /// # Errors
    ///
    /// [`PoolError::Timeout`] if no result came in time (iteration may go
    /// on), or the task's own error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = mproc_process::Pool::new(1).unwrap();
    /// let mut it = pool.imap_unordered(|x: u8| x, [5]).unwrap();
    /// assert_eq!(it.next_timeout(Duration::from_secs(10)).unwrap().unwrap(), 5);
    /// assert!(it.next_timeout(Duration::from_secs(10)).is_none());
    /// ```
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<R, PoolError>> {
        self.advance(Some(Instant::now() + timeout), timeout)
    }

    fn advance(
        &mut self,
        deadline: Option<Instant>,
        timeout: Duration,
    ) -> Option<Result<R, PoolError>> {
        loop {
            if let Some(r) = self.buf.pop_front() {
                return Some(r);
            }
            match self.wait_batch(deadline) {
                Batch::Chunks(chunks) => {
                    for chunk in chunks {
                        chunk.decode(&mut |r| self.buf.push_back(r));
                    }
                }
                Batch::Missing(sizes, failure) => {
                    for size in sizes {
                        self.buf.extend((0..size).map(|_| Err(failure.error())));
                    }
                }
                Batch::End => return None,
                Batch::TimedOut => {
                    return Some(Err(PoolError::Timeout {
                        waited_ms: timeout.as_millis() as u64,
                    }));
                }
            }
        }
    }

    /// Every value in order, decoded as chunks arrive (overlapping the
    /// workers still running later chunks); the first error in input order
    /// once all tasks are done.
    pub(crate) fn collect_values(mut self) -> Result<Vec<R>, PoolError> {
        let total: usize = self.job.lock().sizes.iter().map(|&n| n as usize).sum();
        let mut out = Vec::with_capacity(total);
        let mut first = None;
        loop {
            match self.wait_batch(None) {
                Batch::Chunks(chunks) => {
                    for chunk in chunks {
                        chunk.decode(&mut |r| match r {
                            Ok(v) => out.push(v),
                            Err(e) => {
                                first.get_or_insert(e);
                            }
                        });
                    }
                }
                Batch::Missing(_, failure) => {
                    first.get_or_insert(failure.error());
                }
                Batch::End | Batch::TimedOut => break,
            }
        }
        first.map_or(Ok(out), Err)
    }

    fn wait_batch(&mut self, deadline: Option<Instant>) -> Batch {
        let ordered = self.ordered;
        let (next, taken) = (self.next_chunk, self.taken);
        let (mut s, ready) = self.job.wait_until(deadline, |s| {
            let more = if ordered {
                s.chunks.get(next).is_some_and(Option::is_some)
            } else {
                !s.arrivals.is_empty()
            };
            more || s.failure.is_some() || (s.sealed && taken >= s.chunks.len())
        });
        if !ready {
            return Batch::TimedOut;
        }
        let mut chunks = Vec::new();
        if ordered {
            while let Some(Some(c)) = s.chunks.get_mut(self.next_chunk).map(Option::take) {
                chunks.push(c);
                self.next_chunk += 1;
            }
            self.taken = self.next_chunk;
        } else {
            while let Some(i) = s.arrivals.pop_front() {
                if let Some(c) = s.chunks.get_mut(i).and_then(Option::take) {
                    chunks.push(c);
                    self.taken += 1;
                    if self.seen.len() <= i {
                        self.seen.resize(i + 1, false);
                    }
                    self.seen[i] = true;
                }
            }
        }
        if !chunks.is_empty() {
            return Batch::Chunks(chunks);
        }
        if let Some(failure) = s.failure
            && self.taken < s.chunks.len()
        {
            // Chunks not handed out: from `next_chunk` on (ordered), or
            // those never seen (unordered).
            let sizes = (0..s.chunks.len())
                .filter(|&i| {
                    if self.ordered {
                        i >= self.next_chunk
                    } else {
                        !self.seen.get(i).copied().unwrap_or(false)
                    }
                })
                .map(|i| s.sizes[i])
                .collect();
            self.taken = s.chunks.len();
            self.next_chunk = s.chunks.len();
            return Batch::Missing(sizes, failure);
        }
        Batch::End
    }
}

impl<R: DeserializeOwned> Iterator for IMap<R> {
    type Item = Result<R, PoolError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.advance(None, Duration::ZERO)
    }
}

/// Waits for a whole job, then decodes every task's result: one wake-up
/// for the caller instead of one per chunk.
pub(crate) fn wait_each<R: DeserializeOwned>(job: &Job) -> Vec<Result<R, PoolError>> {
    let (mut s, _) = job.wait_until(None, JobState::finished);
    decode_each(&mut s)
}

/// Decodes a finished job into every task's result, in input order.
pub(crate) fn decode_each<R: DeserializeOwned>(s: &mut JobState) -> Vec<Result<R, PoolError>> {
    let total: usize = s.sizes.iter().map(|&n| n as usize).sum();
    let mut out = Vec::with_capacity(total);
    for i in 0..s.chunks.len() {
        match s.chunks[i].take() {
            Some(c) => c.decode(&mut |r| out.push(r)),
            None => {
                let err = s.failure.map_or(PoolError::Terminated, |f| f.error());
                out.push(Err(err));
                out.extend((1..s.sizes[i]).map(|_| Err(PoolError::Terminated)));
            }
        }
    }
    out
}

/// Decodes a finished job into its values, or its first error.
pub(crate) fn decode_all<R: DeserializeOwned>(s: &mut JobState) -> Result<Vec<R>, PoolError> {
    decode_each(s).into_iter().collect()
}

/// Decodes a finished one-task job.
pub(crate) fn decode_one<R: DeserializeOwned>(s: &mut JobState) -> Result<R, PoolError> {
    decode_each(s)
        .into_iter()
        .next()
        .unwrap_or(Err(PoolError::Terminated))
}
