//! Messages that describe themselves: `[producer id | seq | filler]`.

pub(super) fn filler(id: u64, seq: u64, i: usize) -> u8 {
    (id.wrapping_mul(31) ^ seq.wrapping_mul(7) ^ i as u64) as u8
}

/// Writes message (id, seq) of `len` bytes (at least 16) into `buf`.
pub(super) fn encode_into(buf: &mut [u8], id: u64, seq: u64, len: usize) {
    buf[..8].copy_from_slice(&id.to_le_bytes());
    buf[8..16].copy_from_slice(&seq.to_le_bytes());
    for (i, b) in buf[16..len].iter_mut().enumerate() {
        *b = filler(id, seq, i);
    }
}

/// (id, seq) of a whole message, or `None` if it is torn.
pub(super) fn decode(m: &[u8]) -> Option<(u64, u64)> {
    if m.len() < 16 {
        return None;
    }
    let id = u64::from_le_bytes(m[..8].try_into().ok()?);
    let seq = u64::from_le_bytes(m[8..16].try_into().ok()?);
    m[16..]
        .iter()
        .enumerate()
        .all(|(i, &b)| b == filler(id, seq, i))
        .then_some((id, seq))
}
