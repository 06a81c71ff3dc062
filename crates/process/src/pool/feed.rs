//! The input side of a streaming call (`imap`, `imap_unordered`): items
//! pulled from the caller's iterator on demand, encoded into chunks and
//! submitted, keeping a bounded window of chunks in flight.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::codec::append;
use super::error::PoolError;
use super::job::Job;
use super::shared::{Batch, Shared};
use super::task::Call;

/// Tasks a streaming call keeps in flight per worker (submitted and not
/// yet handed to the caller), in [`MIN_CHUNKS`]..=[`MAX_CHUNKS`] chunks:
/// enough that workers rarely wait for the caller to pull more input
/// between two of its turns, few enough that an endless input costs
/// bounded memory.
const TASKS_PER_WORKER: usize = 4096;
/// See [`TASKS_PER_WORKER`].
const MIN_CHUNKS: usize = 4;
/// See [`TASKS_PER_WORKER`].
const MAX_CHUNKS: usize = 128;
/// A batch of chunks is handed to the pool once it holds this many...
const FLUSH_CHUNKS: usize = 16;
/// ... or once its first chunk waited this long (a slow input).
const FLUSH_AFTER: Duration = Duration::from_micros(200);

/// Items the caller gave, pulled and encoded one at a time.
pub(crate) trait Source {
    /// Encodes the next item onto the end of `out`: `None` once there is
    /// none; on an encoding error `out` is left as it was.
    fn encode_next(&mut self, out: &mut Vec<u8>) -> Option<Result<(), String>>;
}

/// A [`Source`] over an iterator of serde items.
pub(crate) struct Items<I>(pub(crate) I);

impl<I> Source for Items<I>
where
    I: Iterator,
    I::Item: Serialize,
{
    fn encode_next(&mut self, out: &mut Vec<u8>) -> Option<Result<(), String>> {
        let item = self.0.next()?;
        Some(append(&item, out))
    }
}

/// How a feed ended.
#[derive(Debug)]
pub(crate) enum FeedEnd {
    /// Every item was submitted.
    Exhausted,
    /// No more items are submitted: the one at an index failed to encode,
    /// or the pool refused more work. Given to the caller after the last
    /// result.
    Stopped(PoolError),
}

/// The input of one streaming call. Dropping it ends the call's input:
/// the job is sealed (what was submitted still runs and is reported) and
/// the pool no longer keeps its workers for it.
pub(crate) struct Feed<'a> {
    shared: Arc<Shared>,
    job: Arc<Job>,
    call: Call,
    chunksize: u32,
    source: Box<dyn Source + Send + 'a>,
    /// The index of the next item.
    next_item: usize,
    /// Chunks submitted so far.
    submitted: usize,
    /// Chunks in flight at most.
    window: usize,
}

