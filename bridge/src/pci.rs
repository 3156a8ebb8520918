//! The 82540EM's PCI configuration space, as the device process answers `PCI_CFGREAD` and
//! `PCI_CFGWRITE` for it.
//!
//! QEMU's proxy sends every configuration access of the guest here and keeps only a local copy
//! for its own bookkeeping (`pci_proxy_read_config`/`pci_proxy_write_config` in
//! `hw/remote/proxy.c`), so this is the configuration space the guest sees. When the proxy is
//! realized it learns the BARs from it (`probe_pci_info`): for each of the six BARs and the
//! dword after them (0x10 ..= 0x28) it reads the register, writes `0xFFFF_FFFF`, reads back,
//! and writes the original value back; the size is `!(readback & 0xFFFF_FFF0) + 1` (so 0 for
//! a register that reads 0, no BAR), and bit 0 of the readback picks I/O (1) or 32-bit memory
//! (0). It then registers BARs of that size and type in its local copy (never 64-bit or
//! prefetchable) and maps them wherever the guest programs them, with the rules of
//! `pci_bar_address` in `hw/pci/pci.c`; BAR accesses then arrive as `BAR_READ`/`BAR_WRITE` with
//! absolute addresses, which [`ConfigSpace::decode`] turns back into a BAR and an offset.
//!
//! The registers are those of QEMU's own `e1000` device (`hw/net/e1000.c`, `e1000_class_init`,
//! `pci_e1000_realize`; `hw/pci/pci.c` for the common parts), except where noted:
//!
//! | offset | register | value after reset | writable bits |
//! |-------:|----------|------------------:|---------------|
//! | 0x00 | vendor, device | 0x8086, 0x100E | none |
//! | 0x04 | command | 0 | I/O space (0), memory space (1), bus master (2), INTx disable (10) |
//! | 0x06 | status | 0 (no capability list) | none; bit 3 follows [`ConfigSpace::set_interrupt_status`] |
//! | 0x08 | revision, class | 0x03, 0x020000 (Ethernet) | none |
//! | 0x0C | cache line size, latency timer | 0, 0 | all |
//! | 0x0E | header type, BIST | 0, 0 | none |
//! | 0x10 | BAR0 | 0 (32-bit memory, not prefetchable) | 31:17 (128 KiB) |
//! | 0x14 | BAR1 | 1 (I/O) | 31:6 (64 bytes) |
//! | 0x18 ..= 0x28 | BAR2 ..= BAR5, CardBus CIS | 0 | none |
//! | 0x2C | subsystem vendor, subsystem | 0x8086, 0x001E | none |
//! | 0x30 | expansion ROM | 0 (none) | none |
//! | 0x34 | capabilities pointer | 0 | none |
//! | 0x3C | interrupt line, pin, Min_Gnt, Max_Lat | 0, 1 (INTA#), 0, 0 | line: all |
//! | 0x40 ..= 0xFF | device specific | 0 | none |
//!
//! Differences from QEMU's `e1000`: QEMU leaves the subsystem IDs at its default 0x1AF4/0x1100
//! (`pci_set_default_subsystem_id`; its EEPROM image says 0x8086/0x100E); 0x8086/0x001E is the
//! Intel PRO/1000 MT Desktop adapter's, and [`ConfigSpace::with_subsystem`] picks others.
//! QEMU also makes command bit 8 (SERR#) writable and bytes 0x40..=0xFF read-write, keeps the
//! latency timer read-only at 0, sets the cache line size to 0x10 at realize (cleared to 0 by
//! the machine's reset before the guest runs), and has an option ROM BAR; the proxy never
//! probes 0x30, so a ROM could not be used through it anyway.
//!
//! Accesses are little endian, 1, 2 or 4 bytes at any offset as long as they end inside the
//! 256 bytes (as `pci_default_read_config` allows). Reads past the end, or of another length,
//! return all ones (of the access's width; `0xFFFF_FFFF` for a bad length), and such writes
//! are ignored. Writes go through a per-byte write mask, as in QEMU's
//! `pci_default_write_config`, so writing a BAR's bytes one at a time works.

