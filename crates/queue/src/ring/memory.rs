//! Where a ring's indices and slots live: [`RingMemory`], implemented over a
//! plain byte [`Region`] (segments, heap buffers for miri) and, under loom,
//! over loom's checked cells.

use crate::atomics::{AtomicU32, AtomicU64};

/// Bytes before the payload in an SPSC slot: `len: u32`, `stamp: u32`.
pub(crate) const SPSC_SLOT_HEADER: usize = 8;
/// Bytes before the payload in an MPMC slot: `seq: u64`, `len: u32`, 4
/// reserved.
pub(crate) const MPMC_SLOT_HEADER: usize = 16;
/// The largest slot size: lengths travel as `u32`, and `u32::MAX` is the
/// cancelled-slot marker.
pub(crate) const MAX_SLOT_SIZE: usize = 1 << 30;
/// Length written in a slot whose loan was dropped without commit (MPMC):
/// consumers skip it.
pub(crate) const CANCELLED_LEN: u32 = u32::MAX;

/// The cache line an MPMC slot is aligned to.
pub(crate) const CACHE_LINE: usize = 64;

/// A slot's stride.
///
/// SPSC: header plus payload rounded up to 8 bytes, so that small messages
/// share cache lines (only the producer writes a slot).
///
/// MPMC: rounded up to a whole cache line. A consumer writes the sequence
/// word of the slot it releases; sharing a line with the next slot, that
/// write would pull the line a producer is about to fill away from it, one
/// more transfer per message (an 8-byte ping-pong measured 0.42 µs shared,
/// 0.36 µs padded, against 0.20 µs for one shared atomic).
///
/// An MPMC slot of more than one line spans an odd number of lines: a
/// slot of 2 lines is padded to 3, one of 4 to 5. Batches of 56..112-byte
/// messages (2-line slots) moved 36..58 M/s between two processes, and
/// 89..94 M/s with the third line; 240-byte ones (4 lines) 31..32 against
/// 37..40 M/s with the fifth (A/B, 3 alternated runs each, on this
/// project's 2-core Xeon VMs). Shifting the slots by one line instead, so
/// that the adjacent-line prefetcher's 128-byte pairs straddle slots,
/// gained nothing: what matters is the even line count, not where the
/// pairs fall (which hardware mechanism is at work is not pinned down).
/// The padding costs at most one line per slot.
pub(crate) const fn stride(slot_header: usize, slot_size: usize) -> usize {
    let packed = (slot_header + slot_size + 7) & !7;
    if slot_header == MPMC_SLOT_HEADER {
        let lines = packed.div_ceil(CACHE_LINE);
        let odd = if lines > 1 && lines.is_multiple_of(2) {
            lines + 1
        } else {
            lines
        };
        odd * CACHE_LINE
    } else {
        packed
    }
}

/// The indices and slots of one ring.
///
/// Positions are unbounded `u64` counters; slot `pos` lives at index
/// `pos & (capacity - 1)`, so no position can address memory outside the
/// ring however corrupt it is.
pub(crate) trait RingMemory {
    /// Number of slots, a power of two.
    fn capacity(&self) -> u64;
    /// Largest payload of one slot.
    fn slot_size(&self) -> usize;
    /// The consumers' position.
    fn head(&self) -> &AtomicU64;
    /// The producers' position.
    fn tail(&self) -> &AtomicU64;
    /// The slot's sequence word (MPMC layout only).
    fn seq(&self, pos: u64) -> &AtomicU64;
    /// The slot's message length.
    fn len(&self, pos: u64) -> &AtomicU32;
    /// The slot's publication stamp (the word after `len`; SPSC layout).
    fn stamp(&self, pos: u64) -> &AtomicU32;
    /// Copies `src` into slot `pos`'s payload.
    ///
    /// # Safety
    ///
    /// The caller owns slot `pos` for writing (reserved, not yet published)
    /// and `src.len() <= slot_size()`.
    unsafe fn write(&self, pos: u64, src: &[u8]);
    /// Hands the first `len` payload bytes of slot `pos` to `f`.
    ///
    /// # Safety
    ///
    /// The caller owns slot `pos` for reading (claimed, not yet released)
    /// and `len <= slot_size()`.
    unsafe fn read<R>(&self, pos: u64, len: usize, f: impl FnOnce(&[u8]) -> R) -> R;
}

#[cfg(not(loom))]
pub(crate) use region_ring::RegionRing;

#[cfg(not(loom))]
mod region_ring {
    use std::marker::PhantomData;
    use std::ptr::NonNull;

    use mproc_shm::Region;

