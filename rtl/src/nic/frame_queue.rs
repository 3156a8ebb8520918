//! A small queue of frame descriptors between a FIFO's writer and its reader: for TX the
//! length and FCS flag of each frame the ring engine has stored completely, for RX the
//! lengths and error bits of each frame the MAC has received completely.
//!
//! ```text
//!  push, push_data[40] ──►┌──────────────┐──► valid, head[40]  (show-ahead)
//!                         │ DEPTH entries│◄── pop
//!              full   ◄───┤  (registers) ├──► count
//!  flush ────────────────►└──────────────┘
//! ```
//! A push while full and a pop while empty are ignored (the users check `full`/`valid`). Push
//! and pop in the same cycle both happen. `flush` empties the queue (NIC reset).

use rust_hdl::prelude::*;

pub const DEPTH: usize = 4;

#[derive(LogicBlock, Default)]
pub struct FrameQueue {
    pub clock: Signal<In, Clock>,
    pub push: Signal<In, Bit>,
    pub push_data: Signal<In, Bits<40>>,
    pub pop: Signal<In, Bit>,
    pub flush: Signal<In, Bit>,
    pub valid: Signal<Out, Bit>,
    pub head: Signal<Out, Bits<40>>,
    pub full: Signal<Out, Bit>,
    pub count: Signal<Out, Bits<3>>,
    entry: [DFF<Bits<40>>; DEPTH],
    rd: DFF<Bits<2>>,
    wr: DFF<Bits<2>>,
    n: DFF<Bits<3>>,
    do_push: Signal<Local, Bit>,
    do_pop: Signal<Local, Bit>,
}

impl Logic for FrameQueue {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, rd, wr, n);
        for i in 0..DEPTH {
            self.entry[i].clock.next = self.clock.val();
            self.entry[i].d.next = self.entry[i].q.val();
        }
        self.valid.next = self.n.q.val() != 0;
        self.full.next = self.n.q.val() == 4;
        self.count.next = self.n.q.val();
        self.head.next = 0.into();
        for i in 0..DEPTH {
            if self.rd.q.val().index() == i {
                self.head.next = self.entry[i].q.val();
            }
        }
        self.do_push.next = self.push.val() & (self.n.q.val() != 4);
        self.do_pop.next = self.pop.val() & (self.n.q.val() != 0);
        for i in 0..DEPTH {
            if self.do_push.val() & (self.wr.q.val().index() == i) {
                self.entry[i].d.next = self.push_data.val();
            }
        }
        if self.do_push.val() {
            self.wr.d.next = self.wr.q.val() + 1;
        }
        if self.do_pop.val() {
            self.rd.d.next = self.rd.q.val() + 1;
        }
        if self.do_push.val() & !self.do_pop.val() {
            self.n.d.next = self.n.q.val() + 1;
        }
        if !self.do_push.val() & self.do_pop.val() {
            self.n.d.next = self.n.q.val() - 1;
        }
        if self.flush.val() {
            self.rd.d.next = 0.into();
            self.wr.d.next = 0.into();
            self.n.d.next = 0.into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};
    use rand::{Rng, SeedableRng};
    use std::collections::VecDeque;

    #[test]
    fn behaves_like_a_bounded_queue() {
        let mut q = FrameQueue::default();
        q.connect_all();
        let mut model = VecDeque::new();
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for step in 0..3000 {
            let push = rng.gen_bool(0.5);
            let pop = rng.gen_bool(0.45);
            let flush = step % 997 == 500;
            let data = rng.gen_range(0..(1u64 << 40));
            q.push.next = push;
            q.push_data.next = data.into();
            q.pop.next = pop;
            q.flush.next = flush;
            settle(&mut q);
            assert_eq!(q.valid.val(), !model.is_empty());
            assert_eq!(q.full.val(), model.len() == DEPTH);
            assert_eq!(q.count.val().to_u64() as usize, model.len());
            if let Some(h) = model.front() {
                assert_eq!(q.head.val().to_u64(), *h);
            }
            let can_push = model.len() < DEPTH;
            if pop {
                model.pop_front();
            }
            if push && can_push {
                model.push_back(data);
            }
            if flush {
                model.clear();
            }
            clock_edge(&mut q, |b| &mut b.clock);
        }
    }
}
