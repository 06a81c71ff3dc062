//! 2 producers × 2 consumers through one MPMC queue, 64-byte messages.

use crate::harness::context::{Case, Ctx, System};
use crate::mproc_side;
use crate::peers;
use crate::report::model::{Role, Unit};

/// Message size of the scenario.
pub(crate) const SIZE: usize = 64;

/// Runs the scenario.
pub(crate) fn run(ctx: &mut Ctx) {
    let n = ctx.profile.messages_for(SIZE);
    let case = Case {
        key: "m".into(),
        label: format!("64 B ×{n}"),
        size: Some(SIZE),
        unit: Unit::PerSecond,

        spread: false,
    };
    let mut systems = mproc_side::mpmc_systems(SIZE, n);
    systems.extend([
        System::new("Python Queue", Role::Peer, move |c: &Ctx| {
            Ok(vec![("m".into(), peers::python::mpmc(c, SIZE, n)?)])
        }),
        System::new("crossbeam (threads)", Role::Ceiling, move |c: &Ctx| {
            Ok(vec![(
                "m".into(),
                peers::crossbeam::mpmc(&c.profile, SIZE, n)?,
            )])
        }),
    ]);
    ctx.table("mpmc-2x2", &[case], systems);
}
