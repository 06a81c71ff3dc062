//! The Manager's kinds across real processes: for each kind, forked
//! children attach through `Manager::open` (as an unrelated program
//! would) and work with the parent; asking for a name as another kind is a
//! typed error; the creating manager's drop leaves nothing in /dev/shm.
//! Then `Value` / `Array` whose lock holder is SIGKILLed.
//!
//! Run sequentially from a plain `main` (no harness threads, so forking is
//! safe); children leave through `exit_immediately`; every wait is bounded,
//! and a watchdog process kills the whole run if it hangs.

use std::time::{Duration, Instant};

use mproc_dict::{Array, DictError, Manager, Value};
use mproc_queue::{QueueError, QueueOptions};
use mproc_shm::{SegmentKind, ShmError};
use mproc_sync::SyncError;
use mproc_sys::{ExitStatus, ForkResult, Signal, exit_immediately, fork, kill, waitpid};

const WATCHDOG: Duration = Duration::from_secs(120);
/// The bound on any single wait in a test.
const BOUND: Duration = Duration::from_secs(20);

/// Forks a child that runs `f` and exits with its status (101 if it
/// panics).
fn spawn(f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: this test binary is single-threaded when it forks (no harness
    // threads); the child runs `f` and leaves through `_exit`.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let _ = mproc_sys::set_parent_death_signal(Some(Signal::Kill));
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
            exit_immediately(code)
        }
        ForkResult::Parent { child } => child,
    }
}

