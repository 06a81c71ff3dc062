//! Robust locks (`Lock` and `RLock`): holders and waiters killed.
//!
//! The lock protects a pair `(a, b)` on the board that a holder moves in
//! two steps (`a += 1`, a pause, `b = a`) and an `inside` flag it swaps in
//! and out: a holder killed mid-way leaves `a != b` and `inside` set. The
//! first locker after the death must be told (`OwnerDied`, exactly once),
//! repairs the pair and makes the lock consistent; every survivor finishes
//! its acquisitions, none waits a second for a lock nobody holds, and no two
//! are ever inside together.

use std::time::Duration;

use mproc_sync::{Lock, RLock, TryLockError};
use mproc_torture::children::{KILLED, sigkill, spin_for, wait_exit};
use mproc_torture::{Board, Rng, Tally};

use crate::common::{Ctx, END, STALL, round_rng};

const MAX_W: usize = 4;

const A: usize = 0;
const B: usize = 1;
const INSIDE: usize = 2;
const RECOVERED: usize = 3;
const GO: usize = 4;
const ACQ: usize = 5;
const PHASE: usize = ACQ + MAX_W;
const ERR: usize = PHASE + MAX_W;
/// Waits of a whole stall bound while others kept acquiring (an unfair
/// lock's starvation, not a dead holder's fault).
const STARVED: usize = ERR + MAX_W;
const WORDS: usize = STARVED + 1;

const IDLE: u64 = 0;
const WAITING: u64 = 1;
const HOLDING: u64 = 2;
const RELEASING: u64 = 3;

const E_TWO_INSIDE: u64 = 1;
const E_STALL: u64 = 2;
const E_TORN_UNREPORTED: u64 = 4;

fn phase_name(p: u64) -> &'static str {
    match p {
        WAITING => "waiting for the lock",
        HOLDING => "holding the lock",
        RELEASING => "releasing the lock",
        _ => "not near the lock",
    }
}

fn describe_errors(bits: u64) -> String {
    let mut v = Vec::new();
    if bits & E_TWO_INSIDE != 0 {
        v.push("two holders inside at once");
    }
    if bits & E_STALL != 0 {
        v.push("waited a whole stall bound for a lock nobody took");
    }
    if bits & E_TORN_UNREPORTED != 0 {
        v.push("found the pair torn without OwnerDied");
    }
    v.join(", ")
}

/// Either kind of lock, through one interface.
enum AnyLock {
    Plain(Lock),
    Recursive(RLock),
}

/// The critical section, run with the lock held; `died` says whether the
/// acquisition reported `OwnerDied` (then the pair is repaired first).
fn critical(b: &Board, w: usize, died: bool, hold: Duration) {
    b.set(PHASE + w, HOLDING);
    if died {
        b.add(RECOVERED, 1);
        b.set(B, b.get(A));
        b.set(INSIDE, 0);
    } else if b.get(A) != b.get(B) {
        b.fetch_or(ERR + w, E_TORN_UNREPORTED);
    }
    if b.swap(INSIDE, 1) != 0 {
        b.fetch_or(ERR + w, E_TWO_INSIDE);
    }
    let a = b.get(A) + 1;
    b.set(A, a);
    spin_for(hold);
    b.set(B, a);
    b.set(INSIDE, 0);
    b.set(PHASE + w, RELEASING);
}

impl AnyLock {
    /// One acquisition and critical section, bounded; false on a stall.
    fn round_trip(&self, b: &Board, w: usize, rng: &mut Rng) -> bool {
        let hold = Duration::from_micros(rng.below(150));
        b.set(PHASE + w, WAITING);
        match self {
            AnyLock::Plain(l) => match l.lock_timeout(STALL) {
                Ok(g) => {
                    critical(b, w, false, hold);
                    drop(g);
                }
                Err(TryLockError::OwnerDied(mut g)) => {
                    critical(b, w, true, hold);
                    g.make_consistent();
                    drop(g);
                }
                Err(_) => return false,
            },
            AnyLock::Recursive(l) => match l.lock_timeout(STALL) {
                Ok(g) => {
                    // Once more, recursively: the count goes to 2 and back.
                    let inner = l.lock_timeout(STALL);
                    critical(b, w, false, hold);
                    drop(inner);
                    drop(g);
                }
                Err(TryLockError::OwnerDied(mut g)) => {
                    critical(b, w, true, hold);
                    g.make_consistent();
                    drop(g);
                }
                Err(_) => return false,
            },
        }
        b.set(PHASE + w, IDLE);
        b.add(ACQ + w, 1);
        true
    }
}

fn worker(lock: &AnyLock, b: &Board, w: usize, n: u64, mut rng: Rng) -> i32 {
    if !b.wait_until(GO, |v| v == 1, END) {
        return 2;
    }
    let mut done = 0;
    while done < n {
        let others = |b: &Board| (0..MAX_W).map(|v| b.get(ACQ + v)).sum::<u64>();
        let before = others(b);
        if lock.round_trip(b, w, &mut rng) {
            done += 1;
        } else if others(b) != before {
            b.add(STARVED, 1);
        } else {
            eprintln!("lock: worker {w} waited {STALL:?} for the lock, and nobody else got it");
            b.fetch_or(ERR + w, E_STALL);
        }
        if rng.percent(10) {
            std::thread::yield_now();
        }
    }
    0
}

