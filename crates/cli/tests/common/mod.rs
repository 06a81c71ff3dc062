//! Helpers shared by the integration tests: run the built `mproc` with a
//! time limit, unique segment names, planted files.

#![allow(dead_code, unreachable_pub)]

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// What one run of `mproc` printed, and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts a zero exit and returns stdout.
    #[track_caller]
    pub fn ok(self) -> String {
        assert_eq!(self.code, Some(0), "mproc failed: {self:?}");
        self.stdout
    }

    /// Asserts exit status 1 and returns stderr.
    #[track_caller]
    pub fn failed(self) -> String {
        assert_eq!(self.code, Some(1), "mproc did not fail: {self:?}");
        self.stderr
    }

    /// The stdout line that mentions `name`.
    #[track_caller]
    pub fn line_of(&self, name: &str) -> String {
        let mut lines = self
            .stdout
            .lines()
            .filter(|l| l.split_whitespace().next() == Some(name));
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("no line for {name} in:\n{}", self.stdout));
        assert!(lines.next().is_none(), "{name} listed twice");
        line.to_owned()
    }
}

/// Starts `mproc ARGS` with piped output.
pub fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_mproc"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mproc")
}

/// Waits for `child` at most 30 seconds (killing it if it overstays),
/// then collects its output.
pub fn finish(mut child: Child) -> Run {
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mproc did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut stdout).expect("stdout");
    }
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut stderr).expect("stderr");
    }
    Run {
        code: status.code(),
        stdout,
        stderr,
    }
}

/// Runs `mproc ARGS` to its end.
pub fn mproc(args: &[&str]) -> Run {
    finish(spawn(args))
}

/// A segment name no other test (or test process) uses.
pub fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "t-cli-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The file behind segment `name`.
pub fn shm_path(name: &str) -> PathBuf {
    PathBuf::from(format!("/dev/shm/mproc.{name}"))
}

/// Whether segment `name` exists.
pub fn exists(name: &str) -> bool {
    shm_path(name).exists()
}

/// A file planted under the segment prefix, removed on drop.
pub struct Planted {
    pub name: String,
}

impl Planted {
    /// Writes `bytes` as segment `tag`'s file.
    pub fn new(tag: &str, bytes: &[u8]) -> Planted {
        let name = unique(tag);
        std::fs::write(shm_path(&name), bytes).expect("plant");
        Planted { name }
    }
}

impl Drop for Planted {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(shm_path(&self.name));
    }
}

/// Header fields to plant.
pub struct RawHeader {
    pub magic: u64,
    pub version: u32,
    pub kind: u32,
    pub total_len: u64,
    pub pid: i32,
    pub init: u32,
    pub start_time: u64,
    pub flags: u32,
    pub file_len: usize,
}

impl RawHeader {
    /// A ready raw segment of `file_len` bytes created by a process that
    /// does not exist.
    pub fn dead_creator(file_len: usize) -> RawHeader {
        RawHeader {
            magic: u64::from_le_bytes(*b"MPROCSEG"),
            version: 1,
            kind: 1,
            total_len: file_len as u64,
            pid: i32::MAX,
            init: 2,
            start_time: 0,
            flags: 0,
            file_len,
        }
    }

    /// The bytes of a file holding this header.
    pub fn bytes(&self) -> Vec<u8> {
        let mut b = vec![0u8; self.file_len];
        let mut put = |off: usize, v: &[u8]| {
            if off + v.len() <= b.len() {
                b[off..off + v.len()].copy_from_slice(v);
            }
        };
        put(0, &self.magic.to_le_bytes());
        put(8, &self.version.to_le_bytes());
        put(12, &self.kind.to_le_bytes());
        put(16, &self.total_len.to_le_bytes());
        put(24, &self.pid.to_le_bytes());
        put(28, &self.init.to_le_bytes());
        put(32, &self.start_time.to_le_bytes());
        put(40, &self.flags.to_le_bytes());
        b
    }
}
