//! Simulator speed: clock cycles per wall-clock second of one stimulus on the same SoC in four
//! simulators.
//!
//! The stimulus is what the driver does for a register-mode memcpy, repeated: write DMAC SRC,
//! DST, LEN, CTRL = START | IRQ_EN, let cycles pass until the interrupt line is high, write
//! STATUS = DONE | ERR. [`LEN`] bytes from [`SRC`] to [`DST`], no CPU workload. The simulators:
//!
//! * **(a)** Verilator, the loop in the C++ harness ([`sim::Soc::bench_memcpy_loop`]);
//! * **(b)** Verilator driven from Rust, one [`driver::Device`] call per register access;
//! * **(c)** Icarus Verilog (`iverilog` + `vvp`) running `testbench/verilog/tb_memcpy.v`, which
//!   instantiates `top` from `rtl/verilog/soc_sim.v`; every address, value and count comes in
//!   as a `-D` define made here from the `regs` crate and this module's constants, and the
//!   source words as a hex file written here;
//! * **(d)** rust-hdl's own simulator on [`rtl::soc::Soc`]`<18>` (the block `soc_sim.v` is
//!   generated from), clocked by a direct `simulate()` loop as in the rtl crate's block tests.
//!
//! All four drive the host port the same way, one cycle being the harness's `step()`: set this
//! cycle's inputs, settle with the clock low, sample `host_ready`/`host_rvalid`/`host_rdata`,
//! raise the clock. A register write takes one cycle (CSR accesses are ready at once), and the
//! interrupt is looked at after each rising edge, so an iteration takes the same number of
//! cycles everywhere; [`measure`] fails if any simulator disagrees, or if one iteration differs
//! from another. Before the timed loop the source words are written through the host port;
//! after it the destination is read back through the host port and compared.
//!
//! Only the loop is timed: not building or compiling, not creating the model, not the setup or
//! the read-back. For Icarus the testbench prints (and flushes) a line as the loop starts and
//! ends, and the time between the two lines' arrival is the loop's time. The iteration counts
//! are calibrated so that a run takes about [`TARGET_SECONDS`]: one for (a) and (b), which run
//! at about the same speed, one each for (c) and (d); cycles per second normalises. The four
//! run in turn, [`ROUNDS`] times ((a) and (b) [`EXTRA_VERILATOR_ROUNDS`] more), and each keeps
//! its fastest run (the machine may be shared).
//!
//! **Host instructions per simulated cycle** of (a) and (b), a figure that does not depend on
//! the machine's load: [`count_instructions`] runs each loop once more, [`COUNTED_ITERATIONS`]
//! times, in a child process under valgrind's callgrind, which counts only the instructions
//! executed inside the loop's function (`--collect-atstart=no --toggle-collect=`, on
//! [`dmanic_counted_loop_a`] and [`dmanic_counted_loop_b`]). The program running it must call
//! [`counted_loop_main`] first in its `main` (the bench does).
//!
//! Icarus runs `soc_sim.v` exactly as generated. (rust-hdl's `always @(*)` blocks assign a
//! default and then override it; an input between two blocks written that way toggles on every
//! evaluation in an event-driven simulator, so the SoC keeps such signals to one assignment —
//! see `irq_status` in `rtl/src/soc.rs`.)

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use driver::Device;
use rust_hdl::prelude::*;
use serde::Serialize;
use sim::{DmacRegs, Soc};

/// Source of the copy (byte address in host RAM).
pub const SRC: u32 = 0x1_0000;
/// Destination of the copy.
pub const DST: u32 = 0x4_0000;
/// Bytes per copy.
pub const LEN: u32 = 1024;
/// Wall-clock time one timed run of a simulator should take.
pub const TARGET_SECONDS: f64 = 1.0;
/// Timed runs per simulator (the fastest counts); [`measure`]`(true)` makes one.
pub const ROUNDS: usize = 3;
/// More runs of (a) and (b): they are cheap, and (b)/(a) is close to 1, so a busy machine
/// moves it more than it moves the other ratios.
pub const EXTRA_VERILATOR_ROUNDS: usize = 8;

/// rust-hdl's `Soc<A>` with `A` the simulation configuration's word-address bits; `soc_sim.v`
/// is generated from the same block.
const WORD_ADDR_BITS: usize = 18;
const _: () = assert!(regs::SocConfig::SIM.word_addr_bits == WORD_ADDR_BITS);
const NIC_FIFO_WORD_BITS: usize = 12;
const _: () = assert!(regs::SocConfig::SIM.nic_fifo_word_bits == NIC_FIFO_WORD_BITS);
const NIC_FRAME_QUEUE: usize = 32;
const _: () = assert!(regs::SocConfig::SIM.nic_frame_queue_depth == NIC_FRAME_QUEUE);

