//! Pool: workers killed while the pool maps, mostly mid-task, sometimes
//! idle. The map must complete; exactly the tasks the killed workers were
//! running fail, with `WorkerLost` naming the killed worker; every other
//! task gives its right result, and no task runs twice (outcomes a killed
//! worker finished and had not sent yet are recovered, not re-run).
//!
//! Tasks record on a board (inherited by the workers across `fork`) which
//! worker started them and whether they finished, so the parent knows what
//! a killed worker was running.

use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use mproc_process::{Pool, PoolError};
use mproc_torture::children::{sigkill, spin_for};
use mproc_torture::{Board, Rng, Tally};

use crate::common::{Ctx, round_rng};

/// The most tasks in a round.
const MAX_TASKS: usize = 400;

const SEED: usize = 0;
const STARTED: usize = 1;
const FINISHED: usize = STARTED + MAX_TASKS;
const RUNS: usize = FINISHED + MAX_TASKS;
const WORDS: usize = RUNS + MAX_TASKS;

/// Made before the first pool, so that every worker inherits it.
static BOARD: OnceLock<Board> = OnceLock::new();

fn board() -> &'static Board {
    BOARD.get_or_init(|| Board::new(WORDS).unwrap_or_else(|e| panic!("board: {e}")))
}

fn expected(i: u64) -> u64 {
    i * 3 + 1
}

/// A task: records itself, works a random while (up to 2 ms), finishes.
fn task(i: u64) -> u64 {
    let b = board();
    let idx = i as usize;
    b.set(STARTED + idx, u64::from(mproc_sys::getpid().unsigned_abs()));
    b.add(RUNS + idx, 1);
    let mut r = Rng::new(b.get(SEED) ^ i);
    spin_for(Duration::from_micros(r.below(2000)));
    b.set(FINISHED + idx, 1);
    expected(i)
}

/// Runs `rounds` rounds.
pub(crate) fn run(ctx: &Ctx, rng: &mut Rng, rounds: u64, tally: &mut Tally) {
    finished_tasks_of_a_killed_worker_run_once(ctx, tally);
    let b = board();
    for round in 0..rounds {
        let (mut r, seed) = round_rng(rng);
        tally.round(round, seed);
        for w in 0..WORDS {
            b.set(w, 0);
        }
        b.set(SEED, r.next_u64());
        one_round(ctx, &mut r, tally);
        ctx.end_round(tally);
    }
}

