//! `make bench` (third part): the NIC at line rate. Prints its table; with `--update-docs` writes reports/nic.{json,md} and the
//! nic block of docs/nic-usage.md; exits non-zero if line rate is not held for 64- or 1518-byte frames.

use testbench::nic_bench;

/// The NIC at line rate (64- and 1518-byte frames, burst mode, CPU at 50 % bus load, IOMMU on): TX gaps, RX misses, interrupts per frame.
#[derive(clap::Parser, Debug)]
#[command(name = "nic-bench", version)]
struct Args {
    /// Write reports/ and the docs page's block (make bench passes it).
    #[arg(long)]
    update_docs: bool,
}

fn main() {
    let args = <Args as clap::Parser>::parse();
    let report = nic_bench::bench();
    let md = nic_bench::bench_markdown(&report);
    println!("{md}");
    if args.update_docs {
        let dir = testbench::reports_dir();
        std::fs::write(
            dir.join("nic.json"),
            serde_json::to_string_pretty(&report).expect("json"),
        )
        .expect("write reports/nic.json");
        std::fs::write(dir.join("nic.md"), &md).expect("write reports/nic.md");
        testbench::update_doc_block("nic", &md).unwrap_or_else(|e| eprintln!("not updated: {e}"));
        println!("wrote reports/nic.json, reports/nic.md");
    } else {
        println!("(nothing written: --update-docs writes reports/ and the docs pages)");
    }
    for f in &report.failures {
        eprintln!("FAIL: {f}");
    }
    if !report.failures.is_empty() {
        std::process::exit(1);
    }
}
