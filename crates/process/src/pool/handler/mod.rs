//! The pool's handler thread: hands chunks to workers, collects their
//! outcomes, notices dead workers, fails exactly the task each one held,
//! re-queues the rest and starts replacements; closes and terminates.

mod lifecycle;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mproc_queue::{Consumer, QueueError, WaitStrategy};

use super::codec::append;
use super::error::PoolError;
use super::frame::{Assembler, Message, Outgoing};
use super::job::{ChunkOutcome, Failure, Job, merge};
use super::shared::{ChunkTask, Order, Shared};
use super::spawner::{Common, Sending, Worker};
use super::wire::{self, TaskHeader};

/// How often workers are checked for death while all is quiet.
const CHECK_EVERY: Duration = Duration::from_millis(10);
/// How often while no work is queued or running (a worker that died
/// meanwhile is found when work comes, at worst this late).
const CHECK_IDLE: Duration = Duration::from_millis(50);
/// How often while workers are being told to exit (they are mostly
/// waited for on their pidfd, see [`EXIT_WAIT`]).
const CHECK_CLOSING: Duration = Duration::from_millis(1);
/// How long the closing handler blocks at a time waiting for one worker
/// to exit, before it looks at its orders again (a terminate signals the
/// workers itself, which ends the wait at once).
const EXIT_WAIT: Duration = Duration::from_millis(20);
/// After this long without a frame while work is out, the handler waits
/// on the result queue for [`STARVED_POLL`]: the queue frees a slot that a
/// dead worker loaned and never committed only during a wait of more than
/// its check interval (20 ms); shorter waits would leave the queue stalled.
const STARVED: Duration = Duration::from_millis(20);
/// See [`STARVED`].
const STARVED_POLL: Duration = Duration::from_millis(30);
/// How the handler waits for results while work is out.
pub(crate) const RX_WAIT: WaitStrategy = WaitStrategy::SpinThenPark {
    spin: Duration::from_micros(50),
};
/// Arguments of at least this many bytes are not copied into a message.
const BIG_ARGS: usize = 4096;
/// Workers dying before running anything this many times in a row stop
/// the pool.
const MAX_FAILED_STARTS: u32 = 3;
/// The same for workers killed by `SIGKILL` before they were ready: a
/// kill from outside now and then is not the pool's failure, but every
/// worker killed while it starts (the OOM killer in its initializer)
/// would have the pool start replacements forever.
const MAX_KILLED_STARTS: u32 = 30;
/// How long the pool goes on trying to start a worker while it has none
/// left, before it gives up ([`PoolError::WorkersCannotStart`]): long
/// enough for a passing shortage (a process limit reached for a moment)
/// to clear. It tries at every check, every 10 ms while work waits.
const START_RETRY: Duration = Duration::from_secs(1);
/// How long terminated workers get to die of `SIGTERM` before `SIGKILL`.
const TERM_GRACE: Duration = Duration::from_millis(300);

/// The receiving end: the result queue and frame reassembly.
pub(crate) struct Io {
    pub(crate) rx: Consumer,
    pub(crate) asm: Assembler,
}

/// Everything else the handler owns.
pub(crate) struct State {
    pub(crate) shared: Arc<Shared>,
    pub(crate) common: Common,
    pub(crate) workers: Vec<Option<Worker>>,
    pub(crate) pending: VecDeque<ChunkTask>,
    pub(crate) order: Order,
    /// Streaming calls still submit work: a closed pool keeps its
    /// workers for them.
    feeding: bool,
    next_id: u64,
    last_check: Instant,
    /// When a frame last arrived (or there was nothing to wait for).
    last_rx: Instant,
    check_now: bool,
    exit_sent: bool,
    /// Workers in a row that died before running anything.
    failed_starts: u32,
    /// Workers in a row killed (`SIGKILL`) before they were ready.
    killed_starts: u32,
    /// Worker starts in a row that failed (fork or spawn refused), and
    /// when the first of them failed.
    start_failures: u32,
    failing_since: Option<Instant>,
    /// Set when the pool gives up on its workers.
    broken: Option<Failure>,
}

/// The handler: its loop runs on its own thread until the pool is closed
/// and drained, or terminated.
pub(crate) struct Handler {
    pub(crate) io: Io,
    pub(crate) st: State,
}

