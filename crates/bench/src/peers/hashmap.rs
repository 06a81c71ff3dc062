//! In-process ceiling for the dict: a `HashMap<[u8; 8], [u8; 8]>` behind a
//! `std::sync::Mutex`, used by one thread, or by two threads each on half of
//! the keys. Same keys and values as every dict: 8-byte keys `k0000042`,
//! 8-byte values, held by value (no allocation per operation: a ceiling
//! with owned byte vectors measured the allocator).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Result, bail};

use crate::harness::context::Figures;
use crate::harness::thread_rounds::together;
use crate::harness::wait::spin_until;
use crate::report::model::Runs;

/// The key of index `i`, the same for every dict system.
pub(crate) fn key(i: usize) -> [u8; 8] {
    // Digits written in place: a `format!` here cost ~28 ns per operation,
    // more than a dict operation itself, and would measure the allocator.
    let mut k = *b"k0000000";
    let mut n = i % 10_000_000;
    for d in k[1..].iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    k
}

/// The value first inserted, and the one updates write.
pub(crate) const VALUE: [u8; 8] = [1; 8];
/// The value updates write.
pub(crate) const NEWER: [u8; 8] = [2; 8];

/// When one thread ran insert, get and update over keys `lo..hi`:
/// `(start, end)` of each phase. `at_start(p)` runs before phase `p`.
fn phases(
    map: &Mutex<HashMap<[u8; 8], [u8; 8]>>,
    lo: usize,
    hi: usize,
    mut at_start: impl FnMut(usize) -> Result<()>,
) -> Result<[(Instant, Instant); 3]> {
    let lock = || map.lock().map_err(|_| anyhow::anyhow!("poisoned"));
    at_start(0)?;
    let t0 = Instant::now();
    for i in lo..hi {
        lock()?.insert(key(i), VALUE);
    }
    let t1 = Instant::now();
    at_start(1)?;
    let t2 = Instant::now();
    for i in lo..hi {
        let got = lock()?.get(&key(i)).copied();
        if got != Some(VALUE) {
            bail!("wrong value for key {i}");
        }
    }
    let t3 = Instant::now();
    at_start(2)?;
    let t4 = Instant::now();
    for i in lo..hi {
        if let Some(v) = lock()?.get_mut(&key(i)) {
            *v = NEWER;
        }
    }
    Ok([(t0, t1), (t2, t3), (t4, Instant::now())])
}

/// Operations per second of insert, get and update; `threads` is 1 or 2.
///
/// The threads start each phase together, released by a spinning barrier
/// (`std::sync::Barrier`'s futex wake took as long as a whole phase of 2500
/// keys), and a phase lasts from the first thread's start to the last
/// one's end ([`together`]): two threads that did not overlap (both placed
/// on one core) measure what one thread does, not twice as much.
///
/// # Errors
///
/// When a value read back is wrong.
pub(crate) fn ops(keys: usize, repeats: usize, threads: usize) -> Result<Figures> {
    let once = || -> Result<[f64; 3]> {
        let map = Mutex::new(HashMap::new());
        let per = keys / threads;
        // How many threads reached the start of each phase.
        let arrived: [AtomicUsize; 3] = Default::default();
        let barrier = |p: usize| {
            arrived[p].fetch_add(1, Ordering::AcqRel);
            spin_until("the other thread", || {
                arrived[p].load(Ordering::Acquire) == threads
            })
        };
        let spans: Vec<[(Instant, Instant); 3]> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (map, barrier) = (&map, &barrier);
                    s.spawn(move || phases(map, t * per, (t + 1) * per, barrier))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().map_err(|_| anyhow::anyhow!("thread panicked"))?)
                .collect::<Result<_>>()
        })?;
        let n = (per * threads) as f64;
        Ok(std::array::from_fn(|p| {
            let phase: Vec<(Instant, Instant)> = spans.iter().map(|s| s[p]).collect();
            let took = together(&phase).unwrap_or_default();
            n / took.as_secs_f64().max(1e-9)
        }))
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

#[cfg(test)]
mod tests {
    use super::key;

    #[test]
    fn keys_are_k_and_seven_digits() {
        assert_eq!(&key(0), b"k0000000");
        assert_eq!(&key(42), b"k0000042");
        assert_eq!(&key(9_999_999), b"k9999999");
        assert_eq!(&key(10_000_001), b"k0000001");
    }
}
