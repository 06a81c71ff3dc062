//! Minimal reproductions of bugs the torture suite found in other crates,
//! skipped unless `MPROC_TORTURE_KNOWN_BUGS=1` (they fail until fixed; the
//! owners of those crates run them to confirm a fix, then move them into
//! the scenarios as plain checks).

use std::time::Duration;

use mproc_queue::{QueueOptions, SpscQueue};
use mproc_torture::children::{sigkill, wait_exit};
use mproc_torture::{Board, Rng, Tally};

use crate::common::{Ctx, END};

/// The note the queue scenario counts tolerated redeliveries under.
pub(crate) const SPSC_REDELIVERY: &str =
    "KNOWN BUG spsc_successor_gets_the_held_message (redelivered messages tolerated)";

const VAR: &str = "MPROC_TORTURE_KNOWN_BUGS";

/// A reproduction: its name, what it shows, and the test.
type Repro = (&'static str, &'static str, fn(&Ctx, &mut Tally));

/// Runs the reproductions if asked to; otherwise says what is skipped.
pub(crate) fn run(ctx: &Ctx, _rng: &mut Rng, _rounds: u64, tally: &mut Tally) {
    let bugs: [Repro; 1] = [(
        "spsc_successor_gets_the_held_message",
        "SPSC: a consumer killed while holding a received slot (recv_ref, or \
         inside recv_batch): its successor receives that message again, \
         while the queue's docs say the slot is freed and counted in \
         `abandoned` (as MPMC does)",
        spsc_successor_gets_the_held_message,
    )];
    let enabled = std::env::var(VAR).is_ok_and(|v| v == "1");
    for (name, what, f) in bugs {
        if enabled {
            tally.round(0, 0);
            tally.context(name);
            f(ctx, tally);
        } else {
            println!("    skipped (known bug, {VAR}=1 runs it): {name}: {what}");
        }
    }
}

/// Message 0 is held (`recv_ref`) by a consumer that is then killed; a
/// second consumer attaches and receives: expected message 1 (message 0 was
/// taken and its slot freed, `abandoned` = 1), observed message 0 again
/// and `abandoned` = 0.
fn spsc_successor_gets_the_held_message(ctx: &Ctx, tally: &mut Tally) {
    let q = SpscQueue::new(QueueOptions::new().capacity(4).slot_size(8))
        .unwrap_or_else(|e| tally.fail(&e.to_string()));
    let mut tx = q.producer().unwrap_or_else(|e| tally.fail(&e.to_string()));
    for i in 0..2u64 {
        tx.send_pod(&i)
            .unwrap_or_else(|e| tally.fail(&e.to_string()));
    }
    let b = Board::new(1).unwrap_or_else(|e| tally.fail(&e.to_string()));
    let holder = ctx.fork(|| {
        let Ok(mut rx) = q.consumer() else { return 1 };
        let Ok(slot) = rx.recv_ref() else { return 2 };
        b.set(0, 1);
        std::thread::sleep(Duration::from_secs(60));
        drop(slot);
        0
    });
    let held = b.wait_until(0, |v| v == 1, Duration::from_secs(10));
    tally.check(held, || "the holder took message 0".into());
    sigkill(holder);
    let _ = wait_exit(holder, END);
    let mut rx = q.consumer().unwrap_or_else(|e| tally.fail(&e.to_string()));
    let got = rx.recv_timeout(Duration::from_secs(1));
    let stats = q.stats();
    let first = got
        .as_ref()
        .ok()
        .and_then(|m| m.get(..8))
        .map(|m| u64::from_le_bytes(m.try_into().unwrap_or([0xff; 8])));
    tally.check(first == Some(1) && stats.abandoned == 1, || {
        format!(
            "the successor received {first:?} (expected Some(1): message 0 was taken \
             by the dead holder), abandoned {} (expected 1)",
            stats.abandoned
        )
    });
}
