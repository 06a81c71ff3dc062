//! The queue scenario's board: where each child writes what it did, the
//! phases it publishes, its error bits.

pub(super) const MAX_P: usize = 3;
/// Consumers, their replacements included.
pub(super) const MAX_C: usize = 4;

// Board layout.
pub(super) const PROGRESS: usize = 0;
pub(super) const STALLS: usize = 1;
pub(super) const P_COMMITTED: usize = 2;
pub(super) const P_INFLIGHT: usize = P_COMMITTED + MAX_P;
pub(super) const P_PHASE: usize = P_INFLIGHT + MAX_P;
pub(super) const P_ERR: usize = P_PHASE + MAX_P;
pub(super) const C_INFLIGHT: usize = P_ERR + MAX_P;
pub(super) const C_PHASE: usize = C_INFLIGHT + MAX_C;
pub(super) const C_ERR: usize = C_PHASE + MAX_C;
pub(super) const C_END: usize = C_ERR + MAX_C;
pub(super) const C_COUNT: usize = C_END + MAX_C;
pub(super) const C_DUPS: usize = C_COUNT + MAX_C;
/// Per producer then per consumer: set once the handle is attached.
pub(super) const ATTACHED: usize = C_DUPS + MAX_C;
/// Set by the parent once the first children are forked.
pub(super) const GO: usize = ATTACHED + MAX_P + MAX_C;
/// Per producer: it saw `Closed` (the parent closed the queue early).
pub(super) const P_CLOSED: usize = GO + 1;
pub(super) const BITS: usize = P_CLOSED + MAX_P;

// Phases, as the victim last published them.
pub(super) const IDLE: u64 = 0;
pub(super) const SENDING: u64 = 1;
pub(super) const LOANED: u64 = 2;
pub(super) const BATCH_SEND: u64 = 3;
pub(super) const RECEIVING: u64 = 4;
pub(super) const HOLDING: u64 = 5;
pub(super) const BATCH_RECV: u64 = 6;

pub(super) fn phase_name(producer: bool, phase: u64) -> &'static str {
    match (producer, phase) {
        (_, SENDING) => "mid-send",
        (_, LOANED) => "mid-loan",
        (_, BATCH_SEND) => "mid-batch-send",
        (_, RECEIVING) => "mid-recv",
        (_, HOLDING) => "holding a slot",
        (_, BATCH_RECV) => "mid-batch-recv",
        (true, _) => "producer between sends",
        (false, _) => "consumer between recvs",
    }
}

// Error bits a child sets in its error word.
pub(super) const E_TORN: u64 = 1;
pub(super) const E_ORDER: u64 = 4;
pub(super) const E_UNEXPECTED: u64 = 8;
pub(super) const E_RANGE: u64 = 16;
pub(super) const E_GAVE_UP: u64 = 32;
pub(super) const E_ATTACH: u64 = 64;
pub(super) const E_STUCK: u64 = 128;

// How a consumer ended.
pub(super) const END_DISCONNECTED: u64 = 1;
pub(super) const END_CLOSED: u64 = 2;

pub(super) fn describe_errors(bits: u64) -> String {
    let names = [
        (E_TORN, "torn message"),
        (E_ORDER, "out of order"),
        (E_UNEXPECTED, "unexpected error"),
        (E_RANGE, "producer or seq out of range"),
        (
            E_GAVE_UP,
            "producer gave up on Disconnected while a consumer was coming",
        ),
        (E_ATTACH, "could not attach a handle"),
        (
            E_STUCK,
            "gave up after three stall bounds with nobody moving",
        ),
    ];
    let v: Vec<&str> = names
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect();
    v.join(", ")
}
