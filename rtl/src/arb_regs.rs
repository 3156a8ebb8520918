//! The arbiter's register block `ARB` (`regs::arb`, docs/arbiter.md "Registers"): the mode
//! and its parameters, the counter clear, and the counters read from the arbiter.
//!
//! ```text
//!              ┌──────────────────────────┐
//!  sel      ──►│ decode offset            ├──► rdata (registered: valid the cycle after a read)
//!  offset   ──►│ (regs::arb offsets)      ├──► cycle_steal, burst_cap, steal_bound
//!  we       ──►│                          ├──► clear (CNT_CTRL write pulse)
//!  wdata    ──►│ read mux                 │
//!  counters ──►│  (regs::arb::COUNTERS)   │
//!              └──────────────────────────┘
//! ```
//!
//! Register writes take the whole word (byte enables are ignored). Unimplemented offsets read
//! 0 and ignore writes. Every access is accepted in the cycle it is presented. `MODE` keeps
//! one bit: a write of `MODE_CYCLE_STEAL` selects cycle stealing, any other value burst.

use crate::regfile::RegPort;
use regs::arb;
use rust_hdl::prelude::*;

/// Offsets inside the block's 4 KiB window.
type Off = Bits<12>;

#[derive(LogicBlock)]
pub struct ArbRegs {
    pub clock: Signal<In, Clock>,
    /// Host side (`RegPort`: an access in the cycle `sel` is high, read data the cycle after).
    pub host: RegPort<Off>,
    // ---- to the arbiter ----
    pub cycle_steal: Signal<Out, Bit>,
    pub burst_cap: Signal<Out, Bits<32>>,
    pub steal_bound: Signal<Out, Bits<32>>,
    pub clear: Signal<Out, Bit>,
    /// The arbiter's counters, in the order of `regs::arb::COUNTERS`.
    pub counters: [Signal<In, Bits<32>>; 8],
    // ==== implementation ====
    r_rdata: DFF<Bits<32>>,
    r_cycle_steal: DFF<Bit>,
    r_burst_cap: DFF<Bits<32>>,
    r_steal_bound: DFFWithInit<Bits<32>>,
    write: Signal<Local, Bit>,
    read_value: Signal<Local, Bits<32>>,
    a_mode: Constant<Off>,
    a_burst_cap: Constant<Off>,
    a_steal_bound: Constant<Off>,
    a_cnt_ctrl: Constant<Off>,
    a_counters: [Constant<Off>; 8],
    k_mode_cycle_steal: Constant<Bits<32>>,
    k_cnt_clear: Constant<Bits<32>>,
}

fn off(offset: u32) -> Constant<Off> {
    assert!(offset < 0x1000);
    Constant::new((offset as u64).into())
}

impl Default for ArbRegs {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            host: Default::default(),
            cycle_steal: Default::default(),
            burst_cap: Default::default(),
            steal_bound: Default::default(),
            clear: Default::default(),
            counters: std::array::from_fn(|_| Default::default()),
            r_rdata: Default::default(),
            r_cycle_steal: Default::default(),
            r_burst_cap: Default::default(),
            r_steal_bound: DFFWithInit::new((arb::STEAL_NEVER as u64).into()),
            write: Default::default(),
            read_value: Default::default(),
            a_mode: off(arb::MODE),
            a_burst_cap: off(arb::BURST_CAP),
            a_steal_bound: off(arb::STEAL_BOUND),
            a_cnt_ctrl: off(arb::CNT_CTRL),
            a_counters: std::array::from_fn(|i| off(arb::COUNTERS[i])),
            k_mode_cycle_steal: Constant::new((arb::MODE_CYCLE_STEAL as u64).into()),
            k_cnt_clear: Constant::new((arb::CNT_CLEAR as u64).into()),
        }
    }
}

