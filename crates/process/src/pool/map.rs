//! The map family of [`Pool`]: `map`, `map_each`, `imap`,
//! `imap_unordered`, `starmap`, with and without a chunk size.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::PoolError;
use super::feed::{Feed, Items};
use super::imap::{self, IMap};
use super::items::Counted;
use super::task::{Call, StarFn};
use super::{Pool, default_chunksize};

impl Pool {
    /// `f` applied to every item, in input order (Python's `map`), with
    /// Python's default chunk size: `len / (4 * processes)` rounded up.
    /// Waits for every task, then fails with the first error in input
    /// order if any task failed; to get each task's own result, use
    /// [`map_each`](Self::map_each) or [`imap_chunked`](Self::imap_chunked).
    ///
    /// # Errors
    ///
    /// [`PoolError::EncodeArgument`] (the call returns no result; chunks
    /// encoded before the failing item may have run), [`PoolError::NotRunning`],
    /// a task's error, [`PoolError::Terminated`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::Pool::new(2).unwrap();
    /// let words = pool.map(|s: String| s.len(), ["a".to_string(), "bcd".into()]).unwrap();
    /// assert_eq!(words, [1, 3]);
    /// ```
    pub fn map<A, R>(
        &self,
        f: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
    ) -> Result<Vec<R>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let (len, items) = Counted::new(items);
        let chunksize = default_chunksize(len, self.processes());
        self.map_chunked(f, items, chunksize)
    }

    /// [`map`](Self::map) with `chunksize` tasks per message.
    ///
    /// # Errors
    ///
    /// As [`map`](Self::map); [`PoolError::InvalidOption`] for a zero
    /// chunk size.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::Pool::new(2).unwrap();
    /// assert_eq!(pool.map_chunked(|x: u8| x / 2, [4, 6], 1).unwrap(), [2, 3]);
    /// ```
    pub fn map_chunked<A, R>(
        &self,
        f: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
        chunksize: usize,
    ) -> Result<Vec<R>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let job = self
            .shared
            .submit_items(Call::of_fn(f)?, items, chunksize)?;
        IMap::<R>::new(job, true).collect_values()
    }

    /// Every task's own result, in input order, with the default chunk
    /// size: a failed task fails alone. When a worker dies, the task it was
    /// running is [`PoolError::WorkerLost`]; the tasks it had finished keep
    /// their results (or, only if those were too large to stage in shared
    /// memory, are [`PoolError::ResultLost`]) and are not run again.
    ///
    /// # Errors
    ///
    /// Only what fails the whole call: [`PoolError::EncodeArgument`],
    /// [`PoolError::NotRunning`].
    ///
    /// # Examples
    ///
    /// ```
    /// fn inv(x: i32) -> i32 { if x == 0 { panic!("zero") } else { 100 / x } }
    /// let pool = mproc_process::Pool::new(2).unwrap();
    /// let r = pool.map_each(inv, [0, 5]).unwrap();
    /// assert!(r[0].is_err());
    /// assert_eq!(*r[1].as_ref().unwrap(), 20);
    /// ```
    pub fn map_each<A, R>(
        &self,
        f: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
    ) -> Result<Vec<Result<R, PoolError>>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let (len, items) = Counted::new(items);
        let chunksize = default_chunksize(len, self.processes());
        let job = self
            .shared
            .submit_items(Call::of_fn(f)?, items, chunksize)?;
        Ok(imap::wait_each(&job))
    }

    /// `f` applied to every item, results streaming back in input order
    /// while later tasks still run (Python's `imap`, chunk size 1).
    ///
    /// The input is consumed lazily: the first chunks are submitted before
    /// this returns (workers start on them), the rest is pulled from
    /// `items` as results are taken, a bounded window of chunks ahead
    /// (see [`IMap`]), so an endless iterator works. The iterator is
    /// pulled in the thread that iterates the `IMap`, hence `Send`.
    ///
    /// # Errors
    ///
    /// [`PoolError::NotRunning`], [`PoolError::NotOwner`]; task errors come
    /// in place in the iteration, and an item that cannot be encoded ends
    /// it with [`PoolError::EncodeArgument`] (after the results of the
    /// items before it).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::Pool::new(2).unwrap();
    /// let v: Vec<u32> = pool.imap(|x: u32| x * 3, 0..3).unwrap().map(Result::unwrap).collect();
    /// assert_eq!(v, [0, 3, 6]);
    /// // Lazily: an endless input, of which only a window ahead is pulled.
    /// let mut it = pool.imap(|x: u64| x + 1, 0u64..).unwrap();
    /// assert_eq!(it.nth(999).unwrap().unwrap(), 1000);
    /// ```
    pub fn imap<'a, A, R, I>(&self, f: fn(A) -> R, items: I) -> Result<IMap<'a, R>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'a,
    {
        self.imap_chunked(f, items, 1)
    }

    /// [`imap`](Self::imap) with `chunksize` tasks per message.
    ///
    /// # Errors
    ///
    /// As [`imap`](Self::imap); [`PoolError::InvalidOption`] for a zero
    /// chunk size.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::Pool::new(2).unwrap();
    /// assert_eq!(pool.imap_chunked(|x: u8| x, 0..10, 4).unwrap().count(), 10);
    /// let firsts: Vec<u64> = pool
    ///     .imap_chunked(|x: u64| 2 * x, 0u64.., 100)
    ///     .unwrap()
    ///     .take(3)
    ///     .map(Result::unwrap)
    ///     .collect();
    /// assert_eq!(firsts, [0, 2, 4]);
    /// ```
    pub fn imap_chunked<'a, A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        chunksize: usize,
    ) -> Result<IMap<'a, R>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'a,
    {
        self.stream(f, items, chunksize, true)
    }

    /// As [`imap`](Self::imap), results in the order they finish (Python's
    /// `imap_unordered`); the input is consumed lazily in the same way.
    ///
    /// # Errors
    ///
    /// As [`imap`](Self::imap).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::Pool::new(2).unwrap();
    /// let mut v: Vec<u32> = pool.imap_unordered(|x: u32| x, 0..5).unwrap().map(Result::unwrap).collect();
    /// v.sort();
    /// assert_eq!(v, [0, 1, 2, 3, 4]);
    /// let some = pool.imap_unordered(|x: u64| x % 7, 0u64..).unwrap().take(20).count();
    /// assert_eq!(some, 20);
    /// ```
    pub fn imap_unordered<'a, A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
    ) -> Result<IMap<'a, R>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'a,
    {
        self.imap_unordered_chunked(f, items, 1)
    }

    /// [`imap_unordered`](Self::imap_unordered) with `chunksize` tasks per
    /// message.
    ///
    /// # Errors
    ///
    /// As [`imap_chunked`](Self::imap_chunked).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::Pool::new(2).unwrap();
    /// assert_eq!(pool.imap_unordered_chunked(|x: u8| x, 0..9, 3).unwrap().count(), 9);
    /// ```
    pub fn imap_unordered_chunked<'a, A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        chunksize: usize,
    ) -> Result<IMap<'a, R>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'a,
    {
        self.stream(f, items, chunksize, false)
    }

    /// Starts a streaming call over `items`.
    fn stream<'a, A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        chunksize: usize,
        ordered: bool,
    ) -> Result<IMap<'a, R>, PoolError>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'a,
    {
        let call = Call::of_fn(f)?;
        self.shared.check_owner()?;
        if chunksize == 0 {
            return Err(PoolError::InvalidOption {
                option: "chunksize",
                value: 0,
            });
        }
        let chunksize = chunksize.min(u32::MAX as usize) as u32;
        let feed = Feed::start(
            &self.shared,
            call,
            chunksize,
            Box::new(Items(items.into_iter())),
        )?;
        Ok(IMap::streaming(feed, ordered))
    }

    /// `f` called with each tuple spread out as its arguments (Python's
    /// `starmap`), in input order, default chunk size. `f` is a function
    /// item or a closure capturing nothing, of one to six arguments
    /// ([`PoolError::CapturingFunction`] otherwise).
    ///
    /// # Errors
    ///
    /// As [`map`](Self::map).
    ///
    /// # Examples
    ///
    /// ```
    /// fn add(a: u32, b: u32) -> u32 { a + b }
    /// let pool = mproc_process::Pool::new(2).unwrap();
    /// assert_eq!(pool.starmap(add, [(1, 2), (3, 4)]).unwrap(), [3, 7]);
    /// ```
    pub fn starmap<F, Args, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = Args>,
    ) -> Result<Vec<R>, PoolError>
    where
        F: StarFn<Args, R>,
        Args: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let (len, items) = Counted::new(items);
        let chunksize = default_chunksize(len, self.processes());
        self.starmap_chunked(f, items, chunksize)
    }

    /// [`starmap`](Self::starmap) with `chunksize` tasks per message.
    ///
    /// # Errors
    ///
    /// As [`map_chunked`](Self::map_chunked).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = mproc_process::Pool::new(1).unwrap();
    /// let r = pool.starmap_chunked(|a: u8, b: u8, c: u8| a * b + c, [(2, 3, 1)], 1).unwrap();
    /// assert_eq!(r, [7]);
    /// ```
    pub fn starmap_chunked<F, Args, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = Args>,
        chunksize: usize,
    ) -> Result<Vec<R>, PoolError>
    where
        F: StarFn<Args, R>,
        Args: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let _ = f;
        let call = Call::of_star::<F, Args, R>()?;
        let job = self.shared.submit_items(call, items, chunksize)?;
        IMap::<R>::new(job, true).collect_values()
    }
}
