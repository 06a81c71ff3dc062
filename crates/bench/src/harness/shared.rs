//! A block of control words shared with forked children: each word on its own
//! cache line, in an anonymous mproc segment (mapped at the same address in
//! parent and child).

use std::sync::atomic::{AtomicU32, AtomicU64};

use anyhow::{Context, Result};
use mproc::shm::Segment;

const LINE: u64 = 64;

/// `lines` cache lines of shared memory plus `extra` bytes after them.
#[derive(Debug)]
pub(crate) struct SharedBlock {
    segment: Segment,
    lines: u64,
}

impl SharedBlock {
    /// A zeroed block of `lines` cache-line words and `extra` payload bytes.
    pub(crate) fn new(lines: usize, extra: usize) -> Result<SharedBlock> {
        let lines = lines as u64;
        let segment = Segment::anonymous(lines * LINE + extra as u64)
            .context("creating an anonymous shared segment")?;
        Ok(SharedBlock { segment, lines })
    }

    /// The 64-bit word at the start of cache line `i`.
    ///
    /// # Panics
    ///
    /// If `i` is not below the number of lines (a bug in the harness).
    pub(crate) fn word(&self, i: usize) -> &AtomicU64 {
        assert!((i as u64) < self.lines, "control line {i} out of range");
        self.segment
            .payload()
            .get::<AtomicU64>(i as u64 * LINE)
            .expect("control lines are in bounds and 64-byte aligned")
    }

    /// The 32-bit futex word at the start of cache line `i`.
    ///
    /// # Panics
    ///
    /// If `i` is not below the number of lines.
    pub(crate) fn word32(&self, i: usize) -> &AtomicU32 {
        assert!((i as u64) < self.lines, "control line {i} out of range");
        self.segment
            .payload()
            .get::<AtomicU32>(i as u64 * LINE)
            .expect("control lines are in bounds and 64-byte aligned")
    }

    /// The payload bytes after the control lines: start pointer and length.
    pub(crate) fn extra(&self) -> (*mut u8, usize) {
        let payload = self.segment.payload();
        let start = (self.lines * LINE) as usize;
        // SAFETY: `start` is within the payload, whose length is at least
        // `lines * LINE` by construction.
        let ptr = unsafe { payload.as_ptr().add(start) };
        (ptr, payload.len() - start)
    }
}
