//! Faults: workers killed by signals or by their own crash, panicking
//! tasks, workers replaced after `maxtasksperchild`, terminate while
//! busy, workers that die before serving anything.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mproc_process::{Pool, PoolError};
use mproc_sys::Signal;

use crate::double;

/// How a task kills its own worker.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) enum Death {
    Kill,
    Segv,
    Abort,
}

pub(crate) fn double_or_die((x, victim, how): (u32, u32, Death)) -> u32 {
    if x == victim {
        match how {
            Death::Kill => {
                let _ = mproc_sys::kill(mproc_sys::getpid(), Signal::Kill);
            }
            Death::Segv => {
                // The first SIGSEGV meets std's stack-overflow handler,
                // which restores the default action; the second kills.
                let _ = mproc_sys::kill(mproc_sys::getpid(), Signal::Segv);
                let _ = mproc_sys::kill(mproc_sys::getpid(), Signal::Segv);
            }
            Death::Abort => std::process::abort(),
        }
        std::thread::sleep(Duration::from_secs(10));
    }
    x * 2
}

pub(crate) fn worker_killed_mid_map_10_rounds() {
    let pool = Pool::new(2).unwrap();
    let deaths = [(Death::Kill, -9), (Death::Segv, -11), (Death::Abort, -6)];
    for round in 0..10u32 {
        let (how, code) = deaths[round as usize % 3];
        let victim = (round * 37 + 11) % 200;
        let chunksize = [1, 7, 25][round as usize % 3];
        let before = pool.pids();
        let items: Vec<(u32, u32, Death)> = (0..200).map(|x| (x, victim, how)).collect();
        let got: Vec<Result<u32, PoolError>> = pool
            .imap_chunked(double_or_die, items, chunksize)
            .unwrap()
            .collect();
        assert_eq!(got.len(), 200);
        for (x, r) in got.iter().enumerate() {
            if x as u32 == victim {
                match r {
                    Err(PoolError::WorkerLost { pid, exitcode }) => {
                        assert_eq!(*exitcode, code, "round {round}");
                        assert!(
                            before.contains(pid),
                            "round {round}: {pid} not in {before:?}"
                        );
                    }
                    other => panic!("round {round}: victim {victim} gave {other:?}"),
                }
            } else {
                assert_eq!(*r.as_ref().unwrap(), 2 * x as u32, "round {round} item {x}");
            }
        }
        // The pool serves the next call, with a replacement worker.
        assert_eq!(
            pool.map(double, 0..100).unwrap(),
            (0..100).map(|x| 2 * x).collect::<Vec<_>>()
        );
        assert_eq!(pool.pids().len(), 2);
    }
}

/// Appends one byte to the file named: a record of each run.
fn logged((x, log): (u32, String)) -> u32 {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&log)
        .unwrap();
    f.write_all(&[x as u8]).unwrap();
    x * 2
}

/// Appends its argument to the file named, then kills its worker at 5.
fn logged_or_die((x, log): (u32, String)) -> u32 {
    let doubled = logged((x, log));
    if x == 5 {
        let _ = mproc_sys::kill(mproc_sys::getpid(), Signal::Kill);
    }
    doubled
}

