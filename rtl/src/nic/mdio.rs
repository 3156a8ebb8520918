//! The MDIO master (docs/mdio.md): one IEEE 802.3 clause 22 management frame per `start`, as
//! the 8254x carries out a write of its MDIC register (`regs::nic::mdic`).
//!
//! ```text
//!            ┌───────────────────────────────────────────┐
//!  start  ──►│ frame: 32 × 1 (preamble), ST 01, OP,      ├──► mdc (clock / (2 × half))
//!  read   ──►│ PHYAD[5], REGAD[5], TA, DATA[16]          ├──► mdio_out, mdio_oe
//!  phy_addr ►│ 64 bits, MSB first, one per MDC period    │◄── mdio_in
//!  reg_addr ►│ read: released from TA on, DATA sampled   ├──► busy, done (pulse),
//!  wdata  ──►│ at the end of each MDC high phase         │    error, rdata[16]
//!            └───────────────────────────────────────────┘
//! ```
//!
//! **Timing.** Each of the 64 bits takes `2 × half` clock cycles: `mdc` low for `half` cycles
//! with the bit on `mdio_out` (set up before the rising edge), then high for `half` cycles, when
//! the PHY samples it. In a read the master releases MDIO (`mdio_oe` low) for the turnaround and
//! the data; the PHY drives each bit after a rising edge (within 300 ns, says the standard), and
//! the master samples `mdio_in` in the last cycle of the next low phase, as MDC rises again: a
//! whole MDC period less one clock after the PHY's edge (at 50 MHz with `half` = 10, MDC runs at
//! 2.5 MHz and the PHY has 380 ns, 340 ns behind the NIC's two-flop synchronizer, which needs
//! `half` ≥ 2). `done` pulses for one cycle, `1 + 128 × half` cycles after
//! the cycle of `start`, with `rdata` (a read's data, held until the next read) and `error` (a
//! read whose turnaround's second bit was not driven low: no PHY at that address; `rdata` is
//! then what floated on the pin, all ones with a pull-up). `start` while `busy` is ignored;
//! `reset` abandons a frame with MDIO released. `mdio_in` must come through a synchronizer
//! when MDIO is a pin (it is asynchronous to `clock`); the block itself does not add one.

use rust_hdl::prelude::*;

/// Bits of a clause 22 frame: preamble, ST, OP, PHYAD, REGAD, TA, DATA.
pub const FRAME_BITS: u32 = 32 + 2 + 2 + 5 + 5 + 2 + 16;
/// Index of the turnaround's second bit (the PHY drives it low in a read).
const TA_LOW_BIT: u32 = 47;
/// Index of the first data bit.
const DATA_BIT: u32 = 48;

#[derive(LogicBlock)]
pub struct MdioMaster {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub start: Signal<In, Bit>,
    /// The access `start` begins: a read (else a write).
    pub read: Signal<In, Bit>,
    pub phy_addr: Signal<In, Bits<5>>,
    pub reg_addr: Signal<In, Bits<5>>,
    pub wdata: Signal<In, Bits<16>>,
    pub busy: Signal<Out, Bit>,
    /// Nothing would change at the next edge: no frame on the pins, no `done` pulse to end
    /// (the SoC's clock gate, `crate::clock_gate`; a start comes with a host write).
    pub quiet: Signal<Out, Bit>,
    pub done: Signal<Out, Bit>,
    pub error: Signal<Out, Bit>,
    pub rdata: Signal<Out, Bits<16>>,
    pub mdc: Signal<Out, Bit>,
    pub mdio_out: Signal<Out, Bit>,
    pub mdio_oe: Signal<Out, Bit>,
    pub mdio_in: Signal<In, Bit>,
    /// The frame still to send, MSB first, and which of its bits the master drives.
    frame: DFF<Bits<64>>,
    drive: DFF<Bits<64>>,
    active: DFF<Bit>,
    high: DFF<Bit>,
    count: DFF<Bits<8>>,
    bit_no: DFF<Bits<7>>,
    shift_in: DFF<Bits<16>>,
    r_done: DFF<Bit>,
    r_error: DFF<Bit>,
    r_rdata: DFF<Bits<16>>,
    next_frame: Signal<Local, Bits<64>>,
    /// Cycles per MDC half period, minus 1.
    half_minus_1: Constant<Bits<8>>,
    k_preamble_st: Constant<Bits<64>>,
    k_op_read: Constant<Bits<64>>,
    k_op_write_ta: Constant<Bits<64>>,
    k_drive_read: Constant<Bits<64>>,
    k_drive_write: Constant<Bits<64>>,
    k_ta_low_bit: Constant<Bits<7>>,
    k_data_bit: Constant<Bits<7>>,
    k_last_bit: Constant<Bits<7>>,
    k_phy_shift: Constant<Bits<7>>,
    k_reg_shift: Constant<Bits<7>>,
}

