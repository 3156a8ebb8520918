//! The card QEMU's proxy talks to: the Verilated NIC ([`sim::nic::NicModel`]) behind an
//! 82540EM's PCI function. [`Card::handle`] answers one protocol request (config space, BAR0
//! MMIO, BAR1 I/O with IOADDR/IODATA, guest RAM, reset); [`Card::run`] clocks the NIC while
//! it has work or an interrupt timer the driver set could still fire; frames go in with
//! [`Card::frame_from_network`] and out with [`Card::frames_to_network`]. Sockets, QEMU and
//! the pcap are the binary's (`main.rs`).
//!
//! **When the NIC is clocked.** A register access clocks it for its own cycles (1 for a write,
//! 2 for a read), an EECD write for [`EECD_SETTLE`] more (the EEPROM's DO then reads back), and
//! a write to any other register the NIC implements, a TDT write, or a frame from the network
//! makes it *busy*: [`Card::run`] then clocks it until it has been quiet (no DMA, no ring
//! engine at work, no frame on the pins, no MDIO frame) for [`Card::idle_tail`] cycles, long
//! enough for any interrupt timer the driver set (ITR, TIDV, TADV, RDTR, RADV) to fire.
//! Otherwise it is not clocked at all: its cycle count is the work the guest gave it.

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};

use sim::nic::{MemRegion, NicModel};

use crate::guest_ram::GuestRam;
use crate::pci::{Bar, ConfigSpace};
use crate::proto::{Request, RET_ERROR};
use crate::report::{self, Report};

/// BAR0 offsets at and above this are not the NIC's register window (it decodes 16 bits);
/// they read 0 and ignore writes.
pub const WINDOW: u64 = 0x1_0000;
/// Cycles run after an EECD write, so that a read of EECD sees the EEPROM's answer: the pins
/// change at the write's clock edge, the EEPROM model answers in that cycle, and DO passes
/// the NIC's two synchronizer flip-flops (about 4 cycles; 16 is the margin).
pub const EECD_SETTLE: u64 = 16;
/// BAR1 (I/O): the register address and the data window (8254x IOADDR and IODATA).
pub const IOADDR: u64 = 0;
pub const IODATA: u64 = 4;

/// The answer a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    None,
    /// RET with this value.
    Ret(u64),
    /// RET without payload (DEVICE_RESET).
    RetEmpty,
}

/// A frame the NIC sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentFrame {
    /// As on the wire after the SFD: the frame and its FCS (for the pcap).
    pub wire: Vec<u8>,
    /// What goes to QEMU's network (the frame without its FCS), or `None` for a bad frame.
    pub payload: Option<Vec<u8>>,
}

pub struct Card {
    nic: NicModel,
    cfg: ConfigSpace,
    /// The current guest RAM mappings (replaced by each SYNC_SYSMEM).
    ram: Option<GuestRam>,
    /// Guest RAM as the NIC's DMA sees it while the guest lets the card master the bus.
    ram_table: Vec<MemRegion>,
    dma_enabled: bool,
    ioaddr: u32,
    irqfd: Option<OwnedFd>,
    /// KVM signals it at the guest's EOI of INTA (and lowers INTA): [`Card::resample`].
    resamplefd: Option<OwnedFd>,
    /// INTA as last seen (the NIC's line while INTx is enabled), and the NIC's line itself.
    irq_level: bool,
    nic_line: bool,
    /// The interrupt timers' settings the driver wrote (ITR, TIDV, TADV, RDTR, RADV).
    timers: BTreeMap<u32, u32>,
    busy: bool,
    /// The NIC's registers (`regs::REGISTERS`): offset → how software may access it.
    implemented: BTreeMap<u32, regs::Access>,
    trace_regs: bool,
    r: Report,
    /// The cycle of the last TDT write; of the echo reply being received (ping timing).
    tdt_cycle: u64,
    open_ping: Option<u64>,
}

