//! [`Segment`]: a mapped shared-memory segment, named or anonymous.

use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use memmap2::{MmapOptions, MmapRaw};
use mproc_sys::ProcessId;

use crate::error::os_error;
use crate::header::{self, HEADER_LEN, Header, HeaderState, NewHeader, PARAM_COUNT};
use crate::{Region, Result, SegmentKind, SegmentName, ShmError};

/// How long [`Segment::open`] waits for a segment being created to become
/// ready, by default.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(1);

/// The permission bits of a named segment unless asked otherwise: owner
/// read and write ([`set_default_mode`](crate::set_default_mode) changes
/// the default of a process).
pub const DEFAULT_MODE: u32 = 0o600;

/// A shared-memory segment mapped into this process: a validated
/// [`Header`] followed by a payload of bytes.
///
/// Named segments (`create`, `open`) can be opened by unrelated processes;
/// anonymous ones (`anonymous`) are shared with children across `fork`. The
/// process that created a named segment unlinks its name when the handle
/// drops, unless it was made persistent or the name is by then another
/// file's (unlinked and made again); openers never unlink. Dropping
/// unmaps.
///
/// The bytes are untrusted: whatever a peer writes in them gives typed
/// errors, never undefined behaviour. The file's length is not: a peer
/// allowed to write the segment can also shrink its file (POSIX shared
/// memory cannot be sealed), and then every process's access past the new
/// end faults with `SIGBUS`. Give write access to trusted processes only
/// (a segment's mode is [`DEFAULT_MODE`] unless asked otherwise).
///
/// # Examples
///
/// ```
/// use mproc_shm::Segment;
///
/// let seg = Segment::create("doc-segment-create", 64).unwrap();
/// seg.payload().write_bytes(0, b"hi").unwrap();
///
/// let other = Segment::open("doc-segment-create").unwrap();
/// let mut buf = [0u8; 2];
/// other.payload().read_bytes(0, &mut buf).unwrap();
/// assert_eq!(&buf, b"hi");
/// drop(other);
/// drop(seg); // the creator unlinks the name
/// assert!(Segment::open("doc-segment-create").is_err());
/// ```
pub struct Segment {
    map: MmapRaw,
    name: Option<SegmentName>,
    header: Header,
    /// The process that must unlink the name on drop (the creator, `None`
    /// for openers and anonymous segments), and the file it made. A forked
    /// child that inherits the handle is another process
    /// ([`ProcessId::is_current`]), even one given the dead creator's pid,
    /// and so never unlinks; nor does the creator once the name is
    /// another file's (unlinked and made again by someone else).
    unlink_by: Option<(ProcessId, FileId)>,
    /// False if opened [read-only](SegmentOpener::read_only): the mapping is
    /// a private copy-on-write one, and every write this crate offers is
    /// refused with a typed error.
    writable: bool,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("name", &self.name)
            .field("header", &self.header)
            .field("writable", &self.writable)
            .finish_non_exhaustive()
    }
}

impl Segment {
    /// Creates a named segment of kind [`SegmentKind::Raw`] with `len`
    /// payload bytes, mode [`default_mode`](crate::default_mode) (0600
    /// unless changed), unlinked when this handle drops.
    ///
    /// # Errors
    ///
    /// [`ShmError::InvalidName`], [`ShmError::AlreadyExists`],
    /// [`ShmError::PermissionDenied`], [`ShmError::CannotAllocate`],
    /// [`ShmError::Os`].
    ///
    /// # Examples
    ///
    /// ```
    /// let seg = mproc_shm::Segment::create("doc-create-len", 1000).unwrap();
    /// assert_eq!(seg.payload().len(), 1000);
    /// ```
    pub fn create(name: &str, len: u64) -> Result<Segment> {
        SegmentBuilder::new(SegmentKind::Raw, len).create(name)
    }

    /// Creates an anonymous segment of kind [`SegmentKind::Raw`]: no name,
    /// shared with children forked after this call, gone when the last
    /// process unmaps it.
    ///
    /// # Errors
    ///
    /// [`ShmError::CannotAllocate`] if the memory cannot be had,
    /// [`ShmError::Os`].
    ///
    /// # Examples
    ///
    /// ```
    /// let seg = mproc_shm::Segment::anonymous(4096).unwrap();
    /// assert!(seg.name().is_none());
    /// ```
    pub fn anonymous(len: u64) -> Result<Segment> {
        SegmentBuilder::new(SegmentKind::Raw, len).create_anonymous()
    }