    use super::{MAX_SLOT_SIZE, RingMemory, stride};
    use crate::atomics::{AtomicU32, AtomicU64};
    use crate::{QueueError, Result};

    /// A ring laid out in a [`Region`]: head and tail resolved once, slots
    /// at `base + (pos & mask) * stride`.
    #[derive(Clone, Copy)]
    pub(crate) struct RegionRing<'a> {
        head: &'a AtomicU64,
        tail: &'a AtomicU64,
        base: NonNull<u8>,
        mask: u64,
        stride: usize,
        slot_size: usize,
        /// Offset of the `len` word in a slot (the payload follows it at +8).
        len_at: usize,
        _mem: PhantomData<&'a [u8]>,
    }

    // SAFETY: the slot memory is shared memory accessed only through atomics
    // and through copies that the ring protocol makes exclusive; the
    // references it holds are to atomics (Sync).
    unsafe impl Send for RegionRing<'_> {}
    // SAFETY: as above.
    unsafe impl Sync for RegionRing<'_> {}

    impl<'a> RegionRing<'a> {
        /// A ring over `slots`, checking that `capacity` slots of
        /// `slot_size` bytes fit and are aligned.
        pub(crate) fn new(
            head: &'a AtomicU64,
            tail: &'a AtomicU64,
            slots: Region<'a>,
            capacity: u64,
            slot_size: usize,
            slot_header: usize,
        ) -> Result<RegionRing<'a>> {
            if capacity == 0 || !capacity.is_power_of_two() || capacity > 1 << 40 {
                return Err(QueueError::Corrupt {
                    field: "capacity",
                    value: capacity,
                });
            }
            if slot_size > MAX_SLOT_SIZE {
                return Err(QueueError::Corrupt {
                    field: "slot_size",
                    value: slot_size as u64,
                });
            }
            let stride = stride(slot_header, slot_size);
            let need = (stride as u64).checked_mul(capacity);
            if need.is_none_or(|n| n > slots.len() as u64) {
                return Err(QueueError::Corrupt {
                    field: "ring length",
                    value: slots.len() as u64,
                });
            }
            if !(slots.as_ptr() as usize).is_multiple_of(8) || slots.is_empty() {
                return Err(QueueError::Corrupt {
                    field: "slots offset",
                    value: slots.as_ptr() as u64,
                });
            }
            let base = NonNull::new(slots.as_ptr()).ok_or(QueueError::Corrupt {
                field: "slots offset",
                value: 0,
            })?;
            Ok(RegionRing {
                head,
                tail,
                base,
                mask: capacity - 1,
                stride,
                slot_size,
                len_at: slot_header - 8,
                _mem: PhantomData,
            })
        }

        /// The first byte of slot `pos`.
        #[inline]
        fn slot(&self, pos: u64) -> *mut u8 {
            let index = (pos & self.mask) as usize;
            // SAFETY: index < capacity and capacity * stride bytes lie inside
            // the slots region (checked in `new`), so the offset stays in it.
            unsafe { self.base.as_ptr().add(index * self.stride) }
        }

        /// Slot `pos`'s payload: `slot_size` bytes, 8-byte aligned.
        #[inline]
        pub(crate) fn payload(&self, pos: u64) -> *mut u8 {
            // SAFETY: the payload follows the len word inside the slot's
            // stride (stride >= header + slot_size).
            unsafe { self.slot(pos).add(self.len_at + 8) }
        }
    }

    impl RingMemory for RegionRing<'_> {
        #[inline]
        fn capacity(&self) -> u64 {
            self.mask + 1
        }
        #[inline]
        fn slot_size(&self) -> usize {
            self.slot_size
        }
        #[inline]
        fn head(&self) -> &AtomicU64 {
            self.head
        }
        #[inline]
        fn tail(&self) -> &AtomicU64 {
            self.tail
        }
        #[inline]
        fn seq(&self, pos: u64) -> &AtomicU64 {
            // SAFETY: the slot start is 8-aligned (base and stride are) and
            // inside the region; an AtomicU64 accepts any bits; all access
            // to it is atomic.
            unsafe { &*self.slot(pos).cast::<AtomicU64>() }
        }
        #[inline]
        fn len(&self, pos: u64) -> &AtomicU32 {
            // SAFETY: `len_at` is 0 or 8, so the word is 4-aligned and inside
            // the slot; all access to it is atomic.
            unsafe { &*self.slot(pos).add(self.len_at).cast::<AtomicU32>() }
        }
        #[inline]
        fn stamp(&self, pos: u64) -> &AtomicU32 {
            // SAFETY: the word after `len`, 4-aligned, inside the slot
            // header; all access to it is atomic.
            unsafe { &*self.slot(pos).add(self.len_at + 4).cast::<AtomicU32>() }
        }
        #[inline]
        unsafe fn write(&self, pos: u64, src: &[u8]) {
            debug_assert!(src.len() <= self.slot_size);
            // SAFETY: the caller owns the slot and src fits its payload.
            unsafe { crate::copy::copy_raw(src.as_ptr(), self.payload(pos), src.len()) }
        }
        #[inline]
        unsafe fn read<R>(&self, pos: u64, len: usize, f: impl FnOnce(&[u8]) -> R) -> R {
            debug_assert!(len <= self.slot_size);
            // SAFETY: the caller owns the slot for reading and len fits its
            // payload; nobody writes it until the caller releases it.
            f(unsafe { std::slice::from_raw_parts(self.payload(pos), len) })
        }
    }
}

