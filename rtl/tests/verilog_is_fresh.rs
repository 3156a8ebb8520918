//! The committed Verilog must be exactly what the rust-hdl sources generate today.

use std::path::Path;

#[test]
fn committed_verilog_matches_generated() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (file, config) in rtl::VERILOG_FILES {
        let committed = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}; run `cargo run -p rtl --bin gen-verilog`"));
        let fresh = rtl::generate_verilog_for(*config);
        assert!(
            committed == fresh,
            "{file} is stale: run `cargo run -p rtl --bin gen-verilog` and commit the result"
        );
    }
}

#[test]
fn committed_board_verilog_matches_generated() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (file, board, soc) in rtl::BOARD_VERILOG_FILES {
        let committed = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}; run `cargo run -p rtl --bin gen-verilog`"));
        assert!(
            committed == rtl::board::board_verilog_with(*board, *soc),
            "{file} is stale: run `cargo run -p rtl --bin gen-verilog` and commit the result"
        );
    }
}

#[test]
fn committed_nic_verilog_matches_generated() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (file, config) in rtl::NIC_VERILOG_FILES {
        let committed = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}; run `cargo run -p rtl --bin gen-verilog`"));
        assert!(
            committed == rtl::generate_nic_verilog_for(*config),
            "{file} is stale: run `cargo run -p rtl --bin gen-verilog` and commit the result"
        );
    }
}
