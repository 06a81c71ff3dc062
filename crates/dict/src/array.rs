//! [`Array`]: a fixed-length array of plain data with a lock, Python's
//! `multiprocessing.Array`.

use std::ops::{Deref, DerefMut, Range};
use std::time::Duration;

use bytemuck::Pod;
use mproc_shm::SegmentKind;

use crate::pod_segment::{PodLock, PodSegment};
use crate::{Locked, Result};

const ARRAY_ROLE: u64 = 0x4152_5231; // "ARR1"

/// `len` elements of `T` in shared memory with a robust lock: Python's
/// `multiprocessing.Array(typecode, n)`, for any [`Pod`] type.
///
/// Element and range accessors take the lock for their own duration;
/// [`lock`](Array::lock) holds it and gives the whole slice in place.
///
/// # When a holder dies
///
/// The lock is robust: a process killed while holding it (in a
/// `set_range`, or between `lock()` and the guard's drop) does not block
/// anyone. Its death is reported once, to whichever call takes the lock
/// next, and the lock is then consistent again:
///
/// - [`lock`](Array::lock) hands the report over:
///   [`ArrayGuard::owner_died`] is true, and the guard sees the elements
///   as the dead holder left them, to check or repair.
/// - [`get`](Array::get), [`set`](Array::set), [`update`](Array::update),
///   [`get_range`](Array::get_range), [`set_range`](Array::set_range) and
///   [`to_vec`](Array::to_vec) proceed without an error and absorb the
///   report. A killed writer leaves some elements written and others not
///   (one element possibly torn), and a [`Pod`] `T` is valid for any
///   bytes, so reading them is sound. (Python's `Array` lock is not
///   robust: there, the others would wait forever.)
///
/// Elements that must agree with each other should be read and written
/// through [`lock`](Array::lock) and checked when `owner_died()` says so.
///
/// # Examples
///
/// ```
/// use mproc_dict::Array;
///
/// let a = Array::from_slice(&[1u32, 2, 3]).unwrap();
/// a.set(0, 10).unwrap();
/// assert_eq!(a.get(0).unwrap(), 10);
/// assert_eq!(a.to_vec().unwrap(), vec![10, 2, 3]);
/// a.lock().unwrap().iter_mut().for_each(|x| *x *= 2);
/// assert_eq!(a.get_range(1..3).unwrap(), vec![4, 6]);
/// ```
#[derive(Debug)]
pub struct Array<T> {
    inner: PodSegment<T>,
}

/// [`Array::lock`]'s guard: the elements, in place, under the lock.
///
/// The guard belongs to the thread that took the lock. A copy of it that a
/// forked child inherits (one moved into the child's closure) holds
/// nothing: dropping it releases nothing, and reading or writing through
/// it races with whoever holds the lock then. Take the lock in the child.
///
/// # Examples
///
/// ```
/// let a = mproc_dict::Array::<u8>::new(3).unwrap();
/// let mut g = a.lock().unwrap();
/// g.copy_from_slice(&[1, 2, 3]);
/// assert_eq!(g.len(), 3);
/// assert!(!g.owner_died());
/// ```
pub struct ArrayGuard<'a, T> {
    ptr: *mut T,
    len: usize,
    lock: PodLock<'a>,
}

impl<T> ArrayGuard<'_, T> {
    /// Whether the previous holder died holding the lock (elements may be
    /// half written, each still a valid `T`). Reported to this guard only;
    /// the next locker is not told again.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = mproc_dict::Array::<u8>::new(1).unwrap();
    /// assert!(!a.lock().unwrap().owner_died());
    /// ```
    pub fn owner_died(&self) -> bool {
        self.lock.owner_died
    }
}

