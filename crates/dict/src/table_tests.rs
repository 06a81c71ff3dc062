//! Table-level tests on heap memory: crashes simulated at every step of
//! insert, replace and remove (a lock left held by a dead thread), and
//! random corruption of the table's bytes.

use std::sync::atomic::{AtomicU64, Ordering};

use mproc_shm::{HeapRegion, Region};
use proptest::prelude::*;

use crate::block::HEADER;
use crate::hash::hash_key;
use crate::layout::{ARENA_START, CTL_LEN, TableLayout};
use crate::shard::{NoRoom, Probe, Shard, TOMB, bucket_word};
use crate::table::{ShardGuard, Table};
use crate::{DictError, Result};

/// A thread id above this machine's (and Linux's) pid limit: never alive.
const DEAD_TID: u32 = 4_000_000;

fn layout(shard_bits: u32) -> TableLayout {
    TableLayout {
        generation: 0,
        shard_bits,
        bucket_bits: 4,
        arena_len: 1024,
        max_key: 100,
        max_value: 500,
    }
}

fn make<'a>(heap: &'a HeapRegion, l: TableLayout, current: &'a AtomicU64) -> Table<'a> {
    let t = Table::new(heap.region(), l, current).unwrap();
    t.init().unwrap();
    t
}

/// Leaves shard `s`'s lock held by a dead thread, as a killed writer does.
fn kill_holder(region: Region<'_>, l: &TableLayout, s: u64) {
    region.write_pod(l.ctl_off(s), &DEAD_TID).unwrap();
}

fn lock_for<'a>(t: &Table<'a>, key: &[u8]) -> ShardGuard<'a> {
    let s = hash_key(key) & (t.layout.shards() - 1);
    t.lock(s).unwrap().unwrap()
}

fn insert(t: &Table<'_>, key: &[u8], value: &[u8]) -> Result<std::result::Result<bool, NoRoom>> {
    let h = hash_key(key);
    let g = lock_for(t, key);
    let p = g.find(key, h)?;
    g.put(p, key, h, value)
}

fn get(t: &Table<'_>, key: &[u8]) -> Result<Option<Vec<u8>>> {
    let h = hash_key(key);
    let g = lock_for(t, key);
    match g.find(key, h)? {
        Probe::Found { off, hdr, .. } => Ok(Some(g.value_of(off, &hdr)?.to_vec())),
        Probe::Vacant { .. } => Ok(None),
    }
}

/// live + free + unused == arena: no block is lost.
fn accounted(sh: &Shard<'_>) -> bool {
    let c = sh.ctl;
    let unused = sh.available() - c.free_bytes.load(Ordering::Relaxed);
    c.live_bytes.load(Ordering::Relaxed) + c.free_bytes.load(Ordering::Relaxed) + unused
        == sh.arena_len() - ARENA_START
}

#[test]
fn insert_killed_before_publishing_is_reclaimed() {
    let heap = HeapRegion::new(layout(0).payload_len() as usize);
    let current = AtomicU64::new(0);
    let t = make(&heap, layout(0), &current);
    insert(&t, b"a", b"1").unwrap().unwrap();
    {
        let g = lock_for(&t, b"b");
        let (off, class) = g.alloc(HEADER + 2).unwrap().unwrap();
        g.write_entry(off, class, b"b", b"2").unwrap();
        assert!(!accounted(&g) || g.ctl.live_bytes.load(Ordering::Relaxed) > 16);
        // Killed here: the block is written, no bucket names it.
    }
    kill_holder(heap.region(), &t.layout, 0);
    let g = t.lock(0).unwrap().unwrap();
    let r = g.recovered.unwrap();
    assert_eq!((r.entries, r.reclaimed, r.dropped), (1, 1, 0));
    assert!(accounted(&g));
    drop(g);
    assert_eq!(get(&t, b"b").unwrap(), None);
    assert_eq!(get(&t, b"a").unwrap(), Some(b"1".to_vec()));
    // The reclaimed block is reused.
    insert(&t, b"c", b"3").unwrap().unwrap();
    assert!(accounted(&t.lock(0).unwrap().unwrap()));
}

#[test]
fn replace_killed_before_freeing_keeps_new_value() {
    let heap = HeapRegion::new(layout(0).payload_len() as usize);
    let current = AtomicU64::new(0);
    let t = make(&heap, layout(0), &current);
    insert(&t, b"k", b"old").unwrap().unwrap();
    {
        let g = lock_for(&t, b"k");
        let h = hash_key(b"k");
        let Probe::Found { idx, .. } = g.find(b"k", h).unwrap() else {
            panic!()
        };
        let (off, class) = g.alloc(HEADER + 4).unwrap().unwrap();
        g.write_entry(off, class, b"k", b"new").unwrap();
        g.publish(idx, bucket_word(h, off)).unwrap();
        // Killed before freeing the old block.
    }
    kill_holder(heap.region(), &t.layout, 0);
    let g = t.lock(0).unwrap().unwrap();
    assert_eq!(g.recovered.unwrap().reclaimed, 1);
    assert!(accounted(&g));
    assert_eq!(g.ctl.len.load(Ordering::Relaxed), 1);
    drop(g);
    assert_eq!(get(&t, b"k").unwrap(), Some(b"new".to_vec()));
}

