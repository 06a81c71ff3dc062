//! Growth: when a shard has no room, the whole table moves into a new
//! segment generation.
//!
//! The grower locks every shard of generation N in order (so two growers
//! serialize, and nobody changes N while it is copied), creates generation
//! N+1 with room for four times the fullest shard while the table is small
//! (up to [`QUADRUPLE_UP_TO`] buckets), twice above, copies every entry, then
//! publishes N+1 in the root with one Release store, removes N's name and
//! unlocks. Whoever then locks a shard of N sees the new number under the
//! lock and moves over. A grower killed before the store leaves N intact
//! (its locks are taken over) and at worst a half-made segment N+1, which
//! the next grower replaces.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::block::HEADER;
use crate::error::corrupt;
use crate::generation::{Generation, segment_len};
use crate::layout::{ARENA_START, MAX_ARENA, TableLayout};
use crate::options::{buckets_for, round64};
use crate::root::{FLAG_ANON_GEN0, RootInfo};
use crate::shard::NoRoom;
use crate::table::{LockDeadline, ShardGuard, ShardUsage, Table};
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

/// Total buckets (all shards) up to which a table grows fourfold rather
/// than twofold: 2^13 buckets, 64 KiB. A growth costs a new segment (a
/// few system calls, a page fault per page touched) plus a copy of every
/// entry, so a small table that is filling up grows in fewer, larger
/// steps, for at most 64 KiB of buckets; past that it doubles, so that its
/// bucket memory stays within about twice what its entries need. (Only
/// touched pages cost memory: the arena is filled from its start, so the
/// unused end of a larger arena is address space only.)
pub(crate) const QUADRUPLE_UP_TO: u64 = 1 << 13;

