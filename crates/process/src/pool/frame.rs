//! Messages of any length over fixed-size queue slots: a message is cut
//! into frames, each `[sender u32 | flags u32 | total u64 | bytes]`; the
//! first frame carries the total length. One sender's frames arrive in
//! order (one producer handle), so frames are reassembled per sender.

use std::collections::HashMap;

use mproc_queue::{Producer, QueueError};

/// Bytes of frame header.
pub(crate) const HEADER: usize = 16;
/// The frame begins a message.
const FIRST: u32 = 1;

/// A message being sent frame by frame, resumable when the queue is full.
#[derive(Debug, Default)]
pub(crate) struct Outgoing {
    /// Bytes of the message sent so far.
    sent: usize,
    started: bool,
}

impl Outgoing {
    /// Sends frames of the message made of `parts` (concatenated) until it
    /// is all sent (`Ok(true)`) or, when `block` is false, the queue is
    /// full (`Ok(false)`: call again with the same parts).
    pub(crate) fn pump(
        &mut self,
        tx: &mut Producer,
        sender: u32,
        parts: &[&[u8]],
        block: bool,
    ) -> Result<bool, QueueError> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        while !self.started || self.sent < total {
            let mut slot = match if block { tx.loan() } else { tx.try_loan() } {
                Ok(slot) => slot,
                Err(QueueError::Full { .. }) => return Ok(false),
                Err(e) => return Err(e),
            };
            let room = slot.len() - HEADER;
            let n = room.min(total - self.sent);
            let flags = if self.started { 0 } else { FIRST };
            slot[0..4].copy_from_slice(&sender.to_le_bytes());
            slot[4..8].copy_from_slice(&flags.to_le_bytes());
            slot[8..16].copy_from_slice(&(total as u64).to_le_bytes());
            copy_range(parts, self.sent, &mut slot[HEADER..HEADER + n]);
            slot.commit(HEADER + n)?;
            self.started = true;
            self.sent += n;
        }
        Ok(true)
    }
}

/// Sends a whole message, waiting for room.
pub(crate) fn send(tx: &mut Producer, sender: u32, parts: &[&[u8]]) -> Result<(), QueueError> {
    Outgoing::default()
        .pump(tx, sender, parts, true)
        .map(|_| ())
}

/// Copies `dst.len()` bytes starting at `from` of the concatenation of
/// `parts` into `dst`.
fn copy_range(parts: &[&[u8]], mut from: usize, dst: &mut [u8]) {
    let mut filled = 0;
    for part in parts {
        if filled == dst.len() {
            break;
        }
        if from >= part.len() {
            from -= part.len();
            continue;
        }
        let n = (part.len() - from).min(dst.len() - filled);
        dst[filled..filled + n].copy_from_slice(&part[from..from + n]);
        filled += n;
        from = 0;
    }
}

/// A reassembled message: in the frame itself when it fit one.
#[derive(Debug)]
pub(crate) enum Message<'a> {
    /// The message is the frame's payload.
    Whole(&'a [u8]),
    /// The message was reassembled from several frames.
    Joined(Vec<u8>),
}

impl Message<'_> {
    /// The message's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Message::Whole(b) => b,
            Message::Joined(v) => v,
        }
    }
}

/// A frame that does not fit the protocol (truncated, or a continuation
/// without a beginning); it is dropped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BadFrame {
    pub(crate) sender: u32,
    pub(crate) len: usize,
}

/// Reassembles messages from frames, per sender.
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    partial: HashMap<u32, (Vec<u8>, usize)>,
}

