//! The ring algorithms on heap memory: edge cases, threads, corruption, and
//! a model check against `VecDeque`. Runs under miri
//! (`cargo +nightly miri test -p mproc-queue --lib ring::`).

use std::collections::VecDeque;

use mproc_shm::HeapRegion;

use super::memory::{MPMC_SLOT_HEADER, RegionRing, RingMemory, SPSC_SLOT_HEADER, stride};
use super::mpmc::{self, MpmcReader, MpmcWriter};
use super::spsc::{self, SpscReader, SpscWriter};
use super::{ClaimWords, RingError, Span, claim_or_closed, claim_or_closed_unless_reserved, close};
use crate::atomics::{AtomicU32, AtomicU64, Ordering};

const COUNT: u64 = if cfg!(miri) { 200 } else { 100_000 };

/// Heap memory for one ring: head at 0, tail at 128, slots from 256.
struct Heap {
    heap: HeapRegion,
    capacity: u64,
    slot_size: usize,
    header: usize,
}

impl Heap {
    fn new(capacity: u64, slot_size: usize, header: usize) -> Heap {
        let len = 256 + capacity as usize * stride(header, slot_size);
        Heap {
            heap: HeapRegion::new(len),
            capacity,
            slot_size,
            header,
        }
    }
    fn ring(&self) -> RegionRing<'_> {
        let r = self.heap.region();
        let slots = r.sub(256, r.len() as u64 - 256).unwrap();
        RegionRing::new(
            r.get::<AtomicU64>(0).unwrap(),
            r.get::<AtomicU64>(128).unwrap(),
            slots,
            self.capacity,
            self.slot_size,
            self.header,
        )
        .unwrap()
    }
}

fn spsc_push<M: RingMemory>(w: &mut SpscWriter<M>, msg: &[u8]) -> Result<(), RingError> {
    let span = w.try_reserve(1)?;
    // SAFETY: the slot is reserved by this writer; msg fits the slot.
    unsafe { w.mem().write(span.pos, msg) };
    w.mem()
        .len(span.pos)
        .store(msg.len() as u32, Ordering::Relaxed);
    w.publish(1);
    Ok(())
}

fn spsc_pop<M: RingMemory>(r: &mut SpscReader<M>) -> Result<Vec<u8>, RingError> {
    let span = r.try_claim(1)?;
    let len = r.message_len(span.pos)?;
    // SAFETY: the slot is claimed by this reader; len <= slot_size.
    let v = unsafe { r.mem().read(span.pos, len, |b| b.to_vec()) };
    r.release(1);
    Ok(v)
}

fn mpmc_push<M: RingMemory>(w: &MpmcWriter<M>, msg: &[u8]) -> Result<(), RingError> {
    let span = w.try_reserve(1, None)?;
    // SAFETY: reserved by this writer.
    unsafe { w.mem().write(span.pos, msg) };
    w.mem()
        .len(span.pos)
        .store(msg.len() as u32, Ordering::Relaxed);
    w.publish(span);
    Ok(())
}

fn mpmc_pop<M: RingMemory>(r: &MpmcReader<M>) -> Result<Option<Vec<u8>>, RingError> {
    let span = r.try_claim(1, None)?;
    let out = if r.is_tombstone(span.pos) {
        None
    } else {
        let len = r.message_len(span.pos)?;
        // SAFETY: claimed by this reader.
        Some(unsafe { r.mem().read(span.pos, len, |b| b.to_vec()) })
    };
    r.release(span);
    Ok(out)
}

#[test]
fn spsc_capacity_one_and_wrap_around() {
    let heap = Heap::new(1, 8, SPSC_SLOT_HEADER);
    let mut w = SpscWriter::new(heap.ring());
    let mut r = SpscReader::new(heap.ring());
    for i in 0..10u8 {
        assert_eq!(r.try_claim(1), Err(RingError::Empty));
        spsc_push(&mut w, &[i; 3]).unwrap();
        assert_eq!(
            spsc_push(&mut w, &[9]),
            Err(RingError::Full { pos: i as u64 + 1 })
        );
        assert_eq!(spsc_pop(&mut r).unwrap(), vec![i; 3]);
    }
}

