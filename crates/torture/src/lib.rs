//! `mproc-torture`: the torture suite's machinery.
//!
//! The suite itself is the `torture` integration test (`cargo test -p
//! mproc-torture`): randomized rounds over queues, the dict, locks,
//! barriers, conditions and the pool, each with a random victim killed by
//! `SIGKILL` at a random moment, after which the survivors' invariants are
//! checked. This library holds what every scenario needs:
//!
//! - [`Rng`]: a seeded xorshift, so that a failing run's choices replay
//!   from the seed it printed ([`Config`] reads `MPROC_TORTURE_SEED`);
//! - [`Board`]: counters in an anonymous shared segment, written by forked
//!   children and read by the parent;
//! - [`children`]: forking with tracking, bounded waits, `SIGKILL`;
//! - [`watchdog`]: kills the children and fails the run when a scenario
//!   exceeds its budget;
//! - [`leaks`]: children of this process left in `/proc` (zombies or
//!   alive), and this run's segments left in `/dev/shm`;
//! - [`Tally`]: rounds, kills and invariant checks, printed per scenario.
//!
//! Only the victim's timing is random in a way no seed controls (the
//! scheduler decides where the kill lands); every choice the suite makes
//! (sizes, victims, delays, operations) comes from the seed.
//!
//! # Running it
//!
//! ```text
//! cargo test -p mproc-torture                      # the default size (well under 3 minutes)
//! cargo test -p mproc-torture --test torture -- queue pool   # some scenarios
//! MPROC_TORTURE_SEED=0x18eb... cargo test -p mproc-torture --test torture
//! MPROC_TORTURE_ROUND_SEED=0x5442... MPROC_TORTURE_ROUNDS=1 \
//!     cargo test -p mproc-torture --test torture -- barrier  # one failing round
//! MPROC_SOAK=1 cargo test --release -p mproc-torture --test torture   # the long soak
//! MPROC_TORTURE_ROUNDS=1000 cargo test -p mproc-torture --test torture -- dict
//! MPROC_TORTURE_KNOWN_BUGS=1 cargo test -p mproc-torture --test torture -- known
//! ```
//!
//! Each scenario prints one line: its rounds, its kills by what the victim
//! was doing, its invariant checks, and what is worth knowing (recoveries,
//! abandoned slots, tolerated known bugs); the last line sums them up. A
//! failure names the scenario, the round, the seed that replays it, the
//! round's shape and its victim.
//!
//! # Examples
//!
//! ```
//! use mproc_torture::{Board, Rng, Tally, children};
//!
//! let board = Board::new(1).unwrap();
//! let mut rng = Rng::new(7);
//! let pid = children::fork_child(|| {
//!     board.add(0, 1);
//!     0
//! })
//! .unwrap();
//! assert_eq!(children::wait_exit(pid, std::time::Duration::from_secs(10)).unwrap(), 0);
//! let mut tally = Tally::new("doc");
//! tally.check(board.get(0) == 1, || "the child counted".to_string());
//! assert_eq!(tally.checks(), 1);
//! assert!(rng.below(10) < 10);
//! ```

pub mod board;
pub mod children;
pub mod config;
pub mod leaks;
pub mod rng;
pub mod tally;
pub mod watchdog;

pub use board::Board;
pub use config::Config;
pub use rng::Rng;
pub use tally::Tally;
