//! Helpers shared by the process tests (`processes`, `manager_processes`,
//! `manager_lifecycle`): forking, bounded waits, a watchdog, /dev/shm
//! checks. Each binary uses a part of them.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use mproc_dict::Manager;
use mproc_sys::{ExitStatus, ForkResult, Signal, exit_immediately, fork, kill, waitpid};

pub(crate) const WATCHDOG: Duration = Duration::from_secs(120);
/// The bound on any single wait in a test.
pub(crate) const BOUND: Duration = Duration::from_secs(20);

/// Forks a child that runs `f` and exits with its status (101 if it
/// panics).
pub(crate) fn spawn(f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: this test binary is single-threaded when it forks (no harness
    // threads); the child runs `f` and leaves through `_exit`.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let _ = mproc_sys::set_parent_death_signal(Some(Signal::Kill));
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
            exit_immediately(code)
        }
        ForkResult::Parent { child } => child,
    }
}

/// Waits for every child, at most `limit`; kills them all past it.
pub(crate) fn wait_all(pids: &[i32], limit: Duration) -> Vec<ExitStatus> {
    let deadline = Instant::now() + limit;
    let mut out = vec![None; pids.len()];
    while out.iter().any(Option::is_none) {
        for (i, &pid) in pids.iter().enumerate() {
            if out[i].is_none() {
                out[i] = waitpid(pid, true).expect("waitpid");
            }
        }
        if Instant::now() > deadline {
            for &pid in pids {
                let _ = kill(pid, Signal::Kill);
                let _ = waitpid(pid, false);
            }
            panic!("children did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    out.into_iter().flatten().collect()
}

pub(crate) fn assert_all_ok(statuses: &[ExitStatus]) {
    for s in statuses {
        assert_eq!(*s, ExitStatus::Exited(0), "a child failed: {statuses:?}");
    }
}

/// A forked process that kills this one if it runs past `limit`.
pub(crate) fn watchdog(limit: Duration) -> i32 {
    let parent = mproc_sys::getpid();
    spawn(move || {
        std::thread::sleep(limit);
        eprintln!("watchdog: the test run hung for {limit:?}, killing it");
        let _ = kill(parent, Signal::Kill);
        0
    })
}

pub(crate) fn run(name: &str, test: fn()) {
    let t = Instant::now();
    eprint!("test {name} ... ");
    test();
    eprintln!("ok ({:.2?})", t.elapsed());
}

/// The names in /dev/shm that contain `prefix`.
pub(crate) fn shm_names(prefix: &str) -> Vec<String> {
    std::fs::read_dir("/dev/shm")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains(prefix))
        .collect()
}

/// Drops `m` and checks that nothing with its prefix is left.
pub(crate) fn drop_and_check_clean(m: Manager) {
    let prefix = m.prefix().to_owned();
    drop(m);
    let left = shm_names(&prefix);
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Polls `cond` every millisecond until it holds, at most [`BOUND`].
pub(crate) fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}
