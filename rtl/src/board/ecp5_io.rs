//! ECP5 I/O and clock primitives as rust-hdl wrappers: the DDR output and input registers of
//! the I/O cells (`ODDRX1F`, `IDDRX1F`) and the PLL (`EHXPLLL`).
//!
//! ```text
//!              ┌────────────┐                      ┌────────────┐
//!  d0[N]    ─►│ Oddr<N>    ├─► pin[N]    pin[N] ─►│ Iddr<N>    ├─► q0[N]
//!  d1[N]    ─►│ N×ODDRX1F  │             clock  ─►│ N×IDDRX1F  ├─► q1[N]
//!  clock    ─►│            │                      │            │
//!              └────────────┘                      └────────────┘
//!              ┌────────────┐
//!  clock_in ─►│ Ecp5Pll    ├─► clock_out, locked
//!              │ EHXPLLL    │
//!              └────────────┘
//! ```
//!
//! Each is a `Wrapper`: the Lattice primitive under `` `ifdef SYNTHESIS `` (yosys defines it),
//! and a behavioural model otherwise, for Icarus and Verilator. The models are plain
//! registers, lint clean under `verilator -Wall`.
//!
//! ## Timing of the DDR registers
//!
//! Both follow Lattice's simulation library models of the primitives (the ECP5U `ODDRX1F`
//! model: three registers of `{D0, D1}` clocked on the rising edge of `SCLK`, `Q = SCLK ?
//! D0-stage : D1-stage`; the generic X1 `IDDRX1F` model of the Lattice FPGA Libraries
//! Reference Guide: `D` registered on both edges, both presented on the next rising edge).
//! FPGA-TN-02035 (ECP5 and ECP5-5G High-Speed I/O Interface) describes the GDDRX1 modes
//! these primitives implement; the cycle counts below are those of the models, not measured
//! on silicon.
//!
//! * **`Oddr`**: `d0`/`d1` are sampled at a rising edge *k* of `clock`. The pin carries `d0`
//!   from rising edge *k*+2 to the falling edge after it, then `d1` until rising edge *k*+3:
//!   **2 clock cycles** from the sampling edge to the pin.
//! * **`Iddr`**: the pin is sampled at a rising edge *k* and at the falling edge after it
//!   (*k*+½). Both appear together at rising edge *k*+1: `q0` is the rising-edge sample, `q1`
//!   the sample of the falling edge **after** it (the later one in time). **1 clock cycle**
//!   from the rising-edge sample to `q0`/`q1`.
//!
//! rust-hdl's simulator runs the same models in `update()` (registers kept in the wrapper,
//! moved on the clock's edges as rust-hdl reports them), so the adapter tests see the same
//! latencies as Icarus. It is an approximation in one way: rust-hdl has no time, so the pin of
//! an `Oddr` is only meaningful when the testbench looks between edges.
//!
//! ## The PLL
//!
//! `Ecp5Pll` is `EHXPLLL` with feedback from CLKOP (`FEEDBK_PATH "CLKOP"`): `f_out = f_in /
//! CLKI_DIV × CLKFB_DIV` and `f_vco = f_out × CLKOP_DIV`, with the ECP5 limits `ecppll`
//! (prjtrellis) applies: input 8–400 MHz, phase detector (`f_in / CLKI_DIV`) 3.125–400 MHz,
//! VCO 400–800 MHz, output 3.125–400 MHz. [`Ecp5PllSetting::for_hz`] searches the dividers as
//! ecppll does: the smallest output error, ties broken by the VCO closest to 600 MHz. For 25
//! → 50 MHz it gives `CLKI_DIV 1, CLKFB_DIV 2, CLKOP_DIV 12` (VCO 600 MHz), which is what
//! `yowasp-ecppll -i 25 -o 50` writes, with the same other parameters and attributes.
//! `CLKOP_CPHASE` is `(CLKOP_DIV - 1) / 2` (5 for 25 → 50 MHz, as ecppll writes; ecppll
//! computes it from a floating-point phase and writes one more for a few even dividers, e.g.
//! 8 and 16); with CLKOP in the feedback path its phase is inside the loop and does not move
//! the output. Without `SYNTHESIS` the PLL passes its input through and is locked at once (as
//! `clocking::CorePll`): in simulation a cycle is a core cycle.

