//! The spawn start method: this test binary re-executes itself; `main`
//! calls `init()` first, which runs the requested function in the child.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::join;
use mproc_process::{Process, ProcessError, StartMethod, current_process, parent_process};
use serde::{Deserialize, Serialize};

fn main() {
    mproc_process::init();
    common::run(
        &[
            ("spawn_with_arguments", spawn_with_arguments),
            ("spawn_exit_codes", spawn_exit_codes),
            ("spawn_names_and_parent", spawn_names_and_parent),
            ("spawn_a_target", spawn_a_target),
            ("spawn_signals", spawn_signals),
            (
                "spawn_refuses_capturing_closures",
                spawn_refuses_capturing_closures,
            ),
            (
                "spawn_refuses_unencodable_arguments",
                spawn_refuses_unencodable_arguments,
            ),
            ("spawn_with_large_arguments", spawn_with_large_arguments),
            (
                "spawn_from_busy_threads_holding_locks",
                spawn_from_busy_threads_holding_locks,
            ),
            ("spawn_failure_is_an_os_error", spawn_failure_is_an_os_error),
            ("default_start_method", default_start_method),
            ("hand_off_is_not_inherited", hand_off_is_not_inherited),
            (
                "an_unreadable_hand_off_does_not_run_main",
                an_unreadable_hand_off_does_not_run_main,
            ),
        ],
        Duration::from_secs(240),
    );
}

fn spawn(p: Process<'_>) -> mproc_process::Child {
    let c = p.start_method(StartMethod::Spawn).start().unwrap();
    assert_eq!(c.start_method(), StartMethod::Spawn);
    c
}

#[derive(Serialize, Deserialize)]
struct Job {
    base: u64,
    exp: u32,
    label: String,
    bytes: Vec<u8>,
}

fn check_job(job: Job) -> Result<(), String> {
    let ok = job.base.pow(job.exp) == 1024
        && job.label == "two to the ten"
        && job.bytes.len() == 3000
        && job
            .bytes
            .iter()
            .enumerate()
            .all(|(i, &b)| b == (i % 251) as u8);
    if !ok {
        return Err("arguments arrived damaged".into());
    }
    std::process::exit(42)
}

fn job() -> Job {
    Job {
        base: 2,
        exp: 10,
        label: "two to the ten".into(),
        bytes: (0..3000).map(|i| (i % 251) as u8).collect(),
    }
}

fn spawn_with_arguments() {
    let c = spawn(Process::with_args(check_job, job()));
    assert_eq!(join(&c), 42);
    // A tuple, a non-capturing closure coerced to a fn pointer.
    let c = spawn(Process::with_args(
        |(a, b): (i32, i32)| std::process::exit(a * b),
        (6, 7),
    ));
    assert_eq!(join(&c), 42);
}

fn spawn_exit_codes() {
    assert_eq!(join(&spawn(Process::new(|| ()))), 0);
    assert_eq!(join(&spawn(Process::new(|| std::process::exit(3)))), 3);
    let quiet_panic = || {
        std::panic::set_hook(Box::new(|_| {}));
        panic!("expected")
    };
    assert_eq!(join(&spawn(Process::new(quiet_panic))), 1);
    assert_eq!(
        join(&spawn(Process::new(|| Err::<(), _>("expected error")))),
        1
    );
    fn fails(n: u8) -> Result<(), String> {
        Err(format!("failed with {n}"))
    }
    assert_eq!(join(&spawn(Process::with_args(fails, 5))), 1);
}

