//! Starting pool workers (fork or spawn) with their own task queue, and
//! the pool's shared segments.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mproc_queue::{Consumer, Producer, Queue, QueueOptions, SpscQueue};

use super::error::PoolError;
use super::frame::Outgoing;
use super::records::Records;
use super::shared::ChunkTask;
use super::worker::{self, Ends, Role, SpawnArgs};
use crate::child::Child;
use crate::fn_offset::FnOffset;
use crate::process::Process;
use crate::start_method::StartMethod;

/// Slot size of a worker's task queue: small messages take one slot,
/// large ones are cut into frames of this size.
const TASK_SLOT: usize = 16 << 10;
/// Frames a worker's task queue holds.
const TASK_CAPACITY: u64 = 128;
/// Slot size of the result queue. An MPMC queue writes every slot's
/// sequence word when made, touching a page per slot: few slots keep pool
/// start-up cheap, large ones keep big results in few frames.
const RESULT_SLOT: usize = 32 << 10;
/// Frames the result queue holds.
const RESULT_CAPACITY: u64 = 32;

/// How the pool was asked to run its workers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    pub(crate) processes: usize,
    pub(crate) method: StartMethod,
    pub(crate) initializer: Option<FnOffset>,
    pub(crate) maxtasks: Option<usize>,
}

/// The segments all workers of a pool share with it.
#[derive(Debug)]
pub(crate) struct Common {
    pub(crate) cfg: Config,
    pub(crate) results: Queue,
    pub(crate) records: Records,
    /// Name prefix of the pool's segments (spawn only).
    prefix: Option<String>,
    next_incarnation: u32,
}

impl Common {
    /// Makes the result queue and the records: anonymous for fork, named
    /// for spawn. Returns them with the handler's consumer and a producer
    /// for waking it.
    pub(crate) fn create(cfg: Config) -> Result<(Common, Consumer, Producer), PoolError> {
        let prefix = match cfg.method {
            StartMethod::Fork => None,
            StartMethod::Spawn => Some(unique_prefix()),
        };
        let opts = QueueOptions::new()
            .capacity(RESULT_CAPACITY)
            .slot_size(RESULT_SLOT)
            .max_handles(
                (cfg.processes as u32)
                    .saturating_mul(2)
                    .saturating_add(8)
                    .min(4096),
            );
        let results = match &prefix {
            Some(p) => Queue::create(&format!("{p}.results"), opts)?,
            None => Queue::new(opts)?,
        };
        let records = Records::create(
            cfg.processes,
            prefix.as_ref().map(|p| format!("{p}.records")).as_deref(),
        )?;
        let mut rx = results.consumer()?;
        rx.set_wait_strategy(super::handler::RX_WAIT);
        let waker = results.producer()?;
        let common = Common {
            cfg,
            results,
            records,
            prefix,
            next_incarnation: 1,
        };
        Ok((common, rx, waker))
    }

    /// Starts a worker in `slot`.
    pub(crate) fn start(&mut self, slot: usize) -> Result<Worker, PoolError> {
        let incarnation = self.next_incarnation;
        self.next_incarnation = self.next_incarnation.wrapping_add(1).max(1);
        let opts = QueueOptions::new()
            .capacity(TASK_CAPACITY)
            .slot_size(TASK_SLOT);
        let name = self.prefix.as_ref().map(|p| format!("{p}.w{incarnation}"));
        let tasks = match &name {
            Some(n) => SpscQueue::create(n, opts)?,
            None => SpscQueue::new(opts)?,
        };
        // The producer is registered before the worker exists, so that the
        // worker never sees a queue without one.
        let tx = tasks.producer()?;
        self.records.reset(slot);
        let role = Role {
            slot,
            incarnation,
            maxtasks: self.cfg.maxtasks,
            initializer: self.cfg.initializer,
        };
        let label = format!("PoolWorker-{incarnation}");
        let child = match (self.cfg.method, &name, &self.prefix) {
            (StartMethod::Spawn, Some(tasks_name), Some(p)) => {
                let args = SpawnArgs::new(
                    role,
                    tasks_name,
                    &format!("{p}.results"),
                    &format!("{p}.records"),
                );
                Process::with_args(worker::spawned, args)
                    .name(label)
                    .start_method(StartMethod::Spawn)
                    .start()?
            }
            _ => {
                let ends = Ends {
                    tasks: &tasks,
                    results: &self.results,
                    records: &self.records,
                };
                Process::new(move || worker::serve(role, &ends))
                    .name(label)
                    .start_method(StartMethod::Fork)
                    .start()?
            }
        };
        Ok(Worker {
            role,
            child: Arc::new(child),
            _tasks: tasks,
            tx,
            outstanding: VecDeque::new(),
            sending: None,
            buf: Vec::new(),
            assigned: 0,
            service: Duration::ZERO,
            last_done: Instant::now(),
            leaving: false,
            served: false,
            ended_at: None,
        })
    }
}

