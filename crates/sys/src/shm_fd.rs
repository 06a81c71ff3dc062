//! POSIX shared-memory file descriptors: `shm_open`, `shm_unlink`,
//! `memfd_create`, `ftruncate`, `fstat`.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The directory where Linux exposes POSIX shared-memory objects.
///
/// `shm_open("/mproc.x")` creates the file `/dev/shm/mproc.x`.
///
/// # Examples
///
/// ```
/// assert_eq!(mproc_sys::SHM_DIR, "/dev/shm");
/// ```
pub const SHM_DIR: &str = "/dev/shm";

/// Creates a new shared-memory object with `O_CREAT | O_EXCL | O_RDWR` and
/// the given permission bits (for example `0o600`).
///
/// `name` must start with `/` and contain no other `/`. The object has length
/// zero until [`ftruncate`].
///
/// # Errors
///
/// `AlreadyExists` (`EEXIST`) if the name is taken, `PermissionDenied`
/// (`EACCES`), `InvalidInput` (`EINVAL`, `ENAMETOOLONG`), or another `errno`.
///
/// # Examples
///
/// ```
/// let name = c"/mproc-sys-doc-create";
/// let fd = mproc_sys::shm_create(name, 0o600).unwrap();
/// mproc_sys::ftruncate(&fd, 4096).unwrap();
/// assert_eq!(mproc_sys::fstat(&fd).unwrap().size, 4096);
/// assert!(mproc_sys::shm_create(name, 0o600).is_err()); // O_EXCL
/// mproc_sys::shm_unlink(name).unwrap();
/// ```
pub fn shm_create(name: &CStr, mode: u32) -> io::Result<OwnedFd> {
    // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
    let fd = unsafe {
        libc::shm_open(
            name.as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_RDWR | libc::O_CLOEXEC,
            mode as libc::mode_t,
        )
    };
    owned_fd(fd)
}

/// Opens an existing shared-memory object, read-write or read-only, without
/// ever blocking (a FIFO made under the name is refused, not waited on).
///
/// # Errors
///
/// `NotFound` (`ENOENT`), `PermissionDenied` (`EACCES`), `InvalidData` for
/// a name that is not a regular file, or another `errno`.
///
/// # Examples
///
/// ```
/// let err = mproc_sys::shm_open_existing(c"/mproc-sys-doc-missing", true).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// ```
pub fn shm_open_existing(name: &CStr, writable: bool) -> io::Result<OwnedFd> {
    let access = if writable {
        libc::O_RDWR
    } else {
        libc::O_RDONLY
    };
    // Non-blocking: anyone may make a FIFO under the name (the directory is
    // world-writable), and opening one to read would wait for a writer.
    // The flag changes nothing for a regular file.
    // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
    let fd = unsafe {
        libc::shm_open(
            name.as_ptr(),
            access | libc::O_CLOEXEC | libc::O_NONBLOCK,
            0,
        )
    };
    let fd = owned_fd(fd)?;
    if !fstat(&fd)?.regular {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file (a FIFO, device or directory under a shared-memory name)",
        ));
    }
    Ok(fd)
}