#[test]
fn spsc_zero_length_and_largest_message() {
    let heap = Heap::new(4, 13, SPSC_SLOT_HEADER);
    let mut w = SpscWriter::new(heap.ring());
    let mut r = SpscReader::new(heap.ring());
    spsc_push(&mut w, &[]).unwrap();
    spsc_push(&mut w, &[7; 13]).unwrap();
    assert_eq!(spsc_pop(&mut r).unwrap(), Vec::<u8>::new());
    assert_eq!(spsc_pop(&mut r).unwrap(), vec![7; 13]);
}

#[test]
fn spsc_batches_publish_and_release_with_one_store() {
    let heap = Heap::new(8, 8, SPSC_SLOT_HEADER);
    let mut w = SpscWriter::new(heap.ring());
    let mut r = SpscReader::new(heap.ring());
    let span = w.try_reserve(5).unwrap();
    assert_eq!(span, Span { pos: 0, n: 5 });
    for p in span.positions() {
        w.mem().len(p).store(p as u32, Ordering::Relaxed);
    }
    assert_eq!(
        r.try_claim(8),
        Err(RingError::Empty),
        "nothing visible before publish"
    );
    w.publish(5);
    assert_eq!(w.try_reserve(8).unwrap(), Span { pos: 5, n: 3 });
    let got = r.try_claim(8).unwrap();
    assert_eq!(got, Span { pos: 0, n: 5 });
    r.release(5);
    assert_eq!(w.try_reserve(100).unwrap(), Span { pos: 5, n: 8 });
}

#[test]
fn spsc_corrupt_indices_are_errors() {
    let heap = Heap::new(4, 8, SPSC_SLOT_HEADER);
    let mut w = SpscWriter::new(heap.ring());
    let mut r = SpscReader::new(heap.ring());
    heap.ring().tail().store(1000, Ordering::Relaxed);
    assert!(matches!(
        r.validate(),
        Err(RingError::Corrupt { field: "tail", .. })
    ));
    heap.ring().tail().store(1, Ordering::Relaxed);
    assert!(r.validate().is_ok());
    heap.ring().tail().store(u64::MAX - 1, Ordering::Relaxed);
    assert!(
        r.validate().is_ok(),
        "a head ahead of the tail by less than a lap"
    );
    heap.ring().tail().store(1, Ordering::Relaxed);
    // A stamp written by a peer that never wrote the slot: the length is
    // still checked.
    heap.ring().stamp(0).store(1, Ordering::Relaxed);
    heap.ring().len(0).store(9, Ordering::Relaxed);
    let span = r.try_claim(1).unwrap();
    assert!(matches!(
        r.message_len(span.pos),
        Err(RingError::Corrupt { .. })
    ));
    heap.ring().head().store(u64::MAX - 3, Ordering::Relaxed);
    for _ in 0..4 {
        if let Ok(s) = w.try_reserve(1) {
            w.publish(s.n);
        }
    }
    assert!(matches!(
        w.try_reserve(1),
        Err(RingError::Corrupt { field: "head", .. })
    ));
}

#[test]
fn spsc_new_writer_skips_slots_a_dead_writer_stamped() {
    let heap = Heap::new(4, 8, SPSC_SLOT_HEADER);
    let mut w = SpscWriter::new(heap.ring());
    let mut r = SpscReader::new(heap.ring());
    spsc_push(&mut w, b"a").unwrap();
    // The writer dies after stamping position 1 but before the tail store.
    let span = w.try_reserve(1).unwrap();
    // SAFETY: reserved by this writer.
    unsafe { w.mem().write(span.pos, b"b") };
    w.mem().len(span.pos).store(1, Ordering::Relaxed);
    w.mem().stamp(span.pos).store(2, Ordering::Release);
    let mut w2 = SpscWriter::new(heap.ring());
    spsc_push(&mut w2, b"c").unwrap();
    assert_eq!(spsc_pop(&mut r).unwrap(), b"a");
    assert_eq!(spsc_pop(&mut r).unwrap(), b"b");
    assert_eq!(spsc_pop(&mut r).unwrap(), b"c");
    // And a consumer that ran past the tail: the next writer starts there.
    heap.ring().tail().store(1, Ordering::Relaxed);
    let mut w3 = SpscWriter::new(heap.ring());
    spsc_push(&mut w3, b"d").unwrap();
    assert_eq!(spsc_pop(&mut r).unwrap(), b"d");
}

