//! Peer: iceoryx2 publish-subscribe (zero-copy shared memory, polling
//! subscribers). Ping-pong uses two `u64` services; throughput uses a `[u8]`
//! slice service with a subscriber buffer as deep as the other rings and
//! `RetryUntilDelivered` backpressure, so that nothing is dropped.
//!
//! Each process makes its own node after the fork; services get a prefix
//! unique to this run, and [`cleanup`] removes whatever files remain.

use std::mem::MaybeUninit;
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Result, anyhow, bail};
use iceoryx2::port::backpressure_strategy::BackpressureStrategy;
use iceoryx2::prelude::*;

use crate::harness::context::Figures;
use crate::harness::fork::fork_child;
use crate::harness::latency::measure_round_trips;
use crate::harness::shared::SharedBlock;
use crate::harness::throughput::{in_bytes, measure_rounds, read_stamp, stamp, stamp_matches};
use crate::harness::wait::{WAIT_LIMIT, spin_until};
use crate::profile::Profile;
use crate::report::model::Runs;

/// The harness's pid, fixed at the first call in the parent, so that its
/// forked children use the same prefix and service names.
fn run_id() -> u32 {
    static RUN_ID: OnceLock<u32> = OnceLock::new();
    *RUN_ID.get_or_init(std::process::id)
}

/// The file-name prefix of every iceoryx2 resource this run makes.
fn prefix() -> String {
    format!("mprocbench{}_", run_id())
}

fn err(e: impl std::fmt::Debug) -> anyhow::Error {
    anyhow!("iceoryx2: {e:?}")
}

/// A node of its own for the calling process, with this run's prefix and no
/// signal handlers.
fn node() -> Result<Node<ipc::Service>> {
    crate::harness::interrupt::ensure_running()?;
    let mut config = Config::default();
    config.global.prefix = FileName::new(prefix().as_bytes()).map_err(err)?;
    NodeBuilder::new()
        .config(&config)
        .signal_handling_mode(SignalHandlingMode::Disabled)
        .create::<ipc::Service>()
        .map_err(err)
}

fn service_name(what: &str) -> Result<ServiceName> {
    ServiceName::new(&format!("mproc-bench/{}/{what}", run_id())).map_err(err)
}

/// Round-trip latency of 8-byte (`u64`) samples, both sides busy-polling.
///
/// # Errors
///
/// When a node, service or port cannot be made, or a wait times out.
pub(crate) fn ping_pong(profile: &Profile) -> Result<Figures> {
    let block = SharedBlock::new(1, 0)?;
    let ready = block.word(0);
    let (ping_name, pong_name) = (service_name("ping")?, service_name("pong")?);
    let total = (profile.round_trips * (profile.repeats + 1)) as u64;
    let parent_node = node()?;
    let open = |node: &Node<ipc::Service>, name: &ServiceName| {
        node.service_builder(name)
            .publish_subscribe::<u64>()
            .history_size(0)
            .subscriber_max_buffer_size(1)
            .open_or_create()
            .map_err(err)
    };
    let ping = open(&parent_node, &ping_name)?;
    let pong = open(&parent_node, &pong_name)?;
    let publisher = ping.publisher_builder().create().map_err(err)?;
    let subscriber = pong.subscriber_builder().create().map_err(err)?;
    let child = fork_child(|| {
        let node = node()?;
        let ping = open(&node, &ping_name)?;
        let pong = open(&node, &pong_name)?;
        let sub = ping.subscriber_builder().create().map_err(err)?;
        let publ = pong.publisher_builder().create().map_err(err)?;
        ready.store(1, Ordering::Release);
        for _ in 0..total {
            let mut got = None;
            spin_until("a ping", || {
                got = sub.receive().ok().flatten().map(|s| *s.payload());
                got.is_some()
            })?;
            publ.send_copy(got.unwrap_or_default()).map_err(err)?;
        }
        Ok(())
    })?;
    spin_until("the subscriber", || ready.load(Ordering::Acquire) == 1)?;
    let figures = measure_round_trips(profile.round_trips, profile.repeats, |seq| {
        publisher.send_copy(seq).map_err(err)?;
        let mut got = None;
        spin_until("a pong", || {
            got = subscriber.receive().ok().flatten().map(|s| *s.payload());
            got.is_some()
        })?;
        if got != Some(seq) {
            bail!("pong carried the wrong sequence number");
        }
        Ok(())
    });
    let joined = child.join(WAIT_LIMIT);
    let figures = figures?;
    joined?;
    Ok(figures)
}

