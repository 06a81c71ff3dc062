//! A program that spawns but forgets `init()`: its spawned child runs
//! `main` again, and its own attempt to spawn is refused instead of
//! recursing.

use std::time::Duration;

use mproc_process::{Process, ProcessError, StartMethod};

fn main() {
    // Deliberately no `mproc_process::init()` here.
    let result = Process::new(|| ()).start_method(StartMethod::Spawn).start();
    if std::env::var_os("MPROC_SPAWN").is_some() {
        // We are the spawned child, running main by mistake.
        let code = match result {
            Err(ProcessError::InitNotCalled) => 42,
            _ => 1,
        };
        std::process::exit(code);
    }
    let child = result.expect("the parent can spawn");
    let code = child
        .join_timeout(Duration::from_secs(20))
        .expect("join")
        .unwrap_or_else(|| {
            let _ = child.kill();
            panic!("spawned child hung");
        });
    assert_eq!(code, 42, "the child was not refused");
    eprintln!("test result: ok. 1 passed");
}