/// Iterations in quick mode: (a) and (b), (c), (d).
const QUICK_ITERATIONS: (u32, u32, u32) = (10, 1, 1);
/// Iterations of the calibration runs: (a) and (b), (c), (d).
const CALIBRATION_ITERATIONS: (u32, u32, u32) = (200, 2, 1);
/// A host-port request or an interrupt that takes longer than this means the model is stuck.
const STALL_BOUND: u64 = 1_000_000;

const TB_VERILOG: &str = include_str!("../verilog/tb_memcpy.v");
const SOC_VERILOG: &str = include_str!("../../rtl/verilog/soc_sim.v");

/// One simulator's fastest run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeedRow {
    pub simulator: String,
    /// Cycles simulated by the timed loop.
    pub cycles: u64,
    /// Wall-clock time of the timed loop.
    pub seconds: f64,
    pub cycles_per_s: f64,
    /// Cycles of one memcpy iteration (the same in every iteration and every simulator).
    pub cycles_per_iteration: u64,
}

/// The comparison: rows (a) to (d) in that order, and each one's speed relative to (a).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeedReport {
    pub rows: Vec<SpeedRow>,
    /// The Verilator that built the model of (a) and (b): its `--version` and where it comes
    /// from ([`sim::VERILATOR`], [`sim::VERILATOR_ORIGIN`]).
    pub verilator: String,
    pub verilator_origin: String,
    /// Host instructions per cycle of (a) and (b), when counted ([`count_instructions`]; the
    /// bench does, [`measure`] does not).
    pub instructions: Option<InstructionReport>,
    /// (b) / (a) in cycles per second: the median over rounds in which (a) and (b) ran back
    /// to back (see [`measure`]).
    pub ratio_rust_vs_cpp: f64,
    /// Every round's (b) / (a), sorted.
    pub paired_ratios_rust_vs_cpp: Vec<f64>,
    /// (c) / (a).
    pub ratio_icarus_vs_cpp: f64,
    /// (d) / (a).
    pub ratio_rusthdl_vs_cpp: f64,
}

/// Runs the comparison. `quick` runs a few iterations once per simulator, without calibration
/// (for a test); otherwise each timed run takes about [`TARGET_SECONDS`] and there are
/// [`ROUNDS`] of them. Build with `--release`: (b) and (d) run Rust code in the timed loop.
///
/// Fails if Icarus Verilog is missing, a model gets stuck, the copy did not happen, or the
/// simulators disagree on the cycles of an iteration.
pub fn measure(quick: bool) -> Result<SpeedReport, String> {
    let icarus = Icarus::new()?;
    let (n_verilator, n_icarus, n_rusthdl, rounds, extra_verilator_rounds) = if quick {
        let (a, c, d) = QUICK_ITERATIONS;
        (a, c, d, 1, 0)
    } else {
        let (a, c, d) = CALIBRATION_ITERATIONS;
        let per_iteration = |run: Run| run.time.as_secs_f64() / f64::from(run.iterations);
        (
            iterations_for(per_iteration(verilator_cpp(a)?)),
            iterations_for(per_iteration(icarus.run(c, Duration::from_secs(600))?)),
            iterations_for(per_iteration(rust_hdl(d)?)),
            ROUNDS,
            EXTRA_VERILATOR_ROUNDS,
        )
    };
    // (c)'s iteration count is compiled in: the first timed run compiles it (untimed).
    let icarus_deadline = Duration::from_secs(120);

    let mut best: [Option<Run>; 4] = Default::default();
    let mut keep = |slot: usize, run: Run| -> Result<(), String> {
        let b = &mut best[slot];
        match b {
            Some(b) if b.cycles != run.cycles => Err(format!(
                "{}: {} cycles in one run, {} in another of the same stimulus",
                run.name, b.cycles, run.cycles
            )),
            Some(b) if b.time <= run.time => Ok(()),
            _ => {
                *b = Some(run);
                Ok(())
            }
        }
    };
    // (a) and (b) run back to back in every round, in alternating order, and the Rust-vs-C++
    // ratio is the median of the rounds' ratios: on a shared machine wall time wanders by
    // ±15 % between runs, and pairing cancels what the two runs of a round have in common.
    let mut paired = vec![];
    for round in 0..rounds + extra_verilator_rounds {
        let (a, b) = if round % 2 == 0 {
            let a = verilator_cpp(n_verilator)?;
            (a, verilator_rust(n_verilator)?)
        } else {
            let b = verilator_rust(n_verilator)?;
            (verilator_cpp(n_verilator)?, b)
        };
        paired.push(a.time.as_secs_f64() / b.time.as_secs_f64());
        keep(0, a)?;
        keep(1, b)?;
        if round < rounds {
            keep(2, icarus.run(n_icarus, icarus_deadline)?)?;
            keep(3, rust_hdl(n_rusthdl)?)?;
        }
    }

    let rows: Vec<SpeedRow> = best
        .into_iter()
        .map(|r| r.expect("rounds >= 1").row())
        .collect();
    let per_iteration = rows[0].cycles_per_iteration;
    if let Some(r) = rows
        .iter()
        .find(|r| r.cycles_per_iteration != per_iteration)
    {
        return Err(format!(
            "cycles per iteration differ: {} takes {}, {} takes {}",
            rows[0].simulator, per_iteration, r.simulator, r.cycles_per_iteration
        ));
    }
    let rate_a = rows[0].cycles_per_s;
    paired.sort_by(f64::total_cmp);
    Ok(SpeedReport {
        verilator: sim::VERILATOR.into(),
        verilator_origin: sim::VERILATOR_ORIGIN.into(),
        instructions: None,
        ratio_rust_vs_cpp: paired[paired.len() / 2],
        paired_ratios_rust_vs_cpp: paired,
        ratio_icarus_vs_cpp: rows[2].cycles_per_s / rate_a,
        ratio_rusthdl_vs_cpp: rows[3].cycles_per_s / rate_a,
        rows,
    })
}

