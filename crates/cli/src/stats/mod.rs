//! Per-kind statistics: what a segment holds beyond its header.
//!
//! Each kind's numbers come from the crate that lays that kind out, read
//! without registering as a producer, consumer or holder and without
//! writing: segments are mapped read-only here.

use serde::Serialize;

use mproc_shm::SegmentInfo;

mod kinds;

/// The live numbers of a queue (`SpscQueue`, `Queue`, `JoinableQueue`,
/// `Pipe`).
///
/// # Examples
///
/// ```
/// use mproc_cli::QueueStats;
///
/// let q = QueueStats { capacity: 64, slot_size: 48, depth: 3, producers: 1, consumers: 1,
///                      sent: 10, received: 7, abandoned: 0 };
/// assert_eq!(q.sent - q.received, q.depth);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    /// Slots in the ring.
    pub capacity: u64,
    /// The largest message, in bytes.
    pub slot_size: u64,
    /// Messages waiting to be received.
    pub depth: u64,
    /// Attached producers.
    pub producers: u64,
    /// Attached consumers.
    pub consumers: u64,
    /// Messages sent since creation.
    pub sent: u64,
    /// Messages received since creation.
    pub received: u64,
    /// Loans or receptions left unfinished by processes that died.
    pub abandoned: u64,
}

/// The live numbers of a shared dict.
///
/// # Examples
///
/// ```
/// use mproc_cli::DictStats;
///
/// let d = DictStats { len: 12, generation: 1, bytes_used: 4096, bytes_free: None, bytes_total: None };
/// assert_eq!(d.len, 12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DictStats {
    /// Entries.
    pub len: u64,
    /// The segment generation (grows when the table is full).
    pub generation: u64,
    /// Arena bytes holding live keys and values.
    pub bytes_used: u64,
    /// Arena bytes free for reuse, if known.
    pub bytes_free: Option<u64>,
    /// Arena bytes in all, if known.
    pub bytes_total: Option<u64>,
}

/// Who holds a lock.
///
/// # Examples
///
/// ```
/// use mproc_cli::LockStats;
///
/// let l = LockStats { held: true, holder_pid: Some(4242), holder_alive: Some(false) };
/// assert!(l.held);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LockStats {
    /// Whether it is held now.
    pub held: bool,
    /// The holder's pid, if held and known.
    pub holder_pid: Option<i32>,
    /// Whether the holder lives, if known (a dead holder means the next
    /// `lock()` recovers it).
    pub holder_alive: Option<bool>,
}

/// The statistics of one segment, by kind.
///
/// # Examples
///
/// ```
/// use mproc_cli::{KindStats, LockStats};
///
/// let s = KindStats::Lock(LockStats { held: false, holder_pid: None, holder_alive: None });
/// assert_eq!(s.summary(), "free");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum KindStats {
    /// A queue's numbers.
    Queue(QueueStats),
    /// A dict's numbers.
    Dict(DictStats),
    /// A lock's state.
    Lock(LockStats),
}

impl KindStats {
    /// One line for `mproc ls`.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_cli::{KindStats, DictStats};
    ///
    /// let d = KindStats::Dict(DictStats { len: 3, generation: 1, bytes_used: 2048,
    ///                                     bytes_free: None, bytes_total: None });
    /// assert_eq!(d.summary(), "len 3, generation 1, 2.0 KiB used");
    /// ```
    pub fn summary(&self) -> String {
        match self {
            KindStats::Queue(q) => format!(
                "depth {}/{}, {} producer{}, {} consumer{}, sent {}, received {}, abandoned {}",
                q.depth,
                q.capacity,
                q.producers,
                plural(q.producers),
                q.consumers,
                plural(q.consumers),
                q.sent,
                q.received,
                q.abandoned
            ),
            KindStats::Dict(d) => format!(
                "len {}, generation {}, {} used",
                d.len,
                d.generation,
                crate::human_bytes(d.bytes_used)
            ),
            KindStats::Lock(l) => match (l.held, l.holder_pid, l.holder_alive) {
                (false, _, _) => "free".to_owned(),
                (true, Some(pid), Some(true)) => format!("held by pid {pid}"),
                (true, Some(pid), Some(false)) => format!("held by pid {pid} (dead)"),
                (true, Some(pid), None) => format!("held by pid {pid}"),
                (true, None, _) => "held".to_owned(),
            },
        }
    }

