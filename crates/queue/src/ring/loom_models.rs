//! Loom models of the rings: every interleaving (up to the preemption
//! bound) of small producers and consumers, with wrap-around and close.
//!
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p mproc-queue --release --lib loom`

use loom::sync::Arc;
use loom::thread;

use super::memory::{LoomRing, RingMemory};
use super::mpmc::{self, MpmcReader, MpmcWriter};
use super::spsc::{SpscReader, SpscWriter};
use super::{RingError, claim_or_closed, close};
use crate::atomics::{AtomicU32, AtomicU64, Ordering};

/// Runs a model with room for the yield loops of waiting threads.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.max_branches = 100_000;
    b.check(f);
}

struct Shared {
    ring: LoomRing,
    closed: AtomicU32,
}

fn shared(cap: usize, mpmc_layout: bool) -> Arc<Shared> {
    let s = Shared {
        ring: LoomRing::new(cap, 1),
        closed: AtomicU32::new(0),
    };
    if mpmc_layout {
        mpmc::init(&s.ring);
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

#[test]
fn loom_spsc_wraps_and_closes() {
    model(|| {
        let s = shared(2, false);
        let p = s.clone();
        let producer = thread::spawn(move || {
            let mut w = SpscWriter::new(&p.ring);
            for i in 0..3u8 {
                loop {
                    match w.try_reserve(1) {
                        Ok(span) => {
                            write_one(w.mem(), span.pos, i);
                            w.publish(1);
                            break;
                        }
                        Err(RingError::Full { .. }) => thread::yield_now(),
                        Err(e) => panic!("{e:?}"),
                    }
                }
            }
            close(&p.closed);
        });
        let mut r = SpscReader::new(&s.ring);
        let mut got = Vec::new();
        loop {
            match claim_or_closed(&s.closed, || r.try_claim(2)) {
                Ok(span) => {
                    for pos in span.positions() {
                        got.push(read_one(r.mem(), pos));
                    }
                    r.release(span.n);
                }
                Err(RingError::Empty) => thread::yield_now(),
                Err(RingError::Closed) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(got, [0, 1, 2]);
        producer.join().unwrap();
    });
}

/// Pushes `byte` into an MPMC ring, yielding while full.
fn mpmc_push(s: &Shared, byte: u8, batch: u64) {
    let w = MpmcWriter::new(&s.ring);
    loop {
        match w.try_reserve(batch, None) {
            Ok(span) => {
                for pos in span.positions() {
                    write_one(w.mem(), pos, byte);
                }
                w.publish(span);
                return;
            }
            Err(RingError::Full { .. }) => thread::yield_now(),
            Err(e) => panic!("{e:?}"),
        }
    }
}

#[test]
fn loom_mpmc_two_producers_one_consumer_wrap() {
    model(|| {
        let s = shared(2, true);
        let producers: Vec<_> = [1u8, 2]
            .into_iter()
            .map(|id| {
                let s = s.clone();
                thread::spawn(move || {
                    mpmc_push(&s, id * 10, 1);
                    if id == 1 {
                        mpmc_push(&s, id * 10 + 1, 1);
                    }
                })
            })
            .collect();
        let r = MpmcReader::new(&s.ring);
        let mut got = Vec::new();
        while got.len() < 3 {
            match r.try_claim(1, None) {
                Ok(span) => {
                    got.push(read_one(r.mem(), span.pos));
                    r.release(span);
                }
                Err(RingError::Empty | RingError::Stalled { .. }) => thread::yield_now(),
                Err(e) => panic!("{e:?}"),
            }
        }
        let first = got.iter().position(|&b| b == 10).unwrap();
        let second = got.iter().position(|&b| b == 11).unwrap();
        assert!(first < second, "per-producer order: {got:?}");
        assert!(got.contains(&20));
        for p in producers {
            p.join().unwrap();
        }
    });
}

#[test]
fn loom_mpmc_one_producer_two_consumers_close() {
    model(|| {
        let s = shared(2, true);
        let taken = Arc::new(AtomicU64::new(0));
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let (s, taken) = (s.clone(), taken.clone());
                thread::spawn(move || {
                    let r = MpmcReader::new(&s.ring);
                    let mut sum = 0u64;
                    loop {
                        match claim_or_closed(&s.closed, || r.try_claim(1, None)) {
                            Ok(span) => {
                                sum += u64::from(read_one(r.mem(), span.pos));
                                taken.fetch_add(1, Ordering::Relaxed);
                                r.release(span);
                            }
                            Err(RingError::Empty | RingError::Stalled { .. }) => {
                                thread::yield_now()
                            }
                            Err(RingError::Closed) => return sum,
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                })
            })
            .collect();
        for b in [1u8, 2, 4] {
            mpmc_push(&s, b, 1);
        }
        close(&s.closed);
        let total: u64 = consumers.into_iter().map(|c| c.join().unwrap()).sum();
        assert_eq!(total, 7, "each message exactly once");
        assert_eq!(taken.load(Ordering::Relaxed), 3);
    });
}

#[test]
fn loom_mpmc_two_producers_two_consumers_batches() {
    model(|| {
        let s = shared(2, true);
        // pushed: messages published; done: producers finished.
        let pushed = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicU64::new(0));
        let producers: Vec<_> = [1u8, 2]
            .into_iter()
            .map(|b| {
                let (s, pushed, done) = (s.clone(), pushed.clone(), done.clone());
                thread::spawn(move || {
                    let w = MpmcWriter::new(&s.ring);
                    loop {
                        match w.try_reserve(2, None) {
                            Ok(span) => {
                                for pos in span.positions() {
                                    write_one(w.mem(), pos, b);
                                }
                                pushed.fetch_add(span.n, Ordering::SeqCst);
                                w.publish(span);
                                done.fetch_add(1, Ordering::SeqCst);
                                return u64::from(b) * span.n;
                            }
                            Err(RingError::Full { .. }) => thread::yield_now(),
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                })
            })
            .collect();
        let taken = Arc::new(AtomicU64::new(0));
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let (s, taken, pushed, done) =
                    (s.clone(), taken.clone(), pushed.clone(), done.clone());
                thread::spawn(move || {
                    let r = MpmcReader::new(&s.ring);
                    let mut sum = 0u64;
                    loop {
                        if done.load(Ordering::SeqCst) == 2
                            && taken.load(Ordering::SeqCst) == pushed.load(Ordering::SeqCst)
                        {
                            return sum;
                        }
                        match r.try_claim(2, None) {
                            Ok(span) => {
                                for pos in span.positions() {
                                    sum += u64::from(read_one(r.mem(), pos));
                                }
                                taken.fetch_add(span.n, Ordering::SeqCst);
                                r.release(span);
                            }
                            Err(RingError::Empty | RingError::Stalled { .. }) => {
                                thread::yield_now()
                            }
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                })
            })
            .collect();
        let sent: u64 = producers.into_iter().map(|p| p.join().unwrap()).sum();
        let got: u64 = consumers.into_iter().map(|c| c.join().unwrap()).sum();
        assert_eq!(got, sent, "every message once");
    });
}