impl Card {
    pub fn new(nic: NicModel, trace_regs: bool) -> Card {
        let implemented = regs::REGISTERS
            .iter()
            .filter(|r| r.block == "NIC")
            .map(|r| (r.offset, r.access))
            .collect();
        Card {
            nic,
            cfg: ConfigSpace::new(),
            ram: None,
            ram_table: Vec::new(),
            dma_enabled: false,
            ioaddr: 0,
            irqfd: None,
            resamplefd: None,
            irq_level: false,
            nic_line: false,
            timers: BTreeMap::new(),
            busy: false,
            implemented,
            trace_regs,
            r: Report::default(),
            tdt_cycle: 0,
            open_ping: None,
        }
    }

    /// The NIC has work, or a timer may still fire: [`Card::run`] has cycles to clock.
    pub fn busy(&self) -> bool {
        self.busy
    }

    /// Quiet cycles after which no interrupt timer the driver set can still fire. A delay
    /// timer (TIDV, TADV, RDTR, RADV) started by the last work sets its cause at most `delay`
    /// cycles later; ITR then holds the interrupt until its interval, which may have started
    /// (at the line's last rising edge) up to `max(itr, delay)` before, has run out: so the
    /// interval, plus the longer of the two, plus a margin.
    pub fn idle_tail(&self) -> u64 {
        use regs::nic::{
            INTERVAL_MASK, ITR, ITR_UNIT_CYCLES, RADV, RDTR, TADV, TIDV, TIMER_UNIT_CYCLES,
        };
        let t = |o| (*self.timers.get(&o).unwrap_or(&0) & INTERVAL_MASK) as u64;
        let itr = t(ITR) * ITR_UNIT_CYCLES as u64;
        let delay = [TIDV, TADV, RDTR, RADV]
            .map(t)
            .into_iter()
            .max()
            .unwrap_or(0)
            * TIMER_UNIT_CYCLES as u64;
        itr + itr.max(delay) + 64
    }

    /// Clocks the NIC while it is busy, at most `max` cycles; returns the cycles run. Then
    /// raises the interrupt on the irqfd if the NIC's line went high.
    pub fn run(&mut self, max: u64) -> u64 {
        if !self.busy {
            return 0;
        }
        let ran = self.nic.run_until_quiet(self.idle_tail(), max);
        self.r.cycles_run += ran;
        if ran < max {
            self.busy = false;
            if let Some(first_byte) = self.open_ping.take() {
                let done = self.nic.activity().last_dma_cycle;
                self.r.ping_rx_cycles.push(done.saturating_sub(first_byte));
            }
        }
        self.update_irq();
        ran
    }

    /// Answers one request from QEMU.
    pub fn handle(&mut self, req: Request) -> Reply {
        match req {
            Request::SyncSysmem(regions) => {
                match GuestRam::new(&regions) {
                    Ok(ram) => {
                        let table: Vec<MemRegion> = ram
                            .regions()
                            .iter()
                            .map(|r| MemRegion {
                                base: r.gpa,
                                size: r.size,
                                host: r.host as usize,
                            })
                            .collect();
                        self.r.ram_regions = table.iter().map(|r| (r.base, r.size)).collect();
                        self.ram_table = table;
                        self.dma_enabled = !self.cfg.bus_master();
                        self.apply_memory();
                        // The old mappings go only now that the model has the new table.
                        self.ram = Some(ram);
                    }
                    Err(e) => self.error(format!("SYNC_SYSMEM: cannot map guest RAM: {e}")),
                }
                Reply::None
            }
            Request::CfgRead { addr, len } => Reply::Ret(self.cfg.read(addr, len) as u64),
            Request::CfgWrite { addr, val, len } => {
                self.cfg.write(addr, val, len);
                self.apply_memory();
                // INTx disable cleared with the line up asserts the interrupt.
                self.update_irq();
                Reply::Ret(0)
            }
            Request::BarRead { addr, size, memory } => {
                let v = self.bar_read(addr, size, memory);
                self.update_irq();
                Reply::Ret(v)
            }
            Request::BarWrite {
                addr,
                val,
                size,
                memory,
            } => {
                self.bar_write(addr, val, size, memory);
                self.update_irq();
                Reply::Ret(0)
            }
            Request::SetIrqfd { irqfd, resamplefd } => {
                // A new irqfd starts low: if INTA is up now, it is raised on this one too.
                self.irqfd = Some(irqfd);
                self.resamplefd = resamplefd;
                self.irq_level = false;
                self.update_irq();
                Reply::None
            }
            Request::DeviceReset => {
                self.cfg.reset();
                self.apply_memory();
                self.ioaddr = 0;
                self.open_ping = None;
                self.reg_write(regs::nic::CTRL as u64, regs::nic::ctrl::RST);
                self.update_irq();
                Reply::RetEmpty
            }
            other @ Request::Malformed { .. } => {
                self.error(format!("bad message from QEMU: {other}"));
                if other.needs_reply() {
                    Reply::Ret(RET_ERROR)
                } else {
                    Reply::None
                }
            }
        }
    }

