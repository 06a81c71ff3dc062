//! [`SegmentReport`]: everything `mproc` says about one segment, for text
//! and JSON output alike.

use serde::Serialize;

use mproc_shm::{SegmentInfo, SegmentStatus};

use crate::{KindStats, StatsOutcome, read_stats};

/// The state of a segment's header, as reported.
///
/// # Examples
///
/// ```
/// use mproc_cli::Status;
/// assert_eq!(Status::Unreadable.as_str(), "unreadable");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Validated and ready.
    Ready,
    /// Its creator is laying it out (or died doing so).
    Initializing,
    /// Nothing written yet.
    Unset,
    /// It cannot be parsed or opened; see the report's `reason`.
    Unreadable,
}

impl Status {
    /// The lower-case name used in listings.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_cli::Status::Ready.as_str(), "ready");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ready => "ready",
            Status::Initializing => "initializing",
            Status::Unset => "unset",
            Status::Unreadable => "unreadable",
        }
    }
}

/// The process that created a segment.
///
/// # Examples
///
/// ```
/// use mproc_cli::Creator;
/// let c = Creator { pid: 1, start_time: 0, alive: true };
/// assert!(c.alive);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Creator {
    /// Its pid.
    pub pid: i32,
    /// Its start time, in clock ticks after boot (tells a reused pid apart).
    pub start_time: u64,
    /// Whether it is still running.
    pub alive: bool,
}

/// The validated header of a ready segment.
///
/// # Examples
///
/// ```
/// use mproc_cli::HeaderReport;
/// let h = HeaderReport { version: 1, kind_code: 17, total_len: 4224, params: [0; 8] };
/// assert_eq!(h.kind_code, 17);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HeaderReport {
    /// The layout version.
    pub version: u32,
    /// The kind's number as stored in the header.
    pub kind_code: u32,
    /// Header plus payload, in bytes.
    pub total_len: u64,
    /// The kind-specific layout parameters.
    pub params: [u64; mproc_shm::PARAM_COUNT],
}

/// Everything known about one segment.
///
/// # Examples
///
/// ```
/// use mproc_shm::Segment;
/// use mproc_cli::{SegmentReport, Status};
///
/// let _s = Segment::create("doc-cli-report", 64).unwrap();
/// let report = SegmentReport::new(&mproc_shm::inspect("doc-cli-report").unwrap());
/// assert_eq!(report.status, Status::Ready);
/// assert_eq!(report.kind.as_deref(), Some("raw"));
/// assert_eq!(report.size, 64 + mproc_shm::HEADER_LEN);
/// assert!(report.creator.unwrap().alive);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentReport {
    /// The name, without the `/mproc.` prefix.
    pub name: String,
    /// What it holds (`queue`, `dict`, ...), once its header is ready.
    pub kind: Option<String>,
    /// The header's state.
    pub status: Status,
    /// Why it is unreadable, or why its statistics could not be read.
    pub reason: Option<String>,
    /// The file's size in bytes.
    pub size: u64,
    /// Its creator, if the identity was written.
    pub creator: Option<Creator>,
    /// Whether it outlives its creator (and `mproc gc`).
    pub persistent: bool,
    /// The header, once ready.
    pub header: Option<HeaderReport>,
    /// The kind's statistics, when this build can read them.
    pub stats: Option<KindStats>,
}

impl SegmentReport {
    /// Builds the report of a listed segment, reading its statistics; a
    /// segment removed meanwhile says so in its `reason`.
    pub fn new(info: &SegmentInfo) -> SegmentReport {
        let (report, _gone) = SegmentReport::build(info);
        report
    }

    /// Builds the report of a listed segment, or `None` if it was removed
    /// while its statistics were being read.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::Segment;
    /// use mproc_cli::SegmentReport;
    ///
    /// let _s = Segment::create("doc-cli-read", 8).unwrap();
    /// let info = mproc_shm::inspect("doc-cli-read").unwrap();
    /// assert!(SegmentReport::read(&info).is_some());
    /// ```
    pub fn read(info: &SegmentInfo) -> Option<SegmentReport> {
        match SegmentReport::build(info) {
            (_, true) => None,
            (report, false) => Some(report),
        }
    }

    /// The report, and whether the segment turned out to be gone.
    fn build(info: &SegmentInfo) -> (SegmentReport, bool) {
        let (status, mut reason, header) = match &info.status {
            SegmentStatus::Ready(h) => (
                Status::Ready,
                None,
                Some(HeaderReport {
                    version: h.version,
                    kind_code: h.kind.as_raw(),
                    total_len: h.total_len,
                    params: h.params,
                }),
            ),
            SegmentStatus::Initializing => (Status::Initializing, None, None),
            SegmentStatus::Unset => (Status::Unset, None, None),
            SegmentStatus::Unreadable(why) => (Status::Unreadable, Some(why.clone()), None),
            // A state added to the shm crate later: show it as unreadable
            // rather than guess.
            other => (Status::Unreadable, Some(format!("{other:?}")), None),
        };
        let kind = match &info.status {
            SegmentStatus::Ready(h) => Some(h.kind.name().to_owned()),
            _ => None,
        };
        let mut gone = false;
        let stats = match read_stats(info) {
            StatsOutcome::Read(s) => Some(s),
            StatsOutcome::NotAvailable => None,
            StatsOutcome::Failed(why) => {
                reason = Some(format!("statistics unreadable: {why}"));
                None
            }
            StatsOutcome::Gone => {
                gone = true;
                reason = Some("removed while being read".to_owned());
                None
            }
        };
        let report = SegmentReport {
            name: info.name.as_str().to_owned(),
            kind,
            status,
            reason,
            size: info.len,
            creator: info.creator.map(|c| Creator {
                pid: c.pid,
                start_time: c.start_time,
                alive: info.creator_alive,
            }),
            persistent: info.persistent,
            header,
            stats,
        };
        (report, gone)
    }

    /// The `DETAILS` column of `mproc ls`: the statistics, or why there
    /// are none.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::Segment;
    /// use mproc_cli::SegmentReport;
    ///
    /// let _s = Segment::create("doc-cli-details", 8).unwrap();
    /// let r = SegmentReport::new(&mproc_shm::inspect("doc-cli-details").unwrap());
    /// assert_eq!(r.details(), "");
    /// ```
    pub fn details(&self) -> String {
        match (self.status, &self.stats, &self.reason) {
            (_, Some(stats), _) => stats.summary(),
            (Status::Unreadable, _, Some(why)) => format!("unreadable: {why}"),
            (_, None, Some(why)) => why.clone(),
            (Status::Initializing, None, None) => match self.creator {
                Some(c) if !c.alive => "abandoned while initializing".to_owned(),
                _ => "initializing".to_owned(),
            },
            (Status::Unset, None, None) => "header not written".to_owned(),
            (_, None, None) => String::new(),
        }
    }

    /// Whether `mproc gc` removes it: its creator is known and dead, and
    /// it is not persistent.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_shm::Segment;
    /// use mproc_cli::SegmentReport;
    ///
    /// let _s = Segment::create("doc-cli-stale", 8).unwrap();
    /// let r = SegmentReport::new(&mproc_shm::inspect("doc-cli-stale").unwrap());
    /// assert!(!r.is_stale());
    /// ```
    pub fn is_stale(&self) -> bool {
        self.creator.is_some_and(|c| !c.alive) && !self.persistent
    }
}
