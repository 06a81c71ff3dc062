//! Peer: `ipc-channel` (Servo's), with its raw bytes channels
//! (`bytes_channel`, no serialization), made before the fork so that each
//! process keeps one end. No loan API: messages are always copied.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use ipc_channel::ipc::{IpcBytesReceiver, IpcBytesSender, bytes_channel};

use crate::harness::context::Figures;
use crate::harness::fork::fork_child;
use crate::harness::latency::measure_round_trips;
use crate::harness::throughput::{in_bytes, measure_rounds, read_stamp, stamp, stamp_matches};
use crate::harness::wait::WAIT_LIMIT;
use crate::profile::Profile;
use crate::report::model::Runs;

fn channel() -> Result<(IpcBytesSender, IpcBytesReceiver)> {
    bytes_channel().context("ipc-channel: bytes_channel")
}

/// Round-trip latency of 8-byte messages.
///
/// # Errors
///
/// When a channel, the fork or a transfer fails.
pub(crate) fn ping_pong(profile: &Profile) -> Result<Figures> {
    let (ping_tx, ping_rx) = channel()?;
    let (pong_tx, pong_rx) = channel()?;
    let total = (profile.round_trips * (profile.repeats + 1)) as u64;
    // `move`: the parent drops the child's ends, so a dead child shows up as a
    // disconnect instead of a hang.
    let child = fork_child(move || {
        for _ in 0..total {
            let msg = ping_rx.recv().context("receiving a ping")?;
            pong_tx.send(&msg).context("sending a pong")?;
        }
        Ok(())
    })?;
    let mut msg = [0u8; 8];
    let figures = measure_round_trips(profile.round_trips, profile.repeats, |seq| {
        stamp(&mut msg, seq);
        ping_tx.send(&msg).context("sending a ping")?;
        let back = pong_rx.recv().context("receiving a pong")?;
        if read_stamp(&back) != seq {
            bail!("pong carried the wrong sequence number");
        }
        Ok(())
    })?;
    child.join(WAIT_LIMIT)?;
    Ok(figures)
}

/// One-way throughput of `n` messages of `size` bytes per repeat.
///
/// # Errors
///
/// When a channel, the fork or a transfer fails, or a message is wrong.
pub(crate) fn throughput(profile: &Profile, size: usize, n: usize) -> Result<Runs> {
    let (tx, rx) = channel()?;
    let (ack_tx, ack_rx) = channel()?;
    let rounds = profile.repeats + 1;
    // `move`: the parent drops the child's ends, so a dead child shows up as a
    // disconnect instead of a hang.
    let child = fork_child(move || {
        let mut seq = 0u64;
        for _ in 0..rounds {
            for _ in 0..n {
                seq += 1;
                // `recv` hands over a fresh copy already: the message is
                // read there, not copied again.
                let msg = rx.recv().context("receiving")?;
                if msg.len() != size || !stamp_matches(read_stamp(&msg), seq, size) {
                    bail!("message {seq} out of order");
                }
            }
            ack_tx.send(b"k").context("acknowledging")?;
        }
        Ok(())
    })?;
    let mut src = vec![1u8; size];
    let mut seq = 0u64;
    let runs = measure_rounds(profile.repeats, n, size, in_bytes(size, false), |_| {
        let t0 = Instant::now();
        for _ in 0..n {
            seq += 1;
            stamp(&mut src, seq);
            tx.send(&src).context("sending")?;
        }
        ack_rx.recv().context("waiting for the consumer")?;
        Ok(t0.elapsed())
    });
    let joined = child.join(WAIT_LIMIT);
    let runs = runs?;
    joined?;
    Ok(runs)
}
