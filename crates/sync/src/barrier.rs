//! [`Barrier`]: Python's `multiprocessing.Barrier(n)` in its own segment.

use std::time::Duration;

use mproc_shm::{Segment, SegmentKind};

#[cfg(doc)]
use crate::SyncError;
use crate::shared;
use crate::{RawBarrier, Result};

/// Python's `multiprocessing.Barrier(parties)` in its own segment, shared
/// with children forked later (`new`) or by name (`create` / `open`).
///
/// A timeout, an `abort`, or the death of a registered party breaks it for
/// everyone ([`SyncError::BrokenBarrier`](crate::SyncError::BrokenBarrier)); see [`RawBarrier`].
///
/// # Examples
///
/// ```
/// let b = mproc_sync::Barrier::create("doc-barrier", 2).unwrap();
/// let same = mproc_sync::Barrier::open("doc-barrier").unwrap(); // another process, really
/// let mut idx = std::thread::scope(|s| {
///     let t = s.spawn(|| same.wait().unwrap());
///     vec![b.wait().unwrap(), t.join().unwrap()]
/// });
/// idx.sort();
/// assert_eq!(idx, [0, 1]);
/// ```
pub struct Barrier {
    seg: Segment,
}

impl Barrier {
    /// A barrier for `parties` parties in an anonymous segment.
    ///
    /// # Errors
    ///
    /// [`SyncError::InvalidArgument`](crate::SyncError::InvalidArgument) for 0 or more than
    /// [`MAX_PARTIES`](crate::MAX_PARTIES) parties, [`SyncError::Shm`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_sync::Barrier::new(4).unwrap().parties(), 4);
    /// assert!(mproc_sync::Barrier::new(0).is_err());
    /// ```
    pub fn new(parties: u32) -> Result<Barrier> {
        Barrier::from_segment(Barrier::builder(parties)?.create_anonymous()?)
    }

    /// A barrier for `parties` parties in a new named segment.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), plus the name's errors.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_sync::Barrier::create("doc-barrier-create", 3).is_ok());
    /// ```
    pub fn create(name: &str, parties: u32) -> Result<Barrier> {
        Barrier::from_segment(Barrier::builder(parties)?.create(name)?)
    }

    /// Opens the barrier another process created under `name`.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm) (`NotFound`, `WrongKind`, ...),
    /// [`SyncError::Corrupt`](crate::SyncError::Corrupt).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_sync::Barrier::open("doc-barrier-missing").is_err());
    /// ```
    pub fn open(name: &str) -> Result<Barrier> {
        Barrier::from_segment(shared::open(name, SegmentKind::Barrier)?)
    }

    /// A handle on the barrier in `seg`, validating kind and bytes.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open), plus [`SyncError::Shm`](crate::SyncError::Shm)
    /// with `ReadOnly` naming the segment if it was opened
    /// [read-only](mproc_shm::SegmentOpener::read_only).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{Segment, SegmentKind};
    /// let blank = Segment::builder(SegmentKind::Barrier, 64).create_anonymous().unwrap();
    /// assert!(mproc_sync::Barrier::from_segment(blank).is_err());
    /// ```
    pub fn from_segment(seg: Segment) -> Result<Barrier> {
        shared::check_segment(&seg, SegmentKind::Barrier, "Barrier::from_segment")?;
        RawBarrier::attach(&seg.payload(), 0)?;
        Ok(Barrier { seg })
    }

