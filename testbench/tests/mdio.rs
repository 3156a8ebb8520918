//! PHY management through the whole SoC: the driver (`driver::phy`) writes the NIC's MDIC,
//! the MDIO master (`rtl::nic::mdio`) runs clause 22 frames on the SoC's MDC/MDIO pins, and the
//! harness's PHY model (`sim/cpp/mdio_phy.h`, a B50612D-like PHY at address 0) answers. Checks
//! the values read, what the writes did to the model's registers, the time an access takes,
//! the errors (no PHY, busy, bad op), the interrupt, the reset pin and CTRL.RST mid-access.

use driver::phy::{self, MdioError};
use driver::Device;
use pretty_assertions::assert_eq;
use regs::nic::{self as hw, ctrl, icr, mdic};
use regs::phy::{self as c22, anar, ctrl1000, Resolved, COLORLIGHT_PHY_ADDR as PHY};
use regs::{block, csr, SocConfig};
use sim::Soc;
use testbench::new_soc;

fn reg(offset: u32) -> u32 {
    csr(block::NIC, offset)
}

/// Core cycles from the MDIC write to the master's `done`: 1 + 64 bits × 2 half periods.
fn frame_cycles() -> u64 {
    1 + 128 * SocConfig::SIM.mdc_half_cycles as u64
}

/// Starts an access by hand and waits for MDIC.R, returning MDIC and the cycles it took.
fn raw_access(soc: &mut Soc, command: u32) -> (u32, u64) {
    let t0 = soc.now();
    soc.write32(reg(hw::MDIC), command);
    loop {
        let v = soc.read32(reg(hw::MDIC));
        if v & mdic::READY != 0 {
            return (v, soc.now() - t0);
        }
        assert!(
            soc.now() - t0 < 4 * frame_cycles(),
            "MDIC.R never came: {v:#010x}"
        );
    }
}

#[test]
fn the_driver_reads_the_phy_id_over_mdio() {
    let mut soc = new_soc();
    assert_eq!(
        soc.read32(reg(hw::MDIC)),
        mdic::READY,
        "MDIC reads R from power-up"
    );
    let id = phy::read_id(&mut soc, PHY).expect("PHY ID");
    assert_eq!(id & c22::BCM54612E_ID_MASK, c22::BCM54612E_ID);
    assert_eq!(soc.mdio_phy_frames(), 2, "one frame per register read");
}

#[test]
fn an_access_takes_one_frame_and_leaves_data_r_and_the_fields_in_mdic() {
    let mut soc = new_soc();
    let cmd = mdic::command(mdic::OP_READ, PHY as u32, c22::PHYID2 as u32, 0);
    let (v, cycles) = raw_access(&mut soc, cmd);
    assert_eq!(
        v,
        cmd | mdic::READY | (c22::BCM54612E_ID & 0xFFFF),
        "MDIC after a read: the fields as written, R, the data"
    );
    // Polled back to back: done within a read's round trip of the master's done pulse.
    assert!(
        (frame_cycles()..frame_cycles() + 8).contains(&cycles),
        "{cycles} cycles, a frame is {}",
        frame_cycles()
    );
    let write = mdic::command(mdic::OP_WRITE, PHY as u32, c22::ANAR as u32, 0x0021);
    let (v, _) = raw_access(&mut soc, write);
    assert_eq!(v, write | mdic::READY, "a write's DATA stays as written");
    assert_eq!(soc.mdio_phy_reg(c22::ANAR), 0x0021);
}

#[test]
fn advertising_100_full_only_makes_the_link_resolve_to_100_full() {
    let mut soc = new_soc();
    let before = phy::link(&mut soc, PHY).expect("link");
    assert!(before.up && before.autoneg_complete);
    assert_eq!(before.resolved, Resolved::Mbps1000Full);
    phy::advertise_100_full_only(&mut soc, PHY).expect("advertise");
    assert_eq!(
        soc.mdio_phy_reg(c22::ANAR),
        anar::SELECTOR_8023 | anar::ADV_100_FD
    );
    assert_eq!(
        soc.mdio_phy_reg(c22::CTRL1000) & (ctrl1000::ADV_1000_FD | ctrl1000::ADV_1000_HD),
        0
    );
    let after = phy::link(&mut soc, PHY).expect("link");
    assert!(after.up && after.autoneg_complete);
    assert_eq!(after.resolved, Resolved::Mbps100Full);
}

