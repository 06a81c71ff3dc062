//! Subclassing `Process` and overriding `run`, the Rust way: a type that
//! implements `Target`.
//!
//! Run: `cargo run --release --example target`
//!
//! Python:
//!
//! ```python
//! class TimerProcess(Process):
//!     def __init__(self, interval):
//!         super().__init__()
//!         self.interval = interval
//!     def run(self):
//!         for i in range(1, 4):
//!             time.sleep(self.interval)
//!             print(f"{self.name}: {i}/3")
//! ```

use std::time::Duration;

use mproc::{Process, Target, current_process};

struct TimerProcess {
    interval: Duration,
}

impl Target for TimerProcess {
    fn run(&mut self) {
        let name = current_process().name().to_owned();
        for i in 1..=3 {
            std::thread::sleep(self.interval);
            println!("{name}: {i}/3");
        }
    }
}

fn main() -> Result<(), mproc::ProcessError> {
    mproc::init();

    let timer = TimerProcess {
        interval: Duration::from_millis(300),
    };
    let child = Process::from_target(timer).name("TimerProcess-1").start()?;
    let code = child.join()?;
    assert_eq!(code, 0);
    Ok(())
}
