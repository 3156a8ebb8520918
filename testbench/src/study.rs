//! The arbitration study: one memcpy per (arbitration mode, CPU bus load, transfer size), all on
//! the Verilator model with the real driver, measured from the observation pins.
//!
//! `make study` runs it and writes `reports/arbitration.json`, `reports/arbitration.md` and
//! `reports/arbitration.svg`; `make bench` checks the numbered requirements on it.

use crate::cpu_load;
use driver::arb::{self, ArbMode};
use driver::dma::{DmaConfig, DmaDirection, Invalidation, IommuPolicy};
use driver::dmac::{Completion, Dmac};
use driver::iommu::DeviceId;
use serde::Serialize;
use sim::Soc;

/// An arbitration setting as the study and the bench name it on the command line: `burst`
/// (uncapped), `burst:N` (at most N beats per grant), `steal:N` (cycle stealing, the CPU waits
/// at most N cycles) or `transparent` (cycle stealing without a bound).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode(pub ArbMode);

impl Mode {
    pub const BURST_UNCAPPED: Mode = Mode(ArbMode::Burst { cap: 0 });
    pub const BURST_CAP16: Mode = Mode(ArbMode::Burst { cap: 16 });
    pub const CYCLE_STEAL8: Mode = Mode(ArbMode::CycleSteal { bound: Some(8) });
    pub const TRANSPARENT: Mode = Mode(ArbMode::CycleSteal { bound: None });
    /// The modes `make study` compares.
    pub const ALL: [Mode; 4] = [
        Mode::BURST_UNCAPPED,
        Mode::BURST_CAP16,
        Mode::CYCLE_STEAL8,
        Mode::TRANSPARENT,
    ];

    pub fn arb(self) -> ArbMode {
        self.0
    }

    /// For tables: "burst, cap 16".
    pub fn label(self) -> String {
        crate::nic_bench::mode_label(self.0)
    }

    /// As on the command line: "burst:16".
    pub fn spec(self) -> String {
        match self.0 {
            ArbMode::Burst { cap: 0 } => "burst".into(),
            ArbMode::Burst { cap } => format!("burst:{cap}"),
            ArbMode::CycleSteal { bound: Some(b) } => format!("steal:{b}"),
            ArbMode::CycleSteal { bound: None } => "transparent".into(),
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let number = |n: &str, what: &str| {
            n.parse::<u32>()
                .ok()
                .filter(|&v| v > 0 && v != regs::arb::STEAL_NEVER)
                .ok_or_else(|| format!("{s}: {what} must be a number from 1 to {}", u32::MAX - 1))
        };
        match s.split_once(':') {
            None if s == "burst" => Ok(Mode(ArbMode::Burst { cap: 0 })),
            None if s == "transparent" => Ok(Mode(ArbMode::CycleSteal { bound: None })),
            Some(("burst", n)) => Ok(Mode(ArbMode::Burst {
                cap: number(n, "the cap")?,
            })),
            Some(("steal", n)) => Ok(Mode(ArbMode::CycleSteal {
                bound: Some(number(n, "the bound")?),
            })),
            _ => Err(format!(
                "{s}: not an arbitration mode (burst, burst:N, steal:N, transparent)"
            )),
        }
    }
}

impl Serialize for Mode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.spec())
    }
}

pub const LOADS_PCT: [u32; 5] = [0, 25, 50, 75, 90];
pub const SIZES: [u32; 3] = [256, 4096, 65536];
const SRC: u32 = 0x1_0000;
const DST: u32 = 0x4_0000;
/// Cycle budget for one transfer: far above the slowest case (transparent mode at 90 % load).
const BUDGET: u64 = 5_000_000;

/// One measured transfer.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub mode: Mode,
    pub mode_label: String,
    pub cpu_load_pct: u32,
    pub bytes: u32,
    /// Cycles from the START write to the interrupt.
    pub dma_cycles: u64,
    /// Words copied per cycle (a word is one read and one write beat).
    pub dma_words_per_cycle: f64,
    /// DMA bus beats per cycle (reads and writes; 1.0 = the bus is the DMA's every cycle).
    pub dma_beats_per_cycle: f64,
    pub cpu_req_cycles: u64,
    pub cpu_stall_cycles: u64,
    pub cpu_worst_wait: u64,
    pub dma_longest_hold: u64,
    /// Instructions the CPU retired during the transfer.
    pub cpu_work: u64,
    /// Instructions per cycle (1.0 = never slowed down).
    pub cpu_work_per_cycle: f64,
}

