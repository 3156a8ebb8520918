//! The arbitration study: one memcpy per (arbitration mode, CPU bus load, transfer size), all on
//! the Verilator model with the real driver, measured from the observation pins.
//!
//! `make study` runs it and writes `reports/arbitration.json`, `reports/arbitration.md` and
//! `reports/arbitration.svg`; `make bench` checks the numbered requirements on it.

use crate::{cpu_load, new_soc};
use driver::arb::{self, ArbMode};
use driver::dmac::{Completion, Dmac};
use serde::Serialize;
use sim::Soc;

/// The arbitration settings the study compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Mode {
    BurstUncapped,
    BurstCap16,
    CycleSteal8,
    Transparent,
}

impl Mode {
    pub const ALL: [Mode; 4] = [
        Mode::BurstUncapped,
        Mode::BurstCap16,
        Mode::CycleSteal8,
        Mode::Transparent,
    ];

    pub fn arb(self) -> ArbMode {
        match self {
            Mode::BurstUncapped => ArbMode::Burst { cap: 0 },
            Mode::BurstCap16 => ArbMode::Burst { cap: 16 },
            Mode::CycleSteal8 => ArbMode::CycleSteal { bound: Some(8) },
            Mode::Transparent => ArbMode::CycleSteal { bound: None },
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Mode::BurstUncapped => "burst, uncapped",
            Mode::BurstCap16 => "burst, cap 16",
            Mode::CycleSteal8 => "cycle steal, bound 8",
            Mode::Transparent => "transparent",
        }
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
    pub mode_label: &'static str,
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

/// Runs one transfer on `soc` and measures it.
pub fn measure(soc: &mut Soc, mode: Mode, load_pct: u32, bytes: u32, seed: u32) -> Row {
    arb::set_mode(soc, mode.arb());
    soc.set_cpu_workload(cpu_load(load_pct, seed));
    let mut dmac = Dmac::new();
    dmac.start(soc, SRC, DST, bytes, true).expect("start");
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

pub fn pio_vs_dma(soc: &mut Soc, bytes: u32) -> PioVsDma {
    let kib = bytes as f64 / 1024.0;
    arb::set_mode(soc, ArbMode::Burst { cap: 0 });
    soc.set_cpu_workload(cpu_load(0, 0));

    soc.clear_observed();
    let pio_cycles = driver::pio::copy(soc, SRC, DST, bytes).expect("pio copy");
    let pio = soc.observed();

    let mut dmac = Dmac::new();
    soc.clear_observed();
    let t0 = soc.now();
    dmac.start(soc, SRC, DST, bytes, true).expect("start");
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

/// The whole study (60 transfers plus the PIO comparison).
pub fn run(sizes: &[u32], loads: &[u32]) -> Study {
    let mut soc = new_soc();
    let mut rows = vec![];
    for &bytes in sizes {
        for mode in Mode::ALL {
            for &load in loads {
                rows.push(measure(&mut soc, mode, load, bytes, 0x5EED + load));
            }
        }
    }
    let pio_vs_dma = sizes.iter().map(|&b| pio_vs_dma(&mut soc, b)).collect();
    Study { rows, pio_vs_dma }
}

/// The numbered requirements of the arbitration study; each failure is one message.
pub fn check_requirements(study: &Study) -> Vec<String> {
    let mut failures = vec![];
    for r in &study.rows {
        if r.mode == Mode::BurstUncapped
            && r.cpu_load_pct == 0
            && r.bytes >= 1024
            && r.dma_beats_per_cycle < 0.97
        {
            failures.push(format!(
                "burst uncapped, CPU idle, {} B: {:.4} bus beats/cycle < 0.97",
                r.bytes, r.dma_beats_per_cycle
            ));
        }
        if r.mode == Mode::CycleSteal8 && r.cpu_worst_wait > 8 + 1 {
            failures.push(format!(
                "cycle steal bound 8 at {} % load, {} B: CPU waited {} cycles > 9",
                r.cpu_load_pct, r.bytes, r.cpu_worst_wait
            ));
        }
        if r.mode == Mode::BurstCap16 && r.dma_longest_hold > 16 {
            failures.push(format!(
                "burst cap 16 at {} % load, {} B: DMA held the bus {} beats",
                r.cpu_load_pct, r.bytes, r.dma_longest_hold
            ));
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
            for (mode, color) in Mode::ALL.iter().zip(colors) {
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
