//! The messages between the pool's handler and its workers.
//!
//! To a worker (its own SPSC queue): `[TASK][TaskHeader][arguments]` or
//! `[EXIT]`. From workers (one MPMC queue, frames tagged with the worker's
//! incarnation): `[RESULT][dispatch id u64][outcomes]` or `[BYE]`; callers
//! of the pool post `[WAKE]` there to wake the handler.

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
    /// Tasks not to run again (their worker died running them).
    pub(crate) skips: Vec<u32>,
}

/// Splits a result message into its dispatch id and outcome bytes.
pub(crate) fn parse_result(msg: &[u8]) -> Option<(u64, &[u8])> {
    let (&kind, rest) = msg.split_first()?;
    if kind != RESULT {
        return None;
    }
    let (id, outcomes) = rest.split_first_chunk::<8>()?;
    Some((u64::from_le_bytes(*id), outcomes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_messages_parse() {
        let mut m = vec![RESULT];
        m.extend_from_slice(&7u64.to_le_bytes());
        m.extend_from_slice(b"xy");
        assert_eq!(parse_result(&m), Some((7, &b"xy"[..])));
        assert_eq!(parse_result(&[BYE]), None);
        assert_eq!(parse_result(&[RESULT, 1]), None);
    }
}
