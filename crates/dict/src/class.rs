//! Size classes of arena blocks: 8-byte steps from 16 to 256 bytes, then
//! four classes per doubling up to 2 GiB. A block's class is stored in its
//! header; each class has its own free list per shard.

/// Number of size classes (fits the 7-bit class field of a block header).
pub(crate) const CLASS_COUNT: usize = 123;
/// The smallest block: a header and a free-list link.
pub(crate) const MIN_BLOCK: u64 = 16;
/// The largest block.
pub(crate) const MAX_BLOCK: u64 = 1 << 31;

const LINEAR_CLASSES: u64 = 31; // 16, 24, ..., 256

/// The size in bytes of class `class` (`None` past the last class).
#[inline]
pub(crate) fn class_size(class: u8) -> Option<u64> {
    let c = u64::from(class);
    if c < LINEAR_CLASSES {
        return Some(MIN_BLOCK + 8 * c);
    }
    if class as usize >= CLASS_COUNT {
        return None;
    }
    let g = c - LINEAR_CLASSES; // 0.. : 320, 384, 448, 512, 640, ...
    let doubling = g / 4;
    let step = g % 4 + 1;
    let base = 256u64 << doubling;
    Some(base + step * (base / 4))
}

/// The smallest class holding `len` bytes, and its size; `None` if `len`
/// is over [`MAX_BLOCK`].
#[inline]
pub(crate) fn class_for(len: u64) -> Option<(u8, u64)> {
    if len <= 256 {
        let len = len.max(MIN_BLOCK);
        let c = (len - MIN_BLOCK).div_ceil(8);
        return Some((c as u8, MIN_BLOCK + 8 * c));
    }
    if len > MAX_BLOCK {
        return None;
    }
    // 256 < len: find the doubling [base, 2 base) with base < len <= 2 base.
    let doubling = u64::from(63 - (len - 1).leading_zeros()) - 8; // base = 256 << doubling
    let base = 256u64 << doubling;
    let quarter = base / 4;
    let step = (len - base).div_ceil(quarter); // 1..=4
    let class = LINEAR_CLASSES + doubling * 4 + step - 1;
    Some((class as u8, base + step * quarter))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_increasing_and_cover() {
        let mut prev = 0;
        for c in 0..CLASS_COUNT as u8 {
            let s = class_size(c).unwrap();
            assert!(s > prev && s.is_multiple_of(8), "class {c} size {s}");
            prev = s;
        }
        assert_eq!(prev, MAX_BLOCK);
        assert_eq!(class_size(CLASS_COUNT as u8), None);
    }

    #[test]
    fn class_for_is_smallest_fit() {
        for len in (0..5000u64).chain([MAX_BLOCK - 1, MAX_BLOCK, 1 << 20, (1 << 20) + 1]) {
            let (c, s) = class_for(len).unwrap();
            assert_eq!(class_size(c), Some(s));
            assert!(s >= len && s >= MIN_BLOCK);
            if c > 0 {
                assert!(class_size(c - 1).unwrap() < len.max(MIN_BLOCK), "len {len}");
            }
        }
        assert_eq!(class_for(MAX_BLOCK + 1), None);
    }
}
