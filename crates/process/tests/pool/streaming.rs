//! Streaming input: `imap` and `imap_unordered` pull their input lazily,
//! so endless, slow or panicking iterators work, and a worker killed mid
//! stream fails only its own task.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mproc_process::{Pool, PoolError, StartMethod};

use crate::faults::{Death, double_or_die};
use crate::{Unlucky, unwrap_unlucky};

fn square(x: u64) -> u64 {
    x * x
}

/// An endless input that counts how many items were pulled from it.
fn counted(pulled: &Arc<AtomicUsize>) -> impl Iterator<Item = u64> + Send + 'static {
    let pulled = Arc::clone(pulled);
    (0u64..).inspect(move |_| {
        pulled.fetch_add(1, Ordering::Relaxed);
    })
}

/// Items in flight at most for a pool of `workers` at `chunksize`: the
/// window the pool keeps (at most 128 chunks per worker), with room to
/// spare.
fn window_items(workers: usize, chunksize: usize) -> usize {
    2 * 128 * workers * chunksize
}

pub(crate) fn endless_imap_takes_what_it_needs() {
    for method in [StartMethod::Fork, StartMethod::Spawn] {
        let pool = Pool::builder()
            .processes(2)
            .start_method(method)
            .build()
            .unwrap();
        for (chunksize, ordered) in [(1, true), (1, false), (7, true), (7, false)] {
            let pulled = Arc::new(AtomicUsize::new(0));
            let it = if ordered {
                pool.imap_chunked(square, counted(&pulled), chunksize)
            } else {
                pool.imap_unordered_chunked(square, counted(&pulled), chunksize)
            }
            .unwrap();
            let t0 = Instant::now();
            let mut got: Vec<u64> = it.take(100).map(Result::unwrap).collect();
            // `take` dropped the IMap: no hang, no more input pulled.
            assert!(t0.elapsed() < Duration::from_secs(20), "{method:?}");
            let after_drop = pulled.load(Ordering::Relaxed);
            assert!(
                after_drop <= 100 + window_items(2, chunksize),
                "{method:?} chunksize {chunksize}: {after_drop} items pulled for 100 results"
            );
            if !ordered {
                got.sort_unstable();
                // The first 100 to finish need not be the first 100 items,
                // but every one is a distinct square of a pulled item.
                got.dedup();
                assert_eq!(got.len(), 100);
                assert!(got.iter().all(|&v| {
                    let r = (v as f64).sqrt() as u64;
                    r * r == v && (r as usize) < after_drop
                }));
            } else {
                assert_eq!(got, (0..100).map(square).collect::<Vec<_>>());
            }
            std::thread::sleep(Duration::from_millis(5));
            assert_eq!(pulled.load(Ordering::Relaxed), after_drop);
            // The pool goes on serving.
            assert_eq!(pool.map(square, 0..10u64).unwrap()[9], 81);
        }
        // Close and join after dropped endless streams: prompt.
        pool.close();
        let t0 = Instant::now();
        pool.join().unwrap();
        assert!(t0.elapsed() < Duration::from_secs(10), "{method:?}");
        assert!(pool.pids().is_empty());
    }
    assert_no_mproc_segments();
}

/// Panics unless /dev/shm holds no segment of this process's pools.
fn assert_no_mproc_segments() {
    let mine = format!("pool.{}.", mproc_sys::getpid());
    let left: Vec<String> = std::fs::read_dir("/dev/shm")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.starts_with("mproc.") && n.contains(&mine))
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "segments left behind: {left:?}");
}

pub(crate) fn close_keeps_feeding_until_join() {
    let pool = Pool::new(2).unwrap();
    // Consumed after close: the whole input runs.
    let it = pool.imap_chunked(square, 0..3000u64, 3).unwrap();
    pool.close();
    let got: Vec<u64> = it.map(Result::unwrap).collect();
    assert_eq!(got, (0..3000).map(square).collect::<Vec<_>>());
    pool.join().unwrap();

    // Joined before consuming an endless input: join does not wait for
    // it; the stream gives what was submitted, then says why it ended.
    let pool = Pool::new(2).unwrap();
    let it = pool.imap(square, 0u64..).unwrap();
    pool.close();
    let t0 = Instant::now();
    pool.join().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(10));
    let got: Vec<Result<u64, PoolError>> = it.collect();
    let (last, values) = got.split_last().unwrap();
    assert!(matches!(last, Err(PoolError::NotRunning)), "{last:?}");
    assert!(!values.is_empty());
    for (i, v) in values.iter().enumerate() {
        assert_eq!(*v.as_ref().unwrap(), square(i as u64));
    }
    // Started after close: refused.
    assert!(matches!(
        pool.imap(square, 0u64..),
        Err(PoolError::NotRunning)
    ));
}