#[test]
fn remove_killed_before_freeing_counts_right() {
    let heap = HeapRegion::new(layout(0).payload_len() as usize);
    let current = AtomicU64::new(0);
    let t = make(&heap, layout(0), &current);
    insert(&t, b"k", b"v").unwrap().unwrap();
    insert(&t, b"j", b"w").unwrap().unwrap();
    {
        let g = lock_for(&t, b"k");
        let Probe::Found { idx, .. } = g.find(b"k", hash_key(b"k")).unwrap() else {
            panic!()
        };
        g.publish(idx, TOMB).unwrap();
        // Killed before counting and freeing.
    }
    kill_holder(heap.region(), &t.layout, 0);
    let g = t.lock(0).unwrap().unwrap();
    let r = g.recovered.unwrap();
    assert_eq!((r.entries, r.reclaimed), (1, 1));
    assert_eq!(g.ctl.len.load(Ordering::Relaxed), 1);
    assert!(accounted(&g));
}

#[test]
fn recovery_killed_midway_is_redone() {
    let heap = HeapRegion::new(layout(0).payload_len() as usize);
    let current = AtomicU64::new(0);
    let t = make(&heap, layout(0), &current);
    insert(&t, b"k", b"v").unwrap().unwrap();
    {
        let g = lock_for(&t, b"x");
        g.alloc(40).unwrap().unwrap();
    }
    // A recoverer that dies before marking the lock consistent: the next
    // locker is told again and repairs again.
    kill_holder(heap.region(), &t.layout, 0);
    heap.region()
        .write_pod(t.layout.ctl_off(0), &(DEAD_TID | 0x4000_0000))
        .unwrap();
    let g = t.lock(0).unwrap().unwrap();
    assert_eq!(g.recovered.unwrap().reclaimed, 1);
    drop(g);
    assert!(t.lock(0).unwrap().unwrap().recovered.is_none());
}

#[test]
fn corrupt_bucket_is_an_error_then_repaired() {
    let heap = HeapRegion::new(layout(0).payload_len() as usize);
    let current = AtomicU64::new(0);
    let t = make(&heap, layout(0), &current);
    insert(&t, b"k", b"v").unwrap().unwrap();
    let h = hash_key(b"k");
    let idx = {
        let g = lock_for(&t, b"k");
        let Probe::Found { idx, .. } = g.find(b"k", h).unwrap() else {
            panic!()
        };
        // Point the bucket into the middle of nowhere.
        g.publish(idx, bucket_word(h, 1000)).unwrap();
        idx
    };
    assert!(matches!(get(&t, b"k"), Err(DictError::Corrupt { .. })));
    kill_holder(heap.region(), &t.layout, 0);
    let g = t.lock(0).unwrap().unwrap();
    assert_eq!(g.recovered.unwrap().dropped, 1);
    assert_eq!(g.bucket(idx).load(Ordering::Relaxed), TOMB);
    assert_eq!(g.ctl.len.load(Ordering::Relaxed), 0);
    drop(g);
    assert_eq!(get(&t, b"k").unwrap(), None);
}

#[test]
fn stale_generation_is_reported() {
    let heap = HeapRegion::new(layout(1).payload_len() as usize);
    let current = AtomicU64::new(0);
    let t = make(&heap, layout(1), &current);
    current.store(1, Ordering::Release);
    assert!(t.lock(0).unwrap().is_none());
    assert!(t.lock_all().unwrap().is_none());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Any bytes anywhere in the table (but the lock words, whose
    /// corruption is a liveness matter: a lock "held" by a live process
    /// blocks) give errors or answers, never a panic or a hang.
    #[test]
    fn corrupt_bytes_never_panic(
        writes in proptest::collection::vec((any::<u64>(), any::<u8>()), 1..40),
        keys in proptest::collection::vec(0u8..20, 1..40),
        recover_after in any::<bool>(),
    ) {
        let l = layout(1);
        let heap = HeapRegion::new(l.payload_len() as usize);
        let current = AtomicU64::new(0);
        let t = make(&heap, l, &current);
        for k in 0u8..12 {
            let _ = insert(&t, &[k], &vec![k; usize::from(k) * 7]);
        }
        let _ = get(&t, &[3]);
        for (pos, byte) in writes {
            let off = pos % l.payload_len();
            if off % CTL_LEN < 16 && off < l.shards() * CTL_LEN {
                continue; // a lock word
            }
            heap.region().write_pod(off, &byte).unwrap();
        }
        if recover_after {
            kill_holder(heap.region(), &l, 0);
            kill_holder(heap.region(), &l, 1);
        }
        for k in keys {
            let key = [k];
            let _ = get(&t, &key);
            let _ = insert(&t, &key, &[k; 30]);
            let g = lock_for(&t, &key);
            if let Ok(Probe::Found { idx, off, hdr }) = g.find(&key, hash_key(&key)) {
                let _ = g.delete(idx, off, &hdr);
            }
            let _ = g.for_each(false, |_, _| {});
            let _ = g.usage();
            drop(g);
        }
        if recover_after {
            // After a repair the shards account for every byte again
            // (the repair trusts nothing it did not check).
            for s in 0..l.shards() {
                kill_holder(heap.region(), &l, s);
                let g = t.lock(s).unwrap().unwrap();
                prop_assert!(accounted(&g));
            }
        }
    }
}
