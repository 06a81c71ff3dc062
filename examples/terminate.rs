//! A child that would sleep 5 s is terminated after 1 s; its exit code is
//! minus the signal number, as in Python.
//!
//! Run: `cargo run --release --example terminate`

use std::time::{Duration, Instant};

use mproc::Process;

fn main() -> Result<(), mproc::ProcessError> {
    mproc::init();

    let started = Instant::now();
    let sleeper = Process::new(|| std::thread::sleep(Duration::from_secs(5))).start()?;
    std::thread::sleep(Duration::from_secs(1));
    println!("alive: {}", sleeper.is_alive());
    sleeper.terminate()?;
    let code = sleeper.join()?;
    println!("alive: {}", sleeper.is_alive());
    println!("exitcode: {code}");
    println!("elapsed: {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(code, -15);
    Ok(())
}