/// Intel.
pub const VENDOR_ID: u16 = 0x8086;
/// 82540EM (`E1000_DEV_ID_82540EM`).
pub const DEVICE_ID: u16 = 0x100E;
/// Revision ID of QEMU's `e1000` (`e1000_devices[]` in `hw/net/e1000.c`).
pub const REVISION_ID: u8 = 0x03;
/// Class code: network controller, Ethernet, programming interface 0.
pub const CLASS_CODE: u32 = 0x02_0000;
/// Default subsystem vendor ID: Intel.
pub const SUBSYSTEM_VENDOR_ID: u16 = 0x8086;
/// Default subsystem ID: PRO/1000 MT Desktop Adapter.
pub const SUBSYSTEM_ID: u16 = 0x001E;
/// BAR0, the register file (`PNPMMIO_SIZE` in `hw/net/e1000.c`): 128 KiB of memory space.
pub const BAR0_SIZE: u32 = 0x2_0000;
/// BAR1, the IOADDR/IODATA window (`IOPORT_SIZE` in `hw/net/e1000.c`): 64 bytes of I/O space.
pub const BAR1_SIZE: u32 = 0x40;
/// Bytes of a conventional PCI configuration space.
pub const CONFIG_SIZE: usize = 256;

/// Register offsets.
pub mod reg {
    /// Vendor ID (16 bits).
    pub const VENDOR_ID: usize = 0x00;
    /// Device ID (16 bits).
    pub const DEVICE_ID: usize = 0x02;
    /// Command (16 bits).
    pub const COMMAND: usize = 0x04;
    /// Status (16 bits).
    pub const STATUS: usize = 0x06;
    /// Revision ID (8 bits).
    pub const REVISION_ID: usize = 0x08;
    /// Class code: programming interface, subclass, base class (24 bits).
    pub const CLASS_PROG: usize = 0x09;
    /// Sub-class and base class (16 bits), what QEMU's proxy reads as the class.
    pub const CLASS_DEVICE: usize = 0x0A;
    /// Cache line size (8 bits).
    pub const CACHE_LINE_SIZE: usize = 0x0C;
    /// Latency timer (8 bits).
    pub const LATENCY_TIMER: usize = 0x0D;
    /// Header type (8 bits).
    pub const HEADER_TYPE: usize = 0x0E;
    /// BAR0 (32 bits).
    pub const BAR0: usize = 0x10;
    /// BAR1 (32 bits).
    pub const BAR1: usize = 0x14;
    /// CardBus CIS pointer, the seventh dword QEMU's proxy probes as a BAR.
    pub const CARDBUS_CIS: usize = 0x28;
    /// Subsystem vendor ID (16 bits).
    pub const SUBSYSTEM_VENDOR_ID: usize = 0x2C;
    /// Subsystem ID (16 bits).
    pub const SUBSYSTEM_ID: usize = 0x2E;
    /// Expansion ROM base address (32 bits).
    pub const ROM_ADDRESS: usize = 0x30;
    /// Capabilities pointer (8 bits).
    pub const CAPABILITY_LIST: usize = 0x34;
    /// Interrupt line (8 bits).
    pub const INTERRUPT_LINE: usize = 0x3C;
    /// Interrupt pin (8 bits).
    pub const INTERRUPT_PIN: usize = 0x3D;
}

/// Command register bits.
pub mod command {
    /// I/O space decoding.
    pub const IO: u16 = 1 << 0;
    /// Memory space decoding.
    pub const MEMORY: u16 = 1 << 1;
    /// Bus master: the device may DMA.
    pub const MASTER: u16 = 1 << 2;
    /// INTx disable: the device must not assert INTA#.
    pub const INTX_DISABLE: u16 = 1 << 10;
    /// Every writable bit.
    pub const WRITABLE: u16 = IO | MEMORY | MASTER | INTX_DISABLE;
}

/// Status register bit 3: the device's INTx is asserted (whether or not INTx disable is set).
pub const STATUS_INTERRUPT: u16 = 1 << 3;

/// Which BAR an address falls in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bar {
    /// BAR0: the memory-mapped register file.
    Mmio,
    /// BAR1: the I/O window (IOADDR at 0, IODATA at 4).
    Io,
}

