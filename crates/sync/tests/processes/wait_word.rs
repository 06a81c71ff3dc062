//! WaitWord between processes, in an anonymous segment shared across fork.

use std::sync::atomic::Ordering;
use std::time::Duration;

use mproc_shm::{Segment, SegmentKind};
use mproc_sync::{WaitOutcome, WaitWord};

use crate::harness::{join_all_ok, secs, spawn, wait_until};

/// A child sleeps on a word; the parent changes it and wakes it.
pub(crate) fn wakes_across_processes() {
    let seg = Segment::builder(SegmentKind::Raw, 64)
        .create_anonymous()
        .unwrap();
    let w = seg.payload().get::<WaitWord>(0).unwrap();
    let child = spawn(|| match w.wait_while_spin(0, secs(10), 0) {
        WaitOutcome::Changed if w.value().load(Ordering::Acquire) == 7 => 0,
        _ => 1,
    });
    assert!(wait_until(Duration::from_secs(10), || w.waiters() == 1));
    w.value().store(7, Ordering::Release);
    w.wake_one();
    join_all_ok(&[child], Duration::from_secs(10));
    assert_eq!(w.waiters(), 0);
}

/// Two processes hand a token back and forth 20 000 times, sleeping
/// between turns: a lost wake-up fails a deadline instead of hanging.
pub(crate) fn ping_pong_across_processes() {
    const ROUNDS: u32 = 20_000;
    let seg = Segment::builder(SegmentKind::Raw, 64)
        .create_anonymous()
        .unwrap();
    let w = seg.payload().get::<WaitWord>(0).unwrap();
    let play = move |me: u32| {
        let deadline = secs(30);
        for round in 0..ROUNDS {
            let mine = round * 2 + me;
            loop {
                let now = w.value().load(Ordering::Acquire);
                if now == mine {
                    break;
                }
                if w.wait_while(now, deadline) == WaitOutcome::TimedOut {
                    return 1;
                }
            }
            w.value().store(mine + 1, Ordering::Release);
            w.wake_one();
        }
        0
    };
    let a = spawn(move || play(0));
    let b = spawn(move || play(1));
    join_all_ok(&[a, b], Duration::from_secs(40));
    assert_eq!(w.value().load(Ordering::Relaxed), ROUNDS * 2);
}
