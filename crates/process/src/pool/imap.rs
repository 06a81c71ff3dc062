//! [`IMap`]: the streaming iterator of `imap` and `imap_unordered`, and
//! the decoding of whole jobs for `map` and the async results.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use super::error::PoolError;
use super::feed::{Feed, FeedEnd};
use super::job::{ChunkOutcome, Failure, Job, JobState, Slot};

/// How long a top-up of a streaming call's input may delay results that
/// are already back: a slow input is pulled one chunk per turn while
/// results wait, a fast one fills its whole window.
const PATIENCE: Duration = Duration::from_micros(100);

/// The results of [`Pool::imap`](crate::Pool::imap) (in input order) or
/// [`Pool::imap_unordered`](crate::Pool::imap_unordered) (as they come),
/// each as it arrives while later tasks still run; a task's error comes in
/// its place and the iteration goes on.
///
/// The input is consumed lazily: items are pulled from the caller's
/// iterator (in the thread that calls [`next`](Iterator::next)) and
/// submitted in chunks as results are taken, keeping a bounded window of
/// chunks in flight, so an endless input works. If an item cannot be
/// encoded, or the pool stops taking work (`terminate`, or `close` then
/// `join`), the iteration ends, after the results of what was submitted,
/// with that error ([`PoolError::EncodeArgument`],
/// [`PoolError::NotRunning`]). If the input iterator panics, the panic
/// propagates out of `next` and the iteration then ends after the results
/// of the items pulled before it. Dropping an `IMap` stops pulling input;
/// tasks already submitted still run.
///
/// `'a` is the lifetime of the input iterator.
///
/// # Examples
///
/// ```
/// let pool = mproc_process::Pool::new(2).unwrap();
/// let mut it = pool.imap(|x: u32| x + 1, 0..4).unwrap();
/// assert_eq!(it.next().unwrap().unwrap(), 1);
/// let rest: Vec<u32> = it.map(Result::unwrap).collect();
/// assert_eq!(rest, [2, 3, 4]);
///
/// // An endless input: only what is asked for (and a window ahead) runs.
/// let squares: Vec<u64> = pool
///     .imap(|x: u64| x * x, 0u64..)
///     .unwrap()
///     .take(5)
///     .map(Result::unwrap)
///     .collect();
/// assert_eq!(squares, [0, 1, 4, 9, 16]);
/// ```
pub struct IMap<'a, R> {
    job: Arc<Job>,
    ordered: bool,
    /// Next chunk to hand out (ordered).
    next_chunk: usize,
    /// Chunks handed out.
    taken: usize,
    buf: VecDeque<Result<R, PoolError>>,
    /// The input still to pull (streaming calls); dropped once it ends.
    feed: Option<Feed<'a>>,
    /// Why the input stopped early: given after the last result.
    stopped: Option<PoolError>,
    _r: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for IMap<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IMap")
            .field("ordered", &self.ordered)
            .field("buffered", &self.buf.len())
            .field("feed", &self.feed)
            .finish_non_exhaustive()
    }
}

/// A chunk's outcomes as the caller gets them.
enum Piece {
    Done(ChunkOutcome),
    /// The job ended (terminated) without this chunk of this many tasks.
    Missing(u32, Failure),
}

/// What one wait for more chunks found.
enum Batch {
    Pieces(Vec<Piece>),
    End,
    TimedOut,
}

