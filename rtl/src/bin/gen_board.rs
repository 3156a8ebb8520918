//! Writes one board's build files: `gen-board BOARD OUTDIR` → OUTDIR/top.v, top.pcf, board.env.
//! `make fpga BOARD=...` runs it (scripts/fpga.sh); the boards are `regs::board::BOARDS`.

use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let names: Vec<&str> = regs::board::BOARDS.iter().map(|b| b.name).collect();
    let (Some(name), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!(
            "usage: gen-board BOARD OUTDIR   (boards: {})",
            names.join(", ")
        );
        std::process::exit(2);
    };
    let Some(board) = regs::board::by_name(name) else {
        eprintln!(
            "gen-board: unknown board {name:?} (boards: {})",
            names.join(", ")
        );
        std::process::exit(2);
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    let files = rtl::board::generate(board);
    for (file, text) in [
        ("top.v", &files.verilog),
        ("top.pcf", &files.pcf),
        ("board.env", &files.env),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
    println!(
        "gen-board: {} → {} (top.v {} lines, {} pins)",
        board.name,
        dir.display(),
        files.verilog.lines().count(),
        rtl::board::board_pins(board).len()
    );
}