/// Runs one transfer on `soc` (without IOMMU, physical addresses) and measures it.
pub fn measure(soc: &mut Soc, mode: Mode, load_pct: u32, bytes: u32, seed: u32) -> Row {
    measure_at(soc, mode, load_pct, (SRC, DST), bytes, seed)
}

/// Runs one transfer from `addrs.0` to `addrs.1` (the channel's DMA addresses) and measures it.
pub fn measure_at(
    soc: &mut Soc,
    mode: Mode,
    load_pct: u32,
    addrs: (u32, u32),
    bytes: u32,
    seed: u32,
) -> Row {
    arb::set_mode(soc, mode.arb());
    soc.set_cpu_workload(cpu_load(load_pct, seed));
    let mut dmac = Dmac::new();
    dmac.start(soc, addrs.0, addrs.1, bytes, true)
        .expect("start");
    soc.clear_observed();
    assert!(
        soc.run_until_irq(BUDGET),
        "{} at {load_pct} % load, {bytes} B: no interrupt within {BUDGET} cycles ({})",
        mode.label(),
        driver::Device::describe_state(soc)
    );
    let obs = soc.observed();
    soc.set_cpu_workload(cpu_load(0, 0));
    let outcome = dmac.wait(soc, Completion::Irq, 1).expect("memcpy result");
    assert_eq!(outcome.bytes, bytes);
    let cycles = obs.total_cycles;
    Row {
        mode,
        mode_label: mode.label(),
        cpu_load_pct: load_pct,
        bytes,
        dma_cycles: cycles,
        dma_words_per_cycle: (bytes / 4) as f64 / cycles as f64,
        dma_beats_per_cycle: obs.dma_beats as f64 / cycles as f64,
        cpu_req_cycles: obs.cpu_req_cycles,
        cpu_stall_cycles: obs.cpu_stall_cycles,
        cpu_worst_wait: obs.cpu_worst_wait,
        dma_longest_hold: obs.dma_longest_hold,
        cpu_work: obs.cpu_work,
        cpu_work_per_cycle: obs.cpu_work as f64 / cycles as f64,
    }
}

/// PIO (the CPU copies) against DMA for one transfer size, CPU otherwise idle.
#[derive(Clone, Debug, Serialize)]
pub struct PioVsDma {
    pub bytes: u32,
    /// Cycles the CPU is busy with the copy: the whole copy for PIO; programming the channel
    /// and handling its completion for DMA (not the wait, during which the CPU is free).
    pub pio_cpu_cycles_per_kib: f64,
    pub dma_cpu_cycles_per_kib: f64,
    /// Cycles the CPU spends on the RAM bus.
    pub pio_cpu_bus_cycles_per_kib: f64,
    pub dma_cpu_bus_cycles_per_kib: f64,
    /// Cycles until the data is copied.
    pub pio_cycles: u64,
    pub dma_cycles: u64,
}

