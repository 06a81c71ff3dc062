//! [`Table`]: one generation's shards on a region, with the lock protocol:
//! take the shard lock, repair the shard if its last holder died, then
//! check with one atomic load that this generation is still the current
//! one.

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};

use mproc_shm::Region;

use crate::block::HEADER;
use crate::class::class_for;
use crate::layout::{ARENA_START, TableLayout};
use crate::recovery::{Recovered, recover};
use crate::shard::{Probe, Shard};
use crate::{DictError, Result};
use mproc_sync::{LockGuard, RawLock};

/// One generation of the table, viewed in a region.
#[derive(Clone, Copy)]
pub(crate) struct Table<'a> {
    region: Region<'a>,
    /// Its layout.
    pub(crate) layout: TableLayout,
    current: &'a AtomicU64,
}

/// A held shard lock; unlocks on drop.
pub(crate) struct ShardGuard<'a> {
    shard: Shard<'a>,
    _held: LockGuard<'a>,
    /// What recovery did when the lock was taken from a dead holder (read
    /// by tests).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) recovered: Option<Recovered>,
}

impl<'a> Deref for ShardGuard<'a> {
    type Target = Shard<'a>;
    fn deref(&self) -> &Shard<'a> {
        &self.shard
    }
}

impl<'a> Table<'a> {
    /// The table laid out as `layout` in `region`; `current` is the word
    /// that holds the current generation number.
    pub(crate) fn new(
        region: Region<'a>,
        layout: TableLayout,
        current: &'a AtomicU64,
    ) -> Result<Table<'a>> {
        layout.validate()?;
        region.check(0, layout.payload_len())?;
        Ok(Table {
            region,
            layout,
            current,
        })
    }

    /// The table laid out as `layout` in `region`, both already checked
    /// (every access is still bounds-checked by the region).
    #[inline]
    pub(crate) fn trusted(
        region: Region<'a>,
        layout: TableLayout,
        current: &'a AtomicU64,
    ) -> Table<'a> {
        Table {
            region,
            layout,
            current,
        }
    }

    /// Lays a fresh (zeroed) table out.
    pub(crate) fn init(&self) -> Result<()> {
        for s in 0..self.layout.shards() {
            RawLock::init_in_place(&self.region, self.layout.ctl_off(s))?;
            self.shard(s)?
                .ctl
                .bump
                .store(ARENA_START, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Shard `s`, unlocked.
    #[inline]
    pub(crate) fn shard(&self, s: u64) -> Result<Shard<'a>> {
        Shard::new(self.region, &self.layout, s)
    }

    /// Locks shard `s`, repairing it if its last holder died. `Ok(None)`:
    /// this generation is no longer the current one (the caller remaps and
    /// retries).
    #[inline(always)]
    pub(crate) fn lock(&self, s: u64) -> Result<Option<ShardGuard<'a>>> {
        let shard = self.shard(s)?;
        let (mut held, died) = match shard.ctl.lock.lock() {
            Ok(g) => (g, false),
            Err(owner_died) => (owner_died.into_inner(), true),
        };
        let mut recovered = None;
        if died {
            // If this fails or we die here, the lock stays marked and the
            // next locker repairs again (recovery is idempotent).
            recovered = Some(recover(&shard, self.layout.shards() - 1)?);
            held.make_consistent();
        }
        let guard = ShardGuard {
            shard,
            _held: held,
            recovered,
        };
        // SYNC POINT: Acquire pairs with the Release store of a new
        // generation number in `grow::publish`, made while the grower held
        // every shard lock of this generation: seeing the old number here,
        // under the lock, means no newer generation exists yet.
        if self.current.load(Ordering::Acquire) != self.layout.generation {
            return Ok(None);
        }
        Ok(Some(guard))
    }

    /// Locks every shard in order. `Ok(None)`: stale generation.
    pub(crate) fn lock_all(&self) -> Result<Option<Vec<ShardGuard<'a>>>> {
        let mut guards = Vec::with_capacity(self.layout.shards() as usize);
        for s in 0..self.layout.shards() {
            match self.lock(s)? {
                Some(g) => guards.push(g),
                None => return Ok(None),
            }
        }
        Ok(Some(guards))
    }

    /// Copies every entry of the locked `guards` (this table's shards) into
    /// `dest`, a fresh table nobody else sees yet, with the same shard
    /// count. Entries whose bytes are corrupt are dropped.
    pub(crate) fn copy_into(guards: &[ShardGuard<'_>], dest: &Table<'_>) -> Result<()> {
        for g in guards {
            let to = dest.shard(g.index)?;
            let mut failure = None;
            g.for_each_valid(|key, hash, value| {
                if failure.is_some() {
                    return;
                }
                let r = to.find(key, hash).and_then(|probe| match probe {
                    Probe::Found { .. } => Ok(()),
                    p => match to.put(p, key, hash, value)? {
                        Ok(_) => Ok(()),
                        Err(no_room) => Err(DictError::Corrupt {
                            what: "grown table too small",
                            offset: g.index,
                            value: match no_room {
                                crate::shard::NoRoom::Arena { block } => block,
                                crate::shard::NoRoom::Buckets => 0,
                            },
                        }),
                    },
                });
                if let Err(e) = r {
                    failure = Some(e);
                }
            })?;
            if let Some(e) = failure {
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Entries and block bytes of one locked shard, counted from its buckets.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ShardUsage {
    /// Live entries.
    pub(crate) entries: u64,
    /// Bytes their blocks take.
    pub(crate) bytes: u64,
}

impl ShardGuard<'_> {
    /// Calls `f(key, hash, value)` for every readable live entry.
    pub(crate) fn for_each_valid(&self, mut f: impl FnMut(&[u8], u64, &[u8])) -> Result<()> {
        self.shard
            .for_each(true, |k, v| f(k, crate::hash::hash_key(k), v))
    }

    /// What this shard holds.
    pub(crate) fn usage(&self) -> Result<ShardUsage> {
        let mut u = ShardUsage::default();
        self.shard.for_each(true, |k, v| {
            u.entries += 1;
            u.bytes += class_for(HEADER + k.len() as u64 + v.len() as u64).map_or(0, |(_, s)| s);
        })?;
        Ok(u)
    }
}
