//! Minimal reproductions of bugs the torture suite found in other crates,
//! skipped unless `MPROC_TORTURE_KNOWN_BUGS=1` (they fail until fixed; the
//! owners of those crates run them to confirm a fix, then move them into
//! the scenarios as plain checks).

use std::time::Duration;

use mproc_queue::{QueueOptions, SpscQueue};
use mproc_torture::children::{sigkill, wait_exit};
use mproc_torture::{Board, Rng, Tally};

use crate::common::{Ctx, END};

/// The note the pool scenario counts re-run tasks under.
pub(crate) const POOL_RERUN: &str =
    "KNOWN BUG pool_reruns_finished_tasks_of_a_killed_worker (tasks run twice tolerated)";

/// The note the queue scenario counts this under: a message sent (Ok)
/// after an SPSC consumer's death, left in the queue when the successor got
/// `Closed` (within what the dead consumer could have held, so the loss
/// check alone cannot tell it apart).
pub(crate) const SPSC_STUCK_DEPTH: &str = "KNOWN BUG spsc_send_after_a_dead_consumer_is_lost_after_close (messages left behind, tolerated)";

const VAR: &str = "MPROC_TORTURE_KNOWN_BUGS";

/// A reproduction: its name, what it shows, and the test.
type Repro = (&'static str, &'static str, fn(&Ctx, &mut Tally));

/// Runs the reproductions if asked to; otherwise says what is skipped.
pub(crate) fn run(ctx: &Ctx, _rng: &mut Rng, _rounds: u64, tally: &mut Tally) {
    let bugs: [Repro; 2] = [
        (
            "spsc_send_after_a_dead_consumer_is_lost_after_close",
            "SPSC: a consumer killed while taking from a full queue, then \
             `close()`, then a successor drains: the producer's last send \
             returned Ok, the successor got Closed with that message still in \
             the queue (depth 1): a committed message lost",
            spsc_send_after_a_dead_consumer_is_lost_after_close,
        ),
        (
            "pool_reruns_finished_tasks_of_a_killed_worker",
            "Pool: when a worker dies mid-task, tasks it had already finished \
             (results not yet sent) run a second time on another worker: their \
             side effects happen twice, while the docs say the dead worker's \
             task fails alone and the rest of its work goes elsewhere",
            pool_reruns_finished_tasks_of_a_killed_worker,
        ),
    ];
    let enabled = std::env::var(VAR).is_ok_and(|v| v == "1");
    let mut failed = Vec::new();
    for (name, what, f) in bugs {
        if enabled {
            tally.round(0, 0);
            tally.context(name);
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(ctx, tally)));
            if run.is_err() {
                failed.push(name);
            }
        } else {
            println!("    skipped (known bug, {VAR}=1 runs it): {name}: {what}");
        }
    }
    if !failed.is_empty() {
        tally.fail(&format!("still failing: {failed:?}"));
    }
}

/// Runs of each task of the pool reproduction, on a board the workers
/// inherit.
static RUNS: std::sync::OnceLock<Board> = std::sync::OnceLock::new();

/// Task 5 kills its own worker; the others count their runs.
fn counted_task(i: u64) -> u64 {
    if let Some(b) = RUNS.get() {
        b.add(i as usize, 1);
    }
    if i == 5 {
        let _ = mproc_sys::kill(mproc_sys::getpid(), mproc_sys::Signal::Kill);
    }
    i
}

