//! The dispatch from a segment kind to the crate that reads its numbers.

use mproc_shm::{Header, SegmentKind};

use super::StatsOutcome;

/// Reads the statistics of the ready segment `name`, whose header is
/// `header`.
pub(super) fn read(_name: &str, header: &Header) -> StatsOutcome {
    match header.kind {
        // Plain bytes laid out by the user: the header says all there is.
        SegmentKind::Raw => StatsOutcome::NotAvailable,
        // Kinds whose crates expose no statistics yet.
        _ => StatsOutcome::NotAvailable,
    }
}
