//! The dict against `std::collections::HashMap`: random operation
//! sequences, with tiny tables so that growth, tombstones and free-list
//! reuse all happen.

use std::collections::HashMap;

use mproc_dict::{Dict, DictError, DictOptions};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Insert(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
    Get(Vec<u8>),
    Update(Vec<u8>, Option<Vec<u8>>),
    GetOrInsert(Vec<u8>, Vec<u8>),
    Clear,
    Len,
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    // A small key space so that operations hit existing keys.
    prop_oneof![
        (0u8..24).prop_map(|k| vec![k]),
        proptest::collection::vec(any::<u8>(), 0..40),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..16),
        proptest::collection::vec(any::<u8>(), 0..600),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (key(), value()).prop_map(|(k, v)| Op::Insert(k, v)),
        2 => key().prop_map(Op::Remove),
        2 => key().prop_map(Op::Get),
        2 => (key(), proptest::option::of(value())).prop_map(|(k, v)| Op::Update(k, v)),
        1 => (key(), value()).prop_map(|(k, v)| Op::GetOrInsert(k, v)),
        1 => Just(Op::Clear),
        1 => Just(Op::Len),
    ]
}

fn check(d: &Dict, model: &HashMap<Vec<u8>, Vec<u8>>) {
    assert_eq!(d.len().unwrap(), model.len());
    let mut items = d.items().unwrap();
    items.sort();
    let mut expected: Vec<_> = model.clone().into_iter().collect();
    expected.sort();
    assert_eq!(items, expected);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn behaves_like_hashmap(ops in proptest::collection::vec(op(), 1..200), cap in 1u64..8) {
        let d = Dict::new(DictOptions::new().capacity(cap).shards(2)).unwrap();
        let mut model: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        for op in ops {
            match op {
                Op::Insert(k, v) => {
                    let new = d.insert(&k, &v).unwrap();
                    prop_assert_eq!(new, model.insert(k, v).is_none());
                }
                Op::Remove(k) => prop_assert_eq!(d.remove(&k).unwrap(), model.remove(&k)),
                Op::Get(k) => {
                    prop_assert_eq!(d.get(&k).unwrap(), model.get(&k).cloned());
                    prop_assert_eq!(d.contains_key(&k).unwrap(), model.contains_key(&k));
                }
                Op::Update(k, v) => {
                    let before = model.get(&k).cloned();
                    let mut seen = None;
                    d.update(&k, |cur| { seen = Some(cur.map(<[u8]>::to_vec)); v.clone() }).unwrap();
                    prop_assert_eq!(seen, Some(before));
                    match v { Some(v) => { model.insert(k, v); } None => { model.remove(&k); } }
                }
                Op::GetOrInsert(k, v) => {
                    let got = d.get_or_insert_with(&k, || v.clone()).unwrap();
                    prop_assert_eq!(&got, model.entry(k).or_insert(v));
                }
                Op::Clear => { d.clear().unwrap(); model.clear(); }
                Op::Len => prop_assert_eq!(d.len().unwrap(), model.len()),
            }
        }
        check(&d, &model);
        let s = d.stats().unwrap();
        prop_assert_eq!(s.entries as usize, model.len());
    }
}

#[test]
fn grows_from_tiny_and_keeps_everything() {
    let d = Dict::new(DictOptions::new().capacity(1)).unwrap();
    for i in 0u32..5000 {
        d.insert(&i.to_le_bytes(), &i.to_be_bytes()).unwrap();
    }
    assert_eq!(d.len().unwrap(), 5000);
    for i in 0u32..5000 {
        assert_eq!(
            d.get(&i.to_le_bytes()).unwrap(),
            Some(i.to_be_bytes().to_vec())
        );
    }
    let s = d.stats().unwrap();
    assert!(s.generation >= 5, "{s:?}");
    for i in (0u32..5000).step_by(2) {
        assert!(d.remove(&i.to_le_bytes()).unwrap().is_some());
    }
    assert_eq!(d.len().unwrap(), 2500);
}

#[test]
fn edge_sizes() {
    let d = Dict::new(DictOptions::new().max_key_len(300).max_value_len(100_000)).unwrap();
    d.insert(b"", b"").unwrap();
    assert_eq!(d.get(b"").unwrap(), Some(vec![]));
    let big = vec![7u8; 100_000];
    d.insert(&[1; 300], &big).unwrap();
    assert_eq!(d.get(&[1; 300]).unwrap(), Some(big));
    assert!(matches!(
        d.insert(&[1; 301], b""),
        Err(DictError::KeyTooLarge { len: 301, max: 300 })
    ));
    assert!(matches!(
        d.insert(b"k", &[0; 100_001]),
        Err(DictError::ValueTooLarge {
            len: 100_001,
            max: 100_000
        })
    ));
    assert_eq!(d.get(&[1; 301]).unwrap(), None);
}

