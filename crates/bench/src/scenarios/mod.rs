//! The scenarios, in run order. Each measures mproc and its peers on the same
//! work and appends rows to the context.

use crate::harness::context::Ctx;

mod dict;
pub(crate) mod lock;
mod mpmc;
mod ping_pong;
mod pool;
mod process;
pub(crate) mod throughput;

/// A scenario: its name (what `--filter` matches), what it measures, and
/// how to run it.
pub(crate) struct Scenario {
    /// Short name, e.g. `ping-pong`.
    pub(crate) name: &'static str,
    /// One line on what is measured.
    pub(crate) about: &'static str,
    /// Whether its two sides run pinned to two CPUs (see `harness::pin`).
    pub(crate) pinned: bool,
    /// Runs it.
    pub(crate) run: fn(&mut Ctx),
}

/// Every scenario, in run order.
pub(crate) const ALL: [Scenario; 8] = [
    Scenario {
        name: "ping-pong",
        about: "round trip of an 8-byte message between two processes (p50, p99, p99.9)",
        pinned: true,
        run: ping_pong::run,
    },
    Scenario {
        name: "throughput-copied",
        about: "one-way messages/s between two processes, each message copied in and out",
        pinned: true,
        run: throughput::run_copied,
    },
    Scenario {
        name: "throughput-loaned",
        about: "one-way messages/s between two processes, written and read in place (loan)",
        pinned: true,
        run: throughput::run_loaned,
    },
    Scenario {
        name: "mpmc-2x2",
        about: "2 producer processes, 2 consumer processes, 64-byte messages",
        pinned: false,
        run: mpmc::run,
    },
    Scenario {
        name: "lock",
        about: "lock+unlock uncontended, and two processes contending (handoffs)",
        pinned: false,
        run: lock::run,
    },
    Scenario {
        name: "dict",
        about: "insert/get/update ops/s from one process and from two",
        pinned: false,
        run: dict::run,
    },
    Scenario {
        name: "pool",
        about: "per-task overhead of map over trivial tasks, pool start+teardown",
        pinned: false,
        run: pool::run,
    },
    Scenario {
        name: "process",
        about: "start+join of a no-op child, fork and spawn",
        pinned: false,
        run: process::run,
    },
];
