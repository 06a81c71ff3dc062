//! [`DictOptions`]: the shape and limits of a new dict.

use crate::block::HEADER;
use crate::class::MAX_BLOCK;
use crate::layout::{ARENA_START, MAX_ARENA, MAX_BUCKET_BITS, TableLayout};
use crate::{DictError, Result};

/// Default [`DictOptions::capacity`].
///
/// # Examples
///
/// ```
/// let d = mproc_dict::Dict::new(Default::default()).unwrap();
/// let room = d.stats().unwrap().buckets * 7 / 8;
/// assert!(room >= mproc_dict::DEFAULT_CAPACITY);
/// ```
pub const DEFAULT_CAPACITY: u64 = 1024;
/// Default [`DictOptions::max_key_len`].
///
/// # Examples
///
/// ```
/// let d = mproc_dict::Dict::new(Default::default()).unwrap();
/// let long = vec![0u8; mproc_dict::DEFAULT_MAX_KEY_LEN as usize + 1];
/// assert!(d.insert(&long, b"").is_err());
/// ```
pub const DEFAULT_MAX_KEY_LEN: u64 = 64 * 1024;
/// Default [`DictOptions::max_value_len`].
///
/// # Examples
///
/// ```
/// assert_eq!(mproc_dict::DEFAULT_MAX_VALUE_LEN, 16 << 20);
/// ```
pub const DEFAULT_MAX_VALUE_LEN: u64 = 16 * 1024 * 1024;

/// Bytes of arena guessed per entry when sizing a new table.
const BYTES_PER_ENTRY: u64 = 48;

/// How to make a dict: initial capacity, optional memory cap, key and value
/// limits, shard count.
///
/// # Examples
///
/// ```
/// use mproc_dict::{Dict, DictOptions};
///
/// let opts = DictOptions::new()
///     .capacity(10_000)
///     .max_bytes(64 << 20)
///     .max_key_len(256)
///     .max_value_len(4096)
///     .shards(16);
/// let d = Dict::new(opts).unwrap();
/// assert_eq!(d.stats().unwrap().shards, 16);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DictOptions {
    pub(crate) capacity: u64,
    pub(crate) max_bytes: Option<u64>,
    pub(crate) max_key_len: u64,
    pub(crate) max_value_len: u64,
    pub(crate) shards: Option<u64>,
    pub(crate) mode: Option<u32>,
}

impl Default for DictOptions {
    fn default() -> Self {
        DictOptions::new()
    }
}

impl DictOptions {
    /// The defaults: room for [`DEFAULT_CAPACITY`] entries before the first
    /// growth, no memory cap, keys up to [`DEFAULT_MAX_KEY_LEN`] and values
    /// up to [`DEFAULT_MAX_VALUE_LEN`] bytes, shards chosen from the
    /// capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// let o = mproc_dict::DictOptions::new();
    /// assert_eq!(o, mproc_dict::DictOptions::default());
    /// ```
    pub fn new() -> DictOptions {
        DictOptions {
            capacity: DEFAULT_CAPACITY,
            max_bytes: None,
            max_key_len: DEFAULT_MAX_KEY_LEN,
            max_value_len: DEFAULT_MAX_VALUE_LEN,
            shards: None,
            mode: None,
        }
    }

    /// Entries the first table holds before growing (it grows by itself
    /// past that, unless capped).
    ///
    /// A capacity no table can hold (one that needs more than 2^30
    /// buckets in a shard: about 940 million entries per shard) makes
    /// [`Dict::new`](crate::Dict::new) and [`Dict::create`](crate::Dict::create)
    /// fail with [`DictError::InvalidOption`] (`option: "capacity"`), not
    /// overflow.
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(mproc_dict::DictOptions::new().capacity(4)).unwrap();
    /// for i in 0u32..100 {
    ///     d.insert(&i.to_le_bytes(), b"v").unwrap();
    /// }
    /// assert_eq!(d.len().unwrap(), 100);
    /// assert!(d.stats().unwrap().generation > 0);
    /// ```
    pub fn capacity(mut self, entries: u64) -> Self {
        self.capacity = entries;
        self
    }

