//! Queue benchmarks between two processes (criterion, `iter_custom`):
//!
//! * `pingpong/*`: 8-byte round trip, SPSC and MPMC, per wait strategy,
//!   against a raw ping-pong on a shared atomic (the floor), on one line
//!   and on two (one per direction, as through any pair of queues), each
//!   rotated over 64 cache lines. The report measures the floors and the
//!   queues in interleaved blocks and gives each queue's ratio to the
//!   floors per block (see `BLOCKS`).
//! * `throughput/*`: one-way messages of 8 B, 64 B, 1 KiB, 64 KiB, single
//!   and batched, against rtrb and crossbeam's `ArrayQueue` between two
//!   threads.
//! * `large/*`: 1 MiB messages, `loan` + fill in place versus
//!   fill a buffer + `send`.
//!
//! Before criterion runs, a report prints round-trip median and p99 per
//! strategy, the floors again with a few nanoseconds of work on every hop
//! (what a hand-off that does anything can reach), round trips after idle
//! gaps (what the spin window decides), and a blocked consumer's CPU time
//! over 1 s.
//!
//! `cargo bench --bench queue` (add `-- --quick` for a short run). The
//! two sides run pinned to two CPUs (`MPROC_BENCH_NO_PIN=1` leaves the
//! placement to the scheduler).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use mproc::queue::{Consumer, Producer, Queue, QueueError, QueueOptions, SpscQueue, WaitStrategy};
use mproc::shm::Segment;
use mproc::sys::{ForkResult, exit_immediately, fork, waitpid};

/// The two CPUs the two sides run on (the parent on the first, children
/// and helper threads on the second), if the process may use two: pinned,
/// the scheduler cannot put both sides of a hand-off on one core.
static PIN: std::sync::OnceLock<Option<(usize, usize)>> = std::sync::OnceLock::new();

fn pin_parent() {
    let cpus = mproc::sys::cpu_affinity().unwrap_or_default();
    let pin = (cpus.len() >= 2 && std::env::var_os("MPROC_BENCH_NO_PIN").is_none())
        .then(|| (cpus[0], cpus[1]));
    if let Some((a, _)) = pin {
        let _ = mproc::sys::set_cpu_affinity(&[a]);
    }
    let _ = PIN.set(pin);
}

/// Moves the calling thread (or forked child) to the second CPU.
fn pin_peer() {
    if let Some(Some((_, b))) = PIN.get() {
        let _ = mproc::sys::set_cpu_affinity(&[*b]);
    }
}

/// Runs `child` in a forked process that leaves with `_exit`.
fn spawn(child: impl FnOnce()) -> i32 {
    // SAFETY: the bench process is single-threaded when it forks; the
    // child does queue operations only and leaves through `_exit`.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            pin_peer();
            child();
            exit_immediately(0)
        }
        ForkResult::Parent { child } => child,
    }
}

fn reap(pid: i32) {
    let _ = waitpid(pid, false);
}

/// Which queue a benchmark runs on.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Spsc,
    Mpmc,
}

/// One direction of a queue, handles made in the process that uses them.
enum Q {
    Spsc(SpscQueue),
    Mpmc(Queue),
}

impl Q {
    fn new(kind: Kind, opts: QueueOptions) -> Q {
        match kind {
            Kind::Spsc => Q::Spsc(SpscQueue::new(opts).unwrap()),
            Kind::Mpmc => Q::Mpmc(Queue::new(opts).unwrap()),
        }
    }
    fn producer(&self, wait: WaitStrategy) -> Producer {
        let mut p = match self {
            Q::Spsc(q) => q.producer(),
            Q::Mpmc(q) => q.producer(),
        }
        .unwrap();
        p.set_wait_strategy(wait);
        p
    }
    fn consumer(&self, wait: WaitStrategy) -> Consumer {
        let mut c = match self {
            Q::Spsc(q) => q.consumer(),
            Q::Mpmc(q) => q.consumer(),
        }
        .unwrap();
        c.set_wait_strategy(wait);
        c
    }
}

