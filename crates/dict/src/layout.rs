//! Where things are in one table generation: [`TableLayout`] computed from
//! the segment's header parameters, and [`ShardCtl`], each shard's control
//! block.
//!
//! Payload of a table segment:
//!
//! ```text
//! [ShardCtl; shards]                  lock and counters line, free-list heads
//! [bucket: u64; shards * buckets]     (hash tag << 32) | block unit offset
//! [arena: arena_len bytes; shards]    blocks: [header u64 | key | value]
//! ```

use std::sync::atomic::{AtomicU32, AtomicU64};

use mproc_shm::ShmSafe;

use crate::class::CLASS_COUNT;
use crate::error::corrupt;
use crate::{DictError, Result};
use mproc_sync::RawLock;

/// `params[0]` of a table segment.
pub(crate) const TABLE_ROLE: u64 = 0x5442_4c31; // "TBL1"
/// Largest `shard_bits`.
pub(crate) const MAX_SHARD_BITS: u64 = 8;
/// Largest `bucket_bits` (buckets per shard).
pub(crate) const MAX_BUCKET_BITS: u64 = 30;
/// Largest arena per shard: block offsets are u32 counts of 8 bytes.
pub(crate) const MAX_ARENA: u64 = (u32::MAX as u64 - 1) * 8;
/// Offset of the first block in an arena (unit 0 means "no block").
pub(crate) const ARENA_START: u64 = 8;

/// One shard's control block: the lock and the counters share the first
/// cache line (only the lock holder writes the counters, and an operation
/// touches both), the free-list heads follow.
#[repr(C, align(64))]
pub(crate) struct ShardCtl {
    /// Guards everything of this shard (control, buckets, arena): the sync
    /// crate's robust lock.
    pub(crate) lock: RawLock,
    /// Live entries.
    pub(crate) len: AtomicU64,
    /// Tombstoned buckets.
    pub(crate) tombstones: AtomicU64,
    /// End of the used part of the arena (bytes from its start).
    pub(crate) bump: AtomicU64,
    /// Bytes in live blocks.
    pub(crate) live_bytes: AtomicU64,
    /// Bytes in free blocks.
    pub(crate) free_bytes: AtomicU64,
    /// Times this shard was repaired after its lock holder died.
    pub(crate) recoveries: AtomicU64,
    /// Free-list heads per size class: block unit offsets, 0 = empty.
    pub(crate) heads: [AtomicU32; CLASS_COUNT + 5],
}

// SAFETY: repr(C), only atomics and a `RawLock` (itself ShmSafe: atomics,
// any bit pattern valid), no pointers, no Drop; all mutation is atomic.
unsafe impl ShmSafe for ShardCtl {}

/// Bytes of one shard control block.
pub(crate) const CTL_LEN: u64 = std::mem::size_of::<ShardCtl>() as u64;

/// The shape of one table generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TableLayout {
    /// Generation number.
    pub(crate) generation: u64,
    /// log2 of the shard count.
    pub(crate) shard_bits: u32,
    /// log2 of buckets per shard.
    pub(crate) bucket_bits: u32,
    /// Arena bytes per shard (multiple of 64).
    pub(crate) arena_len: u64,
    /// Longest key.
    pub(crate) max_key: u64,
    /// Longest value.
    pub(crate) max_value: u64,
}

impl TableLayout {
    /// Shards.
    pub(crate) fn shards(&self) -> u64 {
        1 << self.shard_bits
    }

    /// Buckets per shard.
    pub(crate) fn buckets(&self) -> u64 {
        1 << self.bucket_bits
    }

    /// Offset of shard `s`'s control block.
    pub(crate) fn ctl_off(&self, s: u64) -> u64 {
        s * CTL_LEN
    }

    /// Offset of shard `s`'s first bucket.
    pub(crate) fn buckets_off(&self, s: u64) -> u64 {
        self.shards() * CTL_LEN + s * self.buckets() * 8
    }

    /// Offset of shard `s`'s arena.
    pub(crate) fn arena_off(&self, s: u64) -> u64 {
        self.shards() * CTL_LEN + self.shards() * self.buckets() * 8 + s * self.arena_len
    }

    /// Payload bytes of the whole table.
    pub(crate) fn payload_len(&self) -> u64 {
        self.arena_off(self.shards())
    }

    /// The header parameters recording this layout.
    pub(crate) fn params(&self) -> [u64; 8] {
        [
            TABLE_ROLE,
            self.generation,
            self.shard_bits.into(),
            self.bucket_bits.into(),
            self.arena_len,
            self.max_key,
            self.max_value,
            0,
        ]
    }

    /// Checks that a layout is possible (no overflow, limits respected).
    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |what, value| Err(corrupt(what, 0, value));
        if u64::from(self.shard_bits) > MAX_SHARD_BITS {
            return bad("shard_bits", self.shard_bits.into());
        }
        if u64::from(self.bucket_bits) > MAX_BUCKET_BITS || self.bucket_bits < 1 {
            return bad("bucket_bits", self.bucket_bits.into());
        }
        if !self.arena_len.is_multiple_of(64) || self.arena_len < 64 || self.arena_len > MAX_ARENA {
            return bad("arena_len", self.arena_len);
        }
        if self.max_key >= 1 << 23 || self.max_key == 0 {
            return bad("max_key", self.max_key);
        }
        if self.max_value > u64::from(u32::MAX) {
            return bad("max_value", self.max_value);
        }
        // Overflow-free total: shards * (ctl + buckets*8 + arena).
        let per_shard = CTL_LEN
            .checked_add(self.buckets() * 8)
            .and_then(|x| x.checked_add(self.arena_len))
            .ok_or(DictError::Corrupt {
                what: "table size",
                offset: 0,
                value: self.arena_len,
            })?;
        if per_shard.checked_mul(self.shards()).is_none() {
            return bad("table size", per_shard);
        }
        Ok(())
    }

    /// The layout recorded in a table segment's parameters.
    pub(crate) fn from_params(p: &[u64; 8]) -> Result<TableLayout> {
        if p[0] != TABLE_ROLE {
            return Err(corrupt("table role", 0, p[0]));
        }
        let small = |what, v: u64| u32::try_from(v).map_err(|_| corrupt(what, 0, v));
        let layout = TableLayout {
            generation: p[1],
            shard_bits: small("shard_bits", p[2])?,
            bucket_bits: small("bucket_bits", p[3])?,
            arena_len: p[4],
            max_key: p[5],
            max_value: p[6],
        };
        layout.validate()?;
        Ok(layout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctl_is_lines() {
        assert_eq!(CTL_LEN % 64, 0);
        assert_eq!(std::mem::offset_of!(ShardCtl, len), 16);
        assert_eq!(std::mem::offset_of!(ShardCtl, heads), 64);
        assert_eq!(CTL_LEN, 576);
    }

    #[test]
    fn params_round_trip_and_reject() {
        let l = TableLayout {
            generation: 3,
            shard_bits: 2,
            bucket_bits: 4,
            arena_len: 4096,
            max_key: 100,
            max_value: 1000,
        };
        assert_eq!(TableLayout::from_params(&l.params()).unwrap(), l);
        let mut p = l.params();
        p[4] = 4095;
        assert!(TableLayout::from_params(&p).is_err());
        p = l.params();
        p[3] = u64::MAX;
        assert!(TableLayout::from_params(&p).is_err());
        p = l.params();
        p[2] = 60;
        assert!(TableLayout::from_params(&p).is_err());
        assert_eq!(l.payload_len(), 4 * CTL_LEN + 4 * 16 * 8 + 4 * 4096);
    }
}
