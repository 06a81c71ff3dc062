//! A small sequential test runner for tests that fork: no libtest thread
//! pool, a watchdog that aborts a hung run, this process made the reaper of
//! orphaned descendants, and a check that no child is left behind.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::time::{Duration, Instant};

use mproc_sys::ProcessId;

/// One test: a name and a function that panics on failure.
pub(crate) type Test = (&'static str, fn());

/// Runs `tests` in order (those whose name contains the first non-flag
/// argument, if any). Call after `mproc_process::init()`.
pub(crate) fn run(tests: &[Test], watchdog: Duration) {
    mproc_sys::set_child_subreaper(true).expect("subreaper");
    start_watchdog(watchdog);
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let mut ran = 0;
    for (name, test) in tests {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        eprint!("test {name} ... ");
        let t0 = Instant::now();
        if std::panic::catch_unwind(test).is_err() {
            // Leave no process behind to hold the test's output pipes open.
            kill_descendants();
            eprintln!("test {name} FAILED");
            std::process::exit(101);
        }
        eprintln!("ok ({} ms)", t0.elapsed().as_millis());
        assert_no_children(name);
        ran += 1;
    }
    eprintln!("test result: ok. {ran} passed");
}

fn start_watchdog(limit: Duration) {
    std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            std::thread::sleep(limit);
            eprintln!("watchdog: tests still running after {limit:?}; aborting");
            kill_descendants();
            std::process::abort();
        })
        .expect("watchdog thread");
}

/// Kills every descendant: as a subreaper this process inherits the
/// children of the children it kills, and kills those in turn.
pub(crate) fn kill_descendants() {
    for _ in 0..50 {
        let kids = children_of(mproc_sys::getpid());
        if kids.is_empty() {
            return;
        }
        for (pid, _) in kids {
            let _ = mproc_sys::kill(pid, mproc_sys::Signal::Kill);
            let _ = mproc_sys::waitpid(pid, false);
        }
    }
}

/// The direct children of `parent`, with their state letter, from `/proc`.
pub(crate) fn children_of(parent: i32) -> Vec<(i32, char)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let mut fields = stat[close + 1..].split_ascii_whitespace();
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid: i32 = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        if ppid == parent {
            out.push((pid, state));
        }
    }
    out
}

/// Panics if this process has any child left (running or zombie).
pub(crate) fn assert_no_children(context: &str) {
    // A child may be between its last syscall and being reaped; give the
    // kernel a moment before judging.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let kids = children_of(mproc_sys::getpid());
        if kids.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            for (pid, _) in &kids {
                let _ = mproc_sys::kill(*pid, mproc_sys::Signal::Kill);
                let _ = mproc_sys::waitpid(*pid, false);
            }
            panic!("{context}: children left behind: {kids:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `id` is no longer a running process; false on timeout.
pub(crate) fn wait_gone(id: ProcessId, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while id.is_alive() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// Reaps `pid` (a child of ours, e.g. an orphan re-parented to us),
/// killing it first if `kill`; panics if it does not end in `timeout`.
pub(crate) fn reap(pid: i32, kill: bool, timeout: Duration) -> mproc_sys::ExitStatus {
    if kill {
        let _ = mproc_sys::kill(pid, mproc_sys::Signal::Kill);
    }
    let deadline = Instant::now() + timeout;
    loop {
        match mproc_sys::waitpid(pid, true) {
            Ok(Some(status)) => return status,
            Ok(None) => {}
            Err(e) => panic!("reaping {pid}: {e}"),
        }
        assert!(
            Instant::now() < deadline,
            "{pid} did not end in {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Writes `pid start_time` of `pid` as one line.
pub(crate) fn send_id(w: &mut impl std::io::Write, pid: i32) {
    let id = ProcessId::of(pid).expect("stat of a live child");
    writeln!(w, "{} {}", id.pid, id.start_time).expect("write id");
}

/// Reads `n` lines written by [`send_id`].
pub(crate) fn read_ids(r: impl Read, n: usize) -> Vec<ProcessId> {
    let mut lines = BufReader::new(r).lines();
    (0..n)
        .map(|_| {
            let line = lines.next().expect("an id line").expect("readable");
            let (pid, start) = line.split_once(' ').expect("pid start_time");
            ProcessId {
                pid: pid.parse().expect("pid"),
                start_time: start.parse().expect("start time"),
            }
        })
        .collect()
}

/// A bound for every join in these tests.
pub(crate) const JOIN: Duration = Duration::from_secs(10);

/// Joins with [`JOIN`] as the bound, killing the child on timeout.
pub(crate) fn join(child: &mproc_process::Child) -> i32 {
    match child.join_timeout(JOIN).expect("join") {
        Some(code) => code,
        None => {
            let _ = child.kill();
            let _ = child.join_timeout(JOIN);
            panic!("child {} did not end within {JOIN:?}", child.pid());
        }
    }
}
