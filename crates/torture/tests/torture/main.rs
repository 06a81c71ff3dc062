//! The torture suite: randomized rounds in which a random victim is killed
//! by `SIGKILL` at a random moment, after which the survivors must proceed
//! and the invariants of what they share must hold.
//!
//! | scenario | victims | invariants |
//! | --- | --- | --- |
//! | `queue` | SPSC/MPMC producers and consumers, mid-send, mid-loan, mid-batch, mid-recv, holding a slot; sometimes closed as the victim dies | no committed message lost or duplicated, none torn, per-producer order, nobody stalled for a second, consumers end `Disconnected` or `Closed`, the queue drained |
//! | `pipe` | either end of a duplex `Pipe`, mid-send or mid-recv | the survivor ends `Disconnected`, every echo answers its request, in order |
//! | `dict` | writers mid-insert, mid-remove, mid-update, mid-growth | every op works after, every key absent or with a complete value it was given, `len()` = keys = entries, arena bytes add up |
//! | `lock` | holders and waiters of a robust `Lock` | survivors acquire (`OwnerDied` once), mutual exclusion, the protected pair repaired |
//! | `barrier` | parties of a `Barrier` | survivors see `BrokenBarrier` promptly, proceed after a reset with a replacement |
//! | `condition` | waiters and notifiers of a `Condition` | survivors drain every item, none counted twice |
//! | `pool` | pool workers mid-task and idle | the map completes; exactly the killed workers' running tasks fail with `WorkerLost`; no task runs twice |
//!
//! `known-bugs` holds minimal reproductions of bugs found in other crates
//! (skipped unless `MPROC_TORTURE_KNOWN_BUGS=1`; none at present); the
//! scenarios tolerate exactly those symptoms, bounded, and count them in
//! their summary line.
//!
//! At the end of every round and of the suite: no child of this process is
//! left (zombie or running), and after `mproc gc` nothing of this run is in
//! `/dev/shm`.
//!
//! `MPROC_TORTURE_SEED=N` replays a run's choices, `MPROC_TORTURE_ROUNDS=N`
//! sets every scenario's rounds, `MPROC_SOAK=1` runs the long soak; names
//! given as arguments select scenarios.
//!
//! Sequential `main`: forking from libtest's threads can leave a child
//! blocked on a lock another thread held at the fork.

mod barrier;
mod common;
mod condition;
mod dict;
mod known;
mod lock;
mod pipe;
mod pool;
mod queue;

use std::time::{Duration, Instant};

use common::Ctx;
use mproc_torture::{Config, Rng, Tally, children, config, leaks, watchdog};

/// How long the default size may take in all, hangs included: about 25 s
/// on an idle 2-core machine, 120-165 s with two busy loops beside it (the
/// `queue` and `pipe` scenarios hand messages over thousands of times per
/// round, a scheduler slice each under load). The budget catches hangs,
/// not slowness: well above that, well inside CI's 45 minutes.
const DEFAULT_BUDGET: Duration = Duration::from_secs(900);

/// A scenario: its name, its rounds at the default size, its run function.
struct Scenario {
    name: &'static str,
    rounds: u64,
    run: fn(&Ctx, &mut Rng, u64, &mut Tally),
}

fn main() {
    let cfg = Config::from_env();
    let scenarios = [
        Scenario {
            name: "queue",
            rounds: 150,
            run: queue::run,
        },
        Scenario {
            name: "pipe",
            rounds: 60,
            run: pipe::run,
        },
        Scenario {
            name: "dict",
            rounds: 80,
            run: dict::run,
        },
        Scenario {
            name: "lock",
            rounds: 40,
            run: lock::run,
        },
        Scenario {
            name: "barrier",
            rounds: 60,
            run: barrier::run,
        },
        Scenario {
            name: "condition",
            rounds: 60,
            run: condition::run,
        },
        Scenario {
            name: "known-bugs",
            rounds: 1,
            run: known::run,
        },
        Scenario {
            name: "pool",
            rounds: 24,
            run: pool::run,
        },
    ];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    println!(
        "torture: seed {:#x} (replay: {}={:#x}), {}",
        cfg.seed,
        config::SEED_VAR,
        cfg.seed,
        match (cfg.rounds, cfg.soak) {
            (Some(n), _) => format!("{n} rounds per scenario"),
            (None, true) => format!("soak ({}x the default rounds)", config::SOAK_FACTOR),
            (None, false) => "default size".to_string(),
        }
    );
    let ctx = Ctx::new(cfg.soak);
    let mut seeds = Rng::new(cfg.seed);
    let (mut failed, mut total) = (Vec::new(), Tally::new("total"));
    let suite_start = Instant::now();
    for s in &scenarios {
        // Draw every scenario's seed, selected or not, so that a filtered
        // replay makes the same choices.
        let scenario_seed = seeds.next_u64();
        if !filter.is_empty() && !filter.iter().any(|f| s.name.contains(f.as_str())) {
            continue;
        }
        let rounds = cfg.rounds_for(s.rounds);
        // The default size has one budget for the whole suite, so that a
        // hang anywhere still ends the run within [`DEFAULT_BUDGET`].
        let budget = if cfg.soak || cfg.rounds.is_some() {
            Duration::from_secs(6 * 3600)
        } else {
            DEFAULT_BUDGET
                .saturating_sub(suite_start.elapsed())
                .max(Duration::from_secs(5))
        };
        watchdog::arm(s.name, budget);
        let start = Instant::now();
        let mut tally = Tally::new(s.name);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut rng = Rng::new(scenario_seed);
            (s.run)(&ctx, &mut rng, rounds, &mut tally);
        }));
        watchdog::disarm();
        children::kill_all();
        let segs = ctx.gc();
        let ok = outcome.is_ok() && segs.is_empty();
        if !segs.is_empty() {
            eprintln!("{}: segments left after mproc gc: {segs:?}", s.name);
        }
        println!(
            "torture {} ... {} in {:.1?}: {}",
            s.name,
            if ok { "ok" } else { "FAILED" },
            start.elapsed(),
            tally.summary()
        );
        total.absorb(&tally);
        if !ok {
            failed.push(s.name);
        }
    }
    let left = leaks::children_left(Duration::from_secs(2));
    let segs = ctx.gc();
    if !left.is_empty() || !segs.is_empty() {
        eprintln!("torture: at the end: children left {left:?}, segments left {segs:?}");
        failed.push("end of suite");
    }
    println!(
        "torture: {} rounds, {} kills, {} invariant checks in {:.1?}; {}",
        total.rounds(),
        total.kills(),
        total.checks(),
        suite_start.elapsed(),
        if failed.is_empty() {
            "all passed".to_string()
        } else {
            format!("FAILED: {failed:?} (seed {:#x})", cfg.seed)
        }
    );
    if !failed.is_empty() {
        std::process::exit(1);
    }
}
