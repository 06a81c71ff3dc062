//! [`Producer`]: a registered sending handle.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mproc_sys::ProcessId;

use crate::acting_process::ActingProcess;
use crate::atomics::{AtomicU32, Ordering};
use crate::core::QueueCore;
use crate::records::Role;
use crate::ring::memory::{CACHE_LINE, CANCELLED_LEN, MPMC_SLOT_HEADER, RegionRing, RingMemory};
use crate::ring::mpmc::MpmcWriter;
use crate::ring::spsc::SpscWriter;
use crate::ring::{ClaimWords, RingError, Span, recheck_closed, recheck_closed_after_cas};
use crate::slot::SlotMut;
use crate::wait::{CheckClock, Wait, after_miss};
use crate::waiter::Attempt;
use crate::{QueueError, QueueStats, Result, WaitStrategy};

/// Most cache lines past a slot's first that a batch prefetches for
/// writing (`Producer::prefetch_slot_tails`): enough for the short
/// messages whose slots span a few lines; longer messages are written as
/// streams, which the hardware prefetches by itself.
const PREFETCH_LINES: usize = 3;

/// Most slots of a batch whose lines are prefetched up front: 64 slots of
/// 4 lines are 16 KiB, half of a small L1 data cache.
const PREFETCH_SLOTS: u64 = 64;

