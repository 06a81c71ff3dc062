//! Many producers, many consumers: Vyukov's bounded queue. Each slot has a
//! sequence word saying whose turn it is; producers take positions with a
//! compare-and-swap on the tail, consumers on the head.
//!
//! A slot is `[seq: u64 | len: u32 | reserved: u32 | payload]`. Sequence
//! states of the slot that position `p` maps to (`cap` = capacity):
//!
//! | `seq`                  | meaning                                             |
//! | ---------------------- | --------------------------------------------------- |
//! | `2p`                   | free for the producer of `p` (or reserved by it)    |
//! | `2p + 1`               | holds the message of `p`, for the consumer of `p`   |
//! | `(2p + 1) \| TOMBSTONE` | `p`'s producer died before publishing: skip it      |
//! | `2(p + cap)`           | released by `p`'s consumer: free for `p + cap`      |
//!
//! Doubling the position keeps "full for `p`" and "free for `p + 1`"
//! distinct even with one slot, which plain Vyukov sequences cannot.

use super::memory::RingMemory;
use super::{ClaimWords, RingError, Span};
use crate::atomics::Ordering;

/// Set in a published sequence word whose message was abandoned.
pub(crate) const TOMBSTONE: u64 = 1 << 63;

#[inline]
fn empty_seq(pos: u64) -> u64 {
    pos.wrapping_mul(2) & !TOMBSTONE
}

#[inline]
fn full_seq(pos: u64) -> u64 {
    (pos.wrapping_mul(2) | 1) & !TOMBSTONE
}

/// Signed distance `a - b` in the 63-bit sequence space.
#[inline]
fn distance(a: u64, b: u64) -> i64 {
    ((a.wrapping_sub(b)) << 1) as i64 >> 1
}

/// Lays out a fresh MPMC ring: slot `i` free for position `i`.
pub(crate) fn init<M: RingMemory>(mem: &M) {
    free_slots_from(mem, 0);
}

/// Marks every slot free for the lap of positions that starts at `start`.
fn free_slots_from<M: RingMemory>(mem: &M, start: u64) {
    for k in 0..mem.capacity() {
        let pos = start.wrapping_add(k);
        mem.seq(pos).store(empty_seq(pos), Ordering::Relaxed);
    }
}

/// Lays out a fresh MPMC ring whose positions start at `start`, with head
/// and tail there (tests of positions near the 2^64 wrap).
#[cfg(all(test, not(loom)))]
pub(crate) fn init_at<M: RingMemory>(mem: &M, start: u64) {
    free_slots_from(mem, start);
    mem.head().store(start, Ordering::Relaxed);
    mem.tail().store(start, Ordering::Relaxed);
}

/// The producing side of an MPMC ring (one per producer handle).
pub(crate) struct MpmcWriter<M> {
    mem: M,
}

impl<M: RingMemory> MpmcWriter<M> {
    /// A writer on `mem`.
    pub(crate) fn new(mem: M) -> MpmcWriter<M> {
        MpmcWriter { mem }
    }

    /// The memory.
    #[cfg(test)]
    pub(crate) fn mem(&self) -> &M {
        &self.mem
    }

    /// Reserves up to `max` consecutive free slots at the tail, announcing
    /// the attempt in `claim` first. The slots are this writer's until it
    /// publishes them; consumers wait for them (or skip them once this
    /// process is dead).
    #[inline(always)]
    pub(crate) fn try_reserve(
        &self,
        max: u64,
        claim: Option<ClaimWords<'_>>,
    ) -> Result<Span, RingError> {
        let mem = &self.mem;
        let cap = mem.capacity();
        // SYNC POINT: every load of the tail here is Acquire, pairing with
        // the Release in the reservers' CAS (the tail's RMWs form one
        // release sequence). A tail of `t` then implies that we see slot
        // `t - cap` at least as far along as its reserver saw it (free for
        // `t - cap`), so a sequence word further behind is garbage, not a
        // stale read. With Relaxed loads the word may be read stale on a
        // weakly ordered CPU and a healthy ring reported `Corrupt`.
        let mut tail = mem.tail().load(Ordering::Acquire);
        loop {
            // SYNC POINT: Acquire pairs with the Release store in
            // `MpmcReader::release` (and `force_release`): the last consumer
            // of this slot is done reading it.
            let seq = mem.seq(tail).load(Ordering::Acquire) & !TOMBSTONE;
            let d = distance(seq, empty_seq(tail));
            if d == 0 {
                let mut n = 1;
                while n < max.min(cap) {
                    let next = tail.wrapping_add(n);
                    if mem.seq(next).load(Ordering::Acquire) & !TOMBSTONE != empty_seq(next) {
                        break;
                    }
                    n += 1;
                }
                let span = Span { pos: tail, n };
                if let Some(c) = claim {
                    c.announce(span);
                }
                // Release: publishes the claim words to stall detectors that
                // load the tail with Acquire. SeqCst: the close handshake
                // orders this CAS before the producer's load of the closed
                // flag (`recheck_closed_after_cas`).
                match mem.tail().compare_exchange_weak(
                    tail,
                    tail.wrapping_add(n),
                    Ordering::SeqCst,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return Ok(span),
                    Err(now) => {
                        if let Some(c) = claim {
                            c.withdraw(span);
                        }
                        tail = now;
                    }
                }
            } else if d < 0 {
                // Full: the previous lap's position is reserved (-2cap) or
                // published and not yet released (-2cap + 1). Any other
                // word behind our tail is garbage, unless the tail moved.
                let full = d == -2 * cap as i64 || d == -2 * cap as i64 + 1;
                let now = mem.tail().load(Ordering::Acquire);
                if now == tail {
                    if !full {
                        return Err(RingError::Corrupt {
                            field: "slot sequence",
                            value: seq,
                        });
                    }
                    return Err(RingError::Full { pos: tail });
                }
                tail = now;
            } else {
                // The slot is ahead of our tail: another producer took it, so
                // the tail must have moved; if it has not, the word is bogus.
                let now = mem.tail().load(Ordering::Acquire);
                if now == tail {
                    return Err(RingError::Corrupt {
                        field: "slot sequence",
                        value: seq,
                    });
                }
                tail = now;
            }
            crate::atomics::spin_loop();
        }
    }

