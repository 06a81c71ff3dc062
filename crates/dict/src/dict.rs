//! [`Dict`]: a dict of byte keys and values in shared memory.

use std::time::Duration;

use crate::handle::{Handle, Step, unlink_all};
use crate::hash::hash_key;
use crate::shard::Probe;
use crate::{DictError, DictOptions, Result};

/// A hash map of byte strings in shared memory: Python's
/// `Manager().dict()` without the server process.
///
/// Every process that has a handle (inherited across `fork` from
/// [`Dict::new`], or from [`Dict::open`] by name) reads and writes the same
/// entries. Each operation locks one shard of the table (a robust,
/// cross-process lock: a holder killed mid-operation is detected and its
/// shard repaired), so operations on different shards run in parallel.
/// The table grows by itself into a new segment generation when it fills
/// (unless a memory cap says otherwise); every handle follows.
///
/// A `Dict` handle is `Send` but not `Sync`: give each thread its own
/// [`clone`](Clone::clone), which shares the mapping. Closures passed to
/// [`get_with`](Dict::get_with) and [`update`](Dict::update) run under the
/// shard lock: they must not call into the same dict. An operation there
/// that needs the shard the closure runs under (the same key, or one that
/// hashes to the same shard, or `len` and `keys`, which visit every shard,
/// or a growth, which locks them all) returns
/// [`DictError::HeldByThisThread`] instead of waiting for ever; one on
/// another shard can deadlock against another thread or process doing
/// the reverse (a lock timeout bounds that wait).
///
/// Waits for a shard lock last as long as its holder lives, unless the
/// handle has a [lock timeout](Dict::set_lock_timeout): then any operation
/// may also return [`DictError::LockTimeout`].
///
/// # Examples
///
/// ```
/// use mproc_dict::{Dict, DictOptions};
///
/// let d = Dict::new(DictOptions::new()).unwrap();
/// d.insert(b"apple", b"red").unwrap();
/// assert_eq!(d.get(b"apple").unwrap().as_deref(), Some(&b"red"[..]));
/// assert_eq!(d.get_with(b"apple", |v| v.len()).unwrap(), Some(3));
/// d.update(b"hits", |v| {
///     let n = v.map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()));
///     Some((n + 1).to_le_bytes())
/// })
/// .unwrap();
/// assert_eq!(d.len().unwrap(), 2);
///
/// // Not from inside a closure: this thread holds the key's shard there.
/// use mproc_dict::{DictError, Locked};
/// let inner = d.get_with(b"apple", |_| d.get(b"apple")).unwrap().unwrap();
/// assert!(matches!(inner, Err(DictError::HeldByThisThread { locked: Locked::Shard(_) })));
/// ```
#[derive(Debug)]
pub struct Dict {
    pub(crate) handle: Handle,
}

impl Clone for Dict {
    fn clone(&self) -> Self {
        Dict {
            handle: self.handle.duplicate(),
        }
    }
}

impl Dict {
    /// A new anonymous dict, shared with the children this process forks
    /// afterwards (its growth segments get generated names, removed when
    /// this handle, the creator's, and its clones drop). Keep it until the
    /// children are done with the dict: a child whose handle lags behind a
    /// growth when the names go gets [`DictError::GenerationRemoved`].
    ///
    /// # Errors
    ///
    /// [`DictError::InvalidOption`], [`DictError::Shm`] if the memory cannot
    /// be had.
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(Default::default()).unwrap();
    /// assert!(d.is_empty().unwrap());
    /// ```
    pub fn new(opts: DictOptions) -> Result<Dict> {
        Ok(Dict {
            handle: Handle::create(None, &opts, false)?,
        })
    }

    /// Creates a dict named `name` that other processes can [`open`]. The
    /// names (`name` and the generations `name.gN`) are removed when this
    /// handle and its clones drop, as by [`Dict::unlink`].
    ///
    /// [`open`]: Dict::open
    ///
    /// # Errors
    ///
    /// [`DictError::Shm`] with `AlreadyExists` or `InvalidName`,
    /// [`DictError::NameTooLong`], [`DictError::InvalidOption`].
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_dict::{Dict, DictOptions};
    /// let a = Dict::create("doc-dict-create", DictOptions::new()).unwrap();
    /// a.insert(b"k", b"v").unwrap();
    /// let b = Dict::open("doc-dict-create").unwrap();
    /// assert_eq!(b.get(b"k").unwrap(), Some(b"v".to_vec()));
    /// ```
    pub fn create(name: &str, opts: DictOptions) -> Result<Dict> {
        Ok(Dict {
            handle: Handle::create(Some(name), &opts, false)?,
        })
    }

