//! Postcard encoding onto the end of a reused buffer, and what one task
//! sends back ([`Ret`]).

use serde::{Deserialize, Serialize};

use super::error::PoolError;

/// A postcard flavor that appends to a `Vec` it borrows, so one buffer
/// serves a whole chunk and a failed encoding can be rolled back.
struct Append<'a>(&'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for Append<'_> {
    type Output = ();

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        // Varints come here a few bytes at a time: a call to `memmove` for
        // each costs more than the bytes.
        if data.len() <= 16 {
            self.0.reserve(data.len());
            for &b in data {
                self.0.push(b);
            }
        } else {
            self.0.extend_from_slice(data);
        }
        Ok(())
    }

    #[inline]
    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// Appends `value` to `out`; on failure `out` is left as it was.
pub(crate) fn append<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), String> {
    let len = out.len();
    postcard::serialize_with_flavor(value, Append(out)).map_err(|e| {
        out.truncate(len);
        e.to_string()
    })
}

/// One task's outcome as a worker encodes it and the caller decodes it.
/// (`Ret<&R>` and `Ret<R>` encode alike.)
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Ret<R> {
    /// The function returned this.
    Ok(R),
    /// The function panicked with this message.
    Panicked(String),
    /// Not run: the worker that ran it earlier died (filled in by the
    /// parent from what it recorded).
    Skipped,
    /// The return value could not be encoded.
    Unencodable(String),
    /// The argument bytes did not decode as the argument type.
    BadArgument(String),
}

/// Decodes the next task outcome from `bytes`, returning it and the rest.
pub(crate) fn take_ret<R: serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> Result<(Ret<R>, &[u8]), PoolError> {
    postcard::take_from_bytes::<Ret<R>>(bytes).map_err(|e| PoolError::DecodeResult {
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_and_round_trips() {
        let mut out = vec![9u8];
        append(&Ret::Ok(&300u32), &mut out).unwrap();
        append(&Ret::<u32>::Panicked("p".into()), &mut out).unwrap();
        append(&Ret::<u32>::Skipped, &mut out).unwrap();
        let (a, rest) = take_ret::<u32>(&out[1..]).unwrap();
        assert!(matches!(a, Ret::Ok(300)));
        let (b, rest) = take_ret::<u32>(rest).unwrap();
        assert!(matches!(b, Ret::Panicked(m) if m == "p"));
        let (c, rest) = take_ret::<u32>(rest).unwrap();
        assert!(matches!(c, Ret::Skipped));
        assert!(rest.is_empty());
    }

    #[test]
    fn failed_encoding_rolls_back() {
        struct Bad;
        impl Serialize for Bad {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeTuple;
                let mut t = s.serialize_tuple(2)?;
                t.serialize_element(&1u8)?;
                Err(serde::ser::Error::custom("no"))
            }
        }
        let mut out = vec![1, 2];
        assert!(append(&Bad, &mut out).is_err());
        assert_eq!(out, [1, 2]);
    }
}
