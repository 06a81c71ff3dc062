//! [`Consumer`]: a registered receiving handle.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mproc_sys::ProcessId;

use crate::acting_process::ActingProcess;
use crate::atomics::{AtomicU32, Ordering};
use crate::core::QueueCore;
use crate::records::Role;
use crate::ring::memory::{CANCELLED_LEN, RegionRing, RingMemory};
use crate::ring::mpmc::MpmcReader;
use crate::ring::spsc::SpscReader;
use crate::ring::{
    ClaimWords, RingError, Span, claim_or_closed, claim_or_closed_unless_reserved, is_closed,
};
use crate::slot::SlotRef;
use crate::wait::{CheckClock, Wait, after_miss};
use crate::waiter::Attempt;
use crate::{QueueError, QueueStats, Result, WaitStrategy};

pub(crate) enum Reader {
    Spsc(SpscReader<RegionRing<'static>>),
    Mpmc(MpmcReader<RegionRing<'static>>),
}

/// A consumer handle of a [`Queue`](crate::Queue),
/// [`SpscQueue`](crate::SpscQueue) or [`JoinableQueue`](crate::JoinableQueue),
/// registered in the queue's segment under the calling process. Moved
/// into the closure of a `Process` started by fork, it passes to the child
/// (as a [`Producer`](crate::Producer) does).
///
/// `recv_into` and `recv_ref` allocate nothing; `recv` returns a `Vec`.
/// After `close`, consumers drain the queue and then get
/// [`Closed`](QueueError::Closed); if every producer died (or dropped its
/// handle) without closing, they get
/// [`Disconnected`](QueueError::Disconnected) once it is drained.
///
/// # Examples
///
/// ```
/// use mproc_queue::{Queue, QueueError, QueueOptions};
///
/// let q = Queue::new(QueueOptions::new()).unwrap();
/// let mut rx = q.consumer().unwrap();
/// let mut tx = q.producer().unwrap();
/// tx.send(b"last").unwrap();
/// q.close();
/// assert_eq!(rx.recv().unwrap(), b"last");
/// assert!(matches!(rx.recv(), Err(QueueError::Closed)));
/// ```
pub struct Consumer {
    pub(crate) core: Arc<QueueCore>,
    reader: Reader,
    record: u32,
    claim: ClaimWords<'static>,
    wait: WaitStrategy,
    me: ActingProcess,
    /// When the slow checks of a consumer that finds nothing are due.
    clock: CheckClock,
    /// The record's word that marks this handle asleep.
    parked: &'static AtomicU32,
    /// A claimed message not delivered yet (`recv_into` with a short
    /// buffer, `poll`): delivered first.
    pub(crate) pending: Option<(u64, usize)>,
    /// A pipe end's other ring, whose consumers are the processes that
    /// would produce here (see [`watch_peer`](Self::watch_peer)).
    peer: Option<Arc<QueueCore>>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("record", &self.record)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

/// What a claimed slot holds.
pub(crate) enum Slot {
    Message(usize),
    Skip,
}

impl Consumer {
    /// Registers a consumer of `core` for the calling process.
    pub(crate) fn attach(core: Arc<QueueCore>) -> Result<Consumer> {
        let me = ProcessId::current()?;
        let records = core.control.records;
        let exclusive = !core.is_mpmc();
        let record = records.attach(Role::Consumer, me, exclusive, |role, r| {
            core.claim_obsolete(role, r.claim_end())
        })?;
        core.control.consumers_seen.store(1, Ordering::Release);
        let claim = records.get(record)?.claim();
        let parked = records.get(record)?.parked();
        records.reap_parked(me);
        let reader = if core.is_mpmc() {
            Reader::Mpmc(MpmcReader::new(core.ring))
        } else {
            // Slots a dead predecessor took and never released are skipped
            // (at most once: the messages were in its hands), as MPMC frees
            // such a slot.
            let head = core.control.head.load(Ordering::Acquire);
            let held_end = records
                .dead_claim_end(Role::Consumer, me, head)
                .unwrap_or(head);
            let (reader, skipped) = SpscReader::resume(core.ring, held_end);
            if skipped > 0 {
                core.control.abandoned.fetch_add(skipped, Ordering::Relaxed);
                core.control.not_full.notify(skipped as u32);
            }
            Reader::Spsc(reader)
        };
        Ok(Consumer {
            wait: core.wait,
            core,
            reader,
            record,
            claim,
            me: ActingProcess::new(me),
            pending: None,
            clock: CheckClock::new(),
            parked,
            peer: None,
        })
    }

    /// For a pipe end: `peer` is the other ring, consumed by the process
    /// at the other end. While no producer ever registered here (the peer
    /// has only received so far), that process's death on `peer` counts as
    /// the producers' (`Disconnected` after draining), instead of nothing.
    pub(crate) fn watch_peer(&mut self, peer: Arc<QueueCore>) {
        self.peer = Some(peer);
    }

    /// Sets this handle's wait strategy.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions, WaitStrategy};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// let mut rx = q.consumer().unwrap();
    /// rx.set_wait_strategy(WaitStrategy::Park);
    /// assert_eq!(rx.wait_strategy(), WaitStrategy::Park);
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
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// assert_eq!(q.consumer().unwrap().wait_strategy(), WaitStrategy::default());
    /// ```
    pub fn wait_strategy(&self) -> WaitStrategy {
        self.wait
    }

    #[inline(always)]
    fn try_claim_once(&mut self, max: u64, check: bool) -> Result<Attempt<Span>> {
        // Set once every producer was found gone: the look that follows
        // decides between a message and `Disconnected`.
        let mut last_look = false;
        loop {
            let closed = self.core.control.closed;
            let r = match &mut self.reader {
                Reader::Spsc(r) => {
                    if check && let Err(RingError::Corrupt { field, value }) = r.validate() {
                        return Err(QueueError::Corrupt { field, value });
                    }
                    // The close handshake (`ring::recheck_closed`): a live
                    // producer's reservation made before it saw the close
                    // is a send that returns `Ok`: wait for its message.
                    let head = r.head();
                    let (core, me) = (&self.core, self.me.id());
                    let reserved =
                        || (core.control.records).reserved_past(head, core.layout.capacity, me);
                    match claim_or_closed_unless_reserved(closed, || r.try_claim(max), reserved) {
                        Ok(span) => {
                            // Recorded before the messages reach the caller,
                            // so that a successor skips what this process
                            // took should it die holding it.
                            self.claim.announce(span);
                            Ok(span)
                        }
                        other => other,
                    }
                }
                Reader::Mpmc(r) => {
                    let claim = self.claim;
                    match r.poll_claim(max, Some(claim)) {
                        Err(RingError::Empty) if check || is_closed(closed) => {
                            claim_or_closed(closed, || r.try_claim(max, Some(claim)))
                        }
                        other => other,
                    }
                }
            };
            return match r {
                Ok(span) => Ok(Attempt::Ready(span)),
                Err(RingError::Closed) => Err(QueueError::Closed),
                Err(RingError::Corrupt { field, value }) => {
                    Err(QueueError::Corrupt { field, value })
                }
                Err(RingError::Stalled { pos }) if check => {
                    if self.abandon_if_dead(pos) {
                        continue;
                    }
                    Ok(Attempt::Wait)
                }
                Err(RingError::Empty) if check => {
                    if last_look {
                        return Err(QueueError::Disconnected);
                    }
                    if self.producers_gone() {
                        // Anything a dead producer published is visible by
                        // now: look again before reporting, with the checks,
                        // so that an MPMC slot a dead producer reserved and
                        // never published is found stalled and skipped
                        // (`abandon_if_dead`) instead of hiding a message
                        // another producer published behind it before it
                        // went.
                        last_look = true;
                        continue;
                    }
                    Ok(Attempt::Wait)
                }
                Err(_) => Ok(Attempt::Wait),
            };
        }
    }

    /// Whether every producer is gone (see [`watch_peer`](Self::watch_peer)
    /// for a pipe end whose peer never produced).
    fn producers_gone(&self) -> bool {
        self.core
            .role_gone(Role::Producer, self.peer.as_deref(), self.me.id())
    }

    /// Publishes stalled position `pos` as abandoned if every producer that
    /// may hold it is dead, or no producer is left at all (a loan leaked
    /// with `mem::forget` by a handle since dropped has no record covering
    /// it: with nobody left to publish it, it is abandoned too).
    #[cold]
    fn abandon_if_dead(&self, pos: u64) -> bool {
        let c = &self.core.control;
        if let Reader::Mpmc(r) = &self.reader
            && (c.records.holders_dead(Role::Producer, pos, self.me.id()) || self.producers_gone())
            && r.abandon(pos)
        {
            c.abandoned.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Claims up to `max` published slots, waiting per `wait`.
    ///
    /// Inlined into each receive, like [`try_claim_once`](Self::try_claim_once),
    /// [`next`](Self::next), the copying receives, the rings' claim and
    /// release, and the producer's send path: as calls, the layers passed
    /// their `Result<Attempt<Span>>` through the stack, and those stores and
    /// wider reloads cost more than the hand-off itself. Inlined, a
    /// `recv_into` + `send` hop in one process went from 31-35 to 16-18 ns
    /// (SPSC) and from 25-33 to 16-20 ns (MPMC), and the busy-spin
    /// ping-pong between two processes from 1.62-1.77x to 1.26-1.51x the
    /// one-line atomic floor (SPSC) and from 1.85-2.08x to 1.42-1.83x
    /// (MPMC) on an AMD EPYC VM (`cargo bench --bench queue`, its report;
    /// six runs before, seven after, with the close handshake's slow part
    /// out of line too). The waiting part ([`after_miss`]) stays a call.
    #[inline(always)]
    pub(crate) fn claim(&mut self, max: u64, wait: &mut Wait) -> Result<Span> {
        // A message at once, the common case: no clock, no waiter.
        if let Attempt::Ready(span) = self.try_claim_once(max, false)? {
            return Ok(span);
        }
        // Only waiting and the checks that come with it act for a process.
        self.me.adopt_if_forked();
        let mut clock = self.clock;
        let waiter = self
            .core
            .control
            .not_empty
            .marked(self.parked, self.me.id().pid);
        // More messages than the one taken: worth another sleeper's wake.
        let (control, capacity) = (self.core.control, self.core.layout.capacity);
        let r = after_miss(
            wait,
            self.wait,
            waiter,
            &mut clock,
            || QueueError::Empty,
            move || crate::core::depth(&control, capacity) > 0,
            |check| self.try_claim_once(max, check),
        );
        self.clock = clock;
        r
    }

    /// What claimed slot `pos` holds.
    #[inline]
    pub(crate) fn slot(&self, pos: u64) -> Result<Slot> {
        let len = match &self.reader {
            Reader::Spsc(r) => r.message_len(pos),
            Reader::Mpmc(r) => {
                if r.is_tombstone(pos) {
                    return Ok(Slot::Skip);
                }
                r.message_len(pos)
            }
        };
        match len {
            Ok(len) if len as u32 == CANCELLED_LEN => Ok(Slot::Skip),
            Ok(len) => Ok(Slot::Message(len)),
            Err(RingError::Corrupt { field, value }) => Err(QueueError::Corrupt { field, value }),
            Err(_) => Err(QueueError::Corrupt {
                field: "message length",
                value: 0,
            }),
        }
    }

    /// Gives claimed slots back to the producers.
    #[inline]
    pub(crate) fn release(&mut self, span: Span) {
        match &mut self.reader {
            Reader::Spsc(r) => r.release(span.n),
            Reader::Mpmc(r) => r.release(span),
        }
        if self.core.control.not_full.notify(span.n as u32) {
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

    /// [`next`](Self::next) as a call, for the receives that hand out a
    /// [`SlotRef`]: those are inlined into the caller's crate (a guard
    /// returned from a call comes back through memory, and the caller's
    /// wide reload of the stores that wrote it was a third of a
    /// `recv_ref`), and the claim path they would carry is not.
    #[inline(never)]
    fn next_claimed(&mut self, wait: Wait) -> Result<(u64, usize)> {
        self.next(wait)
    }

    /// The next message, claimed: (position, length).
    #[inline(always)]
    pub(crate) fn next(&mut self, mut wait: Wait) -> Result<(u64, usize)> {
        if let Some(p) = self.pending.take() {
            return Ok(p);
        }
        loop {
            // A claim that blocked fixed the deadline in `wait`: the next
            // one (after a skipped slot) waits out what is left of it.
            let span = self.claim(1, &mut wait)?;
            match self.slot(span.pos) {
                Ok(Slot::Message(len)) => return Ok((span.pos, len)),
                Ok(Slot::Skip) => self.release(span),
                Err(e) => {
                    self.release(span);
                    return Err(e);
                }
            }
        }
    }

    /// Payload pointer of claimed slot `pos`.
    pub(crate) fn payload(&self, pos: u64) -> *const u8 {
        self.core.ring.payload(pos)
    }

    /// Borrows the next message in place, waiting for one; the slot is
    /// released when the [`SlotRef`] drops.
    ///
    /// A message borrowed from an MPMC queue and captured by a forked
    /// `Process`'s closure is the child's to release. An SPSC one must not
    /// go to a child while this process keeps the consumer: the parent
    /// releases it as the child starts, and the producer may then reuse the
    /// slot under the child's reading.
    ///
    /// # Errors
    ///
    /// [`QueueError::Closed`] once closed and drained,
    /// [`QueueError::Disconnected`] once drained with every producer gone,
    /// [`QueueError::Corrupt`].
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// q.producer().unwrap().send(b"in place").unwrap();
    /// let mut rx = q.consumer().unwrap();
    /// let msg = rx.recv_ref().unwrap();
    /// assert_eq!(&msg[..], b"in place");
    /// ```
    #[inline]
    pub fn recv_ref(&mut self) -> Result<SlotRef<'_>> {
        let (pos, len) = self.next_claimed(Wait::Forever)?;
        Ok(SlotRef::new(self, pos, len))
    }

    /// [`recv_ref`](Self::recv_ref) if a message is there now.
    ///
    /// # Errors
    ///
    /// [`QueueError::Empty`], and those of [`recv_ref`](Self::recv_ref).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueError, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// let mut rx = q.consumer().unwrap();
    /// assert!(matches!(rx.try_recv_ref(), Err(QueueError::Empty)));
    /// ```
    #[inline]
    pub fn try_recv_ref(&mut self) -> Result<SlotRef<'_>> {
        let (pos, len) = self.next_claimed(Wait::Never)?;
        Ok(SlotRef::new(self, pos, len))
    }

    /// [`recv_ref`](Self::recv_ref), waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`QueueError::Timeout`], and those of [`recv_ref`](Self::recv_ref).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use mproc_queue::{Queue, QueueError, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// let mut rx = q.consumer().unwrap();
    /// let err = rx.recv_ref_timeout(Duration::from_millis(1)).unwrap_err();
    /// assert!(matches!(err, QueueError::Timeout { .. }));
    /// ```
    #[inline]
    pub fn recv_ref_timeout(&mut self, timeout: Duration) -> Result<SlotRef<'_>> {
        let (pos, len) = self.next_claimed(Wait::Within(timeout))?;
        Ok(SlotRef::new(self, pos, len))
    }

    #[inline(always)]
    fn recv_into_with(&mut self, buf: &mut [u8], wait: Wait) -> Result<usize> {
        let (pos, len) = self.next(wait)?;
        if len > buf.len() {
            self.pending = Some((pos, len));
            return Err(QueueError::BufferTooSmall {
                len,
                buf: buf.len(),
            });
        }
        // SAFETY: the slot is claimed by this handle and len <= slot_size.
        unsafe {
            self.core
                .ring
                .read(pos, len, |b| crate::copy::copy_bytes(buf, b))
        };
        self.release(Span { pos, n: 1 });
        Ok(len)
    }

    /// Copies the next message into `buf`, waiting for one; returns its
    /// length.
    ///
    /// # Errors
    ///
    /// [`QueueError::BufferTooSmall`] (the message stays, delivered by the
    /// next receive), and those of [`recv_ref`](Self::recv_ref).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueError, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// q.producer().unwrap().send(b"12345").unwrap();
    /// let mut rx = q.consumer().unwrap();
    /// let mut small = [0u8; 2];
    /// assert!(matches!(rx.recv_into(&mut small), Err(QueueError::BufferTooSmall { len: 5, buf: 2 })));
    /// let mut buf = [0u8; 8];
    /// let n = rx.recv_into(&mut buf).unwrap();
    /// assert_eq!(&buf[..n], b"12345");
    /// ```
    pub fn recv_into(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.recv_into_with(buf, Wait::Forever)
    }

    /// [`recv_into`](Self::recv_into) if a message is there now.
    ///
    /// # Errors
    ///
    /// [`QueueError::Empty`], and those of [`recv_into`](Self::recv_into).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueError, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// let mut rx = q.consumer().unwrap();
    /// assert!(matches!(rx.try_recv_into(&mut [0; 4]), Err(QueueError::Empty)));
    /// ```
    pub fn try_recv_into(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.recv_into_with(buf, Wait::Never)
    }

    /// Receives the next message as a new `Vec`, waiting for one.
    ///
    /// # Errors
    ///
    /// Those of [`recv_ref`](Self::recv_ref).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// q.producer().unwrap().send(b"v").unwrap();
    /// assert_eq!(q.consumer().unwrap().recv().unwrap(), b"v");
    /// ```
    pub fn recv(&mut self) -> Result<Vec<u8>> {
        Ok(self.recv_ref()?.to_vec())
    }

    /// [`recv`](Self::recv) if a message is there now.
    ///
    /// # Errors
    ///
    /// [`QueueError::Empty`], and those of [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueError, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// assert!(matches!(q.consumer().unwrap().try_recv(), Err(QueueError::Empty)));
    /// ```
    pub fn try_recv(&mut self) -> Result<Vec<u8>> {
        Ok(self.try_recv_ref()?.to_vec())
    }

    /// [`recv`](Self::recv), waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`QueueError::Timeout`], and those of [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// assert!(q.consumer().unwrap().recv_timeout(Duration::from_millis(1)).is_err());
    /// ```
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Vec<u8>> {
        Ok(self.recv_ref_timeout(timeout)?.to_vec())
    }

    /// Waits up to `timeout` (`None`: without limit) for a message without
    /// taking it; the next receive returns it.
    ///
    /// # Errors
    ///
    /// [`QueueError::Closed`], [`QueueError::Disconnected`],
    /// [`QueueError::Corrupt`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// let mut rx = q.consumer().unwrap();
    /// assert!(!rx.poll(Some(Duration::ZERO)).unwrap());
    /// q.producer().unwrap().send(b"x").unwrap();
    /// assert!(rx.poll(None).unwrap());
    /// assert_eq!(rx.recv().unwrap(), b"x");
    /// ```
    pub fn poll(&mut self, timeout: Option<Duration>) -> Result<bool> {
        if self.pending.is_some() {
            return Ok(true);
        }
        let wait = match timeout {
            Some(t) if t.is_zero() => Wait::Never,
            Some(t) => Wait::Within(t),
            None => Wait::Forever,
        };
        match self.next(wait) {
            Ok(p) => {
                self.pending = Some(p);
                Ok(true)
            }
            Err(QueueError::Empty | QueueError::Timeout { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A snapshot of the queue's counters.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// assert_eq!(q.consumer().unwrap().stats().consumers, 1);
    /// ```
    pub fn stats(&self) -> QueueStats {
        self.core.stats()
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.me.adopt_if_forked();
        let records = self.core.control.records;
        // The parent's copy of a handle a forked child's body captured:
        // the child's copy goes on receiving (and holds what is pending).
        if records.hand_over_if_forking(self.record, Role::Consumer, self.me.id()) {
            return;
        }
        // A forked child's copy of a handle its parent kept (a bare
        // `fork`) leaves the parent's record and pending message alone.
        if !records.stands_for(self.record, Role::Consumer, self.me.id()) {
            return;
        }
        if let Some((pos, _)) = self.pending.take() {
            self.release(Span { pos, n: 1 });
        }
        records.detach(self.record);
        self.core.control.not_full.notify_all();
    }
}
