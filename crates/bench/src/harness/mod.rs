//! The machinery every scenario shares: the run loop, forked children,
//! shared control words, timing helpers, the Python runner, and a clean
//! stop on a signal.

pub(crate) mod context;
pub(crate) mod fork;
pub(crate) mod interrupt;
pub(crate) mod latency;
pub(crate) mod lock_protocol;
pub(crate) mod outputs;
pub(crate) mod per_case;
pub(crate) mod pin;
pub(crate) mod python;
pub(crate) mod repeat;
pub(crate) mod run;
pub(crate) mod shared;
pub(crate) mod spawn_noop;
pub(crate) mod thread_rounds;
pub(crate) mod throughput;
pub(crate) mod tracked;
pub(crate) mod wait;

#[cfg(test)]
mod tests;
