//! Writes the register map (generated from the `regs` crate) into README.md between
//! `<!-- regmap:begin -->` and `<!-- regmap:end -->`, and prints it.
//! `cargo run -p testbench --bin regmap`

fn main() {
    let table = testbench::register_map_markdown();
    print!("{table}");
    if let Err(e) = testbench::update_readme_block("regmap", &table) {
        eprintln!("README not updated: {e}");
        std::process::exit(1);
    }
}
