//! Batched forms: many messages published with one index store (SPSC)
//! or one reservation (MPMC), many released with one claim.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use crate::consumer::Slot;
use crate::ring::Span;
use crate::ring::memory::RingMemory;
use crate::wait::Wait;
use crate::{Consumer, Producer, Result};

impl Producer {
    /// Sends as many of `msgs` as fit now, publishing them with one index
    /// store (SPSC) or one reservation (MPMC); returns how many were sent.
    ///
    /// # Errors
    ///
    /// [`QueueError::Full`](crate::QueueError::Full) if not even one fits, [`QueueError::TooLarge`](crate::QueueError::TooLarge)
    /// for the first oversized message (those before it are sent), and
    /// those of [`send`](Self::send).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new().capacity(4)).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// assert_eq!(tx.try_send_batch(&[&b"a"[..], b"b", b"c", b"d", b"e"]).unwrap(), 4);
    /// ```
    pub fn try_send_batch<M: AsRef<[u8]>>(&mut self, msgs: &[M]) -> Result<usize> {
        self.send_batch_with(msgs, Wait::Never)
    }

    /// Sends all of `msgs`, in order, waiting for room as needed; each
    /// publication covers as many messages as fit at that moment.
    ///
    /// # Errors
    ///
    /// Those of [`send`](Self::send); messages before a failing one are
    /// sent.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new().capacity(8)).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// let mut rx = q.consumer().unwrap();
    /// tx.send_batch(&[1u64.to_le_bytes(), 2u64.to_le_bytes()]).unwrap();
    /// let mut got = Vec::new();
    /// rx.recv_batch(8, |m| got.push(m.to_vec())).unwrap();
    /// assert_eq!(got.len(), 2);
    /// ```
    pub fn send_batch<M: AsRef<[u8]>>(&mut self, msgs: &[M]) -> Result<()> {
        let mut sent = 0;
        while sent < msgs.len() {
            sent += self.send_batch_with(&msgs[sent..], Wait::Forever)?;
        }
        Ok(())
    }

    fn send_batch_with<M: AsRef<[u8]>>(&mut self, msgs: &[M], mut wait: Wait) -> Result<usize> {
        let Some(first) = msgs.first() else {
            return Ok(0);
        };
        self.check_len(first.as_ref().len())?;
        let span = self.reserve(msgs.len() as u64, &mut wait)?;
        self.prefetch_slot_tails(span, first.as_ref().len());
        let mut n = 0;
        let mut too_large = None;
        // A panicking `as_ref` gives the reservation back (published as
        // cancelled for MPMC) instead of leaving it held by a live handle.
        let filled = catch_unwind(AssertUnwindSafe(|| {
            for (pos, msg) in span.positions().zip(msgs) {
                let msg = msg.as_ref();
                if let Err(e) = self.check_len(msg.len()) {
                    too_large = Some(e);
                    break;
                }
                self.write(pos, msg);
                n += 1;
            }
        }));
        if let Err(panic) = filled {
            self.cancel(span);
            resume_unwind(panic);
        }
        self.publish(span, n);
        if n < span.n {
            self.cancel(Span {
                pos: span.pos.wrapping_add(n),
                n: span.n - n,
            });
        }
        match too_large {
            Some(e) => Err(e),
            None => Ok(n as usize),
        }
    }
}

impl Consumer {
    fn recv_batch_with(
        &mut self,
        max: usize,
        mut wait: Wait,
        mut f: impl FnMut(&[u8]),
    ) -> Result<usize> {
        if let Some((pos, len)) = self.pending.take() {
            let span = Span { pos, n: 1 };
            self.release_on_unwind(span, |c| {
                // SAFETY: claimed by this handle, len <= slot_size.
                unsafe { c.core.ring.read(pos, len, &mut f) };
            });
            self.release(span);
            return Ok(1);
        }
        loop {
            let span = self.claim(max.max(1) as u64, &mut wait)?;
            let mut delivered = 0;
            let mut failed = None;
            self.release_on_unwind(span, |c| {
                for pos in span.positions() {
                    match c.slot(pos) {
                        Ok(Slot::Message(len)) => {
                            // SAFETY: claimed by this handle, len <= slot_size.
                            unsafe { c.core.ring.read(pos, len, &mut f) };
                            delivered += 1;
                        }
                        Ok(Slot::Skip) => {}
                        Err(e) => {
                            failed.get_or_insert(e);
                        }
                    }
                }
            });
            self.release(span);
            if let Some(e) = failed {
                return Err(e);
            }
            if delivered > 0 {
                return Ok(delivered);
            }
        }
    }

    /// Runs `body`, which hands the claimed `span` to a caller's function;
    /// should that panic, releases the span before the panic goes on, so
    /// that the slots do not stay held by a handle that lives on (its
    /// messages after the one the function panicked on are dropped).
    fn release_on_unwind(&mut self, span: Span, body: impl FnOnce(&mut Consumer)) {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| body(self))) {
            self.release(span);
            resume_unwind(panic);
        }
    }

    /// Hands up to `max` messages to `f` in place, waiting for at least
    /// one, and releases them all with one index store (SPSC) or one claim
    /// (MPMC); returns how many.
    ///
    /// Should `f` panic, the batch's slots are released before the panic
    /// goes on: the messages after the one it panicked on are dropped, and
    /// the queue is not held up.
    ///
    /// # Errors
    ///
    /// Those of [`recv_ref`](Self::recv_ref).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// let mut tx = q.producer().unwrap();
    /// for i in 0..5u8 { tx.send(&[i]).unwrap(); }
    /// let mut sum = 0;
    /// let n = q.consumer().unwrap().recv_batch(10, |m| sum += m[0]).unwrap();
    /// assert_eq!((n, sum), (5, 10));
    /// ```
    pub fn recv_batch(&mut self, max: usize, f: impl FnMut(&[u8])) -> Result<usize> {
        self.recv_batch_with(max, Wait::Forever, f)
    }

    /// [`recv_batch`](Self::recv_batch) without waiting.
    ///
    /// # Errors
    ///
    /// [`QueueError::Empty`](crate::QueueError::Empty), and those of [`recv_batch`](Self::recv_batch).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueError, QueueOptions};
    /// let q = Queue::new(QueueOptions::new()).unwrap();
    /// let r = q.consumer().unwrap().try_recv_batch(4, |_| {});
    /// assert!(matches!(r, Err(QueueError::Empty)));
    /// ```
    pub fn try_recv_batch(&mut self, max: usize, f: impl FnMut(&[u8])) -> Result<usize> {
        self.recv_batch_with(max, Wait::Never, f)
    }
}
