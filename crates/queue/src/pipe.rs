//! [`Pipe`] and [`Connection`]: Python's `Pipe()` over two SPSC rings in
//! one segment.

use std::sync::Arc;
use std::time::Duration;

use mproc_shm::SegmentKind;

use crate::core::{QueueCore, layout_of};
use crate::layout::Flavor;
use crate::{Consumer, Producer, QueueError, QueueOptions, QueueStats, Result};

/// Makes pairs of [`Connection`]s (Python's `multiprocessing.Pipe`).
///
/// Two SPSC rings in one segment, one per direction. Each connection
/// registers its producer and consumer handles lazily, each at its first
/// use, in the process that uses it: make the pipe, fork, and let each
/// process use its end. A peer killed after its end's first use is seen
/// gone, even one that had only received so far (its handle on the other
/// ring tells): `recv` reports [`QueueError::Disconnected`] once the ring
/// is drained, instead of waiting for a message that will never come.
///
/// # Examples
///
/// ```
/// use mproc_queue::Pipe;
///
/// let (mut a, mut b) = Pipe::new().unwrap();
/// a.send(b"ping").unwrap();
/// assert_eq!(b.recv().unwrap(), b"ping");
/// b.send(b"pong").unwrap();
/// assert_eq!(a.recv().unwrap(), b"pong");
/// ```
#[derive(Debug)]
pub struct Pipe;

/// Default options of a pipe: 16 messages of up to 64 KiB each way.
fn default_options() -> QueueOptions {
    QueueOptions::new()
        .capacity(16)
        .slot_size(64 * 1024)
        .max_handles(4)
}

impl Pipe {
    /// A duplex pipe with default options (16 messages of up to 64 KiB
    /// each way), anonymous: shared with children forked later.
    ///
    /// # Errors
    ///
    /// [`QueueError::Shm`] if the memory cannot be had.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = mproc_queue::Pipe::new().unwrap();
    /// # let _ = (a, b);
    /// ```
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> Result<(Connection, Connection)> {
        Pipe::with_options(default_options(), true)
    }

    /// An anonymous pipe with these options; with `duplex == false` the
    /// first connection can only receive and the second only send, as in
    /// Python.
    ///
    /// # Errors
    ///
    /// [`QueueError::InvalidOptions`], [`QueueError::Shm`].
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Pipe, QueueError, QueueOptions};
    /// let (mut rx, mut tx) = Pipe::with_options(QueueOptions::new(), false).unwrap();
    /// tx.send(b"one way").unwrap();
    /// assert_eq!(rx.recv().unwrap(), b"one way");
    /// assert!(matches!(rx.send(b"back"), Err(QueueError::WrongDirection { op: "send" })));
    /// ```
    pub fn with_options(opts: QueueOptions, duplex: bool) -> Result<(Connection, Connection)> {
        let layout = layout_of(Flavor::Spsc, &opts, false, 2)?;
        let seg = QueueCore::create_segment(SegmentKind::Pipe, layout, None, &opts)?;
        let a = QueueCore::attach(seg.clone(), layout, 0, opts.wait)?;
        let b = QueueCore::attach(seg, layout, 1, opts.wait)?;
        Ok(Connection::pair(a, b, duplex))
    }

    /// A duplex pipe in a new named segment; returns the creator's end.
    /// Another process takes the other end with [`open`](Self::open).
    ///
    /// # Errors
    ///
    /// As for [`Queue::create`](crate::Queue::create).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Pipe, QueueOptions};
    /// let mut server = Pipe::create("doc-pipe", QueueOptions::new().capacity(4).slot_size(64)).unwrap();
    /// let mut client = Pipe::open("doc-pipe").unwrap();
    /// client.send(b"hello").unwrap();
    /// assert_eq!(server.recv().unwrap(), b"hello");
    /// ```
    pub fn create(name: &str, opts: QueueOptions) -> Result<Connection> {
        let layout = layout_of(Flavor::Spsc, &opts, false, 2)?;
        let seg = QueueCore::create_segment(SegmentKind::Pipe, layout, Some(name), &opts)?;
        let a = QueueCore::attach(seg.clone(), layout, 0, opts.wait)?;
        let b = QueueCore::attach(seg, layout, 1, opts.wait)?;
        Ok(Connection::pair(a, b, true).0)
    }

    /// Opens the other end of a named pipe.
    ///
    /// # Errors
    ///
    /// As for [`Queue::open`](crate::Queue::open).
    ///
    /// # Examples
    ///
    /// ```
    /// let _p = mproc_queue::Pipe::create("doc-pipe-open", Default::default()).unwrap();
    /// assert!(mproc_queue::Pipe::open("doc-pipe-open").is_ok());
    /// ```
    pub fn open(name: &str) -> Result<Connection> {
        let (seg, layout) = QueueCore::open_segment(name, SegmentKind::Pipe)?;
        if layout.flavor != Flavor::Spsc || layout.areas != 2 {
            return Err(QueueError::Corrupt {
                field: "areas",
                value: layout.areas.into(),
            });
        }
        let wait = QueueOptions::new().wait;
        let a = QueueCore::attach(seg.clone(), layout, 0, wait)?;
        let b = QueueCore::attach(seg, layout, 1, wait)?;
        Ok(Connection::pair(a, b, true).1)
    }
}

