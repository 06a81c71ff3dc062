//! The raw primitives between threads, on heap memory: the same futex
//! protocols the segment-backed types run, small enough for miri. Data the
//! primitives guard or hand over is a plain, non-atomic cell, so miri's
//! race detector checks that each primitive orders it (an unlock before the
//! next lock, a `set` before the return of `wait`, one barrier round before
//! the next). CI runs this file under miri with several seeds, each
//! scheduling the threads and picking stale values of weak memory
//! differently; `cargo test` runs it with more rounds.
#![cfg(not(loom))]

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use mproc_sync::{
    BarrierHeader, PartySlot, RawBarrier, RawCondition, RawEvent, RawLock, RawRLock, RawSemaphore,
    TryLockError, WaitOutcome, WaitWord,
};

/// Rounds per test: miri interprets every instruction.
const ROUNDS: u32 = if cfg!(miri) { 12 } else { 2_000 };
/// A bound on every wait, so that a lost wake fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(60);

/// A value the primitives under test must order; touching it without
/// their ordering is a data race (miri reports it).
struct Guarded<T>(UnsafeCell<T>);

// SAFETY: every access goes through `with`, whose callers hold the
// primitive under test; that the primitive really excludes or orders them
// is what these tests check (miri's race detector reports it if not).
unsafe impl<T: Send> Sync for Guarded<T> {}

impl<T> Guarded<T> {
    fn new(value: T) -> Guarded<T> {
        Guarded(UnsafeCell::new(value))
    }

    /// Runs `f` on the value. The caller holds the primitive that orders
    /// this access against the other threads' accesses.
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: see the `Sync` impl: the caller's primitive makes this
        // access exclusive; if it does not, the test is meant to catch it.
        f(unsafe { &mut *self.0.get() })
    }

    /// The value, read through a shared reference (reads may overlap
    /// other reads). The caller holds the primitive that orders it after
    /// the last write.
    fn get(&self) -> T
    where
        T: Copy,
    {
        // SAFETY: as for `with`, for a read.
        unsafe { *self.0.get() }
    }
}

fn deadline() -> Option<Instant> {
    Some(Instant::now() + PATIENCE)
}

/// Runs `round` [`ROUNDS`] times on each of `threads` threads at once.
fn on_threads(threads: usize, round: impl Fn() + Sync) {
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| (0..ROUNDS).for_each(|_| round()));
        }
    });
}

#[test]
fn raw_lock_orders_plain_writes_between_threads() {
    let lock = RawLock::new();
    let counter = Guarded::new(0u32);
    on_threads(3, || {
        let _g = lock.lock_until(deadline()).expect("lock");
        counter.with(|c| *c += 1);
    });
    let _g = lock.lock().unwrap();
    assert_eq!(counter.with(|c| *c), 3 * ROUNDS);
}

#[test]
fn raw_lock_left_by_an_exited_thread_reports_owner_death() {
    let lock = RawLock::new();
    let data = Guarded::new(0u32);
    std::thread::scope(|s| {
        s.spawn(|| {
            let g = lock.lock().unwrap();
            data.with(|d| *d = 7);
            // The thread ends holding the lock.
            std::mem::forget(g);
        });
    });
    match lock.lock_until(deadline()) {
        Err(TryLockError::OwnerDied(g)) => {
            assert_eq!(data.with(|d| *d), 7, "the dead holder's writes are visible");
            drop(g);
        }
        Err(e) => panic!("the dead holder was not found: {e}"),
        Ok(_) => panic!("a lock left by a dead thread must say so"),
    }
}

#[test]
fn raw_lock_left_by_an_exited_thread_is_taken_over_by_a_wait_that_is_already_due() {
    let lock = RawLock::new();
    std::thread::scope(|s| {
        s.spawn(|| std::mem::forget(lock.lock().unwrap()));
    });
    // A joined thread may still be on its way out of the kernel: wait
    // until /proc no longer lists it, as a later caller would find it.
    let tid = lock.owner().expect("held by the exited thread");
    let gone_by = Instant::now() + PATIENCE;
    while std::path::Path::new(&format!("/proc/{tid}")).exists() {
        assert!(Instant::now() < gone_by, "thread {tid} never left /proc");
        std::thread::sleep(Duration::from_millis(1));
    }
    // Shorter than the first check that the holder lives: the check is
    // made anyway before the wait gives up.
    match lock.lock_until(Some(Instant::now())) {
        Err(TryLockError::OwnerDied(g)) => drop(g),
        other => panic!("expected the dead holder's lock, got {other:?}"),
    }
}

