//! A sequential test runner for tests that fork, with a watchdog process per
//! test: the runner stays single-threaded, so forked children inherit no
//! lock held by another thread.

use std::time::{Duration, Instant};

use mproc_sys::{ExitStatus, ForkResult, Signal, exit_immediately, fork, getpid, kill, waitpid};

/// A named test.
pub(crate) struct Test {
    pub(crate) name: &'static str,
    /// The watchdog kills the whole run if the test takes longer.
    pub(crate) limit: Duration,
    pub(crate) run: fn(),
}

/// Runs the tests whose names contain any of the non-flag arguments (all
/// of them without one), prints libtest-style lines, exits non-zero on a
/// failure.
pub(crate) fn main(tests: &[Test]) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        // libtest's listing format, for tools that enumerate tests first.
        for t in tests {
            println!("{}: test", t.name);
        }
        return;
    }
    if args.iter().any(|a| a == "--ignored") {
        println!(
            "\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n"
        );
        return;
    }
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let selected: Vec<&Test> = tests
        .iter()
        .filter(|t| filters.is_empty() || filters.iter().any(|f| t.name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests", selected.len());
    let start = Instant::now();
    let mut failed = Vec::new();
    for t in &selected {
        let dog = watchdog(t.limit, t.name);
        let result = std::panic::catch_unwind(t.run);
        let _ = kill(dog, Signal::Kill);
        let _ = waitpid(dog, false);
        match result {
            Ok(()) => println!("test {} ... ok", t.name),
            Err(_) => {
                println!("test {} ... FAILED", t.name);
                failed.push(t.name);
            }
        }
    }
    let passed = selected.len() - failed.len();
    let verdict = if failed.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed; {} failed; 0 ignored; 0 measured; {} filtered out; finished in {:.2}s\n",
        failed.len(),
        tests.len() - selected.len(),
        start.elapsed().as_secs_f64()
    );
    if !failed.is_empty() {
        std::process::exit(101);
    }
}

/// Forks a process that kills this one (and so its children, through their
/// parent-death signal) if it is still running after `limit`.
fn watchdog(limit: Duration, name: &str) -> i32 {
    let parent = getpid();
    // SAFETY: the runner is single-threaded; the child only sleeps, signals
    // and writes to stderr before `_exit`.
    match unsafe { fork() }.expect("fork watchdog") {
        ForkResult::Child => {
            let _ = mproc_sys::set_parent_death_signal(Some(Signal::Kill));
            let until = Instant::now() + limit;
            while Instant::now() < until {
                if mproc_sys::getppid() != parent {
                    exit_immediately(0);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            eprintln!("watchdog: test `{name}` ran longer than {limit:?}; killing the run");
            let _ = kill(parent, Signal::Kill);
            exit_immediately(1)
        }
        ForkResult::Parent { child } => child,
    }
}

/// Forks a child that runs `body` and `_exit`s with its return value (101
/// if it panicked). The child dies with the test process.
pub(crate) fn spawn(body: impl FnOnce() -> i32) -> i32 {
    let parent = getpid();
    // SAFETY: the runner is single-threaded, so no lock is held by a thread
    // that does not exist in the child; the child leaves through `_exit`.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let _ = mproc_sys::set_parent_death_signal(Some(Signal::Kill));
            if mproc_sys::getppid() != parent {
                exit_immediately(102);
            }
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(101);
            exit_immediately(code)
        }
        ForkResult::Parent { child } => child,
    }
}

/// Waits (bounded) for `pid` to end; kills it and panics after `limit`.
pub(crate) fn join(pid: i32, limit: Duration) -> ExitStatus {
    let until = Instant::now() + limit;
    loop {
        if let Some(status) = waitpid(pid, true).expect("waitpid") {
            return status;
        }
        if Instant::now() >= until {
            let _ = kill(pid, Signal::Kill);
            let _ = waitpid(pid, false);
            panic!("child {pid} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Joins every child and asserts each exited with status 0.
pub(crate) fn join_all_ok(pids: &[i32], limit: Duration) {
    for &pid in pids {
        assert_eq!(join(pid, limit), ExitStatus::Exited(0), "child {pid}");
    }
}

/// Polls `cond` until it holds or `limit` passes.
pub(crate) fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while !cond() {
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    true
}

/// A deadline `secs` seconds from now.
pub(crate) fn secs(secs: u64) -> Option<Instant> {
    Some(Instant::now() + Duration::from_secs(secs))
}