/// One end of a [`Pipe`]: sends on one ring, receives on the other.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mproc_queue::Pipe;
///
/// let (mut a, mut b) = Pipe::new().unwrap();
/// assert!(!b.poll(Some(Duration::ZERO)).unwrap());
/// a.send_value(&(1u8, "x")).unwrap();
/// assert!(b.poll(None).unwrap());
/// assert_eq!(b.recv_value::<(u8, String)>().unwrap(), (1, "x".to_string()));
/// ```
pub struct Connection {
    out: Option<Arc<QueueCore>>,
    inc: Option<Arc<QueueCore>>,
    tx: Option<Producer>,
    rx: Option<Consumer>,
}

impl Connection {
    fn pair(a: Arc<QueueCore>, b: Arc<QueueCore>, duplex: bool) -> (Connection, Connection) {
        let first = Connection {
            out: duplex.then(|| a.clone()),
            inc: Some(b.clone()),
            tx: None,
            rx: None,
        };
        let second = Connection {
            out: Some(b),
            inc: duplex.then_some(a),
            tx: None,
            rx: None,
        };
        (first, second)
    }

    #[inline]
    fn tx(&mut self) -> Result<&mut Producer> {
        let attach: Attach<Producer> = (Producer::attach, Producer::watch_peer);
        direction(&mut self.tx, &self.out, &self.inc, "send", attach)
    }

    #[inline]
    fn rx(&mut self) -> Result<&mut Consumer> {
        let attach: Attach<Consumer> = (Consumer::attach, Consumer::watch_peer);
        direction(&mut self.rx, &self.inc, &self.out, "recv", attach)
    }

    /// The numbers of the ring this end sends on and of the one it
    /// receives on (`None` for a direction a one-way end lacks), read
    /// without registering anything.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut a, b) = mproc_queue::Pipe::new().unwrap();
    /// a.send(b"x").unwrap();
    /// let (sending, receiving) = b.stats();
    /// assert_eq!(receiving.unwrap().depth, 1);
    /// assert_eq!(sending.unwrap().depth, 0);
    /// ```
    pub fn stats(&self) -> (Option<QueueStats>, Option<QueueStats>) {
        (
            self.out.as_ref().map(|c| c.stats()),
            self.inc.as_ref().map(|c| c.stats()),
        )
    }

    /// Sends a copy of `msg` (Python's `send_bytes`).
    ///
    /// # Errors
    ///
    /// [`QueueError::WrongDirection`] on a receive-only end, and those of
    /// [`Producer::send`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut a, mut b) = mproc_queue::Pipe::new().unwrap();
    /// a.send(b"x").unwrap();
    /// assert_eq!(b.recv().unwrap(), b"x");
    /// ```
    pub fn send(&mut self, msg: &[u8]) -> Result<()> {
        self.tx()?.send(msg)
    }

