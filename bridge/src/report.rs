//! What a guest run showed: the guest's console lines that matter, the frames, the cycles the
//! NIC was clocked, and the registers Linux touched that the NIC does not implement; printed
//! by `dmanic-qemu` and written as JSON (`out/linux.json`), which `make linux` turns into the
//! README's table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The prefix of the guest init's report lines (scripts/linux-guest-init.sh).
pub const MARKER: &str = "DMANIC-LINUX:";
/// Linux's e1000 prints this when it binds to the card.
pub const BOUND: &str = "Intel(R) PRO/1000 Network Connection";
/// Pings the guest sends to QEMU's gateway.
pub const PINGS: u32 = 5;

pub const ICMP_ECHO_REQUEST: u8 = 8;
pub const ICMP_ECHO_REPLY: u8 = 0;

/// Reads and writes of one register.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Count {
    pub reads: u64,
    pub writes: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub outcome: String,
    pub wall_secs: f64,
    /// The guest's console lines that matter, with the seconds since QEMU started.
    pub console: Vec<(f64, String)>,
    pub driver_bound: bool,
    pub carrier_up: bool,
    pub pings_sent: u32,
    pub pings_received: u32,
    /// Seconds from QEMU's start to the end of the pings (the console line's time).
    pub boot_to_ping_secs: Option<f64>,
    pub guest_done: bool,
    pub guest_errors: Vec<String>,
    /// The guest's count of its error lines ("done errors=N"): a line lost on the console
    /// shows as a difference.
    pub guest_errors_counted: Option<u64>,
    /// Cycles the NIC was clocked in all.
    pub cycles: u64,
    /// Cycles the bridge ran (register accesses, work, idle tails).
    pub cycles_run: u64,
    pub reg_reads: u64,
    pub reg_writes: u64,
    pub eeprom_words: u64,
    pub dma_reads: u64,
    pub dma_writes: u64,
    pub dma_faults: u64,
    pub tx_frames: u64,
    pub tx_bad_frames: u64,
    pub rx_frames: u64,
    pub irq_edges: u64,
    /// Per echo request: cycles from its TDT write to its last byte on the TX pins.
    pub ping_tx_cycles: Vec<u64>,
    /// Per echo reply (one at a time): cycles from its first byte on the RX pins to the NIC's
    /// last DMA beat before it goes quiet (the reply's descriptor write-back when nothing else
    /// is in flight, as during a ping).
    pub ping_rx_cycles: Vec<u64>,
    /// Guest RAM as QEMU handed it over: (guest-physical address, bytes).
    pub ram_regions: Vec<(u64, u64)>,
    /// Registers Linux touched that the NIC does not implement, by 8254x name.
    pub unimplemented: BTreeMap<String, Count>,
    /// Protocol or bridge errors.
    pub errors: Vec<String>,
    /// The files the guest is to fetch over UDP and TCP ("udp", "tcp"): bytes and SHA-256.
    pub transfers_expected: BTreeMap<String, Transfer>,
    /// What the guest got ("DMANIC-LINUX: udp status=N bytes=N sha256=HEX").
    pub transfers: BTreeMap<String, Transfer>,
}

/// A file the guest fetched (or is to fetch).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Transfer {
    /// The fetching program's exit status (0 for an expected transfer).
    pub status: i32,
    pub bytes: u64,
    pub sha256: String,
}