    /// Like [`create`](Dict::create), but the names outlive this handle
    /// until [`Dict::unlink`] removes them.
    ///
    /// # Errors
    ///
    /// As [`create`](Dict::create).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_dict::{Dict, DictOptions};
    /// drop(Dict::create_persistent("doc-dict-persist", DictOptions::new()).unwrap());
    /// assert!(Dict::open("doc-dict-persist").is_ok());
    /// Dict::unlink("doc-dict-persist").unwrap();
    /// assert!(Dict::open("doc-dict-persist").is_err());
    /// ```
    pub fn create_persistent(name: &str, opts: DictOptions) -> Result<Dict> {
        Ok(Dict {
            handle: Handle::create(Some(name), &opts, true)?,
        })
    }

    /// Opens the dict another process created as `name`.
    ///
    /// # Errors
    ///
    /// [`DictError::Shm`] (`NotFound`, `WrongKind` for a segment that is not
    /// a dict, ...), [`DictError::Corrupt`] for a root or table segment whose
    /// layout makes no sense.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_dict::Dict::open("doc-no-such-dict").is_err());
    /// ```
    pub fn open(name: &str) -> Result<Dict> {
        Ok(Dict {
            handle: Handle::open(name)?,
        })
    }

    /// Removes the names of dict `name` (its root and every generation).
    /// Processes that have it open keep using the table they have mapped.
    ///
    /// A handle follows the table to a newer generation (after a growth)
    /// by that generation's name: one that lags behind a growth made
    /// before the unlink finds the name gone and gets
    /// [`DictError::GenerationRemoved`] at once (it stays unusable). A
    /// growth after the unlink makes a new name, which handles follow and
    /// nobody removes when they are done (`mproc gc` does, once the
    /// process that grew it is gone). Unlink a dict once its users are
    /// done with it, or give it the capacity it needs up front.
    ///
    /// A new dict may be made under the name at once: its table
    /// generations carry a tag of their own (see
    /// [`generation_segment`](Dict::generation_segment)), so it shares
    /// nothing with the unlinked one, whose handles go on growing it.
    ///
    /// # Errors
    ///
    /// As [`open`](Dict::open).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_dict::{Dict, DictOptions};
    /// let _d = Dict::create("doc-dict-unlink", DictOptions::new()).unwrap();
    /// Dict::unlink("doc-dict-unlink").unwrap();
    /// assert!(Dict::open("doc-dict-unlink").is_err());
    /// ```
    pub fn unlink(name: &str) -> Result<()> {
        unlink_all(name)
    }

    /// The name of the segment of table generation `generation`
    /// (`NAME.iXXXXXXXX.gN`, the tag telling this dict from any other made
    /// under its name), `None` if the dict is anonymous. For tools that
    /// list or remove a dict's segments.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_dict::{Dict, DictOptions};
    /// let d = Dict::create("doc-dict-generation-name", DictOptions::new()).unwrap();
    /// let g0 = d.generation_segment(0).unwrap();
    /// assert!(g0.starts_with("doc-dict-generation-name.i") && g0.ends_with(".g0"));
    /// assert!(mproc_shm::Segment::open(&g0).is_ok());
    /// assert_eq!(Dict::new(DictOptions::new()).unwrap().generation_segment(0), None);
    /// ```
    pub fn generation_segment(&self, generation: u64) -> Option<String> {
        self.name()?;
        Some(self.handle.shared.info.gen_name(generation))
    }

