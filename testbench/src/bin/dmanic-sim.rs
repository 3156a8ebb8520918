//! `make sim`: the default scenario on the Verilated SoC, with a waveform to look at.
//!
//! Probes the SoC, fills a source buffer with a known pattern, starts a synthetic CPU workload,
//! then runs the same register-mode memcpy under three arbitration modes (burst uncapped, burst
//! capped, cycle stealing), then once more in burst mode with the IOMMU on (Sv32 page tables
//! built by the driver's DMA API: the page walks are in the waveform), and finally a copy from
//! an IOVA nobody mapped: the IOMMU refuses it, writes a fault record (visible as its own bus
//! writes) and the channel ends with an error. Every copy is checked byte for byte, the fault is
//! checked against the fault record, and every wait has a cycle budget. Prints a summary table
//! and writes `<out>/sim.fst` (one sample per cycle) with a GTKWave save file `<out>/sim.gtkw`
//! that groups the interesting signals and puts a named marker at the start of each copy.
//! With `--rx-pcap` it runs the io-forward app instead (`dmanic-sim/nic.rs`), whose waveform
//! is `<out>/forward.fst` with `<out>/forward.gtkw`; its input is read and its output path
//! created before the simulation starts.
//!
//! Exit status: 0 on success, 1 when a copy fails, times out or is wrong, or the waveform
//! cannot be written or does not contain a signal the save file names (2 for bad arguments).

use std::fmt::Write as _;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

#[path = "dmanic-sim/nic.rs"]
mod nic;
use driver::dma::{Dma, DmaConfig, DmaDirection, IommuPolicy};
use driver::iommu::DeviceId;
use driver::{arb, ArbCounters, ArbMode, Completion, Device, Dmac, DmacError, PageAllocator};
use regs::PAGE_BYTES;
use sim::{CpuWorkload, Observed, Soc};
use testbench::pcap::FcsChoice;
use testbench::waves;

/// Run the default DMA scenario on the Verilated SoC and write a waveform.
#[derive(Parser, Debug)]
#[command(name = "dmanic-sim", version)]
struct Args {
    /// Directory for the waveform and its save files (created if missing): sim.fst and
    /// sim.gtkw (with iommu_fault.gtkw and nic.gtkw), or forward.fst and forward.gtkw for a
    /// --rx-pcap run, and the state-name filters.
    #[arg(long, value_name = "DIR", default_value = "out")]
    out: PathBuf,

    /// Bytes each memcpy copies (a non-zero multiple of 4).
    #[arg(long, value_name = "N", default_value_t = 4096, value_parser = parse_len)]
    bytes: u32,

    /// Bus load of the synthetic CPU workload in percent: the share of its instructions that
    /// miss the cache and read RAM (so, without DMA, the share of cycles it uses the bus).
    #[arg(long, value_name = "PCT", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(0..=100))]
    cpu_load: u32,

    /// Do not write the waveform and save file.
    #[arg(long)]
    no_trace: bool,

    /// Cycle budget for each wait for a copy to finish (default: 32 cycles per word + 10000).
    #[arg(long, value_name = "CYCLES")]
    watchdog: Option<u64>,

    /// Run the io-forward application instead of the default scenario: the Ethernet frames of
    /// this libpcap or pcapng file go onto the NIC's PHY RX pins (see --fcs, --no-pad) and
    /// every good frame received is sent back out. Exit status 1 when a frame the NIC should
    /// have accepted did not come back out.
    #[arg(long, value_name = "IN.pcap")]
    rx_pcap: Option<PathBuf>,

    /// With --rx-pcap: whether the capture's frames end in their FCS. `auto`: what the file
    /// declares (libpcap's link-type FCS bits, pcapng's if_fcslen), else present when at least
    /// half the frames end in a good FCS. A frame with a bad FCS goes onto the wire with it.
    #[arg(long, value_enum, default_value_t = FcsChoice::Auto, requires = "rx_pcap")]
    fcs: FcsChoice,

