//! Growth: when a shard has no room, the whole table moves into a new
//! segment generation.
//!
//! The grower locks every shard of generation N in order (so two growers
//! serialize, and nobody changes N while it is copied), creates generation
//! N+1 with room for twice the fullest shard, copies every entry, then
//! publishes N+1 in the root with one Release store, removes N's name and
//! unlocks. Whoever then locks a shard of N sees the new number under the
//! lock and moves over. A grower killed before the store leaves N intact
//! (its locks are taken over) and at worst a half-made segment N+1, which
//! the next grower replaces.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::block::HEADER;
use crate::generation::{Generation, segment_len};
use crate::layout::{ARENA_START, MAX_ARENA, TableLayout};
use crate::options::{buckets_for, round64};
use crate::root::{FLAG_ANON_GEN0, RootInfo};
use crate::shard::NoRoom;
use crate::table::{ShardUsage, Table};
use crate::{DictError, Result};

/// Why and where a write found no room.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Trigger {
    /// The shard.
    pub(crate) shard: u64,
    /// What was missing.
    pub(crate) why: NoRoom,
    /// Bytes the shard still had for new blocks.
    pub(crate) available: u64,
}

/// Entries a shard of `l` holds before it must grow.
fn max_used(l: &TableLayout) -> u64 {
    (l.buckets() * 7 / 8).max(1)
}

/// The next generation's layout.
pub(crate) fn plan(
    old: &TableLayout,
    usage: &[ShardUsage],
    t: Trigger,
    cap: Option<u64>,
) -> Result<TableLayout> {
    let block = match t.why {
        NoRoom::Arena { block } => block,
        NoRoom::Buckets => 0,
    };
    let tr = usage.get(t.shard as usize).copied().unwrap_or_default();
    let max_entries = usage
        .iter()
        .map(|u| u.entries)
        .max()
        .unwrap_or(0)
        .max(tr.entries + 1);
    let max_bytes = usage
        .iter()
        .map(|u| u.bytes)
        .max()
        .unwrap_or(0)
        .max(tr.bytes + block);
    let arena_cap = MAX_ARENA & !63;
    let fits = |l: &TableLayout| cap.is_none_or(|c| segment_len(l) <= c);

    let generous = TableLayout {
        generation: old.generation + 1,
        // Double the buckets when they are what ran out (unless most of
        // them were tombstones: then the copy alone makes room), so that
        // after growth the load is at least 7/16 (8 bytes of bucket per
        // entry become at most ~18).
        bucket_bits: {
            let crowded = t.why == NoRoom::Buckets && 2 * max_entries > max_used(old);
            (old.bucket_bits + u32::from(crowded)).max(buckets_for(max_entries))
        },
        arena_len: old
            .arena_len
            .max(round64(ARENA_START + 2 * max_bytes))
            .min(arena_cap),
        ..*old
    };
    if generous.validate().is_ok() && fits(&generous) {
        return Ok(generous);
    }
    // Under the cap: the least that holds everything plus this entry, with
    // whatever the cap leaves spread over the arenas.
    let mut least = TableLayout {
        generation: old.generation + 1,
        bucket_bits: buckets_for(max_entries),
        arena_len: round64(ARENA_START + max_bytes).max(64),
        ..*old
    };
    if least.arena_len > arena_cap || least.validate().is_err() || !fits(&least) {
        return Err(DictError::Full {
            needed: block.max(HEADER),
            available: t.available,
        });
    }
    if let Some(c) = cap {
        let spare = (c - segment_len(&least)) / old.shards() / 64 * 64;
        least.arena_len = (least.arena_len + spare).min(arena_cap);
    }
    Ok(least)
}

/// Grows `old` (whose generation the root's `current` word names, unless
/// someone grew it already: then `Ok(None)`). Returns the new generation,
/// already published.
pub(crate) fn grow(
    info: &RootInfo,
    current: &AtomicU64,
    old: &Generation,
    t: Trigger,
) -> Result<Option<Generation>> {
    let table = old.table(current);
    let Some(guards) = table.lock_all()? else {
        return Ok(None);
    };
    let usage = guards
        .iter()
        .map(|g| g.usage())
        .collect::<Result<Vec<_>>>()?;
    let layout = plan(&old.layout, &usage, t, info.max_bytes)?;
    let name = info.gen_name(layout.generation);
    let new = Generation::create(Some(&name), layout, |dest: &Table<'_>| {
        Table::copy_into(&guards, dest)
    })?;
    // SYNC POINT: Release pairs with the Acquire load of the generation in
    // `Table::lock` (under a shard lock) and in `open`: N+1 is complete and
    // ready before anyone can see its number.
    current.store(layout.generation, Ordering::Release);
    let old_is_anonymous = old.layout.generation == 0 && info.flags & FLAG_ANON_GEN0 != 0;
    if !old_is_anonymous {
        let _ = mproc_shm::Segment::unlink(&info.gen_name(old.layout.generation));
    }
    drop(guards);
    Ok(Some(new))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> TableLayout {
        TableLayout {
            generation: 0,
            shard_bits: 1,
            bucket_bits: 2,
            arena_len: 256,
            max_key: 100,
            max_value: 100,
        }
    }

    #[test]
    fn doubles_and_respects_cap() {
        let usage = [
            ShardUsage {
                entries: 3,
                bytes: 200,
            },
            ShardUsage {
                entries: 1,
                bytes: 32,
            },
        ];
        let t = Trigger {
            shard: 0,
            why: NoRoom::Arena { block: 64 },
            available: 48,
        };
        let l = plan(&layout(), &usage, t, None).unwrap();
        assert_eq!(l.generation, 1);
        assert!(l.arena_len >= ARENA_START + 2 * 264);
        assert!(l.buckets() * 7 / 8 >= 4);
        let capped = plan(&layout(), &usage, t, Some(segment_len(&layout()) + 600)).unwrap();
        assert!(segment_len(&capped) <= segment_len(&layout()) + 600);
        assert!(capped.arena_len >= ARENA_START + 264);
        let full = plan(&layout(), &usage, t, Some(segment_len(&layout()))).unwrap_err();
        assert!(matches!(
            full,
            DictError::Full {
                needed: 64,
                available: 48
            }
        ));
    }
}
