//! Ping-pong: round-trip latency of an 8-byte message between two processes.

use crate::harness::context::{Case, Ctx, System};
use crate::harness::latency::PERCENTILES;
use crate::mproc_side;
use crate::peers;
use crate::report::model::{Role, Unit};

/// Runs the scenario.
pub(crate) fn run(ctx: &mut Ctx) {
    let cases: Vec<Case> = PERCENTILES
        .iter()
        .map(|(k, _)| Case {
            key: k.to_string(),
            label: format!("8 B {k}"),
            size: Some(8),
            unit: Unit::Nanos,

            spread: false,
        })
        .collect();
    let mut systems = mproc_side::ping_pong_systems();
    systems.extend([
        System::new("iceoryx2", Role::Peer, |c: &Ctx| {
            peers::iceoryx2::ping_pong(&c.profile)
        }),
        System::new("ipc-channel", Role::Peer, |c: &Ctx| {
            peers::ipc_channel::ping_pong(&c.profile)
        }),
        System::new("Python Pipe", Role::Peer, |c: &Ctx| {
            peers::python::ping_pong(c, "pipe")
        }),
        System::new("Python Queue", Role::Peer, |c: &Ctx| {
            peers::python::ping_pong(c, "queue")
        }),
        System::new("atomic spin (floor)", Role::Floor, |c: &Ctx| {
            peers::atomic_floor::ping_pong(&c.profile)
        }),
        System::new("futex wake (floor)", Role::Floor, |c: &Ctx| {
            peers::futex_floor::ping_pong(&c.profile)
        }),
    ]);
    ctx.table("ping-pong", &cases, systems);
}
