//! In-process ceiling for the dict: a `HashMap<[u8; 8], [u8; 8]>` behind a
//! `std::sync::Mutex`, used by one thread, or by two threads each on half of
//! the keys. Same keys and values as every dict: 8-byte keys `k0000042`,
//! 8-byte values, held by value (no allocation per operation: a ceiling
//! with owned byte vectors measured the allocator).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::harness::context::Figures;
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

/// Time spent in insert, get and update over keys `lo..hi`.
fn phases(map: &Mutex<HashMap<[u8; 8], [u8; 8]>>, lo: usize, hi: usize) -> Result<[Duration; 3]> {
    let lock = || map.lock().map_err(|_| anyhow::anyhow!("poisoned"));
    let t0 = Instant::now();
    for i in lo..hi {
        lock()?.insert(key(i), VALUE);
    }
    let t1 = Instant::now();
    for i in lo..hi {
        let got = lock()?.get(&key(i)).copied();
        if got != Some(VALUE) {
            bail!("wrong value for key {i}");
        }
    }
    let t2 = Instant::now();
    for i in lo..hi {
        if let Some(v) = lock()?.get_mut(&key(i)) {
            *v = NEWER;
        }
    }
    Ok([t1 - t0, t2 - t1, t2.elapsed()])
}

/// Operations per second of insert, get and update; `threads` is 1 or 2.
///
/// # Errors
///
/// When a value read back is wrong.
pub(crate) fn ops(keys: usize, repeats: usize, threads: usize) -> Result<Figures> {
    let once = || -> Result<[f64; 3]> {
        let map = Mutex::new(HashMap::new());
        let per = keys / threads;
        let times: Vec<[Duration; 3]> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let map = &map;
                    s.spawn(move || phases(map, t * per, (t + 1) * per))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().map_err(|_| anyhow::anyhow!("thread panicked"))?)
                .collect::<Result<_>>()
        })?;
        let n = (per * threads) as f64;
        // Threads work at once: a phase lasts as long as its slower side.
        Ok(std::array::from_fn(|p| {
            n / times
                .iter()
                .map(|t| t[p])
                .max()
                .unwrap_or_default()
                .as_secs_f64()
                .max(1e-9)
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