/// The configuration space of one 82540EM function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigSpace {
    bytes: [u8; CONFIG_SIZE],
    wmask: [u8; CONFIG_SIZE],
    subsystem_vendor_id: u16,
    subsystem_id: u16,
}

impl Default for ConfigSpace {
    fn default() -> Self {
        ConfigSpace::new()
    }
}

impl ConfigSpace {
    /// The configuration space after reset, subsystem 0x8086/0x001E.
    pub fn new() -> Self {
        ConfigSpace::with_subsystem(SUBSYSTEM_VENDOR_ID, SUBSYSTEM_ID)
    }

    /// The configuration space after reset, with other subsystem IDs (e.g. QEMU's
    /// 0x1AF4/0x1100, to look exactly like QEMU's own `e1000`).
    pub fn with_subsystem(subsystem_vendor_id: u16, subsystem_id: u16) -> Self {
        let mut wmask = [0u8; CONFIG_SIZE];
        put(&mut wmask, reg::COMMAND, command::WRITABLE as u32, 2);
        wmask[reg::CACHE_LINE_SIZE] = 0xff;
        wmask[reg::LATENCY_TIMER] = 0xff;
        put(&mut wmask, reg::BAR0, !(BAR0_SIZE - 1), 4);
        put(&mut wmask, reg::BAR1, !(BAR1_SIZE - 1), 4);
        wmask[reg::INTERRUPT_LINE] = 0xff;
        let mut space = ConfigSpace {
            bytes: [0; CONFIG_SIZE],
            wmask,
            subsystem_vendor_id,
            subsystem_id,
        };
        space.reset();
        space
    }

    /// Back to the values after reset (PCI RST#): command 0, BARs unassigned, interrupt line,
    /// cache line size and latency timer 0, interrupt status clear.
    pub fn reset(&mut self) {
        let b = &mut self.bytes;
        *b = [0; CONFIG_SIZE];
        put(b, reg::VENDOR_ID, VENDOR_ID as u32, 2);
        put(b, reg::DEVICE_ID, DEVICE_ID as u32, 2);
        b[reg::REVISION_ID] = REVISION_ID;
        put(b, reg::CLASS_PROG, CLASS_CODE, 3);
        // BAR0: memory space, 32-bit, not prefetchable: type bits 0. BAR1: I/O space.
        put(b, reg::BAR1, 1, 4);
        put(
            b,
            reg::SUBSYSTEM_VENDOR_ID,
            self.subsystem_vendor_id as u32,
            2,
        );
        put(b, reg::SUBSYSTEM_ID, self.subsystem_id as u32, 2);
        b[reg::INTERRUPT_PIN] = 1;
    }

    /// A `len`-byte (1, 2 or 4) little-endian read at `addr`. All ones past the end of the
    /// space or for another length (see the module documentation).
    pub fn read(&self, addr: u32, len: u32) -> u32 {
        let Some(range) = range(addr, len) else {
            return ones(len);
        };
        self.bytes[range]
            .iter()
            .rev()
            .fold(0u32, |v, &byte| (v << 8) | byte as u32)
    }

    /// A `len`-byte (1, 2 or 4) write of the low bytes of `val` at `addr`, through the write
    /// mask: read-only bits keep their value, BARs keep their type bits and size alignment
    /// (so writing `0xFFFF_FFFF` to a BAR makes it read back its size mask). Ignored past the
    /// end of the space or for another length.
    pub fn write(&mut self, addr: u32, val: u32, len: u32) {
        let Some(range) = range(addr, len) else {
            return;
        };
        for (i, at) in range.enumerate() {
            let byte = (val >> (8 * i)) as u8;
            let mask = self.wmask[at];
            self.bytes[at] = (self.bytes[at] & !mask) | (byte & mask);
        }
    }

    /// The whole configuration space.
    pub fn bytes(&self) -> &[u8; CONFIG_SIZE] {
        &self.bytes
    }

    /// The command register.
    pub fn command(&self) -> u16 {
        self.read(reg::COMMAND as u32, 2) as u16
    }

    /// Whether bus mastering is on: the device may DMA only then. (QEMU's proxy does not
    /// enforce it: the shared RAM is always there.)
    pub fn bus_master(&self) -> bool {
        self.command() & command::MASTER != 0
    }

