//! Table-level tests on heap memory: the operations (insert, get,
//! replace, remove, collisions, free-list reuse, growth's copy), crashes
//! simulated at every step of insert, replace and remove (a lock left held
//! by a dead thread), and corrupt offsets and random corruption of the
//! table's bytes.
//!
//! They run under miri too (`cargo +nightly miri test -p mproc-dict --lib
//! table_tests`, with `-Zmiri-disable-isolation`: the shard lock is the real
//! futex lock, and finding a dead holder reads `/proc`), with fewer
//! proptest cases.

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
    t.lock(s, &mut None).unwrap().unwrap()
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

fn remove(t: &Table<'_>, key: &[u8]) -> Result<Option<Vec<u8>>> {
    let g = lock_for(t, key);
    match g.find(key, hash_key(key))? {
        Probe::Found { idx, off, hdr } => {
            let v = g.value_of(off, &hdr)?.to_vec();
            g.delete(idx, off, &hdr)?;
            Ok(Some(v))
        }
        Probe::Vacant { .. } => Ok(None),
    }
}

/// Every shard's entries, sorted.
fn entries(t: &Table<'_>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut all = Vec::new();
    for s in 0..t.layout.shards() {
        let g = t.lock(s, &mut None).unwrap().unwrap();
        g.for_each(false, |k, v| all.push((k.to_vec(), v.to_vec())))
            .unwrap();
        assert!(accounted(&g));
    }
    all.sort();
    all
}

#[test]
fn insert_get_replace_remove() {
    let l = layout(1);
    let heap = HeapRegion::new(l.payload_len() as usize);
    let current = AtomicU64::new(0);
    let t = make(&heap, l, &current);
    assert_eq!(get(&t, b"a").unwrap(), None);
    assert!(insert(&t, b"a", b"1").unwrap().unwrap());
    assert!(insert(&t, b"", b"empty key").unwrap().unwrap());
    assert!(
        insert(&t, b"a long key of more than sixteen bytes", b"")
            .unwrap()
            .unwrap()
    );
    assert_eq!(get(&t, b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(get(&t, b"").unwrap(), Some(b"empty key".to_vec()));
    // Replaced by values of other size classes, larger then smaller.
    assert!(!insert(&t, b"a", &[7; 100]).unwrap().unwrap());
    assert_eq!(get(&t, b"a").unwrap(), Some(vec![7; 100]));
    assert!(!insert(&t, b"a", b"2").unwrap().unwrap());
    assert_eq!(get(&t, b"a").unwrap(), Some(b"2".to_vec()));
    // Keys equal in their first and last 8 bytes but not in between.
    let k1 = b"0123456789abcdef0123456789";
    let k2 = b"0123456789abcdXf0123456789";
    insert(&t, k1, b"k1").unwrap().unwrap();
    assert_eq!(get(&t, k2).unwrap(), None);
    assert_eq!(remove(&t, b"a").unwrap(), Some(b"2".to_vec()));
    assert_eq!(remove(&t, b"a").unwrap(), None);
    assert_eq!(get(&t, b"a").unwrap(), None);
    let keys: Vec<Vec<u8>> = entries(&t).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys.len(), 3);
    assert!(keys.contains(&k1.to_vec()));
}

#[test]
fn colliding_keys_probe_past_each_other_and_tombstones() {
    let l = layout(0);
    let heap = HeapRegion::new(l.payload_len() as usize);
    let current = AtomicU64::new(0);
    let t = make(&heap, l, &current);
    let home = |k: &[u8]| t.shard(0).unwrap().home(hash_key(k));
    // Three keys with the same home bucket.
    let target = home(&0u32.to_le_bytes());
    let same: Vec<[u8; 4]> = (0u32..10_000)
        .map(|i| i.to_le_bytes())
        .filter(|k| home(k) == target)
        .take(3)
        .collect();
    assert_eq!(same.len(), 3);
    for k in &same {
        insert(&t, k, k).unwrap().unwrap();
    }
    // Removing the first leaves a tombstone the others are found past.
    assert!(remove(&t, &same[0]).unwrap().is_some());
    {
        let g = t.lock(0, &mut None).unwrap().unwrap();
        assert_eq!(g.bucket(target).load(Ordering::Relaxed), TOMB);
        assert_eq!(g.ctl.tombstones.load(Ordering::Relaxed), 1);
    }
    for k in &same[1..] {
        assert_eq!(get(&t, k).unwrap(), Some(k.to_vec()));
    }
    // A new key takes the tombstone back.
    insert(&t, &same[0], b"back").unwrap().unwrap();
    let g = t.lock(0, &mut None).unwrap().unwrap();
    assert_eq!(g.ctl.tombstones.load(Ordering::Relaxed), 0);
    assert_eq!(g.ctl.len.load(Ordering::Relaxed), 3);
    let Probe::Found { idx, .. } = g.find(&same[0], hash_key(&same[0])).unwrap() else {
        panic!("not found")
    };
    assert_eq!(idx, target);
}

#[test]
fn freed_blocks_are_reused_by_their_class() {
    let l = layout(0);
    let heap = HeapRegion::new(l.payload_len() as usize);
    let current = AtomicU64::new(0);
    let t = make(&heap, l, &current);
    insert(&t, b"a", &[1; 20]).unwrap().unwrap();
    insert(&t, b"b", &[2; 20]).unwrap().unwrap();
    let bump = |t: &Table<'_>| {
        t.lock(0, &mut None)
            .unwrap()
            .unwrap()
            .ctl
            .bump
            .load(Ordering::Relaxed)
    };
    let before = bump(&t);
    remove(&t, b"a").unwrap().unwrap();
    // Same class (8 + 1 + 20 = 29 -> 32): the freed block, no new space.
    insert(&t, b"c", &[3; 21]).unwrap().unwrap();
    assert_eq!(bump(&t), before);
    // A replacement frees the old block and takes a fresh one: the two
    // alternate.
    for i in 0..10u8 {
        insert(&t, b"b", &[i; 20]).unwrap().unwrap();
    }
    assert_eq!(bump(&t), before + 32);
    assert_eq!(get(&t, b"b").unwrap(), Some(vec![9; 20]));
    // Another class does not take it.
    remove(&t, b"c").unwrap().unwrap();
    insert(&t, b"d", &[4; 100]).unwrap().unwrap();
    assert!(bump(&t) > before + 32);
    assert!(accounted(&t.lock(0, &mut None).unwrap().unwrap()));
}

