//! The argument that makes this binary exit at once: what the "spawn"
//! process-start floor re-executes.

/// First argument that turns `mproc-bench` into a no-op child.
pub(crate) const NOOP_ARG: &str = "__mproc_bench_noop_child";