    /// Gives the model guest RAM while the command register's bus master bit is set, none
    /// (every DMA beat refused, the NIC's DMA error) while it is clear: QEMU does not enforce
    /// it for the proxy.
    fn apply_memory(&mut self) {
        let on = self.cfg.bus_master();
        if on == self.dma_enabled {
            return;
        }
        self.dma_enabled = on;
        let table = if on {
            self.ram_table.clone()
        } else {
            Vec::new()
        };
        // SAFETY: the table's mappings live in `self.ram` until a later SYNC_SYSMEM's table has
        // been given to the model; the model is dropped with the card, before or with `ram`.
        unsafe { self.nic.set_memory(&table) };
    }

    fn bar_read(&mut self, addr: u64, size: u32, memory: bool) -> u64 {
        match self.cfg.decode_access(addr, size, memory) {
            // An 8-byte access is two registers' (QEMU's e1000 splits it the same way).
            Some((Bar::Mmio, off)) if size == 8 && off & 7 == 0 => {
                let lo = self.reg_read(off) as u64;
                lo | (self.reg_read(off + 4) as u64) << 32
            }
            Some((Bar::Mmio, off)) => sub_word(self.reg_read(off & !3), off, size),
            Some((Bar::Io, IOADDR)) => self.ioaddr as u64,
            Some((Bar::Io, IODATA)) => self.reg_read(self.ioaddr as u64) as u64,
            Some((Bar::Io, _)) => 0,
            None => {
                self.error(format!(
                    "read of {} {addr:#x} ({size} bytes) outside the BARs",
                    if memory { "memory" } else { "I/O port" }
                ));
                RET_ERROR
            }
        }
    }

    fn bar_write(&mut self, addr: u64, val: u64, size: u32, memory: bool) {
        match self.cfg.decode_access(addr, size, memory) {
            Some((Bar::Mmio, off)) if size == 8 && off & 7 == 0 => {
                self.reg_write(off, val as u32);
                self.reg_write(off + 4, (val >> 32) as u32);
            }
            Some((Bar::Mmio, off)) if size == 4 && off & 3 == 0 => self.reg_write(off, val as u32),
            Some((Bar::Mmio, off)) => self.narrow_write(off, val as u32, size),
            Some((Bar::Io, IOADDR)) => self.ioaddr = val as u32,
            Some((Bar::Io, IODATA)) => self.reg_write(self.ioaddr as u64, val as u32),
            Some((Bar::Io, _)) => {}
            None => self.error(format!(
                "write of {val:#x} to {} {addr:#x} outside the BARs",
                if memory { "memory" } else { "I/O port" }
            )),
        }
    }

    /// A write of fewer than 4 bytes (or a misaligned one). The NIC's register port takes
    /// whole words, so it becomes a read-modify-write of its word: right for a plain
    /// read/write register, wrong for any other (W1C, read to clear, write only), where it is
    /// refused and logged, as is one that crosses its word. Linux's e1000 writes 32 bits.
    fn narrow_write(&mut self, off: u64, val: u32, size: u32) {
        let word = off & !3;
        // Plain read/write: the configuration registers and the ring heads (regs::nic::CONFIG);
        // not IMS, MDIC or EECD, whose writes act, nor W1C or read-to-clear ones.
        let plain = word >= WINDOW
            || !self.implemented.contains_key(&(word as u32))
            || regs::nic::CONFIG
                .iter()
                .chain(&[regs::nic::RDH, regs::nic::TDH])
                .any(|&o| o as u64 == word);
        if (off & 3) + size as u64 > 4 {
            self.error(format!(
                "a {size}-byte write at BAR0 {off:#x} crosses its register"
            ));
        } else if !plain {
            self.error(format!(
                "a {size}-byte write at BAR0 {off:#x}: register {word:#x} is not plain \
                 read/write, so a partial write is refused"
            ));
        } else {
            let old = self.reg_read(word);
            let shift = 8 * (off & 3) as u32;
            let mask = (u32::MAX >> (32 - 8 * size)) << shift;
            self.reg_write(word, (old & !mask) | (val << shift & mask));
        }
    }