use rust_hdl::prelude::*;

/// The Verilog for bit `i` of an `N`-bit port: the port itself when `N` is 1.
fn bit(port: &str, n: usize, i: usize) -> String {
    if n == 1 {
        port.to_string()
    } else {
        format!("{port}[{i}]")
    }
}

/// The Verilog of a DDR wrapper: under `SYNTHESIS` one `cell` per bit of the `N`-bit ports,
/// named `{name}_{i}`, on `clock` with RST low and the ports `(cell port, wrapper port)` in
/// `ports`; otherwise `model`, the behavioural model.
fn ddr_wrapper(cell: &str, name: &str, n: usize, ports: &[(&str, &str)], model: &str) -> Verilog {
    let cells: String = (0..n)
        .map(|i| {
            let pins: String = ports
                .iter()
                .map(|(p, w)| format!(", .{p}({})", bit(w, n, i)))
                .collect();
            format!("    {cell} {name}_{i} (.SCLK(clock), .RST(1'b0){pins});\n")
        })
        .collect();
    Verilog::Wrapper(Wrapper {
        code: format!("\n`ifdef SYNTHESIS\n{cells}`else\n{model}`endif\n"),
        cores: String::new(),
    })
}

/// DDR output: `pin` carries `d0` for the half period after a rising edge of `clock` and `d1`
/// for the half after the next falling edge, 2 cycles after the rising edge that sampled them.
#[derive(LogicBlock, Default)]
pub struct Oddr<const N: usize> {
    pub clock: Signal<In, Clock>,
    pub d0: Signal<In, Bits<N>>,
    pub d1: Signal<In, Bits<N>>,
    pub pin: Signal<Out, Bits<N>>,
    /// The model's registers, for rust-hdl's simulator: `{d0, d1}` sampled 1, 2 and 3 rising
    /// edges ago (the last one drives the pin).
    _stages: [(Bits<N>, Bits<N>); 3],
}

impl<const N: usize> Logic for Oddr<N> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self._stages[2] = self._stages[1];
            self._stages[1] = self._stages[0];
            self._stages[0] = (self.d0.val(), self.d1.val());
        }
        let (d0, d1) = self._stages[2];
        self.pin.next = if self.clock.val().clk { d0 } else { d1 };
    }

    fn connect(&mut self) {
        self.pin.connect();
    }

    fn hdl(&self) -> Verilog {
        let msb = N - 1;
        ddr_wrapper(
            "ODDRX1F",
            "oddr",
            N,
            &[("D0", "d0"), ("D1", "d1"), ("Q", "pin")],
            &format!(
                r#"    // The DDR output's latency (Lattice's simulation model): {{D0, D1}} sampled at a rising edge
    // are on the pin from the second rising edge after it. The pin is the xor of a register
    // written at rising edges and one written at falling edges, so that it changes only after
    // an edge (a mux on the clock would glitch at the rising edge as its input changes).
    reg [{msb}:0] sampled_d0, sampled_d1, held_d0, held_d1, out_d1, rise_q, fall_q;
    initial begin
        sampled_d0 = 0; sampled_d1 = 0; held_d0 = 0; held_d1 = 0; out_d1 = 0;
        rise_q = 0; fall_q = 0;
    end
    always @(posedge clock) begin
        sampled_d0 <= d0;
        sampled_d1 <= d1;
        held_d0 <= sampled_d0;
        held_d1 <= sampled_d1;
        rise_q <= held_d0 ^ fall_q;
        out_d1 <= held_d1;
    end
    always @(negedge clock) begin
        fall_q <= out_d1 ^ rise_q;
    end
    assign pin = rise_q ^ fall_q;
"#
            ),
        )
    }
}

