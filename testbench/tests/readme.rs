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
    for board in rtl::board::PIN_TABLE_BOARDS {
        let want = rtl::board::pcf::markdown(&rtl::board::board_pins(*board));
        assert!(
            block(&format!("pins-{}", board.name)).trim() == want.trim(),
            "the pin table of {} is stale: run `cargo run -p testbench --bin regmap`",
            board.name
        );
    }
}

#[test]
fn each_block_pages_register_table_is_current() {
    for (b, page) in testbench::REGISTER_PAGES {
        let name = format!("regs-{}", b.to_lowercase());
        let (path, text) = testbench::generated_block(&name).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            path.ends_with(format!("docs/{page}.md")),
            "{name} is in {}",
            path.display()
        );
        assert!(
            text.trim() == testbench::register_block_markdown(b).trim(),
            "the {b} register table in docs/{page}.md is stale: run `cargo run -p testbench --bin regmap`"
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
