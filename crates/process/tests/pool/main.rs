//! The process pool with real worker processes: results, ordering and
//! streaming, worker deaths, panics, maxtasksperchild, timeouts,
//! terminate, spawn from a multi-threaded parent, streaming input. Sequential
//! (`harness = false`): forking from libtest's runner threads is hazardous.

mod faults;
mod streaming;
mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use faults::{Death, double_or_die, nap20};
use mproc_process::{Pool, PoolError, StartMethod};
use serde::{Serialize, Serializer};

fn main() {
    mproc_process::init();
    support::run(
        &[
            ("map_matches_sequential_100k", map_matches_sequential_100k),
            ("chunk_sizes_and_empty_input", chunk_sizes_and_empty_input),
            ("messages_larger_than_a_slot", messages_larger_than_a_slot),
            ("imap_is_ordered_and_streams", imap_is_ordered_and_streams),
            (
                "imap_unordered_is_the_same_set",
                imap_unordered_is_the_same_set,
            ),
            ("starmap_and_apply", starmap_and_apply),
            (
                "worker_killed_mid_map_10_rounds",
                faults::worker_killed_mid_map_10_rounds,
            ),
            (
                "worker_killed_from_outside",
                faults::worker_killed_from_outside,
            ),
            (
                "finished_tasks_of_a_dead_worker_run_once",
                faults::finished_tasks_of_a_dead_worker_run_once,
            ),
            (
                "panicking_task_fails_alone",
                faults::panicking_task_fails_alone,
            ),
            (
                "panics_while_encoding_or_decoding_fail_the_task_not_the_worker",
                faults::panics_while_encoding_or_decoding_fail_the_task_not_the_worker,
            ),
            (
                "maxtasksperchild_replaces_workers",
                faults::maxtasksperchild_replaces_workers,
            ),
            (
                "replacements_have_a_main_threads_stack",
                faults::replacements_have_a_main_threads_stack,
            ),
            (
                "an_ended_workers_result_behind_a_stalled_slot_counts",
                faults::an_ended_workers_result_behind_a_stalled_slot_counts,
            ),
            ("apply_async_timeout_then_get", apply_async_timeout_then_get),
            (
                "successful_answers_while_another_thread_waits",
                successful_answers_while_another_thread_waits,
            ),
            (
                "unencodable_argument_fails_at_submission",
                unencodable_argument_fails_at_submission,
            ),
            (
                "a_pool_that_cannot_start_a_worker_stops",
                faults::a_pool_that_cannot_start_a_worker_stops,
            ),
            (
                "terminate_while_busy_is_prompt",
                faults::terminate_while_busy_is_prompt,
            ),
            ("close_join_and_refusals", close_join_and_refusals),
            ("threads_share_one_pool", threads_share_one_pool),
            (
                "a_forked_copy_cannot_use_the_pool",
                a_forked_copy_cannot_use_the_pool,
            ),
            ("spawn_pool_from_busy_threads", spawn_pool_from_busy_threads),
            (
                "terminate_fails_the_rest_of_an_unordered_imap",
                faults::terminate_fails_the_rest_of_an_unordered_imap,
            ),
            (
                "failing_initializer_stops_the_pool",
                faults::failing_initializer_stops_the_pool,
            ),
            (
                "kill_storm_with_large_results",
                faults::kill_storm_with_large_results,
            ),
            (
                "endless_imap_takes_what_it_needs",
                streaming::endless_imap_takes_what_it_needs,
            ),
            (
                "close_keeps_feeding_until_join",
                streaming::close_keeps_feeding_until_join,
            ),
            (
                "panicking_input_iterator",
                streaming::panicking_input_iterator,
            ),
            ("slow_input_iterator", streaming::slow_input_iterator),
            (
                "worker_killed_mid_streaming_imap",
                streaming::worker_killed_mid_streaming_imap,
            ),
            (
                "unencodable_item_ends_the_stream",
                streaming::unencodable_item_ends_the_stream,
            ),
            (
                "imap_outliving_its_pool",
                streaming::imap_outliving_its_pool,
            ),
            (
                "a_quick_result_does_not_wait_for_a_slow_task",
                streaming::a_quick_result_does_not_wait_for_a_slow_task,
            ),
        ],
        Duration::from_secs(150),
    );
}

