//! [`TypedDict`]: a [`Dict`] of serde types, encoded with postcard.

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Dict, DictError, DictOptions, DictStats, Result};

/// Encodings up to this size stay on the stack.
const INLINE: usize = 128;

/// A postcard encoding, on the stack when small.
enum Encoded {
    Inline { buf: [u8; INLINE], len: usize },
    Heap(Vec<u8>),
}

impl AsRef<[u8]> for Encoded {
    fn as_ref(&self) -> &[u8] {
        match self {
            Encoded::Inline { buf, len } => &buf[..*len],
            Encoded::Heap(v) => v,
        }
    }
}

fn encode<T: Serialize + ?Sized>(what: &'static str, value: &T) -> Result<Encoded> {
    let mut buf = [0u8; INLINE];
    match postcard::to_slice(value, &mut buf) {
        Ok(used) => {
            let len = used.len();
            Ok(Encoded::Inline { buf, len })
        }
        Err(postcard::Error::SerializeBufferFull) => postcard::to_allocvec(value)
            .map(Encoded::Heap)
            .map_err(|source| DictError::Encode { what, source }),
        Err(source) => Err(DictError::Encode { what, source }),
    }
}

/// Decodes all of `bytes` as a `T`: bytes left over mean they hold another
/// type (a dict opened with other types), which a prefix decode would hide.
fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T> {
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Ok(value),
        Ok(_) => Err(DictError::Decode {
            what,
            source: postcard::Error::DeserializeBadEncoding,
        }),
        Err(source) => Err(DictError::Decode { what, source }),
    }
}

/// A shared dict of typed keys and values: Python's `Manager().dict()`
/// with its keys and values pickled, here postcard-encoded into a [`Dict`].
///
/// Keys compare by their encoding. Small keys and values are encoded on
/// the stack: [`get_with`](TypedDict::get_with) and
/// [`update`](TypedDict::update) allocate nothing unless decoding `V`
/// does (a `String` does, a `u64` does not).
///
/// # Examples
///
/// ```
/// use mproc_dict::{DictOptions, TypedDict};
///
/// let d: TypedDict<String, u64> = TypedDict::new(DictOptions::new()).unwrap();
/// d.insert(&"apples".to_string(), &3).unwrap();
/// d.update(&"apples".to_string(), |n| Some(n.copied().unwrap_or(0) + 1)).unwrap();
/// assert_eq!(d.get(&"apples".to_string()).unwrap(), Some(4));
/// ```
pub struct TypedDict<K, V> {
    dict: Dict,
    _types: PhantomData<fn(K) -> V>,
}

impl<K, V> Clone for TypedDict<K, V> {
    fn clone(&self) -> Self {
        TypedDict {
            dict: self.dict.clone(),
            _types: PhantomData,
        }
    }
}

impl<K, V> std::fmt::Debug for TypedDict<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedDict")
            .field("dict", &self.dict)
            .finish()
    }
}

