//! Conditions: notifiers and waiters of a `Condition` killed, holding its
//! lock or sleeping in a wait.
//!
//! Notifiers add items to a count under the condition's lock and notify;
//! waiters take them. The survivors must take every item (the count ends
//! at zero), none twice; the first locker after a holder's death is told
//! (`OwnerDied`, at most once); no lock acquisition waits a second.

use std::time::Duration;

use mproc_sync::{Condition, LockGuard, OwnerDied, TryLockError};
use mproc_torture::children::{KILLED, sigkill, spin_for, wait_exit};
use mproc_torture::{Board, Rng, Tally};

use crate::common::{Ctx, END, STALL, round_rng};

/// Notifiers then waiters.
const MAX_R: usize = 6;

const ITEMS: usize = 0;
const DONE: usize = 1;
const GO: usize = 2;
const RECOVERED: usize = 3;
const IDLE_WAKEUPS: usize = 4;
const COUNT: usize = 5;
const PHASE: usize = COUNT + MAX_R;
const ERR: usize = PHASE + MAX_R;
const WORDS: usize = ERR + MAX_R;

const IDLE: u64 = 0;
const LOCKING: u64 = 1;
const HOLDING: u64 = 2;
const WAITING: u64 = 3;
const RELEASING: u64 = 4;

fn phase_name(p: u64) -> &'static str {
    match p {
        LOCKING => "locking",
        HOLDING => "holding the lock",
        WAITING => "sleeping in wait",
        RELEASING => "releasing",
        _ => "not near the condition",
    }
}

/// Takes the condition's lock, bounded; repairs after a dead holder.
fn lock<'a>(cond: &'a Condition, b: &Board, r: usize) -> Option<LockGuard<'a>> {
    b.set(PHASE + r, LOCKING);
    let g = match cond.raw_lock().lock_timeout(STALL) {
        Ok(g) => g,
        Err(TryLockError::OwnerDied(mut g)) => {
            b.add(RECOVERED, 1);
            g.make_consistent();
            g
        }
        Err(_) => {
            eprintln!("condition: role {r} waited {STALL:?} for the lock");
            b.set(ERR + r, 1);
            return None;
        }
    };
    b.set(PHASE + r, HOLDING);
    Some(g)
}

fn release(g: LockGuard<'_>, b: &Board, r: usize) {
    b.set(PHASE + r, RELEASING);
    drop(g);
    b.set(PHASE + r, IDLE);
}

fn notifier(cond: &Condition, b: &Board, r: usize, n: u64, mut rng: Rng) -> i32 {
    if !b.wait_until(GO, |v| v == 1, END) {
        return 2;
    }
    for _ in 0..n {
        let Some(g) = lock(cond, b, r) else { return 1 };
        b.add(ITEMS, 1);
        b.add(COUNT + r, 1);
        spin_for(Duration::from_micros(rng.below(20)));
        if rng.percent(80) {
            cond.notify(1);
        } else {
            cond.notify_all();
        }
        release(g, b, r);
        if rng.percent(30) {
            spin_for(Duration::from_micros(rng.below(100)));
        }
    }
    0
}

fn waiter(cond: &Condition, b: &Board, r: usize, mut rng: Rng) -> i32 {
    if !b.wait_until(GO, |v| v == 1, END) {
        return 2;
    }
    loop {
        let Some(mut g) = lock(cond, b, r) else {
            return 1;
        };
        loop {
            if b.get(ITEMS) > 0 {
                b.set(ITEMS, b.get(ITEMS) - 1);
                b.add(COUNT + r, 1);
                spin_for(Duration::from_micros(rng.below(20)));
                break;
            }
            if b.get(DONE) == 1 {
                release(g, b, r);
                return 0;
            }
            b.set(PHASE + r, WAITING);
            let (g2, res) = match cond.wait_timeout(g, Duration::from_millis(200)) {
                Ok(x) => x,
                Err(OwnerDied((mut g2, res))) => {
                    b.add(RECOVERED, 1);
                    g2.make_consistent();
                    (g2, res)
                }
            };
            g = g2;
            b.set(PHASE + r, HOLDING);
            if res.timed_out() && b.get(ITEMS) > 0 {
                // Items waited while this waiter slept its whole timeout.
                b.add(IDLE_WAKEUPS, 1);
            }
        }
        release(g, b, r);
    }
}

