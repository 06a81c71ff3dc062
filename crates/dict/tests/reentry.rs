//! A closure that runs under a shard lock (`update`, `get_with`) and calls
//! into the same dict gets `HeldByThisThread` where it would wait for the
//! lock it holds itself. The handles carry a lock timeout, so that a
//! regression fails with `LockTimeout` instead of hanging.

use std::time::Duration;

use mproc_dict::{Dict, DictError, DictOptions, Locked, TypedDict};

fn patient_dict(opts: DictOptions) -> Dict {
    let mut d = Dict::new(opts).unwrap();
    d.set_lock_timeout(Some(Duration::from_secs(5)));
    d
}

fn is_held(r: &mproc_dict::Result<impl std::fmt::Debug>) -> bool {
    matches!(
        r,
        Err(DictError::HeldByThisThread {
            locked: Locked::Shard(_)
        })
    )
}

#[test]
fn the_same_key_from_inside_update_is_refused() {
    let d = patient_dict(DictOptions::new());
    d.insert(b"k", b"1").unwrap();
    let mut inner = Vec::new();
    d.update(b"k", |v| {
        inner.push(format!("{:?}", d.get(b"k")));
        inner.push(format!("{:?}", d.insert(b"k", b"9")));
        inner.push(format!("{:?}", d.remove(b"k")));
        v.map(|b| [b[0] + 1])
    })
    .unwrap();
    assert_eq!(inner.len(), 3);
    for r in &inner {
        assert!(r.contains("HeldByThisThread"), "{r}");
    }
    // The outer update went through, and nothing inside it did.
    assert_eq!(d.get(b"k").unwrap(), Some(b"2".to_vec()));
}

#[test]
fn whole_table_operations_from_inside_get_with_are_refused() {
    let d = patient_dict(DictOptions::new().shards(4));
    for i in 0..32u32 {
        d.insert(&i.to_le_bytes(), b"v").unwrap();
    }
    let (len, keys) = d
        .get_with(&0u32.to_le_bytes(), |_| (d.len(), d.keys()))
        .unwrap()
        .unwrap();
    assert!(is_held(&len), "{len:?}");
    assert!(is_held(&keys), "{keys:?}");
    // Every shard lock taken before the refusal was given back.
    assert_eq!(d.len().unwrap(), 32);
}

#[test]
fn growth_from_inside_update_is_refused_and_the_dict_stays_usable() {
    let d = patient_dict(DictOptions::new().capacity(8).shards(1));
    let mut refused = None;
    d.update(b"outer", |_| {
        // One shard: every insert needs the lock this closure runs under.
        refused = Some(d.insert(b"inner", b"x"));
        Some(*b"o")
    })
    .unwrap();
    assert!(is_held(refused.as_ref().unwrap()), "{refused:?}");
    for i in 0..1000u32 {
        d.insert(&i.to_le_bytes(), &[7; 24]).unwrap();
    }
    assert_eq!(d.len().unwrap(), 1001);
    assert_eq!(d.get(b"inner").unwrap(), None);
}

#[test]
fn a_typed_dicts_update_refuses_the_same_key() {
    let mut t: TypedDict<u32, u64> = TypedDict::new(DictOptions::new()).unwrap();
    t.set_lock_timeout(Some(Duration::from_secs(5)));
    t.insert(&1, &10).unwrap();
    let mut inner = None;
    t.update(&1, |v| {
        inner = Some(t.get(&1));
        v.map(|n| n + 1)
    })
    .unwrap();
    assert!(is_held(inner.as_ref().unwrap()), "{inner:?}");
    assert_eq!(t.get(&1).unwrap(), Some(11));
}
