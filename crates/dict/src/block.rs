//! Arena block headers: one u64 at the start of every block.
//!
//! | bits | field |
//! | --- | --- |
//! | 0..32 | value length |
//! | 32..55 | key length (so keys are under 8 MiB) |
//! | 55..62 | size class |
//! | 62..64 | state: `01` live, `10` free (`00`, `11`: corrupt) |
//!
//! A live block is `[header | key | value]`; a free block is
//! `[header | next: u32 | ...]`, `next` the unit offset of the next free
//! block of its class (0 ends the list).

use crate::class::class_size;

/// Bytes of a block header.
pub(crate) const HEADER: u64 = 8;

const STATE_LIVE: u64 = 0b01;
const STATE_FREE: u64 = 0b10;

/// A decoded block header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockHeader {
    /// Size class.
    pub(crate) class: u8,
    /// Block size (from the class).
    pub(crate) size: u64,
    /// Whether the block holds an entry.
    pub(crate) live: bool,
    /// Key length (live blocks).
    pub(crate) key_len: u64,
    /// Value length (live blocks).
    pub(crate) value_len: u64,
}

impl BlockHeader {
    /// A live header; the lengths must fit the class.
    #[inline(always)]
    pub(crate) fn live(class: u8, key_len: u64, value_len: u64) -> u64 {
        value_len | key_len << 32 | u64::from(class) << 55 | STATE_LIVE << 62
    }

    /// A free header.
    #[inline(always)]
    pub(crate) fn free(class: u8) -> u64 {
        u64::from(class) << 55 | STATE_FREE << 62
    }

    /// Decodes and checks a raw header: a valid class, a known state, and
    /// for live blocks lengths that fit in the block. `None` if corrupt.
    #[inline(always)]
    pub(crate) fn decode(raw: u64) -> Option<BlockHeader> {
        let class = ((raw >> 55) & 0x7f) as u8;
        let size = class_size(class)?;
        let state = raw >> 62;
        let (live, key_len, value_len) = match state {
            STATE_LIVE => (true, (raw >> 32) & ((1 << 23) - 1), raw & 0xffff_ffff),
            STATE_FREE => (false, 0, 0),
            _ => return None,
        };
        if live && HEADER + key_len + value_len > size {
            return None;
        }
        Some(BlockHeader {
            class,
            size,
            live,
            key_len,
            value_len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_reject() {
        let h = BlockHeader::decode(BlockHeader::live(3, 5, 7)).unwrap();
        assert_eq!(
            (h.class, h.size, h.live, h.key_len, h.value_len),
            (3, 40, true, 5, 7)
        );
        let f = BlockHeader::decode(BlockHeader::free(0)).unwrap();
        assert!(!f.live && f.size == 16);
        assert_eq!(BlockHeader::decode(0), None);
        assert_eq!(BlockHeader::decode(u64::MAX), None);
        // Lengths over the class size.
        assert_eq!(BlockHeader::decode(BlockHeader::live(0, 5, 7)), None);
    }
}