    /// Every statistic as a label and a value, for `mproc inspect`.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_cli::{KindStats, LockStats};
    ///
    /// let s = KindStats::Lock(LockStats { held: true, holder_pid: Some(7), holder_alive: Some(true) });
    /// assert_eq!(s.fields()[0], ("held", "yes".to_owned()));
    /// ```
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let opt = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        match self {
            KindStats::Queue(q) => vec![
                ("capacity", q.capacity.to_string()),
                ("slot size", format!("{} bytes", q.slot_size)),
                ("depth", q.depth.to_string()),
                ("producers", q.producers.to_string()),
                ("consumers", q.consumers.to_string()),
                ("sent", q.sent.to_string()),
                ("received", q.received.to_string()),
                ("abandoned", q.abandoned.to_string()),
            ],
            KindStats::Dict(d) => vec![
                ("len", d.len.to_string()),
                ("generation", d.generation.to_string()),
                ("bytes used", d.bytes_used.to_string()),
                ("bytes free", opt(d.bytes_free)),
                ("bytes total", opt(d.bytes_total)),
            ],
            KindStats::Lock(l) => vec![
                ("held", yes_no(l.held).to_owned()),
                (
                    "holder pid",
                    l.holder_pid
                        .map_or_else(|| "-".to_owned(), |p| p.to_string()),
                ),
                (
                    "holder alive",
                    l.holder_alive.map_or("-", yes_no).to_owned(),
                ),
            ],
        }
    }

    /// The queue numbers, if this is a queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_cli::{KindStats, LockStats};
    /// let s = KindStats::Lock(LockStats { held: false, holder_pid: None, holder_alive: None });
    /// assert!(s.as_queue().is_none());
    /// ```
    pub fn as_queue(&self) -> Option<&QueueStats> {
        match self {
            KindStats::Queue(q) => Some(q),
            _ => None,
        }
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub(crate) fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// What reading a segment's statistics gave.
///
/// # Examples
///
/// ```
/// use mproc_cli::StatsOutcome;
/// assert!(StatsOutcome::NotAvailable.stats().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsOutcome {
    /// The kind has no statistics (raw bytes, a segment not ready), or
    /// this build does not read them yet.
    NotAvailable,
    /// The numbers.
    Read(KindStats),
    /// The segment's layout could not be read: why.
    Failed(String),
}

impl StatsOutcome {
    /// The numbers, if they were read.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_cli::StatsOutcome;
    /// assert!(StatsOutcome::Failed("corrupt".into()).stats().is_none());
    /// ```
    pub fn stats(&self) -> Option<&KindStats> {
        match self {
            StatsOutcome::Read(s) => Some(s),
            _ => None,
        }
    }
}

/// Reads the statistics of a listed segment: only for ready segments of a
/// kind this build knows how to read; anything wrong with the segment's
/// layout is [`StatsOutcome::Failed`], never a panic.
///
/// # Examples
///
/// ```
/// use mproc_shm::Segment;
/// use mproc_cli::{read_stats, StatsOutcome};
///
/// let _raw = Segment::create("doc-cli-read-stats", 64).unwrap();
/// let info = mproc_shm::inspect("doc-cli-read-stats").unwrap();
/// assert_eq!(read_stats(&info), StatsOutcome::NotAvailable);
/// ```
pub fn read_stats(info: &SegmentInfo) -> StatsOutcome {
    match &info.status {
        mproc_shm::SegmentStatus::Ready(header) => kinds::read(info.name.as_str(), header),
        _ => StatsOutcome::NotAvailable,
    }
}
