//! Bounds-checked views of shared bytes: [`Region`], [`Offset`], the
//! [`ShmSafe`] marker, and [`HeapRegion`] for tests on ordinary memory.

use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{
    AtomicI32, AtomicI64, AtomicU8, AtomicU16, AtomicU32, AtomicU64, AtomicUsize,
};

use bytemuck::Pod;

use crate::{Result, ShmError};

/// Types that may live in shared memory and be referenced (`&T`) by several
/// processes at once.
///
/// # Safety
///
/// An implementor must be `#[repr(C)]` or `#[repr(transparent)]` (or a
/// primitive); every bit pattern must be a valid value (a peer may write any
/// bytes); it must hold no pointers or references (each process maps the
/// segment at another address); it must not need `Drop`; and all mutation
/// through `&T` must go through atomics, since other processes read and
/// write it concurrently.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicU32, AtomicU64};
/// use mproc_shm::ShmSafe;
///
/// #[repr(C)]
/// struct Counters { hits: AtomicU64, misses: AtomicU64, state: AtomicU32 }
///
/// // SAFETY: repr(C), only atomics, any bit pattern is valid, no Drop.
/// unsafe impl ShmSafe for Counters {}
/// ```
pub unsafe trait ShmSafe: Sync {}

// SAFETY: atomics accept any bit pattern, hold no pointers, need no Drop, and
// are mutated only atomically.
unsafe impl ShmSafe for AtomicU8 {}
// SAFETY: as above.
unsafe impl ShmSafe for AtomicU16 {}
// SAFETY: as above.
unsafe impl ShmSafe for AtomicU32 {}
// SAFETY: as above.
unsafe impl ShmSafe for AtomicU64 {}
// SAFETY: as above.
unsafe impl ShmSafe for AtomicI32 {}
// SAFETY: as above.
unsafe impl ShmSafe for AtomicI64 {}
// SAFETY: as above.
unsafe impl ShmSafe for AtomicUsize {}
// SAFETY: an array of ShmSafe elements is laid out contiguously with no
// padding between elements and inherits every property.
unsafe impl<T: ShmSafe, const N: usize> ShmSafe for [T; N] {}

/// A typed offset into a [`Region`]: what segments store instead of
/// pointers. Resolving it ([`Region::resolve`]) checks bounds and alignment.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use mproc_shm::{HeapRegion, Offset, ShmError};
///
/// let heap = HeapRegion::new(128);
/// let region = heap.region();
/// let off: Offset<AtomicU64> = Offset::new(64);
/// region.resolve(off).unwrap().store(7, Ordering::Relaxed);
/// assert_eq!(region.get::<AtomicU64>(64).unwrap().load(Ordering::Relaxed), 7);
/// assert!(matches!(region.resolve(Offset::<AtomicU64>::new(124)), Err(ShmError::OutOfBounds { .. })));
/// assert!(matches!(region.resolve(Offset::<AtomicU64>::new(4)), Err(ShmError::Misaligned { .. })));
/// ```
#[repr(transparent)]
pub struct Offset<T> {
    raw: u64,
    _points_to: PhantomData<fn() -> T>,
}

impl<T> Offset<T> {
    /// An offset of `raw` bytes from the start of a region.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_shm::Offset::<u64>::new(8).raw(), 8);
    /// ```
    pub const fn new(raw: u64) -> Offset<T> {
        Offset {
            raw,
            _points_to: PhantomData,
        }
    }

    /// The offset in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_shm::Offset::<u32>::new(4).raw(), 4);
    /// ```
    pub const fn raw(self) -> u64 {
        self.raw
    }
}

impl<T> Clone for Offset<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Offset<T> {}
impl<T> PartialEq for Offset<T> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}
impl<T> Eq for Offset<T> {}
impl<T> std::fmt::Debug for Offset<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Offset({})", self.raw)
    }
}
// SAFETY: `Offset<T>` is a transparent u64; the all-zero pattern is valid.
unsafe impl<T> bytemuck::Zeroable for Offset<T> {}
// SAFETY: a transparent u64: any bit pattern is valid, no padding, Copy and
// 'static (PhantomData<fn() -> T> holds no T).
unsafe impl<T: 'static> Pod for Offset<T> {}