impl Handler {
    pub(crate) fn new(
        shared: Arc<Shared>,
        common: Common,
        rx: Consumer,
        workers: Vec<Option<Worker>>,
    ) -> Handler {
        let st = State {
            shared,
            common,
            workers,
            pending: VecDeque::new(),
            order: Order::Run,
            feeding: false,
            next_id: 0,
            last_check: Instant::now(),
            last_rx: Instant::now(),
            check_now: false,
            exit_sent: false,
            failed_starts: 0,
            killed_starts: 0,
            start_failures: 0,
            failing_since: None,
            broken: None,
        };
        st.publish_pids();
        Handler {
            io: Io {
                rx,
                asm: Assembler::default(),
            },
            st,
        }
    }

    /// The loop.
    pub(crate) fn run(mut self) {
        loop {
            if let Some((order, feeding)) = self.st.shared.take(&mut self.st.pending) {
                self.st.order = order;
                self.st.feeding = feeding;
            }
            if self.st.order == Order::Terminate {
                self.st.terminate(Failure::Terminated);
                return;
            }
            if let Some(failure) = self.st.broken {
                self.st.shared.order(Order::Terminate);
                self.st.terminate(failure);
                return;
            }
            let sent = self.st.dispatch();
            let got = self.io.drain(&mut self.st);
            let now = Instant::now();
            if got > 0 || self.st.idle() {
                self.st.last_rx = now;
            }
            let every = if self.st.exit_sent {
                CHECK_CLOSING
            } else if self.st.idle() {
                CHECK_IDLE
            } else {
                CHECK_EVERY
            };
            if self.st.check_now || now.duration_since(self.st.last_check) >= every {
                self.io.drain(&mut self.st);
                self.st.check_workers(&mut self.io);
                self.st.last_check = now;
                self.st.check_now = false;
            }
            if self.st.order == Order::Close && self.st.idle() && !self.st.feeding {
                if self.st.workers.iter().all(Option::is_none) {
                    return;
                }
                self.st.send_exits();
                if self.st.await_exit() {
                    // Reap it now rather than at the next periodic check.
                    self.st.check_now = true;
                    continue;
                }
            }
            if sent == 0 && got == 0 {
                let half_sent = self
                    .st
                    .workers
                    .iter()
                    .flatten()
                    .any(|w| w.sending.is_some());
                let wait = if now.duration_since(self.st.last_rx) >= STARVED {
                    // Long enough for the queue's slow check, which frees
                    // a slot a dead worker loaned and never committed.
                    STARVED_POLL
                } else if half_sent {
                    Duration::from_micros(20)
                } else {
                    every.saturating_sub(now.duration_since(self.st.last_check))
                };
                // Spin only while work is out (its results come soon);
                // an idle handler sleeps at once, leaving the CPUs to the
                // workers (starting, exiting) and to the caller.
                self.io.rx.set_wait_strategy(if self.st.idle() {
                    WaitStrategy::Park
                } else {
                    RX_WAIT
                });
                let _ = self.io.rx.poll(Some(wait.max(Duration::from_micros(1))));
            }
        }
    }
}

impl Io {
    /// Takes every frame waiting in the result queue; returns how many.
    pub(crate) fn drain(&mut self, st: &mut State) -> usize {
        let mut total = 0;
        loop {
            let asm = &mut self.asm;
            let got = self.rx.try_recv_batch(64, |frame| {
                if let Ok(Some((sender, msg))) = asm.push(frame) {
                    st.on_message(sender, msg);
                }
            });
            match got {
                Ok(n) => total += n,
                Err(QueueError::Empty) => return total,
                // Closed or disconnected cannot happen (this process holds
                // a producer and never closes); anything else is a bug.
                Err(_) => return total,
            }
        }
    }
}

impl State {
    fn publish_pids(&self) {
        let workers = self
            .workers
            .iter()
            .flatten()
            .map(|w| Arc::clone(&w.child))
            .collect();
        self.shared.set_workers(workers);
    }

    /// No work queued or running anywhere.
    fn idle(&self) -> bool {
        self.pending.is_empty()
            && self
                .workers
                .iter()
                .flatten()
                .all(|w| w.outstanding.is_empty())
    }