#[test]
fn spsc_successor_skips_what_a_dead_reader_held() {
    let heap = Heap::new(4, 8, SPSC_SLOT_HEADER);
    let mut w = SpscWriter::new(heap.ring());
    for m in [b"a", b"b", b"c"] {
        spsc_push(&mut w, m).unwrap();
    }
    // A reader claims two messages and dies holding them.
    let mut dead = SpscReader::new(heap.ring());
    let held = dead.try_claim(2).unwrap();
    assert_eq!(held, Span { pos: 0, n: 2 });
    // Bogus ends skip nothing: not ahead of the head, or more than a lap.
    assert_eq!(SpscReader::resume(heap.ring(), 0).1, 0);
    assert_eq!(SpscReader::resume(heap.ring(), 5).1, 0);
    let (mut r, skipped) = SpscReader::resume(heap.ring(), 2);
    assert_eq!(skipped, 2);
    assert_eq!(spsc_pop(&mut r).unwrap(), b"c");
    // An end past what was published skips only the published slots.
    assert_eq!(SpscReader::resume(heap.ring(), 5).1, 0);
    spsc_push(&mut w, b"d").unwrap();
    let (mut r, skipped) = SpscReader::resume(heap.ring(), 5);
    assert_eq!(skipped, 1);
    assert_eq!(r.try_claim(1), Err(RingError::Empty));
    // The freed slots are the writer's again: a whole lap.
    for m in [b"e", b"f", b"g", b"h"] {
        spsc_push(&mut w, m).unwrap();
    }
    assert!(matches!(w.try_reserve(1), Err(RingError::Full { .. })));
    assert_eq!(spsc_pop(&mut r).unwrap(), b"e");
}

#[test]
fn spsc_threads_keep_order() {
    let heap = Heap::new(4, 8, SPSC_SLOT_HEADER);
    let mut w = SpscWriter::new(heap.ring());
    let mut r = SpscReader::new(heap.ring());
    std::thread::scope(|s| {
        s.spawn(move || {
            for i in 0..COUNT {
                while spsc_push(&mut w, &i.to_le_bytes()).is_err() {
                    std::thread::yield_now();
                }
            }
        });
        for i in 0..COUNT {
            loop {
                match spsc_pop(&mut r) {
                    Ok(v) => {
                        assert_eq!(v, i.to_le_bytes());
                        break;
                    }
                    Err(RingError::Empty) => std::thread::yield_now(),
                    Err(e) => panic!("{e:?}"),
                }
            }
        }
    });
}

#[test]
fn mpmc_capacity_one_alternates() {
    let heap = Heap::new(1, 8, MPMC_SLOT_HEADER);
    mpmc::init(&heap.ring());
    let w = MpmcWriter::new(heap.ring());
    let r = MpmcReader::new(heap.ring());
    for i in 0..10u8 {
        assert_eq!(r.try_claim(1, None), Err(RingError::Empty));
        mpmc_push(&w, &[i]).unwrap();
        assert_eq!(
            mpmc_push(&w, &[0]),
            Err(RingError::Full { pos: i as u64 + 1 })
        );
        assert_eq!(mpmc_pop(&r).unwrap(), Some(vec![i]));
    }
}

#[test]
fn mpmc_batches_wrap_around() {
    let heap = Heap::new(4, 8, MPMC_SLOT_HEADER);
    mpmc::init(&heap.ring());
    let w = MpmcWriter::new(heap.ring());
    let r = MpmcReader::new(heap.ring());
    for round in 0..5u64 {
        let span = w.try_reserve(3, None).unwrap();
        assert_eq!(
            span,
            Span {
                pos: round * 3,
                n: 3
            }
        );
        for p in span.positions() {
            w.mem().len(p).store(p as u32 % 8, Ordering::Relaxed);
        }
        w.publish(span);
        let got = r.try_claim(10, None).unwrap();
        assert_eq!(got, span);
        for p in got.positions() {
            assert_eq!(r.message_len(p).unwrap(), p as usize % 8);
        }
        r.release(got);
    }
}

