//! `make study`: the arbitration study (a memcpy per arbitration mode, CPU bus load and
//! transfer size), then the NIC run (the highest CPU bus load at which the NIC keeps line rate,
//! per arbitration mode and frame size). Prints the tables and fails if a numbered requirement
//! is missed. With `--update-docs` (what `make study` passes) it also writes
//! reports/arbitration.{json,md,svg}, reports/nic_study.{json,md} and the study and nic-study
//! blocks of docs/arbitration-study.md and docs/nic-usage.md; without it nothing is written,
//! so a run with other settings leaves the published figures alone. `study --help` lists what
//! can be varied.

use clap::Parser;
use driver::arb::ArbMode;
use driver::dma::{DmaConfig, Invalidation, IommuPolicy};
use indicatif::{ProgressBar, ProgressStyle};
use testbench::nic_bench::{self, NicStudyConfig};
use testbench::study::{self, Mode, StudyConfig};

/// The IOMMU policy, as Linux's `iommu=` parameter names it.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Policy {
    /// Bare mode: no device translated.
    Off,
    /// Device directory, every device in passthrough.
    Pt,
    /// Device directory, every device translated (Sv32 page tables).
    On,
}

impl From<Policy> for IommuPolicy {
    fn from(p: Policy) -> Self {
        match p {
            Policy::Off => IommuPolicy::Off,
            Policy::Pt => IommuPolicy::Pt,
            Policy::On => IommuPolicy::On,
        }
    }
}

/// The arbitration study and the NIC line-rate study on the Verilated SoC.
#[derive(Parser, Debug)]
#[command(name = "study", version)]
struct Args {
    /// Arbitration modes of the memcpy study: burst (uncapped), burst:N (at most N beats per
    /// grant), steal:N (cycle stealing, the CPU waits at most N cycles), transparent.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "MODE,...",
        default_value = "burst,burst:16,steal:8,transparent"
    )]
    modes: Vec<Mode>,

    /// CPU bus loads of the memcpy study, in percent.
    #[arg(long, value_delimiter = ',', value_name = "PCT,...", default_value = "0,25,50,75,90",
          value_parser = clap::value_parser!(u32).range(0..=100))]
    loads: Vec<u32>,

    /// Transfer sizes of the memcpy study in bytes (non-zero multiples of 4).
    #[arg(long, value_delimiter = ',', value_name = "BYTES,...", default_value = "256,4096,65536",
          value_parser = testbench::parse_transfer_size)]
    sizes: Vec<u32>,

    /// IOMMU policy for the memcpy channel (the NIC study uses --nic-iommu).
    #[arg(long, value_enum, default_value = "off")]
    iommu: Policy,

    /// Lazy IOTLB invalidation (a flush queue) instead of strict, for both studies.
    #[arg(long)]
    lazy: bool,

    /// Skip the NIC study.
    #[arg(long)]
    no_nic: bool,

    /// Arbitration modes of the NIC study.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "MODE,...",
        default_value = "burst,steal:8"
    )]
    nic_modes: Vec<Mode>,

    /// Frame sizes of the NIC study in bytes, FCS included (64 to 1518).
    #[arg(long, value_delimiter = ',', value_name = "BYTES,...", default_value = "64,1518",
          value_parser = clap::value_parser!(u16).range(64..=1518))]
    frame_sizes: Vec<u16>,

    /// CPU bus loads of the NIC study, in percent.
    #[arg(long, value_delimiter = ',', value_name = "PCT,...",
          default_value = "0,10,20,30,40,50,60,70,80,90",
          value_parser = clap::value_parser!(u32).range(0..=100))]
    nic_loads: Vec<u32>,

    /// ITR of the NIC study (interrupt moderation interval in units of 32 cycles; 0 = off).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=0xFFFF))]
    itr: u32,

    /// IOMMU policy of the NIC study.
    #[arg(long, value_enum, default_value = "on")]
    nic_iommu: Policy,

    /// Write reports/ and the study blocks of the docs pages (make study passes it).
    #[arg(long)]
    update_docs: bool,
}

