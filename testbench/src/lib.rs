//! Testbench for the DMA NIC SoC: helpers and scoreboards shared by the system tests
//! (`tests/`), the arbitration study ([`study`]) and the benchmark (`src/bin/bench.rs`).
//!
//! Everything here drives the Verilator model through the `sim` crate and the real driver; the
//! checks look at the observation pins (through the harness's [`sim::Observed`] counters and
//! write log), never at the hardware's own idea of what happened.

// The wire-level models (frames, pcap, phy) and the save-file writer (waves), used by the
// system tests and by `dmanic-sim`.
pub mod frames;
pub mod iommu_bench;
pub mod iommu_check;
pub mod iommu_model;
pub mod nic_bench;
pub mod pcap;
pub mod phy;
pub mod speed;
pub mod study;
pub mod waves;

use driver::arb::ArbCounters;
use sim::{BusWrite, CpuWorkload, Observed, Soc};
use std::ops::Range;

/// Where the synthetic CPU's cache misses go: the last 64 KiB of the simulated RAM. Tests keep
/// their DMA buffers below it.
pub const WORKLOAD_BASE: u32 = regs::SocConfig::SIM.bytes() - 0x1_0000;
pub const WORKLOAD_SPAN_WORDS: u32 = 0x1_0000 / 4;

/// A CPU that needs the bus in `load_pct` percent of its instructions (0 = runs from its cache
/// only, still counting its work).
pub fn cpu_load(load_pct: u32, seed: u32) -> CpuWorkload {
    assert!(load_pct <= 100);
    CpuWorkload {
        enabled: true,
        load_per_65536: load_pct * 65536 / 100,
        seed,
        base: WORKLOAD_BASE,
        span_words: WORKLOAD_SPAN_WORDS,
    }
}

/// A fresh model, checked to be the SoC the driver expects.
///
/// With `DMANIC_TRACE=dir` it writes its waveform to `dir/<test>.fst` with a GTKWave save file
/// `dir/<test>.gtkw` beside it, named after the test that made it (the test thread's name;
/// `-2`, `-3`, ... for a test's further models), so a failing system test can be looked at:
/// `DMANIC_TRACE=out/waves cargo test --features sim/trace -p testbench --test nic <test>`.
pub fn new_soc() -> Soc {
    let mut soc = match std::env::var_os("DMANIC_TRACE") {
        Some(dir) => {
            // Relative to the workspace root (cargo runs tests in the package's directory).
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            traced_soc(&root.join(dir))
        }
        None => Soc::new(),
    };
    let info = driver::sys::probe(&mut soc).expect("SoC identification");
    assert_eq!(info.ram_bytes, regs::SocConfig::SIM.bytes());
    soc
}

/// A model tracing to `dir/<test>.fst`, with its save file (see [`new_soc`]).
fn traced_soc(dir: &std::path::Path) -> Soc {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static MODELS: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);
    if !sim::TRACE {
        panic!(
            "DMANIC_TRACE is set but this build cannot write waveforms: add --features sim/trace"
        );
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("main")
        .replace("::", ".")
        .replace(
            |c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)),
            "_",
        );
    let n = {
        let mut models = MODELS.lock().unwrap_or_else(|e| e.into_inner());
        let k = models
            .get_or_insert_with(HashMap::new)
            .entry(test.clone())
            .or_insert(0);
        *k += 1;
        *k
    };
    let stem = if n == 1 { test } else { format!("{test}-{n}") };
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("DMANIC_TRACE {}: {e}", dir.display()));
    let dir = std::path::absolute(dir).expect("absolute trace directory");
    let fst = dir.join(format!("{stem}.fst"));
    let gtkw = dir.join(format!("{stem}.gtkw"));
    let filters = crate::waves::write_filters(&dir).unwrap_or_else(|e| panic!("{e}"));
    let view = crate::waves::View {
        first: 0,
        lead_cycles: 0,
        zoom: crate::waves::ZOOM,
        top_group: None,
        markers: &[],
    };
    let text = crate::waves::save_file(&fst, &gtkw, &filters, &view, "testbench::new_soc");
    std::fs::write(&gtkw, text).unwrap_or_else(|e| panic!("{}: {e}", gtkw.display()));
    eprintln!(
        "DMANIC_TRACE: {} (gtkwave {})",
        fst.display(),
        gtkw.display()
    );
    Soc::with_trace(&fst)
}