#[test]
fn full_table_says_so_and_growth_copies_everything() {
    let small = layout(1);
    let heap = HeapRegion::new(small.payload_len() as usize);
    let current = AtomicU64::new(0);
    let t = make(&heap, small, &current);
    let mut stored = Vec::new();
    let no_room = loop {
        let k = (stored.len() as u32).to_le_bytes();
        match insert(&t, &k, &k).unwrap() {
            Ok(new) => {
                assert!(new);
                stored.push(k);
            }
            Err(no_room) => break no_room,
        }
    };
    // 16 buckets a shard, 14 usable: the buckets ran out first.
    assert!(matches!(no_room, NoRoom::Buckets { .. }), "{no_room:?}");
    assert!(stored.len() >= 14);
    let big = TableLayout {
        generation: 1,
        bucket_bits: 6,
        arena_len: 4096,
        ..small
    };
    let heap2 = HeapRegion::new(big.payload_len() as usize);
    let current2 = AtomicU64::new(1);
    let t2 = make(&heap2, big, &current2);
    let guards = t.lock_all(None).unwrap().unwrap();
    assert_eq!(Table::copy_into(&guards, &t2).unwrap(), Ok(()));
    drop(guards);
    assert_eq!(entries(&t2), entries(&t));
    for k in &stored {
        assert_eq!(get(&t2, k).unwrap(), Some(k.to_vec()));
    }
    // Into a table too small for them: told so, with nothing corrupted.
    let heap3 = HeapRegion::new(small.payload_len() as usize);
    let t3 = make(
        &heap3,
        TableLayout {
            bucket_bits: 2,
            ..small
        },
        &current,
    );
    let guards = t.lock_all(None).unwrap().unwrap();
    assert!(Table::copy_into(&guards, &t3).unwrap().is_err());
}

