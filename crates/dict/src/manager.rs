//! [`Manager`]: one namespace for a family of named shared objects,
//! removed together when the manager that created it drops.
//!
//! Registry segment payload: a `RawLock` on line 0, the entry count on
//! line 1, then [`MAX_NAMES`] entries of 128 bytes: kind (u32), name length
//! (u32), name bytes.
//!
//! The methods that make objects live beside this file, one file per
//! family: [`data`] (dicts, values, arrays), [`sync_objects`] (locks,
//! semaphores, conditions, events, barriers), [`queues`] (queues, pipes).

mod data;
mod queues;
mod sync_objects;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mproc_queue::QueueError;
use mproc_shm::{Segment, SegmentKind, ShmError};
use mproc_sync::{RawLock, SyncError, TryLockError};
use mproc_sys::ProcessId;

use crate::error::corrupt;
use crate::{Dict, DictError, Locked, Result};

/// Names a manager can hold. A name is recorded before its object is made
/// and stays recorded (with its kind) even if the making fails, such as a
/// barrier of 0 parties: a later call with valid arguments makes it.
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
/// Set (under the registry lock) by the creator's drop before it reads the
/// names to remove: no name is registered after that.
const CLOSED_OFF: u64 = 72;
/// How long the creator's drop waits for the registry lock.
const DROP_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
const ENTRIES_OFF: u64 = 128;
const ENTRY_LEN: u64 = 128;
const MANAGER_ROLE: u64 = 0x4d47_5231; // "MGR1"

/// Python's `multiprocessing.Manager()`, without the server: a prefix under
/// which named shared objects are made (or found, if another process made
/// them already), and removed together when the creating manager drops.
///
/// | Python's manager | here | kind in [`names`](Manager::names) |
/// | --- | --- | --- |
/// | `dict()` | [`dict`](Manager::dict), [`typed_dict`](Manager::typed_dict) | `Dict` |
/// | `Value(t, v)`, `Array(t, seq)` | [`value`](Manager::value), [`array`](Manager::array) | `Value`, `Array` |
/// | `Lock()`, `RLock()` | [`lock`](Manager::lock), [`rlock`](Manager::rlock) | `Lock`, `RLock` |
/// | `Semaphore(n)`, `BoundedSemaphore(n)` | [`semaphore`](Manager::semaphore), [`bounded_semaphore`](Manager::bounded_semaphore) | `Semaphore` |
/// | `Condition()`, `Event()`, `Barrier(n)` | [`condition`](Manager::condition), [`event`](Manager::event), [`barrier`](Manager::barrier) | `Condition`, `Event`, `Barrier` |
/// | `Queue()`, `JoinableQueue()` | [`queue`](Manager::queue), [`joinable_queue`](Manager::joinable_queue) | `Queue`, `JoinableQueue` |
/// | (beyond Python) | [`spsc_queue`](Manager::spsc_queue), [`pipe`](Manager::pipe) | `SpscQueue`, `Pipe` |
///
/// Python's `list()` and `Namespace()` have no counterpart (a
/// [`typed_dict`](Manager::typed_dict) keyed by index or attribute name
/// serves).
///
/// An object `name` lives in segment `PREFIX.name`. Each method is
/// get-or-create: the first caller creates (with the arguments it gives),
/// later ones, in any process that opened the manager, attach and their
/// creation arguments are ignored (even ones a new object would refuse).
/// A name belongs to one kind: asking for it as another kind is
/// `WrongKind` (see [`names`](Manager::names)). Handles may drop at any
/// time; the objects stay until the creating manager drops (in the process
/// that created it: a forked child's copy removes nothing).
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
    remove_by: Option<ProcessId>,
    /// How long a get-or-create waits for the registry lock (`None`: as
    /// long as its holder lives).
    lock_timeout: Option<Duration>,
}

fn already_exists(e: &DictError) -> bool {
    matches!(
        e,
        DictError::Shm(ShmError::AlreadyExists { .. })
            | DictError::Sync(SyncError::Shm(ShmError::AlreadyExists { .. }))
            | DictError::Queue(QueueError::Shm(ShmError::AlreadyExists { .. }))
    )
}

/// Marks the named segment `full` persistent: the manager, not the handle
/// that created it, decides when it goes (for handles that do not lend
/// their segment).
fn persist_by_name(full: &str) -> Result<()> {
    Segment::open(full)?.persist();
    Ok(())
}

