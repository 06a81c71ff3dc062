//! The machinery every scenario shares: the run loop, forked children,
//! shared control words, timing helpers and the Python runner.

pub(crate) mod context;
pub(crate) mod fork;
pub(crate) mod latency;
pub(crate) mod lock_protocol;
pub(crate) mod pin;
pub(crate) mod python;
pub(crate) mod run;
pub(crate) mod shared;
pub(crate) mod spawn_noop;
pub(crate) mod thread_rounds;
pub(crate) mod throughput;
pub(crate) mod wait;

#[cfg(test)]
mod tests;
