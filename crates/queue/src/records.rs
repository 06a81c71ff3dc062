//! Handle records: who is attached to a queue, for liveness
//! ([`ProcessId`], pid-reuse safe) and for finding the slot a dead process
//! held.
//!
//! A record is 128 bytes (its own pair of cache lines): `state: u32`, `pid: u32`, `start_time: u64`,
//! `claim_start: u64`, `claim_end: u64`, `parked: u32`, 4 reserved, `heir: u64`, reserved. States:
//!
//! | state       | meaning                                                 |
//! | ----------- | ------------------------------------------------------- |
//! | `FREE`      | unused                                                  |
//! | `ATTACHING` | taken by process `state >> 2`, filling it in            |
//! | `PRODUCER`  | a producer handle of process `pid`                      |
//! | `CONSUMER`  | a consumer handle of process `pid`                      |
//!
//! A record whose process died is reused once its last claim can no longer
//! matter (every position it covers has been passed by the other side).
//! A record left `ATTACHING` by a process killed while filling it in is
//! reused once no process with that pid exists: the attacher's pid is in
//! the state word itself, written by the same compare-and-swap that takes
//! the record, since the `pid` field may still be the previous owner's.
//!
//! `heir` is 0, or the process the handle was handed to
//! ([`ProcessId::to_word`]): a handle that a forked child's body captured
//! is dropped by its parent as the child starts, and passes its record to
//! the child instead of freeing it ([`Records::hand_over`]). The record
//! then stands for the heir: its liveness is the heir's, and the heir's
//! copy of the handle frees it.
//!
//! `parked` says which sleeper count the handle is counted in while it
//! sleeps on the futex ([`PARKED_NOT_EMPTY`], [`PARKED_NOT_FULL`] in the low
//! two bits, its pid above; 0 when awake), so that the count of a process
//! killed asleep can be taken back
//! ([`Records::reap_parked`]) instead of making every later notify pay a
//! futex wake for a sleeper that is gone.

use mproc_shm::Region;
use mproc_sys::ProcessId;

use crate::atomics::{AtomicU32, AtomicU64, Ordering};
use crate::layout::RECORD;
use crate::ring::ClaimWords;
use crate::waiter::parked_mark;
use crate::{QueueError, Result};

const FREE: u32 = 0;
/// Low two bits of the state of a record being filled in; the attacher's
/// pid is in the bits above (Linux pids are below 2^22).
const ATTACHING: u32 = 1;
const PRODUCER: u32 = 2;
const CONSUMER: u32 = 3;

/// `parked`: counted in the not-empty sleepers (a consumer asleep).
pub(crate) const PARKED_NOT_EMPTY: u32 = 1;
/// `parked`: counted in the not-full sleepers (a producer asleep).
pub(crate) const PARKED_NOT_FULL: u32 = 2;

/// Which side of a queue a handle is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Sends.
    Producer,
    /// Receives.
    Consumer,
}

impl Role {
    /// The role at the other end of a ring.
    pub(crate) fn other(self) -> Role {
        match self {
            Role::Producer => Role::Consumer,
            Role::Consumer => Role::Producer,
        }
    }

    fn state(self) -> u32 {
        match self {
            Role::Producer => PRODUCER,
            Role::Consumer => CONSUMER,
        }
    }
}

/// One resolved handle record.
#[derive(Clone, Copy)]
pub(crate) struct Record<'a> {
    state: &'a AtomicU32,
    pid: &'a AtomicU32,
    start_time: &'a AtomicU64,
    claim_start: &'a AtomicU64,
    claim_end: &'a AtomicU64,
    parked: &'a AtomicU32,
    heir: &'a AtomicU64,
}

