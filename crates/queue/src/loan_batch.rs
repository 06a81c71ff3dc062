//! [`LoanBatch`]: many free slots lent at once, filled in place and
//! published together (zero-copy batching).

use crate::ring::Span;
use crate::wait::Wait;
use crate::{Producer, QueueError, Result};

/// Consecutive free slots lent by [`Producer::loan_batch`]: fill them in
/// place, then [`commit`](Self::commit) their lengths, which publishes
/// them with one index store (SPSC) or one reservation (MPMC). Dropping
/// the batch uncommitted delivers nothing (in an MPMC queue its positions
/// are published as cancelled, and consumers skip them).
///
/// Each slot is `slot_size` bytes, 8-byte aligned, old contents
/// unspecified.
///
/// # Examples
///
/// ```
/// use mproc_queue::{Queue, QueueOptions};
///
/// let q = Queue::new(QueueOptions::new().capacity(8).slot_size(16)).unwrap();
/// let mut tx = q.producer().unwrap();
/// let mut batch = tx.loan_batch(4).unwrap();
/// assert_eq!(batch.len(), 4);
/// for (i, slot) in batch.iter_mut().enumerate() {
///     slot[..8].copy_from_slice(&(i as u64).to_le_bytes());
/// }
/// batch.commit(&[8, 8, 8]).unwrap(); // the fourth slot is given back
///
/// let mut rx = q.consumer().unwrap();
/// let mut got = Vec::new();
/// rx.try_recv_batch(8, |m| got.push(u64::from_le_bytes(m.try_into().unwrap()))).unwrap();
/// assert_eq!(got, [0, 1, 2]);
/// ```
pub struct LoanBatch<'a> {
    producer: &'a mut Producer,
    span: Span,
    done: bool,
}

impl<'a> LoanBatch<'a> {
    pub(crate) fn new(producer: &'a mut Producer, span: Span) -> LoanBatch<'a> {
        LoanBatch {
            producer,
            span,
            done: false,
        }
    }

    /// How many slots are lent (at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{SpscQueue, QueueOptions};
    /// let q = SpscQueue::new(QueueOptions::new().capacity(4)).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// assert_eq!(tx.loan_batch(100).unwrap().len(), 4);
    /// ```
    pub fn len(&self) -> usize {
        self.span.n as usize
    }

    /// Always `false`: a batch holds at least one slot.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// assert!(!q.producer().unwrap().loan_batch(0).unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.span.n == 0
    }

    /// Slot `i` of the batch, or `None` past its end.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new().slot_size(4)).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// let mut batch = tx.loan_batch(2).unwrap();
    /// batch.get_mut(1).unwrap().copy_from_slice(b"abcd");
    /// assert!(batch.get_mut(2).is_none());
    /// ```
    pub fn get_mut(&mut self, i: usize) -> Option<&mut [u8]> {
        if i >= self.len() {
            return None;
        }
        let pos = self.span.pos.wrapping_add(i as u64);
        // SAFETY: position `pos` is reserved by this batch and unpublished:
        // no other process reads or writes its slot; `&mut self` makes this
        // the only view; the slot holds slot_size bytes.
        Some(unsafe {
            std::slice::from_raw_parts_mut(self.producer.payload(pos), self.producer.slot_size())
        })
    }

