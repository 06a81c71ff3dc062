//! Loom model of the generation protocol (`Table::lock`, `grow`,
//! `Handle::with_shard`): a grower holds every shard lock of generation N
//! while it copies N into N+1, then publishes N+1 with one Release store
//! of the root's generation word; an operation locks its shard of the
//! generation it maps and checks that word with one Acquire load under
//! the lock, and on a stale number remaps (one more load, as
//! `open_latest`) and retries. No write may be lost in N after its copy,
//! and N+1's bytes must be visible to whoever follows the new number.
//!
//! Each table is two shards of one data word, in loom cells (which report
//! any access the protocol leaves unordered), behind the sync crate's
//! robust lock over loom's futex stand-in.
//!
//! What the models show: the check must be made under the shard lock (a
//! check just before locking loses writes, and loom finds the
//! interleaving); the copy's visibility to a handle that follows the new
//! number comes from the hand-off of that lock (the grower unlocks after
//! its store), so the models pass even with Relaxed loads and store of the
//! generation word. The Release store still matters for handles that open
//! a generation by the number alone, outside any lock (`open_latest`).
//!
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p mproc-dict --release --lib loom_models`

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicU64, Ordering};
use loom::thread;
use mproc_sync::{LockGuard, RawLock};

/// One generation: per shard a lock and a data word.
struct TableModel {
    locks: [RawLock; 2],
    data: [UnsafeCell<u64>; 2],
}

impl TableModel {
    fn new() -> TableModel {
        TableModel {
            locks: [RawLock::new(), RawLock::new()],
            data: [UnsafeCell::new(0), UnsafeCell::new(0)],
        }
    }
}

/// The root's generation word and generations 0 and 1.
struct DictModel {
    current: AtomicU64,
    tables: [TableModel; 2],
}

fn lock(l: &RawLock) -> LockGuard<'_> {
    match l.lock() {
        Ok(g) => g,
        // Nobody dies in these models (loom counts every holder alive).
        Err(died) => died.into_inner(),
    }
}

impl DictModel {
    fn new() -> DictModel {
        DictModel {
            current: AtomicU64::new(0),
            tables: [TableModel::new(), TableModel::new()],
        }
    }

    /// An update of `shard` through a handle that maps generation 0.
    fn add(&self, shard: usize, n: u64) {
        let mut mapped = 0;
        loop {
            let t = &self.tables[mapped];
            let guard = lock(&t.locks[shard]);
            // SYNC POINT: Acquire pairs with the Release store in `grow`
            // (as in `Table::lock`).
            if self.current.load(Ordering::Acquire) == mapped as u64 {
                // SAFETY: the shard's lock of the current generation is
                // held (loom checks that nothing else touches the cell).
                t.data[shard].with_mut(|p| unsafe { *p += n });
                drop(guard);
                return;
            }
            drop(guard);
            // SYNC POINT: Acquire pairs with the Release store in `grow`
            // (as in `open_latest`).
            mapped = self.current.load(Ordering::Acquire).min(1) as usize;
        }
    }

    /// Grows generation 0 into 1 (or finds it grown).
    fn grow(&self) {
        let old = &self.tables[0];
        let guards: Vec<_> = old.locks.iter().map(lock).collect();
        if self.current.load(Ordering::Acquire) != 0 {
            return;
        }
        for s in 0..2 {
            // SAFETY: every shard lock of generation 0 is held, and
            // generation 1 is not published yet: nobody else touches
            // either cell.
            let v = old.data[s].with(|p| unsafe { *p });
            // SAFETY: as above.
            self.tables[1].data[s].with_mut(|p| unsafe { *p = v });
        }
        // SYNC POINT: Release pairs with the Acquire loads in `add`:
        // generation 1's copy is visible with its number.
        self.current.store(1, Ordering::Release);
        drop(guards);
    }

    /// The data of the current generation, once every thread is done.
    fn current_data(&self) -> [u64; 2] {
        let t = &self.tables[self.current.load(Ordering::Acquire).min(1) as usize];
        // SAFETY: every other thread was joined.
        [0, 1].map(|s| t.data[s].with(|p| unsafe { *p }))
    }
}

/// A writer on both shards while another handle grows the table: both
/// writes end up in generation 1, whether they land before the copy or
/// after the switch.
#[test]
fn writes_survive_a_concurrent_growth() {
    loom::model(|| {
        let d = Arc::new(DictModel::new());
        let d2 = Arc::clone(&d);
        let writer = thread::spawn(move || {
            d2.add(0, 1);
            d2.add(1, 10);
        });
        d.grow();
        writer.join().unwrap();
        assert_eq!(d.current.load(Ordering::Relaxed), 1);
        assert_eq!(d.current_data(), [1, 10]);
    });
}

/// Two handles that both grow (the second finds the work done) around
/// their writes to the same shard: every write counted once.
#[test]
fn racing_growers_lose_no_write() {
    loom::model(|| {
        let d = Arc::new(DictModel::new());
        let d2 = Arc::clone(&d);
        let other = thread::spawn(move || {
            d2.add(0, 1);
            d2.grow();
        });
        d.grow();
        d.add(0, 10);
        other.join().unwrap();
        assert_eq!(d.current_data(), [11, 0]);
    });
}
