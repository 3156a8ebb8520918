//! A small queue of frame descriptors between a FIFO's writer and its reader: for TX the
//! length and FCS flag of each frame the ring engine has stored completely, for RX the
//! lengths and error bits of each frame the MAC has received completely.
//!
//! ```text
//!  push, push_data[40] ──►┌──────────────┐──► valid, head[40]  (show-ahead)
//!                         │  D entries   │◄── pop
//!              full   ◄───┤  (LUT RAM)   ├──► count
//!  flush ────────────────►└──────────────┘
//! ```
//! A push while full and a pop while empty are ignored (the users check `full`/`valid`). Push
//! and pop in the same cycle both happen. `flush` empties the queue (NIC reset). The depth `D`
//! (1 to 32) is a build parameter (`regs::SocConfig::nic_frame_queue_depth`): it bounds how
//! many complete frames can wait in a FIFO, whatever their size. The entries are a
//! [`LutRam`] (one indexed write and one indexed read per cycle, not `D` registers with a
//! comparator each), the pointers and the count registers.

use rust_hdl::prelude::*;

use crate::lutram::LutRam;

/// The depth the ring engines' block tests model (the smallest build's).
pub const DEPTH: usize = 4;

#[derive(LogicBlock)]
pub struct FrameQueue<const D: usize> {
    pub clock: Signal<In, Clock>,
    pub push: Signal<In, Bit>,
    pub push_data: Signal<In, Bits<40>>,
    pub pop: Signal<In, Bit>,
    pub flush: Signal<In, Bit>,
    pub valid: Signal<Out, Bit>,
    pub head: Signal<Out, Bits<40>>,
    pub full: Signal<Out, Bit>,
    pub count: Signal<Out, Bits<6>>,
    entry: LutRam<Bits<40>, 5>,
    rd: DFF<Bits<5>>,
    wr: DFF<Bits<5>>,
    n: DFF<Bits<6>>,
    do_push: Signal<Local, Bit>,
    do_pop: Signal<Local, Bit>,
    last: Constant<Bits<5>>,
    depth: Constant<Bits<6>>,
}

impl<const D: usize> FrameQueue<D> {
    pub fn new() -> Self {
        assert!((1..=32).contains(&D), "frame queue depth {D}: 1 to 32");
        Self {
            clock: Default::default(),
            push: Default::default(),
            push_data: Default::default(),
            pop: Default::default(),
            flush: Default::default(),
            valid: Default::default(),
            head: Default::default(),
            full: Default::default(),
            count: Default::default(),
            entry: LutRam::new(D),
            rd: Default::default(),
            wr: Default::default(),
            n: Default::default(),
            do_push: Default::default(),
            do_pop: Default::default(),
            last: Constant::new(((D - 1) as u64).into()),
            depth: Constant::new((D as u64).into()),
        }
    }
}

impl<const D: usize> Default for FrameQueue<D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const D: usize> Logic for FrameQueue<D> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, rd, wr, n);
        self.valid.next = self.n.q.val() != 0;
        self.full.next = self.n.q.val() == self.depth.val();
        self.count.next = self.n.q.val();
        self.do_push.next = self.push.val() & (self.n.q.val() != self.depth.val());
        self.do_pop.next = self.pop.val() & (self.n.q.val() != 0);
        self.entry.clock.next = self.clock.val();
        self.entry.write_enable.next = self.do_push.val();
        self.entry.write_address.next = self.wr.q.val();
        self.entry.write_data.next = self.push_data.val();
        self.entry.read_address.next = self.rd.q.val();
        self.head.next = self.entry.read_data.val();
        if self.do_push.val() {
            if self.wr.q.val() == self.last.val() {
                self.wr.d.next = 0.into();
            } else {
                self.wr.d.next = self.wr.q.val() + 1;
            }
        }
        if self.do_pop.val() {
            if self.rd.q.val() == self.last.val() {
                self.rd.d.next = 0.into();
            } else {
                self.rd.d.next = self.rd.q.val() + 1;
            }
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
        bounded_queue::<4>();
        bounded_queue::<5>();
        bounded_queue::<16>();
    }

    fn bounded_queue<const D: usize>() {
        let mut q = FrameQueue::<D>::default();
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
            assert_eq!(q.full.val(), model.len() == D);
            assert_eq!(q.count.val().to_u64() as usize, model.len());
            if let Some(h) = model.front() {
                assert_eq!(q.head.val().to_u64(), *h);
            }
            let can_push = model.len() < D;
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
