//! Ten processes each write `key * key` into a shared table under one
//! `Lock`; the parent prints the table. The `Lock` pattern of
//! `docs/migrating-from-python.md` (section 5), with the table as plain
//! words of a raw shared [`Segment`] guarded by the lock (the `dict`
//! example does the same with a `Dict`).
//!
//! `cargo run --release --example lock`

use std::time::Duration;

use mproc::shm::Segment;
use mproc::{Lock, Process};

const KEYS: u64 = 10;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lock = Lock::new()?;
    // The table: a count of filled rows, then (key, value) rows.
    let table = Segment::anonymous(8 + 16 * KEYS)?;
    let children = (0..KEYS)
        .map(|key| {
            Process::new(|| write_row(&lock, &table, key).map_err(|e| e.to_string())).start()
        })
        .collect::<Result<Vec<_>, _>>()?;
    for child in children {
        assert_eq!(child.join()?, 0, "child {}", child.pid());
    }
    let guard = lock
        .lock_timeout(Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    let rows: u64 = table.payload().read_pod(0)?;
    let mut entries: Vec<(u64, u64)> = (0..rows)
        .map(|i| {
            let at = 8 + 16 * i;
            Ok((
                table.payload().read_pod(at)?,
                table.payload().read_pod(at + 8)?,
            ))
        })
        .collect::<Result<_, mproc::ShmError>>()?;
    drop(guard);
    entries.sort_unstable();
    let shown: Vec<String> = entries.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    println!("{{{}}}", shown.join(", "));
    Ok(())
}

/// Appends `(key, key * key)` to the table under the lock.
fn write_row(lock: &Lock, table: &Segment, key: u64) -> Result<(), Box<dyn std::error::Error>> {
    let mut guard = match lock.lock() {
        Ok(g) => g,
        // A previous writer died mid-append: its row count was not bumped,
        // so the table is consistent; say so and go on.
        Err(mproc::sync::OwnerDied(g)) => g,
    };
    guard.make_consistent();
    let p = table.payload();
    let rows: u64 = p.read_pod(0)?;
    p.write_pod(8 + 16 * rows, &key)?;
    p.write_pod(8 + 16 * rows + 8, &(key * key))?;
    p.write_pod(0, &(rows + 1))?;
    Ok(())
}
