//! GTKWave save files for the SoC's FST waveforms: the signal groups, the state-name filter
//! files, and the check that every signal a save file shows is a variable of the FST. Used by
//! `dmanic-sim` (`make sim`) and by the system tests when `DMANIC_TRACE` is set
//! (`testbench::new_soc`).
//!
//! GTKWave 3.3 finds a plain signal name in a save file by binary search over its facility list,
//! which it keeps in hierarchy order. That order is not the search's order when names contain
//! characters that sort below '.', and rust-hdl's Verilog is full of them (`arbiter$burst_cap`
//! beside the `arbiter` scope), so about two thirds of this design's names are silently not
//! found: the signal is just missing from the view. A name containing '*' is instead taken as a
//! (case-insensitive, POSIX basic) regular expression and matched against every facility, so
//! each signal is written as its escaped name followed by `\**$` (zero '*'s, then the end).
//! [`check_names`] makes sure each pattern matches exactly one variable of the FST.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sim::CYCLE_NS;

/// Hierarchy prefix of the SoC's signals in the FST (Verilator's `TOP`, then module `top`).
pub const TOP: &str = "TOP.top";

/// GTKWave trace flags (`@` lines).
const F_BIN: u32 = 0x28; // right-justified binary: 1-bit signals
const F_HEX: u32 = 0x22; // right-justified hex
const F_DEC: u32 = 0x24; // right-justified decimal
const F_TRANSLATED: u32 = 0x2000; // value shown through the translate filter file (`^1 file`)
/// The translate filter files: (signal, file name, comment, state names). A signal flagged
/// [`F_TRANSLATED`] uses the file of its entry here (`^1 file`, `^2 file`, ...).
const FILTERS: [(&str, &str, &str, &[&str]); 4] = [
    (
        "obs_dma_state[2:0]",
        "dma_state.gtkwf",
        "obs_dma_state -> memcpy FSM state (regs::dmac::STATE_NAMES)",
        &regs::dmac::STATE_NAMES,
    ),
    (
        "obs_iommu_state[3:0]",
        "iommu_state.gtkwf",
        "obs_iommu_state -> IOMMU walker state (regs::iommu::STATE_NAMES)",
        &regs::iommu::STATE_NAMES,
    ),
    (
        "obs_nic_tx_state[2:0]",
        "nic_tx_state.gtkwf",
        "obs_nic_tx_state -> NIC TX ring engine state (regs::nic::TX_STATE_NAMES)",
        &regs::nic::TX_STATE_NAMES,
    ),
    (
        "obs_nic_rx_state[3:0]",
        "nic_rx_state.gtkwf",
        "obs_nic_rx_state -> NIC RX ring engine state (regs::nic::RX_STATE_NAMES)",
        &regs::nic::RX_STATE_NAMES,
    ),
];
const F_COMMENT: u32 = 0x200; // blank / comment line
const F_GROUP_BEGIN: u32 = 0x80_0000 | F_COMMENT;
const F_GROUP_END: u32 = 0x100_0000 | F_COMMENT;

