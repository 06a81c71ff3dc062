//! [`RawBarrier`]: Python's `Barrier(n)` state machine over a
//! [`BarrierHeader`] and a table of [`PartySlot`]s, in shared memory.
//!
//! # State word
//!
//! | bits | meaning |
//! | --- | --- |
//! | 0..=15 | parties arrived in this generation |
//! | 16..=30 | generation, +1 at each release (mod 2^15) |
//! | 31 | broken |
//!
//! The last party to arrive moves `g | count` to `g+1 | 0` in one CAS
//! and wakes everyone. A waiter that sees generation `g+1` was released;
//! broken in its own generation, or any other generation (a `reset` moves
//! it by 2), means [`SyncError::BrokenBarrier`]. (With at most `parties`
//! threads using the barrier, the generation cannot move twice while one of
//! them sleeps: every release needs all of them.)
//!
//! # Dead parties
//!
//! Each thread that waits registers once in the party table (its thread id
//! and start time, as the lock's holder record), and marks there the
//! generation of each arrival before its arrival CAS and again, as
//! counted, after it. A waiter that has slept [`FIRST_PARTY_CHECK`], then
//! every [`PARTY_CHECK_INTERVAL`], looks for a registered party that set
//! out to arrive in the previous round or this one, has not counted in
//! this one, and is dead: that party will never come, so it breaks the
//! barrier for everyone rather than let them hang. A party that died after
//! its arrival counted does not break the round it arrived in (it breaks
//! the next); one killed between its CAS and its counted mark does (a
//! round broken early, never a hang). A
//! party that is done with the barrier while others go on calls
//! [`RawBarrier::leave`]. A thread that finds the table full takes over a
//! dead party's slot, or goes unregistered (then only timeouts protect
//! against its death).

use std::time::{Duration, Instant};

use crate::loom::atomic::{AtomicU32, Ordering};
use crate::party_table::{self, PartySlot};
use crate::tag::{check_field, check_tag, tag};
use crate::{Result, SyncError, WaitOutcome, WaitWord};

const BARRIER_TAG: u32 = tag(b"BARR");
const COUNT_MASK: u32 = 0xFFFF;
const GEN_SHIFT: u32 = 16;
const GEN_MASK: u32 = 0x7FFF;
const BROKEN: u32 = 1 << 31;
/// The most parties a barrier can have.
pub const MAX_PARTIES: u32 = COUNT_MASK;
/// How long a waiter sleeps before it first looks for dead parties.
pub const FIRST_PARTY_CHECK: Duration = Duration::from_millis(5);
/// How often a waiter looks for dead parties after the first time.
pub const PARTY_CHECK_INTERVAL: Duration = Duration::from_millis(20);

fn generation(s: u32) -> u32 {
    (s >> GEN_SHIFT) & GEN_MASK
}

/// The fixed part of a barrier in shared memory, 16 bytes `#[repr(C)]`:
/// the state word (a [`WaitWord`]), the number of parties, a tag. The
/// party table follows it.
///
/// # Examples
///
/// ```
/// let h = mproc_sync::BarrierHeader::new(3);
/// assert_eq!(h.parties(), 3);
/// ```
#[repr(C, align(8))]
pub struct BarrierHeader {
    state: WaitWord,
    parties: AtomicU32,
    tag: AtomicU32,
}

#[cfg(not(loom))]
const _: () =
    assert!(std::mem::size_of::<BarrierHeader>() == 16 && std::mem::size_of::<PartySlot>() == 16);

// SAFETY: repr(C) of a WaitWord and atomics: no padding, any bit pattern is
// a valid value (methods tolerate any state), no pointers, no Drop.
#[cfg(not(loom))]
unsafe impl mproc_shm::ShmSafe for BarrierHeader {}
impl BarrierHeader {
    /// A fresh header for `parties` parties (for memory that is not a
    /// segment; pair it with `parties` [`PartySlot`]s in
    /// [`RawBarrier::from_parts`]).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_sync::BarrierHeader::new(2).parties(), 2);
    /// ```
    pub fn new(parties: u32) -> BarrierHeader {
        BarrierHeader {
            state: WaitWord::new(0),
            parties: AtomicU32::new(parties),
            tag: AtomicU32::new(BARRIER_TAG),
        }
    }

    /// The number of parties.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_sync::BarrierHeader::new(7).parties(), 7);
    /// ```
    pub fn parties(&self) -> u32 {
        self.parties.load(Ordering::Relaxed)
    }
}