/// One worker, chunks of 3, task 5 kills it: tasks 3 and 4 finished in
/// its chunk, and 0..3 in the same message, with outcomes not yet sent.
/// They keep their results and run once; task 5 alone fails; 6..10 run
/// on the replacement.
pub(crate) fn finished_tasks_of_a_dead_worker_run_once() {
    let log = std::env::temp_dir().join(format!("mproc-pool-runs-{}", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let pool = Pool::new(1).unwrap();
    let name = log.to_string_lossy().into_owned();
    let got = pool
        .map_each(logged_or_die, (0..10u32).map(|x| (x, name.clone())))
        .unwrap();
    let runs = std::fs::read(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    for x in 0..10u32 {
        let n = runs.iter().filter(|&&r| u32::from(r) == x).count();
        assert_eq!(n, 1, "task {x} ran {n} times: {runs:?}");
        if x == 5 {
            assert!(
                matches!(got[5], Err(PoolError::WorkerLost { exitcode: -9, .. })),
                "{:?}",
                got[5]
            );
        } else {
            assert_eq!(*got[x as usize].as_ref().unwrap(), 2 * x, "task {x}");
        }
    }
}

pub(crate) fn nap20(x: u32) -> u32 {
    std::thread::sleep(Duration::from_millis(20));
    x
}

/// Naps 20 ms; task 5 first writes its worker's pid to the file named,
/// then naps long enough to be killed from outside meanwhile.
fn nap20_or_mark((x, mark): (u32, String)) -> u32 {
    if x == 5 {
        std::fs::write(&mark, mproc_sys::getpid().to_string()).unwrap();
        std::thread::sleep(Duration::from_secs(10));
    } else {
        std::thread::sleep(Duration::from_millis(20));
    }
    x
}

/// A worker SIGKILLed from outside while it runs task 5 (known to be
/// running: the task names its worker) fails that task alone with
/// `WorkerLost`; the other 39 run, and a replacement serves the next call.
pub(crate) fn worker_killed_from_outside() {
    let mark = std::env::temp_dir().join(format!("mproc-pool-victim-{}", std::process::id()));
    let _ = std::fs::remove_file(&mark);
    let name = mark.to_string_lossy().into_owned();
    let pool = Pool::new(2).unwrap();
    let it = pool
        .imap(nap20_or_mark, (0..40u32).map(|x| (x, name.clone())))
        .unwrap();
    let (got, victim) = std::thread::scope(|s| {
        let killer = s.spawn(|| {
            let deadline = Instant::now() + Duration::from_secs(30);
            let victim = loop {
                if let Some(pid) = std::fs::read_to_string(&mark)
                    .ok()
                    .and_then(|t| t.parse::<i32>().ok())
                {
                    break pid;
                }
                assert!(Instant::now() < deadline, "task 5 never started");
                std::thread::sleep(Duration::from_millis(1));
            };
            mproc_sys::kill(victim, Signal::Kill).unwrap();
            victim
        });
        let got: Vec<_> = it.collect();
        (got, killer.join().unwrap())
    });
    let _ = std::fs::remove_file(&mark);
    assert_eq!(got.len(), 40);
    let errors: Vec<&PoolError> = got.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        matches!(got[5], Err(PoolError::WorkerLost { pid, exitcode: -9 }) if pid == victim),
        "{:?}",
        got[5]
    );
    for (x, r) in got.iter().enumerate().filter(|&(x, _)| x != 5) {
        assert_eq!(*r.as_ref().unwrap(), x as u32);
    }
    assert!(!pool.pids().contains(&victim));
    assert_eq!(pool.map(double, [1, 2]).unwrap(), [2, 4]);
}

fn picky(x: u32) -> u32 {
    if x % 10 == 3 {
        panic!("no {x}s");
    }
    x
}

pub(crate) fn panicking_task_fails_alone() {
    let pool = Pool::new(2).unwrap();
    let got = pool.map_each(picky, 0..50).unwrap();
    for (x, r) in got.iter().enumerate() {
        if x % 10 == 3 {
            assert!(
                matches!(r, Err(PoolError::TaskPanicked { message }) if *message == format!("no {x}s")),
                "{r:?}"
            );
        } else {
            assert_eq!(*r.as_ref().unwrap(), x as u32);
        }
    }
    // `map` reports the first failure in input order, after all ran.
    match pool.map(picky, 0..50) {
        Err(PoolError::TaskPanicked { message }) => assert_eq!(message, "no 3s"),
        other => panic!("{other:?}"),
    }
    let before = pool.pids();
    assert_eq!(pool.apply(picky, 1).unwrap(), 1);
    assert_eq!(pool.pids(), before, "a panic must not cost a worker");
}

/// A result whose encoding panics for odd values.
struct Grenade(u32);

impl serde::Serialize for Grenade {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 2 == 1 {
            panic!("grenade {}", self.0);
        }
        s.serialize_u32(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Grenade {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Grenade, D::Error> {
        u32::deserialize(d).map(Grenade)
    }
}

impl std::fmt::Debug for Grenade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Grenade({})", self.0)
    }
}

fn grenade(x: u32) -> Grenade {
    Grenade(x)
}

/// An argument whose decoding panics.
#[derive(Debug)]
struct Fragile(u32);

impl serde::Serialize for Fragile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Fragile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Fragile, D::Error> {
        let x = u32::deserialize(d)?;
        if x == 7 {
            panic!("fragile 7");
        }
        Ok(Fragile(x))
    }
}

fn fragile(f: Fragile) -> u32 {
    f.0
}

/// A panic in the worker's own work for a task (encoding its result,
/// decoding its argument, user code run by serde) fails those tasks with
/// an error, as a panic in the task does, and costs no worker.
pub(crate) fn panics_while_encoding_or_decoding_fail_the_task_not_the_worker() {
    let pool = Pool::new(1).unwrap();
    let before = pool.pids();
    let got = pool.map_each(grenade, 0..6).unwrap();
    for (x, r) in got.iter().enumerate() {
        if x % 2 == 1 {
            assert!(
                matches!(r, Err(PoolError::EncodeResult { reason }) if reason.contains(&format!("grenade {x}"))),
                "{r:?}"
            );
        } else {
            assert_eq!(r.as_ref().unwrap().0, x as u32);
        }
    }
    // In one chunk, the panic at 7 fails the rest of the chunk (its
    // arguments can no longer be found), as bytes that do not decode do.
    let got: Vec<_> = pool
        .imap_chunked(fragile, (5..10).map(Fragile), 5)
        .unwrap()
        .collect();
    assert_eq!(*got[0].as_ref().unwrap(), 5);
    assert_eq!(*got[1].as_ref().unwrap(), 6);
    for r in &got[2..] {
        assert!(matches!(r, Err(PoolError::DecodeArgument { .. })), "{r:?}");
    }
    assert_eq!(pool.pids(), before, "a panic must not cost a worker");
}

/// Recurses `depth` frames of 32 KiB each; returns `depth`.
fn deep(depth: u32) -> u32 {
    let frame = std::hint::black_box([depth as u8; 32 * 1024]);
    let below = if depth == 0 { 0 } else { deep(depth - 1) };
    below.max(u32::from(std::hint::black_box(&frame)[7]))
}

/// Uses 3 MiB of stack: more than a default thread's 2 MiB.
fn stack_hungry(x: u32) -> u32 {
    deep(96) - 96 + x
}

/// Replacement workers (forked from the pool's handler thread) have the
/// stack the first ones (forked from the caller's main thread) have: a
/// task that needs 3 MiB runs in either.
pub(crate) fn replacements_have_a_main_threads_stack() {
    let pool = Pool::builder()
        .processes(1)
        .maxtasksperchild(1)
        .build()
        .unwrap();
    let got = pool.map_each(stack_hungry, 0..3u32).unwrap();
    for (x, r) in got.iter().enumerate() {
        assert_eq!(*r.as_ref().unwrap(), x as u32, "task {x}: {r:?}");
    }
}

fn whoami(_: u32) -> i32 {
    mproc_sys::getpid()
}

/// The result queue of the spawn pool this process made last: its
/// segment is `pool.<pid>.<start time>.<n>.results`, with `n` counting
/// this process's pools.
fn last_results_queue() -> mproc_queue::Queue {
    let mine = format!("mproc.pool.{}.", std::process::id());
    let (_, name) = std::fs::read_dir("/dev/shm")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|f| {
            let middle = f.strip_prefix(&mine)?.strip_suffix(".results")?;
            let n = middle.rsplit('.').next()?.parse::<u64>().ok()?;
            Some((n, f.strip_prefix("mproc.")?.to_owned()))
        })
        .max()
        .expect("no result queue of ours");
    mproc_queue::Queue::open(&name).unwrap()
}

