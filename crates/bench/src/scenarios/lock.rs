//! Lock: lock+unlock with no contention, and two processes (threads for the
//! in-process ceiling) each doing lock + increment + unlock, where the lock
//! changes hands between them: nanoseconds per acquisition.

use crate::harness::context::{Case, Ctx, System};
use crate::mproc_side;
use crate::peers;
use crate::report::model::{Role, Unit};

/// Runs the scenario.
pub(crate) fn run(ctx: &mut Ctx) {
    let cases = [
        Case {
            key: "uncontended".into(),
            label: "uncontended".into(),
            size: None,
            unit: Unit::Nanos,
        },
        Case {
            key: "contended".into(),
            label: "handoff, 2 contenders".into(),
            size: None,
            unit: Unit::Nanos,
        },
    ];
    let mut systems = mproc_side::lock_systems();
    systems.extend([
        System::new("raw_sync Mutex", Role::Peer, |c: &Ctx| {
            let p = &c.profile;
            Ok(vec![
                (
                    "uncontended".into(),
                    peers::raw_sync::uncontended(p.lock_ops, p.repeats)?,
                ),
                (
                    "contended".into(),
                    peers::raw_sync::contended(p.lock_ops, p.repeats)?,
                ),
            ])
        }),
        System::new("Python Lock", Role::Peer, |c: &Ctx| {
            Ok(vec![
                ("uncontended".into(), peers::python::lock(c, "uncontended")?),
                ("contended".into(), peers::python::lock(c, "contended")?),
            ])
        }),
        System::new("std Mutex (threads)", Role::Ceiling, |c: &Ctx| {
            let p = &c.profile;
            Ok(vec![
                (
                    "uncontended".into(),
                    peers::std_mutex::uncontended(p.lock_ops, p.repeats)?,
                ),
                (
                    "contended".into(),
                    peers::std_mutex::contended(p.lock_ops, p.repeats)?,
                ),
            ])
        }),
    ]);
    ctx.table("lock", &cases, systems);
}
