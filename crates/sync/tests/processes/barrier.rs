//! Barrier between processes: many rounds, and a party killed mid-round.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use mproc_shm::Segment;
use mproc_sync::{Barrier, SyncError};
use mproc_sys::{ExitStatus, Signal, kill};

use crate::harness::{join, join_all_ok, spawn, wait_until};

const LIMIT: Duration = Duration::from_secs(60);
const SECS_10: Duration = Duration::from_secs(10);

/// Four processes, 1 000 rounds: in each round every party sees every
/// other's write of the round number, and the arrival indices are 0..4.
pub(crate) fn four_processes_thousand_rounds() {
    const PARTIES: usize = 4;
    const ROUNDS: usize = 1_000;
    let b = Barrier::new(PARTIES as u32).unwrap();
    let shared = Segment::anonymous(4 * (PARTIES + ROUNDS) as u64).unwrap();
    let p = shared.payload();
    let marks: Vec<&AtomicU32> = (0..PARTIES).map(|i| p.get(4 * i as u64).unwrap()).collect();
    let masks: Vec<&AtomicU32> = (0..ROUNDS)
        .map(|r| p.get(4 * (PARTIES + r) as u64).unwrap())
        .collect();
    let pids: Vec<i32> = (0..PARTIES)
        .map(|me| {
            let (marks, masks, b) = (&marks, &masks, &b);
            spawn(move || {
                for (round, mask) in masks.iter().enumerate() {
                    marks[me].store(round as u32, Ordering::Relaxed);
                    let Ok(idx) = b.wait_timeout(SECS_10) else {
                        return 1;
                    };
                    mask.fetch_or(1 << idx, Ordering::Relaxed);
                    // Everyone wrote this round before anyone passed.
                    if marks
                        .iter()
                        .any(|m| m.load(Ordering::Relaxed) != round as u32)
                    {
                        return 2;
                    }
                    // And nobody overwrites before everyone has read.
                    if b.wait_timeout(SECS_10).is_err() {
                        return 3;
                    }
                }
                0
            })
        })
        .collect();
    join_all_ok(&pids, LIMIT);
    assert!(masks.iter().all(|m| m.load(Ordering::Relaxed) == 0b1111));
    assert!(!b.broken());
}

/// Three parties loop on the barrier; one is killed with SIGKILL: the other
/// two get `BrokenBarrier` soon after, not a hang.
pub(crate) fn killed_party_breaks_it() {
    let b = Barrier::new(3).unwrap();
    let shared = Segment::anonymous(64).unwrap();
    let rounds = shared.payload().get::<AtomicU32>(0).unwrap();
    let party = || {
        spawn(|| {
            loop {
                match b.wait_timeout(SECS_10) {
                    Ok(0) => {
                        rounds.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(SyncError::BrokenBarrier { parties: 3 }) => return 0,
                    Err(_) => return 1,
                }
            }
        })
    };
    let pids = [party(), party(), party()];
    assert!(wait_until(SECS_10, || rounds.load(Ordering::Relaxed) >= 200));
    kill(pids[0], Signal::Kill).unwrap();
    let start = Instant::now();
    assert_eq!(join(pids[0], LIMIT), ExitStatus::Signaled(9));
    join_all_ok(&pids[1..], LIMIT);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(3), "broken after {took:?}");
    assert!(b.broken());
}
