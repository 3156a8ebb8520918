//! Sums what a `make soak` run checked, from the lines the suites appended to its report
//! (`DMANIC_SOAK_REPORT`, one JSON object per suite run: see the `soak` crate), and prints
//! it: per suite the seeds and failures, then the totals (DMA beats checked, frames by kind,
//! faults expected and matched, register abuse) and every failure with the command that
//! reproduces it. Exit status 1 if any seed failed.
//!
//! `soak-report REPORT [--secs N] [--markdown FILE]`: with `--markdown` the same table goes
//! to FILE (for the `soak` block of docs/soaks.md).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Deserialize)]
struct Line {
    suite: String,
    seeds: u64,
    hostile: bool,
    failures: Vec<Failure>,
    counts: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
struct Failure {
    seed: u64,
    message: String,
    reproduce: String,
}

/// The totals the report leads with, from the suites' own count names.
const GROUPS: &[(&str, &[&str])] = &[
    (
        "DMA beats checked against the shadow memory / reference walk",
        &["dma_beats_checked", "dma_write_beats_checked"],
    ),
    (
        "IOMMU block accesses checked against the reference walk",
        &["accesses_checked"],
    ),
    (
        "IOMMU faults expected and matched",
        &["faults_expected_and_matched"],
    ),
    ("TX frames checked byte-exact on the pins", &["tx_frames"]),
    ("RX frames: good", &["rx_frames_good"]),
    ("RX frames: bad FCS", &["rx_frames_bad_fcs"]),
    ("RX frames: runt", &["rx_frames_runt"]),
    ("RX frames: giant", &["rx_frames_giant"]),
    ("RX frames: rx_er", &["rx_frames_rx_er"]),
    ("RX frames: no SFD", &["rx_frames_no_sfd"]),
    (
        "RX frames delivered and checked",
        &["rx_frames_delivered_checked"],
    ),
    (
        "ring-engine block frames checked against the ring models",
        &["rx_frames_checked", "tx_frames_checked"],
    ),
    (
        "ring register writes refused (and reported)",
        &["ring_writes_refused"],
    ),
    ("DDTP rewrites under traffic", &["ddtp_rewrites"]),
    ("memcpy register-mode copies", &["copies"]),
    ("memcpy aborts", &["aborts"]),
    ("memcpy chain descriptors", &["descriptors"]),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().unwrap_or_else(|| {
        eprintln!("usage: soak-report REPORT [--secs N] [--markdown FILE]");
        std::process::exit(2)
    });
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        eprintln!("soak-report: {path}: {e}");
        std::process::exit(2)
    });
    let lines: Vec<Line> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| {
                eprintln!("soak-report: {path}: {e}: {l}");
                std::process::exit(2)
            })
        })
        .collect();
    let mut suites: BTreeMap<&str, (u64, usize, bool)> = BTreeMap::new();
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for l in &lines {
        let e = suites.entry(&l.suite).or_default();
        e.0 += l.seeds;
        e.1 += l.failures.len();
        e.2 |= l.hostile;
        for (k, v) in &l.counts {
            *totals.entry(k).or_default() += v;
        }
    }
    let mut md = String::new();
    if let Some(secs) = opt("--secs") {
        let _ = writeln!(md, "`make soak SOAK_SECS={secs}` (mix: {}):\n", mix(&lines));
    }
    md += "| suite | seeds | failed |\n|---|---:|---:|\n";
    for (name, (seeds, failed, _)) in &suites {
        let _ = writeln!(md, "| {name} | {seeds} | {failed} |");
    }
    md += "\n| checked | count |\n|---|---:|\n";
    for (label, names) in GROUPS {
        let n: u64 = names
            .iter()
            .map(|k| totals.get(k).copied().unwrap_or(0))
            .sum();
        let _ = writeln!(md, "| {label} | {n} |");
    }
    let failures: Vec<&Failure> = lines.iter().flat_map(|l| &l.failures).collect();
    if failures.is_empty() {
        md += "\nNo seed failed.\n";
    } else {
        let _ = writeln!(md, "\n{} seeds failed:\n", failures.len());
        for f in &failures {
            let first = f.message.lines().next().unwrap_or("");
            let _ = writeln!(md, "- seed {}: {first}\n  `{}`", f.seed, f.reproduce);
        }
    }
    print!("{md}");
    if let Some(file) = opt("--markdown") {
        std::fs::write(&file, &md).unwrap_or_else(|e| {
            eprintln!("soak-report: {file}: {e}");
            std::process::exit(2)
        });
    }
    if !failures.is_empty() {
        std::process::exit(1);
    }
}

fn mix(lines: &[Line]) -> &'static str {
    if lines.iter().any(|l| l.hostile) {
        "hostile"
    } else {
        "default"
    }
}
