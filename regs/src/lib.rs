//! The one place where the SoC's memory map, register offsets, register fields and in-memory
//! descriptor layouts are defined.
//!
//! * the rtl crate decodes from these constants (they become `Constant<_>` fields of the blocks),
//! * the driver encodes from them,
//! * the register map (docs/register-map.md) and each block page's register table are
//!   generated from [`REGISTERS`] (`cargo run -p testbench --bin regmap`).
//!
//! Addresses are byte addresses on the 32-bit host port. Every register is 32 bits wide and
//! word aligned; byte enables are ignored for register writes (the whole word is written).

#![no_std]

/// Host RAM starts at physical address 0. Its size is a build parameter of the SoC (see
/// [`SocConfig`]); the `SYS.RAM_BYTES` register reports it at run time.
pub const RAM_BASE: u32 = 0x0000_0000;

/// Base of the CSR window. The window is [`CSR_WINDOW_BYTES`] long; host accesses that fall
/// neither in RAM nor in this window are counted in `SYS.HOST_ERRORS` (reads return 0).
pub const CSR_BASE: u32 = 0x4000_0000;
/// Size of the CSR window (the address bits below it are the CSR offset).
pub const CSR_WINDOW_BITS: usize = 18;
pub const CSR_WINDOW_BYTES: u32 = 1 << CSR_WINDOW_BITS;

/// A page: bursts never cross one, and (later) the IOMMU translates one at a time.
pub const PAGE_BYTES: u32 = 4096;

/// One build configuration of the SoC: memory sizes and which optional hardware is built.
/// Simulation builds [`SocConfig::SIM`]; each board in [`board`] names its own. The rtl crate
/// turns the sizes into const generics and the rest into `Constant` fields, so an option that
/// is off leaves logic whose outputs nothing reads, and yosys removes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocConfig {
    /// log2 of the number of 32-bit words of host RAM.
    pub word_addr_bits: usize,
    /// log2 of the number of 32-bit words of each NIC FIFO (TX and RX).
    pub nic_fifo_word_bits: usize,
    /// Complete frames each NIC FIFO can hold at once (its frame queue's depth, 1 to 32).
    pub nic_frame_queue_depth: usize,
    /// Width of the statistics and performance counters (NIC statistics, arbiter and IOMMU
    /// counters), 1 to 32. Narrower counters still saturate (the NIC's) or wrap (the
    /// arbiter's and IOMMU's) at their own width; the bits above read 0.
    pub counter_bits: usize,
    /// memcpy channels built, 1 to [`dmac::CHANNELS`]. A channel not built reads 0 and
    /// ignores writes (its STATUS never shows BUSY).
    pub dma_channels: usize,
    /// Whether the NIC is built. Without it the NIC window reads 0 and ignores writes.
    pub nic: bool,
    /// Whether the IOMMU is built. Without it device addresses are physical (as in its Bare
    /// mode: an access outside RAM is refused with a fault, never wrapped into RAM), the IOMMU
    /// window reads 0 and ignores writes, and it never interrupts.
    pub iommu: bool,
    /// Whether the registers keep only the bits the hardware acts on (the FPGA builds): the
    /// NIC's ring registers RDLEN, RDH, RDT, TDLEN, TDH, TDT are 16 bits
    /// ([`SocConfig::NARROW_RING_MASK`]), its interval registers bits 15:0, TIPG bits 9:0,
    /// CTRL/RCTL/TCTL their defined fields, RDBAH/TDBAH read 0. The other bits read 0 and
    /// ignore writes. Off (simulation): every register bit reads back as written.
    pub narrow_registers: bool,
    /// Core clock cycles per half period of the NIC's MDIO clock MDC (`rtl::nic::mdio`): MDC
    /// runs at the core clock / (2 × this), at most 2.5 MHz as IEEE 802.3 clause 22 allows.
    pub mdc_half_cycles: u32,
    /// Whether the NIC and the memcpy channels are on gated clocks that stop while they are
    /// idle (`rtl::clock_gate`; the SoC's `clock_gating` pin turns it off at run time). On in
    /// simulation, where Verilator then skips an idle block's logic; off on the FPGA, where a
    /// gated clock would be a timing hazard: the Verilog there is the plain clock.
    pub gate_idle_clocks: bool,
}

impl SocConfig {
    /// The simulation configuration: 1 MiB of RAM, 16 KiB NIC FIFOs (jumbo frames fit) that
    /// hold up to 32 frames each (the RX FIFO fills with 64-byte frames before its queue does),
    /// 32-bit counters, both memcpy channels, registers as wide as they are documented.
    pub const SIM: SocConfig = SocConfig {
        word_addr_bits: 18,
        nic_fifo_word_bits: 12,
        nic_frame_queue_depth: 32,
        counter_bits: 32,
        dma_channels: 2,
        nic: true,
        iommu: true,
        narrow_registers: false,
        // 125 MHz (the simulation's 8 ns cycle) / 50 = 2.5 MHz.
        mdc_half_cycles: 25,
        gate_idle_clocks: true,
    };
    /// The whole SoC at FPGA sizes: 8 KiB of RAM (16 of the HX8K's 32 block RAMs), 2 KiB NIC
    /// FIFOs (4 block RAMs each: one 1518-byte frame at a time) of at most 4 frames, 16-bit
    /// counters, one memcpy channel, narrow registers (16-bit NIC rings), IOMMU and NIC. It
    /// does not fit an HX8K (`make synth` reports it; docs/fpga.md says by how much): the Alchitry
    /// Cu builds [`SocConfig::FPGA_CU`]. The simulated board top uses this one, so the NIC and
    /// the RMII adapter are tested through the board's pins too.
    pub const FPGA: SocConfig = SocConfig {
        word_addr_bits: 11,
        nic_fifo_word_bits: 9,
        nic_frame_queue_depth: 4,
        counter_bits: 16,
        dma_channels: 1,
        nic: true,
        iommu: true,
        narrow_registers: true,
        // 50 MHz / 20 = 2.5 MHz (slower on a board with a slower core clock).
        mdc_half_cycles: 10,
        gate_idle_clocks: false,
    };
    /// The Alchitry Cu's bitstream (HX8K): [`SocConfig::FPGA`] without the NIC, which alone
    /// needs about three quarters of the device's logic cells.
    pub const FPGA_CU: SocConfig = SocConfig {
        nic: false,
        ..SocConfig::FPGA
    };
    /// The iCEBreaker's bitstream (UP5K): also without the IOMMU.
    pub const FPGA_SMALL: SocConfig = SocConfig {
        nic: false,
        iommu: false,
        ..SocConfig::FPGA
    };

