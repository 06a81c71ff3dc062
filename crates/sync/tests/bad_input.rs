//! Corrupt or hostile bytes where a primitive should be: errors, never a
//! panic, UB or a hang.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mproc_shm::{HeapRegion, Segment, SegmentKind, ShmError};
use mproc_sync::{
    Barrier, BoundedSemaphore, Condition, Event, Lock, Mutex, OwnerDied, RLock, RawBarrier,
    RawCondition, RawEvent, RawLock, RawRLock, RawSemaphore, Semaphore, SyncError,
};
use proptest::prelude::*;

fn name(tag: &str) -> String {
    format!("sync-bad-{tag}-{}", std::process::id())
}

#[test]
fn wrong_kind_is_refused() {
    let n = name("kind");
    let _ev = Event::create(&n).unwrap();
    let err = Lock::open(&n).unwrap_err();
    assert!(matches!(
        err,
        SyncError::Shm(ShmError::WrongKind {
            found: SegmentKind::Event,
            expected: SegmentKind::Lock
        })
    ));
    assert!(RLock::open(&n).is_err());
    assert!(Semaphore::open(&n).is_err());
    assert!(Condition::open(&n).is_err());
    assert!(Barrier::open(&n).is_err());
    assert!(Mutex::<u64>::open(&n).is_err());
    assert!(Event::open(&n).is_ok());
}

#[test]
fn zeroed_segments_are_not_primitives() {
    for kind in [
        SegmentKind::Lock,
        SegmentKind::RLock,
        SegmentKind::Semaphore,
        SegmentKind::Condition,
        SegmentKind::Event,
        SegmentKind::Barrier,
    ] {
        let seg = || Segment::builder(kind, 4096).create_anonymous().unwrap();
        let r = match kind {
            SegmentKind::Lock => Lock::from_segment(seg()).map(drop),
            SegmentKind::RLock => RLock::from_segment(seg()).map(drop),
            SegmentKind::Semaphore => Semaphore::from_segment(seg()).map(drop),
            SegmentKind::Condition => Condition::from_segment(seg()).map(drop),
            SegmentKind::Event => Event::from_segment(seg()).map(drop),
            _ => Barrier::from_segment(seg()).map(drop),
        };
        assert!(
            matches!(
                r,
                Err(SyncError::Corrupt {
                    field: "tag",
                    value: 0,
                    ..
                })
            ),
            "{kind:?}: {r:?}"
        );
    }
}

#[test]
fn corrupted_named_primitives_are_refused_on_open() {
    // Another process (here: a raw opener) scribbles over the bytes.
    let n = name("scribble");
    let lock = Lock::create(&n).unwrap();
    let raw = Segment::opener(&n).open().unwrap();
    raw.payload()
        .get::<AtomicU32>(0)
        .unwrap()
        .store(0x3FFF_FFFF, Ordering::Relaxed); // tid > 2^22
    assert!(matches!(
        Lock::open(&n),
        Err(SyncError::Corrupt { field: "state", .. })
    ));
    raw.payload()
        .get::<AtomicU32>(4)
        .unwrap()
        .store(0xDEAD, Ordering::Relaxed);
    assert!(matches!(
        Lock::open(&n),
        Err(SyncError::Corrupt {
            field: "tag",
            value: 0xDEAD,
            ..
        })
    ));
    drop(lock);

    let n = name("barrier");
    let b = Barrier::create(&n, 2).unwrap();
    let raw = Segment::opener(&n).open().unwrap();
    // parties = 60 000: a table far past the segment's end.
    raw.payload()
        .get::<AtomicU32>(8)
        .unwrap()
        .store(60_000, Ordering::Relaxed);
    assert!(matches!(
        Barrier::open(&n),
        Err(SyncError::Shm(ShmError::OutOfBounds { .. }))
    ));
    // The open handle re-validates instead of trusting.
    assert!(b.wait_timeout(Duration::from_millis(1)).is_err());
    raw.payload()
        .get::<AtomicU32>(8)
        .unwrap()
        .store(0, Ordering::Relaxed);
    assert!(matches!(
        Barrier::open(&n),
        Err(SyncError::Corrupt {
            field: "parties",
            ..
        })
    ));

    let n = name("sem");
    let _s = BoundedSemaphore::create(&n, 2).unwrap();
    let raw = Segment::opener(&n).open().unwrap();
    raw.payload()
        .get::<AtomicU32>(0)
        .unwrap()
        .store(5, Ordering::Relaxed); // value above bound
    assert!(matches!(
        BoundedSemaphore::open(&n),
        Err(SyncError::Corrupt {
            field: "value",
            value: 5,
            ..
        })
    ));

    let n = name("mutex");
    let _m = Mutex::create(&n, [0u8; 24]).unwrap();
    assert!(matches!(
        Mutex::<u64>::open(&n),
        Err(SyncError::LayoutMismatch {
            param: "size",
            found: 24,
            expected: 8,
            ..
        })
    ));
}

