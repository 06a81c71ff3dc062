//! The one place this crate takes its atomics from: `std` normally, loom's
//! model-checked stand-ins under `cfg(loom)` (tokio's `src/loom` pattern).
//!
//! The ring algorithms import everything atomic from here, so that
//! `RUSTFLAGS="--cfg loom" cargo test -p mproc-queue --lib loom` explores
//! their interleavings.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};

/// A busy-wait hint; under loom, a yield so that the model checker runs the
/// thread that will change what is spun on.
#[inline]
#[cfg_attr(not(loom), allow(dead_code))]
pub(crate) fn spin_loop() {
    #[cfg(not(loom))]
    std::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}
