//! iCE40 clock primitives as rust-hdl wrappers: the core PLL and a DDR output that forwards the
//! core clock to a pin (the RMII reference clock).
//!
//! Both are `Wrapper`s around Lattice primitives under `` `ifdef SYNTHESIS `` (yosys defines
//! it). Verilator and rust-hdl's simulator see a model instead: the PLL passes its input clock
//! through and reports lock at once; the forwarded clock pin stays 0 (the simulated PHY is
//! clocked by the simulation loop itself).

use regs::board::Pll;
use rust_hdl::prelude::*;

/// `SB_PLL40_CORE` in simple feedback mode: `clock_out` (on a global net) from `clock_in`.
#[derive(LogicBlock)]
pub struct CorePll {
    pub clock_in: Signal<In, Clock>,
    pub clock_out: Signal<Out, Clock>,
    /// The PLL has locked (`LOCK`); the core is held in reset until then.
    pub locked: Signal<Out, Bit>,
    divr: Constant<Bits<8>>,
    divf: Constant<Bits<8>>,
    divq: Constant<Bits<8>>,
    filter_range: Constant<Bits<8>>,
}

impl CorePll {
    pub fn new(setting: Pll) -> Self {
        Self {
            clock_in: Default::default(),
            clock_out: Default::default(),
            locked: Default::default(),
            divr: Constant::new((setting.divr as u64).into()),
            divf: Constant::new((setting.divf as u64).into()),
            divq: Constant::new((setting.divq as u64).into()),
            filter_range: Constant::new((setting.filter_range as u64).into()),
        }
    }
}

impl Logic for CorePll {
    fn update(&mut self) {
        self.clock_out.next = self.clock_in.val();
        self.locked.next = true;
    }

    fn connect(&mut self) {
        self.clock_out.connect();
        self.locked.connect();
    }

    fn hdl(&self) -> Verilog {
        let n = |c: &Constant<Bits<8>>| c.val().index();
        Verilog::Wrapper(Wrapper {
            code: format!(
                r#"
`ifdef SYNTHESIS
    SB_PLL40_CORE #(
        .FEEDBACK_PATH("SIMPLE"),
        .DIVR(4'd{}),
        .DIVF(7'd{}),
        .DIVQ(3'd{}),
        .FILTER_RANGE(3'd{})
    ) pll_inst (
        .REFERENCECLK(clock_in),
        .PLLOUTGLOBAL(clock_out),
        .LOCK(locked),
        .RESETB(1'b1),
        .BYPASS(1'b0)
    );
`else
    assign clock_out = clock_in;
    assign locked = 1'b1;
`endif
"#,
                n(&self.divr),
                n(&self.divf),
                n(&self.divq),
                n(&self.filter_range)
            ),
            cores: String::new(),
        })
    }
}

/// Forwards `clock` to the pin `pin` through an `SB_IO` DDR output register (`enable` on the
/// rising edge, 0 on the falling one), so the pin's clock has the same timing as the other
/// outputs and no logic sits in its path. `enable` low holds the pin low.
#[derive(LogicBlock, Default)]
pub struct ClockForward {
    pub clock: Signal<In, Clock>,
    pub enable: Signal<In, Bit>,
    pub pin: Signal<Out, Bit>,
}

impl Logic for ClockForward {
    fn update(&mut self) {
        self.pin.next = false;
    }

    fn connect(&mut self) {
        self.pin.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Wrapper(Wrapper {
            code: r#"
`ifdef SYNTHESIS
    SB_IO #(
        .PIN_TYPE(6'b010001)
    ) forward_inst (
        .PACKAGE_PIN(pin),
        .OUTPUT_CLK(clock),
        .D_OUT_0(enable),
        .D_OUT_1(1'b0)
    );
`else
    assign pin = 1'b0;
`endif
"#
            .into(),
            cores: String::new(),
        })
    }
}
