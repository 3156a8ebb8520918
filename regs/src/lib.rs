//! The one place where the SoC's memory map, register offsets, register fields and in-memory
//! descriptor layouts are defined.
//!
//! * the rtl crate decodes from these constants (they become `Constant<_>` fields of the blocks),
//! * the driver encodes from them,
//! * the README's register table is generated from [`REGISTERS`] (`cargo run -p testbench --bin regmap`).
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
    };
    /// The whole SoC at FPGA sizes: 8 KiB of RAM (16 of the HX8K's 32 block RAMs), 2 KiB NIC
    /// FIFOs (4 block RAMs each: one 1518-byte frame at a time) of at most 4 frames, 16-bit
    /// counters, one memcpy channel, narrow registers (16-bit NIC rings), IOMMU and NIC. It
    /// does not fit an HX8K (`make synth` reports it; the README says by how much): the Alchitry
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
pub mod board {
    use super::SocConfig;

    /// An iCE40 PLL setting (`SB_PLL40_CORE`, simple feedback), as `icepll` prints it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Pll {
        pub divr: u8,
        pub divf: u8,
        pub divq: u8,
        pub filter_range: u8,
    }

    impl Pll {
        /// Output frequency for an input of `in_hz`.
        pub const fn out_hz(self, in_hz: u32) -> u32 {
            let vco = in_hz as u64 * (self.divf as u64 + 1) / (self.divr as u64 + 1);
            (vco >> self.divq) as u32
        }
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Board {
        /// The name `make fpga BOARD=...` takes.
        pub name: &'static str,
        /// nextpnr-ice40's device option (`--hx8k`, `--up5k`) and icetime's `-d`.
        pub device: &'static str,
        pub package: &'static str,
        /// The board's oscillator.
        pub osc_hz: u32,
        /// The PLL between the oscillator and the core clock; `None`: the core runs on the
        /// oscillator.
        pub pll: Option<Pll>,
        /// The core clock, also the RMII reference clock when the board has the PHY adapter.
        pub core_hz: u32,
        /// The UART bridge's line speed (8N1).
        pub baud: u32,
        /// Whether the board top drives the RMII PHY (forwards its reference clock, or, on
        /// [`ECP5_25K`], runs on the PHY's): needs the NIC and a 50 MHz core clock.
        pub rmii: bool,
        pub soc: SocConfig,
        /// Logic cells the SoC may use: the issue's budget (75 % of the device's).
        pub lc_budget: u32,
        /// The slowest core clock the design is meant to meet on this board.
        pub fmax_target_hz: u32,
    }

    /// Alchitry Cu: iCE40-HX8K-CB132, 100 MHz oscillator, FT2232H UART. Core clock 25 MHz
    /// from the PLL: the design closes timing at about 27 MHz on the HX8K (the IOMMU's
    /// single-cycle IOTLB lookup between the memcpy channel's address adder and the arbiter's
    /// grant is the critical path), short of the 50 MHz an RMII PHY needs as its core and
    /// reference clock. Its bitstream has no NIC (`SocConfig::FPGA_CU`), so no RMII either.
    pub const ALCHITRY_CU: Board = Board {
        name: "alchitry-cu",
        device: "hx8k",
        package: "cb132",
        osc_hz: 100_000_000,
        pll: Some(Pll {
            divr: 0,
            divf: 7,
            divq: 5,
            filter_range: 5,
        }),
        core_hz: 25_000_000,
        baud: 1_000_000,
        rmii: false,
        soc: SocConfig::FPGA_CU,
        lc_budget: 7680 * 3 / 4,
        fmax_target_hz: 25_000_000,
    };

    /// iCEBreaker: iCE40-UP5K-SG48, 12 MHz oscillator, FT2232H UART. The core runs on the
    /// 12 MHz oscillator (no PLL: the iCE40 PLL cannot make RMII's 50 MHz from 12 MHz), so
    /// this board has no PHY adapter, and the reduced configuration (no NIC) to fit the UP5K.
    pub const ICEBREAKER: Board = Board {
        name: "icebreaker",
        device: "up5k",
        package: "sg48",
        osc_hz: 12_000_000,
        pll: None,
        core_hz: 12_000_000,
        baud: 1_000_000,
        rmii: false,
        soc: SocConfig::FPGA_SMALL,
        lc_budget: 5280 * 3 / 4,
        fmax_target_hz: 12_000_000,
    };

    pub const BOARDS: &[Board] = &[ALCHITRY_CU, ICEBREAKER];

    /// Not a board but the ECP5 synthesis target of `make synth-ecp5`: a Lattice
    /// LFE5U-25F-6BG381C (`device` and `package` are nextpnr-ecp5's `--25k --package
    /// CABGA381`; its speed grade is the rtl crate's `board::ecp5::SPEED`) with the whole SoC,
    /// [`SocConfig::FPGA`], NIC included, and the RMII adapter. The core runs on the PHY
    /// module's 50 MHz RMII reference clock (a LAN8720 module whose own oscillator drives
    /// REF_CLK), brought in on a pin: no PLL and no vendor primitive. Out of context: no pin
    /// locations, no bitstream. `lc_budget` counts LUT4s here (75 % of the part's 24288). Not in
    /// [`BOARDS`] (`make fpga` is the iCE40 flow).
    pub const ECP5_25K: Board = Board {
        name: "ecp5-25k",
        device: "25k",
        package: "CABGA381",
        osc_hz: 50_000_000,
        pll: None,
        core_hz: 50_000_000,
        baud: 1_000_000,
        rmii: true,
        soc: SocConfig::FPGA,
        lc_budget: 24288 * 3 / 4,
        fmax_target_hz: 50_000_000,
    };

    pub fn by_name(name: &str) -> Option<Board> {
        BOARDS.iter().copied().find(|b| b.name == name)
    }

    /// The UART bridge's divisor (core clocks per bit) on this board.
    pub const fn uart_divisor(board: Board) -> u32 {
        super::uart_bridge::divisor(board.core_hz, board.baud)
    }
}

/// Offsets of the register blocks inside the CSR window.
pub mod block {
    /// Reserved for the NIC: the Intel 8254x (e1000) BAR0 layout, 128 KiB.
    pub const NIC: u32 = 0x0_0000;
    /// Identification, RAM size, scratch, host-port error counter, interrupt summary.
    pub const SYS: u32 = 0x2_0000;
    /// Bus arbiter: mode, burst cap, steal bound, performance counters.
    pub const ARB: u32 = 0x2_1000;
    /// The memcpy DMA channels (classic DMAC): channel 0 here, channel 1 at +0x100
    /// (`dmac::channel_block`).
    pub const DMAC: u32 = 0x2_2000;
    /// The IOMMU.
    pub const IOMMU: u32 = 0x2_3000;
}

/// `SYS` block registers (offsets relative to [`block::SYS`]).
pub mod sys {
    /// RO. Reads [`ID_VALUE`].
    pub const ID: u32 = 0x00;
    /// RO. Design version: major in bits 31:16, minor in 15:0.
    pub const VERSION: u32 = 0x04;
    /// RO. Size of host RAM in bytes.
    pub const RAM_BYTES: u32 = 0x08;
    /// RW. Free for software; resets to 0.
    pub const SCRATCH: u32 = 0x0C;
    /// RO, write any value to clear. Host accesses to addresses mapped to nothing.
    pub const HOST_ERRORS: u32 = 0x10;
    /// RO. Interrupt sources currently asserted (bit per source, see [`irq`]).
    pub const IRQ_STATUS: u32 = 0x14;

    /// "DMNC" in ASCII.
    pub const ID_VALUE: u32 = 0x444D_4E43;
    pub const VERSION_VALUE: u32 = 0x0001_0000;

    /// Bits of `IRQ_STATUS`.
    pub mod irq {
        /// memcpy channel 0: `STATUS.DONE` or `STATUS.ERR` with `CTRL.IRQ_EN` set.
        pub const DMAC: u32 = 1 << 0;
        /// memcpy channel 1, likewise.
        pub const DMAC1: u32 = 1 << 2;
        /// The bit of each memcpy channel, by channel number.
        pub const DMAC_CHANNELS: [u32; super::super::dmac::CHANNELS as usize] = [DMAC, DMAC1];
        /// The IOMMU's `IPSR` has a pending bit (fault queue or command queue).
        pub const IOMMU: u32 = 1 << 1;
        /// The NIC's moderated interrupt (ICR & IMS, after ITR).
        pub const NIC: u32 = 1 << 3;
    }
}

