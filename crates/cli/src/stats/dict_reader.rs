//! Dicts, their table generations, `Value`s, `Array`s and `Manager`
//! registries (`mproc-dict`).
//!
//! A dict's counters are read by `Dict::stats`, which takes each shard's
//! lock in turn, with a lock timeout, so that a shard held by a stopped
//! (or slow) process cannot hang the command. The header
//! parameters of tables, values and arrays are read as documented in
//! `docs/layout.md`; their locks through `mproc-sync` on a read-only
//! mapping.

use std::time::Duration;

use mproc_dict::{Dict, DictError, Manager};
use mproc_shm::{Header, SegmentKind};
use mproc_sync::RawLock;

use super::kinds::{ReadError, open_read_only};
use super::sync_reader::lock_stats;
use super::{DictStats, DictTableStats, ElementsStats, KindStats, ManagedObject, ManagerStats};

/// `params[0]` of a dict's root segment: "ROOT".
pub(crate) const ROOT_ROLE: u64 = 0x524f_4f54;
/// `params[0]` of a dict's table generation: "TBL1".
pub(crate) const TABLE_ROLE: u64 = 0x5442_4c31;
/// `params[0]` of a `Value`: "VAL1".
const VALUE_ROLE: u64 = 0x5641_4c31;
/// `params[0]` of an `Array`: "ARR1".
const ARRAY_ROLE: u64 = 0x4152_5231;
/// `params[0]` of a `Manager`'s registry: "MGR1".
const MANAGER_ROLE: u64 = 0x4d47_5231;
/// How long a dict's shards may keep the reader waiting.
const DICT_TIMEOUT: Duration = Duration::from_secs(1);

/// Reads a segment of kind `Dict`, `Value`, `Array` or `Manager`.
pub(super) fn read(name: &str, header: &Header) -> Result<KindStats, ReadError> {
    let p = header.params;
    match (header.kind, p[0]) {
        (SegmentKind::Dict, ROOT_ROLE) => dict(name),
        (SegmentKind::Dict, TABLE_ROLE) => table(&p),
        (SegmentKind::Value, VALUE_ROLE) | (SegmentKind::Array, ARRAY_ROLE) => {
            elements(name, header.kind, &p)
        }
        (SegmentKind::Manager, MANAGER_ROLE) => manager(name),
        (_, role) => Err(ReadError::BadParam {
            field: "role",
            value: role,
        }),
    }
}

/// The base of the table names that the dict root `name` records (its
/// name and a tag of the dict, `docs/layout.md`), if the root reads and
/// the base is one of the two forms a root of that name may record. A
/// corrupt root naming another dict's tables names none.
pub(crate) fn root_base(name: &str) -> Option<String> {
    let seg = open_read_only(name, SegmentKind::Dict).ok()?;
    if seg.header().params[0] != ROOT_ROLE {
        return None;
    }
    let p = seg.payload();
    let len: u64 = p.read_pod(64).ok()?;
    if len == 0 || len > mproc_shm::MAX_NAME_LEN as u64 {
        return None;
    }
    let mut buf = vec![0u8; len as usize];
    p.read_bytes(72, &mut buf).ok()?;
    String::from_utf8(buf)
        .ok()
        .filter(|base| mproc_dict::table_base_belongs_to(base, name))
}

fn dict(name: &str) -> Result<KindStats, ReadError> {
    let mut d = Dict::open(name)?;
    d.set_lock_timeout(Some(DICT_TIMEOUT));
    let s = match d.stats() {
        Err(DictError::LockTimeout { .. }) => return Err(ReadError::Busy(DICT_TIMEOUT)),
        other => other?,
    };
    Ok(KindStats::Dict(DictStats {
        len: s.entries,
        generation: s.generation,
        bytes_used: s.live_bytes,
        bytes_free: s.free_bytes,
        bytes_unused: s.unused_bytes,
        arena_bytes: s.arena_bytes,
        segment_bytes: s.total_bytes,
        shards: s.shards,
        buckets: s.buckets,
        recoveries: s.recoveries,
    }))
}

/// `[TBL1, generation, shard_bits, bucket_bits, arena_len, max_key,
/// max_value, 0]`.
fn table(p: &[u64; 8]) -> Result<KindStats, ReadError> {
    let bits = |field, value: u64, max| {
        if value <= max {
            Ok(1u64 << value)
        } else {
            Err(ReadError::BadParam { field, value })
        }
    };
    Ok(KindStats::DictTable(DictTableStats {
        generation: p[1],
        shards: bits("shard_bits", p[2], 8)?,
        buckets_per_shard: bits("bucket_bits", p[3], 30)?,
        arena_per_shard: p[4],
    }))
}

/// `[role, element size, element align, len, 0, ...]`; payload: a lock,
/// then the elements at offset 64.
fn elements(name: &str, kind: SegmentKind, p: &[u64; 8]) -> Result<KindStats, ReadError> {
    let seg = open_read_only(name, kind)?;
    let lock = RawLock::attach(&seg.payload(), 0)?;
    Ok(KindStats::Elements(ElementsStats {
        len: p[3],
        element_size: p[1],
        element_align: p[2],
        lock: lock_stats(lock, None),
    }))
}

/// A manager's registry, read without its lock (entries are published
/// before the count that covers them).
fn manager(prefix: &str) -> Result<KindStats, ReadError> {
    let m = Manager::open(prefix)?;
    let objects = m
        .names()?
        .into_iter()
        .map(|(name, kind)| ManagedObject {
            name: m.full_name(&name),
            kind: kind.name().to_owned(),
        })
        .collect();
    Ok(KindStats::Manager(ManagerStats { objects }))
}