/// The report as a Markdown paragraph and table.
pub fn markdown(report: &SpeedReport) -> String {
    let mut per_iteration: Vec<u64> = report.rows.iter().map(|r| r.cycles_per_iteration).collect();
    per_iteration.dedup();
    let per_iteration = per_iteration
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(" / ");
    let rate_a = report.rows.first().map_or(f64::NAN, |r| r.cycles_per_s);
    let mut s = format!(
        "Simulator speed: one stimulus on one SoC (`rtl::soc::Soc<{WORD_ADDR_BITS}, {NIC_FIFO_WORD_BITS}, {NIC_FRAME_QUEUE}>`, \
         `rtl/verilog/soc_sim.v`): register-mode memcpy of {LEN} B from {SRC:#x} to {DST:#x}, \
         completion by interrupt, no CPU workload, repeated. Every simulator took \
         {per_iteration} cycles per iteration and copied the data. Wall time is the timed \
         loop only (the fastest of the runs). The model of (a) and (b) was built by {} ({}).\n\n\
         | Simulator | Iterations | Cycles | Cycles/iteration | Wall time (s) | Cycles/s | Host instructions/cycle | vs (a) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
        report.verilator, report.verilator_origin
    );
    let counted = |simulator: &str| {
        let rows = report.instructions.as_ref().map(|i| i.rows.as_slice());
        rows.unwrap_or_default()
            .iter()
            .find(|c| c.simulator == simulator)
            .map_or_else(|| "–".to_owned(), |c| format!("{:.0}", c.per_cycle))
    };
    for r in &report.rows {
        let iterations = r.cycles.checked_div(r.cycles_per_iteration).unwrap_or(0);
        s += &format!(
            "| {} | {} | {} | {} | {:.3} | {} | {} | {} |\n",
            r.simulator,
            iterations,
            r.cycles,
            r.cycles_per_iteration,
            r.seconds,
            si(r.cycles_per_s),
            counted(&r.simulator),
            ratio(r.cycles_per_s / rate_a)
        );
    }
    if let Some(i) = &report.instructions {
        s += &format!(
            "\nHost instructions/cycle: every instruction the host executed inside the loop \
             ({} iterations, {} cycles, model and harness and, for (b), the Rust driver), \
             counted by {} `--tool=callgrind` and divided by the cycles; the same for every run \
             of the same build, unlike the wall times. With the clock gates off \
             (`sim::Soc::set_clock_gating(false)`: the NIC and the memcpy channels clocked in \
             every cycle, idle or not; docs/soc.md), (a) needs {:.0} per cycle, in the same \
             cycles.\n",
            i.iterations,
            i.rows.first().map_or(0, |r| r.cycles),
            i.tool,
            i.ungated.per_cycle
        );
    }
    let paired = &report.paired_ratios_rust_vs_cpp;
    if let (Some(lo), Some(hi)) = (paired.first(), paired.last()) {
        s += &format!(
            "\nRust-driven vs C++ loop, (a) and (b) back to back in each of {} rounds: median \
             **{:.3}**, range {:.3} to {:.3} (wall-clock noise of a shared machine).\n",
            paired.len(),
            report.ratio_rust_vs_cpp,
            lo,
            hi
        );
    }
    s
}

