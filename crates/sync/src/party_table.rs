//! The barrier's party table: one [`PartySlot`] per party, naming the
//! thread that registered there (its id and start time) and the last
//! generation it set out to arrive in and was counted in, so that waiters
//! can tell a dead party that will never arrive from a slow one.

use crate::Result;
use crate::identity;
use crate::loom::atomic::{AtomicU32, AtomicU64, Ordering};

/// One registered party: its thread's record (id and start time, 0 when
/// free), the generation of its last arrival attempt (marked before the
/// arrival's compare-and-swap) and the last generation its arrival counted
/// in (stored after it). 16 bytes `#[repr(C)]`.
///
/// # Examples
///
/// ```
/// let slots: Vec<_> = (0..2).map(|_| mproc_sync::PartySlot::new()).collect();
/// assert_eq!(slots.len(), 2);
/// ```
#[repr(C, align(8))]
pub struct PartySlot {
    owner: AtomicU64,
    marked_gen: AtomicU32,
    counted_gen: AtomicU32,
}

#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<PartySlot>() == 16);

// SAFETY: repr(C) of atomics: no padding, any bit pattern is a valid
// value, no pointers, no Drop.
#[cfg(not(loom))]
unsafe impl mproc_shm::ShmSafe for PartySlot {}

impl PartySlot {
    /// Frees the slot (initialization).
    pub(crate) fn clear(&self) {
        self.owner.store(0, Ordering::Relaxed);
        self.marked_gen.store(0, Ordering::Relaxed);
        self.counted_gen.store(0, Ordering::Relaxed);
    }

    /// Records an arrival attempt in generation `generation`, before the
    /// arrival's Release CAS: a checker that sees the arrival also sees
    /// this.
    pub(crate) fn mark_arriving(&self, generation: u32) {
        self.marked_gen.store(generation, Ordering::Relaxed);
    }

    /// Records that the arrival in `generation` counted, after its CAS.
    pub(crate) fn mark_counted(&self, generation: u32) {
        // Release, read by the Acquire load in `dead_party_missing`. A
        // checker that misses it takes a party that died right after
        // arriving for one that never arrived, and breaks a round that
        // could have completed: early, never a hang.
        self.counted_gen
            .store(counted(generation), Ordering::Release);
    }

    /// A free slot.
    ///
    /// # Examples
    ///
    /// ```
    /// let _ = mproc_sync::PartySlot::new();
    /// ```
    pub fn new() -> PartySlot {
        PartySlot {
            owner: AtomicU64::new(0),
            marked_gen: AtomicU32::new(0),
            counted_gen: AtomicU32::new(0),
        }
    }
}

impl Default for PartySlot {
    fn default() -> PartySlot {
        PartySlot::new()
    }
}

/// The `counted_gen` word of an arrival counted in `generation`: the top
/// bit set, so that 0, a slot's word before its party ever counted, is no
/// generation's (generation 0 included).
const fn counted(generation: u32) -> u32 {
    generation | 1 << 31
}

/// Whether a registered party of the current set (its last arrival
/// attempt was in generation `current` or the one before, `previous`) did
/// not count in `current` and is dead: it will never arrive. That covers a
/// party that died between waits and one killed between marking its
/// attempt and counting. Parties absent for longer were replaced or left;
/// they are not waited for.
pub(crate) fn dead_party_missing(slots: &[PartySlot], current: u32, previous: u32) -> bool {
    slots.iter().any(|slot| {
        let rec = slot.owner.load(Ordering::Acquire);
        let marked = slot.marked_gen.load(Ordering::Acquire);
        rec != 0
            && (marked == current || marked == previous)
            && slot.counted_gen.load(Ordering::Acquire) != counted(current)
            && !identity::holder_alive(identity::record_tid(rec), rec)
    })
}

/// Unregisters the calling thread.
pub(crate) fn leave(slots: &[PartySlot]) {
    let rec = identity::record(identity::current());
    for s in slots {
        let _ = s
            .owner
            .compare_exchange(rec, 0, Ordering::AcqRel, Ordering::Relaxed);
    }
}

/// This thread's slot: found, claimed free, or taken over from a dead
/// party; `None` if the table is full of live parties.
pub(crate) fn register(slots: &[PartySlot]) -> Option<&PartySlot> {
    let rec = identity::record(identity::current());
    if let Some(s) = slots
        .iter()
        .find(|s| s.owner.load(Ordering::Relaxed) == rec)
    {
        return Some(s);
    }
    let claim = |s: &PartySlot, from: u64| {
        let won = s
            .owner
            .compare_exchange(from, rec, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok();
        if won {
            // A dead predecessor's count is not ours: until we count in a
            // round, we are missing from it should we die.
            s.counted_gen.store(0, Ordering::Relaxed);
        }
        won
    };
    if let Some(s) = slots
        .iter()
        .find(|s| s.owner.load(Ordering::Relaxed) == 0 && claim(s, 0))
    {
        return Some(s);
    }
    slots.iter().find(|s| {
        let old = s.owner.load(Ordering::Relaxed);
        old != 0 && !identity::holder_alive(identity::record_tid(old), old) && claim(s, old)
    })
}

/// The party table after the header at `offset`.
#[cfg(not(loom))]
pub(crate) fn slots_at<'a>(
    region: &mproc_shm::Region<'a>,
    offset: u64,
    parties: u32,
) -> Result<&'a [PartySlot]> {
    let start = offset + 16;
    let len = 16 * u64::from(parties);
    let table = region.sub(start, len)?;
    // The first slot's bounds and alignment, checked like any element.
    region.get::<PartySlot>(start)?;
    // SAFETY: `table` lies inside the region (checked by `sub`), its start
    // is aligned for PartySlot (checked by `get`), and it holds exactly
    // `parties` 16-byte slots; PartySlot is ShmSafe (any bytes valid,
    // atomics only), so shared references for 'a are sound.
    Ok(unsafe { std::slice::from_raw_parts(table.as_ptr().cast::<PartySlot>(), parties as usize) })
}
