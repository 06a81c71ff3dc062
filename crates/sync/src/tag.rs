//! Tags that mark initialized primitives in shared memory, and the checks
//! `attach` runs on their bytes.

use crate::{Result, SyncError};

/// Builds a tag from four ASCII bytes.
pub(crate) const fn tag(b: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*b)
}

/// `Err(Corrupt)` unless `found == expected`.
pub(crate) fn check_tag(what: &'static str, offset: u64, found: u32, expected: u32) -> Result<()> {
    if found == expected {
        Ok(())
    } else {
        Err(SyncError::Corrupt {
            what,
            offset,
            field: "tag",
            value: found.into(),
        })
    }
}

/// `Err(Corrupt)` if `bad`.
pub(crate) fn check_field(
    what: &'static str,
    offset: u64,
    field: &'static str,
    value: u64,
    bad: bool,
) -> Result<()> {
    if bad {
        Err(SyncError::Corrupt {
            what,
            offset,
            field,
            value,
        })
    } else {
        Ok(())
    }
}
