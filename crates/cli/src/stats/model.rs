//! The statistics of each kind of segment, as `mproc` reports them: a
//! one-line summary for `ls` and labelled fields for `inspect`.

use serde::Serialize;

use crate::human_bytes;

/// A label and its value, as `mproc inspect` prints them.
pub(crate) type Field = (&'static str, String);

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn plural(n: u64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// The live numbers of a queue (`SpscQueue`, `Queue`, `JoinableQueue`).
///
/// # Examples
///
/// ```
/// use mproc_cli::QueueStats;
///
/// let q = QueueStats { capacity: 64, slot_size: 48, stride: 56, depth: 3, producers: 1,
///                      consumers: 1, sent: 10, received: 7, abandoned: 0, closed: false,
///                      unfinished: None };
/// assert_eq!(q.summary(), "depth 3/64, 1 producer, 1 consumer, sent 10, received 7, abandoned 0");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    /// Slots in the ring.
    pub capacity: u64,
    /// The largest message, in bytes.
    pub slot_size: u64,
    /// Bytes per slot (slot header plus payload, rounded up to 8).
    pub stride: u64,
    /// Messages waiting to be received.
    pub depth: u64,
    /// Producer handles whose process is alive.
    pub producers: u64,
    /// Consumer handles whose process is alive.
    pub consumers: u64,
    /// Messages sent since creation.
    pub sent: u64,
    /// Messages received since creation.
    pub received: u64,
    /// Slots skipped or freed because the process holding them died.
    pub abandoned: u64,
    /// Whether the queue was closed.
    pub closed: bool,
    /// A `JoinableQueue`'s tasks not yet marked done.
    pub unfinished: Option<u64>,
}

impl QueueStats {
    /// One line for `mproc ls`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "depth {}/{}, {}, {}, sent {}, received {}, abandoned {}",
            self.depth,
            self.capacity,
            plural(self.producers, "producer"),
            plural(self.consumers, "consumer"),
            self.sent,
            self.received,
            self.abandoned
        );
        if let Some(u) = self.unfinished {
            s.push_str(&format!(", unfinished {u}"));
        }
        if self.closed {
            s.push_str(", closed");
        }
        s
    }

    pub(crate) fn fields(&self) -> Vec<Field> {
        let mut v = vec![
            ("capacity", self.capacity.to_string()),
            ("slot size", format!("{} bytes", self.slot_size)),
            ("stride", format!("{} bytes", self.stride)),
            ("depth", self.depth.to_string()),
            ("producers", self.producers.to_string()),
            ("consumers", self.consumers.to_string()),
            ("sent", self.sent.to_string()),
            ("received", self.received.to_string()),
            ("abandoned", self.abandoned.to_string()),
            ("closed", yes_no(self.closed)),
        ];
        if let Some(u) = self.unfinished {
            v.push(("unfinished", u.to_string()));
        }
        v
    }
}

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

/// Who holds a lock (`Lock`, `RLock`, a `Condition`'s lock, the lock of a
/// `Value` or `Array`).
///
/// # Examples
///
/// ```
/// use mproc_cli::LockStats;
///
/// let l = LockStats { held: true, holder_tid: Some(4242), holder_pid: Some(4242),
///                     holder_alive: Some(false), owner_died: false, count: None };
/// assert_eq!(l.summary(), "held by pid 4242, dead: the next lock() recovers it");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LockStats {
    /// Whether it is held now.
    pub held: bool,
    /// The holding thread's id, if held.
    pub holder_tid: Option<u32>,
    /// The holding thread's process, if it could be found.
    pub holder_pid: Option<i32>,
    /// Whether the holding thread lives, if held.
    pub holder_alive: Option<bool>,
    /// A holder died holding it and nobody has vouched for the data since.
    pub owner_died: bool,
    /// An `RLock`'s recursion count.
    pub count: Option<u32>,
}

impl LockStats {
    /// One line for `mproc ls`.
    pub fn summary(&self) -> String {
        let mut s = match (self.held, self.holder_tid, self.holder_pid) {
            (false, _, _) => "free".to_owned(),
            (true, Some(tid), Some(pid)) if pid != tid as i32 => {
                format!("held by pid {pid} (thread {tid})")
            }
            (true, _, Some(pid)) => format!("held by pid {pid}"),
            (true, Some(tid), None) => format!("held by thread {tid}"),
            (true, None, None) => "held".to_owned(),
        };
        if self.held && self.holder_alive == Some(false) {
            s.push_str(", dead: the next lock() recovers it");
        }
        if let Some(n) = self.count.filter(|_| self.held) {
            s.push_str(&format!(", count {n}"));
        }
        if self.owner_died {
            s.push_str(", a holder died: not yet made consistent");
        }
        s
    }

    pub(crate) fn fields(&self) -> Vec<Field> {
        let mut v = vec![
            ("held", yes_no(self.held)),
            ("holder tid", or_dash(self.holder_tid)),
            ("holder pid", or_dash(self.holder_pid)),
            ("holder alive", or_dash(self.holder_alive.map(yes_no))),
            ("owner died", yes_no(self.owner_died)),
        ];
        if let Some(n) = self.count {
            v.push(("count", n.to_string()));
        }
        v
    }
}

/// A `Semaphore` or `BoundedSemaphore`.
///
/// # Examples
///
/// ```
/// use mproc_cli::SemaphoreStats;
/// assert_eq!(SemaphoreStats { value: 2, bound: Some(4) }.summary(), "value 2 of 4");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SemaphoreStats {
    /// The current value.
    pub value: u32,
    /// The bound of a `BoundedSemaphore`.
    pub bound: Option<u32>,
}

impl SemaphoreStats {
    /// One line for `mproc ls`.
    pub fn summary(&self) -> String {
        match self.bound {
            Some(b) => format!("value {} of {b}", self.value),
            None => format!("value {}", self.value),
        }
    }

    pub(crate) fn fields(&self) -> Vec<Field> {
        vec![
            ("value", self.value.to_string()),
            ("bound", or_dash(self.bound)),
        ]
    }
}

/// A `Barrier`.
///
/// # Examples
///
/// ```
/// use mproc_cli::BarrierStats;
/// let b = BarrierStats { parties: 4, waiting: 1, broken: false };
/// assert_eq!(b.summary(), "1 of 4 parties waiting");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BarrierStats {
    /// Parties it waits for.
    pub parties: u32,
    /// Parties waiting now.
    pub waiting: u32,
    /// Whether it is broken (a party died, or it was aborted).
    pub broken: bool,
}

impl BarrierStats {
    /// One line for `mproc ls`.
    pub fn summary(&self) -> String {
        let mut s = format!("{} of {} parties waiting", self.waiting, self.parties);
        if self.broken {
            s.push_str(", broken");
        }
        s
    }

    pub(crate) fn fields(&self) -> Vec<Field> {
        vec![
            ("parties", self.parties.to_string()),
            ("waiting", self.waiting.to_string()),
            ("broken", yes_no(self.broken)),
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
