//! `borrow`: the zero-copy read under the name that pairs it with the
//! producer's [`loan`](crate::Producer::loan) ("loan/borrow of queue
//! slots"). The same calls as [`recv_ref`](crate::Consumer::recv_ref) and
//! its forms.
//!
//! Where `std::borrow::Borrow` is imported, `rx.borrow()` resolves to that
//! trait's `borrow(&self)` (method lookup tries `&self` before
//! `&mut self`): write `Consumer::borrow(&mut rx)`, or use `recv_ref`.

use std::time::Duration;

use crate::{Consumer, Result, SlotRef};

impl Consumer {
    /// Borrows the next message in place, waiting for one: the same as
    /// [`recv_ref`](Self::recv_ref). The slot goes back to the producers
    /// when the [`SlotRef`] drops. With `std::borrow::Borrow` in scope,
    /// call it as `Consumer::borrow(&mut rx)`.
    ///
    /// # Errors
    ///
    /// Those of [`recv_ref`](Self::recv_ref).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new().slot_size(64)).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// let mut slot = tx.loan().unwrap();
    /// slot[..4].copy_from_slice(b"lent");
    /// slot.commit(4).unwrap();
    /// let mut rx = q.consumer().unwrap();
    /// assert_eq!(&rx.borrow().unwrap()[..], b"lent");
    /// ```
    pub fn borrow(&mut self) -> Result<SlotRef<'_>> {
        self.recv_ref()
    }

    /// [`borrow`](Self::borrow) if a message is there now: the same as
    /// [`try_recv_ref`](Self::try_recv_ref).
    ///
    /// # Errors
    ///
    /// [`QueueError::Empty`](crate::QueueError::Empty), and those of
    /// [`recv_ref`](Self::recv_ref).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueError, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// let mut rx = q.consumer().unwrap();
    /// assert!(matches!(rx.try_borrow(), Err(QueueError::Empty)));
    /// ```
    pub fn try_borrow(&mut self) -> Result<SlotRef<'_>> {
        self.try_recv_ref()
    }

    /// [`borrow`](Self::borrow), waiting at most `timeout`: the same as
    /// [`recv_ref_timeout`](Self::recv_ref_timeout).
    ///
    /// # Errors
    ///
    /// [`QueueError::Timeout`](crate::QueueError::Timeout), and those of
    /// [`recv_ref`](Self::recv_ref).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use mproc_queue::{Queue, QueueError, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// let mut rx = q.consumer().unwrap();
    /// let err = rx.borrow_timeout(Duration::from_millis(5)).unwrap_err();
    /// assert!(matches!(err, QueueError::Timeout { .. }));
    /// ```
    pub fn borrow_timeout(&mut self, timeout: Duration) -> Result<SlotRef<'_>> {
        self.recv_ref_timeout(timeout)
    }
}
