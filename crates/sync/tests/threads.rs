//! Every primitive between threads of one process: the same futexes and
//! state machines processes use, easy to run and debug.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mproc_shm::HeapRegion;
use mproc_sync::{
    Barrier, BoundedSemaphore, Condition, Event, Lock, Mutex, OwnerDied, RLock, RawBarrier,
    RawEvent, RawSemaphore, Semaphore, SyncError, TryLockError,
};

const SECS_10: Duration = Duration::from_secs(10);

#[test]
fn lock_excludes_threads() {
    let lock = Lock::new().unwrap();
    let counter = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..20_000 {
                    let _g = lock.lock().unwrap();
                    // A non-atomic increment: lost updates if exclusion fails.
                    let v = counter.load(Ordering::Relaxed);
                    counter.store(v + 1, Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(counter.load(Ordering::Relaxed), 80_000);
    assert!(!lock.is_locked());
}

#[test]
fn holder_thread_exit_is_owner_death() {
    let m = Mutex::new(0u64).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut g = m.lock().unwrap();
            *g = 41; // half-done update, then the thread ends holding the lock
            std::mem::forget(g);
        });
    });
    let start = Instant::now();
    let mut g = match m.lock() {
        Err(OwnerDied(g)) => g,
        Ok(_) => panic!("a dead holder was not reported"),
    };
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(*g, 41);
    *g = 42;
    drop(g);
    // Not made consistent: the next locker is told too.
    let mut g = m.lock().unwrap_err().into_inner();
    g.make_consistent();
    drop(g);
    assert_eq!(*m.lock().unwrap(), 42);
}

#[test]
fn try_lock_and_timeout() {
    let lock = Lock::new().unwrap();
    let g = lock.lock().unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            assert!(matches!(lock.try_lock(), Err(TryLockError::WouldBlock)));
            let start = Instant::now();
            let r = lock.lock_timeout(Duration::from_millis(30));
            assert!(matches!(r, Err(TryLockError::TimedOut { timeout }) if timeout == Duration::from_millis(30)));
            let took = start.elapsed();
            assert!(took >= Duration::from_millis(30) && took < Duration::from_secs(2), "{took:?}");
        });
    });
    drop(g);
    assert!(lock.try_lock().is_ok());
}

#[test]
fn rlock_is_reentrant_per_thread() {
    let r = RLock::new().unwrap();
    let counter = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                for _ in 0..10_000 {
                    let _a = r.lock().unwrap();
                    let _b = r.lock().unwrap();
                    let v = counter.load(Ordering::Relaxed);
                    counter.store(v + 1, Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(counter.load(Ordering::Relaxed), 30_000);
    // Outer guard dropped first: still held until the inner one drops.
    let a = r.lock().unwrap();
    let b = r.lock().unwrap();
    drop(a);
    assert!(r.is_locked());
    assert!(std::thread::scope(|s| s
        .spawn(|| r.try_lock().is_err())
        .join()
        .unwrap()));
    drop(b);
    assert!(!r.is_locked());
}

#[test]
fn semaphore_bounds_concurrency() {
    let sem = BoundedSemaphore::new(2).unwrap();
    let inside = AtomicU32::new(0);
    let most = AtomicU32::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..2_000 {
                    sem.acquire();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    inside.fetch_sub(1, Ordering::SeqCst);
                    sem.release().unwrap();
                }
            });
        }
    });
    assert!(most.load(Ordering::SeqCst) <= 2);
    assert_eq!(sem.value(), 2);
    assert!(matches!(
        sem.release(),
        Err(SyncError::ReleasedTooMany { bound: 2 })
    ));
    let plain = Semaphore::new(0).unwrap();
    assert!(!plain.acquire_timeout(Duration::from_millis(5)));
    plain.release_n(2).unwrap();
    assert!(plain.try_acquire() && plain.try_acquire() && !plain.try_acquire());
}

#[test]
fn condition_hands_items_over() {
    let cond = Condition::new().unwrap();
    let queued = AtomicU64::new(0);
    let total = AtomicU64::new(0);
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 1..=1000u64 {
                let g = cond.lock().unwrap();
                let g = cond
                    .wait_while(g, || queued.load(Ordering::Relaxed) != 0)
                    .unwrap();
                queued.store(i, Ordering::Relaxed);
                cond.notify_all();
                drop(g);
            }
        });
        s.spawn(|| {
            for _ in 0..1000 {
                let g = cond.lock().unwrap();
                let (g, r) = cond
                    .wait_timeout_while(g, SECS_10, || queued.load(Ordering::Relaxed) == 0)
                    .unwrap();
                assert!(!r.timed_out());
                total.fetch_add(queued.swap(0, Ordering::Relaxed), Ordering::Relaxed);
                cond.notify_all();
                drop(g);
            }
        });
    });
    assert_eq!(total.load(Ordering::Relaxed), 1000 * 1001 / 2);
}

