//! Condition, Event and Semaphore between processes.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mproc_shm::Segment;
use mproc_sync::{BoundedSemaphore, Condition, Event, RawEvent, Semaphore, SyncError, WaitWord};

use crate::harness::{join_all_ok, spawn, wait_until};

const LIMIT: Duration = Duration::from_secs(60);
const SECS_10: Duration = Duration::from_secs(10);

/// One producer, two consumers, a one-slot mailbox guarded by a Condition.
pub(crate) fn condition_producer_consumer() {
    const ITEMS: u64 = 5_000;
    let cond = Condition::new().unwrap();
    let shared = Segment::anonymous(64).unwrap();
    let p = shared.payload();
    // 0: mailbox (0 = empty), 8: sum taken, 16: items taken, 24: done flag.
    let mailbox = p.get::<AtomicU64>(0).unwrap();
    let sum = p.get::<AtomicU64>(8).unwrap();
    let taken = p.get::<AtomicU64>(16).unwrap();
    let producer = spawn(|| {
        for i in 1..=ITEMS {
            let g = cond.lock().unwrap();
            let Ok((g, r)) =
                cond.wait_timeout_while(g, SECS_10, || mailbox.load(Ordering::Relaxed) != 0)
            else {
                return 1;
            };
            if r.timed_out() {
                return 2;
            }
            mailbox.store(i, Ordering::Relaxed);
            cond.notify_all();
            drop(g);
        }
        0
    });
    let consumer = || {
        spawn(|| {
            loop {
                let g = cond.lock().unwrap();
                let done = || taken.load(Ordering::Relaxed) == ITEMS;
                let Ok((g, r)) = cond.wait_timeout_while(g, SECS_10, || {
                    mailbox.load(Ordering::Relaxed) == 0 && !done()
                }) else {
                    return 1;
                };
                if r.timed_out() {
                    return 2;
                }
                if done() {
                    cond.notify_all();
                    return 0;
                }
                sum.fetch_add(mailbox.swap(0, Ordering::Relaxed), Ordering::Relaxed);
                taken.fetch_add(1, Ordering::Relaxed);
                cond.notify_all();
                drop(g);
            }
        })
    };
    let consumers = [consumer(), consumer()];
    join_all_ok(&[producer], LIMIT);
    join_all_ok(&consumers, LIMIT);
    assert_eq!(taken.load(Ordering::Relaxed), ITEMS);
    assert_eq!(sum.load(Ordering::Relaxed), ITEMS * (ITEMS + 1) / 2);
}

/// One `set` wakes eight processes asleep on the event.
pub(crate) fn event_wakes_eight_processes() {
    let ev = Event::new().unwrap();
    let shared = Segment::anonymous(64).unwrap();
    let ready = shared.payload().get::<AtomicU32>(0).unwrap();
    let pids: Vec<i32> = (0..8)
        .map(|_| {
            spawn(|| {
                ready.fetch_add(1, Ordering::AcqRel);
                if ev.wait_timeout(SECS_10) { 0 } else { 1 }
            })
        })
        .collect();
    assert!(wait_until(SECS_10, || ready.load(Ordering::Acquire) == 8));
    std::thread::sleep(Duration::from_millis(30)); // let them fall asleep
    let start = Instant::now();
    ev.set();
    join_all_ok(&pids, LIMIT);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // A set that is cleared at once still wakes a waiter (Python's
    // semantics). The raw event in a segment of our own shows its word, so
    // the set comes once the waiter sleeps (a waiter that started after
    // the set and clear would rightly wait on).
    let own = Segment::anonymous(64).unwrap();
    let raw = RawEvent::init_in_place(&own.payload(), 0).unwrap();
    let word = own.payload().get::<WaitWord>(0).unwrap();
    let waiter = spawn(|| if raw.wait_timeout(SECS_10) { 0 } else { 1 });
    assert!(wait_until(SECS_10, || word.waiters() >= 1));
    raw.set();
    raw.clear();
    join_all_ok(&[waiter], LIMIT);
    let start = Instant::now();
    assert!(!raw.wait_timeout(Duration::from_millis(30)));
    assert!(start.elapsed() >= Duration::from_millis(30));
}

