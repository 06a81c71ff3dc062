//! Tests with real processes: forked children share anonymous (or named)
//! segments with the test process. Run sequentially by a small runner (see
//! `harness.rs`), each under a watchdog.

#[cfg(not(loom))]
mod barrier;
#[cfg(not(loom))]
mod harness;
#[cfg(not(loom))]
mod lock;
#[cfg(not(loom))]
mod primitives;
#[cfg(not(loom))]
mod wait_word;

#[cfg(not(loom))]
use std::time::Duration;

#[cfg(not(loom))]
use harness::Test;

/// Under loom only the models run.
#[cfg(loom)]
fn main() {}

#[cfg(not(loom))]
macro_rules! tests {
    ($($module:ident :: $name:ident ($secs:expr)),* $(,)?) => {
        [$(Test {
            name: concat!(stringify!($module), "::", stringify!($name)),
            limit: Duration::from_secs($secs),
            run: $module::$name,
        }),*]
    };
}

#[cfg(not(loom))]
fn main() {
    harness::main(&tests![
        wait_word::wakes_across_processes(30),
        wait_word::ping_pong_across_processes(60),
        lock::lock_counts_exactly(120),
        lock::mutex_counts_exactly(120),
        lock::rlock_counts_exactly_with_nesting(120),
        lock::killed_holder_is_recovered(60),
        lock::killed_holder_wakes_a_sleeping_waiter(60),
        lock::named_lock_and_timeouts(60),
        lock::forked_copy_of_a_guard_leaves_the_lock_alone(60),
        lock::forked_copy_of_an_rlock_guard_leaves_it_alone(60),
        primitives::condition_producer_consumer(120),
        primitives::event_wakes_eight_processes(60),
        primitives::semaphore_bound_under_contention(120),
        primitives::timeouts_return_within_reason(60),
        barrier::four_processes_thousand_rounds(120),
        barrier::killed_party_breaks_it(60),
    ]);
}