#[test]
fn mpmc_stall_abandon_and_force_release() {
    let heap = Heap::new(2, 8, MPMC_SLOT_HEADER);
    mpmc::init(&heap.ring());
    let w = MpmcWriter::new(heap.ring());
    let r = MpmcReader::new(heap.ring());
    let start = AtomicU64::new(0);
    let end = AtomicU64::new(0);
    let claim = ClaimWords {
        start: &start,
        end: &end,
    };
    // A producer reserves position 0 and "dies"; another publishes 1.
    let dead = w.try_reserve(1, Some(claim)).unwrap();
    assert!(claim.covers(dead.pos) && !claim.covers(1));
    mpmc_push(&w, b"one").unwrap();
    assert_eq!(r.try_claim(1, None), Err(RingError::Stalled { pos: 0 }));
    assert!(r.abandon(0));
    assert!(!r.abandon(0), "only once");
    assert_eq!(mpmc_pop(&r).unwrap(), None, "tombstone skipped");
    assert_eq!(mpmc_pop(&r).unwrap(), Some(b"one".to_vec()));
    // A consumer claims position 2 and "dies": the producer of 4 is blocked.
    mpmc_push(&w, b"two").unwrap();
    mpmc_push(&w, b"three").unwrap();
    assert_eq!(mpmc_push(&w, b"x"), Err(RingError::Full { pos: 4 }));
    assert!(!w.held_by_consumer(4), "merely unconsumed");
    let held = r.try_claim(1, None).unwrap();
    assert_eq!(held.pos, 2);
    assert_eq!(mpmc_pop(&r).unwrap(), Some(b"three".to_vec()));
    assert_eq!(w.try_reserve(1, None), Err(RingError::Full { pos: 4 }));
    assert!(w.held_by_consumer(4));
    assert!(w.force_release(4));
    assert!(!w.force_release(4), "only once");
    mpmc_push(&w, b"four").unwrap();
    assert_eq!(mpmc_pop(&r).unwrap(), Some(b"four".to_vec()));
    assert_eq!(r.try_claim(1, None), Err(RingError::Empty));
}

#[test]
fn mpmc_corrupt_words_are_errors() {
    let heap = Heap::new(4, 8, MPMC_SLOT_HEADER);
    mpmc::init(&heap.ring());
    let w = MpmcWriter::new(heap.ring());
    let r = MpmcReader::new(heap.ring());
    heap.ring().seq(0).store(999, Ordering::Relaxed);
    assert!(matches!(
        r.try_claim(1, None),
        Err(RingError::Corrupt { .. })
    ));
    assert!(matches!(
        w.try_reserve(1, None),
        Err(RingError::Corrupt { .. })
    ));
    mpmc::init(&heap.ring());
    heap.ring().tail().store(1 << 40, Ordering::Relaxed);
    assert!(matches!(
        r.try_claim(1, None),
        Err(RingError::Corrupt { field: "tail", .. })
    ));
    mpmc::init(&heap.ring());
    heap.ring().tail().store(0, Ordering::Relaxed);
    mpmc_push(&w, b"x").unwrap();
    heap.ring().len(0).store(100, Ordering::Relaxed);
    let span = r.try_claim(1, None).unwrap();
    assert!(matches!(
        r.message_len(span.pos),
        Err(RingError::Corrupt { .. })
    ));
}

#[test]
fn mpmc_garbage_behind_the_index_is_corrupt_not_full_or_empty() {
    let heap = Heap::new(4, 8, MPMC_SLOT_HEADER);
    mpmc::init(&heap.ring());
    let w = MpmcWriter::new(heap.ring());
    let r = MpmcReader::new(heap.ring());
    // Far behind position 0 in the sequence space: neither "the previous
    // lap holds it" (full) nor "not published yet" (empty).
    heap.ring()
        .seq(0)
        .store(0x4000_0000_0000_0000, Ordering::Relaxed);
    assert!(matches!(
        w.try_reserve(1, None),
        Err(RingError::Corrupt {
            field: "slot sequence",
            ..
        })
    ));
    assert!(matches!(
        r.try_claim(1, None),
        Err(RingError::Corrupt {
            field: "slot sequence",
            ..
        })
    ));
    // The legitimate states behind the index still read as full / empty.
    mpmc::init(&heap.ring());
    for _ in 0..4 {
        mpmc_push(&w, b"m").unwrap();
    }
    assert_eq!(mpmc_push(&w, b"m"), Err(RingError::Full { pos: 4 }));
    let held = r.try_claim(1, None).unwrap();
    assert_eq!(mpmc_push(&w, b"m"), Err(RingError::Full { pos: 4 }));
    r.release(held);
    for _ in 0..3 {
        assert_eq!(mpmc_pop(&r).unwrap(), Some(b"m".to_vec()));
    }
    assert_eq!(r.try_claim(1, None), Err(RingError::Empty));
}

