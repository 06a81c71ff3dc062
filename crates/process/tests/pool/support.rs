//! A sequential runner for the pool tests: no libtest thread pool, a
//! watchdog that kills a hung run, and after each test a check that no
//! child process and no segment of ours is left behind.

use std::time::{Duration, Instant};

/// One test: a name and a function that panics on failure.
pub(crate) type Test = (&'static str, fn());

/// Runs `tests` in order (those whose name contains the first non-flag
/// argument, if any) under a watchdog of `limit`.
pub(crate) fn run(tests: &[Test], limit: Duration) {
    mproc_sys::set_child_subreaper(true).expect("subreaper");
    start_watchdog(limit);
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let mut ran = 0;
    let t_all = Instant::now();
    for (name, test) in tests {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        eprint!("test {name} ... ");
        let t0 = Instant::now();
        test();
        assert_no_children(name);
        assert_no_segments(name);
        eprintln!("ok ({} ms)", t0.elapsed().as_millis());
        ran += 1;
    }
    eprintln!(
        "test result: ok. {ran} passed in {} ms",
        t_all.elapsed().as_millis()
    );
}

fn start_watchdog(limit: Duration) {
    std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            std::thread::sleep(limit);
            eprintln!(
                "watchdog: tests still running after {limit:?}; killing the children and aborting"
            );
            for pid in children() {
                let _ = mproc_sys::kill(pid, mproc_sys::Signal::Kill);
            }
            std::process::abort();
        })
        .expect("watchdog thread");
}

/// This process's direct children, from `/proc`.
pub(crate) fn children() -> Vec<i32> {
    let me = mproc_sys::getpid();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some(close) = stat.rfind(')') else {
                return false;
            };
            stat[close + 1..]
                .split_ascii_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<i32>().ok())
                == Some(me)
        })
        .collect()
}

/// Panics if a child (running or zombie) is left after a grace period.
fn assert_no_children(context: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let kids = children();
        if kids.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            for pid in &kids {
                let _ = mproc_sys::kill(*pid, mproc_sys::Signal::Kill);
                let _ = mproc_sys::waitpid(*pid, false);
            }
            panic!("{context}: children left behind: {kids:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Panics if a pool segment named after this process is left in /dev/shm.
fn assert_no_segments(context: &str) {
    let mine = format!("pool.{}.", mproc_sys::getpid());
    let left: Vec<String> = std::fs::read_dir("/dev/shm")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.contains(&mine))
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "{context}: segments left behind: {left:?}");
}
