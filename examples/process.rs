//! The first pattern users learn multiprocessing from: a worker without
//! arguments that prints its name, then workers with arguments.
//!
//! Run: `cargo run --release --example process`
//!
//! Python:
//!
//! ```python
//! def worker():
//!     print(f"worker: {current_process().name}")
//! def power(base, exp):
//!     print(f"{current_process().name}: {base}^{exp} = {base ** exp}")
//! ```

use mproc::{Process, current_process};

fn worker() {
    println!("worker: {}", current_process().name());
}

fn power((base, exp): (u64, u32)) {
    println!(
        "{}: {base}^{exp} = {}",
        current_process().name(),
        base.pow(exp)
    );
}

fn main() -> Result<(), mproc::ProcessError> {
    mproc::init();

    let child = Process::new(worker).start()?;
    child.join()?;

    let children = [(2, 10), (3, 5)]
        .into_iter()
        .map(|args| Process::with_args(power, args).start())
        .collect::<Result<Vec<_>, _>>()?;
    for child in &children {
        let code = child.join()?;
        assert_eq!(code, 0, "{} failed", child.name());
    }
    Ok(())
}
