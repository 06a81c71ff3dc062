//! mproc's `Dict`: insert, get and update (overwrite) with the same 8-byte
//! keys and values as the peers, from one process or from two forked
//! processes each on half of the keys, started together.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use mproc::dict::{Dict, DictOptions};

use crate::harness::context::Figures;
use crate::harness::fork::fork_child;
use crate::harness::shared::SharedBlock;
use crate::harness::wait::{WAIT_LIMIT, spin_until};
use crate::peers::hashmap::{NEWER, VALUE, key};
use crate::report::model::Runs;

/// Time spent in insert, get and update over keys `lo..hi`.
fn phases(dict: &Dict, lo: usize, hi: usize) -> Result<[Duration; 3]> {
    let t0 = Instant::now();
    for i in lo..hi {
        dict.insert(&key(i), &VALUE)?;
    }
    let t1 = Instant::now();
    for i in lo..hi {
        if dict.get(&key(i))?.as_deref() != Some(&VALUE[..]) {
            bail!("wrong value for key {i}");
        }
    }
    let t2 = Instant::now();
    for i in lo..hi {
        dict.insert(&key(i), &NEWER)?;
    }
    Ok([t1 - t0, t2 - t1, t2.elapsed()])
}

/// Two forked processes, each on half of the keys; the phase times of the
/// slower one.
fn two_processes(dict: &Dict, keys: usize) -> Result<[Duration; 3]> {
    // Lines: 0 ready count, 1 go, 2..8 the two children's phase times (ns).
    let block = SharedBlock::new(8, 0)?;
    let half = keys / 2;
    let mut children = Vec::new();
    for c in 0..2 {
        let block = &block;
        children.push(fork_child(move || {
            block.word(0).fetch_add(1, Ordering::AcqRel);
            spin_until("the start", || block.word(1).load(Ordering::Acquire) == 1)?;
            let t = phases(dict, c * half, (c + 1) * half)?;
            for (p, d) in t.iter().enumerate() {
                block
                    .word(2 + c * 3 + p)
                    .store(d.as_nanos() as u64, Ordering::Release);
            }
            Ok(())
        })?);
    }
    spin_until("both children", || {
        block.word(0).load(Ordering::Acquire) == 2
    })?;
    block.word(1).store(1, Ordering::Release);
    for child in children {
        child.join(WAIT_LIMIT)?;
    }
    Ok(std::array::from_fn(|p| {
        let a = block.word(2 + p).load(Ordering::Acquire);
        let b = block.word(5 + p).load(Ordering::Acquire);
        Duration::from_nanos(a.max(b))
    }))
}

/// Operations per second of insert, get and update into a fresh dict with
/// default options, from 1 or 2 processes.
///
/// # Errors
///
/// When the dict fails or a value read back is wrong.
pub(crate) fn ops(keys: usize, repeats: usize, two: bool) -> Result<Figures> {
    let once = || -> Result<[f64; 3]> {
        let dict = Dict::new(DictOptions::new())?;
        let (times, n) = if two {
            (two_processes(&dict, keys)?, keys / 2 * 2)
        } else {
            (phases(&dict, 0, keys)?, keys)
        };
        Ok(times.map(|t| n as f64 / t.as_secs_f64().max(1e-9)))
    };
    once()?;
    let mut runs = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..repeats {
        for (p, v) in once()?.into_iter().enumerate() {
            runs[p].push(v);
        }
    }
    let [i, g, u] = runs;
    Ok(vec![
        ("insert".into(), Runs(i)),
        ("get".into(), Runs(g)),
        ("update".into(), Runs(u)),
    ])
}