impl std::fmt::Debug for Feed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("next_item", &self.next_item)
            .field("submitted", &self.submitted)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl<'a> Feed<'a> {
    /// Starts feeding `job` (registered with the pool by this call).
    ///
    /// # Errors
    ///
    /// [`PoolError::NotRunning`] after `close` or `terminate`.
    pub(crate) fn start(
        shared: &Arc<Shared>,
        call: Call,
        chunksize: u32,
        source: Box<dyn Source + Send + 'a>,
    ) -> Result<Feed<'a>, PoolError> {
        shared.begin_feed()?;
        let job = Job::new_streaming();
        shared.register(&job);
        Ok(Feed {
            window: window(shared.processes, chunksize),
            shared: Arc::clone(shared),
            job,
            call,
            chunksize: chunksize.max(1),
            source,
            next_item: 0,
            submitted: 0,
        })
    }

    pub(crate) fn job(&self) -> &Arc<Job> {
        &self.job
    }

    /// Pulls items and submits them in chunks until `taken + window`
    /// chunks were submitted, the input ends, or `stop(in_flight)` (asked
    /// between chunks, with the chunks submitted and not taken) says
    /// enough. `None` while the input goes on.
    ///
    /// A panic of the caller's iterator (or of an item's `Serialize`)
    /// propagates, after the items pulled before it were submitted.
    pub(crate) fn top_up(
        &mut self,
        taken: usize,
        mut stop: impl FnMut(usize) -> bool,
    ) -> Option<FeedEnd> {
        let mut batch = Batch::starting_at(self.submitted);
        let mut args = Vec::new();
        let mut count = 0u32;
        // When the oldest chunk of the batch, and the chunk being filled,
        // began to fill.
        let mut oldest: Option<Instant> = None;
        let mut filling = Instant::now();
        let end = loop {
            if count == 0 {
                let in_flight = (self.submitted + batch.len()).saturating_sub(taken);
                if in_flight >= self.window || stop(in_flight) {
                    break None;
                }
            }
            let before = args.len();
            let pulled = catch_unwind(AssertUnwindSafe(|| {
                let next = self.source.encode_next(&mut args)?;
                Some(next.and_then(|()| super::wire::check_chunk_args(args.len())))
            }));
            match pulled {
                Err(panic) => {
                    // What was pulled before it still runs.
                    args.truncate(before);
                    if count > 0 {
                        batch.push(&self.job, self.call, &mut args, &mut count);
                    }
                    let _ = self.flush(&mut batch);
                    resume_unwind(panic);
                }
                Ok(None) => break Some(FeedEnd::Exhausted),
                Ok(Some(Err(reason))) => {
                    // An item that encoded but makes the chunk too long is
                    // taken back out, as a failed encoding leaves nothing.
                    args.truncate(before);
                    break Some(FeedEnd::Stopped(PoolError::EncodeArgument {
                        index: self.next_item,
                        reason,
                    }));
                }
                Ok(Some(Ok(()))) => {
                    self.next_item += 1;
                    count += 1;
                    if count < self.chunksize {
                        continue;
                    }
                    batch.push(&self.job, self.call, &mut args, &mut count);
                    let now = Instant::now();
                    let first = *oldest.get_or_insert(filling);
                    let slow = now.duration_since(filling) >= FLUSH_AFTER;
                    filling = now;
                    // In batches (one wake-up of the pool for several
                    // chunks, spread over the workers); a chunk that was
                    // slow to fill (a slow input) goes at once.
                    if slow
                        || batch.len() >= FLUSH_CHUNKS
                        || now.duration_since(first) >= FLUSH_AFTER
                    {
                        oldest = None;
                        if let Err(e) = self.flush(&mut batch) {
                            break Some(FeedEnd::Stopped(e));
                        }
                    }
                }
            }
        };
        if matches!(end, Some(FeedEnd::Stopped(PoolError::NotRunning))) {
            return end;
        }
        // The items before the end (or before an encoding error) run.
        if count > 0 {
            batch.push(&self.job, self.call, &mut args, &mut count);
        }
        match self.flush(&mut batch) {
            Ok(()) => end,
            Err(e) => Some(FeedEnd::Stopped(e)),
        }
    }

    fn flush(&mut self, batch: &mut Batch) -> Result<(), PoolError> {
        self.submitted += self.shared.flush_feed(&self.job, batch)?;
        Ok(())
    }
}

/// Chunks in flight at most for `processes` workers and chunks of
/// `chunksize` tasks.
fn window(processes: usize, chunksize: u32) -> usize {
    let per_worker = (TASKS_PER_WORKER / chunksize.max(1) as usize).clamp(MIN_CHUNKS, MAX_CHUNKS);
    per_worker * processes.max(1)
}

impl Drop for Feed<'_> {
    fn drop(&mut self) {
        self.job.seal();
        self.shared.end_feed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_bounded_in_chunks_and_tasks() {
        assert_eq!(window(2, 1), 2 * MAX_CHUNKS);
        assert_eq!(window(2, 100), 2 * 40);
        assert_eq!(window(1, 1_000_000), MIN_CHUNKS);
        assert_eq!(window(0, 0), MAX_CHUNKS);
    }

    #[test]
    fn items_encode_one_at_a_time() {
        let mut src = Items([1u8, 2].into_iter());
        let mut out = Vec::new();
        assert!(matches!(src.encode_next(&mut out), Some(Ok(()))));
        assert!(matches!(src.encode_next(&mut out), Some(Ok(()))));
        assert!(src.encode_next(&mut out).is_none());
        assert_eq!(out, [1, 2]);
    }
}
