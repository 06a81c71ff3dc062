//! Runs every example and checks what it prints: `cargo test` builds the
//! examples but would not notice one whose run fails. Each example runs as
//! its own process (built next to this test's binary, in the target
//! directory's `examples/`), bounded by a timeout.
//!
//! `cargo test` (or `cargo test -p mproc-examples`) builds the examples
//! before running this; `--test examples` alone does not, so run
//! `cargo build --examples` first then. An example binary older than its
//! source fails the test rather than running stale.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The built example `name`.
fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/examples-<hash> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test runs from the target directory's deps/");
    profile_dir.join("examples").join(name)
}

/// Runs example `name` (at most 60 s) and returns its stdout; panics if it
/// fails or does not print each of `expected`.
fn run(name: &str, expected: &[&str]) -> String {
    let path = example(name);
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("examples/{name}.rs"));
    let modified = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if let (Some(built), Some(written)) = (modified(&path), modified(&source)) {
        assert!(
            built >= written,
            "example {name} is older than its source: `cargo build --examples` first"
        );
    }
    let mut child = Command::new(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e} (built by `cargo test`?)", path.display()));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the example") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("example {name} ran for more than 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        status.success(),
        "example {name}: {status}\nstdout:\n{out}\nstderr:\n{err}"
    );
    for want in expected {
        assert!(
            out.contains(want),
            "example {name} did not print {want:?}:\n{out}"
        );
    }
    out
}

#[test]
fn quickstart() {
    run(
        "quickstart",
        &["received 10000 messages in place, sum 49995000"],
    );
}

#[test]
fn process() {
    run(
        "process",
        &["Process-2: 2^10 = 1024", "Process-3: 3^5 = 243"],
    );
}

#[test]
fn daemon() {
    run(
        "daemon",
        &["heartbeat: alive at", "the daemon dies with us"],
    );
}

#[test]
fn terminate() {
    run(
        "terminate",
        &["alive: true", "alive: false", "exitcode: -15"],
    );
}

#[test]
fn target() {
    run("target", &["TimerProcess-1: 3/3"]);
}

#[test]
fn queue() {
    let out = run(
        "queue",
        &["got the sentinel, done", "queue closed and drained, done"],
    );
    // Five values each way, every one received as it was put.
    let put: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split(" put ").nth(1))
        .collect();
    let got: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split(" got ").nth(1))
        .collect();
    assert_eq!(put.len(), 10, "{out}");
    assert_eq!(
        put,
        got.iter()
            .copied()
            .filter(|g| *g != "the sentinel, done")
            .collect::<Vec<_>>()
    );
}

#[test]
fn zero_copy() {
    let out = run(
        "zero_copy",
        &[
            "256 messages filled in place",
            "256 messages checksummed in place",
        ],
    );
    let sums: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split("checksum ").nth(1))
        .map(|s| s.split(',').next().unwrap_or(s))
        .collect();
    assert!(
        sums.len() == 2 && sums[0] == sums[1],
        "checksums differ:\n{out}"
    );
}

#[test]
fn dict() {
    run("dict", &["(9, 81)", "(\"sum\", 45)"]);
}

#[test]
fn lock() {
    run(
        "lock",
        &["{0: 0, 1: 1, 2: 4, 3: 9, 4: 16, 5: 25, 6: 36, 7: 49, 8: 64, 9: 81}"],
    );
}

#[test]
fn pool() {
    run("pool", &["[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]"]);
}

#[test]
fn segment() {
    run("segment", &["holds: hello from child"]);
}
