//! A parent creates a named segment, a child process opens it by name and
//! writes a message, the parent prints it.
//!
//! Run: `cargo run --release --example segment`

use mproc::shm::{Segment, SegmentKind};
use mproc::sys::{ExitStatus, ForkResult, exit_immediately, fork, waitpid};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let name = format!("example-segment-{}", std::process::id());
    // The creator's handle unlinks the name when it drops.
    let segment = Segment::builder(SegmentKind::Raw, 4096).create(&name)?;

    // SAFETY: this program is single-threaded; the child only opens the
    // segment, writes to it and leaves through `_exit`.
    match unsafe { fork() }? {
        ForkResult::Child => {
            let code = match Segment::opener(&name).kind(SegmentKind::Raw).open() {
                Ok(seg) => {
                    let msg = format!("hello from child {}", mproc::sys::getpid());
                    let len = msg.len() as u64;
                    let ok = seg.payload().write_pod(0, &len).is_ok()
                        && seg.payload().write_bytes(8, msg.as_bytes()).is_ok();
                    if ok { 0 } else { 2 }
                }
                Err(_) => 1,
            };
            exit_immediately(code)
        }
        ForkResult::Parent { child } => {
            let status = waitpid(child, false)?;
            assert_eq!(status, Some(ExitStatus::Exited(0)), "child failed");
            let payload = segment.payload();
            let len: u64 = payload.read_pod(0)?;
            let mut text = vec![0u8; len.min(4088) as usize];
            payload.read_bytes(8, &mut text)?;
            println!("segment `{name}` holds: {}", String::from_utf8_lossy(&text));
        }
    }
    Ok(())
}
