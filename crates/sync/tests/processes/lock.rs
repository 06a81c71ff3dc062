//! Lock, Mutex and RLock between processes, including a holder killed with
//! SIGKILL.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use mproc_shm::Segment;
use mproc_sync::{Lock, Mutex, OwnerDied, RLock, TryLockError};
use mproc_sys::{ExitStatus, Signal, kill, waitpid};

use crate::harness::{join, join_all_ok, spawn, wait_until};

const PROCS: usize = 4;
const INCREMENTS: u64 = 100_000;
const LIMIT: Duration = Duration::from_secs(60);

/// Plain (non-atomic) read-modify-write of a u64 in shared memory: only
/// mutual exclusion keeps the total exact.
fn bump(seg: &Segment) {
    let p = seg.payload();
    let v: u64 = p.read_pod(0).unwrap();
    p.write_pod(0, &(v + 1)).unwrap();
}

pub(crate) fn lock_counts_exactly() {
    let lock = Lock::new().unwrap();
    let counter = Segment::anonymous(64).unwrap();
    let pids: Vec<i32> = (0..PROCS)
        .map(|_| {
            spawn(|| {
                for _ in 0..INCREMENTS {
                    let _g = lock.lock().unwrap();
                    bump(&counter);
                }
                0
            })
        })
        .collect();
    join_all_ok(&pids, LIMIT);
    assert_eq!(
        counter.payload().read_pod::<u64>(0).unwrap(),
        PROCS as u64 * INCREMENTS
    );
    assert!(!lock.is_locked());
}

pub(crate) fn mutex_counts_exactly() {
    let m = Mutex::new(0u64).unwrap();
    let pids: Vec<i32> = (0..PROCS)
        .map(|_| {
            spawn(|| {
                for _ in 0..INCREMENTS / 4 {
                    *m.lock().unwrap() += 1;
                }
                0
            })
        })
        .collect();
    join_all_ok(&pids, LIMIT);
    assert_eq!(*m.lock().unwrap(), PROCS as u64 * INCREMENTS / 4);
}

pub(crate) fn rlock_counts_exactly_with_nesting() {
    let rlock = RLock::new().unwrap();
    let counter = Segment::anonymous(64).unwrap();
    let pids: Vec<i32> = (0..PROCS)
        .map(|_| {
            spawn(|| {
                for _ in 0..INCREMENTS {
                    let _outer = rlock.lock().unwrap();
                    let _inner = rlock.lock().unwrap();
                    if rlock.count() != 2 {
                        return 2;
                    }
                    bump(&counter);
                }
                0
            })
        })
        .collect();
    join_all_ok(&pids, LIMIT);
    assert_eq!(
        counter.payload().read_pod::<u64>(0).unwrap(),
        PROCS as u64 * INCREMENTS
    );
    assert!(!rlock.is_locked());
}

/// A child that takes the lock, says so, and sleeps until killed.
fn holder(lock: &Lock, held: &AtomicU32) -> i32 {
    let g = lock.lock().unwrap();
    held.store(1, Ordering::Release);
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let _ = &g;
    }
}

/// The holder is killed; the parent's next lock (the child is a zombie,
/// not yet reaped) reports it at its next check; then the lock works on
/// for other processes.
pub(crate) fn killed_holder_is_recovered() {
    let lock = Lock::new().unwrap();
    let flags = Segment::anonymous(64).unwrap();
    let held = flags.payload().get::<AtomicU32>(0).unwrap();
    let child = spawn(|| holder(&lock, held));
    assert!(wait_until(Duration::from_secs(10), || held
        .load(Ordering::Acquire)
        == 1));
    assert!(matches!(lock.try_lock(), Err(TryLockError::WouldBlock)));
    kill(child, Signal::Kill).unwrap();
    let start = Instant::now();
    let mut guard = match lock.lock() {
        Err(OwnerDied(g)) => g,
        Ok(_) => panic!("the holder's death was not reported"),
    };
    let took = start.elapsed();
    // At the next 20 ms check; seconds of slack for a loaded machine.
    assert!(
        took < Duration::from_secs(3),
        "owner death reported after {took:?}"
    );
    guard.make_consistent();
    drop(guard);
    assert_eq!(join(child, LIMIT), ExitStatus::Signaled(9));
    // Further processes use it normally.
    let counter = Segment::anonymous(64).unwrap();
    let pids: Vec<i32> = (0..2)
        .map(|_| {
            spawn(|| {
                for _ in 0..1000 {
                    match lock.lock() {
                        Ok(_g) => bump(&counter),
                        Err(_) => return 3,
                    }
                }
                0
            })
        })
        .collect();
    join_all_ok(&pids, LIMIT);
    assert_eq!(counter.payload().read_pod::<u64>(0).unwrap(), 2000);
}