    /// A cap on the size of the dict's table segment (header included):
    /// growth stops there and inserts that do not fit fail with
    /// [`DictError::Full`]. While a table grows, the old and the new one
    /// exist together for a moment.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_dict::{Dict, DictError, DictOptions};
    /// let d = Dict::new(DictOptions::new().capacity(8).max_bytes(16 << 10)).unwrap();
    /// let full = (0u32..10_000).find_map(|i| d.insert(&i.to_le_bytes(), &[0; 100]).err());
    /// assert!(matches!(full, Some(DictError::Full { .. })));
    /// ```
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = Some(bytes);
        self
    }

    /// Longest key accepted (at most 8 MiB - 1).
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(mproc_dict::DictOptions::new().max_key_len(2)).unwrap();
    /// assert!(d.insert(b"abc", b"").is_err());
    /// ```
    pub fn max_key_len(mut self, len: u64) -> Self {
        self.max_key_len = len;
        self
    }

    /// Longest value accepted.
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(mproc_dict::DictOptions::new().max_value_len(2)).unwrap();
    /// assert!(d.insert(b"k", b"abc").is_err());
    /// ```
    pub fn max_value_len(mut self, len: u64) -> Self {
        self.max_value_len = len;
        self
    }

    /// Number of shards (rounded up to a power of two, at most 256): each
    /// has its own lock, so writers of different shards never wait for each
    /// other.
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(mproc_dict::DictOptions::new().shards(3)).unwrap();
    /// assert_eq!(d.stats().unwrap().shards, 4);
    /// ```
    pub fn shards(mut self, shards: u64) -> Self {
        self.shards = Some(shards);
        self
    }

    /// Permission bits of a named dict's segments: its root and every
    /// table it grows into, whichever process grows it (by default the
    /// creating process's [`mproc_shm::default_mode`], `0o600` unless
    /// changed; set exactly, whatever the umask). Bits beyond `0o777`
    /// make creation fail with [`DictError::InvalidOption`]
    /// (`option: "mode"`).
    ///
    /// Between users, `/dev/shm`'s sticky bit lets only a file's owner (or
    /// root) remove it: a table grown by another user outlives the
    /// creator's drop, until that user or root removes it (`mproc rm` or
    /// `mproc gc`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::fs::PermissionsExt;
    /// use mproc_dict::{Dict, DictOptions};
    /// let d = Dict::create("doc-dict-mode", DictOptions::new().mode(0o640)).unwrap();
    /// let root = std::fs::metadata("/dev/shm/mproc.doc-dict-mode").unwrap();
    /// assert_eq!(root.permissions().mode() & 0o777, 0o640);
    /// # drop(d);
    /// let setuid = Dict::new(DictOptions::new().mode(0o4777)).unwrap_err();
    /// assert!(matches!(setuid, mproc_dict::DictError::InvalidOption { option: "mode", .. }));
    /// ```
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Checks the limits.
    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |option, value| Err(DictError::InvalidOption { option, value });
        if self.max_key_len == 0 || self.max_key_len >= 1 << 23 {
            return bad("max_key_len", self.max_key_len);
        }
        if self.max_value_len > MAX_BLOCK - HEADER - self.max_key_len {
            return bad("max_value_len", self.max_value_len);
        }
        if let Some(s) = self.shards
            && (s == 0 || s > 256)
        {
            return bad("shards", s);
        }
        if let Some(mode) = self.mode
            && mode & !0o777 != 0
        {
            return bad("mode", mode.into());
        }
        Ok(())
    }

    /// The first table's layout.
    pub(crate) fn initial_layout(&self) -> Result<TableLayout> {
        self.validate()?;
        let capacity = self.capacity.max(1);
        let shard_bits = match self.shards {
            Some(s) => s.next_power_of_two().trailing_zeros(),
            None => (capacity / 16).max(1).ilog2().clamp(2, 6),
        };
        let per_shard = capacity.div_ceil(1 << shard_bits);
        // A capacity past what one table can hold is the caller's option,
        // not a corrupt layout: refuse it before anything overflows.
        let too_large = DictError::InvalidOption {
            option: "capacity",
            value: self.capacity,
        };
        let bucket_bits = buckets_for(per_shard);
        if u64::from(bucket_bits) > MAX_BUCKET_BITS {
            return Err(too_large);
        }
        // The arena is clamped below: only its computation must not wrap.
        let arena_len = per_shard
            .checked_mul(BYTES_PER_ENTRY)
            .and_then(|b| b.checked_add(ARENA_START))
            .map_or(MAX_ARENA, round64)
            .clamp(256, MAX_ARENA & !63);
        let layout = TableLayout {
            generation: 0,
            shard_bits,
            bucket_bits,
            arena_len,
            max_key: self.max_key_len,
            max_value: self.max_value_len,
        };
        match layout.validate() {
            Err(DictError::Corrupt {
                what: "bucket_bits" | "table size",
                ..
            }) => Err(too_large),
            r => r.map(|()| layout),
        }
    }
}