fn mix(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ x
}

fn map_matches_sequential_100k() {
    let pool = Pool::new(2).unwrap();
    let expected: Vec<u64> = (0..100_000).map(mix).collect();
    assert_eq!(pool.map(mix, 0..100_000u64).unwrap(), expected);
    // And again on the same pool, chunk size 1 over a slice of it.
    let got = pool.map_chunked(mix, 0..20_000u64, 1).unwrap();
    assert_eq!(got, expected[..20_000]);
}

fn chunk_sizes_and_empty_input() {
    let pool = Pool::new(2).unwrap();
    for chunksize in [1, 2, 3, 7, 64, 1000] {
        let got = pool.map_chunked(mix, 0..500u64, chunksize).unwrap();
        assert_eq!(
            got,
            (0..500).map(mix).collect::<Vec<_>>(),
            "chunksize {chunksize}"
        );
    }
    assert!(pool.map(mix, Vec::<u64>::new()).unwrap().is_empty());
    assert_eq!(pool.imap(mix, Vec::<u64>::new()).unwrap().count(), 0);
    assert!(
        pool.map_async(mix, Vec::<u64>::new())
            .unwrap()
            .get()
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        pool.map_chunked(mix, [1u64], 0),
        Err(PoolError::InvalidOption {
            option: "chunksize",
            value: 0
        })
    ));
}

fn reverse(mut v: Vec<u8>) -> Vec<u8> {
    v.reverse();
    v
}

fn repeat(n: usize) -> String {
    "x".repeat(n)
}

fn messages_larger_than_a_slot() {
    let pool = Pool::new(2).unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut want = big.clone();
    want.reverse();
    assert_eq!(pool.apply(reverse, big).unwrap(), want);
    let lens = [0, 1, 16 << 10, (16 << 10) + 1, 1 << 20];
    let got = pool.map_chunked(repeat, lens, 1).unwrap();
    assert_eq!(got.iter().map(String::len).collect::<Vec<_>>(), lens);
    // One chunk of 200 000 tasks: its arguments and outcomes span many frames.
    let got = pool.map_chunked(mix, 0..200_000u64, 200_000).unwrap();
    assert_eq!(got, (0..200_000).map(mix).collect::<Vec<_>>());
}

/// The file that lets the last task of [`imap_is_ordered_and_streams`]
/// finish, named after the test process (the workers' parent).
fn imap_gate(test_pid: u32) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("mproc-pool-imap-gate-{test_pid}"))
}