#[test]
fn corrupt_offsets_are_errors() {
    let l = layout(0);
    let heap = HeapRegion::new(l.payload_len() as usize);
    let current = AtomicU64::new(0);
    let t = make(&heap, l, &current);
    insert(&t, b"k", b"v").unwrap().unwrap();
    insert(&t, b"j", b"w").unwrap().unwrap();
    let h = hash_key(b"k");
    let g = lock_for(&t, b"k");
    let Probe::Found { idx, off, .. } = g.find(b"k", h).unwrap() else {
        panic!()
    };
    let corrupt_find = |word: u64| {
        g.publish(idx, word).unwrap();
        let r = g.find(b"k", h);
        assert!(
            matches!(r, Err(DictError::Corrupt { .. } | DictError::Shm(_))),
            "{word:#x}: {r:?}"
        );
    };
    let tag = h & !0xffff_ffff;
    // Far past the arena, at unit 0 (before the first block), inside a
    // block (its key bytes), just past the arena, its last (zero) word.
    corrupt_find(tag | 0xffff_fff0);
    corrupt_find(tag);
    corrupt_find(tag | (off / 8 + 1));
    corrupt_find(tag | (l.arena_len / 8));
    corrupt_find(tag | (l.arena_len / 8 - 1));
    g.publish(idx, bucket_word(h, off)).unwrap();
    // A header whose size runs past the arena's end, a freed block.
    let hdr_word = g.arena_word(off).unwrap();
    let good = hdr_word.load(Ordering::Relaxed);
    hdr_word.store(good | (120 << 55), Ordering::Relaxed);
    assert!(g.find(b"k", h).is_err());
    hdr_word.store(crate::block::BlockHeader::free(0), Ordering::Relaxed);
    assert!(g.find(b"k", h).is_err());
    hdr_word.store(good, Ordering::Relaxed);
    assert!(g.find(b"k", h).is_ok());
    // A free-list head naming a live block: the list is dropped, the
    // block stays live, allocation goes on from the arena's end.
    g.ctl.heads[0].store((off / 8) as u32, Ordering::Relaxed);
    let (fresh, _) = g.alloc(HEADER + 2).unwrap().unwrap();
    assert_ne!(fresh, off);
    assert_eq!(g.ctl.heads[0].load(Ordering::Relaxed), 0);
    // A bump past the arena.
    g.ctl.bump.store(l.arena_len + 8, Ordering::Relaxed);
    assert!(g.alloc(16).is_err());
    g.ctl.bump.store(l.arena_len, Ordering::Relaxed);
    assert_eq!(g.alloc(16).unwrap(), None);
    drop(g);
    // Whatever was left is repaired by the next recovery.
    kill_holder(heap.region(), &t.layout, 0);
    let g = t.lock(0, &mut None).unwrap().unwrap();
    assert!(g.recovered.is_some());
    assert!(accounted(&g));
    drop(g);
    assert_eq!(get(&t, b"k").unwrap(), Some(b"v".to_vec()));
    assert_eq!(get(&t, b"j").unwrap(), Some(b"w".to_vec()));
}

#[test]
fn no_shard_past_the_last() {
    let l = layout(1);
    let heap = HeapRegion::new(l.payload_len() as usize);
    let current = AtomicU64::new(0);
    let t = make(&heap, l, &current);
    assert!(t.shard(1).is_ok());
    assert!(matches!(t.shard(2), Err(DictError::Corrupt { .. })));
    assert!(t.lock(u64::MAX, &mut None).is_err());
    // A region too short or misaligned for the layout is refused.
    let short = HeapRegion::new(l.payload_len() as usize - 1);
    assert!(Table::new(short.region(), l, &current).is_err());
    let off = heap.region().sub(8, l.payload_len() - 8).unwrap();
    assert!(Table::new(off, layout(0), &current).is_err());
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
    let g = t.lock(0, &mut None).unwrap().unwrap();
    let r = g.recovered.unwrap();
    assert_eq!((r.entries, r.reclaimed, r.dropped), (1, 1, 0));
    assert!(accounted(&g));
    drop(g);
    assert_eq!(get(&t, b"b").unwrap(), None);
    assert_eq!(get(&t, b"a").unwrap(), Some(b"1".to_vec()));
    // The reclaimed block is reused.
    insert(&t, b"c", b"3").unwrap().unwrap();
    assert!(accounted(&t.lock(0, &mut None).unwrap().unwrap()));
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
    let g = t.lock(0, &mut None).unwrap().unwrap();
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
    let g = t.lock(0, &mut None).unwrap().unwrap();
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
    let g = t.lock(0, &mut None).unwrap().unwrap();
    assert_eq!(g.recovered.unwrap().reclaimed, 1);
    drop(g);
    assert!(t.lock(0, &mut None).unwrap().unwrap().recovered.is_none());
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
    let g = t.lock(0, &mut None).unwrap().unwrap();
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
    assert!(t.lock(0, &mut None).unwrap().is_none());
    assert!(t.lock_all(None).unwrap().is_none());
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 12 } else { 200 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

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
                let g = t.lock(s, &mut None).unwrap().unwrap();
                prop_assert!(accounted(&g));
            }
        }
    }
}

#[test]
fn counters_at_their_limit_never_panic() {
    let l = layout(0);
    let heap = HeapRegion::new(l.payload_len() as usize);
    let current = AtomicU64::new(0);
    let t = make(&heap, l, &current);
    {
        let g = lock_for(&t, b"k");
        g.ctl.len.store(u64::MAX, Ordering::Relaxed);
        g.ctl.tombstones.store(1, Ordering::Relaxed);
        g.ctl.free_bytes.store(u64::MAX, Ordering::Relaxed);
        assert_eq!(g.available(), u64::MAX);
    }
    // The shard looks full: no room, but no overflow either.
    assert!(insert(&t, b"k", b"v").is_ok_and(|r| r.is_err()));
}
