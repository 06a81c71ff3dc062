//! The hand-off from a parent to the child it spawns: postcard bytes,
//! carried hex-encoded in one environment variable when small, else in an
//! anonymous memory file the child reads through `/proc/<parent>/fd/<n>`.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};

use serde::{Deserialize, Serialize};

use crate::body::Recipe;
use crate::error::{ProcessError, Result};
use crate::fn_offset::ExecutableId;
use crate::info::ProcessInfo;

/// The environment variable that tells a re-executed binary it is a
/// spawned child, and where to find what to run.
pub(crate) const ENV_VAR: &str = "MPROC_SPAWN";

/// Format version, first in the payload: a child of another mproc version
/// refuses the hand-off instead of misreading it.
const VERSION: u32 = 1;

/// One environment string may hold at most 32 pages (`MAX_ARG_STRLEN`),
/// name and `=` included; larger hand-offs go through a memory file.
pub(crate) const MAX_INLINE: usize = 64 * 1024;

/// Prefix of the variable's value when the payload is in a memory file:
/// `fd:<parent pid>:<descriptor>`.
const FILE_PREFIX: &str = "fd:";

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

/// A payload ready to travel: the variable's value, and the memory file
/// the parent must keep open until the child has read it.
#[derive(Debug)]
pub(crate) struct HandOff {
    pub(crate) env_value: String,
    pub(crate) file: Option<OwnedFd>,
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

    /// Encodes the payload for the environment, or for a memory file if it
    /// is too large for one variable.
    ///
    /// # Errors
    ///
    /// [`ProcessError::EncodeArguments`] if encoding fails,
    /// [`ProcessError::HandOff`] if the memory file cannot be written.
    pub(crate) fn hand_off(&self) -> Result<HandOff> {
        let bytes =
            postcard::to_stdvec(self).map_err(|source| ProcessError::EncodeArguments { source })?;
        if bytes.len() * 2 <= MAX_INLINE {
            return Ok(HandOff {
                env_value: to_hex(&bytes),
                file: None,
            });
        }
        let fd = mproc_sys::memfd_create(c"mproc-spawn")
            .map_err(|source| ProcessError::HandOff { source })?;
        let mut file = std::fs::File::from(fd);
        file.write_all(&bytes)
            .map_err(|source| ProcessError::HandOff { source })?;
        let fd = OwnedFd::from(file);
        Ok(HandOff {
            env_value: format!("{FILE_PREFIX}{}:{}", self.parent_pid, fd.as_raw_fd()),
            file: Some(fd),
        })
    }

    /// Reads the payload a variable's value designates.
    ///
    /// # Errors
    ///
    /// [`ProcessError::BadPayload`] for anything that is not a payload of
    /// this version; [`ProcessError::HandOff`] if its memory file cannot
    /// be read.
    pub(crate) fn receive(env_value: &[u8]) -> Result<Payload> {
        let bytes = match env_value.strip_prefix(FILE_PREFIX.as_bytes()) {
            Some(place) => read_file(place)?,
            None => from_hex(env_value)?,
        };
        // The version comes first; check it before trusting the layout.
        let (version, _) = postcard::take_from_bytes::<u32>(&bytes)
            .map_err(|source| ProcessError::DecodeArguments { source })?;
        if version != VERSION {
            return Err(bad("written by another version of mproc"));
        }
        postcard::from_bytes(&bytes).map_err(|source| ProcessError::DecodeArguments { source })
    }
}

/// The pid a memory-file hand-off names (its writer, the spawning
/// parent), if `env_value` is one.
pub(crate) fn file_hand_off_parent(env_value: &[u8]) -> Option<i32> {
    let place = std::str::from_utf8(env_value.strip_prefix(FILE_PREFIX.as_bytes())?).ok()?;
    place.split_once(':')?.0.parse().ok()
}

