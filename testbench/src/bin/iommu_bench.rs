//! `make bench` (second part): what the IOMMU costs the memcpy channel. Prints its table; with
//! `--update-docs` writes reports/iommu.{json,md} and the iommu block of docs/iommu-usage.md; exits non-zero if IOMMU on with 4 KiB
//! pages costs more than 3 % of burst throughput for a transfer of 4 KiB or more.

use testbench::iommu_bench;

/// What translation costs the memcpy channel: one copy per IOMMU setting (off, pt, on with 4 KiB
/// pages or superpages) and size, with a cold and a warm IOTLB; hit and miss costs.
#[derive(clap::Parser, Debug)]
#[command(name = "iommu-bench", version)]
struct Args {
    /// Write reports/ and the docs page's block (make bench passes it).
    #[arg(long)]
    update_docs: bool,
}

fn main() {
    let args = <Args as clap::Parser>::parse();
    let report = iommu_bench::run();
    let md = iommu_bench::markdown(&report);
    println!("{md}");
    if args.update_docs {
        let dir = testbench::reports_dir();
        std::fs::write(
            dir.join("iommu.json"),
            serde_json::to_string_pretty(&report).expect("json"),
        )
        .expect("write reports/iommu.json");
        std::fs::write(dir.join("iommu.md"), &md).expect("write reports/iommu.md");
        testbench::update_doc_block("iommu", &md).unwrap_or_else(|e| eprintln!("not updated: {e}"));
        println!("wrote reports/iommu.json, reports/iommu.md");
    } else {
        println!("(nothing written: --update-docs writes reports/ and the docs pages)");
    }
    if !report.failures.is_empty() {
        std::process::exit(1);
    }
}
