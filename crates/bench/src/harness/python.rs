//! The Python peers: stdlib-only scripts shipped in this crate, written to
//! the output folder and run with `python3`, each printing one JSON object.

use std::cell::OnceCell;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::harness::tracked::{Tracked, dies_with_harness, kill_group};

/// The scripts, by file name.
const SCRIPTS: [(&str, &str); 6] = [
    ("common.py", include_str!("../python/common.py")),
    ("pipe_queue.py", include_str!("../python/pipe_queue.py")),
    ("lock.py", include_str!("../python/lock.py")),
    ("manager_dict.py", include_str!("../python/manager_dict.py")),
    ("pool.py", include_str!("../python/pool.py")),
    (
        "process_start.py",
        include_str!("../python/process_start.py"),
    ),
];

/// Runs the Python peers, or says why it cannot.
#[derive(Debug)]
pub(crate) struct Python {
    ready: std::result::Result<(PathBuf, String), String>,
    /// How long one script may run.
    limit: Duration,
    /// Why the scripts are no longer run: one timed out.
    gave_up: OnceCell<String>,
}

impl Python {
    /// Finds `python3` and writes the scripts under `dir`; each script may
    /// run for `limit`.
    pub(crate) fn new(dir: &Path, limit: Duration) -> Python {
        Python {
            ready: Self::prepare(dir),
            limit,
            gave_up: OnceCell::new(),
        }
    }

    fn prepare(dir: &Path) -> std::result::Result<(PathBuf, String), String> {
        let out = Command::new("python3")
            .arg("--version")
            .output()
            .map_err(|e| format!("python3 not found: {e}"))?;
        if !out.status.success() {
            return Err("python3 --version failed".to_string());
        }
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        // A clean absolute path: Python's spawn start method re-opens the
        // script by the path it was started with, normalized lexically.
        let dir = std::fs::canonicalize(dir)
            .map_err(|e| format!("cannot resolve {}: {e}", dir.display()))?;
        let dir = dir.as_path();
        for (name, text) in SCRIPTS {
            std::fs::write(dir.join(name), text)
                .map_err(|e| format!("cannot write {name}: {e}"))?;
        }
        Ok((dir.to_path_buf(), version))
    }

    /// `Python 3.x.y`, or why there is no Python.
    pub(crate) fn version(&self) -> std::result::Result<&str, &str> {
        match &self.ready {
            Ok((_, v)) => Ok(v),
            Err(e) => Err(e),
        }
    }

    /// Runs `script` with `args` and parses the JSON object it prints.
    ///
    /// # Errors
    ///
    /// When there is no python3, the run is stopping on a signal, the script
    /// fails or times out, or prints something else than JSON; and for
    /// every script after one that timed out (skipped).
    pub(crate) fn run(&self, script: &str, args: &[String]) -> Result<Value> {
        let (dir, _) = match &self.ready {
            Ok(r) => r,
            Err(e) => bail!("{e}"),
        };
        if let Some(why) = self.gave_up.get() {
            bail!("skipped, since {why}");
        }
        crate::harness::interrupt::ensure_running()?;
        // Python's multiprocessing makes its temporary directory here: a
        // script killed with its group (a timeout, a stopping signal)
        // cannot remove it, so the harness does.
        let scratch = SCRATCH.get_or_init(|| dir.join(format!("tmp-{}", mproc::sys::getpid())));
        std::fs::create_dir_all(scratch)
            .with_context(|| format!("creating {}", scratch.display()))?;
        let _remove = RemoveScratch;
        let mut command = Command::new("python3");
        command
            .arg(dir.join(script))
            .args(args)
            .current_dir(dir)
            .env("TMPDIR", scratch)
            .env(
                "MPROC_BENCH_PIN",
                crate::harness::pin::active().map_or(String::new(), |(_, a, b)| format!("{a},{b}")),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so that a timeout ends its
            // multiprocessing children (a Manager's server) with it.
            .process_group(0);
        dies_with_harness(&mut command);
        let mut child = command.spawn().context("starting python3")?;
        // Recorded, so that a harness stopped by a signal kills the group.
        let group = Tracked::group(child.id() as i32);
        // Drained while it runs: a script that fills a pipe's buffer would
        // otherwise block until the time limit.
        let drain = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut text = String::new();
                if let Some(mut p) = pipe {
                    let _ = p.read_to_string(&mut text);
                }
                text
            })
        };
        let out = drain(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let err = drain(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if start.elapsed() > self.limit {
                kill_group(child.id() as i32);
                let _ = child.kill();
                let _ = child.wait();
                let why = format!(
                    "{script} {} timed out after {}s",
                    args.join(" "),
                    self.limit.as_secs()
                );
                let _ = self.gave_up.set(why.clone());
                bail!("{why}; the Python peers after it are skipped");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        // Whatever of its group outlived it would keep its pipes open, and
        // the drains waiting.
        kill_group(child.id() as i32);
        drop(group);
        let stdout = out.join().unwrap_or_default();
        let stderr = err.join().unwrap_or_default();
        if !status.success() {
            let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            let tail = lines[lines.len().saturating_sub(4)..].join(" / ");
            bail!("{script} exited with {status}: {tail}");
        }
        serde_json::from_str(stdout.trim()).with_context(|| format!("{script} printed no JSON"))
    }
}

/// The directory Python scripts get as `TMPDIR`, once one has run.
static SCRATCH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Removes what the scripts left in their `TMPDIR` (the signal watcher
/// calls it too, after killing the running script).
pub(crate) fn remove_scratch() {
    if let Some(dir) = SCRATCH.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Removes the scripts' `TMPDIR` when a run of one ends, however it ends.
struct RemoveScratch;

impl Drop for RemoveScratch {
    fn drop(&mut self) {
        remove_scratch();
    }
}

/// The list of numbers under `key` in a script's output.
///
/// # Errors
///
/// When the key is missing or not a list of numbers.
pub(crate) fn numbers(v: &Value, key: &str) -> Result<Vec<f64>> {
    v.get(key)
        .and_then(Value::as_array)
        .with_context(|| format!("no list {key:?} in the script's output"))?
        .iter()
        .map(|x| x.as_f64().with_context(|| format!("non-number in {key:?}")))
        .collect()
}