/// Waits for every child, at most `limit`; kills them all past it.
fn wait_all(pids: &[i32], limit: Duration) -> Vec<ExitStatus> {
    let deadline = Instant::now() + limit;
    let mut out = vec![None; pids.len()];
    while out.iter().any(Option::is_none) {
        for (i, &pid) in pids.iter().enumerate() {
            if out[i].is_none() {
                out[i] = waitpid(pid, true).expect("waitpid");
            }
        }
        if Instant::now() > deadline {
            for &pid in pids {
                let _ = kill(pid, Signal::Kill);
                let _ = waitpid(pid, false);
            }
            panic!("children did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    out.into_iter().flatten().collect()
}

fn assert_all_ok(statuses: &[ExitStatus]) {
    for s in statuses {
        assert_eq!(*s, ExitStatus::Exited(0), "a child failed: {statuses:?}");
    }
}

/// A forked process that kills this one if it runs past `limit`.
fn watchdog(limit: Duration) -> i32 {
    let parent = mproc_sys::getpid();
    spawn(move || {
        std::thread::sleep(limit);
        eprintln!("watchdog: the test run hung for {limit:?}, killing it");
        let _ = kill(parent, Signal::Kill);
        0
    })
}

fn run(name: &str, test: fn()) {
    let t = Instant::now();
    eprint!("test {name} ... ");
    test();
    eprintln!("ok ({:.2?})", t.elapsed());
}

/// The names in /dev/shm that contain `prefix`.
fn shm_names(prefix: &str) -> Vec<String> {
    std::fs::read_dir("/dev/shm")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains(prefix))
        .collect()
}

/// Drops `m` and checks that nothing with its prefix is left.
fn drop_and_check_clean(m: Manager) {
    let prefix = m.prefix().to_owned();
    drop(m);
    let left = shm_names(&prefix);
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Polls `cond` every millisecond until it holds, at most [`BOUND`].
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

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

fn is_wrong_kind(e: &DictError, found: SegmentKind, expected: SegmentKind) -> bool {
    matches!(
        e,
        DictError::Shm(ShmError::WrongKind { found: f, expected: x }) if *f == found && *x == expected
    )
}

/// Every new kind, asked for as another kind, is `WrongKind` naming both
/// kinds, in this process and in another; a plain semaphore and a bounded
/// one (one kind) refuse each other by layout.
fn kind_mismatch() {
    const P: &str = "test-mgr-kinds";
    let m = Manager::create(P).unwrap();
    let opts = QueueOptions::new().capacity(4).slot_size(16);
    let _r = m.rlock("rlock").unwrap();
    let _s = m.semaphore("semaphore", 1).unwrap();
    let _b = m.bounded_semaphore("bounded", 1).unwrap();
    let _c = m.condition("condition").unwrap();
    let _ba = m.barrier("barrier", 2).unwrap();
    let _j = m.joinable_queue("joinable", opts).unwrap();
    let _q = m.spsc_queue("spsc", opts).unwrap();
    let _p = m.pipe("pipe", opts).unwrap();

    let check = |m: &Manager| -> Result<(), String> {
        use SegmentKind as K;
        let cases: Vec<(DictError, K, K)> = vec![
            (m.lock("rlock").unwrap_err(), K::RLock, K::Lock),
            (m.rlock("condition").unwrap_err(), K::Condition, K::RLock),
            (m.event("semaphore").unwrap_err(), K::Semaphore, K::Event),
            (
                m.condition("barrier").unwrap_err(),
                K::Barrier,
                K::Condition,
            ),
            (m.barrier("rlock", 2).unwrap_err(), K::RLock, K::Barrier),
            (
                m.semaphore("joinable", 1).unwrap_err(),
                K::JoinableQueue,
                K::Semaphore,
            ),
            (
                m.queue("joinable", opts).unwrap_err(),
                K::JoinableQueue,
                K::Queue,
            ),
            (
                m.joinable_queue("spsc", opts).unwrap_err(),
                K::SpscQueue,
                K::JoinableQueue,
            ),
            (
                m.spsc_queue("pipe", opts).unwrap_err(),
                K::Pipe,
                K::SpscQueue,
            ),
            (m.pipe("spsc", opts).unwrap_err(), K::SpscQueue, K::Pipe),
            (m.value("pipe", 0u8).unwrap_err(), K::Pipe, K::Value),
            (
                m.dict("bounded", Default::default()).unwrap_err(),
                K::Semaphore,
                K::Dict,
            ),
        ];
        for (e, found, expected) in &cases {
            if !is_wrong_kind(e, *found, *expected) {
                return Err(format!(
                    "{e:?} is not WrongKind {{ {found:?}, {expected:?} }}"
                ));
            }
        }
        let layout = |e: DictError| {
            matches!(
                e,
                DictError::Sync(SyncError::LayoutMismatch {
                    param: "bounded",
                    ..
                })
            )
        };
        if !layout(m.semaphore("bounded", 1).unwrap_err()) {
            return Err("a bounded semaphore opened as a plain one".into());
        }
        if !layout(m.bounded_semaphore("semaphore", 1).unwrap_err()) {
            return Err("a plain semaphore opened as a bounded one".into());
        }
        Ok(())
    };
    check(&m).unwrap();
    let child = spawn(move || {
        let Ok(m) = Manager::open(P) else { return 1 };
        match check(&m) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("child: {e}");
                2
            }
        }
    });
    assert_all_ok(&wait_all(&[child], BOUND));
    // The registry holds each name once, with the kind it was made as.
    let mut names = m.names().unwrap();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    use SegmentKind as K;
    assert_eq!(
        names,
        [
            ("barrier".to_string(), K::Barrier),
            ("bounded".to_string(), K::Semaphore),
            ("condition".to_string(), K::Condition),
            ("joinable".to_string(), K::JoinableQueue),
            ("pipe".to_string(), K::Pipe),
            ("rlock".to_string(), K::RLock),
            ("semaphore".to_string(), K::Semaphore),
            ("spsc".to_string(), K::SpscQueue),
        ]
    );
    drop((_r, _s, _b, _c, _ba, _j, _q, _p));
    drop_and_check_clean(m);
}

/// Handles of every kind dropped (by the creator and by another process's
/// manager) leave the objects in place; only the creating manager's drop
/// removes them, all of them.
fn removal_on_drop() {
    const P: &str = "test-mgr-removal";
    let opts = QueueOptions::new().capacity(4).slot_size(16);
    let make_all = |m: &Manager| -> mproc_dict::Result<()> {
        drop(m.rlock("rlock")?);
        drop(m.semaphore("semaphore", 3)?);
        drop(m.bounded_semaphore("bounded", 3)?);
        drop(m.condition("condition")?);
        drop(m.barrier("barrier", 3)?);
        drop(m.joinable_queue("joinable", opts)?);
        drop(m.spsc_queue("spsc", opts)?);
        drop(m.pipe("pipe", opts)?);
        Ok(())
    };
    let m = Manager::create(P).unwrap();
    make_all(&m).unwrap();
    // Made by the creator, handles dropped: all still there.
    assert_eq!(shm_names(P).len(), 9, "{:?}", shm_names(P));
    // Another process attaches to each, then drops its handles and its
    // manager with destructors run: nothing goes.
    let child = spawn(move || {
        let Ok(other) = Manager::open(P) else {
            return 1;
        };
        if make_all(&other).is_err() {
            return 2;
        }
        drop(other);
        0
    });
    assert_all_ok(&wait_all(&[child], BOUND));
    assert_eq!(shm_names(P).len(), 9, "{:?}", shm_names(P));
    // Still the state they were made with.
    assert_eq!(m.semaphore("semaphore", 0).unwrap().value(), 3);
    assert_eq!(m.barrier("barrier", 0).unwrap().parties(), 3);
    drop_and_check_clean(m);

    // Objects first made by another process's call are removed by the
    // creating manager too.
    let m = Manager::create(P).unwrap();
    let child = spawn(move || {
        let Ok(other) = Manager::open(P) else {
            return 1;
        };
        if make_all(&other).is_err() {
            return 2;
        }
        0
    });
    assert_all_ok(&wait_all(&[child], BOUND));
    assert_eq!(shm_names(P).len(), 9, "{:?}", shm_names(P));
    drop_and_check_clean(m);
}

/// Forks a child that takes `lock` through `take`, writes part of the
/// data, says so through `ready`, then sleeps until SIGKILLed.
fn kill_holder(ready: &Value<u8>, take: impl FnOnce() -> i32) {
    ready.set(0).unwrap();
    let child = spawn(take);
    wait_for("the child to take the lock", || ready.get().unwrap() == 1);
    kill(child, Signal::Kill).unwrap();
    assert_eq!(
        waitpid(child, false).unwrap(),
        Some(ExitStatus::Signaled(9))
    );
}

/// A `Value`/`Array` whose holder was SIGKILLed mid-write: the accessors
/// (`get`, `set`, `update`, ranges) proceed on the half-written, still
/// valid data, and absorb the death report; `lock()` shows it through
/// `owner_died()`, once.
fn pod_holder_killed() {
    let ready = Value::new(0u8).unwrap();
    let arr = Array::from_slice(&[0u64; 8]).unwrap();
    let pair = Value::new([0u64; 2]).unwrap();

    // Half an array written by a holder killed before finishing: `to_vec`
    // returns it without an error, then nobody hears of the death.
    kill_holder(&ready, || {
        let Ok(mut g) = arr.lock() else { return 1 };
        g[..4].fill(7);
        if ready.set(1).is_err() {
            return 2;
        }
        std::thread::sleep(Duration::from_secs(60));
        0
    });
    assert_eq!(arr.to_vec().unwrap(), [7, 7, 7, 7, 0, 0, 0, 0]);
    assert!(!arr.lock().unwrap().owner_died(), "reported twice");

    // Through `lock()` the next holder is told, once.
    kill_holder(&ready, || {
        let Ok(mut g) = arr.lock() else { return 1 };
        g[4..6].fill(9);
        if ready.set(1).is_err() {
            return 2;
        }
        std::thread::sleep(Duration::from_secs(60));
        0
    });
    let g = arr.lock().unwrap();
    assert!(g.owner_died(), "the holder's death was not reported");
    assert_eq!(*g, [7, 7, 7, 7, 9, 9, 0, 0]);
    drop(g);
    assert!(!arr.lock().unwrap().owner_died());
    assert_eq!(arr.update(7, |x| x + 1).unwrap(), 1);
    arr.set_range(0, &[1, 2]).unwrap();
    assert_eq!(arr.get_range(0..3).unwrap(), [1, 2, 7]);

    // A torn pair: `update` sees it as it is and proceeds; `set` and
    // `get` after a death work as ever.
    kill_holder(&ready, || {
        let Ok(mut g) = pair.lock() else { return 1 };
        g[0] = 5; // the holder would have set g[1] = 5 next
        if ready.set(1).is_err() {
            return 2;
        }
        std::thread::sleep(Duration::from_secs(60));
        0
    });
    assert_eq!(pair.update(|[a, b]| [a + 1, b + 1]).unwrap(), [6, 1]);
    assert!(!pair.lock().unwrap().owner_died());
    kill_holder(&ready, || {
        let Ok(_g) = pair.lock() else { return 1 };
        if ready.set(1).is_err() {
            return 2;
        }
        std::thread::sleep(Duration::from_secs(60));
        0
    });
    pair.set([3, 3]).unwrap();
    assert_eq!(pair.get().unwrap(), [3, 3]);
    assert!(!pair.lock().unwrap().owner_died());
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
    run("kind_mismatch", kind_mismatch);
    run("removal_on_drop", removal_on_drop);
    run("pod_holder_killed", pod_holder_killed);
    let _ = kill(dog, Signal::Kill);
    let _ = waitpid(dog, false);
}