/// The next generation's layout.
pub(crate) fn plan(
    old: &TableLayout,
    usage: &[ShardUsage],
    t: Trigger,
    cap: Option<u64>,
) -> Result<TableLayout> {
    let (NoRoom::Arena { block } | NoRoom::Buckets { block }) = t.why;
    // Out of buckets, the entry found no place whatever its bytes: none
    // are available to it.
    let available = match t.why {
        NoRoom::Arena { .. } => t.available,
        NoRoom::Buckets { .. } => 0,
    };
    // The generation number is a segment word: at its end, the table is
    // corrupt rather than a reason to panic.
    let next_generation = old
        .generation
        .checked_add(1)
        .ok_or_else(|| corrupt("table generation", t.shard, old.generation))?;
    let tr = usage.get(t.shard as usize).copied().unwrap_or_default();
    let max_entries = usage
        .iter()
        .map(|u| u.entries)
        .max()
        .unwrap_or(0)
        .max(tr.entries.saturating_add(1));
    let max_bytes = usage
        .iter()
        .map(|u| u.bytes)
        .max()
        .unwrap_or(0)
        .max(tr.bytes.saturating_add(block));
    let arena_cap = MAX_ARENA & !63;
    let fits = |l: &TableLayout| cap.is_none_or(|c| segment_len(l) <= c);
    // A shard that needs more than the largest arena cannot be helped by a
    // new generation: the generous layouts below are clamped to the cap,
    // and one that holds no more than the old would only send the caller
    // back here, copying the whole table each time.
    if ARENA_START.saturating_add(max_bytes) > arena_cap {
        return Err(DictError::Full {
            needed: block.max(HEADER),
            available,
        });
    }

    // Multiply the buckets when they are what ran out (unless most of
    // them were tombstones: then the copy alone makes room), so that after
    // growth the load is at least 7/16 (7/32 for a small table), and room
    // for as many times the fullest shard's bytes.
    let generous = |factor_bits: u32| TableLayout {
        generation: next_generation,
        bucket_bits: {
            let crowded = matches!(t.why, NoRoom::Buckets { .. }) && 2 * max_entries > max_used(old);
            (old.bucket_bits + factor_bits * u32::from(crowded)).max(buckets_for(max_entries))
        },
        arena_len: old
            .arena_len
            .max(round64(ARENA_START + (max_bytes << factor_bits)))
            .min(arena_cap),
        ..*old
    };
    for factor_bits in [2, 1] {
        let l = generous(factor_bits);
        let small = l.shards() * l.buckets() <= QUADRUPLE_UP_TO;
        if (factor_bits == 1 || small) && l.validate().is_ok() && fits(&l) {
            return Ok(l);
        }
    }
    // Under the cap: the least that holds everything plus this entry, with
    // whatever the cap leaves spread over the arenas.
    let mut least = TableLayout {
        generation: next_generation,
        bucket_bits: buckets_for(max_entries),
        arena_len: round64(ARENA_START + max_bytes).max(64),
        ..*old
    };
    if least.arena_len > arena_cap || least.validate().is_err() || !fits(&least) {
        return Err(DictError::Full {
            needed: block.max(HEADER),
            available,
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
/// already published. Waits for each shard lock until `deadline`, if any.
pub(crate) fn grow(
    info: &RootInfo,
    current: &AtomicU64,
    old: &Generation,
    t: Trigger,
    deadline: Option<LockDeadline>,
) -> Result<Option<Generation>> {
    let table = old.table(current);
    let Some(guards) = table.lock_all(deadline)? else {
        return Ok(None);
    };
    // The shards' counters first (no walk over every entry); they are
    // bytes of the segment, so if the copy does not fit the plan they
    // gave, plan again from a walk over the entries.
    let counted = guards
        .iter()
        .map(|g| g.counted_usage())
        .collect::<Option<Vec<_>>>();
    let mut walked = match counted {
        Some(_) => None,
        None => Some(walk(&guards)?),
    };
    let new = loop {
        let usage = walked.as_deref().or(counted.as_deref()).unwrap_or_default();
        let layout = match plan(&old.layout, usage, t, info.max_bytes) {
            // Counters that claim more than the entries hold must not make
            // a capped dict report `Full`: count the entries themselves.
            Err(DictError::Full { .. }) if walked.is_none() => {
                walked = Some(walk(&guards)?);
                continue;
            }
            layout => layout?,
        };
        let name = info.gen_name(layout.generation);
        let mut too_small = false;
        let made = Generation::create(Some(&name), info.mode, layout, |dest: &Table<'_>| {
            let r = Table::copy_into(&guards, dest)?;
            too_small = r.is_err();
            r.map_err(|block| corrupt("grown table too small", t.shard, block))
        });
        match made {
            Err(_) if too_small && walked.is_none() => walked = Some(walk(&guards)?),
            made => break made?,
        }
    };
    let layout = new.layout;
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

/// Every shard's usage, counted from its entries.
fn walk(guards: &[ShardGuard<'_>]) -> Result<Vec<ShardUsage>> {
    guards.iter().map(|g| g.usage()).collect()
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
    fn small_tables_quadruple_big_ones_double() {
        let full = |l: &TableLayout| {
            let per = max_used(l);
            vec![
                ShardUsage {
                    entries: per,
                    bytes: per * 24,
                };
                l.shards() as usize
            ]
        };
        let t = Trigger {
            shard: 0,
            why: NoRoom::Buckets { block: 0 },
            available: 1000,
        };
        let small = TableLayout {
            shard_bits: 6,
            bucket_bits: 5,
            arena_len: 1024,
            ..layout()
        };
        let l = plan(&small, &full(&small), t, None).unwrap();
        assert_eq!(l.bucket_bits, 7);
        assert!(l.arena_len >= 4 * max_used(&small) * 24);
        // 64 x 128 buckets: at the limit; the next growth doubles.
        let l2 = plan(&l, &full(&l), t, None).unwrap();
        assert_eq!(l2.bucket_bits, 8);
        // Under a cap too tight for four times, twice.
        let cap = segment_len(&TableLayout {
            bucket_bits: 6,
            arena_len: 2048,
            ..small
        });
        let l3 = plan(&small, &full(&small), t, Some(cap)).unwrap();
        assert!(l3.bucket_bits == 6 && segment_len(&l3) <= cap);
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

    #[test]
    fn a_shard_past_the_largest_arena_is_full_not_an_endless_growth() {
        let usage = [
            ShardUsage {
                entries: 1,
                bytes: MAX_ARENA - 8,
            },
            ShardUsage::default(),
        ];
        let t = Trigger {
            shard: 0,
            why: NoRoom::Arena { block: 64 },
            available: 0,
        };
        assert!(matches!(
            plan(&layout(), &usage, t, None),
            Err(DictError::Full { needed: 64, .. })
        ));
        // Corrupt counters do not overflow either.
        let huge = [ShardUsage {
            entries: u64::MAX,
            bytes: u64::MAX,
        }; 2];
        assert!(plan(&layout(), &huge, t, None).is_err());
    }

    #[test]
    fn the_last_generation_number_is_corrupt_not_a_panic() {
        let old = TableLayout {
            generation: u64::MAX,
            ..layout()
        };
        let t = Trigger {
            shard: 1,
            why: NoRoom::Buckets { block: 0 },
            available: 0,
        };
        let err = plan(&old, &[ShardUsage::default(); 2], t, None).unwrap_err();
        assert!(matches!(
            err,
            DictError::Corrupt {
                what: "table generation",
                value: u64::MAX,
                ..
            }
        ));
    }
}