/// PIO from `pa.0` to `pa.1` against a DMA copy from `dma.0` to `dma.1` (the same buffers
/// as the channel addresses them).
pub fn pio_vs_dma(soc: &mut Soc, pa: (u32, u32), dma: (u32, u32), bytes: u32) -> PioVsDma {
    let kib = bytes as f64 / 1024.0;
    arb::set_mode(soc, ArbMode::Burst { cap: 0 });
    soc.set_cpu_workload(cpu_load(0, 0));

    soc.clear_observed();
    let pio_cycles = driver::pio::copy(soc, pa.0, pa.1, bytes).expect("pio copy");
    let pio = soc.observed();

    let mut dmac = Dmac::new();
    soc.clear_observed();
    let t0 = soc.now();
    dmac.start(soc, dma.0, dma.1, bytes, true).expect("start");
    let programming = soc.now() - t0;
    assert!(soc.run_until_irq(BUDGET));
    let t1 = soc.now();
    dmac.wait(soc, Completion::Irq, 1).expect("memcpy");
    let completion = soc.now() - t1;
    let dma = soc.observed();
    PioVsDma {
        bytes,
        pio_cpu_cycles_per_kib: pio_cycles as f64 / kib,
        dma_cpu_cycles_per_kib: (programming + completion) as f64 / kib,
        pio_cpu_bus_cycles_per_kib: pio.cpu_req_cycles as f64 / kib,
        dma_cpu_bus_cycles_per_kib: dma.cpu_req_cycles as f64 / kib,
        pio_cycles,
        dma_cycles: t1 - t0,
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Study {
    pub rows: Vec<Row>,
    pub pio_vs_dma: Vec<PioVsDma>,
}

/// What a study run varies (`study --help`).
#[derive(Clone, Debug)]
pub struct StudyConfig {
    pub modes: Vec<Mode>,
    pub sizes: Vec<u32>,
    pub loads: Vec<u32>,
    /// The IOMMU policy for the memcpy channel (`iommu=off|pt|on`).
    pub policy: IommuPolicy,
    pub invalidation: Invalidation,
}

impl Default for StudyConfig {
    /// `make study`'s: every mode, 256 B to 64 KiB, loads 0 to 90 %, IOMMU off.
    fn default() -> Self {
        StudyConfig {
            modes: Mode::ALL.to_vec(),
            sizes: SIZES.to_vec(),
            loads: LOADS_PCT.to_vec(),
            policy: IommuPolicy::Off,
            invalidation: Invalidation::Strict,
        }
    }
}

impl StudyConfig {
    /// Transfers [`run`] measures (the PIO comparison adds one per size).
    pub fn transfers(&self) -> usize {
        self.modes.len() * self.sizes.len() * self.loads.len()
    }
}

/// The whole study: every (size, mode, load) of `cfg`, then the PIO comparison per size;
/// `step` is called after each transfer (a progress bar).
pub fn run(cfg: &StudyConfig, step: &mut dyn FnMut()) -> Study {
    let (mut soc, mut dma) = crate::soc_with_dma(DmaConfig {
        policy: cfg.policy,
        invalidation: cfg.invalidation,
        ..DmaConfig::default()
    });
    let dev = DeviceId::MEMCPY0;
    dma.attach(&mut soc, dev)
        .expect("attach the memcpy channel");
    let most = cfg.sizes.iter().copied().max().unwrap_or(4);
    let src = dma.mm_mut().alloc_bytes(most).expect("source buffer");
    let dst = dma.mm_mut().alloc_bytes(most).expect("destination buffer");
    let mut rows = vec![];
    let mut pio = vec![];
    for &bytes in &cfg.sizes {
        let s = dma.map_single(&mut soc, dev, src, bytes, DmaDirection::ToDevice);
        let d = dma.map_single(&mut soc, dev, dst, bytes, DmaDirection::FromDevice);
        for &mode in &cfg.modes {
            for &load in &cfg.loads {
                rows.push(measure_at(
                    &mut soc,
                    mode,
                    load,
                    (s.0, d.0),
                    bytes,
                    0x5EED + load,
                ));
                step();
            }
        }
        pio.push(pio_vs_dma(&mut soc, (src, dst), (s.0, d.0), bytes));
        dma.unmap_single(&mut soc, dev, s, bytes, DmaDirection::ToDevice)
            .expect("unmap the source");
        dma.unmap_single(&mut soc, dev, d, bytes, DmaDirection::FromDevice)
            .expect("unmap the destination");
    }
    Study {
        rows,
        pio_vs_dma: pio,
    }
}

/// The numbered requirements of the arbitration study; each failure is one message.
pub fn check_requirements(study: &Study) -> Vec<String> {
    let mut failures = vec![];
    for r in &study.rows {
        if r.mode == Mode::BURST_UNCAPPED
            && r.cpu_load_pct == 0
            && r.bytes >= 1024
            && r.dma_beats_per_cycle < 0.97
        {
            failures.push(format!(
                "burst uncapped, CPU idle, {} B: {:.4} bus beats/cycle < 0.97",
                r.bytes, r.dma_beats_per_cycle
            ));
        }
        if let ArbMode::CycleSteal { bound: Some(b) } = r.mode.arb() {
            if r.cpu_worst_wait > u64::from(b) + 1 {
                failures.push(format!(
                    "cycle steal bound {b} at {} % load, {} B: CPU waited {} cycles > {}",
                    r.cpu_load_pct,
                    r.bytes,
                    r.cpu_worst_wait,
                    b + 1
                ));
            }
        }
        if let ArbMode::Burst { cap } = r.mode.arb() {
            if cap > 0 && r.dma_longest_hold > u64::from(cap) {
                failures.push(format!(
                    "burst cap {cap} at {} % load, {} B: DMA held the bus {} beats",
                    r.cpu_load_pct, r.bytes, r.dma_longest_hold
                ));
            }
        }
    }
    failures
}

/// The study as Markdown tables (one per transfer size).
pub fn markdown(study: &Study, sizes: &[u32]) -> String {
    let mut s = String::new();
    for &bytes in sizes {
        s += &format!("\n**{} transfer**\n\n", human_bytes(bytes));
        s += "| mode | CPU load | DMA cycles | DMA words/cycle | DMA beats/cycle | CPU stall cycles | CPU worst wait | CPU work/cycle |\n";
        s += "|---|---:|---:|---:|---:|---:|---:|---:|\n";
        for r in study.rows.iter().filter(|r| r.bytes == bytes) {
            s += &format!(
                "| {} | {} % | {} | {:.3} | {:.3} | {} | {} | {:.3} |\n",
                r.mode_label,
                r.cpu_load_pct,
                r.dma_cycles,
                r.dma_words_per_cycle,
                r.dma_beats_per_cycle,
                r.cpu_stall_cycles,
                r.cpu_worst_wait,
                r.cpu_work_per_cycle
            );
        }
    }
    s += "\n**PIO vs DMA** (CPU otherwise idle, burst mode)\n\n";
    s += "| size | PIO: CPU cycles/KiB | DMA: CPU cycles/KiB | PIO: CPU RAM-bus cycles/KiB | DMA: CPU RAM-bus cycles/KiB | PIO copy cycles | DMA copy cycles |\n";
    s += "|---:|---:|---:|---:|---:|---:|---:|\n";
    for p in &study.pio_vs_dma {
        s += &format!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} |\n",
            human_bytes(p.bytes),
            p.pio_cpu_cycles_per_kib,
            p.dma_cpu_cycles_per_kib,
            p.pio_cpu_bus_cycles_per_kib,
            p.dma_cpu_bus_cycles_per_kib,
            p.pio_cycles,
            p.dma_cycles
        );
    }
    s
}