    fn reg_read(&mut self, off: u64) -> u32 {
        self.r.reg_reads += 1;
        let v = if off < WINDOW {
            self.note_access(off as u32, false);
            self.r.cycles_run += 2;
            self.nic.reg_read(off as u32)
        } else {
            0
        };
        if self.trace_regs {
            eprintln!("[{}] read  {off:#07x} = {v:#010x}", self.nic.now());
        }
        v
    }

    fn reg_write(&mut self, off: u64, v: u32) {
        use regs::nic::{CTRL, EECD, ITR, RADV, RDTR, TADV, TDT, TIDV};
        self.r.reg_writes += 1;
        if self.trace_regs {
            eprintln!("[{}] write {off:#07x} = {v:#010x}", self.nic.now());
        }
        if off >= WINDOW {
            return;
        }
        let off = off as u32;
        self.note_access(off, true);
        self.nic.reg_write(off, v);
        self.r.cycles_run += 1;
        match off {
            // CTRL.RST puts the NIC's timers (and everything else) back to 0.
            CTRL if v & regs::nic::ctrl::RST != 0 => {
                self.timers.clear();
                self.busy = true;
            }
            EECD => {
                self.nic.run(EECD_SETTLE);
                self.r.cycles_run += EECD_SETTLE;
            }
            ITR | TIDV | TADV | RDTR | RADV => {
                self.timers.insert(off, v);
                self.busy = true;
            }
            TDT => {
                self.tdt_cycle = self.nic.now();
                self.busy = true;
            }
            o if self.implemented.contains_key(&o) => self.busy = true,
            _ => {}
        }
    }

    /// Counts an access to a register the NIC does not implement.
    fn note_access(&mut self, off: u32, write: bool) {
        if self.implemented.contains_key(&off) {
            return;
        }
        let e = self
            .r
            .unimplemented
            .entry(report::e1000_name(off))
            .or_default();
        if write {
            e.writes += 1;
        } else {
            e.reads += 1;
        }
    }

    /// Logs a bridge error (it goes into the report; the guest never sees a crash).
    pub fn error(&mut self, msg: String) {
        eprintln!("dmanic-qemu: error: {msg}");
        self.r.errors.push(msg);
    }

    /// A frame from QEMU's network (no FCS): padded to the minimum, given its FCS and played
    /// into the MAC's RX pins. Returns the frame as it went in (for the pcap), or `None` if it
    /// was refused (shorter than a header or longer than the NIC's maximum).
    pub fn frame_from_network(&mut self, frame: &[u8]) -> Option<Vec<u8>> {
        let max = (regs::nic::MAX_FRAME - regs::nic::FCS_BYTES) as usize;
        if frame.len() > max || frame.len() < 14 {
            self.error(format!(
                "a {}-byte frame from the network is dropped",
                frame.len()
            ));
            return None;
        }
        let mut wire = frame.to_vec();
        wire.resize(wire.len().max(regs::nic::MIN_FRAME_NO_FCS as usize), 0);
        wire.extend_from_slice(&report::fcs(&wire).to_le_bytes());
        // Ping timing: from the reply's first byte on the pins (after the symbols still queued),
        // for one reply at a time.
        if report::is_icmp(&wire, report::ICMP_ECHO_REPLY) && self.open_ping.is_none() {
            self.open_ping = Some(self.nic.now() + self.nic.rx_pending());
        }
        self.r.rx_frames += 1;
        self.nic.receive(&wire);
        self.busy = true;
        Some(wire)
    }

