//! Repairs a shard whose lock holder died mid-operation, or whose bytes are
//! inconsistent: rebuilds its free lists and counters from the arena and
//! the buckets. Idempotent, so a recovery that is itself killed is redone
//! by the next locker.
//!
//! 1. Walk the arena from its start to `bump`: every block has a header
//!    (allocation writes it before moving `bump`). A bad header ends the
//!    walk there.
//! 2. Check every live bucket: it must name a live block found by the walk,
//!    not named by another bucket, whose key hashes to this shard, this
//!    tag, and which probing from its home reaches. Anything else becomes a
//!    tombstone.
//! 3. Every block no bucket names (an insert killed before it published, a
//!    replace or remove killed before it freed) goes on its free list.
//! 4. Recount entries, tombstones, live and free bytes.

use std::sync::atomic::Ordering;

use crate::Result;
use crate::block::BlockHeader;
use crate::hash::hash_key;
use crate::layout::ARENA_START;
use crate::shard::{EMPTY, Shard, TOMB, is_live};

/// What a recovery found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recovered {
    /// Live entries kept.
    pub(crate) entries: u64,
    /// Blocks put back on free lists that were on none (leaks reclaimed).
    pub(crate) reclaimed: u64,
    /// Buckets turned into tombstones because they named nothing valid.
    pub(crate) dropped: u64,
}

/// Repairs `shard` (its lock held).
pub(crate) fn recover(shard: &Shard<'_>, shard_mask: u64) -> Result<Recovered> {
    let ctl = shard.ctl;
    // 1. Walk.
    let bump = ctl
        .bump
        .load(Ordering::Relaxed)
        .clamp(ARENA_START, shard.arena_len())
        & !7;
    let mut blocks: Vec<(u64, BlockHeader)> = Vec::new();
    let mut pos = ARENA_START;
    while pos < bump {
        match shard.header_at(pos) {
            Ok(h) if pos + h.size <= bump => {
                blocks.push((pos, h));
                pos += h.size;
            }
            _ => break,
        }
    }
    ctl.bump.store(pos, Ordering::Relaxed);
    // Blocks that were on a free list before: to count reclaimed leaks.
    // Each list is followed at most `blocks.len()` steps (a corrupt list may
    // loop).
    let mut was_free = vec![false; blocks.len()];
    for head in &ctl.heads {
        let mut unit = head.load(Ordering::Relaxed);
        for _ in 0..blocks.len() {
            let off = u64::from(unit) * 8;
            let Ok(i) = blocks.binary_search_by_key(&off, |(o, _)| *o) else {
                break;
            };
            if blocks[i].1.live || was_free[i] {
                break;
            }
            was_free[i] = true;
            unit = match shard.arena_u32(off + 8) {
                Ok(next) => next.load(Ordering::Relaxed),
                Err(_) => break,
            };
        }
    }

    // 2. Buckets.
    let mut named = vec![false; blocks.len()];
    let mut out = Recovered::default();
    let mut tombstones = 0;
    let n = shard.bucket_count();
    // Reachability in one pass: the nearest empty bucket before each index
    // (empties never change here: live buckets only become tombstones).
    // Before the first empty one, the nearest is the table's last, across
    // the wrap; with none at all, every bucket is reachable.
    let last_empty = (0..n)
        .rev()
        .find(|&i| shard.bucket(i).load(Ordering::Relaxed) == EMPTY);
    let mut empty_before = last_empty.map(|e| e.wrapping_sub(n));
    for idx in 0..n {
        let bucket = shard.bucket(idx);
        let word = bucket.load(Ordering::Relaxed);
        if word == EMPTY {
            empty_before = Some(idx);
        }
        if word == TOMB {
            tombstones += 1;
            continue;
        }
        if !is_live(word) {
            continue;
        }
        // How far back the probe from the entry's home may start: less
        // than the distance to that empty bucket.
        let reach = empty_before.map_or(n, |e| idx.wrapping_sub(e));
        let off = (word & 0xffff_ffff) * 8;
        let keep = match blocks.binary_search_by_key(&off, |(o, _)| *o) {
            Ok(i)
                if blocks[i].1.live
                    && !named[i]
                    && entry_belongs(shard, shard_mask, idx, reach, word, off, &blocks[i].1) =>
            {
                named[i] = true;
                true
            }
            _ => false,
        };
        if keep {
            out.entries += 1;
        } else {
            // SYNC POINT: Release pairs with the Acquire load in
            // `Shard::find`, as every bucket store does.
            bucket.store(TOMB, Ordering::Release);
            tombstones += 1;
            out.dropped += 1;
        }
    }

    // 3. Free lists, rebuilt from scratch.
    for head in &ctl.heads {
        head.store(0, Ordering::Relaxed);
    }
    let (mut live_bytes, mut free_bytes) = (0, 0);
    for (i, (off, h)) in blocks.iter().enumerate() {
        if named[i] {
            live_bytes += h.size;
            continue;
        }
        if !was_free[i] {
            out.reclaimed += 1;
        }
        let head = &ctl.heads[usize::from(h.class)];
        shard
            .arena_word(*off)?
            .store(BlockHeader::free(h.class), Ordering::Relaxed);
        shard
            .arena_u32(*off + 8)?
            .store(head.load(Ordering::Relaxed), Ordering::Relaxed);
        head.store((*off / 8) as u32, Ordering::Relaxed);
        free_bytes += h.size;
    }

    // 4. Counters.
    ctl.len.store(out.entries, Ordering::Relaxed);
    ctl.tombstones.store(tombstones, Ordering::Relaxed);
    ctl.live_bytes.store(live_bytes, Ordering::Relaxed);
    ctl.free_bytes.store(free_bytes, Ordering::Relaxed);
    ctl.recoveries.fetch_add(1, Ordering::Relaxed);
    Ok(out)
}

/// Whether the live entry in bucket `idx` really belongs there: its key
/// hashes to this shard and tag, and its home is fewer than `reach`
/// buckets back (no empty bucket between its home and it).
fn entry_belongs(
    shard: &Shard<'_>,
    shard_mask: u64,
    idx: u64,
    reach: u64,
    word: u64,
    off: u64,
    hdr: &BlockHeader,
) -> bool {
    let Ok(key) = shard.key_of(off, hdr) else {
        return false;
    };
    let hash = hash_key(key);
    if hash & shard_mask != shard.index || hash >> 32 != word >> 32 {
        return false;
    }
    let n = shard.bucket_count();
    let back = (idx % n + n - shard.home(hash) % n) % n;
    back < reach
}
