//! Pipes: two processes on a duplex `Pipe`, a requester and an echoer; one
//! of them is killed at a random moment. The survivor must end with
//! `Disconnected` (not hang, not time out), and every echo the requester
//! got answers its request, in order.

use std::time::Duration;

use mproc_queue::{Connection, Pipe, QueueError, QueueOptions};
use mproc_torture::children::{KILLED, sigkill, spin_for, wait_exit};
use mproc_torture::{Board, Rng, Tally};

use crate::common::{Ctx, END, STALL, round_rng};

const SENT: usize = 0;
const GOT: usize = 1;
const ECHOED: usize = 2;
/// How each side ended: 1 Disconnected, 2 stalled, 3 other error, 4 wrong echo.
const END_A: usize = 3;
const END_B: usize = 4;
const PHASE_A: usize = 5;
const PHASE_B: usize = 6;
const GO: usize = 7;
const WORDS: usize = 8;

const DISCONNECTED: u64 = 1;
const STALLED: u64 = 2;
const OTHER: u64 = 3;
const WRONG: u64 = 4;

const IDLE: u64 = 0;
const SENDING: u64 = 1;
const RECEIVING: u64 = 2;

fn ending(e: &QueueError) -> u64 {
    match e {
        QueueError::Disconnected => DISCONNECTED,
        QueueError::Timeout { .. } => STALLED,
        _ => OTHER,
    }
}

/// Sends `seq`, then waits for its echo, forever (until the peer dies).
fn requester(end: &mut Connection, b: &Board, mut rng: Rng) -> i32 {
    if !b.wait_until(GO, |v| v == 1, END) {
        return 2;
    }
    let mut seq = 0u64;
    loop {
        // A few requests in flight at once, up to the ring's capacity.
        let burst = rng.range(1, 4);
        for k in 0..burst {
            b.set(PHASE_A, SENDING);
            if let Err(e) = end.send(&(seq + k).to_le_bytes()) {
                b.set(END_A, ending(&e));
                return 0;
            }
            b.add(SENT, 1);
        }
        for k in 0..burst {
            b.set(PHASE_A, RECEIVING);
            match end.recv_timeout(STALL) {
                Ok(m) if m == (seq + k).to_le_bytes() => {
                    b.add(GOT, 1);
                }
                Ok(_) => {
                    b.set(END_A, WRONG);
                    return 1;
                }
                Err(e) => {
                    b.set(END_A, ending(&e));
                    return 0;
                }
            }
        }
        b.set(PHASE_A, IDLE);
        seq += burst;
    }
}

/// Echoes every request.
fn echoer(end: &mut Connection, b: &Board, mut rng: Rng) -> i32 {
    loop {
        b.set(PHASE_B, RECEIVING);
        let m = match end.recv_timeout(STALL) {
            Ok(m) => m,
            Err(e) => {
                b.set(END_B, ending(&e));
                return 0;
            }
        };
        spin_for(Duration::from_micros(rng.below(20)));
        b.set(PHASE_B, SENDING);
        if let Err(e) = end.send(&m) {
            b.set(END_B, ending(&e));
            return 0;
        }
        b.add(ECHOED, 1);
        b.set(PHASE_B, IDLE);
    }
}

/// Runs `rounds` rounds.
pub(crate) fn run(ctx: &Ctx, rng: &mut Rng, rounds: u64, tally: &mut Tally) {
    for round in 0..rounds {
        let (mut r, seed) = round_rng(rng);
        tally.round(round, seed);
        one_round(ctx, &mut r, tally);
        ctx.end_round(tally);
    }
}

fn one_round(ctx: &Ctx, r: &mut Rng, tally: &mut Tally) {
    let capacity = 1 << r.range(2, 5);
    let opts = QueueOptions::new().capacity(capacity).slot_size(8);
    let (mut a, mut b_end) =
        Pipe::with_options(opts, true).unwrap_or_else(|e| tally.fail(&format!("pipe: {e}")));
    let b = Board::new(WORDS).unwrap_or_else(|e| tally.fail(&e.to_string()));
    let (ra, rb) = (r.fork(), r.fork());
    let pa = {
        let (a, b) = (&mut a, &b);
        ctx.fork(move || requester(a, b, ra))
    };
    let pb = {
        let (end, b) = (&mut b_end, &b);
        ctx.fork(move || echoer(end, b, rb))
    };
    b.set(GO, 1);
    let kill_requester = r.percent(50);
    let (victim, survivor) = if kill_requester { (pa, pb) } else { (pb, pa) };
    // Handles attach at their first use: after one echo came back, all
    // four are (a peer killed before attaching was never a peer).
    let threshold = r.range(1, 2000);
    b.spin_until(GOT, |v| v >= threshold, END);
    if r.percent(50) {
        let word = if kill_requester { PHASE_A } else { PHASE_B };
        b.spin_until(word, |p| p == SENDING, Duration::from_millis(20));
    } else {
        spin_for(Duration::from_micros(r.below(100)));
    }
    let phase = b.get(if kill_requester { PHASE_A } else { PHASE_B });
    sigkill(victim);
    let who = if kill_requester {
        "requester"
    } else {
        "echoer"
    };
    let what = match phase {
        SENDING => "mid-send",
        RECEIVING => "mid-recv",
        _ => "between messages",
    };
    tally.context(&format!(
        "capacity {capacity}; {who} killed {what} after {threshold} echoes"
    ));
    let code = wait_exit(victim, END).unwrap_or_else(|h| tally.fail(&h.to_string()));
    tally.check(code == KILLED, || format!("the victim ended with {code}"));
    tally.kill(what);
    let code = wait_exit(survivor, END).unwrap_or_else(|h| tally.fail(&h.to_string()));
    tally.check(code == 0, || format!("the survivor exit {code}"));
    let end = b.get(if kill_requester { END_B } else { END_A });
    tally.check(end == DISCONNECTED, || {
        format!("the survivor ended with {end} (1 Disconnected, 2 stalled, 3 other, 4 wrong echo)")
    });
    let (sent, got, echoed) = (b.get(SENT), b.get(GOT), b.get(ECHOED));
    // A victim killed between sending and counting sent one uncounted.
    let (slack_sent, slack_echoed) = if kill_requester { (1, 0) } else { (0, 1) };
    tally.check(
        got <= echoed + slack_echoed && echoed <= sent + slack_sent,
        || format!("{sent} requests, {echoed} echoed, {got} echoes received"),
    );
    if !kill_requester {
        // The requester got every echo the echoer counted (it may have
        // sent one more it did not count).
        tally.check(got == echoed || got == echoed + 1, || {
            format!("{echoed} echoed, {got} echoes received")
        });
    }
}
