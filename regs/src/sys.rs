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
