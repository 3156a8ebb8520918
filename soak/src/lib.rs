//! Seeds, sizes and tallies of the randomized test suites. The same test is `make test`'s
//! quick run (the suite's own small default) and `make soak`'s long one, steered by the
//! environment:
//!
//! | variable | meaning |
//! |---|---|
//! | `DMANIC_SEEDS` | `a..b` or `a`: run exactly these seeds instead of the suite's default |
//! | `DMANIC_SOAK_SECS` | keep drawing seeds, counting up from the range's start (`DMANIC_SEEDS`'s, else [`SOAK_FIRST_SEED`]), until this many seconds have passed |
//! | `DMANIC_SOAK_MIX` | `hostile`: suites that can raise the share of bad input (bad frames, register abuse) do |
//! | `DMANIC_SOAK_REPORT` | a file: each suite appends one line with its seeds, tallies and failures (read by `make soak`'s summary) |
//!
//! A failing seed does not stop the run: every failure is printed at once with the one
//! command that reproduces it, and the test fails at the end naming them all.
//!
//! Wall-clock time only decides how many seeds a soak runs; no test asserts on it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// Where a timed soak starts counting when `DMANIC_SEEDS` does not say: far from every
/// suite's default seeds, so a soak explores new ones.
pub const SOAK_FIRST_SEED: u64 = 1_000_000;

/// Named counts a suite keeps while it runs (beats checked, frames by kind, faults...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally(BTreeMap<String, u64>);

impl Tally {
    pub fn add(&mut self, name: &str, n: u64) {
        *self.0.entry(name.to_string()).or_default() += n;
    }

    pub fn get(&self, name: &str) -> u64 {
        self.0.get(name).copied().unwrap_or(0)
    }

