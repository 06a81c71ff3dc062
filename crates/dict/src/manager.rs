//! [`Manager`]: one namespace for a family of named shared objects,
//! removed together when the manager that created it drops.
//!
//! Registry segment payload: a `RawLock` on line 0, the entry count on
//! line 1, then [`MAX_NAMES`] entries of 128 bytes: kind (u32), name length
//! (u32), name bytes.

use std::sync::atomic::{AtomicU64, Ordering};

use bytemuck::Pod;
use mproc_queue::{Queue, QueueError, QueueOptions};
use mproc_shm::{Segment, SegmentKind, ShmError};
use mproc_sync::{Event, Lock, RawLock, SyncError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::corrupt;
use crate::{Array, Dict, DictError, DictOptions, Result, TypedDict, Value};

/// Names a manager can hold.
///
/// # Examples
///
/// ```
/// assert_eq!(mproc_dict::MAX_NAMES, 256);
/// ```
pub const MAX_NAMES: u64 = 256;
/// Longest object name (without the prefix).
///
/// # Examples
///
/// ```
/// use mproc_dict::{DictError, Manager, MAX_OBJECT_NAME};
/// let m = Manager::create("doc-manager-long").unwrap();
/// let long = "x".repeat(MAX_OBJECT_NAME + 1);
/// assert!(matches!(m.lock(&long), Err(DictError::NameTooLong { .. })));
/// ```
pub const MAX_OBJECT_NAME: usize = 120;
const COUNT_OFF: u64 = 64;
const ENTRIES_OFF: u64 = 128;
const ENTRY_LEN: u64 = 128;
const MANAGER_ROLE: u64 = 0x4d47_5231; // "MGR1"

/// Python's `multiprocessing.Manager()`, without the server: a prefix under
/// which named dicts, values, arrays, locks, events and queues are made
/// (or found, if another process made them already), and removed together
/// when the creating manager drops.
///
/// An object `name` lives in segment `PREFIX.name`. Each method is
/// get-or-create: the first caller creates, later ones (in any process
/// that opened the manager) attach.
///
/// # Examples
///
/// ```
/// use mproc_dict::{DictOptions, Manager};
///
/// let m = Manager::create("doc-manager").unwrap();
/// let d = m.dict("scores", DictOptions::new()).unwrap();
/// d.insert(b"alice", b"3").unwrap();
///
/// // Another process would do the same after Manager::open.
/// let other = Manager::open("doc-manager").unwrap();
/// let same = other.dict("scores", DictOptions::new()).unwrap();
/// assert_eq!(same.get(b"alice").unwrap(), Some(b"3".to_vec()));
///
/// let hits = other.value("hits", 0u64).unwrap();
/// hits.update(|n| n + 1).unwrap();
/// assert_eq!(m.names().unwrap().len(), 2);
/// drop((d, same, hits, other));
/// drop(m); // removes the dict and the value
/// assert!(mproc_dict::Dict::open("doc-manager.scores").is_err());
/// ```
#[derive(Debug)]
pub struct Manager {
    seg: Segment,
    prefix: String,
    remove_by: Option<i32>,
}

fn already_exists(e: &DictError) -> bool {
    matches!(
        e,
        DictError::Shm(ShmError::AlreadyExists { .. })
            | DictError::Sync(SyncError::Shm(ShmError::AlreadyExists { .. }))
            | DictError::Queue(QueueError::Shm(ShmError::AlreadyExists { .. }))
    )
}

/// Marks a named segment persistent: the manager, not the handle that
/// created it, decides when it goes.
fn persist(full: &str) -> Result<()> {
    Segment::open(full)?.persist();
    Ok(())
}

impl Manager {
    /// Creates the manager `prefix` (its registry is segment `prefix`).
    ///
    /// # Errors
    ///
    /// [`DictError::Shm`] (`AlreadyExists`, `InvalidName`, ...).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-create").unwrap();
    /// assert_eq!(m.prefix(), "doc-manager-create");
    /// ```
    pub fn create(prefix: &str) -> Result<Manager> {
        let seg = Segment::builder(SegmentKind::Manager, ENTRIES_OFF + MAX_NAMES * ENTRY_LEN)
            .params([MANAGER_ROLE, MAX_NAMES, 0, 0, 0, 0, 0, 0])
            .init(|p| {
                RawLock::init_in_place(&p, 0).map_err(|_| ShmError::Corrupt {
                    field: "manager lock",
                    value: 0,
                })?;
                Ok(())
            })
            .create(prefix)?;
        Ok(Manager {
            seg,
            prefix: prefix.to_owned(),
            remove_by: Some(mproc_sys::getpid()),
        })
    }

    /// Opens the manager `prefix` another process created.
    ///
    /// # Errors
    ///
    /// [`DictError::Shm`] (`NotFound`, `WrongKind`), [`DictError::Corrupt`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_dict::Manager::open("doc-manager-none").is_err());
    /// ```
    pub fn open(prefix: &str) -> Result<Manager> {
        let seg = Segment::opener(prefix).kind(SegmentKind::Manager).open()?;
        let p = seg.header().params;
        if p[0] != MANAGER_ROLE || p[1] != MAX_NAMES {
            return Err(corrupt("manager parameters", 0, p[0]));
        }
        RawLock::attach(&seg.payload(), 0)?;
        Ok(Manager {
            seg,
            prefix: prefix.to_owned(),
            remove_by: None,
        })
    }

    /// The prefix.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-prefix").unwrap();
    /// assert_eq!(m.full_name("x"), "doc-manager-prefix.x");
    /// ```
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The segment name of object `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-full").unwrap();
    /// assert_eq!(m.full_name("q"), "doc-manager-full.q");
    /// ```
    pub fn full_name(&self, name: &str) -> String {
        format!("{}.{name}", self.prefix)
    }

    fn count_word(&self) -> Result<&AtomicU64> {
        Ok(self.seg.payload().get::<AtomicU64>(COUNT_OFF)?)
    }

    fn read_entry(&self, i: u64) -> Result<(String, SegmentKind)> {
        let p = self.seg.payload();
        let off = ENTRIES_OFF + i * ENTRY_LEN;
        let kind_raw: u32 = p.read_pod(off)?;
        let len: u32 = p.read_pod(off + 4)?;
        if len as usize > MAX_OBJECT_NAME {
            return Err(corrupt("manager entry name length", off, len.into()));
        }
        let mut buf = vec![0u8; len as usize];
        p.read_bytes(off + 8, &mut buf)?;
        let name =
            String::from_utf8(buf).map_err(|_| corrupt("manager entry name", off, len.into()))?;
        let kind = SegmentKind::from_raw(kind_raw).ok_or(corrupt(
            "manager entry kind",
            off,
            kind_raw.into(),
        ))?;
        Ok((name, kind))
    }

    /// Every name made through this manager (by any process), with its kind.
    ///
    /// # Errors
    ///
    /// [`DictError::Corrupt`] if the registry is.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-names").unwrap();
    /// let _l = m.lock("l").unwrap();
    /// assert_eq!(m.names().unwrap(), vec![("l".to_string(), mproc_shm::SegmentKind::Lock)]);
    /// ```
    pub fn names(&self) -> Result<Vec<(String, SegmentKind)>> {
        let n = self.count_word()?.load(Ordering::Acquire).min(MAX_NAMES);
        (0..n).map(|i| self.read_entry(i)).collect()
    }

    /// Records `name` (once) under the registry lock.
    fn register(&self, name: &str, kind: SegmentKind) -> Result<()> {
        if name.len() > MAX_OBJECT_NAME {
            return Err(DictError::NameTooLong {
                name: name.to_owned(),
                max: MAX_OBJECT_NAME as u64,
            });
        }
        let lock = RawLock::attach(&self.seg.payload(), 0)?;
        let mut held = lock.lock().unwrap_or_else(|died| died.into_inner());
        // Entries are written before the count moves: a holder that died
        // left at worst an entry past the count, which is ignored.
        held.make_consistent();
        let count = self.count_word()?;
        let n = count.load(Ordering::Relaxed).min(MAX_NAMES);
        for i in 0..n {
            if self
                .read_entry(i)
                .is_ok_and(|(existing, _)| existing == name)
            {
                return Ok(());
            }
        }
        if n >= MAX_NAMES {
            return Err(DictError::RegistryFull { max: MAX_NAMES });
        }
        let p = self.seg.payload();
        let off = ENTRIES_OFF + n * ENTRY_LEN;
        p.write_pod(off, &kind.as_raw())?;
        p.write_pod(off + 4, &(name.len() as u32))?;
        p.write_bytes(off + 8, name.as_bytes())?;
        // SYNC POINT: Release pairs with the Acquire load in `names`.
        count.store(n + 1, Ordering::Release);
        Ok(())
    }

    fn get_or_create<H>(
        &self,
        name: &str,
        kind: SegmentKind,
        create: impl FnOnce(&str) -> Result<H>,
        open: impl FnOnce(&str) -> Result<H>,
    ) -> Result<H> {
        let full = self.full_name(name);
        self.register(name, kind)?;
        match create(&full) {
            Ok(h) => Ok(h),
            Err(e) if already_exists(&e) => open(&full),
            Err(e) => Err(e),
        }
    }

    /// The byte dict `name`, created with `opts` if new.
    ///
    /// # Errors
    ///
    /// As [`Dict::create`] / [`Dict::open`], [`DictError::RegistryFull`].
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-dict").unwrap();
    /// let d = m.dict("d", Default::default()).unwrap();
    /// assert_eq!(d.name(), Some("doc-manager-dict.d"));
    /// ```
    pub fn dict(&self, name: &str, opts: DictOptions) -> Result<Dict> {
        self.get_or_create(
            name,
            SegmentKind::Dict,
            |full| Dict::create_persistent(full, opts),
            Dict::open,
        )
    }

    /// The typed dict `name`, created with `opts` if new.
    ///
    /// # Errors
    ///
    /// As [`dict`](Manager::dict).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-typed").unwrap();
    /// let d = m.typed_dict::<String, u32>("t", Default::default()).unwrap();
    /// d.insert(&"a".into(), &1).unwrap();
    /// ```
    pub fn typed_dict<K, V>(&self, name: &str, opts: DictOptions) -> Result<TypedDict<K, V>>
    where
        K: Serialize + DeserializeOwned,
        V: Serialize + DeserializeOwned,
    {
        Ok(TypedDict::from_dict(self.dict(name, opts)?))
    }

    /// The value `name`, created holding `initial` if new.
    ///
    /// # Errors
    ///
    /// As [`Value::create`] / [`Value::open`].
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-value").unwrap();
    /// assert_eq!(m.value("v", 3i64).unwrap().get().unwrap(), 3);
    /// assert_eq!(m.value("v", 4i64).unwrap().get().unwrap(), 3);
    /// ```
    pub fn value<T: Pod>(&self, name: &str, initial: T) -> Result<Value<T>> {
        self.get_or_create(
            name,
            SegmentKind::Value,
            |full| {
                let v = Value::create(full, initial)?;
                persist(full)?;
                Ok(v)
            },
            Value::open,
        )
    }

    /// The array `name`, created holding a copy of `data` if new.
    ///
    /// # Errors
    ///
    /// As [`Array::create`] / [`Array::open`].
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-array").unwrap();
    /// assert_eq!(m.array("a", &[1u8, 2]).unwrap().len(), 2);
    /// ```
    pub fn array<T: Pod>(&self, name: &str, data: &[T]) -> Result<Array<T>> {
        self.get_or_create(
            name,
            SegmentKind::Array,
            |full| {
                let a = Array::create(full, data)?;
                persist(full)?;
                Ok(a)
            },
            Array::open,
        )
    }

    /// The lock `name` (mproc-sync's robust [`Lock`]).
    ///
    /// # Errors
    ///
    /// [`DictError::Sync`], [`DictError::RegistryFull`].
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-lock").unwrap();
    /// let l = m.lock("l").unwrap();
    /// drop(l.lock().unwrap());
    /// ```
    pub fn lock(&self, name: &str) -> Result<Lock> {
        self.get_or_create(
            name,
            SegmentKind::Lock,
            |full| {
                let l = Lock::create(full)?;
                persist(full)?;
                Ok(l)
            },
            |full| Ok(Lock::open(full)?),
        )
    }

    /// The event `name` (mproc-sync's [`Event`]).
    ///
    /// # Errors
    ///
    /// [`DictError::Sync`], [`DictError::RegistryFull`].
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-event").unwrap();
    /// m.event("e").unwrap().set();
    /// assert!(m.event("e").unwrap().is_set());
    /// ```
    pub fn event(&self, name: &str) -> Result<Event> {
        self.get_or_create(
            name,
            SegmentKind::Event,
            |full| {
                let e = Event::create(full)?;
                persist(full)?;
                Ok(e)
            },
            |full| Ok(Event::open(full)?),
        )
    }

    /// The MPMC queue `name` (mproc-queue's [`Queue`]), created with `opts`
    /// if new.
    ///
    /// # Errors
    ///
    /// [`DictError::Queue`], [`DictError::RegistryFull`].
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-queue").unwrap();
    /// let q = m.queue("jobs", Default::default()).unwrap();
    /// assert_eq!(q.name(), Some("doc-manager-queue.jobs"));
    /// ```
    pub fn queue(&self, name: &str, opts: QueueOptions) -> Result<Queue> {
        self.get_or_create(
            name,
            SegmentKind::Queue,
            |full| {
                let q = Queue::create(full, opts)?;
                persist(full)?;
                Ok(q)
            },
            |full| Ok(Queue::open(full)?),
        )
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        if self.remove_by != Some(mproc_sys::getpid()) {
            return;
        }
        for (name, kind) in self.names().unwrap_or_default() {
            let full = self.full_name(&name);
            // Errors: already removed by hand, or never created.
            let _ = match kind {
                SegmentKind::Dict => Dict::unlink(&full),
                _ => Segment::unlink(&full).map_err(DictError::from),
            };
        }
    }
}
