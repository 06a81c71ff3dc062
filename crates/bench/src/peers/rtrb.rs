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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Result, bail};

use crate::harness::throughput::{in_bytes, measure_rounds, read_stamp, stamp, stamp_matches};
use crate::harness::wait::{Deadline, Spinner, spin_until};
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
    let rounds = profile.repeats + 1;
    let done = AtomicUsize::new(0);
    let bad = AtomicUsize::new(0);
    std::thread::scope(|s| {
        // The consumer handle moves to its thread: left on this thread's
        // stack next to the producer's, their cached indices would share a
        // cache line (25 M/s instead of 200-300 M/s for 8 bytes).
        let (done, bad) = (&done, &bad);
        let consumer = s.spawn(move || -> Result<()> {
            crate::harness::pin::other_side();
            let deadline = Deadline::after_limit();
            let mut out = [0u8; N];
            let mut seq = 0u64;
            for round in 1..=rounds {
                for _ in 0..n {
                    seq += 1;
                    let mut spinner = Spinner::new(deadline, "a message");
                    out = loop {
                        match rx.pop() {
                            Ok(msg) => break msg,
                            Err(_) => spinner.pause()?,
                        }
                    };
                    if !stamp_matches(read_stamp(&out), seq, N) {
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                }
                done.store(round, Ordering::Release);
            }
            std::hint::black_box(out);
            Ok(())
        });
        let mut sent = 0u64;
        let result = measure_rounds(profile.repeats, n, N, in_bytes(N, false), |r| {
            let deadline = Deadline::after_limit();
            let mut src = [1u8; N];
            let mut seq = sent;
            let t0 = Instant::now();
            for _ in 0..n {
                seq += 1;
                stamp(&mut src, seq);
                let mut spinner = Spinner::new(deadline, "ring space");
                while tx.push(src).is_err() {
                    spinner.pause()?;
                }
            }
            sent = seq;
            // SYNC POINT with the consumer's Release store of `done`.
            spin_until(deadline, "the consumer", || {
                done.load(Ordering::Acquire) > r
            })?;
            Ok(t0.elapsed())
        });
        consumer
            .join()
            .map_err(|_| anyhow::anyhow!("consumer panicked"))??;
        if bad.load(Ordering::Relaxed) != 0 {
            bail!(
                "consumer saw {} wrong messages",
                bad.load(Ordering::Relaxed)
            );
        }
        result
    })
}

/// Messages as chunks of a byte ring, copied in and out or loaned.
fn chunks(profile: &Profile, size: usize, n: usize, loaned: bool) -> Result<Runs> {
    let slots = Profile::capacity_for(size);
    let (mut tx, mut rx) = rtrb::RingBuffer::<u8>::new(slots * size);
    initialize(&mut tx, &mut rx, slots * size)?;
    let rounds = profile.repeats + 1;
    let done = AtomicUsize::new(0);
    let bad = AtomicUsize::new(0);
    std::thread::scope(|s| {
        // The consumer handle moves to its thread: left on this thread's
        // stack next to the producer's, their cached indices would share a
        // cache line (25 M/s instead of 200-300 M/s for 8 bytes).
        let (done, bad) = (&done, &bad);
        let consumer = s.spawn(move || -> Result<()> {
            crate::harness::pin::other_side();
            let deadline = Deadline::after_limit();
            let mut out = vec![0u8; size];
            let mut seq = 0u64;
            for round in 1..=rounds {
                for _ in 0..n {
                    seq += 1;
                    let mut spinner = Spinner::new(deadline, "a message");
                    let chunk = loop {
                        match rx.read_chunk(size) {
                            Ok(chunk) => break chunk,
                            Err(_) => spinner.pause()?,
                        }
                    };
                    let (a, b) = chunk.as_slices();
                    let got = if loaned {
                        read_stamp(a)
                    } else {
                        out[..a.len()].copy_from_slice(a);
                        out[a.len()..].copy_from_slice(b);
                        read_stamp(&out)
                    };
                    // Messages never straddle the ring's end: its length is a
                    // multiple of the message size.
                    if !b.is_empty() || !stamp_matches(got, seq, size) {
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                    chunk.commit_all();
                }
                done.store(round, Ordering::Release);
            }
            Ok(())
        });
        let mut src = vec![1u8; size];
        let mut seq = 0u64;
        let result = measure_rounds(profile.repeats, n, size, in_bytes(size, loaned), |r| {
            let deadline = Deadline::after_limit();
            let t0 = Instant::now();
            for _ in 0..n {
                seq += 1;
                let mut spinner = Spinner::new(deadline, "ring space");
                // Uninitialized: `write_chunk` would first fill the whole
                // chunk with zeroes.
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
                // `initialize` and keeps its value; the stamp (loaned) or
                // the whole message (copied) was just written.
                unsafe { chunk.commit_all() };
            }
            // SYNC POINT with the consumer's Release store of `done`.
            spin_until(deadline, "the consumer", || {
                done.load(Ordering::Acquire) > r
            })?;
            Ok(t0.elapsed())
        });
        let consumed = consumer
            .join()
            .map_err(|_| anyhow::anyhow!("consumer panicked"))?;
        consumed?;
        if bad.load(Ordering::Relaxed) != 0 {
            bail!(
                "consumer saw {} wrong messages",
                bad.load(Ordering::Relaxed)
            );
        }
        result
    })
}
