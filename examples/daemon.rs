//! A daemon heartbeat: the child prints the time every second; the main
//! process exits after 3 s and the heartbeat dies with it.
//!
//! Run: `cargo run --release --example daemon`

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mproc::{Process, current_process};

/// The time of day (UTC) as `HH:MM:SS`.
fn clock() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    format!("{h:02}:{m:02}:{s:02}")
}

fn heartbeat() {
    loop {
        println!("{}: alive at {} UTC", current_process().name(), clock());
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn main() -> Result<(), mproc::ProcessError> {
    mproc::init();

    let beat = Process::new(heartbeat)
        .name("heartbeat")
        .daemon(true)
        .start()?;
    println!("main: started daemon {} (pid {})", beat.name(), beat.pid());
    std::thread::sleep(Duration::from_secs(3));
    println!("main: exiting; the daemon dies with us");
    // Returning from main terminates daemon children.
    Ok(())
}
