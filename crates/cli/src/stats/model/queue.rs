//! A queue's numbers.

use serde::Serialize;

use super::{Field, plural, yes_no};

/// The live numbers of a queue (`SpscQueue`, `Queue`, `JoinableQueue`).
///
/// # Examples
///
/// ```
/// use mproc_cli::QueueStats;
///
/// let q = QueueStats { capacity: 64, slot_size: 48, stride: 56, depth: 3, producers: 1,
///                      consumers: 1, sent: 10, received: 7, abandoned: 0, sleepers: 0,
///                      closed: false, unfinished: None };
/// assert_eq!(q.summary(), "depth 3/64, 1 producer, 1 consumer, sent 10, received 7, abandoned 0");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    /// Slots in the ring.
    pub capacity: u64,
    /// The largest message, in bytes.
    pub slot_size: u64,
    /// Bytes per slot (slot header plus payload, rounded up to 8 bytes for
    /// SPSC queues, to whole cache lines for MPMC ones).
    pub stride: u64,
    /// Messages waiting to be received.
    pub depth: u64,
    /// Producer handles whose process is alive.
    pub producers: u64,
    /// Consumer handles whose process is alive.
    pub consumers: u64,
    /// Messages sent since creation.
    pub sent: u64,
    /// Messages received since creation.
    pub received: u64,
    /// Slots skipped or freed because the process holding them died.
    pub abandoned: u64,
    /// Handles asleep on the futex, waiting for messages or room.
    pub sleepers: u64,
    /// Whether the queue was closed.
    pub closed: bool,
    /// A `JoinableQueue`'s tasks not yet marked done.
    pub unfinished: Option<u64>,
}

impl QueueStats {
    /// One line for `mproc ls`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "depth {}/{}, {}, {}, sent {}, received {}, abandoned {}",
            self.depth,
            self.capacity,
            plural(self.producers, "producer"),
            plural(self.consumers, "consumer"),
            self.sent,
            self.received,
            self.abandoned
        );
        if let Some(u) = self.unfinished {
            s.push_str(&format!(", unfinished {u}"));
        }
        if self.closed {
            s.push_str(", closed");
        }
        s
    }

    pub(crate) fn fields(&self) -> Vec<Field> {
        let mut v = vec![
            ("capacity", self.capacity.to_string()),
            ("slot size", format!("{} bytes", self.slot_size)),
            ("stride", format!("{} bytes", self.stride)),
            ("depth", self.depth.to_string()),
            ("producers", self.producers.to_string()),
            ("consumers", self.consumers.to_string()),
            ("sent", self.sent.to_string()),
            ("received", self.received.to_string()),
            ("abandoned", self.abandoned.to_string()),
            ("asleep", self.sleepers.to_string()),
            ("closed", yes_no(self.closed)),
        ];
        if let Some(u) = self.unfinished {
            v.push(("unfinished", u.to_string()));
        }
        v
    }
}