pub(crate) enum Writer {
    Spsc(SpscWriter<RegionRing<'static>>),
    Mpmc(MpmcWriter<RegionRing<'static>>),
}

/// A producer handle of a [`Queue`](crate::Queue),
/// [`SpscQueue`](crate::SpscQueue) or [`JoinableQueue`](crate::JoinableQueue),
/// registered in the queue's segment under the calling process.
///
/// A handle moved into the closure of a `Process` started by fork passes
/// to the child: the parent's copy, dropped by `start`, hands its
/// registration over instead of unregistering, and the handle counts as
/// the child's from then on (its death is the producer's). After a bare
/// `fork`, make handles in the child: a copy of a handle the parent keeps
/// shares the parent's registration.
///
/// `send*`, `loan` and `commit` allocate nothing. Dropping the handle
/// unregisters it; once every producer is gone (dropped or its process
/// died) without `close`, consumers get
/// [`Disconnected`](QueueError::Disconnected) after draining.
///
/// # Examples
///
/// ```
/// use mproc_queue::{Queue, QueueOptions};
///
/// let q = Queue::new(QueueOptions::new().capacity(4).slot_size(16)).unwrap();
/// let mut tx = q.producer().unwrap();
/// let mut rx = q.consumer().unwrap();
/// tx.send(b"hello").unwrap();
/// assert_eq!(rx.recv().unwrap(), b"hello");
/// ```
pub struct Producer {
    pub(crate) core: Arc<QueueCore>,
    writer: Writer,
    record: u32,
    claim: ClaimWords<'static>,
    wait: WaitStrategy,
    me: ActingProcess,
    /// When the slow checks of a producer that finds no room are due.
    clock: CheckClock,
    /// The record's word that marks this handle asleep.
    parked: &'static AtomicU32,
    /// A pipe end's other ring, produced by the processes that would
    /// consume here (see [`watch_peer`](Self::watch_peer)).
    peer: Option<Arc<QueueCore>>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("record", &self.record)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

impl Producer {
    /// Registers a producer of `core` for the calling process.
    pub(crate) fn attach(core: Arc<QueueCore>) -> Result<Producer> {
        let me = ProcessId::current()?;
        let records = core.control.records;
        let exclusive = !core.is_mpmc();
        let record = records.attach(Role::Producer, me, exclusive, |role, r| {
            core.claim_obsolete(role, r.claim_end())
        })?;
        core.control.producers_seen.store(1, Ordering::Release);
        let claim = records.get(record)?.claim();
        let parked = records.get(record)?.parked();
        records.reap_parked(me);
        let writer = if core.is_mpmc() {
            Writer::Mpmc(MpmcWriter::new(core.ring))
        } else {
            Writer::Spsc(SpscWriter::new(core.ring))
        };
        Ok(Producer {
            wait: core.wait,
            core,
            writer,
            record,
            claim,
            me: ActingProcess::new(me),
            clock: CheckClock::new(),
            parked,
            peer: None,
        })
    }

    /// For a pipe end: `peer` is the other ring, produced by the process
    /// at the other end. While no consumer ever registered here (the peer
    /// has only sent so far), that process's death on `peer` counts as the
    /// consumers' (`Disconnected` on a full ring), instead of nothing.
    pub(crate) fn watch_peer(&mut self, peer: Arc<QueueCore>) {
        self.peer = Some(peer);
    }

    /// Whether every consumer is gone (see [`watch_peer`](Self::watch_peer)
    /// for a pipe end whose peer never consumed).
    fn consumers_gone(&self) -> bool {
        self.core
            .role_gone(Role::Consumer, self.peer.as_deref(), self.me.id())
    }

    /// Sets this handle's wait strategy.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions, WaitStrategy};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// tx.set_wait_strategy(WaitStrategy::BusySpin);
    /// assert_eq!(tx.wait_strategy(), WaitStrategy::BusySpin);
    /// ```
    pub fn set_wait_strategy(&mut self, strategy: WaitStrategy) {
        self.wait = strategy;
    }

    /// This handle's wait strategy.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions, WaitStrategy};
    /// let q = Queue::new(QueueOptions::new().wait(WaitStrategy::Park)).unwrap();
    /// assert_eq!(q.producer().unwrap().wait_strategy(), WaitStrategy::Park);
    /// ```
    pub fn wait_strategy(&self) -> WaitStrategy {
        self.wait
    }

    /// The largest message.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new().slot_size(100)).unwrap();
    /// assert_eq!(q.producer().unwrap().slot_size(), 100);
    /// ```
    pub fn slot_size(&self) -> usize {
        self.core.layout.slot_size
    }

    pub(crate) fn check_len(&self, len: usize) -> Result<()> {
        let max = self.core.layout.slot_size;
        if len > max {
            return Err(QueueError::TooLarge { len, max });
        }
        Ok(())
    }

    /// One reservation attempt of up to `max` slots.
    #[inline(always)]
    fn try_reserve_once(&mut self, max: u64, check: bool) -> Result<Attempt<Span>> {
        if self.core.is_closed() {
            return Err(QueueError::Closed);
        }
        let r = match &mut self.writer {
            Writer::Spsc(w) => w.try_reserve(max),
            Writer::Mpmc(w) => w.try_reserve(max, Some(self.claim)),
        };
        match r {
            Ok(span) => {
                // The close handshake (`ring::recheck_closed`): a consumer
                // that reports `Closed` must not miss this send should it
                // return `Ok`. It sees the reservation in the claim words
                // (SPSC) or in the tail that the reservation moved (MPMC).
                let closed = match self.writer {
                    Writer::Spsc(_) => {
                        self.claim.announce(span);
                        recheck_closed(self.core.control.closed)
                    }
                    Writer::Mpmc(_) => recheck_closed_after_cas(self.core.control.closed),
                };
                if closed {
                    // Given back (SPSC) or published as cancelled (MPMC),
                    // and any consumer waiting for it woken.
                    self.cancel(span);
                    return Err(QueueError::Closed);
                }
                Ok(Attempt::Ready(span))
            }
            Err(RingError::Full { pos }) => {
                if check && let Err(gone) = self.check_peers(pos) {
                    return self.room_or(max, gone);
                }
                Ok(Attempt::Wait)
            }
            Err(RingError::Corrupt { field, value }) => Err(QueueError::Corrupt { field, value }),
            Err(_) => Ok(Attempt::Wait),
        }
    }

    /// After the checks found every consumer gone (`gone`): the last
    /// consumer may have freed room before it went (between the look at the
    /// ring and the look at the consumers), so the ring is looked at once
    /// more; `gone` (`Disconnected`) is for a ring still full.
    #[cold]
    #[inline(never)]
    fn room_or(&mut self, max: u64, gone: QueueError) -> Result<Attempt<Span>> {
        match self.try_reserve_once(max, false)? {
            Attempt::Ready(span) => Ok(Attempt::Ready(span)),
            Attempt::Wait => Err(gone),
        }
    }

    /// The slow checks of a blocked producer: consumers gone, or a slot
    /// held by a dead consumer.
    #[cold]
    fn check_peers(&self, pos: u64) -> Result<()> {
        let c = &self.core.control;
        if let Writer::Mpmc(w) = &self.writer {
            let prev = pos.wrapping_sub(self.core.layout.capacity);
            if w.held_by_consumer(pos)
                && c.records.holders_dead(Role::Consumer, prev, self.me.id())
                && w.force_release(pos)
            {
                c.abandoned.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
        }
        if self.consumers_gone() {
            return Err(QueueError::Disconnected);
        }
        Ok(())
    }

    /// One slot reserved, as a call, for the loans: those are inlined into
    /// the caller's crate (see `Consumer::next_claimed`).
    #[inline(never)]
    fn reserve_slot(&mut self, mut wait: Wait) -> Result<Span> {
        self.reserve(1, &mut wait)
    }

    /// Reserves up to `max` slots: `None` = do not wait, `Some(deadline)`
    /// = wait (until the deadline, if any).
    ///
    /// Inlined into each send, always, for the reason given on
    /// `Consumer::claim`.
    #[inline(always)]
    pub(crate) fn reserve(&mut self, max: u64, wait: &mut Wait) -> Result<Span> {
        // Room at once, the common case: no clock, no waiter.
        if let Attempt::Ready(span) = self.try_reserve_once(max, false)? {
            return Ok(span);
        }
        // Only waiting and the checks that come with it act for a process.
        self.me.adopt_if_forked();
        let mut clock = self.clock;
        let waiter = self
            .core
            .control
            .not_full
            .marked(self.parked, self.me.id().pid);
        let capacity = self.core.layout.capacity;
        // Room beyond the slots taken: worth another sleeper's wake.
        let control = self.core.control;
        let r = after_miss(
            wait,
            self.wait,
            waiter,
            &mut clock,
            || QueueError::Full { capacity },
            move || crate::core::depth(&control, capacity) < capacity,
            |check| self.try_reserve_once(max, check),
        );
        self.clock = clock;
        r
    }

    /// Writes `msg` into reserved slot `pos` (length checked before).
    #[inline]
    pub(crate) fn write(&self, pos: u64, msg: &[u8]) {
        let ring = &self.core.ring;
        // SAFETY: `pos` is reserved by this handle and unpublished; the
        // caller checked msg.len() <= slot_size.
        unsafe { ring.write(pos, msg) };
        ring.len(pos).store(msg.len() as u32, Ordering::Relaxed);
    }

    /// Asks for the cache lines after the first of each MPMC slot in `span`
    /// ready to be written, up to `bytes` of payload (at most
    /// [`PREFETCH_LINES`] lines past the first, in the first
    /// [`PREFETCH_SLOTS`] slots), before a batch fills them.
    ///
    /// A reservation has just read each slot's first line (its sequence
    /// word), taking it from the consumer that released it; the lines after
    /// it are still shared with that consumer, and filling them would make
    /// every store wait for its line in turn. Asked for up front, the
    /// transfers overlap: batched 56..120-byte MPMC messages went from 30 to
    /// 57..74 M/s between two processes (8..48-byte slots, one line each,
    /// unchanged). With slots of an odd number of lines (`ring::memory::stride`)
    /// it still doubles them: 56 B 43 -> 88..90 M/s, 120 B 31 -> 74 M/s
    /// (A/B, three alternated runs). SPSC slots are not read before being
    /// filled and gain nothing.
    pub(crate) fn prefetch_slot_tails(&self, span: Span, bytes: usize) {
        let layout = &self.core.layout;
        if !matches!(self.writer, Writer::Mpmc(_)) || layout.stride() <= CACHE_LINE {
            return;
        }
        let end = (MPMC_SLOT_HEADER + bytes).min(CACHE_LINE * (1 + PREFETCH_LINES));
        // The first slots only: the lines asked for must still be in this
        // core's cache when the batch reaches them.
        let n = span.n.min(PREFETCH_SLOTS);
        for pos in (Span { pos: span.pos, n }).positions() {
            let slot = self
                .core
                .ring
                .payload(pos)
                .wrapping_sub(MPMC_SLOT_HEADER)
                .cast_const();
            for line in (CACHE_LINE..end).step_by(CACHE_LINE) {
                mproc_sys::prefetch_for_write(slot.wrapping_add(line));
            }
        }
    }

    /// Payload pointer of reserved slot `pos`.
    pub(crate) fn payload(&self, pos: u64) -> *mut u8 {
        self.core.ring.payload(pos)
    }

    /// Sets the length of reserved slot `pos`.
    pub(crate) fn set_len(&self, pos: u64, len: usize) {
        self.core.ring.len(pos).store(len as u32, Ordering::Relaxed);
    }

    /// Publishes the first `n` slots of `span` (lengths written).
    #[inline(always)]
    pub(crate) fn publish(&mut self, span: Span, n: u64) {
        let c = &self.core.control;
        if self.core.layout.joinable {
            // Counted before the messages are visible, so that a consumer's
            // task_done never sees a count that does not include them.
            c.unfinished.fetch_add(n, Ordering::AcqRel);
        }
        match &mut self.writer {
            Writer::Spsc(w) => {
                w.publish(n);
                if n < span.n {
                    // The rest of the reservation is given back.
                    self.claim.withdraw(Span {
                        pos: span.pos.wrapping_add(n),
                        n: span.n - n,
                    });
                }
            }
            Writer::Mpmc(w) => w.publish(Span { pos: span.pos, n }),
        }
        self.wake_consumers(n);
    }

    /// Gives back an unused reservation: for SPSC (never published) only
    /// its claim is withdrawn; MPMC slots are published as cancelled, for consumers to
    /// skip.
    pub(crate) fn cancel(&mut self, span: Span) {
        if let Writer::Spsc(_) = &self.writer {
            // A consumer waiting out this reservation after a close may
            // report `Closed` now.
            self.claim.withdraw(span);
            self.core.control.not_empty.notify_all();
        }
        if let Writer::Mpmc(w) = &self.writer {
            for pos in span.positions() {
                self.core
                    .ring
                    .len(pos)
                    .store(CANCELLED_LEN, Ordering::Relaxed);
            }
            w.publish(span);
            self.wake_consumers(span.n);
        }
    }

    /// Wakes consumers for `n` new slots: all of them once the queue is
    /// closed, since those waiting behind a reservation made before the
    /// close (`Stalled`) must each learn that it was the last.
    #[inline]
    fn wake_consumers(&mut self, n: u64) {
        let c = &self.core.control;
        if self.core.is_closed() {
            c.not_empty.notify_all();
        } else if c.not_empty.notify(n as u32) {
            self.reap_parked_if_due();
        }
    }

    /// After a notify that found sleepers counted but woke none: takes
    /// those killed asleep out of the counts, at most once per check
    /// interval (a live sleeper about to sleep also wakes none).
    #[cold]
    fn reap_parked_if_due(&mut self) {
        if self.clock.due(Instant::now()) {
            self.core.control.records.reap_parked(self.me.id());
        }
    }

    #[inline(always)]
    fn send_with(&mut self, msg: &[u8], mut wait: Wait) -> Result<()> {
        self.check_len(msg.len())?;
        let span = self.reserve(1, &mut wait)?;
        self.write(span.pos, msg);
        self.publish(span, 1);
        Ok(())
    }

    /// Sends a copy of `msg`, waiting while the queue is full.
    ///
    /// # Errors
    ///
    /// [`QueueError::TooLarge`] (nothing sent), [`QueueError::Closed`],
    /// [`QueueError::Disconnected`] if every consumer is gone while the
    /// queue is full, [`QueueError::Corrupt`].
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// tx.send(b"abc").unwrap();
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn send(&mut self, msg: &[u8]) -> Result<()> {
        self.send_with(msg, Wait::Forever)
    }

    /// Sends a copy of `msg` if there is room now.
    ///
    /// # Errors
    ///
    /// [`QueueError::Full`], and those of [`send`](Self::send).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueError, QueueOptions};
    /// let q = Queue::new(QueueOptions::new().capacity(1)).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// tx.try_send(b"a").unwrap();
    /// assert!(matches!(tx.try_send(b"b"), Err(QueueError::Full { capacity: 1 })));
    /// ```
    pub fn try_send(&mut self, msg: &[u8]) -> Result<()> {
        self.send_with(msg, Wait::Never)
    }

    /// Sends a copy of `msg`, waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// [`QueueError::Timeout`], and those of [`send`](Self::send).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use mproc_queue::{Queue, QueueError, QueueOptions};
    /// let q = Queue::new(QueueOptions::new().capacity(1)).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// tx.send(b"a").unwrap();
    /// let err = tx.send_timeout(b"b", Duration::from_millis(5)).unwrap_err();
    /// assert!(matches!(err, QueueError::Timeout { .. }));
    /// ```
    pub fn send_timeout(&mut self, msg: &[u8], timeout: Duration) -> Result<()> {
        self.send_with(msg, Wait::Within(timeout))
    }

    /// Lends the next free slot to fill in place, waiting for room;
    /// [`SlotMut::commit`] publishes it, dropping it publishes nothing.
    ///
    /// A loan of an MPMC queue captured by a forked `Process`'s closure is
    /// the child's to commit. An SPSC loan must not go to a child while
    /// this process keeps the producer: the producer's own tail moves only
    /// at publish, so the child's commit and this handle's next send
    /// would fill the same slot (the parent gives the loan back as the
    /// child starts).
    ///
    /// # Errors
    ///
    /// Those of [`send`](Self::send) but `TooLarge`.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new().slot_size(64)).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// let mut slot = tx.loan().unwrap();
    /// slot[..5].copy_from_slice(b"hello");
    /// slot.commit(5).unwrap();
    /// assert_eq!(q.consumer().unwrap().recv().unwrap(), b"hello");
    /// ```
    #[inline]
    pub fn loan(&mut self) -> Result<SlotMut<'_>> {
        let span = self.reserve_slot(Wait::Forever)?;
        Ok(SlotMut::new(self, span.pos))
    }

    /// [`loan`](Self::loan) if a slot is free now.
    ///
    /// # Errors
    ///
    /// [`QueueError::Full`], and those of [`loan`](Self::loan).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueError, QueueOptions};
    /// let q = Queue::new(QueueOptions::new().capacity(1)).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// tx.try_loan().unwrap().commit(0).unwrap();
    /// assert!(matches!(tx.try_loan(), Err(QueueError::Full { .. })));
    /// ```
    #[inline]
    pub fn try_loan(&mut self) -> Result<SlotMut<'_>> {
        let span = self.reserve_slot(Wait::Never)?;
        Ok(SlotMut::new(self, span.pos))
    }

    /// Closes the queue (see [`Queue::close`](crate::Queue::close)).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueError, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// tx.close();
    /// assert!(matches!(tx.send(b"x"), Err(QueueError::Closed)));
    /// ```
    pub fn close(&self) {
        self.core.close();
    }

    /// A snapshot of the queue's counters.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// tx.send(b"x").unwrap();
    /// assert_eq!(tx.stats().sent, 1);
    /// ```
    pub fn stats(&self) -> QueueStats {
        self.core.stats()
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.me.adopt_if_forked();
        let records = self.core.control.records;
        // The parent's copy of a handle a forked child's body captured:
        // the child's copy goes on sending.
        if records.hand_over_if_forking(self.record, Role::Producer, self.me.id()) {
            return;
        }
        // A forked child's copy of a handle its parent kept (a bare
        // `fork`) leaves the parent's record alone.
        if !records.stands_for(self.record, Role::Producer, self.me.id()) {
            return;
        }
        records.detach(self.record);
        // Blocked consumers re-check their peers.
        self.core.control.not_empty.notify_all();
    }
}