#[cfg(loom)]
pub(crate) use loom_ring::LoomRing;

#[cfg(loom)]
mod loom_ring {
    use loom::cell::UnsafeCell;

    use super::RingMemory;
    use crate::atomics::{AtomicU32, AtomicU64};

    /// A ring whose payloads are loom cells, so that the model checker
    /// reports any access the protocol fails to make exclusive.
    pub(crate) struct LoomRing {
        head: AtomicU64,
        tail: AtomicU64,
        seqs: Vec<AtomicU64>,
        lens: Vec<AtomicU32>,
        stamps: Vec<AtomicU32>,
        data: Vec<UnsafeCell<Vec<u8>>>,
        slot_size: usize,
    }

    impl LoomRing {
        /// A zeroed ring; MPMC rings then need their `seq` words set up.
        pub(crate) fn new(capacity: usize, slot_size: usize) -> LoomRing {
            LoomRing {
                head: AtomicU64::new(0),
                tail: AtomicU64::new(0),
                seqs: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
                lens: (0..capacity).map(|_| AtomicU32::new(0)).collect(),
                stamps: (0..capacity).map(|_| AtomicU32::new(0)).collect(),
                data: (0..capacity)
                    .map(|_| UnsafeCell::new(vec![0; slot_size]))
                    .collect(),
                slot_size,
            }
        }
        fn index(&self, pos: u64) -> usize {
            (pos % self.seqs.len() as u64) as usize
        }
    }

    impl RingMemory for LoomRing {
        fn capacity(&self) -> u64 {
            self.seqs.len() as u64
        }
        fn slot_size(&self) -> usize {
            self.slot_size
        }
        fn head(&self) -> &AtomicU64 {
            &self.head
        }
        fn tail(&self) -> &AtomicU64 {
            &self.tail
        }
        fn seq(&self, pos: u64) -> &AtomicU64 {
            &self.seqs[self.index(pos)]
        }
        fn len(&self, pos: u64) -> &AtomicU32 {
            &self.lens[self.index(pos)]
        }
        fn stamp(&self, pos: u64) -> &AtomicU32 {
            &self.stamps[self.index(pos)]
        }
        unsafe fn write(&self, pos: u64, src: &[u8]) {
            self.data[self.index(pos)].with_mut(|p| {
                // SAFETY: loom checks that this access is exclusive.
                unsafe { (&mut *p)[..src.len()].copy_from_slice(src) }
            })
        }
        unsafe fn read<R>(&self, pos: u64, len: usize, f: impl FnOnce(&[u8]) -> R) -> R {
            // SAFETY: loom checks that no write races with this read.
            self.data[self.index(pos)].with(|p| f(unsafe { &(&*p)[..len] }))
        }
    }
}

impl<M: RingMemory + ?Sized> RingMemory for &M {
    fn capacity(&self) -> u64 {
        (**self).capacity()
    }
    fn slot_size(&self) -> usize {
        (**self).slot_size()
    }
    fn head(&self) -> &AtomicU64 {
        (**self).head()
    }
    fn tail(&self) -> &AtomicU64 {
        (**self).tail()
    }
    fn seq(&self, pos: u64) -> &AtomicU64 {
        (**self).seq(pos)
    }
    fn len(&self, pos: u64) -> &AtomicU32 {
        (**self).len(pos)
    }
    fn stamp(&self, pos: u64) -> &AtomicU32 {
        (**self).stamp(pos)
    }
    unsafe fn write(&self, pos: u64, src: &[u8]) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { (**self).write(pos, src) }
    }
    unsafe fn read<R>(&self, pos: u64, len: usize, f: impl FnOnce(&[u8]) -> R) -> R {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { (**self).read(pos, len, f) }
    }
}
