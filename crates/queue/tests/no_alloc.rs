//! `send`, `recv_into`, `loan`/`commit`, `recv_ref` and the batched forms
//! (`send_batch`, `loan_batch`, `recv_batch`)
//! allocate nothing: a counting global allocator over 10 000 messages;
//! nor do the checks of a live peer in another process while a handle
//! polls or waits.

use std::alloc::{GlobalAlloc, Layout, System};

use mproc_queue::{Consumer, Producer, Queue, QueueOptions, SpscQueue};

struct Counting;

thread_local! {
    /// Counting on this thread only, in this thread's own counter (the
    /// test harness's threads, and tests running beside, allocate as they
    /// please).
    static COUNTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static ALLOCS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.try_with(|c| c.get()).unwrap_or(false) {
            let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
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
    ALLOCS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCS.with(|n| n.get())
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

/// The peer process of `peer_checks_do_not_allocate`, which starts this
/// binary again to run it: registers a producer and a consumer on the
/// queue named in the environment and sleeps until killed. Does nothing
/// when run as a test.
#[test]
#[ignore = "the peer process of peer_checks_do_not_allocate"]
fn peer_process() {
    let Ok(name) = std::env::var(PEER_ENV) else {
        return;
    };
    let q = Queue::open(&name).unwrap();
    let _handles = (q.producer().unwrap(), q.consumer().unwrap());
    std::thread::sleep(std::time::Duration::from_secs(30));
}

const PEER_ENV: &str = "MPROC_NO_ALLOC_PEER";

/// The checks of whether the other side is still there (a live peer in
/// another process, whose `/proc` entry is read) allocate nothing either:
/// polling an empty queue, a receive that times out, and a send that
/// times out on a full queue.
#[test]
fn peer_checks_do_not_allocate() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let name = format!("test-no-alloc-peer-{}", std::process::id());
    let q = Queue::create(&name, QueueOptions::new().capacity(4).slot_size(16)).unwrap();
    let mut peer = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "peer_process", "--ignored", "--quiet"])
        .env(PEER_ENV, &name)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while (q.stats().producers, q.stats().consumers) != (1, 1) {
        assert!(Instant::now() < deadline, "the peer never registered");
        std::thread::sleep(Duration::from_millis(1));
    }
    let (mut tx, mut rx) = (q.producer().unwrap(), q.consumer().unwrap());
    let mut buf = [0u8; 16];
    let wait = Duration::from_millis(100);
    let polls = counted(|| {
        let end = Instant::now() + wait;
        while Instant::now() < end {
            assert!(rx.try_recv_into(&mut buf).is_err());
        }
    });
    let receive = counted(|| assert!(rx.recv_ref_timeout(wait).is_err()));
    for _ in 0..4 {
        tx.send(b"full").unwrap();
    }
    let send = counted(|| assert!(tx.send_timeout(b"more", wait).is_err()));
    let _ = peer.kill();
    let _ = peer.wait();
    assert_eq!(
        (polls, receive, send),
        (0, 0, 0),
        "allocations with a live peer in another process (polls, receive, send)"
    );
}