#[test]
fn no_phy_at_the_address_is_an_error_not_a_hang() {
    let mut soc = new_soc();
    assert_eq!(
        phy::read(&mut soc, 7, c22::PHYID1),
        Err(MdioError::NoPhy { phy: 7, reg: 2 })
    );
    assert_eq!(
        soc.read32(reg(hw::MDIC)) & (mdic::READY | mdic::ERROR),
        mdic::READY | mdic::ERROR
    );
    // The right address still answers after a failed one.
    assert_eq!(
        phy::read(&mut soc, PHY, c22::PHYID1),
        Ok((c22::BCM54612E_ID >> 16) as u16)
    );
    // No PHY on the bus at all: MDIO floats high.
    soc.set_mdio_phy(None, &c22::model_power_up());
    assert_eq!(
        phy::read(&mut soc, PHY, c22::BMSR),
        Err(MdioError::NoPhy { phy: PHY, reg: 1 })
    );
    assert_eq!(
        phy::read(&mut soc, 32, 0),
        Err(MdioError::BadAddress { phy: 32, reg: 0 })
    );
}

#[test]
fn a_write_while_an_access_runs_is_ignored_and_op_00_fails_at_once() {
    let mut soc = new_soc();
    let read = mdic::command(mdic::OP_READ, PHY as u32, c22::PHYID1 as u32, 0);
    soc.write32(reg(hw::MDIC), read);
    soc.advance(100);
    assert_eq!(soc.read32(reg(hw::MDIC)) & mdic::READY, 0, "in flight");
    // Another command now: dropped, the first one finishes with its own fields.
    let write = mdic::command(mdic::OP_WRITE, PHY as u32, c22::ANAR as u32, 0);
    soc.write32(reg(hw::MDIC), write);
    assert_eq!(
        phy::read(&mut soc, PHY, c22::PHYID2).map(|_| ()),
        Err(MdioError::Busy)
    );
    soc.advance(frame_cycles());
    assert_eq!(
        soc.read32(reg(hw::MDIC)),
        read | mdic::READY | (c22::BCM54612E_ID >> 16)
    );
    assert_eq!(
        soc.mdio_phy_reg(c22::ANAR),
        c22::model_power_up()[c22::ANAR as usize],
        "the dropped write never reached the PHY"
    );
    // OP 00 and 11 start nothing and read back done with E.
    for op in [0b00, 0b11] {
        let frames = soc.mdio_phy_frames();
        let cmd = mdic::command(op, PHY as u32, c22::BMCR as u32, 0x1234);
        soc.write32(reg(hw::MDIC), cmd);
        assert_eq!(soc.read32(reg(hw::MDIC)), cmd | mdic::READY | mdic::ERROR);
        soc.advance(frame_cycles());
        assert_eq!(soc.mdio_phy_frames(), frames, "no frame for OP {op:02b}");
    }
}

#[test]
fn mdic_i_raises_icr_mdac_when_the_access_is_done() {
    let mut soc = new_soc();
    soc.write32(reg(hw::IMS), icr::MDAC);
    let cmd = mdic::command(mdic::OP_READ, PHY as u32, c22::BMSR as u32, 0) | mdic::INT_EN;
    soc.write32(reg(hw::MDIC), cmd);
    let t0 = soc.now();
    assert!(soc.wait_irq(2 * frame_cycles()), "no interrupt");
    assert!(soc.now() - t0 >= frame_cycles() - 2);
    assert_eq!(soc.read32(reg(hw::ICR)), icr::MDAC);
    assert!(!soc.irq());
    // Without I: no cause.
    phy::read(&mut soc, PHY, c22::BMSR).expect("BMSR");
    assert_eq!(soc.read32(reg(hw::ICR)), 0);
}