/// SHA-256 in lower-case hex, as `sha256sum` prints it.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Report {
    /// The guest bound the driver, got a carrier, every ping came back and both files came
    /// whole; the guest finished with no error line (and the bridge saw as many as it counted);
    /// the bridge logged no error, and every frame the NIC sent was good and every DMA beat in
    /// guest RAM.
    pub fn passed(&self) -> bool {
        self.driver_bound
            && self.carrier_up
            && self.pings_sent == PINGS
            && self.pings_received == PINGS
            && self.guest_done
            && self.guest_errors.is_empty()
            && self.guest_errors_counted == Some(self.guest_errors.len() as u64)
            && self.errors.is_empty()
            && self.tx_bad_frames == 0
            && self.dma_faults == 0
            && self.transfers_expected.len() == 2
            && self
                .transfers_expected
                .iter()
                .all(|(k, t)| self.transfers.get(k) == Some(t))
    }

    /// Takes one console line that matters (see [`console_matters`]).
    pub fn console(&mut self, line: &str, secs: f64) {
        self.console.push((secs, line.to_owned()));
        if line.contains(BOUND) {
            self.driver_bound = true;
        }
        let Some(rest) = line.split_once(MARKER).map(|(_, r)| r.trim()) else {
            return;
        };
        if rest.starts_with("carrier up") {
            self.carrier_up = true;
        } else if let Some(p) = rest.strip_prefix("ping ") {
            for kv in p.split_whitespace() {
                match kv.split_once('=') {
                    Some(("sent", v)) => self.pings_sent = v.parse().unwrap_or(0),
                    Some(("received", v)) => self.pings_received = v.parse().unwrap_or(0),
                    _ => {}
                }
            }
            self.boot_to_ping_secs = Some(secs);
        } else if let Some((proto, kvs)) = ["udp ", "tcp "]
            .iter()
            .find_map(|p| rest.strip_prefix(p).map(|kv| (p.trim(), kv)))
        {
            let mut t = Transfer::default();
            for kv in kvs.split_whitespace() {
                match kv.split_once('=') {
                    Some(("status", v)) => t.status = v.parse().unwrap_or(-1),
                    Some(("bytes", v)) => t.bytes = v.parse().unwrap_or(0),
                    Some(("sha256", v)) => t.sha256 = v.to_owned(),
                    _ => {}
                }
            }
            self.transfers.insert(proto.to_owned(), t);
        } else if rest == "done" || rest.starts_with("done ") {
            self.guest_done = true;
            // "done errors=N": the guest's own count of its error lines.
            self.guest_errors_counted = rest
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix("errors="))
                .and_then(|n| n.parse().ok());
        } else if let Some(e) = rest.strip_prefix("error") {
            self.guest_errors.push(e.trim().to_owned());
        }
    }
}

/// A console line worth showing: the init's report lines and the kernel's e1000 lines.
pub fn console_matters(line: &str) -> bool {
    line.contains(MARKER) || line.contains("e1000") || line.contains("PRO/1000")
}

/// Prints the report: the ping, the figures, the registers the NIC lacks.
pub fn print(r: &Report) {
    println!();
    println!("== dmanic-qemu: Linux e1000 on the RTL NIC ==");
    println!("outcome            {}", r.outcome);
    println!("driver bound       {}", r.driver_bound);
    println!("carrier up         {}", r.carrier_up);
    println!(
        "pings              {}/{} received",
        r.pings_received, r.pings_sent
    );
    if let Some(t) = r.boot_to_ping_secs {
        println!("boot to ping end   {t:.1} s (wall time from QEMU's start)");
    }
    println!("wall time          {:.1} s", r.wall_secs);
    println!(
        "NIC cycles         {} clocked; {} register reads, {} writes; {} EEPROM words",
        r.cycles, r.reg_reads, r.reg_writes, r.eeprom_words
    );
    println!(
        "DMA                {} reads, {} writes, {} refused",
        r.dma_reads, r.dma_writes, r.dma_faults
    );
    println!(
        "frames             {} sent ({} bad), {} received; {} interrupt edges",
        r.tx_frames, r.tx_bad_frames, r.rx_frames, r.irq_edges
    );
    if let (Some(tx), Some(rx)) = (median(&r.ping_tx_cycles), median(&r.ping_rx_cycles)) {
        println!(
            "cycles per ping    {} (median: TDT write to the request's last TX byte {tx}, \
             the reply's first RX byte to its write-back {rx})",
            tx + rx
        );
    }
    if !r.unimplemented.is_empty() {
        println!(
            "registers Linux touched that the NIC does not implement (read 0, writes ignored):"
        );
        for (name, c) in &r.unimplemented {
            println!("  {name:<16} {:>6} reads {:>6} writes", c.reads, c.writes);
        }
    }
    for e in &r.guest_errors {
        println!("guest error: {e}");
    }
    for e in &r.errors {
        println!("bridge error: {e}");
    }
    for (proto, want) in &r.transfers_expected {
        let how = if proto == "udp" {
            "TFTP from QEMU's server"
        } else {
            "HTTP from the bridge"
        };
        match r.transfers.get(proto) {
            Some(got) if got == want => {
                println!("{proto:<18} {} bytes by {how}, SHA-256 as sent", got.bytes)
            }
            Some(got) => println!(
                "{proto:<18} FAILED ({how}): status {}, {} bytes, SHA-256 {} (sent {} bytes, {})",
                got.status, got.bytes, got.sha256, want.bytes, want.sha256
            ),
            None => println!("{proto:<18} FAILED ({how}): the guest did not report it"),
        }
    }
    println!(
        "result             {}",
        if r.passed() { "PASS" } else { "FAIL" }
    );
}