/// Marks `seg` persistent: the manager, not the handle that created it,
/// decides when it goes.
fn persisted<H>(handle: H, seg: impl FnOnce(&H) -> &Segment) -> H {
    seg(&handle).persist();
    handle
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
            remove_by: Some(ProcessId::current_or_pid()),
            lock_timeout: None,
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
            lock_timeout: None,
        })
    }

    /// Bounds how long this handle's get-or-create calls wait for the
    /// registry lock: past `timeout` they fail with
    /// [`DictError::LockTimeout`] (`locked: Locked::Registry`) and make
    /// nothing. `None` (the default) waits as long as the holder lives (a
    /// dead holder is taken over at once). The registry is held only while
    /// a name is recorded, so a long wait means a holder stopped (by a
    /// debugger or `SIGSTOP`) or a registry whose lock word was
    /// overwritten with a live thread's id.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use mproc_dict::{DictError, Locked, Manager};
    /// use mproc_sync::RawLock;
    ///
    /// let mut m = Manager::create("doc-manager-timeout").unwrap();
    /// m.set_lock_timeout(Some(Duration::from_millis(20)));
    /// assert_eq!(m.lock_timeout(), Some(Duration::from_millis(20)));
    /// // Another process holding the registry, played here by a second
    /// // handle on the same segment.
    /// let seg = mproc_shm::Segment::open("doc-manager-timeout").unwrap();
    /// let lock = RawLock::attach(&seg.payload(), 0).unwrap();
    /// let held = lock.lock().unwrap();
    /// let err = m.value::<u64>("hits", 0).unwrap_err();
    /// assert!(matches!(err, DictError::LockTimeout { locked: Locked::Registry, .. }));
    /// drop(held);
    /// assert_eq!(m.value::<u64>("hits", 0).unwrap().get().unwrap(), 0);
    /// ```
    pub fn set_lock_timeout(&mut self, timeout: Option<Duration>) {
        self.lock_timeout = timeout;
    }

    /// This handle's registry lock timeout (see
    /// [`set_lock_timeout`](Manager::set_lock_timeout)).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-lock-timeout").unwrap();
    /// assert_eq!(m.lock_timeout(), None);
    /// ```
    pub fn lock_timeout(&self) -> Option<Duration> {
        self.lock_timeout
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

    fn closed_word(&self) -> Result<&AtomicU64> {
        Ok(self.seg.payload().get::<AtomicU64>(CLOSED_OFF)?)
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
    /// A name keeps the kind it was first asked for: asking for it as
    /// another kind fails with [`DictError::Shm`]
    /// ([`ShmError::WrongKind`]), before anything is created or opened.
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
    ///
    /// use mproc_dict::DictError;
    /// use mproc_shm::{SegmentKind, ShmError};
    /// let err = m.event("l").unwrap_err();
    /// assert!(matches!(
    ///     err,
    ///     DictError::Shm(ShmError::WrongKind { found: SegmentKind::Lock, expected: SegmentKind::Event })
    /// ));
    /// ```
    pub fn names(&self) -> Result<Vec<(String, SegmentKind)>> {
        self.entries()?.collect()
    }

    /// Every registry entry, each read on its own.
    fn entries(&self) -> Result<impl Iterator<Item = Result<(String, SegmentKind)>> + '_> {
        let n = self.count_word()?.load(Ordering::Acquire).min(MAX_NAMES);
        Ok((0..n).map(|i| self.read_entry(i)))
    }

    /// [`names`](Self::names), skipping entries that do not read (a
    /// corrupt registry entry must not make the creator's drop leave every
    /// other object behind).
    fn readable_names(&self) -> Vec<(String, SegmentKind)> {
        self.entries()
            .map(|e| e.filter_map(Result::ok).collect())
            .unwrap_or_default()
    }

    /// Records `name` as a `kind` (once) under the registry lock.
    ///
    /// A name already recorded as another kind is refused with
    /// [`ShmError::WrongKind`] (`found` the recorded kind), so two callers
    /// racing to make one name as two kinds cannot both win.
    fn register(&self, name: &str, kind: SegmentKind) -> Result<()> {
        self.check_name(name, kind)?;
        let lock = RawLock::attach(&self.seg.payload(), 0)?;
        let mut held = match self.lock_timeout {
            None => lock.lock().unwrap_or_else(|died| died.into_inner()),
            Some(timeout) => match lock.lock_timeout(timeout) {
                Ok(held) | Err(TryLockError::OwnerDied(held)) => held,
                Err(TryLockError::TimedOut { .. } | TryLockError::WouldBlock) => {
                    return Err(DictError::LockTimeout {
                        locked: Locked::Registry,
                        timeout,
                    });
                }
            },
        };
        // Entries are written before the count moves: a holder that died
        // left at worst an entry past the count, which is ignored.
        held.make_consistent();
        // Acquire: the closing drop set it under this lock.
        if self.closed_word()?.load(Ordering::Acquire) != 0 {
            return Err(DictError::ManagerClosed {
                prefix: self.prefix.clone(),
            });
        }
        let count = self.count_word()?;
        let n = count.load(Ordering::Relaxed).min(MAX_NAMES);
        for i in 0..n {
            match self.read_entry(i) {
                Ok((existing, found)) if existing == name => {
                    return if found == kind {
                        Ok(())
                    } else {
                        Err(ShmError::WrongKind {
                            found,
                            expected: kind,
                        }
                        .into())
                    };
                }
                _ => {}
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

    /// Refuses a name no object can be made under (too long, a `/`, a
    /// dict name too long once prefixed), before anything is made.
    fn check_name(&self, name: &str, kind: SegmentKind) -> Result<()> {
        if name.len() > MAX_OBJECT_NAME {
            return Err(DictError::NameTooLong {
                name: name.to_owned(),
                max: MAX_OBJECT_NAME as u64,
            });
        }
        let full = self.full_name(name);
        mproc_shm::SegmentName::new(&full)?;
        if kind == SegmentKind::Dict && full.len() > crate::root::MAX_DICT_NAME_LEN {
            return Err(DictError::NameTooLong {
                name: full,
                max: crate::root::MAX_DICT_NAME_LEN as u64,
            });
        }
        Ok(())
    }

    /// Records the name (once), then makes or opens the object. Recorded
    /// first, so that a process killed in between leaves at worst a name
    /// without an object, never an object the creator's drop does not know
    /// of (every object is persistent). The creator's drop may close the
    /// manager between the two: it then removed what was recorded, perhaps
    /// before this call made it, so an object this call made is removed
    /// again and the call reports [`DictError::ManagerClosed`].
    ///
    /// A creation that fails keeps its registry entry (and the name's
    /// kind), as the entries are never rewritten: see [`MAX_NAMES`].
    fn get_or_create<H>(
        &self,
        name: &str,
        kind: SegmentKind,
        create: impl FnOnce(&str) -> Result<H>,
        open: impl FnOnce(&str) -> Result<H>,
    ) -> Result<H> {
        self.register(name, kind)?;
        let full = self.full_name(name);
        let (handle, made) = match create(&full) {
            Ok(h) => (h, true),
            Err(e) if already_exists(&e) => (open(&full)?, false),
            // Creation arguments only matter to the creator: arguments a
            // new object would refuse (a barrier of 0 parties) still
            // attach to an existing one. Otherwise the creation's error
            // says more than the open's `NotFound`.
            Err(e) => (open(&full).map_err(|_| e)?, false),
        };
        // Acquire: the closing drop set it (Release) before it read the
        // names and removed them; a creation that found the name free after
        // that removal sees it set.
        if made && self.closed_word()?.load(Ordering::Acquire) != 0 {
            drop(handle);
            let _ = remove_object(&full, kind);
            return Err(DictError::ManagerClosed {
                prefix: self.prefix.clone(),
            });
        }
        Ok(handle)
    }
}

/// Removes the object `full` of `kind` (a dict with its tables).
fn remove_object(full: &str, kind: SegmentKind) -> Result<()> {
    match kind {
        SegmentKind::Dict => Dict::unlink(full),
        _ => Segment::unlink(full).map_err(DictError::from),
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        // Not in the parent's copy of a manager a forked child's body
        // captured: the child's copy closes it when done.
        if !self.seg.removes_on_drop(self.remove_by) {
            return;
        }
        // Closed under the registry lock before the names are read: a
        // process that makes an object later finds it closed and removes
        // what it made (see `get_or_create`).
        let close = || {
            if let Ok(closed) = self.closed_word() {
                // Release: pairs with the Acquire loads in `register` and
                // `get_or_create`.
                closed.store(1, Ordering::Release);
            }
            self.readable_names()
        };
        let names = match RawLock::attach(&self.seg.payload(), 0) {
            // Bounded: a peer stopped while it holds the lock (a debugger,
            // `SIGSTOP`) must not stop the drop; then it closes without it.
            Ok(lock) => match lock.lock_timeout(DROP_LOCK_WAIT) {
                Ok(mut held) | Err(TryLockError::OwnerDied(mut held)) => {
                    held.make_consistent();
                    close()
                }
                Err(_) => close(),
            },
            // A registry whose lock does not read: remove what reads.
            Err(_) => close(),
        };
        for (name, kind) in names {
            // Errors: already removed by hand, or never created.
            let _ = remove_object(&self.full_name(&name), kind);
        }
    }
}