impl Assembler {
    /// Takes one frame; returns the sender and the message it completes.
    pub(crate) fn push<'f>(
        &mut self,
        frame: &'f [u8],
    ) -> Result<Option<(u32, Message<'f>)>, BadFrame> {
        let Some((header, payload)) = frame.split_first_chunk::<HEADER>() else {
            return Err(BadFrame {
                sender: u32::MAX,
                len: frame.len(),
            });
        };
        let word =
            |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
        let sender = word(0);
        let flags = word(4);
        let total = u64::from_le_bytes(header[8..16].try_into().unwrap_or([0; 8]));
        let bad = BadFrame {
            sender,
            len: frame.len(),
        };
        let total = usize::try_from(total).map_err(|_| BadFrame {
            sender,
            len: frame.len(),
        })?;
        if flags & FIRST != 0 {
            // A new message drops whatever was pending for this sender.
            self.partial.remove(&sender);
            if payload.len() == total {
                return Ok(Some((sender, Message::Whole(payload))));
            }
            if payload.len() > total {
                return Err(bad);
            }
            let mut buf = Vec::with_capacity(total);
            buf.extend_from_slice(payload);
            self.partial.insert(sender, (buf, total));
            return Ok(None);
        }
        let Some((buf, want)) = self.partial.get_mut(&sender) else {
            return Err(bad);
        };
        if buf.len() + payload.len() > *want {
            self.partial.remove(&sender);
            return Err(bad);
        }
        buf.extend_from_slice(payload);
        if buf.len() < *want {
            return Ok(None);
        }
        let (buf, _) = self.partial.remove(&sender).unwrap_or_default();
        Ok(Some((sender, Message::Joined(buf))))
    }

    /// Drops a sender's partial message (it died mid-message).
    pub(crate) fn forget(&mut self, sender: u32) {
        self.partial.remove(&sender);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mproc_queue::{Queue, QueueOptions};

    #[test]
    fn copies_ranges_across_parts() {
        let parts: [&[u8]; 3] = [b"abc", b"", b"defg"];
        let mut dst = [0u8; 4];
        copy_range(&parts, 2, &mut dst);
        assert_eq!(&dst, b"cdef");
    }

    #[test]
    fn small_and_large_messages_round_trip_interleaved() {
        let q = Queue::new(QueueOptions::new().capacity(64).slot_size(32)).unwrap();
        let mut tx = q.producer().unwrap();
        let mut rx = q.consumer().unwrap();
        let big: Vec<u8> = (0..200u8).collect();
        send(&mut tx, 7, &[b"hi"]).unwrap();
        send(&mut tx, 8, &[&big[..100], &big[100..]]).unwrap();
        send(&mut tx, 9, &[]).unwrap();
        let mut asm = Assembler::default();
        let mut got = Vec::new();
        while let Ok(frame) = rx.try_recv() {
            if let Some((s, m)) = asm.push(&frame).unwrap() {
                got.push((s, m.bytes().to_vec()));
            }
        }
        assert_eq!(got, vec![(7, b"hi".to_vec()), (8, big), (9, Vec::new())]);
    }

    #[test]
    fn pump_resumes_after_full() {
        let q = Queue::new(QueueOptions::new().capacity(2).slot_size(20)).unwrap();
        let mut tx = q.producer().unwrap();
        let mut rx = q.consumer().unwrap();
        let msg: Vec<u8> = (0..30u8).collect();
        let mut out = Outgoing::default();
        let mut asm = Assembler::default();
        let mut done = None;
        for _ in 0..10 {
            let finished = out.pump(&mut tx, 1, &[&msg], false).unwrap();
            while let Ok(frame) = rx.try_recv() {
                if let Some((_, m)) = asm.push(&frame).unwrap() {
                    done = Some(m.bytes().to_vec());
                }
            }
            if finished {
                break;
            }
        }
        assert_eq!(done, Some(msg));
    }

    #[test]
    fn stray_continuation_is_refused() {
        let mut frame = vec![0u8; HEADER + 2];
        frame[0] = 3;
        let mut asm = Assembler::default();
        assert_eq!(
            asm.push(&frame).unwrap_err(),
            BadFrame { sender: 3, len: 18 }
        );
        assert!(asm.push(&[1, 2]).is_err());
    }
}
