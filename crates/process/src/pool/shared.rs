//! What the pool's callers and its handler thread share: the inbox of
//! submitted chunks and orders, the registry of live jobs, the workers'
//! pids; and submission itself (encoding arguments into chunks).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Instant;

use mproc_queue::Producer;
use mproc_sys::ProcessId;
use serde::Serialize;

use super::codec::append;
use super::error::PoolError;
use super::frame::Outgoing;
use super::job::{Failure, Job, Lost};
use super::task::Call;
use super::wire;
use crate::child::Child;

/// A chunk of tasks on its way to a worker and back.
#[derive(Debug)]
pub(crate) struct ChunkTask {
    pub(crate) job: Arc<Job>,
    /// Its index in the job.
    pub(crate) index: usize,
    pub(crate) call: Call,
    pub(crate) count: u32,
    /// The arguments, postcard-encoded one after the other.
    pub(crate) args: Vec<u8>,
    /// Tasks below this index finished in a worker that then died; their
    /// outcomes, recovered from its staging area, are `done`.
    pub(crate) first: u32,
    pub(crate) done: Vec<u8>,
    /// Tasks not to run again, and why.
    pub(crate) skips: Vec<u32>,
    pub(crate) lost: Vec<Lost>,
    /// Dispatch id (set when sent to a worker).
    pub(crate) id: u64,
    pub(crate) sent_at: Option<Instant>,
}

/// What the pool's owner asked of the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Order {
    Run = 0,
    Close = 1,
    Terminate = 2,
}

/// Submitted chunks and orders, waiting for the handler.
#[derive(Debug)]
pub(crate) struct Inbox {
    pub(crate) chunks: Vec<ChunkTask>,
    pub(crate) order: Order,
    /// Streaming calls (`imap`) whose input is not all submitted yet: a
    /// closed pool keeps its workers for them, until `join`.
    feeds: usize,
    /// `join` was called: open feeds get no more work in, and no longer
    /// keep the workers.
    joining: bool,
    /// Posts wake-up frames into the result queue the handler sleeps on.
    waker: Producer,
    /// A wake-up is posted and the handler has not emptied the inbox since.
    woken: bool,
}

/// Shared between the [`Pool`](crate::Pool) handle and its handler thread.
#[derive(Debug)]
pub(crate) struct Shared {
    inbox: Mutex<Inbox>,
    /// The inbox has something for the handler.
    dirty: AtomicBool,
    /// The [`Order`] given, for callers (no lock).
    order: AtomicU8,
    /// Jobs that may still be waited for.
    jobs: Mutex<JobRegistry>,
    /// The current workers (their pids for users and tests; signalled
    /// directly at terminate).
    workers: Mutex<Vec<Arc<Child>>>,
    pub(crate) processes: usize,
    /// The process that made the pool.
    owner: ProcessId,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(processes: usize, waker: Producer) -> Shared {
        Shared {
            inbox: Mutex::new(Inbox {
                chunks: Vec::new(),
                order: Order::Run,
                feeds: 0,
                joining: false,
                waker,
                woken: false,
            }),
            dirty: AtomicBool::new(false),
            order: AtomicU8::new(Order::Run as u8),
            jobs: Mutex::new(JobRegistry::default()),
            workers: Mutex::new(Vec::new()),
            processes,
            owner: ProcessId::current_or_pid(),
        }
    }

    /// Refuses callers in another process (a forked copy of the owner).
    pub(crate) fn check_owner(&self) -> Result<(), PoolError> {
        if !self.owner.is_current() {
            return Err(PoolError::NotOwner {
                owner: self.owner.pid,
                caller: mproc_sys::getpid(),
            });
        }
        Ok(())
    }

    /// Whether work may still be submitted.
    pub(crate) fn running(&self) -> bool {
        self.order.load(Ordering::Acquire) == Order::Run as u8
    }

    fn post(&self, inbox: &mut Inbox) {
        self.dirty.store(true, Ordering::Release);
        if !inbox.woken {
            inbox.woken = true;
            // A full queue means the handler is busy and will look anyway.
            let _ =
                Outgoing::default().pump(&mut inbox.waker, wire::CALLER, &[&[wire::WAKE]], false);
        }
    }

    /// Hands chunks to the handler: those of a new call while the pool
    /// runs; those of an open feed also once it is closed, until `join`.
    fn submit(&self, chunks: &mut Vec<ChunkTask>, feeding: bool) -> Result<(), PoolError> {
        let mut inbox = lock(&self.inbox);
        let open = match inbox.order {
            Order::Run => true,
            Order::Close => feeding && !inbox.joining,
            Order::Terminate => false,
        };
        if !open {
            return Err(PoolError::NotRunning);
        }
        inbox.chunks.append(chunks);
        self.post(&mut inbox);
        Ok(())
    }