fn bar(len: usize, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len as u64);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed}, ETA {eta})")
            .expect("template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_owned());
    pb
}

fn invalidation(lazy: bool) -> Invalidation {
    if lazy {
        Invalidation::Lazy { flush_threshold: 8 }
    } else {
        Invalidation::Strict
    }
}

fn main() {
    let args = Args::parse();
    let cfg = StudyConfig {
        modes: args.modes.clone(),
        sizes: args.sizes.clone(),
        loads: args.loads.clone(),
        policy: args.iommu.into(),
        invalidation: invalidation(args.lazy),
    };
    let pb = bar(cfg.transfers(), "memcpy study");
    let result = study::run(&cfg, &mut || pb.inc(1));
    pb.finish_and_clear();
    let md = study::markdown(&result, &cfg.sizes);
    println!(
        "memcpy study: IOMMU {}{}\n{md}",
        clap::ValueEnum::to_possible_value(&args.iommu)
            .map_or_else(String::new, |v| v.get_name().to_owned()),
        if args.lazy { ", lazy" } else { "" }
    );
    let dir = testbench::reports_dir();
    if args.update_docs {
        std::fs::write(
            dir.join("arbitration.json"),
            serde_json::to_string_pretty(&result).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.join("arbitration.md"), &md).unwrap();
        let plotted = if cfg.sizes.contains(&4096) {
            4096
        } else {
            cfg.sizes[0]
        };
        let svg = study::svg(&result, plotted).unwrap_or_else(|e| panic!("plot: {e}"));
        std::fs::write(dir.join("arbitration.svg"), svg).unwrap();
        let readme = format!(
            "Generated by `make study` (cycles are exact: the simulation is deterministic).\n{}",
            study::markdown(
                &study::Study {
                    rows: result
                        .rows
                        .iter()
                        .filter(|r| r.bytes == plotted)
                        .cloned()
                        .collect(),
                    pio_vs_dma: result.pio_vs_dma.clone()
                },
                &[plotted]
            )
        );
        testbench::update_doc_block("study", &readme)
            .unwrap_or_else(|e| eprintln!("not updated: {e}"));
        println!("wrote reports/arbitration.json, reports/arbitration.md, reports/arbitration.svg");
    }

    if !args.no_nic {
        let nic_cfg = NicStudyConfig {
            modes: args
                .nic_modes
                .iter()
                .map(|m| m.arb())
                .collect::<Vec<ArbMode>>(),
            frame_lens: args.frame_sizes.iter().map(|&l| usize::from(l)).collect(),
            loads: args.nic_loads.clone(),
            itr: args.itr,
            dma: DmaConfig {
                policy: args.nic_iommu.into(),
                invalidation: invalidation(args.lazy),
                ..DmaConfig::default()
            },
        };
        let pb = bar(nic_cfg.runs(), "NIC study");
        let nic = nic_bench::study(&nic_cfg, &mut || pb.inc(1));
        pb.finish_and_clear();
        let nic_md = nic_bench::study_markdown(&nic, &nic_cfg);
        println!("{nic_md}");
        if args.update_docs {
            std::fs::write(
                dir.join("nic_study.json"),
                serde_json::to_string_pretty(&nic).unwrap(),
            )
            .unwrap();
            std::fs::write(dir.join("nic_study.md"), &nic_md).unwrap();
            testbench::update_doc_block("nic-study", &nic_md)
                .unwrap_or_else(|e| eprintln!("not updated: {e}"));
            println!("wrote reports/nic_study.json, reports/nic_study.md");
        }
    }
    if !args.update_docs {
        println!("(nothing written: --update-docs writes reports/ and the docs pages)");
    }
    let failures = study::check_requirements(&result);
    for f in &failures {
        eprintln!("REQUIREMENT MISSED: {f}");
    }
    if !failures.is_empty() {
        std::process::exit(1);
    }
    println!("requirements: all met");
}
