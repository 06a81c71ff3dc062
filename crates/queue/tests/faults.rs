//! Bad input and bad segments: oversize messages, the wrong kind, corrupt
//! headers and garbage written over a live queue give errors, never a
//! panic, an out-of-bounds access or a hang; nor do huge timeouts or a
//! panicking callback.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use mproc_queue::{JoinableQueue, Queue, QueueError, QueueOptions, SpscQueue, WaitStrategy};
use mproc_shm::{Segment, SegmentKind, ShmError};

/// Offset of the layout parameters in a segment header.
const PARAMS: u64 = 48;

#[test]
fn oversize_messages_are_refused_and_change_nothing() {
    let q = Queue::new(QueueOptions::new().capacity(4).slot_size(8)).unwrap();
    let mut tx = q.producer().unwrap();
    let mut rx = q.consumer().unwrap();
    for len in [9usize, 100, 70_000] {
        let err = tx.send(&vec![1; len]).unwrap_err();
        assert!(
            matches!(err, QueueError::TooLarge { len: l, max: 8 } if l == len),
            "{err:?}"
        );
    }
    assert!(matches!(
        tx.try_send_batch(&[vec![0u8; 9]]),
        Err(QueueError::TooLarge { len: 9, max: 8 })
    ));
    assert_eq!(q.len(), 0);
    assert_eq!(q.stats().sent, 0);
    tx.send(&[7; 8]).unwrap();
    assert_eq!(rx.recv().unwrap(), [7; 8]);
    // A batch stops at the first oversized message; those before it go.
    let err = tx
        .try_send_batch(&[vec![1u8], vec![2u8; 9], vec![3u8]])
        .unwrap_err();
    assert!(matches!(err, QueueError::TooLarge { len: 9, max: 8 }));
    assert_eq!(rx.recv().unwrap(), [1]);
    assert!(matches!(rx.try_recv(), Err(QueueError::Empty)));
    let big = Queue::new(QueueOptions::new().slot_size(65_536)).unwrap();
    let err = big.producer().unwrap().send(&vec![0; 70_000]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "message of 70000 bytes is larger than the slot size 65536"
    );
}

#[test]
fn invalid_options_are_refused() {
    assert!(matches!(
        Queue::new(QueueOptions::new().capacity(0)),
        Err(QueueError::InvalidOptions {
            option: "capacity",
            ..
        })
    ));
    assert!(matches!(
        Queue::new(QueueOptions::new().slot_size(1 << 31)),
        Err(QueueError::InvalidOptions {
            option: "slot_size",
            ..
        })
    ));
    assert!(matches!(
        SpscQueue::new(QueueOptions::new().max_handles(0)),
        Err(QueueError::InvalidOptions {
            option: "max_handles",
            ..
        })
    ));
}

#[test]
fn wrong_kind_is_refused() {
    let _s = SpscQueue::create("faults-kind", QueueOptions::new()).unwrap();
    let err = Queue::open("faults-kind").unwrap_err();
    assert!(
        matches!(
            err,
            QueueError::Shm(ShmError::WrongKind {
                found: SegmentKind::SpscQueue,
                expected: SegmentKind::Queue
            })
        ),
        "{err:?}"
    );
    let _d = Segment::builder(SegmentKind::Dict, 64)
        .create("faults-kind-dict")
        .unwrap();
    assert!(matches!(
        SpscQueue::open("faults-kind-dict"),
        Err(QueueError::Shm(ShmError::WrongKind { .. }))
    ));
}

#[test]
fn corrupt_header_parameters_are_errors() {
    let cases: [(usize, u64, &str); 7] = [
        (0, 0x1234, "layout tag"),
        (1, 9, "flavor"),
        (2, 7, "capacity"),
        (2, 0, "capacity"),
        (3, u64::MAX, "slot_size"),
        (4, 0, "max_handles"),
        (6, 3, "areas"),
    ];
    for (i, (param, value, field)) in cases.into_iter().enumerate() {
        let name = format!("faults-header-{i}");
        let q = Queue::create(&name, QueueOptions::new().capacity(8).slot_size(16)).unwrap();
        let raw = Segment::open(&name).unwrap();
        raw.region()
            .write_pod(PARAMS + 8 * param as u64, &value)
            .unwrap();
        let err = Queue::open(&name).unwrap_err();
        assert!(
            matches!(&err, QueueError::Corrupt { field: f, .. } if *f == field),
            "param {param} = {value:#x}: {err:?}"
        );
        drop(q);
    }
    // A capacity that is valid but larger than the segment.
    let q = Queue::create(
        "faults-header-len",
        QueueOptions::new().capacity(8).slot_size(16),
    )
    .unwrap();
    let raw = Segment::open("faults-header-len").unwrap();
    raw.region().write_pod(PARAMS + 16, &(1u64 << 20)).unwrap();
    assert!(matches!(
        Queue::open("faults-header-len"),
        Err(QueueError::Corrupt {
            field: "payload length",
            ..
        })
    ));
    drop(q);
}