/// A worker that sends its result and ends (here, retiring after one
/// task) while the result queue is stalled ahead of that result (here by
/// a slot this process loans and holds for 100 ms, as a killed worker's
/// loan stalls it until the queue frees it): the result is still taken
/// for it once the queue moves, and the task runs once, not again on a
/// replacement as if the worker had died with it.
pub(crate) fn an_ended_workers_result_behind_a_stalled_slot_counts() {
    let log = std::env::temp_dir().join(format!("mproc-pool-stalled-{}", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let pool = Pool::builder()
        .processes(1)
        .start_method(mproc_process::StartMethod::Spawn)
        .maxtasksperchild(1)
        .build()
        .unwrap();
    let results = last_results_queue();
    let mut stall = results.producer().unwrap();
    let first = pool.pids();
    let loan = stall.loan().unwrap();
    let r = pool
        .apply_async(logged, (7u32, log.to_string_lossy().into_owned()))
        .unwrap();
    // The worker runs the task, sends its result behind the loan, and
    // retires; the handler sees it end long before the loan goes.
    let ran = || std::fs::metadata(&log).is_ok_and(|m| m.len() > 0);
    let ended = || {
        first
            .iter()
            .all(|&p| mproc_sys::ProcessId::of(p).map_or(true, |id| !id.is_alive()))
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(ran() && ended()) {
        assert!(
            Instant::now() < deadline,
            "the worker never ran the task and ended"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(100));
    drop(loan);
    assert_eq!(r.get_timeout(Duration::from_secs(10)).unwrap(), 14);
    // A second run, if any, would have started by now.
    std::thread::sleep(Duration::from_millis(200));
    let runs = std::fs::read(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    assert_eq!(runs, [7], "the task ran {} times", runs.len());
}

pub(crate) fn maxtasksperchild_replaces_workers() {
    let pool = Pool::builder()
        .processes(2)
        .maxtasksperchild(2)
        .build()
        .unwrap();
    let first = pool.pids();
    let pids = pool.map_chunked(whoami, 0..20, 1).unwrap();
    let mut per_pid: HashMap<i32, usize> = HashMap::new();
    for p in &pids {
        *per_pid.entry(*p).or_default() += 1;
    }
    assert!(per_pid.values().all(|&n| n <= 2), "{per_pid:?}");
    assert!(per_pid.len() >= 10, "{per_pid:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while pool.pids().iter().any(|p| first.contains(p)) {
        assert!(Instant::now() < deadline, "first workers still there");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn sleep_long(_: u32) -> u32 {
    std::thread::sleep(Duration::from_secs(30));
    0
}

pub(crate) fn terminate_while_busy_is_prompt() {
    let pool = Pool::new(2).unwrap();
    let r = pool.map_async(sleep_long, 0..8).unwrap();
    let one = pool.apply_async(sleep_long, 0).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let t0 = Instant::now();
    pool.terminate();
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "terminate took {:?}",
        t0.elapsed()
    );
    assert!(matches!(r.get(), Err(PoolError::Terminated)));
    assert!(matches!(one.get(), Err(PoolError::Terminated)));
    assert!(pool.pids().is_empty());
    assert!(matches!(pool.apply(double, 1), Err(PoolError::NotRunning)));
    pool.join().unwrap();
    // A terminate while another thread is in `join` returns only once
    // the work is settled and the workers are gone, as when it is alone.
    let pool = Pool::new(1).unwrap();
    let r = pool.apply_async(sleep_long, 0).unwrap();
    pool.close();
    std::thread::scope(|s| {
        let joiner = s.spawn(|| pool.join());
        std::thread::sleep(Duration::from_millis(200));
        pool.terminate();
        assert!(r.ready(), "terminate returned before the work was settled");
        assert!(pool.pids().is_empty());
        joiner.join().unwrap().unwrap();
    });
    assert!(matches!(r.get(), Err(PoolError::Terminated)));
    // Dropping a busy pool terminates it too.
    let pool = Pool::new(2).unwrap();
    let _r = pool.map_async(sleep_long, 0..4).unwrap();
    let t0 = Instant::now();
    drop(pool);
    assert!(t0.elapsed() < Duration::from_secs(2));
}

fn quick_or_stuck(x: u32) -> u32 {
    if x >= 2 {
        std::thread::sleep(Duration::from_secs(30));
    }
    x
}

pub(crate) fn terminate_fails_the_rest_of_an_unordered_imap() {
    let pool = Pool::new(2).unwrap();
    let mut it = pool.imap_unordered(quick_or_stuck, 0..6).unwrap();
    let mut quick = vec![
        it.next_timeout(Duration::from_secs(10)).unwrap().unwrap(),
        it.next_timeout(Duration::from_secs(10)).unwrap().unwrap(),
    ];
    quick.sort();
    assert_eq!(quick, [0, 1]);
    pool.terminate();
    let rest: Vec<_> = it.collect();
    assert_eq!(rest.len(), 4, "{rest:?}");
    assert!(
        rest.iter().all(|r| matches!(r, Err(PoolError::Terminated))),
        "{rest:?}"
    );
}

fn broken_setup() {
    // Dies before serving anything, as a worker of a program whose setup
    // fails would.
    std::process::exit(3);
}

pub(crate) fn failing_initializer_stops_the_pool() {
    let pool = Pool::builder()
        .processes(2)
        .initializer(broken_setup)
        .build()
        .unwrap();
    let t0 = Instant::now();
    match pool.apply(double, 1) {
        Err(PoolError::WorkersFailing {
            exitcode: 3,
            attempts,
        }) => assert!(attempts >= 3),
        other => panic!("{other:?}"),
    }
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(matches!(pool.apply(double, 1), Err(PoolError::NotRunning)));
    assert!(pool.pids().is_empty());
    // Every task of a call fails alike, not the first of each chunk alone
    // (8 tasks on one process: chunks of 2).
    let pool = Pool::builder()
        .processes(1)
        .initializer(broken_setup)
        .build()
        .unwrap();
    let each = pool.map_each(double, 0..8).unwrap();
    assert_eq!(each.len(), 8);
    for r in &each {
        assert!(
            matches!(r, Err(PoolError::WorkersFailing { exitcode: 3, .. })),
            "{each:?}"
        );
    }
    assert!(pool.pids().is_empty());
    // Workers killed (`SIGKILL`, as by the OOM killer) in their
    // initializer, every one: the pool gives up too, after more tries.
    let pool = Pool::builder()
        .processes(2)
        .initializer(killed_in_setup)
        .build()
        .unwrap();
    match pool.apply(double, 1) {
        Err(PoolError::WorkersFailing {
            exitcode: -9,
            attempts,
        }) => assert!(attempts >= 30),
        other => panic!("{other:?}"),
    }
}

fn exit_with(code: i32) -> u32 {
    std::process::exit(code)
}

/// A pool whose last worker died and that cannot start another (fork
/// refused: no process may be added) stops with `WorkersCannotStart`
/// naming the OS error, instead of leaving callers waiting for ever.
/// Runs in a child, which drops to an unprivileged user if it is root
/// (root is exempt from the process limit).
pub(crate) fn a_pool_that_cannot_start_a_worker_stops() {
    let child = mproc_process::Process::new(|| -> Result<(), String> {
        if mproc_sys::getuid() == 0 {
            mproc_sys::setgid(65534).map_err(|e| e.to_string())?;
            mproc_sys::setuid(65534).map_err(|e| e.to_string())?;
        }
        let pool = Pool::new(1).map_err(|e| e.to_string())?;
        mproc_sys::set_process_limit(0, 0).map_err(|e| e.to_string())?;
        match pool.apply(exit_with, 3) {
            Err(PoolError::WorkerLost { exitcode: 3, .. }) => {}
            other => return Err(format!("first task: {other:?}")),
        }
        let got = pool
            .apply_async(double, 3)
            .map_err(|e| e.to_string())?
            .get_timeout(Duration::from_secs(20));
        match got {
            Err(PoolError::WorkersCannotStart {
                attempts,
                errno: Some(11), // EAGAIN
            }) if attempts >= 3 => {}
            other => return Err(format!("second task: {other:?}")),
        }
        match pool.apply(double, 1) {
            Err(PoolError::NotRunning) => Ok(()),
            other => Err(format!("after the stop: {other:?}")),
        }
    })
    .start()
    .unwrap();
    let code = child.join_timeout(Duration::from_secs(30)).unwrap();
    if code.is_none() {
        child.kill().unwrap();
        child.join().unwrap();
    }
    assert_eq!(code, Some(0), "the child's stderr says why");
}

fn killed_in_setup() {
    let _ = mproc_sys::kill(mproc_sys::getpid(), Signal::Kill);
}

fn big_result(x: u32) -> Vec<u8> {
    vec![(x % 251) as u8; 100_000 + (x as usize % 7) * 1000]
}

/// Workers killed every few milliseconds, some in the middle of sending a
/// result of several frames: every task ends as its right value or as
/// `WorkerLost`, never as wrong bytes, and the pool goes on.
pub(crate) fn kill_storm_with_large_results() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let pool = Arc::new(Pool::new(2).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicUsize::new(0));
    let killer = {
        let (pool, stop, kills) = (Arc::clone(&pool), Arc::clone(&stop), Arc::clone(&kills));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(9));
                let pids = pool.pids();
                let n = kills.load(Ordering::Relaxed);
                if let Some(&pid) = pids.get(n % pids.len().max(1)) {
                    let _ = mproc_sys::kill(pid, Signal::Kill);
                    kills.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    let (mut ok, mut lost) = (0, 0);
    // Four rounds, and more (40 at most) until the killer, which a loaded
    // machine may not have run yet, has killed.
    for round in (0..40).take_while(|&r| r < 4 || kills.load(Ordering::Relaxed) == 0) {
        let chunksize = [1, 3][round % 2];
        let got: Vec<_> = pool
            .imap_chunked(big_result, 0..60u32, chunksize)
            .unwrap()
            .collect();
        assert_eq!(got.len(), 60);
        for (x, r) in got.iter().enumerate() {
            match r {
                Ok(v) => {
                    assert_eq!(v.len(), 100_000 + (x % 7) * 1000);
                    assert!(v.iter().all(|&b| b == (x % 251) as u8), "item {x}");
                    ok += 1;
                }
                Err(PoolError::WorkerLost { exitcode: -9, .. }) => lost += 1,
                Err(e) => panic!("item {x}: {e}"),
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    killer.join().unwrap();
    let kills = kills.load(Ordering::Relaxed);
    assert!(kills > 0 && ok > 0, "ok {ok} lost {lost} kills {kills}");
    assert_eq!(
        pool.map(double, 0..10).unwrap(),
        (0..10).map(|x| 2 * x).collect::<Vec<_>>()
    );
}
