//! [`Queue`] (many producers, many consumers) and [`SpscQueue`] (one of
//! each): the queue objects that make handles.

use std::sync::Arc;

use mproc_shm::SegmentKind;

use crate::core::{QueueCore, layout_of};
use crate::layout::{Flavor, Layout};
use crate::{Consumer, Producer, QueueError, QueueOptions, QueueStats, Result};

/// Builds the core of a one-area queue.
pub(crate) fn make(
    kind: SegmentKind,
    flavor: Flavor,
    joinable: bool,
    name: Option<&str>,
    opts: QueueOptions,
) -> Result<Arc<QueueCore>> {
    let layout = layout_of(flavor, &opts, joinable, 1)?;
    let seg = QueueCore::create_segment(kind, layout, name, &opts)?;
    QueueCore::attach(seg, layout, 0, opts.wait)
}

/// Opens the core of a named one-area queue of `kind`.
pub(crate) fn open(kind: SegmentKind, flavor: Flavor, name: &str) -> Result<Arc<QueueCore>> {
    let (seg, layout): (_, Layout) = QueueCore::open_segment(name, kind)?;
    if layout.flavor != flavor || layout.areas != 1 {
        return Err(QueueError::Corrupt {
            field: "flavor",
            value: layout.flavor as u64,
        });
    }
    QueueCore::attach(seg, layout, 0, QueueOptions::new().wait)
}

macro_rules! queue_common {
    ($ty:ident, $doc_ctor:literal) => {
        impl $ty {
            /// Registers a producer handle for the calling process.
            ///
            /// # Errors
            ///
            /// [`QueueError::TooManyHandles`] when every handle record is
            /// taken (an SPSC queue allows one live producer),
            /// [`QueueError::Os`] if `/proc` cannot be read.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $doc_ctor]
            /// let tx = q.producer().unwrap();
            /// assert_eq!(q.stats().producers, 1);
            /// # drop(tx);
            /// ```
            pub fn producer(&self) -> Result<Producer> {
                Producer::attach(self.core.clone())
            }

            /// Registers a consumer handle for the calling process.
            ///
            /// # Errors
            ///
            /// As for [`producer`](Self::producer).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $doc_ctor]
            /// let rx = q.consumer().unwrap();
            /// assert_eq!(q.stats().consumers, 1);
            /// # drop(rx);
            /// ```
            pub fn consumer(&self) -> Result<Consumer> {
                Consumer::attach(self.core.clone())
            }

            /// Closes the queue: producers may send no more (`Closed`),
            /// consumers drain what is there, then get `Closed`. Blocked
            /// handles wake.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $doc_ctor]
            /// q.close();
            /// assert!(q.is_closed());
            /// ```
            pub fn close(&self) {
                self.core.close();
            }

            /// Whether the queue was closed.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $doc_ctor]
            /// assert!(!q.is_closed());
            /// ```
            pub fn is_closed(&self) -> bool {
                self.core.is_closed()
            }

            /// Messages in the queue now (Python's `qsize()`, a snapshot).
            ///
            /// Counted as the positions between the consumers and the
            /// producers, so it also counts slots loaned and not yet
            /// committed, and (MPMC) loans dropped without a commit until
            /// a consumer passes them: like Python's, an estimate, exact
            /// when nothing is in flight. `try_recv` is the test of
            /// whether a message is there.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $doc_ctor]
            /// assert_eq!(q.len(), 0);
            /// ```
            pub fn len(&self) -> usize {
                self.core.depth() as usize
            }

            /// Whether the queue holds no message now (`len() == 0`, with
            /// its caveats).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $doc_ctor]
            /// assert!(q.is_empty());
            /// ```
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// How many messages fit.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $doc_ctor]
            /// assert_eq!(q.capacity(), 4);
            /// ```
            pub fn capacity(&self) -> u64 {
                self.core.layout.capacity
            }

            /// The largest message.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $doc_ctor]
            /// assert_eq!(q.slot_size(), 32);
            /// ```
            pub fn slot_size(&self) -> usize {
                self.core.layout.slot_size
            }

            /// A snapshot of the queue's counters (reads `/proc` to count
            /// live handles).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $doc_ctor]
            /// assert_eq!(q.stats().depth, 0);
            /// ```
            pub fn stats(&self) -> QueueStats {
                self.core.stats()
            }

            /// The segment's name (`None` for an anonymous queue).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $doc_ctor]
            /// assert!(q.name().is_none());
            /// ```
            pub fn name(&self) -> Option<&str> {
                self.core.segment.name().map(|n| n.as_str())
            }
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("name", &self.name())
                    .field("capacity", &self.capacity())
                    .field("slot_size", &self.slot_size())
                    .finish_non_exhaustive()
            }
        }
    };
}

/// A bounded queue for many producers and many consumers in many
/// processes (Python's `multiprocessing.Queue`), living in one
/// shared-memory segment: per-slot sequence numbers, zero-copy loans.
///
/// The queue object makes handles ([`producer`](Self::producer),
/// [`consumer`](Self::consumer)); an anonymous queue ([`new`](Self::new))
/// is shared with children forked afterwards, a named one
/// ([`create`](Self::create), [`open`](Self::open)) with any process.
///
/// # Examples
///
/// ```
/// use mproc_queue::{Queue, QueueOptions};
///
/// let q = Queue::create("doc-queue", QueueOptions::new().capacity(16).slot_size(64)).unwrap();
/// let other = Queue::open("doc-queue").unwrap(); // e.g. in another program
/// other.producer().unwrap().send(b"hi").unwrap();
/// assert_eq!(q.consumer().unwrap().recv().unwrap(), b"hi");
/// ```
pub struct Queue {
    pub(crate) core: Arc<QueueCore>,
}