/// log2 of the buckets needed for `entries` under the 7/8 load limit
/// (saturating: past `MAX_BUCKET_BITS`, never wrapping, for a count no
/// table can hold, which every layout check refuses).
pub(crate) fn buckets_for(entries: u64) -> u32 {
    let need = entries
        .saturating_mul(8)
        .div_ceil(7)
        .saturating_add(1)
        .checked_next_power_of_two();
    need.map_or(u64::BITS, u64::trailing_zeros).max(1)
}

/// Rounds up to a multiple of 64.
pub(crate) fn round64(n: u64) -> u64 {
    n.div_ceil(64).saturating_mul(64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let l = DictOptions::new().initial_layout().unwrap();
        assert_eq!(l.shards(), 64);
        assert!(l.buckets() * l.shards() * 7 / 8 >= DEFAULT_CAPACITY);
        let small = DictOptions::new().capacity(1).initial_layout().unwrap();
        assert_eq!(small.shards(), 4);
        assert!(DictOptions::new().max_key_len(0).initial_layout().is_err());
        assert!(DictOptions::new().shards(1000).initial_layout().is_err());
        assert!(
            DictOptions::new()
                .max_value_len(u64::MAX)
                .initial_layout()
                .is_err()
        );
        assert_eq!(buckets_for(7), 4); // 7 * 8 / 7 + 1 = 9 buckets, rounded up to 16
    }

    #[test]
    fn a_capacity_no_table_can_hold_is_an_invalid_option_not_an_overflow() {
        let too_large = |opts: DictOptions, capacity: u64| {
            let r = std::panic::catch_unwind(|| opts.initial_layout());
            assert!(
                matches!(
                    r,
                    Ok(Err(DictError::InvalidOption { option: "capacity", value })) if value == capacity
                ),
                "capacity {capacity}: {r:?}"
            );
        };
        // Overflowed `per_shard * BYTES_PER_ENTRY` and `entries * 8`.
        too_large(DictOptions::new().shards(1).capacity(1 << 60), 1 << 60);
        too_large(DictOptions::new().capacity(u64::MAX), u64::MAX);
        // No overflow, but more buckets than a shard can have (it used to
        // be `Corrupt { what: "bucket_bits" }`).
        too_large(DictOptions::new().shards(1).capacity(1 << 40), 1 << 40);
        // The largest that fits is a layout (not made here: 8 GiB).
        let l = DictOptions::new().shards(1).capacity(900_000_000);
        assert_eq!(l.initial_layout().unwrap().bucket_bits, 30);
        assert!(u64::from(buckets_for(u64::MAX)) > MAX_BUCKET_BITS);
    }
}
