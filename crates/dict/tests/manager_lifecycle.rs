//! What a Manager's names and segments go through: a name asked for as
//! another kind is a typed error (in any process); objects outlive their
//! handles and go with the creating manager only. Then `Value` / `Array`
//! whose lock holder is SIGKILLed mid-write.
//!
//! Run sequentially from a plain `main` (no harness threads, so forking is
//! safe); children leave through `exit_immediately`; every wait is bounded,
//! and a watchdog process kills the whole run if it hangs.

mod common;

use std::time::Duration;

use mproc_dict::{Array, DictError, Locked, Manager, Value};
use mproc_queue::QueueOptions;
use mproc_shm::{SegmentKind, ShmError};
use mproc_sync::SyncError;
use mproc_sys::{ExitStatus, Signal, kill, waitpid};

use common::*;

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

/// A registry entry whose kind is garbage makes `names()` an error, but
/// the creating manager's drop still removes every object it can read
/// (it used to give up on all of them).
fn corrupt_entry_leaves_only_itself_behind() {
    const P: &str = "test-mgr-corrupt-entry";
    let m = Manager::create(P).unwrap();
    drop(m.lock("a").unwrap());
    drop(m.event("b").unwrap());
    drop(m.rlock("c").unwrap());
    assert_eq!(shm_names(P).len(), 4, "{:?}", shm_names(P));
    // Entry 1 ("b") of the registry: its kind word, at 128 + 128.
    let registry = mproc_shm::Segment::open(P).unwrap();
    registry.payload().write_pod(256, &0xdead_beef_u32).unwrap();
    drop(registry);
    assert!(matches!(m.names(), Err(DictError::Corrupt { .. })));
    let b = m.full_name("b");
    drop(m);
    assert_eq!(
        shm_names(P),
        vec![format!("mproc.{b}")],
        "only the unreadable entry's object"
    );
    mproc_shm::Segment::unlink(&b).unwrap();
}

/// A name no object can be made under (a '/', a dict name too long once
/// prefixed) is refused before the registry records it: `names()` stays
/// empty, and failures alone never fill the registry.
fn unusable_name_is_not_registered() {
    // Long enough that a dict of the longest object name is too long.
    const P: &str = "test-mgr-unusable-name-ppppppppppppppppppppppppppppppppppppp";
    let m = Manager::create(P).unwrap();
    assert!(matches!(
        m.value("bad/name", 1u32),
        Err(DictError::Shm(ShmError::InvalidName { .. }))
    ));
    let long = "d".repeat(mproc_dict::MAX_OBJECT_NAME);
    let err = m.dict(&long, mproc_dict::DictOptions::new()).unwrap_err();
    assert!(matches!(err, DictError::NameTooLong { .. }), "{err}");
    assert_eq!(m.names().unwrap(), vec![]);
    for i in 0..mproc_dict::MAX_NAMES + 1 {
        assert!(m.value(&format!("bad/{i}"), 0u8).is_err());
    }
    let _good = m.value("good", 1u32).unwrap();
    assert_eq!(
        m.names().unwrap(),
        vec![("good".to_string(), SegmentKind::Value)]
    );
    drop(_good);
    drop_and_check_clean(m);
}

/// A process killed while it makes an object (here, while it waits for the
/// registry, which is recorded first) leaves nothing behind that outlives
/// the manager: every object is persistent, so one made and never recorded
/// would stay for good.
fn a_process_killed_while_making_an_object_leaves_nothing() {
    const P: &str = "test-mgr-killed-making";
    let m = Manager::create(P).unwrap();
    let registry = mproc_shm::Segment::open(P).unwrap();
    let lock = mproc_sync::RawLock::attach(&registry.payload(), 0).unwrap();
    let held = lock.lock().unwrap();
    let child = spawn(|| match Manager::open(P) {
        Ok(other) => i32::from(other.lock("x").is_err()),
        Err(_) => 2,
    });
    // Killed once it sleeps on the registry lock (its waiter bit is set),
    // not at some moment before it got there.
    wait_for("the child to wait for the registry", || {
        format!("{lock:?}").contains("waiters: true")
    });
    kill(child, Signal::Kill).unwrap();
    assert_eq!(
        waitpid(child, false).unwrap(),
        Some(ExitStatus::Signaled(9))
    );
    drop(held);
    drop(registry);
    assert_eq!(m.names().unwrap(), vec![]);
    drop_and_check_clean(m);
}

