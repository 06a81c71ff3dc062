//! A job: one call's chunks and their outcomes as they come back, shared
//! by the caller (who waits and decodes) and the handler (who fills in).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use serde::de::DeserializeOwned;

use super::codec::{Ret, take_ret};
use super::error::PoolError;

/// A task whose worker died running it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lost {
    pub(crate) index: u32,
    pub(crate) pid: i32,
    pub(crate) exitcode: i32,
    /// The task had finished; only its result was lost.
    pub(crate) finished: bool,
}

/// A chunk's outcomes as a worker sent them back.
#[derive(Debug)]
pub(crate) struct ChunkOutcome {
    /// The message holding the outcomes, in `start..end`.
    pub(crate) bytes: Vec<u8>,
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) count: u32,
    pub(crate) lost: Vec<Lost>,
}

impl ChunkOutcome {
    /// The outcome of a chunk whose every task was lost.
    #[cfg(test)]
    pub(crate) fn all_lost(count: u32, lost: Vec<Lost>) -> ChunkOutcome {
        ChunkOutcome::rest_lost(Vec::new(), 0, count, lost)
    }

    /// The outcome of a chunk whose first `first` outcomes are `done` and
    /// whose other tasks were all lost.
    pub(crate) fn rest_lost(
        mut bytes: Vec<u8>,
        first: u32,
        count: u32,
        lost: Vec<Lost>,
    ) -> ChunkOutcome {
        bytes.resize(bytes.len() + count.saturating_sub(first) as usize, SKIPPED);
        ChunkOutcome {
            end: bytes.len(),
            bytes,
            start: 0,
            count,
            lost,
        }
    }

    /// Decodes every task's outcome, in order, into `sink`.
    pub(crate) fn decode<R: DeserializeOwned>(&self, sink: &mut impl FnMut(Result<R, PoolError>)) {
        let mut rest = self.bytes.get(self.start..self.end).unwrap_or_default();
        for i in 0..self.count {
            let item = match take_ret::<R>(rest) {
                Ok((ret, tail)) => {
                    rest = tail;
                    self.convert(i, ret)
                }
                Err(e) => {
                    rest = &[];
                    Err(e)
                }
            };
            sink(item);
        }
    }

    fn convert<R>(&self, index: u32, ret: Ret<R>) -> Result<R, PoolError> {
        match ret {
            Ret::Ok(v) => Ok(v),
            Ret::Panicked(message) => Err(PoolError::TaskPanicked { message }),
            Ret::Skipped => {
                let lost = self.lost.iter().find(|l| l.index == index);
                let (pid, exitcode) = lost.map_or((0, 0), |l| (l.pid, l.exitcode));
                if lost.is_some_and(|l| l.finished) {
                    Err(PoolError::ResultLost { pid, exitcode })
                } else {
                    Err(PoolError::WorkerLost { pid, exitcode })
                }
            }
            Ret::Unencodable(reason) => Err(PoolError::EncodeResult { reason }),
            Ret::BadArgument(reason) => Err(PoolError::DecodeArgument { reason }),
        }
    }
}

/// `Ret::Skipped` as postcard encodes it (variant index 2).
pub(crate) const SKIPPED: u8 = 2;

/// The outcomes of a chunk's tasks `0..n`: `done` holds those of `0..first`
/// (recovered earlier); `entry` holds `n` outcomes sent by a worker that
/// skipped `0..first` (one `SKIPPED` byte each).
pub(crate) fn merge(done: &[u8], first: u32, entry: &[u8]) -> Vec<u8> {
    let first = first as usize;
    let mut bytes = Vec::with_capacity(done.len() + entry.len());
    bytes.extend_from_slice(done);
    bytes.extend_from_slice(entry.get(first..).unwrap_or_default());
    bytes
}

/// Why a job ended without all its outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    Terminated,
    /// Workers kept dying before running anything; the pool stopped.
    WorkersFailing {
        exitcode: i32,
        attempts: u32,
    },
}

impl Failure {
    pub(crate) fn error(self) -> PoolError {
        match self {
            Failure::Terminated => PoolError::Terminated,
            Failure::WorkersFailing { exitcode, attempts } => {
                PoolError::WorkersFailing { exitcode, attempts }
            }
        }
    }
}

