//! [`Config`]: the suite's size and seed, from the environment.

/// The environment variable that replays a run: the seed it printed.
pub const SEED_VAR: &str = "MPROC_TORTURE_SEED";
/// The environment variable that replays one round: the round seed a
/// failure message printed.
pub const ROUND_SEED_VAR: &str = "MPROC_TORTURE_ROUND_SEED";
/// The environment variable that sets the rounds of every scenario.
pub const ROUNDS_VAR: &str = "MPROC_TORTURE_ROUNDS";
/// The environment variable that asks for the long soak (`1`).
pub const SOAK_VAR: &str = "MPROC_SOAK";
/// How many times the default rounds the soak runs.
pub const SOAK_FACTOR: u64 = 25;

/// How big the run is and where its randomness starts.
///
/// | variable | effect |
/// | --- | --- |
/// | `MPROC_TORTURE_SEED=N` | replay the choices of a run that printed seed `N` |
/// | `MPROC_TORTURE_ROUNDS=N` | `N` rounds in every scenario |
/// | `MPROC_TORTURE_ROUND_SEED=S` | every round replays the round seeded `S` (a failure prints it) |
/// | `MPROC_SOAK=1` | the long soak: [`SOAK_FACTOR`] times the default rounds |
///
/// # Examples
///
/// ```
/// use mproc_torture::Config;
/// let c = Config { seed: 1, rounds: None, soak: false };
/// assert_eq!(c.rounds_for(30), 30);
/// let soak = Config { soak: true, ..c };
/// assert_eq!(soak.rounds_for(30), 30 * mproc_torture::config::SOAK_FACTOR);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The run's seed: every scenario's generator is drawn from it.
    pub seed: u64,
    /// Rounds per scenario, if set explicitly.
    pub rounds: Option<u64>,
    /// Whether the long soak was asked for.
    pub soak: bool,
}

impl Config {
    /// Reads [`SEED_VAR`], [`ROUNDS_VAR`] and [`SOAK_VAR`]; a run without a
    /// seed takes one from the clock.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = mproc_torture::Config::from_env();
    /// assert!(c.rounds_for(10) >= 1);
    /// ```
    pub fn from_env() -> Config {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Config {
            seed: var(SEED_VAR)
                .and_then(|s| parse_u64(&s))
                .unwrap_or_else(crate::Rng::clock_seed),
            rounds: var(ROUNDS_VAR)
                .and_then(|s| parse_u64(&s))
                .filter(|&n| n > 0),
            soak: var(SOAK_VAR).is_some_and(|v| v != "0"),
        }
    }

    /// The rounds of a scenario whose default size is `default`.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = mproc_torture::Config { seed: 0, rounds: Some(3), soak: true };
    /// assert_eq!(c.rounds_for(100), 3);
    /// ```
    pub fn rounds_for(&self, default: u64) -> u64 {
        match (self.rounds, self.soak) {
            (Some(n), _) => n,
            (None, true) => default * SOAK_FACTOR,
            (None, false) => default,
        }
    }
}

/// A decimal or `0x` hexadecimal number.
///
/// # Examples
///
/// ```
/// assert_eq!(mproc_torture::config::parse_u64("0x10"), Some(16));
/// ```
pub fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn seeds_parse_in_decimal_and_hex() {
        assert_eq!(super::parse_u64("42"), Some(42));
        assert_eq!(super::parse_u64("0x2a"), Some(42));
        assert_eq!(super::parse_u64("x"), None);
    }
}
