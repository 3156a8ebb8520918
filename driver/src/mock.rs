//! A test-only [`Device`]: host RAM plus a plain register file. It has no behaviour beyond
//! storing what is written (no DMAC, no W1C), so tests preset registers to the values the
//! hardware would show and check the writes the driver made. Each access costs one cycle.
//!
//! One exception, so that IOMMU fences can complete: a write to the IOMMU's `CQT` (or `CQEN`
//! going 0 → 1, which resets `CQH`) runs the command queue at once. Every command from `CQH`
//! to `CQT` is logged ([`MockDevice::commands`]); an `IOFENCE.C` with AV writes its data word;
//! an unknown opcode sets `CQCSR.CMD_ILL` and stops there, as the hardware does.
//! [`MockDevice::stall_iommu`] stops execution to provoke timeouts.
//!
//! Two opt-in register behaviours, off unless a test asks: bits that clear themselves right
//! after a write ([`MockDevice::set_self_clearing`], e.g. the NIC's `CTRL.RST`) and registers
//! that read as zero after each read ([`MockDevice::set_read_to_clear`], e.g. `ICR` and the
//! statistics counters).

use std::collections::{HashMap, HashSet};

use regs::iommu::{self, cmd, cqcsr};
use regs::{block, csr, sys, RAM_BASE};

use crate::Device;

pub struct MockDevice {
    ram: Vec<u32>,
    regs: HashMap<u32, u32>,
    writes: Vec<(u32, u32)>,
    now: u64,
    irq: bool,
    ram_writes: Vec<(u32, u32)>,
    commands: Vec<[u32; 4]>,
    iommu_stalled: bool,
    self_clearing: HashMap<u32, u32>,
    read_to_clear: HashSet<u32>,
}

impl MockDevice {
    /// `ram_bytes` of zeroed RAM; `SYS.ID`, `VERSION` and `RAM_BYTES` preset.
    pub fn new(ram_bytes: u32) -> Self {
        let mut d = MockDevice {
            ram: vec![0; (ram_bytes / 4) as usize],
            regs: HashMap::new(),
            writes: Vec::new(),
            now: 0,
            irq: false,
            ram_writes: Vec::new(),
            commands: Vec::new(),
            iommu_stalled: false,
            self_clearing: HashMap::new(),
            read_to_clear: HashSet::new(),
        };
        d.set_reg(csr(block::SYS, sys::ID), sys::ID_VALUE);
        d.set_reg(csr(block::SYS, sys::VERSION), sys::VERSION_VALUE);
        d.set_reg(csr(block::SYS, sys::RAM_BYTES), ram_bytes);
        d
    }

    pub fn set_reg(&mut self, addr: u32, value: u32) {
        self.regs.insert(addr, value);
    }

    pub fn reg(&self, addr: u32) -> u32 {
        self.regs.get(&addr).copied().unwrap_or(0)
    }

    pub fn set_irq(&mut self, level: bool) {
        self.irq = level;
    }

    /// Every register write, in order (RAM writes are not logged).
    pub fn writes(&self) -> &[(u32, u32)] {
        &self.writes
    }

    /// Every RAM write made through the host port, in order.
    pub fn ram_writes(&self) -> &[(u32, u32)] {
        &self.ram_writes
    }

    pub fn clear_ram_writes(&mut self) {
        self.ram_writes.clear();
    }

    /// Every IOMMU command executed so far, in order.
    pub fn commands(&self) -> &[[u32; 4]] {
        &self.commands
    }

    /// Forgets the logged commands.
    pub fn clear_commands(&mut self) {
        self.commands.clear();
    }

    /// While stalled the IOMMU executes no commands (`CQH` stays put).
    pub fn stall_iommu(&mut self, stalled: bool) {
        self.iommu_stalled = stalled;
    }

    /// The `mask` bits of register `addr` clear themselves right after every write (the
    /// write itself is logged as made).
    pub fn set_self_clearing(&mut self, addr: u32, mask: u32) {
        self.self_clearing.insert(addr, mask);
    }

    /// Register `addr` reads as its value once, then as 0 (until set or written again).
    pub fn set_read_to_clear(&mut self, addr: u32) {
        self.read_to_clear.insert(addr);
    }

