//! Loom model of WaitWord's lost-wake-up freedom: the waker skips the
//! system call when it sees no waiter, and the model's futex only wakes a
//! sleeper that a wake reaches, so a lost wake-up is a deadlock loom finds.
//!
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p mproc-sync --release --test loom_wait_word`
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::Ordering;
use mproc_sync::{WaitOutcome, WaitWord};

#[test]
fn wake_after_store_is_never_lost() {
    loom::model(|| {
        let w = Arc::new(WaitWord::new(0));
        let w2 = Arc::clone(&w);
        let waiter = loom::thread::spawn(move || {
            while w2.value().load(Ordering::Acquire) == 0 {
                assert_eq!(w2.wait_while(0, None), WaitOutcome::Changed);
            }
        });
        w.value().store(1, Ordering::Release);
        w.wake_one();
        waiter.join().unwrap();
        assert_eq!(w.waiters(), 0);
    });
}

#[test]
fn two_waiters_one_broadcast() {
    loom::model(|| {
        let w = Arc::new(WaitWord::new(0));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let w = Arc::clone(&w);
                loom::thread::spawn(move || {
                    while w.value().load(Ordering::Acquire) == 0 {
                        w.wait_while(0, None);
                    }
                })
            })
            .collect();
        w.value().store(1, Ordering::Release);
        w.wake_all();
        for t in waiters {
            t.join().unwrap();
        }
    });
}
