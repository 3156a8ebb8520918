//! The driver for the DMA NIC SoC. It talks to hardware only through [`Device`], so the same
//! code runs against the Verilator model (`sim` crate) and a board over the UART bridge.

pub use regs;

pub mod arb;
pub mod dma;
pub mod dmac;
pub mod eeprom;
pub mod iommu;
pub mod iova;
pub mod mm;
pub mod nic;
pub mod pgtable;
pub mod phy;
pub mod pio;
pub mod ring;
pub mod sys;
pub mod uart;

#[cfg(test)]
mod mock;

pub use arb::{ArbCounters, ArbMode};
pub use dma::{
    mapping_error, Dma, DmaAddr, DmaConfig, DmaDirection, DmaError, DmaMapping, DomainType,
    Invalidation, IommuPolicy, MappingKind, PhysRange, Reach, DMA_MAPPING_ERROR,
};
pub use dmac::{Chain, ChainError, Completion, DescStatus, Descriptor, Dmac, DmacError, Outcome};
pub use iommu::{
    DeviceContext, DeviceId, FaultAccess, FaultCode, FaultQueueStatus, FaultRecord, Iommu,
    IommuCaps, IommuCounters, IommuError, IommuMode,
};
pub use iova::{IovaAllocator, IovaError};
pub use mm::{MmError, PageAllocator};
pub use nic::{
    forward_once, ForwardStats, HwStats, Nic, NicConfig, NicError, NicStats, PollResult, RxFrame,
};
pub use pgtable::{Leaf, PageTable, Perm, PgTableError};
pub use pio::PioError;
pub use ring::{BufferInfo, DescRing, Mapped, RingError, RingIndices, RxDesc, TxDesc};
pub use sys::{probe, ProbeError, SysInfo};

/// What the driver needs from the thing it drives: 32-bit accesses on the host port (MMIO and
/// host RAM alike, executed as real bus transactions), the interrupt line, and time.
pub trait Device {
    /// One 32-bit write on the host port with byte enables `be` (bit i enables byte i).
    fn write32_be(&mut self, addr: u32, value: u32, be: u8);

    /// One 32-bit read on the host port.
    fn read32(&mut self, addr: u32) -> u32;

    /// One 32-bit write with all byte enables set.
    fn write32(&mut self, addr: u32, value: u32) {
        self.write32_be(addr, value, 0xF);
    }

    /// Write consecutive words starting at `addr` (word aligned). Implementations may pipeline.
    fn write_words(&mut self, addr: u32, words: &[u32]) {
        for (i, w) in words.iter().enumerate() {
            self.write32(addr + 4 * i as u32, *w);
        }
    }

    /// Read consecutive words starting at `addr` (word aligned). Implementations may pipeline.
    fn read_words(&mut self, addr: u32, out: &mut [u32]) {
        for (i, w) in out.iter_mut().enumerate() {
            *w = self.read32(addr + 4 * i as u32);
        }
    }

    /// Let time pass until the interrupt line is high or `max_cycles` have passed; returns
    /// whether the interrupt line is high.
    fn wait_irq(&mut self, max_cycles: u64) -> bool;

    /// Let `cycles` clock cycles pass.
    fn advance(&mut self, cycles: u64);

    /// Clock cycles since the device was created.
    fn now(&self) -> u64;

    /// Whether the interrupt line is high now.
    fn irq(&self) -> bool;

    /// Describes what the hardware is doing, for error messages after a timeout
    /// (e.g. "DMAC in state FetchDesc"). Devices that cannot tell return an empty string.
    fn describe_state(&self) -> String {
        String::new()
    }

    /// The first error of the link to the device since it was cleared, for devices reached
    /// over a link that can fail (the UART bridge, `uart::UartDevice`): after it, reads that
    /// failed returned all-ones and writes that failed were dropped, as on a PCIe master abort.
    /// Sticky. Devices on a bus that cannot fail return `None`.
    fn link_error(&self) -> Option<String> {
        None
    }
}