    /// A builder for a segment of `kind` with `len` payload bytes: layout
    /// parameters, mode, persistence, and an initializer that runs before
    /// the segment becomes visible as ready.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{Segment, SegmentKind};
    ///
    /// let seg = Segment::builder(SegmentKind::Value, 8)
    ///     .params([1, 2, 0, 0, 0, 0, 0, 0])
    ///     .mode(0o660)
    ///     .init(|payload| payload.write_pod(0, &42u64))
    ///     .create("doc-builder")
    ///     .unwrap();
    /// let opened = Segment::opener("doc-builder").kind(SegmentKind::Value).open().unwrap();
    /// assert_eq!(opened.header().params[1], 2);
    /// assert_eq!(opened.payload().read_pod::<u64>(0).unwrap(), 42);
    /// ```
    pub fn builder<'f>(kind: SegmentKind, len: u64) -> SegmentBuilder<'f> {
        SegmentBuilder::new(kind, len)
    }

    /// Opens an existing named segment read-write, of any kind, waiting up
    /// to [`DEFAULT_READY_TIMEOUT`] for it to become ready.
    ///
    /// # Errors
    ///
    /// [`ShmError::NotFound`], [`ShmError::PermissionDenied`], and every
    /// validation error: [`ShmError::BadMagic`],
    /// [`ShmError::VersionMismatch`], [`ShmError::Truncated`],
    /// [`ShmError::Corrupt`], [`ShmError::Abandoned`], and
    /// [`ShmError::NotReady`] if its live creator is still initializing it.
    ///
    /// # Examples
    ///
    /// ```
    /// let _a = mproc_shm::Segment::create("doc-open", 8).unwrap();
    /// let b = mproc_shm::Segment::open("doc-open").unwrap();
    /// assert_eq!(b.name().unwrap().as_str(), "doc-open");
    /// ```
    pub fn open(name: &str) -> Result<Segment> {
        SegmentOpener::new(name).open()
    }