/// xorshift64.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn exercise(tx: &mut mproc_queue::Producer, rx: &mut mproc_queue::Consumer) {
    let ms = Duration::from_millis(1);
    let _ = tx.try_send(b"x");
    let _ = tx.send_timeout(b"y", ms);
    let _ = tx.try_send_batch(&[b"a", b"b"]);
    if let Ok(mut slot) = tx.try_loan() {
        slot[0] = 1;
        let _ = slot.commit(1);
    }
    let _ = rx.try_recv();
    let _ = rx.recv_timeout(ms);
    let _ = rx.try_recv_into(&mut [0u8; 64]);
    let _ = rx.try_recv_batch(8, |m| assert!(m.len() <= 32));
    if let Ok(m) = rx.try_recv_ref() {
        assert!(m.len() <= 32);
    }
    let _ = rx.poll(Some(Duration::ZERO));
    let s = rx.stats();
    assert!(s.depth <= s.capacity);
}

#[test]
fn garbage_over_a_live_queue_is_an_error_not_ub() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..60 {
        let spsc = round % 2 == 0;
        let name = format!("faults-garbage-{round}");
        let opts = QueueOptions::new().capacity(8).slot_size(32).max_handles(4);
        let (mut tx, mut rx, _keep): (_, _, Box<dyn std::any::Any>) = if spsc {
            let q = SpscQueue::create(&name, opts).unwrap();
            (q.producer().unwrap(), q.consumer().unwrap(), Box::new(q))
        } else {
            let q = Queue::create(&name, opts).unwrap();
            (q.producer().unwrap(), q.consumer().unwrap(), Box::new(q))
        };
        for i in 0..5u8 {
            tx.send(&[i; 3]).unwrap();
        }
        let raw = Segment::open(&name).unwrap();
        let payload = raw.payload();
        // Overwrite a few random 8-byte words of the payload (index lines,
        // records, slot headers) with random values or small offsets.
        for _ in 0..1 + next(&mut seed) % 6 {
            let off = (next(&mut seed) % (payload.len() as u64 / 8)) * 8;
            let value = match next(&mut seed) % 3 {
                0 => next(&mut seed),
                1 => next(&mut seed) % 64,
                _ => u64::MAX - next(&mut seed) % 4,
            };
            payload.write_pod(off, &value).unwrap();
        }
        for _ in 0..4 {
            exercise(&mut tx, &mut rx);
        }
    }
}

#[test]
fn corrupt_tail_reports_corrupt() {
    // The fast path never reads the producers' tail; a blocked receive
    // checks it within one check interval.
    let q = Queue::create("faults-tail", QueueOptions::new().capacity(8).slot_size(8)).unwrap();
    let mut tx = q.producer().unwrap();
    let mut rx = q.consumer().unwrap();
    tx.send(b"a").unwrap();
    let raw = Segment::open("faults-tail").unwrap();
    raw.payload().write_pod(0, &(1u64 << 40)).unwrap(); // the tail
    rx.recv().unwrap(); // the message at the head is still good
    let err = rx.recv_timeout(Duration::from_secs(5)).unwrap_err();
    assert!(
        matches!(err, QueueError::Corrupt { field: "tail", .. }),
        "{err:?}"
    );

    let s = SpscQueue::create(
        "faults-tail-spsc",
        QueueOptions::new().capacity(8).slot_size(8),
    )
    .unwrap();
    let mut tx = s.producer().unwrap();
    let mut rx = s.consumer().unwrap();
    tx.send(b"a").unwrap();
    let raw = Segment::open("faults-tail-spsc").unwrap();
    raw.payload().write_pod(0, &(1u64 << 40)).unwrap();
    rx.recv().unwrap();
    let err = rx.recv_timeout(Duration::from_secs(5)).unwrap_err();
    assert!(
        matches!(err, QueueError::Corrupt { field: "tail", .. }),
        "{err:?}"
    );
}

/// An SPSC producer killed between stamping a slot and counting it in the
/// tail: the message is delivered, and `stats` counts it as sent (found
/// by the torture suite: `sent` one below `received`).
#[test]
fn spsc_stats_count_a_stamped_slot_the_tail_missed() {
    let s = SpscQueue::create(
        "faults-uncounted-spsc",
        QueueOptions::new().capacity(8).slot_size(8),
    )
    .unwrap();
    let mut tx = s.producer().unwrap();
    let mut rx = s.consumer().unwrap();
    for m in [b"a", b"b", b"c"] {
        tx.send(m).unwrap();
    }
    let raw = Segment::open("faults-uncounted-spsc").unwrap();
    raw.payload().write_pod(0, &2u64).unwrap(); // the tail, one short
    for m in [b"a", b"b", b"c"] {
        assert_eq!(rx.recv().unwrap(), m);
    }
    let st = s.stats();
    assert_eq!((st.sent, st.received, st.depth), (3, 3, 0));
}

