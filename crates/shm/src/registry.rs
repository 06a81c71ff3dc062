//! The registry of live segments: every `/dev/shm/mproc.*` entry, what it
//! holds, whether its creator lives; and removal of the stale ones.

use mproc_sys::ProcessId;

use crate::header::{self, HeaderState};
use crate::{Header, HeapRegion, Result, SegmentName, ShmError, error::os_error};

/// What [`list`] found under one name.
///
/// # Examples
///
/// ```
/// use mproc_shm::{Segment, SegmentStatus};
///
/// let _s = Segment::create("doc-info", 16).unwrap();
/// let info = mproc_shm::inspect("doc-info").unwrap();
/// assert_eq!(info.len, 16 + mproc_shm::HEADER_LEN);
/// assert!(info.creator_alive);
/// assert!(matches!(info.status, SegmentStatus::Ready(_)));
/// ```
#[derive(Debug)]
pub struct SegmentInfo {
    /// The segment's name, without the prefix.
    pub name: SegmentName,
    /// The file's length in bytes.
    pub len: u64,
    /// The creator, if its identity was written.
    pub creator: Option<ProcessId>,
    /// Whether the creator is still running.
    pub creator_alive: bool,
    /// Whether the segment is marked persistent.
    pub persistent: bool,
    /// What the header says.
    pub status: SegmentStatus,
}

/// The state of a listed segment's header.
///
/// # Examples
///
/// ```
/// use mproc_shm::SegmentStatus;
/// let s = SegmentStatus::Unreadable("bad magic".into());
/// assert!(matches!(s, SegmentStatus::Unreadable(_)));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum SegmentStatus {
    /// Ready, with its validated header.
    Ready(Header),
    /// Its creator is still laying it out (or died doing so).
    Initializing,
    /// Nothing was written to it yet.
    Unset,
    /// It cannot be parsed or opened: the reason.
    Unreadable(String),
}

/// Reads the header's bytes twice until two reads agree (a creator may be
/// writing them: a copy taken while it does could mix old and new words,
/// which the atomic loads of a mapping never do).
fn read_header(file: std::fs::File) -> Result<[u8; header::HEADER_LEN as usize]> {
    use std::os::unix::fs::FileExt;
    let read = |buf: &mut [u8; header::HEADER_LEN as usize]| {
        file.read_exact_at(buf, 0).map_err(|e| match e.kind() {
            // Shrunk since its size was read.
            std::io::ErrorKind::UnexpectedEof => ShmError::Truncated {
                len: file.metadata().map_or(0, |m| m.len()),
                needed: header::HEADER_LEN,
            },
            _ => ShmError::Os(e),
        })
    };
    let mut first = [0u8; header::HEADER_LEN as usize];
    read(&mut first)?;
    for _ in 0..100 {
        let mut again = [0u8; header::HEADER_LEN as usize];
        read(&mut again)?;
        if again == first {
            return Ok(first);
        }
        first = again;
        std::thread::yield_now();
    }
    Err(ShmError::Corrupt {
        field: "header (changing while read)",
        value: 0,
    })
}

/// Reads what a segment holds without waiting and without changing it
/// (its header is read, not mapped).
///
/// # Errors
///
/// [`ShmError::InvalidName`], [`ShmError::NotFound`]; an unparsable or
/// unreadable segment is not an error but a [`SegmentStatus::Unreadable`].
///
/// # Examples
///
/// ```
/// assert!(mproc_shm::inspect("doc-inspect-missing").is_err());
/// ```
pub fn inspect(name: &str) -> Result<SegmentInfo> {
    let name = SegmentName::new(name)?;
    let fd = match mproc_sys::shm_open_existing(&name.os_name(), false) {
        Ok(fd) => fd,
        Err(e) => {
            return match os_error(e, name.as_str()) {
                nf @ ShmError::NotFound { .. } => Err(nf),
                other => Ok(unreadable(name, 0, &other)),
            };
        }
    };
    let len = match mproc_sys::fstat(&fd) {
        Ok(st) => st.size,
        Err(e) => return Ok(unreadable(name, 0, &ShmError::Os(e))),
    };
    if len < header::HEADER_LEN {
        let e = ShmError::Truncated {
            len,
            needed: header::HEADER_LEN,
        };
        return Ok(unreadable(name, len, &e));
    }
    // Read, not mapped: a file its owner shrinks meanwhile then reads
    // short instead of faulting (`SIGBUS` would kill a sweep over other
    // users' files).
    let bytes = match read_header(std::fs::File::from(fd)) {
        Ok(bytes) => bytes,
        Err(e) => return Ok(unreadable(name, len, &e)),
    };
    let heap = HeapRegion::new(bytes.len());
    let region = heap.region();
    region.write_bytes(0, &bytes)?;
    let persistent = header::is_persistent(&region);
    let handing_over = header::is_handing_over(&region);
    // The mapping covers only the header; validate the length against the
    // real file size.
    let state = header::state(&region, len);
    let creator = match &state {
        Ok(HeaderState::Ready(h)) => Some(h.creator),
        Ok(HeaderState::Initializing(c)) => Some(*c),
        _ => None,
    };
    let status = match state {
        Ok(HeaderState::Ready(h)) => SegmentStatus::Ready(h),
        Ok(HeaderState::Initializing(_)) => SegmentStatus::Initializing,
        Ok(HeaderState::Unset) => SegmentStatus::Unset,
        Err(e) => SegmentStatus::Unreadable(e.to_string()),
    };
    Ok(SegmentInfo {
        name,
        len,
        creator,
        // While the creator fields are handed over to a forked child, the
        // pair read may mix the parent's and the child's: then any live
        // process with the pid read counts (both are alive then).
        creator_alive: creator.is_some_and(|c| {
            c.is_alive() || handing_over && ProcessId::of(c.pid).is_ok_and(|p| p.is_alive())
        }),
        persistent,
        status,
    })
}