/// Runs `rounds` rounds.
pub(crate) fn run(ctx: &Ctx, rng: &mut Rng, rounds: u64, tally: &mut Tally) {
    for round in 0..rounds {
        let (mut r, seed) = round_rng(rng);
        tally.round(round, seed);
        one_round(ctx, &mut r, round, tally);
        ctx.end_round(tally);
    }
}

fn one_round(ctx: &Ctx, r: &mut Rng, round: u64, tally: &mut Tally) {
    let recursive = r.percent(40);
    let workers = r.range(2, MAX_W as u64) as usize;
    let n = r.range(300, if ctx.soak { 5000 } else { 1000 });
    tally.context(&format!(
        "{} with {workers} workers, {n} acquisitions each",
        if recursive { "RLock" } else { "Lock" }
    ));
    let lock = if recursive {
        AnyLock::Recursive(RLock::new().unwrap_or_else(|e| tally.fail(&e.to_string())))
    } else {
        AnyLock::Plain(Lock::new().unwrap_or_else(|e| tally.fail(&e.to_string())))
    };
    let b = Board::new(WORDS).unwrap_or_else(|e| tally.fail(&e.to_string()));
    let pids: Vec<i32> = (0..workers)
        .map(|w| {
            let rng = r.fork();
            let (lock, b) = (&lock, &b);
            // Each worker also owns a named lock of its own, which its
            // death (or its `_exit`, which runs no destructor) leaves in
            // /dev/shm for `mproc gc`.
            let own = ctx.name(&format!("lock-w{w}"), round);
            ctx.fork(move || {
                let _own = Lock::create(&own);
                worker(lock, b, w, n, rng)
            })
        })
        .collect();
    b.set(GO, 1);

    let victim = r.below(workers as u64) as usize;
    let threshold = r.below(n / 2);
    b.spin_until(ACQ + victim, |v| v >= threshold, END);
    if r.percent(60) {
        // Mostly while it holds the lock: that is what robustness is for.
        let target = if r.percent(75) { HOLDING } else { WAITING };
        b.spin_until(PHASE + victim, |p| p == target, Duration::from_millis(20));
    } else {
        spin_for(Duration::from_micros(r.below(100)));
    }
    sigkill(pids[victim]);
    let code = wait_exit(pids[victim], END).unwrap_or_else(|h| tally.fail(&h.to_string()));
    let phase = b.get(PHASE + victim);
    tally.context(&format!("victim {victim} killed {}", phase_name(phase)));
    if code == KILLED {
        tally.kill(phase_name(phase));
    } else {
        tally.note("victims that finished before the kill", 1);
    }
    for (w, &pid) in pids.iter().enumerate() {
        if w == victim {
            continue;
        }
        let code = wait_exit(pid, END).unwrap_or_else(|h| tally.fail(&format!("worker {w}: {h}")));
        let e = b.get(ERR + w);
        tally.check(code == 0 && e == 0, || {
            format!("surviving worker {w}: exit {code}: {}", describe_errors(e))
        });
        tally.check(b.get(ACQ + w) == n, || {
            format!("worker {w} acquired {} of {n}", b.get(ACQ + w))
        });
    }
    let e = b.get(ERR + victim);
    tally.check(e & (E_TWO_INSIDE | E_TORN_UNREPORTED) == 0, || {
        format!("victim before its death: {}", describe_errors(e))
    });

    // The parent takes the lock last: it is free (or reports the death if
    // no survivor locked after it), and the pair is whole.
    let mut parent_rng = r.fork();
    let ok = lock.round_trip(&b, MAX_W - 1, &mut parent_rng);
    tally.check(ok, || {
        format!("the parent waited {STALL:?} for the lock after the round")
    });
    let recovered = b.get(RECOVERED);
    let died_holding = code == KILLED && phase == HOLDING;
    if died_holding {
        tally.note("owner deaths recovered", 1);
    }
    // Exactly one OwnerDied when the victim held the lock. (It may also
    // have held it in the instants its phase word does not cover.)
    tally.check(recovered <= 1 && (!died_holding || recovered == 1), || {
        format!("OwnerDied reported {recovered} times, victim died holding: {died_holding}")
    });
    tally.note(
        "waits of a second while others took the lock (starvation)",
        b.get(STARVED),
    );
    let (a, bb) = (b.get(A), b.get(B));
    tally.check(a == bb && b.get(INSIDE) == 0, || {
        format!("protected pair torn: a {a} b {bb}")
    });
    let total: u64 = (0..MAX_W).map(|w| b.get(ACQ + w)).sum();
    tally.check(a == total || a == total + 1, || {
        format!("{a} critical sections done, {total} counted")
    });
}
