//! Corrupt or hostile bytes where a primitive should be: errors, never a
//! panic, UB or a hang.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
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
/// A condition of the first layout (tag `COND`, whose processes would
/// not wake those of this one) is refused, not shared.
#[test]
fn a_condition_of_the_first_layout_is_refused() {
    let heap = HeapRegion::new(64);
    let r = heap.region();
    RawCondition::init_in_place(&r, 0).unwrap();
    assert!(RawCondition::attach(&r, 0).is_ok());
    r.write_pod(24, &u32::from_le_bytes(*b"COND")).unwrap();
    assert!(matches!(
        RawCondition::attach(&r, 0),
        Err(SyncError::Corrupt { .. })
    ));
}

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

/// The reentrant form of the promise above, when the dead thread had the
/// caller's thread id (ids are reused): the state word alone names the
/// caller, but the holder record (id and start time) names an earlier
/// thread. The caller must take the lock over with `OwnerDied`, not
/// "re-enter" it (which would return without acquiring, inherit the dead
/// holder's count, and break mutual exclusion).
#[test]
fn rlock_word_naming_a_dead_thread_with_the_callers_tid_is_taken_over() {
    let heap = HeapRegion::new(64);
    let r = heap.region();
    let rl = RawRLock::init_in_place(&r, 0).unwrap();
    let me = mproc_sys::gettid() as u32;
    let start = mproc_sys::thread_start_time(me as i32).unwrap();
    let mask = (1u64 << 40) - 1;
    // State: held by `me`; record: `me` with another start time (an earlier
    // thread given the same id); the dead holder's count: 1.
    r.get::<AtomicU32>(0).unwrap().store(me, Ordering::Relaxed);
    r.get::<AtomicU64>(8).unwrap().store(
        u64::from(me) << 40 | (start.wrapping_add(1) & mask),
        Ordering::Relaxed,
    );
    r.get::<AtomicU32>(16).unwrap().store(1, Ordering::Relaxed);
    assert!(!rl.is_owned_by_current_thread());
    let got = rl.lock_timeout(Duration::from_secs(5));
    let reentered = got.is_ok();
    let died = matches!(got, Err(mproc_sync::TryLockError::OwnerDied(_)));
    let count = rl.count();
    let mine = rl.is_owned_by_current_thread();
    drop(got);
    assert!(
        died,
        "expected OwnerDied (holder record names another thread); reentered = {reentered}"
    );
    assert_eq!(count, 1, "the dead holder's count was inherited");
    assert!(mine, "taken over, so now held by this thread");
    assert!(!rl.is_locked(), "released when the guard dropped");
}

/// A segment opened read-only cannot back a primitive: every handle's
/// `from_segment` refuses it with `ReadOnly` naming the segment (its
/// `lock()`, `set()`, ... would write), and every raw form's
/// `init_in_place` refuses a view of it, writing nothing.
#[test]
fn read_only_segments_are_refused_by_every_handle_and_initializer() {
    let ro = |n: &str| Segment::opener(n).read_only().open().unwrap();
    let refused = |r: Result<(), SyncError>, n: &str, op: &str| match r {
        Err(SyncError::Shm(ShmError::ReadOnly { name, operation })) => {
            assert_eq!((name.as_str(), operation), (n, op));
        }
        other => panic!("{op}: expected ReadOnly naming {n}, got {other:?}"),
    };
    let n = name("ro-lock");
    let _h = Lock::create(&n).unwrap();
    refused(
        Lock::from_segment(ro(&n)).map(drop),
        &n,
        "Lock::from_segment",
    );
    refused(
        Mutex::<u64>::from_segment(ro(&n)).map(drop),
        &n,
        "Mutex::from_segment",
    );
    let n = name("ro-mutex");
    let _h = Mutex::create(&n, 7u64).unwrap();
    refused(
        Mutex::<u64>::from_segment(ro(&n)).map(drop),
        &n,
        "Mutex::from_segment",
    );
    let n = name("ro-rlock");
    let _h = RLock::create(&n).unwrap();
    refused(
        RLock::from_segment(ro(&n)).map(drop),
        &n,
        "RLock::from_segment",
    );
    let n = name("ro-cond");
    let _h = Condition::create(&n).unwrap();
    refused(
        Condition::from_segment(ro(&n)).map(drop),
        &n,
        "Condition::from_segment",
    );
    let n = name("ro-sem");
    let _h = Semaphore::create(&n, 1).unwrap();
    refused(
        Semaphore::from_segment(ro(&n)).map(drop),
        &n,
        "Semaphore::from_segment",
    );
    let n = name("ro-bsem");
    let _h = BoundedSemaphore::create(&n, 1).unwrap();
    refused(
        BoundedSemaphore::from_segment(ro(&n)).map(drop),
        &n,
        "BoundedSemaphore::from_segment",
    );
    let n = name("ro-event");
    let _h = Event::create(&n).unwrap();
    refused(
        Event::from_segment(ro(&n)).map(drop),
        &n,
        "Event::from_segment",
    );
    let n = name("ro-barrier");
    let _h = Barrier::create(&n, 2).unwrap();
    refused(
        Barrier::from_segment(ro(&n)).map(drop),
        &n,
        "Barrier::from_segment",
    );

    // The raw forms: a read-only view is refused before anything is written.
    let n = name("ro-raw");
    let rw = Segment::create(&n, 256).unwrap();
    rw.payload().write_bytes(0, &[0xAB; 256]).unwrap();
    let seg = ro(&n);
    let p = seg.payload();
    let read_only = |r: Result<(), SyncError>, what: &str| {
        assert!(
            matches!(r, Err(SyncError::Shm(ShmError::ReadOnlyRegion { .. }))),
            "{what}: {r:?}"
        );
    };
    read_only(RawLock::init_in_place(&p, 0).map(drop), "RawLock");
    read_only(RawRLock::init_in_place(&p, 0).map(drop), "RawRLock");
    read_only(RawCondition::init_in_place(&p, 0).map(drop), "RawCondition");
    read_only(RawEvent::init_in_place(&p, 0).map(drop), "RawEvent");
    read_only(
        RawSemaphore::init_in_place(&p, 0, 1, None).map(drop),
        "RawSemaphore",
    );
    read_only(RawBarrier::init_in_place(&p, 0, 2).map(drop), "RawBarrier");
    let mut bytes = [0u8; 256];
    p.read_bytes(0, &mut bytes).unwrap();
    assert_eq!(
        bytes, [0xAB; 256],
        "nothing written through the read-only view"
    );
    rw.payload().read_bytes(0, &mut bytes).unwrap();
    assert_eq!(bytes, [0xAB; 256], "nothing written to the segment");
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
