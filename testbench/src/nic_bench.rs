//! The NIC at line rate: how fast the ring engines, the IOMMU and the bus keep the MAC fed.
//!
//! One run: the driver opens the NIC in MAC loopback with the IOMMU translating it, queues `n`
//! frames on the TX ring while TX is still disabled (so the ring holds them all) with the RX
//! ring full of buffers, sets the arbitration mode and starts the synthetic CPU at the given
//! bus load, then enables TX. From then on the hardware runs alone: the only host traffic is
//! the interrupt handler acknowledging ICR. The run holds **line rate** when every frame after
//! the first leaves the TX pins exactly one inter-frame gap (12 bytes) after the previous one,
//! so the MAC never waited for the TX engine, and RX drops nothing (MPC = 0, every frame back
//! byte for byte). Because TX and RX run at once in loopback, that is line rate in both
//! directions: one byte per clock each way.
//!
//! The driver cannot clean and refill rings at 64-byte line rate in this model (its every
//! register and RAM access is a real bus cycle of the host port), so the rings are posted in
//! advance: this measures the hardware, as a NIC datasheet's line-rate figure does.

use crate::frames::FrameGen;
use crate::phy::{self, TxSample};
use crate::{cpu_load, soc_with_dma};
use driver::arb::{self, ArbMode};
use driver::dma::DmaConfig;
use driver::iommu::DeviceId;
use driver::nic::{Nic, NicConfig};
use driver::Device;
use rand::SeedableRng;
use regs::nic as hw;
use regs::{block, csr};
use serde::Serialize;

/// Frame lengths on the wire, FCS included.
pub const FRAME_LENS: [usize; 2] = [64, 1518];
/// Frames per run: long enough that the first frame's start-up is a small part.
pub fn frames_for(len: usize) -> usize {
    if len <= 256 {
        120
    } else {
        40
    }
}
/// The line-rate benchmark's settings (the issue's): burst mode, CPU at 50 % bus load.
pub const BENCH_MODE: ArbMode = ArbMode::Burst { cap: 0 };
pub const BENCH_CPU_LOAD: u32 = 50;
/// ITR used for the interrupts-per-frame figure: 8000 interrupts/s at 125 MHz
/// (125e6 / 8000 / 32 cycles per unit), Linux e1000's default `InterruptThrottleRate`.
pub const BENCH_ITR: u32 = 488;
const BUDGET_CYCLES: u64 = 2_000_000;

/// One measured run.
#[derive(Clone, Debug, Serialize)]
pub struct LineRateRun {
    pub mode: String,
    pub cpu_load_pct: u32,
    pub frame_bytes: usize,
    pub frames: usize,
    /// From the first preamble byte to the last FCS byte on the TX pins.
    pub cycles: u64,
    /// The same at line rate: n · (8 + len) + (n - 1) · 12.
    pub line_rate_cycles: u64,
    /// Largest gap between two frames on the TX pins, in bytes.
    pub max_gap: u64,
    pub frames_received: usize,
    pub missed: u64,
    pub rx_no_buffer: u64,
    /// Every gap was the minimum and nothing was dropped.
    pub line_rate_held: bool,
    /// Frames per second per MHz of clock (frames per cycle × 10^6).
    pub frames_per_s_per_mhz: f64,
    pub line_rate_frames_per_s_per_mhz: f64,
    /// Bus beats (DMA and CPU) per cycle during the run.
    pub bus_utilisation: f64,
    pub dma_beats_per_cycle: f64,
    pub cpu_beats_per_cycle: f64,
    pub cpu_worst_wait: u64,
    pub interrupts_per_frame: f64,
    pub iotlb_hit_rate: f64,
    pub iotlb_misses: u64,
}

pub fn mode_label(m: ArbMode) -> String {
    match m {
        ArbMode::Burst { cap: 0 } => "burst, uncapped".into(),
        ArbMode::Burst { cap } => format!("burst, cap {cap}"),
        ArbMode::CycleSteal { bound: Some(b) } => format!("cycle steal, bound {b}"),
        ArbMode::CycleSteal { bound: None } => "transparent".into(),
    }
}

fn line_rate_cycles(n: usize, len: usize) -> u64 {
    let n = n as u64;
    let len = len as u64;
    n * (hw::PREAMBLE_BYTES as u64 + len) + (n - 1) * hw::MIN_IFG_BYTES as u64
}

