//! Helpers for block tests on rust-hdl's own simulator (direct loop, no threads).

use rust_hdl::prelude::*;

/// Settle the combinational logic of `uut` after inputs changed.
pub fn settle<B: Block>(uut: &mut B) {
    assert!(
        simulate(uut, 1000),
        "logic did not settle (combinational loop?)"
    );
}

/// One clock cycle: the caller has set this cycle's inputs and looked at the settled outputs;
/// this raises the clock (state updates) and lowers it again.
pub fn clock_edge<B: Block>(uut: &mut B, clock: impl Fn(&mut B) -> &mut Signal<In, Clock>) {
    clock(uut).next = Clock { clk: true };
    settle(uut);
    clock(uut).next = Clock { clk: false };
    settle(uut);
}
