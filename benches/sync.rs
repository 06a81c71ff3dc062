//! Cross-process locks and events: mproc's robust `Lock` against
//! `raw_sync`'s process-shared pthread mutex and `std::sync::Mutex`
//! (between threads), and `Event` wake-up latency between processes.
//!
//! `cargo bench --bench sync`. Two-process figures fork a child per
//! measurement and time both sides with `iter_custom`; children only spin,
//! lock and `_exit`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use mproc::shm::Segment;
use mproc::sync::{Event, Lock, RawLock};
use mproc::sys::{ForkResult, exit_immediately, fork, waitpid};
use raw_sync::locks::{LockImpl, LockInit, Mutex as RawSyncMutex};

/// Runs `child` in a forked process and `parent` here, both released at
/// once by a start flag; returns the time until both are done.
fn two_processes(start: &AtomicU32, child: impl FnOnce(), parent: impl FnOnce()) -> Duration {
    start.store(0, Ordering::SeqCst);
    // SAFETY: the benchmark runs on one thread; the child spins, runs
    // `child` (atomics, futexes, no allocation) and `_exit`s.
    let pid = match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            while start.load(Ordering::Acquire) == 0 {
                std::hint::spin_loop();
            }
            child();
            exit_immediately(0)
        }
        ForkResult::Parent { child } => child,
    };
    let t = Instant::now();
    start.store(1, Ordering::Release);
    parent();
    let status = waitpid(pid, false).expect("waitpid");
    let took = t.elapsed();
    assert_eq!(status, Some(mproc::sys::ExitStatus::Exited(0)));
    took
}

/// A `raw_sync` mutex in an anonymous segment (shared across fork).
fn raw_sync_mutex(seg: &Segment) -> Box<dyn LockImpl> {
    let base = seg.payload().as_ptr();
    // SAFETY: the payload is 4096 writable shared bytes that outlive the
    // handle (the segment is dropped after it); the mutex takes the first
    // bytes and guards the byte at 1024, which nothing else touches.
    unsafe { RawSyncMutex::new(base, base.add(1024)) }
        .expect("raw_sync mutex")
        .0
}

fn uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("lock_uncontended");
    g.throughput(Throughput::Elements(1));
    let lock = Lock::new().unwrap();
    g.bench_function("mproc_Lock", |b| b.iter(|| drop(black_box(lock.lock()))));
    let raw = RawLock::new();
    g.bench_function("mproc_RawLock", |b| b.iter(|| drop(black_box(raw.lock()))));
    let seg = Segment::anonymous(4096).unwrap();
    let rs = raw_sync_mutex(&seg);
    g.bench_function("raw_sync_Mutex", |b| {
        b.iter(|| drop(black_box(rs.lock().unwrap())))
    });
    let std_mutex = std::sync::Mutex::new(0u64);
    g.bench_function("std_Mutex", |b| {
        b.iter(|| drop(black_box(std_mutex.lock().unwrap())))
    });
    g.finish();
}

/// Two contenders each take the lock, bump a counter and release, for
/// `iters` acquisitions in all; the figure is acquisitions per second
/// across both.
fn contended(c: &mut Criterion) {
    let mut g = c.benchmark_group("lock_two_processes");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    let flags = Segment::anonymous(4096).unwrap();
    let start = flags.payload().get::<AtomicU32>(0).unwrap();
    let counter = flags.payload().get::<AtomicU64>(64).unwrap();

    let lock = Lock::new().unwrap();
    let mproc_side = |n: u64| {
        for _ in 0..n {
            let _g = lock.lock().unwrap();
            counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
    };
    g.bench_function("mproc_Lock", |b| {
        b.iter_custom(|iters| {
            let half = iters.div_ceil(2);
            two_processes(start, || mproc_side(half), || mproc_side(half))
        })
    });

    let seg = Segment::anonymous(4096).unwrap();
    let rs = raw_sync_mutex(&seg);
    let raw_sync_side = |n: u64| {
        for _ in 0..n {
            let _g = rs.lock().unwrap();
            counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
    };
    g.bench_function("raw_sync_Mutex", |b| {
        b.iter_custom(|iters| {
            let half = iters.div_ceil(2);
            two_processes(start, || raw_sync_side(half), || raw_sync_side(half))
        })
    });

    let std_mutex = std::sync::Mutex::new(0u64);
    g.bench_function("std_Mutex_two_threads", |b| {
        b.iter_custom(|iters| {
            let half = iters.div_ceil(2);
            let side = || {
                for _ in 0..half {
                    *std_mutex.lock().unwrap() += 1;
                }
            };
            let t = Instant::now();
            std::thread::scope(|s| {
                s.spawn(side);
                side();
            });
            t.elapsed()
        })
    });
    g.finish();
}

/// Event ping-pong between two processes: the parent sets `ping` and
/// waits for `pong`; the child waits for `ping`, clears it, sets `pong`.
/// One iteration is one round trip, two cross-process wake-ups.
fn event_latency(c: &mut Criterion) {
    let mut g = c.benchmark_group("event_round_trip_two_processes");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    let flags = Segment::anonymous(4096).unwrap();
    let start = flags.payload().get::<AtomicU32>(0).unwrap();
    let ping = Event::new().unwrap();
    let pong = Event::new().unwrap();
    let limit = Duration::from_secs(10);
    g.bench_function("mproc_Event", |b| {
        b.iter_custom(|iters| {
            ping.clear();
            pong.clear();
            two_processes(
                start,
                || {
                    for _ in 0..iters {
                        assert!(ping.wait_timeout(limit));
                        ping.clear();
                        pong.set();
                    }
                },
                || {
                    for _ in 0..iters {
                        ping.set();
                        assert!(pong.wait_timeout(limit));
                        pong.clear();
                    }
                },
            )
        })
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    uncontended(&mut c);
    contended(&mut c);
    event_latency(&mut c);
    c.final_summary();
}
