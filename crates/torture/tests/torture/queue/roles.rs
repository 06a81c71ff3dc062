//! The children: producers and consumers, with bounded waits.

use std::time::{Duration, Instant};

use mproc_queue::{Consumer, Producer, QueueError};
use mproc_torture::children::spin_for;
use mproc_torture::{Board, Rng};

use super::layout::*;
use super::message::{decode, encode_into};
use crate::common::{END, STALL};

/// Watches global progress while one party waits: a wait of [`STALL`]
/// during which nobody sent or received anything is a stall.
pub(super) struct StallClock<'a> {
    pub(super) board: &'a Board,
    pub(super) seen: u64,
    pub(super) since: Instant,
    /// Stall bounds in a row with no progress anywhere.
    pub(super) stalls: u32,
}

/// Stall bounds in a row after which a child gives up (the round then
/// fails in seconds, not at the end-of-child bound).
const GIVE_UP: u32 = 3;

impl<'a> StallClock<'a> {
    fn new(board: &'a Board) -> StallClock<'a> {
        StallClock {
            board,
            seen: board.get(PROGRESS),
            since: Instant::now(),
            stalls: 0,
        }
    }

    /// Whether the wait has gone on for [`STALL`] with no progress
    /// anywhere (counted once on the board).
    fn stalled(&mut self) -> bool {
        let now = self.board.get(PROGRESS);
        if now != self.seen {
            self.seen = now;
            self.since = Instant::now();
            self.stalls = 0;
            return false;
        }
        if self.since.elapsed() >= STALL {
            self.board.add(STALLS, 1);
            self.since = Instant::now();
            self.stalls += 1;
            return true;
        }
        false
    }
}

/// A short pause between non-blocking attempts.
pub(super) fn backoff(rng: &mut Rng) {
    if rng.percent(50) {
        std::thread::yield_now();
    } else {
        std::thread::sleep(Duration::from_micros(20));
    }
}

pub(super) struct ProducerPlan {
    pub(super) id: usize,
    pub(super) n: u64,
    pub(super) slot: usize,
    /// Whether a consumer may be (re)attached after all consumers died,
    /// so that `Disconnected` is worth waiting out.
    pub(super) replacement_possible: bool,
    /// Whether the parent may close the queue while this producer sends.
    pub(super) close_possible: bool,
}

/// A producer child: sends `n` messages by `send`, `loan`/`commit` and
/// `try_send_batch`, recording what it committed.
pub(super) fn produce(tx: &mut Producer, b: &Board, plan: &ProducerPlan, mut rng: Rng) -> i32 {
    let id = plan.id;
    if !b.wait_until(GO, |v| v == 1, END) {
        return 2;
    }
    let mut seq = 0u64;
    let mut disconnected_since: Option<Instant> = None;
    let mut batch: Vec<Vec<u8>> = Vec::new();
    let mut clock = StallClock::new(b);
    while seq < plan.n {
        let len = rng.range(16, plan.slot as u64) as usize;
        let op = rng.below(3);
        let result: Result<u64, QueueError> = match op {
            0 => {
                b.set(P_INFLIGHT + id, 1);
                b.set(P_PHASE + id, SENDING);
                let mut msg = vec![0u8; len];
                encode_into(&mut msg, id as u64, seq, len);
                tx.send_timeout(&msg, STALL / 4).map(|()| 1)
            }
            1 => {
                b.set(P_INFLIGHT + id, 1);
                b.set(P_PHASE + id, LOANED);
                match tx.try_loan() {
                    Ok(mut slot) => {
                        encode_into(&mut slot, id as u64, seq, len);
                        // Hold the loan a little, so that kills land here.
                        spin_for(Duration::from_micros(rng.below(40)));
                        slot.commit(len).map(|()| 1)
                    }
                    Err(e) => Err(e),
                }
            }
            _ => {
                let k = rng.range(1, 4).min(plan.n - seq) as usize;
                batch.clear();
                for j in 0..k {
                    let mut msg = vec![0u8; len];
                    encode_into(&mut msg, id as u64, seq + j as u64, len);
                    batch.push(msg);
                }
                b.set(P_INFLIGHT + id, k as u64);
                b.set(P_PHASE + id, BATCH_SEND);
                tx.try_send_batch(&batch).map(|n| n as u64)
            }
        };
        match result {
            Ok(k) => {
                seq += k;
                // SYNC: committed is written after the queue published.
                b.set(P_COMMITTED + id, seq);
                b.set(P_PHASE + id, IDLE);
                b.set(P_INFLIGHT + id, 0);
                b.add(PROGRESS, k);
                disconnected_since = None;
                clock = StallClock::new(b);
                if rng.percent(5) {
                    std::thread::sleep(Duration::from_micros(rng.below(300)));
                }
            }
            Err(QueueError::Full { .. } | QueueError::Timeout { .. }) => {
                b.set(P_PHASE + id, IDLE);
                b.set(P_INFLIGHT + id, 0);
                if clock.stalled() {
                    eprintln!("queue: producer {id} stalled at seq {seq} for {STALL:?}");
                    if clock.stalls >= GIVE_UP {
                        b.fetch_or(P_ERR + id, E_STUCK);
                        return 1;
                    }
                }
                backoff(&mut rng);
            }
            Err(QueueError::Closed) if plan.close_possible => {
                // Nothing of this attempt was published: strict (no in
                // flight left for it).
                b.set(P_PHASE + id, IDLE);
                b.set(P_INFLIGHT + id, 0);
                b.set(P_CLOSED + id, 1);
                return 0;
            }
            Err(QueueError::Disconnected) if plan.replacement_possible => {
                b.set(P_PHASE + id, IDLE);
                b.set(P_INFLIGHT + id, 0);
                let since = *disconnected_since.get_or_insert_with(Instant::now);
                if since.elapsed() > 3 * STALL {
                    b.fetch_or(P_ERR + id, E_GAVE_UP);
                    return 1;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => {
                eprintln!("queue: producer {id} at seq {seq}: {e}");
                b.fetch_or(P_ERR + id, E_UNEXPECTED);
                return 1;
            }
        }
    }
    0
}

pub(super) struct ConsumerPlan {
    pub(super) idx: usize,
    pub(super) producers: usize,
    pub(super) n: u64,
    pub(super) words_per_producer: usize,
}

/// Takes one message: checks it and marks it on the board.
pub(super) fn take(b: &Board, plan: &ConsumerPlan, last: &mut [Option<u64>], m: &[u8]) {
    let c = plan.idx;
    let Some((id, seq)) = decode(m) else {
        b.fetch_or(C_ERR + c, E_TORN);
        return;
    };
    if id as usize >= plan.producers || seq >= plan.n {
        b.fetch_or(C_ERR + c, E_RANGE);
        return;
    }
    let p = id as usize;
    if last[p].is_some_and(|l| l >= seq) {
        eprintln!(
            "queue: consumer {c} got {id}/{seq} after {id}/{:?}",
            last[p]
        );
        b.fetch_or(C_ERR + c, E_ORDER);
    }
    last[p] = Some(seq);
    let w = BITS + p * plan.words_per_producer + (seq / 64) as usize;
    if b.fetch_or(w, 1 << (seq % 64)) & (1 << (seq % 64)) != 0 {
        // Judged by the parent: a failure.
        b.add(C_DUPS + c, 1);
    }
    b.add(C_COUNT + c, 1);
    b.add(PROGRESS, 1);
}

/// A consumer child: receives by `recv_into`, `recv_ref` (holding the slot
/// a while) and `try_recv_batch` until `Disconnected` or `Closed`.
pub(super) fn consume(rx: &mut Consumer, b: &Board, plan: &ConsumerPlan, mut rng: Rng) -> i32 {
    let c = plan.idx;
    let mut last = vec![None; plan.producers];
    let mut clock = StallClock::new(b);
    loop {
        let op = rng.below(3);
        let r: Result<usize, QueueError> = match op {
            0 => {
                b.set(C_INFLIGHT + c, 1);
                b.set(C_PHASE + c, RECEIVING);
                rx.recv_timeout(STALL / 4).map(|m| {
                    take(b, plan, &mut last, &m);
                    1
                })
            }
            1 => {
                b.set(C_INFLIGHT + c, 1);
                b.set(C_PHASE + c, RECEIVING);
                match rx.recv_ref_timeout(STALL / 4) {
                    Ok(slot) => {
                        b.set(C_PHASE + c, HOLDING);
                        take(b, plan, &mut last, &slot);
                        spin_for(Duration::from_micros(rng.below(40)));
                        drop(slot);
                        Ok(1)
                    }
                    Err(e) => Err(e),
                }
            }
            _ => {
                let max = rng.range(1, 8) as usize;
                b.set(C_INFLIGHT + c, max as u64);
                b.set(C_PHASE + c, BATCH_RECV);
                let r = rx.try_recv_batch(max, |m| take(b, plan, &mut last, m));
                if matches!(r, Err(QueueError::Empty)) {
                    backoff(&mut rng);
                }
                r
            }
        };
        b.set(C_PHASE + c, IDLE);
        b.set(C_INFLIGHT + c, 0);
        match r {
            Ok(_) => clock = StallClock::new(b),
            Err(QueueError::Empty | QueueError::Timeout { .. }) => {
                if clock.stalled() {
                    eprintln!("queue: consumer {c} stalled for {STALL:?}");
                    if clock.stalls >= GIVE_UP {
                        b.fetch_or(C_ERR + c, E_STUCK);
                        return 1;
                    }
                }
            }
            Err(QueueError::Disconnected) => {
                b.set(C_END + c, END_DISCONNECTED);
                return 0;
            }
            Err(QueueError::Closed) => {
                b.set(C_END + c, END_CLOSED);
                return 0;
            }
            Err(e) => {
                eprintln!("queue: consumer {c}: {e}");
                b.fetch_or(C_ERR + c, E_UNEXPECTED);
                return 1;
            }
        }
    }
}
