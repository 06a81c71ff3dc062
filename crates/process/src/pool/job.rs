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
    /// No worker was left and none could be started; the pool stopped.
    WorkersCannotStart {
        attempts: u32,
        errno: Option<i32>,
    },
}

impl Failure {
    pub(crate) fn error(self) -> PoolError {
        match self {
            Failure::Terminated => PoolError::Terminated,
            Failure::WorkersFailing { exitcode, attempts } => {
                PoolError::WorkersFailing { exitcode, attempts }
            }
            Failure::WorkersCannotStart { attempts, errno } => {
                PoolError::WorkersCannotStart { attempts, errno }
            }
        }
    }
}

/// Where one chunk of a job stands.
#[derive(Debug)]
pub(crate) enum Slot {
    /// Submitted, its outcome not back yet: how many tasks it holds.
    Pending(u32),
    /// Back, not yet handed to the caller.
    Ready(ChunkOutcome),
    /// Handed to the caller.
    Taken,
}

/// What the caller and the handler share about a job.
#[derive(Debug, Default)]
pub(crate) struct JobState {
    /// The job index of `slots[0]`: the chunks before it were handed to
    /// the caller and forgotten, so that a streaming job over an endless
    /// input keeps only its window.
    base: usize,
    /// Per chunk from `base` on, in submission order.
    slots: VecDeque<Slot>,
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
        self.failure.is_some() || (self.sealed && self.completed == self.len())
    }

    /// How many chunks were registered so far.
    pub(crate) fn len(&self) -> usize {
        self.base + self.slots.len()
    }

    /// The slot of chunk `index`, unless forgotten or not registered.
    pub(crate) fn slot(&self, index: usize) -> Option<&Slot> {
        self.slots.get(index.checked_sub(self.base)?)
    }

    fn slot_mut(&mut self, index: usize) -> Option<&mut Slot> {
        self.slots.get_mut(index.checked_sub(self.base)?)
    }

    /// Whether chunk `index` is back and not yet taken.
    pub(crate) fn is_ready(&self, index: usize) -> bool {
        matches!(self.slot(index), Some(Slot::Ready(_)))
    }

    /// Takes chunk `index`'s outcome if it is back.
    pub(crate) fn take_ready(&mut self, index: usize) -> Option<ChunkOutcome> {
        let slot = self.slot_mut(index)?;
        if !matches!(slot, Slot::Ready(_)) {
            return None;
        }
        match std::mem::replace(slot, Slot::Taken) {
            Slot::Ready(c) => Some(c),
            _ => None,
        }
    }

    /// Takes every slot not taken yet, in order.
    pub(crate) fn take_rest(&mut self) -> Vec<Slot> {
        self.slots
            .iter_mut()
            .filter(|s| !matches!(s, Slot::Taken))
            .map(|s| std::mem::replace(s, Slot::Taken))
            .collect()
    }

    /// Forgets the taken chunks at the front.
    pub(crate) fn forget_taken(&mut self) {
        while let Some(Slot::Taken) = self.slots.front() {
            self.slots.pop_front();
            self.base += 1;
        }
    }

    /// How many tasks the chunks not forgotten hold.
    pub(crate) fn tasks(&self) -> usize {
        self.slots
            .iter()
            .map(|s| match s {
                Slot::Pending(n) => *n as usize,
                Slot::Ready(c) => c.count as usize,
                Slot::Taken => 0,
            })
            .sum()
    }
}

/// One call's progress.
#[derive(Debug, Default)]
pub(crate) struct Job {
    state: Mutex<JobState>,
    changed: Condvar,
    cancelled: AtomicBool,
    /// Results are taken one by one as they come (`imap`), not all at
    /// the end: workers send each chunk's outcomes when it is done.
    streaming: bool,
}

impl Job {
    pub(crate) fn new() -> Arc<Job> {
        Arc::new(Job::default())
    }

    /// A job whose results are consumed as they come (see `streaming`).
    pub(crate) fn new_streaming() -> Arc<Job> {
        Arc::new(Job {
            streaming: true,
            ..Job::default()
        })
    }

    /// Whether results are consumed as they come.
    pub(crate) fn is_streaming(&self) -> bool {
        self.streaming
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, JobState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers chunks of these sizes, in order, after those registered
    /// before (the submitter numbers them itself).
    pub(crate) fn add_chunks(&self, sizes: &[u32]) {
        let mut s = self.lock();
        s.slots.extend(sizes.iter().map(|&n| Slot::Pending(n)));
    }

    /// Unregisters the last `n` chunks registered, which were never
    /// submitted (the pool refused them).
    pub(crate) fn retract(&self, n: usize) {
        let mut s = self.lock();
        let keep = s.slots.len().saturating_sub(n);
        s.slots.truncate(keep);
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
            if let Some(slot @ Slot::Pending(_)) = s.slot_mut(index) {
                *slot = Slot::Ready(outcome);
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