#[test]
fn ctrl_phy_rst_holds_the_phy_in_reset_and_it_comes_back_with_its_power_up_values() {
    let mut soc = new_soc();
    phy::write(&mut soc, PHY, c22::ANAR, 0x0041).expect("write");
    assert_eq!(soc.mdio_phy_reg(c22::ANAR), 0x0041);
    assert!(!soc.phy_reset_pin());
    let c = soc.read32(reg(hw::CTRL));
    soc.write32(reg(hw::CTRL), c | ctrl::PHY_RST);
    assert!(soc.phy_reset_pin());
    assert_eq!(soc.read32(reg(hw::CTRL)) & ctrl::PHY_RST, ctrl::PHY_RST);
    assert_eq!(
        phy::read(&mut soc, PHY, c22::PHYID1),
        Err(MdioError::NoPhy { phy: PHY, reg: 2 }),
        "a PHY in reset does not answer"
    );
    soc.write32(reg(hw::CTRL), c);
    assert!(!soc.phy_reset_pin());
    assert_eq!(
        phy::read(&mut soc, PHY, c22::ANAR),
        Ok(c22::model_power_up()[c22::ANAR as usize])
    );
    // The driver's pulse does the same; the NIC's own reset clears PHY_RST.
    phy::write(&mut soc, PHY, c22::ANAR, 0x0041).expect("write");
    phy::reset_pin_pulse(&mut soc, 100);
    assert_eq!(
        soc.mdio_phy_reg(c22::ANAR),
        c22::model_power_up()[c22::ANAR as usize]
    );
    soc.write32(reg(hw::CTRL), ctrl::PHY_RST);
    soc.write32(reg(hw::CTRL), ctrl::PHY_RST | ctrl::RST);
    assert!(!soc.phy_reset_pin(), "CTRL.RST clears PHY_RST");
}

#[test]
fn ctrl_rst_abandons_an_access_and_mdic_is_usable_again() {
    let mut soc = new_soc();
    // Abandon a read in its data bits (after 56 of its 64 bits).
    let read = mdic::command(mdic::OP_READ, PHY as u32, c22::PHYID1 as u32, 0);
    soc.write32(reg(hw::MDIC), read);
    soc.advance(56 * 2 * SocConfig::SIM.mdc_half_cycles as u64);
    soc.write32(reg(hw::CTRL), ctrl::RST);
    assert_eq!(
        soc.read32(reg(hw::MDIC)),
        mdic::READY,
        "R, and nothing else"
    );
    // The PHY may still be clocking out the rest of the abandoned frame when the next one
    // starts (as a real PHY would); within two tries the bus is back in step.
    let first = phy::read(&mut soc, PHY, c22::PHYID1);
    let second = phy::read(&mut soc, PHY, c22::PHYID1);
    let want = Ok((c22::BCM54612E_ID >> 16) as u16);
    assert!(
        first == want || second == want,
        "after CTRL.RST: {first:?} then {second:?}"
    );
    assert_eq!(phy::read(&mut soc, PHY, c22::PHYID1), want);
}

#[test]
fn two_phys_share_the_bus_and_each_answers_at_its_address() {
    // The board's PHY at 0 and the M88E1011-like one Linux's e1000 looks for at 1.
    let mut soc = new_soc();
    soc.add_mdio_phy(c22::M88E1011_ADDR, &c22::m88e1011_power_up());
    assert_eq!(
        phy::read_id(&mut soc, PHY).expect("PHY 0") & c22::BCM54612E_ID_MASK,
        c22::BCM54612E_ID
    );
    assert_eq!(
        phy::read_id(&mut soc, c22::M88E1011_ADDR).expect("PHY 1"),
        c22::M88E1011_ID
    );
    let status = phy::read(&mut soc, c22::M88E1011_ADDR, c22::M88_SPEC_STATUS).expect("0x11");
    use c22::m88_spec_status as s;
    assert_eq!(
        status,
        s::SPEED_1000 | s::FULL_DUPLEX | s::RESOLVED | s::LINK
    );
    // A write reaches only the PHY it addresses.
    phy::write(&mut soc, c22::M88E1011_ADDR, c22::ANAR, 0x0061).expect("write");
    assert_eq!(soc.second_mdio_phy_reg(c22::ANAR), 0x0061);
    assert_eq!(
        soc.mdio_phy_reg(c22::ANAR),
        c22::model_power_up()[c22::ANAR as usize]
    );
    assert_eq!(
        phy::read(&mut soc, 2, c22::PHYID1),
        Err(MdioError::NoPhy { phy: 2, reg: 2 })
    );
}
