//! [`Rng`]: a tiny seeded xorshift, enough to pick victims and moments.

use std::time::{SystemTime, UNIX_EPOCH};

/// A xorshift64* generator: small, fast, and replayable from its seed.
///
/// # Examples
///
/// ```
/// use mproc_torture::Rng;
///
/// let (mut a, mut b) = (Rng::new(42), Rng::new(42));
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!(a.below(3) < 3);
/// ```
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator seeded with `seed` (any value; 0 is mapped to a fixed
    /// non-zero state).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut r = mproc_torture::Rng::new(0);
    /// assert_ne!(r.next_u64(), 0);
    /// ```
    pub fn new(seed: u64) -> Rng {
        // Spread the seed so that nearby seeds give unrelated streams.
        let mut s = seed ^ 0x9e37_79b9_7f4a_7c15;
        s = (s ^ (s >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        s = (s ^ (s >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        s ^= s >> 31;
        Rng {
            state: if s == 0 { 0x2545_f491_4f6c_dd1d } else { s },
        }
    }

    /// A seed from the clock, for runs that were not given one.
    ///
    /// # Examples
    ///
    /// ```
    /// let _ = mproc_torture::Rng::clock_seed();
    /// ```
    pub fn clock_seed() -> u64 {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0x1234_5678, |d| d.as_nanos() as u64);
        nanos ^ (u64::from(std::process::id()) << 32)
    }

    /// The next 64 random bits.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut r = mproc_torture::Rng::new(1);
    /// assert_ne!(r.next_u64(), r.next_u64());
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 if `n` is 0).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut r = mproc_torture::Rng::new(2);
    /// assert!((0..100).all(|_| r.below(5) < 5));
    /// assert_eq!(r.below(0), 0);
    /// ```
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// A number in `lo..=hi`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut r = mproc_torture::Rng::new(3);
    /// assert!((0..100).all(|_| (2..=4).contains(&r.range(2, 4))));
    /// ```
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// True with probability `percent` / 100.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut r = mproc_torture::Rng::new(4);
    /// assert!(r.percent(100));
    /// assert!(!r.percent(0));
    /// ```
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// An independent generator for a child or a round, drawn from this one.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut r = mproc_torture::Rng::new(5);
    /// let mut child = r.fork();
    /// let _ = child.next_u64();
    /// ```
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }
}