/// Runs `rounds` rounds.
pub(crate) fn run(ctx: &Ctx, rng: &mut Rng, rounds: u64, tally: &mut Tally) {
    for round in 0..rounds {
        let (mut r, seed) = round_rng(rng);
        tally.round(round, seed);
        let t = std::time::Instant::now();
        one_round(ctx, &mut r, tally);
        if t.elapsed() > Duration::from_secs(3) {
            eprintln!(
                "condition: round {round} (seed {seed:#x}) took {:?}",
                t.elapsed()
            );
        }
        ctx.end_round(tally);
    }
}

fn one_round(ctx: &Ctx, r: &mut Rng, tally: &mut Tally) {
    let notifiers = r.range(1, 2) as usize;
    let waiters = r.range(2, 3) as usize;
    let n = r.range(200, if ctx.soak { 5000 } else { 800 });
    tally.context(&format!(
        "{notifiers} notifiers of {n} items, {waiters} waiters"
    ));
    let cond = Condition::new().unwrap_or_else(|e| tally.fail(&e.to_string()));
    let b = Board::new(WORDS).unwrap_or_else(|e| tally.fail(&e.to_string()));
    let mut pids = Vec::new();
    for i in 0..notifiers + waiters {
        let rng = r.fork();
        let (cond, b) = (&cond, &b);
        pids.push(if i < notifiers {
            ctx.fork(move || notifier(cond, b, i, n, rng))
        } else {
            ctx.fork(move || waiter(cond, b, i, rng))
        });
    }
    b.set(GO, 1);

    let victim = r.below((notifiers + waiters) as u64) as usize;
    let victim_is_notifier = victim < notifiers;
    // After a random number of items were made (a waiter's own count may
    // never grow if the others take everything).
    let threshold = r.below(n / 2);
    b.spin_until(COUNT, |v| v >= threshold, END);
    if r.percent(60) {
        let target = if r.percent(60) { HOLDING } else { WAITING };
        b.spin_until(PHASE + victim, |p| p == target, Duration::from_millis(20));
    } else {
        spin_for(Duration::from_micros(r.below(100)));
    }
    sigkill(pids[victim]);
    let code = wait_exit(pids[victim], END).unwrap_or_else(|h| tally.fail(&h.to_string()));
    let phase = b.get(PHASE + victim);
    let role = if victim_is_notifier {
        "notifier"
    } else {
        "waiter"
    };
    tally.context(&format!(
        "victim {role} {victim} killed {}",
        phase_name(phase)
    ));
    if code == KILLED {
        tally.kill(phase_name(phase));
    } else {
        tally.note("victims that finished before the kill", 1);
    }

    for (i, &pid) in pids.iter().enumerate().take(notifiers) {
        if i == victim {
            continue;
        }
        let code =
            wait_exit(pid, END).unwrap_or_else(|h| tally.fail(&format!("notifier {i}: {h}")));
        tally.check(code == 0, || format!("notifier {i} exit {code}"));
    }
    // No more items: the waiters drain what is left and leave.
    let mut parent_rng = r.fork();
    let g = lock(&cond, &b, MAX_R - 1).unwrap_or_else(|| tally.fail("the parent could not lock"));
    b.set(DONE, 1);
    cond.notify_all();
    spin_for(Duration::from_micros(parent_rng.below(10)));
    release(g, &b, MAX_R - 1);
    for (i, &pid) in pids.iter().enumerate().skip(notifiers) {
        if i == victim {
            continue;
        }
        let code = wait_exit(pid, END).unwrap_or_else(|h| tally.fail(&format!("waiter {i}: {h}")));
        tally.check(code == 0, || format!("waiter {i} exit {code}"));
    }

    let items = b.get(ITEMS);
    tally.check(items == 0, || {
        format!("{items} items left after the waiters left")
    });
    let produced: u64 = (0..notifiers).map(|i| b.get(COUNT + i)).sum();
    let taken: u64 = (notifiers..notifiers + waiters)
        .map(|i| b.get(COUNT + i))
        .sum();
    // The victim may have died between moving the count and counting it.
    let ok = if code != KILLED {
        produced == taken
    } else if victim_is_notifier {
        taken == produced || taken == produced + 1
    } else {
        produced == taken || produced == taken + 1
    };
    tally.check(ok, || format!("{produced} items produced, {taken} taken"));
    let recovered = b.get(RECOVERED);
    let died_holding = code == KILLED && phase == HOLDING;
    tally.check(recovered <= 1 && (!died_holding || recovered == 1), || {
        format!("OwnerDied reported {recovered} times, victim died holding: {died_holding}")
    });
    if died_holding {
        tally.note("owner deaths recovered", 1);
    }
    tally.note(
        "waits that timed out with items waiting",
        b.get(IDLE_WAKEUPS),
    );
}
