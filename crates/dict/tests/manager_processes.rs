//! The Manager's kinds across real processes: for each kind beyond the
//! dict, value, array, lock, event and queue (those are in `processes`),
//! forked children attach through `Manager::open` (as an unrelated program
//! would) and work with the parent; the creating manager's drop then
//! leaves nothing in /dev/shm.
//!
//! Run sequentially from a plain `main` (no harness threads, so forking is
//! safe); children leave through `exit_immediately`; every wait is bounded,
//! and a watchdog process kills the whole run if it hangs.

mod common;

use std::time::Duration;

use common::*;
use mproc_dict::Manager;
use mproc_queue::{QueueError, QueueOptions};
use mproc_sync::SyncError;
use mproc_sys::{Signal, kill, waitpid};

/// Children bump a counter with a non-atomic read, yield, write under a
/// reentrant lock taken twice: only mutual exclusion across processes
/// gives the exact total (without the lock, this loses most updates).
fn rlock_across_processes() {
    const P: &str = "test-mgr-rlock";
    const PER: u64 = 2000;
    let m = Manager::create(P).unwrap();
    let r = m.rlock("r").unwrap();
    let go = m.event("go").unwrap();
    let pids: Vec<i32> = (0..3)
        .map(|_| {
            spawn(|| {
                let Ok(m) = Manager::open(P) else { return 1 };
                let (Ok(r), Ok(n), Ok(go)) = (m.rlock("r"), m.value("n", 0u64), m.event("go"))
                else {
                    return 2;
                };
                if !go.wait_timeout(BOUND) {
                    return 3;
                }
                for _ in 0..PER {
                    let Ok(_outer) = r.lock_timeout(BOUND) else {
                        return 4;
                    };
                    let Ok(_inner) = r.lock_timeout(BOUND) else {
                        return 5;
                    };
                    if r.count() != 2 {
                        return 6;
                    }
                    let Ok(x) = n.get() else { return 7 };
                    std::thread::yield_now();
                    if n.set(x + 1).is_err() {
                        return 8;
                    }
                }
                0
            })
        })
        .collect();
    go.set();
    assert_all_ok(&wait_all(&pids, Duration::from_secs(60)));
    assert!(!r.is_locked());
    assert_eq!(m.value("n", 0u64).unwrap().get().unwrap(), 3 * PER);
    drop((r, go));
    drop_and_check_clean(m);
}

/// At most `value` children are inside the semaphore at once; a bounded
/// semaphore refuses a release past its bound in a child too.
fn semaphore_across_processes() {
    const P: &str = "test-mgr-semaphore";
    let m = Manager::create(P).unwrap();
    let sem = m.semaphore("s", 2).unwrap();
    let bounded = m.bounded_semaphore("b", 1).unwrap();
    let go = m.event("go").unwrap();
    let pids: Vec<i32> = (0..5)
        .map(|_| {
            spawn(|| {
                let Ok(m) = Manager::open(P) else { return 1 };
                let (Ok(s), Ok(b), Ok(inside), Ok(most), Ok(go)) = (
                    m.semaphore("s", 0),
                    m.bounded_semaphore("b", 0),
                    m.value("inside", 0u32),
                    m.value("most", 0u32),
                    m.event("go"),
                ) else {
                    return 2;
                };
                if !go.wait_timeout(BOUND) {
                    return 9;
                }
                if b.bound() != Some(1) {
                    return 3;
                }
                if !matches!(b.release(), Err(SyncError::ReleasedTooMany { bound: 1 })) {
                    return 4;
                }
                for _ in 0..20 {
                    if !s.acquire_timeout(BOUND) {
                        return 5;
                    }
                    let Ok(now) = inside.update(|n| n + 1) else {
                        return 6;
                    };
                    if most.update(|x| x.max(now)).is_err() {
                        return 7;
                    }
                    std::thread::sleep(Duration::from_micros(200));
                    if inside.update(|n| n - 1).is_err() || s.release().is_err() {
                        return 8;
                    }
                }
                0
            })
        })
        .collect();
    go.set();
    assert_all_ok(&wait_all(&pids, Duration::from_secs(60)));
    let most = m.value("most", 0u32).unwrap().get().unwrap();
    assert!((1..=2).contains(&most), "{most} inside at once");
    assert_eq!(sem.value(), 2);
    assert_eq!(bounded.value(), 1);
    drop((sem, bounded, go));
    drop_and_check_clean(m);
}