/// One run as described in the module documentation, with the IOMMU on (strict).
pub fn run(mode: ArbMode, load_pct: u32, frame_bytes: usize, n: usize, itr: u32) -> LineRateRun {
    run_with(DmaConfig::default(), mode, load_pct, frame_bytes, n, itr)
}

/// [`run`] with the DMA layer set up as `dma_cfg` says (IOMMU policy, invalidation).
pub fn run_with(
    dma_cfg: DmaConfig,
    mode: ArbMode,
    load_pct: u32,
    frame_bytes: usize,
    n: usize,
    itr: u32,
) -> LineRateRun {
    let (mut soc, mut dma) = soc_with_dma(dma_cfg);
    let ring = |k: usize| (k + 1).div_ceil(8) * 8;
    let cfg = NicConfig {
        loopback: true,
        tx_descriptors: ring(n),
        rx_descriptors: ring(n),
        rx_buffer_bytes: if frame_bytes <= 256 { 256 } else { 2048 },
        itr,
        ..NicConfig::default()
    };
    let mut nic = Nic::open(&mut soc, &mut dma, cfg).expect("open");
    let tctl = csr(block::NIC, hw::TCTL);
    let tx_on = soc.read32(tctl);
    soc.write32(tctl, tx_on & !hw::tctl::EN);
    let mut gen = FrameGen::new(rand::rngs::StdRng::seed_from_u64(frame_bytes as u64));
    let frames: Vec<Vec<u8>> = (0..n)
        .map(|_| gen.frame(frame_bytes - hw::FCS_BYTES as usize))
        .collect();
    for f in &frames {
        nic.xmit(&mut soc, &mut dma, f).expect("queue a frame");
    }
    // Start from clean counters, with the CPU loading the bus.
    let _ = nic.stats(&mut soc);
    arb::set_mode(&mut soc, mode);
    dma.iommu().clear_counters(&mut soc);
    soc.set_cpu_workload(cpu_load(load_pct, 7));
    soc.run(500);
    arb::clear_counters(&mut soc);
    soc.clear_observed();
    soc.set_phy_tx_log(true);
    soc.write32(tctl, tx_on);
    let start = soc.now();
    let rdh = csr(block::NIC, hw::RDH);
    let icr = csr(block::NIC, hw::ICR);
    let target = (n % ring(n)) as u32;
    loop {
        assert!(
            soc.now() - start < BUDGET_CYCLES,
            "line-rate run stuck: {}",
            soc.describe_state()
        );
        if soc.wait_irq(1_000) {
            soc.read32(icr);
        }
        if soc.read32(rdh) == target && soc.phy_rx_pending() == 0 {
            break;
        }
    }
    soc.run(200);
    let observed = soc.observed();
    let arb_hw = arb::read_counters(&mut soc);
    let io = dma.iommu().read_counters(&mut soc);
    let samples: Vec<TxSample> = soc
        .take_phy_tx_log()
        .into_iter()
        .map(|s| TxSample {
            cycle: s.cycle,
            data: s.data,
            en: s.en,
            er: s.er,
        })
        .collect();
    let seen = phy::decode_tx(&samples).expect("TX pins");
    phy::check_tx(&seen, hw::MIN_IFG_BYTES as u64).expect("TX framing");
    soc.set_cpu_workload(cpu_load(0, 0));
    let mut got = vec![];
    for _ in 0..8 {
        let r = nic.poll(&mut soc, &mut dma, n);
        got.extend(r.frames);
        if got.len() >= n {
            break;
        }
    }
    let stats = nic.stats(&mut soc);
    let received = got
        .iter()
        .zip(&frames)
        .filter(|(g, f)| g.is_good() && g.data == **f)
        .count();
    nic.close(&mut soc, &mut dma).expect("close");
    assert!(dma.live_mappings(DeviceId::NIC).is_empty());

    let cycles = match (seen.first(), seen.last()) {
        (Some(a), Some(b)) => b.end_cycle + 1 - a.start_cycle,
        _ => 0,
    };
    let max_gap = seen.iter().filter_map(|s| s.gap_before).max().unwrap_or(0);
    let ideal = line_rate_cycles(n, frame_bytes);
    let held = seen.len() == n
        && max_gap == hw::MIN_IFG_BYTES as u64
        && received == n
        && stats.hw.missed == 0;
    let per_mhz = |c: u64| {
        if c == 0 {
            0.0
        } else {
            n as f64 * 1e6 / c as f64
        }
    };
    let total = observed.total_cycles.max(1) as f64;
    let cpu_beats = (observed.cpu_req_cycles - observed.cpu_stall_cycles) as f64;
    let hits = io.iotlb_hits as f64;
    LineRateRun {
        mode: mode_label(mode),
        cpu_load_pct: load_pct,
        frame_bytes,
        frames: n,
        cycles,
        line_rate_cycles: ideal,
        max_gap,
        frames_received: received,
        missed: stats.hw.missed,
        rx_no_buffer: stats.hw.rx_no_buffer,
        line_rate_held: held,
        frames_per_s_per_mhz: per_mhz(cycles),
        line_rate_frames_per_s_per_mhz: per_mhz(ideal),
        bus_utilisation: (arb_hw.dma_beats as f64 + cpu_beats) / total,
        dma_beats_per_cycle: arb_hw.dma_beats as f64 / total,
        cpu_beats_per_cycle: cpu_beats / total,
        cpu_worst_wait: arb_hw.cpu_worst_wait,
        interrupts_per_frame: stats.hw.irqs as f64 / n as f64,
        iotlb_hit_rate: if hits + io.iotlb_misses as f64 == 0.0 {
            0.0
        } else {
            hits / (hits + io.iotlb_misses as f64)
        },
        iotlb_misses: io.iotlb_misses,
    }
}