    pub const fn bytes(self) -> u32 {
        4 << self.word_addr_bits
    }

    /// Bytes of each NIC FIFO (`NIC.TXFIFO_BYTES`, `NIC.RXFIFO_BYTES`).
    pub const fn nic_fifo_bytes(self) -> u32 {
        4 << self.nic_fifo_word_bits
    }

    /// The bits the NIC's ring registers keep with [`SocConfig::narrow_registers`].
    pub const NARROW_RING_MASK: u32 = 0xFFFF;

    /// The bits of the NIC's ring registers and ring heads in this build.
    pub const fn ring_mask(self) -> u32 {
        if self.narrow_registers {
            Self::NARROW_RING_MASK
        } else {
            u32::MAX
        }
    }

    /// The largest value a counter of this build holds (`counter_bits` ones).
    pub const fn counter_max(self) -> u32 {
        if self.counter_bits >= 32 {
            u32::MAX
        } else {
            (1u32 << self.counter_bits) - 1
        }
    }
}

/// The FPGA boards: each board's clocks, UART speed and SoC configuration, in one place (the
/// rtl crate's board tops and pin files, `make fpga` and the driver's serial port all read
/// them from here).
pub mod board;

/// Offsets of the register blocks inside the CSR window.
pub mod block;

/// `SYS` block registers (offsets relative to [`block::SYS`]).
pub mod sys;

/// `ARB` block registers (offsets relative to [`block::ARB`]).
pub mod arb;

/// `DMAC` block registers: the memcpy channel (offsets relative to [`block::DMAC`]).
pub mod dmac;

/// IOMMU block (docs/iommu.md): a subset of the RISC-V IOMMU with Sv32 first-stage tables.
///
/// Register offsets and field positions follow the RISC-V IOMMU Architecture Specification's
/// memory-mapped register layout (`ddtp` 0x10, `cqb` 0x18, `cqh` 0x20, `cqt` 0x24, `fqb` 0x28,
/// `fqh` 0x30, `fqt` 0x34, `cqcsr` 0x48, `fqcsr` 0x4C, `ipsr` 0x54), cut to 32 bits: each
/// register here is the low word of the spec's 64-bit one (a PPN field holds `PPN[21:0]`, enough
/// for the 34-bit Sv32 physical space). The counters from 0x100 are this design's own.
///
/// Deviations from the specification, on purpose:
/// * The device context is 8 bytes ([`dc`]), not the spec's 32-byte base format.
/// * `IOTINVAL.VMA` selects a device with its GV/GSCID fields: the IOTLB is tagged by device
///   ID, and each device's address space is named by its device ID.
/// * Writing `DDTP` flushes the device-context cache and the IOTLB, and abandons a device-context
///   fetch or page walk in flight (counted in [`iommu::WALKS_RESTARTED`]): nothing read under an
///   older `DDTP` is cached, used or reported. `DDTP` may be written at any time.
///
/// [`dc`]: crate::iommu::dc
pub mod iommu;

/// NIC block (docs/nic.md): the Intel 8254x (e1000) register subset, at the 8254x offsets
/// (relative to [`block::NIC`]), legacy 16-byte descriptors, and this design's few additions.
///
/// Source for offsets and bit positions: Intel "PCI/PCI-X Family of Gigabit Ethernet
/// Controllers Software Developer's Manual" (8254x), chapter 13 (registers) and 3.2/3.3
/// (receive and transmit descriptors). Deviations, on purpose (also in docs/nic-usage.md):
/// * 32-bit DMA addresses: `RDBAH`/`TDBAH` and the high halves of the descriptors' buffer
///   addresses must be 0 (a descriptor with a non-zero high address is malformed).
/// * No address filtering (always promiscuous), no VLAN, no checksum offload, no flow control.
/// * Time units: the 8254x counts ITR in 256 ns and the timers in 1.024 µs; here they count in
///   [`ITR_UNIT_CYCLES`] and [`TIMER_UNIT_CYCLES`] clock cycles: the same times at 125 MHz, the
///   GMII byte clock of gigabit Ethernet (one byte per cycle).
/// * Statistics are [`SocConfig::counter_bits`] wide (32 bits in simulation, 16 on the FPGA),
///   saturate and clear on read (as on the 8254x); the high halves (`GORCH`, `GOTCH`, `TORH`,
///   `TOTH`) read 0.
/// * With [`SocConfig::narrow_registers`] (the FPGA builds) the ring registers are 16 bits and
///   the configuration registers keep only the bits the NIC acts on; the rest read 0.
/// * Error and status bits the 8254x reserves are used for this MAC's own errors
///   ([`rx_desc::ERR_LEN`], [`rx_desc::ERR_DMA`], [`tx_desc::STA_ERR`]).
/// * ICR bits 24..27 carry the DMAC, IOMMU, NIC-DMA and ring-register-error sources of this SoC.
/// * Ring registers are checked ([`nic::ringerr`]): a head or tail write outside the ring is
///   ignored and reported (the 8254x leaves it undefined).
///
/// [`ITR_UNIT_CYCLES`]: crate::nic::ITR_UNIT_CYCLES
/// [`TIMER_UNIT_CYCLES`]: crate::nic::TIMER_UNIT_CYCLES
/// [`rx_desc::ERR_LEN`]: crate::nic::rx_desc::ERR_LEN
/// [`rx_desc::ERR_DMA`]: crate::nic::rx_desc::ERR_DMA
/// [`tx_desc::STA_ERR`]: crate::nic::tx_desc::STA_ERR
pub mod nic;

