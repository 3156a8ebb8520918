//! PHY management through the NIC: clause 22 reads and writes over MDIO (the NIC's MDIC
//! register, `regs::nic::mdic`), the PHY's reset pin (CTRL.PHY_RST), and what a driver does
//! with them: read the PHY's ID and link, and restrict what it advertises.
//!
//! On a real card the PHY is an off-chip part the host reaches through the MAC; here it is the
//! board's PHY (the Colorlight i5's B50612D) or the simulation's model of one. Each access
//! takes a whole management frame on the wire, 64 MDC periods (about 1.3 k core cycles at
//! 50 MHz): the functions wait for MDIC.R, polling, at most [`ACCESS_TIMEOUT_CYCLES`].
//!
//! ```no_run
//! # fn demo(dev: &mut dyn driver::Device) -> Result<(), driver::phy::MdioError> {
//! use driver::phy;
//! use regs::phy::COLORLIGHT_PHY_ADDR as PHY;
//! let id = phy::read_id(dev, PHY)?;
//! phy::advertise_100_full_only(dev, PHY)?;
//! let link = phy::link(dev, PHY)?;
//! println!("PHY {id:#010x}: {link:?}");
//! # Ok(()) }
//! ```

use crate::Device;
use regs::nic::{self, ctrl, mdic};
use regs::phy::{self as clause22, anar, bmcr, bmsr, ctrl1000, Resolved};
use std::fmt;

/// The longest an access may take before the driver gives up: a frame at the slowest MDC a
/// build uses (half period 25 cycles: 64 × 50 + 1 cycles) with room to spare.
pub const ACCESS_TIMEOUT_CYCLES: u64 = 20_000;

/// Why an access failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MdioError {
    /// A PHY or register address above 31.
    BadAddress { phy: u8, reg: u8 },
    /// MDIC still showed an access in flight before this one could start.
    Busy,
    /// MDIC.R did not come within [`ACCESS_TIMEOUT_CYCLES`].
    Timeout { phy: u8, reg: u8, mdic: u32 },
    /// MDIC.E: nobody drove the turnaround low, so there is no PHY at `phy`.
    NoPhy { phy: u8, reg: u8 },
}

impl fmt::Display for MdioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MdioError::BadAddress { phy, reg } => {
                write!(
                    f,
                    "MDIO address out of range: PHY {phy}, register {reg} (0..31)"
                )
            }
            MdioError::Busy => write!(f, "MDIC: an access is still in flight"),
            MdioError::Timeout { phy, reg, mdic } => write!(
                f,
                "MDIO access to PHY {phy} register {reg} not done after {ACCESS_TIMEOUT_CYCLES} \
                 cycles (MDIC {mdic:#010x})"
            ),
            MdioError::NoPhy { phy, reg } => write!(
                f,
                "no PHY answered at MDIO address {phy} (register {reg}): MDIC.E"
            ),
        }
    }
}

impl std::error::Error for MdioError {}

fn mdic_addr() -> u32 {
    crate::nic::reg(nic::MDIC)
}

fn access(dev: &mut dyn Device, op: u32, phy: u8, reg: u8, data: u16) -> Result<u32, MdioError> {
    if phy > 31 || reg > 31 {
        return Err(MdioError::BadAddress { phy, reg });
    }
    if dev.read32(mdic_addr()) & mdic::READY == 0 {
        return Err(MdioError::Busy);
    }
    dev.write32(
        mdic_addr(),
        mdic::command(op, phy as u32, reg as u32, data as u32),
    );
    let start = dev.now();
    loop {
        let v = dev.read32(mdic_addr());
        if v & mdic::READY != 0 {
            if v & mdic::ERROR != 0 {
                return Err(MdioError::NoPhy { phy, reg });
            }
            return Ok(v);
        }
        if dev.now() - start > ACCESS_TIMEOUT_CYCLES {
            return Err(MdioError::Timeout { phy, reg, mdic: v });
        }
        // A frame takes at least 64 MDC periods: no need to ask every cycle.
        dev.advance(64);
    }
}

/// Reads PHY register `reg` at MDIO address `phy`.
pub fn read(dev: &mut dyn Device, phy: u8, reg: u8) -> Result<u16, MdioError> {
    access(dev, mdic::OP_READ, phy, reg, 0).map(|v| (v & mdic::DATA_MASK) as u16)
}

/// Writes `value` to PHY register `reg` at `phy`. (A write cannot tell whether a PHY was
/// there: only a read's turnaround can.)
pub fn write(dev: &mut dyn Device, phy: u8, reg: u8, value: u16) -> Result<(), MdioError> {
    access(dev, mdic::OP_WRITE, phy, reg, value).map(|_| ())
}

/// The PHY's 32-bit identifier (PHYID1 << 16 | PHYID2).
pub fn read_id(dev: &mut dyn Device, phy: u8) -> Result<u32, MdioError> {
    let hi = read(dev, phy, clause22::PHYID1)? as u32;
    let lo = read(dev, phy, clause22::PHYID2)? as u32;
    Ok(hi << 16 | lo)
}

/// The link as the PHY reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    pub up: bool,
    pub autoneg_complete: bool,
    /// What autonegotiation resolved to (meaningful once complete).
    pub resolved: Resolved,
}

/// Reads the link state: BMSR (twice: its link bit latches low), and the advertisements of
/// both sides, resolved as IEEE 802.3 annex 28B orders them.
pub fn link(dev: &mut dyn Device, phy: u8) -> Result<Link, MdioError> {
    read(dev, phy, clause22::BMSR)?;
    let bmsr = read(dev, phy, clause22::BMSR)?;
    let resolved = regs::phy::resolve(
        read(dev, phy, clause22::ANAR)?,
        read(dev, phy, clause22::CTRL1000)?,
        read(dev, phy, clause22::ANLPAR)?,
        read(dev, phy, clause22::STAT1000)?,
    );
    Ok(Link {
        up: bmsr & bmsr::LINK != 0,
        autoneg_complete: bmsr & bmsr::AN_COMPLETE != 0,
        resolved,
    })
}

/// Advertises 100 Mb/s full duplex only (the board's RGMII adapter runs at 100 Mb/s; the
/// core cannot take gigabit) and restarts autonegotiation.
pub fn advertise_100_full_only(dev: &mut dyn Device, phy: u8) -> Result<(), MdioError> {
    write(
        dev,
        phy,
        clause22::ANAR,
        anar::SELECTOR_8023 | anar::ADV_100_FD,
    )?;
    let c1000 = read(dev, phy, clause22::CTRL1000)?;
    write(
        dev,
        phy,
        clause22::CTRL1000,
        c1000 & !(ctrl1000::ADV_1000_FD | ctrl1000::ADV_1000_HD),
    )?;
    let b = read(dev, phy, clause22::BMCR)?;
    write(
        dev,
        phy,
        clause22::BMCR,
        (b | bmcr::AN_ENABLE | bmcr::RESTART_AN) & !bmcr::POWER_DOWN,
    )
}

/// Pulses the PHY's reset pin through CTRL.PHY_RST for `cycles` cycles (keeping CTRL's other
/// bits), then waits as long again for the PHY to come out of reset.
pub fn reset_pin_pulse(dev: &mut dyn Device, cycles: u64) {
    let ctrl_addr = crate::nic::reg(nic::CTRL);
    let c = dev.read32(ctrl_addr) & !ctrl::RST;
    dev.write32(ctrl_addr, c | ctrl::PHY_RST);
    dev.advance(cycles);
    dev.write32(ctrl_addr, c & !ctrl::PHY_RST);
    dev.advance(cycles);
}
