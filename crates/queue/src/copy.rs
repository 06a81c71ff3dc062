//! Message copies that inline the small cases.
//!
//! A copy of a run-time length compiles to a call of the C library's
//! `memcpy`. For the short messages of a latency-bound hand-off (an
//! 8-byte ping-pong copies twice per direction), the call is a visible part
//! of the critical path; up to 16 bytes are copied here with at most two
//! overlapping unaligned loads and stores per side instead, the way `memcpy`
//! itself handles them, without the call.

/// Copies `src` into the start of `dst`.
///
/// # Panics
///
/// If `dst` is shorter than `src` (callers check lengths first).
#[inline(always)]
pub(crate) fn copy_bytes(dst: &mut [u8], src: &[u8]) {
    let dst = &mut dst[..src.len()];
    // SAFETY: `dst` and `src` are valid for `src.len()` bytes (the slice
    // above checked it) and cannot overlap (one is borrowed mutably).
    unsafe { copy_raw(src.as_ptr(), dst.as_mut_ptr(), src.len()) }
}

/// Copies `len` bytes from `src` to `dst`.
///
/// # Safety
///
/// `src` is valid for reads and `dst` for writes of `len` bytes, and the
/// two ranges do not overlap.
#[inline(always)]
pub(crate) unsafe fn copy_raw(src: *const u8, dst: *mut u8, len: usize) {
    // SAFETY: in every arm, each access starts at `0` or `len - k` and is
    // `k` bytes long with `k <= len`, so it stays in both ranges (the
    // caller's promise); unaligned accesses are used because payloads have
    // no alignment promise.
    unsafe {
        match len {
            8..=16 => {
                let a = src.cast::<u64>().read_unaligned();
                let b = src.add(len - 8).cast::<u64>().read_unaligned();
                dst.cast::<u64>().write_unaligned(a);
                dst.add(len - 8).cast::<u64>().write_unaligned(b);
            }
            4..=7 => {
                let a = src.cast::<u32>().read_unaligned();
                let b = src.add(len - 4).cast::<u32>().read_unaligned();
                dst.cast::<u32>().write_unaligned(a);
                dst.add(len - 4).cast::<u32>().write_unaligned(b);
            }
            2..=3 => {
                let a = src.cast::<u16>().read_unaligned();
                let b = src.add(len - 2).cast::<u16>().read_unaligned();
                dst.cast::<u16>().write_unaligned(a);
                dst.add(len - 2).cast::<u16>().write_unaligned(b);
            }
            1 => dst.write(src.read()),
            0 => {}
            _ => std::ptr::copy_nonoverlapping(src, dst, len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::copy_bytes;

    #[test]
    fn every_length_up_to_40_copies_exactly_its_bytes() {
        let src: Vec<u8> = (1..=40).collect();
        for len in 0..=40 {
            let mut dst = [0xAAu8; 48];
            copy_bytes(&mut dst, &src[..len]);
            assert_eq!(&dst[..len], &src[..len], "len {len}");
            assert!(
                dst[len..].iter().all(|&b| b == 0xAA),
                "len {len} wrote past the end"
            );
        }
    }
}
