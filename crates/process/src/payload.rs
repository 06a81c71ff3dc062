//! The hand-off from a parent to the child it spawns, carried in one
//! environment variable as hex-encoded postcard.

use serde::{Deserialize, Serialize};

use crate::body::Recipe;
use crate::error::{ProcessError, Result};
use crate::fn_offset::ExecutableId;
use crate::info::ProcessInfo;

/// The environment variable that tells a re-executed binary it is a
/// spawned child, and what to run.
pub(crate) const ENV_VAR: &str = "MPROC_SPAWN";

/// Format version, first in the payload: a child of another mproc version
/// refuses the hand-off instead of misreading it.
const VERSION: u32 = 1;

/// One environment string may hold at most 32 pages (`MAX_ARG_STRLEN`),
/// name and `=` included; stay well below.
pub(crate) const MAX_ENCODED: usize = 120_000;

/// Everything a spawned child needs to become the process its parent
/// described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Payload {
    pub(crate) version: u32,
    /// The parent's pid and start time, to tell an orphan (its parent is
    /// dead) from an unrelated descendant that inherited the variable.
    pub(crate) parent_pid: i32,
    pub(crate) parent_start_time: u64,
    /// The executable file the offsets refer to.
    pub(crate) exe: ExecutableId,
    /// The child (its pid is filled in by the child itself).
    pub(crate) me: ProcessInfo,
    pub(crate) parent: ProcessInfo,
    pub(crate) recipe: Recipe,
}

impl Payload {
    pub(crate) fn new(
        parent_start_time: u64,
        exe: ExecutableId,
        me: ProcessInfo,
        parent: ProcessInfo,
        recipe: Recipe,
    ) -> Payload {
        Payload {
            version: VERSION,
            parent_pid: parent.pid,
            parent_start_time,
            exe,
            me,
            parent,
            recipe,
        }
    }

    /// Hex of the postcard encoding.
    ///
    /// # Errors
    ///
    /// [`ProcessError::PayloadTooLarge`] past [`MAX_ENCODED`].
    pub(crate) fn encode(&self) -> Result<String> {
        let bytes =
            postcard::to_stdvec(self).map_err(|source| ProcessError::EncodeArguments { source })?;
        let len = bytes.len() * 2;
        if len > MAX_ENCODED {
            return Err(ProcessError::PayloadTooLarge {
                len,
                max: MAX_ENCODED,
            });
        }
        let mut hex = String::with_capacity(len);
        for b in bytes {
            hex.push(char::from(HEX[usize::from(b >> 4)]));
            hex.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        Ok(hex)
    }

    /// The inverse of [`encode`](Self::encode).
    ///
    /// # Errors
    ///
    /// [`ProcessError::BadPayload`] for anything that is not a payload of
    /// this version.
    pub(crate) fn decode(hex: &[u8]) -> Result<Payload> {
        if !hex.len().is_multiple_of(2) {
            return Err(bad("odd number of hex digits"));
        }
        let mut bytes = Vec::with_capacity(hex.len() / 2);
        for pair in hex.chunks_exact(2) {
            let hi = nibble(pair[0]).ok_or_else(|| bad("not a hex digit"))?;
            let lo = nibble(pair[1]).ok_or_else(|| bad("not a hex digit"))?;
            bytes.push(hi << 4 | lo);
        }
        // The version comes first; check it before trusting the layout.
        let (version, _) = postcard::take_from_bytes::<u32>(&bytes)
            .map_err(|source| ProcessError::DecodeArguments { source })?;
        if version != VERSION {
            return Err(bad("written by another version of mproc"));
        }
        postcard::from_bytes(&bytes).map_err(|source| ProcessError::DecodeArguments { source })
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn bad(reason: &'static str) -> ProcessError {
    ProcessError::BadPayload { reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fn_offset::FnOffset;

    fn sample(args: Vec<u8>) -> Payload {
        fn f(_: ()) {}
        let off = FnOffset::of(f as fn(())).unwrap();
        Payload::new(
            77,
            ExecutableId { dev: 1, ino: 2 },
            ProcessInfo {
                name: "Process-1".into(),
                pid: 0,
                daemon: true,
                identity: vec![1],
            },
            ProcessInfo::main_process(5),
            Recipe {
                trampoline: off,
                function: off,
                args,
            },
        )
    }

    #[test]
    fn round_trips() {
        let p = sample(vec![0, 1, 255, 16]);
        let hex = p.encode().unwrap();
        assert!(hex.bytes().all(|c| HEX.contains(&c)));
        assert_eq!(Payload::decode(hex.as_bytes()).unwrap(), p);
    }

    #[test]
    fn refuses_garbage() {
        assert!(matches!(
            Payload::decode(b"abc"),
            Err(ProcessError::BadPayload { .. })
        ));
        assert!(matches!(
            Payload::decode(b"zz"),
            Err(ProcessError::BadPayload { .. })
        ));
        assert!(Payload::decode(b"").is_err());
        let hex = sample(vec![]).encode().unwrap();
        assert!(Payload::decode(&hex.as_bytes()[..hex.len() - 4]).is_err());
    }

    #[test]
    fn refuses_another_version() {
        let mut p = sample(vec![]);
        p.version = 99;
        let hex = p.encode().unwrap();
        assert!(matches!(
            Payload::decode(hex.as_bytes()),
            Err(ProcessError::BadPayload { reason }) if reason.contains("version")
        ));
    }

    #[test]
    fn refuses_oversized() {
        let p = sample(vec![7; MAX_ENCODED]);
        assert!(matches!(
            p.encode(),
            Err(ProcessError::PayloadTooLarge {
                max: MAX_ENCODED,
                ..
            })
        ));
    }
}
