//! [`RawEvent`] and [`Event`]: Python's `multiprocessing.Event`.

use std::time::{Duration, Instant};

use crate::loom::atomic::{AtomicU32, Ordering};
use crate::tag::{check_tag, tag};
use crate::{Result, WaitOutcome, WaitWord};

const EVENT_TAG: u32 = tag(b"EVNT");
/// Bit 0 of the word: the flag. Bits 1..: how many times it was set.
const FLAG: u32 = 1;

/// A process-shared event flag, 16 bytes `#[repr(C)]`: a [`WaitWord`]
/// holding `sets << 1 | flag`, and a tag.
///
/// `set` wakes every waiter in every process. A waiter returns `true` if
/// the flag was set at any moment during its wait, even if it was cleared
/// again before the waiter ran (Python's semantics): the count of sets in
/// the word tells it so.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let heap = mproc_shm::HeapRegion::new(64);
/// let ev = mproc_sync::RawEvent::init_in_place(&heap.region(), 0).unwrap();
/// assert!(!ev.wait_timeout(Duration::from_millis(1)));
/// ev.set();
/// assert!(ev.is_set() && ev.wait_timeout(Duration::ZERO));
/// ev.clear();
/// assert!(!ev.is_set());
/// ```
#[repr(C, align(8))]
pub struct RawEvent {
    word: WaitWord,
    tag: AtomicU32,
    _reserved: AtomicU32,
}

#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<RawEvent>() == 16);

// SAFETY: repr(C) of a WaitWord and atomics: no padding, any bit pattern is
// a valid value (every method tolerates any word), no pointers, no Drop.
#[cfg(not(loom))]
unsafe impl mproc_shm::ShmSafe for RawEvent {}

impl RawEvent {
    /// Bytes a `RawEvent` occupies in a region.
    pub const SIZE: u64 = 16;

    /// A cleared event (for memory that is not a segment: tests, loom).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!mproc_sync::RawEvent::new().is_set());
    /// ```
    pub fn new() -> RawEvent {
        RawEvent {
            word: WaitWord::new(0),
            tag: AtomicU32::new(EVENT_TAG),
            _reserved: AtomicU32::new(0),
        }
    }

