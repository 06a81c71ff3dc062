//! The manager's locks, semaphores, conditions, events and barriers
//! (mproc-sync's, each in its own segment `PREFIX.name`).

use mproc_shm::SegmentKind;
use mproc_sync::{Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore};

use super::persisted;
#[cfg(doc)]
use crate::DictError;
use crate::{Manager, Result};

impl Manager {
    /// The lock `name` (mproc-sync's robust [`Lock`]: a holder's death is
    /// reported to the next locker as `OwnerDied`).
    ///
    /// # Errors
    ///
    /// [`DictError::Sync`], [`DictError::RegistryFull`],
    /// [`DictError::Shm`] with `WrongKind` if `name` is another kind.
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
            |full| Ok(persisted(Lock::create(full)?, Lock::segment)),
            |full| Ok(Lock::open(full)?),
        )
    }

    /// The reentrant lock `name` (Python's `manager.RLock()`, mproc-sync's
    /// [`RLock`]): the thread holding it may take it again.
    ///
    /// # Errors
    ///
    /// As [`lock`](Manager::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-rlock").unwrap();
    /// let r = m.rlock("r").unwrap();
    /// let same = m.rlock("r").unwrap(); // another process, really
    /// let outer = r.lock().unwrap();
    /// let inner = same.lock().unwrap(); // same thread: reentrant
    /// assert_eq!(r.count(), 2);
    /// drop((inner, outer));
    /// assert!(!r.is_locked());
    /// ```
    pub fn rlock(&self, name: &str) -> Result<RLock> {
        self.get_or_create(
            name,
            SegmentKind::RLock,
            |full| Ok(persisted(RLock::create(full)?, RLock::segment)),
            |full| Ok(RLock::open(full)?),
        )
    }

    /// The semaphore `name` (Python's `manager.Semaphore(value)`,
    /// mproc-sync's [`Semaphore`]), holding `value` if new.
    ///
    /// # Errors
    ///
    /// As [`lock`](Manager::lock); [`DictError::Sync`] with
    /// `InvalidArgument` for a `value` above
    /// [`SEMAPHORE_MAX`](mproc_sync::SEMAPHORE_MAX), or `LayoutMismatch` if
    /// `name` is a [`bounded_semaphore`](Manager::bounded_semaphore).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-semaphore").unwrap();
    /// let s = m.semaphore("slots", 2).unwrap();
    /// assert!(s.try_acquire());
    /// let same = m.semaphore("slots", 99).unwrap(); // exists: 99 is ignored
    /// assert_eq!(same.value(), 1);
    /// same.release().unwrap();
    /// assert_eq!(s.value(), 2);
    /// ```
    pub fn semaphore(&self, name: &str, value: u32) -> Result<Semaphore> {
        self.get_or_create(
            name,
            SegmentKind::Semaphore,
            |full| {
                Ok(persisted(
                    Semaphore::create(full, value)?,
                    Semaphore::segment,
                ))
            },
            |full| Ok(Semaphore::open(full)?),
        )
    }

    /// The bounded semaphore `name` (Python's
    /// `manager.BoundedSemaphore(value)`, mproc-sync's
    /// [`BoundedSemaphore`]), holding and bounded by `value` if new.
    ///
    /// It shares the kind `Semaphore` with [`semaphore`](Manager::semaphore)
    /// in [`names`](Manager::names); opening one as the other is refused
    /// with [`DictError::Sync`] (`LayoutMismatch`).
    ///
    /// # Errors
    ///
    /// As [`semaphore`](Manager::semaphore).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_sync::SyncError;
    /// let m = mproc_dict::Manager::create("doc-manager-bsemaphore").unwrap();
    /// let s = m.bounded_semaphore("b", 1).unwrap();
    /// assert!(matches!(s.release(), Err(SyncError::ReleasedTooMany { bound: 1 })));
    /// assert!(m.semaphore("b", 1).is_err()); // bounded, not plain
    /// ```
    pub fn bounded_semaphore(&self, name: &str, value: u32) -> Result<BoundedSemaphore> {
        self.get_or_create(
            name,
            SegmentKind::Semaphore,
            |full| {
                Ok(persisted(
                    BoundedSemaphore::create(full, value)?,
                    BoundedSemaphore::segment,
                ))
            },
            |full| Ok(BoundedSemaphore::open(full)?),
        )
    }

    /// The condition variable `name` with its own robust lock (Python's
    /// `manager.Condition()`, mproc-sync's [`Condition`]).
    ///
    /// # Errors
    ///
    /// As [`lock`](Manager::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let m = mproc_dict::Manager::create("doc-manager-condition").unwrap();
    /// let c = m.condition("c").unwrap();
    /// let held = c.lock().unwrap();
    /// let (held, res) = c.wait_timeout(held, Duration::from_millis(1)).unwrap();
    /// assert!(res.timed_out());
    /// drop(held);
    /// c.notify_all();
    /// ```
    pub fn condition(&self, name: &str) -> Result<Condition> {
        self.get_or_create(
            name,
            SegmentKind::Condition,
            |full| Ok(persisted(Condition::create(full)?, Condition::segment)),
            |full| Ok(Condition::open(full)?),
        )
    }

    /// The event `name` (mproc-sync's [`Event`]).
    ///
    /// # Errors
    ///
    /// As [`lock`](Manager::lock).
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
            |full| Ok(persisted(Event::create(full)?, Event::segment)),
            |full| Ok(Event::open(full)?),
        )
    }

    /// The barrier `name` for `parties` parties if new (Python's
    /// `manager.Barrier(parties)`, mproc-sync's [`Barrier`]).
    ///
    /// # Errors
    ///
    /// As [`lock`](Manager::lock); [`DictError::Sync`] with
    /// `InvalidArgument` for 0 or more than
    /// [`MAX_PARTIES`](mproc_sync::MAX_PARTIES) parties.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-barrier").unwrap();
    /// let b = m.barrier("start", 2).unwrap();
    /// let other = m.barrier("start", 5).unwrap(); // exists: 5 is ignored
    /// assert_eq!(other.parties(), 2);
    /// let mut idx = std::thread::scope(|s| {
    ///     let t = s.spawn(|| other.wait().unwrap());
    ///     vec![b.wait().unwrap(), t.join().unwrap()]
    /// });
    /// idx.sort();
    /// assert_eq!(idx, [0, 1]);
    /// ```
    pub fn barrier(&self, name: &str, parties: u32) -> Result<Barrier> {
        self.get_or_create(
            name,
            SegmentKind::Barrier,
            |full| Ok(persisted(Barrier::create(full, parties)?, Barrier::segment)),
            |full| Ok(Barrier::open(full)?),
        )
    }
}