/// Out of buckets rather than bytes (empty values), `Full` still names the
/// entry's block and no bytes available to it: never a `needed` below an
/// `available` that would contradict the error.
#[test]
fn a_cap_reached_by_entries_gives_full_without_contradiction() {
    let d = Dict::new(DictOptions::new().capacity(8).shards(1).max_bytes(8 << 10)).unwrap();
    let mut stored = 0u32;
    let err = loop {
        match d.insert(&stored.to_le_bytes(), b"") {
            Ok(_) => stored += 1,
            Err(e) => break e,
        }
        assert!(stored < 100_000, "never full");
    };
    let DictError::Full { needed, available } = err else {
        panic!("expected Full, got {err:?}");
    };
    assert!(needed >= 12, "{err}"); // header and key at least
    assert!(available < needed, "{err}");
    assert_eq!(d.len().unwrap(), stored as usize);
}

#[test]
fn memory_cap_gives_full_and_dict_stays_usable() {
    let d = Dict::new(DictOptions::new().capacity(16).max_bytes(64 << 10)).unwrap();
    let mut stored = 0u32;
    let err = loop {
        match d.insert(&stored.to_le_bytes(), &[9; 200]) {
            Ok(_) => stored += 1,
            Err(e) => break e,
        }
    };
    let DictError::Full { needed, available } = err else {
        panic!("expected Full, got {err:?}");
    };
    assert_eq!(needed, 216); // 8 + 4 + 200 rounded to its class
    assert!(available < needed);
    assert!(stored > 100, "only {stored} stored");
    assert!(d.stats().unwrap().total_bytes <= 64 << 10);
    assert_eq!(d.len().unwrap(), stored as usize);
    // Removing makes room again (in that key's shard).
    d.remove(&0u32.to_le_bytes()).unwrap();
    d.insert(&0u32.to_le_bytes(), &[8; 200]).unwrap();
    assert_eq!(d.get(&0u32.to_le_bytes()).unwrap(), Some(vec![8; 200]));
}

#[test]
fn per_entry_overhead() {
    let d = Dict::new(DictOptions::new()).unwrap();
    let n = 10_000u64;
    for i in 0..n {
        d.insert(&i.to_le_bytes(), &[1u8; 24]).unwrap();
    }
    let s = d.stats().unwrap();
    // 8-byte key + 24-byte value + 8-byte header = 40: its own class.
    assert_eq!(s.live_bytes, n * 40);
    let buckets_per_entry = (s.buckets * 8) as f64 / n as f64;
    assert!(
        buckets_per_entry <= 24.0,
        "{buckets_per_entry} bucket bytes per entry"
    );
    assert!(8.0 + buckets_per_entry <= 32.0);
}

/// A dict made again under the name of an unlinked one whose handles live
/// on: each grows in its own generation segments, and neither reads,
/// adopts or deletes the other's.
#[test]
fn a_dict_made_again_under_an_unlinked_name_shares_nothing_with_it() {
    const NAME: &str = "test-dict-remade";
    let a = Dict::create(NAME, DictOptions::new().capacity(2)).unwrap();
    let a2 = Dict::open(NAME).unwrap();
    a.insert(b"a-only", b"a").unwrap();
    Dict::unlink(NAME).unwrap();
    let b = Dict::create(NAME, DictOptions::new().capacity(2)).unwrap();
    b.insert(b"b-only", b"b").unwrap();
    assert_ne!(a.generation_segment(1), b.generation_segment(1));
    // Both grow, several generations each, interleaved.
    for i in 0u32..500 {
        a.insert(&i.to_le_bytes(), b"x").unwrap();
        b.insert(&(i + 10_000).to_le_bytes(), b"y").unwrap();
    }
    assert!(a.stats().unwrap().generation > 0 && b.stats().unwrap().generation > 0);
    // The old dict's second handle follows the old dict's growth only.
    assert_eq!(a2.get(b"a-only").unwrap(), Some(b"a".to_vec()));
    assert_eq!(a2.get(b"b-only").unwrap(), None);
    assert_eq!(a2.len().unwrap(), 501);
    // The name opens the new dict, whole.
    let b2 = Dict::open(NAME).unwrap();
    assert_eq!(b2.get(b"b-only").unwrap(), Some(b"b".to_vec()));
    assert_eq!(b2.get(b"a-only").unwrap(), None);
    assert_eq!(b2.len().unwrap(), 501);
    drop((a, a2));
    assert_eq!(
        b2.len().unwrap(),
        501,
        "dropping the old creator left the new dict alone"
    );
    // Its name too: the new dict still opens by name.
    let b3 = Dict::open(NAME).expect("the old creator's drop removed the new dict's name");
    assert_eq!(b3.len().unwrap(), 501);
    drop((b, b2, b3));
    assert!(Dict::open(NAME).is_err());
}