    /// A builder for opening: expected kind, read-only, ready timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{Segment, SegmentKind, ShmError};
    ///
    /// let _q = Segment::builder(SegmentKind::Queue, 64).create("doc-opener").unwrap();
    /// let err = Segment::opener("doc-opener").kind(SegmentKind::Dict).open().unwrap_err();
    /// assert!(matches!(err, ShmError::WrongKind { found: SegmentKind::Queue, expected: SegmentKind::Dict }));
    /// ```
    pub fn opener(name: &str) -> SegmentOpener<'_> {
        SegmentOpener::new(name)
    }

    /// Removes a segment's name. Processes that have it mapped keep using
    /// it; nobody can open it any more.
    ///
    /// # Errors
    ///
    /// [`ShmError::InvalidName`], [`ShmError::NotFound`],
    /// [`ShmError::PermissionDenied`].
    ///
    /// # Examples
    ///
    /// ```
    /// let seg = mproc_shm::Segment::create("doc-unlink", 8).unwrap();
    /// seg.persist();
    /// drop(seg);
    /// mproc_shm::Segment::unlink("doc-unlink").unwrap();
    /// assert!(mproc_shm::Segment::open("doc-unlink").is_err());
    /// ```
    pub fn unlink(name: &str) -> Result<()> {
        let name = SegmentName::new(name)?;
        mproc_sys::shm_unlink(&name.os_name()).map_err(|e| os_error(e, name.as_str()))
    }

    /// The segment's name, `None` if anonymous.
    ///
    /// # Examples
    ///
    /// ```
    /// let seg = mproc_shm::Segment::create("doc-name", 8).unwrap();
    /// assert_eq!(seg.name().map(|n| n.as_str()), Some("doc-name"));
    /// ```
    pub fn name(&self) -> Option<&SegmentName> {
        self.name.as_ref()
    }

    /// The header as validated when this handle was made.
    ///
    /// # Examples
    ///
    /// ```
    /// let seg = mproc_shm::Segment::anonymous(8).unwrap();
    /// assert_eq!(seg.header().kind, mproc_shm::SegmentKind::Raw);
    /// ```
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The whole segment, header included: offsets in a segment count from
    /// here.
    ///
    /// # Examples
    ///
    /// ```
    /// let seg = mproc_shm::Segment::anonymous(64).unwrap();
    /// assert_eq!(seg.region().len() as u64, 64 + mproc_shm::HEADER_LEN);
    /// ```
    pub fn region(&self) -> Region<'_> {
        // SAFETY: the mapping is valid for reads and writes for as long as
        // `self` lives (it is unmapped on drop): shared read-write, or, for
        // a read-only handle, private copy-on-write, whose writes go to a
        // private copy of the page, never to the segment (the view is also
        // marked read-only, so `write_*` refuse). It is page aligned, and
        // every access through Region follows the shared-memory rules.
        let region = unsafe { Region::from_raw_parts(self.map.as_mut_ptr(), self.map.len()) };
        if self.writable {
            region
        } else {
            region.into_read_only()
        }
    }

    /// The payload: everything after the header (64-byte aligned).
    ///
    /// # Examples
    ///
    /// ```
    /// let seg = mproc_shm::Segment::anonymous(64).unwrap();
    /// assert_eq!(seg.payload().len(), 64);
    /// ```
    pub fn payload(&self) -> Region<'_> {
        let len = self.header.total_len.saturating_sub(HEADER_LEN);
        // Create and open check `HEADER_LEN <= total_len == mapping length`,
        // so this range is always inside; should that ever break, hand out
        // an empty view rather than one that includes the header.
        self.region().sub(HEADER_LEN, len).unwrap_or_else(|_| {
            // SAFETY: a null pointer makes an empty region, which touches
            // no memory.
            unsafe { Region::from_raw_parts(std::ptr::null_mut(), 0) }.into_read_only()
        })
    }

    /// Whether this handle was opened [read-only](SegmentOpener::read_only):
    /// then [`try_persist`](Self::try_persist), the regions' `write_*` and
    /// the constructors of higher crates that write (`Lock::from_segment`,
    /// ...) refuse with a typed error.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::Segment;
    /// let rw = Segment::create("doc-is-read-only", 8).unwrap();
    /// let ro = Segment::opener("doc-is-read-only").read_only().open().unwrap();
    /// assert!(!rw.is_read_only() && ro.is_read_only());
    /// ```
    pub fn is_read_only(&self) -> bool {
        !self.writable
    }

    /// `Err(ShmError::ReadOnly)` naming this segment and `operation` if
    /// this handle is [read-only](Self::is_read_only): for code about to
    /// write to the segment.
    ///
    /// # Errors
    ///
    /// [`ShmError::ReadOnly`].
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{Segment, ShmError};
    /// let rw = Segment::create("doc-check-writable", 8).unwrap();
    /// assert!(rw.check_writable("fill").is_ok());
    /// let ro = Segment::opener("doc-check-writable").read_only().open().unwrap();
    /// let err = ro.check_writable("fill").unwrap_err();
    /// assert_eq!(err.to_string(), "segment `doc-check-writable` is mapped read-only: cannot fill");
    /// ```
    pub fn check_writable(&self, operation: &'static str) -> Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(ShmError::ReadOnly {
                name: self
                    .name
                    .as_ref()
                    .map(SegmentName::to_string)
                    .unwrap_or_default(),
                operation,
            })
        }
    }

    /// Keeps the name after the creator's handle drops (and after the
    /// creator dies: `remove_stale` leaves persistent segments alone).
    ///
    /// On a [read-only](Self::is_read_only) handle, which cannot mark the
    /// segment, this does nothing: [`try_persist`](Self::try_persist) says
    /// so with an error, and [`is_persistent`](Self::is_persistent) keeps
    /// telling the truth.
    ///
    /// # Examples
    ///
    /// ```
    /// let seg = mproc_shm::Segment::create("doc-persist", 8).unwrap();
    /// seg.persist();
    /// assert!(seg.is_persistent());
    /// drop(seg);
    /// assert!(mproc_shm::Segment::open("doc-persist").is_ok());
    /// mproc_shm::Segment::unlink("doc-persist").unwrap();
    /// ```
    pub fn persist(&self) {
        // Ignored errors: ReadOnly (documented above as doing nothing), and
        // a region too short for the header, which create and open rule out.
        let _ = self.try_persist();
    }

    /// [`persist`](Self::persist), refusing a read-only handle.
    ///
    /// # Errors
    ///
    /// [`ShmError::ReadOnly`] if this handle was opened
    /// [read-only](SegmentOpener::read_only); nothing is changed.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{Segment, ShmError};
    /// let seg = Segment::create("doc-try-persist", 8).unwrap();
    /// let ro = Segment::opener("doc-try-persist").read_only().open().unwrap();
    /// assert!(matches!(ro.try_persist(), Err(ShmError::ReadOnly { operation: "persist", .. })));
    /// assert!(!seg.is_persistent());
    /// seg.try_persist().unwrap();
    /// assert!(ro.is_persistent());
    /// # Segment::unlink("doc-try-persist").unwrap();
    /// ```
    pub fn try_persist(&self) -> Result<()> {
        self.check_writable("persist")?;
        header::flags_word(&self.region())?.fetch_or(header::FLAG_PERSISTENT, Ordering::Relaxed);
        Ok(())
    }

    /// Whether the segment is marked persistent.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!mproc_shm::Segment::anonymous(8).unwrap().is_persistent());
    /// ```
    pub fn is_persistent(&self) -> bool {
        header::is_persistent(&self.region())
    }

    /// Whether this handle created the segment (and so unlinks it on drop
    /// unless persistent).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = mproc_shm::Segment::create("doc-is-creator", 8).unwrap();
    /// let b = mproc_shm::Segment::open("doc-is-creator").unwrap();
    /// assert!(a.is_creator() && !b.is_creator());
    /// ```
    pub fn is_creator(&self) -> bool {
        self.unlink_by.is_some()
    }

    /// For an object that made this segment in process `made_by` (`None`:
    /// it only opened it) and removes what it made when dropped (a dict's
    /// tables, a manager's objects): whether its drop here and now should.
    ///
    /// - In `made_by`: yes, unless this thread is dropping a forked child's
    ///   body that captured the object ([`mproc_sys::while_handing_over_to`],
    ///   as `Process::start` does). Then the segment passes to the child
    ///   (its header names the child as creator from now on, named or
    ///   anonymous), whose copy removes everything when done.
    /// - In a forked child: only if the segment was handed to it, and then
    ///   as in `made_by` (a body of its own child's that captured the object
    ///   passes it on to that child).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::Segment;
    /// use mproc_sys::ProcessId;
    ///
    /// let seg = Segment::create("doc-removes-on-drop", 8).unwrap();
    /// let me = Some(ProcessId::current().unwrap());
    /// assert!(seg.removes_on_drop(me));
    /// assert!(!seg.removes_on_drop(None));
    /// ```
    pub fn removes_on_drop(&self, made_by: Option<ProcessId>) -> bool {
        let ours = match made_by {
            None => false,
            Some(p) if p.is_current() => true,
            Some(_) => header::creator(&self.region()).ok() == Some(ProcessId::current_or_pid()),
        };
        // Handed on, also by a child it was handed to (to a child of its
        // own).
        ours && match mproc_sys::handing_over_to() {
            Some(child) => header::set_creator(&self.region(), child).is_err(),
            None => true,
        }
    }
}