    /// Sends a serde value encoded with postcard (Python's `send`).
    ///
    /// # Errors
    ///
    /// As for [`Producer::send_value`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut a, mut b) = mproc_queue::Pipe::new().unwrap();
    /// a.send_value(&[1u32, 2]).unwrap();
    /// assert_eq!(b.recv_value::<[u32; 2]>().unwrap(), [1, 2]);
    /// ```
    pub fn send_value<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.tx()?.send_value(value)
    }

    /// Receives the next message (Python's `recv_bytes`), waiting for one.
    ///
    /// # Errors
    ///
    /// [`QueueError::WrongDirection`] on a send-only end, and those of
    /// [`Consumer::recv`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut a, mut b) = mproc_queue::Pipe::new().unwrap();
    /// b.send(b"y").unwrap();
    /// assert_eq!(a.recv().unwrap(), b"y");
    /// ```
    pub fn recv(&mut self) -> Result<Vec<u8>> {
        self.rx()?.recv()
    }

    /// Copies the next message into `buf` (Python's `recv_bytes_into`).
    ///
    /// # Errors
    ///
    /// As for [`Consumer::recv_into`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut a, mut b) = mproc_queue::Pipe::new().unwrap();
    /// a.send(b"abc").unwrap();
    /// let mut buf = [0u8; 8];
    /// assert_eq!(b.recv_into(&mut buf).unwrap(), 3);
    /// ```
    pub fn recv_into(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.rx()?.recv_into(buf)
    }

    /// Receives the next message, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// As for [`Consumer::recv_timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (mut a, _b) = mproc_queue::Pipe::new().unwrap();
    /// assert!(a.recv_timeout(Duration::from_millis(1)).is_err());
    /// ```
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Vec<u8>> {
        self.rx()?.recv_timeout(timeout)
    }

    /// Receives a serde value sent with [`send_value`](Self::send_value).
    ///
    /// # Errors
    ///
    /// As for [`Consumer::recv_value`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut a, mut b) = mproc_queue::Pipe::new().unwrap();
    /// a.send_value("text").unwrap();
    /// assert_eq!(b.recv_value::<String>().unwrap(), "text");
    /// ```
    pub fn recv_value<T: serde::de::DeserializeOwned>(&mut self) -> Result<T> {
        self.rx()?.recv_value()
    }

    /// Whether a message can be received, waiting up to `timeout` (`None`:
    /// without limit), without taking it.
    ///
    /// # Errors
    ///
    /// As for [`Consumer::poll`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (mut a, mut b) = mproc_queue::Pipe::new().unwrap();
    /// assert!(!b.poll(Some(Duration::from_millis(1))).unwrap());
    /// a.send(b"z").unwrap();
    /// assert!(b.poll(Some(Duration::from_millis(1))).unwrap());
    /// ```
    pub fn poll(&mut self, timeout: Option<Duration>) -> Result<bool> {
        self.rx()?.poll(timeout)
    }

    /// Closes this end's sending direction: the peer drains it, then gets
    /// [`QueueError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_queue::{Pipe, QueueError};
    /// let (mut a, mut b) = Pipe::new().unwrap();
    /// a.send(b"bye").unwrap();
    /// a.close();
    /// assert_eq!(b.recv().unwrap(), b"bye");
    /// assert!(matches!(b.recv(), Err(QueueError::Closed)));
    /// ```
    pub fn close(&mut self) {
        if let Some(out) = &self.out {
            out.close();
        }
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("can_send", &self.out.is_some())
            .field("can_recv", &self.inc.is_some())
            .finish_non_exhaustive()
    }
}

/// How a direction's handle is made: attached to its ring, then told to
/// watch the peer's handle on the other ring.
type Attach<H> = (fn(Arc<QueueCore>) -> Result<H>, fn(&mut H, Arc<QueueCore>));

/// A pipe end's handle for one direction (`handle`, on `ring`), registered
/// at its first use; [`QueueError::WrongDirection`] naming `op` on a
/// one-way end without that direction.
#[inline]
fn direction<'a, H>(
    handle: &'a mut Option<H>,
    ring: &Option<Arc<QueueCore>>,
    peer: &Option<Arc<QueueCore>>,
    op: &'static str,
    attach: Attach<H>,
) -> Result<&'a mut H> {
    if handle.is_none() {
        *handle = Some(attach_direction(ring, peer, op, attach)?);
    }
    // Not `ok_or`: it would build (and drop) the error on every call.
    match handle {
        Some(handle) => Ok(handle),
        None => Err(QueueError::WrongDirection { op }),
    }
}

/// [`direction`]'s registration, out of the send and receive paths.
#[cold]
fn attach_direction<H>(
    ring: &Option<Arc<QueueCore>>,
    peer: &Option<Arc<QueueCore>>,
    op: &'static str,
    (attach, watch_peer): Attach<H>,
) -> Result<H> {
    let Some(core) = ring.clone() else {
        return Err(QueueError::WrongDirection { op });
    };
    let mut handle = attach(core)?;
    if let Some(peer) = peer.clone() {
        watch_peer(&mut handle, peer);
    }
    Ok(handle)
}