/// A ping-pong pair: the child echoes every message until it gets an
/// empty one.
struct PingPong {
    tx: Producer,
    rx: Consumer,
    child: i32,
}

impl PingPong {
    fn start(kind: Kind, wait: WaitStrategy) -> PingPong {
        let opts = QueueOptions::new().capacity(64).slot_size(8);
        let (ping, pong) = (Q::new(kind, opts), Q::new(kind, opts));
        let child = spawn(|| {
            let mut rx = ping.consumer(wait);
            let mut tx = pong.producer(wait);
            let mut buf = [0u8; 8];
            loop {
                let n = rx.recv_into(&mut buf).unwrap_or(0);
                if tx.send(&buf[..n]).is_err() || n == 0 {
                    return;
                }
            }
        });
        let tx = ping.producer(wait);
        let rx = pong.consumer(wait);
        PingPong { tx, rx, child }
    }
    #[inline]
    fn round_trip(&mut self, buf: &mut [u8; 8]) {
        self.tx.send(&buf[..]).unwrap();
        self.rx.recv_into(buf).unwrap();
    }
    fn stop(mut self) {
        let _ = self.tx.send(&[]);
        reap(self.child);
    }
}

/// How many cache lines the floor ping-pong rotates over.
///
/// A transfer's cost depends on which cache line moves: on a mesh of L3
/// slices each line's address hashes to one slice, and on this 2-CPU VM
/// the median round trip of a single line measured anywhere from 172 to
/// 248 ns depending on the line. A queue's messages travel through many
/// lines (its slots), so the floor is measured on as many: round trip `k`
/// uses line `k % FLOOR_LINES`, and the pooled median is the floor of a
/// typical line rather than of whichever line the allocator handed out.
const FLOOR_LINES: usize = 64;

/// Bytes between two floor words: two lines, so that the adjacent-line
/// prefetcher does not pair them.
const FLOOR_STRIDE: u64 = 128;

/// Raw floor: two processes alternate on a shared atomic, spinning.
///
/// `one_line`: both directions on one word (the floor the queue issue
/// names); otherwise the ping and the pong travel on two lines, as they
/// must through any pair of queues (one per direction).
///
/// `work`: how many `PAUSE`s each side spends between seeing the other's
/// word and writing its own (0 for the floor): the stand-in for what any
/// real hand-off does there (claim, copy, release, publish).
struct AtomicPingPong {
    seg: Segment,
    child: i32,
    one_line: bool,
    work: u32,
    round: u64,
}

/// `n` `PAUSE`s (about 8.6 ns each on this project's Xeon VMs).
#[inline(always)]
fn pauses(n: u32) {
    for _ in 0..n {
        std::hint::spin_loop();
    }
}

impl AtomicPingPong {
    fn start(one_line: bool) -> AtomicPingPong {
        AtomicPingPong::with_work(one_line, 0)
    }

    fn with_work(one_line: bool, work: u32) -> AtomicPingPong {
        let seg = Segment::anonymous(FLOOR_LINES as u64 * 2 * FLOOR_STRIDE).unwrap();
        let words = |k: u64| floor_words(&seg, k, one_line);
        let child = spawn(|| {
            for k in 0.. {
                let (ping, pong) = words(k);
                let want = k / FLOOR_LINES as u64 + 1;
                loop {
                    let v = ping.load(Ordering::Acquire);
                    if v == u64::MAX {
                        return;
                    }
                    if v == ping_value(want, one_line) {
                        pauses(work);
                        pong.store(pong_value(want, one_line), Ordering::Release);
                        break;
                    }
                    std::hint::spin_loop();
                }
            }
        });
        AtomicPingPong {
            seg,
            child,
            one_line,
            work,
            round: 0,
        }
    }
    /// One round trip; returns the line it used.
    #[inline]
    fn round_trip(&mut self) -> usize {
        let k = self.round;
        let (ping, pong) = floor_words(&self.seg, k, self.one_line);
        let n = k / FLOOR_LINES as u64 + 1;
        ping.store(ping_value(n, self.one_line), Ordering::Release);
        let want = pong_value(n, self.one_line);
        while pong.load(Ordering::Acquire) != want {
            std::hint::spin_loop();
        }
        pauses(self.work);
        self.round += 1;
        (k % FLOOR_LINES as u64) as usize
    }
    fn stop(self) {
        let (ping, _) = floor_words(&self.seg, self.round, self.one_line);
        ping.store(u64::MAX, Ordering::Release);
        reap(self.child);
    }
}

