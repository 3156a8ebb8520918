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