/// DDR input: `q0` is `pin` sampled at a rising edge of `clock`, `q1` at the falling edge
/// after it; both change at the next rising edge.
#[derive(LogicBlock, Default)]
pub struct Iddr<const N: usize> {
    pub clock: Signal<In, Clock>,
    pub pin: Signal<In, Bits<N>>,
    pub q0: Signal<Out, Bits<N>>,
    pub q1: Signal<Out, Bits<N>>,
    /// The model's registers, for rust-hdl's simulator: the last samples at each edge, and
    /// the outputs.
    _at_rise: Bits<N>,
    _at_fall: Bits<N>,
    _out: (Bits<N>, Bits<N>),
}

impl<const N: usize> Logic for Iddr<N> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self._out = (self._at_rise, self._at_fall);
            self._at_rise = self.pin.val();
        }
        if self.clock.neg_edge() {
            self._at_fall = self.pin.val();
        }
        self.q0.next = self._out.0;
        self.q1.next = self._out.1;
    }

    fn connect(&mut self) {
        self.q0.connect();
        self.q1.connect();
    }

    fn hdl(&self) -> Verilog {
        let msb = N - 1;
        ddr_wrapper(
            "IDDRX1F",
            "iddr",
            N,
            &[("D", "pin"), ("Q0", "q0"), ("Q1", "q1")],
            &format!(
                r#"    // The DDR input's latency (Lattice's simulation model): the samples of a rising edge and of
    // the falling edge after it come out together at the next rising edge.
    reg [{msb}:0] at_rise, at_fall, out_q0, out_q1;
    initial begin
        at_rise = 0; at_fall = 0; out_q0 = 0; out_q1 = 0;
    end
    always @(posedge clock) begin
        at_rise <= pin;
        out_q0 <= at_rise;
        out_q1 <= at_fall;
    end
    always @(negedge clock) begin
        at_fall <= pin;
    end
    assign q0 = out_q0;
    assign q1 = out_q1;
"#
            ),
        )
    }
}

/// EHXPLLL dividers with CLKOP as the feedback path (see the module docs).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Ecp5PllSetting {
    pub clki_div: u32,
    pub clkfb_div: u32,
    pub clkop_div: u32,
    pub clkop_cphase: u32,
    pub clkop_fphase: u32,
    /// The input frequency the setting was made for (for `out_hz`, `vco_hz` and the
    /// `FREQUENCY_PIN_CLKI` attribute).
    pub in_hz: u64,
}

pub const ECP5_PLL_IN_HZ: (u64, u64) = (8_000_000, 400_000_000);
pub const ECP5_PLL_PFD_HZ: (u64, u64) = (3_125_000, 400_000_000);
pub const ECP5_PLL_VCO_HZ: (u64, u64) = (400_000_000, 800_000_000);
pub const ECP5_PLL_OUT_HZ: (u64, u64) = (3_125_000, 400_000_000);