    /// With --rx-pcap: send frames without FCS shorter than 60 bytes as they are (runts)
    /// instead of padding them to 60 bytes before the FCS, as the sending NIC would have.
    #[arg(long, requires = "rx_pcap")]
    no_pad: bool,

    /// With --rx-pcap: the longest frame forwarded, FCS included. Above 1518 the NIC runs with
    /// RCTL.LPE (long packets: the MAC takes frames up to its limit, 16383 bytes) and the app
    /// drops good frames longer than this itself.
    #[arg(long, value_name = "BYTES", default_value_t = regs::nic::MAX_FRAME,
          requires = "rx_pcap", value_parser = parse_max_frame)]
    max_frame: u32,

    /// With --rx-pcap: send the frames back to back at line rate (the minimum gap) instead of
    /// at the times the capture recorded (idle gaps longer than 1 ms are shortened to 1 ms).
    #[arg(long, requires = "rx_pcap")]
    line_rate: bool,

    /// With --rx-pcap: write every frame seen on the PHY TX pins, FCS included, to this
    /// libpcap file.
    #[arg(long, value_name = "OUT.pcap", requires = "rx_pcap")]
    tx_pcap: Option<PathBuf>,
}

fn parse_max_frame(s: &str) -> Result<u32, String> {
    let n: u32 = s.parse().map_err(|e| format!("{e}"))?;
    let lo = regs::nic::MAX_FRAME;
    let hi = regs::nic::MAX_LONG_FRAME.min(regs::SocConfig::SIM.nic_fifo_bytes());
    if !(lo..=hi).contains(&n) {
        return Err(format!("{n} is not between {lo} and {hi}"));
    }
    Ok(n)
}

fn parse_len(s: &str) -> Result<u32, String> {
    let n: u32 = s.parse().map_err(|e| format!("{e}"))?;
    if n == 0 || !n.is_multiple_of(4) {
        return Err(format!("{n} is not a non-zero multiple of 4"));
    }
    Ok(n)
}

/// Seed of the CPU workload's PRNG: fixed, so every run is the same.
const WORKLOAD_SEED: u32 = 1;
/// The CPU workload reads the top 64 KiB of RAM.
const WORKLOAD_BYTES: u32 = 64 * 1024;
/// Cycles of CPU workload alone, as the reference for the CPU work/cycle column.
const BASELINE_CYCLES: u64 = 2000;
/// Idle cycles between the copies, so they are easy to tell apart in the waveform.
const GAP_CYCLES: u64 = 50;

/// The arbitration modes the scenario compares, with their table labels.
const MODES: [(&str, ArbMode); 3] = [
    ("burst, uncapped", ArbMode::Burst { cap: 0 }),
    ("burst, cap 16", ArbMode::Burst { cap: 16 }),
    (
        "cycle steal, bound 8",
        ArbMode::CycleSteal { bound: Some(8) },
    ),
];

/// Byte `k` of the source buffer: a byte counter, XORed with the 256-byte block number so that
/// blocks differ. In the waveform the first words read 0x03020100, 0x07060504, ...
fn pattern_byte(k: u32) -> u8 {
    (k ^ (k >> 8)) as u8
}

fn pattern_words(bytes: u32) -> Vec<u32> {
    (0..bytes / 4)
        .map(|i| u32::from_le_bytes(std::array::from_fn(|b| pattern_byte(4 * i + b as u32))))
        .collect()
}

/// What the destination holds before each copy, so a copy that does nothing cannot pass.
const POISON: u32 = 0xDEAD_BEEF;

/// One copy's results.
struct RunResult {
    label: &'static str,
    /// From the START write until the driver saw the interrupt.
    cycles: u64,
    arb: ArbCounters,
    observed: Observed,
}

/// Why the scenario stopped.
struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

