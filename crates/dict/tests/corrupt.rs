//! Hostile or corrupt segments: other kinds, impossible layout parameters,
//! random bytes in a live table. Typed errors, never a panic.

use mproc_dict::{Array, Dict, DictError, DictOptions, Value};
use mproc_shm::{Segment, SegmentKind, ShmError};
use proptest::prelude::*;

const ROOT_ROLE: u64 = 0x524f_4f54;
const CTL_LEN: u64 = 576;
const PARAMS_OFF: u64 = 48;

#[test]
fn other_kinds_are_refused() {
    let _v = Value::create("test-corrupt-value", 1u32).unwrap();
    assert!(matches!(
        Dict::open("test-corrupt-value"),
        Err(DictError::Shm(ShmError::WrongKind {
            found: SegmentKind::Value,
            expected: SegmentKind::Dict
        }))
    ));
    assert!(matches!(
        Array::<u32>::open("test-corrupt-value"),
        Err(DictError::Shm(ShmError::WrongKind { .. }))
    ));
    assert!(matches!(
        Value::<u64>::open("test-corrupt-value"),
        Err(DictError::TypeMismatch {
            expected_size: 8,
            found_size: 4,
            ..
        })
    ));
}

#[test]
fn impossible_root_parameters_are_refused() {
    for (i, bad) in [(4usize, 99u64), (5, 0), (6, 7), (1, 0), (2, u64::MAX)] {
        let name = format!("test-corrupt-root-{i}");
        let mut params = [ROOT_ROLE, 100, 1000, 0, 2, 4, 1024, 0];
        params[i] = bad;
        let _seg = Segment::builder(SegmentKind::Dict, 4096)
            .params(params)
            .create(&name)
            .unwrap();
        let err = Dict::open(&name).unwrap_err();
        assert!(matches!(err, DictError::Corrupt { .. }), "{i}: {err:?}");
    }
    // A sane root whose base name is garbage.
    let _seg = Segment::builder(SegmentKind::Dict, 4096)
        .params([ROOT_ROLE, 100, 1000, 0, 2, 4, 1024, 0])
        .init(|p| {
            p.write_pod(64, &3u64)?;
            p.write_bytes(72, b"a/b")
        })
        .create("test-corrupt-root-name")
        .unwrap();
    assert!(matches!(
        Dict::open("test-corrupt-root-name"),
        Err(DictError::Corrupt { .. })
    ));
}

#[test]
fn impossible_table_parameters_are_refused() {
    for (i, bad) in [(0usize, 1u64), (1, 5), (2, 40), (3, 63), (4, 1 << 50)] {
        let name = format!("test-corrupt-table-{i}");
        let d = Dict::create(&name, DictOptions::new().capacity(8)).unwrap();
        let g0 = Segment::open(&d.generation_segment(0).unwrap()).unwrap();
        g0.region()
            .write_pod(PARAMS_OFF + 8 * i as u64, &bad)
            .unwrap();
        drop(g0);
        let err = Dict::open(&name).unwrap_err();
        assert!(
            matches!(err, DictError::Corrupt { .. } | DictError::Shm(_)),
            "{i}: {err:?}"
        );
        drop(d);
    }
}

/// Shard counters are segment bytes too, and growth plans from them: when
/// they under-report, the dict still grows and keeps every entry (a plan
/// too small for the copy is made again from a walk over the entries).
#[test]
fn growth_survives_lying_counters() {
    const LEN_OFF: u64 = 16;
    const LIVE_BYTES_OFF: u64 = 40;
    let name = "test-corrupt-counters";
    let d = Dict::create(name, DictOptions::new().capacity(64).shards(4)).unwrap();
    for k in 0u32..40 {
        d.insert(&k.to_le_bytes(), &[k as u8; 40]).unwrap();
    }
    let g0 = Segment::open(&d.generation_segment(0).unwrap()).unwrap();
    for s in 0..4 {
        g0.payload()
            .write_pod(s * CTL_LEN + LEN_OFF, &0u64)
            .unwrap();
        g0.payload()
            .write_pod(s * CTL_LEN + LIVE_BYTES_OFF, &0u64)
            .unwrap();
    }
    drop(g0);
    for k in 40u32..400 {
        d.insert(&k.to_le_bytes(), &[k as u8; 40]).unwrap();
    }
    assert!(d.stats().unwrap().generation > 0);
    for k in 0u32..400 {
        assert_eq!(d.get(&k.to_le_bytes()).unwrap(), Some(vec![k as u8; 40]));
    }
}