/// The PHY's management registers (IEEE 802.3 clause 22) and the PHY the simulation models.
pub mod phy;

pub mod eeprom;

/// The UART-to-bus bridge (`rtl::uart::bridge`) that lets the driver reach the host port of a
/// board over a serial line, and its wire protocol, version 2 (`driver::uart` speaks it).
///
/// The line is 8N1: a start bit, 8 data bits least significant first, one stop bit; idle high.
/// The bridge runs one bit per [`divisor`] clock cycles.
///
/// A host → bridge frame is `SYNC, CMD, TAG, fields, CRC`; a reply is `REPLY_SYNC, STATUS, TAG,
/// payload, CRC`. CRC is CRC-16/CCITT-FALSE ([`crc16`]: polynomial 0x1021, init 0xFFFF, not
/// reflected, no final XOR) over every byte after the sync byte, sent **most significant byte
/// first**: then the CRC run over the bytes *and* their CRC is 0 ([`CRC_RESIDUE`]), which is
/// how the bridge checks a frame without holding its CRC. The fields and payloads are little
/// endian. TAG is a byte the host picks for each command and the bridge echoes in the reply,
/// so that a late reply to an earlier command is never taken for the reply to this one. The
/// fields by command:
///
/// | CMD | fields | OK reply payload | retransmission |
/// |-----|--------|------------------|----------------|
/// | [`CMD_READ32`] | addr (4) | data (4) | replayed |
/// | [`CMD_WRITE32`] | addr (4), data (4), be (1, low 4 bits) | none | replayed |
/// | [`CMD_READ_BURST`] | addr (4), count (1) | count × data (4) | executed again |
/// | [`CMD_WRITE_BURST`] | addr (4), count (1), count × data (4) | none | replayed |
/// | [`CMD_IRQ_STATUS`] | none | irq (1, [`IRQ_LINE`]) | replayed |
/// | [`CMD_NOP`] | none | the remembered TAG (1) | answered again |
///
/// A reply whose STATUS is not [`STATUS_OK`] carries no payload (`REPLY_SYNC, STATUS, TAG,
/// CRC`).
///
/// **Retransmission is not re-execution.** The bridge remembers the TAG and CRC of the last
/// frame it executed, and the reply payload of a READ32 (the word) or IRQ_STATUS (the byte). A
/// frame that arrives again with the same TAG and the same CRC is answered from that memory and
/// not executed again, so a command whose reply was lost can be sent again and still takes
/// effect exactly once (a write-1-to-clear or read-to-clear register is touched once). A
/// READ_BURST is not remembered (its reply would need a buffer): it is executed again, which
/// is harmless for the RAM it is meant for. NOP neither executes anything nor changes the
/// memory; its payload is the remembered TAG, so a host learns which TAG to avoid for its next
/// new command (a new command with that TAG and, by chance, the same CRC would be taken for a
/// retransmission).
///
/// **Errors.** A frame whose CRC does not check out is not executed (a burst write is buffered
/// and written only after its CRC checked out) and answered [`STATUS_BAD_CRC`] with the TAG as
/// received. An unknown CMD, or a burst count of 0 or more than [`MAX_BURST_WORDS`], is
/// answered [`STATUS_BAD_COMMAND`] as soon as the offending byte (or, for CMD, the TAG after
/// it) arrives: the bridge cannot know how long the rest of such a frame is; the rest then
/// arrives while the bridge hunts for [`SYNC`] and is discarded. Every received byte that is
/// neither part of a frame nor [`SYNC`] (garbage between frames, bytes arriving during a reply)
/// is discarded and counted. A byte with a framing error (stop bit 0) abandons the frame being
/// received, and so does a gap of more than [`INTERBYTE_TIMEOUT_BITS`] bit times between two of
/// its bytes (a truncated frame); both are counted and get no reply: the host's timeout
/// recovers, and the next frame starts clean.
///
/// **Resync.** After any error the host waits until its line has been quiet for longer than
/// the inter-byte timeout (so the bridge abandoned any partial frame and finished any reply),
/// discarding what it receives, sends a NOP with a fresh TAG and waits for that NOP's reply;
/// then it sends the failed command again with its original TAG.
///
/// [`divisor`]: crate::uart_bridge::divisor
/// [`crc16`]: crate::uart_bridge::crc16
/// [`CRC_RESIDUE`]: crate::uart_bridge::CRC_RESIDUE
/// [`CMD_READ32`]: crate::uart_bridge::CMD_READ32
/// [`CMD_WRITE32`]: crate::uart_bridge::CMD_WRITE32
/// [`CMD_READ_BURST`]: crate::uart_bridge::CMD_READ_BURST
/// [`CMD_WRITE_BURST`]: crate::uart_bridge::CMD_WRITE_BURST
/// [`CMD_IRQ_STATUS`]: crate::uart_bridge::CMD_IRQ_STATUS
/// [`IRQ_LINE`]: crate::uart_bridge::IRQ_LINE
/// [`CMD_NOP`]: crate::uart_bridge::CMD_NOP
/// [`STATUS_OK`]: crate::uart_bridge::STATUS_OK
/// [`STATUS_BAD_CRC`]: crate::uart_bridge::STATUS_BAD_CRC
/// [`MAX_BURST_WORDS`]: crate::uart_bridge::MAX_BURST_WORDS
/// [`STATUS_BAD_COMMAND`]: crate::uart_bridge::STATUS_BAD_COMMAND
/// [`SYNC`]: crate::uart_bridge::SYNC
/// [`INTERBYTE_TIMEOUT_BITS`]: crate::uart_bridge::INTERBYTE_TIMEOUT_BITS
pub mod uart_bridge;