/// Panics at the item `at` of its input.
fn panicking_input(at: u64) -> impl Iterator<Item = u64> + Send {
    (0u64..).inspect(move |&x| {
        if x == at {
            panic!("input gives up at {x}");
        }
    })
}

pub(crate) fn panicking_input_iterator() {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let pool = Pool::new(2).unwrap();
    for (chunksize, at) in [(1usize, 3000u64), (7, 3000), (1, 0), (5, 2)] {
        let mut values = Vec::new();
        let mut panics = 0;
        match catch_unwind(AssertUnwindSafe(|| {
            pool.imap_chunked(square, panicking_input(at), chunksize)
        })) {
            // The panic came while the first chunks were pulled: those
            // pulled before it still run, no one waits for them.
            Err(_) => panics += 1,
            Ok(it) => {
                let mut it = it.unwrap();
                loop {
                    match catch_unwind(AssertUnwindSafe(|| it.next())) {
                        Ok(Some(r)) => values.push(r.unwrap()),
                        Ok(None) => break,
                        Err(_) => panics += 1,
                    }
                }
            }
        }
        assert_eq!(panics, 1, "chunksize {chunksize}, panic at {at}");
        if !values.is_empty() {
            // Every item pulled before the panic ran, in order.
            assert_eq!(values, (0..at).map(square).collect::<Vec<_>>());
        }
    }
    // The pool is fine, and closes promptly: no feed is left open.
    assert_eq!(pool.map(square, [3u64]).unwrap(), [9]);
    pool.close();
    pool.join().unwrap();
    std::panic::set_hook(hook);
}

/// Holds back the last item of a [`slow_input`] until the test opens it
/// (at most 10 s), and notes whether it had to give up waiting.
#[derive(Default)]
struct Gate {
    open: AtomicBool,
    gave_up: AtomicBool,
}

