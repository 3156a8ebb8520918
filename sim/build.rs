//! Verilates `rtl/verilog/soc_sim.v` (prefix `Vtop`) and the Alchitry Cu board top
//! `rtl/verilog/board_alchitry_cu.v` (prefix `Vboard`), archives the SoC model with the Verilator
//! runtime both need into `libvtop.a` and the board model into `libvboard.a`, and compiles the
//! C++ harnesses with their cxx bridges.
//!
//! Verilator 5.006 with `--cc --build` (no `--exe`) builds only `Vtop__ALL.a` and no runtime, so
//! the runtime objects are asked from the generated makefile (`debug-make`), built through it,
//! and archived together with the model.

use std::env;
use std::path::PathBuf;
use std::process::Command;

const TOP: &str = "top";
/// The Verilog top module of both files (rust-hdl names it `top`); the C++ class prefixes differ.
const BOARD_PREFIX: &str = "Vboard";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let trace = env::var_os("CARGO_FEATURE_TRACE").is_some();
    let verilog = manifest_dir.join("../rtl/verilog/soc_sim.v");
    let board_verilog = manifest_dir.join("../rtl/verilog/board_alchitry_cu.v");

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", verilog.display());
    println!("cargo:rerun-if-changed={}", board_verilog.display());
    println!("cargo:rerun-if-changed=src/board.rs");
    println!("cargo:rerun-if-changed=cpp/board.h");
    println!("cargo:rerun-if-changed=cpp/board.cpp");
    println!("cargo:rerun-if-changed=src/lib.rs");
    println!("cargo:rerun-if-changed=cpp/harness.h");
    println!("cargo:rerun-if-changed=cpp/harness.cpp");

    let root = verilator_root();
    for v in [&verilog, &board_verilog] {
        if !v.exists() {
            panic!(
                "{} does not exist: generate the Verilog first (cargo run -p rtl --bin gen-verilog)",
                v.display()
            );
        }
    }
    let jobs = env::var("NUM_JOBS").unwrap_or_else(|_| "1".into());

    // --- Verilate and build the models ------------------------------------------------------
    let model_dir = out_dir.join("vtop");
    verilate(&verilog, &format!("V{TOP}"), &model_dir, &jobs, trace);
    let board_dir = out_dir.join("vboard");
    verilate(&board_verilog, BOARD_PREFIX, &board_dir, &jobs, trace);

    // --- Runtime objects, as the generated makefile lists them ------------------------------
    let mk = format!("V{TOP}.mk");
    let listing = debug_make(&model_dir, &mk);
    let model_objs = make_field(&listing, "VK_OBJS");
    let runtime_objs: Vec<String> = make_field(&listing, "VM_GLOBAL_FAST")
        .into_iter()
        .chain(make_field(&listing, "VM_GLOBAL_SLOW"))
        .map(|o| format!("{o}.o"))
        .collect();
    run(
        Command::new("make")
            .current_dir(&model_dir)
            .args(["-j", &jobs, "-f", &mk, "OPT_GLOBAL=-O2"])
            .args(&runtime_objs),
        "make (Verilator runtime)",
    );

    let lib = model_dir.join("libvtop.a");
    run(
        Command::new(env::var("AR").unwrap_or_else(|_| "ar".into()))
            .current_dir(&model_dir)
            .arg("crs")
            .arg(&lib)
            .args(&model_objs)
            .args(&runtime_objs),
        "ar",
    );
    // The board model alone: the runtime is in libvtop.a (same flags, same Verilator).
    let board_listing = debug_make(&board_dir, &format!("{BOARD_PREFIX}.mk"));
    run(
        Command::new(env::var("AR").unwrap_or_else(|_| "ar".into()))
            .current_dir(&board_dir)
            .arg("crs")
            .arg(board_dir.join("libvboard.a"))
            .args(make_field(&board_listing, "VK_OBJS")),
        "ar (board)",
    );

    // --- Harnesses and bridges --------------------------------------------------------------
    let include = root.join("include");
    let mut build = cxx_build::bridges(["src/lib.rs", "src/board.rs"]);
    build
        .file("cpp/harness.cpp")
        .file("cpp/board.cpp")
        .std("c++17")
        .opt_level(2)
        .include(&model_dir)
        .include(&board_dir)
        // Verilator's headers as system headers: their warnings are not ours.
        .flag("-isystem")
        .flag(include.to_str().unwrap())
        .flag("-isystem")
        .flag(include.join("vltstd").to_str().unwrap())
        // The same configuration macros the models were compiled with.
        .define("VM_COVERAGE", "0")
        .define("VM_SC", "0")
        .define("VM_TRACE", if trace { "1" } else { "0" })
        .define("VM_TRACE_FST", if trace { "1" } else { "0" })
        .define("VM_TRACE_VCD", "0");
    if trace {
        build.define("SIM_TRACE", "1");
    }
    build.compile("sim-harness");

    // Order matters for the static archives: bridge (above) -> models -> runtime -> z -> pthread -> atomic.
    println!("cargo:rustc-link-search=native={}", board_dir.display());
    println!("cargo:rustc-link-lib=static=vboard");
    println!("cargo:rustc-link-search=native={}", model_dir.display());
    println!("cargo:rustc-link-lib=static=vtop");
    if trace {
        println!("cargo:rustc-link-lib=z");
    }
    println!("cargo:rustc-link-lib=pthread");
    println!("cargo:rustc-link-lib=atomic");
}

