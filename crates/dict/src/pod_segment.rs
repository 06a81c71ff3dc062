//! [`PodSegment`]: a segment holding a robust lock and `len` elements of a
//! plain-data type: what [`Value`](crate::Value) and
//! [`Array`](crate::Array) are made of.
//!
//! Payload: the lock on its own cache line, then the elements at offset 64.

use std::marker::PhantomData;
use std::time::Duration;

use bytemuck::Pod;
use mproc_shm::{Region, Segment, SegmentKind};

use crate::error::corrupt;
use mproc_sync::{LockGuard, RawLock, TryLockError};

use crate::{DictError, Locked, Result};

/// Offset of the first element.
const DATA_OFF: u64 = 64;

/// A mapped lock-plus-elements segment of `T`s.
#[derive(Debug)]
pub(crate) struct PodSegment<T> {
    seg: Segment,
    len: u64,
    _t: PhantomData<T>,
}

/// The held lock of a [`PodSegment`]; unlocks on drop.
pub(crate) struct PodLock<'a> {
    _held: LockGuard<'a>,
    /// Whether the previous holder died holding it (the data may be half
    /// written).
    pub(crate) owner_died: bool,
}

impl<'a> PodLock<'a> {
    /// The lock `held`, made consistent at once (a holder's death is
    /// reported through `owner_died`; the data cannot be repaired here).
    fn new(mut held: LockGuard<'a>, owner_died: bool) -> PodLock<'a> {
        held.make_consistent();
        PodLock {
            _held: held,
            owner_died,
        }
    }
}

fn type_params<T>() -> (u64, u64) {
    (
        std::mem::size_of::<T>() as u64,
        std::mem::align_of::<T>() as u64,
    )
}

impl<T: Pod> PodSegment<T> {
    /// Creates a segment of `kind` holding `data` (named or anonymous).
    pub(crate) fn create(
        kind: SegmentKind,
        role: u64,
        name: Option<&str>,
        data: &[T],
    ) -> Result<Self> {
        Self::create_len(kind, role, name, data.len(), Some(data))
    }

    /// [`create`](Self::create) of `len` elements, holding `data` if given
    /// (of that length), zeroed otherwise: a new segment is zeroed already,
    /// so an array of any length needs no copy of it on the heap.
    pub(crate) fn create_len(
        kind: SegmentKind,
        role: u64,
        name: Option<&str>,
        len: usize,
        data: Option<&[T]>,
    ) -> Result<Self> {
        let (size, align) = type_params::<T>();
        if align > DATA_OFF {
            return Err(DictError::InvalidOption {
                option: "element alignment",
                value: align,
            });
        }
        let len = len as u64;
        let bytes = len
            .checked_mul(size)
            .and_then(|b| b.checked_add(DATA_OFF))
            .ok_or(DictError::InvalidOption {
                option: "length",
                value: len,
            })?;
        let builder = Segment::builder(kind, bytes)
            .params([role, size, align, len, 0, 0, 0, 0])
            .init(|p| {
                RawLock::init_in_place(&p, 0).map_err(|_| mproc_shm::ShmError::Corrupt {
                    field: "value lock",
                    value: 0,
                })?;
                match data {
                    Some(data) => p.write_bytes(DATA_OFF, bytemuck::cast_slice(data)),
                    None => Ok(()),
                }
            });
        let seg = match name {
            Some(n) => builder.create(n)?,
            None => builder.create_anonymous()?,
        };
        Ok(PodSegment {
            seg,
            len,
            _t: PhantomData,
        })
    }

    /// Opens a named segment of `kind`, checking the element type's size
    /// and alignment.
    pub(crate) fn open(kind: SegmentKind, role: u64, name: &str) -> Result<Self> {
        let seg = Segment::opener(name).kind(kind).open()?;
        let p = seg.header().params;
        if p[0] != role {
            return Err(corrupt("value/array role", 0, p[0]));
        }
        let (size, align) = type_params::<T>();
        if p[1] != size || p[2] != align {
            return Err(DictError::TypeMismatch {
                expected_size: size,
                expected_align: align,
                found_size: p[1],
                found_align: p[2],
            });
        }
        let len = p[3];
        let needed = len.checked_mul(size).and_then(|b| b.checked_add(DATA_OFF));
        if needed.is_none_or(|n| n > seg.payload().len() as u64) {
            return Err(corrupt("array length", 0, len));
        }
        Ok(PodSegment {
            seg,
            len,
            _t: PhantomData,
        })
    }