#[test]
fn spans_across_the_2_64_wrap_publish_and_release_every_slot() {
    let start = u64::MAX - 1;
    // MPMC: a batch of 3 at MAX-1, MAX, 0.
    let heap = Heap::new(4, 8, MPMC_SLOT_HEADER);
    mpmc::init_at(&heap.ring(), start);
    let w = MpmcWriter::new(heap.ring());
    let r = MpmcReader::new(heap.ring());
    for lap in 0..3u8 {
        let span = w.try_reserve(3, None).unwrap();
        assert_eq!(span.n, 3);
        assert_eq!(span.positions().count(), 3);
        for (k, p) in span.positions().enumerate() {
            // SAFETY: reserved by this writer; 1 byte fits.
            unsafe { w.mem().write(p, &[lap * 10 + k as u8]) };
            w.mem().len(p).store(1, Ordering::Relaxed);
        }
        w.publish(span);
        let got = r.try_claim(3, None).unwrap();
        assert_eq!(got, span);
        for (k, p) in got.positions().enumerate() {
            // SAFETY: claimed by this reader.
            assert_eq!(unsafe { r.mem().read(p, 1, |b| b[0]) }, lap * 10 + k as u8);
        }
        r.release(got);
    }
    // SPSC: the same across the wrap, on a fresh (zeroed) ring.
    let heap = Heap::new(4, 8, SPSC_SLOT_HEADER);
    heap.ring().head().store(start, Ordering::Relaxed);
    heap.ring().tail().store(start, Ordering::Relaxed);
    let mut w = SpscWriter::new(heap.ring());
    let mut r = SpscReader::new(heap.ring());
    assert_eq!(
        r.try_claim(1),
        Err(RingError::Empty),
        "no stamp matches yet"
    );
    for lap in 0..3u8 {
        let span = w.try_reserve(3).unwrap();
        assert_eq!(span.n, 3);
        for (k, p) in span.positions().enumerate() {
            // SAFETY: reserved by this writer.
            unsafe { w.mem().write(p, &[lap * 10 + k as u8]) };
            w.mem().len(p).store(1, Ordering::Relaxed);
        }
        w.publish(3);
        let got = r.try_claim(4).unwrap();
        assert_eq!(got, span);
        for (k, p) in got.positions().enumerate() {
            assert_eq!(r.message_len(p).unwrap(), 1);
            // SAFETY: claimed by this reader.
            assert_eq!(unsafe { r.mem().read(p, 1, |b| b[0]) }, lap * 10 + k as u8);
        }
        r.release(3);
    }
}

#[test]
fn spsc_fresh_slots_match_no_position() {
    // A zeroed slot is never taken for a published one, wherever a
    // (corrupt) index puts the reader: 2^32 - 1 and its laps included,
    // whose `position + 1` has zero low bits.
    for start in [u32::MAX as u64, (7 << 32) | u32::MAX as u64, u64::MAX, 0] {
        let heap = Heap::new(4, 8, SPSC_SLOT_HEADER);
        heap.ring().head().store(start, Ordering::Relaxed);
        heap.ring().tail().store(start, Ordering::Relaxed);
        let mut r = SpscReader::new(heap.ring());
        assert_eq!(r.try_claim(4), Err(RingError::Empty), "start {start:#x}");
        let _w = SpscWriter::new(heap.ring());
        assert_eq!(
            heap.ring().tail().load(Ordering::Relaxed),
            start,
            "a writer skips no slot as published"
        );
    }
}