    /// Publishes reserved slots (their lengths written).
    #[inline(always)]
    pub(crate) fn publish(&self, span: Span) {
        for pos in span.positions() {
            // SYNC POINT: Release pairs with the Acquire load of seq in
            // `MpmcReader::try_claim`: the consumer sees the message bytes.
            self.mem.seq(pos).store(full_seq(pos), Ordering::Release);
        }
    }

    /// Whether the slot that blocks position `pos` (full at
    /// [`RingError::Full`]) was claimed by a consumer that has not released
    /// it yet, rather than merely unconsumed.
    pub(crate) fn held_by_consumer(&self, pos: u64) -> bool {
        let prev = pos.wrapping_sub(self.mem.capacity());
        // SYNC POINT: Acquire pairs with the Release CAS of head in
        // `MpmcReader::try_claim`, so that the claim words are visible.
        let head = self.mem.head().load(Ordering::Acquire);
        distance(head, prev) > 0
            && self.mem.seq(pos).load(Ordering::Acquire) & !TOMBSTONE == full_seq(prev)
    }

    /// Frees the slot of position `pos - capacity` that a dead consumer
    /// claimed and never released; its message is lost (it was in the dead
    /// process's hands). Returns whether this call freed it.
    pub(crate) fn force_release(&self, pos: u64) -> bool {
        let prev = pos.wrapping_sub(self.mem.capacity());
        let seq = self.mem.seq(pos);
        let cur = seq.load(Ordering::Acquire);
        if cur & !TOMBSTONE != full_seq(prev) {
            return false;
        }
        // SYNC POINT: Release pairs with the Acquire load in `try_reserve`.
        seq.compare_exchange(cur, empty_seq(pos), Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }
}

/// The consuming side of an MPMC ring (one per consumer handle).
pub(crate) struct MpmcReader<M> {
    mem: M,
}

impl<M: RingMemory> MpmcReader<M> {
    /// A reader on `mem`.
    pub(crate) fn new(mem: M) -> MpmcReader<M> {
        MpmcReader { mem }
    }

    /// The memory.
    #[cfg(test)]
    pub(crate) fn mem(&self) -> &M {
        &self.mem
    }

    /// Claims up to `max` consecutive published slots at the head,
    /// announcing the attempt in `claim` first. When nothing is ready,
    /// tells [`RingError::Empty`] from [`RingError::Stalled`] (a load of
    /// the producers' tail).
    #[inline]
    pub(crate) fn try_claim(
        &self,
        max: u64,
        claim: Option<ClaimWords<'_>>,
    ) -> Result<Span, RingError> {
        self.claim_inner(max, claim, true)
    }

    /// [`try_claim`](Self::try_claim) for spinning: when nothing is ready
    /// it reports `Empty` without reading the producers' tail, whose cache
    /// line a spinning consumer would otherwise pull from the producer on
    /// every attempt. `Empty` here may be `Stalled`.
    #[inline(always)]
    pub(crate) fn poll_claim(
        &self,
        max: u64,
        claim: Option<ClaimWords<'_>>,
    ) -> Result<Span, RingError> {
        self.claim_inner(max, claim, false)
    }