/// The parent waits on a condition for a value a child sets and notifies.
fn condition_across_processes() {
    const P: &str = "test-mgr-condition";
    let m = Manager::create(P).unwrap();
    let c = m.condition("c").unwrap();
    let v = m.value("v", 0u32).unwrap();
    let child = spawn(|| {
        let Ok(m) = Manager::open(P) else { return 1 };
        let (Ok(c), Ok(v)) = (m.condition("c"), m.value("v", 0u32)) else {
            return 2;
        };
        std::thread::sleep(Duration::from_millis(20));
        for i in 1..=3 {
            let Ok(held) = c.lock() else { return 3 };
            if v.set(i).is_err() {
                return 4;
            }
            c.notify_all();
            drop(held);
            std::thread::sleep(Duration::from_millis(5));
        }
        0
    });
    let held = c.lock().unwrap();
    let (held, res) = c
        .wait_timeout_while(held, BOUND, || v.get().unwrap() < 3)
        .unwrap();
    assert!(!res.timed_out(), "never notified");
    assert_eq!(v.get().unwrap(), 3);
    drop(held);
    assert_all_ok(&wait_all(&[child], BOUND));
    drop((c, v));
    drop_and_check_clean(m);
}

/// Three children and the parent meet at a barrier they all found by
/// name; each gets a distinct index.
fn barrier_across_processes() {
    const P: &str = "test-mgr-barrier";
    let m = Manager::create(P).unwrap();
    let b = m.barrier("b", 4).unwrap();
    let idx = m.array("idx", &[u32::MAX; 4]).unwrap();
    let pids: Vec<i32> = (0..3usize)
        .map(|p| {
            spawn(move || {
                let Ok(m) = Manager::open(P) else { return 1 };
                // 9 parties is ignored: the barrier exists.
                let (Ok(b), Ok(idx)) = (m.barrier("b", 9), m.array("idx", &[0u32; 4])) else {
                    return 2;
                };
                if b.parties() != 4 {
                    return 3;
                }
                let Ok(i) = b.wait_timeout(BOUND) else {
                    return 4;
                };
                if idx.set(p, i).is_err() {
                    return 5;
                }
                0
            })
        })
        .collect();
    let mine = b.wait_timeout(BOUND).unwrap();
    idx.set(3, mine).unwrap();
    assert_all_ok(&wait_all(&pids, BOUND));
    let mut got = idx.to_vec().unwrap();
    got.sort();
    assert_eq!(got, [0, 1, 2, 3]);
    drop((b, idx));
    drop_and_check_clean(m);
}

/// The parent sends tasks; two children take them, add them up and mark
/// each done; the parent's join returns once all are.
fn joinable_queue_across_processes() {
    const P: &str = "test-mgr-joinable";
    const N: u64 = 200;
    let m = Manager::create(P).unwrap();
    let q = m
        .joinable_queue("tasks", QueueOptions::new().capacity(16).slot_size(8))
        .unwrap();
    let sum = m.value("sum", 0u64).unwrap();
    let pids: Vec<i32> = (0..2)
        .map(|_| {
            spawn(|| {
                let Ok(m) = Manager::open(P) else { return 1 };
                let (Ok(q), Ok(sum)) = (
                    m.joinable_queue("tasks", QueueOptions::new()),
                    m.value("sum", 0u64),
                ) else {
                    return 2;
                };
                let Ok(mut rx) = q.consumer() else { return 3 };
                loop {
                    match rx.recv_timeout(BOUND) {
                        Ok(msg) => {
                            let Ok(bytes) = <[u8; 8]>::try_from(msg.as_slice()) else {
                                return 4;
                            };
                            let task = u64::from_le_bytes(bytes);
                            if sum.update(|s| s + task).is_err() || q.task_done().is_err() {
                                return 5;
                            }
                        }
                        Err(QueueError::Closed) => return 0,
                        Err(_) => return 6,
                    }
                }
            })
        })
        .collect();
    let mut tx = q.producer().unwrap();
    for t in 1..=N {
        tx.send_timeout(&t.to_le_bytes(), BOUND).unwrap();
    }
    q.join_timeout(BOUND).unwrap();
    assert_eq!(q.unfinished(), 0);
    assert_eq!(sum.get().unwrap(), N * (N + 1) / 2);
    q.close();
    assert_all_ok(&wait_all(&pids, BOUND));
    drop((tx, q, sum));
    drop_and_check_clean(m);
}

