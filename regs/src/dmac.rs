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
/// Words a channel reads ahead of its writes (its read-ahead buffer, docs/dma.md "The memcpy
/// channel"): a write that faults may follow up to this many reads of the same copy.
pub const READ_AHEAD: u32 = 4;

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
