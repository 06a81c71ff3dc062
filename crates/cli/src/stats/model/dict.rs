//! The numbers of a dict, its table generations, `Value`s, `Array`s and
//! `Manager`s.

use serde::Serialize;

use super::{Field, LockStats, plural};
use crate::human_bytes;

/// The live numbers of a shared dict (its root segment).
///
/// # Examples
///
/// ```
/// use mproc_cli::DictStats;
///
/// let d = DictStats { len: 3, generation: 1, bytes_used: 2048, bytes_free: 0,
///                     bytes_unused: 0, arena_bytes: 4096, segment_bytes: 8192,
///                     shards: 4, buckets: 64, recoveries: 0 };
/// assert_eq!(d.summary(), "len 3, generation 1, 2.0 KiB used of 4.0 KiB");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DictStats {
    /// Entries.
    pub len: u64,
    /// The current table generation (grows when the table is full).
    pub generation: u64,
    /// Arena bytes in live entries.
    pub bytes_used: u64,
    /// Arena bytes freed and waiting for reuse.
    pub bytes_free: u64,
    /// Arena bytes never handed out yet.
    pub bytes_unused: u64,
    /// Arena bytes over all shards.
    pub arena_bytes: u64,
    /// Bytes of the current table segment.
    pub segment_bytes: u64,
    /// Shards (each with its own lock).
    pub shards: u64,
    /// Buckets over all shards.
    pub buckets: u64,
    /// Shard repairs after a lock holder died, in this generation.
    pub recoveries: u64,
}

impl DictStats {
    /// One line for `mproc ls`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "len {}, generation {}, {} used of {}",
            self.len,
            self.generation,
            human_bytes(self.bytes_used),
            human_bytes(self.arena_bytes)
        );
        match self.recoveries {
            0 => {}
            1 => s.push_str(", 1 recovery"),
            n => s.push_str(&format!(", {n} recoveries")),
        }
        s
    }

    pub(crate) fn fields(&self) -> Vec<Field> {
        vec![
            ("len", self.len.to_string()),
            ("generation", self.generation.to_string()),
            ("bytes used", self.bytes_used.to_string()),
            ("bytes free", self.bytes_free.to_string()),
            ("bytes unused", self.bytes_unused.to_string()),
            ("arena bytes", self.arena_bytes.to_string()),
            ("table bytes", self.segment_bytes.to_string()),
            ("shards", self.shards.to_string()),
            ("buckets", self.buckets.to_string()),
            ("recoveries", self.recoveries.to_string()),
        ]
    }
}

/// One table generation of a dict: the segment `DICT.gN` that holds its
/// shards, buckets and arena (the dict's root segment names the current
/// one).
///
/// # Examples
///
/// ```
/// use mproc_cli::DictTableStats;
///
/// let t = DictTableStats { generation: 2, shards: 8, buckets_per_shard: 64, arena_per_shard: 65536 };
/// assert_eq!(t.summary(), "table generation 2, 8 shards of 64 buckets, 64.0 KiB arena each");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DictTableStats {
    /// Which generation.
    pub generation: u64,
    /// Shards.
    pub shards: u64,
    /// Buckets in each shard.
    pub buckets_per_shard: u64,
    /// Arena bytes of each shard.
    pub arena_per_shard: u64,
}

impl DictTableStats {
    /// One line for `mproc ls`.
    pub fn summary(&self) -> String {
        format!(
            "table generation {}, {} of {} buckets, {} arena each",
            self.generation,
            plural(self.shards, "shard"),
            self.buckets_per_shard,
            human_bytes(self.arena_per_shard)
        )
    }

    pub(crate) fn fields(&self) -> Vec<Field> {
        vec![
            ("generation", self.generation.to_string()),
            ("shards", self.shards.to_string()),
            ("buckets/shard", self.buckets_per_shard.to_string()),
            ("arena/shard", self.arena_per_shard.to_string()),
        ]
    }
}

/// A `Value<T>` or `Array<T>`: plain-data elements behind a lock.
///
/// # Examples
///
/// ```
/// use mproc_cli::{ElementsStats, LockStats};
/// let free = LockStats { held: false, holder_tid: None, holder_pid: None,
///                        holder_alive: None, owner_died: false, count: None };
/// let a = ElementsStats { len: 10, element_size: 8, element_align: 8, lock: free };
/// assert_eq!(a.summary(), "10 elements of 8 bytes, lock free");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ElementsStats {
    /// Elements (1 for a `Value`).
    pub len: u64,
    /// Bytes per element.
    pub element_size: u64,
    /// Alignment of an element.
    pub element_align: u64,
    /// The lock guarding them.
    pub lock: LockStats,
}

impl ElementsStats {
    /// One line for `mproc ls`.
    pub fn summary(&self) -> String {
        format!(
            "{} of {} bytes, lock {}",
            plural(self.len, "element"),
            self.element_size,
            self.lock.summary()
        )
    }

    pub(crate) fn fields(&self) -> Vec<Field> {
        let mut v = vec![
            ("len", self.len.to_string()),
            ("element size", self.element_size.to_string()),
            ("element align", self.element_align.to_string()),
        ];
        v.extend(self.lock.fields().into_iter().map(|(l, x)| match l {
            "held" => ("lock held", x),
            other => (other, x),
        }));
        v
    }
}

/// One object a `Manager` made: its full segment name and kind.
///
/// # Examples
///
/// ```
/// use mproc_cli::ManagedObject;
/// let o = ManagedObject { name: "app.scores".into(), kind: "dict".into() };
/// assert_eq!(o.kind, "dict");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagedObject {
    /// The object's segment name (`PREFIX.name`).
    pub name: String,
    /// Its kind (`dict`, `value`, `array`, `lock`, `event`, `queue`).
    pub kind: String,
}

/// A `Manager`'s registry: the objects made under its prefix, removed
/// together with it.
///
/// # Examples
///
/// ```
/// use mproc_cli::{ManagedObject, ManagerStats};
/// let m = ManagerStats { objects: vec![ManagedObject { name: "app.jobs".into(), kind: "queue".into() }] };
/// assert_eq!(m.summary(), "1 object: app.jobs (queue)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagerStats {
    /// The registered objects, in registration order.
    pub objects: Vec<ManagedObject>,
}

impl ManagerStats {
    /// How many objects `summary` names before eliding the rest.
    const SHOWN: usize = 4;

    /// One line for `mproc ls`.
    pub fn summary(&self) -> String {
        let n = self.objects.len() as u64;
        let mut s = plural(n, "object");
        let shown: Vec<String> = self
            .objects
            .iter()
            .take(Self::SHOWN)
            .map(|o| format!("{} ({})", o.name, o.kind))
            .collect();
        if !shown.is_empty() {
            s.push_str(": ");
            s.push_str(&shown.join(", "));
        }
        if self.objects.len() > Self::SHOWN {
            s.push_str(", ...");
        }
        s
    }

    pub(crate) fn fields(&self) -> Vec<Field> {
        let mut v = vec![("objects", self.objects.len().to_string())];
        v.extend(
            self.objects
                .iter()
                .map(|o| ("object", format!("{} ({})", o.name, o.kind))),
        );
        v
    }
}
