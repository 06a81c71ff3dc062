//! The two mproc queue flavors behind one face, so that each scenario is
//! written once for SPSC and MPMC.

use anyhow::Result;
use mproc::queue::{Consumer, Producer, Queue, QueueOptions, SpscQueue};

/// Which mproc queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `SpscQueue`: one producer, one consumer.
    Spsc,
    /// `Queue`: many producers, many consumers (Vyukov slots).
    Mpmc,
}

/// An anonymous queue of either flavor, shared with children forked later;
/// each process registers its own handles after the fork.
pub(crate) enum AnyQueue {
    /// See [`Flavor::Spsc`].
    Spsc(SpscQueue),
    /// See [`Flavor::Mpmc`].
    Mpmc(Queue),
}

impl AnyQueue {
    /// A queue of `capacity` slots of `slot_size` bytes, default wait
    /// strategy (spin 100 µs, then sleep on a futex).
    pub(crate) fn new(flavor: Flavor, capacity: usize, slot_size: usize) -> Result<AnyQueue> {
        let opts = QueueOptions::new()
            .capacity(capacity as u64)
            .slot_size(slot_size);
        Ok(match flavor {
            Flavor::Spsc => AnyQueue::Spsc(SpscQueue::new(opts)?),
            Flavor::Mpmc => AnyQueue::Mpmc(Queue::new(opts)?),
        })
    }

    /// A producer handle for the calling process.
    pub(crate) fn producer(&self) -> Result<Producer> {
        Ok(match self {
            AnyQueue::Spsc(q) => q.producer()?,
            AnyQueue::Mpmc(q) => q.producer()?,
        })
    }

    /// A consumer handle for the calling process.
    pub(crate) fn consumer(&self) -> Result<Consumer> {
        Ok(match self {
            AnyQueue::Spsc(q) => q.consumer()?,
            AnyQueue::Mpmc(q) => q.consumer()?,
        })
    }

    /// Closes the queue: consumers drain it, then see `Closed`.
    pub(crate) fn close(&self) {
        match self {
            AnyQueue::Spsc(q) => q.close(),
            AnyQueue::Mpmc(q) => q.close(),
        }
    }
}