impl MdioMaster {
    /// A master whose MDC half period is `half` clock cycles (at least 1).
    pub fn new(half: u32) -> Self {
        assert!(
            (1..=256).contains(&half),
            "MDC half period of {half} cycles"
        );
        let k64 = |v: u64| Constant::new(v.into());
        let k7 = |v: u32| Constant::new((v as u64).into());
        Self {
            clock: Default::default(),
            reset: Default::default(),
            start: Default::default(),
            read: Default::default(),
            phy_addr: Default::default(),
            reg_addr: Default::default(),
            wdata: Default::default(),
            busy: Default::default(),
            quiet: Default::default(),
            done: Default::default(),
            error: Default::default(),
            rdata: Default::default(),
            mdc: Default::default(),
            mdio_out: Default::default(),
            mdio_oe: Default::default(),
            mdio_in: Default::default(),
            frame: Default::default(),
            drive: Default::default(),
            active: Default::default(),
            high: Default::default(),
            count: Default::default(),
            bit_no: Default::default(),
            shift_in: Default::default(),
            r_done: Default::default(),
            r_error: Default::default(),
            r_rdata: Default::default(),
            next_frame: Default::default(),
            half_minus_1: Constant::new(((half - 1) as u64).into()),
            // 32 ones, then ST = 01 (bits 31:30 of the low word).
            k_preamble_st: k64(0xFFFF_FFFF_4000_0000),
            // OP (bits 29:28): read 10; write 01 with TA = 10 (bits 17:16).
            k_op_read: k64(0b10 << 28),
            k_op_write_ta: k64((0b01 << 28) | (0b10 << 16)),
            // A read drives preamble, ST, OP, PHYAD and REGAD: the top 46 bits.
            k_drive_read: k64(!((1u64 << 18) - 1)),
            // A write drives every bit.
            k_drive_write: k64(u64::MAX),
            k_ta_low_bit: k7(TA_LOW_BIT),
            k_data_bit: k7(DATA_BIT),
            k_last_bit: k7(FRAME_BITS - 1),
            k_phy_shift: k7(23),
            k_reg_shift: k7(18),
        }
    }
}

