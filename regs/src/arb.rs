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

/// The counters' offsets in the order the arbiter's `counters` output array holds them
/// (`rtl/src/arbiter.rs`): consecutive words from [`TOTAL_CYCLES`].
pub const COUNTERS: [u32; 8] = [
    TOTAL_CYCLES,
    CPU_REQ_CYCLES,
    CPU_STALL_CYCLES,
    CPU_WORST_WAIT,
    DMA_BEATS,
    DMA_WAIT_CYCLES,
    IDLE_CYCLES,
    DMA_LONGEST_HOLD,
];
