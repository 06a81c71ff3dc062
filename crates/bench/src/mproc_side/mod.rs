//! mproc's own side of each scenario. A scenario whose mproc crate is not in
//! this build yet gets a row saying so, never a silent gap.

mod dict;
mod lock;
mod process;

use mproc_process::StartMethod;

use crate::harness::context::{Ctx, System};
use crate::report::model::Role;

fn pending<'a>(name: &str, what: &str) -> System<'a> {
    System::unavailable(
        name,
        Role::Mproc,
        format!("not measured: {what} is not in this build yet"),
    )
}

/// mproc's systems in the ping-pong scenario.
pub(crate) fn ping_pong_systems<'a>() -> Vec<System<'a>> {
    vec![
        pending("mproc SPSC", "mproc-queue"),
        pending("mproc MPMC", "mproc-queue"),
        pending("mproc Pipe", "mproc-queue"),
    ]
}

/// mproc's systems in the throughput scenarios.
pub(crate) fn throughput_systems<'a>(_size: usize, _n: usize, _loaned: bool) -> Vec<System<'a>> {
    vec![
        pending("mproc SPSC", "mproc-queue"),
        pending("mproc MPMC", "mproc-queue"),
    ]
}

/// mproc's systems in the 2×2 MPMC scenario.
pub(crate) fn mpmc_systems<'a>(_size: usize, _n: usize) -> Vec<System<'a>> {
    vec![pending("mproc Queue", "mproc-queue")]
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
pub(crate) fn pool_systems<'a>(_workers: usize) -> Vec<System<'a>> {
    vec![pending("mproc Pool", "mproc's Pool")]
}

/// mproc's systems in the process scenario.
pub(crate) fn process_systems<'a>() -> Vec<System<'a>> {
    vec![System::new("mproc Process", Role::Mproc, |c: &Ctx| {
        let p = &c.profile;
        Ok(vec![
            (
                "fork".into(),
                process::start_join_runs(StartMethod::Fork, p.process_starts, p.repeats)?,
            ),
            (
                "spawn".into(),
                process::start_join_runs(StartMethod::Spawn, p.process_starts, p.repeats)?,
            ),
        ])
    })]
}
