//! Writes one board's build files: `gen-board BOARD OUTDIR` → OUTDIR/top.v, top.pcf, board.env.
//! `make fpga BOARD=...` runs it (scripts/fpga.sh); the boards are `regs::board::BOARDS`.
//! The ECP5 boards (`regs::board::ECP5_BOARDS`) get top.lpf instead of top.pcf.
//! `gen-board ecp5-25k OUTDIR` writes the ECP5 synthesis top (`make synth-ecp5`,
//! scripts/synth_ecp5.sh): top.v and board.env, no pin file.

use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ecp5 = regs::board::ECP5_25K;
    let mut names: Vec<&str> = regs::board::BOARDS
        .iter()
        .chain(regs::board::ECP5_BOARDS)
        .map(|b| b.name)
        .collect();
    names.push(ecp5.name);
    let (Some(name), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!(
            "usage: gen-board BOARD OUTDIR   (boards: {})",
            names.join(", ")
        );
        std::process::exit(2);
    };
    let board = if name == ecp5.name {
        Some(ecp5)
    } else {
        regs::board::by_name(name)
    };
    let Some(board) = board else {
        eprintln!(
            "gen-board: unknown board {name:?} (boards: {})",
            names.join(", ")
        );
        std::process::exit(2);
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    let (files, pins) = if board == ecp5 {
        (rtl::board::generate_ecp5(), 0)
    } else {
        let pins = rtl::board::board_pins(board).len();
        (rtl::board::generate(board), pins)
    };
    for (file, text) in [
        ("top.v", &files.verilog),
        ("top.pcf", &files.pcf),
        ("top.lpf", &files.lpf),
        ("board.env", &files.env),
    ] {
        if text.is_empty() {
            continue;
        }
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
    println!(
        "gen-board: {} → {} (top.v {} lines, {} pins)",
        board.name,
        dir.display(),
        files.verilog.lines().count(),
        if pins == 0 {
            "unplaced".to_string()
        } else {
            pins.to_string()
        }
    );
}
