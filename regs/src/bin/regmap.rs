//! Prints the register map as Markdown and, with `--readme`, writes it into README.md between
//! `<!-- regmap:begin -->` and `<!-- regmap:end -->`. `cargo run -p regs --bin regmap -- --readme`

use regs::{RamConfig, CSR_BASE, REGISTERS};

fn table() -> String {
    let mut s = format!(
        "Host port memory map: RAM at `0x00000000` ({} KiB in simulation, {} KiB on the FPGA); \
         CSRs at `{CSR_BASE:#010x}`; anything else reads 0 and counts in `SYS.HOST_ERRORS`.\n\n",
        RamConfig::SIM.bytes() / 1024,
        RamConfig::FPGA.bytes() / 1024
    );
    s += "| address | register | access | reset | description |\n|---|---|---|---|---|\n";
    for r in REGISTERS {
        let reset = if (r.block, r.name) == ("SYS", "RAM_BYTES") {
            "RAM size".to_string()
        } else {
            format!("`{:#x}`", r.reset)
        };
        s += &format!(
            "| `{:#010x}` | {}.{} | {} | {} | {} |\n",
            r.address(),
            r.block,
            r.name,
            r.access.name(),
            reset,
            r.doc
        );
    }
    s
}

fn main() {
    let text = table();
    if std::env::args().any(|a| a == "--readme") {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
        let readme = std::fs::read_to_string(path).expect("README.md");
        let (b, e) = ("<!-- regmap:begin -->", "<!-- regmap:end -->");
        let (Some(i), Some(j)) = (readme.find(b), readme.find(e)) else {
            eprintln!("README.md has no {b} ... {e} block");
            std::process::exit(1);
        };
        std::fs::write(
            path,
            format!("{}{b}\n{}{}", &readme[..i], text, &readme[j..]),
        )
        .expect("write README.md");
        println!(
            "README.md register map updated ({} registers)",
            REGISTERS.len()
        );
    } else {
        print!("{text}");
    }
}

#[cfg(test)]
mod tests {
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
            block == super::table(),
            "README register map is stale: run `cargo run -p regs --bin regmap -- --readme`"
        );
    }
}
