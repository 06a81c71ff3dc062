//! Process pool benchmarks (criterion, `iter_custom`), 2 workers:
//!
//! * `pool/map_default`: per-task overhead of `map` over trivial tasks with
//!   Python's default chunk size (100 000 tasks per call).
//! * `pool/map_chunksize_1`: the same, one task per chunk (10 000 tasks per
//!   call).
//! * `pool/start_teardown`: `Pool::new(2)` then drop (terminate and reap).
//!
//! Before criterion runs, a report prints per-task figures over
//! 1 000 000 tasks (default chunk size) and 200 000 tasks (chunk size 1),
//! and the mean start + teardown over 200 pools, next to Python's
//! `multiprocessing.Pool(2)` measured on the reference machine.
//!
//! `cargo bench --bench pool` (add `-- --quick` for a short run).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use mproc::Pool;

/// Workers per pool.
const WORKERS: usize = 2;

fn identity(x: u64) -> u64 {
    x
}

/// Mean time per task of `map` over `n` trivial tasks.
fn per_task(pool: &Pool, n: u64, chunksize: Option<usize>) -> Duration {
    let t = Instant::now();
    let out = match chunksize {
        Some(c) => pool.map_chunked(identity, 0..n, c),
        None => pool.map(identity, 0..n),
    }
    .expect("map");
    let took = t.elapsed();
    assert_eq!(out.len() as u64, n);
    took / n as u32
}

/// Mean time to create a pool and tear it down.
fn start_teardown(rounds: u32) -> Duration {
    let t = Instant::now();
    for _ in 0..rounds {
        drop(black_box(Pool::new(WORKERS).expect("pool")));
    }
    t.elapsed() / rounds
}

fn report() {
    let pool = Pool::new(WORKERS).expect("pool");
    let best = |n: u64, c: Option<usize>| {
        (0..3)
            .map(|_| per_task(&pool, n, c))
            .min()
            .unwrap_or_default()
    };
    let default = best(1_000_000, None);
    let one = best(200_000, Some(1));
    drop(pool);
    let start = start_teardown(200);
    println!("pool of {WORKERS} workers (best of 3)        mproc          Python Pool(2)");
    println!(
        "map, default chunksize, per task   {:>10.1} ns      140 ns",
        default.as_secs_f64() * 1e9
    );
    println!(
        "map, chunksize 1, per task         {:>10.1} ns    20300 ns",
        one.as_secs_f64() * 1e9
    );
    println!(
        "start + teardown                   {:>10.1} us     5000 us",
        start.as_secs_f64() * 1e6
    );
}

fn main() {
    // First in main: a spawned worker takes over here.
    mproc::init();
    report();
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    let pool = Pool::new(WORKERS).expect("pool");
    let mut g = c.benchmark_group("pool");
    for (name, n, chunksize) in [
        ("map_default", 100_000u64, None),
        ("map_chunksize_1", 10_000, Some(1)),
    ] {
        g.throughput(Throughput::Elements(n));
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| per_task(&pool, n, chunksize) * n as u32)
                    .sum()
            })
        });
    }
    g.throughput(Throughput::Elements(1));
    g.bench_function("start_teardown", |b| {
        b.iter_custom(|iters| start_teardown(iters as u32) * iters as u32)
    });
    g.finish();
    drop(pool);
    c.final_summary();
}
