//! Validated segment names.

use std::ffi::CString;
use std::fmt;

use crate::{Result, ShmError};

/// The prefix of every mproc shared-memory object: `/mproc.NAME`, that is
/// the file `/dev/shm/mproc.NAME` on Linux.
pub const NAME_PREFIX: &str = "mproc.";

/// The longest name accepted, in bytes (without the prefix).
pub const MAX_NAME_LEN: usize = 200;

/// A valid segment name: 1 to 200 characters from `[A-Za-z0-9._-]`.
///
/// The OS-level name is `/mproc.` followed by it, so mproc's segments are
/// easy to find and can never escape `/dev/shm`.
///
/// # Examples
///
/// ```
/// use mproc_shm::{SegmentName, ShmError};
///
/// let name = SegmentName::new("jobs-1").unwrap();
/// assert_eq!(name.as_str(), "jobs-1");
/// assert_eq!(name.os_name().to_str().unwrap(), "/mproc.jobs-1");
/// assert!(matches!(SegmentName::new("../etc"), Err(ShmError::InvalidName { .. })));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SegmentName {
    name: String,
}

impl SegmentName {
    /// Validates `name`.
    ///
    /// # Errors
    ///
    /// [`ShmError::InvalidName`] if it is empty, longer than
    /// [`MAX_NAME_LEN`], or holds a byte outside `[A-Za-z0-9._-]` (a `/`,
    /// a NUL, a space, any non-ASCII character).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::SegmentName;
    /// assert!(SegmentName::new("").is_err());
    /// assert!(SegmentName::new("a/b").is_err());
    /// assert!(SegmentName::new("a\0b").is_err());
    /// assert!(SegmentName::new(&"x".repeat(201)).is_err());
    /// assert!(SegmentName::new(&"x".repeat(200)).is_ok());
    /// ```
    pub fn new(name: &str) -> Result<SegmentName> {
        let invalid = |reason| ShmError::InvalidName {
            name: name.to_owned(),
            reason,
        };
        if name.is_empty() {
            return Err(invalid("empty"));
        }
        if name.len() > MAX_NAME_LEN {
            return Err(invalid("longer than 200 bytes"));
        }
        if let Some(b) = name
            .bytes()
            .find(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')))
        {
            return Err(invalid(match b {
                b'/' => "contains `/`",
                0 => "contains a NUL byte",
                _ => "contains a character outside [A-Za-z0-9._-]",
            }));
        }
        Ok(SegmentName {
            name: name.to_owned(),
        })
    }

    /// The name as given, without the prefix.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_shm::SegmentName::new("q").unwrap().as_str(), "q");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The name passed to `shm_open`: `/mproc.NAME`.
    ///
    /// # Examples
    ///
    /// ```
    /// let n = mproc_shm::SegmentName::new("q").unwrap();
    /// assert_eq!(n.os_name().as_bytes(), b"/mproc.q");
    /// ```
    pub fn os_name(&self) -> CString {
        // Validation admits no NUL byte, so this cannot fail; fall back to an
        // empty name (which shm_open rejects) rather than panic.
        CString::new(format!("/{NAME_PREFIX}{}", self.name)).unwrap_or_default()
    }

    /// Recovers the name from a file name in `/dev/shm` (`mproc.NAME`).
    pub(crate) fn from_file_name(file: &str) -> Option<SegmentName> {
        SegmentName::new(file.strip_prefix(NAME_PREFIX)?).ok()
    }
}

impl fmt::Debug for SegmentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.name, f)
    }
}

impl fmt::Display for SegmentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_invalid_name_is_refused_with_its_reason() {
        let cases = [
            ("", "empty"),
            ("../x", "contains `/`"),
            ("a/b", "contains `/`"),
            ("a\0b", "contains a NUL byte"),
            ("a b", "contains a character outside [A-Za-z0-9._-]"),
            ("é", "contains a character outside [A-Za-z0-9._-]"),
        ];
        for (name, why) in cases {
            match SegmentName::new(name) {
                Err(ShmError::InvalidName { name: n, reason }) => {
                    assert_eq!(n, name);
                    assert_eq!(reason, why);
                }
                other => panic!("{name:?}: {other:?}"),
            }
        }
        let long = "a".repeat(MAX_NAME_LEN + 1);
        assert!(matches!(
            SegmentName::new(&long),
            Err(ShmError::InvalidName {
                reason: "longer than 200 bytes",
                ..
            })
        ));
    }

    #[test]
    fn file_names_round_trip() {
        let n = SegmentName::new("a.b_c-1").unwrap();
        let file = format!("{NAME_PREFIX}{n}");
        assert_eq!(SegmentName::from_file_name(&file), Some(n));
        assert_eq!(SegmentName::from_file_name("other.x"), None);
    }
}
