//! The handler's side of worker lives: noticing that a worker ended,
//! failing exactly the task it held, re-queueing the rest, starting a
//! replacement; giving up on workers that die before running anything;
//! terminating them all.

use std::time::{Duration, Instant};

use super::{Io, MAX_FAILED_STARTS, MAX_KILLED_STARTS, START_RETRY, State, TERM_GRACE};

/// Exit code of a process killed by `SIGKILL`: someone else's doing (the
/// OOM killer, a user), not a worker failing to start.
const KILLED: i32 = -9;
/// The exit code reported for a worker reaped by someone else (this
/// process ignores `SIGCHLD`, or something calls `waitpid(-1)`): it ended,
/// how is not known.
const EXITCODE_LOST: i32 = i32::MIN;
/// How long an ended worker is kept known while the result queue is not
/// empty (its last frames may be behind a stalled slot): far longer than
/// the queue takes to free a slot loaned by the dead (tens of ms); a
/// queue kept busy by the others does not hold back its settling longer.
const SETTLE_WAIT: Duration = Duration::from_secs(1);
use crate::pool::job::{ChunkOutcome, Failure, Lost, merge};
use crate::pool::spawner::Worker;
use crate::pool::wire;

impl State {
    /// Reaps workers that ended, settles what they held, replaces them.
    pub(super) fn check_workers(&mut self, io: &mut Io) {
        let mut changed = false;
        for slot in 0..self.workers.len() {
            let Some(w) = &self.workers[slot] else {
                if !self.exit_sent {
                    changed |= self.replace(slot);
                }
                continue;
            };
            let Some(exitcode) = w.child.ended() else {
                continue;
            };
            let exitcode = exitcode.unwrap_or(EXITCODE_LOST);
            // Frames it sent may still wait in the result queue behind a
            // slot that another worker, killed, loaned and never committed:
            // the drain stops there until the queue frees that slot (within
            // its 20 ms check interval). Settled before they are read, its
            // chunks would run again, or be reported lost, though their
            // outcomes were sent. So while the queue is not empty it stays
            // known (its frames still count) and gets no work, for at most
            // SETTLE_WAIT.
            let now = Instant::now();
            if let Some(w) = self.workers[slot].as_mut() {
                let ended_at = *w.ended_at.get_or_insert(now);
                if !self.common.results.is_empty() && now.duration_since(ended_at) < SETTLE_WAIT {
                    w.leaving = true;
                    continue;
                }
            }
            // Everything it sent before it ended has been drained.
            let Some(w) = self.workers[slot].take() else {
                continue;
            };
            io.asm.forget(w.role.incarnation);
            let never_ran = !w.served && !self.common.records.was_ready(slot);
            if never_ran {
                // A worker killed before it was ready is someone else's
                // doing (a user's kill), unless it keeps happening (the
                // OOM killer ending every worker in its initializer).
                let (count, limit) = if exitcode == KILLED {
                    (&mut self.killed_starts, MAX_KILLED_STARTS)
                } else {
                    (&mut self.failed_starts, MAX_FAILED_STARTS)
                };
                *count += 1;
                if *count >= limit {
                    self.broken = Some(Failure::WorkersFailing {
                        exitcode,
                        attempts: *count,
                    });
                }
            }
            self.settle(w, exitcode);
            if self.broken.is_some() {
                changed = true;
                continue;
            }
            if !self.exit_sent {
                self.replace(slot);
            }
            changed = true;
        }
        if changed {
            self.publish_pids();
        }
    }