impl Logic for MdioMaster {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, frame, drive, active, high, count, bit_no, shift_in, r_done, r_error,
            r_rdata
        );
        self.next_frame.next = self.k_preamble_st.val()
            | (bit_cast::<64, 5>(self.phy_addr.val()) << self.k_phy_shift.val())
            | (bit_cast::<64, 5>(self.reg_addr.val()) << self.k_reg_shift.val());
        if self.read.val() {
            self.next_frame.next = self.next_frame.val() | self.k_op_read.val();
        } else {
            self.next_frame.next = self.next_frame.val()
                | self.k_op_write_ta.val()
                | bit_cast::<64, 16>(self.wdata.val());
        }
        self.r_done.d.next = false;
        if self.reset.val() {
            self.active.d.next = false;
            self.high.d.next = false;
            self.drive.d.next = 0.into();
        } else if !self.active.q.val() {
            if self.start.val() {
                self.active.d.next = true;
                self.high.d.next = false;
                self.count.d.next = self.half_minus_1.val();
                self.bit_no.d.next = 0.into();
                self.frame.d.next = self.next_frame.val();
                self.r_error.d.next = false;
                if self.read.val() {
                    self.drive.d.next = self.k_drive_read.val();
                } else {
                    self.drive.d.next = self.k_drive_write.val();
                }
            }
        } else if self.count.q.val() != 0 {
            self.count.d.next = self.count.q.val() - 1;
        } else if !self.high.q.val() {
            // The low phase is over: MDC rises. The PHY samples the master's bit; in a read the
            // master samples the PHY's, which it drove after the previous rising edge.
            if self.bit_no.q.val() == self.k_ta_low_bit.val() {
                self.r_error.d.next = !self.drive.q.val().get_bit(63) & self.mdio_in.val();
            }
            if self.bit_no.q.val() >= self.k_data_bit.val() {
                self.shift_in.d.next =
                    (self.shift_in.q.val() << 1) | bit_cast::<16, 1>(self.mdio_in.val().into());
            }
            self.high.d.next = true;
            self.count.d.next = self.half_minus_1.val();
        } else {
            // The high phase is over: MDC falls, the next bit.
            self.high.d.next = false;
            self.count.d.next = self.half_minus_1.val();
            self.frame.d.next = self.frame.q.val() << 1;
            self.drive.d.next = self.drive.q.val() << 1;
            if self.bit_no.q.val() == self.k_last_bit.val() {
                self.active.d.next = false;
                self.r_done.d.next = true;
                if !self.drive.q.val().get_bit(63) {
                    self.r_rdata.d.next = self.shift_in.q.val();
                }
            } else {
                self.bit_no.d.next = self.bit_no.q.val() + 1;
            }
        }
        self.busy.next = self.active.q.val();
        self.quiet.next = !self.active.q.val() & !self.r_done.q.val();
        self.done.next = self.r_done.q.val();
        self.error.next = self.r_error.q.val();
        self.rdata.next = self.r_rdata.q.val();
        self.mdc.next = self.active.q.val() & self.high.q.val();
        self.mdio_oe.next = self.active.q.val() & self.drive.q.val().get_bit(63);
        self.mdio_out.next = self.active.q.val() & self.frame.q.val().get_bit(63);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};
    use pretty_assertions::assert_eq;

    /// A clause 22 PHY on the other end of MDC/MDIO, written from the standard's frame format:
    /// it counts MDC rising edges from the start of a frame, samples what the master drives and,
    /// in a read, drives the turnaround's second bit low and then the register, MSB first,
    /// changing MDIO right after each rising edge. An undriven MDIO reads 1 (the pull-up).
    struct Phy {
        address: u32,
        regs: [u16; 32],
        /// Present on the bus (else it never drives).
        present: bool,
        edge: usize,
        seen: Vec<Option<bool>>,
        driving: Option<bool>,
    }

    impl Phy {
        fn new(address: u32) -> Self {
            let mut regs = [0u16; 32];
            regs[2] = 0x0143; // PHYID1 of a Broadcom PHY
            regs[3] = 0xBC30;
            Phy {
                address,
                regs,
                present: true,
                edge: 0,
                seen: vec![],
                driving: None,
            }
        }

        fn bits(&self, from: usize, n: usize) -> u32 {
            self.seen[from..from + n]
                .iter()
                .fold(0, |a, b| (a << 1) | u32::from(b.unwrap_or(true)))
        }

        /// The master's pins at a rising edge of MDC.
        fn rising(&mut self, driven: Option<bool>) {
            self.seen.push(driven);
            let k = self.edge;
            self.edge += 1;
            self.driving = None;
            if k >= 46 && self.present && self.bits(32, 2) == 0b01 && self.bits(34, 2) == 0b10 {
                let (phy, reg) = (self.bits(36, 5), self.bits(41, 5) as usize);
                if phy == self.address && k + 1 < 64 {
                    // After edge k the PHY drives bit k + 1: TA's 0, then the data.
                    self.driving = Some(if k + 1 == 47 {
                        false
                    } else {
                        self.regs[reg] >> (63 - (k + 1)) & 1 == 1
                    });
                }
            }
            if k == 63 && self.bits(34, 2) == 0b01 && self.bits(36, 5) == self.address {
                self.regs[self.bits(41, 5) as usize] = self.bits(48, 16) as u16;
            }
        }
    }

    struct Run {
        done_at: Option<usize>,
        error: bool,
        rdata: u16,
        mdc_rises: Vec<usize>,
        oe_at_rise: Vec<bool>,
    }

    /// Starts one access and clocks until `done` (at most `limit` cycles).
    fn access(m: &mut MdioMaster, phy: &mut Phy, read: bool, p: u32, r: u32, w: u16) -> Run {
        m.start.next = true;
        m.read.next = read;
        m.phy_addr.next = (p as u64).into();
        m.reg_addr.next = (r as u64).into();
        m.wdata.next = (w as u64).into();
        let mut run = Run {
            done_at: None,
            error: false,
            rdata: 0,
            mdc_rises: vec![],
            oe_at_rise: vec![],
        };
        phy.edge = 0;
        phy.seen.clear();
        let mut prev_mdc = false;
        for cycle in 0..20_000 {
            m.mdio_in.next = phy.driving.unwrap_or(true);
            settle(m);
            let mdc = m.mdc.val();
            if mdc && !prev_mdc {
                run.mdc_rises.push(cycle);
                run.oe_at_rise.push(m.mdio_oe.val());
                let driven = m.mdio_oe.val().then(|| m.mdio_out.val());
                phy.rising(driven);
                m.mdio_in.next = phy.driving.unwrap_or(true);
                settle(m);
            }
            prev_mdc = mdc;
            // (cycle 0 may still show the previous access's pulse)
            if cycle > 0 && m.done.val() {
                run.done_at = Some(cycle);
                run.error = m.error.val();
                run.rdata = m.rdata.val().index() as u16;
                break;
            }
            clock_edge(m, |u| &mut u.clock);
            m.start.next = false;
        }
        run
    }

    fn master(half: u32) -> MdioMaster {
        let mut m = MdioMaster::new(half);
        m.connect_all();
        m.reset.next = false;
        settle(&mut m);
        m
    }

    #[test]
    fn a_write_sends_the_clause_22_frame_and_the_phy_takes_the_value() {
        let half = 3;
        let mut m = master(half);
        let mut phy = Phy::new(1);
        let run = access(&mut m, &mut phy, false, 1, 4, 0x01E1);
        assert_eq!(phy.regs[4], 0x01E1, "ANAR written");
        // 64 MDC periods of 2 × half cycles, every bit driven: 32 ones, 01, 01, 00001, 00100, 10.
        assert_eq!(run.mdc_rises.len(), 64);
        assert!(run.oe_at_rise.iter().all(|&oe| oe));
        assert!(run
            .mdc_rises
            .windows(2)
            .all(|w| w[1] - w[0] == 2 * half as usize));
        assert_eq!(phy.bits(0, 32), 0xFFFF_FFFF);
        assert_eq!(
            (
                phy.bits(32, 2),
                phy.bits(34, 2),
                phy.bits(36, 5),
                phy.bits(41, 5),
                phy.bits(46, 2)
            ),
            (0b01, 0b01, 1, 4, 0b10)
        );
        assert_eq!(run.done_at, Some(1 + 64 * 2 * half as usize));
        assert!(!run.error);
        // Idle: MDC low, MDIO released.
        settle(&mut m);
        assert!(!m.busy.val() && !m.mdc.val() && !m.mdio_oe.val());
    }

    #[test]
    fn a_read_releases_mdio_for_the_turnaround_and_returns_the_register() {
        let mut m = master(2);
        let mut phy = Phy::new(1);
        let run = access(&mut m, &mut phy, true, 1, 2, 0);
        assert_eq!((run.rdata, run.error), (0x0143, false), "PHYID1");
        // The master drives the first 46 bits (to REGAD) and then lets go.
        assert!(run.oe_at_rise[..46].iter().all(|&oe| oe));
        assert!(run.oe_at_rise[46..].iter().all(|&oe| !oe));
        let run = access(&mut m, &mut phy, true, 1, 3, 0);
        assert_eq!((run.rdata, run.error), (0xBC30, false), "PHYID2");
    }

    #[test]
    fn a_read_from_an_absent_phy_is_an_error() {
        let mut m = master(2);
        let mut phy = Phy::new(1);
        let run = access(&mut m, &mut phy, true, 7, 2, 0);
        assert!(run.error, "nobody at address 7 drove TA low");
        assert_eq!(run.rdata, 0xFFFF, "the pull-up");
        phy.present = false;
        let run = access(&mut m, &mut phy, true, 1, 2, 0);
        assert!(run.error);
        phy.present = true;
        let run = access(&mut m, &mut phy, true, 1, 2, 0);
        assert!(!run.error, "the next good read clears it");
    }

    #[test]
    fn start_while_busy_is_ignored_and_reset_abandons_the_frame() {
        let mut m = master(1);
        m.start.next = true;
        m.read.next = false;
        m.phy_addr.next = 1.into();
        m.reg_addr.next = 0.into();
        m.wdata.next = 0x8000.into();
        settle(&mut m);
        clock_edge(&mut m, |u| &mut u.clock);
        // A second start 10 cycles in changes nothing: the frame still ends on time.
        for cycle in 1..=(64 * 2) {
            m.start.next = cycle == 10;
            m.reg_addr.next = 9.into();
            settle(&mut m);
            assert!(m.busy.val(), "cycle {cycle}");
            clock_edge(&mut m, |u| &mut u.clock);
        }
        settle(&mut m);
        assert!(m.done.val() && !m.busy.val());
        m.start.next = true;
        settle(&mut m);
        clock_edge(&mut m, |u| &mut u.clock);
        m.start.next = false;
        for _ in 0..5 {
            clock_edge(&mut m, |u| &mut u.clock);
        }
        m.reset.next = true;
        settle(&mut m);
        clock_edge(&mut m, |u| &mut u.clock);
        m.reset.next = false;
        settle(&mut m);
        assert!(!m.busy.val() && !m.mdio_oe.val() && !m.mdc.val() && !m.done.val());
    }

    #[test]
    fn its_verilog_compiles() {
        let mut m = MdioMaster::new(10);
        m.connect_all();
        let v = generate_verilog(&m);
        let dir = std::env::temp_dir().join(format!("mdio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("mdio.v");
        std::fs::write(&file, &v).unwrap();
        // -g2012: SystemVerilog's keywords too (`bit`, `logic`), which Verilator rejects.
        match std::process::Command::new("iverilog")
            .arg("-g2012")
            .arg("-o")
            .arg(dir.join("a.out"))
            .arg(&file)
            .output()
        {
            Ok(out) => assert!(
                out.status.success(),
                "iverilog: {}\n{v}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => assert!(
                std::env::var_os("DMANIC_REQUIRE_TOOLS").is_none(),
                "iverilog not found ({e}), and DMANIC_REQUIRE_TOOLS is set"
            ),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