/// Reads `<pid>:<fd>`'s memory file through `/proc`.
fn read_file(place: &[u8]) -> Result<Vec<u8>> {
    let place = std::str::from_utf8(place).map_err(|_| bad("file place is not text"))?;
    let (pid, fd) = place
        .split_once(':')
        .ok_or_else(|| bad("file place is not pid:fd"))?;
    let pid: u32 = pid.parse().map_err(|_| bad("file place has a bad pid"))?;
    let fd: u32 = fd
        .parse()
        .map_err(|_| bad("file place has a bad descriptor"))?;
    std::fs::read(format!("/proc/{pid}/fd/{fd}")).map_err(|source| ProcessError::HandOff { source })
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn to_hex(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    hex
}

fn from_hex(hex: &[u8]) -> Result<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return Err(bad("odd number of hex digits"));
    }
    hex.chunks_exact(2)
        .map(|pair| match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => Ok(hi << 4 | lo),
            _ => Err(bad("not a hex digit")),
        })
        .collect()
}

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
            ProcessInfo::main_process(mproc_sys::getpid()),
            Recipe {
                trampoline: off,
                function: off,
                args,
            },
        )
    }

    #[test]
    fn small_payloads_travel_inline() {
        let p = sample(vec![0, 1, 255, 16]);
        let h = p.hand_off().unwrap();
        assert!(h.file.is_none());
        assert!(h.env_value.bytes().all(|c| HEX.contains(&c)));
        assert_eq!(Payload::receive(h.env_value.as_bytes()).unwrap(), p);
    }

    #[test]
    fn large_payloads_travel_in_a_memory_file() {
        let p = sample((0..MAX_INLINE * 3).map(|i| i as u8).collect());
        let h = p.hand_off().unwrap();
        assert!(h.file.is_some());
        assert!(h.env_value.starts_with(FILE_PREFIX));
        assert!(h.env_value.len() < 64);
        assert_eq!(Payload::receive(h.env_value.as_bytes()).unwrap(), p);
        drop(h);
        // Once the parent closes the file, the place leads nowhere. In a
        // forked child, the only thread there: here another test thread
        // could open a file under the freed descriptor number.
        // SAFETY: the child makes a memory file, reads it back through
        // /proc, and leaves with `_exit`; it takes no lock another thread
        // of the parent could have held (glibc makes allocation safe in a
        // child).
        match unsafe { mproc_sys::fork() }.unwrap() {
            mproc_sys::ForkResult::Child => {
                let closed = p.hand_off().is_ok_and(|h| {
                    let value = h.env_value.clone();
                    drop(h);
                    matches!(
                        Payload::receive(value.as_bytes()),
                        Err(ProcessError::HandOff { .. })
                    )
                });
                mproc_sys::exit_immediately(if closed { 0 } else { 1 })
            }
            mproc_sys::ForkResult::Parent { child } => {
                // Bounded: a child that hangs is killed and fails the test.
                let fd = mproc_sys::pidfd_open(child).unwrap();
                let ended = mproc_sys::wait_readable(
                    std::os::fd::AsFd::as_fd(&fd),
                    Some(std::time::Duration::from_secs(10)),
                )
                .unwrap();
                if !ended {
                    let _ = mproc_sys::kill(child, mproc_sys::Signal::Kill);
                }
                let status = mproc_sys::waitpid(child, false).unwrap();
                assert!(ended, "the child hung");
                assert_eq!(status, Some(mproc_sys::ExitStatus::Exited(0)));
            }
        }
    }

    #[test]
    fn refuses_garbage() {
        for garbage in [&b"abc"[..], b"zz", b"fd:", b"fd:1", b"fd:x:1", b"fd:1:y"] {
            assert!(
                matches!(
                    Payload::receive(garbage),
                    Err(ProcessError::BadPayload { .. })
                ),
                "{}",
                String::from_utf8_lossy(garbage)
            );
        }
        assert!(Payload::receive(b"").is_err());
        let hex = sample(vec![]).hand_off().unwrap().env_value;
        assert!(Payload::receive(&hex.as_bytes()[..hex.len() - 4]).is_err());
    }

    #[test]
    fn refuses_another_version() {
        let mut p = sample(vec![]);
        p.version = 99;
        let hex = p.hand_off().unwrap().env_value;
        assert!(matches!(
            Payload::receive(hex.as_bytes()),
            Err(ProcessError::BadPayload { reason }) if reason.contains("version")
        ));
    }
}
