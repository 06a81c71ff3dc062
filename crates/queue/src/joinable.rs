//! [`JoinableQueue`]: a [`Queue`] that counts unfinished tasks (Python's
//! `JoinableQueue`).

use std::ops::Deref;
use std::time::{Duration, Instant};

use mproc_shm::SegmentKind;

use crate::atomics::Ordering;
use crate::layout::Flavor;
use crate::queue::{make, open};
use crate::wait::CHECK_INTERVAL;
use crate::{Queue, QueueError, QueueOptions, Result};

/// A [`Queue`] whose every sent message is a task: consumers call
/// [`task_done`](Self::task_done) once per message handled, and
/// [`join`](Self::join) waits until every task is done. The count lives
/// in the segment, so any process may send, finish or join.
///
/// Dereferences to [`Queue`] for handles, `close` and `stats`.
///
/// A task taken by a process that dies before calling `task_done` stays
/// unfinished, as in Python: nobody can tell whether it was handled. So
/// does one whose producer is killed in the few instructions between
/// counting it and publishing it. Where workers may die, wait with
/// [`join_timeout`](Self::join_timeout) and compare
/// [`unfinished`](Self::unfinished) with the queue's
/// [`stats`](Queue::stats)`().abandoned`.
///
/// # Examples
///
/// ```
/// use mproc_queue::{JoinableQueue, QueueOptions};
///
/// let q = JoinableQueue::new(QueueOptions::new()).unwrap();
/// let mut tx = q.producer().unwrap();
/// let mut rx = q.consumer().unwrap();
/// tx.send(b"job").unwrap();
/// assert_eq!(q.unfinished(), 1);
/// let _job = rx.recv().unwrap();
/// q.task_done().unwrap();
/// q.join().unwrap(); // returns at once: nothing unfinished
/// ```
pub struct JoinableQueue {
    queue: Queue,
}

impl JoinableQueue {
    /// An anonymous joinable queue, shared with children forked later.
    ///
    /// # Errors
    ///
    /// As for [`Queue::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// let q = mproc_queue::JoinableQueue::new(Default::default()).unwrap();
    /// assert_eq!(q.unfinished(), 0);
    /// ```
    pub fn new(opts: QueueOptions) -> Result<JoinableQueue> {
        let core = make(SegmentKind::JoinableQueue, Flavor::Mpmc, true, None, opts)?;
        Ok(JoinableQueue {
            queue: Queue { core },
        })
    }

    /// A joinable queue in a new named segment.
    ///
    /// # Errors
    ///
    /// As for [`Queue::create`].
    ///
    /// # Examples
    ///
    /// ```
    /// let q = mproc_queue::JoinableQueue::create("doc-joinable", Default::default()).unwrap();
    /// assert_eq!(q.name(), Some("doc-joinable"));
    /// ```
    pub fn create(name: &str, opts: QueueOptions) -> Result<JoinableQueue> {
        let core = make(
            SegmentKind::JoinableQueue,
            Flavor::Mpmc,
            true,
            Some(name),
            opts,
        )?;
        Ok(JoinableQueue {
            queue: Queue { core },
        })
    }

    /// Opens a named joinable queue.
    ///
    /// # Errors
    ///
    /// As for [`Queue::open`].
    ///
    /// # Examples
    ///
    /// ```
    /// let _q = mproc_queue::JoinableQueue::create("doc-joinable-open", Default::default()).unwrap();
    /// assert!(mproc_queue::JoinableQueue::open("doc-joinable-open").is_ok());
    /// ```
    pub fn open(name: &str) -> Result<JoinableQueue> {
        let core = open(SegmentKind::JoinableQueue, Flavor::Mpmc, name)?;
        if !core.layout.joinable {
            return Err(QueueError::Corrupt {
                field: "joinable",
                value: 0,
            });
        }
        Ok(JoinableQueue {
            queue: Queue { core },
        })
    }

    /// Tasks sent and not yet marked done.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = mproc_queue::JoinableQueue::new(Default::default()).unwrap();
    /// q.producer().unwrap().send(b"t").unwrap();
    /// assert_eq!(q.unfinished(), 1);
    /// ```
    pub fn unfinished(&self) -> u64 {
        self.queue.core.control.unfinished.load(Ordering::Acquire)
    }

    /// Marks one task done; the last one wakes every `join`.
    ///
    /// # Errors
    ///
    /// [`QueueError::TaskDoneTooOften`] if no task is unfinished (Python's
    /// `ValueError`).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{JoinableQueue, QueueError};
    /// let q = JoinableQueue::new(Default::default()).unwrap();
    /// assert!(matches!(q.task_done(), Err(QueueError::TaskDoneTooOften)));
    /// ```
    pub fn task_done(&self) -> Result<()> {
        let c = &self.queue.core.control;
        let mut cur = c.unfinished.load(Ordering::Acquire);
        loop {
            if cur == 0 {
                return Err(QueueError::TaskDoneTooOften);
            }
            match c.unfinished.compare_exchange_weak(
                cur,
                cur - 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        if cur == 1 {
            // SYNC POINT: Release pairs with the Acquire load of the join
            // word in `join_until`: a joiner that sees the bump sees 0.
            c.join.value().fetch_add(1, Ordering::Release);
            c.join.wake_all();
        }
        Ok(())
    }

    /// Waits until every task sent so far is done.
    ///
    /// # Errors
    ///
    /// None in practice (the signature matches
    /// [`join_timeout`](Self::join_timeout)).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = mproc_queue::JoinableQueue::new(Default::default()).unwrap();
    /// q.join().unwrap();
    /// ```
    pub fn join(&self) -> Result<()> {
        self.join_until(None)
    }

    /// [`join`](Self::join), waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`QueueError::Timeout`] with tasks still unfinished.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use mproc_queue::{JoinableQueue, QueueError};
    /// let q = JoinableQueue::new(Default::default()).unwrap();
    /// q.producer().unwrap().send(b"never done").unwrap();
    /// let err = q.join_timeout(Duration::from_millis(5)).unwrap_err();
    /// assert!(matches!(err, QueueError::Timeout { .. }));
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<()> {
        self.join_until(Instant::now().checked_add(timeout))
    }

    fn join_until(&self, deadline: Option<Instant>) -> Result<()> {
        let c = &self.queue.core.control;
        let start = Instant::now();
        loop {
            let seen = c.join.value().load(Ordering::Acquire);
            if c.unfinished.load(Ordering::Acquire) == 0 {
                return Ok(());
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Err(QueueError::Timeout {
                    waited_ms: now.duration_since(start).as_millis() as u64,
                });
            }
            // Bounded sleeps: a peer that zeroes the waiter count can only
            // delay us by one interval.
            let wake_at = deadline.map_or(now + CHECK_INTERVAL, |d| d.min(now + CHECK_INTERVAL));
            c.join.wait_while(seen, Some(wake_at));
        }
    }
}

impl Deref for JoinableQueue {
    type Target = Queue;
    fn deref(&self) -> &Queue {
        &self.queue
    }
}

impl std::fmt::Debug for JoinableQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinableQueue")
            .field("queue", &self.queue)
            .field("unfinished", &self.unfinished())
            .finish()
    }
}
