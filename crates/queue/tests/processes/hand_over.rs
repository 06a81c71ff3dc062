//! Queue ends that a forked child's body captured: the parent drops its
//! copy as `Process::start` does, and the ends stay attached for the child
//! instead of being unregistered under the parent.

use std::time::{Duration, Instant};

use mproc_queue::{Consumer, Producer, Queue, QueueError, QueueOptions, SpscQueue};
use mproc_sys::{Signal, kill};

use crate::support::{Shared, fork_handing_over, wait_child};

/// Runs `test` on the two ends of an MPMC queue, then of an SPSC queue,
/// both of `capacity` slots.
fn on_both_kinds(capacity: u64, test: fn(Producer, Consumer)) {
    let opts = QueueOptions::new().capacity(capacity).slot_size(8);
    let q = Queue::new(opts).unwrap();
    test(q.producer().unwrap(), q.consumer().unwrap());
    let q = SpscQueue::new(opts).unwrap();
    test(q.producer().unwrap(), q.consumer().unwrap());
}

/// A producer the child's body captured counts as attached while the
/// child has not sent yet, and as gone once the child has ended.
pub(crate) fn a_producer_a_child_captured_stays_attached() {
    on_both_kinds(4, |mut tx, mut rx| {
        let shared = Shared::new(1);
        let s = &shared;
        let child = fork_handing_over(move || {
            s.wait_for(0, 1, Duration::from_secs(10));
            for i in 0..3u8 {
                tx.send(&[i]).unwrap();
            }
            0
        });
        // Unregistered with the parent's copy, the producer would be gone
        // here: `Disconnected` at once.
        let waited = rx.recv_timeout(Duration::from_millis(300));
        assert!(
            matches!(waited, Err(QueueError::Timeout { .. })),
            "{waited:?}"
        );
        shared.add(0, 1);
        for i in 0..3u8 {
            assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), [i]);
        }
        assert_eq!(wait_child(child, Duration::from_secs(5)), 0);
        let after = rx.recv_timeout(Duration::from_secs(5));
        assert!(matches!(after, Err(QueueError::Disconnected)), "{after:?}");
    });
}

/// A consumer the child's body captured counts as attached: a producer on
/// the full queue waits for it, and learns of its end.
pub(crate) fn a_consumer_a_child_captured_stays_attached() {
    on_both_kinds(2, |mut tx, mut rx| {
        let shared = Shared::new(1);
        let s = &shared;
        let child = fork_handing_over(move || {
            s.wait_for(0, 1, Duration::from_secs(10));
            for i in 0..4u8 {
                assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), [i]);
            }
            0
        });
        tx.send(&[0]).unwrap();
        tx.send(&[1]).unwrap();
        let waited = tx.send_timeout(&[2], Duration::from_millis(300));
        assert!(
            matches!(waited, Err(QueueError::Timeout { .. })),
            "{waited:?}"
        );
        shared.add(0, 1);
        tx.send_timeout(&[2], Duration::from_secs(5)).unwrap();
        tx.send_timeout(&[3], Duration::from_secs(5)).unwrap();
        assert_eq!(wait_child(child, Duration::from_secs(5)), 0);
        // Nobody consumes now: two fit, the third learns it.
        let err = (0..3u8).find_map(|i| tx.send_timeout(&[i], Duration::from_secs(5)).err());
        assert!(matches!(err, Some(QueueError::Disconnected)), "{err:?}");
    });
}

/// The record handed over stands for the child even before the child uses
/// its end: a child killed first counts as a producer gone, although the
/// parent that attached the end lives on.
pub(crate) fn a_child_killed_before_using_what_it_captured_is_gone() {
    on_both_kinds(4, |tx, mut rx| {
        let shared = Shared::new(1);
        let s = &shared;
        let child = fork_handing_over(move || {
            let _unused = tx;
            s.hold_until_killed(0)
        });
        shared.wait_for(0, 1, Duration::from_secs(10));
        kill(child, Signal::Kill).unwrap();
        wait_child(child, Duration::from_secs(5));
        let start = Instant::now();
        let got = rx.recv_timeout(Duration::from_secs(5));
        assert!(matches!(got, Err(QueueError::Disconnected)), "{got:?}");
        assert!(start.elapsed() < Duration::from_secs(4));
    });
}

/// An MPMC loan a child's body captured, the producer staying with the
/// parent: the slot is the child's until it commits (a consumer waits for
/// it rather than skipping it), the parent's next send takes the next
/// slot, and both arrive in order. (Given back by the parent's copy as the
/// child started, the slot was skipped as cancelled, and the child's commit
/// then wrote into a slot already passed.)
pub(crate) fn an_mpmc_loan_a_child_captured_is_the_childs_to_commit() {
    let q = Queue::new(QueueOptions::new().capacity(4).slot_size(8)).unwrap();
    let mut tx = q.producer().unwrap();
    let mut rx = q.consumer().unwrap();
    let shared = Shared::new(1);
    let s = &shared;
    let mut loan = tx.loan().unwrap();
    let child = fork_handing_over(move || {
        s.wait_for(0, 1, Duration::from_secs(10));
        loan[0] = 7;
        i32::from(loan.commit(1).is_err())
    });
    tx.send(&[8]).unwrap();
    let early = rx.recv_timeout(Duration::from_millis(300));
    assert!(
        matches!(early, Err(QueueError::Timeout { .. })),
        "{early:?}"
    );
    shared.add(0, 1);
    for want in [7u8, 8] {
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), [want]);
    }
    assert_eq!(wait_child(child, Duration::from_secs(5)), 0);
}

/// A message borrowed in place that a child's body captured, the consumer
/// staying with the parent: the parent's next receive is the message after
/// it, never the same one again.
pub(crate) fn a_message_a_child_captured_is_not_delivered_again() {
    on_both_kinds(4, |mut tx, mut rx| {
        tx.send(&[1]).unwrap();
        tx.send(&[2]).unwrap();
        let msg = rx.recv_ref().unwrap();
        let child = fork_handing_over(move || i32::from(msg[0]));
        assert_eq!(wait_child(child, Duration::from_secs(5)), 1);
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), [2]);
    });
}
