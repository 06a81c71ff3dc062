//! [`Table`]: one generation's shards on a region, with the lock protocol:
//! take the shard lock, repair the shard if its last holder died, then
//! check with one atomic load that this generation is still the current
//! one.

use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mproc_shm::Region;

use crate::block::HEADER;
use crate::bytes::SharedBytes;
use crate::class::class_for;
use crate::error::corrupt;
use crate::layout::{ARENA_START, ShardCtl, TableLayout};
use crate::recovery::{Recovered, recover};
use crate::shard::{NoRoom, Probe, Shard};
use crate::{DictError, Locked, Result};
use mproc_sync::{LockGuard, RawLock, TryLockError};

/// How long an operation may wait for shard locks: the handle's lock
/// timeout, and the instant it runs out once fixed (one per operation,
/// whatever the number of locks it takes). Until it is fixed, a lock that
/// must be waited for is waited for at most `timeout` from then: a free
/// lock is taken without reading the clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LockDeadline {
    /// The timeout (also for the error).
    pub(crate) timeout: Duration,
    /// When waiting stops, once fixed (`Some(None)`: an instant past the
    /// clock's range, no limit).
    at: Option<Option<Instant>>,
}

impl LockDeadline {
    /// A wait of at most `timeout`, not yet fixed.
    pub(crate) fn after(timeout: Duration) -> Option<LockDeadline> {
        Some(LockDeadline { timeout, at: None })
    }

    /// The same deadline, fixed at `timeout` from now if it was not yet:
    /// for operations that wait for several locks in turn, which share
    /// one timeout.
    pub(crate) fn fixed(self) -> LockDeadline {
        LockDeadline {
            at: Some(self.at.unwrap_or_else(|| Instant::now().checked_add(self.timeout))),
            ..self
        }
    }

    /// When a wait that starts now stops (`None`: no limit).
    fn at(self) -> Option<Instant> {
        self.fixed().at.flatten()
    }
}

/// One generation of the table, viewed in a region.
///
/// Invariant (what [`Table::new`] checks and [`Table::trusted`]'s caller
/// promises): `base..base + layout.payload_len()` lies inside one region
/// valid for `'a`, `base` is 64-byte aligned and `layout` is valid, so
/// every shard's control block, buckets and arena lie inside, aligned.
#[derive(Clone, Copy)]
pub(crate) struct Table<'a> {
    base: NonNull<u8>,
    /// Its layout.
    pub(crate) layout: TableLayout,
    current: &'a AtomicU64,
    _region: PhantomData<Region<'a>>,
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
    #[inline(always)]
    fn deref(&self) -> &Shard<'a> {
        &self.shard
    }
}