/// The ping and pong words of round trip `k` (the same word when
/// `one_line`).
fn floor_words(seg: &Segment, k: u64, one_line: bool) -> (&AtomicU64, &AtomicU64) {
    let line = (k % FLOOR_LINES as u64) * 2 * FLOOR_STRIDE;
    let p = seg.payload();
    let ping = p.get::<AtomicU64>(line).unwrap();
    let pong = if one_line {
        ping
    } else {
        p.get::<AtomicU64>(line + FLOOR_STRIDE).unwrap()
    };
    (ping, pong)
}

/// What the parent stores for the `n`th use of a line (from 1).
fn ping_value(n: u64, one_line: bool) -> u64 {
    if one_line { 2 * n - 1 } else { n }
}

/// What the child answers with.
fn pong_value(n: u64, one_line: bool) -> u64 {
    if one_line { 2 * n } else { n }
}

/// How many blocks the round-trip rows are measured in, interleaved.
///
/// On these VMs a transfer's cost moves between runs seconds apart (the
/// one-line floor measured 120-130 ns in most runs, 60 ns in two and
/// 380 ns in one: the host moves the two vCPUs), so a floor measured
/// before the queues is no reference for them. Each row
/// instead runs `N / BLOCKS` round trips per block, with a fresh pair of
/// processes, and every block runs every row in turn: a change of placement
/// hits the floors and the queues alike, and their ratio holds.
const BLOCKS: usize = 20;

/// One row of the round-trip table.
#[derive(Clone, Copy)]
enum Row {
    /// The atomic floor, on one line or two.
    Floor { one_line: bool },
    /// A queue pair with a wait strategy.
    Queue {
        kind: Kind,
        name: &'static str,
        wait: WaitStrategy,
    },
}

impl Row {
    /// Runs `n` round trips, adding their times to `samples` (and the
    /// floor's to `per_line`, by the line each used).
    fn measure(self, n: usize, samples: &mut Vec<Duration>, per_line: &mut [Vec<Duration>]) {
        match self {
            Row::Floor { one_line } => {
                let mut floor = AtomicPingPong::start(one_line);
                for _ in 0..n {
                    let t = Instant::now();
                    let line = floor.round_trip();
                    let d = t.elapsed();
                    samples.push(d);
                    per_line[line].push(d);
                }
                floor.stop();
            }
            Row::Queue { kind, wait, .. } => {
                let mut pp = PingPong::start(kind, wait);
                let mut buf = [0u8; 8];
                for _ in 0..n {
                    let t = Instant::now();
                    pp.round_trip(&mut buf);
                    samples.push(t.elapsed());
                }
                pp.stop();
            }
        }
    }
}