impl<'a> Record<'a> {
    /// The word saying which sleeper count the handle is in, if asleep.
    pub(crate) fn parked(&self) -> &'a AtomicU32 {
        self.parked
    }

    /// The claim words of the record.
    pub(crate) fn claim(&self) -> ClaimWords<'a> {
        ClaimWords {
            start: self.claim_start,
            end: self.claim_end,
        }
    }

    /// The end of the last claimed range.
    pub(crate) fn claim_end(&self) -> u64 {
        self.claim_end.load(Ordering::Relaxed)
    }

    /// The process the record stands for: its heir if it was handed over,
    /// else the process that attached it.
    fn process(&self) -> ProcessId {
        // Acquire: pairs with the Release store in `hand_over`, made after
        // the handle's last use of the record in the parent.
        ProcessId::from_word(self.heir.load(Ordering::Acquire)).unwrap_or(ProcessId {
            pid: self.pid.load(Ordering::Relaxed) as i32,
            start_time: self.start_time.load(Ordering::Relaxed),
        })
    }

    /// Whether the record holds a handle of `role` standing for `me`.
    fn stands_for(&self, role: Role, me: ProcessId) -> bool {
        self.state.load(Ordering::Acquire) == role.state() && self.process() == me
    }

    /// Whether the record's process is running (`me` is known alive).
    fn alive(&self, me: ProcessId) -> bool {
        let p = self.process();
        p == me || p.is_alive()
    }
}

/// The state of a record that process `pid` is filling in.
fn attaching_state(pid: i32) -> u32 {
    ((pid as u32) << 2) | ATTACHING
}

/// Whether no process with `pid` runs: an attacher killed before it
/// finished. A pid reused by another process counts as running, which
/// only leaves the record unused a while longer.
fn attacher_gone(pid: u32, me: ProcessId) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    pid != me.pid && pid > 0 && !ProcessId::of(pid).is_ok_and(|p| p.is_alive())
}

/// The handle records of one queue area.
#[derive(Clone, Copy)]
pub(crate) struct Records<'a> {
    region: Region<'a>,
    count: u32,
    /// The sleeper counts a `parked` mark stands for: not empty, not full.
    sleepers: [&'a AtomicU32; 2],
}

