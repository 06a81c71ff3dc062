//! A parent creates a named segment, a child process opens it by name and
//! writes a message, the parent prints it.
//!
//! Run: `cargo run --release --example segment`

use mproc::Process;
use mproc::shm::{Segment, SegmentKind};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let name = format!("example-segment-{}", std::process::id());
    // The creator's handle unlinks the name when it drops.
    let segment = Segment::builder(SegmentKind::Raw, 4096).create(&name)?;

    // The child opens the segment by name, as an unrelated program would.
    let child = Process::new(|| -> Result<(), mproc::ShmError> {
        let seg = Segment::opener(&name).kind(SegmentKind::Raw).open()?;
        let msg = format!("hello from child {}", mproc::current_process().pid());
        seg.payload().write_pod(0, &(msg.len() as u64))?;
        seg.payload().write_bytes(8, msg.as_bytes())?;
        Ok(())
    })
    .start()?;
    assert_eq!(child.join()?, 0, "child failed");

    let payload = segment.payload();
    let len: u64 = payload.read_pod(0)?;
    let mut text = vec![0u8; len.min(4088) as usize];
    payload.read_bytes(8, &mut text)?;
    println!("segment `{name}` holds: {}", String::from_utf8_lossy(&text));
    Ok(())
}
