//! [`QueueOptions`]: the shape of a new queue and how its handles wait.

use crate::WaitStrategy;

/// Capacity, slot size and waiting behaviour of a new queue.
///
/// # Examples
///
/// ```
/// use mproc_queue::{QueueOptions, WaitStrategy};
///
/// let opts = QueueOptions::new().capacity(1000).slot_size(64).wait(WaitStrategy::Park);
/// assert_eq!(opts.capacity_value(), 1024); // rounded up to a power of two
/// assert_eq!(opts.slot_size_value(), 64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueOptions {
    pub(crate) capacity: u64,
    pub(crate) slot_size: usize,
    pub(crate) max_handles: u32,
    pub(crate) wait: WaitStrategy,
    pub(crate) mode: Option<u32>,
    pub(crate) persist: bool,
}

impl Default for QueueOptions {
    fn default() -> QueueOptions {
        QueueOptions::new()
    }
}

impl QueueOptions {
    /// 1024 slots of 256 bytes, 64 handle records, spin-then-park, the
    /// process's default mode (0600 unless changed with
    /// `mproc_shm::set_default_mode`), not persistent.
    ///
    /// # Examples
    ///
    /// ```
    /// let o = mproc_queue::QueueOptions::new();
    /// assert_eq!((o.capacity_value(), o.slot_size_value()), (1024, 256));
    /// ```
    pub fn new() -> QueueOptions {
        QueueOptions {
            capacity: 1024,
            slot_size: 256,
            max_handles: 64,
            wait: WaitStrategy::default(),
            mode: None,
            persist: false,
        }
    }

    /// How many messages the queue holds, rounded up to a power of two
    /// (Python's `maxsize`). Zero is refused when the queue is made.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_queue::QueueOptions::new().capacity(3).capacity_value(), 4);
    /// ```
    pub fn capacity(mut self, capacity: u64) -> Self {
        self.capacity = if capacity == 0 {
            0
        } else {
            capacity.checked_next_power_of_two().unwrap_or(u64::MAX)
        };
        self
    }

    /// The largest message, in bytes. Each slot takes this plus a small
    /// header, padded as [`QueueStats::stride`](crate::QueueStats::stride)
    /// says; the segment holds `capacity` slots.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_queue::QueueOptions::new().slot_size(8).slot_size_value(), 8);
    /// ```
    pub fn slot_size(mut self, bytes: usize) -> Self {
        self.slot_size = bytes;
        self
    }

    /// How many producer and consumer handles may be registered at once
    /// (1 to 4096).
    ///
    /// # Examples
    ///
    /// ```
    /// let o = mproc_queue::QueueOptions::new().max_handles(8);
    /// # let _ = o;
    /// ```
    pub fn max_handles(mut self, n: u32) -> Self {
        self.max_handles = n;
        self
    }

    /// The default wait strategy of handles made from this queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{QueueOptions, WaitStrategy};
    /// assert_eq!(QueueOptions::new().wait(WaitStrategy::Park).wait_strategy(), WaitStrategy::Park);
    /// ```
    pub fn wait(mut self, strategy: WaitStrategy) -> Self {
        self.wait = strategy;
        self
    }

    /// Permission bits of a named queue's segment.
    ///
    /// # Examples
    ///
    /// ```
    /// let o = mproc_queue::QueueOptions::new().mode(0o660);
    /// # let _ = o;
    /// ```
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Keep a named queue's segment after its creator's handle drops.
    ///
    /// # Examples
    ///
    /// ```
    /// let o = mproc_queue::QueueOptions::new().persist(true);
    /// # let _ = o;
    /// ```
    pub fn persist(mut self, persist: bool) -> Self {
        self.persist = persist;
        self
    }

    /// The capacity that will be used.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_queue::QueueOptions::new().capacity(1).capacity_value(), 1);
    /// ```
    pub fn capacity_value(&self) -> u64 {
        self.capacity
    }

    /// The slot size that will be used.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_queue::QueueOptions::new().slot_size_value(), 256);
    /// ```
    pub fn slot_size_value(&self) -> usize {
        self.slot_size
    }

    /// The wait strategy that will be used.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{QueueOptions, WaitStrategy};
    /// assert_eq!(QueueOptions::new().wait_strategy(), WaitStrategy::default());
    /// ```
    pub fn wait_strategy(&self) -> WaitStrategy {
        self.wait
    }
}
