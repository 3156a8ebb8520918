//! `dmanic-sim` (the `make sim` program) end to end: a short traced run whose GTKWave save file
//! is checked against the FST's variables (with `fst2vcd`) and, where `xvfb-run` is installed,
//! against the signals GTKWave itself shows when it opens the file. Feature `trace` only.
#![cfg(feature = "trace")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_dmanic-sim");

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dmanic-sim-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

fn text(o: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The signal names a save file's trace lines stand for (`dmanic-sim` writes each as the
/// escaped name followed by `\**$`).
fn save_file_traces(gtkw: &str) -> Vec<String> {
    gtkw.lines()
        .filter_map(|l| l.strip_suffix("\\**$"))
        .filter(|l| !l.starts_with('['))
        .map(|l| {
            let mut name = String::new();
            let mut chars = l.chars();
            while let Some(c) = chars.next() {
                name.push(if c == '\\' { chars.next().unwrap() } else { c });
            }
            name
        })
        .collect()
}

/// Every variable of the FST as GTKWave names it (scopes joined by '.', vector range appended
/// except for parameters), from `fst2vcd`'s header; `None` without `fst2vcd`.
fn fst_vars(fst: &Path) -> Option<Vec<String>> {
    if !on_path("fst2vcd") {
        return None;
    }
    let out = Command::new("fst2vcd").arg(fst).output().unwrap();
    assert!(out.status.success(), "fst2vcd: {}", text(&out));
    let mut scope: Vec<&str> = Vec::new();
    let mut vars = Vec::new();
    let vcd = String::from_utf8(out.stdout).unwrap();
    for line in vcd.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.first().copied() {
            Some("$scope") => scope.push(f[2]),
            Some("$upscope") => {
                scope.pop();
            }
            Some("$var") => {
                let range = if f.len() == 7 && f[1] != "parameter" {
                    f[5]
                } else {
                    ""
                };
                vars.push(format!("{}.{}{range}", scope.join("."), f[4]));
            }
            Some("$enddefinitions") => break,
            _ => {}
        }
    }
    Some(vars)
}

/// The signals GTKWave 3 shows after loading `gtkw` (through a Tcl script, on a virtual X
/// display); `None` without `xvfb-run` or `gtkwave`.
fn gtkwave_shows(gtkw: &Path, dir: &Path) -> Option<Vec<String>> {
    if !on_path("xvfb-run") || !on_path("gtkwave") {
        return None;
    }
    let listing = dir.join("displayed.txt");
    let script = dir.join("list.tcl");
    std::fs::write(
        &script,
        format!(
            "set fp [open {{{}}} w]\n\
             foreach s [gtkwave::getDisplayedSignals] {{ puts $fp $s }}\n\
             close $fp\n\
             gtkwave::/File/Quit\n",
            listing.display()
        ),
    )
    .unwrap();
    let out = Command::new("timeout")
        .args(["120", "xvfb-run", "-a", "gtkwave", "-S"])
        .arg(&script)
        .arg(gtkw)
        .output()
        .unwrap();
    assert!(out.status.success(), "gtkwave: {}", text(&out));
    let shown = std::fs::read_to_string(&listing).unwrap();
    Some(shown.lines().map(str::to_owned).collect())
}

#[test]
fn traced_run_writes_a_save_file_whose_signals_are_in_the_fst() {
    let dir = scratch("trace");
    let out = Command::new(BIN)
        .arg("--out")
        .arg(&dir)
        .args(["--bytes", "256"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for want in [
        "burst, uncapped",
        "burst, cap 16",
        "cycle steal, bound 8",
        "burst, IOMMU on (Sv32)",
        "all 4 copies verified",
        "IOMMU fault: copy from unmapped IOVA 0x70000000 refused; fault record: cause 13",
    ] {
        assert!(stdout.contains(want), "no {want:?} in\n{stdout}");
    }

    let fst = std::path::absolute(dir.join("sim.fst")).unwrap();
    let gtkw_path = dir.join("sim.gtkw");
    let gtkw = std::fs::read_to_string(&gtkw_path).unwrap();
    assert!(
        gtkw.contains(&format!("[dumpfile] \"{}\"", fst.display())),
        "dumpfile is not {}:\n{gtkw}",
        fst.display()
    );
    let traces = save_file_traces(&gtkw);
    assert!(traces.len() >= 30, "only {} traces:\n{gtkw}", traces.len());
    assert!(traces.contains(&"TOP.top.obs_iommu_state[3:0]".to_string()));
    let fault_view = std::fs::read_to_string(dir.join("iommu_fault.gtkw")).unwrap();
    assert_eq!(
        save_file_traces(&fault_view),
        traces,
        "same signals, opened at the fault"
    );
    assert!(traces.contains(&"TOP.top.arbiter.total_cycles[31:0]".to_string()));

    match fst_vars(&fst) {
        None => eprintln!("note: fst2vcd not found; save file not checked against the FST"),
        Some(vars) => {
            let lower: Vec<String> = vars.iter().map(|v| v.to_lowercase()).collect();
            for t in &traces {
                assert!(vars.contains(t), "{t} is not a variable of the FST");
                // GTKWave matches the pattern case-insensitively and unanchored at the start.
                let suffix = t.to_lowercase();
                let hits = lower.iter().filter(|v| v.ends_with(&suffix)).count();
                assert_eq!(hits, 1, "{t} matches {hits} variables");
            }
        }
    }

    match gtkwave_shows(&gtkw_path, &dir) {
        None => eprintln!("note: xvfb-run or gtkwave not found; save file not loaded in GTKWave"),
        Some(shown) => assert_eq!(shown, traces, "GTKWave shows other signals"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn watchdog_expiry_fails_with_the_driver_error() {
    let dir = scratch("watchdog");
    let out = Command::new(BIN)
        .arg("--out")
        .arg(&dir)
        .args(["--bytes", "4096", "--watchdog", "100", "--no-trace"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("burst, uncapped: DMAC timed out after")
            && stderr.contains("DMAC in state"),
        "{}",
        text(&out)
    );
    assert!(
        !dir.join("sim.gtkw").exists(),
        "--no-trace wrote a save file"
    );
}

#[test]
fn bad_arguments_are_refused() {
    for args in [
        &["--bytes", "6"][..],
        &["--bytes", "0"],
        &["--cpu-load", "101"],
    ] {
        let out = Command::new(BIN)
            .args(args)
            .arg("--no-trace")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
}
