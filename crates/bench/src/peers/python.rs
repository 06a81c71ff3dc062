//! Python's multiprocessing as a peer: each function runs one shipped script
//! with the same counts as the Rust systems and turns its JSON into figures.

use anyhow::Result;

use crate::harness::context::{Ctx, Figures};
use crate::harness::latency;
use crate::harness::python::numbers;
use crate::harness::throughput::in_bytes;
use crate::profile::Profile;
use crate::report::model::Runs;

fn args(list: &[&dyn ToString]) -> Vec<String> {
    list.iter().map(|a| a.to_string()).collect()
}

/// `Pipe` or `Queue` ping-pong of 8-byte messages (`kind`: `pipe`, `queue`).
///
/// # Errors
///
/// When the script fails.
pub(crate) fn ping_pong(ctx: &Ctx, kind: &str) -> Result<Figures> {
    let p = &ctx.profile;
    let v = ctx.python.run(
        "pipe_queue.py",
        &args(&[&"pingpong", &kind, &p.round_trips, &p.repeats]),
    )?;
    Ok(latency::from_lists(
        numbers(&v, "p50")?,
        numbers(&v, "p99")?,
        numbers(&v, "p99.9")?,
    ))
}

/// `Pipe` or `Queue` one-way throughput of `n` messages of `size` bytes.
///
/// # Errors
///
/// When the script fails.
pub(crate) fn throughput(ctx: &Ctx, kind: &str, size: usize, n: usize) -> Result<Runs> {
    let p = &ctx.profile;
    let cap = Profile::capacity_for(size);
    let v = ctx.python.run(
        "pipe_queue.py",
        &args(&[&"throughput", &kind, &size, &n, &p.repeats, &cap]),
    )?;
    let per_sec = numbers(&v, "per_second")?;
    let scale = if in_bytes(size, false) {
        size as f64
    } else {
        1.0
    };
    Ok(Runs(per_sec.into_iter().map(|x| x * scale).collect()))
}

/// `Lock` nanoseconds per acquisition (`mode`: `uncontended`, `contended`),
/// or per turn passed (`handoff`).
///
/// # Errors
///
/// When the script fails.
pub(crate) fn lock(ctx: &Ctx, mode: &str) -> Result<Runs> {
    let p = &ctx.profile;
    let n = if mode == "handoff" {
        p.handoffs
    } else {
        p.lock_ops
    };
    let v = ctx.python.run(
        "lock.py",
        &args(&[&mode, &n, &p.lock_repeats, &p.lock_budget_secs]),
    )?;
    Ok(Runs(numbers(&v, "ns_per_op")?))
}

/// `Manager().dict()` insert/get/update ops/s (`mode`: `one`, `two`).
///
/// # Errors
///
/// When the script fails.
pub(crate) fn manager_dict(ctx: &Ctx, mode: &str) -> Result<Figures> {
    let p = &ctx.profile;
    let v = ctx
        .python
        .run("manager_dict.py", &args(&[&mode, &p.dict_keys, &p.repeats]))?;
    ["insert", "get", "update"]
        .into_iter()
        .map(|k| Ok((k.to_string(), Runs(numbers(&v, k)?))))
        .collect()
}

/// `Pool(workers).map` nanoseconds per trivial task.
///
/// # Errors
///
/// When the script fails.
pub(crate) fn pool_map(ctx: &Ctx, workers: usize) -> Result<Runs> {
    let p = &ctx.profile;
    let v = ctx.python.run(
        "pool.py",
        &args(&[&"map", &workers, &p.pool_tasks, &p.repeats]),
    )?;
    Ok(Runs(numbers(&v, "ns_per_task")?))
}

/// `Pool(workers)` start + close + join, nanoseconds per pool.
///
/// # Errors
///
/// When the script fails.
pub(crate) fn pool_start(ctx: &Ctx, workers: usize) -> Result<Runs> {
    let p = &ctx.profile;
    let v = ctx.python.run(
        "pool.py",
        &args(&[&"start", &workers, &p.pool_starts, &p.repeats]),
    )?;
    Ok(Runs(numbers(&v, "ns_per_pool")?))
}

/// `Process` start + join of a no-op child (`method`: `fork`, `spawn`).
///
/// # Errors
///
/// When the script fails.
pub(crate) fn process_start(ctx: &Ctx, method: &str) -> Result<Runs> {
    let p = &ctx.profile;
    let v = ctx.python.run(
        "process_start.py",
        &args(&[&method, &p.process_starts, &p.repeats]),
    )?;
    Ok(Runs(numbers(&v, "ns_per_start")?))
}

/// `Queue` shared by 2 producer and 2 consumer processes: messages/s.
///
/// # Errors
///
/// When the script fails.
pub(crate) fn mpmc(ctx: &Ctx, size: usize, n: usize) -> Result<Runs> {
    let p = &ctx.profile;
    let cap = Profile::capacity_for(size);
    let v = ctx.python.run(
        "pipe_queue.py",
        &args(&[&"mpmc", &size, &n, &p.repeats, &cap]),
    )?;
    Ok(Runs(numbers(&v, "per_second")?))
}