/// A slow input: 4 ms per item, its last one held back by `gate`.
fn slow_input(n: u64, gate: &Arc<Gate>) -> impl Iterator<Item = u64> + Send + 'static {
    let gate = Arc::clone(gate);
    (0..n).inspect(move |&i| {
        std::thread::sleep(Duration::from_millis(4));
        if i + 1 == n {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !gate.open.load(Ordering::Acquire) {
                if Instant::now() > deadline {
                    gate.gave_up.store(true, Ordering::Release);
                    return;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    })
}

pub(crate) fn slow_input_iterator() {
    let pool = Pool::new(2).unwrap();
    for ordered in [true, false] {
        let gate = Arc::new(Gate::default());
        let mut it = if ordered {
            pool.imap(square, slow_input(60, &gate))
        } else {
            pool.imap_unordered(square, slow_input(60, &gate))
        }
        .unwrap();
        // The call returned, and a first result came, while the input
        // held back its last item: had either waited for the whole input,
        // the gate would have given up.
        let first = it.next().unwrap().unwrap();
        gate.open.store(true, Ordering::Release);
        assert!(
            !gate.gave_up.load(Ordering::Acquire),
            "not streaming: the input was drained before the first result"
        );
        let mut got = vec![first];
        got.extend(it.map(Result::unwrap));
        if !ordered {
            got.sort_unstable();
        }
        assert_eq!(got, (0..60).map(square).collect::<Vec<_>>());
    }
    // With a timeout: bounded while the input is slow.
    let gate = Arc::new(Gate::default());
    gate.open.store(true, Ordering::Release);
    let mut it = pool.imap(square, slow_input(10, &gate)).unwrap();
    let mut got = Vec::new();
    while let Some(r) = it.next_timeout(Duration::from_secs(10)) {
        got.push(r.unwrap());
    }
    assert_eq!(got, (0..10).map(square).collect::<Vec<_>>());
}

pub(crate) fn worker_killed_mid_streaming_imap() {
    let pool = Pool::new(2).unwrap();
    for (round, chunksize) in [1usize, 4, 1, 9].into_iter().enumerate() {
        let victim = 150 + 31 * round as u32;
        let ordered = round % 2 == 0;
        let before = pool.pids();
        let items = (0u32..).map(move |x| (x, victim, Death::Kill));
        let it = if ordered {
            pool.imap_chunked(double_or_die, items, chunksize)
        } else {
            pool.imap_unordered_chunked(double_or_die, items, chunksize)
        }
        .unwrap();
        // Unordered, the victim's error may come after many later
        // results (its worker's death is noticed within milliseconds).
        let mut got: Vec<Result<u32, PoolError>> = Vec::new();
        for r in it {
            got.push(r);
            let seen = got.iter().any(Result::is_err);
            if got.len() >= 600 && (ordered || seen) || got.len() >= 1_000_000 {
                break;
            }
        }
        let lost: Vec<_> = got.iter().filter(|r| r.is_err()).collect();
        assert_eq!(lost.len(), 1, "round {round}: {lost:?}");
        match lost[0] {
            Err(PoolError::WorkerLost { pid, exitcode: -9 }) => {
                assert!(before.contains(pid), "round {round}");
            }
            other => panic!("round {round}: {other:?}"),
        }
        if ordered {
            for (x, r) in got.iter().enumerate() {
                if x as u32 == victim {
                    assert!(r.is_err(), "round {round}");
                } else {
                    assert_eq!(*r.as_ref().unwrap(), 2 * x as u32, "round {round} item {x}");
                }
            }
        } else {
            let mut ok: Vec<u32> = got
                .iter()
                .filter_map(|r| r.as_ref().ok().copied())
                .collect();
            let n = ok.len();
            ok.sort_unstable();
            ok.dedup();
            assert_eq!(ok.len(), n, "round {round}: a task ran twice");
            assert!(!ok.contains(&(2 * victim)), "round {round}");
        }
        assert_eq!(pool.pids().len(), 2);
    }
}

pub(crate) fn unencodable_item_ends_the_stream() {
    let pool = Pool::new(2).unwrap();
    for chunksize in [1, 5] {
        let items = (0..100).map(Unlucky);
        let got: Vec<_> = pool
            .imap_chunked(unwrap_unlucky, items, chunksize)
            .unwrap()
            .collect();
        assert_eq!(got.len(), 14, "{got:?}");
        for (i, r) in got[..13].iter().enumerate() {
            assert_eq!(*r.as_ref().unwrap(), i as u32);
        }
        assert!(
            matches!(got[13], Err(PoolError::EncodeArgument { index: 13, .. })),
            "{:?}",
            got[13]
        );
    }
    pool.close();
    pool.join().unwrap();
}

pub(crate) fn imap_outliving_its_pool() {
    let pool = Pool::new(2).unwrap();
    let mut it = pool.imap(square, 0u64..).unwrap();
    assert_eq!(it.next().unwrap().unwrap(), 0);
    drop(pool);
    // Terminated: what was in flight fails, then the stream ends.
    let rest: Vec<Result<u64, PoolError>> = it.collect();
    assert!(
        rest.iter().all(|r| matches!(
            r,
            Ok(_) | Err(PoolError::Terminated | PoolError::NotRunning)
        )),
        "{rest:?}"
    );
    assert!(rest.len() < 100_000);

    // Consumed in another thread than the one that started it.
    let pool = Pool::new(2).unwrap();
    let it = pool.imap_unordered_chunked(square, 0u64..5000, 3).unwrap();
    let sum = std::thread::spawn(move || it.map(Result::unwrap).sum::<u64>())
        .join()
        .unwrap();
    assert_eq!(sum, (0u64..5000).map(square).sum::<u64>());
}

/// Sleeps 3 s for odd inputs, returns at once for even ones.
fn slow_if_odd(x: u64) -> u64 {
    if x % 2 == 1 {
        std::thread::sleep(Duration::from_secs(3));
    }
    x
}

/// Quick tasks and a slow one reach the worker in one message (an
/// `imap` past its first chunks submits them in batches, and a warmed-up
/// pool sends several chunks per message): the quick results arrive
/// while the slow task runs. (Before, the worker held back outcomes for
/// up to 200 µs of work, so those sent with the slow chunk came 3 s late.)
pub(crate) fn a_quick_result_does_not_wait_for_a_slow_task() {
    let pool = Pool::new(1).unwrap();
    // Warm up: fast service times let the pool queue many chunks per
    // message.
    let warm = pool.map_chunked(square, 0..20_000u64, 1).unwrap();
    assert_eq!(warm.len(), 20_000);
    let t0 = Instant::now();
    let items = (0..200u64).map(|i| if i == 100 { 1 } else { 2 * i });
    let mut it = pool.imap(slow_if_odd, items).unwrap();
    for i in 0..100u64 {
        let got = it.next_timeout(Duration::from_secs(20)).unwrap().unwrap();
        assert_eq!(got, 2 * i);
    }
    let waited = t0.elapsed();
    assert!(
        waited < Duration::from_millis(2500),
        "the 100 quick results before the slow task took {waited:?}"
    );
    let rest: Vec<u64> = it.map(Result::unwrap).collect();
    assert_eq!(rest.len(), 100);
    assert_eq!(rest[0], 1);
}
