//! `mproc-cli`: the `mproc` command, which lists, inspects, watches and
//! cleans mproc's shared-memory segments.
//!
//! ```text
//! mproc ls [--json] [--prefix P]      every segment, with per-kind statistics
//! mproc inspect NAME [--json]         the header and every statistic of one
//! mproc watch NAME [--interval 1s] [--count N]
//!                                     live queue depth and message rates
//! mproc rm NAME... [--dry-run]        remove segments by name
//! mproc gc [--dry-run] [--prefix P] [--unwritten-after 1m]
//!                                     remove segments whose creators died
//! ```
//!
//! A segment that cannot be parsed is listed as such, with the reason; it
//! never stops the command. The library half holds everything but
//! argument parsing's entry point, so that it can be tested in process.
//!
//! # Examples
//!
//! ```
//! use mproc_shm::Segment;
//! use mproc_cli::{SegmentReport, Status};
//!
//! let _seg = Segment::create("doc-cli-lib", 100).unwrap();
//! let r = SegmentReport::new(&mproc_shm::inspect("doc-cli-lib").unwrap());
//! assert_eq!((r.status, r.kind.as_deref()), (Status::Ready, Some("raw")));
//! ```

mod cli;
mod commands;
mod error;
mod report;
pub(crate) mod stats;
mod table;
mod units;

pub use cli::{Cli, Command, Streams, run};
pub use error::{CliError, Result};
pub use report::{Creator, HeaderReport, SegmentReport, Status};
pub use stats::{
    BarrierStats, DictStats, DictTableStats, ElementsStats, KindStats, LockStats, ManagedObject,
    ManagerStats, QueueStats, SemaphoreStats, StatsOutcome, read_stats,
};
pub use table::Table;
pub use units::{human_bytes, human_rate, parse_duration};

/// `docs/migrating-from-python.md`, whose Rust snippets are compiled and
/// run as doctests so that the guide stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/migrating-from-python.md")]
pub struct MigrationGuideDoctests;