/// `ARB` block registers (offsets relative to [`block::ARB`]).
pub mod arb {
    /// RW. [`MODE_BURST`] or [`MODE_CYCLE_STEAL`].
    pub const MODE: u32 = 0x00;
    /// RW. Burst mode: most DMA beats in one burst; 0 = unlimited (block mode). Bursts also
    /// end at every 4 KiB boundary of a DMA address.
    pub const BURST_CAP: u32 = 0x04;
    /// RW. Cycle-steal mode: after the DMA has waited this many cycles for a busy CPU it takes
    /// the next cycle anyway. [`STEAL_NEVER`] = never steal (transparent mode).
    pub const STEAL_BOUND: u32 = 0x08;
    /// WO. Write [`CNT_CLEAR`] to zero every counter below.
    pub const CNT_CTRL: u32 = 0x0C;
    /// RO. Clock cycles since the counters were cleared.
    pub const TOTAL_CYCLES: u32 = 0x10;
    /// RO. Cycles in which the CPU requested the memory bus.
    pub const CPU_REQ_CYCLES: u32 = 0x14;
    /// RO. Cycles in which the CPU requested the memory bus and was not granted it.
    pub const CPU_STALL_CYCLES: u32 = 0x18;
    /// RO. Longest run of consecutive stall cycles of one CPU request.
    pub const CPU_WORST_WAIT: u32 = 0x1C;
    /// RO. Cycles in which the DMA side was granted the bus (= bus beats moved by DMA).
    pub const DMA_BEATS: u32 = 0x20;
    /// RO. Cycles in which the DMA side requested the bus and was not granted it.
    pub const DMA_WAIT_CYCLES: u32 = 0x24;
    /// RO. Cycles in which nobody used the bus.
    pub const IDLE_CYCLES: u32 = 0x28;
    /// RO. Longest run of consecutive DMA beats while the CPU was waiting for the bus.
    pub const DMA_LONGEST_HOLD: u32 = 0x2C;

    pub const MODE_BURST: u32 = 0;
    pub const MODE_CYCLE_STEAL: u32 = 1;
    pub const STEAL_NEVER: u32 = 0xFFFF_FFFF;
    pub const CNT_CLEAR: u32 = 1 << 0;
}

/// `DMAC` block registers: the memcpy channel (offsets relative to [`block::DMAC`]).
pub mod dmac {
    /// memcpy channels; channel `n`'s registers are at [`channel_block`]`(n)`, each the same
    /// set at the same offsets. Channel `n` is IOMMU device `n`. A build has the first
    /// [`super::SocConfig::dma_channels`] of them (both in simulation, channel 0 on the FPGA);
    /// the window of a channel not built reads 0 and ignores writes.
    pub const CHANNELS: u32 = 2;
    pub const CHANNEL_STRIDE: u32 = 0x100;

    /// Block offset of channel `n`'s registers (channel 0 is [`super::block::DMAC`]).
    pub const fn channel_block(n: u32) -> u32 {
        super::block::DMAC + n * CHANNEL_STRIDE
    }

    /// RW. Source byte address (register mode). Must be word aligned.
    pub const SRC: u32 = 0x00;
    /// RW. Destination byte address (register mode). Must be word aligned.
    pub const DST: u32 = 0x04;
    /// RW. Length in bytes (register mode). Must be a non-zero multiple of 4.
    pub const LEN: u32 = 0x08;
    /// RW. [`ctrl`] bits. Writing `START` starts a transfer; `START` reads back as 0.
    pub const CTRL: u32 = 0x0C;
    /// [`status`] bits. `DONE`, `ERR` and `REJECTED_START` are write-1-to-clear.
    pub const STATUS: u32 = 0x10;
    /// RW. Chain mode: byte address of the first descriptor (16-byte aligned, not 0).
    pub const DESC: u32 = 0x14;
    /// RW. Chain mode: most descriptors one chain may have; a longer (or looping) chain ends
    /// with [`Cause::ChainLimit`]. Resets to [`CHAIN_LIMIT_RESET`].
    pub const CHAIN_LIMIT: u32 = 0x18;
    /// RO. Descriptors completed by the current or last run.
    pub const DESC_DONE: u32 = 0x1C;
    /// RO. Bytes copied by the current or last run.
    pub const BYTES_DONE: u32 = 0x20;
    /// RO. The address an error is about: the unaligned or out-of-range SRC or DST (SRC when
    /// only LEN is bad) in register mode; the bad descriptor's address in chain mode.
    pub const ERR_ADDR: u32 = 0x24;
    /// RO. Runs that ended with an error since power-up.
    pub const ERR_COUNT: u32 = 0x28;
    /// RO. `START` writes that were rejected because the channel was busy.
    pub const REJECTED_STARTS: u32 = 0x2C;
    /// RO. Chain mode: the descriptor the channel is working on, or stopped at.
    pub const CUR_DESC: u32 = 0x30;

    pub const CHAIN_LIMIT_RESET: u32 = 1024;

    /// The channel's FSM states by their encoding on the `obs_dma_state` pin (the rtl's
    /// `MemcpyState` enum; a test there keeps the two in step). For messages about a stuck run.
    pub const STATE_NAMES: [&str; 8] = [
        "Idle",
        "CheckRegs",
        "FetchDesc",
        "CheckDesc",
        "Read",
        "Write",
        "WriteBack",
        "WriteBackError",
    ];

    pub mod ctrl {
        pub const START: u32 = 1 << 0;
        pub const IRQ_EN: u32 = 1 << 1;
        /// Descriptor-chain (scatter-gather) mode instead of SRC/DST/LEN.
        pub const CHAIN: u32 = 1 << 2;
        /// Write 1 to stop a running transfer (reads 0): the channel ends at once, between two
        /// whole-word beats (a beat granted in the same cycle completes; one not yet granted is
        /// withdrawn), with `STATUS.ERR` and cause [`super::Cause::Aborted`]. Ignored while
        /// idle; with `START` in the same write, `START` is ignored.
        pub const ABORT: u32 = 1 << 3;
    }

    pub mod status {
        pub const BUSY: u32 = 1 << 0;
        pub const DONE: u32 = 1 << 1;
        pub const ERR: u32 = 1 << 2;
        /// A `START` arrived while busy; it was ignored and the running transfer went on.
        pub const REJECTED_START: u32 = 1 << 3;
        /// The [`super::Cause`] of the last error; cleared with `ERR`. A new `START` clears
        /// `DONE`, `ERR` and the cause.
        pub const CAUSE_SHIFT: u32 = 8;
        pub const CAUSE_MASK: u32 = 0xF << CAUSE_SHIFT;
    }

    /// Why a memcpy run ended with `STATUS.ERR`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[repr(u32)]
    pub enum Cause {
        None = 0,
        /// LEN (or a descriptor's length) is 0.
        ZeroLength = 1,
        /// SRC, DST or LEN is not a multiple of 4.
        Unaligned = 2,
        /// SRC..SRC+LEN or DST..DST+LEN is not inside host RAM (IOMMU in global Bare mode,
        /// where addresses are physical), or wraps past 2^32 (otherwise: then the IOMMU checks
        /// every beat's physical address).
        OutOfRange = 3,
        /// The chain had more than CHAIN_LIMIT descriptors (or loops).
        ChainLimit = 4,
        /// A descriptor address is unaligned or outside host RAM.
        BadDescriptor = 5,
        /// The IOMMU refused an access (ERR_ADDR is its IOVA; the fault record says why).
        IommuFault = 6,
        /// Software wrote `CTRL.ABORT`: ERR_ADDR is the source address of the first word not
        /// copied (register mode) or the descriptor the channel was in (chain mode); BYTES_DONE
        /// counts the whole words written.
        Aborted = 7,
    }

    impl Cause {
        pub const ALL: [Cause; 8] = [
            Cause::None,
            Cause::ZeroLength,
            Cause::Unaligned,
            Cause::OutOfRange,
            Cause::ChainLimit,
            Cause::BadDescriptor,
            Cause::IommuFault,
            Cause::Aborted,
        ];

        pub fn from_code(code: u32) -> Option<Cause> {
            Cause::ALL.iter().copied().find(|c| *c as u32 == code)
        }

        pub fn name(self) -> &'static str {
            match self {
                Cause::None => "none",
                Cause::ZeroLength => "zero length",
                Cause::Unaligned => "unaligned",
                Cause::OutOfRange => "out of range",
                Cause::ChainLimit => "chain limit",
                Cause::BadDescriptor => "bad descriptor",
                Cause::IommuFault => "IOMMU fault",
                Cause::Aborted => "aborted",
            }
        }
    }

    /// The chain-mode descriptor: 16 bytes, 16-byte aligned, in host RAM.
    ///
    /// ```text
    /// +0x0  SRC        byte address, word aligned
    /// +0x4  DST        byte address, word aligned
    /// +0x8  LEN_STATUS bits 23:0 length in bytes (software);
    ///                  bit 24 DONE, bit 25 ERR, bits 31:28 cause (written back by hardware
    ///                  after the descriptor's data is in memory)
    /// +0xC  NEXT       byte address of the next descriptor, 0 = end of chain
    /// ```
    pub mod desc {
        pub const BYTES: u32 = 16;
        pub const SRC: u32 = 0x0;
        pub const DST: u32 = 0x4;
        pub const LEN_STATUS: u32 = 0x8;
        pub const NEXT: u32 = 0xC;
        pub const LEN_MASK: u32 = 0x00FF_FFFF;
        pub const DONE: u32 = 1 << 24;
        pub const ERR: u32 = 1 << 25;
        pub const CAUSE_SHIFT: u32 = 28;
        pub const END_OF_CHAIN: u32 = 0;
    }
}

