//! The messages between the pool's handler and its workers.
//!
//! To a worker (its own SPSC queue): `[TASK]` then one or more chunks,
//! each `[TaskHeader][arguments]`, or `[EXIT]`. From workers (one MPMC
//! queue, frames tagged with the worker's incarnation): `[RESULT]` then one
//! or more `[dispatch id u64][length u32][outcomes]`, or `[BYE]`; callers
//! of the pool post `[WAKE]` there to wake the handler. Several small
//! chunks travel in one message, so that a queue operation and a wake-up
//! are paid per batch rather than per task.

use serde::{Deserialize, Serialize};

use super::task::Call;

/// A chunk to run.
pub(crate) const TASK: u8 = 1;
/// Finish and exit.
pub(crate) const EXIT: u8 = 2;
/// A chunk's outcomes.
pub(crate) const RESULT: u8 = 1;
/// The worker ran its `maxtasksperchild` chunks and exits.
pub(crate) const BYE: u8 = 2;
/// New work or orders for the handler.
pub(crate) const WAKE: u8 = 3;

/// The frame sender id of pool callers (workers count up from 1).
pub(crate) const CALLER: u32 = 0;

/// What precedes a chunk's arguments.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TaskHeader {
    /// Unique per dispatch; echoed in the result.
    pub(crate) id: u64,
    pub(crate) call: Call,
    pub(crate) count: u32,
    /// Tasks below this index are not run again (their outcomes were
    /// recovered from a worker that died).
    pub(crate) first: u32,
    /// Tasks not to run again (their worker died running them).
    pub(crate) skips: Vec<u32>,
    /// Bytes of arguments that follow.
    pub(crate) args_len: u32,
    /// Send the outcomes gathered so far before running this chunk: the
    /// previous chunk belongs to another call, or to a streaming one
    /// (`imap`), whose caller takes each result as it comes. Outcomes of
    /// chunks of one `map` may wait for each other: the call completes
    /// with its last chunk anyway.
    pub(crate) flush_first: bool,
}

/// Splits the next chunk off a task message body: its header, its
/// arguments, and the rest.
pub(crate) fn next_chunk(body: &[u8]) -> Option<(TaskHeader, &[u8], &[u8])> {
    let (header, rest) = postcard::take_from_bytes::<TaskHeader>(body).ok()?;
    let len = header.args_len as usize;
    if rest.len() < len {
        return None;
    }
    let (args, rest) = rest.split_at(len);
    Some((header, args, rest))
}

/// Appends one chunk's outcomes entry to a result message.
pub(crate) fn begin_outcomes(id: u64, out: &mut Vec<u8>) -> usize {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.len()
}

/// The most bytes a chunk's arguments, or its outcomes, may take: their
/// lengths travel as `u32`.
pub(crate) const MAX_CHUNK_BYTES: usize = u32::MAX as usize;

/// Refuses a chunk whose arguments have grown to `len` bytes, past
/// [`MAX_CHUNK_BYTES`].
pub(crate) fn check_chunk_args(len: usize) -> Result<(), String> {
    if len > MAX_CHUNK_BYTES {
        return Err(format!(
            "the chunk's arguments take {len} bytes, more than {MAX_CHUNK_BYTES} (use a smaller chunksize)"
        ));
    }
    Ok(())
}

/// Fills in the length of the entry begun at `start` (returned by
/// [`begin_outcomes`]).
pub(crate) fn end_outcomes(start: usize, out: &mut [u8]) {
    let len = (out.len() - start) as u32;
    out[start - 4..start].copy_from_slice(&len.to_le_bytes());
}

/// The entries of a result message body (after the kind byte): each
/// chunk's dispatch id and the range of its outcome bytes in `body`.
pub(crate) fn result_entries(
    body: &[u8],
) -> impl Iterator<Item = (u64, std::ops::Range<usize>)> + '_ {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let head = body.get(at..at + 12)?;
        let id = u64::from_le_bytes(head[..8].try_into().ok()?);
        let len = u32::from_le_bytes(head[8..].try_into().ok()?) as usize;
        let start = at + 12;
        let end = start.checked_add(len).filter(|&e| e <= body.len())?;
        at = end;
        Some((id, start..end))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_past_a_u32_length_are_refused() {
        assert!(check_chunk_args(MAX_CHUNK_BYTES).is_ok());
        let err = check_chunk_args(MAX_CHUNK_BYTES + 1).unwrap_err();
        assert!(err.contains("4294967296 bytes"), "{err}");
    }

    #[test]
    fn result_entries_round_trip_and_stop_at_garbage() {
        let mut m = Vec::new();
        let s = begin_outcomes(7, &mut m);
        m.extend_from_slice(b"xy");
        end_outcomes(s, &mut m);
        let s = begin_outcomes(9, &mut m);
        end_outcomes(s, &mut m);
        m.extend_from_slice(&[1, 2, 3]);
        let got: Vec<_> = result_entries(&m).collect();
        assert_eq!(got, vec![(7, 12..14), (9, 26..26)]);
    }

    #[test]
    fn chunks_split_by_their_lengths() {
        let mut m = Vec::new();
        for (id, args) in [(1u64, &b"abc"[..]), (2, &b""[..])] {
            let h = TaskHeader {
                id,
                call: Call::of_fn(|x: u8| x).unwrap(),
                count: 1,
                first: 0,
                skips: vec![],
                args_len: args.len() as u32,
                flush_first: id % 2 == 0,
            };
            m.extend_from_slice(&postcard::to_stdvec(&h).unwrap());
            m.extend_from_slice(args);
        }
        let (h1, a1, rest) = next_chunk(&m).unwrap();
        let (h2, a2, rest) = next_chunk(rest).unwrap();
        assert_eq!(
            (h1.id, a1, h2.id, a2, rest.len()),
            (1, &b"abc"[..], 2, &b""[..], 0)
        );
        assert!(next_chunk(&m[..m.len() - 1]).is_some_and(|(_, _, r)| next_chunk(r).is_none()));
    }
}
