//! Queues (SPSC and MPMC): producers and consumers killed mid-send,
//! mid-loan, mid-batch, mid-recv and holding a received slot.
//!
//! Every message is `[producer id | seq | filler]`, the filler a pattern of
//! both, so that a torn message shows. A producer records on the board how
//! many messages it has committed *after* each send returns, and before
//! each send how many the send may commit: a producer killed mid-send may
//! have delivered at most that many more. A consumer sets one bit per
//! (producer, seq) it took; it records before each receive how many
//! messages it may take, so a consumer killed with messages in hand may
//! lose at most that many.

mod any_queue;
mod layout;
mod message;
mod regressions;
mod roles;

use std::time::{Duration, Instant};

use mproc_torture::children::{KILLED, sigkill, spin_for, wait_exit};
use mproc_torture::{Board, Rng, Tally};

use crate::common::{Ctx, END, STALL, round_rng};
use any_queue::{AnyQueue, Shape};
use layout::*;
use roles::{ConsumerPlan, ProducerPlan, consume, produce};

/// Who the victim is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Victim {
    Producer(usize),
    Consumer(usize),
}

/// Runs `rounds` rounds.
pub(crate) fn run(ctx: &Ctx, rng: &mut Rng, rounds: u64, tally: &mut Tally) {
    let mut abandoned = 0;
    let mut late = 0;
    let mut messages = 0;
    regressions::run(ctx, tally);
    for round in 0..rounds {
        let (mut r, seed) = round_rng(rng);
        tally.round(round, seed);
        let mpmc = r.percent(60);
        let shape = Shape {
            mpmc,
            producers: if mpmc {
                r.range(1, MAX_P as u64) as usize
            } else {
                1
            },
            consumers: if mpmc { r.range(1, 3) as usize } else { 1 },
            per_producer: r.range(100, if ctx.soak { 3000 } else { 600 }),
            capacity: 1 << r.below(6),
            slot: r.range(16, 80) as usize,
            named: r.percent(50),
        };
        let (a, l, m) = one_round(ctx, &mut r, round, &shape, tally);
        abandoned += a;
        late += l;
        messages += m;
        ctx.end_round(tally);
    }
    tally.note("messages delivered", messages);
    tally.note("abandoned slots skipped", abandoned);
    tally.note("victims that finished before the kill", late);
}