pub fn human_bytes(b: u32) -> String {
    if b >= 1024 && b.is_multiple_of(1024) {
        format!("{} KiB", b / 1024)
    } else {
        format!("{b} B")
    }
}

/// The key trade-off as an SVG: DMA throughput and the CPU's work rate against CPU bus load,
/// one line per mode, for one transfer size.
pub fn svg(study: &Study, bytes: u32) -> Result<String, String> {
    use plotters::prelude::*;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (900, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (left, right) = root.split_horizontally(450);
        let colors = [RED, BLUE, GREEN, MAGENTA];
        for (area, title, pick) in [
            (&left, "DMA bus beats per cycle", 0),
            (&right, "CPU instructions per cycle", 1),
        ] {
            let mut chart = ChartBuilder::on(area)
                .caption(
                    format!("{title} ({})", human_bytes(bytes)),
                    ("sans-serif", 16),
                )
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(44)
                .build_cartesian_2d(0u32..100u32, 0f64..1.05f64)
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .x_desc("CPU bus load (%)")
                .draw()
                .map_err(|e| e.to_string())?;
            let mut modes: Vec<Mode> = vec![];
            for r in &study.rows {
                if !modes.contains(&r.mode) {
                    modes.push(r.mode);
                }
            }
            for (mode, color) in modes.iter().zip(colors.iter().cycle()) {
                let points: Vec<(u32, f64)> = study
                    .rows
                    .iter()
                    .filter(|r| r.bytes == bytes && r.mode == *mode)
                    .map(|r| {
                        let y = if pick == 0 {
                            r.dma_beats_per_cycle
                        } else {
                            r.cpu_work_per_cycle
                        };
                        (r.cpu_load_pct, y)
                    })
                    .collect();
                chart
                    .draw_series(LineSeries::new(points, color.stroke_width(2)))
                    .map_err(|e| e.to_string())?
                    .label(mode.label())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .position(SeriesLabelPosition::LowerLeft)
                .draw()
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn modes_parse_from_and_print_as_their_command_line_names() {
        for (spec, mode, label) in [
            ("burst", Mode::BURST_UNCAPPED, "burst, uncapped"),
            ("burst:16", Mode::BURST_CAP16, "burst, cap 16"),
            ("steal:8", Mode::CYCLE_STEAL8, "cycle steal, bound 8"),
            ("transparent", Mode::TRANSPARENT, "transparent"),
        ] {
            assert_eq!(spec.parse::<Mode>(), Ok(mode));
            assert_eq!(
                (mode.spec(), mode.label()),
                (spec.to_owned(), label.to_owned())
            );
        }
        for bad in [
            "",
            "burst:0",
            "steal:",
            "steal:4294967295",
            "steal",
            "burst:x",
            "fast",
        ] {
            assert!(bad.parse::<Mode>().is_err(), "{bad:?}");
        }
    }
}