/// `notify(n)` ends at most `n` waits, as Python's: of four waiters,
/// `notify(1)` ends one wait and `notify(2)` two more; the last waiter's
/// wait times out. Counts, not times: every wait is bounded by its own
/// timeout, and the waiters not notified report `timed_out`.
#[test]
fn notify_n_ends_at_most_n_waits() {
    let cond = Condition::new().unwrap();
    let counted = AtomicU32::new(0);
    let notified = AtomicU32::new(0);
    let timed_out = AtomicU32::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let g = cond.lock().unwrap();
                counted.fetch_add(1, Ordering::SeqCst);
                let (_g, r) = cond.wait_timeout(g, Duration::from_secs(3)).unwrap();
                let outcome = if r.timed_out() { &timed_out } else { &notified };
                outcome.fetch_add(1, Ordering::SeqCst);
            });
        }
        // Every waiter counted itself under the lock before it released
        // it: once the lock is ours with all four counted, all four wait.
        let deadline = Instant::now() + SECS_10;
        while counted.load(Ordering::SeqCst) < 4 {
            assert!(Instant::now() < deadline, "waiters never waited");
            std::thread::sleep(Duration::from_millis(1));
        }
        let g = cond.lock().unwrap();
        cond.notify(1);
        drop(g);
        let g = cond.lock().unwrap();
        cond.notify(2);
        drop(g);
    });
    assert_eq!(notified.load(Ordering::SeqCst), 3);
    assert_eq!(timed_out.load(Ordering::SeqCst), 1);
    // Nobody waits: a notify grants nothing, and a later wait is not
    // ended by it.
    let g = cond.lock().unwrap();
    cond.notify_all();
    let (_g, r) = cond.wait_timeout(g, Duration::from_millis(20)).unwrap();
    assert!(r.timed_out());
}

#[test]
fn event_wakes_every_thread() {
    let ev = Event::new().unwrap();
    std::thread::scope(|s| {
        let waiters: Vec<_> = (0..4)
            .map(|_| s.spawn(|| ev.wait_timeout(SECS_10)))
            .collect();
        std::thread::sleep(Duration::from_millis(20));
        ev.set();
        for w in waiters {
            assert!(w.join().unwrap());
        }
    });
    ev.clear();
    assert!(!ev.wait_timeout(Duration::from_millis(5)));
}

#[test]
fn barrier_rounds_and_timeout() {
    let b = Barrier::new(3).unwrap();
    let masks: Vec<AtomicU32> = (0..200).map(|_| AtomicU32::new(0)).collect();
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                for m in &masks {
                    let idx = b.wait_timeout(SECS_10).unwrap();
                    m.fetch_or(1 << idx, Ordering::Relaxed);
                }
                b.leave().unwrap(); // done: its end is not a death
            });
        }
    });
    assert!(masks.iter().all(|m| m.load(Ordering::Relaxed) == 0b111));
    // New threads take over: the barrier is not broken by the old ones.
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| b.wait_timeout(SECS_10).unwrap());
        }
    });
    assert!(!b.broken());
    let b = Barrier::new(3).unwrap();
    // One party times out: it and the other waiter see a broken barrier.
    std::thread::scope(|s| {
        let other = s.spawn(|| b.wait_timeout(SECS_10));
        let start = Instant::now();
        assert!(matches!(
            b.wait_timeout(Duration::from_millis(20)),
            Err(SyncError::BrokenBarrier { parties: 3 })
        ));
        assert!(start.elapsed() < Duration::from_secs(3));
        assert!(matches!(
            other.join().unwrap(),
            Err(SyncError::BrokenBarrier { .. })
        ));
    });
    assert!(b.broken());
    b.reset().unwrap();
    assert!(!b.broken());
}