fn unreadable(name: SegmentName, len: u64, err: &ShmError) -> SegmentInfo {
    SegmentInfo {
        name,
        len,
        creator: None,
        creator_alive: false,
        persistent: false,
        status: SegmentStatus::Unreadable(err.to_string()),
    }
}

/// Every mproc segment on this machine, sorted by name.
///
/// # Errors
///
/// [`ShmError::Os`] if `/dev/shm` cannot be read.
///
/// # Examples
///
/// ```
/// let _s = mproc_shm::Segment::create("doc-list", 8).unwrap();
/// let all = mproc_shm::list().unwrap();
/// assert!(all.iter().any(|i| i.name.as_str() == "doc-list"));
/// ```
pub fn list() -> Result<Vec<SegmentInfo>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(mproc_sys::SHM_DIR)? {
        let entry = entry?;
        let Some(file) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some(name) = SegmentName::from_file_name(&file) else {
            continue;
        };
        match inspect(name.as_str()) {
            Ok(info) => out.push(info),
            // Removed between read_dir and open: not there any more.
            Err(ShmError::NotFound { .. }) => {}
            Err(e) => out.push(unreadable(name, 0, &e)),
        }
    }
    out.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
    Ok(out)
}

/// What [`remove_stale`] did: the names it removed, and those it meant to
/// remove but could not, with why.
///
/// # Examples
///
/// ```
/// let sweep = mproc_shm::remove_stale().unwrap();
/// for (name, error) in &sweep.failed {
///     eprintln!("could not remove {name}: {error}");
/// }
/// assert!(sweep.removed.iter().all(|n| !n.as_str().is_empty()));
/// ```
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct StaleSweep {
    /// The stale segments unlinked, in name order.
    pub removed: Vec<SegmentName>,
    /// The stale segments whose unlink failed, in name order, each with its
    /// error (typically [`ShmError::PermissionDenied`]: another user's
    /// segment in the sticky `/dev/shm`).
    pub failed: Vec<(SegmentName, ShmError)>,
}

/// Unlinks every segment whose creator is dead and that is not persistent.
/// Segments that cannot be parsed are left alone (the `mproc rm` command
/// removes them by name). A segment that cannot be unlinked does not stop
/// the sweep: it is reported in [`StaleSweep::failed`] and the others are
/// still removed; one already gone when its turn comes is in neither list.
///
/// # Errors
///
/// [`ShmError::Os`] if `/dev/shm` cannot be read (then nothing was
/// removed).
///
/// # Examples
///
/// ```
/// let sweep = mproc_shm::remove_stale().unwrap();
/// assert!(sweep.removed.iter().all(|n| !n.as_str().is_empty()));
/// ```
pub fn remove_stale() -> Result<StaleSweep> {
    let stale =
        |info: &SegmentInfo| info.creator.is_some() && !info.creator_alive && !info.persistent;
    let mut sweep = StaleSweep::default();
    for info in list()? {
        // Looked at again just before the unlink: the listing may be long
        // past, and a live process may have made the name anew meanwhile
        // (a restart's unlink and create). What is left is a window of a
        // few system calls.
        if stale(&info) && inspect(info.name.as_str()).is_ok_and(|now| stale(&now)) {
            match mproc_sys::shm_unlink(&info.name.os_name()) {
                Ok(()) => sweep.removed.push(info.name),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    let error = os_error(e, info.name.as_str());
                    sweep.failed.push((info.name, error));
                }
            }
        }
    }
    Ok(sweep)
}

#[cfg(test)]
mod tests {
    use mproc_sys::ProcessId;

    use super::inspect;
    use crate::Segment;
    use crate::header;

    /// A creator pair mixed by a hand-over in progress (this process's pid
    /// with another start time) reads as a live creator while the flag is
    /// up, and as a dead one without it (what a sweep then removes).
    #[test]
    fn a_creator_mixed_by_a_hand_over_in_progress_is_alive() {
        let name = format!("registry-test-mixed-{}", std::process::id());
        let seg = Segment::create(&name, 8).unwrap();
        let me = ProcessId::current().unwrap();
        let mixed = ProcessId {
            pid: me.pid,
            start_time: me.start_time + 1,
        };
        let region = seg.region();
        let flags = header::flags_word(&region).unwrap();
        header::set_creator(&region, mixed).unwrap();
        flags.fetch_or(
            header::FLAG_HANDING_OVER,
            std::sync::atomic::Ordering::SeqCst,
        );
        assert!(inspect(&name).unwrap().creator_alive);
        flags.fetch_and(
            !header::FLAG_HANDING_OVER,
            std::sync::atomic::Ordering::SeqCst,
        );
        assert!(!inspect(&name).unwrap().creator_alive);
        // Back to this process, so that the drop unlinks it.
        header::set_creator(&region, me).unwrap();
        assert!(inspect(&name).unwrap().creator_alive);
        assert!(!header::is_handing_over(&region));
    }
}
