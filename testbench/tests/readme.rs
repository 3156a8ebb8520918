//! The README's generated blocks that need no simulation are current.

#[test]
fn readme_register_map_is_current() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let block = readme
        .split("<!-- regmap:begin -->\n")
        .nth(1)
        .and_then(|s| s.split("<!-- regmap:end -->").next())
        .expect("README.md has a regmap block");
    assert!(
        block.trim() == testbench::register_map_markdown().trim(),
        "README register map is stale: run `cargo run -p testbench --bin regmap`"
    );
}

#[test]
fn readme_board_pin_tables_are_current() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    for board in regs::board::BOARDS {
        let begin = format!("<!-- pins-{}:begin -->\n", board.name);
        let block = readme
            .split(begin.as_str())
            .nth(1)
            .and_then(|s| s.split(&format!("<!-- pins-{}:end -->", board.name)).next())
            .unwrap_or_else(|| panic!("README.md has no pins-{} block", board.name));
        let want = rtl::board::pcf::markdown(rtl::board::board_pins(*board));
        assert!(
            block.trim() == want.trim(),
            "README pin table of {} is stale: run `cargo run -p testbench --bin regmap`",
            board.name
        );
    }
}

#[test]
fn readme_uart_protocol_table_is_current() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let block = readme
        .split("<!-- uart-protocol:begin -->\n")
        .nth(1)
        .and_then(|s| s.split("<!-- uart-protocol:end -->").next())
        .expect("README.md has a uart-protocol block");
    assert!(
        block.trim() == testbench::uart_protocol_markdown().trim(),
        "README UART protocol table is stale: run `cargo run -p testbench --bin regmap`"
    );
}
