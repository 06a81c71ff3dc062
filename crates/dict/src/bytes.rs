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
    #[cfg(test)]
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

    /// The view of `len` bytes at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr..ptr+len` lies inside one region valid for `'a` (mapped, and
    /// accessed by every process only as the table protocol says).
    #[inline(always)]
    pub(crate) unsafe fn from_raw(ptr: *mut u8, len: u64) -> SharedBytes<'a> {
        SharedBytes {
            ptr,
            len,
            _region: PhantomData,
        }
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
            _ => Err(out_of_bounds(off, n, self.len)),
        }
    }

    /// Checks bounds and alignment for a `T` at `off`.
    #[inline(always)]
    fn typed<T>(&self, off: u64) -> Result<*mut u8> {
        let p = self.range(off, std::mem::size_of::<T>() as u64)?;
        let align = std::mem::align_of::<T>();
        if !p.addr().is_multiple_of(align) {
            return Err(misaligned(off, align as u64));
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
        unsafe { copy_small(src, p) };
        Ok(())
    }
}

/// Copies `src` to `dst`, without a library call for the short keys and
/// values a dict mostly holds (two possibly overlapping word moves).
///
/// # Safety
///
/// `dst..dst+src.len()` is writable and does not overlap `src`.
#[inline(always)]
unsafe fn copy_small(src: &[u8], dst: *mut u8) {
    let n = src.len();
    let s = src.as_ptr();
    // SAFETY: in every arm, reads stay inside `src` (`n` bytes) and writes
    // inside `dst..dst+n` (the caller's promise); the accesses are
    // unaligned ones, so no alignment is assumed.
    unsafe {
        if (8..=16).contains(&n) {
            let a = s.cast::<u64>().read_unaligned();
            let b = s.add(n - 8).cast::<u64>().read_unaligned();
            dst.cast::<u64>().write_unaligned(a);
            dst.add(n - 8).cast::<u64>().write_unaligned(b);
        } else if (4..8).contains(&n) {
            let a = s.cast::<u32>().read_unaligned();
            let b = s.add(n - 4).cast::<u32>().read_unaligned();
            dst.cast::<u32>().write_unaligned(a);
            dst.add(n - 4).cast::<u32>().write_unaligned(b);
        } else {
            std::ptr::copy_nonoverlapping(s, dst, n);
        }
    }
}

#[cold]
fn out_of_bounds(offset: u64, len: u64, region_len: u64) -> crate::DictError {
    ShmError::OutOfBounds {
        offset,
        len,
        region_len,
    }
    .into()
}

#[cold]
fn misaligned(offset: u64, align: u64) -> crate::DictError {
    ShmError::Misaligned { offset, align }.into()
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

    #[test]
    fn copies_every_short_length() {
        let heap = HeapRegion::new(64);
        let b = SharedBytes::of(heap.region());
        for n in 0..=40usize {
            let src: Vec<u8> = (1..=n as u8).collect();
            b.write(0, &[0; 48]).unwrap();
            b.write(3, &src).unwrap();
            let got = b.slice(0, 48).unwrap();
            assert_eq!(&got[3..3 + n], &src[..], "length {n}");
            assert!(got[..3].iter().chain(&got[3 + n..]).all(|&x| x == 0));
        }
    }
}
