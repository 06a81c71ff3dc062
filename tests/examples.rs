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
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long an example may run.
const LIMIT: Duration = Duration::from_secs(60);
/// How long the processes an example started may hold its output after it
/// exited (a daemon child dies with it, but not at the same instant).
const GRACE: Duration = Duration::from_secs(10);

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

/// Runs example `name` (at most [`LIMIT`]) and returns its stdout; panics
/// if it fails, runs too long, leaves a process behind or does not print
/// each of `expected`.
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
    let out = run_bounded(&format!("example {name}"), &mut Command::new(&path), LIMIT)
        .unwrap_or_else(|e| panic!("{e}"));
    for want in expected {
        assert!(
            out.contains(want),
            "example {name} did not print {want:?}:\n{out}"
        );
    }
    out
}

/// Runs `cmd` in a process group of its own and returns its stdout once it
/// exited and every process holding its output (its children) is gone.
/// An error if it fails, runs longer than `limit`, or leaves a process
/// holding its output for more than [`GRACE`] after it exits (a child
/// that outlived it, which would otherwise keep the read waiting for
/// ever); the group is killed then.
fn run_bounded(what: &str, cmd: &mut Command, limit: Duration) -> Result<String, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("{what}: {e} (built by `cargo test`?)"))?;
    let group = child.id() as i32;
    // Read as it runs, so that a full pipe does not stop it; each read
    // ends when the last process holding that output is gone.
    let (tx, rx) = mpsc::channel();
    let readers: [Box<dyn Read + Send>; 2] = [
        Box::new(child.stdout.take().unwrap()),
        Box::new(child.stderr.take().unwrap()),
    ];
    for (i, mut r) in readers.into_iter().enumerate() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            let _ = tx.send((i, s));
        });
    }
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if Instant::now() > deadline {
            kill_group(group);
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what} ran for more than {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut outputs = [String::new(), String::new()];
    let outputs_by = Instant::now() + GRACE;
    for _ in 0..2 {
        let left = outputs_by.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, s)) => outputs[i] = s,
            Err(_) => {
                // Still a member of the group (the leader is reaped, but
                // its id cannot be reused while the group has members).
                kill_group(group);
                return Err(format!(
                    "{what} exited ({status}) but left a process holding its output"
                ));
            }
        }
    }
    let [out, err] = outputs;
    if !status.success() {
        return Err(format!("{what}: {status}\nstdout:\n{out}\nstderr:\n{err}"));
    }
    Ok(out)
}

/// Kills every process of group `group`.
fn kill_group(group: i32) {
    let _ = mproc_sys::kill_group(group, mproc_sys::Signal::Kill);
}

/// A program that exits but leaves a child holding its output fails the
/// run within bounds, and the child is killed.
#[test]
fn a_process_left_behind_fails_the_run() {
    let pid_file = std::env::temp_dir().join(format!("mproc-examples-left-{}", std::process::id()));
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("sleep 600 & echo $! > {}", pid_file.display()));
    let result = run_bounded("sh", &mut cmd, Duration::from_secs(5));
    let pid = std::fs::read_to_string(&pid_file).expect("the pid of sleep");
    let _ = std::fs::remove_file(&pid_file);
    let err = result.expect_err("a run that left a process behind passed");
    assert!(err.contains("left a process"), "{err}");
    // Gone, or a zombie of whoever adopted it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let gone = || {
        std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).map_or(true, |s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
    };
    while !gone() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        gone(),
        "the process left behind, {}, still runs",
        pid.trim()
    );
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