/// Unlinks a name being created when dropped before `made` is set: on an
/// error return and while unwinding from a panic alike.
struct UnlinkUnlessMade<'a> {
    os_name: &'a std::ffi::CStr,
    made: bool,
}

impl Drop for UnlinkUnlessMade<'_> {
    fn drop(&mut self) {
        if !self.made {
            let _ = mproc_sys::shm_unlink(self.os_name);
        }
    }
}

/// The longest [`SegmentBuilder::label`] kept whole (`memfd_create` takes
/// at most 249 bytes).
pub const MAX_LABEL_LEN: usize = 200;

/// `label` as a `memfd` name: up to its first NUL, at most
/// [`MAX_LABEL_LEN`] bytes.
fn memfd_label(label: &str) -> std::ffi::CString {
    let bytes = label.as_bytes();
    let end = bytes
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(bytes.len())
        .min(MAX_LABEL_LEN);
    std::ffi::CString::new(&bytes[..end]).unwrap_or_default()
}

/// Which file a name led to: device and inode.
type FileId = (u64, u64);

impl Drop for Segment {
    fn drop(&mut self) {
        let (Some((creator, made)), Some(name)) = (self.unlink_by, &self.name) else {
            return;
        };
        // A forked child's copy of the creator's segment unlinks it, or
        // hands it on to a child of its own, only if it was handed the
        // segment (below, and the header says so).
        let a_forked_copy = !creator.is_current();
        let heir = mproc_sys::handing_over_to();
        let os_name = name.os_name();
        // Gone already (removed by hand), or the name is now another
        // file's: nothing of ours to unlink. (The name could still change
        // hands between this check and the unlink: a window of two
        // system calls instead of the segment's whole life.) A `stat` of
        // the path needs no read permission and no descriptor; should it
        // fail otherwise, the name is unlinked as before this check.
        let now = match mproc_sys::shm_stat(&os_name) {
            Ok(now) if now.file_id != made => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Ok(now) => Some(now),
            Err(_) => None,
        };
        // A file shrunk under the mapping (by a peer with write access)
        // faults on access: the header is read or written only if it is
        // still there.
        let header_there = now.is_none_or(|n| n.size >= HEADER_LEN);
        if a_forked_copy
            && !(header_there
                && header::creator(&self.region()).ok() == Some(ProcessId::current_or_pid()))
        {
            // A copy its creator kept (a bare `fork`): the creator unlinks.
            return;
        }
        if let Some(child) = heir {
            // The creator's copy of a segment that a forked child's body
            // captured (`Process::start` drops it): the child's copy
            // unlinks it when done.
            if header_there && header::set_creator(&self.region(), child).is_ok() {
                return;
            }
        }
        if header_there && self.is_persistent() {
            return;
        }
        let _ = mproc_sys::shm_unlink(&os_name);
    }
}

