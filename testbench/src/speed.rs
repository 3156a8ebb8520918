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
//! Icarus cannot run `soc_sim.v` as generated: rust-hdl writes combinational blocks as
//! `always @(*)` that assign a default and then override it (`x = 0; if (c) x = 1;`). In an
//! event-driven simulator the passing default is a value change that wakes every process
//! reading `x`; the top block and the CSR block wake each other that way forever (a zero-delay
//! loop) when the interrupt is high during a STATUS write, and `vvp` hangs at the first
//! iteration's end. [`icarus_safe_verilog`] therefore rewrites each `always @(*)` block so that
//! a variable it assigns more than once is computed in a shadow reg and assigned once, at the
//! end. The logic is unchanged (same expressions, same order); only the glitches are gone.

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
pub const EXTRA_VERILATOR_ROUNDS: usize = 2;

/// rust-hdl's `Soc<A>` with `A` the simulation configuration's word-address bits; `soc_sim.v`
/// is generated from the same block.
const WORD_ADDR_BITS: usize = 18;
const _: () = assert!(regs::RamConfig::SIM.word_addr_bits == WORD_ADDR_BITS);

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
    /// (b) / (a) in cycles per second.
    pub ratio_rust_vs_cpp: f64,
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
    for round in 0..rounds + extra_verilator_rounds {
        keep(0, verilator_cpp(n_verilator)?)?;
        keep(1, verilator_rust(n_verilator)?)?;
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
    Ok(SpeedReport {
        ratio_rust_vs_cpp: rows[1].cycles_per_s / rate_a,
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
        "Simulator speed: one stimulus on one SoC (`rtl::soc::Soc<{WORD_ADDR_BITS}>`, \
         `rtl/verilog/soc_sim.v`): register-mode memcpy of {LEN} B from {SRC:#x} to {DST:#x}, \
         completion by interrupt, no CPU workload, repeated. Every simulator took \
         {per_iteration} cycles per iteration and copied the data. Wall time is the timed \
         loop only (the fastest of the runs).\n\n\
         | Simulator | Iterations | Cycles | Cycles/iteration | Wall time (s) | Cycles/s | vs (a) |\n\
         |---|---:|---:|---:|---:|---:|---:|\n"
    );
    for r in &report.rows {
        let iterations = r.cycles.checked_div(r.cycles_per_iteration).unwrap_or(0);
        s += &format!(
            "| {} | {} | {} | {} | {:.3} | {} | {} |\n",
            r.simulator,
            iterations,
            r.cycles,
            r.cycles_per_iteration,
            r.seconds,
            si(r.cycles_per_s),
            ratio(r.cycles_per_s / rate_a)
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
    Run::new(
        "(a) Verilator, loop in C++",
        iterations,
        cycles,
        time,
        (one, one),
        &dst,
    )
}

/// (b): the same sequence from Rust, one `Device` call per register access.
fn verilator_rust(iterations: u32) -> Result<Run, String> {
    let name = "(b) Verilator, driven from Rust";
    let r = DmacRegs::from_regs();
    let mut soc = verilator_soc();
    let (mut min, mut max) = (u64::MAX, 0);
    let t = Instant::now();
    let start = soc.now();
    for _ in 0..iterations {
        let begin = soc.now();
        soc.write32(r.src, SRC);
        soc.write32(r.dst, DST);
        soc.write32(r.len, LEN);
        soc.write32(r.ctrl, r.ctrl_start_irq);
        if !soc.wait_irq(STALL_BOUND) {
            return Err(format!("{name}: no interrupt; {}", soc.describe_state()));
        }
        soc.write32(r.status, r.status_clear);
        let took = soc.now() - begin;
        (min, max) = (min.min(took), max.max(took));
    }
    let cycles = soc.now() - start;
    let time = t.elapsed();
    let dst = read_back(&mut soc);
    Run::new(name, iterations, cycles, time, (min, max), &dst)
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
        write("soc_sim_icarus.v", &icarus_safe_verilog(SOC_VERILOG)?)?;
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
                .arg(self.path("soc_sim_icarus.v"))
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

/// `verilog` (rust-hdl output) with every `always @(*)` block rewritten so that a variable the
/// block assigns more than once is computed in a shadow reg (`<name>$ic`) and assigned once, at
/// the block's end. Icarus then sees no passing default values (see the module docs). Fails on
/// a block or declaration it does not understand, rather than guessing.
pub fn icarus_safe_verilog(verilog: &str) -> Result<String, String> {
    let lines: Vec<&str> = verilog.lines().collect();
    let mut out = String::with_capacity(verilog.len() + verilog.len() / 4);
    // Declared regs of the current module: name -> range ("[31:0]" or "").
    let mut ranges: std::collections::HashMap<&str, &str> = Default::default();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.starts_with("module ") {
            ranges.clear();
        }
        if let Some((name, range)) = reg_declaration(line) {
            ranges.insert(name, range);
        }
        if line.trim() != "always @(*) begin" {
            out += line;
            out.push('\n');
            i += 1;
            continue;
        }
        let indent = &line[..line.len() - line.trim_start().len()];
        let close = format!("{indent}end");
        let body_len = lines[i + 1..]
            .iter()
            .position(|l| *l == close)
            .ok_or_else(|| format!("line {}: `always @(*)` block without its `end`", i + 1))?;
        let body = &lines[i + 1..i + 1 + body_len];
        if body.iter().any(|l| l.contains('"') || l.contains("//")) {
            return Err(format!("line {}: block with a string or comment", i + 1));
        }
        // Assignment targets, in order, with how often each is assigned.
        let mut targets: Vec<(&str, usize)> = Vec::new();
        for l in body {
            if let Some(name) = assignment_target(l) {
                match targets.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, count)) => *count += 1,
                    None => targets.push((name, 1)),
                }
            }
        }
        let shadowed: Vec<&str> = targets
            .iter()
            .filter(|(_, count)| *count > 1)
            .map(|(n, _)| *n)
            .collect();
        for name in &shadowed {
            let range = ranges.get(name).ok_or_else(|| {
                format!(
                    "line {}: `{name}` is assigned but not declared as a reg",
                    i + 1
                )
            })?;
            out += &format!("{indent}reg {range} {name}$ic;\n");
        }
        out += line;
        out.push('\n');
        for l in body {
            out += &rename_identifiers(l, &shadowed);
            out.push('\n');
        }
        for name in &shadowed {
            out += &format!("{indent}    {name} = {name}$ic;\n");
        }
        out += &close;
        out.push('\n');
        i += body_len + 2;
    }
    Ok(out)
}

