//! [`SharedBytes`]: the shard's hot-path view of its buckets and arena. The
//! same checks as [`Region`]'s accessors (bounds, then alignment of the
//! real address), written here so that they inline into every operation
//! even without link-time optimization.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, AtomicU64};

use mproc_shm::{Region, ShmError};

use crate::Result;

/// A checked view of `len` shared bytes at `ptr`, borrowed from a region.
#[derive(Clone, Copy)]
pub(crate) struct SharedBytes<'a> {
    ptr: *mut u8,
    len: u64,
    _region: PhantomData<Region<'a>>,
}

impl<'a> SharedBytes<'a> {
    /// The view of a whole region.
    #[inline(always)]
    pub(crate) fn of(region: Region<'a>) -> SharedBytes<'a> {
        SharedBytes {
            ptr: region.as_ptr(),
            len: region.len() as u64,
            _region: PhantomData,
        }
    }

    /// Length in bytes.
    #[inline(always)]
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Checks `off..off+n` and returns its start address.
    #[inline(always)]
    fn range(&self, off: u64, n: u64) -> Result<*mut u8> {
        match off.checked_add(n) {
            Some(end) if end <= self.len => {
                // SAFETY: `off <= end <= len`, so the result stays inside
                // (or one past) the region this view was made from.
                Ok(unsafe { self.ptr.add(off as usize) })
            }
            _ => Err(ShmError::OutOfBounds {
                offset: off,
                len: n,
                region_len: self.len,
            }
            .into()),
        }
    }

    /// Checks bounds and alignment for a `T` at `off`.
    #[inline(always)]
    fn typed<T>(&self, off: u64) -> Result<*mut u8> {
        let p = self.range(off, std::mem::size_of::<T>() as u64)?;
        let align = std::mem::align_of::<T>();
        if !(p as usize).is_multiple_of(align) {
            return Err(ShmError::Misaligned {
                offset: off,
                align: align as u64,
            }
            .into());
        }
        Ok(p)
    }

    /// The `u64` word at `off`.
    #[inline(always)]
    pub(crate) fn u64_at(&self, off: u64) -> Result<&'a AtomicU64> {
        let p = self.typed::<AtomicU64>(off)?;
        // SAFETY: in bounds and aligned (checked); the region is valid for
        // 'a; any bit pattern is a valid AtomicU64 and every access to it
        // is atomic, so a shared reference is sound (as `Region::get`).
        Ok(unsafe { &*(p as *const AtomicU64) })
    }

    /// The `u32` word at `off`.
    #[inline(always)]
    pub(crate) fn u32_at(&self, off: u64) -> Result<&'a AtomicU32> {
        let p = self.typed::<AtomicU32>(off)?;
        // SAFETY: as in `u64_at`.
        Ok(unsafe { &*(p as *const AtomicU32) })
    }

    /// `n` bytes at `off`, in place.
    ///
    /// The caller must make sure, by the table protocol, that nobody
    /// writes these bytes while the slice is used (a live block under its
    /// shard lock).
    #[inline(always)]
    pub(crate) fn slice(&self, off: u64, n: u64) -> Result<&'a [u8]> {
        let p = self.range(off, n)?;
        // SAFETY: in bounds (checked) and valid for 'a; by the protocol the
        // caller follows nobody mutates the bytes while the slice is used.
        Ok(unsafe { std::slice::from_raw_parts(p, n as usize) })
    }

    /// Copies `src` to `off`.
    #[inline(always)]
    pub(crate) fn write(&self, off: u64, src: &[u8]) -> Result<()> {
        let p = self.range(off, src.len() as u64)?;
        // SAFETY: the destination is in bounds (checked) and writable; the
        // source is a distinct buffer (not in a segment block being
        // written: the table writes only fresh blocks).
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), p, src.len()) };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mproc_shm::HeapRegion;
    use std::sync::atomic::Ordering;

    #[test]
    fn checks_like_region() {
        let heap = HeapRegion::new(64);
        let b = SharedBytes::of(heap.region());
        b.u64_at(56).unwrap().store(7, Ordering::Relaxed);
        assert_eq!(heap.region().read_pod::<u64>(56).unwrap(), 7);
        assert!(b.u64_at(57).is_err());
        assert!(b.u64_at(60).is_err());
        assert!(b.u32_at(u64::MAX - 1).is_err());
        assert!(b.slice(60, 5).is_err());
        assert!(b.write(62, b"abc").is_err());
        b.write(0, b"abc").unwrap();
        assert_eq!(b.slice(0, 3).unwrap(), b"abc");
        assert_eq!(b.slice(64, 0).unwrap(), b"");
    }
}