/// A registry held by a process that does not let go (stopped with
/// `SIGSTOP` while it holds the lock): a handle with a lock timeout gets
/// `LockTimeout` and makes nothing, where it used to wait for ever; once
/// the holder is killed, the next call takes the lock over and succeeds.
fn a_registry_held_by_a_stopped_process_times_out() {
    const P: &str = "test-mgr-stopped-holder";
    let mut m = Manager::create(P).unwrap();
    let registry = mproc_shm::Segment::open(P).unwrap();
    let lock = mproc_sync::RawLock::attach(&registry.payload(), 0).unwrap();
    let holder = spawn(|| {
        let _held = lock.lock().unwrap();
        let _ = kill(mproc_sys::getpid(), Signal::Stop);
        0
    });
    wait_for("the child to hold the registry", || {
        matches!(lock.try_lock(), Err(mproc_sync::TryLockError::WouldBlock))
    });
    let timeout = Duration::from_millis(50);
    m.set_lock_timeout(Some(timeout));
    let err = m.value("hits", 0u32).unwrap_err();
    assert!(
        matches!(err, DictError::LockTimeout { locked: Locked::Registry, timeout: t } if t == timeout),
        "{err:?}"
    );
    assert!(shm_names(&format!("{P}.")).is_empty(), "nothing made");
    kill(holder, Signal::Kill).unwrap();
    assert_eq!(
        waitpid(holder, false).unwrap(),
        Some(ExitStatus::Signaled(9))
    );
    assert_eq!(m.value("hits", 7u32).unwrap().get().unwrap(), 7);
    drop(registry);
    drop_and_check_clean(m);
}

/// A handle opened before the creator dropped the manager makes nothing
/// afterwards: the object it would make is removed again and the call
/// says so, instead of leaving a persistent segment no one removes.
fn objects_made_after_the_creators_drop_are_refused_and_removed() {
    const P: &str = "test-mgr-late-objects";
    let m = Manager::create(P).unwrap();
    let other = Manager::open(P).unwrap();
    drop(m.value("early", 1u32).unwrap());
    drop(m);
    assert!(matches!(
        other.value("late", 2u32),
        Err(DictError::ManagerClosed { .. })
    ));
    assert!(matches!(
        other.dict("lated", mproc_dict::DictOptions::new()),
        Err(DictError::ManagerClosed { .. })
    ));
    drop(other);
    let left = shm_names(P);
    assert!(left.is_empty(), "left behind: {left:?}");
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
    run("kind_mismatch", kind_mismatch);
    run("removal_on_drop", removal_on_drop);
    run(
        "corrupt_entry_leaves_only_itself_behind",
        corrupt_entry_leaves_only_itself_behind,
    );
    run(
        "unusable_name_is_not_registered",
        unusable_name_is_not_registered,
    );
    run(
        "a_process_killed_while_making_an_object_leaves_nothing",
        a_process_killed_while_making_an_object_leaves_nothing,
    );
    run(
        "objects_made_after_the_creators_drop_are_refused_and_removed",
        objects_made_after_the_creators_drop_are_refused_and_removed,
    );
    run(
        "a_registry_held_by_a_stopped_process_times_out",
        a_registry_held_by_a_stopped_process_times_out,
    );
    run("pod_holder_killed", pod_holder_killed);
    let _ = kill(dog, Signal::Kill);
    let _ = waitpid(dog, false);
}
