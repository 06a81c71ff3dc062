//! [`Value`]: one plain-data value with a lock, Python's
//! `multiprocessing.Value`.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use bytemuck::Pod;
use mproc_shm::SegmentKind;

use crate::pod_segment::{PodLock, PodSegment};
use crate::{Locked, Result};

const VALUE_ROLE: u64 = 0x5641_4c31; // "VAL1"

/// A `T` in shared memory with a robust lock: Python's
/// `multiprocessing.Value(typecode, v)`, for any [`Pod`] type.
///
/// [`get`](Value::get), [`set`](Value::set) and [`update`](Value::update)
/// each take the lock; [`lock`](Value::lock) holds it for longer
/// (`with v.get_lock(): v.value += 1`).
///
/// # When a holder dies
///
/// The lock is robust: a process killed while holding it (in `set`, or
/// between `lock()` and the guard's drop) does not block anyone. Its
/// death is reported once, to whichever call takes the lock next, and the
/// lock is then consistent again:
///
/// - [`lock`](Value::lock) hands the report over:
///   [`ValueGuard::owner_died`] is true, and the guard sees what the dead
///   holder left, to check or repair.
/// - [`get`](Value::get), [`set`](Value::set) and
///   [`update`](Value::update) proceed without an error and absorb the
///   report. What a killed writer left is some mix of the old and new
///   bytes of `T`, and a [`Pod`] `T` is valid for any bytes, so reading it
///   is sound; `set` replaces it whole. (Python's `Value` lock is not
///   robust: there, the others would wait forever.)
///
/// A `T` whose fields must agree with each other (an invariant a half
/// write breaks) should be read and written through
/// [`lock`](Value::lock) and checked when `owner_died()` says so; a
/// plain `get` after a death gives the torn value as it is.
///
/// # Examples
///
/// ```
/// use mproc_dict::Value;
///
/// let v = Value::new(10u64).unwrap();
/// v.set(11).unwrap();
/// assert_eq!(v.update(|x| x * 2).unwrap(), 22);
/// {
///     let mut guard = v.lock().unwrap();
///     *guard += 1;
/// }
/// assert_eq!(v.get().unwrap(), 23);
/// ```
#[derive(Debug)]
pub struct Value<T> {
    inner: PodSegment<T>,
}

/// [`Value::lock`]'s guard: the value, borrowed in place under the lock.
///
/// The guard belongs to the thread that took the lock. A copy of it that a
/// forked child inherits (one moved into the child's closure) holds
/// nothing: dropping it releases nothing, and reading or writing through
/// it races with whoever holds the lock then. Take the lock in the child.
///
/// # Examples
///
/// ```
/// let v = mproc_dict::Value::new([0u8; 4]).unwrap();
/// let mut g = v.lock().unwrap();
/// g[1] = 9;
/// assert!(!g.owner_died());
/// drop(g);
/// assert_eq!(v.get().unwrap(), [0, 9, 0, 0]);
/// ```
pub struct ValueGuard<'a, T> {
    ptr: *mut T,
    lock: PodLock<'a>,
}

impl<T> ValueGuard<'_, T> {
    /// Whether the previous holder died holding the lock: the value may be
    /// half written (still a valid `T`). Reported to this guard only; the
    /// next locker is not told again.
    ///
    /// # Examples
    ///
    /// ```
    /// let v = mproc_dict::Value::new(1u8).unwrap();
    /// assert!(!v.lock().unwrap().owner_died());
    /// ```
    pub fn owner_died(&self) -> bool {
        self.lock.owner_died
    }
}

impl<T> Deref for ValueGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `ptr` is in bounds and aligned (checked by `data_ptr`),
        // the segment outlives the guard, any bit pattern is a valid `T`
        // (Pod), and the lock we hold excludes every other writer.
        unsafe { &*self.ptr }
    }
}

impl<T> DerefMut for ValueGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; the held lock makes this the only access.
        unsafe { &mut *self.ptr }
    }
}

impl<T: Pod> Value<T> {
    /// A new anonymous value, shared with children forked afterwards.
    ///
    /// # Errors
    ///
    /// [`DictError::Shm`](crate::DictError::Shm) if the memory cannot be
    /// had, [`DictError::InvalidOption`](crate::DictError::InvalidOption)
    /// for alignments over 64.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_dict::Value::new(1.5f64).unwrap().get().unwrap(), 1.5);
    /// ```
    pub fn new(initial: T) -> Result<Value<T>> {
        Ok(Value {
            inner: PodSegment::create(SegmentKind::Value, VALUE_ROLE, None, &[initial])?,
        })
    }

    /// Creates a named value (removed when this handle drops).
    ///
    /// # Errors
    ///
    /// As [`new`](Value::new), plus name errors.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = mproc_dict::Value::create("doc-value", 5i32).unwrap();
    /// let b = mproc_dict::Value::<i32>::open("doc-value").unwrap();
    /// a.set(6).unwrap();
    /// assert_eq!(b.get().unwrap(), 6);
    /// ```
    pub fn create(name: &str, initial: T) -> Result<Value<T>> {
        Ok(Value {
            inner: PodSegment::create(SegmentKind::Value, VALUE_ROLE, Some(name), &[initial])?,
        })
    }