/// A lock word naming a thread that no longer exists is recovered, not
/// waited on forever.
#[test]
fn lock_word_naming_a_dead_thread_is_recovered() {
    let heap = HeapRegion::new(64);
    let lock = RawLock::init_in_place(&heap.region(), 0).unwrap();
    let dead_tid = std::thread::spawn(mproc_sys::gettid).join().unwrap() as u32;
    heap.region()
        .get::<AtomicU32>(0)
        .unwrap()
        .store(dead_tid, Ordering::Relaxed);
    let r = lock.lock_timeout(Duration::from_secs(5));
    assert!(matches!(r, Err(mproc_sync::TryLockError::OwnerDied(_))));
    drop(r);
    let mut g = match lock.lock() {
        Err(OwnerDied(g)) => g,
        Ok(_) => panic!("not made consistent: still reported"),
    };
    g.make_consistent();
    drop(g);
    assert!(lock.lock().is_ok());
}

/// Region bounds and alignment are checked for every raw form.
#[test]
fn raw_forms_check_their_range() {
    let heap = HeapRegion::new(40);
    let r = heap.region();
    assert!(RawLock::attach(&r, 32).is_err());
    assert!(RawLock::init_in_place(&r, 4).is_err());
    assert!(RawEvent::init_in_place(&r, 36).is_err());
    assert!(RawRLock::init_in_place(&r, 24).is_err());
    assert!(RawCondition::init_in_place(&r, 16).is_err());
    assert!(RawSemaphore::init_in_place(&r, 32, 1, None).is_err());
    assert!(RawBarrier::init_in_place(&r, 0, 2).is_err()); // needs 48
    assert!(RawBarrier::init_in_place(&r, 0, 0).is_err());
    assert!(RawSemaphore::init_in_place(&r, 0, 3, Some(2)).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any bytes: attach either refuses them or yields a primitive whose
    /// non-blocking and briefly-blocking operations return.
    #[test]
    fn arbitrary_bytes_never_misbehave(bytes in proptest::collection::vec(any::<u8>(), 96)) {
        let heap = HeapRegion::new(96);
        let r = heap.region();
        r.write_bytes(0, &bytes).unwrap();
        exercise(&r);
    }

    /// Valid primitives whose state words a hostile peer then overwrote.
    #[test]
    fn scribbled_state_words_never_misbehave(words in proptest::collection::vec(any::<u32>(), 6)) {
        let heap = HeapRegion::new(96);
        let r = heap.region();
        RawBarrier::init_in_place(&r, 0, 1).unwrap(); // 0..32
        RawLock::init_in_place(&r, 32).unwrap(); // 32..48
        RawEvent::init_in_place(&r, 48).unwrap(); // 48..64
        RawSemaphore::init_in_place(&r, 64, 1, Some(1)).unwrap(); // 64..80
        RawRLock::init_in_place(&r, 72).ok();
        for (i, off) in [0u64, 4, 32, 40, 48, 64].into_iter().enumerate() {
            r.get::<AtomicU32>(off).unwrap().store(words[i], Ordering::Relaxed);
        }
        exercise(&r);
    }
}

fn exercise(r: &mproc_shm::Region<'_>) {
    let short = Duration::from_millis(1);
    if let Ok(b) = RawBarrier::attach(r, 0) {
        let _ = b.n_waiting();
        let _ = b.wait_timeout(short);
        b.abort();
        assert!(b.wait_timeout(short).is_err());
        b.reset();
    }
    if let Ok(l) = RawLock::attach(r, 32) {
        let _ = l.try_lock();
        let _ = l.lock_timeout(short);
    }
    if let Ok(ev) = RawEvent::attach(r, 48) {
        let _ = ev.wait_timeout(short);
        ev.set();
        assert!(ev.is_set());
    }
    if let Ok(s) = RawSemaphore::attach(r, 64) {
        let _ = s.acquire_timeout(short);
        let _ = s.release();
    }
    if let Ok(c) = RawCondition::attach(r, 32) {
        c.notify_all();
    }
    if let Ok(rl) = RawRLock::attach(r, 72) {
        let _ = rl.count();
        let _ = rl.try_lock();
    }
}