impl Logic for ArbRegs {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            r_rdata,
            r_cycle_steal,
            r_burst_cap,
            r_steal_bound
        );
        self.host.rdata.next = self.r_rdata.q.val();
        self.cycle_steal.next = self.r_cycle_steal.q.val();
        self.burst_cap.next = self.r_burst_cap.q.val();
        self.steal_bound.next = self.r_steal_bound.q.val();

        // ---- writes ----
        self.write.next = self.host.sel.val() & self.host.we.val();
        self.clear.next = false;
        if self.write.val() {
            if self.host.offset.val() == self.a_mode.val() {
                self.r_cycle_steal.d.next = self.host.wdata.val() == self.k_mode_cycle_steal.val();
            }
            if self.host.offset.val() == self.a_burst_cap.val() {
                self.r_burst_cap.d.next = self.host.wdata.val();
            }
            if self.host.offset.val() == self.a_steal_bound.val() {
                self.r_steal_bound.d.next = self.host.wdata.val();
            }
            if self.host.offset.val() == self.a_cnt_ctrl.val() {
                self.clear.next = (self.host.wdata.val() & self.k_cnt_clear.val()) != 0;
            }
        }

        // ---- reads ----
        self.read_value.next = 0.into();
        if (self.host.offset.val() == self.a_mode.val()) & self.r_cycle_steal.q.val() {
            self.read_value.next = self.k_mode_cycle_steal.val();
        }
        if self.host.offset.val() == self.a_burst_cap.val() {
            self.read_value.next = self.r_burst_cap.q.val();
        }
        if self.host.offset.val() == self.a_steal_bound.val() {
            self.read_value.next = self.r_steal_bound.q.val();
        }
        for i in 0..8 {
            if self.host.offset.val() == self.a_counters[i].val() {
                self.read_value.next = self.counters[i].val();
            }
        }
        if self.host.sel.val() & !self.host.we.val() {
            self.r_rdata.d.next = self.read_value.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};
    use pretty_assertions::assert_eq;

    fn access(r: &mut ArbRegs, offset: u32, write: Option<u32>) -> u32 {
        r.host.sel.next = true;
        r.host.offset.next = (offset as u64).into();
        r.host.we.next = write.is_some();
        r.host.wdata.next = (write.unwrap_or(0) as u64).into();
        settle(r);
        clock_edge(r, |r| &mut r.clock);
        r.host.sel.next = false;
        settle(r);
        r.host.rdata.val().index() as u32
    }

    #[test]
    fn registers_reset_read_back_and_counters_read_at_their_offsets() {
        let mut r = ArbRegs::default();
        r.connect_all();
        for i in 0..8 {
            r.counters[i].next = ((0x100 + i) as u64).into();
        }
        settle(&mut r);
        assert_eq!(access(&mut r, arb::MODE, None), arb::MODE_BURST);
        assert_eq!(access(&mut r, arb::BURST_CAP, None), 0);
        assert_eq!(access(&mut r, arb::STEAL_BOUND, None), arb::STEAL_NEVER);
        access(&mut r, arb::MODE, Some(arb::MODE_CYCLE_STEAL));
        assert!(r.cycle_steal.val());
        assert_eq!(access(&mut r, arb::MODE, None), arb::MODE_CYCLE_STEAL);
        access(&mut r, arb::MODE, Some(7));
        assert_eq!(
            access(&mut r, arb::MODE, None),
            arb::MODE_BURST,
            "7 selects burst"
        );
        access(&mut r, arb::BURST_CAP, Some(16));
        access(&mut r, arb::STEAL_BOUND, Some(8));
        assert_eq!(r.burst_cap.val().index(), 16);
        assert_eq!(r.steal_bound.val().index(), 8);
        for (i, &o) in arb::COUNTERS.iter().enumerate() {
            assert_eq!(access(&mut r, o, None), 0x100 + i as u32, "offset {o:#x}");
        }
        assert_eq!(access(&mut r, 0x30, None), 0, "unimplemented");
        // CNT_CTRL: a pulse in the cycle of the write, only with the CLEAR bit.
        r.host.sel.next = true;
        r.host.we.next = true;
        r.host.offset.next = (arb::CNT_CTRL as u64).into();
        r.host.wdata.next = (arb::CNT_CLEAR as u64).into();
        settle(&mut r);
        assert!(r.clear.val());
        r.host.wdata.next = 2.into();
        settle(&mut r);
        assert!(!r.clear.val());
    }
}