/// IOMMU block (docs/iommu.md): a subset of the RISC-V IOMMU with Sv32 first-stage tables.
///
/// Register offsets and field positions follow the RISC-V IOMMU Architecture Specification's
/// memory-mapped register layout (`ddtp` 0x10, `cqb` 0x18, `cqh` 0x20, `cqt` 0x24, `fqb` 0x28,
/// `fqh` 0x30, `fqt` 0x34, `cqcsr` 0x48, `fqcsr` 0x4C, `ipsr` 0x54), cut to 32 bits: each
/// register here is the low word of the spec's 64-bit one (a PPN field holds PPN[21:0], enough
/// for the 34-bit Sv32 physical space). The counters from 0x100 are this design's own.
///
/// Deviations from the specification, on purpose:
/// * The device context is 8 bytes ([`dc`]), not the spec's 32-byte base format.
/// * `IOTINVAL.VMA` selects a device with its GV/GSCID fields: the IOTLB is tagged by device
///   ID, and each device's address space is named by its device ID.
/// * Writing `DDTP` flushes the device-context cache and the IOTLB, and abandons a device-context
///   fetch or page walk in flight (counted in [`iommu::WALKS_RESTARTED`]): nothing read under an
///   older `DDTP` is cached, used or reported. `DDTP` may be written at any time.
pub mod iommu {
    /// RO. Bits 7:0 version (0x10 = 1.0 as in the spec), bit 8 Sv32; bits 23:16 IOTLB entries,
    /// bits 27:24 device-ID bits (this design's own fields, in bits the spec reserves here).
    pub const CAPS: u32 = 0x00;
    /// RW. Device-directory-table pointer: bits 3:0 mode ([`ddtp`]), bits 31:10 PPN of the
    /// table. Reset: Bare. A write flushes the device-context cache and the IOTLB.
    pub const DDTP: u32 = 0x10;
    /// RW. Command queue base: bits 4:0 log2(entries) - 1, bits 31:10 PPN.
    pub const CQB: u32 = 0x18;
    /// RO. Command queue head: index of the next command the IOMMU will execute.
    pub const CQH: u32 = 0x20;
    /// RW. Command queue tail: software writes the index after its last command.
    pub const CQT: u32 = 0x24;
    /// RW. Fault queue base: bits 4:0 log2(entries) - 1, bits 31:10 PPN.
    pub const FQB: u32 = 0x28;
    /// RW. Fault queue head: software writes the index after the last record it has read.
    pub const FQH: u32 = 0x30;
    /// RO. Fault queue tail: index of the slot the next record goes into.
    pub const FQT: u32 = 0x34;
    /// RW / RW1C. Command queue control and status ([`cqcsr`]).
    pub const CQCSR: u32 = 0x48;
    /// RW / RW1C. Fault queue control and status ([`fqcsr`]).
    pub const FQCSR: u32 = 0x4C;
    /// RW1C. Interrupt pending: bit 0 CIP (command queue), bit 1 FIP (fault queue).
    pub const IPSR: u32 = 0x54;
    /// RO. Device accesses translated by an IOTLB hit.
    pub const IOTLB_HITS: u32 = 0x100;
    /// RO. Device accesses that missed the IOTLB and started a page walk.
    pub const IOTLB_MISSES: u32 = 0x104;
    /// RO. Cycles spent walking page tables (PTE and device-context reads, waits included).
    pub const WALK_CYCLES: u32 = 0x108;
    /// RO. Faults detected (recorded or not).
    pub const FAULTS: u32 = 0x10C;
    /// RO. Faults whose record was discarded (queue off, full, or its address outside RAM).
    pub const FAULTS_DROPPED: u32 = 0x110;
    /// RO. Commands executed.
    pub const COMMANDS: u32 = 0x114;
    /// RO. Device-context fetches (device-context cache misses).
    pub const DC_FETCHES: u32 = 0x118;
    /// WO. Bit 0: clear the IOMMU's counters (those above and [`WALKS_RESTARTED`]).
    pub const CNT_CTRL: u32 = 0x11C;
    /// RO. Device-context fetches and page walks abandoned because `DDTP` was written while
    /// they were in flight; the device's access was then translated again under the new
    /// `DDTP` (nothing fetched under the old one is cached, used or reported).
    pub const WALKS_RESTARTED: u32 = 0x120;

    /// `CAPS` value for a design with `iotlb_entries` IOTLB entries.
    pub const fn caps(iotlb_entries: u32) -> u32 {
        0x10 | (1 << 8) | (iotlb_entries << 16) | (DEVICE_ID_BITS << 24)
    }

    /// The walker FSM's states in encoding order (the `obs_iommu_state` pin), for waveforms
    /// and error messages.
    pub const STATE_NAMES: [&str; 14] = [
        "Idle",
        "DcFetch",
        "DcCheck",
        "PteRead1",
        "PteWait1",
        "PteRead0",
        "PteWait0",
        "FaultStart",
        "FaultWrite",
        "FaultDone",
        "CmdFetch",
        "CmdExec",
        "FenceWrite",
        "CmdDone",
    ];

    /// IOTLB entries in the SoC builds (the rtl's `Iotlb` takes any size from 1 to 255).
    pub const IOTLB_ENTRIES: u32 = 8;

    /// Device IDs are this wide: up to 4 requesters.
    pub const DEVICE_ID_BITS: u32 = 2;
    /// Device ID of the memcpy channel 0.
    pub const DEVICE_MEMCPY0: u32 = 0;
    /// Device ID of the memcpy channel 1.
    pub const DEVICE_MEMCPY1: u32 = 1;
    /// Device ID reserved for the NIC.
    pub const DEVICE_NIC: u32 = 2;

    /// Fields of `DDTP`.
    pub mod ddtp {
        pub const MODE_MASK: u32 = 0xF;
        /// All device DMA refused; each refusal is a fault (cause 256).
        pub const MODE_OFF: u32 = 0;
        /// No translation: IOVA = physical address (`iommu=off`).
        pub const MODE_BARE: u32 = 1;
        /// One-level device directory table at PPN: per-device Bare or Sv32.
        pub const MODE_1LVL: u32 = 2;
        pub const PPN_SHIFT: u32 = 10;

        pub const fn new(mode: u32, table_pa: u32) -> u32 {
            (mode & MODE_MASK) | ((table_pa >> 12) << PPN_SHIFT)
        }
    }

    /// Fields of `CQB` and `FQB`: a queue of 2^(LOG2SZM1 + 1) entries at PPN.
    pub mod qb {
        pub const LOG2SZM1_MASK: u32 = 0x1F;
        pub const PPN_SHIFT: u32 = 10;

        /// A queue of `entries` (a power of two, at least 2) at page-aligned `base_pa`.
        pub const fn new(base_pa: u32, entries: u32) -> u32 {
            (entries.trailing_zeros() - 1) | ((base_pa >> 12) << PPN_SHIFT)
        }
    }

    /// Fields of `CQCSR`.
    pub mod cqcsr {
        /// RW. Command queue enable; 0 → 1 resets `CQH` to 0 and clears `CQMF`, `CMD_ILL` and
        /// `FENCE_W_IP`.
        pub const CQEN: u32 = 1 << 0;
        /// RW. Interrupt enable for `IPSR.CIP`.
        pub const CIE: u32 = 1 << 1;
        /// RW1C. A command fetch or `IOFENCE.C` write hit no memory; execution stops.
        pub const CQMF: u32 = 1 << 8;
        /// RW1C. An illegal command at `CQH`; execution stops until cleared.
        pub const CMD_ILL: u32 = 1 << 10;
        /// RW1C. An `IOFENCE.C` with WSI=1 completed.
        pub const FENCE_W_IP: u32 = 1 << 11;
        /// RO. The queue is active.
        pub const CQON: u32 = 1 << 16;
        /// RO. Commands are waiting to be executed (CQH != CQT, the queue on and not stopped),
        /// whether or not the walker has started on them.
        pub const BUSY: u32 = 1 << 17;
    }

    /// Fields of `FQCSR`.
    pub mod fqcsr {
        /// RW. Fault queue enable; 0 → 1 resets `FQT` to 0 and clears `FQOF` and `FQMF`. Off:
        /// records are discarded.
        pub const FQEN: u32 = 1 << 0;
        /// RW. Interrupt enable for `IPSR.FIP`.
        pub const FIE: u32 = 1 << 1;
        /// RW1C. A record's address was outside RAM; the record was discarded. While set,
        /// every new record is discarded (counted in `FAULTS_DROPPED`).
        pub const FQMF: u32 = 1 << 8;
        /// RW1C. The queue was full; a record was discarded (unread ones are never
        /// overwritten). While set, every new record is discarded, as in the specification.
        pub const FQOF: u32 = 1 << 9;
        /// RO. The queue is active.
        pub const FQON: u32 = 1 << 16;
    }

    /// Fields of `IPSR` (write 1 to clear).
    pub mod ipsr {
        pub const CIP: u32 = 1 << 0;
        pub const FIP: u32 = 1 << 1;
    }

    /// Fields of `CNT_CTRL`.
    pub const CNT_CLEAR: u32 = 1 << 0;

