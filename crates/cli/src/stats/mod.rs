//! Per-kind statistics: what a segment holds beyond its header.
//!
//! Each kind's numbers come from the crate that lays that kind out, read
//! without registering as a producer, consumer or holder. Where the crate
//! can read from a read-only mapping, the segment is mapped read-only.

use serde::Serialize;

use mproc_shm::SegmentInfo;

pub(crate) mod dict_reader;
mod kinds;
mod model;
mod queue_reader;
mod sync_reader;

pub use model::{
    BarrierStats, DictStats, DictTableStats, ElementsStats, LockStats, ManagedObject, ManagerStats,
    QueueStats, SemaphoreStats,
};

/// The statistics of one segment, by kind.
///
/// # Examples
///
/// ```
/// use mproc_cli::{KindStats, SemaphoreStats};
///
/// let s = KindStats::Semaphore(SemaphoreStats { value: 1, bound: None });
/// assert_eq!(s.summary(), "value 1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum KindStats {
    /// A queue's numbers.
    Queue(QueueStats),
    /// A dict's numbers (its root segment).
    Dict(DictStats),
    /// One table generation of a dict.
    DictTable(DictTableStats),
    /// A `Lock`, `RLock` or `Condition`'s lock.
    Lock(LockStats),
    /// A semaphore's value.
    Semaphore(SemaphoreStats),
    /// Whether an `Event` is set.
    Event {
        /// Set or clear.
        set: bool,
    },
    /// A barrier's parties.
    Barrier(BarrierStats),
    /// A `Value` or `Array`.
    Elements(ElementsStats),
    /// A `Manager`'s registry of objects.
    Manager(ManagerStats),
    /// A `Pipe`'s two rings: from the end its creator holds to the end
    /// `open` gives, and back.
    Pipe {
        /// The ring the creator's end sends on.
        to_opener: QueueStats,
        /// The ring the creator's end receives on.
        to_creator: QueueStats,
    },
}

impl KindStats {
    /// One line for `mproc ls`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_cli::KindStats::Event { set: true }.summary(), "set");
    /// ```
    pub fn summary(&self) -> String {
        match self {
            KindStats::Queue(q) => q.summary(),
            KindStats::Dict(d) => d.summary(),
            KindStats::DictTable(t) => t.summary(),
            KindStats::Lock(l) => l.summary(),
            KindStats::Semaphore(s) => s.summary(),
            KindStats::Event { set } => if *set { "set" } else { "clear" }.to_owned(),
            KindStats::Barrier(b) => b.summary(),
            KindStats::Elements(e) => e.summary(),
            KindStats::Manager(m) => m.summary(),
            KindStats::Pipe {
                to_opener,
                to_creator,
            } => format!(
                "to opener: {}; to creator: {}",
                to_opener.summary(),
                to_creator.summary()
            ),
        }
    }

    /// Every statistic as a label and a value, for `mproc inspect`.
    ///
    /// # Examples
    ///
    /// ```
    /// let fields = mproc_cli::KindStats::Event { set: false }.fields();
    /// assert_eq!(fields, [("set", "no".to_owned())]);
    /// ```
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        match self {
            KindStats::Queue(q) => q.fields(),
            KindStats::Dict(d) => d.fields(),
            KindStats::DictTable(t) => t.fields(),
            KindStats::Lock(l) => l.fields(),
            KindStats::Semaphore(s) => s.fields(),
            KindStats::Event { set } => vec![("set", if *set { "yes" } else { "no" }.to_owned())],
            KindStats::Barrier(b) => b.fields(),
            KindStats::Elements(e) => e.fields(),
            KindStats::Manager(m) => m.fields(),
            KindStats::Pipe {
                to_opener,
                to_creator,
            } => {
                let mut v = vec![("direction", "creator to opener".to_owned())];
                v.extend(to_opener.fields());
                v.push(("direction", "opener to creator".to_owned()));
                v.extend(to_creator.fields());
                v
            }
        }
    }

    /// The objects of a `Manager`, if this is one.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_cli::KindStats::Event { set: true }.as_manager().is_none());
    /// ```
    pub fn as_manager(&self) -> Option<&ManagerStats> {
        match self {
            KindStats::Manager(m) => Some(m),
            _ => None,
        }
    }

    /// The queue numbers, if this is a queue.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_cli::KindStats::Event { set: true }.as_queue().is_none());
    /// ```
    pub fn as_queue(&self) -> Option<&QueueStats> {
        match self {
            KindStats::Queue(q) => Some(q),
            _ => None,
        }
    }
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
    /// this build cannot read them.
    NotAvailable,
    /// The numbers.
    Read(KindStats),
    /// The segment's layout could not be read: why.
    Failed(String),
    /// The segment was removed while its statistics were being read.
    Gone,
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
    let mproc_shm::SegmentStatus::Ready(header) = &info.status else {
        return StatsOutcome::NotAvailable;
    };
    // The readers promise errors, not panics, on corrupt bytes; should one
    // break that promise, this segment's line says so and the listing
    // goes on.
    let read = std::panic::AssertUnwindSafe(|| kinds::read(info.name.as_str(), header));
    std::panic::catch_unwind(read)
        .unwrap_or_else(|_| StatsOutcome::Failed("the statistics reader panicked".to_owned()))
}