    #[inline(always)]
    fn claim_inner(
        &self,
        max: u64,
        claim: Option<ClaimWords<'_>>,
        classify: bool,
    ) -> Result<Span, RingError> {
        let mem = &self.mem;
        let cap = mem.capacity();
        // SYNC POINT: every load of the head here is Acquire, pairing with
        // the Release in the claimers' CAS (the head's RMWs form one
        // release sequence). A head of `h` then implies that we see slot
        // `h`'s previous position `h - cap` at least published (its claimer
        // saw that), so a sequence word further behind is garbage, not a
        // stale read. With Relaxed loads the word may be read stale on a
        // weakly ordered CPU and a healthy ring reported `Corrupt`.
        let mut head = mem.head().load(Ordering::Acquire);
        loop {
            // SYNC POINT: Acquire pairs with the Release store in
            // `MpmcWriter::publish` (and `abandon`).
            let seq = mem.seq(head).load(Ordering::Acquire) & !TOMBSTONE;
            let d = distance(seq, full_seq(head));
            if d == 0 {
                let mut n = 1;
                while n < max.min(cap) {
                    let next = head.wrapping_add(n);
                    if mem.seq(next).load(Ordering::Acquire) & !TOMBSTONE != full_seq(next) {
                        break;
                    }
                    n += 1;
                }
                let span = Span { pos: head, n };
                if let Some(c) = claim {
                    c.announce(span);
                }
                match mem.head().compare_exchange_weak(
                    head,
                    head.wrapping_add(n),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return Ok(span),
                    Err(now) => {
                        // Another consumer took `span` (or the CAS failed
                        // spuriously): our claim must not cover its slot.
                        if let Some(c) = claim {
                            c.withdraw(span);
                        }
                        head = now;
                    }
                }
            } else if d < 0 {
                let now = mem.head().load(Ordering::Acquire);
                if now != head {
                    head = now;
                    continue;
                }
                // Not published yet: the slot is free or reserved for our
                // position (-1), or the previous lap's consumer has not
                // released it (-2cap). Anything else is garbage: reporting
                // it as empty would wait forever for a message that no
                // live producer holds.
                if d != -1 && d != -2 * cap as i64 {
                    return Err(RingError::Corrupt {
                        field: "slot sequence",
                        value: seq,
                    });
                }
                if !classify {
                    return Err(RingError::Empty);
                }
                // SYNC POINT: Acquire pairs with the Release CAS of tail in
                // `MpmcWriter::try_reserve` (claim words of the reserver).
                let tail = mem.tail().load(Ordering::Acquire);
                let ahead = distance(tail, head);
                if ahead <= 0 {
                    // Nothing reserved past the head (a tail older than the
                    // head we read is a stale view of the same thing).
                    return Err(RingError::Empty);
                }
                if ahead as u64 > cap {
                    // Legitimate only if the head moved while we were
                    // away (a descheduled reader); with the head still
                    // where it was, producers cannot be a lap ahead.
                    let now = mem.head().load(Ordering::Acquire);
                    if now != head {
                        head = now;
                        continue;
                    }
                    return Err(RingError::Corrupt {
                        field: "tail",
                        value: tail,
                    });
                }
                return Err(RingError::Stalled { pos: head });
            } else {
                let now = mem.head().load(Ordering::Acquire);
                if now == head {
                    return Err(RingError::Corrupt {
                        field: "slot sequence",
                        value: seq,
                    });
                }
                head = now;
            }
            crate::atomics::spin_loop();
        }
    }

    /// Whether claimed slot `pos` holds an abandoned message (to skip).
    #[inline]
    pub(crate) fn is_tombstone(&self, pos: u64) -> bool {
        self.mem.seq(pos).load(Ordering::Relaxed) & TOMBSTONE != 0
    }

    /// The length of the message in claimed slot `pos`.
    #[inline]
    pub(crate) fn message_len(&self, pos: u64) -> Result<usize, RingError> {
        let len = self.mem.len(pos).load(Ordering::Relaxed);
        if len as usize > self.mem.slot_size() && len != super::memory::CANCELLED_LEN {
            return Err(RingError::Corrupt {
                field: "message length",
                value: len.into(),
            });
        }
        Ok(len as usize)
    }

    /// Releases claimed slots to the producers of the next lap.
    #[inline(always)]
    pub(crate) fn release(&self, span: Span) {
        let cap = self.mem.capacity();
        for pos in span.positions() {
            // SYNC POINT: Release pairs with the Acquire load of seq in
            // `MpmcWriter::try_reserve`: our reads of the slot are done.
            self.mem
                .seq(pos)
                .store(empty_seq(pos.wrapping_add(cap)), Ordering::Release);
        }
    }

    /// Publishes stalled position `pos` as a tombstone, for consumers to
    /// skip, because its producer died holding it. Returns whether this
    /// call did it (the producer may have published after all).
    pub(crate) fn abandon(&self, pos: u64) -> bool {
        // SYNC POINT: Release pairs with the Acquire load in `try_claim`.
        self.mem
            .seq(pos)
            .compare_exchange(
                empty_seq(pos),
                full_seq(pos) | TOMBSTONE,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
    }
}
