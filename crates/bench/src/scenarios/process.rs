//! Process: start + join of a child that does nothing, with the fork and the
//! spawn start methods.

use crate::harness::context::{Case, Ctx, System};
use crate::harness::per_case::per_case;
use crate::mproc_side;
use crate::peers;
use crate::report::model::{Role, Unit};

/// Runs the scenario.
pub(crate) fn run(ctx: &mut Ctx) {
    let cases = [
        Case::new("fork", None, Unit::Nanos),
        Case::new("spawn", None, Unit::Nanos),
    ];
    let mut systems = mproc_side::process_systems();
    systems.extend([
        System::new("Python Process", Role::Peer, |c: &Ctx| {
            per_case(vec![
                ("fork", peers::python::process_start(c, "fork")),
                ("spawn", peers::python::process_start(c, "spawn")),
            ])
        }),
        System::new("fork+_exit / exec (floor)", Role::Floor, |c: &Ctx| {
            let p = &c.profile;
            per_case(vec![
                (
                    "fork",
                    peers::fork_floor::fork_join(p.process_starts, p.repeats),
                ),
                (
                    "spawn",
                    peers::fork_floor::exec_join(p.process_starts, p.repeats),
                ),
            ])
        }),
    ]);
    ctx.table("process", &cases, systems);
}