/// The round-trip rows: the floors and the spinning strategies measured in
/// [`BLOCKS`] interleaved blocks of `n / BLOCKS` each (see there), then
/// parking, which waits tens of microseconds per hop and is measured on
/// its own (`n / 10` round trips).
fn round_trip_report(n: usize) {
    println!(
        "== round trip, 8 B, two processes (median / p99 of {n}, in {BLOCKS} interleaved blocks) =="
    );
    let mut rows = vec![
        Row::Floor { one_line: true },
        Row::Floor { one_line: false },
    ];
    for kind in [Kind::Spsc, Kind::Mpmc] {
        for (name, wait) in strategies() {
            if !matches!(wait, WaitStrategy::Park) {
                rows.push(Row::Queue { kind, name, wait });
            }
        }
    }
    let mut samples: Vec<Vec<Duration>> = rows.iter().map(|_| Vec::with_capacity(n)).collect();
    let mut per_line: Vec<Vec<Vec<Duration>>> = rows
        .iter()
        .map(|_| (0..FLOOR_LINES).map(|_| Vec::new()).collect())
        .collect();
    // Each row's median in each block, for the per-block ratios.
    let mut block_medians: Vec<Vec<Duration>> = rows.iter().map(|_| Vec::new()).collect();
    for _ in 0..BLOCKS {
        for (i, row) in rows.iter().enumerate() {
            let from = samples[i].len();
            row.measure(n / BLOCKS, &mut samples[i], &mut per_line[i]);
            block_medians[i].push(percentiles(samples[i][from..].to_vec()).0);
        }
    }
    let mut floors = [Duration::ZERO; 2];
    for (i, (row, samples)) in rows.iter().zip(samples).enumerate() {
        let (m, p) = percentiles(samples);
        let per_line = std::mem::take(&mut per_line[i]);
        match *row {
            Row::Floor { one_line } => {
                let line_medians: Vec<Duration> =
                    per_line.into_iter().map(|v| percentiles(v).0).collect();
                let lo = line_medians.iter().min().copied().unwrap_or_default();
                let hi = line_medians.iter().max().copied().unwrap_or_default();
                let name = if one_line {
                    "atomic floor, 1 line "
                } else {
                    "atomic floor, 2 lines"
                };
                floors[usize::from(!one_line)] = m;
                println!(
                    "{name}  median {m:>9.2?}  p99 {p:>9.2?}  (per-line medians {lo:.0?}..{hi:.0?}: line k of each block's segment pooled, {FLOOR_LINES} lines)"
                );
            }
            Row::Queue { kind, name, .. } => {
                print_queue_row(kind, name, m, p, floors);
                // Rows 0 and 1 are the floors.
                let ratios = [0, 1].map(|f| median_ratio(&block_medians[i], &block_medians[f]));
                println!(
                    "    per-block ratio, median of {BLOCKS}: {:.2}x the 1-line floor, {:.2}x the 2-line floor",
                    ratios[0], ratios[1]
                );
            }
        }
    }
    for kind in [Kind::Spsc, Kind::Mpmc] {
        let mut samples = Vec::with_capacity(n / 10);
        Row::Queue {
            kind,
            name: "park",
            wait: WaitStrategy::Park,
        }
        .measure(n / 10, &mut samples, &mut []);
        let (m, p) = percentiles(samples);
        print_queue_row(kind, "park", m, p, floors);
    }
}

/// The median over blocks of `row`'s block median over `floor`'s in the
/// same block.
fn median_ratio(row: &[Duration], floor: &[Duration]) -> f64 {
    let mut r: Vec<f64> = row
        .iter()
        .zip(floor)
        .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64().max(1e-12))
        .collect();
    r.sort_by(f64::total_cmp);
    r.get(r.len() / 2).copied().unwrap_or(f64::NAN)
}

/// One queue row of the round-trip table, with its ratios to the floors.
fn print_queue_row(kind: Kind, name: &str, m: Duration, p: Duration, [one, two]: [Duration; 2]) {
    let ratio = |f: Duration| m.as_secs_f64() / f.as_secs_f64();
    println!(
        "{kind:?} {name:<15} median {m:>9.2?}  p99 {p:>9.2?}  ({:.2}x the 1-line floor, {:.2}x the 2-line floor)",
        ratio(one),
        ratio(two)
    );
}