    /// Device context: 8 bytes at `DDT + device_id * 8`.
    ///
    /// ```text
    /// +0x0 TC   bit 0 V (valid); bits 31:1 reserved (must be 0: else cause 259)
    /// +0x4 FSC  bit 31 MODE (0 Bare = passthrough, 1 Sv32); bits 21:0 PPN of the root table;
    ///           bits 30:22 reserved (must be 0)
    /// ```
    pub mod dc {
        pub const BYTES: u32 = 8;
        pub const TC: u32 = 0x0;
        pub const FSC: u32 = 0x4;
        pub const TC_V: u32 = 1 << 0;
        pub const TC_RESERVED: u32 = !TC_V;
        pub const FSC_SV32: u32 = 1 << 31;
        pub const FSC_PPN_MASK: u32 = 0x003F_FFFF;
        pub const FSC_RESERVED: u32 = !(FSC_SV32 | FSC_PPN_MASK);

        /// FSC of a device translated through the Sv32 tables rooted at `root_pa`.
        pub const fn fsc_sv32(root_pa: u32) -> u32 {
            FSC_SV32 | (root_pa >> 12)
        }
    }

    /// Fault record: 32 bytes, the RISC-V IOMMU layout cut to 32-bit words.
    ///
    /// ```text
    /// +0x00 bits 11:0 CAUSE, 31:12 PID (0)
    /// +0x04 bit 0 PV (0), bit 1 PRIV (0), bits 7:2 TTYP, bits 31:8 DID
    /// +0x08 reserved (0)      +0x0C custom (0)
    /// +0x10 IOTVAL = IOVA     +0x14 IOTVAL[63:32] (0)
    /// +0x18 IOTVAL2 (0)       +0x1C IOTVAL2[63:32] (0)
    /// ```
    pub mod fault {
        pub const BYTES: u32 = 32;
        pub const WORDS: u32 = BYTES / 4;
        pub const CAUSE_MASK: u32 = 0xFFF;
        pub const TTYP_SHIFT: u32 = 2;
        pub const TTYP_MASK: u32 = 0x3F << TTYP_SHIFT;
        pub const DID_SHIFT: u32 = 8;
        /// Word index of IOTVAL.
        pub const IOTVAL_WORD: usize = 4;
        /// Transaction type: untranslated read.
        pub const TTYP_READ: u32 = 2;
        /// Transaction type: untranslated write.
        pub const TTYP_WRITE: u32 = 3;
    }

    /// Commands: 16 bytes, the RISC-V IOMMU layout cut to 32-bit words (word 1 is bits 63:32
    /// of the spec's first doubleword, word 2 the low half of the second).
    ///
    /// ```text
    ///                 word 0                          word 1            word 2
    /// IOTINVAL.VMA    opcode 1, func3 0, AV bit 10     GV bit 1,         ADDR[33:12] in 31:10
    ///                                                  GSCID (= device)
    ///                                                  in 27:12
    /// IOFENCE.C       opcode 2, func3 0, AV bit 10,    DATA              ADDR[31:2] in 31:2
    ///                 WSI bit 11
    /// IODIR.INVAL_DDT opcode 3, func3 0                DV bit 1,
    ///                                                  DID in 31:8
    /// ```
    pub mod cmd {
        pub const BYTES: u32 = 16;
        pub const WORDS: u32 = BYTES / 4;
        pub const OPCODE_MASK: u32 = 0x7F;
        pub const FUNC3_SHIFT: u32 = 7;
        pub const FUNC3_MASK: u32 = 0x7 << FUNC3_SHIFT;
        pub const OP_IOTINVAL: u32 = 1;
        pub const OP_IOFENCE: u32 = 2;
        pub const OP_IODIR: u32 = 3;
        /// word 0: the address field is valid.
        pub const AV: u32 = 1 << 10;
        /// word 0 of IOFENCE.C: signal completion by `IPSR.CIP` / `CQCSR.FENCE_W_IP`.
        pub const WSI: u32 = 1 << 11;
        /// word 1 of IOTINVAL: GSCID (the device ID here) is valid.
        pub const GV: u32 = 1 << 1;
        pub const GSCID_SHIFT: u32 = 12;
        /// word 1 of IODIR: DID is valid.
        pub const DV: u32 = 1 << 1;
        pub const DID_SHIFT: u32 = 8;
        pub const ADDR_PPN_SHIFT: u32 = 10;

        /// IOTINVAL.VMA: every entry (`None, None`), a device's entries, an address's entries
        /// in every device, or one device's entries for one address.
        pub const fn iotinval_vma(device: Option<u32>, iova: Option<u32>) -> [u32; 4] {
            let mut w = [OP_IOTINVAL, 0, 0, 0];
            if let Some(d) = device {
                w[1] = GV | (d << GSCID_SHIFT);
            }
            if let Some(a) = iova {
                w[0] |= AV;
                w[2] = (a >> 12) << ADDR_PPN_SHIFT;
            }
            w
        }

        /// IOFENCE.C: completes after every earlier command; then writes `data` to `addr`
        /// (if given) and, with `wsi`, sets `IPSR.CIP`.
        pub const fn iofence_c(write: Option<(u32, u32)>, wsi: bool) -> [u32; 4] {
            let mut w = [OP_IOFENCE, 0, 0, 0];
            if let Some((addr, data)) = write {
                w[0] |= AV;
                w[1] = data;
                w[2] = addr & !3;
            }
            if wsi {
                w[0] |= WSI;
            }
            w
        }

        /// IODIR.INVAL_DDT: forget the cached device context of `device`, or of all.
        pub const fn iodir_inval_ddt(device: Option<u32>) -> [u32; 4] {
            let mut w = [OP_IODIR, 0, 0, 0];
            if let Some(d) = device {
                w[1] = DV | (d << DID_SHIFT);
            }
            w
        }
    }
}

/// NIC block (docs/nic.md): the Intel 8254x (e1000) register subset, at the 8254x offsets
/// (relative to [`block::NIC`]), legacy 16-byte descriptors, and this design's few additions.
///
/// Source for offsets and bit positions: Intel "PCI/PCI-X Family of Gigabit Ethernet
/// Controllers Software Developer's Manual" (8254x), chapter 13 (registers) and 3.2/3.3
/// (receive and transmit descriptors). Deviations, on purpose (also in the README):
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
pub mod nic {
    pub const CTRL: u32 = 0x0000;
    pub const STATUS: u32 = 0x0008;
    pub const ICR: u32 = 0x00C0;
    pub const ITR: u32 = 0x00C4;
    pub const ICS: u32 = 0x00C8;
    pub const IMS: u32 = 0x00D0;
    pub const IMC: u32 = 0x00D8;
    pub const RCTL: u32 = 0x0100;
    pub const TCTL: u32 = 0x0400;
    pub const TIPG: u32 = 0x0410;
    pub const RDBAL: u32 = 0x2800;
    pub const RDBAH: u32 = 0x2804;
    pub const RDLEN: u32 = 0x2808;
    pub const RDH: u32 = 0x2810;
    pub const RDT: u32 = 0x2818;
    pub const RDTR: u32 = 0x2820;
    pub const RADV: u32 = 0x282C;
    pub const TDBAL: u32 = 0x3800;
    pub const TDBAH: u32 = 0x3804;
    pub const TDLEN: u32 = 0x3808;
    pub const TDH: u32 = 0x3810;
    pub const TDT: u32 = 0x3818;
    pub const TIDV: u32 = 0x3820;
    pub const TADV: u32 = 0x382C;
    // ---- statistics (8254x offsets, clear on read) ----
    /// CRC error count.
    pub const CRCERRS: u32 = 0x4000;
    /// RX error count (frames with rx_er).
    pub const RXERRC: u32 = 0x400C;
    /// Missed packets: frames dropped because the RX FIFO (or its frame queue) was full.
    pub const MPC: u32 = 0x4010;
    /// Good packets received (delivered to a descriptor without error).
    pub const GPRC: u32 = 0x4074;
    /// Good packets transmitted.
    pub const GPTC: u32 = 0x4080;
    /// Good octets received (FCS included, as on the 8254x), the low `counter_bits` bits.
    pub const GORCL: u32 = 0x4088;
    pub const GORCH: u32 = 0x408C;
    /// Good octets transmitted (FCS included), the low `counter_bits` bits.
    pub const GOTCL: u32 = 0x4090;
    pub const GOTCH: u32 = 0x4094;
    /// Receive no buffers: frames that found the RX ring empty (they wait in the FIFO).
    pub const RNBC: u32 = 0x40A0;
    /// Receive undersize (runt) count: < 64 bytes with FCS.
    pub const RUC: u32 = 0x40A4;
    /// Receive oversize count: > 1518 bytes with FCS while long packets are off.
    pub const ROC: u32 = 0x40AC;
    /// Total octets received, the low `counter_bits` bits (every frame the MAC saw, good or bad).
    pub const TORL: u32 = 0x40C0;
    pub const TORH: u32 = 0x40C4;
    /// Total octets transmitted, the low `counter_bits` bits.
    pub const TOTL: u32 = 0x40C8;
    pub const TOTH: u32 = 0x40CC;
    /// Total packets received (every frame the MAC saw after an SFD).
    pub const TPR: u32 = 0x40D0;
    /// Total packets transmitted.
    pub const TPT: u32 = 0x40D4;
    // ---- this design's own registers (8254x reserved space) ----
    /// TX descriptors with a malformed field (non-zero high address, zero length on EOP,
    /// frame longer than the TX FIFO) or a refused buffer read: frame dropped, `STA_ERR` set.
    pub const TDEC: u32 = 0x4F00;
    /// RX frames dropped because the IOMMU refused a buffer write (`ERR_DMA` set).
    pub const RDFC: u32 = 0x4F04;
    /// Rising edges of the NIC interrupt output (interrupts delivered).
    pub const IRQC: u32 = 0x4F08;
    /// Descriptor-ring DMA error: bit 0 TX ring halted, bit 1 RX ring halted (a descriptor
    /// fetch or write-back the IOMMU refused); write 1 to clear (the ring restarts).
    pub const DMAERR: u32 = 0x4F0C;
    /// IOVA of the last refused NIC access.
    pub const DMAERR_ADDR: u32 = 0x4F10;
    /// Size of the TX FIFO in bytes (build parameter): the longest frame TX can send.
    pub const TXFIFO_BYTES: u32 = 0x4F14;
    /// Size of the RX FIFO in bytes (build parameter).
    pub const RXFIFO_BYTES: u32 = 0x4F18;
    /// Free-running TX and RX engine states (for debugging): bits 3:0 TX, 11:8 RX.
    pub const ENGINE_STATE: u32 = 0x4F1C;
    /// Ring register errors, sticky, write 1 to clear ([`ringerr`]): which ring register got
    /// a value outside its ring. Each also counts in [`RINGERRC`] and sets `ICR.RING`.
    pub const RINGERR: u32 = 0x4F20;
    /// Ring register errors counted (clear on read, saturating like the statistics).
    pub const RINGERRC: u32 = 0x4F24;

