//! [`Shard`]: one shard's control block, buckets and arena, and the
//! operations on them that its lock makes exclusive.
//!
//! Bucket words:
//!
//! | word | meaning |
//! | --- | --- |
//! | `0` | empty: ends a probe sequence |
//! | `0xffff_ffff` | tombstone: a removed entry, probing goes on |
//! | `tag << 32 \| unit` | a live entry: `tag` the hash's top 32 bits, its block at `unit * 8` in the arena |
//!
//! Crash rule: an entry's bytes are written first, then one Release store
//! of its bucket makes it visible; the block it replaces is freed after.
//! A writer killed anywhere leaves buckets that each name a complete entry,
//! and at worst blocks no bucket names, which [`recover`](crate::recovery)
//! puts back on the free lists.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::block::{BlockHeader, HEADER};
use crate::bytes::SharedBytes;
use crate::class::class_for;
use crate::error::corrupt;
use crate::layout::{ARENA_START, ShardCtl};
use crate::{DictError, Result};

/// An empty bucket.
pub(crate) const EMPTY: u64 = 0;
/// A removed entry's bucket.
pub(crate) const TOMB: u64 = 0xffff_ffff;

/// The bucket word of an entry with hash `hash` whose block is at `off`.
pub(crate) fn bucket_word(hash: u64, off: u64) -> u64 {
    (hash & !0xffff_ffff) | (off / 8)
}

/// Whether a bucket word names an entry.
pub(crate) fn is_live(word: u64) -> bool {
    word != EMPTY && word != TOMB
}

/// What probing for a key found.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Probe {
    /// The key is in bucket `idx`, its block at `off`.
    Found {
        /// Bucket index.
        idx: u64,
        /// Block offset in the arena.
        off: u64,
        /// Its header.
        hdr: BlockHeader,
    },
    /// The key is absent; `idx` is where it would go (`None`: no room).
    Vacant {
        /// First tombstone or the empty bucket ending the probe.
        idx: Option<u64>,
    },
}

/// Why a write could not be done in this table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoRoom {
    /// The arena has no block of `block` bytes.
    Arena {
        /// Block size needed.
        block: u64,
    },
    /// The buckets are at their load limit; the entry's block would take
    /// `block` bytes.
    Buckets {
        /// Block size the entry needs.
        block: u64,
    },
}

/// One shard of a table. Methods other than the lock's assume that the
/// caller holds the shard's lock.
#[derive(Clone, Copy)]
pub(crate) struct Shard<'a> {
    /// Control block.
    pub(crate) ctl: &'a ShardCtl,
    /// A power-of-two count of buckets.
    buckets: &'a [AtomicU64],
    arena: SharedBytes<'a>,
    /// `buckets.len() - 1`.
    mask: u64,
    shard_bits: u32,
    /// This shard's index.
    pub(crate) index: u64,
}

