//! mproc's own side of each scenario: one `System` per mproc implementation.

mod dict;
mod lock;
mod mpmc;
mod ping_pong;
pub(crate) mod pool;
mod process;
mod queues;
mod throughput;

use mproc::process::StartMethod;
use queues::Flavor;

use crate::harness::context::{Ctx, System};
use crate::harness::per_case::per_case;
use crate::report::model::Role;

/// mproc's systems in the ping-pong scenario.
pub(crate) fn ping_pong_systems<'a>() -> Vec<System<'a>> {
    vec![
        System::new("mproc SPSC", Role::Mproc, |c: &Ctx| {
            ping_pong::queues(&c.profile, Flavor::Spsc)
        }),
        System::new("mproc MPMC", Role::Mproc, |c: &Ctx| {
            ping_pong::queues(&c.profile, Flavor::Mpmc)
        }),
        System::new("mproc Pipe", Role::Mproc, |c: &Ctx| {
            ping_pong::pipe(&c.profile)
        }),
    ]
}

/// mproc's systems in the throughput scenarios.
pub(crate) fn throughput_systems<'a>(size: usize, n: usize, loaned: bool) -> Vec<System<'a>> {
    [("mproc SPSC", Flavor::Spsc), ("mproc MPMC", Flavor::Mpmc)]
        .into_iter()
        .map(|(name, flavor)| {
            System::new(name, Role::Mproc, move |c: &Ctx| {
                let runs = throughput::one_way(&c.profile, flavor, size, n, loaned)?;
                Ok(vec![("m".to_string(), runs)])
            })
        })
        .collect()
}

/// mproc's systems in the 2×2 MPMC scenario.
pub(crate) fn mpmc_systems<'a>(size: usize, n: usize) -> Vec<System<'a>> {
    vec![System::new("mproc Queue", Role::Mproc, move |c: &Ctx| {
        Ok(vec![(
            "m".to_string(),
            mpmc::two_by_two(&c.profile, size, n)?,
        )])
    })]
}

/// mproc's systems in the lock scenario.
pub(crate) fn lock_systems<'a>() -> Vec<System<'a>> {
    vec![System::new("mproc Lock", Role::Mproc, |c: &Ctx| {
        crate::scenarios::lock::protocol(c, &lock::MprocLock::new()?)
    })]
}

/// mproc's systems in the dict scenario.
pub(crate) fn dict_systems<'a>(two: bool) -> Vec<System<'a>> {
    vec![System::new("mproc Dict", Role::Mproc, move |c: &Ctx| {
        dict::ops(c.profile.dict_keys, c.profile.repeats, two)
    })]
}

/// mproc's systems in the pool scenario.
pub(crate) fn pool_systems<'a>(workers: usize) -> Vec<System<'a>> {
    vec![System::new("mproc Pool", Role::Mproc, move |c: &Ctx| {
        let p = &c.profile;
        pool::figures(workers, p.pool_tasks, p.pool_starts, p.repeats)
    })]
}

/// mproc's systems in the process scenario.
pub(crate) fn process_systems<'a>() -> Vec<System<'a>> {
    vec![System::new("mproc Process", Role::Mproc, |c: &Ctx| {
        let p = &c.profile;
        per_case(vec![
            (
                "fork",
                process::start_join_runs(StartMethod::Fork, p.process_starts, p.repeats),
            ),
            (
                "spawn",
                process::start_join_runs(StartMethod::Spawn, p.process_starts, p.repeats),
            ),
        ])
    })]
}
