//! Python's producer/consumer pattern between two processes: a producer
//! puts five random numbers 0.2 s apart, a consumer prints each.
//!
//! First stopped by a sentinel (the poison-pill pattern), then the same
//! stopped by `close()`: the consumer drains the queue and gets `Closed`.
//!
//! Run: `cargo run --release --example queue`

use std::time::Duration;

use mproc::queue::{Queue, QueueError, QueueOptions};
use mproc::{Child, Process};

/// The poison pill: no real number is negative.
const SENTINEL: f64 = -1.0;

/// A tiny xorshift generator seeded from the clock and the pid: no
/// dependency needed for five numbers.
fn random_numbers(n: usize) -> Vec<f64> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos ^ ((mproc::sys::getpid() as u64) << 32) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

/// Starts a process that runs `body` (an error is printed, exit code 1).
fn spawn(body: impl FnOnce() -> Result<(), QueueError>) -> Result<Child, mproc::ProcessError> {
    Process::new(body).start()
}

fn wait(child: Child) -> Result<(), Box<dyn std::error::Error>> {
    match child.join()? {
        0 => Ok(()),
        code => Err(format!("process {} ended with exit code {code}", child.pid()).into()),
    }
}

fn run(use_close: bool) -> Result<(), Box<dyn std::error::Error>> {
    let q = Queue::new(QueueOptions::new().capacity(8).slot_size(8))?;
    let producer = spawn(|| {
        let mut tx = q.producer()?;
        for x in random_numbers(5) {
            // Said before the send, so that it prints before the consumer's
            // line for the same number.
            println!("producer {} put {x:.4}", mproc::sys::getpid());
            tx.send_pod(&x)?;
            std::thread::sleep(Duration::from_millis(200));
        }
        if use_close {
            tx.close();
        } else {
            tx.send_pod(&SENTINEL)?;
        }
        Ok(())
    })?;
    let consumer = spawn(|| {
        let mut rx = q.consumer()?;
        loop {
            match rx.recv_pod::<f64>() {
                Ok(x) if x == SENTINEL => {
                    println!("consumer {} got the sentinel, done", mproc::sys::getpid());
                    return Ok(());
                }
                Ok(x) => println!("consumer {} got {x:.4}", mproc::sys::getpid()),
                Err(QueueError::Closed) => {
                    println!(
                        "consumer {}: queue closed and drained, done",
                        mproc::sys::getpid()
                    );
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
    })?;
    wait(producer)?;
    wait(consumer)?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("-- stopped by a sentinel --");
    run(false)?;
    println!("-- stopped by close() --");
    run(true)?;
    Ok(())
}
