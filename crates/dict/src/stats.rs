//! [`DictStats`]: what a dict's memory holds.

/// Memory use of a dict, from [`Dict::stats`](crate::Dict::stats).
///
/// `live_bytes` is what the entries' blocks take (each block: an 8-byte
/// header, the key and the value, rounded up to its size class);
/// `free_bytes` is freed blocks waiting for reuse; `unused_bytes` is arena
/// never handed out yet; `total_bytes` is the whole table segment (control
/// blocks and buckets included).
///
/// # Examples
///
/// ```
/// let d = mproc_dict::Dict::new(Default::default()).unwrap();
/// d.insert(b"a", b"b").unwrap();
/// d.remove(b"a").unwrap();
/// let s = d.stats().unwrap();
/// assert_eq!((s.entries, s.live_bytes, s.free_bytes), (0, 0, 16));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DictStats {
    /// Entries.
    pub entries: u64,
    /// Bytes in live blocks.
    pub live_bytes: u64,
    /// Bytes in freed blocks (reused by later entries of their size class).
    pub free_bytes: u64,
    /// Arena bytes not handed out yet.
    pub unused_bytes: u64,
    /// Arena bytes over all shards: `live + free + unused` when no block
    /// is lost.
    pub arena_bytes: u64,
    /// Shard repairs after a lock holder died, in this generation.
    pub recoveries: u64,
    /// Bytes of the current table segment, header included.
    pub total_bytes: u64,
    /// Generation number (0 until the first growth).
    pub generation: u64,
    /// Shards.
    pub shards: u64,
    /// Buckets over all shards.
    pub buckets: u64,
}
