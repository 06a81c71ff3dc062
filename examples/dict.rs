//! Python's Manager-and-Lock example, in shared memory:
//!
//! ```python
//! def f(d, lock, i):
//!     with lock:
//!         d[i] = i * i
//!
//! with Manager() as manager:
//!     d, lock = manager.dict(), manager.Lock()
//!     ...
//! ```
//!
//! Ten processes each store `key -> key * key` in a shared dict under a
//! `Lock`; the parent prints the dict. Then the same with `update`, which
//! reads and writes atomically, and no explicit lock: each child adds its
//! number to a running total, the `d[k] += 1` that needs a lock in Python.
//!
//! Run: `cargo run --release --example dict`.

use mproc::dict::{DictOptions, Manager, TypedDict};
use mproc::{Child, Process};

/// Starts a child process that runs `f` (a `false` is its failure).
fn spawn(f: impl FnOnce() -> bool) -> Child {
    Process::new(move || if f() { 0 } else { 1 })
        .start()
        .expect("start a child")
}

fn join(children: Vec<Child>) {
    for c in children {
        assert_eq!(c.join().expect("join"), 0, "child {} failed", c.pid());
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Under a lock, like Python's example. The manager names both and
    // removes them when it drops (no server process involved).
    let manager = Manager::create(&format!("example-dict-{}", std::process::id()))?;
    let squares: TypedDict<u64, u64> = manager.typed_dict("squares", DictOptions::new())?;
    let lock = manager.lock("lock")?;
    let children = (0..10u64)
        .map(|i| {
            spawn(|| {
                let Ok(_held) = lock.lock() else { return false };
                squares.insert(&i, &(i * i)).is_ok()
            })
        })
        .collect();
    join(children);
    let mut items = squares.items()?;
    items.sort();
    println!("under a lock: {items:?}");

    // 2. No explicit lock: `update` is atomic.
    let totals: TypedDict<String, u64> = TypedDict::new(DictOptions::new())?;
    let children = (0..10u64)
        .map(|i| {
            spawn(|| {
                let a = totals.update(&"sum".to_string(), |v| Some(v.copied().unwrap_or(0) + i));
                let b = totals.update(&format!("square-of-{i}"), |_| Some(i * i));
                a.is_ok() && b.is_ok()
            })
        })
        .collect();
    join(children);
    let mut items = totals.items()?;
    items.sort();
    println!("with update: {items:?}");
    assert_eq!(totals.get(&"sum".to_string())?, Some(45));
    Ok(())
}