/// `(name, range)` of `reg [..] name;` or `output reg [..] name;` (range "" for one bit).
fn reg_declaration(line: &str) -> Option<(&str, &str)> {
    let t = line.trim();
    let t = t
        .strip_prefix("output reg ")
        .or_else(|| t.strip_prefix("reg "))?
        .trim_start();
    let t = t.strip_suffix(';')?.trim_end();
    let (range, name) = match t.strip_prefix('[') {
        Some(r) => {
            let close = r.find(']')?;
            (&t[..close + 2], r[close + 1..].trim())
        }
        None => ("", t),
    };
    is_identifier(name).then_some((name, range))
}

/// The variable a blocking assignment `name = ...;` writes.
fn assignment_target(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
        .unwrap_or(t.len());
    let (name, rest) = t.split_at(end);
    let rest = rest.trim_start();
    (is_identifier(name) && rest.starts_with('=') && !rest.starts_with("==")).then_some(name)
}

fn is_identifier(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// `line` with each identifier in `names` replaced by `<name>$ic`. Number literals (`32'h1f`)
/// and system names (`$display`) are left alone.
fn rename_identifiers(line: &str, names: &[&str]) -> String {
    let b = line.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$';
    let mut out = String::with_capacity(line.len() + 16);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || c == b'$' || c == b'\'' {
            // A number with its base and digits, or a system name: copied as is.
            let start = i;
            i += 1;
            while i < b.len() && (word(b[i]) || b[i] == b'\'') {
                i += 1;
            }
            out += &line[start..i];
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && word(b[i]) {
                i += 1;
            }
            let id = &line[start..i];
            out += id;
            if names.contains(&id) {
                out += "$ic";
            }
        } else {
            out.push(c as char);
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// (d): rust-hdl's simulator

/// The SoC block in rust-hdl's simulator, clocked as the harness clocks the Verilator model.
struct RustHdlSoc {
    uut: Box<rtl::soc::Soc<WORD_ADDR_BITS>>,
    cycle: u64,
    ready: bool,
    rvalid: bool,
    rdata: u32,
}

impl RustHdlSoc {
    fn new() -> Result<RustHdlSoc, String> {
        let mut uut = Box::new(rtl::soc::Soc::<WORD_ADDR_BITS>::new());
        uut.connect_all();
        let mut soc = RustHdlSoc {
            uut,
            cycle: 0,
            ready: false,
            rvalid: false,
            rdata: 0,
        };
        soc.drive(false, 0, 0, 0, false);
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
    fn icarus_rewrite_shadows_only_variables_assigned_twice() {
        let v = "module m(a,x,y);\n    input wire  a;\n    output reg  [3:0] x;\n    \
                 output reg  y;\n    always @(*) begin\n        x = 4'h0;\n        y = a;\n        \
                 if (a) begin\n            x = x + 4'h1;\n        end\n    end\nendmodule\n";
        let got = icarus_safe_verilog(v).unwrap();
        let want = "module m(a,x,y);\n    input wire  a;\n    output reg  [3:0] x;\n    \
                    output reg  y;\n    reg [3:0] x$ic;\n    always @(*) begin\n        \
                    x$ic = 4'h0;\n        y = a;\n        if (a) begin\n            \
                    x$ic = x$ic + 4'h1;\n        end\n        x = x$ic;\n    end\nendmodule\n";
        assert_eq!(got, want);
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
