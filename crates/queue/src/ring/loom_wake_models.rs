//! Loom models of the wake-up protocol: a handle that found nothing
//! sleeps on a [`Waiter`] (sleeper count, fence, re-check, futex), and the
//! peer that makes its condition true notifies (fence, sleeper count,
//! bump and wake). The model's futex only wakes a sleeper a wake reaches,
//! so a lost wake-up leaves a thread asleep forever, a deadlock loom
//! reports. Both models fail if either side's fence is removed.
//!
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p mproc-queue --release --lib loom`

use loom::sync::Arc;
use loom::thread;
use mproc_sync::WaitWord;

use super::RingError;
use super::memory::{LoomRing, RingMemory};
use super::mpmc::{self, MpmcReader, MpmcWriter};
use super::spsc::{SpscReader, SpscWriter};
use crate::atomics::{AtomicU32, Ordering};
use crate::waiter::{Attempt, Waiter};

/// A ring of one slot and the waiter its blocked side sleeps on.
struct Shared {
    ring: LoomRing,
    word: WaitWord,
    sleepers: AtomicU32,
}

impl Shared {
    fn new(mpmc_layout: bool) -> Arc<Shared> {
        let s = Shared {
            ring: LoomRing::new(1, 1),
            word: WaitWord::new(0),
            sleepers: AtomicU32::new(0),
        };
        if mpmc_layout {
            mpmc::init(&s.ring);
        }
        Arc::new(s)
    }

    fn waiter(&self) -> Waiter<'_> {
        Waiter {
            word: &self.word,
            sleepers: &self.sleepers,
            tag: 1,
            mark: None,
        }
    }
}

/// Maps a ring attempt onto the blocking loop's terms.
fn attempt<T>(r: Result<T, RingError>) -> crate::Result<Attempt<T>> {
    match r {
        Ok(v) => Ok(Attempt::Ready(v)),
        Err(RingError::Empty | RingError::Full { .. } | RingError::Stalled { .. }) => {
            Ok(Attempt::Wait)
        }
        Err(e) => panic!("{e:?}"),
    }
}

#[test]
fn loom_sleeping_consumer_is_woken_by_a_send() {
    loom::model(|| {
        let s = Shared::new(false);
        let p = Arc::clone(&s);
        let producer = thread::spawn(move || {
            let mut w = SpscWriter::new(&p.ring);
            w.try_reserve(1).unwrap();
            // SAFETY: position 0 is reserved; loom checks exclusivity.
            unsafe { p.ring.write(0, &[7]) };
            p.ring.len(0).store(1, Ordering::Relaxed);
            w.publish(1);
            p.waiter().notify(1);
        });
        let mut r = SpscReader::new(&s.ring);
        let span = loop {
            if let Ok(span) = r.try_claim(1) {
                break span;
            }
            if let Some(span) = s
                .waiter()
                .sleep_unless(None, || attempt(r.try_claim(1)))
                .unwrap()
            {
                break span;
            }
        };
        // SAFETY: claimed; loom checks that the write happened before.
        assert_eq!(unsafe { s.ring.read(span.pos, 1, |b| b[0]) }, 7);
        r.release(1);
        producer.join().unwrap();
    });
}

#[test]
fn loom_sleeping_producer_is_woken_by_a_release() {
    loom::model(|| {
        let s = Shared::new(true);
        // Full: one message in the one slot.
        let w = MpmcWriter::new(&s.ring);
        let first = w.try_reserve(1, None).unwrap();
        w.publish(first);
        let c = Arc::clone(&s);
        let consumer = thread::spawn(move || {
            let r = MpmcReader::new(&c.ring);
            let span = r.try_claim(1, None).unwrap();
            r.release(span);
            c.waiter().notify(1);
        });
        let span = loop {
            if let Ok(span) = w.try_reserve(1, None) {
                break span;
            }
            if let Some(span) = s
                .waiter()
                .sleep_unless(None, || attempt(w.try_reserve(1, None)))
                .unwrap()
            {
                break span;
            }
        };
        assert_eq!(span.pos, 1);
        w.publish(span);
        consumer.join().unwrap();
    });
}