/// The /dev/shm entries of the segments whose names start with `prefix`.
fn shm_left(prefix: &str) -> Vec<String> {
    let prefix = format!("mproc.{prefix}");
    std::fs::read_dir("/dev/shm")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

/// Makes `a` grow past generation 0.
fn grow_past_generation_0(a: &Dict) {
    let mut i = 0u32;
    while a.stats().unwrap().generation == 0 {
        a.insert(&i.to_le_bytes(), b"x").unwrap();
        i += 1;
        assert!(i < 100_000, "never grew");
    }
}

/// After `Dict::unlink`, a handle that lags behind a growth made before
/// it cannot follow (the name it follows by is gone): it gets a typed
/// error at once, while the handle on the newest generation keeps working.
#[test]
fn unlink_leaves_a_handle_behind_a_growth_with_a_typed_error() {
    let name = format!("test-dict-unlink-behind-{}", std::process::id());
    let a = Dict::create(&name, DictOptions::new().capacity(4)).unwrap();
    a.insert(b"k", b"v").unwrap();
    let b = Dict::open(&name).unwrap(); // maps generation 0
    grow_past_generation_0(&a);
    let newest = a.stats().unwrap().generation;
    Dict::unlink(&name).unwrap();
    assert!(Dict::open(&name).is_err(), "the name is gone at once");
    let err = b.get(b"k").unwrap_err();
    assert!(
        matches!(err, DictError::GenerationRemoved { generation, .. } if generation == newest),
        "{err:?}"
    );
    assert_eq!(a.get(b"k").unwrap(), Some(b"v".to_vec()));
    drop((a, b));
    assert_eq!(shm_left(&name), Vec::<String>::new());
}

/// A generation whose name was removed by hand (`mproc rm`) under a
/// handle still behind it is a typed error at once, not `NotFound` after
/// 200 ms of retries; the other handles are not affected.
#[test]
fn a_generation_removed_by_hand_is_a_typed_error_at_once() {
    let name = format!("test-dict-gen-removed-{}", std::process::id());
    let a = Dict::create(&name, DictOptions::new().capacity(4)).unwrap();
    let b = Dict::open(&name).unwrap(); // maps generation 0
    grow_past_generation_0(&a);
    let newest = a.stats().unwrap().generation;
    let segment = a.generation_segment(newest).unwrap();
    mproc_shm::Segment::unlink(&segment).unwrap();
    let err = b.get(b"k").unwrap_err();
    assert!(
        matches!(
            err,
            DictError::GenerationRemoved { generation, segment: ref s }
                if generation == newest && *s == segment
        ),
        "{err:?}"
    );
    assert_eq!(a.get(b"k").unwrap(), None);
    drop((a, b));
    assert_eq!(shm_left(&name), Vec::<String>::new());
}

#[test]
fn named_open_and_follow_growth() {
    let a = Dict::create("test-dict-follow", DictOptions::new().capacity(2)).unwrap();
    let b = Dict::open("test-dict-follow").unwrap();
    let g0 = a.generation_segment(0).unwrap();
    assert_eq!(b.generation_segment(0), Some(g0.clone()));
    a.insert(b"first", b"1").unwrap();
    for i in 0u32..2000 {
        a.insert(&i.to_le_bytes(), b"x").unwrap();
    }
    // b still maps generation 0; one operation moves it on.
    assert_eq!(b.get(b"first").unwrap(), Some(b"1".to_vec()));
    assert_eq!(b.len().unwrap(), 2001);
    b.insert(b"from-b", b"2").unwrap();
    assert_eq!(a.get(b"from-b").unwrap(), Some(b"2".to_vec()));
    drop(b);
    drop(a);
    assert!(Dict::open("test-dict-follow").is_err());
    assert!(mproc_shm::Segment::open(&g0).is_err());
}

#[test]
fn wrong_kind_is_refused() {
    let _q = mproc_shm::Segment::builder(mproc_shm::SegmentKind::Queue, 64)
        .create("test-dict-wrong-kind")
        .unwrap();
    assert!(matches!(
        Dict::open("test-dict-wrong-kind"),
        Err(DictError::Shm(mproc_shm::ShmError::WrongKind { .. }))
    ));
    // A dict-kind segment that is not a dict root.
    let _raw = mproc_shm::Segment::builder(mproc_shm::SegmentKind::Dict, 4096)
        .create("test-dict-not-root")
        .unwrap();
    assert!(matches!(
        Dict::open("test-dict-not-root"),
        Err(DictError::Corrupt { .. })
    ));
}

#[test]
fn clones_share() {
    let d = Dict::new(DictOptions::new()).unwrap();
    let e = d.clone();
    std::thread::spawn(move || e.insert(b"t", b"thread").unwrap())
        .join()
        .unwrap();
    assert_eq!(d.get(b"t").unwrap(), Some(b"thread".to_vec()));
}