/// Register access types, for documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Ro,
    Rw,
    Wo,
    /// Read, and write 1 to clear bits.
    Rw1c,
    /// Read; any write clears.
    RoWc,
    /// Read clears (the 8254x statistics and `ICR`); writes are ignored.
    Rc,
}

impl Access {
    pub fn name(self) -> &'static str {
        match self {
            Access::Ro => "RO",
            Access::Rw => "RW",
            Access::Wo => "WO",
            Access::Rw1c => "RW1C",
            Access::RoWc => "RO, write clears",
            Access::Rc => "RC",
        }
    }

    /// Every access kind, for the register map's legend.
    pub const ALL: [Access; 6] = [
        Access::Ro,
        Access::Rw,
        Access::Wo,
        Access::Rw1c,
        Access::Rc,
        Access::RoWc,
    ];

    /// What the kind means to software.
    pub fn meaning(self) -> &'static str {
        match self {
            Access::Ro => "read only, writes ignored",
            Access::Rw => "read and write",
            Access::Wo => "write only",
            Access::Rw1c => "read, writing 1 to a bit clears it",
            Access::Rc => "a read returns the value and clears it, writes ignored",
            Access::RoWc => "read, any write clears it",
        }
    }
}

/// One register, for the generated register map.
#[derive(Clone, Copy, Debug)]
pub struct Register {
    pub block: &'static str,
    pub name: &'static str,
    pub block_offset: u32,
    pub offset: u32,
    pub access: Access,
    pub reset: u32,
    pub doc: &'static str,
}

impl Register {
    /// Full host-port address.
    pub const fn address(&self) -> u32 {
        CSR_BASE + self.block_offset + self.offset
    }
}

macro_rules! reg {
    ($blk:ident, $module:ident, $name:ident, $acc:ident, $reset:expr, $doc:expr) => {
        Register {
            block: stringify!($blk),
            name: stringify!($name),
            block_offset: block::$blk,
            offset: $module::$name,
            access: Access::$acc,
            reset: $reset,
            doc: $doc,
        }
    };
}

