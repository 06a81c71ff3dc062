//! Wakes among several sleeping MPMC handles: a wake spent by a handle
//! that finds its way still blocked (a consumer woken for a message behind
//! a slot still loaned, a producer woken for a slot behind one still held)
//! is passed on once the way clears, so that the other sleeper is woken
//! for what is ready at once, not at its next 20 ms check.
//!
//! Threads, not processes (the wake-ups are the same futex calls); run in
//! this sequential binary so that no other test competes for the cores.
//! Each case runs 10 rounds and looks at the median delay: a missed wake
//! leaves the sleeper to its next check (every 20 ms from the handle's
//! start: 5 ms after the commit with these rounds' pauses), a passed-on
//! wake takes well under a millisecond.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use mproc_queue::{Queue, QueueOptions, WaitStrategy};

const ROUNDS: usize = 10;
/// Below the 5 ms a missed wake costs here, far above a futex wake-up.
const PASSED_ON: Duration = Duration::from_millis(2);

/// The median of `delays`.
fn median(mut delays: Vec<Duration>) -> Duration {
    delays.sort();
    delays[delays.len() / 2]
}

/// Records `t` (ns since the round began) in the first free cell.
fn record(cells: &[AtomicU64; 2], t: u64) {
    if cells[0]
        .compare_exchange(0, t, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        cells[1].store(t, Ordering::SeqCst);
    }
}

/// Waits (bounded) for the second cell, and returns its delay after `from`.
fn second_after(cells: &[AtomicU64; 2], from: u64) -> Duration {
    let deadline = Instant::now() + Duration::from_secs(5);
    while cells[1].load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "the second handle never got through"
        );
        std::thread::sleep(Duration::from_micros(50));
    }
    Duration::from_nanos(cells[1].load(Ordering::SeqCst).saturating_sub(from))
}

/// Two consumers asleep. Producer 1 loans position 0; producer 2 sends
/// position 1 (its wake goes to a consumer that finds position 0 unready
/// and sleeps again); producer 1 commits: one consumer takes position 0,
/// and the other must be woken for position 1.
pub(crate) fn a_consumers_spent_wake_is_passed_on() {
    let mut delays = Vec::new();
    for _ in 0..ROUNDS {
        let q = Queue::new(
            QueueOptions::new()
                .capacity(8)
                .slot_size(8)
                .wait(WaitStrategy::Park),
        )
        .unwrap();
        let (mut p1, mut p2) = (q.producer().unwrap(), q.producer().unwrap());
        let got = [AtomicU64::new(0), AtomicU64::new(0)];
        let epoch = Instant::now();
        let ready = Arc::new(Barrier::new(3));
        std::thread::scope(|s| {
            for _ in 0..2 {
                let mut rx = q.consumer().unwrap();
                let (got, ready) = (&got, Arc::clone(&ready));
                s.spawn(move || {
                    ready.wait();
                    rx.recv_timeout(Duration::from_secs(5)).unwrap();
                    record(got, epoch.elapsed().as_nanos() as u64);
                });
            }
            ready.wait();
            std::thread::sleep(Duration::from_millis(30));
            let mut slot = p1.loan().unwrap();
            slot[0] = 0;
            p2.send(b"1").unwrap();
            std::thread::sleep(Duration::from_millis(5));
            let committed = epoch.elapsed().as_nanos() as u64;
            slot.commit(1).unwrap();
            delays.push(second_after(&got, committed));
        });
    }
    let m = median(delays.clone());
    assert!(m < PASSED_ON, "median {m:?} of {delays:?}");
}

/// The mirror image: two producers asleep on a full queue of two slots.
/// Consumer 1 holds position 0; consumer 2 takes and releases position 1
/// (its wake goes to a producer that finds position 0's slot still held
/// and sleeps again); consumer 1 releases: one producer takes a slot, and
/// the other must be woken for the second.
pub(crate) fn a_producers_spent_wake_is_passed_on() {
    let mut delays = Vec::new();
    for _ in 0..ROUNDS {
        let q = Queue::new(
            QueueOptions::new()
                .capacity(2)
                .slot_size(8)
                .wait(WaitStrategy::Park),
        )
        .unwrap();
        let mut fill = q.producer().unwrap();
        fill.send(b"a").unwrap();
        fill.send(b"b").unwrap();
        let (mut c1, mut c2) = (q.consumer().unwrap(), q.consumer().unwrap());
        let sent = [AtomicU64::new(0), AtomicU64::new(0)];
        let epoch = Instant::now();
        let ready = Arc::new(Barrier::new(3));
        std::thread::scope(|s| {
            for _ in 0..2 {
                let mut tx = q.producer().unwrap();
                let (sent, ready) = (&sent, Arc::clone(&ready));
                s.spawn(move || {
                    ready.wait();
                    tx.send_timeout(b"x", Duration::from_secs(5)).unwrap();
                    record(sent, epoch.elapsed().as_nanos() as u64);
                });
            }
            ready.wait();
            std::thread::sleep(Duration::from_millis(30));
            let held = c1.recv_ref().unwrap();
            drop(c2.recv_ref().unwrap());
            std::thread::sleep(Duration::from_millis(5));
            let released = epoch.elapsed().as_nanos() as u64;
            drop(held);
            delays.push(second_after(&sent, released));
        });
    }
    let m = median(delays.clone());
    assert!(m < PASSED_ON, "median {m:?} of {delays:?}");
}
