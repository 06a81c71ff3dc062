//! Tests of the harness's arithmetic: message stamps, counts and capacities.

use crate::harness::throughput::{in_bytes, read_stamp, stamp, stamp_matches};
use crate::profile::Profile;

#[test]
fn stamps_round_trip_and_small_messages_keep_the_low_byte() {
    let mut big = [0u8; 64];
    stamp(&mut big, 0x0102_0304_0506_0708);
    assert_eq!(read_stamp(&big), 0x0102_0304_0506_0708);
    assert!(stamp_matches(read_stamp(&big), 0x0102_0304_0506_0708, 64));
    let mut small = [0u8; 4];
    stamp(&mut small, 0x1ff);
    assert_eq!(read_stamp(&small), 0xff);
    assert!(stamp_matches(read_stamp(&small), 0x1ff, 4));
    assert!(!stamp_matches(read_stamp(&small), 0x1fe, 4));
}

#[test]
fn counts_and_capacities_are_bounded_and_shared() {
    let q = Profile::quick();
    assert_eq!(q.messages_for(8), q.max_messages);
    assert_eq!(q.messages_for(1 << 20), q.min_messages);
    assert_eq!(Profile::capacity_for(8), 1024);
    assert_eq!(Profile::capacity_for(64 << 10), 256);
    assert_eq!(Profile::capacity_for(1 << 20), 16);
    assert!(Profile::capacity_for(3 << 20) >= 16);
    let f = Profile::full();
    assert!(f.repeats > q.repeats && f.max_messages > q.max_messages);
}

#[test]
fn only_copied_messages_of_1_kib_and_more_count_bytes() {
    assert!(!in_bytes(64, false));
    assert!(in_bytes(1024, false));
    assert!(!in_bytes(1 << 20, true));
}

#[test]
fn repeats_stop_at_the_count_or_after_one_past_the_budget() {
    use std::time::Duration;

    use crate::harness::repeat::Repeats;

    let mut calls = 0;
    let all = Repeats {
        count: 4,
        budget: Duration::from_secs(3600),
    };
    let runs = all
        .run(|| {
            calls += 1;
            Ok(calls as f64)
        })
        .unwrap();
    // The warm-up's figure is not kept.
    assert_eq!(runs.0, [2.0, 3.0, 4.0, 5.0]);
    let spent = Repeats {
        count: 4,
        budget: Duration::ZERO,
    };
    assert_eq!(spent.run(|| Ok(1.0)).unwrap().0.len(), 1);
}

#[test]
fn a_failed_case_keeps_the_figures_of_the_others() {
    use crate::harness::per_case::{CasesFailed, per_case};
    use crate::report::model::Runs;

    let all = per_case(vec![("a", Ok(Runs(vec![1.0]))), ("b", Ok(Runs(vec![2.0])))]).unwrap();
    assert_eq!(all.len(), 2);
    let err = per_case(vec![
        ("a", Ok(Runs(vec![1.0]))),
        ("b", Err(anyhow::anyhow!("timed out"))),
    ])
    .unwrap_err();
    let partial = err.downcast::<CasesFailed>().unwrap();
    assert_eq!(partial.figures.len(), 1);
    assert_eq!(partial.figures[0].0, "a");
    assert_eq!(partial.failed, [("b".to_string(), "timed out".to_string())]);
}