fn one_round(ctx: &Ctx, r: &mut Rng, tally: &mut Tally) {
    let b = board();
    let processes = r.range(2, 3) as usize;
    let tasks = r.range(40, MAX_TASKS as u64);
    let kills = r.range(1, 2);
    tally.context(&format!(
        "{processes} workers, {tasks} tasks, {kills} kills"
    ));
    let pool = Pool::new(processes).unwrap_or_else(|e| tally.fail(&format!("pool: {e}")));
    ctx.adopt(&pool.pids());

    // The killer runs beside the map: after a random delay it kills the
    // worker running an unfinished task (or, sometimes, any worker).
    let killed: Mutex<Vec<(i32, &'static str)>> = Mutex::new(Vec::new());
    let mut killer_rng = r.fork();
    let results = std::thread::scope(|s| {
        let killer = s.spawn(|| {
            for _ in 0..kills {
                std::thread::sleep(Duration::from_millis(killer_rng.below(40)));
                let pids = pool.pids();
                let busy: Vec<i32> = (0..tasks as usize)
                    .filter(|&i| b.get(STARTED + i) != 0 && b.get(FINISHED + i) == 0)
                    .map(|i| b.get(STARTED + i) as i32)
                    .filter(|p| pids.contains(p))
                    .collect();
                let (pid, what) = if !busy.is_empty() && killer_rng.percent(80) {
                    (
                        busy[killer_rng.below(busy.len() as u64) as usize],
                        "mid-task",
                    )
                } else if !pids.is_empty() {
                    (
                        pids[killer_rng.below(pids.len() as u64) as usize],
                        "any moment",
                    )
                } else {
                    continue;
                };
                sigkill(pid);
                killed
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((pid, what));
            }
        });
        let results = pool.map_each(task, 0..tasks);
        let _ = killer.join();
        results
    });
    let killed = killed.into_inner().unwrap_or_else(PoisonError::into_inner);
    let results = results.unwrap_or_else(|e| tally.fail(&format!("map_each: {e}")));
    for &(_, what) in &killed {
        tally.kill(what);
    }
    let killed_pids: Vec<i32> = killed.iter().map(|&(p, _)| p).collect();
    tally.context(&format!("killed {killed:?}"));
    tally.check(results.len() == tasks as usize, || {
        format!("{} results for {tasks} tasks", results.len())
    });

    let mut errors = 0;
    for (i, res) in results.iter().enumerate() {
        let started_by = b.get(STARTED + i) as i32;
        let finished = b.get(FINISHED + i) == 1;
        let runs = b.get(RUNS + i);
        match res {
            Ok(v) => {
                tally.check(*v == expected(i as u64), || format!("task {i} gave {v}"));
                // A task a killed worker was running when it died cannot
                // have a result.
                tally.check(finished || !killed_pids.contains(&started_by), || {
                    format!("task {i}: killed worker {started_by} never finished it, yet Ok")
                });
            }
            Err(PoolError::WorkerLost { pid, .. }) => {
                errors += 1;
                tally.check(killed_pids.contains(pid), || {
                    format!("task {i} lost to worker {pid}, which was not killed")
                });
                // (Its one run is the lost one, or none if the kill fell
                // between the two words. Not started at all: the worker
                // died after taking the task, before the task's first
                // line.)
                let never_started = started_by == 0 && runs == 0;
                if never_started {
                    tally.note("tasks lost before their first line", 1);
                }
                tally.check(started_by == *pid || never_started, || {
                    format!("task {i} lost to worker {pid}, but started by {started_by}, run {runs} times")
                });
            }
            Err(e) => tally.fail(&format!("task {i}: {e}")),
        }
        // A task runs once: a killed worker's finished tasks are not run
        // again, nor is the task it was running.
        tally.check(runs <= 1, || format!("task {i} ran {runs} times"));
    }
    tally.check(errors <= killed.len(), || {
        format!("{errors} tasks failed, {} workers killed", killed.len())
    });
    tally.note("tasks failed with WorkerLost", errors as u64);

    // The pool is still whole: another map, then an orderly end.
    let again = pool.map(task, 0..8u64);
    tally.check(again.as_ref().is_ok_and(|v| v.len() == 8), || {
        format!("a map after the kills: {again:?}")
    });
    ctx.adopt(&pool.pids());
    pool.close();
    let start = Instant::now();
    let joined = pool.join();
    tally.check(joined.is_ok(), || format!("join: {joined:?}"));
    tally.check(start.elapsed() < crate::common::END, || {
        "join took too long".into()
    });
    drop(pool);
}

/// Runs of each task of [`finished_tasks_of_a_killed_worker_run_once`], on
/// a board the workers inherit.
static RUNS_ONCE: OnceLock<Board> = OnceLock::new();

/// Task 5 kills its own worker; the others count their runs.
fn counted_task(i: u64) -> u64 {
    if let Some(b) = RUNS_ONCE.get() {
        b.add(i as usize, 1);
    }
    if i == 5 {
        let _ = mproc_sys::kill(mproc_sys::getpid(), mproc_sys::Signal::Kill);
    }
    i
}

/// One worker maps tasks 0..10 (chunks of 3: tasks 3 and 4 finish in the
/// chunk of task 5, their outcomes not yet sent); task 5 kills the worker.
/// Task 5 fails with `WorkerLost`; every other task gives its result and
/// runs once (a regression test: tasks 0..5 used to run again).
fn finished_tasks_of_a_killed_worker_run_once(ctx: &Ctx, tally: &mut Tally) {
    let b = RUNS_ONCE.get_or_init(|| Board::new(10).unwrap_or_else(|e| panic!("board: {e}")));
    for i in 0..10 {
        b.set(i, 0);
    }
    let pool = Pool::new(1).unwrap_or_else(|e| tally.fail(&e.to_string()));
    ctx.adopt(&pool.pids());
    let results = pool
        .map_each(counted_task, 0..10u64)
        .unwrap_or_else(|e| tally.fail(&e.to_string()));
    drop(pool);
    let failed: Vec<usize> = (0..10).filter(|&i| results[i].is_err()).collect();
    let lost = matches!(results[5], Err(PoolError::WorkerLost { exitcode: -9, .. }));
    let right = (0..10).all(|i| i == 5 || results[i].as_ref().is_ok_and(|&v| v == i as u64));
    let runs: Vec<u64> = (0..10).map(|i| b.get(i)).collect();
    let ran_twice: Vec<usize> = (0..10).filter(|&i| runs[i] > 1).collect();
    tally.check(failed == [5] && lost && right && ran_twice.is_empty(), || {
        format!(
            "failed tasks {failed:?} (expected [5], WorkerLost: {lost}); results right: {right}; \
             runs per task {runs:?}: tasks {ran_twice:?} ran twice"
        )
    });
}
