//! Shared dict throughput: `get` and `insert` from one process, from two
//! processes on different and on the same keys, and the same against a
//! `std::collections::HashMap` behind a `std::sync::Mutex` shared by two
//! threads. Python's `Manager().dict()` does ~23 000 operations per second
//! from one client on the reference machine.
//!
//! Each one-process figure is measured twice: in wall-clock time, and in
//! this thread's CPU time (`*-cpu-time` groups), which a machine loaded by
//! other work does not inflate. In the two-process groups each process
//! reports its own CPU time and the slower one counts.
//!
//! `dict/fresh-default` is the shape the `mproc-bench` harness measures:
//! 5000 inserts into a fresh dict with default options, so its growth
//! and first-touch page faults included, in wall-clock time.
//!
//! Run: `cargo bench --bench dict`.

// criterion's group macro generates an undocumented public function.
#![allow(missing_docs)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mproc::dict::{Dict, DictOptions};
use mproc::shm::Segment;
use mproc::sys::{ForkResult, exit_immediately, fork, thread_cpu_time, waitpid};

const KEYS: u64 = 10_000;

fn key(i: u64) -> [u8; 8] {
    i.to_le_bytes()
}

fn filled_dict() -> Dict {
    let d = Dict::new(DictOptions::new().capacity(4 * KEYS)).expect("dict");
    for i in 0..2 * KEYS {
        d.insert(&key(i), &key(i)).expect("insert");
    }
    d
}

fn one_process(c: &mut Criterion) {
    let d = filled_dict();
    let mut g = c.benchmark_group("dict/one-process");
    g.throughput(Throughput::Elements(1));
    let mut i = 0u64;
    g.bench_function("get_with", |b| {
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(d.get_with(&key(i), |v| v[0]).expect("get"))
        })
    });
    g.bench_function("get", |b| {
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(d.get(&key(i)).expect("get"))
        })
    });
    g.bench_function("insert", |b| {
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(d.insert(&key(i), &key(i + 1)).expect("insert"))
        })
    });
    g.bench_function("update", |b| {
        b.iter(|| {
            i = (i + 1) % KEYS;
            d.update(&key(i), |v| Some(v.map_or([0; 8], |b| key(b[0].into()))))
                .expect("update")
        })
    });
    let map: Mutex<HashMap<[u8; 8], [u8; 8]>> =
        Mutex::new((0..2 * KEYS).map(|i| (key(i), key(i))).collect());
    g.bench_function("std-mutex-hashmap/get", |b| {
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(map.lock().expect("mutex").get(&key(i)).copied())
        })
    });
    g.bench_function("std-mutex-hashmap/insert", |b| {
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(map.lock().expect("mutex").insert(key(i), key(i + 1)))
        })
    });
    g.finish();
}

/// Thread CPU time of `iters` calls of `f`.
fn cpu_time(iters: u64, mut f: impl FnMut(u64)) -> Duration {
    let t0 = thread_cpu_time();
    for n in 0..iters {
        f(n);
    }
    thread_cpu_time() - t0
}

fn one_process_cpu_time(c: &mut Criterion) {
    let d = filled_dict();
    let map: Mutex<HashMap<[u8; 8], [u8; 8]>> =
        Mutex::new((0..2 * KEYS).map(|i| (key(i), key(i))).collect());
    let mut g = c.benchmark_group("dict/one-process-cpu-time");
    g.throughput(Throughput::Elements(1));
    g.bench_function("get_with", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, |n| {
                drop(black_box(d.get_with(&key(n % KEYS), |v| v[0])))
            })
        })
    });
    g.bench_function("get", |b| {
        b.iter_custom(|iters| cpu_time(iters, |n| drop(black_box(d.get(&key(n % KEYS))))))
    });
    g.bench_function("insert", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, |n| {
                drop(black_box(d.insert(&key(n % KEYS), &key(n))))
            })
        })
    });
    g.bench_function("update", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, |n| {
                drop(black_box(d.update(&key(n % KEYS), |v| {
                    Some(v.map_or([0; 8], |b| key(b[0].into())))
                })))
            })
        })
    });
    g.bench_function("std-mutex-hashmap/get", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, |n| {
                let _ = black_box(map.lock().expect("mutex").get(&key(n % KEYS)).copied());
            })
        })
    });
    g.bench_function("std-mutex-hashmap/insert", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, |n| {
                let _ = black_box(map.lock().expect("mutex").insert(key(n % KEYS), key(n)));
            })
        })
    });
    g.finish();
}