/// Removes a shared-memory name. Mappings that exist stay valid until unmapped.
///
/// # Errors
///
/// `NotFound` (`ENOENT`) if there is no such name, or another `errno`.
///
/// # Examples
///
/// ```
/// let err = mproc_sys::shm_unlink(c"/mproc-sys-doc-nothing").unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// ```
pub fn shm_unlink(name: &CStr) -> io::Result<()> {
    // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
    let rc = unsafe { libc::shm_unlink(name.as_ptr()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Creates an anonymous memory file (`memfd_create`, close-on-exec). Mapped
/// `MAP_SHARED`, it is shared with children across `fork` and has no name in
/// any directory, so it can never leak.
///
/// # Errors
///
/// The `errno` of `memfd_create` (`EMFILE`, `ENOMEM`, ...).
///
/// # Examples
///
/// ```
/// let fd = mproc_sys::memfd_create(c"mproc-doc").unwrap();
/// mproc_sys::ftruncate(&fd, 100).unwrap();
/// assert_eq!(mproc_sys::fstat(&fd).unwrap().size, 100);
/// ```
pub fn memfd_create(debug_name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: `debug_name` is a valid NUL-terminated string for the duration of the call.
    let fd = unsafe { libc::memfd_create(debug_name.as_ptr(), libc::MFD_CLOEXEC) };
    owned_fd(fd)
}

/// Sets the length of a file (`ftruncate`). Growing fills with zero bytes.
///
/// # Errors
///
/// `InvalidInput` if `len` does not fit `off_t`, or the `errno` of
/// `ftruncate` (`EINVAL`, `EFBIG`, ...).
///
/// # Examples
///
/// ```
/// let fd = mproc_sys::memfd_create(c"mproc-doc").unwrap();
/// mproc_sys::ftruncate(&fd, 8192).unwrap();
/// assert_eq!(mproc_sys::fstat(&fd).unwrap().size, 8192);
/// ```
pub fn ftruncate(fd: &impl AsRawFd, len: u64) -> io::Result<()> {
    let len = libc::off_t::try_from(len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "length does not fit off_t"))?;
    // SAFETY: `fd` is an open descriptor owned by the caller for the duration of the call.
    let rc = unsafe { libc::ftruncate(fd.as_raw_fd(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets a file's permission bits exactly (`fchmod`), whatever the umask.
///
/// # Errors
///
/// The `errno` of `fchmod` (`EPERM` if the caller does not own the file).
///
/// # Examples
///
/// ```
/// let fd = mproc_sys::memfd_create(c"mproc-doc").unwrap();
/// mproc_sys::fchmod(&fd, 0o640).unwrap();
/// assert_eq!(mproc_sys::fstat(&fd).unwrap().mode, 0o640);
/// ```
pub fn fchmod(fd: &impl AsRawFd, mode: u32) -> io::Result<()> {
    // SAFETY: `fd` is an open descriptor owned by the caller for the call.
    let rc = unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// What [`fstat`] reports of a file.
///
/// # Examples
///
/// ```
/// let fd = mproc_sys::memfd_create(c"mproc-doc").unwrap();
/// let st = mproc_sys::fstat(&fd).unwrap();
/// assert_eq!(st.size, 0);
/// assert_eq!(st.uid, mproc_sys::getuid());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    /// Length in bytes.
    pub size: u64,
    /// Owner's user id.
    pub uid: u32,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// The device and inode: together, which file this is (a name
    /// unlinked and made again names another file).
    pub file_id: (u64, u64),
    /// A regular file (not a FIFO, device, directory or link).
    pub regular: bool,
}

/// Size, owner and permission bits of an open file.
///
/// # Errors
///
/// The `errno` of `fstat`.
///
/// # Examples
///
/// ```
/// let name = c"/mproc-sys-doc-fstat";
/// let fd = mproc_sys::shm_create(name, 0o640).unwrap();
/// let st = mproc_sys::fstat(&fd).unwrap();
/// mproc_sys::shm_unlink(name).unwrap();
/// assert_eq!(st.mode & 0o600, 0o600);
/// ```
pub fn fstat(fd: &impl AsRawFd) -> io::Result<FileStat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `fd` is open; `st` points to writable memory of the right size,
    // fully initialised by `fstat` when it returns 0.
    let rc = unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fstat` returned 0, so it wrote the whole struct.
    Ok(file_stat(unsafe { st.assume_init() }))
}

fn file_stat(st: libc::stat) -> FileStat {
    FileStat {
        size: u64::try_from(st.st_size).unwrap_or(0),
        uid: st.st_uid,
        mode: st.st_mode & 0o7777,
        file_id: (st.st_dev, st.st_ino),
        regular: st.st_mode & libc::S_IFMT == libc::S_IFREG,
    }
}

/// [`fstat`] of the shared-memory file a name (as given to
/// [`shm_open_existing`]) leads to, without opening it: needs no read
/// permission and no free descriptor.
///
/// # Errors
///
/// `NotFound` if there is no such name, `InvalidInput` for a name that is
/// not `/` and one file name (no other `/`, not `.` or `..`), or another
/// `errno` of `lstat`.
///
/// # Examples
///
/// ```
/// let name = c"/mproc-sys-doc-shm-stat";
/// let fd = mproc_sys::shm_create(name, 0o200).unwrap();
/// mproc_sys::ftruncate(&fd, 64).unwrap();
/// let st = mproc_sys::shm_stat(name).unwrap();
/// assert_eq!((st.size, st.file_id), (64, mproc_sys::fstat(&fd).unwrap().file_id));
/// mproc_sys::shm_unlink(name).unwrap();
/// assert_eq!(mproc_sys::shm_stat(name).unwrap_err().kind(), std::io::ErrorKind::NotFound);
/// let outside = mproc_sys::shm_stat(c"/../../etc/passwd").unwrap_err();
/// assert_eq!(outside.kind(), std::io::ErrorKind::InvalidInput);
/// ```
pub fn shm_stat(name: &CStr) -> io::Result<FileStat> {
    let bytes = name.to_bytes();
    // One component under the directory, as `shm_open` takes it.
    let Some(file) = bytes.strip_prefix(b"/") else {
        return Err(io::ErrorKind::InvalidInput.into());
    };
    if file.is_empty() || file == b"." || file == b".." || file.contains(&b'/') {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    let mut path = Vec::with_capacity(SHM_DIR.len() + bytes.len() + 1);
    path.extend_from_slice(SHM_DIR.as_bytes());
    path.extend_from_slice(bytes);
    let path = std::ffi::CString::new(path).map_err(|_| io::ErrorKind::InvalidInput)?;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `path` is NUL-terminated and outlives the call; `st` points
    // to writable memory of the right size, fully initialised by `lstat`
    // when it returns 0. `lstat`: a symbolic link is not followed.
    let rc = unsafe { libc::lstat(path.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `stat` returned 0, so it wrote the whole struct.
    Ok(file_stat(unsafe { st.assume_init() }))
}

fn owned_fd(fd: libc::c_int) -> io::Result<OwnedFd> {
    if fd < 0 {
        Err(io::Error::last_os_error())
    } else {
        // SAFETY: a non-negative return of shm_open/memfd_create is a fresh
        // descriptor that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}