    /// Clock cycles per ITR unit (256 ns at 125 MHz).
    pub const ITR_UNIT_CYCLES: u32 = 32;
    /// Clock cycles per RDTR/RADV/TIDV/TADV unit (1.024 µs at 125 MHz).
    pub const TIMER_UNIT_CYCLES: u32 = 128;
    /// Minimum inter-frame gap in bytes (IEEE 802.3: 96 bit times).
    pub const MIN_IFG_BYTES: u32 = 12;
    /// Preamble (7 × 0x55) plus SFD (0xD5).
    pub const PREAMBLE_BYTES: u32 = 8;
    pub const PREAMBLE_BYTE: u8 = 0x55;
    pub const SFD_BYTE: u8 = 0xD5;
    /// Shortest frame on the wire without FCS (padding target) and with it.
    pub const MIN_FRAME_NO_FCS: u32 = 60;
    pub const MIN_FRAME: u32 = 64;
    /// Longest untagged frame with FCS while long packets are off.
    pub const MAX_FRAME: u32 = 1518;
    /// Longest frame with long packets on (RCTL.LPE), as on the 8254x; the RX FIFO may be the
    /// smaller limit.
    pub const MAX_LONG_FRAME: u32 = 16383;
    pub const FCS_BYTES: u32 = 4;
    /// Descriptors are 16 bytes; ring lengths (RDLEN/TDLEN) are multiples of 128 bytes.
    pub const DESC_BYTES: u32 = 16;
    pub const RING_LEN_ALIGN: u32 = 128;
    /// Bits of RDLEN/TDLEN that are ignored on write and read 0, as on the 8254x (6:0).
    pub const RING_LEN_IGNORED: u32 = RING_LEN_ALIGN - 1;
    /// Bits of RDBAL/TDBAL that are ignored on write and read 0, as on the 8254x (3:0): a
    /// ring starts on a descriptor boundary.
    pub const RING_BASE_IGNORED: u32 = DESC_BYTES - 1;
    /// Names of the TX engine states (the `obs_nic_tx_state` pin), in encoding order.
    pub const TX_STATE_NAMES: [&str; 8] = [
        "Idle",
        "FetchDesc",
        "CheckDesc",
        "WaitSpace",
        "ReadData",
        "WriteBack",
        "Commit",
        "Halted",
    ];
    /// Names of the RX engine states (the `obs_nic_rx_state` pin), in encoding order.
    pub const RX_STATE_NAMES: [&str; 9] = [
        "Idle",
        "WaitDesc",
        "FetchDesc",
        "CheckDesc",
        "WriteData",
        "WriteBack",
        "Discard",
        "Release",
        "Halted",
    ];

    /// `RINGERR` bits: a software write that would have put a ring's head or tail outside the
    /// ring. TDT, TDH, RDT and RDH writes of a value that is not 0 and not below the ring's
    /// descriptor count (`xDLEN / 16`) are ignored (the register keeps its value; the 8254x
    /// leaves this undefined). A TDLEN or RDLEN write is taken, but flagged when it leaves
    /// that ring's head or tail at or beyond the new count; while a ring's head or tail is
    /// outside it, its engine does not fetch descriptors (TX sends nothing, RX frames wait
    /// and count in RNBC) until software writes valid values.
    pub mod ringerr {
        pub const TDT: u32 = 1 << 0;
        pub const TDH: u32 = 1 << 1;
        pub const TDLEN: u32 = 1 << 2;
        pub const RDT: u32 = 1 << 3;
        pub const RDH: u32 = 1 << 4;
        pub const RDLEN: u32 = 1 << 5;
        pub const ALL: u32 = TDT | TDH | TDLEN | RDT | RDH | RDLEN;
    }

    /// `DMAERR` bits.
    pub mod dmaerr {
        /// The TX ring engine halted on a refused descriptor fetch or write-back.
        pub const TX: u32 = 1 << 0;
        /// The RX ring engine halted on a refused descriptor fetch or write-back.
        pub const RX: u32 = 1 << 1;
    }

    /// `ENGINE_STATE` fields: each engine's state index in [`TX_STATE_NAMES`](super::TX_STATE_NAMES)
    /// / [`RX_STATE_NAMES`](super::RX_STATE_NAMES).
    pub mod engine_state {
        pub const TX_SHIFT: u32 = 0;
        pub const RX_SHIFT: u32 = 8;
        pub const FIELD_BITS: u32 = 4;
        pub const TX_MASK: u32 = ((1 << FIELD_BITS) - 1) << TX_SHIFT;
        pub const RX_MASK: u32 = ((1 << FIELD_BITS) - 1) << RX_SHIFT;
    }

    /// ITR, RDTR, RADV, TIDV and TADV hold their interval in bits 15:0 (as on the 8254x).
    pub const INTERVAL_MASK: u32 = 0xFFFF;

    pub mod ctrl {
        /// Full duplex (always 1 here).
        pub const FD: u32 = 1 << 0;
        /// Set link up: STATUS.LU follows it.
        pub const SLU: u32 = 1 << 6;
        /// Software reset: self-clearing; resets rings, FIFOs, ICR and statistics.
        pub const RST: u32 = 1 << 26;
    }

    pub mod status {
        pub const FD: u32 = 1 << 0;
        /// Link up (= CTRL.SLU).
        pub const LU: u32 = 1 << 1;
        /// Speed: 10 = 1000 Mb/s (bits 7:6), what a byte-per-clock GMII MAC is.
        pub const SPEED_1000: u32 = 0b10 << 6;
    }

    /// Interrupt cause bits (ICR, ICS, IMS, IMC).
    pub mod icr {
        /// Transmit descriptor written back (a descriptor with RS, after TIDV/TADV if IDE).
        pub const TXDW: u32 = 1 << 0;
        /// Transmit queue empty (TDH reached TDT).
        pub const TXQE: u32 = 1 << 1;
        /// Receive descriptor minimum threshold reached (free descriptors ≤ the RDMTS share).
        pub const RXDMT0: u32 = 1 << 4;
        /// Receiver overrun: a frame was dropped because the RX FIFO was full.
        pub const RXO: u32 = 1 << 6;
        /// Receiver timer: RDTR (packet) or RADV (absolute) expired after a frame was written.
        pub const RXT0: u32 = 1 << 7;
        /// A memcpy DMAC channel raised its interrupt (rising edge).
        pub const DMAC: u32 = 1 << 24;
        /// The IOMMU raised its interrupt (fault or command queue; rising edge).
        pub const IOMMU: u32 = 1 << 25;
        /// A NIC descriptor ring halted on a refused access (`DMAERR`).
        pub const NIC_DMA: u32 = 1 << 26;
        /// A ring register write was refused or left a ring inconsistent (`RINGERR`).
        pub const RING: u32 = 1 << 27;
        /// Every cause bit this design implements.
        pub const ALL: u32 = TXDW | TXQE | RXDMT0 | RXO | RXT0 | DMAC | IOMMU | NIC_DMA | RING;
    }

    pub mod rctl {
        pub const EN: u32 = 1 << 1;
        /// Store bad packets: frames with errors are delivered with their error bits set.
        pub const SBP: u32 = 1 << 2;
        /// Long packet enable: frames up to MAX_LONG_FRAME (or the RX FIFO) are good.
        pub const LPE: u32 = 1 << 5;
        /// Loopback mode, bits 7:6: 00 none, 01 MAC loopback (TX pins to RX inside the chip).
        pub const LBM_SHIFT: u32 = 6;
        pub const LBM_MASK: u32 = 0b11 << LBM_SHIFT;
        pub const LBM_MAC: u32 = 0b01 << LBM_SHIFT;
        /// RX descriptor minimum threshold size, bits 9:8: 00 1/2, 01 1/4, 10 1/8 of the ring.
        pub const RDMTS_SHIFT: u32 = 8;
        pub const RDMTS_MASK: u32 = 0b11 << RDMTS_SHIFT;
        /// Buffer size, bits 17:16: 00 2048, 01 1024, 10 512, 11 256 bytes (× 16 with BSEX).
        pub const BSIZE_SHIFT: u32 = 16;
        pub const BSIZE_MASK: u32 = 0b11 << BSIZE_SHIFT;
        pub const BSEX: u32 = 1 << 25;
        /// Strip the Ethernet CRC (FCS) before the frame goes to host memory.
        pub const SECRC: u32 = 1 << 26;