    /// Whether INTx disable is set: the device must then not assert its interrupt. (The irqfd
    /// goes straight to KVM, so QEMU does not mask it.)
    pub fn intx_disabled(&self) -> bool {
        self.command() & command::INTX_DISABLE != 0
    }

    /// The interrupt line the firmware wrote (informational; QEMU routes the irqfd itself).
    pub fn interrupt_line(&self) -> u8 {
        self.bytes[reg::INTERRUPT_LINE]
    }

    /// Sets or clears the status register's interrupt status bit (bit 3), which reports the
    /// device's INTx level, as QEMU's `pci_update_irq_status` does.
    pub fn set_interrupt_status(&mut self, asserted: bool) {
        if asserted {
            self.bytes[reg::STATUS] |= STATUS_INTERRUPT as u8;
        } else {
            self.bytes[reg::STATUS] &= !(STATUS_INTERRUPT as u8);
        }
    }

    /// BAR0's base address, if the BAR is mapped: memory decoding on and a base that QEMU's
    /// `pci_bar_address` (`hw/pci/pci.c`) would map, that is not 0 and with the whole 128 KiB
    /// below 4 GiB - 1 (so not while the BAR holds the sizing value `0xFFFE_0000`).
    pub fn bar0(&self) -> Option<u64> {
        if self.command() & command::MEMORY == 0 {
            return None;
        }
        mapped(self.read(reg::BAR0 as u32, 4), BAR0_SIZE).map(u64::from)
    }

    /// BAR1's base I/O port, if the BAR is mapped: I/O decoding on and a base that
    /// `pci_bar_address` would map (not 0, the whole window below `0xFFFF_FFFF`).
    pub fn bar1(&self) -> Option<u32> {
        if self.command() & command::IO == 0 {
            return None;
        }
        mapped(self.read(reg::BAR1 as u32, 4), BAR1_SIZE)
    }

    /// Which BAR `addr` (a guest-physical address if `memory`, else an I/O port, as in
    /// `BAR_READ`/`BAR_WRITE`) falls in, and its offset there; `None` if the BAR of that space
    /// is not mapped ([`ConfigSpace::bar0`], [`ConfigSpace::bar1`]) or `addr` is outside it.
    pub fn decode(&self, addr: u64, memory: bool) -> Option<(Bar, u64)> {
        self.decode_access(addr, 1, memory)
    }

    /// As [`ConfigSpace::decode`], for a `size`-byte access that must lie wholly inside the
    /// BAR (a `size` of 0 is taken as 1).
    pub fn decode_access(&self, addr: u64, size: u32, memory: bool) -> Option<(Bar, u64)> {
        let (bar, base, bar_size) = if memory {
            (Bar::Mmio, self.bar0()?, u64::from(BAR0_SIZE))
        } else {
            (Bar::Io, u64::from(self.bar1()?), u64::from(BAR1_SIZE))
        };
        let offset = addr.checked_sub(base)?;
        let end = offset.checked_add(u64::from(size.max(1)))?;
        (end <= bar_size).then_some((bar, offset))
    }
}

/// The bytes a `len`-byte access at `addr` covers, if it is a valid access.
fn range(addr: u32, len: u32) -> Option<std::ops::Range<usize>> {
    if !matches!(len, 1 | 2 | 4) {
        return None;
    }
    let start = addr as usize;
    let end = start.checked_add(len as usize)?;
    (end <= CONFIG_SIZE).then_some(start..end)
}

/// What a read of nothing returns: all ones of the access's width.
fn ones(len: u32) -> u32 {
    match len {
        1 => 0xff,
        2 => 0xffff,
        _ => 0xffff_ffff,
    }
}

/// Stores the low `len` bytes of `val` at `at`, little endian.
fn put(bytes: &mut [u8; CONFIG_SIZE], at: usize, val: u32, len: usize) {
    bytes[at..at + len].copy_from_slice(&val.to_le_bytes()[..len]);
}

