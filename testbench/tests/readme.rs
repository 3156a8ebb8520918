//! The generated blocks of the README and the docs pages that need no simulation are current.

fn block(name: &str) -> String {
    testbench::generated_block(name)
        .unwrap_or_else(|e| panic!("{e}"))
        .1
}

#[test]
fn register_map_is_current() {
    assert!(
        block("regmap").trim() == testbench::register_map_markdown().trim(),
        "the register map is stale: run `cargo run -p testbench --bin regmap`"
    );
}

#[test]
fn board_pin_tables_are_current() {
    for board in regs::board::BOARDS {
        let want = rtl::board::pcf::markdown(rtl::board::board_pins(*board));
        assert!(
            block(&format!("pins-{}", board.name)).trim() == want.trim(),
            "the pin table of {} is stale: run `cargo run -p testbench --bin regmap`",
            board.name
        );
    }
}

#[test]
fn uart_protocol_table_is_current() {
    assert!(
        block("uart-protocol").trim() == testbench::uart_protocol_markdown().trim(),
        "the UART protocol table is stale: run `cargo run -p testbench --bin regmap`"
    );
}