    /// Gives an order (close or terminate; never weaker than the last).
    pub(crate) fn order(&self, order: Order) {
        let mut inbox = lock(&self.inbox);
        if order > inbox.order {
            inbox.order = order;
            self.order.store(order as u8, Ordering::Release);
        }
        self.post(&mut inbox);
    }

    /// `join` was called: open feeds may submit no more.
    pub(crate) fn joining(&self) {
        let mut inbox = lock(&self.inbox);
        inbox.joining = true;
        self.post(&mut inbox);
    }

    /// A streaming call starts: until [`end_feed`](Self::end_feed), a
    /// closed pool keeps its workers for it.
    ///
    /// # Errors
    ///
    /// [`PoolError::NotRunning`] after `close` or `terminate`.
    pub(crate) fn begin_feed(&self) -> Result<(), PoolError> {
        let mut inbox = lock(&self.inbox);
        if inbox.order != Order::Run {
            return Err(PoolError::NotRunning);
        }
        inbox.feeds += 1;
        Ok(())
    }

    /// A streaming call submitted its last chunk (or was dropped).
    pub(crate) fn end_feed(&self) {
        let mut inbox = lock(&self.inbox);
        inbox.feeds = inbox.feeds.saturating_sub(1);
        // A closed pool may be waiting for this to let its workers go.
        self.post(&mut inbox);
    }

    /// The handler takes what was submitted, the current order, and
    /// whether open feeds still keep the workers.
    pub(crate) fn take(&self, into: &mut VecDeque<ChunkTask>) -> Option<(Order, bool)> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return None;
        }
        let mut inbox = lock(&self.inbox);
        into.extend(inbox.chunks.drain(..));
        inbox.woken = false;
        Some((inbox.order, inbox.feeds > 0 && !inbox.joining))
    }

    pub(crate) fn register(&self, job: &Arc<Job>) {
        lock(&self.jobs).add(job);
    }

    /// Ends every job still waited for (terminate, or a handler failure).
    pub(crate) fn fail_all(&self, failure: Failure) {
        let jobs = {
            let mut registry = lock(&self.jobs);
            registry.swept = 0;
            std::mem::take(&mut registry.jobs)
        };
        for job in jobs.iter().filter_map(Weak::upgrade) {
            job.fail(failure);
        }
    }

    pub(crate) fn set_workers(&self, workers: Vec<Arc<Child>>) {
        *lock(&self.workers) = workers;
    }

    pub(crate) fn pids(&self) -> Vec<i32> {
        lock(&self.workers).iter().map(|c| c.pid()).collect()
    }

    /// Sends `SIGTERM` to every worker now (safe against pid reuse: a
    /// reaped child is not signalled), so that they die while the handler
    /// wakes up to reap them.
    pub(crate) fn signal_workers(&self) {
        for c in lock(&self.workers).iter() {
            let _ = c.terminate();
        }
    }

    /// Encodes `items` into chunks of `chunksize` tasks running `call` and
    /// submits them as they fill, so that workers start while later items
    /// are still being encoded.
    ///
    /// # Errors
    ///
    /// [`PoolError::EncodeArgument`] (the job is cancelled: what was not
    /// dispatched yet is dropped), [`PoolError::NotRunning`].
    pub(crate) fn submit_items<A: Serialize>(
        &self,
        call: Call,
        items: impl IntoIterator<Item = A>,
        chunksize: usize,
    ) -> Result<Arc<Job>, PoolError> {
        self.check_owner()?;
        if !self.running() {
            return Err(PoolError::NotRunning);
        }
        if chunksize == 0 {
            return Err(PoolError::InvalidOption {
                option: "chunksize",
                value: 0,
            });
        }
        let chunksize = chunksize.min(u32::MAX as usize) as u32;
        let job = Job::new();
        self.register(&job);
        let mut batch = Batch::default();
        let mut args = Vec::new();
        let mut count = 0u32;
        let result = (|| {
            for (index, item) in items.into_iter().enumerate() {
                append(&item, &mut args)
                    .and_then(|()| wire::check_chunk_args(args.len()))
                    .map_err(|reason| PoolError::EncodeArgument { index, reason })?;
                count += 1;
                if count == chunksize {
                    batch.push(&job, call, &mut args, &mut count);
                    // The first chunks go at once, so that workers start.
                    if batch.next_index <= 4 || batch.chunks.len() >= 256 || batch.bytes >= 1 << 16
                    {
                        self.flush(&job, &mut batch)?;
                    }
                }
            }
            if count > 0 {
                batch.push(&job, call, &mut args, &mut count);
            }
            self.flush(&job, &mut batch)
        })();
        match result {
            Ok(()) => {
                job.seal();
                Ok(job)
            }
            Err(e) => {
                job.cancel();
                Err(e)
            }
        }
    }

    /// Registers a batch's chunks with their job and hands them over.
    fn flush(&self, job: &Job, batch: &mut Batch) -> Result<(), PoolError> {
        job.add_chunks(&batch.sizes);
        batch.sizes.clear();
        batch.bytes = 0;
        self.submit(&mut batch.chunks, false)
    }

    /// As `flush`, for an open feed; returns how many chunks went. If the
    /// pool refuses them, they are unregistered again (none runs).
    ///
    /// # Errors
    ///
    /// [`PoolError::NotRunning`] after `terminate`, or `close` then `join`.
    pub(crate) fn flush_feed(&self, job: &Job, batch: &mut Batch) -> Result<usize, PoolError> {
        let n = batch.chunks.len();
        if n == 0 {
            return Ok(0);
        }
        job.add_chunks(&batch.sizes);
        batch.sizes.clear();
        batch.bytes = 0;
        match self.submit(&mut batch.chunks, true) {
            Ok(()) => Ok(n),
            Err(e) => {
                job.retract(n);
                batch.chunks.clear();
                Err(e)
            }
        }
    }
}