impl Ecp5PllSetting {
    /// The setting closest to `out_hz` from `in_hz` within the ECP5 limits (ties: the VCO
    /// closest to 600 MHz), as ecppll chooses; `None` if the input is out of range or no
    /// divider gives an output in range.
    pub const fn for_hz(in_hz: u64, out_hz: u64) -> Option<Ecp5PllSetting> {
        if in_hz < ECP5_PLL_IN_HZ.0 || in_hz > ECP5_PLL_IN_HZ.1 {
            return None;
        }
        let mut best: Option<Ecp5PllSetting> = None;
        let mut best_err = u64::MAX;
        let mut best_vco_off = u64::MAX;
        let mut clki_div = 1;
        while clki_div <= 128 {
            // The phase detector's frequency, as a fraction in_hz / clki_div.
            let pfd_ok =
                in_hz >= ECP5_PLL_PFD_HZ.0 * clki_div && in_hz <= ECP5_PLL_PFD_HZ.1 * clki_div;
            let mut clkfb_div = 1;
            while pfd_ok && clkfb_div <= 80 {
                // f_out = in_hz * clkfb_div / clki_div, in Hz (exact when it divides).
                let fout_num = in_hz * clkfb_div;
                let mut clkop_div = 1;
                while clkop_div <= 128 {
                    let vco_num = fout_num * clkop_div;
                    if vco_num >= ECP5_PLL_VCO_HZ.0 * clki_div
                        && vco_num <= ECP5_PLL_VCO_HZ.1 * clki_div
                        && fout_num >= ECP5_PLL_OUT_HZ.0 * clki_div
                        && fout_num <= ECP5_PLL_OUT_HZ.1 * clki_div
                    {
                        // |f_out - out_hz| scaled by clki_div (all candidates compared at the
                        // same scale by cross-multiplying below).
                        let target = out_hz * clki_div;
                        let err_scaled = fout_num.abs_diff(target);
                        let vco_scaled = vco_num.abs_diff(600_000_000 * clki_div);
                        // Compare err_scaled / clki_div with best_err (both as fractions).
                        let better = match best {
                            None => true,
                            Some(b) => {
                                let lhs = err_scaled as u128 * b.clki_div as u128;
                                let rhs = best_err as u128 * clki_div as u128;
                                lhs < rhs
                                    || (lhs == rhs
                                        && (vco_scaled as u128 * b.clki_div as u128)
                                            < best_vco_off as u128 * clki_div as u128)
                            }
                        };
                        if better {
                            best_err = err_scaled;
                            best_vco_off = vco_scaled;
                            best = Some(Ecp5PllSetting {
                                clki_div: clki_div as u32,
                                clkfb_div: clkfb_div as u32,
                                clkop_div: clkop_div as u32,
                                clkop_cphase: (clkop_div as u32 - 1) / 2,
                                clkop_fphase: 0,
                                in_hz,
                            });
                        }
                    }
                    clkop_div += 1;
                }
                clkfb_div += 1;
            }
            clki_div += 1;
        }
        best
    }

    /// The output frequency in Hz (rounded down).
    pub const fn out_hz(&self) -> u64 {
        self.in_hz * self.clkfb_div as u64 / self.clki_div as u64
    }

    /// The VCO frequency in Hz (rounded down).
    pub const fn vco_hz(&self) -> u64 {
        self.in_hz * self.clkfb_div as u64 * self.clkop_div as u64 / self.clki_div as u64
    }

    /// Whether every frequency of the setting is within the ECP5 limits.
    pub const fn within_limits(&self) -> bool {
        let pfd_num = self.in_hz;
        let d = self.clki_div as u64;
        pfd_num >= ECP5_PLL_PFD_HZ.0 * d
            && pfd_num <= ECP5_PLL_PFD_HZ.1 * d
            && self.vco_hz() >= ECP5_PLL_VCO_HZ.0
            && self.vco_hz() <= ECP5_PLL_VCO_HZ.1
            && self.out_hz() >= ECP5_PLL_OUT_HZ.0
            && self.out_hz() <= ECP5_PLL_OUT_HZ.1
    }
}

/// Formats a frequency in Hz as ecppll writes it in MHz ("25", "12.5").
fn mhz(hz: u64) -> String {
    let whole = hz / 1_000_000;
    let frac = hz % 1_000_000;
    if frac == 0 {
        format!("{whole}")
    } else {
        let s = format!("{frac:06}");
        format!("{whole}.{}", s.trim_end_matches('0'))
    }
}

/// `EHXPLLL` with CLKOP fed back (see the module docs): `clock_out` from `clock_in`.
#[derive(LogicBlock)]
pub struct Ecp5Pll {
    pub clock_in: Signal<In, Clock>,
    pub clock_out: Signal<Out, Clock>,
    /// The PLL has locked (`LOCK`).
    pub locked: Signal<Out, Bit>,
    _setting: Ecp5PllSetting,
}

impl Ecp5Pll {
    pub fn new(setting: Ecp5PllSetting) -> Self {
        assert!(
            setting.within_limits(),
            "PLL setting out of range: {setting:?}"
        );
        Self {
            clock_in: Default::default(),
            clock_out: Default::default(),
            locked: Default::default(),
            _setting: setting,
        }
    }
}

