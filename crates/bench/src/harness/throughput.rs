//! One-way throughput: a warm-up round, then timed repeats of `n` messages.

use std::time::Duration;

use anyhow::Result;

use crate::report::model::Runs;

/// Runs `round(r)` once to warm up and then `repeats` times; each returns the
/// time it took to move `n` messages of `size` bytes. Figures are in
/// messages per second, or bytes per second when `bytes` is set.
///
/// # Errors
///
/// The first error of `round`.
pub(crate) fn measure_rounds(
    repeats: usize,
    n: usize,
    size: usize,
    bytes: bool,
    mut round: impl FnMut(usize) -> Result<Duration>,
) -> Result<Runs> {
    round(0)?;
    let mut runs = Vec::with_capacity(repeats);
    for r in 1..=repeats {
        let took = round(r)?.as_secs_f64().max(1e-9);
        let per_sec = n as f64 / took;
        runs.push(if bytes {
            per_sec * size as f64
        } else {
            per_sec
        });
    }
    Ok(Runs(runs))
}

/// Whether throughput at `size` is reported in bytes per second (else in
/// messages per second): copied messages from 1 KiB on. Loaned messages are
/// always counted in messages per second, since their payload is not moved.
pub(crate) fn in_bytes(size: usize, loaned: bool) -> bool {
    size >= 1024 && !loaned
}

/// Writes the sequence number `seq` into the first 8 bytes of `buf` (when it
/// has them), so that the receiver can check order and loss.
#[inline]
pub(crate) fn stamp(buf: &mut [u8], seq: u64) {
    if let Some(head) = buf.get_mut(..8) {
        head.copy_from_slice(&seq.to_le_bytes());
    } else if let Some(b) = buf.first_mut() {
        *b = seq as u8;
    }
}

/// The sequence number [`stamp`] wrote (its low byte for messages under 8 bytes).
#[inline]
pub(crate) fn read_stamp(buf: &[u8]) -> u64 {
    match buf.get(..8) {
        Some(head) => u64::from_le_bytes(head.try_into().unwrap_or([0; 8])),
        None => buf.first().copied().map_or(0, u64::from),
    }
}

/// Whether `got` is the stamp of message `seq` for `size`-byte messages.
#[inline]
pub(crate) fn stamp_matches(got: u64, seq: u64, size: usize) -> bool {
    if size >= 8 {
        got == seq
    } else {
        got == seq & 0xff
    }
}
