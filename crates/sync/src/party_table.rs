//! The barrier's party table: one [`PartySlot`] per party, naming the
//! thread that registered there (its id and start time) and the last
//! generation it arrived in, so that waiters can tell a dead party that
//! will never arrive from a slow one.

use crate::Result;
use crate::identity;
use crate::loom::atomic::{AtomicU32, AtomicU64, Ordering};

/// One registered party: its thread's record (id and start time, 0 when
/// free) and the last generation it arrived in. 16 bytes `#[repr(C)]`.
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
    arrived_gen: AtomicU32,
    _reserved: AtomicU32,
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
        self.arrived_gen.store(0, Ordering::Relaxed);
    }

    /// Records an arrival in generation `generation`, before the arrival's
    /// Release CAS: a checker that sees the arrival also sees this.
    pub(crate) fn mark_arrived(&self, generation: u32) {
        self.arrived_gen.store(generation, Ordering::Relaxed);
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
            arrived_gen: AtomicU32::new(0),
            _reserved: AtomicU32::new(0),
        }
    }
}

impl Default for PartySlot {
    fn default() -> PartySlot {
        PartySlot::new()
    }
}

/// Whether a registered party that arrived in generation `previous` (so
/// belongs to the current set of parties) is dead: it will never arrive in
/// the current generation. Parties absent for longer were replaced or left;
/// they are not waited for.
pub(crate) fn dead_party_missing(slots: &[PartySlot], previous: u32) -> bool {
    slots.iter().any(|slot| {
        let rec = slot.owner.load(Ordering::Acquire);
        rec != 0
            && slot.arrived_gen.load(Ordering::Acquire) == previous
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
        s.owner
            .compare_exchange(from, rec, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
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