/// The floors again with work on each hop, and the work a queue hop does.
///
/// The one-line floor is cheap only while each side writes the line the
/// moment it has read it: the line then moves once per hop. Given a few
/// nanoseconds of work in between, the waiting side reads the line back
/// meanwhile, and the write must take it away again: from two `PAUSE`s per
/// hop on, one line costs what two lines do (measured 205 -> 318 ns, two
/// lines 293 -> 333 ns). Any queue works between reading a message and
/// publishing the next; what mproc's does is timed here in one process,
/// with no line moving.
fn work_sweep(n: usize) {
    println!("== floors with work on every hop (PAUSEs per side; median of {n}) ==");
    let t = Instant::now();
    pauses(1_000_000);
    let pause = t.elapsed() / 1_000_000;
    for work in [0u32, 1, 2, 3, 5] {
        let mut row = format!("{work} PAUSE ({:>4.0?})", pause * work);
        for one_line in [true, false] {
            let mut floor = AtomicPingPong::with_work(one_line, work);
            let mut samples = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                floor.round_trip();
                samples.push(t.elapsed());
            }
            floor.stop();
            let label = if one_line { "1 line" } else { "2 lines" };
            row += &format!("   {label} {:>9.2?}", percentiles(samples).0);
        }
        println!("{row}");
    }
    let opts = QueueOptions::new().capacity(64).slot_size(8);
    let (ping, pong) = (Q::new(Kind::Spsc, opts), Q::new(Kind::Spsc, opts));
    let wait = WaitStrategy::BusySpin;
    let (mut ping_tx, mut ping_rx) = (ping.producer(wait), ping.consumer(wait));
    let (mut pong_tx, mut pong_rx) = (pong.producer(wait), pong.consumer(wait));
    let mut buf = [0u8; 8];
    let hops = 1_000_000u32;
    let t = Instant::now();
    for _ in 0..hops / 2 {
        ping_tx.send(&buf).unwrap();
        ping_rx.recv_into(&mut buf).unwrap();
        pong_tx.send(&buf).unwrap();
        pong_rx.recv_into(&mut buf).unwrap();
    }
    println!(
        "SPSC hop in one process (recv_into + send, no line moving): {:.1?}",
        t.elapsed() / hops
    );
}

fn percentiles(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort_unstable();
    (v[v.len() / 2], v[v.len() * 99 / 100])
}