    /// Writes a cleared event at `offset` in `region` and returns it.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm) for a bad range or a
    /// read-only region.
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(64);
    /// assert!(mproc_sync::RawEvent::init_in_place(&heap.region(), 48).is_ok());
    /// assert!(mproc_sync::RawEvent::init_in_place(&heap.region(), 56).is_err());
    /// ```
    #[cfg(not(loom))]
    pub fn init_in_place<'a>(region: &mproc_shm::Region<'a>, offset: u64) -> Result<&'a RawEvent> {
        let ev = region.get::<RawEvent>(offset)?;
        // Refuse a view of a read-only segment before writing anything.
        region.check_write(offset, RawEvent::SIZE)?;
        ev.word.value().store(0, Ordering::Relaxed);
        ev.tag.store(EVENT_TAG, Ordering::Relaxed);
        Ok(ev)
    }

    /// The event at `offset` in `region`, after checking its tag.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm),
    /// [`SyncError::Corrupt`](crate::SyncError::Corrupt).
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(64);
    /// assert!(mproc_sync::RawEvent::attach(&heap.region(), 0).is_err());
    /// ```
    #[cfg(not(loom))]
    pub fn attach<'a>(region: &mproc_shm::Region<'a>, offset: u64) -> Result<&'a RawEvent> {
        let ev = region.get::<RawEvent>(offset)?;
        check_tag("event", offset, ev.tag.load(Ordering::Relaxed), EVENT_TAG)?;
        Ok(ev)
    }

    /// Whether the flag is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = mproc_sync::RawEvent::new();
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        // Acquire pairs with the Release CAS in `set`: what the setter wrote
        // before setting is visible to a caller that sees the flag.
        self.word.value().load(Ordering::Acquire) & FLAG != 0
    }

    /// Sets the flag and wakes every waiter. Setting a set flag does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = mproc_sync::RawEvent::new();
    /// ev.set();
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub fn set(&self) {
        let word = self.word.value();
        let mut w = word.load(Ordering::Relaxed);
        loop {
            if w & FLAG != 0 {
                return;
            }
            // Count one more set (bits 1..) and raise the flag.
            let new = (w | FLAG).wrapping_add(2);
            // SYNC POINT: Release pairs with the Acquire loads in `is_set`
            // and `wait_until`.
            match word.compare_exchange_weak(w, new, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => w = now,
            }
        }
        self.word.wake_all();
    }

    /// Lowers the flag.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = mproc_sync::RawEvent::new();
    /// ev.set();
    /// ev.clear();
    /// assert!(!ev.is_set());
    /// ```
    pub fn clear(&self) {
        self.word.value().fetch_and(!FLAG, Ordering::Relaxed);
    }

    /// Blocks until the flag is set. Returns `true` (as Python's does).
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = mproc_sync::RawEvent::new();
    /// ev.set();
    /// assert!(ev.wait());
    /// ```
    pub fn wait(&self) -> bool {
        self.wait_until(None)
    }

    /// Blocks until the flag is set or `timeout` passes; returns whether it
    /// was set during the wait. A set followed at once by a clear still
    /// ends the wait with `true`, as in Python's `threading.Event`
    /// (`multiprocessing.Event.wait` reads the flag again after waking and
    /// can return `False` then).
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = mproc_sync::RawEvent::new();
    /// assert!(!ev.wait_timeout(std::time::Duration::from_millis(2)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        // A set flag is seen without reading the clock.
        self.is_set() || self.wait_until(Instant::now().checked_add(timeout))
    }

    /// Blocks until the flag is set or `deadline` (`None`: no limit);
    /// returns whether it was set during the wait.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = mproc_sync::RawEvent::new();
    /// assert!(!ev.wait_until(Some(std::time::Instant::now())));
    /// ```
    pub fn wait_until(&self, deadline: Option<Instant>) -> bool {
        let word = self.word.value();
        // SYNC POINT: Acquire pairs with the Release CAS in `set`.
        let start = word.load(Ordering::Acquire);
        if start & FLAG != 0 {
            return true;
        }
        let mut seen = start;
        loop {
            if self.word.wait_while_rechecking(seen, deadline) == WaitOutcome::TimedOut {
                return false;
            }
            let now = word.load(Ordering::Acquire);
            // Set now, or set (and maybe cleared) since we started.
            if now & FLAG != 0 || now >> 1 != start >> 1 {
                return true;
            }
            seen = now;
        }
    }
}

impl Default for RawEvent {
    fn default() -> RawEvent {
        RawEvent::new()
    }
}

impl std::fmt::Debug for RawEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawEvent")
            .field("set", &self.is_set())
            .finish()
    }
}

/// Python's `multiprocessing.Event` in its own segment: `set`, `clear`,
/// `is_set`, `wait`, `wait_timeout` (see [`RawEvent`], to which it
/// dereferences).
///
/// # Examples
///
/// ```
/// use mproc_sync::Event;
///
/// let ev = Event::create("doc-event").unwrap();
/// let same = Event::open("doc-event").unwrap(); // another process, really
/// ev.set();
/// assert!(same.is_set());
/// ```
#[cfg(not(loom))]
pub struct Event {
    shared: crate::shared::Shared<RawEvent>,
}

#[cfg(not(loom))]
impl Event {
    /// A cleared event in an anonymous segment shared with children forked
    /// later.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!mproc_sync::Event::new().unwrap().is_set());
    /// ```
    pub fn new() -> Result<Event> {
        Event::from_segment(Event::builder().create_anonymous()?)
    }

    /// A cleared event in a new named segment.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`](crate::SyncError::Shm).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_sync::Event::create("doc-event-create").is_ok());
    /// ```
    pub fn create(name: &str) -> Result<Event> {
        Event::from_segment(Event::builder().create(name)?)
    }

    fn builder() -> mproc_shm::SegmentBuilder<'static> {
        crate::shared::builder(mproc_shm::SegmentKind::Event, 64, [0; 8], |p| {
            RawEvent::init_in_place(p, 0).map(drop)
        })
    }
}

#[cfg(not(loom))]
crate::shared::handle_common!(Event, RawEvent, Event, |_| Ok(()), "Event::new()");