/// Counters that under-report let a shard fill every bucket (past the 7/8
/// limit), so that a plan made from them cannot hold the copy: growth
/// plans again from a walk over the entries.
#[test]
fn growth_replans_when_counters_make_the_copy_too_big() {
    const LEN_OFF: u64 = 16;
    const LIVE_BYTES_OFF: u64 = 40;
    let name = "test-corrupt-counters-full";
    let d = Dict::create(name, DictOptions::new().capacity(64).shards(4)).unwrap();
    let g0 = Segment::open(&d.generation_segment(0).unwrap()).unwrap();
    let mut n = 0u32;
    while d.stats().unwrap().generation == 0 {
        d.insert(&n.to_le_bytes(), b"").unwrap();
        n += 1;
        assert!(n < 1000, "never grew");
        for s in 0..4 {
            for off in [LEN_OFF, LIVE_BYTES_OFF] {
                g0.payload().write_pod(s * CTL_LEN + off, &0u64).unwrap();
            }
        }
    }
    // The fullest shard had all its 32 buckets used.
    assert!(n > 32, "grew after {n}");
    for k in 0..n {
        assert_eq!(d.get(&k.to_le_bytes()).unwrap(), Some(vec![]), "key {k}");
    }
    assert_eq!(d.len().unwrap(), n as usize);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random bytes over a live table (lock words excepted: a lock word
    /// naming a live thread is a liveness matter, not a safety one).
    #[test]
    fn random_bytes_in_a_table(writes in proptest::collection::vec((any::<u64>(), any::<u8>()), 1..64)) {
        let name = "test-corrupt-random";
        let named = Dict::create(name, DictOptions::new().capacity(400).shards(4)).unwrap();
        for k in 0u32..40 {
            named.insert(&k.to_le_bytes(), &vec![k as u8; k as usize]).unwrap();
        }
        let g0_name = named.generation_segment(0).unwrap();
        let seg = Segment::open(&g0_name).unwrap();
        let payload = seg.payload();
        let len = payload.len() as u64;
        for (pos, byte) in writes {
            let off = pos % len;
            if off < 4 * CTL_LEN && off % CTL_LEN < 16 {
                continue;
            }
            payload.write_pod(off, &byte).unwrap();
        }
        let other = Dict::open(name).unwrap();
        for k in 0u32..60 {
            let key = k.to_le_bytes();
            let _ = other.get(&key);
            let _ = other.get_with(&key, |v| v.len());
            let _ = other.insert(&key, b"fresh");
            let _ = other.update(&key, |v| v.map(|v| v.to_vec()));
            if k % 3 == 0 {
                let _ = other.remove(&key);
            }
        }
        let _ = other.items();
        let _ = other.len();
        let _ = other.stats();
        drop(seg);
        drop(other);
        drop(named);
        let gone = Segment::open(&g0_name).is_err();
        prop_assert!(gone);
    }
}

/// A shard lock with a garbage tag is an error when a handle attaches the
/// table, not a wait on a lock that no thread holds.
#[test]
fn a_garbage_shard_lock_is_refused_at_attach() {
    let name = "test-corrupt-shard-lock";
    let d = Dict::create(name, DictOptions::new().capacity(64).shards(4)).unwrap();
    let g0 = Segment::open(&d.generation_segment(0).unwrap()).unwrap();
    // Shard 1's control block starts with its lock.
    g0.payload()
        .write_pod(CTL_LEN, &0xdead_beef_dead_beef_u64)
        .unwrap();
    assert!(matches!(Dict::open(name), Err(DictError::Sync(_))));
}