    /// Number of elements.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The segment's name.
    pub(crate) fn name(&self) -> Option<&str> {
        self.seg.name().map(|n| n.as_str())
    }

    fn payload(&self) -> Region<'_> {
        self.seg.payload()
    }

    /// [`DictError::HeldByThisThread`] if the calling thread holds `lock`:
    /// taking it again would wait for ever.
    fn refuse_reentry(&self, lock: &RawLock) -> Result<()> {
        if lock.is_held_by_this_thread() {
            let locked = match self.seg.header().kind {
                SegmentKind::Array => Locked::Array,
                _ => Locked::Value,
            };
            return Err(DictError::HeldByThisThread { locked });
        }
        Ok(())
    }

    /// Takes the lock. A holder's death is reported once (the data cannot
    /// be repaired here, so the lock is made consistent at once).
    pub(crate) fn lock(&self) -> Result<PodLock<'_>> {
        let lock = RawLock::attach(&self.payload(), 0)?;
        self.refuse_reentry(lock)?;
        Ok(match lock.lock() {
            Ok(g) => PodLock::new(g, false),
            Err(died) => PodLock::new(died.into_inner(), true),
        })
    }

    /// [`lock`](Self::lock), waiting at most `timeout` for a live holder;
    /// `locked` names this lock in the error.
    pub(crate) fn lock_timeout(&self, timeout: Duration, locked: Locked) -> Result<PodLock<'_>> {
        let lock = RawLock::attach(&self.payload(), 0)?;
        self.refuse_reentry(lock)?;
        match lock.lock_timeout(timeout) {
            Ok(g) => Ok(PodLock::new(g, false)),
            Err(TryLockError::OwnerDied(g)) => Ok(PodLock::new(g, true)),
            Err(TryLockError::TimedOut { .. } | TryLockError::WouldBlock) => {
                Err(DictError::LockTimeout { locked, timeout })
            }
        }
    }

    /// The elements as a raw pointer, checked in bounds and aligned.
    pub(crate) fn data_ptr(&self) -> Result<*mut T> {
        let (size, align) = type_params::<T>();
        let payload = self.payload();
        let (start, _) = payload.check(DATA_OFF, self.len * size)?;
        // SAFETY: `start` is inside the payload (checked just above).
        let ptr = unsafe { payload.as_ptr().add(start) };
        if !(ptr as usize).is_multiple_of(align as usize) {
            return Err(DictError::Shm(mproc_shm::ShmError::Misaligned {
                offset: DATA_OFF,
                align,
            }));
        }
        Ok(ptr.cast::<T>())
    }

    /// Copies element `i` out (the caller holds the lock).
    pub(crate) fn read(&self, i: u64) -> Result<T> {
        self.check(i, 1)?;
        Ok(self
            .payload()
            .read_pod(DATA_OFF + i * type_params::<T>().0)?)
    }

    /// Writes element `i` (the caller holds the lock).
    pub(crate) fn write(&self, i: u64, v: &T) -> Result<()> {
        self.check(i, 1)?;
        Ok(self
            .payload()
            .write_pod(DATA_OFF + i * type_params::<T>().0, v)?)
    }

    /// Copies `out.len()` elements from `start` (the caller holds the lock).
    pub(crate) fn read_into(&self, start: u64, out: &mut [T]) -> Result<()> {
        self.check(start, out.len() as u64)?;
        let off = DATA_OFF + start * type_params::<T>().0;
        Ok(self
            .payload()
            .read_bytes(off, bytemuck::cast_slice_mut(out))?)
    }

    /// Writes `data` from `start` (the caller holds the lock).
    pub(crate) fn write_from(&self, start: u64, data: &[T]) -> Result<()> {
        self.check(start, data.len() as u64)?;
        let off = DATA_OFF + start * type_params::<T>().0;
        Ok(self
            .payload()
            .write_bytes(off, bytemuck::cast_slice(data))?)
    }

    /// Whether elements `start..start + n` are in the array:
    /// [`DictError::IndexOutOfRange`] with the last index asked for if not.
    pub(crate) fn check(&self, start: u64, n: u64) -> Result<()> {
        match start.checked_add(n) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(DictError::IndexOutOfRange {
                index: start.saturating_add(n).saturating_sub(1).max(start),
                len: self.len,
            }),
        }
    }
}
