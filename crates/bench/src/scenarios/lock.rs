//! Lock: lock+unlock with no contention; two processes (threads for the
//! in-process ceiling) each doing lock + increment + unlock at once
//! (nanoseconds per acquisition); and strict handoffs, the two taking turns
//! under the lock (nanoseconds per turn passed).

use anyhow::Result;

use crate::harness::context::{Case, Ctx, Figures, System};
use crate::harness::lock_protocol::{self, SharedLock};
use crate::harness::per_case::per_case;
use crate::mproc_side;
use crate::peers;
use crate::report::model::{Role, Unit};

/// The lock's three cases through the shared protocol; a case that fails
/// leaves the others' figures.
pub(crate) fn protocol(ctx: &Ctx, lock: &dyn SharedLock) -> Result<Figures> {
    let p = &ctx.profile;
    per_case(vec![
        (
            "uncontended",
            lock_protocol::uncontended(lock, p.lock_ops, p.lock_repeats()),
        ),
        (
            "contended",
            lock_protocol::contended(lock, p.lock_ops, p.lock_repeats()),
        ),
        (
            "handoff",
            lock_protocol::handoff(lock, p.handoffs, p.lock_repeats()),
        ),
    ])
}

/// Runs the scenario.
pub(crate) fn run(ctx: &mut Ctx) {
    let p = &ctx.profile;
    let cases = [
        Case {
            key: "uncontended".into(),
            label: format!("uncontended, ×{}", p.lock_ops),
            size: None,
            unit: Unit::Nanos,
            spread: false,
        },
        Case {
            key: "contended".into(),
            label: format!("2 contenders, ×{} each", p.lock_ops),
            size: None,
            unit: Unit::Nanos,
            // Bimodal: see `Profile::lock_repeats`.
            spread: true,
        },
        Case {
            key: "handoff".into(),
            label: format!("handoff (strict turns), ×{}", p.handoffs),
            size: None,
            unit: Unit::Nanos,
            // A turn costs ~0.5 us across two cores and up to a scheduler
            // tick when both sides share one: which, varies by repeat.
            spread: true,
        },
    ];
    let mut systems = mproc_side::lock_systems();
    systems.extend([
        System::new("raw_sync Mutex", Role::Peer, |c: &Ctx| {
            protocol(c, &peers::raw_sync::RawSyncLock::new()?)
        }),
        System::new("Python Lock", Role::Peer, |c: &Ctx| {
            per_case(vec![
                ("uncontended", peers::python::lock(c, "uncontended")),
                ("contended", peers::python::lock(c, "contended")),
                ("handoff", peers::python::lock(c, "handoff")),
            ])
        }),
        System::new("std Mutex (threads)", Role::Ceiling, |c: &Ctx| {
            let p = &c.profile;
            per_case(vec![
                (
                    "uncontended",
                    peers::std_mutex::uncontended(p.lock_ops, p.lock_repeats()),
                ),
                (
                    "contended",
                    peers::std_mutex::contended(p.lock_ops, p.lock_repeats()),
                ),
                (
                    "handoff",
                    peers::std_mutex::handoff(p.handoffs, p.lock_repeats()),
                ),
            ])
        }),
    ]);
    ctx.table("lock", &cases, systems);
}
