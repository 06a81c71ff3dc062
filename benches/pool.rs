//! Process pool benchmarks (criterion, `iter_custom`), 2 workers:
//!
//! * `pool/map_default`: per-task overhead of `map` over trivial tasks with
//!   Python's default chunk size (100 000 tasks per call).
//! * `pool/map_chunksize_1`: the same, one task per chunk (10 000 tasks per
//!   call).
//! * `pool/imap_chunksize_1`: `imap` over an endless input (pulled
//!   lazily), the first 10 000 results taken, then dropped.
//! * `pool/start_teardown`: `Pool::new(2)` then drop (terminate and reap).
//! * `pool/start_close_join`: `Pool::new(2)` then close and join (the
//!   workers exit by themselves), as the mproc-bench harness measures it.
//!
//! Next to criterion, a report prints the mean start + teardown over 200
//! pools (measured first, in a process that has done nothing else, as
//! Python's figure was: a fork costs more the more memory the parent has
//! mapped), and per-task figures over 1 000 000 tasks (default chunk
//! size) and 200 000 tasks (chunk size 1), next to Python's
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

/// Mean time per result of `imap` over an endless input, `n` taken.
fn imap_per_task(pool: &Pool, n: usize) -> Duration {
    let t = Instant::now();
    let mut got = 0;
    for r in pool.imap(identity, 0u64..).expect("imap").take(n) {
        black_box(r.expect("task"));
        got += 1;
    }
    let took = t.elapsed();
    assert_eq!(got, n);
    took / n as u32
}

/// Mean time to create a pool and tear it down: dropped (terminate), or
/// closed and joined.
fn start_teardown(rounds: u32, close_join: bool) -> Duration {
    let t = Instant::now();
    for _ in 0..rounds {
        let pool = black_box(Pool::new(WORKERS).expect("pool"));
        if close_join {
            pool.close();
            pool.join().expect("join");
        }
        drop(pool);
    }
    t.elapsed() / rounds
}

/// Prints mproc's figure next to Python's.
fn line(what: &str, mproc: Duration, python_ns: f64) {
    let ns = mproc.as_secs_f64() * 1e9;
    println!(
        "{what:<34} {ns:>12.1} ns   Python {python_ns:>9.0} ns   ({:.1}x lower)",
        python_ns / ns.max(f64::MIN_POSITIVE)
    );
}

/// Per-task figures over 1 000 000 tasks (default chunk size) and
/// 200 000 tasks (chunk size 1), best of 3.
fn report_map() {
    let pool = Pool::new(WORKERS).expect("pool");
    let best = |n: u64, c: Option<usize>| {
        (0..3)
            .map(|_| per_task(&pool, n, c))
            .min()
            .unwrap_or_default()
    };
    line(
        "map, default chunksize, per task",
        best(1_000_000, None),
        140.0,
    );
    line(
        "map, chunksize 1, per task",
        best(200_000, Some(1)),
        20_300.0,
    );
    let imap = (0..3)
        .map(|_| imap_per_task(&pool, 200_000))
        .min()
        .unwrap_or_default();
    println!(
        "{:<34} {:>12.1} ns",
        "imap, endless input, per task",
        imap.as_secs_f64() * 1e9
    );
}

fn main() {
    // First in main: a spawned worker takes over here.
    mproc::init();
    // Start + teardown first, in a process that has done nothing else yet
    // (as Python's figure was taken): a fork costs more the more memory
    // the parent has mapped.
    println!("pool of {WORKERS} workers");
    line(
        "start + teardown (mean of 200)",
        start_teardown(200, false),
        5_000_000.0,
    );
    line(
        "start + close + join (mean of 200)",
        start_teardown(200, true),
        5_000_000.0,
    );
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    let mut g = c.benchmark_group("pool");
    g.throughput(Throughput::Elements(1));
    g.bench_function("start_teardown", |b| {
        b.iter_custom(|iters| start_teardown(iters as u32, false) * iters as u32)
    });
    g.bench_function("start_close_join", |b| {
        b.iter_custom(|iters| start_teardown(iters as u32, true) * iters as u32)
    });
    report_map();
    let pool = Pool::new(WORKERS).expect("pool");
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
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("imap_chunksize_1", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| imap_per_task(&pool, 10_000) * 10_000)
                .sum()
        })
    });
    g.finish();
    drop(pool);
    c.final_summary();
}