/// A registered party (thread) that ends without arriving breaks the
/// barrier for the others within the detection interval.
#[test]
fn barrier_party_death_breaks_it() {
    let b = Barrier::new(2).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            // Two rounds with the main thread, then the party ends.
            b.wait_timeout(SECS_10).unwrap();
        });
        b.wait_timeout(SECS_10).unwrap();
    });
    let start = Instant::now();
    let r = b.wait_timeout(SECS_10);
    assert!(
        matches!(r, Err(SyncError::BrokenBarrier { parties: 2 })),
        "{r:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

/// A setter or releaser killed between changing the word and waking the
/// sleepers leaves them asleep only until their next recheck
/// (`RECHECK_INTERVAL`), not for good: here the words are changed behind
/// the primitives' backs, with no wake at all.
#[test]
fn a_lost_wake_delays_event_and_semaphore_waiters_by_one_recheck() {
    let heap = HeapRegion::new(64);
    let region = heap.region();
    let ev = RawEvent::init_in_place(&region, 0).unwrap();
    let sem = RawSemaphore::init_in_place(&region, 16, 0, None).unwrap();
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        let tx2 = tx.clone();
        s.spawn(move || {
            ev.wait();
            tx.send("event").unwrap();
        });
        s.spawn(move || {
            sem.acquire();
            tx2.send("semaphore").unwrap();
        });
        std::thread::sleep(Duration::from_millis(50));
        // The event's flag and set count (bit 0, bits 1..), and one unit of
        // the semaphore, as a killed setter and releaser leave them.
        region
            .get::<AtomicU32>(0)
            .unwrap()
            .store(3, Ordering::Release);
        region
            .get::<AtomicU32>(16)
            .unwrap()
            .store(1, Ordering::Release);
        let got = [rx.recv_timeout(SECS_10), rx.recv_timeout(SECS_10)];
        if got.iter().any(Result::is_err) {
            // Let the sleepers go before failing, or the scope never ends
            // (`set` does nothing to a set flag: clear it first).
            ev.clear();
            ev.set();
            sem.release().unwrap();
            panic!("a waiter stayed asleep after the lost wake: {got:?}");
        }
        let mut got: Vec<_> = got.into_iter().map(Result::unwrap).collect();
        got.sort_unstable();
        assert_eq!(got, ["event", "semaphore"]);
    });
}

/// One round of the two-party barrier `b` with a thread that then ends:
/// the thread waits first, so it registers in slot 0.
fn one_round_with_a_thread_that_ends(b: &RawBarrier<'_>) {
    std::thread::scope(|s| {
        let t = s.spawn(|| b.wait_timeout(SECS_10));
        let start = Instant::now();
        while b.n_waiting() == 0 {
            assert!(start.elapsed() < SECS_10, "the thread never waited");
            std::thread::yield_now();
        }
        b.wait_timeout(SECS_10).unwrap();
        t.join().unwrap().unwrap();
    });
}

/// A party that ends after it marked its arrival in the party table but
/// before its arrival counted (a kill between the two) will never arrive:
/// the barrier breaks for the others at their next check, not at their
/// timeout. Here the thread ends after one round, and its mark is moved on
/// to the next generation by hand, as such a death leaves it.
#[test]
fn a_party_dead_between_its_mark_and_its_arrival_breaks_the_barrier() {
    let heap = HeapRegion::new(RawBarrier::size_for(2) as usize);
    let region = heap.region();
    let b = RawBarrier::init_in_place(&region, 0, 2).unwrap();
    one_round_with_a_thread_that_ends(&b);
    // Slot 0 (after the 16-byte header): owner record, then the generation
    // of its last arrival mark, 0; the barrier is in generation 1 now.
    region
        .get::<AtomicU32>(16 + 8)
        .unwrap()
        .store(1, Ordering::Release);
    let start = Instant::now();
    assert!(matches!(
        b.wait_timeout(SECS_10),
        Err(SyncError::BrokenBarrier { parties: 2 })
    ));
    let took = start.elapsed();
    assert!(took < Duration::from_secs(3), "broken after {took:?}");
}

/// The same in a barrier's first round (generation 0, which a slot whose
/// party never counted must not look counted in): the dead thread's
/// registration is copied from a barrier it used into a fresh one, with
/// its arrival marked in generation 0 and never counted.
#[test]
fn a_party_dead_before_its_first_arrival_counted_breaks_the_first_round() {
    let size = RawBarrier::size_for(2);
    let heap = HeapRegion::new(2 * size as usize);
    let region = heap.region();
    let used = RawBarrier::init_in_place(&region, 0, 2).unwrap();
    let fresh = RawBarrier::init_in_place(&region, size, 2).unwrap();
    one_round_with_a_thread_that_ends(&used);
    // Slot 0 of each: owner record (8 bytes), marked and counted
    // generations (0 and 0 in the fresh barrier, as they stay until the
    // party counts).
    let owner = region.get::<AtomicU64>(16).unwrap().load(Ordering::Acquire);
    assert_ne!(owner, 0);
    region
        .get::<AtomicU64>(size + 16)
        .unwrap()
        .store(owner, Ordering::Release);
    let start = Instant::now();
    assert!(matches!(
        fresh.wait_timeout(SECS_10),
        Err(SyncError::BrokenBarrier { parties: 2 })
    ));
    let took = start.elapsed();
    assert!(took < Duration::from_secs(3), "broken after {took:?}");
}
