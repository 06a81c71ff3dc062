//! The key hash: fixed (no per-process seed), since every process that maps
//! a dict must find a key in the same bucket.

const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// A 64-bit hash of `key`, the same in every process and run of this
/// layout version.
#[inline]
pub(crate) fn hash_key(key: &[u8]) -> u64 {
    let mut h = (key.len() as u64).wrapping_mul(K) ^ 0x243F_6A88_85A3_08D3;
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    fmix(h)
}

/// MurmurHash3's finalizer: every input bit affects every output bit.
#[inline(always)]
fn fmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

#[cfg(test)]
mod tests {
    use super::hash_key;

    #[test]
    fn stable_and_spread() {
        assert_eq!(hash_key(b"abc"), hash_key(b"abc"));
        assert_ne!(hash_key(b""), hash_key(b"\0"));
        assert_ne!(hash_key(b"abcdefgh"), hash_key(b"abcdefgh\0"));
        // Low bits pick the shard: consecutive integer keys spread.
        let mut seen = [0u32; 16];
        for i in 0u64..1600 {
            seen[(hash_key(&i.to_le_bytes()) & 15) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| (50..150).contains(&n)), "{seen:?}");
    }
}