    /// A message from a worker (or a caller's wake-up).
    fn on_message(&mut self, sender: u32, msg: Message<'_>) {
        if sender == wire::CALLER {
            return;
        }
        let Some(worker) = self
            .workers
            .iter_mut()
            .flatten()
            .find(|w| w.role.incarnation == sender)
        else {
            // From a worker already declared dead: its tasks were settled.
            return;
        };
        let (mut owned, frame) = match msg {
            Message::Joined(v) => (Some(v), &[][..]),
            Message::Whole(b) => (None, b),
        };
        match owned.as_deref().unwrap_or(frame).first() {
            Some(&wire::RESULT) => {}
            Some(&wire::BYE) => {
                worker.leaving = true;
                self.check_now = true;
                return;
            }
            _ => return,
        }
        // Ranges in the whole message (after its kind byte).
        let entries: Vec<(u64, std::ops::Range<usize>)> =
            wire::result_entries(&owned.as_deref().unwrap_or(frame)[1..])
                .map(|(id, r)| (id, r.start + 1..r.end + 1))
                .collect();
        // A large message of one chunk is handed over as it is, not copied.
        let mut single = if entries.len() == 1 {
            owned.take()
        } else {
            None
        };
        let src: &[u8] = owned.as_deref().unwrap_or(frame);
        worker.served = true;
        self.failed_starts = 0;
        self.killed_starts = 0;
        let now = Instant::now();
        let mut oldest = None;
        let mut answered = 0;
        let mut done: Vec<(Arc<Job>, usize, ChunkOutcome)> = Vec::new();
        for (id, range) in entries {
            let Some(pos) = worker.outstanding.iter().position(|c| c.id == id) else {
                continue;
            };
            let Some(chunk) = worker.outstanding.remove(pos) else {
                continue;
            };
            answered += 1;
            oldest = oldest.or(chunk.sent_at);
            let (mut bytes, mut start, mut end) = match single.take() {
                Some(bytes) => (bytes, range.start, range.end),
                None => (src[range.clone()].to_vec(), 0, range.len()),
            };
            if chunk.first > 0 {
                // Outcomes recovered from a dead worker come first.
                bytes = merge(&chunk.done, chunk.first, &bytes[start..end]);
                (start, end) = (0, bytes.len());
            }
            let outcome = ChunkOutcome {
                bytes,
                start,
                end,
                count: chunk.count,
                lost: chunk.lost,
            };
            done.push((chunk.job, chunk.index, outcome));
        }
        worker.answered(answered, oldest, now);
        complete_grouped(done);
    }

    /// Sends queued chunks to workers with room, several per message;
    /// returns how many went.
    fn dispatch(&mut self) -> usize {
        for w in self.workers.iter_mut().flatten() {
            let _ = pump(w);
        }
        let maxtasks = self.common.cfg.maxtasks;
        let mut sent = 0;
        while !self.pending.is_empty() {
            let Some(w) = self
                .workers
                .iter_mut()
                .flatten()
                .filter(|w| w.room(maxtasks) > 0)
                .min_by_key(|w| w.outstanding.len())
            else {
                break;
            };
            let batch = w.batch(w.room(maxtasks));
            let mut msg = std::mem::take(&mut w.buf);
            msg.clear();
            msg.push(wire::TASK);
            let now = Instant::now();
            let mut n = 0;
            let mut tail_args = false;
            // The previous chunk's job (compared by address) and whether it
            // streams.
            let mut previous: Option<(*const Job, bool)> = None;
            while n < batch {
                let Some(mut chunk) = self.pending.pop_front() else {
                    break;
                };
                if chunk.job.is_cancelled() {
                    continue;
                }
                let flush_first = flush_first(previous, Arc::as_ptr(&chunk.job));
                chunk.id = self.next_id;
                let head = TaskHeader {
                    id: chunk.id,
                    call: chunk.call,
                    count: chunk.count,
                    first: chunk.first,
                    skips: chunk.skips.clone(),
                    args_len: chunk.args.len() as u32,
                    flush_first,
                };
                if append(&head, &mut msg).is_err() {
                    continue;
                }
                previous = Some((Arc::as_ptr(&chunk.job), chunk.job.is_streaming()));
                // A large chunk goes alone, its arguments sent from where
                // they are rather than copied into the message.
                let alone = n == 0 && chunk.args.len() >= BIG_ARGS;
                if !alone {
                    msg.extend_from_slice(&chunk.args);
                }
                self.next_id += 1;
                chunk.sent_at = Some(now);
                w.outstanding.push_back(chunk);
                n += 1;
                if alone {
                    tail_args = true;
                    break;
                }
            }
            if n == 0 {
                w.buf = msg;
                continue;
            }
            w.assigned += n;
            w.sending = Some(Sending {
                out: Outgoing::default(),
                msg,
                tail_args,
            });
            // A dead worker's queue refuses frames; the death check
            // re-queues its chunks.
            let _ = pump(w);
            sent += n;
        }
        sent
    }

