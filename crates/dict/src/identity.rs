//! This process's identity packed in one word, as the robust locks record
//! their owner: pid (22 bits) and start time (42 bits), cached per process
//! (a fork changes [`mproc_sys::fork_epoch`], which invalidates the cache).

use std::sync::atomic::{AtomicU64, Ordering};

use mproc_sys::ProcessId;

use crate::{DictError, Result};

const PID_BITS: u32 = 22;
const START_MASK: u64 = (1 << (64 - PID_BITS)) - 1;

static CACHED: AtomicU64 = AtomicU64::new(0);
/// `fork_epoch() + 1` when `CACHED` was filled, 0 if never.
static CACHED_EPOCH: AtomicU64 = AtomicU64::new(0);

/// Packs a process identity; never 0 for a real process (pids start at 1).
pub(crate) fn pack(id: ProcessId) -> u64 {
    ((id.pid as u64) & ((1 << PID_BITS) - 1)) << (64 - PID_BITS) | (id.start_time & START_MASK)
}

/// The pid in a packed identity.
pub(crate) fn pid_of(packed: u64) -> i32 {
    (packed >> (64 - PID_BITS)) as i32
}

/// This process's packed identity.
pub(crate) fn current() -> Result<u64> {
    let epoch = mproc_sys::fork_epoch().wrapping_add(1);
    // SYNC POINT: Acquire pairs with the Release store of CACHED_EPOCH below:
    // a matching epoch means CACHED holds this process's identity.
    if CACHED_EPOCH.load(Ordering::Acquire) == epoch {
        return Ok(CACHED.load(Ordering::Relaxed));
    }
    let packed = pack(ProcessId::current().map_err(DictError::Identity)?);
    CACHED.store(packed, Ordering::Relaxed);
    // SYNC POINT: Release pairs with the Acquire load above.
    CACHED_EPOCH.store(epoch, Ordering::Release);
    Ok(packed)
}

/// Whether the process a packed identity names still runs (not a zombie,
/// not a newer process that reused the pid).
pub(crate) fn is_alive(packed: u64) -> bool {
    let pid = pid_of(packed);
    if pid <= 0 {
        return false;
    }
    match ProcessId::of(pid) {
        Ok(now) if now.start_time & START_MASK == packed & START_MASK => now.is_alive(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn me_alive_and_others_not() {
        let me = current().unwrap();
        assert_eq!(me, current().unwrap());
        assert_eq!(pid_of(me), mproc_sys::getpid());
        assert!(is_alive(me));
        assert!(!is_alive(me ^ 1));
        assert!(!is_alive(0));
        assert!(!is_alive(START_MASK));
    }
}