fn strategies() -> [(&'static str, WaitStrategy); 3] {
    [
        ("busy_spin", WaitStrategy::BusySpin),
        ("spin_then_park", WaitStrategy::default()),
        ("park", WaitStrategy::Park),
    ]
}

/// Median and p99 of single round trips, gap sweeps, blocked CPU.
fn report() {
    const N: usize = 20_000;
    round_trip_report(N);
    work_sweep(N);
    println!("== SPSC round trip after an idle gap (median of 300), by spin window ==");
    let windows = [
        ("park", WaitStrategy::Park),
        (
            "spin 10us",
            WaitStrategy::SpinThenPark {
                spin: Duration::from_micros(10),
            },
        ),
        (
            "spin 50us",
            WaitStrategy::SpinThenPark {
                spin: Duration::from_micros(50),
            },
        ),
        (
            "spin 100us",
            WaitStrategy::SpinThenPark {
                spin: Duration::from_micros(100),
            },
        ),
        (
            "spin 500us",
            WaitStrategy::SpinThenPark {
                spin: Duration::from_micros(500),
            },
        ),
        ("busy spin", WaitStrategy::BusySpin),
    ];
    let gaps = [0u64, 20, 80, 300];
    println!(
        "{:<12}{}",
        "",
        gaps.map(|g| format!("gap {g:>3}us   ")).concat()
    );
    for (name, wait) in windows {
        let mut pp = PingPong::start(Kind::Spsc, wait);
        let mut buf = [0u8; 8];
        let mut row = format!("{name:<12}");
        for gap in gaps {
            let mut samples = Vec::with_capacity(300);
            for _ in 0..300 {
                let until = Instant::now() + Duration::from_micros(gap);
                while Instant::now() < until {
                    std::hint::spin_loop();
                }
                let t = Instant::now();
                pp.round_trip(&mut buf);
                samples.push(t.elapsed());
            }
            row += &format!("{:>10.2?}   ", percentiles(samples).0);
        }
        pp.stop();
        println!("{row}");
    }
    throughput_report();
    println!("== CPU time of a consumer blocked 1 s on an empty queue ==");
    for (name, wait) in strategies().into_iter().skip(1) {
        let shared = Segment::anonymous(64).unwrap();
        let q = Queue::new(QueueOptions::new()).unwrap();
        let _tx = q.producer().unwrap();
        let child = spawn(|| {
            let mut rx = q.consumer().unwrap();
            rx.set_wait_strategy(wait);
            let before = mproc::sys::process_cpu_time();
            let _ = rx.recv_timeout(Duration::from_secs(1));
            let spent = mproc::sys::process_cpu_time() - before;
            let w = shared.payload().get::<AtomicU64>(0).unwrap();
            w.store(spent.as_micros() as u64, Ordering::Release);
        });
        reap(child);
        let us = shared
            .payload()
            .get::<AtomicU64>(0)
            .unwrap()
            .load(Ordering::Acquire);
        println!("{name:<15} {us} us");
    }
}

/// Messages per second moving `n` messages of `size` bytes one way
/// between two processes (best of `runs`: robust against a loaded
/// machine).
fn one_way_rate(kind: Kind, size: usize, batched: bool, n: u64, runs: usize) -> f64 {
    let cap = if size >= 65536 { 64 } else { 4096 };
    let mut best = f64::MAX;
    for _ in 0..runs {
        let q = Q::new(kind, QueueOptions::new().capacity(cap).slot_size(size));
        let counter = Segment::anonymous(64).unwrap();
        let child = counting_consumer(&q, &counter, size, batched);
        let mut tx = q.producer(WaitStrategy::BusySpin);
        let count = counter.payload().get::<AtomicU64>(0).unwrap();
        let msgs = vec![vec![7u8; size]; 64];
        // Warm up: the child is attached and spinning.
        tx.send(&msgs[0]).unwrap();
        while count.load(Ordering::Acquire) < 1 {
            std::hint::spin_loop();
        }
        let t = Instant::now();
        let mut sent = 0;
        while sent < n {
            if batched {
                let k = (n - sent).min(64) as usize;
                tx.send_batch(&msgs[..k]).unwrap();
                sent += k as u64;
            } else {
                tx.send(&msgs[0]).unwrap();
                sent += 1;
            }
        }
        while count.load(Ordering::Acquire) < n + 1 {
            std::hint::spin_loop();
        }
        best = best.min(t.elapsed().as_secs_f64());
        let _ = tx.send(&[]);
        reap(child);
    }
    n as f64 / best
}

/// rtrb (SPSC) or crossbeam's ArrayQueue (MPMC) between two threads, 8 B.
fn thread_rate(mpmc: bool, n: u64, runs: usize) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..runs {
        let t;
        if mpmc {
            let q = crossbeam::queue::ArrayQueue::<u64>::new(4096);
            t = Instant::now();
            std::thread::scope(|s| {
                let q = &q;
                s.spawn(move || {
                    pin_peer();
                    let mut i = 0;
                    while i < n {
                        if q.push(i).is_ok() {
                            i += 1;
                        }
                    }
                });
                let mut k = 0;
                while k < n {
                    if let Some(v) = q.pop() {
                        black_box(v);
                        k += 1;
                    }
                }
            });
        } else {
            let (mut p, mut c) = rtrb::RingBuffer::<u64>::new(4096);
            t = Instant::now();
            std::thread::scope(|s| {
                s.spawn(move || {
                    pin_peer();
                    let mut i = 0;
                    while i < n {
                        if p.push(i).is_ok() {
                            i += 1;
                        }
                    }
                });
                let mut k = 0;
                while k < n {
                    if let Ok(v) = c.pop() {
                        black_box(v);
                        k += 1;
                    }
                }
            });
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    n as f64 / best
}

fn throughput_report() {
    const RUNS: usize = 5;
    println!("== one-way throughput, best of {RUNS} (M msgs/s; 64 KiB in K msgs/s) ==");
    let rtrb = thread_rate(false, 4_000_000, RUNS);
    let xbeam = thread_rate(true, 4_000_000, RUNS);
    println!("rtrb, 2 threads, 8 B                 {:>8.1}", rtrb / 1e6);
    println!("crossbeam ArrayQueue, 2 threads, 8 B {:>8.1}", xbeam / 1e6);
    for size in [8usize, 64, 1024, 65536] {
        for kind in [Kind::Spsc, Kind::Mpmc] {
            for batched in [false, true] {
                let n = match size {
                    8 | 64 => 4_000_000,
                    1024 => 400_000,
                    _ => 10_000,
                };
                let rate = one_way_rate(kind, size, batched, n, RUNS);
                let (v, unit) = if size >= 65536 {
                    (rate / 1e3, "K")
                } else {
                    (rate / 1e6, "M")
                };
                let vs = if size == 8 {
                    let peer = if matches!(kind, Kind::Spsc) {
                        rtrb
                    } else {
                        xbeam
                    };
                    format!("  ({:.2}x of the thread peer)", rate / peer)
                } else {
                    String::new()
                };
                println!(
                    "{kind:?} {:<7} {size:>6} B  {v:>8.1} {unit}{vs}",
                    if batched { "batch64" } else { "single" }
                );
            }
        }
    }
}

fn pingpong(c: &mut Criterion) {
    let mut g = c.benchmark_group("pingpong");
    g.sample_size(20).measurement_time(Duration::from_secs(2));
    for (name, one_line) in [("atomic_floor", true), ("atomic_floor_2_lines", false)] {
        g.bench_function(name, |b| {
            let mut pp = AtomicPingPong::start(one_line);
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    black_box(pp.round_trip());
                }
                t.elapsed()
            });
            pp.stop();
        });
    }
    for kind in [Kind::Spsc, Kind::Mpmc] {
        for (name, wait) in strategies().into_iter().take(2) {
            g.bench_function(format!("{kind:?}/{name}"), |b| {
                let mut pp = PingPong::start(kind, wait);
                let mut buf = [0u8; 8];
                b.iter_custom(|iters| {
                    let t = Instant::now();
                    for _ in 0..iters {
                        pp.round_trip(&mut buf);
                    }
                    t.elapsed()
                });
                pp.stop();
            });
        }
    }
    g.finish();
}

