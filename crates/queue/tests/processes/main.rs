//! Queues between real processes: ordering and loss under load, producers
//! and consumers killed at random moments, `JoinableQueue::join`, a blocked
//! consumer's CPU time.
//!
//! Sequential `main` (no libtest threads while forking); every wait is
//! bounded and a watchdog kills the children and fails the run if a test
//! hangs. `MPROC_QUEUE_STRESS=1` runs the bigger sizes.

mod hand_over;
mod support;
mod wakes;

use std::time::{Duration, Instant};

use mproc_queue::{JoinableQueue, Queue, QueueError, QueueOptions, SpscQueue, WaitStrategy};
use mproc_sys::{Signal, kill};
use support::{Shared, fork_child, rand_below, stress, wait_child, watchdog};

fn main() {
    let tests: &[(&str, fn())] = &[
        (
            "mpmc_two_producers_two_consumers",
            mpmc_two_producers_two_consumers,
        ),
        ("spsc_one_million_in_order", spsc_one_million_in_order),
        (
            "producer_killed_at_random_moments",
            producer_killed_at_random_moments,
        ),
        ("producer_killed_holding_loan", producer_killed_holding_loan),
        (
            "producer_killed_holding_loan_batch",
            producer_killed_holding_loan_batch,
        ),
        (
            "consumer_killed_holding_slot_mpmc",
            consumer_killed_holding_slot_mpmc,
        ),
        (
            "consumer_killed_holding_slot_spsc",
            consumer_killed_holding_slot_spsc,
        ),
        (
            "close_races_sends_and_loses_no_ok_send",
            close_races_sends_and_loses_no_ok_send,
        ),
        (
            "a_consumers_spent_wake_is_passed_on",
            wakes::a_consumers_spent_wake_is_passed_on,
        ),
        (
            "a_producers_spent_wake_is_passed_on",
            wakes::a_producers_spent_wake_is_passed_on,
        ),
        (
            "pipe_peer_killed_before_replying",
            pipe_peer_killed_before_replying,
        ),
        (
            "pipe_peer_killed_before_receiving",
            pipe_peer_killed_before_receiving,
        ),
        (
            "a_pipe_end_shared_by_a_sender_and_a_receiver",
            a_pipe_end_shared_by_a_sender_and_a_receiver,
        ),
        (
            "joinable_queue_join_waits_for_workers",
            joinable_queue_join_waits_for_workers,
        ),
        (
            "named_queue_between_processes",
            named_queue_between_processes,
        ),
        (
            "blocked_consumer_burns_no_cpu",
            blocked_consumer_burns_no_cpu,
        ),
        (
            "dead_producers_loan_is_skipped_without_long_waits",
            dead_producers_loan_is_skipped_without_long_waits,
        ),
        (
            "consumer_killed_asleep_leaves_the_sleeper_count",
            consumer_killed_asleep_leaves_the_sleeper_count,
        ),
        (
            "a_producer_a_child_captured_stays_attached",
            hand_over::a_producer_a_child_captured_stays_attached,
        ),
        (
            "a_consumer_a_child_captured_stays_attached",
            hand_over::a_consumer_a_child_captured_stays_attached,
        ),
        (
            "a_child_killed_before_using_what_it_captured_is_gone",
            hand_over::a_child_killed_before_using_what_it_captured_is_gone,
        ),
        (
            "an_mpmc_loan_a_child_captured_is_the_childs_to_commit",
            hand_over::an_mpmc_loan_a_child_captured_is_the_childs_to_commit,
        ),
        (
            "a_message_a_child_captured_is_not_delivered_again",
            hand_over::a_message_a_child_captured_is_not_delivered_again,
        ),
    ];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in tests {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let start = Instant::now();
        watchdog::arm(name, Duration::from_secs(if stress() { 600 } else { 60 }));
        let ok = std::panic::catch_unwind(test).is_ok();
        watchdog::disarm();
        support::kill_tracked();
        println!(
            "test {name} ... {} ({:.2?})",
            if ok { "ok" } else { "FAILED" },
            start.elapsed()
        );
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    println!("\n{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}

/// Message: producer id (u64), sequence number (u64).
fn encode(id: u64, seq: u64) -> [u8; 16] {
    let mut m = [0u8; 16];
    m[..8].copy_from_slice(&id.to_le_bytes());
    m[8..].copy_from_slice(&seq.to_le_bytes());
    m
}

fn decode(m: &[u8]) -> (u64, u64) {
    let id = u64::from_le_bytes(m[..8].try_into().unwrap());
    let seq = u64::from_le_bytes(m[8..16].try_into().unwrap());
    (id, seq)
}

fn mpmc_two_producers_two_consumers() {
    let per: u64 = if stress() { 10_000_000 } else { 1_000_000 };
    let q = Queue::new(QueueOptions::new().capacity(1024).slot_size(16)).unwrap();
    // Shared: [0] errors, [1..3] per-consumer counts, then one bit per
    // (producer, seq).
    let words = 4 + 2 * per.div_ceil(64) as usize;
    let shared = Shared::new(words);
    let bit = |id: u64, seq: u64| (4 + (id * per + seq) / 64, (id * per + seq) % 64);
    let mut consumers = Vec::new();
    for c in 0..2u64 {
        consumers.push(fork_child(|| {
            let mut rx = q.consumer().unwrap();
            let mut last = [None::<u64>; 2];
            let mut buf = [0u8; 16];
            let mut n = 0u64;
            loop {
                match rx.recv_into(&mut buf) {
                    Ok(16) => {
                        let (id, seq) = decode(&buf);
                        if id > 1 || seq >= per || last[id as usize].is_some_and(|l| l >= seq) {
                            eprintln!("consumer {c}: got {id}/{seq} after {:?}", last);
                            shared.add(0, 1);
                            continue;
                        }
                        last[id as usize] = Some(seq);
                        let (w, b) = bit(id, seq);
                        if shared.fetch_or(w as usize, 1 << b) & (1 << b) != 0 {
                            shared.add(0, 1); // twice
                        }
                        n += 1;
                    }
                    Ok(len) => {
                        eprintln!("consumer {c}: length {len}");
                        shared.add(0, 1)
                    }
                    Err(QueueError::Disconnected) => break,
                    Err(e) => {
                        eprintln!("consumer {c}: {e}");
                        shared.add(0, 1);
                        break;
                    }
                }
            }
            shared.add(1 + c as usize, n);
            0
        }));
    }
    // Both producers attach before either sends: one finishing before the
    // other attached would rightly end the queue with Disconnected.
    let attached = Shared::new(1);
    let producers: Vec<_> = (0..2u64)
        .map(|id| {
            fork_child(|| {
                let mut tx = q.producer().unwrap();
                attached.add(0, 1);
                attached.wait_for(0, 2, Duration::from_secs(10));
                for seq in 0..per {
                    if tx.send(&encode(id, seq)).is_err() {
                        return 1;
                    }
                }
                0
            })
        })
        .collect();
    for p in producers {
        assert_eq!(
            wait_child(p, Duration::from_secs(120)),
            0,
            "producer failed"
        );
    }
    for c in consumers {
        assert_eq!(wait_child(c, Duration::from_secs(30)), 0, "consumer failed");
    }
    assert_eq!(shared.get(0), 0, "order/duplicate/garbage errors");
    assert_eq!(shared.get(1) + shared.get(2), 2 * per, "none lost");
    for id in 0..2 {
        for seq in (0..per).step_by(997) {
            let (w, b) = bit(id, seq);
            assert_ne!(
                shared.get(w as usize) & (1 << b),
                0,
                "message {id}/{seq} lost"
            );
        }
    }
    let full_words = (2 * per / 64) as usize;
    assert!(
        (4..4 + full_words).all(|w| shared.get(w) == u64::MAX),
        "every bit set"
    );
    println!("    consumers took {} and {}", shared.get(1), shared.get(2));
}

/// `close()` while producers send, SPSC and MPMC rounds alternating:
/// every send that returned `Ok` is received before the consumer gets
/// `Closed`, in order, and the producers end with `Closed`. The close
/// handshake between real processes: loom checks it only with fences,
/// where an MPMC producer relies on its SeqCst tail CAS instead.
fn close_races_sends_and_loses_no_ok_send() {
    let rounds = if stress() { 2000 } else { 200 };
    let mut drained = 0;
    for round in 0..rounds {
        watchdog::rearm(Duration::from_secs(30));
        let mpmc = round % 2 == 1;
        let opts = QueueOptions::new().capacity(16).slot_size(16);
        let spsc = (!mpmc).then(|| SpscQueue::new(opts).unwrap());
        let multi = mpmc.then(|| Queue::new(opts).unwrap());
        let producers: u64 = if mpmc { 2 } else { 1 };
        // Shared: [0] producers attached, [1 + id] sends that returned Ok.
        let shared = Shared::new(3);
        let pids: Vec<i32> = (0..producers)
            .map(|id| {
                fork_child(|| {
                    let mut tx = match (&spsc, &multi) {
                        (Some(q), _) => q.producer().unwrap(),
                        (_, Some(q)) => q.producer().unwrap(),
                        _ => unreachable!(),
                    };
                    shared.add(0, 1);
                    for seq in 0.. {
                        match tx.send(&encode(id, seq)) {
                            Ok(()) => shared.add(1 + id as usize, 1),
                            Err(QueueError::Closed) => return 0,
                            Err(e) => {
                                eprintln!("producer {id}: {e}");
                                return 1;
                            }
                        }
                    }
                    2
                })
            })
            .collect();
        let mut rx = match (&spsc, &multi) {
            (Some(q), _) => q.consumer().unwrap(),
            (_, Some(q)) => q.consumer().unwrap(),
            _ => unreachable!(),
        };
        shared.wait_for(0, producers, Duration::from_secs(10));
        let mut next = [0u64; 2];
        let mut take = |m: Vec<u8>| {
            let (id, seq) = decode(&m);
            assert!(id < producers, "round {round}: producer id {id}");
            assert_eq!(seq, next[id as usize], "round {round}: producer {id} order");
            next[id as usize] += 1;
        };
        for _ in 0..rand_below(40) {
            take(rx.recv_timeout(Duration::from_secs(10)).unwrap());
        }
        match (&spsc, &multi) {
            (Some(q), _) => q.close(),
            (_, Some(q)) => q.close(),
            _ => unreachable!(),
        }
        loop {
            match rx.recv_timeout(Duration::from_secs(10)) {
                Ok(m) => {
                    take(m);
                    drained += 1;
                }
                Err(QueueError::Closed) => break,
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        for pid in pids {
            assert_eq!(wait_child(pid, Duration::from_secs(10)), 0, "round {round}");
        }
        for (id, &received) in next.iter().enumerate().take(producers as usize) {
            assert_eq!(
                received,
                shared.get(1 + id),
                "round {round} ({}): received vs sends that returned Ok, producer {id}",
                if mpmc { "MPMC" } else { "SPSC" }
            );
        }
    }
    println!("    {rounds} rounds, {drained} messages drained after the close");
}

fn spsc_one_million_in_order() {
    let n: u64 = if stress() { 10_000_000 } else { 1_000_000 };
    let q = SpscQueue::new(QueueOptions::new().capacity(1024).slot_size(8)).unwrap();
    let shared = Shared::new(2);
    let consumer = fork_child(|| {
        let mut rx = q.consumer().unwrap();
        let mut expect = 0u64;
        loop {
            let r = rx.recv_batch(256, |m| {
                let v = u64::from_le_bytes(m.try_into().unwrap_or([0xff; 8]));
                if v != expect {
                    shared.add(0, 1);
                }
                expect = v + 1;
            });
            match r {
                Ok(_) => {}
                Err(QueueError::Closed) => break,
                Err(_) => {
                    shared.add(0, 1);
                    break;
                }
            }
        }
        shared.add(1, expect);
        0
    });
    let mut tx = q.producer().unwrap();
    let mut batch = [[0u8; 8]; 64];
    let mut i = 0;
    while i < n {
        let k = (n - i).min(64) as usize;
        for (j, b) in batch[..k].iter_mut().enumerate() {
            *b = (i + j as u64).to_le_bytes();
        }
        tx.send_batch(&batch[..k]).unwrap();
        i += k as u64;
    }
    tx.close();
    assert_eq!(wait_child(consumer, Duration::from_secs(60)), 0);
    assert_eq!(shared.get(0), 0, "out of order");
    assert_eq!(shared.get(1), n, "all received");
}

fn producer_killed_at_random_moments() {
    let rounds = if stress() { 1000 } else { 100 };
    let mut abandoned_total = 0;
    let mut worst = Duration::ZERO;
    for round in 0..rounds {
        // Every wait of a round is bounded by 5-10 s; a round of 2 000
        // hand-offs takes 20 ms idle and up to a second on a loaded machine.
        watchdog::rearm(Duration::from_secs(30));
        let q = Queue::new(QueueOptions::new().capacity(8).slot_size(64)).unwrap();
        let live_msgs = 2000u64;
        // The victim loans, fills slowly and commits, forever.
        let attached = Shared::new(1);
        let victim = fork_child(|| {
            let mut tx = q.producer().unwrap();
            attached.add(0, 1);
            let mut seq = 0u64;
            loop {
                let Ok(mut slot) = tx.loan() else { return 1 };
                slot[..16].copy_from_slice(&encode(0, seq));
                // Hold the loan for a while, so that kills often land here.
                let hold = Instant::now() + Duration::from_micros(rand_below(50));
                while Instant::now() < hold {
                    std::hint::spin_loop();
                }
                if slot.commit(16).is_err() {
                    return 1;
                }
                seq += 1;
            }
        });
        let live = fork_child(|| {
            let mut tx = q.producer().unwrap();
            attached.add(0, 1);
            for seq in 0..live_msgs {
                if tx.send(&encode(1, seq)).is_err() {
                    return 1;
                }
                // Pace it, so that the queue is not always full and the
                // victim spends its time holding loans.
                let until = Instant::now() + Duration::from_micros(5);
                while Instant::now() < until {
                    std::hint::spin_loop();
                }
            }
            0
        });
        // Until both producers are attached, one's end alone would rightly
        // end the queue with Disconnected.
        attached.wait_for(0, 2, Duration::from_secs(10));
        if std::env::var_os("DEBUG_KILL").is_some() {
            println!("round {round}: victim {victim}, live {live}");
        }
        let mut rx = q.consumer().unwrap();
        // Kill once the victim has delivered a random number of messages,
        // after a random delay: it is then mostly holding a loan.
        let kill_after = 1 + rand_below(50);
        let kill_delay = Duration::from_micros(rand_below(60));
        let mut next = [0u64; 2];
        let mut killed_at = None;
        let result = loop {
            if next[0] == kill_after && killed_at.is_none() {
                let until = Instant::now() + kill_delay;
                while Instant::now() < until {
                    std::hint::spin_loop();
                }
                kill(victim, Signal::Kill).unwrap();
                killed_at = Some(Instant::now());
            }
            match rx.recv_timeout(Duration::from_secs(5)) {
                Ok(m) => {
                    let (id, seq) = decode(&m);
                    assert_eq!(
                        seq, next[id as usize],
                        "round {round}: producer {id} in order, none lost"
                    );
                    next[id as usize] += 1;
                }
                Err(e) => break e,
            }
        };
        assert!(
            matches!(result, QueueError::Disconnected),
            "round {round}: ended with {result:?}"
        );
        assert_eq!(next[1], live_msgs, "round {round}: every live message");
        let elapsed = killed_at.map(|t| t.elapsed()).unwrap_or_default();
        worst = worst.max(elapsed);
        let stats = rx.stats();
        if std::env::var_os("DEBUG_KILL").is_some() {
            println!(
                "round {round}: victim sent {} (killed after {kill_after}), stats {stats:?}",
                next[0]
            );
        }
        assert!(
            stats.abandoned <= 1,
            "round {round}: at most the victim's slot"
        );
        abandoned_total += stats.abandoned;
        wait_child(victim, Duration::from_secs(5));
        assert_eq!(wait_child(live, Duration::from_secs(5)), 0);
    }
    println!(
        "    {rounds} rounds, {abandoned_total} abandoned slots skipped, slowest end {worst:.2?}"
    );
    // How many kills land between loan and commit depends on scheduling;
    // `producer_killed_holding_loan` covers that case deterministically.
}

fn producer_killed_holding_loan() {
    let q = Queue::new(QueueOptions::new().capacity(8).slot_size(16)).unwrap();
    let shared = Shared::new(1);
    let holder = fork_child(|| {
        let mut tx = q.producer().unwrap();
        let _slot = tx.loan().unwrap();
        shared.hold_until_killed(0)
    });
    shared.wait_for(0, 1, Duration::from_secs(10));
    let mut tx = q.producer().unwrap();
    for seq in 0..5 {
        tx.send(&encode(1, seq)).unwrap();
    }
    let mut rx = q.consumer().unwrap();
    assert!(
        matches!(rx.try_recv(), Err(QueueError::Empty)),
        "stalled behind the loan"
    );
    kill(holder, Signal::Kill).unwrap();
    let killed = Instant::now();
    let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let skipped_after = killed.elapsed();
    assert_eq!(decode(&first), (1, 0));
    for seq in 1..5 {
        assert_eq!(decode(&rx.recv().unwrap()), (1, seq));
    }
    assert_eq!(q.stats().abandoned, 1);
    println!("    dead producer's slot skipped {skipped_after:.2?} after the kill");
    // Tens of milliseconds here (the checks run every 20 ms once the
    // process is gone); the bound leaves a loaded machine time to end it.
    assert!(skipped_after < Duration::from_secs(2), "{skipped_after:?}");
    wait_child(holder, Duration::from_secs(5));
}

/// A producer killed holding a batch loan: MPMC consumers skip its whole
/// batch (counted in `abandoned`) and read what others sent behind it; an
/// SPSC successor producer takes over after it and nothing is delivered
/// from the dead batch.
fn producer_killed_holding_loan_batch() {
    let q = Queue::new(QueueOptions::new().capacity(8).slot_size(16)).unwrap();
    let shared = Shared::new(1);
    let holder = fork_child(|| {
        let mut tx = q.producer().unwrap();
        let mut batch = tx.loan_batch(3).unwrap();
        batch.iter_mut().for_each(|s| s.fill(0xEE));
        shared.hold_until_killed(0)
    });
    shared.wait_for(0, 1, Duration::from_secs(10));
    let mut tx = q.producer().unwrap();
    for seq in 0..4 {
        tx.send(&encode(2, seq)).unwrap();
    }
    let mut rx = q.consumer().unwrap();
    assert!(
        matches!(rx.try_recv(), Err(QueueError::Empty)),
        "stalled behind the batch"
    );
    kill(holder, Signal::Kill).unwrap();
    for seq in 0..4 {
        let m = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(decode(&m), (2, seq));
    }
    assert_eq!(q.stats().abandoned, 3);
    wait_child(holder, Duration::from_secs(5));

    let q = SpscQueue::new(QueueOptions::new().capacity(8).slot_size(16)).unwrap();
    let shared = Shared::new(1);
    let holder = fork_child(|| {
        let mut tx = q.producer().unwrap();
        let mut batch = tx.loan_batch(3).unwrap();
        batch.iter_mut().for_each(|s| s.fill(0xEE));
        shared.hold_until_killed(0)
    });
    shared.wait_for(0, 1, Duration::from_secs(10));
    kill(holder, Signal::Kill).unwrap();
    wait_child(holder, Duration::from_secs(5));
    let mut tx = q.producer().unwrap();
    let mut batch = tx.loan_batch(2).unwrap();
    for (seq, slot) in batch.iter_mut().enumerate() {
        slot.copy_from_slice(&encode(3, seq as u64));
    }
    batch.commit(&[16, 16]).unwrap();
    let mut rx = q.consumer().unwrap();
    for seq in 0..2 {
        let m = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(decode(&m), (3, seq));
    }
    assert!(matches!(rx.try_recv(), Err(QueueError::Empty)));
}

fn consumer_killed_holding_slot_mpmc() {
    let q = Queue::new(QueueOptions::new().capacity(4).slot_size(16)).unwrap();
    // Words: 0 the holder holds, 1 errors, 2 messages read, 3 the reader
    // is attached.
    let shared = Shared::new(4);
    let mut tx = q.producer().unwrap();
    tx.send(&encode(0, 0)).unwrap();
    let holder = fork_child(|| {
        let mut rx = q.consumer().unwrap();
        let _slot = rx.recv_ref().unwrap();
        shared.hold_until_killed(0)
    });
    shared.wait_for(0, 1, Duration::from_secs(10));
    kill(holder, Signal::Kill).unwrap();
    let n = 1000u64;
    let reader = fork_child(|| {
        let mut rx = q.consumer().unwrap();
        shared.add(3, 1);
        let mut buf = [0u8; 16];
        let mut expect = 1;
        loop {
            match rx.recv_into(&mut buf) {
                Ok(_) => {
                    if decode(&buf).1 != expect {
                        shared.add(1, 1);
                    }
                    expect += 1;
                }
                Err(QueueError::Closed) => break,
                Err(_) => {
                    shared.add(1, 1);
                    break;
                }
            }
        }
        shared.add(2, expect - 1);
        0
    });
    // Until the reader is attached, the dead holder is the only consumer: a
    // send that found the ring full then would rightly be `Disconnected`.
    shared.wait_for(3, 1, Duration::from_secs(10));
    let start = Instant::now();
    for seq in 1..=n {
        tx.send_timeout(&encode(0, seq), Duration::from_secs(5))
            .expect("producers do not stall");
    }
    q.close();
    assert_eq!(wait_child(reader, Duration::from_secs(10)), 0);
    assert_eq!(shared.get(1), 0, "in order");
    assert_eq!(
        shared.get(2),
        n,
        "everything but the dead consumer's message"
    );
    assert_eq!(q.stats().abandoned, 1);
    println!(
        "    {n} messages past a dead consumer's slot in {:.2?}",
        start.elapsed()
    );
}

fn consumer_killed_holding_slot_spsc() {
    let q = SpscQueue::new(QueueOptions::new().capacity(2).slot_size(8)).unwrap();
    let shared = Shared::new(1);
    let holder = fork_child(|| {
        let mut rx = q.consumer().unwrap();
        let _slot = rx.recv_ref().unwrap();
        shared.hold_until_killed(0)
    });
    let mut tx = q.producer().unwrap();
    tx.send(b"held").unwrap();
    shared.wait_for(0, 1, Duration::from_secs(10));
    kill(holder, Signal::Kill).unwrap();
    let start = Instant::now();
    let err = loop {
        if let Err(e) = tx.send_timeout(b"more", Duration::from_secs(5)) {
            break e;
        }
    };
    assert!(matches!(err, QueueError::Disconnected), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(2));
    wait_child(holder, Duration::from_secs(5));
}

/// A `Pipe` peer killed after receiving, before it ever sent: the other
/// end's `recv` reports `Disconnected` instead of waiting for a reply that
/// will never come (the peer's end registered its sending side at its
/// first use, though it only received).
fn pipe_peer_killed_before_replying() {
    let (mut a, mut b) = mproc_queue::Pipe::new().unwrap();
    let shared = Shared::new(1);
    let peer = fork_child(|| {
        let _request = b.recv().unwrap();
        shared.hold_until_killed(0)
    });
    a.send(b"request").unwrap();
    shared.wait_for(0, 1, Duration::from_secs(10));
    kill(peer, Signal::Kill).unwrap();
    wait_child(peer, Duration::from_secs(5));
    let start = Instant::now();
    let got = a.recv_timeout(Duration::from_secs(5));
    assert!(matches!(got, Err(QueueError::Disconnected)), "{got:?}");
    assert!(start.elapsed() < Duration::from_secs(2));
}

/// The mirror image: a peer killed after sending, before it ever received.
/// A send blocked on the full ring reports `Disconnected` (the peer's
/// handle on the other ring tells of its death) instead of blocking.
fn pipe_peer_killed_before_receiving() {
    let (mut a, mut b) = mproc_queue::Pipe::new().unwrap();
    let shared = Shared::new(1);
    let peer = fork_child(|| {
        b.send(b"hello").unwrap();
        shared.hold_until_killed(0)
    });
    assert_eq!(a.recv_timeout(Duration::from_secs(5)).unwrap(), b"hello");
    shared.wait_for(0, 1, Duration::from_secs(10));
    kill(peer, Signal::Kill).unwrap();
    wait_child(peer, Duration::from_secs(5));
    // 16 fit; the 17th waits for room, and learns that nobody will make it.
    let err = (0..17).find_map(|_| a.send(b"unread").err());
    assert!(matches!(err, Some(QueueError::Disconnected)), "{err:?}");
}

/// One end used by two processes, one sending on it and one receiving on
/// it: each registers only the direction it uses, so neither is refused.
fn a_pipe_end_shared_by_a_sender_and_a_receiver() {
    let (mut a, mut b) = mproc_queue::Pipe::new().unwrap();
    let shared = Shared::new(1);
    let sender = fork_child(|| {
        a.send(b"from-a").unwrap();
        shared.hold_until_killed(0)
    });
    assert_eq!(b.recv_timeout(Duration::from_secs(5)).unwrap(), b"from-a");
    shared.wait_for(0, 1, Duration::from_secs(10));
    b.send(b"to-a").unwrap();
    let receiver = fork_child(|| match a.recv_timeout(Duration::from_secs(5)) {
        Ok(m) if m == b"to-a" => 0,
        _ => 1,
    });
    let code = wait_child(receiver, Duration::from_secs(10));
    kill(sender, Signal::Kill).unwrap();
    wait_child(sender, Duration::from_secs(5));
    assert_eq!(
        code, 0,
        "the receiving process could not receive on its end"
    );
}

fn joinable_queue_join_waits_for_workers() {
    let q = JoinableQueue::new(QueueOptions::new().capacity(64).slot_size(8)).unwrap();
    let shared = Shared::new(1);
    let workers: Vec<_> = (0..2)
        .map(|_| {
            fork_child(|| {
                let mut rx = q.consumer().unwrap();
                let mut buf = [0u8; 8];
                loop {
                    match rx.recv_into(&mut buf) {
                        Ok(_) => {
                            std::thread::sleep(Duration::from_millis(2));
                            shared.add(0, 1);
                            if q.task_done().is_err() {
                                return 2;
                            }
                        }
                        Err(QueueError::Closed) => return 0,
                        Err(_) => return 1,
                    }
                }
            })
        })
        .collect();
    let mut tx = q.producer().unwrap();
    // Timed from before the first send: two workers cannot do 40 tasks of
    // 2 ms in less than 40 ms of it, however the parent is scheduled.
    let start = Instant::now();
    for i in 0..40u64 {
        tx.send_pod(&i).unwrap();
    }
    q.join_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(
        shared.get(0),
        40,
        "join returned only after every task was done"
    );
    assert_eq!(q.unfinished(), 0);
    assert!(
        start.elapsed() >= Duration::from_millis(30),
        "two workers, 40 tasks of 2 ms"
    );
    assert!(matches!(q.task_done(), Err(QueueError::TaskDoneTooOften)));
    q.close();
    for w in workers {
        assert_eq!(wait_child(w, Duration::from_secs(10)), 0);
    }
}

fn named_queue_between_processes() {
    let name = format!("test-named-{}", std::process::id());
    let q = Queue::create(&name, QueueOptions::new().capacity(16).slot_size(32)).unwrap();
    let child = fork_child(|| {
        let other = Queue::open(&name).unwrap();
        let mut tx = other.producer().unwrap();
        for i in 0..100u32 {
            tx.send_pod(&i).unwrap();
        }
        tx.close();
        0
    });
    let mut rx = q.consumer().unwrap();
    let mut got = 0;
    loop {
        match rx.recv_pod::<u32>() {
            Ok(v) => {
                assert_eq!(v, got);
                got += 1;
            }
            Err(QueueError::Closed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, 100);
    assert_eq!(wait_child(child, Duration::from_secs(10)), 0);
}

fn blocked_consumer_burns_no_cpu() {
    let shared = Shared::new(2);
    for (i, strategy) in [WaitStrategy::default(), WaitStrategy::Park]
        .into_iter()
        .enumerate()
    {
        let q = Queue::new(QueueOptions::new().wait(strategy)).unwrap();
        let _tx = q.producer().unwrap();
        let child = fork_child(|| {
            let mut rx = q.consumer().unwrap();
            let before = mproc_sys::process_cpu_time();
            let r = rx.recv_timeout(Duration::from_secs(1));
            let spent = mproc_sys::process_cpu_time() - before;
            shared.add(i, spent.as_micros() as u64);
            i32::from(!matches!(r, Err(QueueError::Timeout { .. })))
        });
        assert_eq!(wait_child(child, Duration::from_secs(10)), 0);
        let micros = shared.get(i);
        println!("    {strategy:?}: {micros} us of CPU over 1 s blocked");
        assert!(micros < 30_000, "{strategy:?} burned {micros} us");
    }
}

/// A producer killed holding a loan: a consumer that only polls
/// (`try_recv`) or waits less than the check interval at a time
/// (`recv_timeout(10 ms)`) still gets past its slot, since the handle keeps
/// the check schedule across calls.
fn dead_producers_loan_is_skipped_without_long_waits() {
    for polling in [true, false] {
        let q = Queue::new(QueueOptions::new().capacity(8).slot_size(16)).unwrap();
        let shared = Shared::new(1);
        let holder = fork_child(|| {
            let mut tx = q.producer().unwrap();
            std::mem::forget(tx.loan().unwrap());
            shared.hold_until_killed(0)
        });
        shared.wait_for(0, 1, Duration::from_secs(10));
        kill(holder, Signal::Kill).unwrap();
        wait_child(holder, Duration::from_secs(5));
        let mut tx = q.producer().unwrap();
        tx.send(b"after").unwrap();
        let mut rx = q.consumer().unwrap();
        let start = Instant::now();
        let got = loop {
            let r = if polling {
                rx.try_recv()
            } else {
                rx.recv_timeout(Duration::from_millis(10))
            };
            match r {
                Err(QueueError::Empty | QueueError::Timeout { .. })
                    if start.elapsed() < Duration::from_secs(5) =>
                {
                    std::thread::sleep(Duration::from_millis(1));
                }
                other => break other,
            }
        };
        assert_eq!(got.unwrap(), b"after", "polling {polling}");
        assert_eq!(q.stats().abandoned, 1);
        println!(
            "    polling {polling}: past the dead loan in {:.2?}",
            start.elapsed()
        );
    }
    // Every producer gone: short waits report it too.
    let q = Queue::new(QueueOptions::new().capacity(4).slot_size(8)).unwrap();
    drop(q.producer().unwrap());
    let mut rx = q.consumer().unwrap();
    let start = Instant::now();
    let err = loop {
        match rx.recv_timeout(Duration::from_millis(10)) {
            Err(QueueError::Timeout { .. }) if start.elapsed() < Duration::from_secs(5) => {}
            other => break other,
        }
    };
    assert!(matches!(err, Err(QueueError::Disconnected)), "{err:?}");
}

/// A consumer SIGKILLed while asleep on the futex (an idle worker ended by
/// `terminate`) is taken out of the sleeper count by the live handles that
/// find their wake-ups wake nobody, so later sends make no futex calls for
/// it; and a handle that attaches later takes it out too.
fn consumer_killed_asleep_leaves_the_sleeper_count() {
    for attach_after in [false, true] {
        // A parked consumer wakes for its checks every 20 ms, uncounted for
        // a moment: a kill that lands then leaves no count, and the round
        // is tried again (a few times at most).
        let mut tries = 0;
        let (q, handles) = loop {
            tries += 1;
            assert!(tries <= 5, "every kill landed while the child was awake");
            let q = Queue::new(QueueOptions::new().capacity(8).slot_size(16)).unwrap();
            let handles = (!attach_after).then(|| (q.producer().unwrap(), q.consumer().unwrap()));
            let sleeper = fork_child(|| {
                let mut rx = q.consumer().unwrap();
                rx.set_wait_strategy(WaitStrategy::Park);
                let _ = rx.recv();
                1
            });
            let start = Instant::now();
            while q.stats().sleepers == 0 {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "the child never slept"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            kill(sleeper, Signal::Kill).unwrap();
            wait_child(sleeper, Duration::from_secs(5));
            if q.stats().sleepers == 1 {
                // Counted until someone notices.
                break (q, handles);
            }
        };
        let (mut tx, mut rx) =
            handles.unwrap_or_else(|| (q.producer().unwrap(), q.consumer().unwrap()));
        for _ in 0..3 {
            tx.send(b"x").unwrap();
            rx.recv_timeout(Duration::from_secs(5)).unwrap();
        }
        assert_eq!(q.stats().sleepers, 0, "attach_after {attach_after}");
    }
}