/// Naps 40 ms; the last task (11) then waits, at most 10 s, until the
/// caller has its first result. Returns whether it did not have to give up.
fn nap_then_gate(i: u32) -> (u32, bool) {
    std::thread::sleep(Duration::from_millis(40));
    if i < 11 {
        return (i, true);
    }
    let gate = imap_gate(std::os::unix::process::parent_id());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !gate.exists() {
        if Instant::now() > deadline {
            return (i, false);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    (i, true)
}

fn imap_is_ordered_and_streams() {
    let pool = Pool::new(2).unwrap();
    let gate = imap_gate(std::process::id());
    let _ = std::fs::remove_file(&gate);
    let mut it = pool.imap(nap_then_gate, 0..12u32).unwrap();
    let first = it.next().unwrap().unwrap();
    // Streaming: the first result came while the last task still waits.
    std::fs::write(&gate, b"").unwrap();
    let mut all = vec![first];
    all.extend(it.map(Result::unwrap));
    std::fs::remove_file(&gate).unwrap();
    let order: Vec<u32> = all.iter().map(|r| r.0).collect();
    assert_eq!(order, (0..12).collect::<Vec<_>>());
    assert!(
        all.iter().all(|r| r.1),
        "not streaming: the last task gave up waiting for the first result"
    );
}

fn jitter(i: u32) -> u32 {
    std::thread::sleep(Duration::from_micros(u64::from(i * 7919 % 13) * 300));
    i
}

fn imap_unordered_is_the_same_set() {
    let pool = Pool::new(2).unwrap();
    let got: Vec<u32> = pool
        .imap_unordered(jitter, 0..60)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got.len(), 60);
    assert_eq!(
        got.iter().copied().collect::<BTreeSet<_>>(),
        (0..60).collect()
    );
    let chunked: BTreeSet<u32> = pool
        .imap_unordered_chunked(jitter, 0..60, 7)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(chunked, (0..60).collect());
}

fn starmap_and_apply() {
    fn add(a: u32, b: u32) -> u32 {
        a + b
    }
    let pool = Pool::new(2).unwrap();
    let pairs: Vec<(u32, u32)> = (0..100).map(|i| (i, 2 * i)).collect();
    let sums = pool.starmap(add, pairs).unwrap();
    assert_eq!(sums, (0..100).map(|i| 3 * i).collect::<Vec<_>>());
    let joined = pool
        .starmap_chunked(
            |a: String, n: usize, c: char| format!("{a}{}", c.to_string().repeat(n)),
            [("ab".to_string(), 2, 'z')],
            1,
        )
        .unwrap();
    assert_eq!(joined, ["abzz"]);
    let offset = 5u32;
    assert!(matches!(
        pool.starmap(move |a: u32, b: u32| a + b + offset, [(1, 2)]),
        Err(PoolError::CapturingFunction { size: 4 })
    ));
    assert_eq!(pool.apply(mix, 5).unwrap(), mix(5));
    let r = pool.apply_async(mix, 6).unwrap();
    r.wait();
    assert!(r.ready());
    assert_eq!(r.successful(), Some(true));
    assert_eq!(r.get().unwrap(), mix(6));
}

fn double(x: u32) -> u32 {
    x * 2
}

/// Slow enough that a busy test machine cannot make a 30 ms timeout look
/// like a wait for the result.
fn slow_square(x: u64) -> u64 {
    std::thread::sleep(Duration::from_secs(1));
    x * x
}

fn apply_async_timeout_then_get() {
    let pool = Pool::new(1).unwrap();
    let r = pool.apply_async(slow_square, 12).unwrap();
    let t0 = Instant::now();
    assert!(matches!(
        r.get_timeout(Duration::from_millis(30)),
        Err(PoolError::Timeout { .. })
    ));
    assert!(t0.elapsed() < Duration::from_millis(800));
    assert!(!r.ready());
    assert_eq!(r.successful(), None);
    assert!(!r.wait_timeout(Duration::from_millis(10)));
    assert_eq!(r.get_timeout(Duration::from_secs(10)).unwrap(), 144);
    assert!(matches!(
        r.get_timeout(Duration::ZERO),
        Err(PoolError::ResultTaken)
    ));
    let m = pool.map_async(slow_square, [1, 2]).unwrap();
    assert!(matches!(
        m.get_timeout(Duration::from_millis(10)),
        Err(PoolError::Timeout { .. })
    ));
    assert_eq!(m.get().unwrap(), [1, 4]);
}

/// Fails to encode the value 13.
#[derive(Debug, serde::Deserialize)]
struct Unlucky(u32);

impl Serialize for Unlucky {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 == 13 {
            return Err(serde::ser::Error::custom("13 is unlucky"));
        }
        s.serialize_u32(self.0)
    }
}

fn unwrap_unlucky(u: Unlucky) -> u32 {
    u.0
}

fn unencodable_argument_fails_at_submission() {
    let pool = Pool::new(2).unwrap();
    let items: Vec<Unlucky> = (0..100).map(Unlucky).collect();
    match pool.map_chunked(unwrap_unlucky, items, 5) {
        Err(PoolError::EncodeArgument { index: 13, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        pool.apply_async(unwrap_unlucky, Unlucky(13)),
        Err(PoolError::EncodeArgument { index: 0, .. })
    ));
    assert_eq!(pool.apply(unwrap_unlucky, Unlucky(12)).unwrap(), 12);
}

fn close_join_and_refusals() {
    let pool = Pool::new(2).unwrap();
    assert!(matches!(pool.join(), Err(PoolError::StillRunning)));
    let r = pool.map_async(nap20, 0..10).unwrap();
    pool.close();
    assert!(matches!(pool.map(double, [1]), Err(PoolError::NotRunning)));
    pool.join().unwrap();
    // Work submitted before close is finished before the workers exit.
    assert_eq!(r.get().unwrap(), (0..10).collect::<Vec<_>>());
    assert!(pool.pids().is_empty());
    assert!(matches!(
        Pool::new(0),
        Err(PoolError::InvalidOption {
            option: "processes",
            value: 0
        })
    ));
}

fn threads_share_one_pool() {
    let pool = Pool::new(2).unwrap();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let pool = &pool;
            s.spawn(move || {
                for _ in 0..5 {
                    let items: Vec<u64> = (t * 1000..t * 1000 + 500).collect();
                    let want: Vec<u64> = items.iter().copied().map(mix).collect();
                    assert_eq!(pool.map_chunked(mix, items, 3).unwrap(), want);
                }
            });
        }
    });
}

