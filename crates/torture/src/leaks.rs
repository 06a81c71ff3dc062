//! What a round must not leave behind: children of this process (zombies
//! or still running) and segments of this run in `/dev/shm`.

use std::time::{Duration, Instant};

/// A child of this process, as `/proc/PID/stat` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildProc {
    /// Its pid.
    pub pid: i32,
    /// Its state letter (`Z` for a zombie).
    pub state: char,
}

impl ChildProc {
    /// Whether it is a zombie (ended, not reaped).
    ///
    /// # Examples
    ///
    /// ```
    /// let z = mproc_torture::leaks::ChildProc { pid: 1, state: 'Z' };
    /// assert!(z.is_zombie());
    /// ```
    pub fn is_zombie(&self) -> bool {
        self.state == 'Z'
    }
}

/// Parses `pid (comm) S ppid ...`: the state and the parent pid.
fn parse_stat(stat: &str) -> Option<(char, i32)> {
    // The command name may hold spaces and parentheses: read after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Every process whose parent is this one, from `/proc`.
///
/// # Examples
///
/// ```
/// assert!(mproc_torture::leaks::children_of_self().is_empty());
/// ```
pub fn children_of_self() -> Vec<ChildProc> {
    let me = mproc_sys::getpid();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Some((state, ppid)) = parse_stat(&stat)
            && ppid == me
        {
            out.push(ChildProc { pid, state });
        }
    }
    out
}

/// The children of this process still there after `grace` (a pool's
/// replacement worker may take a moment to be reaped after the pool
/// drops): empty means no zombie and no stray child.
///
/// # Examples
///
/// ```
/// let left = mproc_torture::leaks::children_left(std::time::Duration::ZERO);
/// assert!(left.is_empty());
/// ```
pub fn children_left(grace: Duration) -> Vec<ChildProc> {
    let deadline = Instant::now() + grace;
    loop {
        let left = children_of_self();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The segments in `/dev/shm` whose names start with `prefix` or whose
/// creator is one of `pids` (this run's processes).
///
/// # Examples
///
/// ```
/// let _s = mproc_shm::Segment::create("doc-leaks-ours", 8).unwrap();
/// let ours = mproc_torture::leaks::segments_of("doc-leaks-", &[]);
/// assert_eq!(ours, ["doc-leaks-ours"]);
/// ```
pub fn segments_of(prefix: &str, pids: &[i32]) -> Vec<String> {
    let Ok(all) = mproc_shm::list() else {
        return Vec::new();
    };
    all.into_iter()
        .filter(|info| {
            info.name.as_str().starts_with(prefix)
                || info.creator.is_some_and(|c| pids.contains(&c.pid))
        })
        .map(|info| info.name.as_str().to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_stat;

    #[test]
    fn stat_with_parentheses_in_the_name() {
        assert_eq!(parse_stat("12 (a) b) (c) Z 34 0 0"), Some(('Z', 34)));
        assert_eq!(parse_stat("12 (x) S 1 2"), Some(('S', 1)));
        assert_eq!(parse_stat("garbage"), None);
    }
}