/// A bounds-checked view of shared bytes: a whole segment, a part of it, or
/// a [`HeapRegion`]. All accessors check that what they touch lies inside.
///
/// Copies out of and into a region (`read_*`, `write_*`) are plain byte
/// copies: protocols built on regions (rings, tables) must make sure, with
/// atomics, that nobody writes the bytes another process copies.
///
/// A view of a segment opened [read-only](crate::SegmentOpener::read_only)
/// is read-only too ([`is_writable`](Self::is_writable) is false):
/// `write_*` refuse with [`ShmError::ReadOnlyRegion`]. [`get`](Self::get)
/// still hands out `&T`, since reading atomics is what inspection tools do;
/// a store through it cannot be refused, and lands in this process's
/// private copy of the page instead of the segment (see
/// [`SegmentOpener::read_only`](crate::SegmentOpener::read_only)).
///
/// # Examples
///
/// ```
/// use mproc_shm::HeapRegion;
///
/// let heap = HeapRegion::new(64);
/// let r = heap.region();
/// r.write_bytes(10, b"hello").unwrap();
/// let mut buf = [0u8; 5];
/// r.read_bytes(10, &mut buf).unwrap();
/// assert_eq!(&buf, b"hello");
/// assert!(r.write_bytes(62, b"abc").is_err());
/// ```
#[derive(Clone, Copy)]
pub struct Region<'a> {
    ptr: NonNull<u8>,
    len: usize,
    /// False for views of a segment mapped read-only: `write_*` refuse.
    writable: bool,
    _mem: PhantomData<&'a UnsafeCell<[u8]>>,
}

// SAFETY: a Region is a view of memory shared between processes (or threads,
// for heap regions); every access through it is either an atomic through a
// ShmSafe reference or a bounds-checked byte copy whose exclusivity the
// protocol above it guarantees.
unsafe impl Send for Region<'_> {}
// SAFETY: as above.
unsafe impl Sync for Region<'_> {}

