//! The `SYS` block: identifying the SoC before touching anything else, and its few global
//! registers.

use regs::{block, csr, sys, PAGE_BYTES};
use thiserror::Error;

use crate::Device;

/// What [`probe`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SysInfo {
    /// `SYS.VERSION` as read: major in bits 31:16, minor in 15:0.
    pub version: u32,
    /// `SYS.RAM_BYTES`: size of host RAM in bytes.
    pub ram_bytes: u32,
}

impl SysInfo {
    pub fn version_major(&self) -> u16 {
        (self.version >> 16) as u16
    }

    pub fn version_minor(&self) -> u16 {
        self.version as u16
    }
}

/// Why [`probe`] refused the device.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ProbeError {
    /// `SYS.ID` is not [`sys::ID_VALUE`]: this is not the SoC (or the bus is not working).
    #[error("SYS.ID reads {found:#010x}, expected {:#010x}", sys::ID_VALUE)]
    BadId { found: u32 },
    /// `SYS.RAM_BYTES` is zero or not whole pages, so the page allocator could not use it.
    #[error("SYS.RAM_BYTES reads {bytes:#x}, not a non-zero multiple of the page size")]
    BadRamSize { bytes: u32 },
    /// The link to the device failed ([`Device::link_error`]): what was read means nothing.
    #[error("link to the device is down: {0}")]
    LinkDown(String),
}

/// Checks that the device is the SoC and reads its version and RAM size. A link error
/// ([`Device::link_error`], sticky: one latched before the probe counts too) is
/// [`ProbeError::LinkDown`], never a misidentification.
pub fn probe(dev: &mut dyn Device) -> Result<SysInfo, ProbeError> {
    let found = dev.read32(csr(block::SYS, sys::ID));
    if let Some(e) = dev.link_error() {
        return Err(ProbeError::LinkDown(e));
    }
    if found != sys::ID_VALUE {
        return Err(ProbeError::BadId { found });
    }
    let version = dev.read32(csr(block::SYS, sys::VERSION));
    let ram_bytes = dev.read32(csr(block::SYS, sys::RAM_BYTES));
    if let Some(e) = dev.link_error() {
        return Err(ProbeError::LinkDown(e));
    }
    if ram_bytes == 0 || !ram_bytes.is_multiple_of(PAGE_BYTES) {
        return Err(ProbeError::BadRamSize { bytes: ram_bytes });
    }
    Ok(SysInfo { version, ram_bytes })
}

/// `SYS.IRQ_STATUS`: the interrupt sources asserted now (bits in [`sys::irq`]).
pub fn irq_status(dev: &mut dyn Device) -> u32 {
    dev.read32(csr(block::SYS, sys::IRQ_STATUS))
}

/// `SYS.HOST_ERRORS`: host accesses to unmapped addresses since the last clear.
pub fn host_errors(dev: &mut dyn Device) -> u32 {
    dev.read32(csr(block::SYS, sys::HOST_ERRORS))
}

/// Clears `SYS.HOST_ERRORS` (any write clears it).
pub fn clear_host_errors(dev: &mut dyn Device) {
    dev.write32(csr(block::SYS, sys::HOST_ERRORS), 0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::MockDevice;
    use pretty_assertions::assert_eq;

    #[test]
    fn probe_reads_id_version_and_ram_size() {
        let mut dev = MockDevice::new(2 * PAGE_BYTES);
        let info = probe(&mut dev).unwrap();
        assert_eq!(
            info,
            SysInfo {
                version: sys::VERSION_VALUE,
                ram_bytes: 2 * PAGE_BYTES
            }
        );
        assert_eq!((info.version_major(), info.version_minor()), (1, 0));
    }

    #[test]
    fn probe_rejects_a_wrong_id() {
        let mut dev = MockDevice::new(PAGE_BYTES);
        dev.set_reg(csr(block::SYS, sys::ID), 0);
        assert_eq!(probe(&mut dev), Err(ProbeError::BadId { found: 0 }));
    }
}