    pub fn merge(&mut self, other: &Tally) {
        for (k, v) in &other.0 {
            self.add(k, *v);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

/// Which seeds to run: the environment's, or the suite's default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub seeds: Range<u64>,
    /// Keep going past `seeds.end` until then (a timed soak).
    pub until: Option<Instant>,
    /// The hostile mix was asked for.
    pub hostile: bool,
}

impl Plan {
    /// The plan from the environment, with `default` seeds when it says nothing.
    pub fn from_env(default: Range<u64>) -> Result<Plan, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let seeds = match var("DMANIC_SEEDS") {
            Some(s) => parse_seeds(&s)?,
            None => default,
        };
        let until = match var("DMANIC_SOAK_SECS") {
            Some(s) => {
                let secs: u64 = s
                    .trim()
                    .parse()
                    .map_err(|_| format!("DMANIC_SOAK_SECS={s}: not a number of seconds"))?;
                Some(Instant::now() + Duration::from_secs(secs))
            }
            None => None,
        };
        let seeds = match (&until, var("DMANIC_SEEDS")) {
            // A timed soak without seeds of its own starts far from the defaults.
            (Some(_), None) => SOAK_FIRST_SEED..SOAK_FIRST_SEED,
            _ => seeds,
        };
        let hostile = match var("DMANIC_SOAK_MIX").as_deref() {
            None | Some("default") => false,
            Some("hostile") => true,
            Some(other) => {
                return Err(format!(
                    "DMANIC_SOAK_MIX={other}: expected `hostile` or `default`"
                ))
            }
        };
        Ok(Plan {
            seeds,
            until,
            hostile,
        })
    }

    /// The next seed after `seed` to run, if any.
    fn next(&self, seed: u64) -> Option<u64> {
        if seed < self.seeds.end {
            return Some(seed);
        }
        match self.until {
            Some(t) if Instant::now() < t => Some(seed),
            _ => None,
        }
    }
}

/// `a..b` or `a` (one seed).
pub fn parse_seeds(s: &str) -> Result<Range<u64>, String> {
    let bad = || format!("DMANIC_SEEDS={s}: expected `start..end` or a single seed");
    let s = s.trim();
    match s.split_once("..") {
        Some((a, b)) => {
            let a: u64 = a.trim().parse().map_err(|_| bad())?;
            let b: u64 = b.trim().parse().map_err(|_| bad())?;
            if b < a {
                return Err(bad());
            }
            Ok(a..b)
        }
        None => {
            let a: u64 = s.parse().map_err(|_| bad())?;
            Ok(a..a + 1)
        }
    }
}

/// One suite's run: its name (in reports), the command that reruns it, and what it found.
pub struct Suite {
    name: &'static str,
    repro: &'static str,
    plan: Plan,
    tally: Tally,
    seeds_run: u64,
    failures: Vec<(u64, String)>,
}

impl Suite {
    /// `repro` is the command that runs this test alone, e.g.
    /// `cargo test -p testbench --test nic_stress random_configurations -- --exact`; a
    /// failure prints it behind the `DMANIC_SEEDS` that reproduces it.
    pub fn new(name: &'static str, repro: &'static str, default: Range<u64>) -> Suite {
        let plan = Plan::from_env(default).unwrap_or_else(|e| panic!("{name}: {e}"));
        Suite {
            name,
            repro,
            plan,
            tally: Tally::default(),
            seeds_run: 0,
            failures: vec![],
        }
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Whether the hostile mix is on.
    pub fn hostile(&self) -> bool {
        self.plan.hostile
    }

    /// Runs `trial` for every planned seed whose `seed % shards == shard` (tests that split
    /// a suite over threads), catching each failure; then writes the report line and fails
    /// if any seed did.
    pub fn run_shard(
        mut self,
        shard: u64,
        shards: u64,
        mut trial: impl FnMut(u64, &mut Tally, bool),
    ) -> Tally {
        let mut seed = self.plan.seeds.start;
        while let Some(s) = self.plan.next(seed) {
            seed = s + 1;
            if s % shards != shard {
                continue;
            }
            let mut t = Tally::default();
            let hostile = self.plan.hostile;
            let result = panic::catch_unwind(AssertUnwindSafe(|| trial(s, &mut t, hostile)));
            self.seeds_run += 1;
            match result {
                Ok(()) => self.tally.merge(&t),
                Err(e) => {
                    let msg = panic_message(&e);
                    eprintln!(
                        "{}: seed {s} FAILED: {msg}\n  reproduce: {}",
                        self.name,
                        self.reproduce(s)
                    );
                    self.failures.push((s, msg));
                }
            }
        }
        self.report();
        if !self.failures.is_empty() {
            let list: Vec<String> = self
                .failures
                .iter()
                .map(|(s, m)| format!("seed {s}: {m}\n  reproduce: {}", self.reproduce(*s)))
                .collect();
            panic!(
                "{}: {} of {} seeds failed:\n{}",
                self.name,
                self.failures.len(),
                self.seeds_run,
                list.join("\n")
            );
        }
        self.tally
    }

    /// [`Suite::run_shard`] with one shard.
    pub fn run(self, trial: impl FnMut(u64, &mut Tally, bool)) -> Tally {
        self.run_shard(0, 1, trial)
    }

    /// The command that reruns `seed` alone.
    pub fn reproduce(&self, seed: u64) -> String {
        let mix = if self.plan.hostile {
            "DMANIC_SOAK_MIX=hostile "
        } else {
            ""
        };
        format!("{mix}DMANIC_SEEDS={seed} {}", self.repro)
    }

    /// Appends this suite's line to `DMANIC_SOAK_REPORT`, if set: a JSON object with the
    /// suite, the seeds run, the failures and the tallies.
    fn report(&self) {
        let Some(path) = std::env::var_os("DMANIC_SOAK_REPORT") else {
            return;
        };
        let mut line = String::new();
        let _ = write!(
            line,
            "{{\"suite\":{},\"seeds\":{},\"hostile\":{},\"failures\":[",
            json_str(self.name),
            self.seeds_run,
            self.plan.hostile
        );
        for (i, (s, m)) in self.failures.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(
                line,
                "{sep}{{\"seed\":{s},\"message\":{},\"reproduce\":{}}}",
                json_str(m),
                json_str(&self.reproduce(*s))
            );
        }
        line.push_str("],\"counts\":{");
        for (i, (k, v)) in self.tally.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(line, "{sep}{}:{v}", json_str(k));
        }
        line.push_str("}}\n");
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            panic!("DMANIC_SOAK_REPORT={}: {e}", path.to_string_lossy());
        }
    }
}

fn panic_message(e: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = e.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = e.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "(panic without a message)".to_string()
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_parse_as_a_range_or_one_seed() {
        assert_eq!(parse_seeds("3..7"), Ok(3..7));
        assert_eq!(parse_seeds(" 42 "), Ok(42..43));
        assert!(parse_seeds("7..3").is_err());
        assert!(parse_seeds("x").is_err());
    }

    #[test]
    fn a_plan_without_time_runs_exactly_its_seeds() {
        let p = Plan {
            seeds: 2..4,
            until: None,
            hostile: false,
        };
        assert_eq!((p.next(2), p.next(3), p.next(4)), (Some(2), Some(3), None));
    }

    #[test]
    fn failures_are_collected_reported_and_fail_the_suite() {
        let s = Suite {
            name: "t",
            repro: "cargo test t",
            plan: Plan {
                seeds: 0..4,
                until: None,
                hostile: true,
            },
            tally: Tally::default(),
            seeds_run: 0,
            failures: vec![],
        };
        let r = panic::catch_unwind(AssertUnwindSafe(|| {
            s.run(|seed, t, _| {
                t.add("beats", 10);
                assert!(seed % 2 == 0, "odd seed");
            })
        }));
        let msg = panic_message(&r.unwrap_err());
        assert!(msg.contains("2 of 4 seeds failed"), "{msg}");
        assert!(
            msg.contains("DMANIC_SOAK_MIX=hostile DMANIC_SEEDS=3 cargo test t"),
            "{msg}"
        );
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}
