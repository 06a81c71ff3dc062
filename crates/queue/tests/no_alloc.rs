//! `send`, `recv_into`, `loan`/`commit`, `recv_ref` and the batched forms
//! (`send_batch`, `loan_batch`, `recv_batch`)
//! allocate nothing: a counting global allocator over 10 000 messages.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use mproc_queue::{Consumer, Producer, Queue, QueueOptions, SpscQueue};

struct Counting;

thread_local! {
    /// Counting on this thread only (the test harness's own threads
    /// allocate as they please).
    static COUNTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.try_with(|c| c.get()).unwrap_or(false) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const N: u64 = 10_000;

fn counted(f: impl FnOnce()) -> u64 {
    ALLOCS.store(0, Ordering::SeqCst);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCS.load(Ordering::SeqCst)
}

fn round_trips(tx: &mut Producer, rx: &mut Consumer) {
    let mut buf = [0u8; 64];
    for i in 0..N {
        tx.send(&i.to_le_bytes()).unwrap();
        let n = rx.recv_into(&mut buf).unwrap();
        assert_eq!(&buf[..n], i.to_le_bytes());
        let mut slot = tx.loan().unwrap();
        slot[..8].copy_from_slice(&i.to_le_bytes());
        slot.commit(8).unwrap();
        let m = rx.recv_ref().unwrap();
        assert_eq!(*m.as_pod::<u64>().unwrap(), i);
        drop(m);
        tx.send_pod(&i).unwrap();
        assert_eq!(rx.recv_pod::<u64>().unwrap(), i);
        tx.send_batch(&[[1u8; 4], [2u8; 4], [3u8; 4]]).unwrap();
        let mut sum = 0;
        while sum < 6 {
            rx.recv_batch(8, |m| sum += m[0]).unwrap();
        }
        let mut batch = tx.loan_batch(3).unwrap();
        let k = batch.len();
        batch.iter_mut().for_each(|s| s[0] = 2);
        batch.commit(&[1, 1, 1][..k]).unwrap();
        let mut sum = 0;
        while sum < 2 * k {
            rx.recv_batch(8, |m| sum += usize::from(m[0])).unwrap();
        }
    }
}

#[test]
fn hot_paths_do_not_allocate() {
    let opts = QueueOptions::new().capacity(16).slot_size(64);
    let q = Queue::new(opts).unwrap();
    let (mut tx, mut rx) = (q.producer().unwrap(), q.consumer().unwrap());
    let s = SpscQueue::new(opts).unwrap();
    let (mut stx, mut srx) = (s.producer().unwrap(), s.consumer().unwrap());
    let mpmc = counted(|| round_trips(&mut tx, &mut rx));
    let spsc = counted(|| round_trips(&mut stx, &mut srx));
    assert_eq!(
        (mpmc, spsc),
        (0, 0),
        "allocations in 10 000 round trips (MPMC, SPSC)"
    );
    // The counter works: recv() returns a Vec.
    tx.send(b"x").unwrap();
    assert!(counted(|| drop(rx.recv().unwrap())) >= 1);
}