impl<'a> Records<'a> {
    /// `count` records in `region` (`count * 128` bytes), whose `parked`
    /// marks count in `sleepers` (not empty, not full).
    pub(crate) fn new(region: Region<'a>, count: u32, sleepers: [&'a AtomicU32; 2]) -> Records<'a> {
        Records {
            region,
            count,
            sleepers,
        }
    }

    /// Record `i`.
    pub(crate) fn get(&self, i: u32) -> Result<Record<'a>> {
        let base = u64::from(i) * RECORD;
        Ok(Record {
            state: self.region.get(base)?,
            pid: self.region.get(base + 4)?,
            start_time: self.region.get(base + 8)?,
            claim_start: self.region.get(base + 16)?,
            claim_end: self.region.get(base + 24)?,
            parked: self.region.get(base + 32)?,
            heir: self.region.get(base + 40)?,
        })
    }

    /// Takes `r`'s parked mark back out of the sleeper count it stands
    /// for, if the mark is still `seen` (`None`: whatever it is). The
    /// caller knows the process that set `seen` dead, or holds the record
    /// (being its new attacher, when no one else writes the mark); the
    /// exchange makes sure only one reaper counts it.
    fn unpark(&self, r: &Record<'a>, seen: Option<u32>) -> bool {
        let taken = match seen {
            Some(m) => r
                .parked
                .compare_exchange(m, 0, Ordering::AcqRel, Ordering::Relaxed)
                .unwrap_or(0),
            None => r.parked.swap(0, Ordering::AcqRel),
        };
        if taken == 0 {
            return false;
        }
        let count = match taken & 3 {
            PARKED_NOT_EMPTY => self.sleepers[0],
            PARKED_NOT_FULL => self.sleepers[1],
            // Garbage: nothing it could stand for.
            _ => return false,
        };
        // Saturating: the count is segment bytes, and a kill between the
        // sleeper's decrement and its clearing of the mark can't happen
        // (the mark is cleared first), but a corrupt count can.
        let _ = count.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        true
    }

    /// Takes the sleepers that died asleep back out of the sleeper counts:
    /// every handle record marked parked whose process is dead. Returns
    /// how many. Reads `/proc` only for marked records.
    pub(crate) fn reap_parked(&self, me: ProcessId) -> u32 {
        let mut reaped = 0;
        for r in self.each() {
            // SYNC POINT: Acquire pairs with the sleeper's Release store of
            // its mark, made after it attached: a mark read here comes with
            // the owner its process wrote, or a later one.
            let seen = r.parked.load(Ordering::Acquire);
            if seen == 0 {
                continue;
            }
            let s = r.state.load(Ordering::Acquire);
            // A record being attached is its attacher's to clean up. The
            // mark must be that of the process found dead: one that took
            // the record over since may be asleep under it (a process with
            // the dead one's pid doing so within this scan is the one case
            // left, and costs a count taken once too often).
            if matches!(s, PRODUCER | CONSUMER)
                && seen == parked_mark(seen & 3, r.process().pid)
                && !r.alive(me)
                && self.unpark(&r, Some(seen))
            {
                reaped += 1;
            }
        }
        reaped
    }

    fn each(&self) -> impl Iterator<Item = Record<'a>> + '_ {
        (0..self.count).filter_map(|i| self.get(i).ok())
    }

    /// Registers a handle of `me` in `role`. With `exclusive`, fails if
    /// another live handle of that role exists (SPSC). `obsolete(role, r)`
    /// says whether the last claim of dead handle `r`, of `role` (the
    /// record's, not the attacher's: a producer may reuse a dead
    /// consumer's record only once no producer can need that consumer's
    /// claim), no longer matters.
    pub(crate) fn attach(
        &self,
        role: Role,
        me: ProcessId,
        exclusive: bool,
        obsolete: impl Fn(Role, &Record<'a>) -> bool,
    ) -> Result<u32> {
        let want = role.state();
        let attaching = attaching_state(me.pid);
        for i in 0..self.count {
            let r = self.get(i)?;
            let s = r.state.load(Ordering::SeqCst);
            // Whether the dead handle in record `r` (state `s`) left a
            // claim that no longer matters.
            let dead_and_obsolete = |r: &Record<'a>| match s {
                PRODUCER => !r.alive(me) && obsolete(Role::Producer, r),
                CONSUMER => !r.alive(me) && obsolete(Role::Consumer, r),
                _ => true,
            };
            let reusable = match s {
                FREE => true,
                PRODUCER | CONSUMER => dead_and_obsolete(&r),
                s if s & 3 == ATTACHING => attacher_gone(s >> 2, me),
                _ => false,
            };
            if !reusable
                || r.state
                    .compare_exchange(s, attaching, Ordering::SeqCst, Ordering::Relaxed)
                    .is_err()
            {
                continue;
            }
            // The check above read the record before the CAS: in between,
            // another attacher may have taken it, made a claim and died,
            // leaving the same state word with a claim that still matters
            // (a slot only it can explain). Now that the record is ours
            // alone (ATTACHING by a live process), check what it holds
            // again, and give it back untouched if it must stay.
            if !dead_and_obsolete(&r) {
                // SeqCst like every store of the state word; only this
                // attacher writes it while it reads ATTACHING.
                r.state.store(s, Ordering::SeqCst);
                continue;
            }
            // A predecessor killed asleep is still counted as a sleeper.
            self.unpark(&r, None);
            r.pid.store(me.pid as u32, Ordering::Relaxed);
            r.start_time.store(me.start_time, Ordering::Relaxed);
            r.claim_start.store(0, Ordering::Relaxed);
            r.claim_end.store(0, Ordering::Relaxed);
            r.heir.store(0, Ordering::Relaxed);
            // SeqCst: two exclusive attachers each see the other's record
            // in the scan below (store-then-load on both sides).
            r.state.store(want, Ordering::SeqCst);
            if exclusive && self.other_alive(role, me, i) {
                self.detach(i);
                return Err(QueueError::TooManyHandles { max: 1 });
            }
            return Ok(i);
        }
        if exclusive && self.other_alive(role, me, u32::MAX) {
            return Err(QueueError::TooManyHandles { max: 1 });
        }
        Err(QueueError::TooManyHandles {
            max: self.count.into(),
        })
    }

    /// Whether a live handle of `role` other than record `me_index`
    /// exists. Two racing exclusive attachers store their state before
    /// scanning, so at least one sees the other; whoever sees one yields.
    fn other_alive(&self, role: Role, me: ProcessId, me_index: u32) -> bool {
        (0..self.count).any(|i| {
            i != me_index
                && self
                    .get(i)
                    .is_ok_and(|r| r.state.load(Ordering::SeqCst) == role.state() && r.alive(me))
        })
    }

    /// Whether record `i` holds a handle of `role` that stands for `me`
    /// (attached by `me`, or handed to it): one that `me`'s copy of the
    /// handle frees when it drops. A forked child's copy of a handle its
    /// parent kept (a `fork` outside `Process`) finds the parent's record
    /// and leaves it.
    pub(crate) fn stands_for(&self, i: u32, role: Role, me: ProcessId) -> bool {
        self.get(i).is_ok_and(|r| r.stands_for(role, me))
    }

    /// Passes record `i`, a handle of `role` standing for `from`, to the
    /// forked child `to` (whose copy of the handle goes on using it),
    /// instead of freeing it. Returns false, changing nothing, if the
    /// record does not stand for `from` or `to` cannot be recorded.
    pub(crate) fn hand_over(&self, i: u32, role: Role, from: ProcessId, to: ProcessId) -> bool {
        let Some(word) = to.to_word() else {
            return false;
        };
        self.get(i).is_ok_and(|r| {
            let ours = r.stands_for(role, from);
            if ours {
                // SYNC POINT: Release pairs with the Acquire load in
                // `Record::process`: a reader that finds the heir sees the
                // parent's last claim words before it.
                r.heir.store(word, Ordering::Release);
            }
            ours
        })
    }

    /// For a handle's drop: if this thread is dropping a forked child's
    /// body in the parent ([`mproc_sys::handing_over_to`]), passes record
    /// `i` to the child ([`hand_over`](Self::hand_over)) and returns true;
    /// the handle must then leave the record and the ring alone (the
    /// child's copy goes on with them).
    pub(crate) fn hand_over_if_forking(&self, i: u32, role: Role, me: ProcessId) -> bool {
        mproc_sys::handing_over_to().is_some_and(|child| self.hand_over(i, role, me, child))
    }

    /// Frees record `i`.
    pub(crate) fn detach(&self, i: u32) {
        if let Ok(r) = self.get(i) {
            r.state.store(FREE, Ordering::SeqCst);
        }
    }

    /// How many handles of `role` have a running process (slow: reads
    /// `/proc` for each other process).
    pub(crate) fn alive(&self, role: Role, me: ProcessId) -> u64 {
        self.each()
            .filter(|r| r.state.load(Ordering::Acquire) == role.state() && r.alive(me))
            .count() as u64
    }

    /// The furthest claim end of the dead handles of `role` (SPSC: the end
    /// of what a dead consumer took and never released), if any.
    pub(crate) fn dead_claim_end(&self, role: Role, me: ProcessId, head: u64) -> Option<u64> {
        self.each()
            .filter(|r| r.state.load(Ordering::Acquire) == role.state() && !r.alive(me))
            .map(|r| r.claim_end())
            .filter(|&end| end.wrapping_sub(head) as i64 > 0)
            .max_by_key(|&end| end.wrapping_sub(head))
    }

    /// Whether a live SPSC producer has reserved position `head` or later
    /// (up to a lap) without having published it yet as far as `head` can
    /// tell: a send that may still return `Ok` (the close handshake, see
    /// `ring::recheck_closed`; the caller loaded the closed flag with
    /// Acquire before). Reads `/proc` only for a record whose claim is
    /// ahead of `head`.
    pub(crate) fn reserved_past(&self, head: u64, cap: u64, me: ProcessId) -> bool {
        self.each().any(|r| {
            let ahead = r.claim_end().wrapping_sub(head);
            r.state.load(Ordering::Acquire) == PRODUCER && ahead != 0 && ahead <= cap && r.alive(me)
        })
    }

    /// Whether position `pos` is held by handles of `role` that are all
    /// dead: at least one record of that role covers it, and every such
    /// record's process is gone.
    pub(crate) fn holders_dead(&self, role: Role, pos: u64, me: ProcessId) -> bool {
        let mut any = false;
        for r in self.each() {
            if r.state.load(Ordering::Acquire) == role.state() && r.claim().covers(pos) {
                if r.alive(me) {
                    return false;
                }
                any = true;
            }
        }
        any
    }
}