    fn builder(parties: u32) -> Result<mproc_shm::SegmentBuilder<'static>> {
        // Validate before creating anything.
        crate::raw_barrier::check_parties(parties)?;
        Ok(shared::builder(
            SegmentKind::Barrier,
            RawBarrier::size_for(parties),
            [u64::from(parties), 0, 0, 0, 0, 0, 0, 0],
            move |p| RawBarrier::init_in_place(p, 0, parties).map(drop),
        ))
    }

    /// The barrier's state machine. Validated when the handle was made; the
    /// party count is re-read, so a peer that changed it meanwhile is
    /// reported rather than trusted.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = mproc_sync::Barrier::new(2).unwrap();
    /// assert_eq!(b.raw().unwrap().parties(), 2);
    /// ```
    ///
    /// # Errors
    ///
    /// [`SyncError::Corrupt`](crate::SyncError::Corrupt) if the segment's bytes changed to invalid ones.
    pub fn raw(&self) -> Result<RawBarrier<'_>> {
        RawBarrier::attach(&self.seg.payload(), 0)
    }

    /// See [`RawBarrier::wait`].
    ///
    /// # Errors
    ///
    /// [`SyncError::BrokenBarrier`](crate::SyncError::BrokenBarrier), [`SyncError::Corrupt`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_sync::Barrier::new(1).unwrap().wait().unwrap(), 0);
    /// ```
    pub fn wait(&self) -> Result<u32> {
        self.raw()?.wait()
    }

    /// See [`RawBarrier::wait_timeout`].
    ///
    /// # Errors
    ///
    /// [`SyncError::BrokenBarrier`](crate::SyncError::BrokenBarrier), [`SyncError::Corrupt`].
    ///
    /// # Examples
    ///
    /// ```
    /// let b = mproc_sync::Barrier::new(2).unwrap();
    /// assert!(b.wait_timeout(std::time::Duration::from_millis(1)).is_err());
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<u32> {
        self.raw()?.wait_timeout(timeout)
    }

    /// The number of parties.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_sync::Barrier::new(3).unwrap().parties(), 3);
    /// ```
    pub fn parties(&self) -> u32 {
        self.raw().map_or(0, |r| r.parties())
    }

    /// See [`RawBarrier::n_waiting`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_sync::Barrier::new(3).unwrap().n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> u32 {
        self.raw().map_or(0, |r| r.n_waiting())
    }

    /// See [`RawBarrier::broken`]; a corrupt barrier counts as broken.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!mproc_sync::Barrier::new(3).unwrap().broken());
    /// ```
    pub fn broken(&self) -> bool {
        self.raw().is_ok_and(|r| r.broken()) || self.raw().is_err()
    }

    /// See [`RawBarrier::leave`].
    ///
    /// # Errors
    ///
    /// [`SyncError::Corrupt`](crate::SyncError::Corrupt).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = mproc_sync::Barrier::new(1).unwrap();
    /// b.wait().unwrap();
    /// b.leave().unwrap();
    /// ```
    pub fn leave(&self) -> Result<()> {
        self.raw()?.leave();
        Ok(())
    }

    /// See [`RawBarrier::abort`].
    ///
    /// # Errors
    ///
    /// [`SyncError::Corrupt`](crate::SyncError::Corrupt).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = mproc_sync::Barrier::new(3).unwrap();
    /// b.abort().unwrap();
    /// assert!(b.broken());
    /// ```
    pub fn abort(&self) -> Result<()> {
        self.raw()?.abort();
        Ok(())
    }

    /// See [`RawBarrier::reset`].
    ///
    /// # Errors
    ///
    /// [`SyncError::Corrupt`](crate::SyncError::Corrupt).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = mproc_sync::Barrier::new(3).unwrap();
    /// b.abort().unwrap();
    /// b.reset().unwrap();
    /// assert!(!b.broken());
    /// ```
    pub fn reset(&self) -> Result<()> {
        self.raw()?.reset();
        Ok(())
    }

    /// The segment.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_sync::Barrier::new(1).unwrap().segment().name().is_none());
    /// ```
    pub fn segment(&self) -> &Segment {
        &self.seg
    }
}

impl std::fmt::Debug for Barrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.raw() {
            Ok(r) => r.fmt(f),
            Err(e) => f.debug_tuple("Barrier").field(&e).finish(),
        }
    }
}
