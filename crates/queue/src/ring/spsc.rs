//! Single producer, single consumer: head and tail positions. The producer
//! keeps a cached copy of the head (rtrb's design) and reads the
//! consumer's line only when its view runs out of room.
//!
//! A slot is `[len: u32 | stamp: u32 | payload]`. Publishing a slot stores
//! its stamp, the low 32 bits of `position + 1`, after the payload (then the
//! tail, for counts and checks); the consumer tests the stamp of the slot
//! at its head instead of loading the tail. A spinning consumer then reads
//! only the slot it is about to read anyway, and the producer's tail line
//! never travels: one cache-line transfer per message, the physical floor
//! of a hand-off. A stale stamp (from `capacity` positions ago) never
//! matches, since capacity is at most 2^31, and neither does the zero
//! stamp of a slot never written ([`stamp_of`] is never 0).

use super::memory::RingMemory;
use super::{RingError, Span};
use crate::atomics::Ordering;

/// The producing side of an SPSC ring.
pub(crate) struct SpscWriter<M> {
    mem: M,
    /// Next position to write (our own copy of the shared tail).
    tail: u64,
    /// The consumer's head as last read.
    cached_head: u64,
}

impl<M: RingMemory> SpscWriter<M> {
    /// The writer, starting at the ring's current tail, or past it if a
    /// previous writer died between stamping slots and storing the tail:
    /// those slots are published (the consumer reads them by their stamps)
    /// and must not be written again.
    pub(crate) fn new(mem: M) -> SpscWriter<M> {
        // Acquire: see what the previous writer published before its store.
        let mut tail = mem.tail().load(Ordering::Acquire);
        let cached_head = mem.head().load(Ordering::Acquire);
        let cap = mem.capacity();
        let ahead = cached_head.wrapping_sub(tail);
        if ahead != 0 && ahead <= cap {
            tail = cached_head;
        }
        let mut skipped = 0;
        while skipped < cap
            && mem
                .stamp(tail.wrapping_add(skipped))
                .load(Ordering::Acquire)
                == stamp_of(tail.wrapping_add(skipped))
        {
            skipped += 1;
        }
        tail = tail.wrapping_add(skipped);
        if tail != mem.tail().load(Ordering::Relaxed) {
            mem.tail().store(tail, Ordering::Release);
        }
        SpscWriter {
            mem,
            tail,
            cached_head,
        }
    }

    /// The memory.
    #[cfg(test)]
    pub(crate) fn mem(&self) -> &M {
        &self.mem
    }

    /// Reserves up to `max` free slots starting at the tail; nothing is
    /// visible to the consumer until [`publish`](Self::publish).
    #[inline]
    pub(crate) fn try_reserve(&mut self, max: u64) -> Result<Span, RingError> {
        let cap = self.mem.capacity();
        let mut used = self.tail.wrapping_sub(self.cached_head);
        if used > cap || cap - used < max {
            // SYNC POINT: Acquire pairs with the Release store of head in
            // `SpscReader::release`: the consumer is done with every slot
            // before the head, so they may be overwritten.
            self.cached_head = self.mem.head().load(Ordering::Acquire);
            used = self.tail.wrapping_sub(self.cached_head);
            if used > cap {
                return Err(RingError::Corrupt {
                    field: "head",
                    value: self.cached_head,
                });
            }
        }
        let free = cap - used;
        if free == 0 {
            return Err(RingError::Full { pos: self.tail });
        }
        Ok(Span {
            pos: self.tail,
            n: free.min(max.max(1)),
        })
    }

    /// Publishes the first `n` slots of the last reservation with one
    /// store. Their lengths must have been written.
    #[inline]
    pub(crate) fn publish(&mut self, n: u64) {
        for pos in (0..n).map(|k| self.tail.wrapping_add(k)) {
            // SYNC POINT: Release pairs with the Acquire stamp load in
            // `SpscReader::try_claim`: the consumer sees the slot's bytes.
            self.mem.stamp(pos).store(stamp_of(pos), Ordering::Release);
        }
        self.tail = self.tail.wrapping_add(n);
        // Release: readers of the tail (counts, the slow path's checks)
        // see the slots published.
        self.mem.tail().store(self.tail, Ordering::Release);
    }
}