#[test]
fn spsc_stamps_stay_distinct_across_the_2_32_wrap_at_every_capacity() {
    // Each slot's stamp differs from a fresh slot's and from those of its
    // laps before and after, around the position whose stamp is not
    // `pos + 1`.
    for shift in [0u32, 1, 2, 5, 31] {
        let cap = 1u64 << shift;
        let wrap = u32::MAX as u64;
        for pos in wrap - 3..=wrap + 3 {
            let s = spsc::stamp_of(pos);
            assert_ne!(s, 0, "pos {pos:#x}");
            for other in [pos.wrapping_sub(cap), pos.wrapping_add(cap)] {
                assert_ne!(s, spsc::stamp_of(other), "cap {cap}, pos {pos:#x}");
            }
        }
    }
    // A ring of one slot carried across the wrap, one message at a time.
    let heap = Heap::new(1, 8, SPSC_SLOT_HEADER);
    let start = u32::MAX as u64 - 2;
    heap.ring().head().store(start, Ordering::Relaxed);
    heap.ring().tail().store(start, Ordering::Relaxed);
    let mut w = SpscWriter::new(heap.ring());
    let mut r = SpscReader::new(heap.ring());
    for k in 0..6u8 {
        let span = w.try_reserve(1).unwrap();
        // SAFETY: reserved by this writer; 1 byte fits.
        unsafe { w.mem().write(span.pos, &[k]) };
        w.mem().len(span.pos).store(1, Ordering::Relaxed);
        w.publish(1);
        assert_eq!(w.try_reserve(1), Err(RingError::Full { pos: span.pos + 1 }));
        let got = r.try_claim(1).unwrap();
        assert_eq!(got.pos, start + k as u64);
        // SAFETY: claimed by this reader.
        assert_eq!(unsafe { r.mem().read(got.pos, 1, |b| b[0]) }, k);
        r.release(1);
        assert_eq!(
            r.try_claim(1),
            Err(RingError::Empty),
            "slot read once, k {k}"
        );
    }
}

#[test]
fn a_claim_across_the_wrap_covers_its_positions() {
    let (start, end) = (AtomicU64::new(0), AtomicU64::new(0));
    let claim = ClaimWords {
        start: &start,
        end: &end,
    };
    claim.announce(Span {
        pos: u64::MAX - 1,
        n: 3,
    });
    assert!(claim.covers(u64::MAX - 1) && claim.covers(u64::MAX) && claim.covers(0));
    assert!(!claim.covers(1) && !claim.covers(u64::MAX - 2));
    claim.withdraw(Span {
        pos: u64::MAX - 1,
        n: 3,
    });
    assert!(!claim.covers(u64::MAX - 1) && !claim.covers(0));
    // Between announce's two stores: the new start with the old end.
    claim.announce(Span { pos: 10, n: 2 });
    start.store(20, Ordering::Relaxed);
    assert!(!(0..40).any(|p| claim.covers(p)) && !claim.covers(u64::MAX / 2));
}

#[test]
fn mpmc_two_producers_two_consumers() {
    let heap = Heap::new(4, 16, MPMC_SLOT_HEADER);
    mpmc::init(&heap.ring());
    let per = COUNT / 2;
    let seen = std::sync::Mutex::new(Vec::new());
    let taken = AtomicU64::new(0);
    std::thread::scope(|s| {
        for id in 0..2u64 {
            let w = MpmcWriter::new(heap.ring());
            s.spawn(move || {
                for i in 0..per {
                    let mut msg = [0u8; 16];
                    msg[..8].copy_from_slice(&id.to_le_bytes());
                    msg[8..].copy_from_slice(&i.to_le_bytes());
                    while mpmc_push(&w, &msg).is_err() {
                        std::thread::yield_now();
                    }
                }
            });
        }
        for _ in 0..2 {
            let r = MpmcReader::new(heap.ring());
            let (seen, taken) = (&seen, &taken);
            s.spawn(move || {
                let mut last = [None::<u64>; 2];
                let mut mine = Vec::new();
                while taken.load(Ordering::Relaxed) < 2 * per {
                    match mpmc_pop(&r) {
                        Ok(Some(v)) => {
                            taken.fetch_add(1, Ordering::Relaxed);
                            let id = u64::from_le_bytes(v[..8].try_into().unwrap()) as usize;
                            let i = u64::from_le_bytes(v[8..].try_into().unwrap());
                            assert!(last[id].is_none_or(|l| l < i), "per-producer order");
                            last[id] = Some(i);
                            mine.push((id, i));
                        }
                        Ok(None) => panic!("no tombstones here"),
                        Err(RingError::Empty | RingError::Stalled { .. }) => {
                            std::thread::yield_now()
                        }
                        Err(e) => panic!("{e:?}"),
                    }
                }
                seen.lock().unwrap().extend(mine);
            });
        }
    });
    let mut seen = seen.into_inner().unwrap();
    seen.sort_unstable();
    let want: Vec<_> = (0..2)
        .flat_map(|id| (0..per).map(move |i| (id, i)))
        .collect();
    assert_eq!(seen, want, "none lost, none twice");
}

