//! Loom models of the rings: every interleaving (up to the preemption
//! bound) of small producers and consumers, with wrap-around and close.
//!
//! Threads make a bounded number of attempts instead of spinning (a spin
//! loop multiplies the interleavings without adding any); the main thread
//! drains what is left once they are done, and every message must have
//! been taken exactly once, in order per producer.
//!
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p mproc-queue --release --lib loom`

use loom::sync::Arc;
use loom::thread;

use super::memory::{LoomRing, RingMemory};
use super::mpmc::{self, MpmcReader, MpmcWriter};
use super::spsc::{SpscReader, SpscWriter};
use super::{ClaimWords, RingError, claim_or_closed, close};
use crate::atomics::{AtomicU32, AtomicU64, Ordering};

struct Shared {
    ring: LoomRing,
    closed: AtomicU32,
}

/// A ring of `cap` slots whose positions start at `start` (so that the
/// model wraps around).
fn shared(cap: usize, mpmc_layout: bool, start: u64) -> Arc<Shared> {
    let s = Shared {
        ring: LoomRing::new(cap, 1),
        closed: AtomicU32::new(0),
    };
    if mpmc_layout {
        mpmc::init(&s.ring);
        let (w, r) = (MpmcWriter::new(&s.ring), MpmcReader::new(&s.ring));
        for _ in 0..start {
            let span = w.try_reserve(1, None).unwrap();
            w.publish(span);
            r.release(r.try_claim(1, None).unwrap());
        }
    } else {
        let (mut w, mut r) = (SpscWriter::new(&s.ring), SpscReader::new(&s.ring));
        for _ in 0..start {
            w.try_reserve(1).unwrap();
            w.publish(1);
            r.try_claim(1).unwrap();
            r.release(1);
        }
    }
    Arc::new(s)
}

fn write_one<M: RingMemory>(mem: &M, pos: u64, byte: u8) {
    // SAFETY: the caller reserved `pos`; loom checks exclusivity.
    unsafe { mem.write(pos, &[byte]) };
    mem.len(pos).store(1, Ordering::Relaxed);
}

fn read_one<M: RingMemory>(mem: &M, pos: u64) -> u8 {
    assert_eq!(mem.len(pos).load(Ordering::Relaxed), 1);
    // SAFETY: the caller claimed `pos`; loom checks exclusivity.
    unsafe { mem.read(pos, 1, |b| b[0]) }
}

/// Pushes `bytes` in order with up to `tries` attempts each; returns
/// those pushed.
fn mpmc_push(s: &Shared, bytes: &[u8], tries: usize) -> Vec<u8> {
    let w = MpmcWriter::new(&s.ring);
    let mut pushed = Vec::new();
    for &b in bytes {
        let ok = (0..tries).any(|_| match w.try_reserve(1, None) {
            Ok(span) => {
                write_one(&s.ring, span.pos, b);
                w.publish(span);
                true
            }
            Err(RingError::Full { .. }) => false,
            Err(e) => panic!("{e:?}"),
        });
        if !ok {
            break;
        }
        pushed.push(b);
    }
    pushed
}

/// Up to `tries` claims of up to `batch` messages each.
fn mpmc_pop(s: &Shared, tries: usize, batch: u64) -> Vec<u8> {
    let r = MpmcReader::new(&s.ring);
    let mut got = Vec::new();
    for _ in 0..tries {
        match r.try_claim(batch, None) {
            Ok(span) => {
                for pos in span.positions() {
                    got.push(read_one(&s.ring, pos));
                }
                r.release(span);
            }
            Err(RingError::Empty | RingError::Stalled { .. }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    got
}

/// Each producer's bytes appear in `got` in the order pushed.
fn assert_exactly_once_in_order(pushed: &[Vec<u8>], got: &[u8]) {
    let mut all: Vec<u8> = pushed.concat();
    let mut seen = got.to_vec();
    all.sort_unstable();
    seen.sort_unstable();
    assert_eq!(seen, all, "every message exactly once");
    for p in pushed {
        let order: Vec<u8> = got.iter().copied().filter(|b| p.contains(b)).collect();
        assert_eq!(&order, p, "per-producer order");
    }
}

#[test]
fn loom_spsc_wraps_and_closes() {
    loom::model(|| {
        let s = shared(2, false, 1);
        let p = s.clone();
        let producer = thread::spawn(move || {
            let mut w = SpscWriter::new(&p.ring);
            let mut pushed = 0u8;
            for i in 0..3u8 {
                let Ok(span) = w.try_reserve(2) else { break };
                write_one(&p.ring, span.pos, i);
                w.publish(1);
                pushed += 1;
            }
            close(&p.closed);
            pushed
        });
        let c = s.clone();
        let consumer = thread::spawn(move || {
            let mut r = SpscReader::new(&c.ring);
            let mut got = Vec::new();
            for _ in 0..3 {
                match claim_or_closed(&c.closed, || r.try_claim(2)) {
                    Ok(span) => {
                        for pos in span.positions() {
                            got.push(read_one(&c.ring, pos));
                        }
                        r.release(span.n);
                    }
                    Err(RingError::Empty) => {}
                    Err(RingError::Closed) => return (got, true),
                    Err(e) => panic!("{e:?}"),
                }
            }
            (got, false)
        });
        let pushed = producer.join().unwrap();
        let (mut got, saw_closed) = consumer.join().unwrap();
        let mut r = SpscReader::new(&s.ring);
        let mut rest = Vec::new();
        while let Ok(span) = claim_or_closed(&s.closed, || r.try_claim(2)) {
            for pos in span.positions() {
                rest.push(read_one(&s.ring, pos));
            }
            r.release(span.n);
        }
        if saw_closed {
            assert!(
                rest.is_empty(),
                "Closed reported before the queue was drained"
            );
        }
        got.extend(rest);
        let want: Vec<u8> = (0..pushed).collect();
        assert_eq!(got, want, "in order, none lost, none twice");
    });
}

#[test]
fn loom_mpmc_two_producers_two_consumers() {
    loom::model(|| {
        let s = shared(2, true, 1);
        let producers: Vec<_> = [[10u8], [20]]
            .into_iter()
            .map(|bytes| {
                let s = s.clone();
                thread::spawn(move || mpmc_push(&s, &bytes, 1))
            })
            .collect();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let s = s.clone();
                thread::spawn(move || mpmc_pop(&s, 1, 1))
            })
            .collect();
        let pushed: Vec<Vec<u8>> = producers.into_iter().map(|p| p.join().unwrap()).collect();
        let mut got: Vec<u8> = Vec::new();
        for c in consumers {
            got.extend(c.join().unwrap());
        }
        got.extend(mpmc_pop(&s, 4, 1));
        assert_eq!(mpmc_pop(&s, 1, 1), Vec::<u8>::new());
        // Per-producer order holds within one consumer's sequence; across
        // consumers only "exactly once" is defined.
        let mut all = pushed.concat();
        all.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, all, "every message exactly once");
    });
}

#[test]
fn loom_mpmc_batches_wrap_in_order() {
    loom::model(|| {
        let s = shared(2, true, 1);
        let p = s.clone();
        let producer = thread::spawn(move || {
            let w = MpmcWriter::new(&p.ring);
            let mut pushed = Vec::new();
            for round in 0..2u8 {
                if let Ok(span) = w.try_reserve(2, None) {
                    for (k, pos) in span.positions().enumerate() {
                        let b = round * 10 + k as u8;
                        write_one(&p.ring, pos, b);
                        pushed.push(b);
                    }
                    w.publish(span);
                }
            }
            pushed
        });
        // The consumer runs in its own thread too: loom explores the
        // interleavings of spawned threads.
        let c = s.clone();
        let consumer = thread::spawn(move || mpmc_pop(&c, 2, 2));
        let pushed = producer.join().unwrap();
        let mut got = consumer.join().unwrap();
        got.extend(mpmc_pop(&s, 3, 2));
        assert_exactly_once_in_order(&[pushed], &got);
    });
}

#[test]
fn loom_mpmc_close_is_seen_after_the_last_message() {
    loom::model(|| {
        let s = shared(2, true, 1);
        let p = s.clone();
        let producer = thread::spawn(move || {
            let pushed = mpmc_push(&p, &[1, 2], 1);
            close(&p.closed);
            pushed
        });
        let c = s.clone();
        let consumer = thread::spawn(move || {
            let r = MpmcReader::new(&c.ring);
            let mut got = Vec::new();
            for _ in 0..3 {
                match claim_or_closed(&c.closed, || r.try_claim(1, None)) {
                    Ok(span) => {
                        got.push(read_one(&c.ring, span.pos));
                        r.release(span);
                    }
                    Err(RingError::Empty | RingError::Stalled { .. }) => {}
                    Err(RingError::Closed) => return (got, true),
                    Err(e) => panic!("{e:?}"),
                }
            }
            (got, false)
        });
        let pushed = producer.join().unwrap();
        let (mut got, saw_closed) = consumer.join().unwrap();
        let rest = mpmc_pop(&s, 3, 1);
        if saw_closed {
            assert!(
                rest.is_empty(),
                "Closed reported before the queue was drained"
            );
        }
        got.extend(rest);
        assert_exactly_once_in_order(&[pushed], &got);
    });
}

/// Two consumers race for one message, each announcing its claim: the one
/// that loses the head CAS must not be left with a claim covering the
/// winner's slot (a live loser would then look like a holder, and the slot
/// of a winner that dies holding it would never be freed).
#[test]
fn loom_mpmc_lost_claim_does_not_cover_the_winners_slot() {
    loom::model(|| {
        let s = shared(1, true, 1);
        assert_eq!(mpmc_push(&s, &[7], 1), vec![7]);
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let s = s.clone();
                thread::spawn(move || {
                    let (start, end) = (AtomicU64::new(0), AtomicU64::new(0));
                    let claim = ClaimWords {
                        start: &start,
                        end: &end,
                    };
                    let r = MpmcReader::new(&s.ring);
                    let got = r.try_claim(1, Some(claim)).ok().map(|span| {
                        assert_eq!(read_one(&s.ring, span.pos), 7);
                        span.pos
                    });
                    // Held, not released: what a stall detector would see
                    // if this consumer died now.
                    (got, claim.covers(1))
                })
            })
            .collect();
        let results: Vec<(Option<u64>, bool)> =
            consumers.into_iter().map(|c| c.join().unwrap()).collect();
        let winners = results.iter().filter(|(got, _)| got.is_some()).count();
        assert_eq!(winners, 1, "exactly one consumer takes the message");
        for (got, covers) in results {
            assert_eq!(
                covers,
                got == Some(1),
                "only the holder's claim covers the slot"
            );
        }
    });
}

/// The outcome of a close-handshake model: a send that returned `Ok`
/// (`sent`) is delivered if the consumer reported `Closed`, and a refused
/// send is never delivered.
fn assert_handshake(sent: bool, saw_closed: bool, got: &[u8]) {
    if saw_closed && sent {
        assert_eq!(got, [9], "a send that returned Ok was lost by Closed");
    }
    if !sent {
        assert!(got.is_empty(), "a send refused by Closed was delivered");
    }
}

/// The SPSC close handshake with a third-party closer: the producer
/// records its reservation, fences (SeqCst) and checks the flag again before it
/// writes; a consumer that finds the ring empty and closed reports
/// `Closed` only if no reservation is ahead of its head. A send that the
/// producer counts as done is never left behind by a `Closed`.
#[test]
fn loom_spsc_close_handshake_loses_no_send() {
    spsc_close_handshake(false);
}

/// The SPSC close handshake when the producer ends right after its send:
/// its record then stands for a live producer only until the consumer sees
/// it gone. A send that returned `Ok` is delivered even when the producer
/// is found gone between the consumer's look at the ring and its look at
/// the producer (the last look of `claim_or_closed_unless_reserved`).
#[test]
fn loom_spsc_close_handshake_producer_ends_after_send() {
    spsc_close_handshake(true);
}

/// One producer sends once (unless it sees the close), a third party
/// closes, and the consumer receives until `Closed`. The producer's record
/// stands for a live one while its claim is ahead of the head
/// (`Records::reserved_past`) and, if `producer_ends`, until it has ended
/// (`ended`, standing for the `/proc` look; a process seen gone has made
/// its stores visible, modelled as Release/Acquire).
fn spsc_close_handshake(producer_ends: bool) {
    loom::model(move || {
        let s = shared(2, false, 1);
        let claim_end = Arc::new(AtomicU64::new(1));
        let ended = Arc::new(AtomicU32::new(0));
        let p = s.clone();
        let (pe, pended) = (claim_end.clone(), ended.clone());
        let producer = thread::spawn(move || {
            let mut w = SpscWriter::new(&p.ring);
            let claim_start = AtomicU64::new(1);
            let claim = ClaimWords {
                start: &claim_start,
                end: &pe,
            };
            let sent = (|| {
                if super::is_closed(&p.closed) {
                    return false;
                }
                let span = w.try_reserve(1).unwrap();
                claim.announce(span);
                if super::recheck_closed(&p.closed) {
                    claim.withdraw(span);
                    return false;
                }
                write_one(&p.ring, span.pos, 9);
                w.publish(1);
                true
            })();
            if producer_ends {
                pended.store(1, Ordering::Release);
            }
            sent
        });
        let c = s.clone();
        let closer = thread::spawn(move || close(&c.closed));
        let mut r = SpscReader::new(&s.ring);
        let mut got = Vec::new();
        let mut saw_closed = false;
        for _ in 0..2 {
            let head = r.head();
            let reserved = || {
                claim_end.load(Ordering::Relaxed) != head
                    && !(producer_ends && ended.load(Ordering::Acquire) != 0)
            };
            match super::claim_or_closed_unless_reserved(&s.closed, || r.try_claim(1), reserved) {
                Ok(span) => {
                    got.push(read_one(&s.ring, span.pos));
                    r.release(span.n);
                }
                Err(RingError::Closed) => {
                    saw_closed = true;
                    break;
                }
                Err(RingError::Empty) => {}
                Err(e) => panic!("{e:?}"),
            }
        }
        let sent = producer.join().unwrap();
        closer.join().unwrap();
        assert_handshake(sent, saw_closed, &got);
    });
}

/// The MPMC close handshake with a third-party closer: the producer
/// reserves (moving the tail), fences and checks the flag again before it
/// writes, publishing the slot as cancelled if the queue was closed; a
/// consumer that finds the ring empty and closed fences and looks at the
/// tail again, and waits for a reservation ahead of its head. A send that
/// the producer counts as done is never left behind by a `Closed`.
#[test]
fn loom_mpmc_close_handshake_loses_no_send() {
    loom::model(|| {
        let s = shared(2, true, 1);
        let p = s.clone();
        let producer = thread::spawn(move || {
            let w = MpmcWriter::new(&p.ring);
            if super::is_closed(&p.closed) {
                return false;
            }
            let span = w.try_reserve(1, None).unwrap();
            if super::recheck_closed_after_cas(&p.closed) {
                p.ring
                    .len(span.pos)
                    .store(super::memory::CANCELLED_LEN, Ordering::Relaxed);
                w.publish(span);
                return false;
            }
            write_one(&p.ring, span.pos, 9);
            w.publish(span);
            true
        });
        let c = s.clone();
        let closer = thread::spawn(move || close(&c.closed));
        let r = MpmcReader::new(&s.ring);
        let mut got = Vec::new();
        let mut saw_closed = false;
        for _ in 0..2 {
            match claim_or_closed(&s.closed, || r.try_claim(1, None)) {
                Ok(span) => {
                    if s.ring.len(span.pos).load(Ordering::Relaxed) != super::memory::CANCELLED_LEN
                    {
                        got.push(read_one(&s.ring, span.pos));
                    }
                    r.release(span);
                }
                Err(RingError::Closed) => {
                    saw_closed = true;
                    break;
                }
                Err(RingError::Empty | RingError::Stalled { .. }) => {}
                Err(e) => panic!("{e:?}"),
            }
        }
        let sent = producer.join().unwrap();
        closer.join().unwrap();
        assert_handshake(sent, saw_closed, &got);
    });
}