impl<T> Deref for ArrayGuard<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: `ptr..ptr+len` is in bounds and aligned (checked by
        // `data_ptr`), the segment outlives the guard, every bit pattern is
        // a valid `T` (Pod), and the held lock excludes other writers.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl<T> DerefMut for ArrayGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`; the held lock makes this the only access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl<T: Pod> Array<T> {
    /// A new anonymous array of `len` zeroed elements.
    ///
    /// # Errors
    ///
    /// [`DictError::Shm`](crate::DictError::Shm) if the memory cannot be
    /// had, [`DictError::InvalidOption`](crate::DictError::InvalidOption)
    /// (`length`) for a length whose bytes do not fit a segment.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = mproc_dict::Array::<f64>::new(4).unwrap();
    /// assert_eq!(a.to_vec().unwrap(), vec![0.0; 4]);
    /// assert!(matches!(
    ///     mproc_dict::Array::<u64>::new(usize::MAX / 4),
    ///     Err(mproc_dict::DictError::InvalidOption { option: "length", .. })
    /// ));
    /// ```
    pub fn new(len: usize) -> Result<Array<T>> {
        // No zeroed copy on the heap: the new segment is zeroed.
        Ok(Array {
            inner: PodSegment::create_len(SegmentKind::Array, ARRAY_ROLE, None, len, None)?,
        })
    }

    /// A new anonymous array holding a copy of `data`.
    ///
    /// # Errors
    ///
    /// As [`new`](Array::new).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = mproc_dict::Array::from_slice(&[1i8, -1]).unwrap();
    /// assert_eq!(a.len(), 2);
    /// ```
    pub fn from_slice(data: &[T]) -> Result<Array<T>> {
        Ok(Array {
            inner: PodSegment::create(SegmentKind::Array, ARRAY_ROLE, None, data)?,
        })
    }

    /// Creates a named array holding a copy of `data` (removed when this
    /// handle drops).
    ///
    /// # Errors
    ///
    /// As [`new`](Array::new), plus name errors.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = mproc_dict::Array::create("doc-array", &[1u64, 2]).unwrap();
    /// let b = mproc_dict::Array::<u64>::open("doc-array").unwrap();
    /// a.set(1, 5).unwrap();
    /// assert_eq!(b.to_vec().unwrap(), vec![1, 5]);
    /// ```
    pub fn create(name: &str, data: &[T]) -> Result<Array<T>> {
        Ok(Array {
            inner: PodSegment::create(SegmentKind::Array, ARRAY_ROLE, Some(name), data)?,
        })
    }

    /// Opens a named array.
    ///
    /// # Errors
    ///
    /// [`DictError::TypeMismatch`](crate::DictError::TypeMismatch), segment
    /// errors, [`DictError::Corrupt`](crate::DictError::Corrupt) if the
    /// recorded length does not fit the segment.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_dict::Array::<u8>::open("doc-array-none").is_err());
    /// ```
    pub fn open(name: &str) -> Result<Array<T>> {
        Ok(Array {
            inner: PodSegment::open(SegmentKind::Array, ARRAY_ROLE, name)?,
        })
    }

    /// The name, `None` if anonymous.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_dict::Array::<u8>::new(1).unwrap().name().is_none());
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.inner.name()
    }

    /// Number of elements (Python's `len(arr)`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_dict::Array::<u8>::new(7).unwrap().len(), 7);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.len() as usize
    }

    /// Whether the array has no elements.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_dict::Array::<u8>::new(0).unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.len() == 0
    }

    /// Element `i` (Python's `arr[i]`). Like every accessor but
    /// [`lock`](Array::lock), it proceeds after a holder's death and absorbs
    /// the report (see [When a holder dies](Array#when-a-holder-dies)).
    ///
    /// # Errors
    ///
    /// [`DictError::IndexOutOfRange`](crate::DictError::IndexOutOfRange).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = mproc_dict::Array::from_slice(&[5u8]).unwrap();
    /// assert_eq!(a.get(0).unwrap(), 5);
    /// assert!(a.get(1).is_err());
    /// ```
    pub fn get(&self, i: usize) -> Result<T> {
        let _held = self.inner.lock()?;
        self.inner.read(i as u64)
    }

    /// Sets element `i` (Python's `arr[i] = x`).
    ///
    /// # Errors
    ///
    /// As [`get`](Array::get).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = mproc_dict::Array::<u8>::new(1).unwrap();
    /// a.set(0, 3).unwrap();
    /// assert_eq!(a.get(0).unwrap(), 3);
    /// ```
    pub fn set(&self, i: usize, value: T) -> Result<()> {
        let _held = self.inner.lock()?;
        self.inner.write(i as u64, &value)
    }

    /// Replaces element `i` with `f(element)` under the lock; returns the
    /// new element.
    ///
    /// # Errors
    ///
    /// As [`get`](Array::get).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = mproc_dict::Array::from_slice(&[1u32]).unwrap();
    /// assert_eq!(a.update(0, |x| x + 1).unwrap(), 2);
    /// ```
    pub fn update(&self, i: usize, f: impl FnOnce(T) -> T) -> Result<T> {
        let _held = self.inner.lock()?;
        let new = f(self.inner.read(i as u64)?);
        self.inner.write(i as u64, &new)?;
        Ok(new)
    }

    /// A copy of the elements in `range` (Python's `arr[a:b]`).
    ///
    /// # Errors
    ///
    /// [`DictError::IndexOutOfRange`](crate::DictError::IndexOutOfRange).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = mproc_dict::Array::from_slice(&[1u8, 2, 3]).unwrap();
    /// assert_eq!(a.get_range(1..3).unwrap(), vec![2, 3]);
    /// assert!(a.get_range(2..4).is_err());
    /// ```
    pub fn get_range(&self, range: Range<usize>) -> Result<Vec<T>> {
        let n = range.end.saturating_sub(range.start);
        // Checked before allocating: a range past the end is an error, not
        // an allocation of its length. (The length is fixed when the array
        // is made, so no lock is needed to check it.)
        self.inner.check(range.start as u64, n as u64)?;
        let mut out = vec![T::zeroed(); n];
        let _held = self.inner.lock()?;
        self.inner.read_into(range.start as u64, &mut out)?;
        Ok(out)
    }

    /// Writes `data` starting at element `start` (Python's
    /// `arr[a:a+len(data)] = data`).
    ///
    /// # Errors
    ///
    /// [`DictError::IndexOutOfRange`](crate::DictError::IndexOutOfRange).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = mproc_dict::Array::<u8>::new(3).unwrap();
    /// a.set_range(1, &[7, 8]).unwrap();
    /// assert_eq!(a.to_vec().unwrap(), vec![0, 7, 8]);
    /// ```
    pub fn set_range(&self, start: usize, data: &[T]) -> Result<()> {
        let _held = self.inner.lock()?;
        self.inner.write_from(start as u64, data)
    }

    /// A copy of every element (Python's `arr[:]`).
    ///
    /// # Errors
    ///
    /// Only if this process's identity cannot be read.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_dict::Array::from_slice(&[1u8]).unwrap().to_vec().unwrap(), vec![1]);
    /// ```
    pub fn to_vec(&self) -> Result<Vec<T>> {
        self.get_range(0..self.len())
    }

    /// Holds the lock and gives the elements in place (Python's
    /// `with arr.get_lock():`). The one accessor that reports a previous
    /// holder's death: [`ArrayGuard::owner_died`].
    ///
    /// # Errors
    ///
    /// Only if this process's identity cannot be read.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = mproc_dict::Array::from_slice(&[1u8, 2]).unwrap();
    /// let total: u32 = a.lock().unwrap().iter().map(|&x| u32::from(x)).sum();
    /// assert_eq!(total, 3);
    ///
    /// // Not reentrant: this thread's accessors refuse while a guard lives.
    /// let g = a.lock().unwrap();
    /// assert!(matches!(a.get(0), Err(mproc_dict::DictError::HeldByThisThread { .. })));
    /// drop(g);
    /// ```
    pub fn lock(&self) -> Result<ArrayGuard<'_, T>> {
        self.guard(self.inner.lock()?)
    }

    /// [`lock`](Array::lock), waiting at most `timeout` while another
    /// process holds it (Python's `a.get_lock().acquire(timeout=...)`). A
    /// holder that died is taken over however short the timeout.
    ///
    /// # Errors
    ///
    /// [`DictError::LockTimeout`](crate::DictError::LockTimeout) if a live holder kept it for the whole
    /// `timeout`; otherwise as [`get`](Array::get).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use mproc_dict::{Array, DictError, Locked};
    ///
    /// let a = Array::from_slice(&[1u8, 2]).unwrap();
    /// let held = a.lock().unwrap();
    /// let waited = std::thread::scope(|s| {
    ///     s.spawn(|| a.lock_timeout(Duration::from_millis(10)).map(|g| g[0])).join().unwrap()
    /// });
    /// assert!(matches!(waited, Err(DictError::LockTimeout { locked: Locked::Array, .. })));
    /// drop(held);
    /// assert_eq!(a.lock_timeout(Duration::from_millis(10)).unwrap()[1], 2);
    /// ```
    pub fn lock_timeout(&self, timeout: Duration) -> Result<ArrayGuard<'_, T>> {
        self.guard(self.inner.lock_timeout(timeout, Locked::Array)?)
    }

    /// The guard over the elements, for a lock just taken.
    fn guard<'a>(&'a self, lock: PodLock<'a>) -> Result<ArrayGuard<'a, T>> {
        Ok(ArrayGuard {
            ptr: self.inner.data_ptr()?,
            len: self.len(),
            lock,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use super::*;
    use crate::DictError;

    #[test]
    fn get_range_past_the_end_is_index_out_of_range_before_any_allocation() {
        let a = Array::from_slice(&[1u32, 2, 3]).unwrap();
        // `1..usize::MAX` used to allocate its length first: a panic
        // ("capacity overflow") instead of the error.
        let r = catch_unwind(AssertUnwindSafe(|| a.get_range(1..usize::MAX)));
        assert!(
            matches!(
                r,
                Ok(Err(DictError::IndexOutOfRange { index, len: 3 })) if index == usize::MAX as u64 - 1
            ),
            "get_range(1..usize::MAX): {r:?}"
        );
        assert!(matches!(
            a.get_range(2..4),
            Err(DictError::IndexOutOfRange { index: 3, len: 3 })
        ));
        assert!(matches!(
            a.get_range(usize::MAX..usize::MAX),
            Err(DictError::IndexOutOfRange { len: 3, .. })
        ));
        assert_eq!(a.get_range(3..3).unwrap(), Vec::<u32>::new());
        assert_eq!(a.get_range(1..3).unwrap(), vec![2, 3]);
    }
}
