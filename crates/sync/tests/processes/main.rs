//! Tests with real processes: forked children share anonymous segments
//! with the test process. Run sequentially by a small runner (see
//! `harness.rs`), each under a watchdog.

mod harness;
mod wait_word;

use std::time::Duration;

use harness::Test;

fn main() {
    harness::main(&[
        Test {
            name: "wait_word::wakes_across_processes",
            limit: Duration::from_secs(30),
            run: wait_word::wakes_across_processes,
        },
        Test {
            name: "wait_word::ping_pong_across_processes",
            limit: Duration::from_secs(60),
            run: wait_word::ping_pong_across_processes,
        },
    ]);
}
