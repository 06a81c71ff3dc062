//! `/proc/<id>/stat` of a process or thread, read without allocating: the
//! path is built and the line read on the stack, so that liveness checks
//! on a queue's fast path allocate nothing.

use std::io;

/// The fields of a stat line mproc uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    /// Field 3: `R`, `S`, `D`, `Z`, ...
    pub(crate) state: u8,
    /// Field 22: start time in clock ticks after boot.
    pub(crate) start_time: u64,
}

impl Stat {
    /// Zombie (`Z`) or dead (`X`/`x`): exited, merely not yet reaped.
    pub(crate) fn is_dead(&self) -> bool {
        matches!(self.state, b'Z' | b'X' | b'x')
    }
}

/// Bytes read of a stat line: past field 22 in any line (a pid, a command
/// name of at most 64 bytes, and 20 numbers of at most 20 digits each).
const LINE: usize = 1024;

/// Reads and parses `/proc/<id>/stat`.
///
/// # Errors
///
/// `InvalidInput` for an id that is not positive, the `errno` of `open`
/// or `read` (`NotFound` for no such process or thread), `InvalidData` for
/// a line that does not parse.
pub(crate) fn read(id: i32) -> io::Result<Stat> {
    if id <= 0 {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    let mut path = [0u8; 32];
    let path_len = write_path(&mut path, id);
    debug_assert_eq!(path[path_len], 0);
    let mut line = [0u8; LINE];
    // SAFETY: `path` is NUL-terminated (written by `write_path`, which
    // leaves the rest of the zeroed buffer as it is) and outlives the call.
    let fd = unsafe { libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut len = 0;
    let outcome = loop {
        if len == line.len() {
            break Ok(());
        }
        // SAFETY: `fd` is open; the destination is the unfilled rest of
        // `line`, writable for `line.len() - len` bytes.
        let n = unsafe { libc::read(fd, line[len..].as_mut_ptr().cast(), line.len() - len) };
        match n {
            0 => break Ok(()),
            n if n > 0 => len += n as usize,
            _ => {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    break Err(err);
                }
            }
        }
    };
    // SAFETY: `fd` was opened above and is closed once, here.
    unsafe { libc::close(fd) };
    outcome?;
    parse(&line[..len]).ok_or_else(|| io::ErrorKind::InvalidData.into())
}

/// Writes `/proc/<id>/stat` into `buf` (zeroed, NUL after the text);
/// returns its length. `id` is positive, so at most 10 digits.
fn write_path(buf: &mut [u8; 32], id: i32) -> usize {
    let mut digits = [0u8; 10];
    let mut n = id.unsigned_abs();
    let mut count = 0;
    loop {
        digits[count] = b'0' + (n % 10) as u8;
        count += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut at = 0;
    for &b in b"/proc/" {
        buf[at] = b;
        at += 1;
    }
    for &d in digits[..count].iter().rev() {
        buf[at] = d;
        at += 1;
    }
    for &b in b"/stat" {
        buf[at] = b;
        at += 1;
    }
    at
}

/// Parses `id (comm) state ... starttime ...`; `comm` may itself hold
/// spaces and parentheses, so fields are counted after the last `)`.
fn parse(text: &[u8]) -> Option<Stat> {
    let close = text.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(text.get(close + 1..)?).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    let state = *fields.next()?.as_bytes().first()?;
    // `state` is field 3; `starttime` is field 22, the 19th after it.
    let start_time = fields.nth(18)?.parse().ok()?;
    Some(Stat { state, start_time })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_comm_with_parentheses_and_spaces() {
        let line = b"123 (a) b (c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 777 19 20\n";
        let s = parse(line).unwrap();
        assert_eq!(s.state, b'S');
        assert_eq!(s.start_time, 777);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse(b"").is_none());
        assert!(parse(b"1 (x) S 1 2").is_none());
        assert!(parse(b"1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 nan").is_none());
    }

    #[test]
    fn zombie_is_dead() {
        let stat = |state| Stat {
            state,
            start_time: 0,
        };
        assert!(stat(b'Z').is_dead() && stat(b'X').is_dead());
        assert!(!stat(b'R').is_dead() && !stat(b'S').is_dead());
    }

    #[test]
    fn paths_for_every_width_of_id() {
        for (id, want) in [
            (1, "/proc/1/stat"),
            (42, "/proc/42/stat"),
            (i32::MAX, "/proc/2147483647/stat"),
        ] {
            let mut buf = [0u8; 32];
            let len = write_path(&mut buf, id);
            assert_eq!(&buf[..len], want.as_bytes());
            assert_eq!(buf[len], 0);
        }
    }

    #[test]
    fn reads_this_process_as_std_does() {
        let me = std::process::id() as i32;
        let text = std::fs::read(format!("/proc/{me}/stat")).unwrap();
        let want = parse(&text).unwrap();
        let got = read(me).unwrap();
        assert_eq!(got.start_time, want.start_time);
        assert_eq!(read(0).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        assert_eq!(read(i32::MAX).unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