/// A view of a barrier in memory: its header and party table.
///
/// # Examples
///
/// ```
/// use mproc_sync::RawBarrier;
/// let heap = mproc_shm::HeapRegion::new(RawBarrier::size_for(1) as usize);
/// let b = RawBarrier::init_in_place(&heap.region(), 0, 1).unwrap();
/// assert_eq!(b.wait().unwrap(), 0); // one party: never waits
/// ```
#[derive(Clone, Copy)]
pub struct RawBarrier<'a> {
    header: &'a BarrierHeader,
    slots: &'a [PartySlot],
}

pub(crate) fn check_parties(parties: u32) -> Result<()> {
    if parties == 0 || parties > MAX_PARTIES {
        return Err(SyncError::InvalidArgument {
            what: "barrier",
            param: "parties",
            value: parties.into(),
            reason: "must be 1..=65535",
        });
    }
    Ok(())
}

impl<'a> RawBarrier<'a> {
    /// Bytes a barrier of `parties` parties occupies in a region.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_sync::RawBarrier::size_for(4), 16 + 4 * 16);
    /// ```
    pub const fn size_for(parties: u32) -> u64 {
        16 + 16 * parties as u64
    }

    /// A barrier over parts in ordinary memory (tests, loom).
    ///
    /// # Errors
    ///
    /// [`SyncError::InvalidArgument`] unless there are as many slots as
    /// parties and 1..=[`MAX_PARTIES`] of them.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_sync::{BarrierHeader, PartySlot, RawBarrier};
    /// let h = BarrierHeader::new(2);
    /// let slots = [PartySlot::new(), PartySlot::new()];
    /// assert!(RawBarrier::from_parts(&h, &slots).is_ok());
    /// assert!(RawBarrier::from_parts(&h, &slots[..1]).is_err());
    /// ```
    pub fn from_parts(header: &'a BarrierHeader, slots: &'a [PartySlot]) -> Result<RawBarrier<'a>> {
        check_parties(header.parties())?;
        if slots.len() != header.parties() as usize {
            return Err(SyncError::InvalidArgument {
                what: "barrier",
                param: "slots",
                value: slots.len() as u64,
                reason: "need one slot per party",
            });
        }
        Ok(RawBarrier { header, slots })
    }

    /// Writes a barrier of `parties` parties at `offset` in `region`
    /// ([`size_for`](Self::size_for) bytes).
    ///
    /// # Errors
    ///
    /// [`SyncError::InvalidArgument`], [`SyncError::Shm`] (a bad range,
    /// a read-only region).
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(64);
    /// assert!(mproc_sync::RawBarrier::init_in_place(&heap.region(), 0, 3).is_ok());
    /// assert!(mproc_sync::RawBarrier::init_in_place(&heap.region(), 0, 4).is_err()); // too small
    /// ```
    #[cfg(not(loom))]
    pub fn init_in_place(
        region: &mproc_shm::Region<'a>,
        offset: u64,
        parties: u32,
    ) -> Result<RawBarrier<'a>> {
        check_parties(parties)?;
        let header = region.get::<BarrierHeader>(offset)?;
        let slots = party_table::slots_at(region, offset, parties)?;
        // Refuse a view of a read-only segment before writing anything.
        region.check_write(offset, RawBarrier::size_for(parties))?;
        header.state.value().store(0, Ordering::Relaxed);
        header.parties.store(parties, Ordering::Relaxed);
        slots.iter().for_each(PartySlot::clear);
        header.tag.store(BARRIER_TAG, Ordering::Relaxed);
        Ok(RawBarrier { header, slots })
    }

    /// The barrier at `offset` in `region`, after checking its bytes.
    ///
    /// # Errors
    ///
    /// [`SyncError::Shm`], [`SyncError::Corrupt`] (wrong tag, impossible
    /// party count, more arrivals than parties, a table past the region).
    ///
    /// # Examples
    ///
    /// ```
    /// let heap = mproc_shm::HeapRegion::new(64);
    /// assert!(mproc_sync::RawBarrier::attach(&heap.region(), 0).is_err());
    /// ```
    #[cfg(not(loom))]
    pub fn attach(region: &mproc_shm::Region<'a>, offset: u64) -> Result<RawBarrier<'a>> {
        let header = region.get::<BarrierHeader>(offset)?;
        check_tag(
            "barrier",
            offset,
            header.tag.load(Ordering::Relaxed),
            BARRIER_TAG,
        )?;
        let parties = header.parties();
        let bad = parties == 0 || parties > MAX_PARTIES;
        check_field("barrier", offset, "parties", parties.into(), bad)?;
        let count = header.state.value().load(Ordering::Relaxed) & COUNT_MASK;
        check_field("barrier", offset, "state", count.into(), count >= parties)?;
        let slots = party_table::slots_at(region, offset, parties)?;
        Ok(RawBarrier { header, slots })
    }

    /// The number of parties.
    ///
    /// # Examples
    ///
    /// ```
    /// # let heap = mproc_shm::HeapRegion::new(64);
    /// let b = mproc_sync::RawBarrier::init_in_place(&heap.region(), 0, 3).unwrap();
    /// assert_eq!(b.parties(), 3);
    /// ```
    pub fn parties(&self) -> u32 {
        self.slots.len() as u32
    }

    /// How many parties wait in the current generation (0 if broken).
    ///
    /// # Examples
    ///
    /// ```
    /// # let heap = mproc_shm::HeapRegion::new(64);
    /// let b = mproc_sync::RawBarrier::init_in_place(&heap.region(), 0, 3).unwrap();
    /// assert_eq!(b.n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> u32 {
        let s = self.header.state.value().load(Ordering::Relaxed);
        if s & BROKEN != 0 { 0 } else { s & COUNT_MASK }
    }

    /// Whether the barrier is broken.
    ///
    /// # Examples
    ///
    /// ```
    /// # let heap = mproc_shm::HeapRegion::new(64);
    /// let b = mproc_sync::RawBarrier::init_in_place(&heap.region(), 0, 3).unwrap();
    /// b.abort();
    /// assert!(b.broken());
    /// b.reset();
    /// assert!(!b.broken());
    /// ```
    pub fn broken(&self) -> bool {
        self.header.state.value().load(Ordering::Relaxed) & BROKEN != 0
    }

    fn broken_error(&self) -> SyncError {
        SyncError::BrokenBarrier {
            parties: self.parties(),
        }
    }

    /// Breaks the barrier: every waiter, now and later, gets
    /// [`SyncError::BrokenBarrier`] until [`reset`](Self::reset).
    ///
    /// # Examples
    ///
    /// ```
    /// # let heap = mproc_shm::HeapRegion::new(64);
    /// let b = mproc_sync::RawBarrier::init_in_place(&heap.region(), 0, 2).unwrap();
    /// b.abort();
    /// assert!(b.wait().is_err());
    /// ```
    pub fn abort(&self) {
        self.header
            .state
            .value()
            .fetch_or(BROKEN, Ordering::Release);
        self.header.state.wake_all();
    }

    /// Returns the barrier to its empty state; parties waiting now get
    /// [`SyncError::BrokenBarrier`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let heap = mproc_shm::HeapRegion::new(64);
    /// let b = mproc_sync::RawBarrier::init_in_place(&heap.region(), 0, 1).unwrap();
    /// b.abort();
    /// b.reset();
    /// assert_eq!(b.wait().unwrap(), 0);
    /// ```
    pub fn reset(&self) {
        let word = self.header.state.value();
        let mut s = word.load(Ordering::Relaxed);
        loop {
            let new = ((generation(s) + 2) & GEN_MASK) << GEN_SHIFT;
            match word.compare_exchange_weak(s, new, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        self.header.state.wake_all();
    }

    /// Waits until all parties have called `wait`; returns this party's
    /// arrival index (`0..parties`, the last to arrive gets `parties - 1`).
    ///
    /// # Errors
    ///
    /// [`SyncError::BrokenBarrier`] if the barrier is or becomes broken
    /// (abort, reset, another party's timeout or death).
    ///
    /// # Examples
    ///
    /// ```
    /// # let heap = mproc_shm::HeapRegion::new(64);
    /// let b = mproc_sync::RawBarrier::init_in_place(&heap.region(), 0, 2).unwrap();
    /// let mut idx = std::thread::scope(|s| {
    ///     let t = s.spawn(|| b.wait().unwrap());
    ///     vec![b.wait().unwrap(), t.join().unwrap()]
    /// });
    /// idx.sort();
    /// assert_eq!(idx, [0, 1]);
    /// ```
    pub fn wait(&self) -> Result<u32> {
        self.wait_until(None)
    }

    /// [`wait`](Self::wait) for at most `timeout`; a timeout breaks the
    /// barrier for everyone (Python's semantics).
    ///
    /// # Errors
    ///
    /// [`SyncError::BrokenBarrier`], also on this party's own timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// # let heap = mproc_shm::HeapRegion::new(64);
    /// let b = mproc_sync::RawBarrier::init_in_place(&heap.region(), 0, 2).unwrap();
    /// assert!(b.wait_timeout(std::time::Duration::from_millis(2)).is_err());
    /// assert!(b.broken());
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<u32> {
        self.wait_until(Instant::now().checked_add(timeout))
    }

    /// [`wait`](Self::wait) until `deadline` (`None`: no limit).
    ///
    /// # Errors
    ///
    /// As [`wait_timeout`](Self::wait_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// # let heap = mproc_shm::HeapRegion::new(64);
    /// let b = mproc_sync::RawBarrier::init_in_place(&heap.region(), 0, 1).unwrap();
    /// assert_eq!(b.wait_until(None).unwrap(), 0);
    /// ```
    pub fn wait_until(&self, deadline: Option<Instant>) -> Result<u32> {
        let slot = party_table::register(self.slots);
        let parties = self.parties();
        let word = self.header.state.value();
        let mut s = word.load(Ordering::Acquire);
        let (my_gen, index, arrived) = loop {
            let count = s & COUNT_MASK;
            if s & BROKEN != 0 || count >= parties {
                return Err(self.broken_error());
            }
            let this_gen = generation(s);
            if let Some(slot) = slot {
                // Before the arrival CAS (Release): a checker that sees the
                // arrival also sees this.
                slot.mark_arriving(this_gen);
            }
            let last = count + 1 == parties;
            let new = if last {
                ((this_gen + 1) & GEN_MASK) << GEN_SHIFT
            } else {
                s + 1
            };
            // SYNC POINT: AcqRel. Release publishes this party's writes
            // before the barrier; the last party's Acquire, then its Release
            // that the waiters' Acquire loads read, hands everyone's writes
            // to everyone.
            match word.compare_exchange(s, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    if let Some(slot) = slot {
                        slot.mark_counted(this_gen);
                    }
                    if last {
                        self.header.state.wake_all();
                        return Ok(count);
                    }
                    break (this_gen, count, new);
                }
                Err(now) => s = now,
            }
        };
        self.await_release(my_gen, index, arrived, deadline)
    }

    fn await_release(
        &self,
        my_gen: u32,
        index: u32,
        mut cur: u32,
        deadline: Option<Instant>,
    ) -> Result<u32> {
        let word = self.header.state.value();
        let mut next_check = Instant::now() + FIRST_PARTY_CHECK;
        loop {
            if generation(cur) != my_gen {
                return if generation(cur) == (my_gen + 1) & GEN_MASK {
                    Ok(index)
                } else {
                    Err(self.broken_error()) // reset
                };
            }
            if cur & BROKEN != 0 {
                return Err(self.broken_error());
            }
            let wake_at = if cfg!(loom) {
                deadline
            } else {
                Some(deadline.map_or(next_check, |d| d.min(next_check)))
            };
            let outcome = self.header.state.wait_while(cur, wake_at);
            // SYNC POINT: Acquire pairs with the last party's Release CAS.
            cur = word.load(Ordering::Acquire);
            if outcome == WaitOutcome::Changed || generation(cur) != my_gen || cur & BROKEN != 0 {
                continue;
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                self.break_generation(my_gen);
            } else if !cfg!(loom) && now >= next_check {
                // (Not under loom, where every party counts as alive: the
                // check's loads, made or not by the wall clock, would make
                // the model's executions differ from run to run.)
                next_check = now + PARTY_CHECK_INTERVAL;
                let current = generation(cur);
                let previous = current.wrapping_sub(1) & GEN_MASK;
                if party_table::dead_party_missing(self.slots, current, previous) {
                    self.break_generation(my_gen);
                }
            }
            cur = word.load(Ordering::Acquire);
        }
    }

    /// Unregisters the calling thread: it will not wait on this barrier
    /// again, so its end must not break the barrier for the others. (A
    /// thread that ends without leaving, while the others go on to another
    /// round, breaks the barrier: from outside that is a party's death.)
    ///
    /// # Examples
    ///
    /// ```
    /// # let heap = mproc_shm::HeapRegion::new(64);
    /// let b = mproc_sync::RawBarrier::init_in_place(&heap.region(), 0, 1).unwrap();
    /// b.wait().unwrap();
    /// b.leave();
    /// ```
    pub fn leave(&self) {
        party_table::leave(self.slots);
    }

    /// Sets the broken bit if the barrier is still in generation `this_gen`.
    fn break_generation(&self, this_gen: u32) {
        let word = self.header.state.value();
        let mut s = word.load(Ordering::Relaxed);
        while generation(s) == this_gen && s & BROKEN == 0 {
            match word.compare_exchange_weak(s, s | BROKEN, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => {
                    self.header.state.wake_all();
                    return;
                }
                Err(now) => s = now,
            }
        }
    }
}

impl std::fmt::Debug for RawBarrier<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawBarrier")
            .field("parties", &self.parties())
            .field("n_waiting", &self.n_waiting())
            .field("broken", &self.broken())
            .finish()
    }
}
