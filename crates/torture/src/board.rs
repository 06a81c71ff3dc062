//! [`Board`]: counters in an anonymous shared segment, shared with children
//! forked after it was made.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mproc_shm::{Segment, ShmError};

/// `words` 64-bit atomic counters in an anonymous shared segment: forked
/// children write what they did (last committed sequence numbers, what
/// they received, which phase they are in), the parent reads it after
/// killing one of them. Every access is `SeqCst`: this is bookkeeping, not
/// the code under test.
///
/// # Examples
///
/// ```
/// let b = mproc_torture::Board::new(2).unwrap();
/// b.set(0, 5);
/// b.add(0, 2);
/// assert_eq!(b.get(0), 7);
/// assert_eq!(b.fetch_or(1, 0b10), 0);
/// assert_eq!(b.get(1), 0b10);
/// ```
pub struct Board {
    seg: Segment,
    words: usize,
}

impl std::fmt::Debug for Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Board").field("words", &self.words).finish()
    }
}

impl Board {
    /// A board of `words` zeroed counters.
    ///
    /// # Errors
    ///
    /// The segment's, if the memory cannot be had.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_torture::Board::new(3).unwrap().words(), 3);
    /// ```
    pub fn new(words: usize) -> Result<Board, ShmError> {
        Ok(Board {
            seg: Segment::anonymous(words.max(1) as u64 * 8)?,
            words,
        })
    }

    /// How many counters.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_torture::Board::new(1).unwrap().words(), 1);
    /// ```
    pub fn words(&self) -> usize {
        self.words
    }

    /// # Panics
    ///
    /// If `i` is out of range: a bug in the suite.
    fn word(&self, i: usize) -> &AtomicU64 {
        assert!(i < self.words, "board word {i} of {}", self.words);
        match self.seg.payload().get::<AtomicU64>(i as u64 * 8) {
            Ok(w) => w,
            Err(e) => panic!("board word {i}: {e}"),
        }
    }

    /// Word `i`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_torture::Board::new(1).unwrap().get(0), 0);
    /// ```
    pub fn get(&self, i: usize) -> u64 {
        self.word(i).load(Ordering::SeqCst)
    }

    /// Sets word `i`.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = mproc_torture::Board::new(1).unwrap();
    /// b.set(0, 9);
    /// assert_eq!(b.get(0), 9);
    /// ```
    pub fn set(&self, i: usize, v: u64) {
        self.word(i).store(v, Ordering::SeqCst);
    }

    /// Adds to word `i`; returns the old value.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = mproc_torture::Board::new(1).unwrap();
    /// assert_eq!(b.add(0, 4), 0);
    /// assert_eq!(b.get(0), 4);
    /// ```
    pub fn add(&self, i: usize, v: u64) -> u64 {
        self.word(i).fetch_add(v, Ordering::SeqCst)
    }

    /// ORs bits into word `i`; returns the old value.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = mproc_torture::Board::new(1).unwrap();
    /// b.fetch_or(0, 1);
    /// assert_eq!(b.fetch_or(0, 2), 1);
    /// ```
    pub fn fetch_or(&self, i: usize, v: u64) -> u64 {
        self.word(i).fetch_or(v, Ordering::SeqCst)
    }

    /// Swaps word `i`; returns the old value.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = mproc_torture::Board::new(1).unwrap();
    /// assert_eq!(b.swap(0, 3), 0);
    /// assert_eq!(b.swap(0, 0), 3);
    /// ```
    pub fn swap(&self, i: usize, v: u64) -> u64 {
        self.word(i).swap(v, Ordering::SeqCst)
    }

    /// Raises word `i` to at least `v`.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = mproc_torture::Board::new(1).unwrap();
    /// b.max(0, 5);
    /// b.max(0, 3);
    /// assert_eq!(b.get(0), 5);
    /// ```
    pub fn max(&self, i: usize, v: u64) {
        self.word(i).fetch_max(v, Ordering::SeqCst);
    }

    /// Waits until `done(word i)` holds, at most `timeout`; returns whether
    /// it did.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = mproc_torture::Board::new(1).unwrap();
    /// assert!(!b.wait_until(0, |v| v > 0, Duration::from_millis(1)));
    /// b.set(0, 1);
    /// assert!(b.wait_until(0, |v| v > 0, Duration::from_millis(1)));
    /// ```
    pub fn wait_until(&self, i: usize, done: impl Fn(u64) -> bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(self.get(i)) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_micros(50));
        }
    }

    /// [`wait_until`](Self::wait_until) without sleeping (yielding only):
    /// for catching a fast victim at a chosen point of its work.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = mproc_torture::Board::new(1).unwrap();
    /// b.set(0, 2);
    /// assert!(b.spin_until(0, |v| v == 2, Duration::from_millis(1)));
    /// ```
    pub fn spin_until(&self, i: usize, done: impl Fn(u64) -> bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(self.get(i)) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::yield_now();
        }
    }
}
