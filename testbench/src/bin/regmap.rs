//! Writes the register map (generated from the `regs` crate) into docs/register-map.md between
//! `<!-- regmap:begin -->` and `<!-- regmap:end -->`, and each board's pin table (from
//! `rtl::board`) between `<!-- pins-BOARD:begin -->` and `<!-- pins-BOARD:end -->`, and the
//! UART bridge's protocol table between `<!-- uart-protocol:begin -->` and its end marker, and
//! each register block's table into its docs page (`<!-- regs-BLOCK:begin -->`).
//! `cargo run -p testbench --bin regmap`

fn main() {
    let table = testbench::register_map_markdown();
    print!("{table}");
    let mut blocks = vec![
        ("regmap".to_string(), table),
        (
            "uart-protocol".to_string(),
            testbench::uart_protocol_markdown(),
        ),
    ];
    for (block, _) in testbench::REGISTER_PAGES {
        blocks.push((
            format!("regs-{}", block.to_lowercase()),
            testbench::register_block_markdown(block),
        ));
    }
    for board in rtl::board::PIN_TABLE_BOARDS {
        blocks.push((
            format!("pins-{}", board.name),
            rtl::board::pcf::markdown(&rtl::board::board_pins(*board)),
        ));
    }
    for (name, body) in blocks {
        if let Err(e) = testbench::update_doc_block(&name, &body) {
            eprintln!("not updated: {e}");
            std::process::exit(1);
        }
    }
}
