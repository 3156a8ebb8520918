//! `make bench` (second part): what the IOMMU costs the memcpy channel. Writes
//! reports/iommu.{json,md} and the README's iommu block; exits non-zero if IOMMU on with 4 KiB
//! pages costs more than 3 % of burst throughput for a transfer of 4 KiB or more.

use testbench::iommu_bench;

fn main() {
    let report = iommu_bench::run();
    let md = iommu_bench::markdown(&report);
    let dir = testbench::reports_dir();
    std::fs::write(
        dir.join("iommu.json"),
        serde_json::to_string_pretty(&report).expect("json"),
    )
    .expect("write reports/iommu.json");
    std::fs::write(dir.join("iommu.md"), &md).expect("write reports/iommu.md");
    testbench::update_readme_block("iommu", &md)
        .unwrap_or_else(|e| eprintln!("README not updated: {e}"));
    println!("{md}");
    println!("wrote reports/iommu.json, reports/iommu.md");
    if !report.failures.is_empty() {
        std::process::exit(1);
    }
}