/// One trace: its name below [`TOP`] as GTKWave names it (vector range included) and its
/// display flags. GTKWave shows the last path component, so registers are named by their
/// `<reg>$q` wire rather than `<reg>.q`.
type Sig = (&'static str, u32);

/// The save file's groups, in display order.
const GROUPS: [(&str, &[Sig]); 8] = [
    (
        "CPU port",
        &[
            ("clock", F_BIN),
            ("host_req", F_BIN),
            ("host_we", F_BIN),
            ("host_addr[31:0]", F_HEX),
            ("host_ready", F_BIN),
            ("host_rvalid", F_BIN),
            ("host_rdata[31:0]", F_HEX),
        ],
    ),
    (
        "Arbiter",
        &[
            ("obs_cpu_req", F_BIN),
            ("obs_cpu_grant", F_BIN),
            ("obs_dma_req", F_BIN),
            ("obs_dma_grant", F_BIN),
            ("arbiter.cycle_steal", F_BIN),
            ("arbiter.burst_cap[31:0]", F_DEC),
            ("arbiter.steal_bound[31:0]", F_HEX),
            ("arbiter.burst_beats$q[31:0]", F_DEC),
            ("arbiter.dma_waited$q[31:0]", F_DEC),
        ],
    ),
    (
        "DMA",
        &[
            ("obs_dma_state[2:0]", F_DEC | F_TRANSLATED),
            ("obs_dma_owner[3:0]", F_DEC),
            // Channel 0's gated clock (rtl::clock_gate): pulses only while it works.
            ("memcpy$0.clock", F_BIN),
            ("memcpy$0.dma$valid", F_BIN),
            ("memcpy$0.dma$ready", F_BIN),
            ("memcpy$0.dma$addr[31:0]", F_HEX),
            ("memcpy$0.dma$we", F_BIN),
            ("memcpy$0.dma$wdata[31:0]", F_HEX),
            ("memcpy$0.dma$resp", F_BIN),
            ("memcpy$0.outstanding$q[3:0]", F_DEC),
            ("memcpy$0.cur_src$q[31:0]", F_HEX),
            ("memcpy$0.cur_dst$q[31:0]", F_HEX),
            ("memcpy$0.remaining$q[31:0]", F_DEC),
            ("memcpy$0.bytes_done[31:0]", F_DEC),
        ],
    ),
    (
        "IOMMU",
        &[
            ("obs_iommu_state[3:0]", F_DEC | F_TRANSLATED),
            ("obs_dma_dev[1:0]", F_DEC),
            ("obs_dma_iova[31:0]", F_HEX),
            ("obs_dev_beat", F_BIN),
            ("obs_iommu_beat", F_BIN),
            ("obs_iotlb_occupancy[7:0]", F_DEC),
            ("iommu.up$valid", F_BIN),
            ("iommu.up$ready", F_BIN),
            ("iommu.up$resp", F_BIN),
            ("iommu.up$fault", F_BIN),
            ("iommu.regs.counters$0$value[31:0]", F_DEC),
            ("iommu.regs.counters$1$value[31:0]", F_DEC),
            ("iommu.regs.fqt[7:0]", F_DEC),
            ("iommu.irq", F_BIN),
        ],
    ),
    (
        "Bus",
        &[
            ("obs_bus_addr[31:0]", F_HEX),
            ("obs_bus_we", F_BIN),
            ("obs_bus_be[3:0]", F_BIN),
            ("obs_bus_wdata[31:0]", F_HEX),
        ],
    ),
    (
        "Counters",
        &[
            ("arbiter.counters$0[31:0]", F_DEC),
            ("arbiter.counters$1[31:0]", F_DEC),
            ("arbiter.counters$2[31:0]", F_DEC),
            ("arbiter.counters$3[31:0]", F_DEC),
            ("arbiter.counters$4[31:0]", F_DEC),
            ("arbiter.counters$5[31:0]", F_DEC),
            ("arbiter.counters$6[31:0]", F_DEC),
            ("arbiter.counters$7[31:0]", F_DEC),
        ],
    ),
    (
        "NIC",
        &[
            ("obs_nic_tx_state[2:0]", F_DEC | F_TRANSLATED),
            // The NIC's gated clock (rtl::clock_gate): pulses only while it works.
            ("nic.clock", F_BIN),
            ("nic.tx_dma.tdh[31:0]", F_DEC),
            ("nic.tx_bus$valid", F_BIN),
            ("nic.tx_bus$ready", F_BIN),
            ("nic.tx_bus$addr[31:0]", F_HEX),
            ("phy_tx_en", F_BIN),
            ("phy_txd[7:0]", F_HEX),
            ("nic.mac_rx.byte_valid", F_BIN),
            ("nic.mac_rx.frame_end", F_BIN),
            ("obs_nic_rx_state[3:0]", F_DEC | F_TRANSLATED),
            ("nic.rx_dma.rdh[31:0]", F_DEC),
            ("nic.rx_bus$valid", F_BIN),
            ("nic.rx_bus$ready", F_BIN),
            ("nic.rx_bus$we", F_BIN),
            ("nic.rx_bus$addr[31:0]", F_HEX),
            ("nic.rx_bus$wdata[31:0]", F_HEX),
            ("nic.irq", F_BIN),
        ],
    ),
    ("IRQ", &[("irq", F_BIN)]),
];

/// The full names of every trace in `GROUPS`.
pub fn trace_names() -> impl Iterator<Item = String> {
    GROUPS
        .iter()
        .flat_map(|(_, sigs)| sigs.iter().map(|(n, _)| format!("{TOP}.{n}")))
}

/// The save-file line for `name`: a regular expression matching names that end in `name`.
fn trace_pattern(name: &str) -> String {
    let mut p = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        if matches!(c, '.' | '[' | ']' | '$' | '*' | '^' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push_str("\\**$");
    p
}

/// How a save file opens: where, how wide, which group on top, and its named markers.
pub struct View<'a> {
    /// The cycle the view is about; it opens `lead_cycles` before it.
    pub first: u64,
    pub lead_cycles: u64,
    /// GTKWave zoom: 2^-zoom ns per 200 pixels ([`ZOOM`]).
    pub zoom: f64,
    pub top_group: Option<&'a str>,
    /// Named markers A, B, ... (at most 26): a label and the cycle whose rising edge it marks.
    pub markers: &'a [(&'a str, u64)],
}

