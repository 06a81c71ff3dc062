//! The machine and the code a run measured: cores, CPU model, kernel,
//! commit, Python version.

use std::process::Command;

use serde::Serialize;

/// What the run ran on.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Machine {
    /// Logical CPUs available to this process.
    pub(crate) cores: usize,
    /// CPU model name from `/proc/cpuinfo`.
    pub(crate) cpu_model: String,
    /// Kernel release from `/proc/sys/kernel/osrelease`.
    pub(crate) kernel: String,
    /// `git rev-parse HEAD` of the working directory, with `-dirty` if the
    /// tree has changes.
    pub(crate) commit: String,
    /// `python3 --version`, or why the Python peers could not run.
    pub(crate) python: String,
    /// UTC date and time of the run's start (`date -u`).
    pub(crate) date: String,
    /// How the two-process scenarios were placed on CPUs.
    pub(crate) placement: String,
    /// `/proc/loadavg`'s 1-minute load average when the run started: other
    /// work on the machine makes figures noisier.
    pub(crate) load_average: String,
}

impl Machine {
    /// Reads the machine's description; unknown parts say `unknown`.
    pub(crate) fn read(python: String) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // The sources this binary was built from, wherever it runs from.
        let src = env!("CARGO_MANIFEST_DIR");
        let mut commit = output("git", &["-C", src, "rev-parse", "--short=12", "HEAD"])
            .unwrap_or_else(|| "unknown".into());
        if output(
            "git",
            &["-C", src, "status", "--porcelain", "--untracked-files=no"],
        )
        .is_some_and(|s| !s.is_empty())
        {
            commit.push_str("-dirty");
        }
        let date =
            output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_else(|| "unknown".into());
        let load_average = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| s.split_whitespace().next().map(str::to_string))
            .unwrap_or_else(|| "unknown".into());
        Machine {
            placement: crate::harness::pin::describe(),
            load_average,
            cores,
            cpu_model,
            kernel,
            commit,
            python,
            date,
        }
    }

    /// A short line for the charts' title.
    pub(crate) fn short(&self) -> String {
        format!(
            "{} · {} cores · {} · commit {}",
            self.date, self.cores, self.cpu_model, self.commit
        )
    }

    /// One line for the table's heading.
    pub(crate) fn summary(&self) -> String {
        format!(
            "{} · {} cores · {} · Linux {} · load average {} at start · {} · commit {} · {}",
            self.date,
            self.cores,
            self.cpu_model,
            self.kernel,
            self.load_average,
            self.placement,
            self.commit,
            self.python
        )
    }
}

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
