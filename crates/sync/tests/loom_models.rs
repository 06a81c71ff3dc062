//! Loom models of the state machines of Event, Semaphore, Barrier,
//! Condition and the robust lock, over the loom stand-in for the futex (see `LoomFutex`): a
//! lost wake-up is a deadlock loom reports, a broken invariant a panic.
//!
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p mproc-sync --release --test loom_models`
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicU32, Ordering};
use loom::thread;
use mproc_sync::{
    BarrierHeader, PartySlot, RawBarrier, RawCondition, RawEvent, RawLock, RawSemaphore,
};

#[test]
fn event_set_wakes_every_waiter() {
    loom::model(|| {
        let ev = Arc::new(RawEvent::new());
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let ev = Arc::clone(&ev);
                thread::spawn(move || assert!(ev.wait()))
            })
            .collect();
        ev.set();
        for w in waiters {
            w.join().unwrap();
        }
    });
}

/// A waiter that slept through a set that was cleared again still returns
/// (it sees the set count move); one that came after the clear waits for
/// the second set. Either way it returns `true`.
#[test]
fn event_set_clear_set_releases_the_waiter() {
    loom::model(|| {
        let ev = Arc::new(RawEvent::new());
        let ev2 = Arc::clone(&ev);
        let waiter = thread::spawn(move || assert!(ev2.wait()));
        ev.set();
        ev.clear();
        ev.set();
        waiter.join().unwrap();
    });
}

#[test]
fn semaphore_hands_one_unit_at_a_time() {
    loom::model(|| {
        let sem = Arc::new(RawSemaphore::new(1, Some(1)).unwrap());
        let inside = Arc::new(AtomicU32::new(0));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (sem, inside) = (Arc::clone(&sem), Arc::clone(&inside));
                thread::spawn(move || {
                    sem.acquire();
                    assert_eq!(inside.fetch_add(1, Ordering::Relaxed), 0);
                    inside.fetch_sub(1, Ordering::Relaxed);
                    sem.release().unwrap();
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(sem.value(), 1);
        assert!(sem.release().is_err());
    });
}

#[test]
fn semaphore_release_wakes_a_sleeper() {
    loom::model(|| {
        let sem = Arc::new(RawSemaphore::new(0, None).unwrap());
        let sem2 = Arc::clone(&sem);
        let taker = thread::spawn(move || sem2.acquire());
        sem.release().unwrap();
        taker.join().unwrap();
        assert_eq!(sem.value(), 0);
    });
}

#[test]
fn barrier_releases_both_parties_with_distinct_indices() {
    loom::model(|| {
        let header = Arc::new(BarrierHeader::new(2));
        let slots = Arc::new([PartySlot::new(), PartySlot::new()]);
        let (h2, s2) = (Arc::clone(&header), Arc::clone(&slots));
        let other = thread::spawn(move || {
            RawBarrier::from_parts(&h2, &s2[..])
                .unwrap()
                .wait()
                .unwrap()
        });
        let b = RawBarrier::from_parts(&header, &slots[..]).unwrap();
        let mine = b.wait().unwrap();
        let theirs = other.join().unwrap();
        assert_eq!(mine + theirs, 1);
        assert!(!b.broken());
    });
}

#[test]
fn barrier_abort_breaks_a_waiter() {
    loom::model(|| {
        let header = Arc::new(BarrierHeader::new(2));
        let slots = Arc::new([PartySlot::new(), PartySlot::new()]);
        let (h2, s2) = (Arc::clone(&header), Arc::clone(&slots));
        let waiter = thread::spawn(move || RawBarrier::from_parts(&h2, &s2[..]).unwrap().wait());
        RawBarrier::from_parts(&header, &slots[..]).unwrap().abort();
        assert!(waiter.join().unwrap().is_err());
    });
}

#[test]
fn lock_excludes_and_hands_over() {
    loom::model(|| {
        let lock = Arc::new(RawLock::new());
        let inside = Arc::new(AtomicU32::new(0));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (lock, inside) = (Arc::clone(&lock), Arc::clone(&inside));
                thread::spawn(move || {
                    let _g = lock.lock().unwrap();
                    assert_eq!(inside.fetch_add(1, Ordering::Relaxed), 0);
                    inside.fetch_sub(1, Ordering::Relaxed);
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        assert!(!lock.is_locked());
    });
}

/// A waiter that waits for a flag set under the lock, then notified once:
/// whatever the interleaving, it takes the notification (or sees the flag
/// first) and returns; a lost notification would leave it asleep.
#[test]
fn condition_notify_reaches_a_waiter() {
    loom::model(|| {
        let cond = Arc::new(RawCondition::new());
        let flag = Arc::new(AtomicU32::new(0));
        let (c, f) = (Arc::clone(&cond), Arc::clone(&flag));
        let waiter = thread::spawn(move || {
            let g = c.lock().unwrap();
            let _g = c.wait_while(g, || f.load(Ordering::Relaxed) == 0).unwrap();
        });
        let g = cond.lock().unwrap();
        flag.store(1, Ordering::Relaxed);
        cond.notify(1);
        drop(g);
        waiter.join().unwrap();
    });
}

/// Two items handed to two waiters by two `notify(1)`: each notification
/// ends one wait, none is lost to the other waiter, both waiters finish.
#[test]
fn condition_two_notify_ones_end_two_waits() {
    loom::model(|| {
        let cond = Arc::new(RawCondition::new());
        let items = Arc::new(AtomicU32::new(0));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let (c, items) = (Arc::clone(&cond), Arc::clone(&items));
                thread::spawn(move || {
                    let g = c.lock().unwrap();
                    let _g = c
                        .wait_while(g, || items.load(Ordering::Relaxed) == 0)
                        .unwrap();
                    items.fetch_sub(1, Ordering::Relaxed);
                })
            })
            .collect();
        for _ in 0..2 {
            let g = cond.lock().unwrap();
            items.fetch_add(1, Ordering::Relaxed);
            cond.notify(1);
            drop(g);
        }
        for w in waiters {
            w.join().unwrap();
        }
    });
}