pub fn median(v: &[u64]) -> Option<u64> {
    let mut s = v.to_vec();
    s.sort_unstable();
    s.get(s.len() / 2).copied()
}

/// The Ethernet FCS (CRC-32) of `frame`.
pub fn fcs(frame: &[u8]) -> u32 {
    crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(frame)
}

/// The last four bytes of `frame` are the FCS of the rest.
pub fn fcs_ok(frame: &[u8]) -> bool {
    frame.len() >= 4 && {
        let (body, tail) = frame.split_at(frame.len() - 4);
        tail == fcs(body).to_le_bytes()
    }
}

/// An IPv4 ICMP message of `icmp_type` (no VLAN tag, any IP header length).
pub fn is_icmp(frame: &[u8], icmp_type: u8) -> bool {
    if frame.len() < 14 + 20 + 8 || frame[12..14] != [0x08, 0x00] {
        return false;
    }
    let ihl = (frame[14] & 0x0F) as usize * 4;
    frame[14 + 9] == 1 && frame.get(14 + ihl) == Some(&icmp_type)
}

/// A register (range) of the 8254x that the NIC does not implement, as Linux's e1000 uses it:
/// (first offset, bytes, name, what the driver does with it, what the NIC does). Names and
/// offsets from Intel's 8254x manual (table 13-2), uses from Linux 6.1's e1000_hw.c and
/// e1000_main.c.
pub const UNIMPLEMENTED: &[(u32, u32, &str, &str, &str)] = &[
    (0x0018, 4, "CTRL_EXT", "not used on an 82540", "reads 0"),
    (
        0x0028,
        4,
        "FCAL",
        "writes the PAUSE frame's address (link setup)",
        "ignored: no flow control",
    ),
    (
        0x002C,
        4,
        "FCAH",
        "the same, high half",
        "ignored: no flow control",
    ),
    (
        0x0030,
        4,
        "FCT",
        "writes the PAUSE frame's EtherType",
        "ignored: no flow control",
    ),
    (
        0x0038,
        4,
        "VET",
        "writes the VLAN EtherType (0x8100)",
        "ignored: no VLAN tagging",
    ),
    (
        0x0170,
        4,
        "FCTTV",
        "writes the PAUSE time",
        "ignored: no flow control",
    ),
    (0x0178, 4, "TXCW", "fiber autonegotiation only", "reads 0"),
    (0x0180, 4, "RXCW", "fiber autonegotiation only", "reads 0"),
    (
        0x0458,
        4,
        "AIT",
        "clears the adaptive IFS throttle",
        "ignored: the gap is TIPG's",
    ),
    (
        0x0E00,
        4,
        "LEDCTL",
        "saves and restores the LED mode (ethtool -p)",
        "reads 0: no LEDs",
    ),
    (
        0x1000,
        4,
        "PBA",
        "splits the packet buffer between RX and TX",
        "ignored: fixed FIFOs",
    ),
    (
        0x2160,
        4,
        "FCRTL",
        "writes the XON threshold",
        "ignored: no flow control",
    ),
    (
        0x2168,
        4,
        "FCRTH",
        "writes the XOFF threshold",
        "ignored: no flow control",
    ),
    (
        0x2828,
        4,
        "RXDCTL",
        "descriptor thresholds (not on an 82540)",
        "reads 0",
    ),
    (
        0x3828,
        4,
        "TXDCTL",
        "reads, sets the write-back threshold",
        "ignored: write-back per RS",
    ),
    (
        0x4000,
        0x100,
        "statistics",
        "reads every counter each 2 s (read to clear)",
        "those it lacks read 0",
    ),
    (
        0x5000,
        4,
        "RXCSUM",
        "RX checksum offload on or off",
        "ignored: no RX checksum offload",
    ),
    (
        0x5200,
        0x200,
        "MTA[]",
        "clears, then writes the multicast hash table",
        "ignored: receives every frame",
    ),
    (
        0x5400,
        0x80,
        "RAL/RAH[]",
        "writes its MAC address and clears the other 15 filters",
        "ignored: receives every frame",
    ),
    (
        0x5600,
        0x200,
        "VFTA[]",
        "clears the VLAN filter table",
        "ignored: no VLAN filter",
    ),
    (
        0x5800,
        4,
        "WUC",
        "clears wake-up control",
        "ignored: no wake-on-LAN",
    ),
    (
        0x5808,
        4,
        "WUFC",
        "clears the wake-up filters",
        "ignored: no wake-on-LAN",
    ),
    (
        0x5820,
        4,
        "MANC",
        "turns off the manageability ARP offload",
        "reads 0: no manageability",
    ),
];

