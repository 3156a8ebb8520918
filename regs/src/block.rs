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