/// Every implemented register, in address order.
pub const REGISTERS: &[Register] = &[
    reg!(NIC, nic, CTRL, Rw, nic::ctrl::FD, "Bit 0 FD (reads 1), bit 6 SLU (set link up), bit 26 RST (self-clearing NIC reset), bit 31 PHY_RST (holds the PHY's reset pin while 1). On the FPGA this and the other configuration registers keep only their documented fields; other bits read 0."),
    reg!(NIC, nic, STATUS, Ro, nic::status::FD | nic::status::SPEED_1000, "Bit 0 FD, bit 1 LU (= CTRL.SLU), bits 7:6 speed (10 = 1000 Mb/s)."),
    reg!(NIC, nic, EECD, Rw, nic::eecd::PRES | nic::eecd::DO, "EEPROM pins (8254x layout; the reset value is the simulation's, with an EEPROM whose DO idles high; the FPGA boards have none and read 0x8): 0 SK, 1 CS, 2 DI, 3 DO (read only), 5:4 FWE, 6 EE_REQ, 7 EE_GNT (read only, follows EE_REQ), 8 EE_PRES (read only: the board has an EEPROM), 9 EE_SIZE (reads 0: 64 words). Software bit-bangs the 93C46-style microwire EEPROM through it (regs::eeprom, driver::eeprom)."),
    reg!(NIC, nic, MDIC, Rw, nic::mdic::READY, "MDI control (8254x layout): 15:0 DATA (to write, or read), 20:16 REGADD, 25:21 PHYADD, 27:26 OP (01 write, 10 read), 28 R (done), 29 I (ICR.MDAC when done), 30 E (a read found no PHY). A write with OP 01/10 starts one clause 22 access on MDC/MDIO (MDC at most 2.5 MHz; about 1.3k cycles on the FPGA); writes while one runs are ignored; OP 00/11 reads back with R and E set."),
    reg!(NIC, nic, ICR, Rc, 0, "Interrupt causes, read to clear: 0 TXDW, 1 TXQE, 2 LSC (CTRL.SLU set or cleared by a write, not by CTRL.RST), 3 RXSEQ (only through ICS), 4 RXDMT0, 6 RXO, 7 RXT0, 9 MDAC, 24 DMAC, 25 IOMMU, 26 NIC_DMA, 27 RING."),
    reg!(NIC, nic, ITR, Rw, 0, "Bits 15:0: minimum interval between interrupts in units of 32 cycles (256 ns at 125 MHz); 0 = no moderation."),
    reg!(NIC, nic, ICS, Wo, 0, "Write 1s to set ICR causes (software-raised interrupt)."),
    reg!(NIC, nic, IMS, Rw, 0, "Interrupt mask: write 1s to enable causes; read gives the mask."),
    reg!(NIC, nic, IMC, Wo, 0, "Write 1s to disable causes in the mask."),
    reg!(NIC, nic, RCTL, Rw, 0, "Bit 1 EN, 2 SBP, 5 LPE, 7:6 LBM (01 MAC loopback), 9:8 RDMTS, 17:16 BSIZE, 25 BSEX, 26 SECRC."),
    reg!(NIC, nic, TCTL, Rw, 0, "Bit 1 EN, bit 3 PSP (pad short packets to 60 bytes)."),
    reg!(NIC, nic, TIPG, Rw, nic::MIN_IFG_BYTES, "Bits 9:0 IPGT: inter-frame gap in bytes (at least 12 is used)."),
    reg!(NIC, nic, RDBAL, Rw, 0, "RX ring base address (bits 3:0 ignored and read 0, as on the 8254x; an IOVA when the IOMMU translates the NIC)."),
    reg!(NIC, nic, RDBAH, Rw, 0, "RX ring base, high half: must be 0 (32-bit DMA; reads 0 on the FPGA)."),
    reg!(NIC, nic, RDLEN, Rw, 0, "RX ring length in bytes (bits 6:0 ignored and read 0: a multiple of 128; bits 15:0 on the FPGA). A write that leaves RDH or RDT outside the ring is taken and flagged (RINGERR)."),
    reg!(NIC, nic, RDH, Rw, 0, "RX head: next descriptor the hardware fills (write only while RX is off; 16 bits on the FPGA, as RDT, TDH, TDT). A value outside the ring (not 0 and ≥ RDLEN/16) is ignored and flagged (RINGERR)."),
    reg!(NIC, nic, RDT, Rw, 0, "RX tail: one past the last descriptor software gave the hardware. A value outside the ring is ignored and flagged (RINGERR)."),
    reg!(NIC, nic, RDTR, Rw, 0, "RX packet timer (RXT0 after this long without a new frame), units of 128 cycles; 0 = at once."),
    reg!(NIC, nic, RADV, Rw, 0, "RX absolute timer (RXT0 at most this long after the first frame), units of 128 cycles; 0 = off."),
    reg!(NIC, nic, TDBAL, Rw, 0, "TX ring base address (bits 3:0 ignored and read 0, as on the 8254x)."),
    reg!(NIC, nic, TDBAH, Rw, 0, "TX ring base, high half: must be 0 (reads 0 on the FPGA)."),
    reg!(NIC, nic, TDLEN, Rw, 0, "TX ring length in bytes (bits 6:0 ignored and read 0: a multiple of 128; bits 15:0 on the FPGA). A write that leaves TDH or TDT outside the ring is taken and flagged (RINGERR)."),
    reg!(NIC, nic, TDH, Rw, 0, "TX head: next descriptor the hardware processes (write only while TX is off). A value outside the ring is ignored and flagged (RINGERR)."),
    reg!(NIC, nic, TDT, Rw, 0, "TX tail: one past the last descriptor software queued. A value outside the ring (not 0 and ≥ TDLEN/16) is ignored and flagged (RINGERR): the engine never runs past what software queued."),
    reg!(NIC, nic, TIDV, Rw, 0, "TX interrupt delay for descriptors with IDE, units of 128 cycles."),
    reg!(NIC, nic, TADV, Rw, 0, "TX absolute interrupt delay for descriptors with IDE, units of 128 cycles; 0 = off."),
    reg!(NIC, nic, CRCERRS, Rc, 0, "Frames with a bad FCS (clear on read). Every statistic saturates at the build's counter width: 32 bits in simulation, 16 on the FPGA."),
    reg!(NIC, nic, RXERRC, Rc, 0, "Frames with rx_er (clear on read)."),
    reg!(NIC, nic, MPC, Rc, 0, "Missed packets: dropped because the RX FIFO was full (clear on read)."),
    reg!(NIC, nic, GPRC, Rc, 0, "Good packets received (clear on read)."),
    reg!(NIC, nic, GPTC, Rc, 0, "Good packets transmitted (clear on read)."),
    reg!(NIC, nic, GORCL, Rc, 0, "Good octets received, FCS included; saturates at the counter width (32 bits in simulation, 16 on the FPGA; clear on read)."),
    reg!(NIC, nic, GORCH, Ro, 0, "Reads 0 (the counters are at most 32 bits)."),
    reg!(NIC, nic, GOTCL, Rc, 0, "Good octets transmitted, FCS included; saturates at the counter width (clear on read)."),
    reg!(NIC, nic, GOTCH, Ro, 0, "Reads 0 (the counters are at most 32 bits)."),
    reg!(NIC, nic, RNBC, Rc, 0, "Frames that found no free RX descriptor and had to wait (clear on read)."),
    reg!(NIC, nic, RUC, Rc, 0, "Runt frames, < 64 bytes with FCS (clear on read)."),
    reg!(NIC, nic, ROC, Rc, 0, "Oversize frames, > 1518 bytes with FCS and LPE off (clear on read)."),
    reg!(NIC, nic, TORL, Rc, 0, "Octets of every frame received; saturates at the counter width (clear on read)."),
    reg!(NIC, nic, TORH, Ro, 0, "Reads 0 (the counters are at most 32 bits)."),
    reg!(NIC, nic, TOTL, Rc, 0, "Octets transmitted; saturates at the counter width (clear on read)."),
    reg!(NIC, nic, TOTH, Ro, 0, "Reads 0 (the counters are at most 32 bits)."),
    reg!(NIC, nic, TPR, Rc, 0, "Every frame received after an SFD (clear on read)."),
    reg!(NIC, nic, TPT, Rc, 0, "Frames transmitted (clear on read)."),
    reg!(NIC, nic, TDEC, Rc, 0, "TX frames dropped: malformed descriptor or refused buffer read (clear on read)."),
    reg!(NIC, nic, RDFC, Rc, 0, "RX frames dropped because the IOMMU refused a buffer write (clear on read)."),
    reg!(NIC, nic, IRQC, Rc, 0, "Interrupts delivered: rising edges of the NIC interrupt (clear on read)."),
    reg!(NIC, nic, DMAERR, Rw1c, 0, "Bit 0 TX ring halted, bit 1 RX ring halted on a refused descriptor access; write 1 to restart."),
    reg!(NIC, nic, DMAERR_ADDR, Ro, 0, "IOVA of the last refused NIC access."),
    reg!(NIC, nic, TXFIFO_BYTES, Ro, SocConfig::SIM.nic_fifo_bytes(), "TX FIFO size in bytes (build parameter, 16384 in simulation, 2048 on the FPGA; the longest frame TX can send)."),
    reg!(NIC, nic, RXFIFO_BYTES, Ro, SocConfig::SIM.nic_fifo_bytes(), "RX FIFO size in bytes (build parameter, 16384 in simulation, 2048 on the FPGA)."),
    reg!(NIC, nic, ENGINE_STATE, Ro, 0, "Bits 3:0 TX engine state, bits 11:8 RX engine state (names in regs::nic::TX_STATE_NAMES / RX_STATE_NAMES and docs/nic.md)."),
    reg!(NIC, nic, RINGERR, Rw1c, 0, "Sticky ring register errors, write 1 to clear: bit 0 TDT, 1 TDH, 2 TDLEN, 3 RDT, 4 RDH, 5 RDLEN (a head or tail write outside the ring, ignored; a length write that left the head or tail outside). Each sets ICR.RING."),
    reg!(NIC, nic, RINGERRC, Rc, 0, "Ring register errors (RINGERR events) counted (clear on read, saturating)."),
    reg!(SYS, sys, ID, Ro, sys::ID_VALUE, "Identification: \"DMNC\"."),
    reg!(SYS, sys, VERSION, Ro, sys::VERSION_VALUE, "Design version (major.minor in 31:16.15:0)."),
    reg!(SYS, sys, RAM_BYTES, Ro, 0, "Size of host RAM in bytes (build parameter)."),
    reg!(SYS, sys, SCRATCH, Rw, 0, "Free for software."),
    reg!(SYS, sys, HOST_ERRORS, RoWc, 0, "Host accesses to unmapped addresses (reads return 0, writes are dropped); wraps at the counter width (32 bits in simulation, 16 on the FPGA)."),
    reg!(SYS, sys, IRQ_STATUS, Ro, 0, "Asserted interrupt sources: bit 0 DMAC channel 0, bit 1 IOMMU, bit 2 DMAC channel 1, bit 3 NIC."),
    reg!(ARB, arb, MODE, Rw, 0, "0 = burst, 1 = cycle stealing."),
    reg!(ARB, arb, BURST_CAP, Rw, 0, "Burst mode: most DMA beats per burst, 0 = unlimited. Bursts also end at 4 KiB boundaries."),
    reg!(ARB, arb, STEAL_BOUND, Rw, arb::STEAL_NEVER, "Cycle-steal mode: DMA waiting cycles before it steals one cycle from a busy CPU; 0xFFFFFFFF = never (transparent)."),
    reg!(ARB, arb, CNT_CTRL, Wo, 0, "Bit 0: clear all counters."),
    reg!(ARB, arb, TOTAL_CYCLES, Ro, 0, "Clock cycles. This and the counters below wrap at the counter width (32 bits in simulation, 16 on the FPGA)."),
    reg!(ARB, arb, CPU_REQ_CYCLES, Ro, 0, "Cycles the CPU requested the memory bus."),
    reg!(ARB, arb, CPU_STALL_CYCLES, Ro, 0, "Cycles the CPU requested the bus and was not granted."),
    reg!(ARB, arb, CPU_WORST_WAIT, Ro, 0, "Longest wait of one CPU request, in cycles."),
    reg!(ARB, arb, DMA_BEATS, Ro, 0, "Bus beats granted to the DMA side."),
    reg!(ARB, arb, DMA_WAIT_CYCLES, Ro, 0, "Cycles the DMA side requested the bus and was not granted."),
    reg!(ARB, arb, IDLE_CYCLES, Ro, 0, "Cycles nobody used the bus."),
    reg!(ARB, arb, DMA_LONGEST_HOLD, Ro, 0, "Longest run of DMA beats while the CPU was waiting."),
    reg!(DMAC, dmac, SRC, Rw, 0, "Source byte address (register mode)."),
    reg!(DMAC, dmac, DST, Rw, 0, "Destination byte address (register mode)."),
    reg!(DMAC, dmac, LEN, Rw, 0, "Length in bytes (register mode), non-zero multiple of 4."),
    reg!(DMAC, dmac, CTRL, Rw, 0, "Bit 0 START (write 1), bit 1 IRQ_EN, bit 2 CHAIN (descriptor mode), bit 3 ABORT (write 1: stop the running transfer between two words; ERR with cause 7)."),
    reg!(DMAC, dmac, STATUS, Rw1c, 0, "Bit 0 BUSY, bit 1 DONE, bit 2 ERR, bit 3 REJECTED_START (start while busy); bits 11:8 error cause."),
    reg!(DMAC, dmac, DESC, Rw, 0, "Chain mode: first descriptor (16-byte aligned, not 0)."),
    reg!(DMAC, dmac, CHAIN_LIMIT, Rw, dmac::CHAIN_LIMIT_RESET, "Chain mode: most descriptors per run."),
    reg!(DMAC, dmac, DESC_DONE, Ro, 0, "Descriptors completed by the current or last run."),
    reg!(DMAC, dmac, BYTES_DONE, Ro, 0, "Bytes copied by the current or last run."),
    reg!(DMAC, dmac, ERR_ADDR, Ro, 0, "Address the last error is about."),
    reg!(DMAC, dmac, ERR_COUNT, Ro, 0, "Runs that ended with an error (wraps at the counter width: 32 bits in simulation, 16 on the FPGA)."),
    reg!(DMAC, dmac, REJECTED_STARTS, Ro, 0, "START writes rejected because the channel was busy (wraps at the counter width)."),
    reg!(DMAC, dmac, CUR_DESC, Ro, 0, "Chain mode: descriptor being worked on, or where the run stopped."),
    reg!(IOMMU, iommu, CAPS, Ro, iommu::caps(iommu::IOTLB_ENTRIES), "Bits 7:0 version 0x10, bit 8 Sv32, bits 23:16 IOTLB entries, bits 27:24 device-ID bits."),
    reg!(IOMMU, iommu, DDTP, Rw, iommu::ddtp::MODE_BARE, "Bits 3:0 mode (0 Off, 1 Bare, 2 one-level DDT), bits 31:10 DDT PPN. A write flushes the DC cache and the IOTLB."),
    reg!(IOMMU, iommu, CQB, Rw, 0, "Command queue: bits 4:0 log2(entries)-1, bits 31:10 PPN."),
    reg!(IOMMU, iommu, CQH, Ro, 0, "Command queue head (next command to execute)."),
    reg!(IOMMU, iommu, CQT, Rw, 0, "Command queue tail (software: one past its last command)."),
    reg!(IOMMU, iommu, FQB, Rw, 0, "Fault queue: bits 4:0 log2(entries)-1, bits 31:10 PPN."),
    reg!(IOMMU, iommu, FQH, Rw, 0, "Fault queue head (software: one past the last record read)."),
    reg!(IOMMU, iommu, FQT, Ro, 0, "Fault queue tail (slot of the next record)."),
    reg!(IOMMU, iommu, CQCSR, Rw, 0, "Bit 0 CQEN, 1 CIE; RW1C: 8 CQMF, 10 CMD_ILL, 11 FENCE_W_IP; RO: 16 CQON, 17 BUSY."),
    reg!(IOMMU, iommu, FQCSR, Rw, 0, "Bit 0 FQEN, 1 FIE; RW1C: 8 FQMF, 9 FQOF; RO: 16 FQON."),
    reg!(IOMMU, iommu, IPSR, Rw1c, 0, "Interrupt pending: bit 0 CIP (command queue), bit 1 FIP (fault queue)."),
    reg!(IOMMU, iommu, IOTLB_HITS, Ro, 0, "Device accesses translated by an IOTLB hit. This and the counters below wrap at the counter width (32 bits in simulation, 16 on the FPGA)."),
    reg!(IOMMU, iommu, IOTLB_MISSES, Ro, 0, "Device accesses that missed the IOTLB (a page walk)."),
    reg!(IOMMU, iommu, WALK_CYCLES, Ro, 0, "Cycles spent walking (device-context and PTE reads)."),
    reg!(IOMMU, iommu, FAULTS, Ro, 0, "Faults detected."),
    reg!(IOMMU, iommu, FAULTS_DROPPED, Ro, 0, "Fault records discarded (queue off, full, or outside RAM)."),
    reg!(IOMMU, iommu, COMMANDS, Ro, 0, "Commands executed."),
    reg!(IOMMU, iommu, DC_FETCHES, Ro, 0, "Device-context fetches (DC cache misses)."),
    reg!(IOMMU, iommu, CNT_CTRL, Wo, 0, "Bit 0: clear the IOMMU counters."),
    reg!(IOMMU, iommu, WALKS_RESTARTED, Ro, 0, "Device-context fetches and page walks abandoned by a DDTP write (the access is translated again under the new DDTP)."),
];

