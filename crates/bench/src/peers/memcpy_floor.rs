//! The floor for copied messages: one `memcpy` of each message, in one
//! thread, from a source buffer into a ring of destination slots as large as
//! the queues' rings. A copying queue does at least this (and usually twice:
//! in and out).

use std::time::Instant;

use anyhow::Result;

use crate::harness::throughput::{in_bytes, measure_rounds};
use crate::profile::Profile;
use crate::report::model::Runs;

/// Throughput of copying `n` messages of `size` bytes.
///
/// # Errors
///
/// Never in practice; the signature matches the other systems.
pub(crate) fn throughput(profile: &Profile, size: usize, n: usize) -> Result<Runs> {
    let slots = Profile::capacity_for(size);
    let src = vec![1u8; size];
    let mut ring = vec![0u8; size * slots];
    measure_rounds(profile.repeats, n, size, in_bytes(size, false), |_| {
        let t0 = Instant::now();
        for i in 0..n {
            let at = (i % slots) * size;
            ring[at..at + size].copy_from_slice(std::hint::black_box(&src));
        }
        std::hint::black_box(&ring);
        Ok(t0.elapsed())
    })
}