        /// RX buffer bytes for an RCTL value (BSIZE, BSEX). BSEX with BSIZE 00 is reserved on
        /// the 8254x; here it means 2048 as without BSEX.
        pub const fn buffer_bytes(rctl: u32) -> u32 {
            let bsize = (rctl & BSIZE_MASK) >> BSIZE_SHIFT;
            let base = 2048 >> bsize;
            if rctl & BSEX != 0 && bsize != 0 {
                base * 16
            } else {
                base
            }
        }

        /// The BSIZE/BSEX bits for a buffer size (256, 512, 1024, 2048, 4096, 8192, 16384).
        pub const fn for_buffer_bytes(bytes: u32) -> Option<u32> {
            match bytes {
                2048 => Some(0),
                1024 => Some(1 << BSIZE_SHIFT),
                512 => Some(2 << BSIZE_SHIFT),
                256 => Some(3 << BSIZE_SHIFT),
                16384 => Some(BSEX | (1 << BSIZE_SHIFT)),
                8192 => Some(BSEX | (2 << BSIZE_SHIFT)),
                4096 => Some(BSEX | (3 << BSIZE_SHIFT)),
                _ => None,
            }
        }
    }

    pub mod tctl {
        pub const EN: u32 = 1 << 1;
        /// Pad short packets to 60 bytes (before the FCS).
        pub const PSP: u32 = 1 << 3;
    }

    pub mod tipg {
        /// IPGT, bits 9:0: the inter-frame gap in bytes; values below MIN_IFG_BYTES act as 12.
        pub const IPGT_MASK: u32 = 0x3FF;
    }

    /// Legacy transmit descriptor (16 bytes).
    ///
    /// ```text
    /// +0x0 buffer address [31:0]      +0x4 buffer address [63:32] (must be 0)
    /// +0x8 bits 15:0 LENGTH, 23:16 CSO, 31:24 CMD
    /// +0xC bits 3:0 STA, 7:4 RSV, 15:8 CSS, 31:16 SPECIAL
    /// ```
    pub mod tx_desc {
        pub const ADDR_LO: u32 = 0x0;
        pub const ADDR_HI: u32 = 0x4;
        pub const LEN_CMD: u32 = 0x8;
        pub const STA_WORD: u32 = 0xC;
        pub const LEN_MASK: u32 = 0xFFFF;
        pub const CMD_SHIFT: u32 = 24;
        /// CMD bits (in the CMD byte).
        pub const CMD_EOP: u32 = 1 << 0;
        pub const CMD_IFCS: u32 = 1 << 1;
        /// Interrupt delay enable: TXDW for this descriptor waits for TIDV/TADV.
        pub const CMD_IDE: u32 = 1 << 7;
        pub const CMD_RS: u32 = 1 << 3;
        /// STA bits (bits 3:0 of word 3).
        pub const STA_DD: u32 = 1 << 0;
        /// This design's: the frame was dropped (malformed descriptor or refused buffer read).
        /// Bit 3 is "TU" (reserved) on the 8254x legacy descriptor.
        pub const STA_ERR: u32 = 1 << 3;

        /// Word 2 of a descriptor: `len` bytes with command bits `cmd`.
        pub const fn len_cmd(len: u32, cmd: u32) -> u32 {
            (len & LEN_MASK) | (cmd << CMD_SHIFT)
        }
    }

    /// Legacy receive descriptor (16 bytes).
    ///
    /// ```text
    /// +0x0 buffer address [31:0]      +0x4 buffer address [63:32] (must be 0)
    /// +0x8 bits 15:0 LENGTH (written), 31:16 packet checksum (written 0)
    /// +0xC bits 7:0 STATUS, 15:8 ERRORS, 31:16 SPECIAL (all written; SPECIAL 0)
    /// ```
    pub mod rx_desc {
        pub const ADDR_LO: u32 = 0x0;
        pub const ADDR_HI: u32 = 0x4;
        pub const LEN_CSUM: u32 = 0x8;
        pub const STATUS_WORD: u32 = 0xC;
        pub const LEN_MASK: u32 = 0xFFFF;
        pub const ERRORS_SHIFT: u32 = 8;
        /// STATUS bits.
        pub const STA_DD: u32 = 1 << 0;
        pub const STA_EOP: u32 = 1 << 1;
        /// ERRORS bits (in the ERRORS byte), valid on the EOP descriptor.
        /// CRC (FCS) error.
        pub const ERR_CE: u32 = 1 << 0;
        /// This design's: the IOMMU refused a write into this frame's buffers; the frame is
        /// incomplete. Bit 2 is "SEQ" on the 8254x, which this MAC never reports.
        pub const ERR_DMA: u32 = 1 << 2;
        /// This design's: length error, runt (< 64 bytes with FCS) or oversize (> 1518 with FCS
        /// and LPE off); the LENGTH field tells which. Bit 3 is reserved on the 8254x.
        pub const ERR_LEN: u32 = 1 << 3;
        /// RX data error: rx_er was asserted during the frame.
        pub const ERR_RXE: u32 = 1 << 7;
    }
}

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
pub mod uart_bridge {
    /// First byte of every host → bridge frame.
    pub const SYNC: u8 = 0xA5;
    /// First byte of every bridge → host reply.
    pub const REPLY_SYNC: u8 = 0x5A;
    /// Protocol version (CRC-16, TAG, replay, inter-byte timeout, NOP). Version 1 had an 8-bit
    /// additive checksum and no TAG.
    pub const PROTOCOL_VERSION: u8 = 2;

    /// Read one word: `addr`. Reply payload: the word.
    pub const CMD_READ32: u8 = 0x01;
    /// Write one word: `addr`, `data`, `be` (byte enables in the low 4 bits; bit i enables byte
    /// i). No reply payload.
    pub const CMD_WRITE32: u8 = 0x02;
    /// Read `count` consecutive words from `addr`: `addr`, `count`. Reply payload: the words.
    pub const CMD_READ_BURST: u8 = 0x03;
    /// Write `count` consecutive words from `addr`, all bytes enabled: `addr`, `count`, the
    /// words. No reply payload.
    pub const CMD_WRITE_BURST: u8 = 0x04;
    /// Read the interrupt line. Reply payload: one byte, [`IRQ_LINE`] set while it is high.
    pub const CMD_IRQ_STATUS: u8 = 0x05;
    /// Do nothing; no fields. Reply payload: the TAG of the last frame the bridge executed and
    /// remembers (0 after power-up). The host's resync.
    pub const CMD_NOP: u8 = 0x06;

    /// The command was executed (or answered from the bridge's memory).
    pub const STATUS_OK: u8 = 0x00;
    /// The frame's CRC did not check out; the command was not executed (nothing written).
    pub const STATUS_BAD_CRC: u8 = 0x01;
    /// Unknown CMD, or a burst count of 0 or above [`MAX_BURST_WORDS`]; nothing executed.
    pub const STATUS_BAD_COMMAND: u8 = 0x02;

    /// Every command: code, name, fields after TAG, OK reply payload (for documentation: the
    /// README's protocol table is generated from this and the constants).
    pub const COMMANDS: [(u8, &str, &str, &str); 6] = [
        (CMD_READ32, "READ32", "addr (4)", "data (4)"),
        (
            CMD_WRITE32,
            "WRITE32",
            "addr (4), data (4), be (1, low 4 bits)",
            "none",
        ),
        (
            CMD_READ_BURST,
            "READ_BURST",
            "addr (4), count (1)",
            "count × data (4)",
        ),
        (
            CMD_WRITE_BURST,
            "WRITE_BURST",
            "addr (4), count (1), count × data (4)",
            "none",
        ),
        (
            CMD_IRQ_STATUS,
            "IRQ_STATUS",
            "none",
            "irq (1): bit 0 = interrupt line",
        ),
        (CMD_NOP, "NOP", "none", "the remembered TAG (1)"),
    ];
    /// Every status: code, name, meaning.
    pub const STATUSES: [(u8, &str, &str); 3] = [
        (
            STATUS_OK,
            "OK",
            "executed, or answered from the replay memory",
        ),
        (
            STATUS_BAD_CRC,
            "BAD_CRC",
            "the frame's CRC did not check out; nothing executed",
        ),
        (
            STATUS_BAD_COMMAND,
            "BAD_COMMAND",
            "unknown CMD, or burst count 0 or above MAX_BURST_WORDS; nothing executed",
        ),
    ];

    /// Most words in one burst (the bridge buffers a burst write in a RAM of this many words).
    pub const MAX_BURST_WORDS: usize = 64;
    /// Bit of the IRQ_STATUS reply byte that is the SoC's interrupt line.
    pub const IRQ_LINE: u8 = 1 << 0;
    /// Bits of the WRITE32 `be` byte that are used.
    pub const BE_MASK: u8 = 0x0F;