/// `make bench`'s NIC part: both frame sizes at the settings.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub runs: Vec<LineRateRun>,
    pub failures: Vec<String>,
}

pub fn bench() -> BenchReport {
    let runs: Vec<LineRateRun> = FRAME_LENS
        .iter()
        .map(|&len| run(BENCH_MODE, BENCH_CPU_LOAD, len, frames_for(len), BENCH_ITR))
        .collect();
    let failures = runs
        .iter()
        .filter(|r| !r.line_rate_held)
        .map(|r| {
            format!(
                "{}-byte frames: line rate not held (largest gap {} bytes, {} of {} frames back, {} missed)",
                r.frame_bytes, r.max_gap, r.frames_received, r.frames, r.missed
            )
        })
        .collect();
    BenchReport { runs, failures }
}

pub fn bench_markdown(r: &BenchReport) -> String {
    let mut s = String::from(
        "NIC line rate, MAC loopback (TX and RX at once), IOMMU on (Sv32), burst mode, CPU at \
         50 % bus load, ITR 488 (8000 interrupts/s at 125 MHz); rings posted before TX starts \
         (`cargo run --release -p testbench --bin nic-bench`):\n\n\
         | frame (bytes, FCS incl.) | frames | line rate held | frames/s per MHz | at line rate | largest gap (bytes) | missed | bus utilisation | DMA beats/cycle | CPU beats/cycle | interrupts/frame | IOTLB hit rate |\n\
         |---:|---:|:---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for x in &r.runs {
        s.push_str(&format!(
            "| {} | {} | {} | {:.0} | {:.0} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
            x.frame_bytes,
            x.frames,
            if x.line_rate_held { "yes" } else { "**no**" },
            x.frames_per_s_per_mhz,
            x.line_rate_frames_per_s_per_mhz,
            x.max_gap,
            x.missed,
            x.bus_utilisation,
            x.dma_beats_per_cycle,
            x.cpu_beats_per_cycle,
            x.interrupts_per_frame,
            x.iotlb_hit_rate
        ));
    }
    s.push_str(
        "\nframes/s per MHz: frames per clock cycle × 10^6 (at 125 MHz multiply by 125). Line \
         rate: one byte per clock, 8 bytes of preamble and SFD, a 12-byte gap.\n",
    );
    s
}

/// The arbitration study's NIC run: for each mode and frame size, the highest CPU load at
/// which line rate holds.
#[derive(Clone, Debug, Serialize)]
pub struct StudyRow {
    pub mode: String,
    pub frame_bytes: usize,
    /// The highest load (of [`STUDY_LOADS`]) up to which line rate held at every load, if any.
    pub highest_load_pct: Option<u32>,
    pub runs: Vec<LineRateRun>,
}