/// An initializer run on the payload before a segment is marked ready.
type Init<'f> = Box<dyn FnOnce(Region<'_>) -> Result<()> + 'f>;

/// Creates segments: see [`Segment::builder`].
///
/// # Examples
///
/// ```
/// use mproc_shm::{Segment, SegmentKind};
/// let seg = Segment::builder(SegmentKind::Raw, 128).create_anonymous().unwrap();
/// assert_eq!(seg.payload().len(), 128);
/// ```
#[must_use]
pub struct SegmentBuilder<'f> {
    kind: SegmentKind,
    len: u64,
    params: [u64; PARAM_COUNT],
    mode: u32,
    persistent: bool,
    init: Option<Init<'f>>,
    label: Option<String>,
}

impl<'f> SegmentBuilder<'f> {
    fn new(kind: SegmentKind, len: u64) -> SegmentBuilder<'f> {
        SegmentBuilder {
            kind,
            len,
            params: [0; PARAM_COUNT],
            mode: crate::default_mode(),
            persistent: false,
            init: None,
            label: None,
        }
    }

    /// What an anonymous segment's mapping is called in `/proc/PID/maps`
    /// (`/memfd:LABEL (deleted)`; default `mproc-anonymous`), so that
    /// tools can tell which processes still map it. Labels longer than
    /// [`MAX_LABEL_LEN`] bytes are cut; a NUL ends one. Named segments
    /// ignore it.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{Segment, SegmentKind};
    /// let s = Segment::builder(SegmentKind::Raw, 8).label("doc-label").create_anonymous().unwrap();
    /// let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    /// assert!(maps.contains("/memfd:doc-label"));
    /// ```
    pub fn label(mut self, label: &str) -> Self {
        self.label = Some(label.to_owned());
        self
    }

    /// Kind-specific layout parameters, stored in the header.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{Segment, SegmentKind};
    /// let s = Segment::builder(SegmentKind::Raw, 8).params([7; 8]).create_anonymous().unwrap();
    /// assert_eq!(s.header().params, [7; 8]);
    /// ```
    pub fn params(mut self, params: [u64; PARAM_COUNT]) -> Self {
        self.params = params;
        self
    }

    /// Permission bits of a named segment, set exactly whatever the umask
    /// (default: [`default_mode`](crate::default_mode), 0600 unless the
    /// process changed it).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{Segment, SegmentKind};
    /// let s = Segment::builder(SegmentKind::Raw, 8).mode(0o640).create("doc-mode").unwrap();
    /// drop(s);
    /// ```
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode & 0o777;
        self
    }

    /// Keep the name when the creator's handle drops (see
    /// [`Segment::persist`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{Segment, SegmentKind};
    /// let s = Segment::builder(SegmentKind::Raw, 8).persist(true).create("doc-persist-b").unwrap();
    /// drop(s);
    /// Segment::unlink("doc-persist-b").unwrap();
    /// ```
    pub fn persist(mut self, persistent: bool) -> Self {
        self.persistent = persistent;
        self
    }

    /// Lays the payload out before the segment becomes ready: openers wait
    /// (bounded) until it returns. An error aborts the creation and removes
    /// the name.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{Segment, SegmentKind};
    /// let s = Segment::builder(SegmentKind::Raw, 8)
    ///     .init(|p| p.write_pod(0, &1u64))
    ///     .create_anonymous()
    ///     .unwrap();
    /// assert_eq!(s.payload().read_pod::<u64>(0).unwrap(), 1);
    /// ```
    pub fn init(mut self, init: impl FnOnce(Region<'_>) -> Result<()> + 'f) -> Self {
        self.init = Some(Box::new(init));
        self
    }

    /// Creates the named segment (`O_CREAT | O_EXCL`: exactly one of many
    /// racing creators wins).
    ///
    /// # Errors
    ///
    /// [`ShmError::InvalidName`], [`ShmError::AlreadyExists`],
    /// [`ShmError::PermissionDenied`], [`ShmError::CannotAllocate`],
    /// [`ShmError::Os`], or the initializer's error.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{Segment, SegmentKind, ShmError};
    /// let a = Segment::builder(SegmentKind::Raw, 8).create("doc-excl").unwrap();
    /// let b = Segment::builder(SegmentKind::Raw, 8).create("doc-excl");
    /// assert!(matches!(b, Err(ShmError::AlreadyExists { .. })));
    /// ```
    pub fn create(self, name: &str) -> Result<Segment> {
        let name = SegmentName::new(name)?;
        let os_name = name.os_name();
        let fd =
            mproc_sys::shm_create(&os_name, self.mode).map_err(|e| os_error(e, name.as_str()))?;
        // From here on the name is ours: remove it again if anything fails,
        // an initializer's panic included (a live creator's unfinished
        // segment is never swept, and would block its name until exit).
        let mut unmade = UnlinkUnlessMade {
            os_name: &os_name,
            made: false,
        };
        // `shm_open` applies the umask; the mode asked for is set exactly.
        let seg = mproc_sys::fchmod(&fd, self.mode)
            .map_err(ShmError::Os)
            .and_then(|()| self.finish(fd, Some(name.clone())))?;
        unmade.made = true;
        Ok(seg)
    }

    /// Creates an anonymous segment (a `memfd` mapped shared): no name,
    /// shared with children forked later.
    ///
    /// # Errors
    ///
    /// [`ShmError::CannotAllocate`], [`ShmError::Os`], or the
    /// initializer's error.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{Segment, SegmentKind};
    /// let s = Segment::builder(SegmentKind::Raw, 8).create_anonymous().unwrap();
    /// assert!(s.name().is_none());
    /// ```
    pub fn create_anonymous(self) -> Result<Segment> {
        let label = self.label.as_deref().map(memfd_label);
        let fd = mproc_sys::memfd_create(label.as_deref().unwrap_or(c"mproc-anonymous"))?;
        self.finish(fd, None)
    }

    fn finish(self, fd: OwnedFd, name: Option<SegmentName>) -> Result<Segment> {
        let cannot_allocate = |source| ShmError::CannotAllocate {
            name: name.as_ref().map(|n| n.as_str().to_owned()),
            len: self.len,
            source,
        };
        let total_len = self
            .len
            .checked_add(HEADER_LEN)
            .filter(|&t| usize::try_from(t).is_ok())
            .ok_or_else(|| {
                cannot_allocate(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "length with the header overflows the address space",
                ))
            })?;
        mproc_sys::ftruncate(&fd, total_len).map_err(cannot_allocate)?;
        let map = MmapOptions::new()
            .len(total_len as usize)
            .map_raw(&fd)
            .map_err(cannot_allocate)?;
        let creator = ProcessId::current()?;
        let new = NewHeader {
            kind: self.kind,
            total_len,
            creator,
            params: self.params,
            persistent: self.persistent,
        };
        let unlink_by = match name {
            Some(_) => Some((creator, mproc_sys::fstat(&fd)?.file_id)),
            None => None,
        };
        let mut seg = Segment {
            map,
            name,
            header: Header {
                version: header::LAYOUT_VERSION,
                kind: self.kind,
                total_len,
                creator,
                params: self.params,
            },
            // Not yet: until the segment is complete, `create` unlinks on
            // error itself.
            unlink_by: None,
            writable: true,
        };
        let region = seg.region();
        header::write_initializing(&region, &new)?;
        if let Some(init) = self.init {
            init(seg.payload())?;
        }
        header::publish_ready(&region)?;
        seg.unlink_by = unlink_by;
        Ok(seg)
    }
}

