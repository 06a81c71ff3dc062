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