    /// Executes the command queue from `CQH` to `CQT`.
    fn run_iommu_commands(&mut self) {
        let reg = |o| csr(block::IOMMU, o);
        let csr_v = self.reg(reg(iommu::CQCSR));
        if self.iommu_stalled
            || csr_v & cqcsr::CQEN == 0
            || csr_v & (cqcsr::CMD_ILL | cqcsr::CQMF) != 0
        {
            return;
        }
        let cqb = self.reg(reg(iommu::CQB));
        let base = (cqb >> iommu::qb::PPN_SHIFT) << 12;
        let mask = (2u32 << (cqb & iommu::qb::LOG2SZM1_MASK)) - 1;
        let tail = self.reg(reg(iommu::CQT)) & mask;
        let mut head = self.reg(reg(iommu::CQH)) & mask;
        while head != tail {
            let mut c = [0; 4];
            for (i, w) in c.iter_mut().enumerate() {
                *w = self
                    .ram_index(base + head * cmd::BYTES + 4 * i as u32)
                    .map_or(0, |j| self.ram[j]);
            }
            match c[0] & cmd::OPCODE_MASK {
                cmd::OP_IOTINVAL | cmd::OP_IODIR => {}
                cmd::OP_IOFENCE => {
                    if c[0] & cmd::AV != 0 {
                        if let Some(j) = self.ram_index(c[2]) {
                            self.ram[j] = c[1];
                        }
                    }
                }
                _ => {
                    self.regs.insert(reg(iommu::CQCSR), csr_v | cqcsr::CMD_ILL);
                    break;
                }
            }
            self.commands.push(c);
            head = (head + 1) & mask;
        }
        self.regs.insert(reg(iommu::CQH), head);
    }

    fn ram_index(&self, addr: u32) -> Option<usize> {
        let i = (addr.checked_sub(RAM_BASE)? / 4) as usize;
        (i < self.ram.len()).then_some(i)
    }
}

impl Device for MockDevice {
    fn write32_be(&mut self, addr: u32, value: u32, be: u8) {
        self.now += 1;
        assert_eq!(be, 0xF, "the driver only writes whole words");
        match self.ram_index(addr) {
            Some(i) => {
                self.ram[i] = value;
                self.ram_writes.push((addr, value));
            }
            None => {
                self.writes.push((addr, value));
                let old = self.regs.insert(addr, value).unwrap_or(0);
                if let Some(mask) = self.self_clearing.get(&addr) {
                    self.regs.insert(addr, value & !mask);
                }
                if addr == csr(block::IOMMU, iommu::CQCSR) && value & !old & cqcsr::CQEN != 0 {
                    self.regs.insert(csr(block::IOMMU, iommu::CQH), 0);
                }
                if addr == csr(block::IOMMU, iommu::CQT) || addr == csr(block::IOMMU, iommu::CQCSR)
                {
                    self.run_iommu_commands();
                }
            }
        }
    }

    fn read32(&mut self, addr: u32) -> u32 {
        self.now += 1;
        match self.ram_index(addr) {
            Some(i) => self.ram[i],
            None if self.read_to_clear.contains(&addr) => self.regs.insert(addr, 0).unwrap_or(0),
            None => self.reg(addr),
        }
    }

    fn wait_irq(&mut self, max_cycles: u64) -> bool {
        if !self.irq {
            self.now += max_cycles;
        }
        self.irq
    }

    fn advance(&mut self, cycles: u64) {
        self.now += cycles;
    }

    fn now(&self) -> u64 {
        self.now
    }

    fn irq(&self) -> bool {
        self.irq
    }

    fn describe_state(&self) -> String {
        "mock: nothing moves".into()
    }
}

/// The Sv32 walk as the hardware does it, over the mock's RAM and using only the `regs::sv32`
/// helpers (no permission checks): (physical address, leaf PTE) for `iova`.
pub fn sv32_walk(dev: &mut MockDevice, root_pa: u32, iova: u32) -> Option<(u64, u32)> {
    use regs::sv32::{self, pte};
    let root_ppn = sv32::pa_to_ppn(u64::from(root_pa));
    let r = dev.read32(sv32::pte_addr(root_ppn, iova, 1) as u32);
    if r & pte::V == 0 {
        return None;
    }
    if pte::is_leaf(r) {
        return Some((pte::pa(r) + u64::from(sv32::superpage_offset(iova)), r));
    }
    let e = dev.read32(sv32::pte_addr(pte::ppn(r), iova, 0) as u32);
    (e & pte::V != 0).then(|| (pte::pa(e) + u64::from(sv32::page_offset(iova)), e))
}
