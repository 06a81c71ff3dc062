//! The manager's queues and pipes (mproc-queue's, each in its own segment
//! `PREFIX.name`).

use mproc_queue::{Connection, JoinableQueue, Pipe, Queue, QueueOptions, SpscQueue};
use mproc_shm::SegmentKind;

#[cfg(doc)]
use crate::DictError;
use crate::{Manager, Result};

impl Manager {
    /// The MPMC queue `name` (Python's `manager.Queue()`, mproc-queue's
    /// [`Queue`]), created with `opts` if new.
    ///
    /// The manager keeps the segment whatever `opts` says about persisting:
    /// it goes when the creating manager drops.
    ///
    /// # Errors
    ///
    /// [`DictError::Queue`], [`DictError::RegistryFull`],
    /// [`DictError::Shm`] with `WrongKind` if `name` is another kind.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-queue").unwrap();
    /// let q = m.queue("jobs", Default::default()).unwrap();
    /// assert_eq!(q.name(), Some("doc-manager-queue.jobs"));
    /// ```
    pub fn queue(&self, name: &str, opts: QueueOptions) -> Result<Queue> {
        self.get_or_create(
            name,
            SegmentKind::Queue,
            |full| Ok(Queue::create(full, opts.persist(true))?),
            |full| Ok(Queue::open(full)?),
        )
    }

    /// The joinable queue `name` (Python's `manager.JoinableQueue()`,
    /// mproc-queue's [`JoinableQueue`]: `task_done` and `join`), created
    /// with `opts` if new.
    ///
    /// # Errors
    ///
    /// As [`queue`](Manager::queue).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-joinable").unwrap();
    /// let q = m.joinable_queue("tasks", Default::default()).unwrap();
    /// q.producer().unwrap().send(b"t").unwrap();
    /// let same = m.joinable_queue("tasks", Default::default()).unwrap();
    /// assert_eq!(same.consumer().unwrap().recv().unwrap(), b"t");
    /// same.task_done().unwrap();
    /// q.join().unwrap(); // nothing unfinished
    /// ```
    pub fn joinable_queue(&self, name: &str, opts: QueueOptions) -> Result<JoinableQueue> {
        self.get_or_create(
            name,
            SegmentKind::JoinableQueue,
            |full| Ok(JoinableQueue::create(full, opts.persist(true))?),
            |full| Ok(JoinableQueue::open(full)?),
        )
    }

    /// The single-producer single-consumer queue `name` (mproc-queue's
    /// [`SpscQueue`], beyond Python), created with `opts` if new. One
    /// producer handle and one consumer handle at a time, in any processes.
    ///
    /// # Errors
    ///
    /// As [`queue`](Manager::queue).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-spsc").unwrap();
    /// let q = m.spsc_queue("ticks", Default::default()).unwrap();
    /// q.producer().unwrap().send_pod(&7u64).unwrap();
    /// let same = m.spsc_queue("ticks", Default::default()).unwrap();
    /// assert_eq!(same.consumer().unwrap().recv_pod::<u64>().unwrap(), 7);
    /// ```
    pub fn spsc_queue(&self, name: &str, opts: QueueOptions) -> Result<SpscQueue> {
        self.get_or_create(
            name,
            SegmentKind::SpscQueue,
            |full| Ok(SpscQueue::create(full, opts.persist(true))?),
            |full| Ok(SpscQueue::open(full)?),
        )
    }

    /// An end of the duplex pipe `name` (mproc-queue's [`Pipe`]: two SPSC
    /// rings in one segment), created with `opts` if new.
    ///
    /// A pipe has two ends: the call that creates it gets the first end,
    /// every later call (in this or any process) the second, like
    /// [`Pipe::create`] / [`Pipe::open`]. So the two processes of a
    /// conversation each call `pipe(name, ..)` once, in either order.
    /// A third caller gets the second end too, but each ring takes one
    /// live sender and one live receiver: its first `send` or `recv`
    /// fails with `QueueError::TooManyHandles` while the second caller's
    /// handle in that direction is alive.
    ///
    /// # Errors
    ///
    /// As [`queue`](Manager::queue).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::QueueOptions;
    /// let m = mproc_dict::Manager::create("doc-manager-pipe").unwrap();
    /// let opts = QueueOptions::new().capacity(4).slot_size(64);
    /// let mut first = m.pipe("chat", opts).unwrap();
    /// let mut second = m.pipe("chat", opts).unwrap(); // another process, really
    /// second.send(b"ping").unwrap();
    /// assert_eq!(first.recv().unwrap(), b"ping");
    /// first.send(b"pong").unwrap();
    /// assert_eq!(second.recv().unwrap(), b"pong");
    /// ```
    pub fn pipe(&self, name: &str, opts: QueueOptions) -> Result<Connection> {
        self.get_or_create(
            name,
            SegmentKind::Pipe,
            |full| Ok(Pipe::create(full, opts.persist(true))?),
            |full| Ok(Pipe::open(full)?),
        )
    }
}