fn si(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn ratio(r: f64) -> String {
    if r >= 0.1 {
        format!("{r:.2}")
    } else {
        format!("1/{:.0}", 1.0 / r)
    }
}

/// Iterations that take about [`TARGET_SECONDS`] at `seconds_per_iteration`.
fn iterations_for(seconds_per_iteration: f64) -> u32 {
    (TARGET_SECONDS / seconds_per_iteration.max(1e-9))
        .round()
        .clamp(1.0, 10_000_000.0) as u32
}

/// The words copied: distinct and non-zero, so a copy that did not happen or went wrong shows.
fn pattern() -> Vec<u32> {
    (1..=LEN / 4).map(|i| i.wrapping_mul(0x9E37_79B9)).collect()
}

/// One timed run of one simulator.
struct Run {
    name: String,
    iterations: u32,
    cycles: u64,
    time: Duration,
    /// Fewest and most cycles one iteration took.
    per_iteration: (u64, u64),
}

impl Run {
    /// Checks the run and the destination words read back after it.
    fn new(
        name: &str,
        iterations: u32,
        cycles: u64,
        time: Duration,
        per_iteration: (u64, u64),
        dst: &[u32],
    ) -> Result<Run, String> {
        let (min, max) = per_iteration;
        if min != max {
            return Err(format!(
                "{name}: iterations took between {min} and {max} cycles (the same stimulus \
                 every time)"
            ));
        }
        if min * u64::from(iterations) != cycles {
            return Err(format!(
                "{name}: {iterations} iterations of {min} cycles, but {cycles} cycles in all"
            ));
        }
        let want = pattern();
        if let Some(i) = (0..want.len()).find(|&i| dst.get(i) != Some(&want[i])) {
            return Err(format!(
                "{name}: copy did not happen: word {i} at {:#x} reads {}, source word is {:#010x}",
                DST + 4 * i as u32,
                dst.get(i)
                    .map_or("nothing".into(), |w| format!("{w:#010x}")),
                want[i]
            ));
        }
        Ok(Run {
            name: name.into(),
            iterations,
            cycles,
            time,
            per_iteration,
        })
    }

    fn row(self) -> SpeedRow {
        let seconds = self.time.as_secs_f64();
        SpeedRow {
            simulator: self.name,
            cycles: self.cycles,
            seconds,
            cycles_per_s: self.cycles as f64 / seconds,
            cycles_per_iteration: self.per_iteration.0,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (a) and (b): Verilator

fn verilator_soc() -> Soc {
    let mut soc = Soc::new();
    soc.write_words(SRC, &pattern());
    soc
}

fn read_back(dev: &mut impl Device) -> Vec<u32> {
    let mut dst = vec![0; (LEN / 4) as usize];
    dev.read_words(DST, &mut dst);
    dst
}

/// (a): the loop in C++.
fn verilator_cpp(iterations: u32) -> Result<Run, String> {
    let mut soc = verilator_soc();
    let t = Instant::now();
    let cycles = soc.bench_memcpy_loop(SRC, DST, LEN, iterations);
    let time = t.elapsed();
    // The C++ loop reports only its total; one more iteration alone gives the per-iteration
    // count to compare it with.
    let one = soc.bench_memcpy_loop(SRC, DST, LEN, 1);
    let dst = read_back(&mut soc);
    Run::new(NAME_A, iterations, cycles, time, (one, one), &dst)
}

const NAME_A: &str = "(a) Verilator, loop in C++";
const NAME_B: &str = "(b) Verilator, driven from Rust";

/// (b): the same sequence from Rust, one `Device` call per register access.
fn verilator_rust(iterations: u32) -> Result<Run, String> {
    let mut soc = verilator_soc();
    let t = Instant::now();
    let (cycles, per_iteration) = rust_loop(&mut soc, iterations)?;
    let time = t.elapsed();
    let dst = read_back(&mut soc);
    Run::new(NAME_B, iterations, cycles, time, per_iteration, &dst)
}

/// (b)'s loop: the cycles it took, and the fewest and most of one iteration.
#[inline(always)]
fn rust_loop(soc: &mut Soc, iterations: u32) -> Result<(u64, (u64, u64)), String> {
    let r = DmacRegs::from_regs();
    let (mut min, mut max) = (u64::MAX, 0);
    let start = soc.now();
    for _ in 0..iterations {
        let begin = soc.now();
        soc.write32(r.src, SRC);
        soc.write32(r.dst, DST);
        soc.write32(r.len, LEN);
        soc.write32(r.ctrl, r.ctrl_start_irq);
        if !soc.wait_irq(STALL_BOUND) {
            return Err(format!("{NAME_B}: no interrupt; {}", soc.describe_state()));
        }
        soc.write32(r.status, r.status_clear);
        let took = soc.now() - begin;
        (min, max) = (min.min(took), max.max(took));
    }
    Ok((soc.now() - start, (min, max)))
}

// ---------------------------------------------------------------------------------------------
// Host instructions per cycle of (a) and (b), counted by callgrind

/// Iterations of each counted loop.
pub const COUNTED_ITERATIONS: u32 = 20;
/// The first argument that makes a program run one counted loop ([`counted_loop_main`]).
pub const COUNTED_LOOP_ARG: &str = "--dmanic-counted-loop";

/// One loop's count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstructionCount {
    /// The row of the speed table: (a) or (b).
    pub simulator: String,
    pub cycles: u64,
    /// Host instructions executed inside the loop (callgrind's `Ir`).
    pub instructions: u64,
    pub per_cycle: f64,
}

/// (a)'s and (b)'s counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstructionReport {
    /// valgrind's `--version`.
    pub tool: String,
    pub iterations: u32,
    pub rows: Vec<InstructionCount>,
    /// (a) again with the SoC's clock gates off (`sim::Soc::set_clock_gating(false)`: every
    /// block clocked in every cycle), in the same number of cycles.
    pub ungated: InstructionCount,
}

/// The name of the ungated count of (a).
const NAME_A_UNGATED: &str = "(a) with the clock gates off";

/// (a)'s loop, the function callgrind counts in (named for its `--toggle-collect`).
#[no_mangle]
#[inline(never)]
pub fn dmanic_counted_loop_a(soc: &mut Soc, iterations: u32) -> u64 {
    soc.bench_memcpy_loop(SRC, DST, LEN, iterations)
}

/// (b)'s loop, the function callgrind counts in.
#[no_mangle]
#[inline(never)]
pub fn dmanic_counted_loop_b(soc: &mut Soc, iterations: u32) -> Result<u64, String> {
    rust_loop(soc, iterations).map(|(cycles, _)| cycles)
}

/// In a program started by [`count_instructions`] (first argument [`COUNTED_LOOP_ARG`], then
/// `a`, `b` or `a-ungated` (loop (a) with the clock gates off) and the iterations): runs that
/// loop on a new model, prints `cycles N`, checks the copy and exits. Otherwise returns at
/// once.
pub fn counted_loop_main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [flag, which, iterations] = args.as_slice() else {
        return;
    };
    if flag != COUNTED_LOOP_ARG {
        return;
    }
    let run = || -> Result<u64, String> {
        let iterations: u32 = iterations
            .parse()
            .map_err(|e| format!("{iterations}: {e}"))?;
        let mut soc = verilator_soc();
        let cycles = match which.as_str() {
            "a" => dmanic_counted_loop_a(&mut soc, iterations),
            "b" => dmanic_counted_loop_b(&mut soc, iterations)?,
            "a-ungated" => {
                soc.set_clock_gating(false);
                dmanic_counted_loop_a(&mut soc, iterations)
            }
            _ => return Err(format!("no loop {which:?}")),
        };
        let (dst, want) = (read_back(&mut soc), pattern());
        if dst != want {
            return Err("the copy did not happen".into());
        }
        Ok(cycles)
    };
    match run() {
        Ok(cycles) => {
            println!("cycles {cycles}");
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("counted loop {which}: {e}");
            std::process::exit(1)
        }
    }
}

/// Counts (a)'s and (b)'s host instructions per cycle: this program (which must call
/// [`counted_loop_main`]) again, once per loop, under `valgrind --tool=callgrind`, collecting
/// only inside the loop's function; then (a) once more with the clock gates off. Fails if
/// valgrind is missing or the loops simulated different numbers of cycles.
pub fn count_instructions() -> Result<InstructionReport, String> {
    let version = Command::new("valgrind")
        .arg("--version")
        .output()
        .map_err(|e| format!("valgrind: {e} (`bash scripts/setup.sh bench` installs it)"))?;
    let tool = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let dir = TempDir::new()?;
    let mut rows = vec![];
    for (which, name) in [("a", NAME_A), ("b", NAME_B), ("a-ungated", NAME_A_UNGATED)] {
        let function = &which[..1];
        let out_file = dir.0.join(format!("callgrind.{which}"));
        let out = Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", out_file.display()))
            .arg("--collect-atstart=no")
            .arg(format!("--toggle-collect=dmanic_counted_loop_{function}"))
            .arg(&exe)
            .args([COUNTED_LOOP_ARG, which, &COUNTED_ITERATIONS.to_string()])
            .output()
            .map_err(|e| format!("valgrind: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let cycles = stdout
            .lines()
            .find_map(|l| l.strip_prefix("cycles ")?.parse::<u64>().ok());
        let (Some(cycles), true) = (cycles, out.status.success()) else {
            return Err(format!(
                "valgrind on loop {which} ended ({}):\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        };
        let text = std::fs::read_to_string(&out_file)
            .map_err(|e| format!("{}: {e}", out_file.display()))?;
        let instructions = callgrind_total(&text)
            .ok_or_else(|| format!("no `totals:` line in {}", out_file.display()))?;
        if instructions == 0 {
            return Err(format!(
                "callgrind counted nothing in dmanic_counted_loop_{which} (symbol not found?)"
            ));
        }
        rows.push(InstructionCount {
            simulator: name.into(),
            cycles,
            instructions,
            per_cycle: instructions as f64 / cycles as f64,
        });
    }
    if rows.iter().any(|r| r.cycles != rows[0].cycles) {
        let cycles: Vec<String> = rows
            .iter()
            .map(|r| format!("{} {}", r.simulator, r.cycles))
            .collect();
        return Err(format!(
            "counted loops took different cycles: {}",
            cycles.join(", ")
        ));
    }
    let ungated = rows.pop().expect("three counted loops");
    Ok(InstructionReport {
        tool,
        iterations: COUNTED_ITERATIONS,
        rows,
        ungated,
    })
}

/// The `totals:` line of a callgrind output file with one event (`Ir`).
fn callgrind_total(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("totals:"))
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
}

// ---------------------------------------------------------------------------------------------
// (c): Icarus Verilog

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir =
            std::env::temp_dir().join(format!("dmanic-speed-{}-{nanos:08x}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The Icarus testbench's sources in a temporary directory, compiled per iteration count.
struct Icarus {
    dir: TempDir,
    name: String,
}

impl Icarus {
    fn new() -> Result<Icarus, String> {
        let version = tool_version("iverilog", "-V")?;
        tool_version("vvp", "-V")?;
        // "Icarus Verilog version 11.0 (stable) ()"
        let number = version
            .split_whitespace()
            .skip_while(|w| *w != "version")
            .nth(1)
            .unwrap_or("?");
        let dir = TempDir::new()?;
        let write = |file: &str, text: &str| {
            let path = dir.0.join(file);
            std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        };
        write("tb_memcpy.v", TB_VERILOG)?;
        write("soc_sim.v", SOC_VERILOG)?;
        let hex: String = pattern().iter().map(|w| format!("{w:08x}\n")).collect();
        write("pattern.hex", &hex)?;
        Ok(Icarus {
            dir,
            name: format!("(c) Icarus Verilog {number} (vvp)"),
        })
    }

    /// The `-D` defines: every address and value of the stimulus.
    fn defines(&self, iterations: u32) -> Vec<String> {
        let r = DmacRegs::from_regs();
        let hex = |name: &str, v: u32| format!("-D{name}=32'h{v:08x}");
        vec![
            hex("REG_SRC", r.src),
            hex("REG_DST", r.dst),
            hex("REG_LEN", r.len),
            hex("REG_CTRL", r.ctrl),
            hex("REG_STATUS", r.status),
            hex("CTRL_START_IRQ", r.ctrl_start_irq),
            hex("STATUS_CLEAR", r.status_clear),
            hex("SRC_ADDR", SRC),
            hex("DST_ADDR", DST),
            format!("-DLEN_BYTES={LEN}"),
            format!("-DITERATIONS={iterations}"),
            format!("-DPATTERN_FILE=\"{}\"", self.path("pattern.hex").display()),
        ]
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.0.join(file)
    }

    /// Compiles (untimed) and runs the testbench for `iterations`; `deadline` bounds the run.
    fn run(&self, iterations: u32, deadline: Duration) -> Result<Run, String> {
        let name = self.name.as_str();
        let vvp_file = self.path(&format!("tb_{iterations}.vvp"));
        if !vvp_file.exists() {
            let out = Command::new("iverilog")
                .args(["-g2005", "-s", "tb", "-o"])
                .arg(&vvp_file)
                .args(self.defines(iterations))
                .arg(self.path("tb_memcpy.v"))
                .arg(self.path("soc_sim.v"))
                .output()
                .map_err(|e| format!("cannot run iverilog: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "iverilog failed ({}):\n{}{}",
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        let out = run_timed_vvp(&vvp_file, deadline).map_err(|e| format!("{name}: {e}"))?;
        let (cycles, min, max) = out.loop_end;
        Run::new(
            name,
            iterations,
            cycles,
            out.loop_time,
            (min, max),
            &out.dst,
        )
    }
}

/// The first line `tool flag` prints; Err with the way to install it if the tool is missing.
fn tool_version(tool: &str, flag: &str) -> Result<String, String> {
    match Command::new(tool).arg(flag).output() {
        Ok(out) => Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "Icarus Verilog is not installed ({tool} not found): run `make setup` \
             (scripts/setup.sh bench installs iverilog)"
        )),
        Err(e) => Err(format!("cannot run {tool}: {e}")),
    }
}

struct VvpOutput {
    /// Time between the `loop_start` and `loop_end` lines' arrival.
    loop_time: Duration,
    /// Cycles of the loop, fewest and most of one iteration.
    loop_end: (u64, u64, u64),
    dst: Vec<u32>,
}

/// Runs `vvp` on `file`, reading its `SPEED ...` lines as they arrive.
fn run_timed_vvp(file: &Path, deadline: Duration) -> Result<VvpOutput, String> {
    let mut child = Command::new("vvp")
        .arg("-n")
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run vvp: {e}"))?;
    let stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });

    let end = Instant::now() + deadline;
    let (mut start, mut loop_end, mut dst, mut done) = (None, None, Vec::new(), false);
    let mut failure = None;
    let mut rest = String::new();
    loop {
        let left = end.saturating_duration_since(Instant::now());
        let (at, line) = match rx.recv_timeout(left) {
            Ok(x) => x,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                failure = Some(format!("vvp still running after {deadline:?}: killed"));
                break;
            }
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["SPEED", "loop_start", _] => start = Some(at),
            ["SPEED", "loop_end", c, min, max] => {
                let n = |s: &str| s.parse::<u64>().map_err(|_| format!("bad line: {line}"));
                loop_end = Some(((n(c)?, n(min)?, n(max)?), at));
            }
            ["SPEED", "rd", _, data] => {
                dst.push(u32::from_str_radix(data, 16).map_err(|_| format!("read back {line:?}"))?)
            }
            ["SPEED", "done"] => done = true,
            ["SPEED", "error", ..] => failure = Some(line.clone()),
            _ => {
                rest += &line;
                rest.push('\n');
            }
        }
    }
    let status = child.wait().map_err(|e| format!("vvp: {e}"))?;
    let _ = reader.join();
    rest += &errors.join().unwrap_or_default();
    if let Some(f) = failure {
        return Err(format!("{f}\n{rest}"));
    }
    match (start, loop_end, done && status.success()) {
        (Some(start), Some((loop_end, at)), true) => Ok(VvpOutput {
            loop_time: at - start,
            loop_end,
            dst,
        }),
        _ => Err(format!(
            "vvp ended ({status}) without the testbench's loop_start/loop_end/done lines:\n{rest}"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// (d): rust-hdl's simulator

/// The SoC block in rust-hdl's simulator, clocked as the harness clocks the Verilator model.
struct RustHdlSoc {
    uut: Box<rtl::soc::Soc<WORD_ADDR_BITS, NIC_FIFO_WORD_BITS, NIC_FRAME_QUEUE>>,
    cycle: u64,
    ready: bool,
    rvalid: bool,
    rdata: u32,
}

impl RustHdlSoc {
    fn new() -> Result<RustHdlSoc, String> {
        let mut uut = Box::new(rtl::soc::Soc::<
            WORD_ADDR_BITS,
            NIC_FIFO_WORD_BITS,
            NIC_FRAME_QUEUE,
        >::new(regs::SocConfig::SIM));
        uut.connect_all();
        let mut soc = RustHdlSoc {
            uut,
            cycle: 0,
            ready: false,
            rvalid: false,
            rdata: 0,
        };
        soc.drive(false, 0, 0, 0, false);
        // One byte per clock on the PHY pins, as the Verilator harness ties them.
        soc.uut.phy_tx_ce.next = true;
        soc.uut.phy_rx_ce.next = true;
        soc.uut.clock.next = Clock { clk: false };
        soc.settle()?;
        Ok(soc)
    }

    fn settle(&mut self) -> Result<(), String> {
        if simulate(&mut *self.uut, 1000) {
            Ok(())
        } else {
            Err(format!(
                "rust-hdl: logic did not settle in cycle {}",
                self.cycle
            ))
        }
    }

    fn drive(&mut self, req: bool, addr: u32, data: u32, be: u8, we: bool) {
        let u = &mut self.uut;
        u.host_req.next = req;
        u.host_addr.next = u64::from(addr).into();
        u.host_wdata.next = u64::from(data).into();
        u.host_be.next = u64::from(be & 0xF).into();
        u.host_we.next = we;
    }

    fn drive_idle(&mut self) {
        self.drive(false, 0, 0, 0, false);
    }

    /// One cycle with the inputs as driven: settle, sample the host port, rising edge.
    fn step(&mut self) -> Result<(), String> {
        self.settle()?;
        self.ready = self.uut.host_ready.val();
        self.rvalid = self.uut.host_rvalid.val();
        self.rdata = self.uut.host_rdata.val().to_u64() as u32;
        self.uut.clock.next = Clock { clk: true };
        self.settle()?;
        self.uut.clock.next = Clock { clk: false };
        self.settle()?;
        self.cycle += 1;
        Ok(())
    }

    fn write(&mut self, addr: u32, data: u32) -> Result<(), String> {
        for _ in 0..STALL_BOUND {
            self.drive(true, addr, data, 0xF, true);
            self.step()?;
            if self.ready {
                self.drive_idle();
                return Ok(());
            }
        }
        Err(format!("rust-hdl: write to {addr:#x} not accepted"))
    }

    fn read(&mut self, addr: u32) -> Result<u32, String> {
        for _ in 0..STALL_BOUND {
            self.drive(true, addr, 0, 0xF, false);
            self.step()?;
            if self.ready {
                self.drive_idle();
                self.step()?;
                if !self.rvalid {
                    return Err(format!(
                        "rust-hdl: no host_rvalid for the read of {addr:#x}"
                    ));
                }
                return Ok(self.rdata);
            }
        }
        Err(format!("rust-hdl: read of {addr:#x} not accepted"))
    }

    /// Idle cycles until the interrupt line (a function of state only) is high.
    fn wait_irq(&mut self) -> Result<(), String> {
        for _ in 0..STALL_BOUND {
            if self.uut.irq.val() {
                return Ok(());
            }
            self.step()?;
        }
        Err(format!(
            "rust-hdl: no interrupt (DMAC state {:?})",
            self.uut.obs_dma_state.val()
        ))
    }
}

/// (d): the same host-port sequence on rust-hdl's simulator.
fn rust_hdl(iterations: u32) -> Result<Run, String> {
    let r = DmacRegs::from_regs();
    let mut soc = RustHdlSoc::new()?;
    for (i, w) in pattern().into_iter().enumerate() {
        soc.write(SRC + 4 * i as u32, w)?;
    }
    let (mut min, mut max) = (u64::MAX, 0);
    let t = Instant::now();
    let start = soc.cycle;
    for _ in 0..iterations {
        let begin = soc.cycle;
        soc.write(r.src, SRC)?;
        soc.write(r.dst, DST)?;
        soc.write(r.len, LEN)?;
        soc.write(r.ctrl, r.ctrl_start_irq)?;
        soc.wait_irq()?;
        soc.write(r.status, r.status_clear)?;
        let took = soc.cycle - begin;
        (min, max) = (min.min(took), max.max(took));
    }
    let cycles = soc.cycle - start;
    let time = t.elapsed();
    let dst = (0..LEN / 4)
        .map(|i| soc.read(DST + 4 * i))
        .collect::<Result<Vec<_>, _>>()?;
    Run::new(
        "(d) rust-hdl simulator",
        iterations,
        cycles,
        time,
        (min, max),
        &dst,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callgrind_total_reads_the_totals_line() {
        let text = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nfn=(1) f\n0 5\n\
                    summary: 1234\n\n\ntotals: 1234\n";
        assert_eq!(callgrind_total(text), Some(1234));
        assert_eq!(callgrind_total("events: Ir\n"), None);
    }

    #[test]
    fn quick_measure_agrees_across_simulators() {
        let report = match measure(true) {
            Err(e) if e.contains("make setup") => {
                eprintln!("SKIPPED: {e}");
                return;
            }
            r => r.unwrap(),
        };
        assert_eq!(report.rows.len(), 4);
        println!("{}", markdown(&report));
    }
}
