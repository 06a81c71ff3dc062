//! Dict: insert, get and update operations per second with 8-byte keys and
//! values, from one process, and from two processes each on half the keys.

use crate::harness::context::{Case, Ctx, System};
use crate::mproc_side;
use crate::peers;
use crate::report::model::{Role, Unit};

/// Runs the scenario, one process then two.
pub(crate) fn run(ctx: &mut Ctx) {
    for two in [false, true] {
        let who = if two { "2 processes" } else { "1 process" };
        let keys = ctx.profile.dict_keys;
        let cases: Vec<Case> = ["insert", "get", "update"]
            .into_iter()
            .map(|op| Case {
                key: op.into(),
                label: format!("{op}, {who}, {keys} keys"),
                size: None,
                unit: Unit::PerSecond,

                spread: false,
            })
            .collect();
        let mut systems = mproc_side::dict_systems(two);
        systems.extend([
            System::new("Python Manager().dict()", Role::Peer, move |c: &Ctx| {
                peers::python::manager_dict(c, if two { "two" } else { "one" })
            }),
            System::new("HashMap+Mutex (threads)", Role::Ceiling, move |c: &Ctx| {
                peers::hashmap::ops(
                    c.profile.dict_keys,
                    c.profile.repeats,
                    if two { 2 } else { 1 },
                )
            }),
        ]);
        ctx.table("dict", &cases, systems);
    }
}
