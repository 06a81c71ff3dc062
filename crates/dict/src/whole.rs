//! Operations on a whole [`Dict`]: length, clearing, snapshots, stats.
//! Each visits the shards one by one, each under its lock.

use std::sync::atomic::Ordering;

use crate::generation::segment_len;
use crate::handle::Step;
use crate::layout::{ARENA_START, TableLayout};
use crate::stats::DictStats;
use crate::table::{LockDeadline, ShardGuard};
use crate::{Dict, Result};

impl Dict {
    fn each_shard<R>(
        &self,
        mut op: impl FnMut(&ShardGuard<'_>, &TableLayout) -> Result<R>,
    ) -> Result<Vec<R>> {
        let shards = self.handle.shared.info.first.shards();
        // One lock timeout for the whole visit, not one per shard.
        let deadline = self.handle.lock_deadline().map(LockDeadline::fixed);
        let mut out = Vec::with_capacity(shards as usize);
        for s in 0..shards {
            out.push(self.handle.with_shard_until(
                deadline,
                |_| s,
                |g, l| Ok(Step::Done(op(g, l)?)),
            )?);
        }
        Ok(out)
    }

    /// Number of entries (each shard counted under its lock).
    ///
    /// # Errors
    ///
    /// [`DictError::Corrupt`](crate::DictError::Corrupt), [`DictError::Shm`](crate::DictError::Shm) if a new generation cannot
    /// be mapped.
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(Default::default()).unwrap();
    /// d.insert(b"a", b"").unwrap();
    /// assert_eq!(d.len().unwrap(), 1);
    /// ```
    pub fn len(&self) -> Result<usize> {
        let counts = self.each_shard(|g, _| Ok(g.ctl.len.load(Ordering::Relaxed)))?;
        // Saturating: the counters are segment words, untrusted.
        let total = counts.iter().fold(0u64, |a, &c| a.saturating_add(c));
        Ok(usize::try_from(total).unwrap_or(usize::MAX))
    }

    /// Whether there are no entries.
    ///
    /// # Errors
    ///
    /// As [`len`](Dict::len).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_dict::Dict::new(Default::default()).unwrap().is_empty().unwrap());
    /// ```
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Removes every entry (shard by shard).
    ///
    /// # Errors
    ///
    /// As [`len`](Dict::len).
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(Default::default()).unwrap();
    /// d.insert(b"a", b"").unwrap();
    /// d.clear().unwrap();
    /// assert!(d.is_empty().unwrap());
    /// ```
    pub fn clear(&self) -> Result<()> {
        self.each_shard(|g, _| g.clear())?;
        Ok(())
    }

    /// A snapshot of every `(key, value)` pair. Each shard is read under its
    /// lock; writes to other shards may land while the snapshot is taken.
    ///
    /// # Errors
    ///
    /// As [`len`](Dict::len).
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(Default::default()).unwrap();
    /// d.insert(b"a", b"1").unwrap();
    /// assert_eq!(d.items().unwrap(), vec![(b"a".to_vec(), b"1".to_vec())]);
    /// ```
    pub fn items(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let parts = self.each_shard(|g, _| {
            let mut part = Vec::new();
            g.for_each(false, |k, v| part.push((k.to_vec(), v.to_vec())))?;
            Ok(part)
        })?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// A snapshot of the keys (see [`items`](Dict::items)).
    ///
    /// # Errors
    ///
    /// As [`len`](Dict::len).
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(Default::default()).unwrap();
    /// d.insert(b"a", b"1").unwrap();
    /// assert_eq!(d.keys().unwrap(), vec![b"a".to_vec()]);
    /// ```
    pub fn keys(&self) -> Result<Vec<Vec<u8>>> {
        let parts = self.each_shard(|g, _| {
            let mut part = Vec::new();
            g.for_each(false, |k, _| part.push(k.to_vec()))?;
            Ok(part)
        })?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// A snapshot of the values (see [`items`](Dict::items)).
    ///
    /// # Errors
    ///
    /// As [`len`](Dict::len).
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(Default::default()).unwrap();
    /// d.insert(b"a", b"1").unwrap();
    /// assert_eq!(d.values().unwrap(), vec![b"1".to_vec()]);
    /// ```
    pub fn values(&self) -> Result<Vec<Vec<u8>>> {
        let parts = self.each_shard(|g, _| {
            let mut part = Vec::new();
            g.for_each(false, |_, v| part.push(v.to_vec()))?;
            Ok(part)
        })?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// Memory use: live, free and total bytes, entries, shape.
    ///
    /// # Errors
    ///
    /// As [`len`](Dict::len).
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(Default::default()).unwrap();
    /// d.insert(b"key", b"value").unwrap();
    /// let s = d.stats().unwrap();
    /// assert_eq!(s.entries, 1);
    /// assert_eq!(s.live_bytes, 16); // 8-byte header + 3 + 5, one 16-byte class
    /// assert!(s.total_bytes > s.live_bytes + s.free_bytes);
    /// ```
    pub fn stats(&self) -> Result<DictStats> {
        let parts = self.each_shard(|g, l| {
            Ok(DictStats {
                entries: g.ctl.len.load(Ordering::Relaxed),
                live_bytes: g.ctl.live_bytes.load(Ordering::Relaxed),
                free_bytes: g.ctl.free_bytes.load(Ordering::Relaxed),
                unused_bytes: {
                    let available = g.available();
                    available - g.ctl.free_bytes.load(Ordering::Relaxed).min(available)
                },
                arena_bytes: l.arena_len - ARENA_START,
                recoveries: g.ctl.recoveries.load(Ordering::Relaxed),
                total_bytes: segment_len(l),
                generation: l.generation,
                shards: l.shards(),
                buckets: l.buckets() * l.shards(),
            })
        })?;
        let mut total = DictStats::default();
        for p in &parts {
            // Saturating: the counters are segment words, untrusted.
            total.entries = total.entries.saturating_add(p.entries);
            total.live_bytes = total.live_bytes.saturating_add(p.live_bytes);
            total.free_bytes = total.free_bytes.saturating_add(p.free_bytes);
            total.unused_bytes = total.unused_bytes.saturating_add(p.unused_bytes);
            total.arena_bytes = total.arena_bytes.saturating_add(p.arena_bytes);
            total.recoveries = total.recoveries.saturating_add(p.recoveries);
            // Shards may be read in two generations if the table grows
            // meanwhile: report the newest.
            if p.generation >= total.generation {
                total.generation = p.generation;
                total.total_bytes = p.total_bytes;
                total.shards = p.shards;
                total.buckets = p.buckets;
            }
        }
        Ok(total)
    }
}