impl Logic for Ecp5Pll {
    fn update(&mut self) {
        self.clock_out.next = self.clock_in.val();
        self.locked.next = true;
    }

    fn connect(&mut self) {
        self.clock_out.connect();
        self.locked.connect();
    }

    fn hdl(&self) -> Verilog {
        let s = self._setting;
        Verilog::Wrapper(Wrapper {
            code: format!(
                r#"
`ifdef SYNTHESIS
    (* FREQUENCY_PIN_CLKI="{fin}" *)
    (* FREQUENCY_PIN_CLKOP="{fout}" *)
    (* ICP_CURRENT="12" *) (* LPF_RESISTOR="8" *) (* MFG_ENABLE_FILTEROPAMP="1" *) (* MFG_GMCREF_SEL="2" *)
    EHXPLLL #(
        .PLLRST_ENA("DISABLED"),
        .INTFB_WAKE("DISABLED"),
        .STDBY_ENABLE("DISABLED"),
        .DPHASE_SOURCE("DISABLED"),
        .OUTDIVIDER_MUXA("DIVA"),
        .OUTDIVIDER_MUXB("DIVB"),
        .OUTDIVIDER_MUXC("DIVC"),
        .OUTDIVIDER_MUXD("DIVD"),
        .CLKI_DIV({clki}),
        .CLKOP_ENABLE("ENABLED"),
        .CLKOP_DIV({clkop}),
        .CLKOP_CPHASE({cphase}),
        .CLKOP_FPHASE({fphase}),
        .FEEDBK_PATH("CLKOP"),
        .CLKFB_DIV({clkfb})
    ) pll_inst (
        .RST(1'b0),
        .STDBY(1'b0),
        .CLKI(clock_in),
        .CLKOP(clock_out),
        .CLKFB(clock_out),
        .CLKINTFB(),
        .PHASESEL0(1'b0),
        .PHASESEL1(1'b0),
        .PHASEDIR(1'b1),
        .PHASESTEP(1'b1),
        .PHASELOADREG(1'b1),
        .PLLWAKESYNC(1'b0),
        .ENCLKOP(1'b0),
        .LOCK(locked)
    );
`else
    assign clock_out = clock_in;
    assign locked = 1'b1;
`endif
"#,
                fin = mhz(s.in_hz),
                fout = mhz(s.out_hz()),
                clki = s.clki_div,
                clkop = s.clkop_div,
                cphase = s.clkop_cphase,
                fphase = s.clkop_fphase,
                clkfb = s.clkfb_div,
            ),
            cores: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::settle;

    fn set_clock<B: Block>(uut: &mut B, c: impl Fn(&mut B) -> &mut Signal<In, Clock>, v: bool) {
        c(uut).next = Clock { clk: v };
        settle(uut);
    }

    #[test]
    fn oddr_model_puts_d0_then_d1_on_the_pin_two_cycles_after_sampling() {
        let mut o = Oddr::<4>::default();
        o.connect_all();
        let mut seen = Vec::new();
        for k in 0..12u64 {
            o.d0.next = (k & 15).into();
            o.d1.next = ((k + 8) & 15).into();
            set_clock(&mut o, |o| &mut o.clock, true);
            let high = o.pin.val().index() as u64;
            set_clock(&mut o, |o| &mut o.clock, false);
            let low = o.pin.val().index() as u64;
            seen.push((high, low));
        }
        // Sampled at rising edge k, on the pin after rising edge k + 2.
        for k in 2..12u64 {
            assert_eq!(seen[k as usize], (k - 2, (k - 2 + 8) & 15), "edge {k}");
        }
    }

    #[test]
    fn iddr_model_presents_a_rising_and_the_following_falling_sample_together() {
        let mut i = Iddr::<4>::default();
        i.connect_all();
        let mut out = Vec::new();
        for k in 0..10u64 {
            // Value 2k at the rising edge, 2k + 1 at the falling edge after it.
            i.pin.next = ((2 * k) & 15).into();
            set_clock(&mut i, |i| &mut i.clock, true);
            out.push((i.q0.val().index() as u64, i.q1.val().index() as u64));
            i.pin.next = ((2 * k + 1) & 15).into();
            set_clock(&mut i, |i| &mut i.clock, false);
        }
        for k in 1..10u64 {
            let j = k - 1;
            assert_eq!(
                out[k as usize],
                ((2 * j) & 15, (2 * j + 1) & 15),
                "edge {k}"
            );
        }
    }

    #[test]
    fn pll_25_to_50_mhz_is_exact_and_within_limits() {
        let s = Ecp5PllSetting::for_hz(25_000_000, 50_000_000).unwrap();
        assert_eq!(
            (
                s.clki_div,
                s.clkfb_div,
                s.clkop_div,
                s.clkop_cphase,
                s.clkop_fphase
            ),
            (1, 2, 12, 5, 0),
            "as `yowasp-ecppll -i 25 -o 50` writes"
        );
        assert_eq!(s.out_hz(), 50_000_000);
        assert_eq!(s.vco_hz(), 600_000_000);
        assert!(s.within_limits());
    }

    #[test]
    fn pll_settings_match_what_ecppll_chose_for_other_frequencies() {
        // (out MHz, CLKI_DIV, CLKFB_DIV, CLKOP_DIV) from yowasp-ecppll -i 25.
        for (out, i, f, o) in [
            (100, 1, 4, 6),
            (40, 5, 8, 15),
            (75, 1, 3, 8),
            (125, 1, 5, 5),
        ] {
            let s = Ecp5PllSetting::for_hz(25_000_000, out * 1_000_000).unwrap();
            assert_eq!(
                (s.clki_div, s.clkfb_div, s.clkop_div),
                (i, f, o),
                "{out} MHz"
            );
            assert!(s.within_limits());
        }
        assert_eq!(Ecp5PllSetting::for_hz(1_000_000, 50_000_000), None);
    }

    #[test]
    fn primitives_appear_only_under_synthesis() {
        fn check<B: Block>(mut b: B, cell: &str) {
            b.connect_all();
            let v = generate_verilog(&b);
            let ifdef = v.find("`ifdef SYNTHESIS").expect("no `ifdef SYNTHESIS");
            let els = v[ifdef..].find("`else").expect("no `else") + ifdef;
            let endif = v[els..].find("`endif").expect("no `endif") + els;
            assert!(
                v[ifdef..els].contains(cell),
                "{cell} not under SYNTHESIS:\n{v}"
            );
            assert!(
                !v[..ifdef].contains(cell) && !v[els..].contains(cell),
                "{cell} outside:\n{v}"
            );
            assert!(endif > els);
        }
        check(Oddr::<4>::default(), "ODDRX1F");
        check(Oddr::<1>::default(), "ODDRX1F");
        check(Iddr::<4>::default(), "IDDRX1F");
        check(Iddr::<1>::default(), "IDDRX1F");
        let pll = Ecp5Pll::new(Ecp5PllSetting::for_hz(25_000_000, 50_000_000).unwrap());
        check(pll, "EHXPLLL");
        let mut o = Oddr::<4>::default();
        o.connect_all();
        assert_eq!(generate_verilog(&o).matches("ODDRX1F oddr_").count(), 4);
    }

    #[test]
    fn pll_verilog_carries_the_ecppll_parameters() {
        let mut p = Ecp5Pll::new(Ecp5PllSetting::for_hz(25_000_000, 50_000_000).unwrap());
        p.connect_all();
        let v = generate_verilog(&p);
        for want in [
            ".CLKI_DIV(1)",
            ".CLKFB_DIV(2)",
            ".CLKOP_DIV(12)",
            ".CLKOP_CPHASE(5)",
            ".CLKOP_FPHASE(0)",
            ".FEEDBK_PATH(\"CLKOP\")",
            "FREQUENCY_PIN_CLKI=\"25\"",
            "FREQUENCY_PIN_CLKOP=\"50\"",
        ] {
            assert!(v.contains(want), "{want} missing:\n{v}");
        }
    }
}
