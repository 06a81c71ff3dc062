//! [`QueueCore`]: one queue area of a mapped segment, resolved once and
//! shared by the queue object and its handles.

use std::sync::Arc;

use mproc_shm::{Region, Segment, SegmentKind};
use mproc_sys::ProcessId;

use crate::atomics::Ordering;
use crate::control::Control;
use crate::layout::{Flavor, Layout};
use crate::records::Role;
use crate::ring;
use crate::ring::memory::RegionRing;
use crate::{QueueError, QueueOptions, QueueStats, Result, WaitStrategy};

/// One queue area and the segment that keeps it mapped.
pub(crate) struct QueueCore {
    pub(crate) control: Control<'static>,
    pub(crate) ring: RegionRing<'static>,
    pub(crate) layout: Layout,
    pub(crate) wait: WaitStrategy,
    /// Keeps the mapping that `control` and `ring` point into alive.
    pub(crate) segment: Arc<Segment>,
}

impl QueueCore {
    /// Creates a segment of `kind` holding `layout.areas` fresh areas.
    pub(crate) fn create_segment(
        kind: SegmentKind,
        layout: Layout,
        name: Option<&str>,
        opts: &QueueOptions,
    ) -> Result<Arc<Segment>> {
        let area_len = layout.area_len().ok_or(QueueError::InvalidOptions {
            option: "capacity",
            value: layout.capacity,
            reason: "the queue does not fit the address space",
        })?;
        let init = move |payload: Region<'_>| -> mproc_shm::Result<()> {
            for a in 0..u64::from(layout.areas) {
                let area = payload.sub(a * area_len, area_len)?;
                Control::init_in_place(area, &layout).map_err(|e| match e {
                    QueueError::Shm(s) => s,
                    other => mproc_shm::ShmError::Corrupt {
                        field: "queue layout",
                        value: match other {
                            QueueError::Corrupt { value, .. } => value,
                            _ => 0,
                        },
                    },
                })?;
            }
            Ok(())
        };
        let builder = Segment::builder(kind, layout.payload_len())
            .params(layout.to_params())
            .mode(opts.mode.unwrap_or_else(mproc_shm::default_mode))
            .persist(opts.persist)
            .init(init);
        let seg = match name {
            Some(n) => builder.create(n)?,
            None => builder.create_anonymous()?,
        };
        Ok(Arc::new(seg))
    }

    /// Opens the named segment of `kind` and validates its layout.
    pub(crate) fn open_segment(name: &str, kind: SegmentKind) -> Result<(Arc<Segment>, Layout)> {
        let seg = Segment::opener(name).kind(kind).open()?;
        let layout = Layout::from_params(seg.header().params, seg.payload().len() as u64)?;
        Ok((Arc::new(seg), layout))
    }

    /// The core of area `area` of `segment`.
    pub(crate) fn attach(
        segment: Arc<Segment>,
        layout: Layout,
        area: u32,
        wait: WaitStrategy,
    ) -> Result<Arc<QueueCore>> {
        let payload = segment.payload();
        // SAFETY: the mapping stays valid while `segment` lives, and the
        // returned core owns an Arc of it; a mapping never moves. All
        // access through the region follows the shared-memory rules.
        let payload: Region<'static> =
            unsafe { Region::from_raw_parts(payload.as_ptr(), payload.len()) };
        let area_len = layout.area_len().unwrap_or(u64::MAX);
        let region = payload.sub(area_len.saturating_mul(area.into()), area_len)?;
        let control = Control::resolve(region, &layout)?;
        let ring = control.ring(region, &layout)?;
        Ok(Arc::new(QueueCore {
            control,
            ring,
            layout,
            wait,
            segment,
        }))
    }

    /// Marks the queue closed and wakes everyone.
    pub(crate) fn close(&self) {
        ring::close(self.control.closed);
        self.control.not_empty.notify_all();
        self.control.not_full.notify_all();
    }

    /// Whether the queue was closed.
    pub(crate) fn is_closed(&self) -> bool {
        ring::is_closed(self.control.closed)
    }

    /// Whether handles of `role` once registered here and none is alive
    /// now; for a pipe end whose ring never had one, whether its `peer`
    /// ring's handles of the other role (the same process at the other
    /// end) are so.
    #[cold]
    pub(crate) fn role_gone(&self, role: Role, peer: Option<&QueueCore>, me: ProcessId) -> bool {
        if self.seen(role) {
            return self.control.records.alive(role, me) == 0;
        }
        peer.is_some_and(|p| {
            let other = role.other();
            p.seen(other) && p.control.records.alive(other, me) == 0
        })
    }

    /// Whether a handle of `role` ever registered.
    fn seen(&self, role: Role) -> bool {
        let word = match role {
            Role::Producer => self.control.producers_seen,
            Role::Consumer => self.control.consumers_seen,
        };
        word.load(Ordering::Acquire) != 0
    }

    /// Messages in the queue now (a snapshot).
    pub(crate) fn depth(&self) -> u64 {
        depth(&self.control, self.layout.capacity)
    }

    /// Whether a dead handle's last claim can no longer matter, so that its
    /// record can be reused.
    pub(crate) fn claim_obsolete(&self, role: Role, claim_end: u64) -> bool {
        match role {
            // Consumers have passed every position the producer held.
            Role::Producer => {
                self.control
                    .head
                    .load(Ordering::Acquire)
                    .wrapping_sub(claim_end) as i64
                    >= 0
            }
            // SPSC: the head has passed what it held (a successor skips
            // it first). MPMC: producers have passed the next lap of every
            // slot it held.
            Role::Consumer if self.layout.flavor == Flavor::Spsc => {
                self.control
                    .head
                    .load(Ordering::Acquire)
                    .wrapping_sub(claim_end) as i64
                    >= 0
            }
            Role::Consumer => {
                let lap = claim_end.wrapping_add(self.layout.capacity);
                self.control.tail.load(Ordering::Acquire).wrapping_sub(lap) as i64 >= 0
            }
        }
    }

    /// A snapshot of the queue's state (reads `/proc` for liveness).
    pub(crate) fn stats(&self) -> QueueStats {
        let me = ProcessId::current().ok();
        let alive = |role| me.map_or(0, |me| self.control.records.alive(role, me));
        let received = self.control.head.load(Ordering::Relaxed);
        let tail = self.control.tail.load(Ordering::Relaxed);
        // An SPSC producer stamps a slot before it counts it in the tail: a
        // consumer may be ahead of the tail by what was stamped, and stays
        // ahead if the producer died between the two stores. What was
        // received was sent.
        let ahead = received.wrapping_sub(tail);
        let sent =
            if self.layout.flavor == Flavor::Spsc && ahead != 0 && ahead <= self.layout.capacity {
                received
            } else {
                tail
            };
        QueueStats {
            capacity: self.layout.capacity,
            slot_size: self.layout.slot_size,
            stride: self.layout.stride(),
            segment_len: self.segment.header().total_len,
            depth: self.depth(),
            producers: alive(Role::Producer),
            consumers: alive(Role::Consumer),
            sent,
            received,
            abandoned: self.control.abandoned.load(Ordering::Relaxed),
            sleepers: [self.control.not_empty, self.control.not_full]
                .iter()
                .map(|w| u64::from(w.sleepers.load(Ordering::Relaxed)))
                .sum(),
            closed: self.is_closed(),
        }
    }

    /// Whether the area runs the MPMC ring.
    pub(crate) fn is_mpmc(&self) -> bool {
        self.layout.flavor == Flavor::Mpmc
    }

    /// Whether this thread is dropping a forked child's body that captured
    /// a loan or a borrowed message of this area, which is then the
    /// child's to commit or release ([`mproc_sys::is_handing_over`]). Only
    /// for MPMC: its reservations and claims moved the shared tail and
    /// head, so the parent's handle goes on with other slots. An SPSC
    /// handle's own tail or head moves only at publish or release, and the
    /// parent gives the slot back as on any drop: an SPSC loan or borrow
    /// must not go to a child while the parent keeps the handle
    /// (documented on `loan` and `recv_ref`).
    pub(crate) fn slot_goes_to_a_child(&self) -> bool {
        self.is_mpmc() && mproc_sys::is_handing_over()
    }
}

/// Validates options into a layout.
pub(crate) fn layout_of(
    flavor: Flavor,
    opts: &QueueOptions,
    joinable: bool,
    areas: u32,
) -> Result<Layout> {
    Layout::new(
        flavor,
        opts.capacity,
        opts.slot_size,
        opts.max_handles,
        joinable,
        areas,
    )
}

/// Messages in the queue of `control` now (a snapshot), at most `capacity`.
pub(crate) fn depth(control: &Control<'_>, capacity: u64) -> u64 {
    let head = control.head.load(Ordering::Acquire);
    let tail = control.tail.load(Ordering::Acquire);
    // Negative while an SPSC consumer is ahead of a tail not yet stored.
    (tail.wrapping_sub(head) as i64).clamp(0, capacity as i64) as u64
}