/// GTKWave zoom: 2^-zoom ns per 200 pixels, at 8 ns per cycle -6.2 is about 0.37 ns per
/// pixel: some 50 cycles across a 1600-pixel-wide window, few enough to read every beat's
/// address and data.
pub const ZOOM: f64 = -6.2;

/// Writes the state-name filter files into `dir`; their absolute paths, in `FILTERS` order
/// (what [`save_file`] takes).
pub fn write_filters(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut filters = vec![];
    for (_, file, comment, states) in FILTERS {
        let filter = dir.join(file);
        let mut names = format!("# {comment}\n");
        for (code, name) in states.iter().enumerate() {
            let _ = writeln!(names, "{code} {name}");
        }
        std::fs::write(&filter, names).map_err(|e| format!("{}: {e}", filter.display()))?;
        filters
            .push(std::path::absolute(&filter).map_err(|e| format!("{}: {e}", filter.display()))?);
    }
    Ok(filters)
}

/// The text of a save file for `fst` that is itself `gtkw` (both absolute), with the filter
/// files `filters` ([`write_filters`]); `written_by` names the program in its first comment.
pub fn save_file(
    fst: &Path,
    gtkw: &Path,
    filters: &[PathBuf],
    view: &View,
    written_by: &str,
) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "[*] GTKWave save file written by {written_by}");
    let _ = writeln!(
        w,
        "[*] time in ns, {CYCLE_NS} ns per clock cycle (rising edge at cycle x {CYCLE_NS} ns)"
    );
    let _ = writeln!(
        w,
        "[*] signals are written as regular expressions (name\\**$): GTKWave 3.3"
    );
    let _ = writeln!(
        w,
        "[*] does not find many plain names of this design (see testbench/src/waves.rs)"
    );
    let _ = writeln!(w, "[dumpfile] \"{}\"", fst.display());
    let _ = writeln!(w, "[savefile] \"{}\"", gtkw.display());
    let _ = writeln!(
        w,
        "[timestart] {}",
        CYCLE_NS * view.first.saturating_sub(view.lead_cycles)
    );
    let _ = writeln!(w, "[size] 1600 900");
    let _ = writeln!(w, "[sst_width] 200");
    let _ = writeln!(w, "[signals_width] 260");
    // Zoom, the primary marker (unset), then the named markers A, B, ...
    let mut markers = format!("*{:.6} -1", view.zoom);
    for (_, cycle) in view.markers {
        let _ = write!(markers, " {}", CYCLE_NS * cycle);
    }
    let _ = writeln!(w, "{markers}");
    for ((label, _), id) in view.markers.iter().zip('A'..='Z') {
        let _ = writeln!(w, "[markername] {id}{label}");
    }
    let order = GROUPS
        .iter()
        .filter(|(g, _)| Some(*g) == view.top_group)
        .chain(GROUPS.iter().filter(|(g, _)| Some(*g) != view.top_group));
    for (group, sigs) in order {
        let _ = writeln!(w, "@{F_GROUP_BEGIN:x}\n-{group}");
        for (name, flags) in sigs.iter() {
            if flags & F_TRANSLATED != 0 {
                if let Some(k) = FILTERS.iter().position(|f| f.0 == *name) {
                    let _ = writeln!(w, "^{} {}", k + 1, filters[k].display());
                }
            }
            let _ = writeln!(w, "@{flags:x}\n{}", trace_pattern(&format!("{TOP}.{name}")));
        }
        let _ = writeln!(w, "@{F_GROUP_END:x}\n-{group}");
    }
    s
}

