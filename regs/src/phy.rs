//! The PHY's management registers (IEEE 802.3 clause 22), as the driver reaches them through
//! the NIC's MDIC (`nic::mdic`), and the PHY the simulation models.
//!
//! Only the registers and bits this project uses are named. The Colorlight i5's PHYs are
//! Broadcom B50612D (a BCM54612E variant): Linux's `include/linux/brcmphy.h` gives
//! `PHY_ID_BCM54612E` = 0x03625e60 with mask 0xfffffff0 (the low 4 bits are the revision). On
//! that board the PHY wired to the `eth 0` pins has MDIO address 0: LiteX's platform file orders
//! the two PHYs "to match with the configuration of their PHYA\[0\] pins", and the 5A-75B notes
//! (chubby75) strap one PHYA\[0\] low and the other high; not checked on a board. Both PHYs
//! share MDC, MDIO and the reset pin.

/// Basic mode control.
pub const BMCR: u8 = 0;
/// Basic mode status.
pub const BMSR: u8 = 1;
/// PHY identifier, bits 31:16 and 15:0 of the 32-bit ID.
pub const PHYID1: u8 = 2;
pub const PHYID2: u8 = 3;
/// Autonegotiation advertisement.
pub const ANAR: u8 = 4;
/// Link partner ability.
pub const ANLPAR: u8 = 5;
/// 1000BASE-T control (what is advertised at 1000 Mb/s).
pub const CTRL1000: u8 = 9;
/// 1000BASE-T status (what the partner advertised at 1000 Mb/s).
pub const STAT1000: u8 = 10;

pub mod bmcr {
    pub const RESET: u16 = 1 << 15;
    pub const LOOPBACK: u16 = 1 << 14;
    /// Speed select, low bit (with SPEED_MSB: 00 10, 01 100, 10 1000 Mb/s) when AN is off.
    pub const SPEED_LSB: u16 = 1 << 13;
    pub const AN_ENABLE: u16 = 1 << 12;
    pub const POWER_DOWN: u16 = 1 << 11;
    pub const RESTART_AN: u16 = 1 << 9;
    pub const FULL_DUPLEX: u16 = 1 << 8;
    pub const SPEED_MSB: u16 = 1 << 6;
}

pub mod bmsr {
    pub const CAP_100_FD: u16 = 1 << 14;
    pub const CAP_100_HD: u16 = 1 << 13;
    pub const CAP_10_FD: u16 = 1 << 12;
    pub const CAP_10_HD: u16 = 1 << 11;
    pub const EXT_STATUS: u16 = 1 << 8;
    pub const AN_COMPLETE: u16 = 1 << 5;
    pub const AN_ABLE: u16 = 1 << 3;
    /// Link status (latched low on a real PHY: read twice for the current state).
    pub const LINK: u16 = 1 << 2;
    pub const EXT_CAP: u16 = 1 << 0;
}

/// ANAR and ANLPAR.
pub mod anar {
    /// Selector field: IEEE 802.3.
    pub const SELECTOR_8023: u16 = 0x0001;
    pub const ADV_10_HD: u16 = 1 << 5;
    pub const ADV_10_FD: u16 = 1 << 6;
    pub const ADV_100_HD: u16 = 1 << 7;
    pub const ADV_100_FD: u16 = 1 << 8;
    pub const PAUSE: u16 = 1 << 10;
    pub const ALL_SPEEDS: u16 = ADV_10_HD | ADV_10_FD | ADV_100_HD | ADV_100_FD;
}

/// CTRL1000 and STAT1000.
pub mod ctrl1000 {
    pub const ADV_1000_HD: u16 = 1 << 8;
    pub const ADV_1000_FD: u16 = 1 << 9;
    /// STAT1000: the partner advertised 1000 Mb/s half and full duplex.
    pub const PARTNER_1000_HD: u16 = 1 << 10;
    pub const PARTNER_1000_FD: u16 = 1 << 11;
}

/// The BCM54612E's ID as Linux matches it (the low 4 bits, the revision, masked off).
pub const BCM54612E_ID: u32 = 0x0362_5E60;
pub const BCM54612E_ID_MASK: u32 = 0xFFFF_FFF0;

/// MDIO address of the Colorlight i5's `eth 0` PHY, the one its board top uses.
pub const COLORLIGHT_PHY_ADDR: u8 = 0;

/// The register values the simulation's PHY model (`sim/cpp/mdio_phy.h`) starts from: a
/// B50612D-like PHY (ID 0x03625E60, revision 0) whose link is up after autonegotiation with a
/// partner that offers every speed, advertising everything up to 1000 Mb/s full duplex. These
/// are the model's, written from the clause 22 layout; a real chip's reset values differ in
/// bits this project does not use.
pub const fn model_power_up() -> [u16; 32] {
    let mut r = [0u16; 32];
    r[BMCR as usize] = bmcr::AN_ENABLE | bmcr::FULL_DUPLEX | bmcr::SPEED_MSB;
    r[BMSR as usize] = bmsr::CAP_100_FD
        | bmsr::CAP_100_HD
        | bmsr::CAP_10_FD
        | bmsr::CAP_10_HD
        | bmsr::EXT_STATUS
        | bmsr::AN_COMPLETE
        | bmsr::AN_ABLE
        | bmsr::LINK
        | bmsr::EXT_CAP;
    r[PHYID1 as usize] = (BCM54612E_ID >> 16) as u16;
    r[PHYID2 as usize] = BCM54612E_ID as u16;
    r[ANAR as usize] = anar::SELECTOR_8023 | anar::ALL_SPEEDS | anar::PAUSE;
    r[ANLPAR as usize] = anar::SELECTOR_8023 | anar::ALL_SPEEDS;
    r[CTRL1000 as usize] = ctrl1000::ADV_1000_FD | ctrl1000::ADV_1000_HD;
    r[STAT1000 as usize] = ctrl1000::PARTNER_1000_FD | ctrl1000::PARTNER_1000_HD;
    r
}

