//! Queues, read through `mproc-queue`'s `stats()` on a handle opened by
//! name, which registers no producer or consumer and writes nothing.

use mproc_queue::{JoinableQueue, Pipe, Queue, SpscQueue};
use mproc_shm::SegmentKind;

use super::kinds::ReadError;
use super::{KindStats, QueueStats};

/// Reads the queue of `kind` in segment `name`.
pub(super) fn read(name: &str, kind: SegmentKind) -> Result<KindStats, ReadError> {
    let (s, unfinished) = match kind {
        SegmentKind::Queue => (Queue::open(name)?.stats(), None),
        SegmentKind::SpscQueue => (SpscQueue::open(name)?.stats(), None),
        SegmentKind::JoinableQueue => {
            let q = JoinableQueue::open(name)?;
            (q.stats(), Some(q.unfinished()))
        }
        SegmentKind::Pipe => {
            // `open` gives the opener's end, which registers nothing until
            // it is used: it sends to the creator, receives from it.
            let end = Pipe::open(name)?;
            let (Some(to_creator), Some(to_opener)) = end.stats() else {
                return Err(ReadError::NotQueue(kind));
            };
            return Ok(KindStats::Pipe {
                to_opener: numbers(to_opener, None),
                to_creator: numbers(to_creator, None),
            });
        }
        other => return Err(ReadError::NotQueue(other)),
    };
    Ok(KindStats::Queue(numbers(s, unfinished)))
}

/// The CLI's copy of a queue's numbers.
fn numbers(s: mproc_queue::QueueStats, unfinished: Option<u64>) -> QueueStats {
    QueueStats {
        capacity: s.capacity,
        slot_size: s.slot_size as u64,
        stride: s.stride as u64,
        depth: s.depth,
        producers: s.producers,
        consumers: s.consumers,
        sent: s.sent,
        received: s.received,
        abandoned: s.abandoned,
        sleepers: s.sleepers,
        closed: s.closed,
        unfinished,
    }
}