    /// Every slot of the batch, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new().slot_size(8)).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// let mut batch = tx.loan_batch(3).unwrap();
    /// batch.iter_mut().for_each(|s| s.fill(1));
    /// assert_eq!(batch.iter_mut().count(), 3);
    /// ```
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut [u8]> + '_ {
        let (producer, span) = (&*self.producer, self.span);
        let size = producer.slot_size();
        span.positions().map(move |pos| {
            // SAFETY: as in `get_mut`; the positions of a span are
            // distinct slots (n <= capacity), so the slices do not overlap,
            // and they borrow `self` mutably for as long as they live.
            unsafe { std::slice::from_raw_parts_mut(producer.payload(pos), size) }
        })
    }

    /// Publishes the first `lens.len()` slots as messages of the given
    /// lengths, in order, with one index store; the slots past them are
    /// given back.
    ///
    /// # Errors
    ///
    /// [`QueueError::TooLarge`] if a length exceeds the slot size, and
    /// [`QueueError::TooManyLengths`] if `lens` is longer than the batch;
    /// either way nothing is published and the batch is given back.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueError, QueueOptions};
    /// let q = Queue::new(QueueOptions::new().slot_size(4)).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// let batch = tx.loan_batch(2).unwrap();
    /// assert!(matches!(batch.commit(&[4, 5]), Err(QueueError::TooLarge { len: 5, max: 4 })));
    /// let mut rx = q.consumer().unwrap();
    /// assert!(matches!(rx.try_recv(), Err(QueueError::Empty))); // nothing was delivered
    /// ```
    pub fn commit(mut self, lens: &[usize]) -> Result<()> {
        let max = self.producer.slot_size();
        if lens.len() > self.len() {
            return Err(QueueError::TooManyLengths {
                lens: lens.len(),
                slots: self.len(),
            });
        }
        if let Some(&len) = lens.iter().find(|&&len| len > max) {
            return Err(QueueError::TooLarge { len, max });
        }
        for (pos, &len) in self.span.positions().zip(lens) {
            self.producer.set_len(pos, len);
        }
        self.done = true;
        let n = lens.len() as u64;
        self.producer.publish(self.span, n);
        if n < self.span.n {
            self.producer.cancel(Span {
                pos: self.span.pos.wrapping_add(n),
                n: self.span.n - n,
            });
        }
        Ok(())
    }
}

impl Drop for LoanBatch<'_> {
    fn drop(&mut self) {
        // As `SlotMut`: a forked child's body captured it.
        if !self.done && !self.producer.core.slot_goes_to_a_child() {
            self.producer.cancel(self.span);
        }
    }
}

impl std::fmt::Debug for LoanBatch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoanBatch")
            .field("pos", &self.span.pos)
            .field("len", &self.span.n)
            .finish_non_exhaustive()
    }
}

impl Producer {
    /// Lends up to `max` consecutive free slots (at least one, waiting for
    /// room) to fill in place and publish together with
    /// [`LoanBatch::commit`]: the zero-copy form of
    /// [`send_batch`](Self::send_batch).
    ///
    /// # Errors
    ///
    /// Those of [`loan`](Self::loan).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{SpscQueue, QueueOptions};
    /// let q = SpscQueue::new(QueueOptions::new().slot_size(8)).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// let mut batch = tx.loan_batch(2).unwrap();
    /// batch.iter_mut().for_each(|s| s[0] = 42);
    /// batch.commit(&[1, 1]).unwrap();
    /// assert_eq!(q.len(), 2);
    /// ```
    pub fn loan_batch(&mut self, max: usize) -> Result<LoanBatch<'_>> {
        let span = self.reserve(max.max(1) as u64, &mut Wait::Forever)?;
        self.prefetch_slot_tails(span, self.slot_size());
        Ok(LoanBatch::new(self, span))
    }

    /// [`loan_batch`](Self::loan_batch) if at least one slot is free now.
    ///
    /// # Errors
    ///
    /// [`QueueError::Full`], and those of [`loan`](Self::loan).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueError, QueueOptions};
    /// let q = Queue::new(QueueOptions::new().capacity(2)).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// tx.try_loan_batch(8).unwrap().commit(&[0, 0]).unwrap();
    /// assert!(matches!(tx.try_loan_batch(1), Err(QueueError::Full { .. })));
    /// ```
    pub fn try_loan_batch(&mut self, max: usize) -> Result<LoanBatch<'_>> {
        let span = self.reserve(max.max(1) as u64, &mut Wait::Never)?;
        self.prefetch_slot_tails(span, self.slot_size());
        Ok(LoanBatch::new(self, span))
    }
}
