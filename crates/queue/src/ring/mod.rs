//! The ring algorithms, on memory that knows nothing of segments: SPSC with
//! cached head and tail (rtrb-style) and MPMC with per-slot sequence numbers
//! (Vyukov-style). They run on a [`RegionRing`](memory::RegionRing) in a
//! segment, on a heap region under miri, and on loom cells under loom.

pub(crate) mod memory;
pub(crate) mod mpmc;
pub(crate) mod spsc;

#[cfg(all(test, loom))]
mod loom_models;
#[cfg(all(test, loom))]
mod loom_wake_models;
#[cfg(all(test, not(loom)))]
mod tests;

use crate::atomics::{AtomicU32, AtomicU64, Ordering};

/// A run of consecutive positions `pos..pos + n` reserved or claimed by one
/// handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// The first position.
    pub(crate) pos: u64,
    /// How many positions (at least 1).
    pub(crate) n: u64,
}

impl Span {
    /// The positions of the span, in order. Positions wrap at 2^64 like
    /// every index here (a corrupt or hostile segment can put them anywhere),
    /// so this is not `pos..pos + n`, which would be empty across the wrap.
    pub(crate) fn positions(self) -> impl Iterator<Item = u64> {
        (0..self.n).map(move |k| self.pos.wrapping_add(k))
    }
}

/// Why a ring operation could not proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RingError {
    /// No free slot at producer position `pos`.
    Full {
        /// The producers' position.
        pos: u64,
    },
    /// No message.
    Empty,
    /// Position `pos` was reserved by a producer that has not published it
    /// yet, and later positions may be ready (MPMC only).
    Stalled {
        /// The stalled position.
        pos: u64,
    },
    /// Empty, and the queue was closed.
    Closed,
    /// An index or sequence word holds an impossible value.
    Corrupt {
        /// Which word.
        field: &'static str,
        /// Its value.
        value: u64,
    },
}

/// Longer than any claim: capacities are at most 2^31.
const MAX_CLAIM: u64 = 1 << 32;

/// The range of positions a handle last tried to reserve or claim, kept in
/// its handle record so that others can tell, once it has died, which
/// stalled slot it held.
///
/// Stored `start` first: the intermediate range `[start, old_end)` is empty
/// or a part of the previous range, so a reader never sees a range that the
/// handle did not try to take.
#[derive(Clone, Copy)]
pub(crate) struct ClaimWords<'a> {
    pub(crate) start: &'a AtomicU64,
    pub(crate) end: &'a AtomicU64,
}

impl ClaimWords<'_> {
    /// Records `span` before the compare-and-swap that takes it.
    ///
    /// Relaxed: the CAS on head or tail that follows is a Release, and the
    /// stall detector reads these words after an Acquire load of that index
    /// (SYNC POINT with `RingError::Stalled`/`Full` handling).
    #[inline]
    pub(crate) fn announce(&self, span: Span) {
        self.start.store(span.pos, Ordering::Relaxed);
        self.end
            .store(span.pos.wrapping_add(span.n), Ordering::Relaxed);
    }

    /// Withdraws `span`, announced before a compare-and-swap that failed:
    /// the range now belongs to the handle that won it, and a stale claim
    /// left here would make this (live) handle look like a holder of it,
    /// so that the winner's slot could never be freed should the winner
    /// die. The range becomes empty (`start == end`); its end keeps
    /// `claim_end` meaningful for record reuse.
    ///
    /// Relaxed, like [`announce`](Self::announce): only this handle writes
    /// these words, and a detector that still sees the stale range merely
    /// waits for its next check.
    #[inline]
    pub(crate) fn withdraw(&self, span: Span) {
        self.end.store(span.pos, Ordering::Relaxed);
    }

    /// Whether the last announced range holds `pos` (modulo 2^64: a range
    /// may cross the wrap).
    ///
    /// A range is at most a lap, so one that looks longer than any
    /// capacity is empty: that is what a reader sees between the two
    /// stores of [`announce`](Self::announce) (the new start with the old,
    /// smaller end), and what a handle killed there leaves.
    pub(crate) fn covers(&self, pos: u64) -> bool {
        let start = self.start.load(Ordering::Relaxed);
        let end = self.end.load(Ordering::Relaxed);
        let len = end.wrapping_sub(start);
        len <= MAX_CLAIM && pos.wrapping_sub(start) < len
    }
}

/// Marks the queue closed: consumers drain, then get `Closed`.
#[inline]
pub(crate) fn close(closed: &AtomicU32) {
    // SYNC POINT: SeqCst pairs with the SeqCst fences of the close
    // handshake (`recheck_closed`, `claim_or_closed`) and with an MPMC
    // producer's SeqCst tail CAS and flag load (`recheck_closed_after_cas`);
    // it is also a release for the Acquire load in `is_closed`: a consumer
    // that sees the flag sees every message published before the close.
    closed.fetch_or(1, Ordering::SeqCst);
}

/// Whether the queue was closed.
#[inline]
pub(crate) fn is_closed(closed: &AtomicU32) -> bool {
    closed.load(Ordering::Acquire) != 0
}