    /// The chunks of a worker that ended: outcomes it had staged but not
    /// sent are kept (those tasks never run again), the task it was
    /// running fails with `WorkerLost`, tasks it finished whose outcomes
    /// did not fit its staging area fail with `ResultLost`, and the tasks
    /// it never started go back to the front of the queue.
    fn settle(&mut self, mut w: Worker, exitcode: i32) {
        let pid = w.child.pid();
        let last = self.common.records.last_words(w.role.slot);
        let staged = self.common.records.staged(w.role.slot);
        let entries: Vec<(u64, std::ops::Range<usize>)> =
            wire::result_entries(&staged.body).collect();
        let mut back = Vec::new();
        for mut chunk in w.outstanding.drain(..) {
            if let Some(pos) = entries.iter().position(|(id, _)| *id == chunk.id) {
                // Every entry but the last holds the whole chunk.
                let n = if pos + 1 == entries.len() {
                    staged.last_count.min(chunk.count)
                } else {
                    chunk.count
                };
                if n > chunk.first {
                    let entry = &staged.body[entries[pos].1.clone()];
                    chunk.done = merge(&chunk.done, chunk.first, entry);
                    chunk.first = n;
                }
            }
            if let Some((id, index)) = last
                && id == chunk.id
            {
                let lost = |index, finished| Lost {
                    index,
                    pid,
                    exitcode,
                    finished,
                };
                // Finished, not staged: not run again, reported.
                for i in chunk.first..index.min(chunk.count) {
                    if !chunk.skips.contains(&i) {
                        chunk.skips.push(i);
                        chunk.lost.push(lost(i, true));
                    }
                }
                if index >= chunk.first && index < chunk.count && !chunk.skips.contains(&index) {
                    chunk.skips.push(index);
                    chunk.lost.push(lost(index, false));
                }
            }
            let first = chunk.first;
            let covered = first as usize + chunk.skips.iter().filter(|&&s| s >= first).count();
            if covered >= chunk.count as usize {
                let outcome = ChunkOutcome::rest_lost(
                    std::mem::take(&mut chunk.done),
                    first,
                    chunk.count,
                    std::mem::take(&mut chunk.lost),
                );
                chunk.job.complete(chunk.index, outcome);
            } else {
                chunk.sent_at = None;
                back.push(chunk);
            }
        }
        for chunk in back.into_iter().rev() {
            self.pending.push_front(chunk);
        }
    }

    /// Starts a worker in an empty slot; false if it failed (tried again at
    /// the next check). With no worker left, starts that keep failing for
    /// [`START_RETRY`] stop the pool, which would otherwise leave every
    /// caller waiting for work that nothing runs.
    fn replace(&mut self, slot: usize) -> bool {
        match self.common.start(slot) {
            Ok(w) => {
                self.workers[slot] = Some(w);
                self.start_failures = 0;
                self.failing_since = None;
                true
            }
            Err(e) => {
                self.start_failures = self.start_failures.saturating_add(1);
                // The clock runs only while no worker is left.
                if self.workers.iter().any(Option::is_some) {
                    self.failing_since = None;
                    return false;
                }
                let since = *self.failing_since.get_or_insert_with(Instant::now);
                if self.start_failures >= MAX_FAILED_STARTS && since.elapsed() >= START_RETRY {
                    self.broken = Some(Failure::WorkersCannotStart {
                        attempts: self.start_failures,
                        errno: os_errno(&e),
                    });
                }
                false
            }
        }
    }

    /// Kills every worker (`SIGTERM`, then `SIGKILL` after a grace period),
    /// reaps them, and fails what was not done.
    pub(super) fn terminate(&mut self, failure: Failure) {
        let workers: Vec<Worker> = self.workers.iter_mut().filter_map(Option::take).collect();
        for w in &workers {
            let _ = w.child.terminate();
        }
        let deadline = Instant::now() + TERM_GRACE;
        for w in &workers {
            let left = deadline.saturating_duration_since(Instant::now());
            if !matches!(w.child.join_timeout(left), Ok(Some(_))) {
                let _ = w.child.kill();
                let _ = w.child.join_timeout(Duration::from_secs(5));
            }
        }
        self.pending.clear();
        drop(workers);
        // Workers first, so that a caller woken by the failure sees none.
        self.publish_pids();
        self.shared.fail_all(failure);
    }
}

impl Drop for State {
    fn drop(&mut self) {
        // Reached with workers only after a panic: do not leave them.
        for w in self.workers.iter().flatten() {
            let _ = w.child.kill();
            let _ = w.child.join_timeout(Duration::from_secs(5));
        }
    }
}

/// The OS error number behind `e`, if an OS error is in its chain.
fn os_errno(e: &(dyn std::error::Error + 'static)) -> Option<i32> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(n) = err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::raw_os_error)
        {
            return Some(n);
        }
        next = err.source();
    }
    None
}
