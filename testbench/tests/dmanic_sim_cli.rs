//! `dmanic-sim`'s command line, with or without the `trace` feature.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_dmanic-sim");

#[test]
fn help_lists_the_options() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for opt in [
        "--out",
        "--no-trace",
        "--rx-pcap",
        "--tx-pcap",
        "--fcs",
        "--no-pad",
        "--max-frame",
    ] {
        assert!(help.contains(opt), "{opt} not in\n{help}");
    }
}

#[test]
fn without_the_trace_feature_a_waveform_is_refused_with_a_hint() {
    if sim::TRACE {
        return; // this build writes waveforms: dmanic_sim.rs checks them
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sim.gtkw"), "make sim's").unwrap();
    let out = Command::new(BIN)
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--no-trace"), "{stderr}");
    // Nothing of an earlier run was removed.
    assert!(dir.path().join("sim.gtkw").exists());
}