#[test]
fn close_is_seen_after_the_last_message() {
    let heap = Heap::new(4, 8, MPMC_SLOT_HEADER);
    mpmc::init(&heap.ring());
    let closed = AtomicU32::new(0);
    let w = MpmcWriter::new(heap.ring());
    let r = MpmcReader::new(heap.ring());
    mpmc_push(&w, b"a").unwrap();
    close(&closed);
    let span = claim_or_closed(&closed, || r.try_claim(1, None)).unwrap();
    r.release(span);
    assert_eq!(
        claim_or_closed(&closed, || r.try_claim(1, None)),
        Err(RingError::Closed)
    );
}

/// The SPSC close handshake's last look: a producer that published and
/// ended between the consumer's look at the ring and its look at the
/// producers (here, inside `reserved`, which then finds no live holder)
/// has its message delivered, not a `Closed` that loses a send that
/// returned `Ok`. A live reservation makes the consumer wait, and with
/// neither the answer is `Closed`.
#[test]
fn spsc_close_looks_at_the_ring_after_the_producers() {
    let heap = Heap::new(4, 8, SPSC_SLOT_HEADER);
    let mut w = SpscWriter::new(heap.ring());
    let mut r = SpscReader::new(heap.ring());
    let closed = AtomicU32::new(0);
    close(&closed);
    assert_eq!(
        claim_or_closed_unless_reserved(&closed, || r.try_claim(1), || true),
        Err(RingError::Empty)
    );
    let published_then_ended = || {
        spsc_push(&mut w, b"last").unwrap();
        false
    };
    let span =
        claim_or_closed_unless_reserved(&closed, || r.try_claim(1), published_then_ended).unwrap();
    assert_eq!(span, Span { pos: 0, n: 1 });
    assert_eq!(spsc_pop(&mut r).unwrap(), b"last");
    assert_eq!(
        claim_or_closed_unless_reserved(&closed, || r.try_claim(1), || false),
        Err(RingError::Closed)
    );
}