    /// Bytes of a frame before its fields: SYNC, CMD and TAG.
    pub const FRAME_HEADER_BYTES: usize = 3;
    /// Bytes of a reply before its payload: REPLY_SYNC, STATUS and TAG.
    pub const REPLY_HEADER_BYTES: usize = 3;
    /// Bytes of the CRC at the end of every frame and reply.
    pub const CRC_BYTES: usize = 2;
    /// Bit times on the wire per data byte (8N1: start, 8 data, stop).
    pub const BITS_PER_BYTE: u32 = 10;
    /// Smallest divisor (clock cycles per bit) the receiver can sample mid-bit with.
    pub const MIN_DIVISOR: u32 = 4;

    /// log2 of [`INTERBYTE_TIMEOUT_BITS`] (the bridge compares its idle counter with `divisor`
    /// shifted by this much).
    pub const INTERBYTE_TIMEOUT_SHIFT: u32 = 7;
    /// A frame whose next byte is not complete within this many bit times after the previous
    /// one (12.8 byte times; 128 µs at 1 Mbaud) is abandoned and counted as a timeout. Bytes
    /// sent back to back are 10 bit times apart, so a host may leave gaps of about 11 byte
    /// times inside a frame; a host that waits longer than this before its next frame knows
    /// that the bridge is hunting for SYNC again.
    pub const INTERBYTE_TIMEOUT_BITS: u32 = 1 << INTERBYTE_TIMEOUT_SHIFT;

    /// The CRC register before the first byte after a sync byte.
    pub const CRC_INIT: u16 = 0xFFFF;
    /// The CRC register after the bytes of an intact frame or reply *and* their CRC.
    pub const CRC_RESIDUE: u16 = 0x0000;

    /// One byte step of the CRC-16/CCITT-FALSE register (polynomial 0x1021, most significant
    /// bit first): the byte-wise form that `rtl::uart::bridge` builds as an XOR network.
    pub const fn crc16_update(crc: u16, byte: u8) -> u16 {
        let mut x = (crc >> 8) ^ byte as u16;
        x ^= x >> 4;
        (crc << 8) ^ (x << 12) ^ (x << 5) ^ x
    }

    /// The CRC of `bytes` (everything after the sync byte, the CRC itself excluded).
    pub const fn crc16(bytes: &[u8]) -> u16 {
        let mut crc = CRC_INIT;
        let mut i = 0;
        while i < bytes.len() {
            crc = crc16_update(crc, bytes[i]);
            i += 1;
        }
        crc
    }

    /// The two CRC bytes as they go on the wire (most significant first).
    pub const fn crc_bytes(crc: u16) -> [u8; CRC_BYTES] {
        crc.to_be_bytes()
    }

    /// Whether `bytes` (everything after the sync byte, the CRC included) checks out.
    pub const fn crc_ok(bytes: &[u8]) -> bool {
        bytes.len() >= CRC_BYTES && crc16(bytes) == CRC_RESIDUE
    }

    /// Field bytes after TAG of a frame with `cmd` (`count` is a burst's word count, 1 to
    /// [`MAX_BURST_WORDS`]), or `None` for an unknown CMD.
    pub const fn field_bytes(cmd: u8, count: usize) -> Option<usize> {
        match cmd {
            CMD_READ32 => Some(4),
            CMD_WRITE32 => Some(9),
            CMD_READ_BURST => Some(5),
            CMD_WRITE_BURST => Some(5 + 4 * count),
            CMD_IRQ_STATUS | CMD_NOP => Some(0),
            _ => None,
        }
    }

    /// Payload bytes of the OK reply to `cmd` (`count` as in [`field_bytes`]).
    pub const fn payload_bytes(cmd: u8, count: usize) -> Option<usize> {
        match cmd {
            CMD_READ32 => Some(4),
            CMD_WRITE32 | CMD_WRITE_BURST => Some(0),
            CMD_READ_BURST => Some(4 * count),
            CMD_IRQ_STATUS | CMD_NOP => Some(1),
            _ => None,
        }
    }

    /// Whether the bridge remembers an executed `cmd` and answers its retransmission from
    /// memory (everything but READ_BURST, which is executed again, and NOP, which executes
    /// nothing).
    pub const fn is_replayed(cmd: u8) -> bool {
        matches!(
            cmd,
            CMD_READ32 | CMD_WRITE32 | CMD_WRITE_BURST | CMD_IRQ_STATUS
        )
    }

    /// Bytes on the wire of a frame with `cmd` (`count` as in [`field_bytes`]).
    pub const fn frame_len(cmd: u8, count: usize) -> Option<usize> {
        match field_bytes(cmd, count) {
            Some(n) => Some(FRAME_HEADER_BYTES + n + CRC_BYTES),
            None => None,
        }
    }

    /// Bytes on the wire of a reply whose payload is `payload` bytes.
    pub const fn reply_len(payload: usize) -> usize {
        REPLY_HEADER_BYTES + payload + CRC_BYTES
    }

    /// The bridge's `divisor` input for `baud` with a `clock_hz` clock, rounded to nearest.
    pub const fn divisor(clock_hz: u32, baud: u32) -> u32 {
        (clock_hz + baud / 2) / baud
    }

    /// Clock cycles of the inter-byte timeout at `divisor`.
    pub const fn interbyte_timeout_cycles(divisor: u32) -> u64 {
        (divisor as u64) << INTERBYTE_TIMEOUT_SHIFT
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// The check value every CRC catalogue lists for CRC-16/CCITT-FALSE (CRC-16/IBM-3740).
        #[test]
        fn crc16_is_ccitt_false() {
            assert_eq!(crc16(b"123456789"), 0x29B1);
            assert_eq!(crc16(&[]), CRC_INIT);
        }

        /// Against the `crc` crate's CRC-16/IBM-3740 (= CCITT-FALSE), on frames of every length
        /// up to a 64-word burst's, with pseudo-random contents.
        #[test]
        fn crc16_matches_the_crc_crate() {
            let reference = crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740);
            let mut state = 0x1234_5678u32;
            let mut bytes = [0u8; 300];
            for b in bytes.iter_mut() {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                *b = (state >> 24) as u8;
            }
            for len in 0..bytes.len() {
                assert_eq!(
                    crc16(&bytes[..len]),
                    reference.checksum(&bytes[..len]),
                    "{len} bytes"
                );
            }
        }

        #[test]
        fn crc16_update_matches_the_bitwise_register() {
            for crc in (0..=u16::MAX).step_by(251) {
                for byte in 0..=255u8 {
                    let mut r = crc;
                    for i in (0..8).rev() {
                        let feedback = ((r >> 15) as u8 ^ (byte >> i)) & 1 != 0;
                        r <<= 1;
                        if feedback {
                            r ^= 0x1021;
                        }
                    }
                    assert_eq!(
                        crc16_update(crc, byte),
                        r,
                        "crc {crc:#06x} byte {byte:#04x}"
                    );
                }
            }
        }

        #[test]
        fn crc_sent_msb_first_leaves_the_residue() {
            let mut body = [CMD_READ32, 0x17, 0x00, 0x00, 0x02, 0x40, 0, 0];
            let [hi, lo] = crc_bytes(crc16(&body[..6]));
            body[6] = hi;
            body[7] = lo;
            assert!(crc_ok(&body));
            body[3] ^= 0x20;
            assert!(!crc_ok(&body));
            assert!(!crc_ok(&[0x00]));
        }

        #[test]
        fn lengths_by_command() {
            assert_eq!(frame_len(CMD_READ32, 1), Some(3 + 4 + 2));
            assert_eq!(frame_len(CMD_WRITE32, 1), Some(3 + 9 + 2));
            assert_eq!(frame_len(CMD_WRITE_BURST, 64), Some(3 + 5 + 256 + 2));
            assert_eq!(frame_len(CMD_NOP, 0), Some(5));
            assert_eq!(frame_len(0x7E, 0), None);
            assert_eq!(reply_len(4), 9);
            assert!(!is_replayed(CMD_READ_BURST) && !is_replayed(CMD_NOP));
        }

