//! [`Tally`]: what a scenario did (rounds, kills, invariant checks) and the
//! context a failure is reported with.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Counts a scenario's rounds, kills (by the victim's phase when it was
/// killed) and invariant checks, and fails with the scenario, round and
/// round seed in the message, so that a failure can be replayed.
///
/// # Examples
///
/// ```
/// let mut t = mproc_torture::Tally::new("demo");
/// t.round(0, 99);
/// t.kill("mid-send");
/// t.check(1 + 1 == 2, || "arithmetic".into());
/// t.note("slow path", 2);
/// let line = t.summary();
/// assert!(line.contains("1 rounds, 1 kills (mid-send 1), 1 checks"), "{line}");
/// ```
#[derive(Debug)]
pub struct Tally {
    name: &'static str,
    rounds: u64,
    kills: u64,
    checks: u64,
    round: u64,
    round_seed: u64,
    context: String,
    kills_by: BTreeMap<&'static str, u64>,
    notes: BTreeMap<&'static str, u64>,
}

impl Tally {
    /// A tally for scenario `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_torture::Tally::new("x").checks(), 0);
    /// ```
    pub fn new(name: &'static str) -> Tally {
        Tally {
            name,
            rounds: 0,
            kills: 0,
            checks: 0,
            round: 0,
            round_seed: 0,
            context: String::new(),
            kills_by: BTreeMap::new(),
            notes: BTreeMap::new(),
        }
    }

    /// Starts round `round`, whose generator was seeded with `seed`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut t = mproc_torture::Tally::new("x");
    /// t.round(0, 1);
    /// assert_eq!(t.rounds(), 1);
    /// ```
    pub fn round(&mut self, round: u64, seed: u64) {
        self.rounds += 1;
        self.round = round;
        self.round_seed = seed;
        self.context.clear();
    }

    /// Adds what a failure in this round should also say (the round's
    /// shape, its victim).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut t = mproc_torture::Tally::new("x");
    /// t.round(0, 1);
    /// t.context("victim: producer 2");
    /// let r = std::panic::catch_unwind(move || t.fail("lost"));
    /// let msg = *r.unwrap_err().downcast::<String>().unwrap();
    /// assert!(msg.contains("victim: producer 2"), "{msg}");
    /// ```
    pub fn context(&mut self, what: &str) {
        if !self.context.is_empty() {
            self.context.push_str("; ");
        }
        self.context.push_str(what);
    }

    /// Adds another tally's rounds, kills and checks to this one's (for a
    /// suite's total).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut total = mproc_torture::Tally::new("total");
    /// let mut one = mproc_torture::Tally::new("one");
    /// one.round(0, 0);
    /// one.kill("x");
    /// total.absorb(&one);
    /// assert_eq!((total.rounds(), total.kills()), (1, 1));
    /// ```
    pub fn absorb(&mut self, other: &Tally) {
        self.rounds += other.rounds;
        self.kills += other.kills;
        self.checks += other.checks;
        for (k, v) in &other.kills_by {
            *self.kills_by.entry(k).or_default() += v;
        }
    }

    /// Counts a `SIGKILL`, with what the victim was doing.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut t = mproc_torture::Tally::new("x");
    /// t.kill("holding the lock");
    /// assert_eq!(t.kills(), 1);
    /// ```
    pub fn kill(&mut self, phase: &'static str) {
        self.kills += 1;
        *self.kills_by.entry(phase).or_default() += 1;
    }

    /// Counts `n` occurrences of something worth reporting.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut t = mproc_torture::Tally::new("x");
    /// t.note("recoveries", 3);
    /// assert!(t.summary().contains("recoveries 3"));
    /// ```
    pub fn note(&mut self, what: &'static str, n: u64) {
        *self.notes.entry(what).or_default() += n;
    }

    /// One invariant check: counts it, and fails the scenario (panics with
    /// the scenario, round and seed) if it does not hold.
    ///
    /// # Panics
    ///
    /// If `ok` is false.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut t = mproc_torture::Tally::new("x");
    /// t.check(true, || unreachable!());
    /// let r = std::panic::catch_unwind(move || t.check(false, || "broken".into()));
    /// assert!(r.is_err());
    /// ```
    #[track_caller]
    pub fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        self.checks += 1;
        if !ok {
            self.fail(&what());
        }
    }

    /// Fails the scenario with `what`, in the round's context.
    ///
    /// # Panics
    ///
    /// Always.
    ///
    /// # Examples
    ///
    /// ```
    /// let t = mproc_torture::Tally::new("x");
    /// assert!(std::panic::catch_unwind(|| t.fail("no")).is_err());
    /// ```
    #[track_caller]
    pub fn fail(&self, what: &str) -> ! {
        panic!(
            "{} round {} (replay: MPROC_TORTURE_ROUND_SEED={:#x} MPROC_TORTURE_ROUNDS=1) [{}]: {what}",
            self.name, self.round, self.round_seed, self.context
        )
    }

    /// Rounds started.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_torture::Tally::new("x").rounds(), 0);
    /// ```
    pub fn rounds(&self) -> u64 {
        self.rounds
    }

    /// Kills counted.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_torture::Tally::new("x").kills(), 0);
    /// ```
    pub fn kills(&self) -> u64 {
        self.kills
    }

    /// Invariant checks made.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_torture::Tally::new("x").checks(), 0);
    /// ```
    pub fn checks(&self) -> u64 {
        self.checks
    }

    /// The scenario's final line: rounds, kills by phase, checks, notes.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_torture::Tally::new("x").summary().starts_with("x: 0 rounds"));
    /// ```
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: {} rounds, {} kills",
            self.name, self.rounds, self.kills
        );
        if !self.kills_by.is_empty() {
            let by: Vec<String> = self
                .kills_by
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = write!(s, " ({})", by.join(", "));
        }
        let _ = write!(s, ", {} checks", self.checks);
        for (k, v) in &self.notes {
            let _ = write!(s, "; {k} {v}");
        }
        s
    }
}