fn fresh_default(c: &mut Criterion) {
    const N: u64 = 5_000;
    let mut g = c.benchmark_group("dict/fresh-default");
    g.throughput(Throughput::Elements(N));
    g.sample_size(30);
    g.bench_function("insert-5000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let d = Dict::new(DictOptions::new()).expect("dict");
                let t0 = Instant::now();
                for i in 0..N {
                    black_box(d.insert(&key(i), &key(i)).expect("insert"));
                }
                total += t0.elapsed();
            }
            total
        })
    });
    g.bench_function("std-mutex-hashmap/insert-5000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let map: Mutex<HashMap<[u8; 8], [u8; 8]>> = Mutex::new(HashMap::new());
                let t0 = Instant::now();
                for i in 0..N {
                    black_box(map.lock().expect("mutex").insert(key(i), key(i)));
                }
                total += t0.elapsed();
            }
            total
        })
    });
    g.finish();
}

#[derive(Clone, Copy)]
enum Op {
    Get,
    Insert,
}

/// `iters` operations in each of two processes at once (the child on
/// `child_base..`, the parent on `0..`); the time until both finish.
///
/// With `cpu`, the larger of the two processes' CPU times instead.
fn two_processes_run(d: &Dict, op: Op, child_base: u64, iters: u64, cpu: bool) -> Duration {
    let flags = Segment::anonymous(64).expect("segment");
    let region = flags.payload();
    let ready = region.get::<AtomicU64>(0).expect("flag");
    let go = region.get::<AtomicU64>(8).expect("flag");
    let child_cpu = region.get::<AtomicU64>(16).expect("flag");
    let work = |base: u64| {
        for n in 0..iters {
            let k = key(base + n % KEYS);
            match op {
                Op::Get => drop(black_box(d.get_with(&k, |v| v[0]))),
                Op::Insert => drop(black_box(d.insert(&k, &key(n)))),
            }
        }
    };
    // SAFETY: the benchmark is single-threaded when it forks; the child
    // spins on shared atomics, works on the dict and leaves via `_exit`.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            ready.store(1, Ordering::Release);
            while go.load(Ordering::Acquire) == 0 {
                std::hint::spin_loop();
            }
            let t0 = thread_cpu_time();
            work(child_base);
            child_cpu.store(
                (thread_cpu_time() - t0).as_nanos() as u64,
                Ordering::Release,
            );
            exit_immediately(0)
        }
        ForkResult::Parent { child } => {
            while ready.load(Ordering::Acquire) == 0 {
                std::hint::spin_loop();
            }
            let start = Instant::now();
            let t0 = thread_cpu_time();
            go.store(1, Ordering::Release);
            work(0);
            let mine = thread_cpu_time() - t0;
            waitpid(child, false).expect("waitpid");
            let wall = start.elapsed();
            if cpu {
                mine.max(Duration::from_nanos(child_cpu.load(Ordering::Acquire)))
            } else {
                wall
            }
        }
    }
}

fn two_threads_mutex_run(
    map: &Mutex<HashMap<[u8; 8], [u8; 8]>>,
    op: Op,
    other_base: u64,
    iters: u64,
) -> Duration {
    let work = |base: u64| {
        for n in 0..iters {
            let k = key(base + n % KEYS);
            match op {
                Op::Get => drop(black_box(map.lock().expect("mutex").get(&k).copied())),
                Op::Insert => drop(black_box(map.lock().expect("mutex").insert(k, key(n)))),
            }
        }
    };
    let start = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| work(other_base));
        work(0);
    });
    start.elapsed()
}

fn two_processes(c: &mut Criterion) {
    let d = filled_dict();
    let map: Mutex<HashMap<[u8; 8], [u8; 8]>> =
        Mutex::new((0..2 * KEYS).map(|i| (key(i), key(i))).collect());
    let mut g = c.benchmark_group("dict/two-processes");
    // One iteration is one operation in each process: elements/s is the
    // total rate.
    g.throughput(Throughput::Elements(2));
    g.sample_size(20);
    for (op, op_name) in [(Op::Get, "get"), (Op::Insert, "insert")] {
        for (base, keys) in [(KEYS, "different-keys"), (0, "same-keys")] {
            g.bench_function(format!("mproc/{op_name}/{keys}"), |b| {
                b.iter_custom(|iters| two_processes_run(&d, op, base, iters, false))
            });
            g.bench_function(format!("mproc-cpu-time/{op_name}/{keys}"), |b| {
                b.iter_custom(|iters| two_processes_run(&d, op, base, iters, true))
            });
            g.bench_function(
                format!("std-mutex-hashmap-2-threads/{op_name}/{keys}"),
                |b| b.iter_custom(|iters| two_threads_mutex_run(&map, op, base, iters)),
            );
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = one_process, one_process_cpu_time, fresh_default, two_processes
}
criterion_main!(benches);