/// A 32-bit BAR's base if QEMU would map it: the value's address bits, not 0, and the last
/// byte below `u32::MAX` (`pci_bar_address` in `hw/pci/pci.c`).
fn mapped(bar: u32, size: u32) -> Option<u32> {
    let base = bar & !(size - 1);
    let last = u64::from(base) + u64::from(size) - 1;
    (base != 0 && last < u64::from(u32::MAX)).then_some(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `probe_pci_info` in QEMU's `hw/remote/proxy.c`, step by step: returns each probed
    /// register's (size, is I/O) and checks the original value was restored.
    fn qemu_probe(cs: &mut ConfigSpace) -> Vec<(u32, bool)> {
        (0..7)
            .map(|i| {
                let at = 0x10 + 4 * i;
                let orig = cs.read(at, 4);
                cs.write(at, 0xffff_ffff, 4);
                let new = cs.read(at, 4);
                let size = (!(new & 0xffff_fff0)).wrapping_add(1);
                cs.write(at, orig, 4);
                assert_eq!(cs.read(at, 4), orig, "register {at:#x} restored");
                (size, new & 1 == 1)
            })
            .collect()
    }

    fn programmed() -> ConfigSpace {
        let mut cs = ConfigSpace::new();
        cs.write(0x10, 0xfebc_0000, 4);
        cs.write(0x14, 0xc000, 4);
        cs.write(
            0x04,
            (command::IO | command::MEMORY | command::MASTER) as u32,
            2,
        );
        cs
    }

    #[test]
    fn ids_as_qemus_proxy_reads_them() {
        let cs = ConfigSpace::new();
        assert_eq!(cs.read(0x00, 2), 0x8086);
        assert_eq!(cs.read(0x02, 2), 0x100e);
        assert_eq!(cs.read(0x0a, 2), 0x0200);
        assert_eq!(cs.read(0x2e, 2), 0x001e);
        assert_eq!(cs.read(0x00, 4), 0x100e_8086);
        assert_eq!(cs.read(0x08, 4), 0x0200_0003);
        assert_eq!(cs.read(0x2c, 4), 0x001e_8086);
        assert_eq!(
            cs.read(0x0c, 4),
            0,
            "cache line, latency, header type 0, BIST"
        );
        assert_eq!(cs.read(0x06, 2) & 0x10, 0, "no capability list");
        assert_eq!(cs.read(0x34, 1), 0);
        assert_eq!(cs.read(0x3c, 4), 0x0000_0100, "INTA#, line 0");
        assert_eq!(cs.read(0x10, 4), 0);
        assert_eq!(cs.read(0x14, 4), 1);
        let qemu_like = ConfigSpace::with_subsystem(0x1af4, 0x1100);
        assert_eq!(qemu_like.read(0x2c, 4), 0x1100_1af4);
    }

    #[test]
    fn bar_sizing_as_qemus_proxy_does_it() {
        let mut cs = ConfigSpace::new();
        let probed = qemu_probe(&mut cs);
        assert_eq!(
            probed,
            [
                (0x2_0000, false),
                (0x40, true),
                (0, false),
                (0, false),
                (0, false),
                (0, false),
                (0, false)
            ]
        );
        assert_eq!(cs, ConfigSpace::new(), "probing leaves nothing behind");
        // With assigned BARs the probe restores them too.
        let mut cs = programmed();
        assert_eq!(qemu_probe(&mut cs)[..2], [(0x2_0000, false), (0x40, true)]);
        assert_eq!(cs, programmed());
    }

    #[test]
    fn bar_writes_keep_type_bits_and_alignment() {
        let mut cs = ConfigSpace::new();
        cs.write(0x10, 0xffff_ffff, 4);
        assert_eq!(cs.read(0x10, 4), 0xfffe_0000);
        cs.write(0x14, 0xffff_ffff, 4);
        assert_eq!(cs.read(0x14, 4), 0xffff_ffc1);
        cs.write(0x10, 0xfebc_1234, 4);
        assert_eq!(cs.read(0x10, 4), 0xfebc_0000);
        cs.write(0x14, 0xc03f, 4);
        assert_eq!(cs.read(0x14, 4), 0xc001);
        // Byte and word writes into a BAR.
        cs.write(0x13, 0xe0, 1);
        assert_eq!(cs.read(0x10, 4), 0xe0bc_0000);
        cs.write(0x12, 0x1233, 2);
        assert_eq!(
            cs.read(0x10, 4),
            0x1232_0000,
            "bit 16 is below the 128 KiB size"
        );
        cs.write(0x15, 0xd1, 1);
        assert_eq!(cs.read(0x14, 4), 0xd101);
        // Nothing else takes a BAR value.
        for at in (0x18..=0x28).step_by(4).chain([0x30]) {
            cs.write(at, 0xffff_ffff, 4);
            assert_eq!(cs.read(at, 4), 0, "{at:#x}");
        }
    }

    #[test]
    fn command_register_bits() {
        let mut cs = ConfigSpace::new();
        assert!(!cs.bus_master());
        cs.write(0x04, 0xffff_ffff, 4);
        assert_eq!(cs.command(), 0x0407);
        assert_eq!(cs.read(0x06, 2), 0, "status is read-only");
        assert!(cs.bus_master());
        assert!(cs.intx_disabled());
        cs.write(0x04, 0x0006, 1);
        assert_eq!(cs.command(), 0x0406, "a byte write leaves the high byte");
        cs.write(0x05, 0x00, 1);
        assert_eq!(cs.command(), 0x0006);
        assert!(!cs.intx_disabled());
        cs.write(0x04, 0x0100, 2);
        assert_eq!(cs.command(), 0, "SERR# is not writable");
    }

    #[test]
    fn byte_and_word_accesses_at_any_offset() {
        let mut cs = ConfigSpace::new();
        assert_eq!(cs.read(0x01, 1), 0x80);
        assert_eq!(cs.read(0x01, 2), 0x0e80);
        assert_eq!(
            cs.read(0x03, 2),
            0x0010,
            "device ID high byte, command low byte"
        );
        assert_eq!(cs.read(0x3d, 1), 1);
        assert_eq!(cs.read(0xfc, 4), 0);
        cs.write(0x3c, 0x0b, 1);
        assert_eq!(cs.read(0x3c, 4), 0x0000_010b);
        assert_eq!(cs.interrupt_line(), 0x0b);
        cs.write(0x3c, 0xffff, 2);
        assert_eq!(cs.read(0x3c, 2), 0x01ff, "the pin stays 1");
        cs.write(0x0c, 0x4010, 2);
        assert_eq!(
            cs.read(0x0c, 4),
            0x0000_4010,
            "cache line and latency timer"
        );
        cs.write(0x0e, 0xffff, 2);
        assert_eq!(cs.read(0x0e, 2), 0, "header type and BIST read-only");
        cs.write(0x00, 0xffff_ffff, 4);
        cs.write(0x08, 0xffff_ffff, 4);
        cs.write(0x2c, 0xffff_ffff, 4);
        cs.write(0x40, 0xffff_ffff, 4);
        assert_eq!(cs.read(0x00, 4), 0x100e_8086);
        assert_eq!(cs.read(0x08, 4), 0x0200_0003);
        assert_eq!(cs.read(0x2c, 4), 0x001e_8086);
        assert_eq!(cs.read(0x40, 4), 0);
    }

    #[test]
    fn out_of_range_and_bad_lengths() {
        let mut cs = ConfigSpace::new();
        let before = cs.clone();
        assert_eq!(cs.read(0x100, 4), 0xffff_ffff);
        assert_eq!(cs.read(0xfe, 4), 0xffff_ffff);
        assert_eq!(cs.read(0xff, 2), 0xffff);
        assert_eq!(cs.read(0x100, 1), 0xff);
        assert_eq!(cs.read(u32::MAX, 4), 0xffff_ffff);
        assert_eq!(cs.read(0, 3), 0xffff_ffff);
        assert_eq!(cs.read(0, 0), 0xffff_ffff);
        assert_eq!(cs.read(0, 8), 0xffff_ffff);
        assert_eq!(cs.read(0xff, 1), 0, "the last byte is in range");
        cs.write(0x3c, 0x55, 3);
        cs.write(0xfe, 0xffff_ffff, 4);
        cs.write(u32::MAX, 0xffff_ffff, 4);
        assert_eq!(cs, before);
    }

    #[test]
    fn bars_decode_only_when_enabled_and_inside() {
        let mut cs = ConfigSpace::new();
        cs.write(0x10, 0xfebc_0000, 4);
        cs.write(0x14, 0xc000, 4);
        assert_eq!(cs.bar0(), None, "memory decoding off");
        assert_eq!(cs.bar1(), None, "I/O decoding off");
        assert_eq!(cs.decode(0xfebc_0000, true), None);
        cs.write(0x04, command::MEMORY as u32, 2);
        assert_eq!(cs.bar0(), Some(0xfebc_0000));
        assert_eq!(cs.bar1(), None);
        cs.write(0x04, (command::MEMORY | command::IO) as u32, 2);
        assert_eq!(cs.bar1(), Some(0xc000));

        assert_eq!(cs.decode(0xfebc_0000, true), Some((Bar::Mmio, 0)));
        assert_eq!(cs.decode(0xfebc_00d0, true), Some((Bar::Mmio, 0xd0)));
        assert_eq!(cs.decode(0xfebd_ffff, true), Some((Bar::Mmio, 0x1_ffff)));
        assert_eq!(cs.decode(0xfebe_0000, true), None);
        assert_eq!(cs.decode(0xfebb_fffc, true), None);
        assert_eq!(cs.decode(0xfebc_0000, false), None, "wrong space");
        assert_eq!(cs.decode(0xc004, false), Some((Bar::Io, 4)));
        assert_eq!(cs.decode(0xc03f, false), Some((Bar::Io, 0x3f)));
        assert_eq!(cs.decode(0xc040, false), None);
        assert_eq!(cs.decode(0xc004, true), None, "wrong space");
        assert_eq!(
            cs.decode_access(0xfebd_fffc, 4, true),
            Some((Bar::Mmio, 0x1_fffc))
        );
        assert_eq!(
            cs.decode_access(0xfebd_fffc, 8, true),
            None,
            "straddles the end"
        );
        assert_eq!(cs.decode_access(0xc03c, 4, false), Some((Bar::Io, 0x3c)));
        assert_eq!(cs.decode_access(0xc03e, 4, false), None);
        assert_eq!(cs.decode_access(u64::MAX, 8, true), None);
    }

    #[test]
    fn unassigned_or_sizing_bars_are_not_mapped() {
        let mut cs = ConfigSpace::new();
        cs.write(0x04, (command::MEMORY | command::IO) as u32, 2);
        assert_eq!(cs.bar0(), None, "base 0");
        assert_eq!(cs.bar1(), None, "base 0");
        cs.write(0x10, 0xffff_ffff, 4);
        cs.write(0x14, 0xffff_ffff, 4);
        assert_eq!(cs.bar0(), None, "sizing value: ends at 0xFFFFFFFF");
        assert_eq!(cs.bar1(), None, "sizing value: ends at 0xFFFFFFFF");
        assert_eq!(cs.decode(0xffff_fff0, true), None);
        cs.write(0x10, 0xfffc_0000, 4);
        assert_eq!(cs.bar0(), Some(0xfffc_0000), "the highest base that fits");
    }

    #[test]
    fn interrupt_status_bit() {
        let mut cs = ConfigSpace::new();
        cs.set_interrupt_status(true);
        assert_eq!(cs.read(0x06, 2), STATUS_INTERRUPT as u32);
        cs.write(0x06, 0xffff, 2);
        assert_eq!(cs.read(0x06, 2), STATUS_INTERRUPT as u32, "not writable");
        cs.set_interrupt_status(false);
        assert_eq!(cs.read(0x06, 2), 0);
    }

    #[test]
    fn reset_restores_power_up_values() {
        let mut cs = programmed();
        cs.write(0x3c, 0x0b, 1);
        cs.write(0x0c, 0x10, 1);
        cs.set_interrupt_status(true);
        let custom = ConfigSpace::with_subsystem(0x1af4, 0x1100);
        let mut custom_used = custom.clone();
        custom_used.write(0x04, 7, 2);
        assert_ne!(cs, ConfigSpace::new());
        cs.reset();
        custom_used.reset();
        assert_eq!(cs, ConfigSpace::new());
        assert_eq!(custom_used, custom, "the subsystem IDs survive a reset");
        assert_eq!(cs.bytes()[0x3d], 1);
    }
}