/// Chunks encoded and not yet handed over.
#[derive(Default)]
pub(crate) struct Batch {
    chunks: Vec<ChunkTask>,
    sizes: Vec<u32>,
    bytes: usize,
    /// The index of the job's next chunk.
    next_index: usize,
}

impl Batch {
    /// An empty batch whose first chunk will be the job's chunk `index`.
    pub(crate) fn starting_at(index: usize) -> Batch {
        Batch {
            next_index: index,
            ..Batch::default()
        }
    }

    /// How many chunks wait in it.
    pub(crate) fn len(&self) -> usize {
        self.chunks.len()
    }

    /// Makes a chunk of the `count` arguments in `args` (which it takes,
    /// leaving an empty buffer of the same capacity) and resets `count`.
    pub(crate) fn push(&mut self, job: &Arc<Job>, call: Call, args: &mut Vec<u8>, count: &mut u32) {
        self.bytes += args.len();
        self.sizes.push(*count);
        self.chunks.push(ChunkTask {
            job: Arc::clone(job),
            index: self.next_index,
            call,
            count: *count,
            args: std::mem::replace(args, Vec::with_capacity(args.len())),
            first: 0,
            done: Vec::new(),
            skips: Vec::new(),
            lost: Vec::new(),
            id: 0,
            sent_at: None,
        });
        self.next_index += 1;
        *count = 0;
    }
}

/// The jobs that may still be waited for, as weak references, swept of
/// the dropped ones whenever the list has doubled since the last sweep: a
/// sweep per registration, once many jobs are alive (a caller holding
/// 100 000 `apply_async` results), would cost time quadratic in them.
#[derive(Debug, Default)]
struct JobRegistry {
    jobs: Vec<Weak<Job>>,
    /// The length after the last sweep.
    swept: usize,
    /// Sweeps so far.
    sweeps: u64,
}

impl JobRegistry {
    fn add(&mut self, job: &Arc<Job>) {
        if self.jobs.len() >= 64.max(2 * self.swept) {
            self.jobs.retain(|j| j.strong_count() > 0);
            self.swept = self.jobs.len();
            self.sweeps += 1;
        }
        self.jobs.push(Arc::downgrade(job));
    }
}

#[cfg(test)]
mod registry_tests {
    use super::*;

    #[test]
    fn live_jobs_are_swept_a_logarithmic_number_of_times_and_dropped_ones_go() {
        let mut registry = JobRegistry::default();
        let live: Vec<Arc<Job>> = (0..10_000).map(|_| Job::new()).collect();
        for job in &live {
            registry.add(job);
        }
        assert_eq!(registry.jobs.len(), 10_000);
        assert!(registry.sweeps <= 10, "{} sweeps", registry.sweeps);
        drop(live);
        for _ in 0..20_000 {
            registry.add(&Job::new());
        }
        assert!(registry.jobs.len() < 20_000, "{}", registry.jobs.len());
    }
}
