//! The state of locks, semaphores and barriers.

use serde::Serialize;

use super::{Field, or_dash, yes_no};

/// Who holds a lock (`Lock`, `RLock`, a `Condition`'s lock, the lock of a
/// `Value` or `Array`).
///
/// # Examples
///
/// ```
/// use mproc_cli::LockStats;
///
/// let l = LockStats { held: true, holder_tid: Some(4242), holder_pid: Some(4242),
///                     holder_alive: Some(false), owner_died: false, count: None };
/// assert_eq!(l.summary(), "held by pid 4242, dead: the next lock() recovers it");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LockStats {
    /// Whether it is held now.
    pub held: bool,
    /// The holding thread's id, if held.
    pub holder_tid: Option<u32>,
    /// The holding thread's process, if it could be found.
    pub holder_pid: Option<i32>,
    /// Whether the holding thread lives, if held.
    pub holder_alive: Option<bool>,
    /// A holder died holding it and nobody has vouched for the data since.
    pub owner_died: bool,
    /// An `RLock`'s recursion count.
    pub count: Option<u32>,
}

impl LockStats {
    /// One line for `mproc ls`.
    pub fn summary(&self) -> String {
        let mut s = match (self.held, self.holder_tid, self.holder_pid) {
            (false, _, _) => "free".to_owned(),
            (true, Some(tid), Some(pid)) if pid != tid as i32 => {
                format!("held by pid {pid} (thread {tid})")
            }
            (true, _, Some(pid)) => format!("held by pid {pid}"),
            (true, Some(tid), None) => format!("held by thread {tid}"),
            (true, None, None) => "held".to_owned(),
        };
        if self.held && self.holder_alive == Some(false) {
            s.push_str(", dead: the next lock() recovers it");
        }
        if let Some(n) = self.count.filter(|_| self.held) {
            s.push_str(&format!(", count {n}"));
        }
        if self.owner_died {
            s.push_str(", a holder died: not yet made consistent");
        }
        s
    }

    pub(crate) fn fields(&self) -> Vec<Field> {
        let mut v = vec![
            ("held", yes_no(self.held)),
            ("holder tid", or_dash(self.holder_tid)),
            ("holder pid", or_dash(self.holder_pid)),
            ("holder alive", or_dash(self.holder_alive.map(yes_no))),
            ("owner died", yes_no(self.owner_died)),
        ];
        if let Some(n) = self.count {
            v.push(("count", n.to_string()));
        }
        v
    }
}

/// A `Semaphore` or `BoundedSemaphore`.
///
/// # Examples
///
/// ```
/// use mproc_cli::SemaphoreStats;
/// assert_eq!(SemaphoreStats { value: 2, bound: Some(4) }.summary(), "value 2 of 4");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SemaphoreStats {
    /// The current value.
    pub value: u32,
    /// The bound of a `BoundedSemaphore`.
    pub bound: Option<u32>,
}

impl SemaphoreStats {
    /// One line for `mproc ls`.
    pub fn summary(&self) -> String {
        match self.bound {
            Some(b) => format!("value {} of {b}", self.value),
            None => format!("value {}", self.value),
        }
    }

    pub(crate) fn fields(&self) -> Vec<Field> {
        vec![
            ("value", self.value.to_string()),
            ("bound", or_dash(self.bound)),
        ]
    }
}

/// A `Barrier`.
///
/// # Examples
///
/// ```
/// use mproc_cli::BarrierStats;
/// let b = BarrierStats { parties: 4, waiting: 1, broken: false };
/// assert_eq!(b.summary(), "1 of 4 parties waiting");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BarrierStats {
    /// Parties it waits for.
    pub parties: u32,
    /// Parties waiting now.
    pub waiting: u32,
    /// Whether it is broken (a party died, or it was aborted).
    pub broken: bool,
}

impl BarrierStats {
    /// One line for `mproc ls`.
    pub fn summary(&self) -> String {
        let mut s = format!("{} of {} parties waiting", self.waiting, self.parties);
        if self.broken {
            s.push_str(", broken");
        }
        s
    }

    pub(crate) fn fields(&self) -> Vec<Field> {
        vec![
            ("parties", self.parties.to_string()),
            ("waiting", self.waiting.to_string()),
            ("broken", yes_no(self.broken)),
        ]
    }
}