fn spawn_names_and_parent() {
    let me = mproc_sys::getpid();
    fn check(parent_pid: i32) -> Result<(), String> {
        let c = current_process();
        let p = parent_process().ok_or("no parent")?;
        if c.name() != "spawned" || !c.daemon() || c.pid() != mproc_sys::getpid() {
            return Err(format!("wrong self {c:?}"));
        }
        if p.pid() != parent_pid || p.name() != "MainProcess" {
            return Err(format!("wrong parent {p:?}"));
        }
        Ok(())
    }
    let c = spawn(Process::with_args(check, me).name("spawned").daemon(true));
    assert_eq!(c.name(), "spawned");
    assert_eq!(join(&c), 0);
    // Default name of a spawned child, seen from inside.
    fn named(expected: String) -> Result<(), String> {
        let n = current_process().name().to_owned();
        if n == expected { Ok(()) } else { Err(n) }
    }
    let c = Process::new(|| ()).start().unwrap();
    join(&c);
    let next = c.info().identity()[0] + 1;
    let c = spawn(Process::with_args(named, format!("Process-{next}")));
    assert_eq!(join(&c), 0);
}

#[derive(Serialize, Deserialize)]
struct Counter {
    limit: i32,
}

impl mproc_process::Target for Counter {
    fn run(&mut self) {
        let n = (0..self.limit).count() as i32;
        std::process::exit(n)
    }
}

fn spawn_a_target() {
    use mproc_process::Target;
    let c = spawn(Process::with_args(
        |mut t: Counter| t.run(),
        Counter { limit: 12 },
    ));
    assert_eq!(join(&c), 12);
}

fn spawn_signals() {
    let c = spawn(Process::new(|| std::thread::sleep(Duration::from_secs(30))));
    assert!(c.is_alive());
    assert_eq!(c.join_timeout(Duration::from_millis(100)).unwrap(), None);
    c.terminate().unwrap();
    assert_eq!(join(&c), -15);
    let c = spawn(Process::new(|| std::thread::sleep(Duration::from_secs(30))));
    c.kill().unwrap();
    assert_eq!(join(&c), -9);
    c.kill().unwrap(); // reaped: nothing sent, no error
}

fn spawn_refuses_capturing_closures() {
    let captured = String::from("state");
    let err = Process::new(move || println!("{captured}"))
        .start_method(StartMethod::Spawn)
        .start()
        .unwrap_err();
    assert!(
        matches!(err, ProcessError::CapturingClosure { size } if size == std::mem::size_of::<String>()),
        "{err}"
    );
    let err = Process::from_target(Counter { limit: 1 })
        .start_method(StartMethod::Spawn)
        .start()
        .unwrap_err();
    assert!(
        matches!(err, ProcessError::CapturingClosure { .. }),
        "{err}"
    );
}

struct Unencodable;

impl Serialize for Unencodable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("cannot encode this"))
    }
}

impl<'de> Deserialize<'de> for Unencodable {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Ok(Unencodable)
    }
}

fn spawn_refuses_unencodable_arguments() {
    fn never(_: Unencodable) {}
    let before = common::children_of(mproc_sys::getpid()).len();
    let err = Process::with_args(never, Unencodable)
        .start_method(StartMethod::Spawn)
        .start()
        .unwrap_err();
    assert!(matches!(err, ProcessError::EncodeArguments { .. }), "{err}");
    // Refused at start: no child was created.
    assert_eq!(common::children_of(mproc_sys::getpid()).len(), before);
    // The same arguments are fine with fork, which does not encode them.
    let c = Process::with_args(never, Unencodable).start().unwrap();
    assert_eq!(join(&c), 0);
}

/// Arguments too large for the environment travel through a memory file.
fn spawn_with_large_arguments() {
    fn check(bytes: Vec<u8>) -> Result<(), String> {
        let ok =
            bytes.len() == 4 << 20 && bytes.iter().enumerate().all(|(i, &b)| b == (i % 253) as u8);
        if ok {
            Ok(())
        } else {
            Err("large arguments arrived damaged".into())
        }
    }
    let big: Vec<u8> = (0..4 << 20).map(|i| (i % 253) as u8).collect();
    let c = spawn(Process::with_args(check, big));
    assert_eq!(join(&c), 0);
}

