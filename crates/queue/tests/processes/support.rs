//! Forking, bounded waiting, shared counters and the watchdog.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mproc_shm::Segment;
use mproc_sys::{ExitStatus, ForkResult, Signal, exit_immediately, fork, kill, waitpid};

/// Whether the bigger sizes were asked for.
pub(crate) fn stress() -> bool {
    std::env::var_os("MPROC_QUEUE_STRESS").is_some_and(|v| v != "0")
}

static CHILDREN: [AtomicI32; 64] = [const { AtomicI32::new(0) }; 64];

fn track(pid: i32) {
    for c in &CHILDREN {
        if c.compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
}

fn untrack(pid: i32) {
    for c in &CHILDREN {
        let _ = c.compare_exchange(pid, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// SIGKILLs and reaps every child still tracked.
pub(crate) fn kill_tracked() {
    for c in &CHILDREN {
        let pid = c.swap(0, Ordering::SeqCst);
        if pid > 0 {
            let _ = kill(pid, Signal::Kill);
            let _ = waitpid(pid, false);
        }
    }
}

/// Forks a child that runs `f` and leaves with its return value (99 if it
/// panicked), never returning into the test's main.
pub(crate) fn fork_child(f: impl FnOnce() -> i32) -> i32 {
    fork_child_then(f, |f, _| drop(f))
}

/// [`fork_child`], the parent dropping its copy of `f` handing what it
/// captured to the child, as `Process::start` does.
pub(crate) fn fork_handing_over(f: impl FnOnce() -> i32) -> i32 {
    fork_child_then(f, |f, child| {
        mproc_sys::while_handing_over_to(child, || drop(f))
    })
}

/// Forks a child that runs `f`; the parent passes its copy of `f` and the
/// child's pid to `parent`.
fn fork_child_then<F: FnOnce() -> i32>(f: F, parent: impl FnOnce(F, i32)) -> i32 {
    // SAFETY: the parent's only other thread (the watchdog) sleeps holding
    // no lock; the child runs `f` and leaves through `_exit`.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let code = std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or(99);
            exit_immediately(code)
        }
        ForkResult::Parent { child } => {
            track(child);
            parent(f, child);
            child
        }
    }
}

/// Waits for `pid` at most `timeout`; returns its exit code (or 128 +
/// signal). Kills it and panics on timeout.
pub(crate) fn wait_child(pid: i32, timeout: Duration) -> i32 {
    let deadline = Instant::now() + timeout;
    loop {
        match waitpid(pid, true).expect("waitpid") {
            Some(status) => {
                untrack(pid);
                return match status {
                    ExitStatus::Exited(code) => code,
                    ExitStatus::Signaled(sig) => 128 + sig,
                };
            }
            None if Instant::now() >= deadline => {
                let _ = kill(pid, Signal::Kill);
                let _ = waitpid(pid, false);
                untrack(pid);
                panic!("child {pid} did not finish within {timeout:?}");
            }
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

/// Counters in an anonymous segment, shared with forked children.
pub(crate) struct Shared {
    seg: Segment,
}

impl Shared {
    pub(crate) fn new(words: usize) -> Shared {
        Shared {
            seg: Segment::anonymous(words as u64 * 8).unwrap(),
        }
    }
    fn word(&self, i: usize) -> &AtomicU64 {
        self.seg.payload().get::<AtomicU64>(i as u64 * 8).unwrap()
    }
    pub(crate) fn add(&self, i: usize, v: u64) {
        self.word(i).fetch_add(v, Ordering::SeqCst);
    }
    pub(crate) fn fetch_or(&self, i: usize, v: u64) -> u64 {
        self.word(i).fetch_or(v, Ordering::SeqCst)
    }
    pub(crate) fn get(&self, i: usize) -> u64 {
        self.word(i).load(Ordering::SeqCst)
    }
    /// In a child that took what a test kills it holding (a loan, a slot):
    /// adds 1 to word `i` and sleeps until killed.
    pub(crate) fn hold_until_killed(&self, i: usize) -> ! {
        self.add(i, 1);
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    /// Waits (bounded) until word `i` reaches `v`.
    pub(crate) fn wait_for(&self, i: usize, v: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.get(i) < v {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for word {i} to reach {v}"
            );
            std::thread::sleep(Duration::from_micros(100));
        }
    }
}

/// A xorshift number below `n`, seeded from the clock.
pub(crate) fn rand_below(n: u64) -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        x = Instant::now().elapsed().as_nanos() as u64
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
            | 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    x % n.max(1)
}

pub(crate) mod watchdog {
    //! Kills the children and fails the run when a test hangs.

    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    static DEADLINE_MS: AtomicU64 = AtomicU64::new(0);
    static NAME: Mutex<&'static str> = Mutex::new("");
    static STARTED: std::sync::Once = std::sync::Once::new();

    fn now_ms() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    /// Fails the run if the current test is not done within `limit`.
    pub(crate) fn arm(name: &'static str, limit: Duration) {
        *NAME.lock().unwrap() = name;
        DEADLINE_MS.store(now_ms() + limit.as_millis() as u64, Ordering::SeqCst);
        STARTED.call_once(|| {
            std::thread::spawn(|| {
                loop {
                    std::thread::sleep(Duration::from_millis(100));
                    let d = DEADLINE_MS.load(Ordering::SeqCst);
                    if d != 0 && now_ms() > d {
                        eprintln!(
                            "watchdog: test {} hung; killing children",
                            NAME.lock().map_or("?", |n| *n)
                        );
                        super::kill_tracked();
                        mproc_sys::exit_immediately(3);
                    }
                }
            });
        });
    }

    /// Gives the current test `limit` from now: a test of many rounds
    /// re-arms at each round, so that a machine slowed by other work (each
    /// round then takes many scheduler slices) fails it only for a round
    /// that hangs, not for the sum of slow ones.
    pub(crate) fn rearm(limit: Duration) {
        DEADLINE_MS.store(now_ms() + limit.as_millis() as u64, Ordering::SeqCst);
    }

    /// The current test is done.
    pub(crate) fn disarm() {
        DEADLINE_MS.store(0, Ordering::SeqCst);
    }
}