/// What the caller and the handler share about a job.
#[derive(Debug, Default)]
pub(crate) struct JobState {
    /// Per chunk (in submission order): its outcome once back, `None`
    /// before, and after the caller took it.
    pub(crate) chunks: Vec<Option<ChunkOutcome>>,
    /// Tasks per chunk.
    pub(crate) sizes: Vec<u32>,
    /// Every chunk has been submitted.
    pub(crate) sealed: bool,
    /// Chunks whose outcome came back.
    pub(crate) completed: usize,
    /// Chunk indices in the order their outcomes came back.
    pub(crate) arrivals: VecDeque<usize>,
    pub(crate) failure: Option<Failure>,
    waiters: usize,
}

impl JobState {
    /// Every outcome is back (or never will be).
    pub(crate) fn finished(&self) -> bool {
        self.failure.is_some() || (self.sealed && self.completed == self.chunks.len())
    }
}

/// One call's progress.
#[derive(Debug, Default)]
pub(crate) struct Job {
    state: Mutex<JobState>,
    changed: Condvar,
    cancelled: AtomicBool,
}

impl Job {
    pub(crate) fn new() -> Arc<Job> {
        Arc::new(Job::default())
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, JobState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers chunks of these sizes, in order, after those registered
    /// before (the submitter numbers them itself).
    pub(crate) fn add_chunks(&self, sizes: &[u32]) {
        let mut s = self.lock();
        s.chunks.extend(sizes.iter().map(|_| None));
        s.sizes.extend_from_slice(sizes);
    }

    /// No more chunks will be added.
    pub(crate) fn seal(&self) {
        let mut s = self.lock();
        s.sealed = true;
        self.notify(&s);
    }

    /// The caller gave up on this job (an argument failed to encode): its
    /// chunks not yet dispatched are dropped.
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Records a chunk's outcome (handler).
    pub(crate) fn complete(&self, index: usize, outcome: ChunkOutcome) {
        self.complete_many(vec![(index, outcome)]);
    }

    /// Records several chunks' outcomes under one lock (handler).
    pub(crate) fn complete_many(&self, outcomes: Vec<(usize, ChunkOutcome)>) {
        let mut s = self.lock();
        for (index, outcome) in outcomes {
            if let Some(slot @ None) = s.chunks.get_mut(index) {
                *slot = Some(outcome);
                s.completed += 1;
                s.arrivals.push_back(index);
            }
        }
        self.notify(&s);
    }

    /// Ends the job without its missing outcomes (handler).
    pub(crate) fn fail(&self, failure: Failure) {
        let mut s = self.lock();
        if !s.finished() {
            s.failure = Some(failure);
        }
        self.notify(&s);
    }

    fn notify(&self, s: &JobState) {
        if s.waiters > 0 {
            self.changed.notify_all();
        }
    }

    /// Waits until `ready` holds or `deadline` passes; returns the state
    /// and whether `ready` held.
    pub(crate) fn wait_until(
        &self,
        deadline: Option<Instant>,
        mut ready: impl FnMut(&JobState) -> bool,
    ) -> (MutexGuard<'_, JobState>, bool) {
        let mut s = self.lock();
        loop {
            if ready(&s) {
                return (s, true);
            }
            s.waiters += 1;
            s = match deadline {
                None => self.changed.wait(s).unwrap_or_else(PoisonError::into_inner),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        s.waiters -= 1;
                        return (s, false);
                    }
                    self.changed
                        .wait_timeout(s, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
            s.waiters -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::codec::append;

    #[test]
    fn skipped_byte_matches_postcard() {
        let mut out = Vec::new();
        append(&Ret::<u8>::Skipped, &mut out).unwrap();
        assert_eq!(out, [SKIPPED]);
    }

    #[test]
    fn lost_chunks_decode_to_worker_lost() {
        let lost = vec![Lost {
            index: 1,
            pid: 5,
            exitcode: -9,
            finished: false,
        }];
        let outcome = ChunkOutcome::all_lost(2, lost);
        let mut got = Vec::new();
        outcome.decode::<u8>(&mut |r| got.push(r));
        assert!(matches!(
            got[1],
            Err(PoolError::WorkerLost {
                pid: 5,
                exitcode: -9
            })
        ));
        assert!(matches!(got[0], Err(PoolError::WorkerLost { pid: 0, .. })));
    }

    #[test]
    fn waits_are_bounded_and_see_completion() {
        let job = Job::new();
        job.add_chunks(&[1]);
        let i = 0;
        job.seal();
        let (state, ok) = job.wait_until(Some(Instant::now()), JobState::finished);
        assert!(!ok);
        drop(state);
        job.complete(i, ChunkOutcome::all_lost(1, Vec::new()));
        let (s, ok) = job.wait_until(None, JobState::finished);
        assert!(ok && s.completed == 1);
    }
}
