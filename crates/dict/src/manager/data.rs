//! The manager's dicts, values and arrays.

use bytemuck::Pod;
use mproc_shm::SegmentKind;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::persist_by_name;
#[cfg(doc)]
use crate::DictError;
use crate::{Array, Dict, DictOptions, Manager, Result, TypedDict, Value};

impl Manager {
    /// The byte dict `name`, created with `opts` if new.
    ///
    /// # Errors
    ///
    /// As [`Dict::create`] / [`Dict::open`], [`DictError::RegistryFull`],
    /// [`DictError::Shm`] with `WrongKind` if `name` is another kind.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-dict").unwrap();
    /// let d = m.dict("d", Default::default()).unwrap();
    /// assert_eq!(d.name(), Some("doc-manager-dict.d"));
    /// ```
    pub fn dict(&self, name: &str, opts: DictOptions) -> Result<Dict> {
        self.get_or_create(
            name,
            SegmentKind::Dict,
            |full| Dict::create_persistent(full, opts),
            Dict::open,
        )
    }

    /// The typed dict `name`, created with `opts` if new.
    ///
    /// # Errors
    ///
    /// As [`dict`](Manager::dict).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-typed").unwrap();
    /// let d = m.typed_dict::<String, u32>("t", Default::default()).unwrap();
    /// d.insert(&"a".into(), &1).unwrap();
    /// ```
    pub fn typed_dict<K, V>(&self, name: &str, opts: DictOptions) -> Result<TypedDict<K, V>>
    where
        K: Serialize + DeserializeOwned,
        V: Serialize + DeserializeOwned,
    {
        Ok(TypedDict::from_dict(self.dict(name, opts)?))
    }

    /// The value `name`, created holding `initial` if new.
    ///
    /// # Errors
    ///
    /// As [`Value::create`] / [`Value::open`] (`TypeMismatch` if it holds
    /// another type), [`DictError::RegistryFull`], [`DictError::Shm`] with
    /// `WrongKind` if `name` is another kind.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-value").unwrap();
    /// assert_eq!(m.value("v", 3i64).unwrap().get().unwrap(), 3);
    /// assert_eq!(m.value("v", 4i64).unwrap().get().unwrap(), 3);
    /// ```
    pub fn value<T: Pod>(&self, name: &str, initial: T) -> Result<Value<T>> {
        self.get_or_create(
            name,
            SegmentKind::Value,
            |full| {
                let v = Value::create(full, initial)?;
                persist_by_name(full)?;
                Ok(v)
            },
            Value::open,
        )
    }

    /// The array `name`, created holding a copy of `data` if new.
    ///
    /// # Errors
    ///
    /// As [`Array::create`] / [`Array::open`], [`DictError::RegistryFull`],
    /// [`DictError::Shm`] with `WrongKind` if `name` is another kind.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = mproc_dict::Manager::create("doc-manager-array").unwrap();
    /// assert_eq!(m.array("a", &[1u8, 2]).unwrap().len(), 2);
    /// ```
    pub fn array<T: Pod>(&self, name: &str, data: &[T]) -> Result<Array<T>> {
        self.get_or_create(
            name,
            SegmentKind::Array,
            |full| {
                let a = Array::create(full, data)?;
                persist_by_name(full)?;
                Ok(a)
            },
            Array::open,
        )
    }
}