    /// Opens a named value.
    ///
    /// # Errors
    ///
    /// [`DictError::TypeMismatch`](crate::DictError::TypeMismatch) if it
    /// holds a type of another size or alignment, and segment errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_dict::{DictError, Value};
    /// let _a = Value::create("doc-value-mismatch", 5u32).unwrap();
    /// let err = Value::<u64>::open("doc-value-mismatch").unwrap_err();
    /// assert!(matches!(err, DictError::TypeMismatch { expected_size: 8, found_size: 4, .. }));
    /// ```
    pub fn open(name: &str) -> Result<Value<T>> {
        Ok(Value {
            inner: PodSegment::open(SegmentKind::Value, VALUE_ROLE, name)?,
        })
    }

    /// The name, `None` if anonymous.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_dict::Value::new(0u8).unwrap().name().is_none());
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.inner.name()
    }

    /// A copy of the value (Python's `v.value`).
    ///
    /// After a holder died mid-write this is what it left (still a valid
    /// `T`), and the death report is absorbed: see
    /// [When a holder dies](Value#when-a-holder-dies).
    ///
    /// # Errors
    ///
    /// Only if this process's identity cannot be read.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_dict::Value::new(3u16).unwrap().get().unwrap(), 3);
    /// ```
    pub fn get(&self) -> Result<T> {
        let _held = self.inner.lock()?;
        self.inner.read(0)
    }

    /// Replaces the value (Python's `v.value = x`), whatever a dead
    /// holder left (its death report is absorbed).
    ///
    /// # Errors
    ///
    /// As [`get`](Value::get).
    ///
    /// # Examples
    ///
    /// ```
    /// let v = mproc_dict::Value::new(0u8).unwrap();
    /// v.set(4).unwrap();
    /// assert_eq!(v.get().unwrap(), 4);
    /// ```
    pub fn set(&self, value: T) -> Result<()> {
        let _held = self.inner.lock()?;
        self.inner.write(0, &value)
    }

    /// Replaces the value with `f(value)` under the lock; returns the new
    /// value.
    ///
    /// After a holder died mid-write, `f` gets what it left and the death
    /// report is absorbed; use [`lock`](Value::lock) to be told.
    ///
    /// # Errors
    ///
    /// As [`get`](Value::get).
    ///
    /// # Examples
    ///
    /// ```
    /// let v = mproc_dict::Value::new(1u32).unwrap();
    /// assert_eq!(v.update(|x| x + 1).unwrap(), 2);
    /// ```
    pub fn update(&self, f: impl FnOnce(T) -> T) -> Result<T> {
        let _held = self.inner.lock()?;
        let new = f(self.inner.read(0)?);
        self.inner.write(0, &new)?;
        Ok(new)
    }

    /// Holds the lock and gives the value in place (Python's
    /// `with v.get_lock():`). The one accessor that reports a previous
    /// holder's death: [`ValueGuard::owner_died`].
    ///
    /// The lock is not reentrant (Python's is): while the guard lives, this
    /// thread's `get`, `set`, `update` and `lock` return
    /// [`DictError::HeldByThisThread`](crate::DictError::HeldByThisThread)
    /// instead of waiting for ever. Read and write through the guard.
    ///
    /// # Errors
    ///
    /// As [`get`](Value::get).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_dict::{DictError, Locked, Value};
    /// let v = Value::new(1u32).unwrap();
    /// *v.lock().unwrap() += 41;
    /// assert_eq!(v.get().unwrap(), 42);
    ///
    /// let mut g = v.lock().unwrap();
    /// assert!(matches!(v.get(), Err(DictError::HeldByThisThread { locked: Locked::Value })));
    /// *g += 1; // Python's `v.value += 1` under `with v.get_lock():`
    /// drop(g);
    /// assert_eq!(v.get().unwrap(), 43);
    /// ```
    pub fn lock(&self) -> Result<ValueGuard<'_, T>> {
        self.guard(self.inner.lock()?)
    }

    /// [`lock`](Value::lock), waiting at most `timeout` while another
    /// process holds it (Python's `v.get_lock().acquire(timeout=...)`). A
    /// holder that died is taken over however short the timeout.
    ///
    /// # Errors
    ///
    /// [`DictError::LockTimeout`](crate::DictError::LockTimeout) if a live holder kept it for the whole
    /// `timeout`; otherwise as [`get`](Value::get).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use mproc_dict::{DictError, Locked, Value};
    ///
    /// let v = Value::new(1u32).unwrap();
    /// let held = v.lock().unwrap();
    /// let waited = std::thread::scope(|s| {
    ///     s.spawn(|| v.lock_timeout(Duration::from_millis(10)).map(|g| *g)).join().unwrap()
    /// });
    /// assert!(matches!(waited, Err(DictError::LockTimeout { locked: Locked::Value, .. })));
    /// drop(held);
    /// assert_eq!(*v.lock_timeout(Duration::from_millis(10)).unwrap(), 1);
    /// ```
    pub fn lock_timeout(&self, timeout: Duration) -> Result<ValueGuard<'_, T>> {
        self.guard(self.inner.lock_timeout(timeout, Locked::Value)?)
    }

    /// The guard over the elements, for a lock just taken.
    fn guard<'a>(&'a self, lock: PodLock<'a>) -> Result<ValueGuard<'a, T>> {
        Ok(ValueGuard {
            ptr: self.inner.data_ptr()?,
            lock,
        })
    }
}