/// One round; returns (abandoned slots, whether the victim had finished,
/// messages delivered).
fn one_round(
    ctx: &Ctx,
    r: &mut Rng,
    round: u64,
    shape: &Shape,
    tally: &mut Tally,
) -> (u64, u64, u64) {
    tally.context(&format!(
        "{} producers {} consumers {} messages each {} capacity {} slot {} {}",
        if shape.mpmc { "MPMC" } else { "SPSC" },
        shape.producers,
        shape.consumers,
        shape.per_producer,
        shape.capacity,
        shape.slot,
        if shape.named { "named" } else { "anonymous" }
    ));
    let name = ctx.name("queue", round);
    let q = AnyQueue::create(shape, &name);
    let open_name = shape.named.then_some(name.as_str());
    let wpp = shape.per_producer.div_ceil(64) as usize;
    let b = Board::new(BITS + MAX_P * wpp).unwrap_or_else(|e| panic!("board: {e}"));
    let n = shape.per_producer;

    let spawn_consumer = |idx: usize, rng: Rng, reopen: bool| {
        let plan = ConsumerPlan {
            idx,
            producers: shape.producers,
            n,
            words_per_producer: wpp,
        };
        let (q, b) = (&q, &b);
        ctx.fork(move || {
            let reopened = if reopen { q.reopen(open_name) } else { None };
            let q = reopened.as_ref().unwrap_or(q);
            match q.consumer() {
                Ok(mut rx) => {
                    b.set(ATTACHED + MAX_P + idx, 1);
                    consume(&mut rx, b, &plan, rng)
                }
                Err(e) => {
                    eprintln!("queue: consumer {idx} attach: {e}");
                    b.fetch_or(C_ERR + idx, E_ATTACH);
                    1
                }
            }
        })
    };
    let mut consumers: Vec<i32> = (0..shape.consumers)
        .map(|c| spawn_consumer(c, r.fork(), r.percent(50)))
        .collect();
    // Sometimes the parent closes the queue while producers still send:
    // what was committed before is delivered, what fails with `Closed` is
    // not.
    let early_close = r.percent(25);
    if early_close {
        tally.context("closed while producers send");
    }
    let producers: Vec<i32> = (0..shape.producers)
        .map(|p| {
            let plan = ProducerPlan {
                id: p,
                n,
                slot: shape.slot,
                replacement_possible: true,
                close_possible: early_close,
            };
            let (rng, reopen) = (r.fork(), r.percent(50));
            let (q, b) = (&q, &b);
            ctx.fork(move || {
                let reopened = if reopen { q.reopen(open_name) } else { None };
                let q = reopened.as_ref().unwrap_or(q);
                match q.producer() {
                    Ok(mut tx) => {
                        b.set(ATTACHED + p, 1);
                        produce(&mut tx, b, &plan, rng)
                    }
                    Err(e) => {
                        eprintln!("queue: producer {p} attach: {e}");
                        b.fetch_or(P_ERR + p, E_ATTACH);
                        1
                    }
                }
            })
        })
        .collect();

    // Everyone attached first: a consumer that saw every producer attached
    // so far die would rightly end with `Disconnected`, before a producer
    // still starting up attaches.
    for (i, word) in (0..shape.producers)
        .map(|p| ATTACHED + p)
        .chain((0..shape.consumers).map(|c| ATTACHED + MAX_P + c))
        .enumerate()
    {
        let up = b.wait_until(word, |v| v == 1, END);
        tally.check(up, || format!("child {i} attached within {END:?}"));
    }
    b.set(GO, 1);
    // The victim, and when: once it has done a random part of its work,
    // plus a random spin (it is then often inside an operation).
    let victim = if r.percent(50) {
        Victim::Producer(r.below(shape.producers as u64) as usize)
    } else {
        Victim::Consumer(r.below(shape.consumers as u64) as usize)
    };
    // After a random part of the round's traffic (sends and receives: a
    // consumer's own count may never grow if the others take everything).
    let threshold = r.below(n * shape.producers as u64);
    let extra = Duration::from_micros(r.below(300));
    let (pid, attached) = match victim {
        Victim::Producer(p) => (producers[p], ATTACHED + p),
        Victim::Consumer(c) => (consumers[c], ATTACHED + MAX_P + c),
    };
    // Killed before it attached, a producer never existed for the queue
    // (consumers wait for one, as Python's do): victims are attached.
    let up = b.wait_until(attached, |v| v == 1, END);
    tally.check(up, || format!("victim {victim:?} attached within {END:?}"));
    b.spin_until(PROGRESS, |v| v >= threshold, END);

    let phase_word = match victim {
        Victim::Producer(p) => P_PHASE + p,
        Victim::Consumer(c) => C_PHASE + c,
    };
    // Half the time, aim at a phase (a loan, a held slot, a batch): spin
    // until the victim publishes it, then kill at once.
    let target = match victim {
        Victim::Producer(_) => [LOANED, BATCH_SEND, SENDING][r.below(3) as usize],
        Victim::Consumer(_) => [HOLDING, BATCH_RECV, RECEIVING][r.below(3) as usize],
    };
    if r.percent(50) {
        let until = Instant::now() + Duration::from_millis(50);
        while b.get(phase_word) != target && Instant::now() < until {
            std::hint::spin_loop();
        }
    } else {
        spin_for(extra);
    }
    let phase = b.get(phase_word);
    sigkill(pid);
    if early_close {
        // Closed mid-stream, as the victim dies.
        q.close();
    }
    tally.context(&format!(
        "victim {victim:?} killed {} after {threshold} sends and receives",
        phase_name(matches!(victim, Victim::Producer(_)), phase)
    ));
    let code = wait_exit(pid, END).unwrap_or_else(|h| tally.fail(&h.to_string()));
    let mut late = 0;
    if code == KILLED {
        tally.kill(phase_name(matches!(victim, Victim::Producer(_)), phase));
    } else {
        late = 1;
        tally.check(code == 0, || {
            format!("victim {victim:?} failed on its own: exit {code}")
        });
    }

    // A dead consumer is replaced when it was the only one (always in
    // SPSC), sometimes otherwise.
    let mut consumer_slots = shape.consumers;
    if let Victim::Consumer(_) = victim
        && (shape.consumers == 1 || r.percent(50))
    {
        consumers.push(spawn_consumer(consumer_slots, r.fork(), r.percent(50)));
        tally.context(&format!("replacement consumer {consumer_slots}"));
        consumer_slots += 1;
    }

    for (p, &pid) in producers.iter().enumerate() {
        if victim == Victim::Producer(p) {
            continue;
        }
        let code = wait_exit(pid, END).unwrap_or_else(|h| {
            tally.fail(&format!("producer {p}: {h}; the queue: {:?}", q.stats()))
        });
        tally.check(code == 0, || {
            format!(
                "producer {p} exit {code}: {}",
                describe_errors(b.get(P_ERR + p))
            )
        });
    }
    let close = early_close || r.percent(50);
    if close && !early_close {
        q.close();
    }
    for (c, &pid) in consumers.iter().enumerate() {
        if victim == Victim::Consumer(c) {
            continue;
        }
        let code = wait_exit(pid, END).unwrap_or_else(|h| {
            tally.fail(&format!("consumer {c}: {h}; the queue: {:?}", q.stats()))
        });
        tally.check(code == 0, || {
            format!(
                "consumer {c} exit {code}: {}",
                describe_errors(b.get(C_ERR + c))
            )
        });
        let end = b.get(C_END + c);
        tally.check(end == END_DISCONNECTED || end == END_CLOSED, || {
            format!("consumer {c} ended with {end} (1 Disconnected, 2 Closed)")
        });
        if !close {
            tally.check(end == END_DISCONNECTED, || {
                format!("consumer {c}: not closed, yet it ended with Closed")
            });
        }
    }

    // Nobody stalled, nobody saw a torn, duplicate or disordered message.
    tally.check(b.get(STALLS) == 0, || {
        format!(
            "{} waits of {STALL:?} with no progress anywhere",
            b.get(STALLS)
        )
    });
    for p in 0..shape.producers {
        let e = b.get(P_ERR + p);
        tally.check(e == 0, || format!("producer {p}: {}", describe_errors(e)));
    }
    for c in 0..consumer_slots {
        let e = b.get(C_ERR + c);
        tally.check(e == 0, || format!("consumer {c}: {}", describe_errors(e)));
    }

    // Committed messages: each delivered once; a dead producer delivered
    // at most its in-flight count beyond what it recorded; a dead consumer
    // lost at most what it had in hand.
    let mut allowance = 0;
    if let Victim::Consumer(c) = victim {
        allowance = b.get(C_INFLIGHT + c);
    }
    let mut missing = Vec::new();
    let mut delivered = 0u64;
    for p in 0..shape.producers {
        let committed = b.get(P_COMMITTED + p);
        let inflight = b.get(P_INFLIGHT + p);
        let closed = b.get(P_CLOSED + p) == 1;
        if closed {
            tally.note("producers stopped by Closed mid-stream", 1);
        }
        tally.check(!closed || early_close, || {
            format!("producer {p} saw Closed")
        });
        if victim != Victim::Producer(p) && !closed {
            tally.check(committed == n, || {
                format!("surviving producer {p} committed {committed} of {n}")
            });
        }
        let limit = committed
            + if victim == Victim::Producer(p) {
                inflight
            } else {
                0
            };
        for seq in 0..n {
            let w = BITS + p * wpp + (seq / 64) as usize;
            let got = b.get(w) & (1 << (seq % 64)) != 0;
            if got {
                delivered += 1;
            }
            if got && seq >= limit {
                tally.fail(&format!(
                    "producer {p}: seq {seq} delivered but never committed \
                     (committed {committed}, in flight {inflight})"
                ));
            }
            if !got && seq < committed {
                missing.push((p, seq));
            }
        }
    }
    tally.check(missing.len() as u64 <= allowance, || {
        format!(
            "{} committed messages lost ({:?}...), victim {victim:?} had {allowance} in hand",
            missing.len(),
            &missing[..missing.len().min(8)]
        )
    });
    let counted: u64 = (0..consumer_slots).map(|c| b.get(C_COUNT + c)).sum();
    let dups: u64 = (0..consumer_slots).map(|c| b.get(C_DUPS + c)).sum();
    // A consumer killed between marking a message and counting it leaves
    // it uncounted: at most what it had in hand.
    let uncounted = (delivered + dups).checked_sub(counted);
    tally.check(uncounted.is_some_and(|u| u <= allowance), || {
        format!(
            "consumers counted {counted} messages, {delivered} distinct, {dups} twice \
             (victim {victim:?} had {allowance} in hand)"
        )
    });
    tally.check(dups == 0, || format!("{dups} messages delivered twice"));
    let mut stats = q.stats();
    if stats.closed && stats.depth > 0 {
        // A producer that reserved a slot after the last consumer was told
        // `Closed`, then saw the close, published that slot as cancelled
        // (its send returned `Closed`): a slot no consumer is left to skip.
        // A fresh consumer skips it; a real message found here was lost.
        let mut left = 0u64;
        if let Ok(mut rx) = q.consumer() {
            while rx.try_recv().is_ok() {
                left += 1;
            }
        }
        tally.check(left == 0, || {
            format!("{left} messages left in the closed queue: {stats:?}")
        });
        stats = q.stats();
    }
    let drained = stats.depth == 0 && stats.sent == stats.received;
    tally.check(drained, || {
        format!("queue not drained at the end: {stats:?}")
    });
    let victim_inflight = match victim {
        Victim::Producer(p) => b.get(P_INFLIGHT + p),
        Victim::Consumer(c) => b.get(C_INFLIGHT + c),
    };
    tally.check(stats.abandoned <= victim_inflight.max(1), || {
        format!(
            "{} slots abandoned, the victim held at most {victim_inflight}",
            stats.abandoned
        )
    });
    (stats.abandoned, late, delivered)
}