        #[test]
        fn divisor_rounds_to_nearest() {
            assert_eq!(divisor(12_000_000, 115_200), 104);
            assert_eq!(divisor(100_000_000, 1_000_000), 100);
            assert!(divisor(12_000_000, 1_000_000) >= MIN_DIVISOR);
            assert_eq!(interbyte_timeout_cycles(25), 25 * 128);
        }
    }
}

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
    reg!(NIC, nic, CTRL, Rw, nic::ctrl::FD, "Bit 0 FD (reads 1), bit 6 SLU (set link up), bit 26 RST (self-clearing NIC reset). On the FPGA this and the other configuration registers keep only their documented fields; other bits read 0."),
    reg!(NIC, nic, STATUS, Ro, nic::status::FD | nic::status::SPEED_1000, "Bit 0 FD, bit 1 LU (= CTRL.SLU), bits 7:6 speed (10 = 1000 Mb/s)."),
    reg!(NIC, nic, ICR, Rc, 0, "Interrupt causes, read to clear: 0 TXDW, 1 TXQE, 4 RXDMT0, 6 RXO, 7 RXT0, 24 DMAC, 25 IOMMU, 26 NIC_DMA, 27 RING."),
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
pub mod sv32 {
    /// 4 KiB pages.
    pub const PAGE_SHIFT: u32 = 12;
    pub const PAGE_SIZE: u32 = 1 << PAGE_SHIFT;
    /// Two levels: level 1 (root, indexed by VPN[1]) and level 0 (indexed by VPN[0]).
    pub const LEVELS: u32 = 2;
    /// Bytes per PTE.
    pub const PTE_SIZE: u32 = 4;
    /// Width of each VPN field; a page table has `1 << VPN_BITS` entries and fills one page.
    pub const VPN_BITS: u32 = 10;
    pub const PTES_PER_TABLE: u32 = 1 << VPN_BITS;
    pub const VPN_MASK: u32 = PTES_PER_TABLE - 1;
    pub const VPN0_SHIFT: u32 = PAGE_SHIFT;
    pub const VPN1_SHIFT: u32 = PAGE_SHIFT + VPN_BITS;
    /// A leaf at level 1 maps a 4 MiB superpage ("megapage"), which must be virtually and
    /// physically aligned to 4 MiB.
    pub const SUPERPAGE_SHIFT: u32 = VPN1_SHIFT;
    pub const SUPERPAGE_SIZE: u32 = 1 << SUPERPAGE_SHIFT;
    /// Sv32 produces 34-bit physical addresses from a 22-bit PPN.
    pub const PA_BITS: u32 = 34;
    pub const PPN_BITS: u32 = PA_BITS - PAGE_SHIFT;

    /// VPN[1] of a 32-bit IOVA (bits 31:22): the index into the root table.
    pub const fn vpn1(iova: u32) -> u32 {
        iova >> VPN1_SHIFT
    }

    /// VPN[0] of a 32-bit IOVA (bits 21:12): the index into a level-0 table.
    pub const fn vpn0(iova: u32) -> u32 {
        (iova >> VPN0_SHIFT) & VPN_MASK
    }

    /// VPN[level] (`level` 1 or 0).
    pub const fn vpn(iova: u32, level: u32) -> u32 {
        (iova >> (PAGE_SHIFT + VPN_BITS * level)) & VPN_MASK
    }

    /// Bits 11:0 of an IOVA: not translated.
    pub const fn page_offset(iova: u32) -> u32 {
        iova & (PAGE_SIZE - 1)
    }

    /// Bits 21:0 of an IOVA: the offset inside a 4 MiB superpage.
    pub const fn superpage_offset(iova: u32) -> u32 {
        iova & (SUPERPAGE_SIZE - 1)
    }

    /// Physical address of page `ppn` (22 bits): a 34-bit address.
    pub const fn ppn_to_pa(ppn: u32) -> u64 {
        ((ppn & ((1 << PPN_BITS) - 1)) as u64) << PAGE_SHIFT
    }

    /// Page number of a physical address (`pa` below 2^34).
    pub const fn pa_to_ppn(pa: u64) -> u32 {
        (pa >> PAGE_SHIFT) as u32
    }

    /// Address of the PTE for `iova` at `level` in the table at page `table_ppn`
    /// (`table_ppn * PAGE_SIZE + VPN[level] * PTE_SIZE`).
    pub const fn pte_addr(table_ppn: u32, iova: u32, level: u32) -> u64 {
        ppn_to_pa(table_ppn) + (vpn(iova, level) * PTE_SIZE) as u64
    }

    /// Page-table entry fields.
    pub mod pte {
        /// Valid. If 0 the other bits are don't-cares (free for software).
        pub const V: u32 = 1 << 0;
        /// Readable.
        pub const R: u32 = 1 << 1;
        /// Writable. W=1 with R=0 is reserved.
        pub const W: u32 = 1 << 2;
        /// Executable. R=W=X=0 means "pointer to the next level"; any of R or X set is a leaf.
        pub const X: u32 = 1 << 3;
        /// User-mode accessible.
        pub const U: u32 = 1 << 4;
        /// Global mapping.
        pub const G: u32 = 1 << 5;
        /// Accessed.
        pub const A: u32 = 1 << 6;
        /// Dirty (written).
        pub const D: u32 = 1 << 7;
        /// Reserved for supervisor software; the hardware ignores it.
        pub const RSW_SHIFT: u32 = 8;
        pub const RSW_MASK: u32 = 0x3 << RSW_SHIFT;
        /// All flag bits 7:0.
        pub const FLAGS_MASK: u32 = 0xFF;
        /// R, W and X.
        pub const RWX: u32 = R | W | X;

        /// The 22-bit PPN, bits 31:10.
        pub const PPN_SHIFT: u32 = 10;
        pub const PPN_MASK: u32 = 0xFFFF_FC00;
        /// PPN[0], bits 19:10 (10 bits).
        pub const PPN0_SHIFT: u32 = 10;
        pub const PPN0_MASK: u32 = 0x3FF << PPN0_SHIFT;
        /// PPN[1], bits 31:20 (12 bits).
        pub const PPN1_SHIFT: u32 = 20;
        pub const PPN1_MASK: u32 = 0xFFF << PPN1_SHIFT;

        /// A PTE pointing at page `ppn` with `flags` (bits 9:0).
        pub const fn new(ppn: u32, flags: u32) -> u32 {
            (ppn << PPN_SHIFT) | (flags & !PPN_MASK)
        }

        /// The full 22-bit PPN.
        pub const fn ppn(pte: u32) -> u32 {
            pte >> PPN_SHIFT
        }

        /// PPN[0] (10 bits). In the PPN it is bits 9:0.
        pub const fn ppn0(pte: u32) -> u32 {
            (pte & PPN0_MASK) >> PPN0_SHIFT
        }

        /// PPN[1] (12 bits). In the PPN it is bits 21:10.
        pub const fn ppn1(pte: u32) -> u32 {
            (pte & PPN1_MASK) >> PPN1_SHIFT
        }

        /// Physical address of the page (or next-level table) the PTE points at (34 bits).
        pub const fn pa(pte: u32) -> u64 {
            super::ppn_to_pa(ppn(pte))
        }

        /// R or X set: a leaf. Otherwise (with V=1) a pointer to the next level.
        pub const fn is_leaf(pte: u32) -> bool {
            pte & (R | X) != 0
        }

        /// R=0 and W=1: a reserved encoding.
        pub const fn is_reserved_rw(pte: u32) -> bool {
            pte & (R | W) == W
        }
    }
}

/// RISC-V IOMMU fault-record `CAUSE` codes (12-bit field of the 32-byte fault record).
///
/// Source: RISC-V IOMMU Architecture Specification, chapter "In-memory queue interface",
/// section "Fault/Event-Queue (FQ)", table "Fault record CAUSE field encodings". Codes 1-23
/// match the privileged architecture's exception codes (`mcause`); 256 and up are IOMMU-only.
/// Only the causes this SoC's IOMMU can raise are listed.
pub mod iommu_cause {
    /// A cause code the IOMMU writes into a fault record.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[repr(u32)]
    pub enum FaultCause {
        /// "Read access fault": the translated read (or a PTE read for it) hit no memory.
        ReadAccessFault = 5,
        /// "Write/AMO access fault": the translated write (or a PTE read for it) hit no memory.
        WriteAccessFault = 7,
        /// "Read page fault".
        ReadPageFault = 13,
        /// "Write/AMO page fault".
        WritePageFault = 15,
        /// "All inbound transactions disallowed" (`ddtp` mode Off).
        AllDisallowed = 256,
        /// "DDT entry load access fault" (the device context lies outside RAM).
        DdtLoadAccessFault = 257,
        /// "DDT entry not valid" (the device context's V bit is 0).
        DdtEntryNotValid = 258,
        /// "DDT entry misconfigured" (reserved bits of the device context set).
        DdtMisconfigured = 259,
    }

    impl FaultCause {
        pub const ALL: [FaultCause; 8] = [
            FaultCause::ReadAccessFault,
            FaultCause::WriteAccessFault,
            FaultCause::ReadPageFault,
            FaultCause::WritePageFault,
            FaultCause::AllDisallowed,
            FaultCause::DdtLoadAccessFault,
            FaultCause::DdtEntryNotValid,
            FaultCause::DdtMisconfigured,
        ];

        pub const fn code(self) -> u32 {
            self as u32
        }

        pub fn from_code(code: u32) -> Option<FaultCause> {
            FaultCause::ALL.iter().copied().find(|c| *c as u32 == code)
        }

        /// The specification's name for the cause.
        pub fn name(self) -> &'static str {
            match self {
                FaultCause::ReadAccessFault => "read access fault",
                FaultCause::WriteAccessFault => "write/AMO access fault",
                FaultCause::ReadPageFault => "read page fault",
                FaultCause::WritePageFault => "write/AMO page fault",
                FaultCause::AllDisallowed => "all inbound transactions disallowed",
                FaultCause::DdtLoadAccessFault => "DDT entry load access fault",
                FaultCause::DdtEntryNotValid => "DDT entry not valid",
                FaultCause::DdtMisconfigured => "DDT entry misconfigured",
            }
        }
    }
}

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
