//! One file per subcommand.

mod family;
pub(crate) mod gc;
pub(crate) mod inspect;
pub(crate) mod ls;
pub(crate) mod rm;
pub(crate) mod watch;

use crate::{Result, SegmentReport};

/// Every segment whose name starts with `prefix` (all without one), as
/// reports, sorted by name.
pub(crate) fn reports(prefix: Option<&str>) -> Result<Vec<SegmentReport>> {
    Ok(mproc_shm::list()?
        .iter()
        .filter(|info| prefix.is_none_or(|p| info.name.as_str().starts_with(p)))
        .map(SegmentReport::new)
        .collect())
}
