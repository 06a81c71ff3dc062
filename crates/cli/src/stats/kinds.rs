//! The dispatch from a segment kind to the crate that reads its numbers,
//! and the errors of reading them.

use std::time::Duration;

use mproc_dict::DictError;
use mproc_queue::QueueError;
use mproc_shm::{Header, Segment, SegmentKind, ShmError};
use mproc_sync::SyncError;

use super::{KindStats, StatsOutcome, dict_reader, queue_reader, sync_reader};

/// Why a segment's statistics could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error(transparent)]
    Shm(#[from] ShmError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Dict(#[from] DictError),
    #[error("a shard lock stayed held for more than {0:?}")]
    Busy(Duration),
    #[error("layout parameter `{field}` holds an invalid value {value:#x}")]
    BadParam { field: &'static str, value: u64 },
    #[error("{0:?} is not a synchronization primitive")]
    NotSync(SegmentKind),
    #[error("{0:?} is not a queue")]
    NotQueue(SegmentKind),
}

impl ReadError {
    /// Whether segment `name` itself was removed while being read (not a
    /// segment it refers to, such as a dict's table).
    fn is_gone(&self, name: &str) -> bool {
        let shm = match self {
            ReadError::Shm(e)
            | ReadError::Sync(SyncError::Shm(e))
            | ReadError::Queue(QueueError::Shm(e))
            | ReadError::Dict(DictError::Shm(e)) => e,
            _ => return false,
        };
        matches!(shm, ShmError::NotFound { name: missing } if missing == name)
    }
}

/// The outcome of reading segment `name`.
fn outcome(name: &str, r: Result<KindStats, ReadError>) -> StatsOutcome {
    match r {
        Ok(s) => StatsOutcome::Read(s),
        Err(e) if e.is_gone(name) => StatsOutcome::Gone,
        Err(e) => StatsOutcome::Failed(e.to_string()),
    }
}

/// Opens `name` read-only as `kind`, without waiting: `list` saw it ready.
pub(super) fn open_read_only(name: &str, kind: SegmentKind) -> Result<Segment, ShmError> {
    Segment::opener(name)
        .kind(kind)
        .read_only()
        .ready_timeout(Duration::ZERO)
        .open()
}

/// Reads the statistics of the ready segment `name`, whose header is
/// `header`.
pub(super) fn read(name: &str, header: &Header) -> StatsOutcome {
    let kind = header.kind;
    let read = match kind {
        SegmentKind::Lock
        | SegmentKind::RLock
        | SegmentKind::Condition
        | SegmentKind::Semaphore
        | SegmentKind::Event
        | SegmentKind::Barrier => sync_reader::read(name, kind),
        SegmentKind::Queue
        | SegmentKind::SpscQueue
        | SegmentKind::JoinableQueue
        | SegmentKind::Pipe => queue_reader::read(name, kind),
        SegmentKind::Dict | SegmentKind::Value | SegmentKind::Array | SegmentKind::Manager => {
            dict_reader::read(name, header)
        }
        // Plain bytes laid out by the user: the header says all there is.
        _ => return StatsOutcome::NotAvailable,
    };
    outcome(name, read)
}