impl<'a> Shard<'a> {
    /// Shard `index` of a table with `2^shard_bits` shards: its control
    /// block, its buckets and its arena.
    ///
    /// # Safety
    ///
    /// `buckets.len()` is a power of two ([`bucket`](Self::bucket) indexes
    /// it modulo its length without a check).
    #[inline(always)]
    pub(crate) unsafe fn new(
        ctl: &'a ShardCtl,
        buckets: &'a [AtomicU64],
        arena: SharedBytes<'a>,
        shard_bits: u32,
        index: u64,
    ) -> Shard<'a> {
        debug_assert!(buckets.len().is_power_of_two());
        Shard {
            ctl,
            buckets,
            arena,
            mask: buckets.len() as u64 - 1,
            shard_bits,
            index,
        }
    }

    /// Bucket count.
    pub(crate) fn bucket_count(&self) -> u64 {
        self.mask + 1
    }

    /// Arena length.
    pub(crate) fn arena_len(&self) -> u64 {
        self.arena.len()
    }

    /// Buckets used (live or tombstone) allowed before the table must grow.
    pub(crate) fn max_used(&self) -> u64 {
        (self.bucket_count() * 7 / 8).max(1)
    }

    /// Bucket `i` (taken modulo the bucket count).
    #[inline(always)]
    pub(crate) fn bucket(&self, i: u64) -> &'a AtomicU64 {
        let i = (i & self.mask) as usize;
        // SAFETY: `mask + 1` is the length, a power of two (`new`'s
        // contract), so `i & mask < len`.
        unsafe { self.buckets.get_unchecked(i) }
    }

    /// Where probing for `hash` starts.
    #[inline(always)]
    pub(crate) fn home(&self, hash: u64) -> u64 {
        (hash >> self.shard_bits) & self.mask
    }

    /// The validated header of the block at `off`.
    #[inline(always)]
    pub(crate) fn header_at(&self, off: u64) -> Result<BlockHeader> {
        if off < ARENA_START || !off.is_multiple_of(8) {
            return Err(bad_block("block offset", off, off));
        }
        let raw = self.arena.u64_at(off)?.load(Ordering::Relaxed);
        let Some(hdr) = BlockHeader::decode(raw) else {
            return Err(bad_block("block header", off, raw));
        };
        // `off + 8 <= arena_len` (the header was in bounds): no overflow.
        if hdr.size > self.arena_len() - off {
            return Err(bad_block("block size", off, hdr.size));
        }
        Ok(hdr)
    }

    /// The live block a bucket word names.
    #[inline(always)]
    pub(crate) fn live_block(&self, word: u64) -> Result<(u64, BlockHeader)> {
        let off = (word & 0xffff_ffff) * 8;
        let hdr = self.header_at(off)?;
        if !hdr.live {
            return Err(bad_block("bucket names a free block", off, word));
        }
        Ok((off, hdr))
    }

    /// `len` bytes at `off` of the arena, in place.
    #[inline(always)]
    pub(crate) fn bytes(&self, off: u64, len: u64) -> Result<&'a [u8]> {
        // The caller holds the shard lock and the bytes belong to a live
        // block: by the table protocol nobody writes a live block's bytes
        // (writers hold the same lock and write only fresh blocks).
        self.arena.slice(off, len)
    }

    /// The header word at `off` of the arena.
    #[inline(always)]
    pub(crate) fn arena_word(&self, off: u64) -> Result<&'a AtomicU64> {
        self.arena.u64_at(off)
    }

    /// The free-list link word at `off` of the arena.
    pub(crate) fn arena_u32(&self, off: u64) -> Result<&'a AtomicU32> {
        self.arena.u32_at(off)
    }

    /// A live block's key.
    #[inline(always)]
    pub(crate) fn key_of(&self, off: u64, hdr: &BlockHeader) -> Result<&'a [u8]> {
        self.bytes(off + HEADER, hdr.key_len)
    }

    /// A live block's value.
    #[inline(always)]
    pub(crate) fn value_of(&self, off: u64, hdr: &BlockHeader) -> Result<&'a [u8]> {
        self.bytes(off + HEADER + hdr.key_len, hdr.value_len)
    }

    /// Probes for `key` (whose hash is `hash`).
    #[inline(always)]
    pub(crate) fn find(&self, key: &[u8], hash: u64) -> Result<Probe> {
        let home = self.home(hash);
        let mut vacant = None;
        for i in 0..=self.mask {
            let idx = (home + i) & self.mask;
            // SYNC POINT: Acquire pairs with the Release store in `publish`.
            let word = self.bucket(idx).load(Ordering::Acquire);
            if word == EMPTY {
                return Ok(Probe::Vacant {
                    idx: vacant.or(Some(idx)),
                });
            }
            if word == TOMB {
                vacant.get_or_insert(idx);
                continue;
            }
            if word >> 32 == hash >> 32 {
                let (off, hdr) = self.live_block(word)?;
                if hdr.key_len == key.len() as u64 && same_bytes(self.key_of(off, &hdr)?, key) {
                    return Ok(Probe::Found { idx, off, hdr });
                }
            }
        }
        Ok(Probe::Vacant { idx: vacant })
    }

    /// Makes bucket `idx` name `word`: the one store that publishes.
    #[inline(always)]
    pub(crate) fn publish(&self, idx: u64, word: u64) -> Result<()> {
        // SYNC POINT: Release pairs with the Acquire load in `find`: the
        // block's bytes, written before, are visible with the word.
        self.bucket(idx).store(word, Ordering::Release);
        Ok(())
    }

    /// Takes a block of at least `len` bytes: from its class's free list,
    /// else from the end of the arena. `Ok(None)`: no room.
    #[inline(always)]
    pub(crate) fn alloc(&self, len: u64) -> Result<Option<(u64, u8)>> {
        let Some((class, size)) = class_for(len) else {
            return Err(DictError::ValueTooLarge {
                len,
                max: crate::class::MAX_BLOCK,
            });
        };
        let head = &self.ctl.heads[usize::from(class)];
        let unit = head.load(Ordering::Relaxed);
        if unit != 0 {
            let off = u64::from(unit) * 8;
            match self.header_at(off) {
                Ok(h) if !h.live && h.class == class => {
                    let next = self.arena.u32_at(off + 8)?.load(Ordering::Relaxed);
                    head.store(next, Ordering::Relaxed);
                    sub(&self.ctl.free_bytes, size);
                    return Ok(Some((off, class)));
                }
                // A corrupt list: drop it; recovery finds its blocks again.
                _ => head.store(0, Ordering::Relaxed),
            }
        }
        let bump = self.ctl.bump.load(Ordering::Relaxed).max(ARENA_START);
        if !bump.is_multiple_of(8) || bump > self.arena_len() {
            return Err(bad_block("arena bump", 0, bump));
        }
        if size > self.arena_len() - bump {
            return Ok(None);
        }
        // The header first, then the bump: the arena stays walkable from
        // its start to `bump` at every instant (recovery walks it).
        self.arena
            .u64_at(bump)?
            .store(BlockHeader::free(class), Ordering::Relaxed);
        self.ctl.bump.store(bump + size, Ordering::Relaxed);
        Ok(Some((bump, class)))
    }

    /// Puts the block at `off` on its class's free list.
    #[inline(always)]
    pub(crate) fn free(&self, off: u64, hdr: &BlockHeader) -> Result<()> {
        let head = &self.ctl.heads[usize::from(hdr.class)];
        self.arena
            .u64_at(off)?
            .store(BlockHeader::free(hdr.class), Ordering::Relaxed);
        self.arena
            .u32_at(off + 8)?
            .store(head.load(Ordering::Relaxed), Ordering::Relaxed);
        head.store((off / 8) as u32, Ordering::Relaxed);
        if hdr.live {
            sub(&self.ctl.live_bytes, hdr.size);
        }
        add(&self.ctl.free_bytes, hdr.size);
        Ok(())
    }

    /// Writes a complete entry into the fresh block at `off`; returns its
    /// header.
    #[inline(always)]
    pub(crate) fn write_entry(
        &self,
        off: u64,
        class: u8,
        key: &[u8],
        value: &[u8],
    ) -> Result<BlockHeader> {
        let (k, v) = (key.len() as u64, value.len() as u64);
        self.arena.write(off + HEADER, key)?;
        self.arena.write(off + HEADER + k, value)?;
        let raw = BlockHeader::live(class, k, v);
        self.arena.u64_at(off)?.store(raw, Ordering::Relaxed);
        let Some(hdr) = BlockHeader::decode(raw) else {
            return Err(bad_block("new block header", off, raw));
        };
        add(&self.ctl.live_bytes, hdr.size);
        Ok(hdr)
    }

    /// Stores `key -> value` where `probe` (from [`find`](Self::find) under
    /// the same lock) says. Returns whether the key is new.
    #[inline(always)]
    pub(crate) fn put(
        &self,
        probe: Probe,
        key: &[u8],
        hash: u64,
        value: &[u8],
    ) -> Result<std::result::Result<bool, NoRoom>> {
        let need = HEADER + key.len() as u64 + value.len() as u64;
        let block = class_for(need).map_or(need, |(_, s)| s);
        let (idx, was_tomb) = match probe {
            Probe::Found { idx, .. } => (idx, false),
            Probe::Vacant { idx: None } => return Ok(Err(NoRoom::Buckets { block })),
            Probe::Vacant { idx: Some(idx) } => {
                let reuses_tomb = self.bucket(idx).load(Ordering::Relaxed) == TOMB;
                // Saturating: the counters are segment bytes, untrusted.
                let used = self
                    .ctl
                    .len
                    .load(Ordering::Relaxed)
                    .saturating_add(self.ctl.tombstones.load(Ordering::Relaxed));
                if !reuses_tomb && used.saturating_add(1) > self.max_used() {
                    return Ok(Err(NoRoom::Buckets { block }));
                }
                (idx, reuses_tomb)
            }
        };
        let Some((off, class)) = self.alloc(need)? else {
            return Ok(Err(NoRoom::Arena { block }));
        };
        self.write_entry(off, class, key, value)?;
        self.publish(idx, bucket_word(hash, off))?;
        match probe {
            Probe::Found { off: old, hdr, .. } => {
                self.free(old, &hdr)?;
                Ok(Ok(false))
            }
            Probe::Vacant { .. } => {
                if was_tomb {
                    sub(&self.ctl.tombstones, 1);
                }
                add(&self.ctl.len, 1);
                Ok(Ok(true))
            }
        }
    }

    /// Removes the entry `probe` found.
    pub(crate) fn delete(&self, idx: u64, off: u64, hdr: &BlockHeader) -> Result<()> {
        // If the next bucket is empty no probe sequence runs through this
        // one, so it can become empty instead of a tombstone.
        let next = self.bucket(idx + 1).load(Ordering::Relaxed);
        if next == EMPTY {
            self.publish(idx, EMPTY)?;
        } else {
            self.publish(idx, TOMB)?;
            add(&self.ctl.tombstones, 1);
        }
        sub(&self.ctl.len, 1);
        self.free(off, hdr)
    }

    /// Removes every entry: tombstones first (a crash keeps every probe
    /// sequence intact), then empties, then the arena.
    pub(crate) fn clear(&self) -> Result<()> {
        for b in self.buckets {
            if b.load(Ordering::Relaxed) != EMPTY {
                // SYNC POINT: Release pairs with the Acquire load in `find`
                // (like `publish`).
                b.store(TOMB, Ordering::Release);
            }
        }
        for b in self.buckets {
            // SYNC POINT: Release pairs with the Acquire load in `find`.
            b.store(EMPTY, Ordering::Release);
        }
        for h in &self.ctl.heads {
            h.store(0, Ordering::Relaxed);
        }
        self.ctl.bump.store(ARENA_START, Ordering::Relaxed);
        for c in [
            &self.ctl.len,
            &self.ctl.tombstones,
            &self.ctl.live_bytes,
            &self.ctl.free_bytes,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Calls `f(key, value)` for every live entry. A corrupt entry is an
    /// error, or skipped if `lenient`.
    pub(crate) fn for_each(&self, lenient: bool, mut f: impl FnMut(&[u8], &[u8])) -> Result<()> {
        for b in self.buckets {
            // SYNC POINT: Acquire pairs with the Release store in `publish`.
            let word = b.load(Ordering::Acquire);
            if is_live(word) {
                let entry = self.live_block(word).and_then(|(off, hdr)| {
                    Ok((self.key_of(off, &hdr)?, self.value_of(off, &hdr)?))
                });
                match entry {
                    Ok((k, v)) => f(k, v),
                    Err(_) if lenient => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Free bytes left for new blocks: the arena's tail and free blocks.
    pub(crate) fn available(&self) -> u64 {
        let bump = self.ctl.bump.load(Ordering::Relaxed).max(ARENA_START);
        self.arena_len()
            .saturating_sub(bump)
            .saturating_add(self.ctl.free_bytes.load(Ordering::Relaxed))
    }
}

/// Byte equality without a library call for short keys: two possibly
/// overlapping word compares up to 16 bytes.
#[inline(always)]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let half = |s: &[u8], at: usize| -> u32 {
        let mut w = [0u8; 4];
        w.copy_from_slice(&s[at..at + 4]);
        u32::from_le_bytes(w)
    };
    match n {
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => a == b,
    }
}

/// A corrupt-block error, off the hot path.
#[cold]
#[inline(never)]
fn bad_block(what: &'static str, offset: u64, value: u64) -> DictError {
    corrupt(what, offset, value)
}

/// Counter increment under the shard lock: a plain load and store, no
/// read-modify-write instruction (the lock excludes other writers).
#[inline]
fn add(c: &AtomicU64, n: u64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// Saturating decrement under the shard lock (counters may be corrupt).
#[inline]
fn sub(c: &AtomicU64, n: u64) {
    let v = c.load(Ordering::Relaxed);
    c.store(v.saturating_sub(n), Ordering::Relaxed);
}