#[cfg(not(miri))]
mod model {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Push(Vec<u8>),
        PushBatch(u8),
        Pop,
        PopBatch(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..=12).prop_map(Op::Push),
            (1u8..6).prop_map(Op::PushBatch),
            Just(Op::Pop),
            (1u8..6).prop_map(Op::PopBatch),
        ]
    }

    proptest! {
        #[test]
        fn spsc_matches_vecdeque(cap_log in 0u32..4, ops in proptest::collection::vec(op(), 1..200)) {
            let cap = 1u64 << cap_log;
            let heap = Heap::new(cap, 12, SPSC_SLOT_HEADER);
            let mut w = SpscWriter::new(heap.ring());
            let mut r = SpscReader::new(heap.ring());
            let mut model = VecDeque::new();
            let mut counter = 0u8;
            for op in ops {
                match op {
                    Op::Push(m) => {
                        let res = spsc_push(&mut w, &m);
                        prop_assert_eq!(res.is_ok(), (model.len() as u64) < cap);
                        if res.is_ok() { model.push_back(m) }
                    }
                    Op::PushBatch(n) => match w.try_reserve(n.into()) {
                        Ok(span) => {
                            prop_assert_eq!(span.n, u64::from(n).min(cap - model.len() as u64));
                            for p in span.positions() {
                                counter = counter.wrapping_add(1);
                                // SAFETY: reserved by this writer.
                                unsafe { w.mem().write(p, &[counter]) };
                                w.mem().len(p).store(1, Ordering::Relaxed);
                                model.push_back(vec![counter]);
                            }
                            w.publish(span.n);
                        }
                        Err(e) => prop_assert_eq!((e, model.len() as u64), (RingError::Full { pos: e_pos(e) }, cap)),
                    },
                    Op::Pop => match spsc_pop(&mut r) {
                        Ok(v) => prop_assert_eq!(Some(v), model.pop_front()),
                        Err(e) => prop_assert_eq!((e, model.len()), (RingError::Empty, 0)),
                    },
                    Op::PopBatch(n) => match r.try_claim(n.into()) {
                        Ok(span) => {
                            prop_assert_eq!(span.n as usize, usize::from(n).min(model.len()));
                            for p in span.positions() {
                                let len = r.message_len(p).unwrap();
                                // SAFETY: claimed by this reader.
                                let v = unsafe { r.mem().read(p, len, |b| b.to_vec()) };
                                prop_assert_eq!(Some(v), model.pop_front());
                            }
                            r.release(span.n);
                        }
                        Err(e) => prop_assert_eq!((e, model.len()), (RingError::Empty, 0)),
                    },
                }
            }
        }

        #[test]
        fn mpmc_matches_vecdeque(cap_log in 0u32..4, ops in proptest::collection::vec(op(), 1..200)) {
            let cap = 1u64 << cap_log;
            let heap = Heap::new(cap, 12, MPMC_SLOT_HEADER);
            mpmc::init(&heap.ring());
            let w = MpmcWriter::new(heap.ring());
            let r = MpmcReader::new(heap.ring());
            let mut model = VecDeque::new();
            let mut counter = 0u8;
            for op in ops {
                match op {
                    Op::Push(m) => {
                        let res = mpmc_push(&w, &m);
                        prop_assert_eq!(res.is_ok(), (model.len() as u64) < cap);
                        if res.is_ok() { model.push_back(m) }
                    }
                    Op::PushBatch(n) => match w.try_reserve(n.into(), None) {
                        Ok(span) => {
                            prop_assert_eq!(span.n, u64::from(n).min(cap - model.len() as u64));
                            for p in span.positions() {
                                counter = counter.wrapping_add(1);
                                // SAFETY: reserved by this writer.
                                unsafe { w.mem().write(p, &[counter]) };
                                w.mem().len(p).store(1, Ordering::Relaxed);
                                model.push_back(vec![counter]);
                            }
                            w.publish(span);
                        }
                        Err(e) => prop_assert_eq!((e, model.len() as u64), (RingError::Full { pos: e_pos(e) }, cap)),
                    },
                    Op::Pop => match mpmc_pop(&r) {
                        Ok(v) => prop_assert_eq!(v, model.pop_front()),
                        Err(e) => prop_assert_eq!((e, model.len()), (RingError::Empty, 0)),
                    },
                    Op::PopBatch(n) => match r.try_claim(n.into(), None) {
                        Ok(span) => {
                            prop_assert_eq!(span.n as usize, usize::from(n).min(model.len()));
                            for p in span.positions() {
                                let len = r.message_len(p).unwrap();
                                // SAFETY: claimed by this reader.
                                let v = unsafe { r.mem().read(p, len, |b| b.to_vec()) };
                                prop_assert_eq!(Some(v), model.pop_front());
                            }
                            r.release(span);
                        }
                        Err(e) => prop_assert_eq!((e, model.len()), (RingError::Empty, 0)),
                    },
                }
            }
        }
    }

    fn e_pos(e: RingError) -> u64 {
        match e {
            RingError::Full { pos } => pos,
            _ => u64::MAX,
        }
    }
}

#[test]
fn mpmc_padded_slots_keep_whole_messages_apart() {
    // 100-byte slots take 2 lines and are padded to 3: full-size messages
    // over several laps come back whole, none overlapping its neighbour.
    let heap = Heap::new(4, 100, MPMC_SLOT_HEADER);
    assert_eq!(stride(MPMC_SLOT_HEADER, 100), 192);
    mpmc::init(&heap.ring());
    let w = MpmcWriter::new(heap.ring());
    let r = MpmcReader::new(heap.ring());
    for lap in 0..3u8 {
        for k in 0..4u8 {
            mpmc_push(&w, &[lap * 4 + k; 100]).unwrap();
        }
        assert!(matches!(mpmc_push(&w, &[0]), Err(RingError::Full { .. })));
        for k in 0..4u8 {
            assert_eq!(mpmc_pop(&r).unwrap().unwrap(), vec![lap * 4 + k; 100]);
        }
    }
}