/// The stamp of positions whose `position + 1` has zero low bits, in
/// place of 0: the stamp of a slot never written (rings are not laid out
/// at creation, which would touch every page). The slot's other laps
/// next to such a position `p` are stamped otherwise: `p - capacity` with
/// `2^32 - capacity` and `p + capacity` with `capacity`, neither of which
/// is `2^31 + 1` for a power of two capacity of at most 2^31.
const WRAP_STAMP: u32 = 0x8000_0001;

/// The stamp that marks slot `pos` published: the low 32 bits of
/// `pos + 1`, or [`WRAP_STAMP`] where those are 0, so that a fresh slot
/// matches no position, however corrupt the index that leads to it.
#[inline]
pub(crate) fn stamp_of(pos: u64) -> u32 {
    match pos.wrapping_add(1) as u32 {
        0 => WRAP_STAMP,
        stamp => stamp,
    }
}

/// The consuming side of an SPSC ring.
pub(crate) struct SpscReader<M> {
    mem: M,
    /// Next position to read (our own copy of the shared head).
    head: u64,
}

impl<M: RingMemory> SpscReader<M> {
    /// The reader, starting at the ring's current head.
    pub(crate) fn new(mem: M) -> SpscReader<M> {
        let head = mem.head().load(Ordering::Acquire);
        SpscReader { mem, head }
    }

    /// The reader, starting past the slots `[head, held_end)` that a dead
    /// predecessor claimed and never released (`held_end` from its handle
    /// record): those messages were in the dead process's hands and are
    /// not delivered again. Returns the reader and how many slots it
    /// skipped (0 if `held_end` is not ahead of the head by at most a lap,
    /// or the slots are not published: a record's words are untrusted).
    pub(crate) fn resume(mem: M, held_end: u64) -> (SpscReader<M>, u64) {
        let mut reader = SpscReader::new(mem);
        let held = held_end.wrapping_sub(reader.head);
        if held == 0 || held > reader.mem.capacity() {
            return (reader, 0);
        }
        // Only slots that were published can have been claimed.
        let n = match reader.try_claim(held) {
            Ok(span) => span.n,
            Err(_) => 0,
        };
        if n > 0 {
            reader.release(n);
        }
        (reader, n)
    }

    /// The memory.
    #[cfg(test)]
    pub(crate) fn mem(&self) -> &M {
        &self.mem
    }

    /// Claims up to `max` published slots starting at the head; they stay
    /// the reader's until [`release`](Self::release).
    #[inline]
    pub(crate) fn try_claim(&mut self, max: u64) -> Result<Span, RingError> {
        let limit = max.clamp(1, self.mem.capacity());
        let mut n = 0;
        // SYNC POINT: Acquire pairs with the Release stamp store in
        // `SpscWriter::publish`: the slot's length and bytes are visible.
        while n < limit
            && self
                .mem
                .stamp(self.head.wrapping_add(n))
                .load(Ordering::Acquire)
                == stamp_of(self.head.wrapping_add(n))
        {
            n += 1;
        }
        if n == 0 {
            return Err(RingError::Empty);
        }
        Ok(Span { pos: self.head, n })
    }

    /// The next position to read.
    pub(crate) fn head(&self) -> u64 {
        self.head
    }

    /// Checks the shared tail against our head (the slow path's sanity
    /// check: the fast path never reads the tail).
    pub(crate) fn validate(&self) -> Result<(), RingError> {
        let tail = self.mem.tail().load(Ordering::Acquire);
        // The head may run ahead of the tail by a batch the producer has
        // stamped but not yet counted in the tail; never by more than a lap.
        let ahead = tail.wrapping_sub(self.head) as i64;
        if ahead.unsigned_abs() > self.mem.capacity() {
            return Err(RingError::Corrupt {
                field: "tail",
                value: tail,
            });
        }
        Ok(())
    }

    /// The length of the message in claimed slot `pos`.
    #[inline]
    pub(crate) fn message_len(&self, pos: u64) -> Result<usize, RingError> {
        let len = self.mem.len(pos).load(Ordering::Relaxed);
        if len as usize > self.mem.slot_size() {
            return Err(RingError::Corrupt {
                field: "message length",
                value: len.into(),
            });
        }
        Ok(len as usize)
    }

    /// Releases the first `n` claimed slots to the producer with one store.
    #[inline]
    pub(crate) fn release(&mut self, n: u64) {
        self.head = self.head.wrapping_add(n);
        // SYNC POINT: Release pairs with the Acquire load of head in
        // `SpscWriter::try_reserve`: our reads of the slots are done.
        self.mem.head().store(self.head, Ordering::Release);
    }
}