/// A consumer child that counts what it receives into `counter` and stops
/// on an empty message.
fn counting_consumer(q: &Q, counter: &Segment, size: usize, batched: bool) -> i32 {
    spawn(|| {
        let mut rx = q.consumer(WaitStrategy::BusySpin);
        let count = counter.payload().get::<AtomicU64>(0).unwrap();
        let mut buf = vec![0u8; size];
        let mut n = 0u64;
        let mut stop = false;
        while !stop {
            if batched {
                let r = rx.recv_batch(256, |m| {
                    if m.is_empty() {
                        stop = true;
                    } else {
                        black_box(m[0]);
                        n += 1;
                    }
                });
                if r.is_err() {
                    return;
                }
            } else {
                match rx.recv_into(&mut buf) {
                    Ok(0) | Err(_) => stop = true,
                    Ok(_) => n += 1,
                }
            }
            count.store(n, Ordering::Release);
        }
    })
}

fn throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("throughput");
    g.sample_size(10).measurement_time(Duration::from_secs(2));
    for size in [8usize, 64, 1024, 65536] {
        g.throughput(Throughput::Elements(1));
        for kind in [Kind::Spsc, Kind::Mpmc] {
            for batched in [false, true] {
                let id = BenchmarkId::new(
                    format!("{kind:?}/{}", if batched { "batch64" } else { "single" }),
                    size,
                );
                g.bench_function(id, |b| {
                    let cap = if size >= 65536 { 64 } else { 4096 };
                    let q = Q::new(kind, QueueOptions::new().capacity(cap).slot_size(size));
                    let counter = Segment::anonymous(64).unwrap();
                    let child = counting_consumer(&q, &counter, size, batched);
                    let mut tx = q.producer(WaitStrategy::BusySpin);
                    let count = counter.payload().get::<AtomicU64>(0).unwrap();
                    let msgs = vec![vec![7u8; size]; 64];
                    let mut total = 0u64;
                    b.iter_custom(|iters| {
                        let t = Instant::now();
                        let mut sent = 0;
                        while sent < iters {
                            if batched {
                                let k = (iters - sent).min(64) as usize;
                                tx.send_batch(&msgs[..k]).unwrap();
                                sent += k as u64;
                            } else {
                                tx.send(&msgs[0]).unwrap();
                                sent += 1;
                            }
                        }
                        total += iters;
                        while count.load(Ordering::Acquire) < total {
                            std::hint::spin_loop();
                        }
                        t.elapsed()
                    });
                    let _ = tx.send(&[]);
                    reap(child);
                });
            }
        }
    }
    // References between two threads, 8-byte messages.
    g.throughput(Throughput::Elements(1));
    g.bench_function("rtrb_threads/8", |b| {
        b.iter_custom(|iters| {
            let (mut p, mut c) = rtrb::RingBuffer::<u64>::new(4096);
            let t = Instant::now();
            std::thread::scope(|s| {
                s.spawn(move || {
                    let mut i = 0;
                    while i < iters {
                        if p.push(i).is_ok() {
                            i += 1;
                        }
                    }
                });
                let mut n = 0;
                while n < iters {
                    if let Ok(v) = c.pop() {
                        black_box(v);
                        n += 1;
                    }
                }
            });
            t.elapsed()
        });
    });
    g.bench_function("crossbeam_array_queue_threads/8", |b| {
        b.iter_custom(|iters| {
            let q = crossbeam::queue::ArrayQueue::<u64>::new(4096);
            let t = Instant::now();
            std::thread::scope(|s| {
                let q = &q;
                s.spawn(move || {
                    let mut i = 0;
                    while i < iters {
                        if q.push(i).is_ok() {
                            i += 1;
                        }
                    }
                });
                let mut n = 0;
                while n < iters {
                    if let Some(v) = q.pop() {
                        black_box(v);
                        n += 1;
                    }
                }
            });
            t.elapsed()
        });
    });
    g.finish();
}

