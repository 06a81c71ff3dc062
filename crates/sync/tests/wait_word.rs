//! WaitWord between threads of one process (the futex is the same shared
//! futex processes use), and its no-syscall-without-waiters property.
#![cfg(not(loom))]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mproc_sync::{Futex, FutexWait, SharedFutex, WaitOutcome, WaitWord};

static WAITS: AtomicUsize = AtomicUsize::new(0);
static WAKES: AtomicUsize = AtomicUsize::new(0);

/// The shared futex, counting its calls (one test uses it, so the global
/// counters are not shared between tests).
struct Counting;
impl Futex for Counting {
    fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> FutexWait {
        WAITS.fetch_add(1, Ordering::SeqCst);
        SharedFutex::wait(word, expected, timeout)
    }
    fn wake(word: &AtomicU32, n: u32) -> usize {
        WAKES.fetch_add(1, Ordering::SeqCst);
        SharedFutex::wake(word, n)
    }
}

fn secs(n: u64) -> Option<Instant> {
    Some(Instant::now() + Duration::from_secs(n))
}

#[test]
fn system_calls_only_when_needed() {
    let w: Arc<WaitWord<Counting>> = Arc::new(WaitWord::with_futex(0));
    // Wakes with nobody registered: no call.
    assert_eq!(w.wake_one(), 0);
    assert_eq!(w.wake_all(), 0);
    assert_eq!(WAKES.load(Ordering::SeqCst), 0);
    // A wait on a value the word does not hold: no call.
    assert_eq!(w.wait_while_spin(5, None, 0), WaitOutcome::Changed);
    assert_eq!(WAITS.load(Ordering::SeqCst), 0);
    // An expired deadline: no call.
    assert_eq!(
        w.wait_while_spin(0, Some(Instant::now()), 0),
        WaitOutcome::TimedOut
    );
    assert_eq!(WAITS.load(Ordering::SeqCst), 0);
    assert_eq!(w.waiters(), 0);

    // A real sleeper: the wake makes the call and reaches it.
    let w2 = Arc::clone(&w);
    let t = std::thread::spawn(move || w2.wait_while_spin(0, secs(10), 0));
    let until = Instant::now() + Duration::from_secs(10);
    while WAITS.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < until, "waiter never slept");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(w.waiters(), 1);
    w.value().store(1, Ordering::Release);
    // The sleeper may be just about to enter the kernel: wake until it leaves.
    let mut woken = 0;
    while !t.is_finished() {
        woken += w.wake_one();
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(t.join().unwrap(), WaitOutcome::Changed);
    assert!(woken <= 1);
    assert!(WAKES.load(Ordering::SeqCst) >= 1);
    assert_eq!(w.waiters(), 0);
}

#[test]
fn timeout_is_honoured() {
    let w = WaitWord::new(9);
    for ms in [0u64, 1, 20] {
        let start = Instant::now();
        let deadline = start + Duration::from_millis(ms);
        assert_eq!(w.wait_while(9, Some(deadline)), WaitOutcome::TimedOut);
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(ms),
            "{ms} ms: returned after {took:?}"
        );
        assert!(
            took < Duration::from_millis(ms + 2000),
            "{ms} ms: took {took:?}"
        );
    }
    assert_eq!(w.waiters(), 0);
}

#[test]
fn zeroed_bytes_are_a_valid_word() {
    let heap = mproc_shm::HeapRegion::new(64);
    let w = heap.region().get::<WaitWord>(8).unwrap();
    assert_eq!(w.value().load(Ordering::Relaxed), 0);
    assert_eq!(w.waiters(), 0);
    assert_eq!(w.wait_while(1, None), WaitOutcome::Changed);
    assert_eq!(std::mem::size_of::<WaitWord>(), 8);
    assert!(heap.region().get::<WaitWord>(4).is_err()); // misaligned
}

/// Two threads hand a token back and forth, each sleeping (no spin) until
/// the word is its turn: a lost wake-up would hang one of them until its
/// deadline, and the test fails instead of hanging.
#[test]
fn ping_pong_loses_no_wakeup() {
    const ROUNDS: u32 = 20_000;
    for spins in [0, 64] {
        let w = Arc::new(WaitWord::new(0));
        let player = |me: u32, w: Arc<WaitWord>| {
            move || {
                let deadline = secs(30);
                for round in 0..ROUNDS {
                    let mine = round * 2 + me;
                    loop {
                        let now = w.value().load(Ordering::Acquire);
                        if now == mine {
                            break;
                        }
                        let r = w.wait_while_spin(now, deadline, spins);
                        assert_eq!(r, WaitOutcome::Changed, "player {me} stuck at {now}");
                    }
                    w.value().store(mine + 1, Ordering::Release);
                    w.wake_one();
                }
            }
        };
        let a = std::thread::spawn(player(0, Arc::clone(&w)));
        let b = std::thread::spawn(player(1, Arc::clone(&w)));
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(w.value().load(Ordering::Relaxed), ROUNDS * 2);
        assert_eq!(w.waiters(), 0);
    }
}

/// Many sleepers, one broadcast.
#[test]
fn wake_all_reaches_every_sleeper() {
    let w = Arc::new(WaitWord::new(0));
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let w = Arc::clone(&w);
            std::thread::spawn(move || w.wait_while_spin(0, secs(10), 0))
        })
        .collect();
    let until = Instant::now() + Duration::from_secs(10);
    while w.waiters() < 6 {
        assert!(Instant::now() < until);
        std::thread::sleep(Duration::from_millis(1));
    }
    w.value().store(1, Ordering::Release);
    w.wake_all();
    for t in threads {
        assert_eq!(t.join().unwrap(), WaitOutcome::Changed);
    }
}