/// A child produces into an SPSC queue found by name; the parent consumes
/// in order.
fn spsc_queue_across_processes() {
    const P: &str = "test-mgr-spsc";
    const N: u64 = 5000;
    let m = Manager::create(P).unwrap();
    let q = m
        .spsc_queue("ticks", QueueOptions::new().capacity(64).slot_size(8))
        .unwrap();
    let mut rx = q.consumer().unwrap();
    let child = spawn(|| {
        let Ok(m) = Manager::open(P) else { return 1 };
        let Ok(q) = m.spsc_queue("ticks", QueueOptions::new()) else {
            return 2;
        };
        let Ok(mut tx) = q.producer() else { return 3 };
        for i in 0..N {
            if tx.send_timeout(&i.to_le_bytes(), BOUND).is_err() {
                return 4;
            }
        }
        0
    });
    for i in 0..N {
        let msg = rx.recv_timeout(BOUND).unwrap();
        assert_eq!(msg, i.to_le_bytes());
    }
    assert_all_ok(&wait_all(&[child], BOUND));
    drop((rx, q));
    drop_and_check_clean(m);
}

/// The parent's call makes the pipe (first end), the child's call gets
/// the second end; they talk both ways.
fn pipe_across_processes() {
    const P: &str = "test-mgr-pipe";
    let m = Manager::create(P).unwrap();
    let opts = QueueOptions::new().capacity(4).slot_size(64);
    let mut first = m.pipe("chat", opts).unwrap();
    let child = spawn(move || {
        let Ok(m) = Manager::open(P) else { return 1 };
        let Ok(mut second) = m.pipe("chat", opts) else {
            return 2;
        };
        for _ in 0..100 {
            let Ok(msg) = second.recv_timeout(BOUND) else {
                return 3;
            };
            let mut reply = b"re:".to_vec();
            reply.extend_from_slice(&msg);
            if second.send(&reply).is_err() {
                return 4;
            }
        }
        // Stay alive (holding both directions) until told to go.
        match second.recv_timeout(BOUND) {
            Ok(bye) if bye == b"bye" => 0,
            _ => 5,
        }
    });
    for i in 0..100u32 {
        first.send(&i.to_le_bytes()).unwrap();
        let reply = first.recv_timeout(BOUND).unwrap();
        assert_eq!(reply[..3], *b"re:");
        assert_eq!(reply[3..], i.to_le_bytes());
    }
    // A third caller gets the second end, but the child holds both of its
    // directions.
    let mut third = m.pipe("chat", opts).unwrap();
    let sent = third.send(b"x");
    assert!(
        matches!(sent, Err(QueueError::TooManyHandles { max: 1 })),
        "{sent:?}"
    );
    let got = third.recv_timeout(Duration::from_millis(1));
    assert!(
        matches!(got, Err(QueueError::TooManyHandles { max: 1 })),
        "{got:?}"
    );
    first.send(b"bye").unwrap();
    assert_all_ok(&wait_all(&[child], BOUND));
    drop((first, third));
    drop_and_check_clean(m);
}

fn main() {
    let dog = watchdog(WATCHDOG);
    run("rlock_across_processes", rlock_across_processes);
    run("semaphore_across_processes", semaphore_across_processes);
    run("condition_across_processes", condition_across_processes);
    run("barrier_across_processes", barrier_across_processes);
    run(
        "joinable_queue_across_processes",
        joinable_queue_across_processes,
    );
    run("spsc_queue_across_processes", spsc_queue_across_processes);
    run("pipe_across_processes", pipe_across_processes);
    let _ = kill(dog, Signal::Kill);
    let _ = waitpid(dog, false);
}
