//! How much work each measurement does: `--quick` and `--full`.

use std::time::Duration;

use serde::Serialize;

use crate::harness::repeat::Repeats;

/// Counts shared by every system in a scenario: a peer never gets fewer or
/// more messages than mproc.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Profile {
    /// `quick` or `full`.
    pub(crate) name: &'static str,
    /// Measured repeats; the median is reported.
    pub(crate) repeats: usize,
    /// Round trips per ping-pong repeat (after as many warm-up round trips).
    pub(crate) round_trips: usize,
    /// Upper bound on messages per throughput repeat.
    pub(crate) max_messages: usize,
    /// Lower bound on messages per throughput repeat (large messages).
    pub(crate) min_messages: usize,
    /// Upper bound on bytes per throughput repeat (large messages send fewer).
    pub(crate) bytes_per_repeat: usize,
    /// Lock acquisitions per process per repeat.
    pub(crate) lock_ops: usize,
    /// Lock handoffs (turns passed between two processes) per repeat.
    pub(crate) handoffs: usize,
    /// Measured repeats of the lock cases. Their runs take milliseconds,
    /// and the contended case is bimodal for every process-shared lock
    /// (one process runs alone for long stretches, or the lock changes
    /// hands on most acquisitions: 17 against 55 ns per acquisition here),
    /// so a median of three flips between the modes from run to run.
    pub(crate) lock_repeats: usize,
    /// Seconds after which a lock case starts no further repeat. A handoff
    /// repeat lasts milliseconds when the two sides run on two cores, and
    /// seconds when they share one (a turn per scheduler tick, ~4 ms).
    pub(crate) lock_budget_secs: u64,
    /// Keys per dict phase (insert, get, update).
    pub(crate) dict_keys: usize,
    /// Child processes started per process-start repeat.
    pub(crate) process_starts: usize,
    /// Tasks per pool map.
    pub(crate) pool_tasks: usize,
    /// Pools started and torn down per repeat.
    pub(crate) pool_starts: usize,
    /// Seconds one Python script may run: a script still running then has
    /// hung (or the machine is far too busy), and the Python peers after it
    /// are skipped.
    pub(crate) python_limit_secs: u64,
}

impl Profile {
    /// About a minute on 2 cores.
    pub(crate) fn quick() -> Profile {
        Profile {
            name: "quick",
            repeats: 3,
            round_trips: 20_000,
            // 8-byte messages then take about 10 ms per mproc repeat, over
            // two scheduler ticks (50 000 took 2.3 ms, and its figure
            // moved with wherever a tick fell).
            max_messages: 200_000,
            min_messages: 256,
            bytes_per_repeat: 256 << 20,
            lock_ops: 50_000,
            handoffs: 2_000,
            lock_repeats: 15,
            lock_budget_secs: 20,
            dict_keys: 5_000,
            process_starts: 20,
            pool_tasks: 100_000,
            pool_starts: 10,
            // The longest script here takes about 15 s on a busy 2-core
            // machine (the lock handoffs).
            python_limit_secs: 120,
        }
    }

    /// Ten times the work, five repeats: about 12 minutes on a busy 2-core
    /// machine.
    pub(crate) fn full() -> Profile {
        Profile {
            name: "full",
            repeats: 5,
            round_trips: 200_000,
            max_messages: 1_000_000,
            min_messages: 1024,
            bytes_per_repeat: 1 << 30,
            lock_ops: 500_000,
            handoffs: 20_000,
            lock_repeats: 25,
            lock_budget_secs: 120,
            dict_keys: 50_000,
            process_starts: 100,
            pool_tasks: 1_000_000,
            pool_starts: 30,
            python_limit_secs: 600,
        }
    }

    /// The lock cases' repeats: [`lock_repeats`](Profile::lock_repeats)
    /// within [`lock_budget_secs`](Profile::lock_budget_secs).
    pub(crate) fn lock_repeats(&self) -> Repeats {
        Repeats {
            count: self.lock_repeats,
            budget: Duration::from_secs(self.lock_budget_secs),
        }
    }

    /// Messages per throughput repeat for `size`-byte messages.
    pub(crate) fn messages_for(&self, size: usize) -> usize {
        (self.bytes_per_repeat / size.max(1)).clamp(self.min_messages, self.max_messages)
    }

    /// Ring capacity (slots) for `size`-byte messages, the same for every
    /// bounded system: about 16 MiB of slots, between 16 and 1024.
    pub(crate) fn capacity_for(size: usize) -> usize {
        ((16usize << 20) / size.max(1))
            .clamp(16, 1024)
            .next_power_of_two()
    }
}