/// Full host-port address of a register: `csr(block::DMAC, dmac::SRC)`.
pub const fn csr(block: u32, offset: u32) -> u32 {
    CSR_BASE + block + offset
}

/// RISC-V Sv32 page-table format: the facts the IOMMU's page walker and the driver's page-table
/// builder share.
///
/// Source: RISC-V Privileged Architecture, "Sv32: Page-Based 32-bit Virtual-Memory Systems"
/// (figures "Sv32 virtual address", "Sv32 physical address", "Sv32 page table entry", table
/// "Encoding of PTE R/W/X fields") and its "Virtual Address Translation Process". The RISC-V
/// IOMMU uses the same page-table format for its first-stage tables.
///
/// ```text
/// IOVA (32 bits):  31      22 21      12 11          0
///                 | VPN[1]   | VPN[0]   | page offset |
///
/// PTE (32 bits):   31      20 19      10 9  8 7 6 5 4 3 2 1 0
///                 | PPN[1]   | PPN[0]   |RSW|D|A|G|U|X|W|R|V|
///
/// PA (34 bits):    33      22 21      12 11          0
///                 | PPN[1]   | PPN[0]   | page offset |
/// ```
pub mod sv32;

/// RISC-V IOMMU fault-record `CAUSE` codes (12-bit field of the 32-byte fault record).
///
/// Source: RISC-V IOMMU Architecture Specification, chapter "In-memory queue interface",
/// section "Fault/Event-Queue (FQ)", table "Fault record CAUSE field encodings". Codes 1-23
/// match the privileged architecture's exception codes (`mcause`); 256 and up are IOMMU-only.
/// Only the causes this SoC's IOMMU can raise are listed.
pub mod iommu_cause;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_are_word_aligned_unique_and_inside_the_window() {
        for (i, a) in REGISTERS.iter().enumerate() {
            assert_eq!(a.offset % 4, 0, "{}.{}", a.block, a.name);
            assert!(a.block_offset + a.offset < CSR_WINDOW_BYTES);
            for b in &REGISTERS[i + 1..] {
                assert_ne!(
                    a.address(),
                    b.address(),
                    "{}.{} vs {}.{}",
                    a.block,
                    a.name,
                    b.block,
                    b.name
                );
            }
        }
    }

    /// The NIC's cell arrays cover exactly the table's read-write registers (but the ring
    /// heads, which the engines own, and IMS, the interrupt mask's set view) and its
    /// read-to-clear registers (but ICR).
    #[test]
    fn nic_cell_arrays_match_the_register_table() {
        extern crate std;
        use std::vec::Vec;
        let nic_regs = |access: Access| -> Vec<u32> {
            let mut v: Vec<u32> = REGISTERS
                .iter()
                .filter(|r| r.block_offset == block::NIC && r.access == access)
                .map(|r| r.offset)
                .collect();
            v.sort();
            v
        };
        let sorted = |a: &[u32]| {
            let mut v = a.to_vec();
            v.sort();
            v
        };
        let mut rw = nic_regs(Access::Rw);
        rw.retain(|&o| ![nic::RDH, nic::TDH, nic::IMS, nic::MDIC, nic::EECD].contains(&o));
        assert_eq!(sorted(&nic::CONFIG), rw);
        let mut rc = nic_regs(Access::Rc);
        rc.retain(|&o| o != nic::ICR);
        assert_eq!(sorted(&nic::STATS), rc);
    }

    #[test]
    fn causes_round_trip() {
        for c in dmac::Cause::ALL {
            assert_eq!(dmac::Cause::from_code(c as u32), Some(c));
        }
        assert_eq!(dmac::Cause::from_code(15), None);
    }

    #[test]
    fn iommu_causes_round_trip_and_match_the_spec_codes() {
        use iommu_cause::FaultCause;
        for c in FaultCause::ALL {
            assert_eq!(FaultCause::from_code(c.code()), Some(c));
        }
        let codes: [u32; 8] = FaultCause::ALL.map(FaultCause::code);
        assert_eq!(codes, [5, 7, 13, 15, 256, 257, 258, 259]);
        assert_eq!(FaultCause::from_code(1), None);
        assert_eq!(FaultCause::from_code(260), None);
    }

    #[test]
    fn sv32_pte_fields_tile_the_word() {
        use sv32::pte;
        let flags = pte::V | pte::R | pte::W | pte::X | pte::U | pte::G | pte::A | pte::D;
        assert_eq!(flags, pte::FLAGS_MASK);
        assert_eq!(flags & pte::RSW_MASK, 0);
        assert_eq!(pte::PPN0_MASK | pte::PPN1_MASK, pte::PPN_MASK);
        assert_eq!(pte::PPN0_MASK & pte::PPN1_MASK, 0);
        assert_eq!(flags | pte::RSW_MASK | pte::PPN_MASK, u32::MAX);
        let e = pte::new(0x3F_FFFF, pte::V | pte::R);
        assert_eq!(pte::ppn(e), 0x3F_FFFF);
        assert_eq!(pte::ppn1(e), 0xFFF);
        assert_eq!(pte::ppn0(e), 0x3FF);
        assert_eq!(pte::pa(e), (1u64 << 34) - 4096);
        assert!(pte::is_leaf(e));
        assert!(!pte::is_leaf(pte::new(1, pte::V)));
        assert!(pte::is_reserved_rw(pte::V | pte::W));
    }

    #[test]
    fn sv32_iova_fields() {
        let iova = 0xABCD_E123;
        assert_eq!(sv32::vpn1(iova), 0xABCD_E123 >> 22);
        assert_eq!(sv32::vpn0(iova), (0xABCD_E123 >> 12) & 0x3FF);
        assert_eq!(sv32::vpn(iova, 1), sv32::vpn1(iova));
        assert_eq!(sv32::vpn(iova, 0), sv32::vpn0(iova));
        assert_eq!(sv32::page_offset(iova), 0x123);
        assert_eq!(sv32::superpage_offset(iova), 0x0D_E123);
        assert_eq!(
            (sv32::vpn1(iova) << 22) | (sv32::vpn0(iova) << 12) | sv32::page_offset(iova),
            iova
        );
        assert_eq!(sv32::SUPERPAGE_SIZE, 4 << 20);
        assert_eq!(sv32::PPN_BITS, 22);
        assert_eq!(
            sv32::pte_addr(5, iova, 1),
            5 * 4096 + sv32::vpn1(iova) as u64 * 4
        );
    }
}
