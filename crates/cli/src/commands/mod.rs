//! One file per subcommand.

mod family;
pub(crate) mod gc;
pub(crate) mod inspect;
pub(crate) mod ls;
pub(crate) mod rm;
pub(crate) mod watch;

use mproc_shm::ShmError;

use crate::{Result, SegmentReport};

/// The report of segment `name`; a name given as its file in `/dev/shm`
/// (`mproc.NAME`, as `ls /dev/shm` shows it) is taken for `NAME` when no
/// segment has the longer name.
///
/// # Errors
///
/// [`ShmError::NotFound`] if there is none, or it was removed while being
/// read; [`ShmError::InvalidName`].
pub(crate) fn report(name: &str) -> Result<SegmentReport, ShmError> {
    let read = |name: &str| {
        SegmentReport::read(&mproc_shm::inspect(name)?).ok_or_else(|| ShmError::NotFound {
            name: name.to_owned(),
        })
    };
    match read(name) {
        // Not found, or too long once given with the prefix: the name
        // without it, if that is a segment; else the first answer.
        Err(e @ (ShmError::NotFound { .. } | ShmError::InvalidName { .. })) => {
            match name.strip_prefix(mproc_shm::NAME_PREFIX) {
                Some(short) if !short.is_empty() => read(short).map_err(|_| e),
                _ => Err(e),
            }
        }
        other => other,
    }
}

/// Every segment whose name starts with `prefix` (all without one), as
/// reports, sorted by name.
pub(crate) fn reports(prefix: Option<&str>) -> Result<Vec<SegmentReport>> {
    Ok(mproc_shm::list()?
        .iter()
        .filter(|info| prefix.is_none_or(|p| info.name.as_str().starts_with(p)))
        .filter_map(SegmentReport::read)
        .collect())
}