#[test]
fn raw_rlock_nests_and_excludes() {
    let lock = RawRLock::new();
    let counter = Guarded::new(0u32);
    on_threads(2, || {
        let _outer = lock.lock_until(deadline()).expect("lock");
        let _inner = lock.lock().expect("re-entry");
        counter.with(|c| *c += 1);
    });
    assert_eq!(counter.with(|c| *c), 2 * ROUNDS);
    assert!(!lock.is_locked());
}

#[test]
fn raw_condition_hands_items_over_in_order() {
    let cond = RawCondition::new();
    let queue = Guarded::new(std::collections::VecDeque::new());
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..ROUNDS {
                let _g = cond.lock().unwrap();
                queue.with(|q| q.push_back(i));
                cond.notify(1);
            }
        });
        for want in 0..ROUNDS {
            let g = cond.lock().unwrap();
            let (g, r) = cond
                .wait_timeout_while(g, PATIENCE, || queue.with(|q| q.is_empty()))
                .unwrap();
            assert!(!r.timed_out(), "item {want} never came");
            assert_eq!(queue.with(|q| q.pop_front()), Some(want));
            drop(g);
        }
    });
}

#[test]
fn raw_semaphore_admits_at_most_its_value() {
    let sem = RawSemaphore::new(2, Some(2)).unwrap();
    let inside = AtomicU32::new(0);
    on_threads(3, || {
        assert!(sem.acquire_until(deadline()), "acquire timed out");
        let n = inside.fetch_add(1, Ordering::Relaxed) + 1;
        assert!(n <= 2, "{n} threads inside a semaphore of 2");
        inside.fetch_sub(1, Ordering::Relaxed);
        sem.release().unwrap();
    });
    assert_eq!(sem.value(), 2);
}

#[test]
fn raw_event_publishes_what_was_written_before_set() {
    let event = RawEvent::new();
    let message = Guarded::new(0u32);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                assert!(event.wait_until(deadline()), "never set");
                assert_eq!(message.get(), 42);
            });
        }
        message.with(|m| *m = 42);
        event.set();
    });
}

#[test]
fn raw_barrier_orders_each_round() {
    const PARTIES: usize = 3;
    let header = BarrierHeader::new(PARTIES as u32);
    let slots = [PartySlot::new(), PartySlot::new(), PartySlot::new()];
    let barrier = RawBarrier::from_parts(&header, &slots).unwrap();
    let cells: [Guarded<u32>; PARTIES] = std::array::from_fn(|_| Guarded::new(0));
    let rounds = ROUNDS.min(200);
    std::thread::scope(|s| {
        for me in 0..PARTIES {
            let (barrier, cells) = (&barrier, &cells);
            s.spawn(move || {
                for round in 1..=rounds {
                    cells[me].with(|c| *c = round);
                    barrier.wait_timeout(PATIENCE).expect("write phase");
                    for cell in cells {
                        assert_eq!(cell.get(), round);
                    }
                    barrier.wait_timeout(PATIENCE).expect("read phase");
                }
            });
        }
    });
}

#[test]
fn wait_word_ping_pong() {
    let word = WaitWord::new(0);
    let rounds = ROUNDS.min(200);
    let turn = |mine: u32, next: u32| {
        for _ in 0..rounds {
            loop {
                let now = word.value().load(Ordering::Acquire);
                if now == mine {
                    break;
                }
                let outcome = word.wait_while(now, deadline());
                assert_ne!(outcome, WaitOutcome::TimedOut, "lost wake");
            }
            word.value().store(next, Ordering::Release);
            word.wake_one();
        }
    };
    std::thread::scope(|s| {
        s.spawn(|| turn(1, 0));
        turn(0, 1);
    });
}
