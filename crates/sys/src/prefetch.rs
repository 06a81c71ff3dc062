//! A cache-line prefetch with intent to write.
//!
//! Rust's portable prefetch intrinsic with the write hint compiles to a
//! plain read prefetch unless the crate is built for the `prfchw` target
//! feature (unstable to name), and a read prefetch of a line another core
//! holds makes the write that follows wait for a second transfer. So this
//! emits x86's `PREFETCHW` itself, after checking once through `CPUID`
//! that the processor has it.

#[cfg(all(target_arch = "x86_64", not(miri)))]
use std::sync::atomic::{AtomicU8, Ordering};

/// Asks the processor to bring the cache line holding `addr` into this
/// core's cache ready to be written (x86 `PREFETCHW`), so that stores to
/// it soon after do not each wait for the line.
///
/// A hint only: it reads and writes nothing the program can see and never
/// faults, whatever `addr` is. It does nothing on other architectures, on
/// processors without `PREFETCHW`, and under miri.
///
/// # Examples
///
/// ```
/// let mut buf = [0u8; 256];
/// for line in (0..buf.len()).step_by(64) {
///     mproc_sys::prefetch_for_write(buf[line..].as_ptr());
/// }
/// buf.fill(7);
/// assert!(buf.iter().all(|&b| b == 7));
/// ```
#[inline]
pub fn prefetch_for_write(addr: *const u8) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if has_prefetchw() {
        // SAFETY: PREFETCHW is a hint: it never faults on any address (Intel
        // SDM, PREFETCHW), accesses no memory the program observes, and
        // touches neither the stack nor the flags (the options say so).
        unsafe {
            std::arch::asm!(
                "prefetchw [{0}]",
                in(reg) addr,
                options(nostack, preserves_flags, readonly)
            );
        }
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = addr;
}

/// Whether the processor implements `PREFETCHW`: `CPUID` leaf
/// `0x8000_0001`, `ECX` bit 8, asked once (0 = not yet, 1 = no, 2 = yes).
#[cfg(all(target_arch = "x86_64", not(miri)))]
#[inline]
fn has_prefetchw() -> bool {
    static KNOWN: AtomicU8 = AtomicU8::new(0);
    // Relaxed: the answer is the same whoever computes it; a thread that
    // reads 0 merely asks CPUID itself.
    match KNOWN.load(Ordering::Relaxed) {
        0 => {
            let yes = cpuid_prefetchw();
            KNOWN.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
        v => v == 2,
    }
}

#[cfg(all(target_arch = "x86_64", not(miri)))]
#[cold]
fn cpuid_prefetchw() -> bool {
    use std::arch::x86_64::__cpuid;
    // Leaf 0x8000_0000 gives the highest extended leaf; 0x8000_0001's ECX
    // bit 8 is PRFCHW (AMD: 3DNowPrefetch).
    #[allow(unused_unsafe)]
    // SAFETY: CPUID exists on every x86_64 processor and has no effect
    // beyond its result (the call is `unsafe` on older toolchains only).
    let (max, ecx) = unsafe { (__cpuid(0x8000_0000).eax, __cpuid(0x8000_0001).ecx) };
    max >= 0x8000_0001 && ecx & (1 << 8) != 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefetching_any_address_is_harmless() {
        let buf = vec![1u8; 4096];
        for off in (0..buf.len()).step_by(64) {
            super::prefetch_for_write(buf[off..].as_ptr());
        }
        // Not even a valid pointer: a hint never faults.
        super::prefetch_for_write(std::ptr::dangling::<u8>());
        super::prefetch_for_write(std::ptr::null());
        assert!(buf.iter().all(|&b| b == 1));
    }
}
