//! A growth from inside a closure while another thread grows the same
//! table (in the crate, to pick keys by shard).

use std::time::Duration;

use crate::hash::hash_key;
use crate::{Dict, DictError, DictOptions, Locked};

/// The first key `prefix<n>` that lands in shard `shard` of 4.
fn key_in(shard: u64, prefix: &str) -> Vec<u8> {
    (0u32..)
        .map(|n| format!("{prefix}{n}").into_bytes())
        .find(|k| hash_key(k) & 3 == shard)
        .unwrap_or_default()
}

/// The closure runs under shard 2 and inserts into shard 3, which needs a
/// growth; meanwhile the other thread's growth holds shards 0 and 1 and
/// waits for 2. The closure's growth must be refused before it waits for
/// shard 0, or neither thread ever goes on (here: both time out).
#[test]
fn growth_from_inside_a_closure_while_another_thread_grows_is_refused() {
    let big = vec![7u8; 60_000];
    let mut d = Dict::new(DictOptions::new().capacity(4).shards(4)).unwrap();
    d.set_lock_timeout(Some(Duration::from_secs(5)));
    let other = d.clone();
    let start = d.stats().unwrap().generation;
    let (held, inner, grower) = (key_in(2, "held"), key_in(3, "in"), key_in(0, "grow"));
    let refused = std::thread::scope(|s| {
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (big, inner) = (&big, &inner);
        let outer = s.spawn(move || {
            let mut refused = None;
            d.update(&held, |_| {
                held_tx.send(()).unwrap();
                // Time for the other thread's growth to take shards 0 and 1.
                std::thread::sleep(Duration::from_millis(200));
                refused = Some(d.insert(inner, big));
                Some(*b"o")
            })
            .unwrap();
            refused.unwrap()
        });
        held_rx.recv().unwrap();
        other.insert(&grower, big).unwrap();
        outer.join().unwrap()
    });
    assert!(
        matches!(
            refused,
            Err(DictError::HeldByThisThread {
                locked: Locked::Shard(2)
            })
        ),
        "{refused:?}"
    );
    assert!(other.stats().unwrap().generation > start);
    assert_eq!(other.get(&inner).unwrap(), None);
}