/// A SoC with the DMA layer up, owning the page allocator (the CPU workload's region
/// reserved; reach it through [`Dma::mm_mut`](driver::dma::Dma::mm_mut)), ready for a driver:
/// what every system test that goes through the DMA API starts from.
pub fn soc_with_dma(cfg: driver::dma::DmaConfig) -> (Soc, driver::dma::Dma) {
    let mut soc = new_soc();
    let mut mm = driver::PageAllocator::from_device(&mut soc).expect("allocator");
    mm.reserve(WORKLOAD_BASE, 0x1_0000 / regs::PAGE_BYTES)
        .expect("workload region");
    let dma = driver::dma::Dma::init(&mut soc, mm, cfg).expect("DMA layer");
    (soc, dma)
}

/// Where the IOMMU itself may write, as the driver set it up: the fault-queue ring (its
/// records) and the driver's fence word (the last word of the command queue's page).
pub fn iommu_writable(soc: &mut Soc) -> Vec<Range<u32>> {
    use driver::Device;
    use regs::{block, csr, iommu as hw, PAGE_BYTES};
    let fqb = soc.read32(csr(block::IOMMU, hw::FQB));
    let fq = (fqb >> 10) << 12;
    let records = 2u32 << (fqb & hw::qb::LOG2SZM1_MASK);
    let cq_page_end = ((soc.read32(csr(block::IOMMU, hw::CQB)) >> 10) << 12) + PAGE_BYTES;
    vec![
        fq..fq + records * hw::fault::BYTES,
        cq_page_end - 4..cq_page_end,
    ]
}

/// Every DMA write beat in `log` lands inside one of `allowed` (byte ranges); returns the
/// offending beats otherwise. The log comes from the bus pins, so this is the testbench's own
/// observation of "no stray write".
pub fn stray_dma_writes(log: &[BusWrite], allowed: &[Range<u32>]) -> Vec<BusWrite> {
    log.iter()
        .filter(|w| w.dma && !allowed.iter().any(|r| r.contains(&w.addr)))
        .copied()
        .collect()
}

