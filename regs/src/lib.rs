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
/// [`RamConfig`]); the `SYS.RAM_BYTES` register reports it at run time.
pub const RAM_BASE: u32 = 0x0000_0000;

/// Base of the CSR window. The window is [`CSR_WINDOW_BYTES`] long; host accesses that fall
/// neither in RAM nor in this window are counted in `SYS.HOST_ERRORS` (reads return 0).
pub const CSR_BASE: u32 = 0x4000_0000;
/// Size of the CSR window (the address bits below it are the CSR offset).
pub const CSR_WINDOW_BITS: usize = 18;
pub const CSR_WINDOW_BYTES: u32 = 1 << CSR_WINDOW_BITS;

/// A page: bursts never cross one, and (later) the IOMMU translates one at a time.
pub const PAGE_BYTES: u32 = 4096;

/// Build-time RAM size of one SoC configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RamConfig {
    /// log2 of the number of 32-bit words.
    pub word_addr_bits: usize,
}

impl RamConfig {
    /// The simulation configuration: 1 MiB.
    pub const SIM: RamConfig = RamConfig { word_addr_bits: 18 };
    /// The FPGA configuration: 8 KiB (16 of the HX8K's 32 block RAMs).
    pub const FPGA: RamConfig = RamConfig { word_addr_bits: 11 };

    pub const fn bytes(self) -> u32 {
        4 << self.word_addr_bits
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
    /// The memcpy DMA channel (classic DMAC).
    pub const DMAC: u32 = 0x2_2000;
    /// Reserved for the IOMMU.
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
        /// The memcpy channel's `STATUS.DONE` or `STATUS.ERR` with `CTRL.IRQ_EN` set.
        pub const DMAC: u32 = 1 << 0;
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
        /// SRC..SRC+LEN or DST..DST+LEN is not inside host RAM.
        OutOfRange = 3,
        /// The chain had more than CHAIN_LIMIT descriptors (or loops).
        ChainLimit = 4,
        /// A descriptor address is unaligned or outside host RAM.
        BadDescriptor = 5,
    }

    impl Cause {
        pub const ALL: [Cause; 6] = [
            Cause::None,
            Cause::ZeroLength,
            Cause::Unaligned,
            Cause::OutOfRange,
            Cause::ChainLimit,
            Cause::BadDescriptor,
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
}

impl Access {
    pub fn name(self) -> &'static str {
        match self {
            Access::Ro => "RO",
            Access::Rw => "RW",
            Access::Wo => "WO",
            Access::Rw1c => "RW1C",
            Access::RoWc => "RO, write clears",
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
    reg!(SYS, sys, ID, Ro, sys::ID_VALUE, "Identification: \"DMNC\"."),
    reg!(SYS, sys, VERSION, Ro, sys::VERSION_VALUE, "Design version (major.minor in 31:16.15:0)."),
    reg!(SYS, sys, RAM_BYTES, Ro, 0, "Size of host RAM in bytes (build parameter)."),
    reg!(SYS, sys, SCRATCH, Rw, 0, "Free for software."),
    reg!(SYS, sys, HOST_ERRORS, RoWc, 0, "Host accesses to unmapped addresses (reads return 0, writes are dropped)."),
    reg!(SYS, sys, IRQ_STATUS, Ro, 0, "Asserted interrupt sources: bit 0 DMAC."),
    reg!(ARB, arb, MODE, Rw, 0, "0 = burst, 1 = cycle stealing."),
    reg!(ARB, arb, BURST_CAP, Rw, 0, "Burst mode: most DMA beats per burst, 0 = unlimited. Bursts also end at 4 KiB boundaries."),
    reg!(ARB, arb, STEAL_BOUND, Rw, arb::STEAL_NEVER, "Cycle-steal mode: DMA waiting cycles before it steals one cycle from a busy CPU; 0xFFFFFFFF = never (transparent)."),
    reg!(ARB, arb, CNT_CTRL, Wo, 0, "Bit 0: clear all counters."),
    reg!(ARB, arb, TOTAL_CYCLES, Ro, 0, "Clock cycles."),
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
    reg!(DMAC, dmac, CTRL, Rw, 0, "Bit 0 START (write 1), bit 1 IRQ_EN, bit 2 CHAIN (descriptor mode)."),
    reg!(DMAC, dmac, STATUS, Rw1c, 0, "Bit 0 BUSY, bit 1 DONE, bit 2 ERR, bit 3 REJECTED_START (start while busy); bits 11:8 error cause."),
    reg!(DMAC, dmac, DESC, Rw, 0, "Chain mode: first descriptor (16-byte aligned, not 0)."),
    reg!(DMAC, dmac, CHAIN_LIMIT, Rw, dmac::CHAIN_LIMIT_RESET, "Chain mode: most descriptors per run."),
    reg!(DMAC, dmac, DESC_DONE, Ro, 0, "Descriptors completed by the current or last run."),
    reg!(DMAC, dmac, BYTES_DONE, Ro, 0, "Bytes copied by the current or last run."),
    reg!(DMAC, dmac, ERR_ADDR, Ro, 0, "Address the last error is about."),
    reg!(DMAC, dmac, ERR_COUNT, Ro, 0, "Runs that ended with an error."),
    reg!(DMAC, dmac, REJECTED_STARTS, Ro, 0, "START writes rejected because the channel was busy."),
    reg!(DMAC, dmac, CUR_DESC, Ro, 0, "Chain mode: descriptor being worked on, or where the run stopped."),
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
        /// "DDT entry not valid" (the device context's V bit is 0).
        DdtEntryNotValid = 258,
    }

    impl FaultCause {
        pub const ALL: [FaultCause; 6] = [
            FaultCause::ReadAccessFault,
            FaultCause::WriteAccessFault,
            FaultCause::ReadPageFault,
            FaultCause::WritePageFault,
            FaultCause::AllDisallowed,
            FaultCause::DdtEntryNotValid,
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
                FaultCause::DdtEntryNotValid => "DDT entry not valid",
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
        let codes: [u32; 6] = FaultCause::ALL.map(FaultCause::code);
        assert_eq!(codes, [5, 7, 13, 15, 256, 258]);
        assert_eq!(FaultCause::from_code(1), None);
        assert_eq!(FaultCause::from_code(257), None);
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
