//! Verilates `rtl/verilog/soc_sim.v`, archives the model with the Verilator runtime it needs into
//! `libvtop.a`, and compiles the C++ harness with its cxx bridge.
//!
//! Verilator 5.006 with `--cc --build` (no `--exe`) builds only `Vtop__ALL.a` and no runtime, so
//! the runtime objects are asked from the generated makefile (`debug-make`), built through it,
//! and archived together with the model.

use std::env;
use std::path::PathBuf;
use std::process::Command;

const TOP: &str = "top";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let trace = env::var_os("CARGO_FEATURE_TRACE").is_some();
    let verilog = manifest_dir.join("../rtl/verilog/soc_sim.v");

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", verilog.display());
    println!("cargo:rerun-if-changed=src/lib.rs");
    println!("cargo:rerun-if-changed=cpp/harness.h");
    println!("cargo:rerun-if-changed=cpp/harness.cpp");

    let root = verilator_root();
    if !verilog.exists() {
        panic!(
            "{} does not exist: generate the SoC's Verilog first (rtl crate)",
            verilog.display()
        );
    }

    // --- Verilate and build the model -------------------------------------------------------
    let model_dir = out_dir.join("vtop");
    if model_dir.exists() {
        std::fs::remove_dir_all(&model_dir).unwrap();
    }
    let jobs = env::var("NUM_JOBS").unwrap_or_else(|_| "1".into());
    let mut verilator = Command::new("verilator");
    verilator
        .args(["--cc", "--build", "-j", &jobs])
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
        .args(["--top-module", TOP, "--Mdir"])
        .arg(&model_dir);
    if trace {
        verilator.arg("--trace-fst");
    }
    verilator.arg(&verilog);
    run(&mut verilator, "verilator");

    // --- Runtime objects, as the generated makefile lists them ------------------------------
    let mk = format!("V{TOP}.mk");
    let listing = run(
        Command::new("make")
            .current_dir(&model_dir)
            .args(["-f", &mk, "debug-make"]),
        "make debug-make",
    );
    let field = |name: &str| -> Vec<String> {
        listing
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
            .unwrap_or_else(|| panic!("`make debug-make` did not list {name}:\n{listing}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    let model_objs = field("VK_OBJS");
    let runtime_objs: Vec<String> = field("VM_GLOBAL_FAST")
        .into_iter()
        .chain(field("VM_GLOBAL_SLOW"))
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

    // --- Harness and bridge -----------------------------------------------------------------
    let include = root.join("include");
    let mut build = cxx_build::bridge("src/lib.rs");
    build
        .file("cpp/harness.cpp")
        .std("c++17")
        .opt_level(2)
        .include(&model_dir)
        // Verilator's headers as system headers: their warnings are not ours.
        .flag("-isystem")
        .flag(include.to_str().unwrap())
        .flag("-isystem")
        .flag(include.join("vltstd").to_str().unwrap())
        // The same configuration macros the model was compiled with.
        .define("VM_COVERAGE", "0")
        .define("VM_SC", "0")
        .define("VM_TRACE", if trace { "1" } else { "0" })
        .define("VM_TRACE_FST", if trace { "1" } else { "0" })
        .define("VM_TRACE_VCD", "0");
    if trace {
        build.define("SIM_TRACE", "1");
    }
    build.compile("sim-harness");

    // Order matters for the static archives: bridge (above) -> model/runtime -> z -> pthread -> atomic.
    println!("cargo:rustc-link-search=native={}", model_dir.display());
    println!("cargo:rustc-link-lib=static=vtop");
    if trace {
        println!("cargo:rustc-link-lib=z");
    }
    println!("cargo:rustc-link-lib=pthread");
    println!("cargo:rustc-link-lib=atomic");
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