/// One-way throughput of `n` slices of `size` bytes per repeat; `loaned`
/// writes and reads only the 8-byte stamp in place, otherwise each message is
/// copied in and out.
///
/// # Errors
///
/// When a node, service or port cannot be made, a wait times out, or a
/// message arrives out of order.
pub(crate) fn throughput(profile: &Profile, size: usize, n: usize, loaned: bool) -> Result<Runs> {
    let block = SharedBlock::new(2, 0)?;
    let (ready, done) = (block.word(0), block.word(1));
    let name = service_name(&format!("data{size}"))?;
    let depth = Profile::capacity_for(size);
    let rounds = (profile.repeats + 1) as u64;
    let parent_node = node()?;
    let open = |node: &Node<ipc::Service>| {
        node.service_builder(&name)
            .publish_subscribe::<[u8]>()
            .history_size(0)
            .subscriber_max_buffer_size(depth)
            .enable_safe_overflow(false)
            .open_or_create()
            .map_err(err)
    };
    let service = open(&parent_node)?;
    let publisher = service
        .publisher_builder()
        .initial_max_slice_len(size)
        .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
        .create()
        .map_err(err)?;
    let child = fork_child(|| {
        let node = node()?;
        let service = open(&node)?;
        let sub = service
            .subscriber_builder()
            .buffer_size(depth)
            .create()
            .map_err(err)?;
        ready.store(1, Ordering::Release);
        let mut out = vec![0u8; size];
        let mut seq = 0u64;
        for round in 1..=rounds {
            for _ in 0..n {
                seq += 1;
                let mut ok = true;
                spin_until("a sample", || match sub.receive() {
                    Ok(Some(sample)) => {
                        let payload = sample.payload();
                        let got = if loaned {
                            read_stamp(payload)
                        } else {
                            out.copy_from_slice(payload);
                            read_stamp(&out)
                        };
                        ok = stamp_matches(got, seq, size);
                        true
                    }
                    _ => false,
                })?;
                if !ok {
                    bail!("sample {seq} out of order");
                }
            }
            done.store(round, Ordering::Release);
        }
        Ok(())
    })?;
    spin_until("the subscriber", || ready.load(Ordering::Acquire) == 1)?;
    let mut src = vec![1u8; size];
    let mut seq = 0u64;
    let runs = measure_rounds(profile.repeats, n, size, in_bytes(size, loaned), |r| {
        let t0 = Instant::now();
        for _ in 0..n {
            seq += 1;
            let sample = publisher.loan_slice_uninit(size).map_err(err)?;
            let sample = if loaned {
                let mut sample = sample;
                let mut head = [0u8; 8];
                stamp(&mut head, seq);
                for (dst, b) in sample.payload_mut().iter_mut().zip(head) {
                    *dst = MaybeUninit::new(b);
                }
                // SAFETY: `u8` has no invalid values and the slot lies in
                // shared memory the OS mapped initialized (zeroes or earlier
                // samples); the subscriber reads only the stamp written above.
                unsafe { sample.assume_init() }
            } else {
                stamp(&mut src, seq);
                sample.write_from_slice(&src)
            };
            sample.send().map_err(err)?;
        }
        // SYNC POINT with the subscriber's Release store of `done`.
        spin_until("the subscriber", || done.load(Ordering::Acquire) > r as u64)?;
        Ok(t0.elapsed())
    });
    let joined = child.join(WAIT_LIMIT);
    let runs = runs?;
    joined?;
    Ok(runs)
}

/// Removes the files this run's iceoryx2 nodes and services left in
/// `/dev/shm` and under the iceoryx2 root folder, and that folder's empty
/// subfolders.
pub(crate) fn cleanup() {
    let prefix = prefix();
    remove_matching(&|name| name.starts_with(&prefix));
}

/// Removes what earlier runs that were killed left behind: files named with
/// this harness's prefix and the pid of a process that no longer exists.
pub(crate) fn cleanup_stale() {
    remove_matching(&|name| {
        let Some(rest) = name.strip_prefix("mprocbench") else {
            return false;
        };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        !pid.is_empty()
            && rest[pid.len()..].starts_with('_')
            && !std::path::Path::new("/proc").join(&pid).exists()
    });
}

fn remove_matching(matches: &dyn Fn(&str) -> bool) {
    remove_in(std::path::Path::new("/dev/shm"), matches, false);
    remove_in(std::path::Path::new("/tmp/iceoryx2"), matches, true);
}

fn remove_in(dir: &std::path::Path, matches: &dyn Fn(&str) -> bool, recurse: bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir && recurse {
            remove_in(&path, matches, true);
        } else if matches(&name) {
            let _ = std::fs::remove_file(&path);
        }
    }
    if recurse {
        // Fails, harmlessly, unless the folder is empty.
        let _ = std::fs::remove_dir(dir);
    }
}