/// Eight threads that keep locks held (a mutex, stdout, stderr, the
/// allocator) while the main thread spawns children with arguments.
fn spawn_from_busy_threads_holding_locks() {
    let stop = Arc::new(AtomicBool::new(false));
    let lock = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let stop = Arc::clone(&stop);
            let lock = Arc::clone(&lock);
            std::thread::spawn(move || {
                let mut spins = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    match i % 4 {
                        0 => {
                            let _out = std::io::stdout().lock();
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        1 => {
                            let _err = std::io::stderr().lock();
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        2 => {
                            let mut held = lock.lock().unwrap();
                            held.push(vec![0; 4096]);
                            if held.len() > 64 {
                                held.clear();
                            }
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        _ => {
                            // Busy allocating: the allocator's locks.
                            let v: Vec<Box<u64>> = (0..1000).map(Box::new).collect();
                            spins = spins.wrapping_add(v.len() as u64);
                        }
                    }
                }
                spins
            })
        })
        .collect();
    for round in 0..10u32 {
        let c = spawn(Process::with_args(
            |(a, b): (u32, u32)| std::process::exit((a + b) as i32),
            (round, 100),
        ));
        assert_eq!(join(&c), (round + 100) as i32);
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
}

fn spawn_failure_is_an_os_error() {
    let c = Process::new(|| -> Result<(), String> {
        mproc_sys::setgid(65534).map_err(|e| e.to_string())?;
        mproc_sys::setuid(65534).map_err(|e| e.to_string())?;
        mproc_sys::set_process_limit(0, 0).map_err(|e| e.to_string())?;
        match Process::new(|| ()).start_method(StartMethod::Spawn).start() {
            Err(ProcessError::Spawn { source, exe }) if source.raw_os_error() == Some(11) => {
                if exe.as_os_str().is_empty() {
                    return Err("no program in the error".into());
                }
                Ok(())
            }
            Err(e) => Err(format!("wrong error: {e}")),
            Ok(c) => {
                let _ = c.join();
                Err("spawn succeeded beyond the limit".into())
            }
        }
    })
    .start()
    .unwrap();
    assert_eq!(join(&c), 0);
}

fn default_start_method() {
    mproc_process::set_start_method(StartMethod::Spawn);
    let c = Process::new(|| std::process::exit(8)).start().unwrap();
    mproc_process::set_start_method(StartMethod::Fork);
    assert_eq!(c.start_method(), StartMethod::Spawn);
    assert_eq!(join(&c), 8);
}

/// A spawned child removes the hand-off from its environment, so that
/// programs it runs (this one again, say) do not take it for theirs.
fn hand_off_is_not_inherited() {
    fn probe(_: ()) -> Result<(), String> {
        if std::env::var_os("MPROC_SPAWN").is_some() {
            return Err("hand-off still in the environment".into());
        }
        // Run this program again, plainly: it must run its own main (the
        // test list, filtered to nothing), not this function.
        let status = std::process::Command::new("/proc/self/exe")
            .arg("no-test-has-this-name")
            .stderr(std::process::Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("rerun: {status}"))
        }
    }
    let c = spawn(Process::with_args(probe, ()));
    assert_eq!(join(&c), 0);
}

/// A spawned child that cannot read the memory file its parent handed it
/// (a parent whose /proc entries it may not open, or one gone first) fails
/// with a message, rather than run the program's `main` as a second copy
/// of the program.
fn an_unreadable_hand_off_does_not_run_main() {
    let me = std::process::id();
    for place in [format!("fd:{me}:999999"), "fd:1:999999".to_string()] {
        let out = std::process::Command::new("/proc/self/exe")
            .arg("no-test-has-this-name")
            .env("MPROC_SPAWN", &place)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if place.starts_with("fd:1:") {
            // Another live process's hand-off (pid 1's): inherited, not
            // ours; the program runs as itself.
            assert!(out.status.success(), "{place}: {:?} {stderr}", out.status);
            assert!(stderr.contains("ignoring MPROC_SPAWN"), "{stderr}");
        } else {
            assert_eq!(out.status.code(), Some(1), "{place}: {stderr}");
            assert!(stderr.contains("cannot read its hand-off"), "{stderr}");
        }
    }
}
