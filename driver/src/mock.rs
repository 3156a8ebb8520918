//! A test-only [`Device`]: host RAM plus a plain register file. It has no behaviour beyond
//! storing what is written (no DMAC, no W1C), so tests preset registers to the values the
//! hardware would show and check the writes the driver made. Each access costs one cycle.

use std::collections::HashMap;

use regs::{block, csr, sys, RAM_BASE};

use crate::Device;

pub struct MockDevice {
    ram: Vec<u32>,
    regs: HashMap<u32, u32>,
    writes: Vec<(u32, u32)>,
    now: u64,
    irq: bool,
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
            Some(i) => self.ram[i] = value,
            None => {
                self.writes.push((addr, value));
                self.regs.insert(addr, value);
            }
        }
    }

    fn read32(&mut self, addr: u32) -> u32 {
        self.now += 1;
        match self.ram_index(addr) {
            Some(i) => self.ram[i],
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
