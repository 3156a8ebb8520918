//! Simulation speed: the same register-mode memcpy loop (a) entirely in C++
//! (`Soc::bench_memcpy_loop`) and (b) driven from Rust through `driver::Device`, each on a fresh
//! SoC with the same CPU workload. Run with `cargo run --release -p sim --bin simspeed`.

use std::time::{Duration, Instant};

use driver::Device;
use sim::{CpuWorkload, DmacRegs, Soc};

const SRC: u32 = 0x1_0000;
const DST: u32 = 0x2_0000;
const LEN: u32 = 4096;

fn workload() -> CpuWorkload {
    // 50 % of instructions read RAM, spread over the upper half of it.
    CpuWorkload {
        enabled: true,
        load_per_65536: 32768,
        seed: 1,
        base: 0x8_0000,
        span_words: 0x2_0000,
    }
}

fn fresh_soc() -> Soc {
    let mut soc = Soc::new();
    soc.set_cpu_workload(workload());
    soc
}

/// (a): the loop in C++.
fn in_cpp(iterations: u32) -> (u64, Duration) {
    let mut soc = fresh_soc();
    let t = Instant::now();
    let cycles = soc.bench_memcpy_loop(SRC, DST, LEN, iterations);
    (cycles, t.elapsed())
}

/// (b): the same sequence from Rust, one Device call per register access.
fn from_rust(iterations: u32) -> (u64, Duration) {
    let r = DmacRegs::from_regs();
    let mut soc = fresh_soc();
    let t = Instant::now();
    let start = soc.now();
    for _ in 0..iterations {
        soc.write32(r.src, SRC);
        soc.write32(r.dst, DST);
        soc.write32(r.len, LEN);
        soc.write32(r.ctrl, r.ctrl_start_irq);
        assert!(
            soc.wait_irq(u64::MAX),
            "no interrupt: {}",
            soc.describe_state()
        );
        soc.write32(r.status, r.status_clear);
    }
    (soc.now() - start, t.elapsed())
}

fn rate(cycles: u64, d: Duration) -> f64 {
    cycles as f64 / d.as_secs_f64()
}

fn main() {
    // Size the run for about one second of (a).
    let (c, d) = in_cpp(5);
    let per_iter = d.as_secs_f64() / 5.0;
    let iterations = ((1.0 / per_iter) as u32).max(10);
    println!(
        "memcpy {LEN} B, CPU load 50 %, {iterations} iterations ({} cycles each)",
        c / 5
    );

    // Alternate the two, three rounds each, and keep each one's best: the machine is shared.
    let (mut best_a, mut best_b) = (Duration::MAX, Duration::MAX);
    let (mut ca, mut cb) = (0, 0);
    for _ in 0..3 {
        let (c, d) = in_cpp(iterations);
        (ca, best_a) = (c, best_a.min(d));
        let (c, d) = from_rust(iterations);
        (cb, best_b) = (c, best_b.min(d));
    }
    assert_eq!(ca, cb, "both loops must simulate the same cycles");
    let (ra, rb) = (rate(ca, best_a), rate(cb, best_b));
    println!(
        "(a) C++ loop:          {ca} cycles in {:.3} s = {:.2} M cycles/s",
        best_a.as_secs_f64(),
        ra / 1e6
    );
    println!(
        "(b) Rust Device calls: {cb} cycles in {:.3} s = {:.2} M cycles/s",
        best_b.as_secs_f64(),
        rb / 1e6
    );
    println!("(b)/(a) = {:.3}", rb / ra);
}