impl<'a> Table<'a> {
    /// The table laid out as `layout` in `region`; `current` is the word
    /// that holds the current generation number.
    ///
    /// # Errors
    ///
    /// [`DictError::Corrupt`] for an impossible layout, an out-of-bounds
    /// or misaligned error for a region that cannot hold it.
    pub(crate) fn new(
        region: Region<'a>,
        layout: TableLayout,
        current: &'a AtomicU64,
    ) -> Result<Table<'a>> {
        layout.validate()?;
        region.check(0, layout.payload_len())?;
        // The control blocks' alignment; the buckets and arenas follow at
        // multiples of 64 and 8 bytes.
        region.get::<ShardCtl>(0)?;
        // SAFETY: checked just above: the payload lies inside `region`, at
        // a 64-byte aligned address, and the layout is valid.
        Ok(unsafe { Table::trusted(region.as_ptr(), layout, current) })
    }

    /// The table laid out as `layout` at `base`, without checks.
    ///
    /// # Safety
    ///
    /// [`Table::new`] succeeded for a region starting at `base` with this
    /// layout, and that region stays valid for `'a`.
    #[inline(always)]
    pub(crate) unsafe fn trusted(
        base: *mut u8,
        layout: TableLayout,
        current: &'a AtomicU64,
    ) -> Table<'a> {
        Table {
            base: NonNull::new(base).unwrap_or(NonNull::dangling()),
            layout,
            current,
            _region: PhantomData,
        }
    }

    /// The payload as a region (for initialization).
    fn region(&self) -> Region<'a> {
        // SAFETY: by the invariant the payload lies inside a region valid
        // for 'a.
        unsafe { Region::from_raw_parts(self.base.as_ptr(), self.layout.payload_len() as usize) }
    }

    /// Lays a fresh (zeroed) table out.
    pub(crate) fn init(&self) -> Result<()> {
        let region = self.region();
        for s in 0..self.layout.shards() {
            RawLock::init_in_place(&region, self.layout.ctl_off(s))?;
            self.shard(s)?
                .ctl
                .bump
                .store(ARENA_START, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Shard `s`, unlocked.
    ///
    /// # Errors
    ///
    /// [`DictError::Corrupt`] if there is no shard `s`.
    #[inline(always)]
    pub(crate) fn shard(&self, s: u64) -> Result<Shard<'a>> {
        let l = &self.layout;
        if s >= l.shards() {
            return Err(no_shard(s));
        }
        let base = self.base.as_ptr();
        // SAFETY: `s` is a shard of this valid layout, so by the table's
        // invariant its control block (64-byte aligned: the base is, and
        // `CTL_LEN` is a multiple of 64), its buckets (8-byte aligned, at a
        // multiple of 8 from the base) and its arena lie inside the region,
        // which is valid for 'a. A `ShardCtl` and `AtomicU64`s accept any
        // bit pattern and are only accessed atomically, so shared
        // references to them are sound while other processes write. A
        // valid layout has `2^bucket_bits` buckets per shard (`Shard::new`'s
        // contract).
        unsafe {
            let ctl = &*base.add(l.ctl_off(s) as usize).cast::<ShardCtl>();
            let buckets = std::slice::from_raw_parts(
                base.add(l.buckets_off(s) as usize).cast::<AtomicU64>(),
                l.buckets() as usize,
            );
            let arena = SharedBytes::from_raw(base.add(l.arena_off(s) as usize), l.arena_len);
            Ok(Shard::new(ctl, buckets, arena, l.shard_bits, s))
        }
    }

    /// Locks shard `s`, repairing it if its last holder died. `Ok(None)`:
    /// this generation is no longer the current one (the caller remaps and
    /// retries).
    ///
    /// With a `deadline`, a shard still held by a live process when it
    /// passes is [`DictError::LockTimeout`]. A lock that must be waited
    /// for fixes the deadline in place, so that the operation's later
    /// locks share it.
    #[inline(always)]
    pub(crate) fn lock(
        &self,
        s: u64,
        deadline: &mut Option<LockDeadline>,
    ) -> Result<Option<ShardGuard<'a>>> {
        let shard = self.shard(s)?;
        let lock = &shard.ctl.lock;
        let taken = match lock.try_lock() {
            // Held by this very thread: an operation called from inside a
            // closure that runs under this shard's lock (`update`,
            // `get_with`). Waiting would never end.
            Err(TryLockError::WouldBlock) if lock.is_held_by_this_thread() => {
                return Err(DictError::HeldByThisThread {
                    locked: Locked::Shard(s),
                });
            }
            Err(TryLockError::WouldBlock) => match deadline {
                None => lock.lock().map_err(|died| TryLockError::OwnerDied(died.into_inner())),
                Some(d) => {
                    *d = d.fixed();
                    lock.lock_until(d.at())
                }
            },
            taken => taken,
        };
        let locked = match taken {
            Ok(held) => Ok(held),
            Err(TryLockError::OwnerDied(held)) => Err(held),
            Err(TryLockError::TimedOut { .. } | TryLockError::WouldBlock) => {
                return Err(DictError::LockTimeout {
                    locked: Locked::Shard(s),
                    timeout: deadline.map_or(Duration::ZERO, |d| d.timeout),
                });
            }
        };
        let guard = match locked {
            Ok(held) => ShardGuard {
                shard,
                _held: held,
                recovered: None,
            },
            Err(held) => repair(shard, held, self.layout.shards() - 1)?,
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
    pub(crate) fn lock_all(
        &self,
        deadline: Option<LockDeadline>,
    ) -> Result<Option<Vec<ShardGuard<'a>>>> {
        // A shard this thread holds (an operation called from a closure
        // that runs under it) is refused before any lock is taken: taking
        // shards 0..s first would wait for ever on a grower in another
        // thread or process that holds them and waits for shard s.
        for s in 0..self.layout.shards() {
            if self.shard(s)?.ctl.lock.is_held_by_this_thread() {
                return Err(DictError::HeldByThisThread {
                    locked: Locked::Shard(s),
                });
            }
        }
        // One timeout for all of them.
        let mut deadline = deadline.map(LockDeadline::fixed);
        let mut guards = Vec::with_capacity(self.layout.shards() as usize);
        for s in 0..self.layout.shards() {
            match self.lock(s, &mut deadline)? {
                Some(g) => guards.push(g),
                None => return Ok(None),
            }
        }
        Ok(Some(guards))
    }

    /// Copies every entry of the locked `guards` (this table's shards) into
    /// `dest`, a fresh table nobody else sees yet, with the same shard
    /// count. Entries whose bytes are corrupt are dropped. `Ok(Err(block))`:
    /// `dest` has no room (a block of `block` bytes did not fit, or 0: no
    /// bucket).
    pub(crate) fn copy_into(
        guards: &[ShardGuard<'_>],
        dest: &Table<'_>,
    ) -> Result<std::result::Result<(), u64>> {
        for g in guards {
            let to = dest.shard(g.index)?;
            let mut failure = None;
            g.for_each_valid(|key, hash, value| {
                if failure.is_some() {
                    return;
                }
                let r = to.find(key, hash).and_then(|probe| match probe {
                    Probe::Found { .. } => Ok(Ok(false)),
                    p => to.put(p, key, hash, value),
                });
                match r {
                    Ok(Ok(_)) => {}
                    Ok(Err(NoRoom::Arena { block })) => failure = Some(Ok(block)),
                    Ok(Err(NoRoom::Buckets { .. })) => failure = Some(Ok(0)),
                    Err(e) => failure = Some(Err(e)),
                }
            })?;
            match failure {
                None => {}
                Some(Ok(block)) => return Ok(Err(block)),
                Some(Err(e)) => return Err(e),
            }
        }
        Ok(Ok(()))
    }
}

/// Repairs `shard`, whose lock `held` was taken from a dead holder.
#[cold]
#[inline(never)]
fn repair<'a>(
    shard: Shard<'a>,
    mut held: LockGuard<'a>,
    shard_mask: u64,
) -> Result<ShardGuard<'a>> {
    // If this fails or we die here, the lock stays marked and the next
    // locker repairs again (recovery is idempotent).
    let recovered = Some(recover(&shard, shard_mask)?);
    held.make_consistent();
    Ok(ShardGuard {
        shard,
        _held: held,
        recovered,
    })
}

#[cold]
fn no_shard(s: u64) -> DictError {
    corrupt("shard index", 0, s)
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

    /// What this shard holds by its counters, if they are plausible (no
    /// more entries than buckets, no more bytes than the arena). The
    /// counters are segment bytes: a caller that relies on them must cope
    /// with their being wrong.
    pub(crate) fn counted_usage(&self) -> Option<ShardUsage> {
        let ctl = self.shard.ctl;
        let entries = ctl.len.load(Ordering::Relaxed);
        let bytes = ctl.live_bytes.load(Ordering::Relaxed);
        (entries <= self.shard.bucket_count() && bytes <= self.shard.arena_len())
            .then_some(ShardUsage { entries, bytes })
    }

    /// What this shard holds, counted from its entries.
    pub(crate) fn usage(&self) -> Result<ShardUsage> {
        let mut u = ShardUsage::default();
        self.shard.for_each(true, |k, v| {
            u.entries += 1;
            u.bytes += class_for(HEADER + k.len() as u64 + v.len() as u64).map_or(0, |(_, s)| s);
        })?;
        Ok(u)
    }
}
