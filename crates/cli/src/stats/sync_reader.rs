//! Locks, semaphores, events, barriers and conditions, read through
//! `mproc-sync`'s raw forms on a read-only mapping: snapshots of their
//! state words, never a lock taken.

use mproc_shm::{Segment, SegmentKind};
use mproc_sync::{RawBarrier, RawCondition, RawEvent, RawLock, RawRLock, RawSemaphore};

use super::kinds::{ReadError, open_read_only};
use super::{BarrierStats, KindStats, LockStats, SemaphoreStats};

/// Reads the sync primitive of `kind` in segment `name`.
pub(super) fn read(name: &str, kind: SegmentKind) -> Result<KindStats, ReadError> {
    let seg = open_read_only(name, kind)?;
    let p = seg.payload();
    Ok(match kind {
        SegmentKind::Lock => KindStats::Lock(lock_stats(RawLock::attach(&p, 0)?, None)),
        SegmentKind::RLock => {
            let r = RawRLock::attach(&p, 0)?;
            KindStats::Lock(rlock_stats(&seg, r))
        }
        SegmentKind::Condition => {
            let c = RawCondition::attach(&p, 0)?;
            KindStats::Lock(lock_stats(c.raw_lock(), None))
        }
        SegmentKind::Semaphore => {
            let s = RawSemaphore::attach(&p, 0)?;
            KindStats::Semaphore(SemaphoreStats {
                value: s.value(),
                bound: s.bound(),
            })
        }
        SegmentKind::Event => KindStats::Event {
            set: RawEvent::attach(&p, 0)?.is_set(),
        },
        SegmentKind::Barrier => {
            let b = RawBarrier::attach(&p, 0)?;
            KindStats::Barrier(BarrierStats {
                parties: b.parties(),
                waiting: b.n_waiting(),
                broken: b.broken(),
            })
        }
        other => return Err(ReadError::NotSync(other)),
    })
}

/// The state of `lock`, with `count` for a reentrant lock.
pub(super) fn lock_stats(lock: &RawLock, count: Option<u32>) -> LockStats {
    let tid = lock.owner();
    LockStats {
        held: lock.is_locked(),
        holder_tid: tid,
        holder_pid: tid.and_then(thread_group),
        holder_alive: tid.map(|t| mproc_sys::thread_is_alive(t as i32, None)),
        owner_died: lock.is_poisoned_by_death(),
        count,
    }
}

/// An `RLock`: its count from `RawRLock`, its holder from the plain lock
/// it starts with (when that validates as one).
fn rlock_stats(seg: &Segment, r: &RawRLock) -> LockStats {
    match RawLock::attach(&seg.payload(), 0) {
        Ok(inner) => lock_stats(inner, Some(r.count())),
        Err(_) => LockStats {
            held: r.is_locked(),
            holder_tid: None,
            holder_pid: None,
            holder_alive: None,
            owner_died: false,
            count: Some(r.count()),
        },
    }
}

/// The process a thread belongs to (`Tgid` in `/proc/TID/status`).
fn thread_group(tid: u32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}