/// Compares the arbiter's counters (read by CSR) with what the harness saw on the pins.
///
/// The counters were read one by one after the work was done: while the reads run, only the
/// free-running `total_cycles` and `idle_cycles` move (CSR reads do not use the RAM bus), so
/// those two must lie between the pin counts taken before and after the reads; the others must
/// be equal.
pub fn check_counters(hw: &ArbCounters, before: &Observed, after: &Observed) -> Result<(), String> {
    let mut errors = vec![];
    let mut exact = |name: &str, hw: u64, pins_before: u64, pins_after: u64| {
        if pins_before != pins_after || hw != pins_after {
            errors.push(format!(
                "{name}: counter {hw}, pins {pins_before}..{pins_after}"
            ));
        }
    };
    exact(
        "cpu_req_cycles",
        hw.cpu_req_cycles,
        before.cpu_req_cycles,
        after.cpu_req_cycles,
    );
    exact(
        "cpu_stall_cycles",
        hw.cpu_stall_cycles,
        before.cpu_stall_cycles,
        after.cpu_stall_cycles,
    );
    exact(
        "cpu_worst_wait",
        hw.cpu_worst_wait,
        before.cpu_worst_wait,
        after.cpu_worst_wait,
    );
    exact("dma_beats", hw.dma_beats, before.dma_beats, after.dma_beats);
    exact(
        "dma_wait_cycles",
        hw.dma_wait_cycles,
        before.dma_wait_cycles,
        after.dma_wait_cycles,
    );
    exact(
        "dma_longest_hold",
        hw.dma_longest_hold,
        before.dma_longest_hold,
        after.dma_longest_hold,
    );
    let mut between = |name: &str, hw: u64, lo: u64, hi: u64| {
        if !(lo..=hi).contains(&hw) {
            errors.push(format!("{name}: counter {hw}, pins {lo}..{hi}"));
        }
    };
    between(
        "total_cycles",
        hw.total_cycles,
        before.total_cycles,
        after.total_cycles,
    );
    between(
        "idle_cycles",
        hw.idle_cycles,
        before.idle_cycles,
        after.idle_cycles,
    );
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Clears the hardware counters and the harness's pin counters at the same cycle boundary.
pub fn clear_all_counters(soc: &mut Soc) {
    driver::arb::clear_counters(soc);
    soc.clear_observed();
}

/// Reads the hardware counters and returns them with the pin counts before and after.
pub fn read_counters(soc: &mut Soc) -> (ArbCounters, Observed, Observed) {
    let before = soc.observed();
    let hw = driver::arb::read_counters(soc);
    let after = soc.observed();
    (hw, before, after)
}

/// The Markdown file (README.md or a page of docs/) holding the generated block `NAME`
/// (`<!-- NAME:begin -->` ... `<!-- NAME:end -->`), and the block's text between the markers.
/// Exactly one file may hold it.
pub fn generated_block(name: &str) -> Result<(std::path::PathBuf, String), String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = vec![root.join("README.md")];
    let mut pages: Vec<_> = std::fs::read_dir(root.join("docs"))
        .map_err(|e| format!("docs/: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.sort();
    files.extend(pages);
    let (begin, end) = (
        format!("<!-- {name}:begin -->\n"),
        format!("<!-- {name}:end -->"),
    );
    let mut found = vec![];
    for path in files {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(b) = text.find(&begin) {
            let rest = &text[b + begin.len()..];
            let e = rest
                .find(&end)
                .ok_or_else(|| format!("{}: {begin} without {end}", path.display()))?;
            found.push((path.clone(), rest[..e].to_owned()));
        }
    }
    match found.len() {
        1 => Ok(found.pop().expect("one")),
        0 => Err(format!("no README.md or docs/ page has a {name} block")),
        _ => Err(format!("more than one file has a {name} block")),
    }
}

/// Replaces the generated block `NAME` (in the README or the docs page that holds it, see
/// [`generated_block`]) with `body`, so the documents' numbers are always the last command's
/// output, never edited by hand.
pub fn update_doc_block(name: &str, body: &str) -> Result<(), String> {
    let (path, old) = generated_block(name)?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let begin = format!("<!-- {name}:begin -->\n");
    let at = text.find(&begin).expect("found before") + begin.len();
    let new = format!(
        "{}{}\n{}",
        &text[..at],
        body.trim(),
        &text[at + old.len()..]
    );
    std::fs::write(&path, new).map_err(|e| format!("{}: {e}", path.display()))
}

/// A transfer size from the command line (`study --sizes`, `bench --sizes`): a non-zero
/// multiple of 4 bytes, at most a quarter of the simulation's RAM (source and destination
/// buffers and the CPU workload's region must fit).
pub fn parse_transfer_size(s: &str) -> Result<u32, String> {
    let n: u32 = s.parse().map_err(|e| format!("{e}"))?;
    let most = regs::SocConfig::SIM.bytes() / 4;
    if n == 0 || !n.is_multiple_of(4) || n > most {
        return Err(format!("{n} is not a non-zero multiple of 4 up to {most}"));
    }
    Ok(n)
}

/// `reports/` at the workspace root.
pub fn reports_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports");
    std::fs::create_dir_all(&dir).expect("create reports/");
    dir
}

/// The UART bridge's wire protocol as Markdown, generated from `regs::uart_bridge` (the
/// protocol table in docs/fpga.md).
pub fn uart_protocol_markdown() -> String {
    use regs::uart_bridge::*;
    let mut s = format!(
        "Protocol version {PROTOCOL_VERSION}. Frame: `SYNC` ({SYNC:#04x}), CMD, TAG, fields, \
         CRC (2). Reply: `REPLY_SYNC` ({REPLY_SYNC:#04x}), STATUS, TAG, payload (OK only), \
         CRC (2). CRC-16/CCITT-FALSE (polynomial 0x1021, init {CRC_INIT:#06x}, not reflected, \
         no final XOR) over every byte after the sync byte, most significant byte first; fields \
         little endian. Inter-byte timeout {INTERBYTE_TIMEOUT_BITS} bit times. At most \
         {MAX_BURST_WORDS} words a burst.\n\n"
    );
    s += "| CMD | name | fields after TAG | OK reply payload | frame bytes | sent again |\n\
          |---|---|---|---|---:|---|\n";
    for (code, name, fields, payload) in COMMANDS {
        let len = |n| frame_len(code, n).unwrap();
        let bytes = if matches!(code, CMD_WRITE_BURST) {
            format!("{}–{}", len(1), len(MAX_BURST_WORDS))
        } else {
            len(1).to_string()
        };
        let again = match code {
            CMD_NOP => "answered again",
            c if is_replayed(c) => "answered from memory",
            _ => "executed again",
        };
        s += &format!("| `{code:#04x}` | {name} | {fields} | {payload} | {bytes} | {again} |\n");
    }
    s += "\n| STATUS | name | meaning |\n|---|---|---|\n";
    for (code, name, meaning) in STATUSES {
        s += &format!("| `{code:#04x}` | {name} | {meaning} |\n");
    }
    s
}

/// A register's reset value for the tables (SYS.RAM_BYTES depends on the build).
fn reset_cell(r: &regs::Register) -> String {
    if (r.block, r.name) == ("SYS", "RAM_BYTES") {
        "RAM size".to_string()
    } else {
        format!("`{:#x}`", r.reset)
    }
}

/// The register blocks and the docs page that carries each one's table
/// ([`register_block_markdown`], block `regs-<block>` of `docs/<page>.md`).
pub const REGISTER_PAGES: [(&str, &str); 5] = [
    ("SYS", "soc"),
    ("ARB", "arbiter"),
    ("DMAC", "dma"),
    ("IOMMU", "iommu"),
    ("NIC", "nic"),
];

/// One register block's table for its docs page, generated from [`regs::REGISTERS`]: offset
/// in the block, name, access, reset value and description (fields and their bits).
pub fn register_block_markdown(block: &str) -> String {
    use regs::{CSR_BASE, REGISTERS};
    let regs: Vec<_> = REGISTERS.iter().filter(|r| r.block == block).collect();
    let base = regs.first().map_or(0, |r| r.block_offset);
    let mut s = format!(
        "Generated from `regs::REGISTERS` (`cargo run -p testbench --bin regmap`; a test fails \
         when it is stale). The {block} block is at `{:#010x}` (`CSR_BASE` + `{base:#x}`){}; \
         access kinds as in [register-map.md](register-map.md).\n\n",
        CSR_BASE + base,
        if block == "DMAC" {
            format!(
                ", channel n at + n × `{:#x}`",
                regs::dmac::channel_block(1) - regs::dmac::channel_block(0)
            )
        } else {
            String::new()
        }
    );
    s += "| offset | register | access | reset | description |\n|---|---|---|---|---|\n";
    for r in regs {
        let reset = reset_cell(r);
        s += &format!(
            "| `{:#06x}` | {} | {} | {} | {} |\n",
            r.offset,
            r.name,
            r.access.name(),
            reset,
            r.doc
        );
    }
    s
}

/// The register map as Markdown, generated from [`regs::REGISTERS`] (docs/register-map.md).
pub fn register_map_markdown() -> String {
    use regs::{SocConfig, CSR_BASE, REGISTERS};
    let mut s = format!(
        "Host port memory map: RAM at `0x00000000` ({} KiB in simulation, {} KiB on the FPGA); \
         CSRs at `{CSR_BASE:#010x}`; anything else reads 0 and counts in `SYS.HOST_ERRORS`.\n\n",
        SocConfig::SIM.bytes() / 1024,
        SocConfig::FPGA.bytes() / 1024
    );
    let legend: Vec<String> = regs::Access::ALL
        .iter()
        .map(|a| format!("**{}**: {}", a.name(), a.meaning()))
        .collect();
    s += &format!("Access: {}.\n\n", legend.join("; "));
    s += "| address | register | access | reset | description |\n|---|---|---|---|---|\n";
    for r in REGISTERS {
        let reset = reset_cell(r);
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
