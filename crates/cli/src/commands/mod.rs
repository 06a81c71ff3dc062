//! One file per subcommand.

mod family;
pub(crate) mod gc;
pub(crate) mod inspect;
pub(crate) mod ls;
pub(crate) mod rm;
pub(crate) mod watch;

use mproc_shm::ShmError;

use crate::{Result, SegmentReport};

/// The report of segment `name`.
///
/// # Errors
///
/// [`ShmError::NotFound`] if there is none, or it was removed while being
/// read; [`ShmError::InvalidName`].
pub(crate) fn report(name: &str) -> Result<SegmentReport, ShmError> {
    SegmentReport::read(&mproc_shm::inspect(name)?).ok_or_else(|| ShmError::NotFound {
        name: name.to_owned(),
    })
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