fn a_forked_copy_cannot_use_the_pool() {
    let pool = Pool::new(2).unwrap();
    let before = pool.pids();
    let child = mproc_process::Process::new(|| {
        let refused = matches!(pool.apply(double, 1), Err(PoolError::NotOwner { .. }));
        // What dropping a copy of the pool does here: nothing to the
        // parent's workers.
        pool.terminate();
        std::process::exit(if refused { 7 } else { 1 })
    })
    .start()
    .unwrap();
    assert_eq!(
        child.join_timeout(Duration::from_secs(10)).unwrap(),
        Some(7)
    );
    assert_eq!(pool.pids(), before);
    assert_eq!(pool.map(double, [1, 2, 3]).unwrap(), [2, 4, 6]);
}

static INITIALIZED: AtomicU32 = AtomicU32::new(0);

fn mark_initialized() {
    INITIALIZED.store(42, Ordering::Relaxed);
}

fn initialized_times(x: u32) -> u32 {
    INITIALIZED.load(Ordering::Relaxed) * x
}

fn spawn_pool_from_busy_threads() {
    let stop = Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = (0..2)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut v: Vec<u64> = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    // Allocate and free, so that the allocator's locks are busy.
                    v.push(v.len() as u64);
                    if v.len() > 1000 {
                        v = Vec::new();
                    }
                }
            })
        })
        .collect();
    let pool = Pool::builder()
        .processes(2)
        .start_method(StartMethod::Spawn)
        .initializer(mark_initialized)
        .build()
        .unwrap();
    assert_eq!(
        pool.map(initialized_times, 0..1000).unwrap(),
        (0..1000).map(|x| 42 * x).collect::<Vec<_>>()
    );
    let got: Vec<u32> = pool
        .imap(double, 0..50)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, (0..50).map(|x| 2 * x).collect::<Vec<_>>());
    // A spawned worker killed mid-task is replaced by another spawned one.
    let items: Vec<(u32, u32, Death)> = (0..20).map(|x| (x, 5, Death::Kill)).collect();
    let got: Vec<_> = pool.imap(double_or_die, items).unwrap().collect();
    assert!(matches!(
        got[5],
        Err(PoolError::WorkerLost { exitcode: -9, .. })
    ));
    assert_eq!(got.iter().filter(|r| r.is_ok()).count(), 19);
    pool.close();
    pool.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    for s in spinners {
        s.join().unwrap();
    }
}

/// The file that lets [`gated_square`] finish, named after the test
/// process (the workers' parent).
fn square_gate(test_pid: u32) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("mproc-pool-square-gate-{test_pid}"))
}

/// Squares once the gate file exists (at most 10 s).
fn gated_square(x: u64) -> u64 {
    let gate = square_gate(std::os::unix::process::parent_id());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !gate.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    x * x
}

/// `successful` and `ready` answer at once while another thread waits in
/// `get_timeout` (Python's return at once; a wait that held the value
/// made them wait as long).
fn successful_answers_while_another_thread_waits() {
    let pool = Pool::new(1).unwrap();
    let gate = square_gate(std::process::id());
    let _ = std::fs::remove_file(&gate);
    let r = pool.apply_async(gated_square, 3).unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| r.get_timeout(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(50));
        let t0 = Instant::now();
        assert_eq!(r.successful(), None);
        assert!(!r.ready());
        let took = t0.elapsed();
        std::fs::write(&gate, b"").unwrap();
        assert!(took < Duration::from_secs(5), "successful waited {took:?}");
        assert_eq!(waiter.join().unwrap().unwrap(), 9);
    });
    std::fs::remove_file(&gate).unwrap();
}
