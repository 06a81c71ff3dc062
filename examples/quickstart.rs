//! The five-minute tour: a producer process writes messages straight into
//! shared memory, the parent reads them in place. No pickling, no pipe, no
//! copy.
//!
//! Run: `cargo run --release --example quickstart`

use mproc::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    mproc::init(); // first line of main: lets the spawn start method re-execute this binary

    // 64 slots of 4 KiB in an anonymous shared segment, inherited by children.
    let q = SpscQueue::new(QueueOptions::new().capacity(64).slot_size(4096))?;
    // The consumer first: a producer whose consumers are all gone gets
    // `Disconnected` instead of waiting for room that never comes.
    let mut rx = q.consumer()?;

    let producer = Process::new(|| -> Result<(), QueueError> {
        let mut tx = q.producer()?;
        for i in 0..10_000u64 {
            let mut slot = tx.loan()?; // a slot of the ring, written in place
            slot[..8].copy_from_slice(&i.to_le_bytes());
            slot.commit(8)?; // published with one atomic store
        }
        tx.close(); // the consumer drains, then sees `Closed`
        Ok(())
    })
    .name("producer")
    .start()?;

    let (mut count, mut sum) = (0u64, 0u64);
    loop {
        match rx.recv_ref() {
            // Read in place; the slot goes back to the producer on drop.
            Ok(msg) => {
                sum += u64::from_le_bytes(msg[..8].try_into()?);
                count += 1;
            }
            Err(QueueError::Closed) => break,
            Err(e) => return Err(e.into()),
        }
    }
    assert_eq!(producer.join()?, 0);
    assert_eq!((count, sum), (10_000, 49_995_000));
    println!("received {count} messages in place, sum {sum}");
    Ok(())
}
