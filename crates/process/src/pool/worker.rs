//! The worker process: receive a chunk, publish which task runs, run it,
//! send the outcomes back; until told to exit, its queue is closed or
//! gone, or it has served `maxtasksperchild` chunks.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mproc_queue::{Producer, Queue, QueueError, SpscQueue, WaitStrategy};
use serde::{Deserialize, Serialize};

use super::error::PoolError;
use super::frame::{self, Assembler};
use super::records::{Records, STAGE, Stage, WorkerRecord};
use super::task::{ChunkInput, quiet_task_panics};
use super::wire::{self, TaskHeader};
use crate::fn_offset::FnOffset;

/// What a worker is and where its queues are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Role {
    pub(crate) slot: usize,
    /// Unique per worker process of the pool; tags its frames.
    pub(crate) incarnation: u32,
    pub(crate) maxtasks: Option<usize>,
    /// A `fn()` to run first.
    pub(crate) initializer: Option<FnOffset>,
}

/// The queues and records a worker uses (borrowed after fork, opened by
/// name after spawn).
pub(crate) struct Ends<'a> {
    pub(crate) tasks: &'a SpscQueue,
    pub(crate) results: &'a Queue,
    pub(crate) records: &'a Records,
}

/// What a spawned worker is sent: its role and the names of the pool's
/// segments.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SpawnArgs {
    slot: u64,
    incarnation: u32,
    maxtasks: Option<u64>,
    initializer: Option<FnOffset>,
    tasks: String,
    results: String,
    records: String,
}

impl SpawnArgs {
    pub(crate) fn new(role: Role, tasks: &str, results: &str, records: &str) -> SpawnArgs {
        SpawnArgs {
            slot: role.slot as u64,
            incarnation: role.incarnation,
            maxtasks: role.maxtasks.map(|m| m as u64),
            initializer: role.initializer,
            tasks: tasks.to_owned(),
            results: results.to_owned(),
            records: records.to_owned(),
        }
    }
}

/// The body of a spawned worker.
pub(crate) fn spawned(args: SpawnArgs) -> Result<(), PoolError> {
    let tasks = SpscQueue::open(&args.tasks)?;
    let results = Queue::open(&args.results)?;
    let records = Records::open(&args.records)?;
    let role = Role {
        slot: args.slot as usize,
        incarnation: args.incarnation,
        maxtasks: args.maxtasks.map(|m| m as usize),
        initializer: args.initializer,
    };
    serve(
        role,
        &Ends {
            tasks: &tasks,
            results: &results,
            records: &records,
        },
    )
}