/// Verilates `verilog` (top module `top`) into `dir` with class prefix `prefix` and builds the
/// model's own objects (not the runtime).
fn verilate(
    verilog: &std::path::Path,
    prefix: &str,
    dir: &std::path::Path,
    jobs: &str,
    trace: bool,
) {
    if dir.exists() {
        std::fs::remove_dir_all(dir).unwrap();
    }
    let mut verilator = Command::new("verilator");
    verilator
        .args(["--cc", "--build", "-j", jobs])
        .args([
            "-O3",
            "--x-assign",
            "fast",
            "--x-initial",
            "fast",
            "--noassert",
        ])
        // The default OPT_FAST is -Os, which costs about 30 % of simulation speed.
        .args(["-MAKEFLAGS", "OPT_FAST=-O2"])
        // The model is linked into Rust binaries; keep it position independent.
        .args(["-CFLAGS", "-fPIC"])
        // rust-hdl's output assigns narrower/wider expressions without casts...
        .arg("-Wno-WIDTH")
        // ...and has combinational paths through vectors that Verilator cannot split.
        .arg("-Wno-UNOPTFLAT")
        .args(["--top-module", TOP, "--prefix", prefix, "--Mdir"])
        .arg(dir);
    if trace {
        verilator.arg("--trace-fst");
    }
    verilator.arg(verilog);
    run(&mut verilator, "verilator");
}

/// `make debug-make` of a generated makefile: its variable listing.
fn debug_make(dir: &std::path::Path, mk: &str) -> String {
    run(
        Command::new("make")
            .current_dir(dir)
            .args(["-f", mk, "debug-make"]),
        "make debug-make",
    )
}

/// The words of variable `name` in a `debug-make` listing.
fn make_field(listing: &str, name: &str) -> Vec<String> {
    listing
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .unwrap_or_else(|| panic!("`make debug-make` did not list {name}:\n{listing}"))
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Where Verilator keeps its runtime; panics with the setup hint when Verilator is missing.
fn verilator_root() -> PathBuf {
    let out = Command::new("verilator")
        .arg("--getenv")
        .arg("VERILATOR_ROOT")
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let root = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            let version = Command::new("verilator").arg("--version").output().ok();
            let version = version.map(|v| String::from_utf8_lossy(&v.stdout).into_owned());
            if !version.as_deref().unwrap_or("").starts_with("Verilator 5") {
                println!("cargo:warning=sim is written for Verilator 5.006; found {version:?}");
            }
            root
        }
        _ => panic!(
            "verilator was not found (or does not run). The sim crate needs Verilator 5: run \
             `make setup` in the workspace root to install it."
        ),
    }
}

/// Runs a command, returning its stdout; on failure panics with everything it printed.
fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        panic!(
            "{what} failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    stdout
}
