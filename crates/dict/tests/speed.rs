//! The hot paths' cost in CPU time (robust to a loaded machine), checked
//! against 1000 x Python's `Manager().dict()` in optimized builds. Ignored
//! by default; run it with the benchmark profile (LTO, one codegen unit, as
//! the criterion benches are built): `cargo test --profile bench -p
//! mproc-dict --test speed -- --ignored --nocapture`; `KEYS=n` sets the
//! key count.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Mutex;

use mproc_dict::{Dict, DictOptions};
use mproc_sys::thread_cpu_time;

fn per_op(n: u64, mut f: impl FnMut(u64)) -> f64 {
    let t0 = thread_cpu_time();
    for i in 0..n {
        f(i);
    }
    (thread_cpu_time() - t0).as_nanos() as f64 / n as f64
}

#[test]
#[ignore]
fn cpu_time_per_operation() {
    let keys: u64 = std::env::var("KEYS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(10_000);
    run(keys);
}

fn run(keys: u64) {
    #[allow(non_snake_case)]
    let KEYS = keys;
    const N: u64 = 2_000_000;
    let d = Dict::new(DictOptions::new().capacity(4 * KEYS)).unwrap();
    for i in 0..KEYS {
        d.insert(&i.to_le_bytes(), &i.to_le_bytes()).unwrap();
    }
    let get_with = per_op(N, |i| {
        black_box(d.get_with(&(i % KEYS).to_le_bytes(), |v| v[0]).unwrap());
    });
    let insert = per_op(N, |i| {
        black_box(
            d.insert(&(i % KEYS).to_le_bytes(), &i.to_le_bytes())
                .unwrap(),
        );
    });
    let map: Mutex<HashMap<[u8; 8], [u8; 8]>> = Mutex::new(
        (0..KEYS)
            .map(|i| (i.to_le_bytes(), i.to_le_bytes()))
            .collect(),
    );
    let mutex_get = per_op(N, |i| {
        black_box(map.lock().unwrap().get(&(i % KEYS).to_le_bytes()).copied());
    });
    eprintln!(
        "CPU ns/op: get_with {get_with:.1} ({:.1} M/s), insert {insert:.1} ({:.1} M/s), Mutex<HashMap> get {mutex_get:.1}",
        1e3 / get_with,
        1e3 / insert
    );
    if !cfg!(debug_assertions) {
        // 1000 x Python's Manager().dict() (~23 000 operations/s), with
        // room for a noisy machine.
        assert!(1e3 / get_with > 23.0 * 0.8, "get_with at {get_with:.1} ns");
        assert!(1e3 / insert > 23.0 * 0.8, "insert at {insert:.1} ns");
    }
}