impl<'a> Region<'a> {
    /// A region over `len` bytes at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr..ptr+len` must be valid for reads and writes for `'a`, and
    /// aligned to 64 bytes if typed atomics are to be resolved at 64-byte
    /// aligned offsets. Other accesses to those bytes during `'a` must follow
    /// the same rules (atomics, or copies the protocol makes exclusive).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = vec![0u64; 4];
    /// // SAFETY: the buffer outlives the region and nothing else touches it.
    /// let r = unsafe { mproc_shm::Region::from_raw_parts(buf.as_mut_ptr().cast(), 32) };
    /// assert_eq!(r.len(), 32);
    /// ```
    pub unsafe fn from_raw_parts(ptr: *mut u8, len: usize) -> Region<'a> {
        Region {
            ptr: NonNull::new(ptr).unwrap_or(NonNull::dangling()),
            len: if ptr.is_null() { 0 } else { len },
            writable: true,
            _mem: PhantomData,
        }
    }

    /// The same view, refusing `write_*` (a view of a read-only segment).
    pub(crate) fn into_read_only(self) -> Region<'a> {
        Region {
            writable: false,
            ..self
        }
    }

    /// Whether `write_*` may write through this view: false for views of a
    /// segment opened [read-only](crate::SegmentOpener::read_only).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{HeapRegion, Segment};
    /// assert!(HeapRegion::new(8).region().is_writable());
    /// let _s = Segment::create("doc-region-writable", 8).unwrap();
    /// let ro = Segment::opener("doc-region-writable").read_only().open().unwrap();
    /// assert!(!ro.payload().is_writable());
    /// ```
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// Length in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_shm::HeapRegion::new(100).region().len(), 100);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the region has no bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_shm::HeapRegion::new(0).region().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first byte's address in this process.
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(64);
    /// assert_eq!(heap.region().as_ptr() as usize % 64, 0);
    /// ```
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// [`check`](Self::check), for a range about to be written: also
    /// refuses a read-only view. Code that writes through [`get`](Self::get)
    /// (initializers laying out a structure) calls this first.
    ///
    /// # Errors
    ///
    /// [`ShmError::ReadOnlyRegion`] for a view of a read-only segment,
    /// [`ShmError::OutOfBounds`].
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{Segment, ShmError};
    /// let s = Segment::create("doc-check-write", 8).unwrap();
    /// assert!(s.payload().check_write(0, 8).is_ok());
    /// let ro = Segment::opener("doc-check-write").read_only().open().unwrap();
    /// let err = ro.payload().check_write(0, 8).unwrap_err();
    /// assert!(matches!(err, ShmError::ReadOnlyRegion { offset: 0, len: 8 }));
    /// ```
    pub fn check_write(&self, offset: u64, len: u64) -> Result<(usize, usize)> {
        if !self.writable {
            return Err(ShmError::ReadOnlyRegion { offset, len });
        }
        self.check(offset, len)
    }

    /// Checks that `offset..offset+len` lies inside; returns it as usizes.
    ///
    /// # Errors
    ///
    /// [`ShmError::OutOfBounds`] otherwise (overflow included).
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(64);
    /// assert!(heap.region().check(60, 4).is_ok());
    /// assert!(heap.region().check(60, 5).is_err());
    /// assert!(heap.region().check(u64::MAX, 2).is_err());
    /// ```
    pub fn check(&self, offset: u64, len: u64) -> Result<(usize, usize)> {
        let out = || ShmError::OutOfBounds {
            offset,
            len,
            region_len: self.len as u64,
        };
        let end = offset.checked_add(len).ok_or_else(out)?;
        if end > self.len as u64 {
            return Err(out());
        }
        Ok((offset as usize, len as usize))
    }

    /// The sub-region `offset..offset+len`.
    ///
    /// # Errors
    ///
    /// [`ShmError::OutOfBounds`] if it does not lie inside.
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(256);
    /// let tail = heap.region().sub(128, 128).unwrap();
    /// assert_eq!(tail.len(), 128);
    /// assert!(heap.region().sub(200, 100).is_err());
    /// ```
    pub fn sub(&self, offset: u64, len: u64) -> Result<Region<'a>> {
        let (start, len) = self.check(offset, len)?;
        // SAFETY: `start..start+len` lies inside this region (checked), so it
        // is valid for 'a under the same rules.
        let sub = unsafe { Region::from_raw_parts(self.ptr.as_ptr().add(start), len) };
        Ok(Region {
            writable: self.writable,
            ..sub
        })
    }

    /// A shared reference to the `T` at `offset`.
    ///
    /// Also on a read-only view: loads through it read the segment, but a
    /// store (which cannot be refused through `&T`) changes only this
    /// process's private copy of the page; code that means to write calls
    /// [`check_write`](Self::check_write) first.
    ///
    /// # Errors
    ///
    /// [`ShmError::OutOfBounds`] or [`ShmError::Misaligned`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// let heap = mproc_shm::HeapRegion::new(64);
    /// let w = heap.region().get::<AtomicU32>(8).unwrap();
    /// w.fetch_add(1, Ordering::Relaxed);
    /// assert_eq!(w.load(Ordering::Relaxed), 1);
    /// ```
    pub fn get<T: ShmSafe>(&self, offset: u64) -> Result<&'a T> {
        let (start, _) = self.check(offset, std::mem::size_of::<T>() as u64)?;
        let addr = self.ptr.as_ptr() as usize + start;
        let align = std::mem::align_of::<T>();
        if !addr.is_multiple_of(align) {
            return Err(ShmError::Misaligned {
                offset,
                align: align as u64,
            });
        }
        // SAFETY: the bytes lie inside the region (checked) and are aligned
        // for T (checked); T: ShmSafe accepts any bit pattern and is mutated
        // only through atomics, so a shared reference for 'a is sound.
        Ok(unsafe { &*(addr as *const T) })
    }

    /// [`get`](Self::get) at a typed offset.
    ///
    /// # Errors
    ///
    /// [`ShmError::OutOfBounds`] or [`ShmError::Misaligned`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let heap = mproc_shm::HeapRegion::new(64);
    /// assert!(heap.region().resolve(mproc_shm::Offset::<AtomicU64>::new(56)).is_ok());
    /// ```
    pub fn resolve<T: ShmSafe>(&self, offset: Offset<T>) -> Result<&'a T> {
        self.get(offset.raw())
    }

    /// Copies `dst.len()` bytes starting at `offset` into `dst`.
    ///
    /// # Errors
    ///
    /// [`ShmError::OutOfBounds`].
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(8);
    /// let mut b = [1u8; 8];
    /// heap.region().read_bytes(0, &mut b).unwrap();
    /// assert_eq!(b, [0; 8]);
    /// ```
    pub fn read_bytes(&self, offset: u64, dst: &mut [u8]) -> Result<()> {
        let (start, len) = self.check(offset, dst.len() as u64)?;
        // SAFETY: the source lies inside the region (checked); `dst` is a
        // distinct, writable buffer of `len` bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(self.ptr.as_ptr().add(start), dst.as_mut_ptr(), len)
        };
        Ok(())
    }

    /// Copies `src` into the region at `offset`.
    ///
    /// # Errors
    ///
    /// [`ShmError::OutOfBounds`]; [`ShmError::ReadOnlyRegion`] for a view
    /// of a segment opened read-only (nothing is written).
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(8);
    /// heap.region().write_bytes(4, &[9, 9]).unwrap();
    /// assert_eq!(heap.region().read_pod::<u8>(5).unwrap(), 9);
    /// ```
    pub fn write_bytes(&self, offset: u64, src: &[u8]) -> Result<()> {
        let (start, len) = self.check_write(offset, src.len() as u64)?;
        // SAFETY: the destination lies inside the region (checked) and is
        // valid for writes; `src` is a distinct buffer of `len` bytes.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.as_ptr().add(start), len) };
        Ok(())
    }

    /// Reads a plain-data value at `offset` (any alignment).
    ///
    /// # Errors
    ///
    /// [`ShmError::OutOfBounds`].
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(16);
    /// heap.region().write_pod(3, &0xABCDu16).unwrap();
    /// assert_eq!(heap.region().read_pod::<u16>(3).unwrap(), 0xABCD);
    /// ```
    pub fn read_pod<T: Pod>(&self, offset: u64) -> Result<T> {
        let mut value = T::zeroed();
        self.read_bytes(offset, bytemuck::bytes_of_mut(&mut value))?;
        Ok(value)
    }

    /// Writes a plain-data value at `offset` (any alignment).
    ///
    /// # Errors
    ///
    /// [`ShmError::OutOfBounds`], [`ShmError::ReadOnlyRegion`].
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(16);
    /// assert!(heap.region().write_pod(12, &1u64).is_err());
    /// ```
    pub fn write_pod<T: Pod>(&self, offset: u64, value: &T) -> Result<()> {
        self.write_bytes(offset, bytemuck::bytes_of(value))
    }
}

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct CacheLine([u8; 64]);

