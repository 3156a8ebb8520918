//! The DMA stage: the register between the channel mux and the arbiter in a build without an
//! IOMMU (docs/dma.md, "The DMA port"). Addresses are physical; a beat outside RAM is refused.
//!
//! ```text
//!                 ┌────────────────────────────────────┐
//!  up (DmaTarget) │ 2-entry buffer ─► head: inside RAM?│ dn (DmaPort)
//!  valid/addr/… ─►│  ready = not full   ├─ yes ────────┼─► valid/addr/we/wdata/last ─► arbiter
//!  ready ◄────────│  (a register)       └─ no: fault   │◄─ ready (the grant)
//!  resp/fault/ ◄──│ resp = dn.resp | fault answer      │◄─ resp/rdata (one cycle after it)
//!  rdata          └────────────────────────────────────┘
//! ```
//!
//! `up.ready` is "the buffer is not full" and not the cycle of a fault answer: a register,
//! so the path from an initiator's request ends at this buffer. The head beat goes to the
//! arbiter if its word is inside RAM (`ram_limit`, bytes); otherwise it leaves the buffer
//! with a fault answer in the next cycle (`rdata` = its address), and every beat behind it,
//! or accepted until that answer is presented, is refused the same way (the port's fault
//! rule). Latency: a beat accepted in cycle t is at the head in t+1; granted at once, its
//! answer comes in t+2.

use crate::dma::port::{DmaPort, DmaTarget};
use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct DmaStage {
    pub clock: Signal<In, Clock>,
    pub up: DmaTarget,
    pub dn: DmaPort,
    /// RAM size in bytes (33 bits: 2^32 is expressible).
    pub ram_limit: Signal<In, Bits<33>>,
    // ==== the buffer: entry 0 is the head ====
    count: DFF<Bits<2>>,
    addr: [DFF<Bits<32>>; 2],
    we: [DFF<Bit>; 2],
    wdata: [DFF<Bits<32>>; 2],
    last: [DFF<Bit>; 2],
    dev: [DFF<Bits<2>>; 2],
    /// The head beat's word is inside RAM (computed as it entered the buffer).
    inside: [DFF<Bit>; 2],
    /// A fault answer goes out this cycle, with `fault_addr`.
    fault_out: DFF<Bit>,
    fault_addr: DFF<Bits<32>>,
    /// Since a fault: refuse every beat until the buffer is empty.
    poisoned: DFF<Bit>,
    // ==== combinational ====
    accept: Signal<Local, Bit>,
    pop: Signal<Local, Bit>,
    refuse: Signal<Local, Bit>,
    in_inside: Signal<Local, Bit>,
}

impl Logic for DmaStage {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, count, fault_out, fault_addr, poisoned);
        for i in 0..2 {
            self.addr[i].clock.next = self.clock.val();
            self.we[i].clock.next = self.clock.val();
            self.wdata[i].clock.next = self.clock.val();
            self.last[i].clock.next = self.clock.val();
            self.dev[i].clock.next = self.clock.val();
            self.inside[i].clock.next = self.clock.val();
            self.addr[i].d.next = self.addr[i].q.val();
            self.we[i].d.next = self.we[i].q.val();
            self.wdata[i].d.next = self.wdata[i].q.val();
            self.last[i].d.next = self.last[i].q.val();
            self.dev[i].d.next = self.dev[i].q.val();
            self.inside[i].d.next = self.inside[i].q.val();
        }
        self.up.ready.next = (self.count.q.val() != 2) & !self.fault_out.q.val();
        self.accept.next = self.up.valid.val() & self.up.ready.val();
        self.in_inside.next = bit_cast::<33, 32>(self.up.addr.val()) < self.ram_limit.val();

        // ---- the head: to the arbiter, or refused ----
        self.refuse.next =
            (self.count.q.val() != 0) & (self.poisoned.q.val() | !self.inside[0].q.val());
        self.dn.valid.next = (self.count.q.val() != 0) & !self.refuse.val();
        self.dn.addr.next = self.addr[0].q.val();
        self.dn.we.next = self.we[0].q.val();
        self.dn.wdata.next = self.wdata[0].q.val();
        self.dn.last.next = self.last[0].q.val();
        self.dn.dev.next = self.dev[0].q.val();
        self.pop.next = self.refuse.val() | (self.dn.valid.val() & self.dn.ready.val());
        self.fault_out.d.next = self.refuse.val();
        if self.refuse.val() {
            self.fault_addr.d.next = self.addr[0].q.val();
        }
        // Poisoned from a refusal until the buffer is empty and the answer is out.
        if self.refuse.val() {
            self.poisoned.d.next = true;
        } else if (self.count.q.val() == 0) & !self.fault_out.q.val() {
            self.poisoned.d.next = false;
        }

        // ---- answers, in order: the arbiter's one cycle after its grant, or the refusal ----
        self.up.resp.next = self.dn.resp.val() | self.fault_out.q.val();
        self.up.fault.next = self.fault_out.q.val();
        if self.fault_out.q.val() {
            self.up.rdata.next = self.fault_addr.q.val();
        } else {
            self.up.rdata.next = self.dn.rdata.val();
        }

        // ---- the buffer: shift on pop, append on accept ----
        if self.pop.val() {
            self.addr[0].d.next = self.addr[1].q.val();
            self.we[0].d.next = self.we[1].q.val();
            self.wdata[0].d.next = self.wdata[1].q.val();
            self.last[0].d.next = self.last[1].q.val();
            self.dev[0].d.next = self.dev[1].q.val();
            self.inside[0].d.next = self.inside[1].q.val();
        }
        if self.accept.val() {
            // The slot after the beats that stay: 0 if the buffer empties (or was empty),
            // else 1.
            if (self.count.q.val() == 0) | ((self.count.q.val() == 1) & self.pop.val()) {
                self.addr[0].d.next = self.up.addr.val();
                self.we[0].d.next = self.up.we.val();
                self.wdata[0].d.next = self.up.wdata.val();
                self.last[0].d.next = self.up.last.val();
                self.dev[0].d.next = self.up.dev.val();
                self.inside[0].d.next = self.in_inside.val();
            } else {
                self.addr[1].d.next = self.up.addr.val();
                self.we[1].d.next = self.up.we.val();
                self.wdata[1].d.next = self.up.wdata.val();
                self.last[1].d.next = self.up.last.val();
                self.dev[1].d.next = self.up.dev.val();
                self.inside[1].d.next = self.in_inside.val();
            }
        }
        if self.accept.val() & !self.pop.val() {
            self.count.d.next = self.count.q.val() + 1;
        } else if !self.accept.val() & self.pop.val() {
            self.count.d.next = self.count.q.val() - 1;
        }
    }
}
