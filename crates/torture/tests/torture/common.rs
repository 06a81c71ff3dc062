//! What every scenario shares: the run's context (its segment prefix, the
//! pids it forked) and the end-of-round checks (no child left, nothing of
//! ours in `/dev/shm` after `mproc gc`).

use std::cell::RefCell;
use std::time::Duration;

use mproc_cli::{Cli, Command, Streams};
use mproc_torture::{Rng, Tally, children, leaks};

/// Bound on any single wait of a survivor for which nothing else moved:
/// longer is a stall, which fails the round. Seconds: a survivor
/// descheduled on a loaded two-core machine is slow, not stalled; a real
/// stall never ends.
pub(crate) const STALL: Duration = Duration::from_secs(3);

/// Bound on a child's end once it has nothing left to do (generous: the
/// machine may be loaded; hangs are what this catches, not slowness).
pub(crate) const END: Duration = Duration::from_secs(30);

/// The run: its segment name prefix, every pid it forked, and its seed.
pub(crate) struct Ctx {
    pub(crate) prefix: String,
    pids: RefCell<Vec<i32>>,
    pub(crate) soak: bool,
}

impl Ctx {
    pub(crate) fn new(soak: bool) -> Ctx {
        Ctx {
            prefix: format!("torture.{}.", mproc_sys::getpid()),
            pids: RefCell::new(Vec::new()),
            soak,
        }
    }

    /// A segment name of this run.
    pub(crate) fn name(&self, what: &str, round: u64) -> String {
        format!("{}{what}.{round}", self.prefix)
    }

    /// Forks a child (recorded as ours) running `f`.
    pub(crate) fn fork(&self, f: impl FnOnce() -> i32) -> i32 {
        let pid = children::fork_child(f).unwrap_or_else(|e| panic!("fork: {e}"));
        self.pids.borrow_mut().push(pid);
        pid
    }

    /// Records pids this run made by other means (a pool's workers).
    pub(crate) fn adopt(&self, pids: &[i32]) {
        let mut all = self.pids.borrow_mut();
        for &p in pids {
            if !all.contains(&p) {
                all.push(p);
            }
        }
    }

    /// Every pid this run forked, and this process.
    pub(crate) fn pids(&self) -> Vec<i32> {
        let mut all = self.pids.borrow().clone();
        all.push(mproc_sys::getpid());
        all
    }

    /// Runs `mproc gc` on this run's prefix (dead creators' segments, and
    /// those whose creator died before writing a header), then `mproc rm`
    /// on any other segment a dead process of this run created (a dict's
    /// generations, a pool's queues); returns what is still there.
    pub(crate) fn gc(&self) -> Vec<String> {
        run_cli(Command::Gc {
            dry_run: false,
            prefix: Some(self.prefix.clone()),
            unwritten_after: Duration::ZERO,
        });
        let pids = self.pids();
        let me = mproc_sys::getpid();
        let stale: Vec<String> = mproc_shm::list()
            .unwrap_or_default()
            .into_iter()
            .filter(|i| {
                i.creator
                    .is_some_and(|c| c.pid != me && pids.contains(&c.pid) && !i.creator_alive)
            })
            .map(|i| i.name.as_str().to_owned())
            .collect();
        if !stale.is_empty() {
            run_cli(Command::Rm {
                names: stale,
                dry_run: false,
            });
        }
        leaks::segments_of(&self.prefix, &pids)
    }

    /// The end of a round: every child reaped (no zombie, no stray), and
    /// after `mproc gc`, nothing of ours in `/dev/shm`.
    pub(crate) fn end_round(&self, tally: &mut Tally) {
        let left = leaks::children_left(Duration::from_secs(2));
        tally.check(left.is_empty(), || {
            format!("children left at the end of the round (zombie: state Z): {left:?}")
        });
        let before = leaks::segments_of(&self.prefix, &self.pids()).len();
        let segs = self.gc();
        tally.note(
            "segments the dead left, removed by mproc gc",
            before.saturating_sub(segs.len()) as u64,
        );
        tally.check(segs.is_empty(), || {
            format!("segments left in /dev/shm after mproc gc: {segs:?}")
        });
        // Keep the list of pids short: the round's children are gone.
        self.pids.borrow_mut().clear();
    }
}

fn run_cli(command: Command) {
    let cli = Cli { command };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let r = mproc_cli::run(
        &cli,
        &mut Streams {
            out: &mut out,
            err: &mut err,
            tty: false,
        },
    );
    if let Err(e) = r {
        eprintln!(
            "mproc {:?}: {e}; {}",
            cli.command,
            String::from_utf8_lossy(&err)
        );
    }
}

/// A round's generator, and its seed for the failure message; with
/// `MPROC_TORTURE_ROUND_SEED=S` (and `MPROC_TORTURE_ROUNDS=1`, a scenario
/// named on the command line) every round replays the round seeded `S`.
pub(crate) fn round_rng(scenario: &mut Rng) -> (Rng, u64) {
    let drawn = scenario.next_u64();
    let seed = std::env::var(mproc_torture::config::ROUND_SEED_VAR)
        .ok()
        .and_then(|s| mproc_torture::config::parse_u64(&s))
        .unwrap_or(drawn);
    (Rng::new(seed), seed)
}