/// A message half sent to a worker: the frame cursor and the message.
#[derive(Debug, Default)]
pub(crate) struct Sending {
    pub(crate) out: Outgoing,
    pub(crate) msg: Vec<u8>,
    /// The message goes on with the arguments of the worker's last
    /// outstanding chunk.
    pub(crate) tail_args: bool,
}

/// A running worker as the handler sees it.
#[derive(Debug)]
pub(crate) struct Worker {
    pub(crate) role: Role,
    /// Shared with the pool handle, which signals it at terminate.
    pub(crate) child: Arc<Child>,
    /// Keeps the task queue (and a named one's segment) alive.
    _tasks: SpscQueue,
    pub(crate) tx: Producer,
    /// Chunks sent and not answered, oldest first.
    pub(crate) outstanding: VecDeque<ChunkTask>,
    pub(crate) sending: Option<Sending>,
    /// The buffer of the next message (reused).
    pub(crate) buf: Vec<u8>,
    /// Chunks given to it (for `maxtasksperchild`).
    pub(crate) assigned: usize,
    /// Smoothed time it takes per chunk.
    pub(crate) service: Duration,
    pub(crate) last_done: Instant,
    /// Told to exit, or said it exits: gets no more work.
    pub(crate) leaving: bool,
    /// It has sent back at least one outcome.
    pub(crate) served: bool,
    /// When the handler first found it ended, if it is kept known while
    /// its last frames may still be in the result queue.
    pub(crate) ended_at: Option<Instant>,
}

/// How long the chunks queued at one worker should last: enough to keep
/// it busy between two turns of the handler, short enough that work is
/// not stuck behind a slow worker.
const QUEUED_WORK: Duration = Duration::from_millis(2);
/// Chunks a worker may hold at most.
const MAX_DEPTH: usize = 1024;

impl Worker {
    /// How many more chunks it may be given now (0 while a message is
    /// still half sent): up to about [`QUEUED_WORK`] of work, at least two
    /// chunks, so that it never waits for the handler.
    pub(crate) fn room(&self, maxtasks: Option<usize>) -> usize {
        if self.leaving || self.sending.is_some() {
            return 0;
        }
        let depth = if self.service.is_zero() {
            2
        } else {
            let n = QUEUED_WORK.as_nanos() / self.service.as_nanos().max(1);
            (n as usize).clamp(2, MAX_DEPTH)
        };
        let mut room = depth.saturating_sub(self.outstanding.len());
        if let Some(m) = maxtasks {
            room = room.min(m.saturating_sub(self.assigned));
        }
        room
    }

    /// How many chunks to send in one message: half its depth, so that
    /// the next message is on its way while it works on this one.
    pub(crate) fn batch(&self, room: usize) -> usize {
        room.div_ceil(2).max(1)
    }

    /// Notes `n` chunks answered now; the oldest was sent at `sent_at`.
    pub(crate) fn answered(&mut self, n: usize, sent_at: Option<Instant>, now: Instant) {
        if n == 0 {
            return;
        }
        let began = sent_at.map_or(self.last_done, |s| s.max(self.last_done));
        let took = now.saturating_duration_since(began) / n as u32;
        let took = took.max(Duration::from_nanos(1));
        self.service = if self.service.is_zero() {
            took
        } else {
            (self.service * 7 + took) / 8
        };
        self.last_done = now;
    }
}

/// A name prefix no other pool uses: this process (its pid and start
/// time, so that segments a killed process left behind do not collide
/// with those of a later process given its pid) and a counter.
fn unique_prefix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let me = mproc_sys::ProcessId::current_or_pid();
    format!("pool.{}.{}.{n}", me.pid, me.start_time)
}