    /// The dict's name, `None` if anonymous.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_dict::Dict::new(Default::default()).unwrap().name(), None);
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.handle.root().name().map(|n| n.as_str())
    }

    /// Bounds how long each operation of this handle waits for shard
    /// locks: past `timeout` it returns [`DictError::LockTimeout`]. A
    /// one-key operation then changed nothing. A whole-dict one
    /// ([`len`](Dict::len), [`clear`](Dict::clear), [`items`](Dict::items),
    /// ...) has one timeout for all the shards it visits, one by one, and
    /// [`clear`](Dict::clear) keeps what it did to the shards it visited
    /// before; [`extend`](Dict::extend) has a timeout per pair, and keeps
    /// the pairs before. `None` (the default) waits as long as the holder
    /// lives; a holder that dies is always taken over, with or without a
    /// timeout. The setting belongs to this handle and is copied by
    /// [`clone`](Clone::clone).
    ///
    /// Shard locks are held for the few microseconds an operation takes,
    /// but also while a [`get_with`](Dict::get_with) or
    /// [`update`](Dict::update) closure runs, and, for every shard, while
    /// the table grows: a service that must answer in time sets a timeout
    /// above those.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use mproc_dict::{Dict, DictError, DictOptions};
    ///
    /// let d = Dict::new(DictOptions::new()).unwrap();
    /// d.insert(b"k", b"v").unwrap();
    /// let mut impatient = d.clone();
    /// impatient.set_lock_timeout(Some(Duration::from_millis(20)));
    /// assert_eq!(impatient.lock_timeout(), Some(Duration::from_millis(20)));
    ///
    /// let (held, release) = (&std::sync::Barrier::new(2), &std::sync::Barrier::new(2));
    /// std::thread::scope(|s| {
    ///     let holder = d.clone();
    ///     s.spawn(move || {
    ///         // `update` holds the key's shard while its closure runs.
    ///         holder.update(b"k", |v| {
    ///             held.wait();
    ///             release.wait();
    ///             v.map(<[u8]>::to_vec)
    ///         })
    ///     });
    ///     held.wait();
    ///     let waited = impatient.get(b"k");
    ///     release.wait(); // before asserting, so that a failure cannot hang
    ///     assert!(matches!(waited, Err(DictError::LockTimeout { .. })));
    /// });
    /// assert_eq!(impatient.get(b"k").unwrap(), Some(b"v".to_vec()));
    /// ```
    pub fn set_lock_timeout(&mut self, timeout: Option<Duration>) {
        self.handle.lock_timeout = timeout;
    }

    /// This handle's lock timeout (see
    /// [`set_lock_timeout`](Dict::set_lock_timeout)).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_dict::Dict::new(Default::default()).unwrap().lock_timeout(), None);
    /// ```
    pub fn lock_timeout(&self) -> Option<Duration> {
        self.handle.lock_timeout
    }

    fn check_key(&self, key: &[u8]) -> Result<()> {
        let max = self.handle.shared.info.first.max_key;
        if key.len() as u64 > max {
            return Err(DictError::KeyTooLarge {
                len: key.len() as u64,
                max,
            });
        }
        Ok(())
    }

    fn check_value(&self, value: &[u8]) -> Result<()> {
        let max = self.handle.shared.info.first.max_value;
        if value.len() as u64 > max {
            return Err(DictError::ValueTooLarge {
                len: value.len() as u64,
                max,
            });
        }
        Ok(())
    }

    fn too_long(&self, key: &[u8]) -> bool {
        key.len() as u64 > self.handle.shared.info.first.max_key
    }

    /// Stores `value` under `key` (Python's `d[key] = value`). Returns
    /// whether the key is new.
    ///
    /// # Errors
    ///
    /// [`DictError::KeyTooLarge`], [`DictError::ValueTooLarge`],
    /// [`DictError::Full`] (only with a memory cap), [`DictError::Corrupt`].
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(Default::default()).unwrap();
    /// assert!(d.insert(b"a", b"1").unwrap());
    /// assert!(!d.insert(b"a", b"2").unwrap());
    /// assert_eq!(d.get(b"a").unwrap(), Some(b"2".to_vec()));
    /// ```
    pub fn insert(&self, key: &[u8], value: &[u8]) -> Result<bool> {
        self.check_key(key)?;
        self.check_value(value)?;
        let h = hash_key(key);
        self.handle.with_shard(
            |l| h & (l.shards() - 1),
            |g, _| {
                let probe = g.find(key, h)?;
                Ok(match g.put(probe, key, h, value)? {
                    Ok(new) => Step::Done(new),
                    Err(no_room) => Step::NoRoom(no_room),
                })
            },
        )
    }

    /// Calls `f` with the value of `key` read in place (no copy, no
    /// allocation), under the shard lock.
    ///
    /// # Errors
    ///
    /// [`DictError::Corrupt`] if the entry's bytes are.
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(Default::default()).unwrap();
    /// d.insert(b"k", b"hello").unwrap();
    /// assert_eq!(d.get_with(b"k", |v| v[0]).unwrap(), Some(b'h'));
    /// assert_eq!(d.get_with(b"x", |v| v[0]).unwrap(), None);
    /// ```
    pub fn get_with<R>(&self, key: &[u8], f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>> {
        if self.too_long(key) {
            return Ok(None);
        }
        let h = hash_key(key);
        let mut f = Some(f);
        self.handle.with_shard(
            |l| h & (l.shards() - 1),
            |g, _| {
                Ok(Step::Done(match g.find(key, h)? {
                    Probe::Found { off, hdr, .. } => {
                        let v = g.value_of(off, &hdr)?;
                        f.take().map(|f| f(v))
                    }
                    Probe::Vacant { .. } => None,
                }))
            },
        )
    }

    /// A copy of the value of `key`.
    ///
    /// # Errors
    ///
    /// [`DictError::Corrupt`].
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(Default::default()).unwrap();
    /// assert_eq!(d.get(b"k").unwrap(), None);
    /// d.insert(b"k", b"v").unwrap();
    /// assert_eq!(d.get(b"k").unwrap(), Some(b"v".to_vec()));
    /// ```
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get_with(key, <[u8]>::to_vec)
    }

    /// Whether `key` is present.
    ///
    /// # Errors
    ///
    /// [`DictError::Corrupt`].
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(Default::default()).unwrap();
    /// d.insert(b"k", b"").unwrap();
    /// assert!(d.contains_key(b"k").unwrap());
    /// assert!(!d.contains_key(b"j").unwrap());
    /// ```
    pub fn contains_key(&self, key: &[u8]) -> Result<bool> {
        Ok(self.get_with(key, |_| ())?.is_some())
    }

    /// Removes `key`; returns its value (Python's `d.pop(key, None)`).
    ///
    /// # Errors
    ///
    /// [`DictError::Corrupt`].
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(Default::default()).unwrap();
    /// d.insert(b"k", b"v").unwrap();
    /// assert_eq!(d.remove(b"k").unwrap(), Some(b"v".to_vec()));
    /// assert_eq!(d.remove(b"k").unwrap(), None);
    /// ```
    pub fn remove(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if self.too_long(key) {
            return Ok(None);
        }
        let h = hash_key(key);
        self.handle.with_shard(
            |l| h & (l.shards() - 1),
            |g, _| {
                Ok(Step::Done(match g.find(key, h)? {
                    Probe::Found { idx, off, hdr } => {
                        let v = g.value_of(off, &hdr)?.to_vec();
                        g.delete(idx, off, &hdr)?;
                        Some(v)
                    }
                    Probe::Vacant { .. } => None,
                }))
            },
        )
    }

    /// Reads and writes `key` atomically: `f` gets the current value (or
    /// `None`) and returns the new one (`None` removes the key). Nobody
    /// else reads or writes the key in between: the `d[k] += 1` that
    /// Python's manager dict gets wrong. Allocates nothing unless the
    /// value's type does.
    ///
    /// `f` may be called more than once, when the table must grow first
    /// (like [`AtomicU64::fetch_update`](std::sync::atomic::AtomicU64::fetch_update));
    /// only its last result is stored. It runs under the key's shard lock:
    /// this dict's operations that need that shard return
    /// [`DictError::HeldByThisThread`] there (see [`Dict`]).
    ///
    /// # Errors
    ///
    /// [`DictError::KeyTooLarge`], [`DictError::ValueTooLarge`],
    /// [`DictError::Full`], [`DictError::Corrupt`].
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(Default::default()).unwrap();
    /// for _ in 0..3 {
    ///     d.update(b"n", |v| Some([v.map_or(0, |b| b[0]) + 1])).unwrap();
    /// }
    /// assert_eq!(d.get(b"n").unwrap(), Some(vec![3]));
    /// d.update(b"n", |_| None::<[u8; 1]>).unwrap();
    /// assert!(!d.contains_key(b"n").unwrap());
    /// ```
    pub fn update<V: AsRef<[u8]>>(
        &self,
        key: &[u8],
        mut f: impl FnMut(Option<&[u8]>) -> Option<V>,
    ) -> Result<()> {
        self.update_with(key, |cur| Ok(f(cur)))
    }

    /// [`update`](Dict::update) whose closure may fail (nothing is changed
    /// then).
    pub(crate) fn update_with<V: AsRef<[u8]>>(
        &self,
        key: &[u8],
        mut f: impl FnMut(Option<&[u8]>) -> Result<Option<V>>,
    ) -> Result<()> {
        self.check_key(key)?;
        let h = hash_key(key);
        self.handle.with_shard(
            |l| h & (l.shards() - 1),
            |g, _| {
                let probe = g.find(key, h)?;
                let current = match probe {
                    Probe::Found { off, hdr, .. } => Some(g.value_of(off, &hdr)?),
                    Probe::Vacant { .. } => None,
                };
                match (f(current)?, probe) {
                    (Some(new), probe) => {
                        let new = new.as_ref();
                        self.check_value(new)?;
                        Ok(match g.put(probe, key, h, new)? {
                            Ok(_) => Step::Done(()),
                            Err(no_room) => Step::NoRoom(no_room),
                        })
                    }
                    (None, Probe::Found { idx, off, hdr }) => {
                        g.delete(idx, off, &hdr)?;
                        Ok(Step::Done(()))
                    }
                    (None, Probe::Vacant { .. }) => Ok(Step::Done(())),
                }
            },
        )
    }

    /// The value of `key`, inserting `f()` first if it is absent (Python's
    /// `d.setdefault(key, f())`, with `f` called only when needed and at
    /// most once).
    ///
    /// # Errors
    ///
    /// As [`insert`](Dict::insert).
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(Default::default()).unwrap();
    /// assert_eq!(d.get_or_insert_with(b"k", || b"first".to_vec()).unwrap(), b"first");
    /// assert_eq!(d.get_or_insert_with(b"k", || b"second".to_vec()).unwrap(), b"first");
    /// ```
    pub fn get_or_insert_with<V: AsRef<[u8]>>(
        &self,
        key: &[u8],
        f: impl FnOnce() -> V,
    ) -> Result<Vec<u8>> {
        self.get_or_try_insert_with(key, || Ok(f()))
    }

    /// [`get_or_insert_with`](Dict::get_or_insert_with) whose `f` may fail
    /// (nothing is inserted then).
    pub(crate) fn get_or_try_insert_with<V: AsRef<[u8]>>(
        &self,
        key: &[u8],
        f: impl FnOnce() -> Result<V>,
    ) -> Result<Vec<u8>> {
        self.check_key(key)?;
        let h = hash_key(key);
        let mut f = Some(f);
        let mut made: Option<V> = None;
        self.handle.with_shard(
            |l| h & (l.shards() - 1),
            |g, _| {
                let probe = g.find(key, h)?;
                if let Probe::Found { off, hdr, .. } = probe {
                    return Ok(Step::Done(g.value_of(off, &hdr)?.to_vec()));
                }
                if made.is_none()
                    && let Some(f) = f.take()
                {
                    made = Some(f()?);
                }
                let value = made.as_ref().map_or(&[][..], |v| v.as_ref());
                self.check_value(value)?;
                Ok(match g.put(probe, key, h, value)? {
                    Ok(_) => Step::Done(value.to_vec()),
                    Err(no_room) => Step::NoRoom(no_room),
                })
            },
        )
    }

    /// Inserts every pair.
    ///
    /// # Errors
    ///
    /// As [`insert`](Dict::insert); pairs before the failing one stay.
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(Default::default()).unwrap();
    /// d.extend([(b"a", b"1"), (b"b", b"2")]).unwrap();
    /// assert_eq!(d.len().unwrap(), 2);
    /// ```
    pub fn extend<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<()> {
        for (k, v) in pairs {
            self.insert(k.as_ref(), v.as_ref())?;
        }
        Ok(())
    }
}
