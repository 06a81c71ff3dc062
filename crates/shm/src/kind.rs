//! What a segment holds.

/// The kind of object a segment holds, recorded in its header.
///
/// Opening a segment as the wrong kind is
/// [`ShmError::WrongKind`](crate::ShmError::WrongKind).
///
/// # Examples
///
/// ```
/// use mproc_shm::SegmentKind;
///
/// assert_eq!(SegmentKind::from_raw(SegmentKind::Dict.as_raw()), Some(SegmentKind::Dict));
/// assert_eq!(SegmentKind::from_raw(0xdead), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum SegmentKind {
    /// Plain bytes, laid out by the user.
    Raw = 1,
    /// A `Lock`.
    Lock = 2,
    /// An `RLock`.
    RLock = 3,
    /// A `Semaphore` or `BoundedSemaphore`.
    Semaphore = 4,
    /// A `Condition` (with its lock).
    Condition = 5,
    /// An `Event`.
    Event = 6,
    /// A `Barrier`.
    Barrier = 7,
    /// A single-producer single-consumer queue.
    SpscQueue = 16,
    /// A multi-producer multi-consumer queue.
    Queue = 17,
    /// A `JoinableQueue`.
    JoinableQueue = 18,
    /// A duplex or one-way `Pipe`.
    Pipe = 19,
    /// A shared dict.
    Dict = 32,
    /// A `Value<T>`.
    Value = 33,
    /// An `Array<T>`.
    Array = 34,
    /// A `Manager` namespace.
    Manager = 35,
    /// A process pool's control block.
    Pool = 48,
    /// A spawn start method's hand-off.
    Spawn = 49,
}

impl SegmentKind {
    const ALL: [SegmentKind; 17] = [
        SegmentKind::Raw,
        SegmentKind::Lock,
        SegmentKind::RLock,
        SegmentKind::Semaphore,
        SegmentKind::Condition,
        SegmentKind::Event,
        SegmentKind::Barrier,
        SegmentKind::SpscQueue,
        SegmentKind::Queue,
        SegmentKind::JoinableQueue,
        SegmentKind::Pipe,
        SegmentKind::Dict,
        SegmentKind::Value,
        SegmentKind::Array,
        SegmentKind::Manager,
        SegmentKind::Pool,
        SegmentKind::Spawn,
    ];

    /// The number stored in the header.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_shm::SegmentKind::Raw.as_raw(), 1);
    /// ```
    pub fn as_raw(self) -> u32 {
        self as u32
    }

    /// The kind with this number, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::SegmentKind;
    /// assert_eq!(SegmentKind::from_raw(17), Some(SegmentKind::Queue));
    /// ```
    pub fn from_raw(raw: u32) -> Option<SegmentKind> {
        SegmentKind::ALL.into_iter().find(|k| k.as_raw() == raw)
    }

    /// A short lower-case name, for listings.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_shm::SegmentKind::SpscQueue.name(), "spsc-queue");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            SegmentKind::Raw => "raw",
            SegmentKind::Lock => "lock",
            SegmentKind::RLock => "rlock",
            SegmentKind::Semaphore => "semaphore",
            SegmentKind::Condition => "condition",
            SegmentKind::Event => "event",
            SegmentKind::Barrier => "barrier",
            SegmentKind::SpscQueue => "spsc-queue",
            SegmentKind::Queue => "queue",
            SegmentKind::JoinableQueue => "joinable-queue",
            SegmentKind::Pipe => "pipe",
            SegmentKind::Dict => "dict",
            SegmentKind::Value => "value",
            SegmentKind::Array => "array",
            SegmentKind::Manager => "manager",
            SegmentKind::Pool => "pool",
            SegmentKind::Spawn => "spawn",
        }
    }
}