fn large(c: &mut Criterion) {
    const MIB: usize = 1 << 20;
    let mut g = c.benchmark_group("large_1mib");
    g.sample_size(10).measurement_time(Duration::from_secs(2));
    g.throughput(Throughput::Bytes(MIB as u64));
    for loan in [true, false] {
        g.bench_function(
            if loan {
                "loan_fill_in_place"
            } else {
                "fill_buffer_then_send"
            },
            |b| {
                let q = Q::new(Kind::Spsc, QueueOptions::new().capacity(4).slot_size(MIB));
                let counter = Segment::anonymous(64).unwrap();
                let child = spawn(|| {
                    let mut rx = q.consumer(WaitStrategy::BusySpin);
                    let count = counter.payload().get::<AtomicU64>(0).unwrap();
                    let mut n = 0;
                    loop {
                        let Ok(m) = rx.recv_ref() else { return };
                        if m.is_empty() {
                            return;
                        }
                        black_box(m[MIB - 1]);
                        drop(m);
                        n += 1;
                        count.store(n, Ordering::Release);
                    }
                });
                let mut tx = q.producer(WaitStrategy::BusySpin);
                let count = counter.payload().get::<AtomicU64>(0).unwrap();
                let mut buf = vec![0u8; MIB];
                let mut total = 0;
                b.iter_custom(|iters| {
                    let t = Instant::now();
                    for i in 0..iters {
                        if loan {
                            let mut slot = tx.loan().unwrap();
                            slot.fill(i as u8);
                            slot.commit(MIB).unwrap();
                        } else {
                            buf.fill(i as u8);
                            tx.send(&buf).unwrap();
                        }
                    }
                    total += iters;
                    while count.load(Ordering::Acquire) < total {
                        std::hint::spin_loop();
                    }
                    t.elapsed()
                });
                let _ = tx.send(&[]);
                reap(child);
            },
        );
    }
    g.finish();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    pin_parent();
    // `cargo bench --no-run` builds only; `--list` and test mode skip the
    // report.
    if !args.iter().any(|a| a == "--list" || a == "--test") {
        report();
    }
    let _ = QueueError::Empty;
    let mut c = Criterion::default().configure_from_args();
    pingpong(&mut c);
    throughput(&mut c);
    large(&mut c);
    c.final_summary();
}