#[test]
fn queues_and_handles_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Queue>();
    send_sync::<SpscQueue>();
    send_sync::<mproc_queue::JoinableQueue>();
    send::<mproc_queue::Producer>();
    send::<mproc_queue::Consumer>();
    send::<mproc_queue::Connection>();
    // A producer thread and a consumer thread on one queue.
    let q = Queue::new(QueueOptions::new().capacity(4).slot_size(8)).unwrap();
    let mut tx = q.producer().unwrap();
    let t = std::thread::spawn(move || {
        for i in 0..1000u64 {
            tx.send_pod(&i).unwrap();
        }
    });
    let mut rx = q.consumer().unwrap();
    for i in 0..1000u64 {
        assert_eq!(rx.recv_pod::<u64>().unwrap(), i);
    }
    t.join().unwrap();
}

/// Timeouts too large to add to the clock (`Duration::MAX`, "practically
/// forever") mean no deadline, in every blocking call and spin window.
#[test]
fn huge_timeouts_mean_no_deadline() {
    let q = JoinableQueue::new(QueueOptions::new().capacity(4).slot_size(8)).unwrap();
    let mut tx = q.producer().unwrap();
    let mut rx = q.consumer().unwrap();
    tx.send_timeout(b"a", Duration::MAX).unwrap();
    assert!(rx.poll(Some(Duration::MAX)).unwrap());
    assert_eq!(rx.recv_timeout(Duration::MAX).unwrap(), b"a");
    q.task_done().unwrap();
    q.join_timeout(Duration::MAX).unwrap();
    let q = Queue::new(QueueOptions::new().wait(WaitStrategy::SpinThenPark {
        spin: Duration::MAX,
    }))
    .unwrap();
    let _tx = q.producer().unwrap();
    let mut rx = q.consumer().unwrap();
    assert!(matches!(
        rx.recv_timeout(Duration::from_millis(5)),
        Err(QueueError::Timeout { .. })
    ));
}

/// A timeout bounds the whole receive, even when a slot that woke the
/// receiver turns out to be skipped (a loan dropped without commit): the
/// wait goes on with what is left of the timeout, not with a new one.
#[test]
fn a_skipped_slot_does_not_restart_the_timeout() {
    let q = Queue::new(QueueOptions::new().capacity(4).slot_size(8)).unwrap();
    let mut tx = q.producer().unwrap();
    let mut rx = q.consumer().unwrap();
    let loaned = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(|| {
            let slot = tx.loan().unwrap();
            loaned.wait();
            std::thread::sleep(Duration::from_millis(800));
            drop(slot); // cancelled: the consumer wakes, skips it, waits on
        });
        loaned.wait();
        let start = std::time::Instant::now();
        let r = rx.recv_timeout(Duration::from_secs(1));
        let waited = start.elapsed();
        assert!(matches!(r, Err(QueueError::Timeout { .. })), "{r:?}");
        // 1.8 s if the skip restarted the timeout; the slack is for a
        // loaded machine.
        assert!(
            waited >= Duration::from_secs(1) && waited < Duration::from_millis(1600),
            "waited {waited:?}"
        );
    });
}

/// A panic in `recv_batch`'s callback releases the batch's slots: the
/// queue is not held up by slots that a live handle claimed and dropped.
#[test]
fn a_panicking_batch_callback_releases_its_slots() {
    for mpmc in [true, false] {
        let opts = QueueOptions::new().capacity(2).slot_size(8);
        let (mut tx, mut rx, len): (_, _, Box<dyn Fn() -> usize>) = if mpmc {
            let q = Queue::new(opts).unwrap();
            let (tx, rx) = (q.producer().unwrap(), q.consumer().unwrap());
            (tx, rx, Box::new(move || q.len()))
        } else {
            let q = SpscQueue::new(opts).unwrap();
            let (tx, rx) = (q.producer().unwrap(), q.consumer().unwrap());
            (tx, rx, Box::new(move || q.len()))
        };
        tx.send(b"a").unwrap();
        tx.send(b"b").unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| {
            rx.recv_batch(2, |_| {
                panic!("a failing handler (the test expects this panic)")
            })
        }));
        assert!(r.is_err());
        assert_eq!(len(), 0, "mpmc {mpmc}");
        tx.send_timeout(b"c", Duration::from_secs(5)).unwrap();
        tx.send_timeout(b"d", Duration::from_secs(5)).unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), b"c");
    }
}

/// `send_value` refuses a value too large for a slot at once, even on a
/// full queue (it does not wait for room it could not use).
#[test]
fn an_oversized_value_is_refused_on_a_full_queue() {
    let q = Queue::new(QueueOptions::new().capacity(1).slot_size(8)).unwrap();
    let mut tx = q.producer().unwrap();
    tx.send(b"full").unwrap();
    assert!(matches!(
        tx.send_value(&vec![7u8; 100]),
        Err(QueueError::TooLarge { len: 101, max: 8 })
    ));
    assert_eq!(q.len(), 1);
}