impl<K, V> TypedDict<K, V>
where
    K: Serialize,
    V: Serialize + DeserializeOwned,
{
    /// A new anonymous typed dict (see [`Dict::new`]).
    ///
    /// # Errors
    ///
    /// As [`Dict::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// let d: mproc_dict::TypedDict<u32, String> = mproc_dict::TypedDict::new(Default::default()).unwrap();
    /// assert!(d.is_empty().unwrap());
    /// ```
    pub fn new(opts: DictOptions) -> Result<Self> {
        Ok(Self::from_dict(Dict::new(opts)?))
    }

    /// Creates a named typed dict (see [`Dict::create`]).
    ///
    /// # Errors
    ///
    /// As [`Dict::create`].
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_dict::TypedDict;
    /// let a: TypedDict<u32, u32> = TypedDict::create("doc-typed-create", Default::default()).unwrap();
    /// a.insert(&1, &2).unwrap();
    /// let b: TypedDict<u32, u32> = TypedDict::open("doc-typed-create").unwrap();
    /// assert_eq!(b.get(&1).unwrap(), Some(2));
    /// ```
    pub fn create(name: &str, opts: DictOptions) -> Result<Self> {
        Ok(Self::from_dict(Dict::create(name, opts)?))
    }

    /// Opens a named typed dict (see [`Dict::open`]). The types are not
    /// recorded: opening with other types gives [`DictError::Decode`] on
    /// reads of entries that do not decode whole as the types given (a
    /// struct that gained a field since the entry was written is another
    /// type: its older readers get `Decode` too).
    ///
    /// # Errors
    ///
    /// As [`Dict::open`].
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_dict::{DictError, DictOptions, TypedDict};
    /// assert!(TypedDict::<u8, u8>::open("doc-typed-none").is_err());
    ///
    /// let pairs: TypedDict<u8, (u32, u32)> = TypedDict::create("doc-typed-other", DictOptions::new()).unwrap();
    /// pairs.insert(&1, &(7, 9)).unwrap();
    /// let single: TypedDict<u8, u32> = TypedDict::open("doc-typed-other").unwrap();
    /// assert!(matches!(single.get(&1), Err(DictError::Decode { .. }))); // not the prefix 7
    /// ```
    pub fn open(name: &str) -> Result<Self> {
        Ok(Self::from_dict(Dict::open(name)?))
    }

    /// Views a byte dict as a typed one.
    ///
    /// # Examples
    ///
    /// ```
    /// let d = mproc_dict::Dict::new(Default::default()).unwrap();
    /// let t: mproc_dict::TypedDict<u8, u8> = mproc_dict::TypedDict::from_dict(d.clone());
    /// t.insert(&1, &1).unwrap();
    /// assert_eq!(d.len().unwrap(), 1);
    /// ```
    pub fn from_dict(dict: Dict) -> Self {
        TypedDict {
            dict,
            _types: PhantomData,
        }
    }

    /// The byte dict underneath.
    ///
    /// # Examples
    ///
    /// ```
    /// let t: mproc_dict::TypedDict<u8, u8> = mproc_dict::TypedDict::new(Default::default()).unwrap();
    /// assert!(t.as_dict().name().is_none());
    /// ```
    pub fn as_dict(&self) -> &Dict {
        &self.dict
    }

    /// Bounds how long each operation waits for shard locks, as
    /// [`Dict::set_lock_timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut t: mproc_dict::TypedDict<u8, u8> = mproc_dict::TypedDict::new(Default::default()).unwrap();
    /// t.set_lock_timeout(Some(Duration::from_millis(50)));
    /// assert_eq!(t.as_dict().lock_timeout(), Some(Duration::from_millis(50)));
    /// ```
    pub fn set_lock_timeout(&mut self, timeout: Option<std::time::Duration>) {
        self.dict.set_lock_timeout(timeout);
    }

    /// Stores `value` under `key`; returns whether the key is new.
    ///
    /// # Errors
    ///
    /// [`DictError::Encode`], and as [`Dict::insert`].
    ///
    /// # Examples
    ///
    /// ```
    /// let d: mproc_dict::TypedDict<u8, u8> = mproc_dict::TypedDict::new(Default::default()).unwrap();
    /// assert!(d.insert(&1, &10).unwrap());
    /// assert!(!d.insert(&1, &11).unwrap());
    /// ```
    pub fn insert(&self, key: &K, value: &V) -> Result<bool> {
        let k = encode("key", key)?;
        let v = encode("value", value)?;
        self.dict.insert(k.as_ref(), v.as_ref())
    }

    /// The value of `key`.
    ///
    /// # Errors
    ///
    /// [`DictError::Decode`], and as [`Dict::get`].
    ///
    /// # Examples
    ///
    /// ```
    /// let d: mproc_dict::TypedDict<u8, String> = mproc_dict::TypedDict::new(Default::default()).unwrap();
    /// d.insert(&1, &"one".into()).unwrap();
    /// assert_eq!(d.get(&1).unwrap().as_deref(), Some("one"));
    /// ```
    pub fn get(&self, key: &K) -> Result<Option<V>> {
        let k = encode("key", key)?;
        self.dict
            .get_with(k.as_ref(), |b| decode("value", b))?
            .transpose()
    }

    /// Calls `f` with the decoded value of `key`, under the shard lock.
    ///
    /// # Errors
    ///
    /// As [`get`](TypedDict::get).
    ///
    /// # Examples
    ///
    /// ```
    /// let d: mproc_dict::TypedDict<u8, Vec<u8>> = mproc_dict::TypedDict::new(Default::default()).unwrap();
    /// d.insert(&1, &vec![1, 2, 3]).unwrap();
    /// assert_eq!(d.get_with(&1, |v| v.len()).unwrap(), Some(3));
    /// ```
    pub fn get_with<R>(&self, key: &K, f: impl FnOnce(&V) -> R) -> Result<Option<R>> {
        let k = encode("key", key)?;
        self.dict
            .get_with(k.as_ref(), |b| decode("value", b).map(|v| f(&v)))?
            .transpose()
    }

    /// Whether `key` is present.
    ///
    /// # Errors
    ///
    /// As [`Dict::contains_key`].
    ///
    /// # Examples
    ///
    /// ```
    /// let d: mproc_dict::TypedDict<u8, u8> = mproc_dict::TypedDict::new(Default::default()).unwrap();
    /// assert!(!d.contains_key(&1).unwrap());
    /// ```
    pub fn contains_key(&self, key: &K) -> Result<bool> {
        self.dict.contains_key(encode("key", key)?.as_ref())
    }

    /// Removes `key`; returns its value.
    ///
    /// # Errors
    ///
    /// As [`get`](TypedDict::get). A value that does not decode as `V` is
    /// removed all the same, and reported as [`DictError::Decode`].
    ///
    /// # Examples
    ///
    /// ```
    /// let d: mproc_dict::TypedDict<u8, u8> = mproc_dict::TypedDict::new(Default::default()).unwrap();
    /// d.insert(&1, &2).unwrap();
    /// assert_eq!(d.remove(&1).unwrap(), Some(2));
    /// ```
    pub fn remove(&self, key: &K) -> Result<Option<V>> {
        let k = encode("key", key)?;
        self.dict
            .remove(k.as_ref())?
            .map(|b| decode("value", &b))
            .transpose()
    }

    /// Reads and writes `key` atomically (see [`Dict::update`]; `f` may run
    /// more than once).
    ///
    /// # Errors
    ///
    /// [`DictError::Decode`] (nothing is changed), [`DictError::Encode`],
    /// and as [`Dict::update`].
    ///
    /// # Examples
    ///
    /// ```
    /// let d: mproc_dict::TypedDict<&str, u64> = mproc_dict::TypedDict::new(Default::default()).unwrap();
    /// for _ in 0..5 {
    ///     d.update(&"n", |v| Some(v.map_or(1, |n| n + 1))).unwrap();
    /// }
    /// assert_eq!(d.get(&"n").unwrap(), Some(5));
    /// ```
    pub fn update(&self, key: &K, mut f: impl FnMut(Option<&V>) -> Option<V>) -> Result<()> {
        let k = encode("key", key)?;
        self.dict.update_with(k.as_ref(), |cur| {
            let cur: Option<V> = cur.map(|b| decode("value", b)).transpose()?;
            f(cur.as_ref()).map(|v| encode("value", &v)).transpose()
        })
    }

    /// The value of `key`, inserting `f()` first if absent.
    ///
    /// # Errors
    ///
    /// As [`insert`](TypedDict::insert) and [`get`](TypedDict::get).
    ///
    /// # Examples
    ///
    /// ```
    /// let d: mproc_dict::TypedDict<u8, u8> = mproc_dict::TypedDict::new(Default::default()).unwrap();
    /// assert_eq!(d.get_or_insert_with(&1, || 7).unwrap(), 7);
    /// assert_eq!(d.get_or_insert_with(&1, || 8).unwrap(), 7);
    /// ```
    pub fn get_or_insert_with(&self, key: &K, f: impl FnOnce() -> V) -> Result<V> {
        let k = encode("key", key)?;
        let bytes = self
            .dict
            .get_or_try_insert_with(k.as_ref(), || encode("value", &f()))?;
        decode("value", &bytes)
    }

    /// Inserts every pair.
    ///
    /// # Errors
    ///
    /// As [`insert`](TypedDict::insert).
    ///
    /// # Examples
    ///
    /// ```
    /// let d: mproc_dict::TypedDict<u8, u8> = mproc_dict::TypedDict::new(Default::default()).unwrap();
    /// d.extend([(1, 1), (2, 4)]).unwrap();
    /// assert_eq!(d.len().unwrap(), 2);
    /// ```
    pub fn extend(&self, pairs: impl IntoIterator<Item = (K, V)>) -> Result<()> {
        for (k, v) in pairs {
            self.insert(&k, &v)?;
        }
        Ok(())
    }

    /// Number of entries.
    ///
    /// # Errors
    ///
    /// As [`Dict::len`].
    ///
    /// # Examples
    ///
    /// ```
    /// let d: mproc_dict::TypedDict<u8, u8> = mproc_dict::TypedDict::new(Default::default()).unwrap();
    /// assert_eq!(d.len().unwrap(), 0);
    /// ```
    pub fn len(&self) -> Result<usize> {
        self.dict.len()
    }

    /// Whether there are no entries.
    ///
    /// # Errors
    ///
    /// As [`Dict::len`].
    ///
    /// # Examples
    ///
    /// ```
    /// let d: mproc_dict::TypedDict<u8, u8> = mproc_dict::TypedDict::new(Default::default()).unwrap();
    /// assert!(d.is_empty().unwrap());
    /// ```
    pub fn is_empty(&self) -> Result<bool> {
        self.dict.is_empty()
    }

    /// Removes every entry.
    ///
    /// # Errors
    ///
    /// As [`Dict::clear`].
    ///
    /// # Examples
    ///
    /// ```
    /// let d: mproc_dict::TypedDict<u8, u8> = mproc_dict::TypedDict::new(Default::default()).unwrap();
    /// d.insert(&1, &1).unwrap();
    /// d.clear().unwrap();
    /// assert!(d.is_empty().unwrap());
    /// ```
    pub fn clear(&self) -> Result<()> {
        self.dict.clear()
    }

    /// A snapshot of the values.
    ///
    /// # Errors
    ///
    /// As [`items`](TypedDict::items).
    ///
    /// # Examples
    ///
    /// ```
    /// let d: mproc_dict::TypedDict<u8, u8> = mproc_dict::TypedDict::new(Default::default()).unwrap();
    /// d.insert(&1, &2).unwrap();
    /// assert_eq!(d.values().unwrap(), vec![2]);
    /// ```
    pub fn values(&self) -> Result<Vec<V>> {
        self.dict
            .values()?
            .iter()
            .map(|v| decode("value", v))
            .collect()
    }

    /// Memory use (see [`Dict::stats`]).
    ///
    /// # Errors
    ///
    /// As [`Dict::stats`].
    ///
    /// # Examples
    ///
    /// ```
    /// let d: mproc_dict::TypedDict<u8, u8> = mproc_dict::TypedDict::new(Default::default()).unwrap();
    /// assert_eq!(d.stats().unwrap().entries, 0);
    /// ```
    pub fn stats(&self) -> Result<DictStats> {
        self.dict.stats()
    }
}