/// The parent already sleeps in `lock()` when the holder is killed (by a
/// third process, 50 ms later): the death is noticed soon after, long
/// before the wait's timeout.
pub(crate) fn killed_holder_wakes_a_sleeping_waiter() {
    let m = Mutex::new(0u64).unwrap();
    let flags = Segment::anonymous(64).unwrap();
    let held = flags.payload().get::<AtomicU32>(0).unwrap();
    let victim = spawn(|| {
        let mut g = m.lock().unwrap();
        *g = 7; // a half-done update
        held.store(1, Ordering::Release);
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let _ = &g;
        }
    });
    assert!(wait_until(Duration::from_secs(10), || held
        .load(Ordering::Acquire)
        == 1));
    let killer = spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        match kill(victim, Signal::Kill) {
            Ok(()) => 0,
            Err(_) => 1,
        }
    });
    let start = Instant::now();
    let r = m.lock_timeout(Duration::from_secs(10));
    let took = start.elapsed();
    let mut g = match r {
        Err(TryLockError::OwnerDied(g)) => g,
        other => panic!("expected OwnerDied, got {:?}", other.map(|g| *g)),
    };
    // Found at the next 20 ms check, well before the 10 s timeout; the
    // bound leaves seconds for a loaded machine to run the killer and
    // reap the victim.
    assert!(took < Duration::from_secs(3), "recovered after {took:?}");
    assert_eq!(*g, 7);
    *g = 8;
    g.make_consistent();
    drop(g);
    join_all_ok(&[killer], LIMIT);
    assert_eq!(
        waitpid(victim, false).unwrap(),
        Some(ExitStatus::Signaled(9))
    );
    assert_eq!(*m.lock().unwrap(), 8);
}

/// A named lock opened by an unrelated-looking process (it opens by name
/// after the fork), and a timeout across processes.
pub(crate) fn named_lock_and_timeouts() {
    let name = format!("sync-test-lock-{}", std::process::id());
    let lock = Lock::create(&name).unwrap();
    let g = lock.lock().unwrap();
    let n = name.clone();
    let flags = Segment::anonymous(64).unwrap();
    let timed_out_once = flags.payload().get::<AtomicU32>(0).unwrap();
    let child = spawn(move || {
        let Ok(other) = Lock::open(&n) else { return 1 };
        let start = Instant::now();
        let timed_out = matches!(
            other.lock_timeout(Duration::from_millis(50)),
            Err(TryLockError::TimedOut { .. })
        );
        let took = start.elapsed();
        if !timed_out || took < Duration::from_millis(50) || took > Duration::from_secs(2) {
            return 2;
        }
        timed_out_once.store(1, Ordering::Release);
        // The parent releases after we report: then we get it.
        match other.lock_timeout(Duration::from_secs(10)) {
            Ok(_) => 0,
            Err(_) => 3,
        }
    });
    assert!(wait_until(Duration::from_secs(10), || timed_out_once
        .load(Ordering::Acquire)
        == 1));
    drop(g);
    join_all_ok(&[child], LIMIT);
}

/// A guard moved into a forked child is a copy: the parent's copy (dropped
/// when `spawn` returns, as `Process::start` drops its body) unlocks, and
/// the child's copy must not unlock again, or it releases whoever holds the
/// lock by then (two holders at once).
pub(crate) fn forked_copy_of_a_guard_leaves_the_lock_alone() {
    let lock = Lock::new().unwrap();
    let flags = Segment::anonymous(64).unwrap();
    let step = flags.payload().get::<AtomicU32>(0).unwrap();
    let g = lock.lock().unwrap();
    let child = spawn(move || {
        if !wait_until(LIMIT, || step.load(Ordering::Acquire) == 1) {
            return 1;
        }
        drop(g); // this process never held the lock
        0
    });
    // The parent's copy of the guard was dropped with the body: the lock
    // is free, and this thread takes it.
    let mine = lock
        .lock_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("the parent's copy of the guard did not unlock"));
    step.store(1, Ordering::Release);
    join_all_ok(&[child], LIMIT);
    assert!(
        lock.is_held_by_this_thread(),
        "a forked child's copy of a guard released the lock this thread holds"
    );
    // Another process finds it held, too.
    assert_eq!(spawn_try_lock(&lock), ExitStatus::Exited(0));
    drop(mine);
    assert!(!lock.is_locked());
}

/// Exits 0 if a forked child's `try_lock` finds the lock held.
fn spawn_try_lock(lock: &Lock) -> ExitStatus {
    let child = spawn(|| match lock.try_lock() {
        Err(TryLockError::WouldBlock) => 0,
        _ => 1,
    });
    join(child, LIMIT)
}

/// An RLock held twice by the parent: the inner guard moved into a forked
/// child is a copy (the parent's copy drops with the body); the child's
/// drop must not touch the shared count nor unlock the parent's outer
/// hold (Python's `RLock.release` by a non-owner is an error).
pub(crate) fn forked_copy_of_an_rlock_guard_leaves_it_alone() {
    let rlock = RLock::new().unwrap();
    let flags = Segment::anonymous(64).unwrap();
    let step = flags.payload().get::<AtomicU32>(0).unwrap();
    let outer = rlock.lock().unwrap();
    let inner = rlock.lock().unwrap();
    assert_eq!(rlock.count(), 2);
    let child = spawn(move || {
        if !wait_until(LIMIT, || step.load(Ordering::Acquire) == 1) {
            return 1;
        }
        drop(inner); // this process never held the lock
        0
    });
    // The parent's copy of `inner` dropped with the body.
    assert_eq!(rlock.count(), 1);
    step.store(1, Ordering::Release);
    join_all_ok(&[child], LIMIT);
    assert!(
        rlock.is_owned_by_current_thread() && rlock.count() == 1,
        "a forked child's copy of a guard released the parent's hold (count {})",
        rlock.count()
    );
    drop(outer);
    assert!(!rlock.is_locked());
}
