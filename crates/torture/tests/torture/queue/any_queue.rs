//! One round's queue, SPSC or MPMC, named or anonymous.

use mproc_queue::{Consumer, Producer, Queue, QueueOptions, SpscQueue};

/// One round's queue and its shape.
pub(super) struct Shape {
    pub(super) mpmc: bool,
    pub(super) producers: usize,
    pub(super) consumers: usize,
    pub(super) per_producer: u64,
    pub(super) capacity: u64,
    pub(super) slot: usize,
    pub(super) named: bool,
}

pub(super) enum AnyQueue {
    Spsc(SpscQueue),
    Mpmc(Queue),
}

impl AnyQueue {
    pub(super) fn create(shape: &Shape, name: &str) -> AnyQueue {
        let opts = QueueOptions::new()
            .capacity(shape.capacity)
            .slot_size(shape.slot)
            .max_handles(16);
        let r = match (shape.mpmc, shape.named) {
            (true, true) => Queue::create(name, opts).map(AnyQueue::Mpmc),
            (true, false) => Queue::new(opts).map(AnyQueue::Mpmc),
            (false, true) => SpscQueue::create(name, opts).map(AnyQueue::Spsc),
            (false, false) => SpscQueue::new(opts).map(AnyQueue::Spsc),
        };
        r.unwrap_or_else(|e| panic!("queue: {e}"))
    }

    /// The same queue opened again by name (in a child), or this handle.
    pub(super) fn reopen(&self, name: Option<&str>) -> Option<AnyQueue> {
        let name = name?;
        Some(match self {
            AnyQueue::Spsc(_) => AnyQueue::Spsc(SpscQueue::open(name).ok()?),
            AnyQueue::Mpmc(_) => AnyQueue::Mpmc(Queue::open(name).ok()?),
        })
    }

    pub(super) fn producer(&self) -> mproc_queue::Result<Producer> {
        match self {
            AnyQueue::Spsc(q) => q.producer(),
            AnyQueue::Mpmc(q) => q.producer(),
        }
    }

    pub(super) fn consumer(&self) -> mproc_queue::Result<Consumer> {
        match self {
            AnyQueue::Spsc(q) => q.consumer(),
            AnyQueue::Mpmc(q) => q.consumer(),
        }
    }

    pub(super) fn close(&self) {
        match self {
            AnyQueue::Spsc(q) => q.close(),
            AnyQueue::Mpmc(q) => q.close(),
        }
    }

    pub(super) fn stats(&self) -> mproc_queue::QueueStats {
        match self {
            AnyQueue::Spsc(q) => q.stats(),
            AnyQueue::Mpmc(q) => q.stats(),
        }
    }
}