/// Snapshots that decode keys.
impl<K, V> TypedDict<K, V>
where
    K: Serialize + DeserializeOwned,
    V: Serialize + DeserializeOwned,
{
    /// A snapshot of every pair (see [`Dict::items`]).
    ///
    /// # Errors
    ///
    /// [`DictError::Decode`], and as [`Dict::items`].
    ///
    /// # Examples
    ///
    /// ```
    /// let d: mproc_dict::TypedDict<u8, u8> = mproc_dict::TypedDict::new(Default::default()).unwrap();
    /// d.insert(&1, &2).unwrap();
    /// assert_eq!(d.items().unwrap(), vec![(1, 2)]);
    /// ```
    pub fn items(&self) -> Result<Vec<(K, V)>> {
        self.dict
            .items()?
            .into_iter()
            .map(|(k, v)| Ok((decode("key", &k)?, decode("value", &v)?)))
            .collect()
    }

    /// A snapshot of the keys.
    ///
    /// # Errors
    ///
    /// As [`items`](TypedDict::items).
    ///
    /// # Examples
    ///
    /// ```
    /// let d: mproc_dict::TypedDict<u8, u8> = mproc_dict::TypedDict::new(Default::default()).unwrap();
    /// d.insert(&1, &2).unwrap();
    /// assert_eq!(d.keys().unwrap(), vec![1]);
    /// ```
    pub fn keys(&self) -> Result<Vec<K>> {
        self.dict.keys()?.iter().map(|k| decode("key", k)).collect()
    }
}