/// The PHY an 82540 card has and Linux's e1000 looks for (`M88E1011_I_PHY_ID` in its
/// e1000_hw.h, matched with the revision bits masked off), at MDIO address 1.
pub const M88E1011_ID: u32 = 0x0141_0C20;
pub const M88E1011_ADDR: u8 = 1;
/// The Marvell PHY's specific status register, and its bits e1000 reads.
pub const M88_SPEC_STATUS: u8 = 0x11;
pub mod m88_spec_status {
    /// Speed, bits 15:14: 10 = 1000 Mb/s.
    pub const SPEED_1000: u16 = 0b10 << 14;
    pub const FULL_DUPLEX: u16 = 1 << 13;
    /// Speed and duplex resolved.
    pub const RESOLVED: u16 = 1 << 11;
    /// Real-time link status.
    pub const LINK: u16 = 1 << 10;
}

/// The register values of the simulation's M88E1011-like PHY model: the same clause 22 values
/// as [`model_power_up`] (link up at 1000 Mb/s full duplex after autonegotiation), its ID, and
/// its specific status register saying so. The model's, written from the register layout; a
/// real M88E1011 has more (cable diagnostics, LED control) that this project does not use.
pub const fn m88e1011_power_up() -> [u16; 32] {
    let mut r = model_power_up();
    r[PHYID1 as usize] = (M88E1011_ID >> 16) as u16;
    r[PHYID2 as usize] = M88E1011_ID as u16;
    r[M88_SPEC_STATUS as usize] = m88_spec_status::SPEED_1000
        | m88_spec_status::FULL_DUPLEX
        | m88_spec_status::RESOLVED
        | m88_spec_status::LINK;
    r
}

/// The speed and duplex autonegotiation resolves to from what both sides advertise (IEEE
/// 802.3 annex 28B priority: 1000 FD, 1000 HD, 100 FD, 100 HD, 10 FD, 10 HD).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolved {
    Mbps1000Full,
    Mbps1000Half,
    Mbps100Full,
    Mbps100Half,
    Mbps10Full,
    Mbps10Half,
    /// Nothing in common.
    None,
}

/// What autonegotiation resolves to from the PHY's ANAR and CTRL1000 and the partner's
/// ANLPAR and STAT1000.
pub fn resolve(anar: u16, ctrl1000: u16, anlpar: u16, stat1000: u16) -> Resolved {
    use ctrl1000::*;
    let common = anar & anlpar;
    if ctrl1000 & ADV_1000_FD != 0 && stat1000 & PARTNER_1000_FD != 0 {
        Resolved::Mbps1000Full
    } else if ctrl1000 & ADV_1000_HD != 0 && stat1000 & PARTNER_1000_HD != 0 {
        Resolved::Mbps1000Half
    } else if common & anar::ADV_100_FD != 0 {
        Resolved::Mbps100Full
    } else if common & anar::ADV_100_HD != 0 {
        Resolved::Mbps100Half
    } else if common & anar::ADV_10_FD != 0 {
        Resolved::Mbps10Full
    } else if common & anar::ADV_10_HD != 0 {
        Resolved::Mbps10Half
    } else {
        Resolved::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autonegotiation_resolves_the_best_common_mode() {
        let all = anar::SELECTOR_8023 | anar::ALL_SPEEDS;
        let g = ctrl1000::ADV_1000_FD | ctrl1000::ADV_1000_HD;
        let pg = ctrl1000::PARTNER_1000_FD | ctrl1000::PARTNER_1000_HD;
        assert_eq!(resolve(all, g, all, pg), Resolved::Mbps1000Full);
        assert_eq!(
            resolve(all, ctrl1000::ADV_1000_HD, all, pg),
            Resolved::Mbps1000Half
        );
        // Gigabit on one side only: 100 full.
        assert_eq!(resolve(all, g, all, 0), Resolved::Mbps100Full);
        assert_eq!(resolve(all, 0, all, pg), Resolved::Mbps100Full);
        let hd100 = anar::SELECTOR_8023 | anar::ADV_100_HD | anar::ADV_10_FD;
        assert_eq!(resolve(all, 0, hd100, 0), Resolved::Mbps100Half);
        assert_eq!(
            resolve(anar::ADV_10_FD | anar::ADV_10_HD, 0, all, 0),
            Resolved::Mbps10Full
        );
        assert_eq!(
            resolve(anar::ADV_10_HD, 0, anar::ADV_100_FD, 0),
            Resolved::None
        );
        // The model's power-up: gigabit; restricted to 100 full: 100 full.
        let m = model_power_up();
        let r = |i: u8| m[i as usize];
        assert_eq!(
            resolve(r(ANAR), r(CTRL1000), r(ANLPAR), r(STAT1000)),
            Resolved::Mbps1000Full
        );
        assert_eq!(
            resolve(
                anar::SELECTOR_8023 | anar::ADV_100_FD,
                0,
                r(ANLPAR),
                r(STAT1000)
            ),
            Resolved::Mbps100Full
        );
        assert_eq!(r(PHYID1), 0x0362);
        assert_eq!((r(PHYID1) as u32) << 16 | r(PHYID2) as u32, BCM54612E_ID);
    }
}
