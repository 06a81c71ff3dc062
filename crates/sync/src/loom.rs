//! The one place this crate takes its atomics from: `std` normally, `loom`'s
//! model-checked stand-ins under `cfg(loom)` (tokio's `src/loom` pattern).
//!
//! Every primitive imports `crate::loom::atomic::*` and spins with
//! `crate::loom::spin_loop`, so that `RUSTFLAGS="--cfg loom" cargo test`
//! explores their interleavings.

#[cfg(not(loom))]
pub(crate) mod atomic {
    pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
}

#[cfg(loom)]
pub(crate) mod atomic {
    pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering};
}

/// A busy-wait hint; under loom, a yield so the model checker can schedule
/// the thread that will change what is spun on.
#[inline]
pub(crate) fn spin_loop() {
    #[cfg(not(loom))]
    std::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}