impl<'a, R: DeserializeOwned> IMap<'a, R> {
    /// The results of a job whose chunks are all submitted (or will be by
    /// someone else).
    pub(crate) fn new(job: Arc<Job>, ordered: bool) -> IMap<'a, R> {
        IMap {
            job,
            ordered,
            next_chunk: 0,
            taken: 0,
            buf: VecDeque::new(),
            feed: None,
            stopped: None,
            _r: PhantomData,
        }
    }

    /// The results of a streaming call; its first chunks are submitted
    /// before this returns, so that workers start.
    pub(crate) fn streaming(feed: Feed<'a>, ordered: bool) -> IMap<'a, R> {
        let mut it = IMap::new(Arc::clone(feed.job()), ordered);
        it.feed = Some(feed);
        it.feed_more(None, true);
        it
    }

    /// The next result, waiting at most `timeout` for it (Python's
    /// `next(timeout)`); `None` at the end. The timeout bounds the wait
    /// for workers, not the time the input iterator takes to give items.
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
        self.advance(Instant::now().checked_add(timeout), timeout)
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
            self.feed_more(deadline, false);
            match self.wait_batch(deadline) {
                Batch::Pieces(pieces) => {
                    for piece in pieces {
                        match piece {
                            Piece::Done(chunk) => chunk.decode(&mut |r| self.buf.push_back(r)),
                            Piece::Missing(size, failure) => {
                                self.buf.extend((0..size).map(|_| Err(failure.error())));
                            }
                        }
                    }
                }
                Batch::End => return self.stopped.take().map(Err),
                Batch::TimedOut => {
                    return Some(Err(PoolError::Timeout {
                        waited_ms: timeout.as_millis() as u64,
                    }));
                }
            }
        }
    }

    /// Pulls more input into the window, if this is a streaming call. Stops
    /// early (with chunks in flight) at `deadline`, or once it took
    /// [`PATIENCE`] and results are back (always after `PATIENCE` when
    /// `initial`).
    fn feed_more(&mut self, deadline: Option<Instant>, initial: bool) {
        // Out of `self` while the caller's iterator runs: if it panics,
        // the feed is dropped on the way out, which ends the input.
        let Some(mut feed) = self.feed.take() else {
            return;
        };
        let started = Instant::now();
        let (job, ordered, next) = (&self.job, self.ordered, self.next_chunk);
        let end = feed.top_up(self.taken, |in_flight| {
            if in_flight == 0 {
                return false;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return true;
            }
            started.elapsed() >= PATIENCE && (initial || has_ready(job, ordered, next))
        });
        match end {
            None => self.feed = Some(feed),
            Some(FeedEnd::Exhausted) => {}
            Some(FeedEnd::Stopped(e)) => self.stopped = Some(e),
        }
    }

    /// Every value in order, decoded as chunks arrive (overlapping the
    /// workers still running later chunks); the first error in input order
    /// once all tasks are done.
    pub(crate) fn collect_values(mut self) -> Result<Vec<R>, PoolError> {
        let total = self.job.lock().tasks();
        let mut out = Vec::with_capacity(total);
        let mut first = None;
        while let Batch::Pieces(pieces) = self.wait_batch(None) {
            for piece in pieces {
                match piece {
                    Piece::Done(chunk) => chunk.decode(&mut |r| match r {
                        Ok(v) => out.push(v),
                        Err(e) => {
                            first.get_or_insert(e);
                        }
                    }),
                    Piece::Missing(_, failure) => {
                        first.get_or_insert(failure.error());
                    }
                }
            }
        }
        first.map_or(Ok(out), Err)
    }

    fn wait_batch(&mut self, deadline: Option<Instant>) -> Batch {
        let ordered = self.ordered;
        let (next, taken) = (self.next_chunk, self.taken);
        let (mut s, ready) = self.job.wait_until(deadline, |s| {
            let more = if ordered {
                s.is_ready(next)
            } else {
                !s.arrivals.is_empty()
            };
            more || s.failure.is_some() || (s.sealed && taken >= s.len())
        });
        if !ready {
            return Batch::TimedOut;
        }
        let mut pieces = Vec::new();
        if ordered {
            while let Some(c) = s.take_ready(self.next_chunk) {
                pieces.push(Piece::Done(c));
                self.next_chunk += 1;
            }
            self.taken = self.next_chunk;
        } else {
            while let Some(i) = s.arrivals.pop_front() {
                if let Some(c) = s.take_ready(i) {
                    pieces.push(Piece::Done(c));
                    self.taken += 1;
                }
            }
        }
        if pieces.is_empty()
            && let Some(failure) = s.failure
            && self.taken < s.len()
        {
            // The job ended without the chunks not handed out yet: those
            // back are given, the others fail.
            for slot in s.take_rest() {
                match slot {
                    Slot::Ready(c) => pieces.push(Piece::Done(c)),
                    Slot::Pending(size) => pieces.push(Piece::Missing(size, failure)),
                    Slot::Taken => {}
                }
            }
            self.taken = s.len();
            self.next_chunk = s.len();
            // The pool stopped: the failure says why, not the input.
            self.stopped = None;
        }
        s.forget_taken();
        if pieces.is_empty() {
            Batch::End
        } else {
            Batch::Pieces(pieces)
        }
    }
}

/// Whether a result is back for the caller to take.
fn has_ready(job: &Job, ordered: bool, next: usize) -> bool {
    let s = job.lock();
    s.failure.is_some()
        || if ordered {
            s.is_ready(next)
        } else {
            !s.arrivals.is_empty()
        }
}

impl<R: DeserializeOwned> Iterator for IMap<'_, R> {
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
    let mut out = Vec::with_capacity(s.tasks());
    let failure = s.failure;
    for slot in s.take_rest() {
        match slot {
            Slot::Ready(c) => c.decode(&mut |r| out.push(r)),
            // Every task of a chunk that never came back fails alike.
            Slot::Pending(size) => out.extend(
                (0..size).map(|_| Err(failure.map_or(PoolError::Terminated, Failure::error))),
            ),
            Slot::Taken => {}
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