/// The close handshake of an SPSC producer, after it recorded a fresh
/// reservation in its claim words: whether the queue was closed.
///
/// Dekker-style with SeqCst fences, so that neither side writes a line the
/// other polls. The producer stores its claim, fences, loads the flag; the
/// closer's RMW is SeqCst; a consumer that loads the flag set fences before
/// it reads the claims (`claim_or_closed`). If this load reads "open", it
/// is coherence-ordered before the close, so this fence precedes the close
/// in the single total order, which precedes the consumer's fence: the
/// consumer sees the reservation (`Records::reserved_past`) and waits for
/// its message instead of reporting `Closed`, which would lose a send that
/// returns `Ok` (C++20 [atomics.order]/4 and [atomics.fences]). If it reads
/// "closed", the producer sends nothing.
///
/// One fence per reservation, on no shared line: an RMW of the flag would
/// pull the flag's line away from a consumer that polls it.
#[inline]
pub(crate) fn recheck_closed(closed: &AtomicU32) -> bool {
    crate::atomics::fence(Ordering::SeqCst);
    closed.load(Ordering::Relaxed) != 0
}

/// The close handshake of an MPMC producer, right after the compare-and-swap
/// of the tail that took its reservation (made `SeqCst` for this): whether
/// the queue was closed.
///
/// No fence is needed: the CAS and this load are both `SeqCst`, so they
/// are in the single total order S in program order. If the load reads
/// "open", it precedes the closer's SeqCst RMW in S, which precedes the
/// fence of a consumer that saw the flag set (`claim_or_closed`); that
/// consumer's later load of the tail cannot read a value older than the
/// CAS, since its fence would then have to precede the CAS in S
/// (C++20 [atomics.order]/4), against CAS < load < close < fence. On x86
/// the CAS is a locked instruction either way, and the fence
/// `recheck_closed` adds would be a second one on every send.
///
/// Loom does not give `SeqCst` loads and stores their total order (its
/// issue 180: store buffering stays possible), so under loom this keeps
/// the fence, and the close-handshake models check the protocol with it.
#[inline]
pub(crate) fn recheck_closed_after_cas(closed: &AtomicU32) -> bool {
    if cfg!(loom) {
        return recheck_closed(closed);
    }
    closed.load(Ordering::SeqCst) != 0
}

/// Runs `try_claim`; if the ring is empty and closed, fences, looks again
/// and reports `Closed` (the closer's messages are visible once the flag
/// is). For a consumer whose producers' reservations are read from their
/// claim words (SPSC), see [`claim_or_closed_unless_reserved`].
#[inline]
pub(crate) fn claim_or_closed(
    closed: &AtomicU32,
    try_claim: impl FnMut() -> Result<Span, RingError>,
) -> Result<Span, RingError> {
    claim_or_closed_unless_reserved(closed, try_claim, || false)
}

/// [`claim_or_closed`] for an SPSC consumer: a `Closed` stands only if no
/// live producer holds a reservation ahead of the head (`reserved`, which
/// reads the producers' claim words and their liveness: see
/// [`recheck_closed`]); with one, the caller waits for its message
/// (`Empty`).
///
/// Without one, the ring is looked at once more before `Closed` is
/// reported. A producer whose send saw the flag open publishes its message,
/// returns `Ok`, and may end right after: if that happens between the look
/// at the ring and `reserved`'s look at its process, `reserved` finds the
/// reservation held by a process that is gone and answers `false`, though
/// the message is in the ring. A process seen ended has made its stores
/// visible (its exit passes through the kernel's own barriers before
/// `/proc` shows it), so this last look finds it.
#[inline]
pub(crate) fn claim_or_closed_unless_reserved(
    closed: &AtomicU32,
    mut try_claim: impl FnMut() -> Result<Span, RingError>,
    reserved: impl FnOnce() -> bool,
) -> Result<Span, RingError> {
    match try_claim() {
        Err(RingError::Empty) if is_closed(closed) => empty_and_closed(try_claim, reserved),
        other => other,
    }
}

/// The rest of [`claim_or_closed_unless_reserved`] once the ring looked
/// empty with the flag set, out of the receive path (a closed queue's last
/// calls).
#[cold]
#[inline(never)]
fn empty_and_closed(
    mut try_claim: impl FnMut() -> Result<Span, RingError>,
    reserved: impl FnOnce() -> bool,
) -> Result<Span, RingError> {
    // SYNC POINT: the consumer's fence of the close handshake
    // (`recheck_closed`): a caller that gets `Closed` and then reads the
    // producers' claims (here, `reserved`) sees every reservation made
    // before the producer could see the flag.
    crate::atomics::fence(Ordering::SeqCst);
    match try_claim() {
        Err(RingError::Empty) if reserved() => Err(RingError::Empty),
        Err(RingError::Empty) => match try_claim() {
            Err(RingError::Empty) => Err(RingError::Closed),
            other => other,
        },
        other => other,
    }
}
