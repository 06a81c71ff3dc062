//! Core placement for the two-process latency and throughput scenarios: the
//! harness side on one CPU, the other side on another, for every system
//! alike, so that the scheduler's placement (both sides on one core, or
//! migrating) does not decide the figures. Opt-in with `--pin`: on a busy
//! machine it slows the blocking systems, whose woken side cannot move to
//! an idle CPU. A no-op with fewer than two CPUs.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// The CPUs at start, and the two picked: (all, harness side, other side).
static PLAN: OnceLock<Option<(Vec<usize>, usize, usize)>> = OnceLock::new();

/// Whether the running scenario is pinned.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Records the CPUs this process may use and picks two, if `enabled`.
pub(crate) fn init(enabled: bool) {
    PLAN.get_or_init(|| {
        let all = mproc::sys::cpu_affinity().ok()?;
        (enabled && all.len() >= 2).then(|| (all.clone(), all[0], all[1]))
    });
}

/// Enters (`on`) or leaves a pinned scenario: the harness process moves to
/// its CPU, or back to every CPU it had.
pub(crate) fn section(on: bool) {
    let Some(Some((all, mine, _))) = PLAN.get() else {
        return;
    };
    let cpus = if on {
        std::slice::from_ref(mine)
    } else {
        &all[..]
    };
    let ok = mproc::sys::set_cpu_affinity(cpus).is_ok();
    ACTIVE.store(on && ok, Ordering::Relaxed);
}

/// Called first by the other side (a forked child, or the consumer thread
/// of an in-process ceiling): moves it to the other CPU in a pinned scenario.
pub(crate) fn other_side() {
    if let Some((_, _, other)) = active() {
        let _ = mproc::sys::set_cpu_affinity(&[other]);
    }
}

/// The two CPUs when the running scenario is pinned: (harness side, other side).
pub(crate) fn active() -> Option<(Vec<usize>, usize, usize)> {
    if !ACTIVE.load(Ordering::Relaxed) {
        return None;
    }
    PLAN.get().cloned().flatten()
}

/// A description for the report: `cpu 0 / cpu 1`, or why not pinned.
pub(crate) fn describe() -> String {
    match PLAN.get() {
        Some(Some((_, a, b))) => format!("two-process scenarios pinned to cpu {a} / cpu {b}"),
        _ => "not pinned".to_string(),
    }
}