impl Queue {
    /// An anonymous queue, shared with children forked after this call.
    ///
    /// # Errors
    ///
    /// [`QueueError::InvalidOptions`], [`QueueError::Shm`].
    ///
    /// # Examples
    ///
    /// ```
    /// let q = mproc_queue::Queue::new(mproc_queue::QueueOptions::new()).unwrap();
    /// assert_eq!(q.capacity(), 1024);
    /// ```
    pub fn new(opts: QueueOptions) -> Result<Queue> {
        Ok(Queue {
            core: make(SegmentKind::Queue, Flavor::Mpmc, false, None, opts)?,
        })
    }

    /// A queue in a new named segment (removed when this object drops,
    /// unless the options say persist).
    ///
    /// # Errors
    ///
    /// [`QueueError::InvalidOptions`], [`QueueError::Shm`] (the name is
    /// taken or invalid).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = mproc_queue::Queue::create("doc-queue-create", Default::default()).unwrap();
    /// assert_eq!(q.name(), Some("doc-queue-create"));
    /// ```
    pub fn create(name: &str, opts: QueueOptions) -> Result<Queue> {
        Ok(Queue {
            core: make(SegmentKind::Queue, Flavor::Mpmc, false, Some(name), opts)?,
        })
    }

    /// Opens a named queue.
    ///
    /// # Errors
    ///
    /// [`QueueError::Shm`] (not found, another kind of segment, a bad
    /// header), [`QueueError::Corrupt`] for layout parameters out of range.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Queue, QueueError, SpscQueue};
    /// let _s = SpscQueue::create("doc-queue-open", Default::default()).unwrap();
    /// assert!(matches!(Queue::open("doc-queue-open"), Err(QueueError::Shm(_))));
    /// ```
    pub fn open(name: &str) -> Result<Queue> {
        Ok(Queue {
            core: open(SegmentKind::Queue, Flavor::Mpmc, name)?,
        })
    }
}

queue_common!(
    Queue,
    "let q = mproc_queue::Queue::new(mproc_queue::QueueOptions::new().capacity(4).slot_size(32)).unwrap();"
);

/// A bounded queue for exactly one producer and one consumer at a time
/// (rtrb's algorithm: head and tail with cached copies), the fastest
/// queue between two processes.
///
/// # Examples
///
/// ```
/// use mproc_queue::{QueueError, QueueOptions, SpscQueue};
///
/// let q = SpscQueue::new(QueueOptions::new().capacity(2).slot_size(8)).unwrap();
/// let mut tx = q.producer().unwrap();
/// assert!(matches!(q.producer(), Err(QueueError::TooManyHandles { max: 1 })));
/// tx.send(&1u64.to_le_bytes()).unwrap();
/// assert_eq!(q.consumer().unwrap().recv_pod::<u64>().unwrap(), 1);
/// ```
pub struct SpscQueue {
    pub(crate) core: Arc<QueueCore>,
}

impl SpscQueue {
    /// An anonymous SPSC queue, shared with children forked after this
    /// call.
    ///
    /// # Errors
    ///
    /// [`QueueError::InvalidOptions`], [`QueueError::Shm`].
    ///
    /// # Examples
    ///
    /// ```
    /// let q = mproc_queue::SpscQueue::new(Default::default()).unwrap();
    /// assert!(q.is_empty());
    /// ```
    pub fn new(opts: QueueOptions) -> Result<SpscQueue> {
        Ok(SpscQueue {
            core: make(SegmentKind::SpscQueue, Flavor::Spsc, false, None, opts)?,
        })
    }

    /// An SPSC queue in a new named segment.
    ///
    /// # Errors
    ///
    /// As for [`Queue::create`].
    ///
    /// # Examples
    ///
    /// ```
    /// let q = mproc_queue::SpscQueue::create("doc-spsc-create", Default::default()).unwrap();
    /// assert_eq!(q.name(), Some("doc-spsc-create"));
    /// ```
    pub fn create(name: &str, opts: QueueOptions) -> Result<SpscQueue> {
        Ok(SpscQueue {
            core: make(
                SegmentKind::SpscQueue,
                Flavor::Spsc,
                false,
                Some(name),
                opts,
            )?,
        })
    }

    /// Opens a named SPSC queue.
    ///
    /// # Errors
    ///
    /// As for [`Queue::open`].
    ///
    /// # Examples
    ///
    /// ```
    /// let _q = mproc_queue::SpscQueue::create("doc-spsc-open", Default::default()).unwrap();
    /// assert!(mproc_queue::SpscQueue::open("doc-spsc-open").is_ok());
    /// ```
    pub fn open(name: &str) -> Result<SpscQueue> {
        Ok(SpscQueue {
            core: open(SegmentKind::SpscQueue, Flavor::Spsc, name)?,
        })
    }
}

queue_common!(
    SpscQueue,
    "let q = mproc_queue::SpscQueue::new(mproc_queue::QueueOptions::new().capacity(4).slot_size(32)).unwrap();"
);
