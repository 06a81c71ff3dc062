//! [`QueueStats`]: what a queue holds and has seen.

/// A snapshot of a queue, for monitoring and the `mproc` command.
///
/// `sent` and `received` are the producers' and consumers' positions
/// (messages published and taken since creation, cancelled loans and
/// abandoned slots included). An SPSC producer publishes a message before
/// it counts it: one killed in between leaves `sent` (and `depth`) short
/// of what it published until a consumer reads those messages (`sent`
/// then follows `received`) or a new producer attaches (which recounts).
///
/// # Examples
///
/// ```
/// use mproc_queue::{Queue, QueueOptions};
///
/// let q = Queue::new(QueueOptions::new().capacity(8).slot_size(8)).unwrap();
/// let mut tx = q.producer().unwrap();
/// tx.send(b"a").unwrap();
/// let s = q.stats();
/// assert_eq!((s.capacity, s.slot_size, s.stride), (8, 8, 64));
/// assert_eq!((s.depth, s.sent, s.received, s.producers, s.consumers), (1, 1, 0, 1, 0));
/// assert_eq!(s.sleepers, 0);
/// assert!(s.segment_len >= 8 * 64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueStats {
    /// Slots in the ring.
    pub capacity: u64,
    /// Largest message.
    pub slot_size: usize,
    /// Bytes per slot: header plus payload, rounded up to 8 bytes (SPSC)
    /// or to 64-byte cache lines (MPMC; an even number of lines above one
    /// gets one line more, which keeps batches of such slots fast).
    pub stride: usize,
    /// Bytes of the whole segment (header, index lines, records, slots).
    pub segment_len: u64,
    /// Messages in the queue now, counting slots loaned but not committed
    /// and (MPMC) dropped loans not yet passed by a consumer (see the
    /// queues' `len`).
    pub depth: u64,
    /// Producer handles whose process is alive.
    pub producers: u64,
    /// Consumer handles whose process is alive.
    pub consumers: u64,
    /// Positions taken by producers.
    pub sent: u64,
    /// Positions taken by consumers.
    pub received: u64,
    /// Slots skipped or freed because the process holding them died.
    pub abandoned: u64,
    /// Handles asleep on the futex now, waiting for messages or for room
    /// (while there are any, every send or receive also makes a wake-up
    /// system call). One killed asleep is taken out of the count by the
    /// next handle that attaches or finds it woke nobody.
    pub sleepers: u64,
    /// Whether the queue was closed.
    pub closed: bool,
}