/// The worker loop.
pub(crate) fn serve(role: Role, ends: &Ends<'_>) -> Result<(), PoolError> {
    quiet_task_panics();
    if let Some(init) = role.initializer {
        // SAFETY: the offset was made from a `fn()` of this executable by
        // `PoolBuilder::initializer` (fork: same image; spawn: `init`
        // checked that this is the parent's executable file).
        let f = unsafe { std::mem::transmute::<usize, fn()>(init.addr()) };
        f();
    }
    let record = ends.records.get(role.slot)?;
    let mut rx = ends.tasks.consumer()?;
    // No spinning for the first task: a pool that just started has
    // nothing to send yet, and its other workers are still being forked
    // on the same CPUs. Once serving, a short spin catches the next
    // message without a futex round trip.
    let serving = rx.wait_strategy();
    rx.set_wait_strategy(WaitStrategy::Park);
    let mut tx = ends.results.producer()?;
    let stage = ends.records.stage(role.slot)?;
    record.ready.store(1, Ordering::Release);
    let mut asm = Assembler::default();
    let mut out = Vec::with_capacity(256);
    let mut served = 0usize;
    loop {
        if served > 0 && rx.wait_strategy() != serving {
            rx.set_wait_strategy(serving);
        }
        let frame = match rx.recv_ref() {
            Ok(f) => f,
            Err(QueueError::Closed | QueueError::Disconnected) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let Ok(Some((_, msg))) = asm.push(&frame) else {
            continue;
        };
        let bytes = msg.bytes();
        match bytes.split_first() {
            Some((&wire::TASK, mut body)) => {
                out.clear();
                out.push(wire::RESULT);
                let mut began = Instant::now();
                while let Some((header, args, rest)) = wire::next_chunk(body) {
                    body = rest;
                    if header.flush_first {
                        flush(&mut tx, role.incarnation, record, &stage, &mut out)?;
                        began = Instant::now();
                    }
                    run_chunk(&header, args, record, &stage, &mut out);
                    served += 1;
                    let retiring = role.maxtasks.is_some_and(|m| served >= m);
                    // Slow chunks go back one by one (streaming); fast ones
                    // together. Outcomes that no longer fit the staging
                    // area go at once, so that a death loses none.
                    if retiring
                        || stage.overflowed()
                        || out.len() > STAGE / 2
                        || began.elapsed() >= FLUSH_AFTER
                    {
                        flush(&mut tx, role.incarnation, record, &stage, &mut out)?;
                        began = Instant::now();
                    }
                    if retiring {
                        frame::send(&mut tx, role.incarnation, &[&[wire::BYE]])?;
                        return Ok(());
                    }
                }
                drop(frame);
                flush(&mut tx, role.incarnation, record, &stage, &mut out)?;
            }
            Some((&wire::EXIT, _)) => return Ok(()),
            _ => {}
        }
    }
}

/// Results are sent early once a batch has run this long.
const FLUSH_AFTER: Duration = Duration::from_micros(200);

/// Sends the outcomes gathered in `out` (if any), then marks the worker
/// idle: from then on its death loses nothing.
fn flush(
    tx: &mut Producer,
    incarnation: u32,
    record: &WorkerRecord,
    stage: &Stage<'_>,
    out: &mut Vec<u8>,
) -> Result<(), PoolError> {
    if out.len() > 1 {
        frame::send(tx, incarnation, &[out])?;
        out.truncate(1);
    }
    // Sent: the parent has them, or drops them as from a dead worker
    // and then finds them staged (each entry names its chunk, so none is
    // taken twice).
    stage.clear();
    // SYNC POINT with `Records::last_words`: the outcomes are out.
    record.running.store(0, Ordering::Release);
    Ok(())
}

fn run_chunk(
    header: &TaskHeader,
    args: &[u8],
    record: &WorkerRecord,
    stage: &Stage<'_>,
    out: &mut Vec<u8>,
) {
    // Idle first: a death between these stores must not pin the previous
    // chunk's progress on this chunk, or this progress on the previous one.
    record.running.store(0, Ordering::Release);
    record.progress.store(0, Ordering::Release);
    // SYNC POINT with `Records::last_words` in the parent.
    record.running.store(header.id + 1, Ordering::Release);
    let start = wire::begin_outcomes(header.id, out);
    stage.open_entry(start);
    let input = ChunkInput {
        args,
        count: header.count,
        first: header.first,
        skips: &header.skips,
        progress: &record.progress,
        stage: Some(stage),
    };
    // SAFETY: the header was written by this pool's handler, in a process
    // running this executable file, from `Call::of_fn` / `Call::of_star`.
    unsafe { header.call.run(&input, out) };
    wire::end_outcomes(start, out);
}

#[cfg(test)]
mod tests {
    use mproc_queue::QueueOptions;

    use super::*;
    use crate::pool::codec::append;
    use crate::pool::task::Call;

    fn quick(x: u64) -> u64 {
        x
    }

    fn slow(x: u64) -> u64 {
        std::thread::sleep(Duration::from_secs(2));
        x
    }

    /// A chunk header and its encoded argument, appended to `msg`.
    fn chunk(msg: &mut Vec<u8>, id: u64, call: Call, arg: u64, flush_first: bool) {
        let mut args = Vec::new();
        append(&arg, &mut args).unwrap();
        let head = TaskHeader {
            id,
            call,
            count: 1,
            first: 0,
            skips: vec![],
            args_len: args.len() as u32,
            flush_first,
        };
        append(&head, msg).unwrap();
        msg.extend_from_slice(&args);
    }

    /// How long the first result message takes when one message holds a
    /// quick chunk, then a slow chunk marked (or not) to flush first.
    fn first_result_after(flush_first: bool) -> Duration {
        let tasks = SpscQueue::new(QueueOptions::new().capacity(4).slot_size(4096)).unwrap();
        let results = Queue::new(QueueOptions::new().capacity(16).slot_size(4096)).unwrap();
        let records = Records::create(1, None).unwrap();
        let mut tx = tasks.producer().unwrap();
        let mut rx = results.consumer().unwrap();
        let mut msg = vec![wire::TASK];
        chunk(&mut msg, 1, Call::of_fn(quick).unwrap(), 7, false);
        chunk(&mut msg, 2, Call::of_fn(slow).unwrap(), 8, flush_first);
        frame::send(&mut tx, wire::CALLER, &[&msg]).unwrap();
        frame::send(&mut tx, wire::CALLER, &[&[wire::EXIT]]).unwrap();
        let role = Role {
            slot: 0,
            incarnation: 1,
            maxtasks: None,
            initializer: None,
        };
        let t0 = Instant::now();
        // The worker loop runs on a thread that owns its ends, so that a
        // hang fails the test instead of blocking it.
        let worker = std::thread::spawn(move || {
            let ends = Ends {
                tasks: &tasks,
                results: &results,
                records: &records,
            };
            serve(role, &ends)
        });
        let mut asm = Assembler::default();
        let first = loop {
            let frame = rx.recv_timeout(Duration::from_secs(10)).unwrap();
            if let Ok(Some((_, m))) = asm.push(&frame) {
                assert_eq!(m.bytes()[0], wire::RESULT);
                break t0.elapsed();
            }
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !worker.is_finished() {
            assert!(Instant::now() < deadline, "the worker did not exit");
            std::thread::sleep(Duration::from_millis(5));
        }
        worker.join().unwrap().unwrap();
        first
    }

    #[test]
    fn a_chunk_marked_flush_first_sends_what_came_before_it() {
        let marked = first_result_after(true);
        assert!(marked < Duration::from_millis(1500), "{marked:?}");
        // Unmarked (chunks of one map), the outcomes may wait for each
        // other: the test can tell the two apart. The quick chunk's outcome
        // also goes early when its batch has run for `FLUSH_AFTER`, which a
        // preempted test thread can reach: one of three tries must wait.
        let unmarked: Vec<Duration> = (0..3)
            .map(|_| first_result_after(false))
            .take_while(|d| *d < Duration::from_secs(2))
            .collect();
        assert!(unmarked.len() < 3, "{unmarked:?}");
    }
}
