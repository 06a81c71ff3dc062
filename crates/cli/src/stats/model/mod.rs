//! The statistics of each kind of segment, as `mproc` reports them: a
//! one-line summary for `ls` and labelled fields for `inspect`.

mod dict;
mod queue;
mod sync;

pub use dict::{DictStats, DictTableStats, ElementsStats, ManagedObject, ManagerStats};
pub use queue::QueueStats;
pub use sync::{BarrierStats, LockStats, SemaphoreStats};

/// A label and its value, as `mproc inspect` prints them.
pub(crate) type Field = (&'static str, String);

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn plural(n: u64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}