/// Opens segments: see [`Segment::opener`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mproc_shm::{Segment, SegmentKind};
///
/// let _s = Segment::create("doc-opener-ro", 8).unwrap();
/// let ro = Segment::opener("doc-opener-ro")
///     .kind(SegmentKind::Raw)
///     .read_only()
///     .ready_timeout(Duration::from_millis(100))
///     .open()
///     .unwrap();
/// assert_eq!(ro.payload().len(), 8);
/// ```
#[must_use]
pub struct SegmentOpener<'n> {
    name: &'n str,
    kind: Option<SegmentKind>,
    writable: bool,
    ready_timeout: Duration,
}

impl<'n> SegmentOpener<'n> {
    fn new(name: &'n str) -> SegmentOpener<'n> {
        SegmentOpener {
            name,
            kind: None,
            writable: true,
            ready_timeout: DEFAULT_READY_TIMEOUT,
        }
    }

    /// Refuse a segment of another kind ([`ShmError::WrongKind`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{Segment, SegmentKind};
    /// let _s = Segment::create("doc-kind", 8).unwrap();
    /// assert!(Segment::opener("doc-kind").kind(SegmentKind::Raw).open().is_ok());
    /// assert!(Segment::opener("doc-kind").kind(SegmentKind::Lock).open().is_err());
    /// ```
    pub fn kind(mut self, kind: SegmentKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Open for reading only, as inspection tools do: the name is opened
    /// `O_RDONLY` (read permission suffices), and nothing this handle does
    /// changes the segment.
    ///
    /// Every write the workspace offers on such a handle is refused with a
    /// typed error: [`Segment::try_persist`] ([`ShmError::ReadOnly`];
    /// [`Segment::persist`] does nothing), the regions' `write_*`
    /// ([`ShmError::ReadOnlyRegion`]), `from_segment` of `mproc-sync`'s
    /// primitives. One path cannot be refused: a store through an atomic
    /// that [`Region::get`] handed out (`&AtomicU32`, or a raw primitive
    /// attached over the region and then locked or set). So that it cannot
    /// crash the process either, the segment is mapped private and
    /// copy-on-write (not read-only): such a store lands in a private copy
    /// of its page, is never seen by other processes, and from then on that
    /// page of this handle shows the private copy instead of the segment.
    /// Pages never written keep showing the segment's live bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::{Segment, ShmError};
    /// let s = Segment::create("doc-ro", 8).unwrap();
    /// let ro = Segment::opener("doc-ro").read_only().open().unwrap();
    /// assert_eq!(ro.payload().read_pod::<u64>(0).unwrap(), 0);
    /// s.payload().write_pod(0, &7u64).unwrap();
    /// assert_eq!(ro.payload().read_pod::<u64>(0).unwrap(), 7); // live
    /// assert!(matches!(ro.payload().write_pod(0, &1u64), Err(ShmError::ReadOnlyRegion { .. })));
    /// ```
    pub fn read_only(mut self) -> Self {
        self.writable = false;
        self
    }

    /// How long to wait for a segment still being created (default
    /// [`DEFAULT_READY_TIMEOUT`]); a timeout past the clock's range
    /// (`Duration::MAX`) waits for as long as it takes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let o = mproc_shm::Segment::opener("doc-timeout").ready_timeout(Duration::ZERO);
    /// assert!(o.open().is_err());
    ///
    /// let _s = mproc_shm::Segment::create("doc-timeout-max", 8).unwrap();
    /// let o = mproc_shm::Segment::opener("doc-timeout-max").ready_timeout(Duration::MAX);
    /// assert!(o.open().is_ok());
    /// ```
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Opens and validates the segment.
    ///
    /// # Errors
    ///
    /// See [`Segment::open`], plus [`ShmError::WrongKind`].
    ///
    /// # Examples
    ///
    /// ```
    /// let _s = mproc_shm::Segment::create("doc-opener-open", 8).unwrap();
    /// assert!(mproc_shm::Segment::opener("doc-opener-open").open().is_ok());
    /// ```
    pub fn open(self) -> Result<Segment> {
        let name = SegmentName::new(self.name)?;
        let fd = mproc_sys::shm_open_existing(&name.os_name(), self.writable)
            .map_err(|e| os_error(e, name.as_str()))?;
        // Past the clock's range (`Duration::MAX`): no deadline.
        let deadline = Instant::now().checked_add(self.ready_timeout);
        let mut pause = Duration::from_micros(50);
        let start = Instant::now();
        loop {
            // Read before the attempt: an attempt made at or after the
            // deadline is the last, and what it found is the answer.
            let now = Instant::now();
            let file_len = mproc_sys::fstat(&fd)?.size;
            let outcome = self.try_map(&fd, file_len, &name);
            let waiting_for = match outcome {
                Ok(MapAttempt::Ready(seg)) => return Ok(*seg),
                // A live creator still initializing: not ready (yet).
                Ok(MapAttempt::Pending(Some(creator_pid))) => ShmError::NotReady {
                    name: name.to_string(),
                    creator_pid,
                    waited_ms: now.duration_since(start).as_millis() as u64,
                },
                // No creator ever wrote its pid: abandoned, if it stays so.
                Ok(MapAttempt::Pending(None)) => ShmError::Abandoned {
                    name: name.to_string(),
                    creator_pid: 0,
                },
                Err(e @ ShmError::Truncated { .. }) if file_len < HEADER_LEN => e,
                Err(e) => return Err(e),
            };
            if deadline.is_some_and(|d| now >= d) {
                return Err(waiting_for);
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(5));
        }
    }

    /// One attempt to map a ready segment.
    fn try_map(&self, fd: &OwnedFd, file_len: u64, name: &SegmentName) -> Result<MapAttempt> {
        if file_len < HEADER_LEN {
            return Err(ShmError::Truncated {
                len: file_len,
                needed: HEADER_LEN,
            });
        }
        let len = usize::try_from(file_len).map_err(|_| ShmError::Corrupt {
            field: "file length",
            value: file_len,
        })?;
        let mut options = MmapOptions::new();
        options.len(len);
        let map = if self.writable {
            options.map_raw(fd)
        } else {
            // Private copy-on-write, so that a store through a `&Atomic*`
            // of a read-only handle (which nothing can refuse) stays in
            // this process instead of faulting; see `read_only`. No swap
            // is reserved for copies that a well-behaved reader never makes.
            options.no_reserve_swap();
            // SAFETY: memmap2 marks this unsafe because another process may
            // change the file under a `&[u8]` view of it. None is made: the
            // mapping becomes an `MmapRaw` at once and is reached only
            // through `Region`, under the shared-memory rules, exactly as
            // the shared mapping is.
            unsafe { options.map_copy(fd) }.map(MmapRaw::from)
        }
        .map_err(ShmError::Os)?;
        // SAFETY: the mapping is valid for `len` bytes while `map` lives;
        // the view does not outlive this function.
        let region = unsafe { Region::from_raw_parts(map.as_mut_ptr(), map.len()) };
        let header = match header::state(&region, file_len)? {
            HeaderState::Ready(h) => h,
            HeaderState::Initializing(creator) if !creator.is_alive() => {
                return Err(ShmError::Abandoned {
                    name: name.to_string(),
                    creator_pid: creator.pid,
                });
            }
            HeaderState::Initializing(creator) => {
                return Ok(MapAttempt::Pending(Some(creator.pid)));
            }
            HeaderState::Unset => return Ok(MapAttempt::Pending(None)),
        };
        if let Some(expected) = self.kind
            && header.kind != expected
        {
            return Err(ShmError::WrongKind {
                found: header.kind,
                expected,
            });
        }
        Ok(MapAttempt::Ready(Box::new(Segment {
            map,
            name: Some(name.clone()),
            header,
            unlink_by: None,
            writable: self.writable,
        })))
    }
}

/// What one attempt to map a segment being opened found.
enum MapAttempt {
    /// Ready and checked.
    Ready(Box<Segment>),
    /// Not ready yet: being initialized by the live creator with this pid,
    /// or (`None`) by nobody who wrote a pid so far.
    Pending(Option<i32>),
}