pub const STUDY_LOADS: [u32; 10] = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90];
pub const STUDY_MODES: [ArbMode; 2] = [
    ArbMode::Burst { cap: 0 },
    ArbMode::CycleSteal { bound: Some(8) },
];

/// What the NIC study varies (`study --help`).
#[derive(Clone, Debug)]
pub struct NicStudyConfig {
    pub modes: Vec<ArbMode>,
    /// Frame lengths with FCS.
    pub frame_lens: Vec<usize>,
    pub loads: Vec<u32>,
    /// ITR (interrupt moderation interval, register units).
    pub itr: u32,
    pub dma: DmaConfig,
}

impl Default for NicStudyConfig {
    /// `make study`'s: burst and cycle stealing (bound 8), 64 and 1518 bytes, loads 0 to 90 %,
    /// no ITR, IOMMU on (strict).
    fn default() -> Self {
        NicStudyConfig {
            modes: STUDY_MODES.to_vec(),
            frame_lens: FRAME_LENS.to_vec(),
            loads: STUDY_LOADS.to_vec(),
            itr: 0,
            dma: DmaConfig::default(),
        }
    }
}

impl NicStudyConfig {
    /// Line-rate runs [`study`] makes.
    pub fn runs(&self) -> usize {
        self.modes.len() * self.frame_lens.len() * self.loads.len()
    }
}

/// The highest CPU load at which line rate holds, per mode and frame length of `cfg`; `step`
/// is called after each run (a progress bar).
pub fn study(cfg: &NicStudyConfig, step: &mut dyn FnMut()) -> Vec<StudyRow> {
    let mut rows = vec![];
    for &mode in &cfg.modes {
        for &len in &cfg.frame_lens {
            let runs: Vec<LineRateRun> = cfg
                .loads
                .iter()
                .map(|&l| {
                    let r = run_with(cfg.dma, mode, l, len, frames_for(len) / 2, cfg.itr);
                    step();
                    r
                })
                .collect();
            let highest_load_pct = runs
                .iter()
                .take_while(|r| r.line_rate_held)
                .map(|r| r.cpu_load_pct)
                .last();
            rows.push(StudyRow {
                mode: mode_label(mode),
                frame_bytes: len,
                highest_load_pct,
                runs,
            });
        }
    }
    rows
}

/// The study's table; the heading says how `cfg` set the NIC up.
pub fn study_markdown(rows: &[StudyRow], cfg: &NicStudyConfig) -> String {
    let policy = match cfg.dma.policy {
        driver::dma::IommuPolicy::Off => "IOMMU off",
        driver::dma::IommuPolicy::Pt => "IOMMU passthrough",
        driver::dma::IommuPolicy::On => "IOMMU on",
    };
    let lazy = match cfg.dma.invalidation {
        driver::dma::Invalidation::Strict => "",
        driver::dma::Invalidation::Lazy { .. } => ", lazy",
    };
    let itr = if cfg.itr == 0 {
        String::new()
    } else {
        format!(", ITR {}", cfg.itr)
    };
    let mut s = format!(
        "NIC under CPU bus load: the highest load at which TX and RX both keep line rate (MAC \
         loopback, {policy}{lazy}{itr}; `cargo run --release -p testbench --bin study`). Each \
         cell: largest TX gap in bytes (12 = line rate) / missed RX frames.\n\n| mode | frame \
         (bytes) | highest load at line rate |",
    );
    let loads: Vec<u32> = rows
        .first()
        .map(|r| r.runs.iter().map(|x| x.cpu_load_pct).collect())
        .unwrap_or_default();
    for l in &loads {
        s.push_str(&format!(" {l} % |"));
    }
    s.push_str("\n|---|---:|---:|");
    for _ in &loads {
        s.push_str("---:|");
    }
    s.push('\n');
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} |",
            r.mode,
            r.frame_bytes,
            r.highest_load_pct
                .map_or("none".to_string(), |l| format!("{l} %"))
        ));
        for x in &r.runs {
            s.push_str(&format!(" {} / {} |", x.max_gap, x.missed));
        }
        s.push('\n');
    }
    s
}

/// For tests: a run through the line-rate check without the report.
pub fn holds_line_rate(mode: ArbMode, load_pct: u32, frame_bytes: usize, n: usize) -> bool {
    run(mode, load_pct, frame_bytes, n, 0).line_rate_held
}