/// One worker maps tasks 0..10; task 5 kills it. Expected: task 5 fails
/// with `WorkerLost`, every other task runs once. Observed: tasks 0..5,
/// finished by the dead worker before it died, run again.
fn pool_reruns_finished_tasks_of_a_killed_worker(ctx: &Ctx, tally: &mut Tally) {
    let b = RUNS.get_or_init(|| Board::new(10).unwrap_or_else(|e| panic!("board: {e}")));
    for i in 0..10 {
        b.set(i, 0);
    }
    let pool = mproc_process::Pool::new(1).unwrap_or_else(|e| tally.fail(&e.to_string()));
    ctx.adopt(&pool.pids());
    let results = pool
        .map_each(counted_task, 0..10u64)
        .unwrap_or_else(|e| tally.fail(&e.to_string()));
    drop(pool);
    let failed: Vec<usize> = (0..10).filter(|&i| results[i].is_err()).collect();
    let runs: Vec<u64> = (0..10).map(|i| b.get(i)).collect();
    let ran_twice: Vec<usize> = (0..10).filter(|&i| i != 5 && runs[i] > 1).collect();
    tally.check(failed == [5] && ran_twice.is_empty(), || {
        format!("failed tasks {failed:?} (expected [5]); runs per task {runs:?}: tasks {ran_twice:?} ran twice")
    });
}

/// A producer streams 0, 1, 2, ... into an SPSC queue of 16 (2 s bounded
/// sends); a consumer takes them; the consumer is killed after a random
/// number of messages; the parent closes the queue and drains it with a new
/// consumer. Expected: every send that returned `Ok` is received (by the
/// dead consumer or the successor). Observed in a few percent of the tries
/// (this loops until the first, at most 1000 tries): the victim took up to
/// 16k - 1, the queue was full, the producer's send of 16k + 16 returned
/// `Ok`, the successor received 16k ..= 16k + 15 and then `Closed`, the
/// message 16k + 16 stays in the queue (depth 1) and is never received.
fn spsc_send_after_a_dead_consumer_is_lost_after_close(ctx: &Ctx, tally: &mut Tally) {
    let mut rng = Rng::new(7);
    for attempt in 0..1000 {
        let q = SpscQueue::new(QueueOptions::new().capacity(16).slot_size(16))
            .unwrap_or_else(|e| tally.fail(&e.to_string()));
        // [0] received by the victim, [1] its last value + 1, [2] the
        // producer's last Ok value + 1.
        let b = Board::new(3).unwrap_or_else(|e| tally.fail(&e.to_string()));
        let producer = ctx.fork(|| {
            let Ok(mut tx) = q.producer() else { return 1 };
            for i in 0..400u64 {
                if tx
                    .send_timeout(&i.to_le_bytes(), Duration::from_secs(2))
                    .is_err()
                {
                    return 0;
                }
                b.set(2, i + 1);
            }
            0
        });
        let victim = ctx.fork(|| {
            let Ok(mut rx) = q.consumer() else { return 1 };
            while let Ok(m) = rx.recv_timeout(Duration::from_secs(2)) {
                b.set(
                    1,
                    u64::from_le_bytes(m[..8].try_into().unwrap_or([0; 8])) + 1,
                );
                b.add(0, 1);
            }
            0
        });
        let after = rng.below(300);
        b.spin_until(0, |v| v >= after, Duration::from_secs(5));
        sigkill(victim);
        let _ = wait_exit(victim, END);
        q.close();
        let mut rx = q.consumer().unwrap_or_else(|e| tally.fail(&e.to_string()));
        let mut got = Vec::new();
        let end = loop {
            match rx.recv_timeout(Duration::from_millis(500)) {
                Ok(m) => got.push(u64::from_le_bytes(m[..8].try_into().unwrap_or([0; 8]))),
                Err(e) => break e,
            }
        };
        let _ = wait_exit(producer, END);
        let last_ok = b.get(2).checked_sub(1);
        let received_last = got.last().copied().or(b.get(1).checked_sub(1));
        if last_ok > received_last {
            tally.fail(&format!(
                "try {attempt}: the producer's sends returned Ok up to {last_ok:?}; the victim \
                 took up to {:?}, the successor got {:?}..={:?} then {end:?}; {:?}",
                b.get(1).checked_sub(1),
                got.first(),
                got.last(),
                q.stats()
            ));
        }
    }
}