/// Everything the scenario found, for the summary.
#[derive(Default)]
struct Report {
    header: Vec<String>,
    baseline: Option<Observed>,
    /// Each copy attempted, with the cycle just before its first register access (the
    /// waveform's time is `sim::CYCLE_NS` × cycle): the save file's markers.
    starts: Vec<(&'static str, u64)>,
    runs: Vec<RunResult>,
    /// Lines printed after the table (the IOMMU fault).
    notes: Vec<String>,
    /// Where `nic.gtkw` opens: shortly before the TX engine fetched the first frame's
    /// descriptor.
    nic_view_at: Option<u64>,
}

struct Layout {
    src: u32,
    dst: u32,
    len: u32,
    watchdog: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(msg)) => {
            eprintln!("dmanic-sim: error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), Failure> {
    // The forward app's input and output are checked before the simulation starts.
    let capture = match &args.rx_pcap {
        Some(rx) => Some(testbench::pcap::read_capture(rx)?),
        None => None,
    };
    // --out first: make forward puts --tx-pcap inside it.
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    if let Some(tx) = &args.tx_pcap {
        let dir = tx
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dir.is_dir() {
            return Err(Failure(format!(
                "--tx-pcap {}: no directory {}",
                tx.display(),
                dir.display()
            )));
        }
    }
    // Each kind of run has its own waveform and save files, so a forward run never overwrites
    // `make sim`'s; a run removes its own old save files first, so none is left pointing into
    // a waveform it does not match.
    let stem = if capture.is_some() { "forward" } else { "sim" };
    let fst = args.out.join(format!("{stem}.fst"));
    let mut soc = if args.no_trace {
        Soc::new()
    } else {
        let soc = traced(&fst)?;
        for old in save_files(stem) {
            let path = args.out.join(old);
            if path.exists() {
                std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
        soc
    };

    let mut report = Report::default();
    let outcome = match (&capture, &args.rx_pcap) {
        (Some(capture), Some(rx)) => forward_scenario(&mut soc, args, rx, capture, &mut report),
        _ => scenario(&mut soc, args, &mut report),
    };
    let total_cycles = soc.now();
    soc.finish_trace();
    drop(soc);

    print_summary(&report, args);

    // The waveform is written even when a copy failed: that is when it is needed most.
    let waves = if args.no_trace {
        println!("\nno waveform written (--no-trace)");
        Ok(())
    } else {
        write_waves(&args.out, stem, &fst, &report, total_cycles)
    };
    outcome.and(waves)
}

/// A model that writes its waveform to `fst`.
fn traced(fst: &Path) -> Result<Soc, Failure> {
    if !sim::TRACE {
        return Err(Failure(
            "this dmanic-sim was built without waveform support (cargo feature sim/trace, \
             which make sim turns on): pass --no-trace, or build it with --features sim/trace"
                .into(),
        ));
    }
    Ok(Soc::with_trace(fst))
}

/// The save files a run of `stem` writes (`sim`: `make sim`'s scenario, `forward`: the
/// io-forward app).
fn save_files(stem: &str) -> Vec<String> {
    let mut v = vec![format!("{stem}.gtkw")];
    if stem == "sim" {
        v.extend([FAULT_GTKW.to_owned(), NIC_GTKW.to_owned()]);
    }
    v
}

const FAULT_GTKW: &str = "iommu_fault.gtkw";
const NIC_GTKW: &str = "nic.gtkw";

fn scenario(soc: &mut Soc, args: &Args, report: &mut Report) -> Result<(), Failure> {
    let info = driver::probe(soc)?;
    report.header.push(format!(
        "SoC: SYS.VERSION {}.{}, {} KiB RAM",
        info.version_major(),
        info.version_minor(),
        info.ram_bytes / 1024
    ));
    report.header.push(format!(
        "model: built by {} ({})",
        sim::VERILATOR,
        sim::VERILATOR_ORIGIN
    ));

    // Page 0 stays unused (no buffer at address 0); the workload owns the top 64 KiB.
    let mut mm = PageAllocator::new(info.ram_bytes)?;
    mm.reserve(0, 1)?;
    let workload_base = info.ram_bytes.checked_sub(WORKLOAD_BYTES).ok_or_else(|| {
        format!(
            "RAM of {} bytes has no room for the workload",
            info.ram_bytes
        )
    })?;
    mm.reserve(workload_base, WORKLOAD_BYTES / PAGE_BYTES)?;
    let too_big = |e| format!("--bytes {}: no room for two buffers: {e}", args.bytes);
    let words = u64::from(args.bytes / 4);
    let layout = Layout {
        src: mm.alloc_bytes(args.bytes).map_err(too_big)?,
        dst: mm.alloc_bytes(args.bytes).map_err(too_big)?,
        len: args.bytes,
        watchdog: args.watchdog.unwrap_or(32 * words + 10_000),
    };
    report.header.push(format!(
        "copy: {} bytes {:#010x} -> {:#010x}, register mode, irq completion, watchdog {} cycles per wait",
        layout.len, layout.src, layout.dst, layout.watchdog
    ));

    let source = pattern_words(layout.len);
    soc.write_words(layout.src, &source);

    let workload = CpuWorkload {
        enabled: true,
        load_per_65536: args.cpu_load * 65536 / 100,
        seed: WORKLOAD_SEED,
        base: workload_base,
        span_words: WORKLOAD_BYTES / 4,
    };
    soc.set_cpu_workload(workload);
    report.header.push(format!(
        "CPU workload: {} % bus load, reads {:#010x}..{:#010x}, seed {}",
        args.cpu_load,
        workload_base,
        workload_base + WORKLOAD_BYTES,
        WORKLOAD_SEED
    ));

    soc.clear_observed();
    soc.run(BASELINE_CYCLES);
    report.baseline = Some(soc.observed());

    let mut dmac = Dmac::new();
    let poison = vec![POISON; source.len()];
    for (label, mode) in MODES {
        soc.run(GAP_CYCLES);
        soc.write_words(layout.dst, &poison);
        arb::set_mode(soc, mode);
        arb::clear_counters(soc);
        soc.clear_observed();
        report.starts.push((label, soc.now()));
        dmac.start(soc, layout.src, layout.dst, layout.len, true)
            .map_err(|e| format!("{label}: {e}"))?;
        let outcome = dmac
            .wait(soc, Completion::Irq, layout.watchdog)
            .map_err(|e| format!("{label}: {e}"))?;
        let observed = soc.observed();
        // Counters first: the read-back below is host traffic they should not include.
        let counters = arb::read_counters(soc);
        if outcome.bytes != layout.len {
            return Err(Failure(format!(
                "{label}: BYTES_DONE is {}, expected {}",
                outcome.bytes, layout.len
            )));
        }
        verify(soc, label, &layout, &source)?;
        report.runs.push(RunResult {
            label,
            cycles: outcome.cycles,
            arb: counters,
            observed,
        });
    }
    let mut dma = iommu_scenario(soc, mm, &layout, &source, &poison, report)?;
    soc.run(GAP_CYCLES);
    nic::loopback_scenario(soc, &mut dma, report)?;
    soc.run(GAP_CYCLES);
    Ok(())
}

/// `--rx-pcap`: the io-forward application, with the same CPU workload as the default
/// scenario.
fn forward_scenario(
    soc: &mut Soc,
    args: &Args,
    rx: &Path,
    capture: &testbench::pcap::Capture,
    report: &mut Report,
) -> Result<(), Failure> {
    let ram = driver::probe(soc)?.ram_bytes;
    let workload = CpuWorkload {
        enabled: true,
        load_per_65536: args.cpu_load * 65536 / 100,
        seed: WORKLOAD_SEED,
        base: ram - WORKLOAD_BYTES,
        span_words: WORKLOAD_BYTES / 4,
    };
    report.starts.push((FORWARD_LABEL, soc.now()));
    let opts = nic::ForwardOptions {
        fcs: args.fcs,
        pad: !args.no_pad,
        max_frame: args.max_frame,
        line_rate: args.line_rate,
    };
    nic::forward(
        soc,
        rx,
        capture,
        args.tx_pcap.as_deref(),
        &opts,
        workload,
        &mut report.header,
    )
}

const FORWARD_LABEL: &str = "io-forward";

/// The DMA layer of the IOMMU and NIC scenarios and the forward app: IOMMU on (strict), a
/// 16-entry fault queue.
fn scenario_dma() -> DmaConfig {
    DmaConfig {
        policy: IommuPolicy::On,
        fault_queue_entries: 16,
        ..DmaConfig::default()
    }
}

/// An IOVA no mapping covers: the fault scenario's source.
const UNMAPPED_IOVA: u32 = 0x7000_0000;
const IOMMU_LABEL: &str = "burst, IOMMU on (Sv32)";
const FAULT_LABEL: &str = "IOMMU fault";

/// The copy again with the IOMMU translating (`iommu=on`, strict), then a copy from an IOVA
/// that was never mapped.
fn iommu_scenario(
    soc: &mut Soc,
    mm: PageAllocator,
    layout: &Layout,
    source: &[u32],
    poison: &[u32],
    report: &mut Report,
) -> Result<Dma, Failure> {
    let dev = DeviceId::MEMCPY0;
    let mut dma = Dma::init(soc, mm, scenario_dma())?;
    dma.attach(soc, dev)?;
    let src = dma.try_map_single(soc, dev, layout.src, layout.len, DmaDirection::ToDevice)?;
    let dst = dma.try_map_single(soc, dev, layout.dst, layout.len, DmaDirection::FromDevice)?;
    report.header.push(format!(
        "IOMMU on: source IOVA {src} -> PA {:#010x}, destination IOVA {dst} -> PA {:#010x}",
        layout.src, layout.dst
    ));
    soc.run(GAP_CYCLES);
    soc.write_words(layout.dst, poison);
    arb::set_mode(soc, ArbMode::Burst { cap: 0 });
    arb::clear_counters(soc);
    dma.iommu().clear_counters(soc);
    soc.clear_observed();
    report.starts.push((IOMMU_LABEL, soc.now()));
    let mut dmac = Dmac::new();
    dmac.start(soc, src.0, dst.0, layout.len, true)
        .map_err(|e| format!("{IOMMU_LABEL}: {e}"))?;
    let outcome = dmac
        .wait(soc, Completion::Irq, layout.watchdog)
        .map_err(|e| format!("{IOMMU_LABEL}: {e}"))?;
    let observed = soc.observed();
    let counters = arb::read_counters(soc);
    let io = dma.iommu().read_counters(soc);
    verify(soc, IOMMU_LABEL, layout, source)?;
    report.runs.push(RunResult {
        label: IOMMU_LABEL,
        cycles: outcome.cycles,
        arb: counters,
        observed,
    });
    report.notes.push(format!(
        "IOMMU on: {} IOTLB hits, {} misses, {} walk cycles",
        io.iotlb_hits, io.iotlb_misses, io.walk_cycles
    ));

    soc.run(GAP_CYCLES);
    report.starts.push((FAULT_LABEL, soc.now()));
    match dmac.memcpy(soc, UNMAPPED_IOVA, dst.0, 64, Completion::Irq) {
        Err(DmacError::Transfer { cause, addr, .. })
            if cause == regs::dmac::Cause::IommuFault && addr == UNMAPPED_IOVA => {}
        other => {
            return Err(Failure(format!(
                "{FAULT_LABEL}: a copy from unmapped IOVA {UNMAPPED_IOVA:#x} should fail with an \
                 IOMMU fault, got {other:?}"
            )))
        }
    }
    let faults = dma.iommu_mut().read_faults(soc)?;
    let [f] = faults.as_slice() else {
        return Err(Failure(format!(
            "{FAULT_LABEL}: expected one fault record, found {}",
            faults.len()
        )));
    };
    if f.iova != UNMAPPED_IOVA || f.cause.code() != 13 {
        return Err(Failure(format!("{FAULT_LABEL}: unexpected record {f:?}")));
    }
    report.notes.push(format!(
        "IOMMU fault: copy from unmapped IOVA {UNMAPPED_IOVA:#010x} refused; fault record: \
         cause {} (read page fault), {}, {:?}, IOVA {:#010x}; DMAC STATUS.ERR with cause \
         IOMMU fault",
        f.cause.code(),
        f.device,
        f.access,
        f.iova
    ));
    Ok(dma)
}

/// Reads the destination back and compares it with the source byte for byte.
fn verify(soc: &mut Soc, label: &str, layout: &Layout, source: &[u32]) -> Result<(), Failure> {
    let mut got = vec![0u32; source.len()];
    soc.read_words(layout.dst, &mut got);
    let bytes = |w: &[u32]| -> Vec<u8> { w.iter().flat_map(|w| w.to_le_bytes()).collect() };
    let (want, got) = (bytes(source), bytes(&got));
    let bad: Vec<usize> = (0..want.len()).filter(|&k| want[k] != got[k]).collect();
    if let Some(&k) = bad.first() {
        return Err(Failure(format!(
            "{label}: copy is wrong: {} of {} bytes differ; first at offset {k} \
             (address {:#010x}): expected {:#04x}, read {:#04x}",
            bad.len(),
            want.len(),
            layout.dst + k as u32,
            want[k],
            got[k]
        )));
    }
    Ok(())
}

fn ratio(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

fn print_summary(report: &Report, args: &Args) {
    println!("dmanic-sim");
    for line in &report.header {
        println!("  {line}");
    }
    if let Some(b) = &report.baseline {
        println!(
            "  CPU alone: {:.3} work/cycle over {} cycles",
            ratio(b.cpu_work, b.total_cycles),
            b.total_cycles
        );
    }
    if report.runs.is_empty() {
        return;
    }
    let head = [
        "mode",
        "cycles",
        "DMA beats/cycle",
        "CPU stall cycles",
        "CPU worst wait",
        "DMA longest hold",
        "CPU work/cycle",
    ];
    let rows: Vec<[String; 7]> = report
        .runs
        .iter()
        .map(|r| {
            [
                r.label.to_string(),
                r.cycles.to_string(),
                format!("{:.3}", ratio(r.arb.dma_beats, r.cycles)),
                r.arb.cpu_stall_cycles.to_string(),
                r.arb.cpu_worst_wait.to_string(),
                r.arb.dma_longest_hold.to_string(),
                format!("{:.3}", ratio(r.observed.cpu_work, r.observed.total_cycles)),
            ]
        })
        .collect();
    let width: Vec<usize> = (0..head.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len())
                .fold(head[c].len(), usize::max)
        })
        .collect();
    let line = |cells: &[&str]| {
        let mut s = String::new();
        for (c, cell) in cells.iter().enumerate() {
            if c > 0 {
                s.push_str(" | ");
            }
            if c == 0 {
                let _ = write!(s, "{cell:<w$}", w = width[c]);
            } else {
                let _ = write!(s, "{cell:>w$}", w = width[c]);
            }
        }
        s
    };
    println!();
    println!("{}", line(&head));
    let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
    println!(
        "{}",
        line(&rule.iter().map(String::as_str).collect::<Vec<_>>())
    );
    for r in &rows {
        println!(
            "{}",
            line(&r.iter().map(String::as_str).collect::<Vec<_>>())
        );
    }
    println!();
    println!("  cycles: START write to interrupt seen; DMA beats/cycle = DMA_BEATS / cycles");
    println!("  CPU stall, worst wait, longest hold: arbiter counters (cleared before each start)");
    println!("  CPU work/cycle: workload instructions retired per cycle during the copy (harness)");
    if report.runs.len() == MODES.len() + 1 {
        println!(
            "  all {} copies verified byte for byte ({} bytes each)",
            report.runs.len(),
            args.bytes
        );
    }
    for n in &report.notes {
        println!("  {n}");
    }
}

// ---------------------------------------------------------------------------------------------
// Waveform: the GTKWave save files (testbench::waves), and the check that every signal they show is in
// the FST.

/// The NIC view: about 300 cycles across: the first frame's descriptor fetch and buffer read,
/// the frame on the PHY pins, and the RX side's buffer write and descriptor write-back.
const NIC_ZOOM: f64 = -9.2;
/// Cycles shown before the first copy's start when the file opens.
const LEAD_CYCLES: u64 = 20;
const WRITTEN_BY: &str = "dmanic-sim (testbench/src/bin/dmanic-sim.rs)";

fn absolute(p: &Path) -> Result<PathBuf, Failure> {
    std::path::absolute(p).map_err(|e| Failure(format!("{}: {e}", p.display())))
}

/// Writes the save file and the state-name filter, checks the names, prints where they are.
fn write_waves(
    out: &Path,
    stem: &str,
    fst: &Path,
    report: &Report,
    cycles: u64,
) -> Result<(), Failure> {
    let gtkw = out.join(format!("{stem}.gtkw"));
    let filters = waves::write_filters(out)?;
    let first = report.starts.first().map_or(0, |(_, c)| *c);
    let view = |first, zoom, top_group| waves::View {
        first,
        lead_cycles: LEAD_CYCLES,
        zoom,
        top_group,
        markers: &report.starts,
    };
    let write = |path: &Path, view: waves::View| -> Result<(), Failure> {
        let text = waves::save_file(
            &absolute(fst)?,
            &absolute(path)?,
            &filters,
            &view,
            WRITTEN_BY,
        );
        std::fs::write(path, text).map_err(|e| Failure(format!("{}: {e}", path.display())))
    };
    write(&gtkw, view(first, waves::ZOOM, None))?;
    // A second save file that opens where the IOMMU refuses the unmapped access.
    let fault_gtkw = out.join(FAULT_GTKW);
    if let Some((_, at)) = report.starts.iter().find(|(l, _)| *l == FAULT_LABEL) {
        write(&fault_gtkw, view(*at, waves::ZOOM, None))?;
    }
    // And one that opens at the NIC's first descriptor fetch.
    let nic_gtkw = out.join(NIC_GTKW);
    if let Some(at) = &report.nic_view_at {
        write(&nic_gtkw, view(*at, NIC_ZOOM, Some("NIC")))?;
    }

    let check = waves::check_names(fst);
    println!();
    println!(
        "waveform:  {} ({cycles} cycles of {} ns, {:.1} µs; cycle c starts with the clock's \
         rising edge at c × {} ns)",
        fst.display(),
        sim::CYCLE_NS,
        (cycles * sim::CYCLE_NS) as f64 / 1000.0,
        sim::CYCLE_NS
    );
    println!("save file: {}", gtkw.display());
    let markers: Vec<String> = report
        .starts
        .iter()
        .zip('A'..='Z')
        .map(|((label, _), id)| format!("{id} = {label}"))
        .collect();
    if !markers.is_empty() {
        println!(
            "           named markers where each run starts: {}",
            markers.join("; ")
        );
    }
    match &check {
        Ok(Some(n)) => {
            println!("           each of its {n} signals matches one FST variable (fst2vcd)")
        }
        Ok(None) => println!("           (signal names not checked: fst2vcd not found)"),
        Err(_) => {}
    }
    if stem == "sim" {
        println!("open with: gtkwave {}   (or: make waves)", gtkw.display());
    } else {
        println!("open with: gtkwave {}", gtkw.display());
    }
    if report.starts.iter().any(|(l, _)| *l == FAULT_LABEL) {
        println!(
            "           gtkwave {} opens at the IOMMU fault (walk, fault record, error)",
            fault_gtkw.display()
        );
    }
    if report.nic_view_at.is_some() {
        println!(
            "           gtkwave {} opens at the NIC loopback (descriptor fetch, frame on the \
             PHY pins, write-back)",
            nic_gtkw.display()
        );
    }
    check.map(|_| ()).map_err(Failure)
}