/// Six processes contend for a bounded semaphore of 3: never more than 3
/// inside at once, value back at 3 after, one release too many refused.
pub(crate) fn semaphore_bound_under_contention() {
    let sem = BoundedSemaphore::new(3).unwrap();
    let shared = Segment::anonymous(64).unwrap();
    let inside = shared.payload().get::<AtomicU32>(0).unwrap();
    let most = shared.payload().get::<AtomicU32>(4).unwrap();
    let pids: Vec<i32> = (0..6)
        .map(|_| {
            spawn(|| {
                for _ in 0..3_000 {
                    if !sem.acquire_timeout(SECS_10) {
                        return 1;
                    }
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::hint::spin_loop();
                    inside.fetch_sub(1, Ordering::SeqCst);
                    if sem.release().is_err() {
                        return 2;
                    }
                }
                0
            })
        })
        .collect();
    join_all_ok(&pids, LIMIT);
    let most = most.load(Ordering::SeqCst);
    assert!((1..=3).contains(&most), "{most} inside at once");
    assert_eq!(sem.value(), 3);
    assert!(matches!(
        sem.release(),
        Err(SyncError::ReleasedTooMany { bound: 3 })
    ));
    // A plain semaphore hands units across processes, and times out.
    let plain = Semaphore::new(0).unwrap();
    let giver = spawn(|| {
        std::thread::sleep(Duration::from_millis(20));
        if plain.release_n(2).is_ok() { 0 } else { 1 }
    });
    assert!(plain.acquire_timeout(SECS_10));
    assert!(plain.acquire_timeout(SECS_10));
    join_all_ok(&[giver], LIMIT);
    let start = Instant::now();
    assert!(!plain.acquire_timeout(Duration::from_millis(30)));
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(30) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

/// Timed waits return around their timeout when nothing happens in the
/// other process, and a barrier timeout breaks it for the other party.
pub(crate) fn timeouts_return_within_reason() {
    let within = |took: Duration, timeout: Duration| {
        assert!(
            took >= timeout,
            "returned after {took:?}, before {timeout:?}"
        );
        assert!(
            took < timeout + Duration::from_secs(2),
            "took {took:?} for {timeout:?}"
        );
    };
    let t = Duration::from_millis(40);

    // Condition: the lock is free, nobody notifies.
    let cond = Condition::new().unwrap();
    let holder = spawn(|| {
        // Another process takes and releases the lock meanwhile.
        for _ in 0..10 {
            drop(cond.lock());
            std::thread::sleep(Duration::from_millis(2));
        }
        0
    });
    let g = cond.lock().unwrap();
    let start = Instant::now();
    let (g, r) = cond.wait_timeout(g, t).unwrap();
    within(start.elapsed(), t);
    assert!(r.timed_out());
    drop(g);
    join_all_ok(&[holder], LIMIT);

    // Barrier: the parent times out, the child (with a long timeout) is
    // told the barrier broke.
    let b = mproc_sync::Barrier::new(3).unwrap();
    let other = spawn(|| match b.wait_timeout(SECS_10) {
        Err(SyncError::BrokenBarrier { parties: 3 }) => 0,
        _ => 1,
    });
    std::thread::sleep(Duration::from_millis(20));
    let start = Instant::now();
    assert!(matches!(
        b.wait_timeout(t),
        Err(SyncError::BrokenBarrier { .. })
    ));
    within(start.elapsed(), t);
    let start = Instant::now();
    join_all_ok(&[other], LIMIT);
    assert!(start.elapsed() < Duration::from_secs(2));

    // Event and semaphore, nobody sets or releases.
    let ev = Event::new().unwrap();
    let start = Instant::now();
    assert!(!ev.wait_timeout(t));
    within(start.elapsed(), t);
    let sem = Semaphore::new(0).unwrap();
    let start = Instant::now();
    assert!(!sem.acquire_timeout(t));
    within(start.elapsed(), t);
}
