//! Barriers: a party killed at a random moment (waiting, or between
//! waits). The survivors must see `BrokenBarrier` within a second of the
//! death rather than hang; after a `reset` they go on with a replacement
//! party, every wait passing.

use std::time::{Duration, Instant};

use mproc_sync::{Barrier, SyncError};
use mproc_torture::children::{KILLED, sigkill, spin_for, wait_exit};
use mproc_torture::{Board, Rng, Tally};

use crate::common::{Ctx, END, STALL, round_rng};

/// Parties, the replacement included.
const MAX_P: usize = 6;

const GO: usize = 0;
const GO_AGAIN: usize = 1;
const PASSES: usize = 2;
const PASSES_AFTER: usize = PASSES + MAX_P;
const BROKEN_AT_US: usize = PASSES_AFTER + MAX_P;
const PHASE: usize = BROKEN_AT_US + MAX_P;
const ERR: usize = PHASE + MAX_P;
const WORDS: usize = ERR + MAX_P;

const BETWEEN: u64 = 0;
const WAITING: u64 = 1;

/// Waits that pass after the reset.
const AFTER: u64 = 20;

fn party(bar: &Barrier, b: &Board, p: usize, t0: Instant, first: bool, mut rng: Rng) -> i32 {
    if first {
        if !b.wait_until(GO, |v| v == 1, END) {
            return 2;
        }
        loop {
            b.set(PHASE + p, WAITING);
            let r = bar.wait_timeout(END);
            b.set(PHASE + p, BETWEEN);
            match r {
                Ok(_) => {
                    b.add(PASSES + p, 1);
                    spin_for(Duration::from_micros(rng.below(50)));
                }
                Err(SyncError::BrokenBarrier { .. }) => {
                    b.set(BROKEN_AT_US + p, t0.elapsed().as_micros() as u64 + 1);
                    break;
                }
                Err(e) => {
                    eprintln!("barrier: party {p}: {e}");
                    b.set(ERR + p, 1);
                    return 1;
                }
            }
        }
    }
    if !b.wait_until(GO_AGAIN, |v| v == 1, END) {
        return 3;
    }
    for _ in 0..AFTER {
        match bar.wait_timeout(END) {
            Ok(_) => {
                b.add(PASSES_AFTER + p, 1);
            }
            Err(e) => {
                eprintln!("barrier: party {p} after the reset: {e}");
                b.set(ERR + p, 2);
                return 1;
            }
        }
    }
    0
}

/// Runs `rounds` rounds.
pub(crate) fn run(ctx: &Ctx, rng: &mut Rng, rounds: u64, tally: &mut Tally) {
    let mut slowest = Duration::ZERO;
    for round in 0..rounds {
        let (mut r, seed) = round_rng(rng);
        tally.round(round, seed);
        slowest = slowest.max(one_round(ctx, &mut r, tally));
        ctx.end_round(tally);
    }
    tally.note(
        "slowest break after a death (ms)",
        slowest.as_millis() as u64,
    );
}

/// One round; returns how long the slowest survivor took to see the
/// barrier broken.
fn one_round(ctx: &Ctx, r: &mut Rng, tally: &mut Tally) -> Duration {
    let parties = r.range(2, MAX_P as u64 - 1) as usize;
    tally.context(&format!("{parties} parties"));
    let bar = Barrier::new(parties as u32).unwrap_or_else(|e| tally.fail(&e.to_string()));
    let b = Board::new(WORDS).unwrap_or_else(|e| tally.fail(&e.to_string()));
    let t0 = Instant::now();
    let mut pids: Vec<i32> = (0..parties)
        .map(|p| {
            let rng = r.fork();
            let (bar, b) = (&bar, &b);
            ctx.fork(move || party(bar, b, p, t0, true, rng))
        })
        .collect();
    b.set(GO, 1);

    let victim = r.below(parties as u64) as usize;
    // A party registers at its first wait: one killed before that was
    // never known to the barrier (only timeouts could help the others),
    // so the victim has passed at least once.
    let threshold = r.range(1, 30);
    if !b.spin_until(PASSES + victim, |v| v >= threshold, END) {
        let passes: Vec<u64> = (0..parties).map(|p| b.get(PASSES + p)).collect();
        let errors: Vec<u64> = (0..parties).map(|p| b.get(ERR + p)).collect();
        tally.fail(&format!(
            "the barrier stalled before any death: victim {victim} passed {} of {threshold} \
             waits within {END:?} (passes per party {passes:?}, errors {errors:?})",
            b.get(PASSES + victim)
        ));
    }
    if r.percent(50) {
        b.spin_until(PHASE + victim, |p| p == WAITING, Duration::from_millis(20));
    } else {
        spin_for(Duration::from_micros(r.below(100)));
    }
    let phase = b.get(PHASE + victim);
    sigkill(pids[victim]);
    let killed_at = t0.elapsed();
    let what = if phase == WAITING {
        "waiting at the barrier"
    } else {
        "between waits"
    };
    tally.context(&format!(
        "victim {victim} killed {what} after {threshold} passes"
    ));
    let code = wait_exit(pids[victim], END).unwrap_or_else(|h| tally.fail(&h.to_string()));
    tally.check(code == KILLED, || {
        format!("the victim ended with {code}, not killed")
    });
    tally.kill(what);

    // Every survivor sees the barrier broken, promptly.
    let mut slowest = Duration::ZERO;
    for p in (0..parties).filter(|&p| p != victim) {
        let seen = b.wait_until(BROKEN_AT_US + p, |v| v != 0, END);
        tally.check(seen, || {
            format!("party {p} never saw the barrier broken (within {END:?})")
        });
        let at = Duration::from_micros(b.get(BROKEN_AT_US + p) - 1);
        let after = at.saturating_sub(killed_at);
        slowest = slowest.max(after);
        tally.check(after <= STALL, || {
            format!("party {p} saw the barrier broken {after:?} after the death (bound {STALL:?})")
        });
    }

    // Reset, a replacement party, and everyone goes on.
    bar.reset()
        .unwrap_or_else(|e| tally.fail(&format!("reset: {e}")));
    let replacement = parties;
    pids[victim] = {
        let rng = r.fork();
        let (bar, b) = (&bar, &b);
        ctx.fork(move || party(bar, b, replacement, t0, false, rng))
    };
    b.set(GO_AGAIN, 1);
    for (p, &pid) in pids.iter().enumerate() {
        let code = wait_exit(pid, END).unwrap_or_else(|h| tally.fail(&format!("party {p}: {h}")));
        tally.check(code == 0, || format!("party {p} exit {code}"));
    }
    for p in (0..=parties).filter(|&p| p != victim) {
        let n = b.get(PASSES_AFTER + p);
        tally.check(n == AFTER, || {
            format!("party {p} passed {n} of {AFTER} waits after the reset")
        });
    }
    tally.check(!bar.broken(), || {
        "the barrier is broken after the last round".into()
    });
    slowest
}
