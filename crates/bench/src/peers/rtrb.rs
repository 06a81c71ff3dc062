//! In-process ceiling: `rtrb` (a wait-free SPSC byte ring) between two
//! threads. Copied: the producer copies each message into a chunk of the ring
//! and the consumer copies it out. Loaned: both sides use the chunk in
//! place, writing and reading only the 8-byte sequence stamp.
//!
//! Copied messages of up to 1 KiB travel as byte arrays through a ring of
//! arrays (`push` and `pop`, rtrb's own fast path for values); larger ones,
//! and loaned ones, as chunks of a byte ring. Each side asks for its chunk
//! until it gets one: a chunk request reads the other side's index only
//! when its cached copy shows too little room (`slots()` before every
//! request would read it every time, a cache miss per message).

use std::mem::MaybeUninit;

use anyhow::{Result, bail};

use crate::harness::thread_rounds::thread_rounds;
use crate::harness::throughput::{in_bytes, read_stamp, stamp};
use crate::harness::wait::Spinner;
use crate::profile::Profile;
use crate::report::model::Runs;

/// Writes (zeroes) and reads every byte of the ring once, so that in-place
/// writes of only a stamp leave no byte uninitialized.
fn initialize(tx: &mut rtrb::Producer<u8>, rx: &mut rtrb::Consumer<u8>, len: usize) -> Result<()> {
    tx.write_chunk(len)?.commit_all();
    rx.read_chunk(len)?.commit_all();
    Ok(())
}

/// Throughput of `n` messages of `size` bytes per repeat.
///
/// # Errors
///
/// When a wait times out or the consumer sees a wrong message.
pub(crate) fn throughput(profile: &Profile, size: usize, n: usize, loaned: bool) -> Result<Runs> {
    match (loaned, size) {
        (false, 8) => values::<8>(profile, n),
        (false, 64) => values::<64>(profile, n),
        (false, 1024) => values::<1024>(profile, n),
        _ => chunks(profile, size, n, loaned),
    }
}

/// Copied `N`-byte messages through a ring of arrays: `push` a copy of the
/// message, `pop` it and copy it out.
fn values<const N: usize>(profile: &Profile, n: usize) -> Result<Runs> {
    let (mut tx, mut rx) = rtrb::RingBuffer::<[u8; N]>::new(Profile::capacity_for(N));
    let mut src = [1u8; N];
    thread_rounds(
        profile,
        n,
        N,
        in_bytes(N, false),
        move || {
            let mut spinner = Spinner::new("a message");
            loop {
                match rx.pop() {
                    // Copied out: the message leaves the ring.
                    Ok(out) => return Ok(read_stamp(&std::hint::black_box(out))),
                    Err(_) => spinner.pause()?,
                }
            }
        },
        |seq| {
            stamp(&mut src, seq);
            let mut spinner = Spinner::new("ring space");
            while tx.push(src).is_err() {
                spinner.pause()?;
            }
            Ok(())
        },
    )
}

/// Messages as chunks of a byte ring, copied in and out or loaned.
fn chunks(profile: &Profile, size: usize, n: usize, loaned: bool) -> Result<Runs> {
    let slots = Profile::capacity_for(size);
    let (mut tx, mut rx) = rtrb::RingBuffer::<u8>::new(slots * size);
    initialize(&mut tx, &mut rx, slots * size)?;
    let mut out = vec![0u8; size];
    let mut src = vec![1u8; size];
    thread_rounds(
        profile,
        n,
        size,
        in_bytes(size, loaned),
        move || {
            let mut spinner = Spinner::new("a message");
            let chunk = loop {
                match rx.read_chunk(size) {
                    Ok(chunk) => break chunk,
                    Err(_) => spinner.pause()?,
                }
            };
            let (a, b) = chunk.as_slices();
            // Messages never straddle the ring's end: its length is a
            // multiple of the message size.
            if !b.is_empty() {
                bail!("a message straddled the ring's end");
            }
            let got = if loaned {
                read_stamp(a)
            } else {
                out.copy_from_slice(a);
                read_stamp(&out)
            };
            chunk.commit_all();
            Ok(got)
        },
        |seq| {
            let mut spinner = Spinner::new("ring space");
            // Uninitialized: `write_chunk` would first fill the whole chunk
            // with zeroes.
            let mut chunk = loop {
                match tx.write_chunk_uninit(size) {
                    Ok(chunk) => break chunk,
                    Err(_) => spinner.pause()?,
                }
            };
            let (a, _) = chunk.as_mut_slices();
            if loaned {
                // In place: only the stamp is written.
                let mut head = [0u8; 8];
                stamp(&mut head, seq);
                for (dst, b) in a.iter_mut().zip(head) {
                    *dst = MaybeUninit::new(b);
                }
            } else {
                // The message as any sender has it: in its own buffer.
                stamp(&mut src, seq);
                let k = a.len().min(src.len());
                // SAFETY: both ranges hold `k` bytes and are distinct
                // allocations (the ring's and the message's).
                unsafe {
                    std::ptr::copy_nonoverlapping(src.as_ptr(), a.as_mut_ptr().cast::<u8>(), k)
                };
            }
            // SAFETY: every byte of the ring was written once by
            // `initialize` and keeps its value; the stamp (loaned) or the
            // whole message (copied) was just written.
            unsafe { chunk.commit_all() };
            Ok(())
        },
    )
}