/// Checks that each trace's pattern matches exactly one of the FST's variables (GTKWave would
/// show nothing for no match, and every match for several). `Ok(None)` when `fst2vcd` (shipped
/// with GTKWave) is not installed; `Ok(Some(n))` when all `n` traces passed.
pub fn check_names(fst: &Path) -> Result<Option<usize>, String> {
    let Some(vars) = fst_var_names(fst)? else {
        return Ok(None);
    };
    let vars: Vec<String> = vars.iter().map(|v| v.to_lowercase()).collect();
    let mut bad = Vec::new();
    let mut n = 0;
    for name in trace_names() {
        n += 1;
        let suffix = name.to_lowercase();
        let hits = vars.iter().filter(|v| v.ends_with(&suffix)).count();
        if hits != 1 || !vars.contains(&suffix) {
            bad.push(format!("{name} ({hits} matches)"));
        }
    }
    if !bad.is_empty() {
        return Err(format!(
            "the save file's signals do not each match one variable of {}: {} \
             (has the Verilog changed? update GROUPS in testbench/src/waves.rs)",
            fst.display(),
            bad.join(", ")
        ));
    }
    Ok(Some(n))
}

/// The FST's variables as GTKWave names them (`TOP.top.host_addr[31:0]`; parameters without
/// their range), from the header `fst2vcd` prints; `None` if `fst2vcd` is not installed.
pub fn fst_var_names(fst: &Path) -> Result<Option<BTreeSet<String>>, String> {
    let child = Command::new("fst2vcd")
        .arg(fst)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot run fst2vcd: {e}")),
    };
    let stdout = child.stdout.take().expect("piped stdout");
    let mut vars = BTreeSet::new();
    let mut scope: Vec<String> = Vec::new();
    let mut complete = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| format!("reading fst2vcd output: {e}"))?;
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.first().copied() {
            Some("$scope") if f.len() >= 3 => scope.push(f[2].to_string()),
            Some("$upscope") => {
                scope.pop();
            }
            // $var <type> <width> <id> <name> [<range>] $end
            Some("$var") if f.len() >= 6 => {
                let ranged = f.len() >= 7 && f[5].starts_with('[') && f[1] != "parameter";
                let range = if ranged { f[5] } else { "" };
                vars.insert(format!("{}.{}{range}", scope.join("."), f[4]));
            }
            Some("$enddefinitions") => {
                complete = true;
                break;
            }
            _ => {}
        }
    }
    // Only the header is needed: stop fst2vcd instead of letting it print every change.
    let _ = child.kill();
    let _ = child.wait();
    if !complete {
        return Err(format!(
            "fst2vcd printed no complete header for {}",
            fst.display()
        ));
    }
    Ok(Some(vars))
}
