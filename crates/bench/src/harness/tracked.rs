//! What the harness must not leave running when it is stopped: its forked
//! children and the process group of the running Python script, recorded
//! while they live, so that the signal watcher can kill them.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use mproc::sys::{ProcessId, Signal};

/// Room for live entries: the harness has at most four forked children and
/// one Python script at a time.
const SLOTS: usize = 16;

/// Live entries: a pid (above 0), a process group as minus its id (below
/// 0), or 0 for a free slot.
static LIVE: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];

/// How long [`kill_all`] waits for the killed children to be gone.
const DEATH_WAIT: Duration = Duration::from_secs(1);

/// An entry of the record, removed when dropped.
#[derive(Debug)]
pub(crate) struct Tracked {
    slot: Option<usize>,
}

impl Tracked {
    /// Records the child process `pid`.
    pub(crate) fn process(pid: i32) -> Tracked {
        Tracked::record(pid)
    }

    /// Records the process group `pgid`.
    pub(crate) fn group(pgid: i32) -> Tracked {
        Tracked::record(-pgid)
    }

    fn record(entry: i32) -> Tracked {
        // A full record (never, with the harness's few children) leaves the
        // entry to the children's parent-death signal.
        let slot = LIVE.iter().position(|s| {
            s.compare_exchange(0, entry, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        });
        Tracked { slot }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            LIVE[i].store(0, Ordering::Release);
        }
    }
}

/// Kills every recorded process and process group with `SIGKILL`, then
/// waits (up to a second) until the processes are gone, so that none is
/// still making files when the caller cleans up after them.
pub(crate) fn kill_all() {
    let mut killed = Vec::new();
    for entry in &LIVE {
        match entry.load(Ordering::Acquire) {
            0 => {}
            pid if pid > 0 => {
                if mproc::sys::kill(pid, Signal::Kill).is_ok() {
                    killed.push(pid);
                }
            }
            group => kill_group(-group),
        }
    }
    let start = Instant::now();
    // A zombie counts as gone: it runs no more.
    while killed
        .iter()
        .any(|&pid| ProcessId::of(pid).is_ok_and(|p| p.is_alive()))
        && start.elapsed() < DEATH_WAIT
    {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Kills every process of group `pgid` with `SIGKILL`, through `kill(1)`:
/// mproc-sys's `kill` signals single processes only.
pub(crate) fn kill_group(pgid: i32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// Makes the child that `command` starts die with the harness (even one
/// killed by `SIGKILL`): it asks for `SIGKILL` when its parent dies
/// (`PR_SET_PDEATHSIG`) before it execs. The kernel sends it when the
/// thread that started the child exits: start it from the main thread,
/// which lives as long as the harness.
pub(crate) fn dies_with_harness(command: &mut Command) {
    let harness = mproc::sys::getpid();
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe calls are allowed: `prctl` and `getppid` are, and
    // nothing here allocates (the errors carry an errno or a kind, no
    // message).
    unsafe {
        command.pre_exec(move || {
            mproc::sys::set_parent_death_signal(Some(Signal::Kill))?;
            if mproc::sys::getppid() != harness {
                // The harness died before the request was made.
                return Err(std::io::ErrorKind::Other.into());
            }
            Ok(())
        })
    };
}
