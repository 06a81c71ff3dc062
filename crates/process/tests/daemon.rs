//! Daemon children die with their parent; non-daemon children live on.
//! Orphans are re-parented to this test process (a child subreaper), which
//! reaps them.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{JOIN, join, read_ids, reap, send_id, wait_gone};
use mproc_process::{Process, StartMethod};
use mproc_sys::ProcessId;

fn main() {
    mproc_process::init();
    if std::env::args().any(|a| a == "--scenario-main-exit") {
        return scenario_main_exit();
    }
    common::run(
        &[
            (
                "daemon_dies_when_parent_returns",
                daemon_dies_when_parent_returns,
            ),
            (
                "daemon_dies_when_parent_is_killed",
                daemon_dies_when_parent_is_killed,
            ),
            (
                "spawned_daemon_dies_when_parent_is_killed",
                spawned_daemon_dies_when_parent_is_killed,
            ),
            (
                "daemon_dies_when_main_process_exits",
                daemon_dies_when_main_process_exits,
            ),
        ],
        Duration::from_secs(120),
    );
}

fn forever() {
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Starts, inside a child, a daemon and a non-daemon grandchild with
/// `method`, reports their ids through a pipe, then `ends` the child.
/// Returns the child and the two grandchildren (daemon first).
fn family(method: StartMethod, ends: fn()) -> (mproc_process::Child, ProcessId, ProcessId) {
    let (reader, mut writer) = std::io::pipe().unwrap();
    let parent = Process::new(move || {
        let daemon = Process::new(forever)
            .daemon(true)
            .start_method(method)
            .start()
            .unwrap();
        let plain = Process::new(forever).start_method(method).start().unwrap();
        // Wait until both run this program's code (a spawned child must
        // have exec'd and reached its prctl), then report them.
        std::thread::sleep(Duration::from_millis(300));
        send_id(&mut writer, daemon.pid());
        send_id(&mut writer, plain.pid());
        writer.flush().unwrap();
        ends();
    })
    .start()
    .unwrap();
    let ids = read_ids(reader, 2);
    (parent, ids[0], ids[1])
}

/// The daemon is gone soon after its parent's end (seconds at most on a
/// loaded machine), the other still runs 1.5 s later; then both orphans
/// are cleaned up.
fn check_family(daemon: ProcessId, plain: ProcessId) {
    assert!(
        wait_gone(daemon, Duration::from_secs(10)),
        "daemon outlived its parent"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(plain.is_alive(), "non-daemon child died with its parent");
    reap(plain.pid, true, JOIN);
    // A daemon killed after its parent died was re-parented to us.
    // (Killed by its parent it was reaped there; ECHILD here.)
    if let Ok(None) = mproc_sys::waitpid(daemon.pid, true) {
        reap(daemon.pid, false, JOIN);
    }
}

fn daemon_dies_when_parent_returns() {
    let (parent, daemon, plain) = family(StartMethod::Fork, || ());
    assert_eq!(join(&parent), 0);
    check_family(daemon, plain);
}

fn daemon_dies_when_parent_is_killed() {
    let (parent, daemon, plain) = family(StartMethod::Fork, forever);
    parent.kill().unwrap();
    assert_eq!(join(&parent), -9);
    check_family(daemon, plain);
}

fn spawned_daemon_dies_when_parent_is_killed() {
    let (parent, daemon, plain) = family(StartMethod::Spawn, forever);
    parent.kill().unwrap();
    assert_eq!(join(&parent), -9);
    check_family(daemon, plain);
}

/// A whole program whose `main` returns: its daemon child is terminated at
/// exit, its other child is left running.
fn daemon_dies_when_main_process_exits() {
    let exe = std::env::current_exe().unwrap();
    let mut program = Command::new(exe)
        .arg("--scenario-main-exit")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let ids = read_ids(program.stdout.take().unwrap(), 2);
    let status = program.wait().unwrap();
    assert!(status.success());
    check_family(ids[0], ids[1]);
}

fn scenario_main_exit() {
    let daemon = Process::new(forever).daemon(true).start().unwrap();
    let plain = Process::new(forever).start().unwrap();
    let mut out = std::io::stdout();
    send_id(&mut out, daemon.pid());
    send_id(&mut out, plain.pid());
    out.flush().unwrap();
    // Returning from main runs the exit hook, which terminates the daemon.
}
