//! Zero-copy access to slots: [`SlotMut`] (a loaned slot to fill in place)
//! and [`SlotRef`] (a received message read in place).

use std::ops::{Deref, DerefMut};

use crate::ring::Span;
use crate::{Consumer, Producer, QueueError, Result};

/// A free slot lent by [`Producer::loan`]: write the message in place, then
/// [`commit`](Self::commit) its length. Dropping it uncommitted delivers
/// nothing (in an MPMC queue its position is published as cancelled, and
/// consumers skip it).
///
/// Dereferences to the whole slot (`slot_size` bytes, 8-byte aligned),
/// whose old contents are unspecified.
///
/// # Examples
///
/// ```
/// use mproc_queue::{Queue, QueueOptions};
///
/// let q = Queue::new(QueueOptions::new().slot_size(1 << 20)).unwrap();
/// let mut tx = q.producer().unwrap();
/// let mut slot = tx.loan().unwrap();
/// assert_eq!(slot.len(), 1 << 20);
/// slot.fill(7);
/// slot.commit(1 << 20).unwrap();
/// let mut rx = q.consumer().unwrap();
/// assert!(rx.recv_ref().unwrap().iter().all(|&b| b == 7));
/// ```
pub struct SlotMut<'a> {
    producer: &'a mut Producer,
    pos: u64,
    done: bool,
}

impl<'a> SlotMut<'a> {
    #[inline]
    pub(crate) fn new(producer: &'a mut Producer, pos: u64) -> SlotMut<'a> {
        SlotMut {
            producer,
            pos,
            done: false,
        }
    }

    /// Publishes the first `len` bytes of the slot as a message.
    ///
    /// # Errors
    ///
    /// [`QueueError::TooLarge`] if `len` exceeds the slot (nothing is
    /// published).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueError, QueueOptions};
    /// let q = Queue::new(QueueOptions::new().slot_size(4)).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// let slot = tx.loan().unwrap();
    /// assert!(matches!(slot.commit(5), Err(QueueError::TooLarge { len: 5, max: 4 })));
    /// tx.send(b"next").unwrap();
    /// assert_eq!(q.consumer().unwrap().recv().unwrap(), b"next");
    /// ```
    pub fn commit(mut self, len: usize) -> Result<()> {
        let max = self.producer.slot_size();
        if len > max {
            return Err(QueueError::TooLarge { len, max });
        }
        self.producer.set_len(self.pos, len);
        self.done = true;
        self.producer.publish(
            Span {
                pos: self.pos,
                n: 1,
            },
            1,
        );
        Ok(())
    }
}

impl Deref for SlotMut<'_> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        // SAFETY: the slot is reserved by this loan and unpublished: no one
        // else reads or writes it; it holds slot_size bytes.
        unsafe {
            std::slice::from_raw_parts(self.producer.payload(self.pos), self.producer.slot_size())
        }
    }
}

impl DerefMut for SlotMut<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes this the only view.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.producer.payload(self.pos),
                self.producer.slot_size(),
            )
        }
    }
}

impl Drop for SlotMut<'_> {
    fn drop(&mut self) {
        // The parent's copy of an MPMC loan a forked child's body captured:
        // the child's copy writes and commits it.
        if !self.done && !self.producer.core.slot_goes_to_a_child() {
            self.producer.cancel(Span {
                pos: self.pos,
                n: 1,
            });
        }
    }
}

impl std::fmt::Debug for SlotMut<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotMut")
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

/// A received message, read in place (from [`Consumer::recv_ref`]); its slot
/// goes back to the producers when this drops.
///
/// # Examples
///
/// ```
/// use mproc_queue::{Queue, QueueOptions};
///
/// let q = Queue::new(QueueOptions::new()).unwrap();
/// q.producer().unwrap().send_pod(&[1.5f64, 2.5]).unwrap();
/// let mut rx = q.consumer().unwrap();
/// let msg = rx.recv_ref().unwrap();
/// let values: &[f64; 2] = msg.as_pod().unwrap(); // no copy
/// assert_eq!(values, &[1.5, 2.5]);
/// ```
pub struct SlotRef<'a> {
    consumer: &'a mut Consumer,
    pos: u64,
    len: usize,
}

impl<'a> SlotRef<'a> {
    #[inline]
    pub(crate) fn new(consumer: &'a mut Consumer, pos: u64, len: usize) -> SlotRef<'a> {
        SlotRef { consumer, pos, len }
    }

    /// The message viewed as a plain-data value, in place (the payload is
    /// 8-byte aligned).
    ///
    /// # Errors
    ///
    /// [`QueueError::Decode`] if the length or alignment does not fit `T`.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// q.producer().unwrap().send_pod(&9u32).unwrap();
    /// let mut rx = q.consumer().unwrap();
    /// let m = rx.recv_ref().unwrap();
    /// assert_eq!(*m.as_pod::<u32>().unwrap(), 9);
    /// assert!(m.as_pod::<u64>().is_err());
    /// ```
    pub fn as_pod<T: bytemuck::Pod>(&self) -> Result<&T> {
        bytemuck::try_from_bytes(self).map_err(|e| QueueError::Decode {
            len: self.len,
            reason: e.to_string(),
        })
    }
}

impl Deref for SlotRef<'_> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        // SAFETY: the slot is claimed by this handle until drop; producers
        // do not write it before it is released; len <= slot_size.
        unsafe { std::slice::from_raw_parts(self.consumer.payload(self.pos), self.len) }
    }
}

impl Drop for SlotRef<'_> {
    fn drop(&mut self) {
        // The parent's copy of an MPMC message a forked child's body
        // captured: the child's copy reads it and releases it.
        if self.consumer.core.slot_goes_to_a_child() {
            return;
        }
        self.consumer.release(Span {
            pos: self.pos,
            n: 1,
        });
    }
}

impl std::fmt::Debug for SlotRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotRef")
            .field("pos", &self.pos)
            .field("len", &self.len)
            .finish()
    }
}