/// Zeroed, 64-byte aligned heap memory with a [`Region`] view: lets ring and
/// table algorithms run under tests, miri and loom without mmap or fork.
///
/// # Examples
///
/// ```
/// let heap = mproc_shm::HeapRegion::new(100);
/// assert_eq!(heap.region().len(), 100);
/// assert_eq!(heap.region().read_pod::<u64>(0).unwrap(), 0);
/// ```
pub struct HeapRegion {
    lines: Box<[UnsafeCell<CacheLine>]>,
    len: usize,
}

// SAFETY: the memory is only reached through Region, whose accesses are
// atomics or protocol-exclusive copies.
unsafe impl Sync for HeapRegion {}
// SAFETY: owning a heap buffer; nothing is tied to a thread.
unsafe impl Send for HeapRegion {}

impl HeapRegion {
    /// `len` zeroed bytes, aligned to 64.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_shm::HeapRegion::new(3).region().len(), 3);
    /// ```
    pub fn new(len: usize) -> HeapRegion {
        let lines = len.div_ceil(64);
        HeapRegion {
            lines: (0..lines)
                .map(|_| UnsafeCell::new(CacheLine([0; 64])))
                .collect(),
            len,
        }
    }

    /// The view of the whole buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(64);
    /// heap.region().write_pod(0, &5u32).unwrap();
    /// assert_eq!(heap.region().read_pod::<u32>(0).unwrap(), 5);
    /// ```
    pub fn region(&self) -> Region<'_> {
        let ptr = if self.lines.is_empty() {
            std::ptr::null_mut()
        } else {
            // UnsafeCell<CacheLine> is repr(transparent): the cells are
            // contiguous 64-byte lines.
            UnsafeCell::raw_get(self.lines.as_ptr()).cast::<u8>()
        };
        // SAFETY: the buffer lives as long as `self`, is valid for `len`
        // bytes (it holds `ceil(len/64)*64`), is writable through the
        // UnsafeCells, and is 64-byte aligned.
        unsafe { Region::from_raw_parts(ptr, self.len) }
    }
}
