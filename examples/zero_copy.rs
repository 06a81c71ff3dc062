//! Zero-copy: a producer process loans 1 MiB slots and fills them in
//! place; a consumer process checksums each message in place. No message
//! byte is ever copied.
//!
//! Run: `cargo run --release --example zero_copy`

use std::time::Instant;

use mproc::Process;
use mproc::queue::{QueueError, QueueOptions, SpscQueue};

const MIB: usize = 1 << 20;
const MESSAGES: u64 = 256;

/// FNV-1a over the message, 8 bytes at a time.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.chunks_exact(8).fold(0xcbf2_9ce4_8422_2325, |h, c| {
        (h ^ u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).wrapping_mul(0x100_0000_01b3)
    })
}

/// Message `i`'s contents, written straight into the slot.
fn fill(slot: &mut [u8], i: u64) {
    for (j, chunk) in slot.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&(i ^ j as u64).to_le_bytes());
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let q = SpscQueue::new(QueueOptions::new().capacity(8).slot_size(MIB))?;
    let stats = q.stats();
    println!(
        "queue: {} slots of {} KiB, segment {} KiB",
        stats.capacity,
        stats.slot_size / 1024,
        stats.segment_len / 1024
    );
    // The consumer first: a producer whose consumers are all gone gets
    // `Disconnected` instead of waiting for room that never comes.
    let mut rx = q.consumer()?;
    let producer = Process::new(|| -> Result<(), QueueError> {
        let mut tx = q.producer()?;
        let mut sum = 0u64;
        for i in 0..MESSAGES {
            let mut slot = tx.loan()?;
            fill(&mut slot, i);
            sum = sum.wrapping_add(checksum(&slot));
            slot.commit(MIB)?;
        }
        tx.close();
        println!("producer: {MESSAGES} messages filled in place, checksum {sum:#018x}");
        Ok(())
    })
    .name("producer")
    .start()?;
    let start = Instant::now();
    let (mut n, mut sum) = (0u64, 0u64);
    loop {
        match rx.recv_ref() {
            Ok(msg) => {
                sum = sum.wrapping_add(checksum(&msg));
                n += 1;
            }
            Err(QueueError::Closed) => break,
            Err(e) => return Err(e.into()),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "consumer: {n} messages checksummed in place, checksum {sum:#018x}, {:.0} MiB/s",
        n as f64 / secs
    );
    match producer.join()? {
        0 => Ok(()),
        code => Err(format!("producer ended with exit code {code}").into()),
    }
}
