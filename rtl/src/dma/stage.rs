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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};
    use pretty_assertions::assert_eq;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::VecDeque;

    const RAM: u64 = 0x1000;

    /// Drives `beats` (address, write) through the stage as an initiator that issues while
    /// it has fewer than `window` beats in flight and stops at its first fault (then waits
    /// for its answers and goes on). The arbiter grants with probability `grant_p` and
    /// answers one cycle later. Returns (answers per beat: Some(fault) or None if never
    /// issued, the cycle of each grant, the cycle of each answer).
    fn run(
        seed: u64,
        beats: &[(u32, bool)],
        window: usize,
        grant_p: f64,
    ) -> (Vec<Option<bool>>, Vec<usize>, Vec<usize>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut s = DmaStage::default();
        s.connect_all();
        s.ram_limit.next = RAM.into();
        let mut next = 0;
        let mut in_flight: VecDeque<usize> = VecDeque::new();
        let mut stopped = false;
        let mut answers = vec![None; beats.len()];
        let mut grants = vec![];
        let mut answer_cycles = vec![];
        let mut granted_last = false;
        for c in 0..20 * beats.len() + 50 {
            if stopped && in_flight.is_empty() {
                stopped = false;
            }
            let valid = !stopped && next < beats.len() && in_flight.len() < window;
            let (addr, we) = beats.get(next).copied().unwrap_or((0, false));
            s.up.valid.next = valid;
            s.up.addr.next = (addr as u64).into();
            s.up.we.next = we;
            s.up.wdata.next = (!addr as u64).into();
            s.up.last.next = false;
            s.up.dev.next = 1.into();
            s.dn.resp.next = granted_last;
            s.dn.rdata.next = 0xD0D0_0000u64.into();
            s.dn.ready.next = false;
            settle(&mut s);
            // `ready` is a register: the same whatever the initiator asks.
            let ready = s.up.ready.val();
            s.up.valid.next = !valid;
            settle(&mut s);
            assert_eq!(s.up.ready.val(), ready, "cycle {c}: ready follows valid");
            s.up.valid.next = valid;
            let grant = s.dn.valid.val() && rng.gen_bool(grant_p);
            s.dn.ready.next = grant;
            settle(&mut s);
            if s.up.resp.val() {
                let k = in_flight.pop_front().expect("an answer nobody asked for");
                let fault = s.up.fault.val();
                if fault {
                    assert_eq!(s.up.rdata.val().index() as u32, beats[k].0);
                    stopped = true;
                } else {
                    assert_eq!(s.up.rdata.val().index(), 0xD0D0_0000);
                }
                answers[k] = Some(fault);
                answer_cycles.push(c);
            }
            if grant {
                assert!(((s.dn.addr.val().index() as u64) < RAM));
                assert_eq!(s.dn.dev.val().index(), 1);
                assert_eq!(
                    s.dn.wdata.val().index() as u32,
                    !(s.dn.addr.val().index() as u32)
                );
                grants.push(c);
            }
            granted_last = grant;
            if valid && ready {
                in_flight.push_back(next);
                next += 1;
            }
            clock_edge(&mut s, |s| &mut s.clock);
        }
        assert!(in_flight.is_empty(), "beats never answered: {in_flight:?}");
        (answers, grants, answer_cycles)
    }

    #[test]
    fn one_beat_per_cycle_answered_two_cycles_after_acceptance() {
        let beats: Vec<(u32, bool)> = (0..16).map(|k| (4 * k, k % 2 == 1)).collect();
        let (answers, grants, answer_cycles) = run(1, &beats, 4, 1.0);
        assert_eq!(answers, vec![Some(false); 16]);
        // Accepted in cycles 0..16, granted in 1..17, answered in 2..18.
        assert_eq!(grants, (1..17).collect::<Vec<_>>());
        assert_eq!(answer_cycles, (2..18).collect::<Vec<_>>());
    }

    #[test]
    fn a_beat_outside_ram_is_refused_with_every_beat_issued_before_its_answer() {
        // Beat 5 is outside RAM; the initiator keeps 4 in flight, so beats 6.. issued before
        // it saw the fault are refused too, and the ones after go through.
        let mut beats: Vec<(u32, bool)> = (0..24).map(|k| (4 * k, true)).collect();
        beats[5].0 = RAM as u32;
        let (answers, _, _) = run(2, &beats, 4, 1.0);
        let first_after = answers
            .iter()
            .skip(6)
            .position(|a| *a == Some(false))
            .unwrap()
            + 6;
        assert!(first_after > 6, "the beats behind the fault were refused");
        for (k, a) in answers.iter().enumerate() {
            let expect = Some((5..first_after).contains(&k));
            assert_eq!(*a, expect, "beat {k}");
        }
    }

    #[test]
    fn random_grants_keep_answers_in_order_and_nothing_outside_ram_is_granted() {
        for seed in 0..30 {
            let mut rng = StdRng::seed_from_u64(seed);
            let beats: Vec<(u32, bool)> = (0..60)
                .map(|_| {
                    let addr = if rng.gen_bool(0.05) {
                        0x1000 + 4 * rng.gen_range(0..8)
                    } else {
                        4 * rng.gen_range(0..1024)
                    };
                    (addr, rng.gen_bool(0.5))
                })
                .collect();
            let (answers, _, _) = run(seed, &beats, rng.gen_range(1..6), 0.6);
            for (k, a) in answers.iter().enumerate() {
                if let Some(false) = a {
                    assert!((beats[k].0 as u64) < RAM, "seed {seed} beat {k}");
                }
                if (beats[k].0 as u64) >= RAM {
                    assert_ne!(*a, Some(false), "seed {seed} beat {k}");
                }
            }
        }
    }
}