    /// The frames the NIC has sent since the last call.
    pub fn frames_to_network(&mut self) -> Vec<SentFrame> {
        let mut out = Vec::new();
        while let Some(f) = self.nic.take_tx_frame() {
            self.r.tx_frames += 1;
            let Some(wire) = f.bytes.strip_prefix(&NicModel::preamble()[..]) else {
                self.r.tx_bad_frames += 1;
                self.error(format!(
                    "a TX frame without preamble and SFD ({} bytes)",
                    f.bytes.len()
                ));
                continue;
            };
            let good = !f.er && wire.len() >= regs::nic::MIN_FRAME as usize && report::fcs_ok(wire);
            if !good {
                self.r.tx_bad_frames += 1;
                self.error(format!(
                    "a bad TX frame ({} bytes, TX_ER {})",
                    wire.len(),
                    f.er
                ));
            } else if report::is_icmp(wire, report::ICMP_ECHO_REQUEST) {
                self.r
                    .ping_tx_cycles
                    .push(f.end_cycle.saturating_sub(self.tdt_cycle));
            }
            out.push(SentFrame {
                wire: wire.to_vec(),
                payload: good.then(|| wire[..wire.len() - 4].to_vec()),
            });
        }
        out
    }

    /// Follows the NIC's interrupt line after every access and run: config status bit 3
    /// shows it; INTA is the line while INTx is enabled, and each time INTA goes up an 8-byte
    /// 1 goes to the irqfd (QEMU wires it to KVM; under TCG nothing reads it, and the guest
    /// polls). At the guest's EOI KVM lowers INTA and signals the resample fd:
    /// [`Card::resample`] raises it again if the line is still up (a level interrupt).
    fn update_irq(&mut self) {
        let line = self.nic.irq();
        if line && !self.nic_line {
            self.r.irq_edges += 1;
        }
        self.nic_line = line;
        self.cfg.set_interrupt_status(line);
        let inta = line && !self.cfg.intx_disabled();
        if inta && !self.irq_level {
            if let Some(fd) = &self.irqfd {
                let one = 1u64.to_ne_bytes();
                // SAFETY: an 8-byte write from a live buffer to the eventfd QEMU gave us.
                let _ = unsafe { libc::write(fd.as_raw_fd(), one.as_ptr().cast(), one.len()) };
            }
        }
        self.irq_level = inta;
    }

    /// The resample fd, for the caller's `poll` (readable after the guest's EOI, under KVM).
    pub fn resample_fd(&self) -> Option<std::os::fd::RawFd> {
        self.resamplefd.as_ref().map(|fd| fd.as_raw_fd())
    }

    /// The guest has acknowledged INTA (the resample fd was readable): KVM has lowered it, so
    /// it is raised again if the NIC's line is still up.
    pub fn resample(&mut self) {
        if let Some(fd) = &self.resamplefd {
            let mut p = libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let mut count = [0u8; 8];
            // SAFETY: a poll of one live pollfd that does not wait, then (only if readable, so
            // that it cannot block) an 8-byte read into a live buffer from the eventfd QEMU
            // gave us; a failed read changes nothing.
            if unsafe { libc::poll(&mut p, 1, 0) } == 1 {
                let _ =
                    unsafe { libc::read(fd.as_raw_fd(), count.as_mut_ptr().cast(), count.len()) };
            }
        }
        self.irq_level = false;
        self.update_irq();
    }

    /// The NIC's cycle count.
    pub fn now(&self) -> u64 {
        self.nic.now()
    }

    /// The report so far, with the NIC's own counts.
    pub fn report(&self) -> Report {
        let a = self.nic.activity();
        let mut r = self.r.clone();
        r.cycles = a.cycles;
        r.dma_reads = a.dma_reads;
        r.dma_writes = a.dma_writes;
        r.dma_faults = a.dma_faults;
        r.eeprom_words = self.nic.eeprom_reads();
        r
    }
}

/// The `size` bytes at byte `off` of the 32-bit register `word`.
fn sub_word(word: u32, off: u64, size: u32) -> u64 {
    if size >= 4 {
        return word as u64;
    }
    let shift = 8 * (off & 3) as u32;
    ((word >> shift) & (u32::MAX >> (32 - 8 * size.max(1)))) as u64
}

#[cfg(test)]
#[path = "card_tests.rs"]
mod tests;
