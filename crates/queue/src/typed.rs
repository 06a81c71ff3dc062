//! Typed messages: plain data ([`bytemuck::Pod`], sent as its bytes and
//! read in place) and serde values (postcard, encoded straight into the
//! slot).

use crate::{Consumer, Producer, QueueError, Result, SlotMut};

impl Producer {
    /// Sends a plain-data value (its bytes, no encoding).
    ///
    /// # Errors
    ///
    /// Those of [`send`](Self::send).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// q.producer().unwrap().send_pod(&[1u32, 2, 3]).unwrap();
    /// assert_eq!(q.consumer().unwrap().recv_pod::<[u32; 3]>().unwrap(), [1, 2, 3]);
    /// ```
    pub fn send_pod<T: bytemuck::Pod>(&mut self, value: &T) -> Result<()> {
        self.send(bytemuck::bytes_of(value))
    }

    /// Sends a serde-serializable value, encoded with postcard straight
    /// into the slot (no allocation). On a full queue, the value's encoded
    /// length is counted first, so that one too large for a slot is
    /// refused at once instead of waiting for room.
    ///
    /// # Errors
    ///
    /// [`QueueError::TooLarge`] if the encoding does not fit a slot
    /// (nothing is delivered; an MPMC queue that had room skips the slot
    /// the attempt took), [`QueueError::Decode`] if `value`'s `Serialize`
    /// fails, and those of [`send`](Self::send).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// q.producer().unwrap().send_value(&("pi", 3.14f64)).unwrap();
    /// let (name, v): (String, f64) = q.consumer().unwrap().recv_value().unwrap();
    /// assert_eq!((name.as_str(), v), ("pi", 3.14));
    /// ```
    pub fn send_value<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let max = self.slot_size();
        match self.try_loan() {
            Ok(slot) => return encode_into(slot, value, max),
            Err(QueueError::Full { .. }) => {}
            Err(e) => return Err(e),
        }
        // Only a value that fits waits for room.
        let len = encoded_len(value)?;
        if len > max {
            return Err(QueueError::TooLarge { len, max });
        }
        encode_into(self.loan()?, value, max)
    }
}

impl Consumer {
    /// Receives a plain-data value sent with
    /// [`send_pod`](crate::Producer::send_pod) (copied out).
    ///
    /// # Errors
    ///
    /// [`QueueError::Decode`] if the message's length is not `T`'s, and
    /// those of [`recv_ref`](Self::recv_ref).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// q.producer().unwrap().send_pod(&7u64).unwrap();
    /// assert_eq!(q.consumer().unwrap().recv_pod::<u64>().unwrap(), 7);
    /// ```
    pub fn recv_pod<T: bytemuck::Pod>(&mut self) -> Result<T> {
        let slot = self.recv_ref()?;
        bytemuck::try_pod_read_unaligned(&slot).map_err(|e| QueueError::Decode {
            len: slot.len(),
            reason: e.to_string(),
        })
    }

    /// Receives a value sent with
    /// [`send_value`](crate::Producer::send_value), decoded with postcard.
    ///
    /// # Errors
    ///
    /// [`QueueError::Decode`], and those of [`recv_ref`](Self::recv_ref).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// q.producer().unwrap().send_value(&vec![1u16, 2]).unwrap();
    /// assert_eq!(q.consumer().unwrap().recv_value::<Vec<u16>>().unwrap(), [1, 2]);
    /// ```
    pub fn recv_value<T: serde::de::DeserializeOwned>(&mut self) -> Result<T> {
        let slot = self.recv_ref()?;
        postcard::from_bytes(&slot).map_err(|e| QueueError::Decode {
            len: slot.len(),
            reason: e.to_string(),
        })
    }
}

/// Encodes `value` into a loaned slot and commits it; a value that does
/// not fit leaves the slot uncommitted (nothing sent).
fn encode_into<T: serde::Serialize + ?Sized>(
    mut slot: SlotMut<'_>,
    value: &T,
    max: usize,
) -> Result<()> {
    match postcard::to_slice(value, &mut slot[..]) {
        Ok(used) => {
            let len = used.len();
            slot.commit(len)
        }
        Err(postcard::Error::SerializeBufferFull) => {
            drop(slot);
            Err(QueueError::TooLarge {
                len: encoded_len(value)?,
                max,
            })
        }
        Err(e) => Err(encode_error(e)),
    }
}

/// The length of `value`'s encoding, counted without writing it anywhere.
fn encoded_len<T: serde::Serialize + ?Sized>(value: &T) -> Result<usize> {
    postcard::serialize_with_flavor(value, postcard::ser_flavors::Size::default())
        .map_err(encode_error)
}

/// A value that cannot be encoded (a `Serialize` impl that fails).
fn encode_error(e: postcard::Error) -> QueueError {
    QueueError::Decode {
        len: 0,
        reason: e.to_string(),
    }
}
