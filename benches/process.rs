//! Start + join of a child that does nothing, per start method (criterion).
//!
//! * `process/fork`: `Process::new(noop).start()` then `join()`.
//! * `process/spawn`: the same with `StartMethod::Spawn` (re-executes this
//!   benchmark binary, whose `main` calls `mproc::init()` first).
//!
//! Python's figures on the same machine: 2.05 ms (fork), 60 ms (spawn).
//!
//! `cargo bench --bench process` (add `-- --quick` for a short run).

use std::time::Duration;

use criterion::Criterion;
use mproc::{Process, StartMethod};

fn noop() {}

fn start_join(method: StartMethod) {
    let child = Process::new(noop)
        .start_method(method)
        .start()
        .expect("start");
    let code = child.join_timeout(Duration::from_secs(10)).expect("join");
    assert_eq!(code, Some(0), "child failed");
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("process");
    group.bench_function("fork", |b| b.iter(|| start_join(StartMethod::Fork)));
    group
        .sample_size(50)
        .measurement_time(Duration::from_secs(8))
        .bench_function("spawn", |b| b.iter(|| start_join(StartMethod::Spawn)));
    group.finish();
}

fn main() {
    // A spawned child is this binary re-executed: it runs its function here.
    mproc::init();
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
