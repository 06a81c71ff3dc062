//! One-way throughput between two processes at 8 B, 64 B, 1 KiB, 64 KiB and
//! 1 MiB, with each message copied in and out, or written and read in place.
//! Copied: under 1 KiB in messages/s, from 1 KiB on in bytes/s. Loaned: in
//! messages/s at every size (only the 8-byte stamp is written and read in
//! place; the payload is never moved).

use crate::harness::context::{Case, Ctx, Figures, System};
use crate::harness::throughput::in_bytes;
use crate::mproc_side;
use crate::peers;
use crate::report::format::size_label;
use crate::report::model::{Role, Runs, Unit};

/// The message sizes, the same for every system.
pub(crate) const SIZES: [usize; 5] = [8, 64, 1024, 64 << 10, 1 << 20];

fn one(runs: anyhow::Result<Runs>) -> anyhow::Result<Figures> {
    runs.map(|r| vec![("m".to_string(), r)])
}

/// Runs the copied variant.
pub(crate) fn run_copied(ctx: &mut Ctx) {
    run(ctx, false);
}

/// Runs the loaned (zero-copy) variant.
pub(crate) fn run_loaned(ctx: &mut Ctx) {
    run(ctx, true);
}

fn run(ctx: &mut Ctx, loaned: bool) {
    let scenario = if loaned {
        "throughput-loaned"
    } else {
        "throughput-copied"
    };
    for size in SIZES {
        let n = ctx.profile.messages_for(size);
        let unit = if in_bytes(size, loaned) {
            Unit::BytesPerSecond
        } else {
            Unit::PerSecond
        };
        let case = Case {
            key: "m".into(),
            label: format!("{} ×{n}", size_label(size)),
            size: Some(size),
            unit,
            spread: false,
        };
        let mut systems = mproc_side::throughput_systems(size, n, loaned);
        systems.push(System::new("iceoryx2", Role::Peer, move |c: &Ctx| {
            one(peers::iceoryx2::throughput(&c.profile, size, n, loaned))
        }));
        if loaned {
            systems.extend([
                System::unavailable("ipc-channel", Role::Peer, "n/a: no loan API (see copied)"),
                System::unavailable(
                    "Python Pipe",
                    Role::Peer,
                    "n/a: no zero-copy send (see copied)",
                ),
                System::unavailable(
                    "Python Queue",
                    Role::Peer,
                    "n/a: no zero-copy send (see copied)",
                ),
                System::new("rtrb (threads)", Role::Ceiling, move |c: &Ctx| {
                    one(peers::rtrb::throughput(&c.profile, size, n, true))
                }),
                System::unavailable(
                    "crossbeam (threads)",
                    Role::Ceiling,
                    "n/a: a queue of values has no loan",
                ),
            ]);
        } else {
            systems.extend([
                System::new("ipc-channel", Role::Peer, move |c: &Ctx| {
                    one(peers::ipc_channel::throughput(&c.profile, size, n))
                }),
                System::new("Python Pipe", Role::Peer, move |c: &Ctx| {
                    one(peers::python::throughput(c, "pipe", size, n))
                }),
                System::new("Python Queue", Role::Peer, move |c: &Ctx| {
                    one(peers::python::throughput(c, "queue", size, n))
                }),
                System::new("rtrb (threads)", Role::Ceiling, move |c: &Ctx| {
                    one(peers::rtrb::throughput(&c.profile, size, n, false))
                }),
                System::new("crossbeam (threads)", Role::Ceiling, move |c: &Ctx| {
                    one(peers::crossbeam::throughput(&c.profile, size, n))
                }),
                System::new("memcpy (floor)", Role::Floor, move |c: &Ctx| {
                    one(peers::memcpy_floor::throughput(&c.profile, size, n))
                }),
            ]);
        }
        ctx.table(scenario, &[case], systems);
    }
}
