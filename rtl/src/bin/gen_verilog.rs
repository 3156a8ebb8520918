//! Writes the committed Verilog files (`rtl/verilog/*.v`) from the rust-hdl sources:
//! `cargo run -p rtl --bin gen-verilog`. With `--fpga DIR` it writes instead the SoC
//! configurations only the FPGA flows and the lint read (`rtl::FPGA_VERILOG_FILES`) into DIR.

use std::path::{Path, PathBuf};

fn write(path: &Path, text: &str, what: String) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    println!(
        "wrote {} ({} lines, {what})",
        path.display(),
        text.lines().count()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => {}
        [flag, dir] if flag == "--fpga" => {
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir)
                .unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
            for (file, config) in rtl::FPGA_VERILOG_FILES {
                let text = rtl::generate_verilog_for(*config);
                write(
                    &dir.join(file),
                    &text,
                    format!("RAM {} bytes", config.bytes()),
                );
            }
            return;
        }
        _ => {
            eprintln!("usage: gen-verilog [--fpga DIR]");
            std::process::exit(2);
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (file, config) in rtl::VERILOG_FILES {
        let text = rtl::generate_verilog_for(*config);
        write(
            &root.join(file),
            &text,
            format!("RAM {} bytes", config.bytes()),
        );
    }
    for (file, config) in rtl::NIC_VERILOG_FILES {
        let text = rtl::generate_nic_verilog_for(*config);
        write(&root.join(file), &text, "the NIC alone".into());
    }
    for (file, board, soc) in rtl::BOARD_VERILOG_FILES {
        let text = rtl::board::board_verilog_with(*board, *soc);
        write(&root.join(file), &text, format!("board {}", board.name));
    }
}
