//! `make bench` (third part): the NIC at line rate. Writes reports/nic.{json,md} and the
//! README's nic block; exits non-zero if line rate is not held for 64- or 1518-byte frames.

use testbench::nic_bench;

fn main() {
    let report = nic_bench::bench();
    let md = nic_bench::bench_markdown(&report);
    let dir = testbench::reports_dir();
    std::fs::write(
        dir.join("nic.json"),
        serde_json::to_string_pretty(&report).expect("json"),
    )
    .expect("write reports/nic.json");
    std::fs::write(dir.join("nic.md"), &md).expect("write reports/nic.md");
    testbench::update_readme_block("nic", &md)
        .unwrap_or_else(|e| eprintln!("README not updated: {e}"));
    println!("{md}");
    println!("wrote reports/nic.json, reports/nic.md");
    for f in &report.failures {
        eprintln!("FAIL: {f}");
    }
    if !report.failures.is_empty() {
        std::process::exit(1);
    }
}
