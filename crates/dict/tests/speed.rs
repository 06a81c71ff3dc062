//! A quick look at the hot paths' cost in CPU time (robust to a loaded
//! machine). Ignored by default: `cargo test --release -p mproc-dict --test
//! speed -- --ignored --nocapture`.

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
}

#[test]
#[ignore]
fn sizes() {
    eprintln!(
        "DictError {} ShmError {} SyncError {} QueueError {}",
        std::mem::size_of::<mproc_dict::DictError>(),
        std::mem::size_of::<mproc_shm::ShmError>(),
        std::mem::size_of::<mproc_sync::SyncError>(),
        std::mem::size_of::<mproc_queue::QueueError>()
    );
}

#[test]
#[ignore]
fn parts() {
    const N: u64 = 5_000_000;
    let lock = mproc_sync::RawLock::new();
    let l = per_op(N, |_| {
        drop(black_box(lock.lock().unwrap()));
    });
    let m = std::sync::Mutex::new(0u64);
    let sm = per_op(N, |_| {
        *black_box(m.lock().unwrap()) += 1;
    });
    let d = Dict::new(DictOptions::new()).unwrap();
    d.insert(b"k", b"v").unwrap();
    let len = per_op(N / 10, |_| {
        black_box(d.stats().unwrap());
    });
    eprintln!("RawLock lock+unlock {l:.1} ns, std Mutex {sm:.1} ns, stats {len:.1} ns");
}

#[test]
#[ignore]
fn only_insert() {
    let d = Dict::new(DictOptions::new().capacity(400)).unwrap();
    for i in 0..100u64 {
        d.insert(&i.to_le_bytes(), &i.to_le_bytes()).unwrap();
    }
    let ns = per_op(10_000_000, |i| {
        black_box(
            d.insert(&(i % 100).to_le_bytes(), &i.to_le_bytes())
                .unwrap(),
        );
    });
    eprintln!("insert {ns:.1}");
}

#[test]
#[ignore]
fn only_get() {
    let d = Dict::new(DictOptions::new().capacity(400)).unwrap();
    for i in 0..100u64 {
        d.insert(&i.to_le_bytes(), &i.to_le_bytes()).unwrap();
    }
    let ns = per_op(10_000_000, |i| {
        black_box(d.get_with(&(i % 100).to_le_bytes(), |v| v[0]).unwrap());
    });
    eprintln!("get_with {ns:.1}");
}
