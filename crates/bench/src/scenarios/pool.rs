//! Pool of 2 workers: per-task overhead of `map` over trivial tasks, and
//! start + teardown of a pool.

use crate::harness::context::{Case, Ctx, System};
use crate::harness::per_case::per_case;
use crate::mproc_side;
use crate::peers;
use crate::report::model::{Role, Unit};

/// Workers per pool, the same for every system.
pub(crate) const WORKERS: usize = 2;

/// Runs the scenario.
pub(crate) fn run(ctx: &mut Ctx) {
    let tasks = ctx.profile.pool_tasks;
    let cases = [
        Case {
            key: "map".into(),
            label: format!("map, per task ({tasks} tasks)"),
            size: None,
            unit: Unit::Nanos,

            spread: false,
        },
        Case {
            key: "start".into(),
            label: "start + teardown".into(),
            size: None,
            unit: Unit::Nanos,

            spread: false,
        },
    ];
    let mut systems = mproc_side::pool_systems(WORKERS);
    systems.push(System::new("Python Pool", Role::Peer, |c: &Ctx| {
        per_case(vec![
            ("map", peers::python::pool_map(c, WORKERS)),
            ("start", peers::python::pool_start(c, WORKERS)),
        ])
    }));
    ctx.table("pool", &cases, systems);
}
