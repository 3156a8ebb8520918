//! A clock gate: `gclk` is `clock` in the cycles whose `wake` was high at the falling edge
//! before them, and stays low in the others (docs/soc.md, "Idle blocks are not clocked").
//!
//! ```text
//!  wake ──►(| !gate)──► en ─ a flip-flop on the falling edge (an ICG cell's latch)
//!                        │
//!  clock ────────────────┴──► AND ──► gclk
//! ```
//!
//! Why: Verilator evaluates every block on every edge of the clock it is on, idle or not, and
//! most cycles of most runs have the NIC and one memcpy channel idle. A block behind a gate
//! is on a clock of its own: Verilator updates its flip-flops, and evaluates the logic that
//! depends only on them, only on that clock's edges (logic that also reads signals of the
//! always-clocked blocks still runs whenever those change). A
//! cycle in which a block is not clocked must be one in which none of its flip-flops or
//! memories would change: the block's `quiet` output says so, computed from its own state
//! (no state machine running, no timer counting, no beat in flight, synchronizers settled),
//! and the SoC adds a host access to the block's registers. Clocking a block when it is quiet
//! changes nothing either, so `wake` may be high more often than needed, never less.
//!
//! `en` is sampled on the falling edge, as the latch of an ICG cell holds it while the clock
//! is high, so `gclk` has no glitch: it rises with `clock` or not at all, in the same time step.
//! With `gate` low, `gclk` is `clock` (the testbench runs a model both ways and compares).
//! `wake` depends on the cycle's inputs (a host access): a testbench must settle them before
//! the falling edge samples `wake`, or change them while the clock is high (docs/soc.md says
//! how the harnesses do).
//!
//! Only the simulation builds gate (`regs::SocConfig::gate_idle_clocks`): FPGA builds use
//! clock enables, not gated clocks (a LUT in a clock path would be a timing hazard), so for
//! them the Verilog is `gclk = clock` and `wake`, `gate` go nowhere.

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct ClockGate {
    pub clock: Signal<In, Clock>,
    /// The gated block must be clocked at the next rising edge.
    pub wake: Signal<In, Bit>,
    /// Gating on (else `gclk` is `clock`).
    pub gate: Signal<In, Bit>,
    pub gclk: Signal<Out, Clock>,
    /// `en`: the block is clocked at the next rising edge (always, without gating).
    pub enabled: Signal<Out, Bit>,
    /// This build gates (else the Verilog is a wire).
    _built: bool,
    /// `en`, for rust-hdl's simulator (the Verilog has its own register).
    _en: bool,
}

impl ClockGate {
    /// A gate, or with `built` false a wire from `clock` to `gclk`.
    pub fn new(built: bool) -> Self {
        Self {
            clock: Default::default(),
            wake: Default::default(),
            gate: Default::default(),
            gclk: Default::default(),
            enabled: Default::default(),
            _built: built,
            _en: true,
        }
    }
}

impl Logic for ClockGate {
    fn update(&mut self) {
        if self._built && self.clock.neg_edge() {
            self._en = self.wake.val() | !self.gate.val();
        }
        let en = self._en | !self._built;
        self.gclk.next = Clock::from(self.clock.val().clk & en);
        self.enabled.next = en;
    }

    fn connect(&mut self) {
        self.gclk.connect();
        self.enabled.connect();
    }

    fn hdl(&self) -> Verilog {
        if !self._built {
            return Verilog::Custom(
                "\
always @(*) begin
   gclk = clock;
   enabled = 1'b1;
end
"
                .into(),
            );
        }
        Verilog::Custom(
            "\
reg en;
initial en = 1'b1;

always @(negedge clock) begin
   en <= wake | !gate;
end

always @(*) begin
   gclk = clock & en;
   enabled = en;
end
"
            .into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::settle;

    fn edge(g: &mut ClockGate, level: bool) -> bool {
        g.clock.next = Clock::from(level);
        settle(g);
        g.gclk.val().clk
    }

    /// A cycle: `wake` before the falling edge, then the rising edge; whether `gclk` rose.
    fn cycle(g: &mut ClockGate, wake: bool) -> bool {
        g.wake.next = wake;
        edge(g, false);
        edge(g, true)
    }

    #[test]
    fn gclk_rises_only_in_cycles_woken_at_the_falling_edge_before() {
        let mut g = ClockGate::new(true);
        g.connect_all();
        g.gate.next = true;
        edge(&mut g, true);
        assert!(cycle(&mut g, true));
        assert!(!cycle(&mut g, false));
        assert!(!cycle(&mut g, false));
        assert!(cycle(&mut g, true));
        // `wake` changing while the clock is high does not reach gclk until the next fall.
        g.wake.next = false;
        settle(&mut g);
        assert!(g.gclk.val().clk);
        assert!(!edge(&mut g, false));
        assert!(!edge(&mut g, true));
    }

    #[test]
    fn gclk_is_the_clock_with_the_gate_off_or_not_built() {
        for (built, gate) in [(true, false), (false, true), (false, false)] {
            let mut g = ClockGate::new(built);
            g.connect_all();
            g.gate.next = gate;
            for _ in 0..3 {
                assert!(cycle(&mut g, false), "built {built}, gate {gate}");
                assert!(!edge(&mut g, false));
            }
        }
    }

    #[test]
    fn the_verilog_is_a_wire_when_not_built() {
        let Verilog::Custom(wire) = ClockGate::new(false).hdl() else {
            panic!("custom Verilog expected")
        };
        assert!(wire.contains("gclk = clock;") && !wire.contains("negedge"));
        let Verilog::Custom(gate) = ClockGate::new(true).hdl() else {
            panic!("custom Verilog expected")
        };
        assert!(gate.contains("negedge clock") && gate.contains("clock & en"));
    }
}