fn unimplemented_entry(
    off: u32,
) -> Option<&'static (u32, u32, &'static str, &'static str, &'static str)> {
    UNIMPLEMENTED
        .iter()
        .find(|(base, len, ..)| off >= *base && off < base + len)
}

/// The 8254x name of a register offset the NIC does not implement ([`UNIMPLEMENTED`]), or
/// the offset in hex.
pub fn e1000_name(off: u32) -> String {
    unimplemented_entry(off)
        .map(|e| e.2.to_owned())
        .unwrap_or_else(|| format!("{off:#06x}"))
}

/// The report as Markdown: the run's figures, then the registers Linux touched that the NIC
/// does not implement (the README's `linux` block, `make linux-readme`).
pub fn markdown(r: &Report, command: &str) -> String {
    let mut m = String::new();
    let ok = |b: bool| if b { "yes" } else { "**no**" };
    m += &format!(
        "Printed by `{command}` ({}):\n\n",
        if r.passed() { "passed" } else { "**failed**" }
    );
    m += "| | |\n|---|---|\n";
    m += &format!("| e1000 bound (\"{BOUND}\") | {} |\n", ok(r.driver_bound));
    m += &format!("| carrier up | {} |\n", ok(r.carrier_up));
    m += &format!(
        "| pings to 10.0.2.2 | {}/{} |\n",
        r.pings_received, r.pings_sent
    );
    for (proto, want) in &r.transfers_expected {
        let how = if proto == "udp" {
            "TFTP from QEMU's server"
        } else {
            "HTTP from the bridge, through QEMU's user network"
        };
        let got = r.transfers.get(proto) == Some(want);
        m += &format!(
            "| {} ({how}) | {} bytes, {} |\n",
            proto.to_uppercase(),
            want.bytes,
            if got { "SHA-256 as sent" } else { "**failed**" }
        );
    }
    if let Some(t) = r.boot_to_ping_secs {
        m += &format!("| boot to the end of the pings (wall, from QEMU's start) | {t:.1} s |\n");
    }
    if let (Some(tx), Some(rx)) = (median(&r.ping_tx_cycles), median(&r.ping_rx_cycles)) {
        m += &format!(
            "| RTL cycles per ping (median) | {} = {tx} (TDT write to the request's last byte on the pins) + {rx} (the reply's first byte to its descriptor's write-back) |\n",
            tx + rx
        );
    }
    m += &format!(
        "| NIC cycles clocked for the whole run | {} ({} register reads, {} writes; {} EEPROM words read) |\n",
        r.cycles, r.reg_reads, r.reg_writes, r.eeprom_words
    );
    m += &format!(
        "| frames | {} sent, {} bad; {} received; DMA {} reads, {} writes, {} refused |\n",
        r.tx_frames, r.tx_bad_frames, r.rx_frames, r.dma_reads, r.dma_writes, r.dma_faults
    );
    m += "\nRegisters the driver touched that the NIC does not implement (it reads them as 0 and ignores writes):\n\n";
    m += "| register | reads | writes | what Linux's e1000 does with it | what the NIC does |\n|---|---:|---:|---|---|\n";
    for (name, c) in &r.unimplemented {
        let (linux, nic) = UNIMPLEMENTED
            .iter()
            .find(|e| e.2 == name)
            .map_or(("?", "reads 0, ignores writes"), |e| (e.3, e.4));
        m += &format!(
            "| {name} | {} | {} | {linux} | {nic} |\n",
            c.reads, c.writes
        );
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_parsed() {
        let mut r = Report::default();
        r.console(
            "[    1.0] e1000 0000:00:03.0 eth0: Intel(R) PRO/1000 Network Connection",
            3.0,
        );
        r.console("DMANIC-LINUX: carrier up after 2100 ms", 9.0);
        r.console(
            "DMANIC-LINUX: ping sent=5 received=5 loss=0% status=0",
            15.5,
        );
        let file = |n: u64| Transfer {
            status: 0,
            bytes: n,
            sha256: "ab".repeat(32),
        };
        r.transfers_expected = [
            ("udp".to_owned(), file(3000)),
            ("tcp".to_owned(), file(7500)),
        ]
        .into_iter()
        .collect();
        r.console(
            &format!(
                "DMANIC-LINUX: udp status=0 bytes=3000 sha256={}",
                "ab".repeat(32)
            ),
            15.6,
        );
        assert!(!r.passed(), "the TCP transfer is missing");
        r.console(
            &format!(
                "DMANIC-LINUX: tcp status=0 bytes=7500 sha256={}",
                "ab".repeat(32)
            ),
            15.7,
        );
        assert!(!r.passed(), "the guest has not finished");
        r.console("DMANIC-LINUX: done errors=0", 16.0);
        assert!(r.driver_bound && r.carrier_up && r.guest_done);
        assert_eq!((r.pings_sent, r.pings_received), (5, 5));
        assert_eq!(r.boot_to_ping_secs, Some(15.5));
        assert!(r.passed());

        // An error line the bridge did not see: the guest's count differs.
        let mut lost = r.clone();
        lost.console("DMANIC-LINUX: done errors=1", 16.0);
        assert!(!lost.passed());
        // A bridge error fails the run too.
        let mut bridge = r.clone();
        bridge.errors.push("bad message from QEMU".into());
        assert!(!bridge.passed());
        r.console("DMANIC-LINUX: error no carrier", 17.0);
        assert!(!r.passed());
    }

    #[test]
    fn names_and_frames() {
        assert_eq!(e1000_name(0x5204), "MTA[]");
        assert_eq!(e1000_name(0x4010), "statistics");
        assert_eq!(e1000_name(0x1234), "0x1234");
        let mut f = vec![0u8; 60];
        f[12] = 8;
        f[14] = 0x45;
        f[23] = 1;
        f[34] = ICMP_ECHO_REQUEST;
        assert!(is_icmp(&f, ICMP_ECHO_REQUEST) && !is_icmp(&f, ICMP_ECHO_REPLY));
        let fcs = fcs(&f).to_le_bytes();
        f.extend_from_slice(&fcs);
        assert!(fcs_ok(&f));
        f[0] ^= 1;
        assert!(!fcs_ok(&f));
    }
}