#[cfg(test)]
mod tests {
    use mproc_shm::HeapRegion;

    use super::*;

    fn me() -> ProcessId {
        ProcessId::current().unwrap()
    }

    static NO_SLEEPERS: AtomicU32 = AtomicU32::new(0);

    /// A pid that ran and is gone (reaped).
    fn dead_pid() -> i32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        pid
    }

    /// A reaper clears the parked mark of the process it found dead, and
    /// leaves a mark set under another pid alone: a handle that took the
    /// record over between the reaper's check and its clearing may be
    /// asleep under it.
    #[test]
    fn only_the_dead_owners_parked_mark_is_reaped() {
        let heap = HeapRegion::new(RECORD as usize);
        let sleepers = AtomicU32::new(1);
        let records = Records::new(heap.region(), 1, [&sleepers, &NO_SLEEPERS]);
        let r = records.get(0).unwrap();
        let dead = dead_pid();
        r.pid.store(dead as u32, Ordering::Relaxed);
        r.start_time.store(1, Ordering::Relaxed);
        r.state.store(CONSUMER, Ordering::SeqCst);
        let taker = parked_mark(PARKED_NOT_EMPTY, me().pid);
        r.parked.store(taker, Ordering::Release);
        assert_eq!(records.reap_parked(me()), 0);
        assert_eq!(r.parked.load(Ordering::Acquire), taker);
        assert_eq!(sleepers.load(Ordering::Relaxed), 1);
        r.parked
            .store(parked_mark(PARKED_NOT_EMPTY, dead), Ordering::Release);
        assert_eq!(records.reap_parked(me()), 1);
        assert_eq!(r.parked.load(Ordering::Acquire), 0);
        assert_eq!(sleepers.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_record_left_attaching_by_a_dead_process_is_reused() {
        let heap = HeapRegion::new(RECORD as usize);
        let records = Records::new(heap.region(), 1, [&NO_SLEEPERS, &NO_SLEEPERS]);
        let r = records.get(0).unwrap();
        r.state.store(attaching_state(dead_pid()), Ordering::SeqCst);
        let i = records
            .attach(Role::Producer, me(), false, |_, _| true)
            .unwrap();
        assert_eq!(i, 0);
        assert_eq!(r.state.load(Ordering::SeqCst), PRODUCER);
        assert_eq!(r.process(), me());
    }

    #[test]
    fn a_record_being_filled_by_a_live_process_is_not_taken() {
        let heap = HeapRegion::new(RECORD as usize);
        let records = Records::new(heap.region(), 1, [&NO_SLEEPERS, &NO_SLEEPERS]);
        let live = std::os::unix::process::parent_id() as i32;
        for state in [attaching_state(live), attaching_state(me().pid), ATTACHING] {
            records.get(0).unwrap().state.store(state, Ordering::SeqCst);
            assert!(matches!(
                records.attach(Role::Consumer, me(), false, |_, _| true),
                Err(QueueError::TooManyHandles { max: 1 })
            ));
        }
    }
}
