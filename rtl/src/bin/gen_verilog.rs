//! Writes the committed Verilog files (`rtl/verilog/*.v`) from the rust-hdl sources.
//! `cargo run -p rtl --bin gen-verilog`

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (file, config) in rtl::VERILOG_FILES {
        let path = root.join(file);
        let text = rtl::generate_verilog_for(*config);
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        println!(
            "wrote {} ({} lines, RAM {} bytes)",
            path.display(),
            text.lines().count(),
            config.bytes()
        );
    }
    for (file, board, soc) in rtl::BOARD_VERILOG_FILES {
        let path = root.join(file);
        let text = rtl::board::board_verilog_with(*board, *soc);
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        println!(
            "wrote {} ({} lines, board {})",
            path.display(),
            text.lines().count(),
            board.name
        );
    }
}