    /// Once every worker was told to exit and nothing is left to do,
    /// blocks (at most [`EXIT_WAIT`]) until one of them has exited,
    /// woken by the kernel through its pidfd instead of polling; returns
    /// whether one did (it is reaped; the next check settles its slot).
    fn await_exit(&mut self) -> bool {
        let Some(w) = self.workers.iter().flatten().find(|w| w.sending.is_none()) else {
            return false;
        };
        matches!(
            w.child.join_timeout(EXIT_WAIT),
            Ok(Some(_)) | Err(crate::ProcessError::ReapedElsewhere { .. })
        )
    }

    /// Tells every worker to exit once all work is done.
    fn send_exits(&mut self) {
        if self.exit_sent {
            return;
        }
        self.exit_sent = true;
        for w in self.workers.iter_mut().flatten() {
            w.leaving = true;
            if w.sending.is_none() {
                w.sending = Some(Sending {
                    out: Outgoing::default(),
                    msg: vec![wire::EXIT],
                    tail_args: false,
                });
                let _ = pump(w);
            }
        }
    }
}

/// Whether a worker must send the results it holds before running the
/// next chunk of a message: when the chunk before it (`previous`: its job,
/// compared by address, and whether that job streams) belongs to another
/// call, whose caller should not wait behind this chunk, or to a streaming
/// call (`imap`), whose caller takes results as they come. Chunks of one
/// `map` call travel and answer together. The first chunk of a message
/// has nothing before it.
fn flush_first(previous: Option<(*const Job, bool)>, job: *const Job) -> bool {
    previous.is_some_and(|(prev, streaming)| streaming || !std::ptr::eq(prev, job))
}

/// Sends more of a worker's half-sent message; `Ok(true)` once complete
/// (its buffer is then kept for the next message).
fn pump(w: &mut Worker) -> Result<bool, PoolError> {
    let Some(sending) = &mut w.sending else {
        return Ok(true);
    };
    let args: &[u8] = match (sending.tail_args, w.outstanding.back()) {
        (true, Some(chunk)) => &chunk.args,
        _ => &[],
    };
    let done = sending
        .out
        .pump(&mut w.tx, w.role.incarnation, &[&sending.msg, args], false)?;
    if done && let Some(sending) = w.sending.take() {
        w.buf = sending.msg;
    }
    Ok(done)
}

/// Hands outcomes to their jobs, one lock per run of the same job.
fn complete_grouped(done: Vec<(Arc<Job>, usize, ChunkOutcome)>) {
    let mut it = done.into_iter().peekable();
    while let Some((job, index, outcome)) = it.next() {
        let mut run = vec![(index, outcome)];
        while let Some((_, i, o)) = it.next_if(|(j, _, _)| Arc::ptr_eq(j, &job)) {
            run.push((i, o));
        }
        job.complete_many(run);
    }
}

/// Runs the handler, failing every job if it panics (a bug), so that no
/// caller waits forever.
pub(crate) fn run_guarded(handler: Handler) {
    let shared = Arc::clone(&handler.st.shared);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler.run()));
    if outcome.is_err() {
        shared.order(Order::Terminate);
    }
    shared.fail_all(Failure::Terminated);
}

#[cfg(test)]
mod tests {
    use super::flush_first;
    use crate::pool::job::Job;

    #[test]
    fn only_a_chunk_after_another_call_or_a_streaming_one_flushes_first() {
        // Addresses only: the rule compares jobs by identity.
        let jobs = [0u64; 2];
        let a = std::ptr::from_ref(&jobs[0]).cast::<Job>();
        let b = std::ptr::from_ref(&jobs[1]).cast::<Job>();
        assert!(!flush_first(None, a), "the first chunk of a message");
        assert!(!flush_first(Some((a, false)), a), "same map call");
        assert!(flush_first(Some((a, false)), b), "another call");
        assert!(flush_first(Some((a, true)), a), "same streaming call");
        assert!(flush_first(Some((b, true)), a), "after a streaming call");
    }
}
