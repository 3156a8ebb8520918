//! Round-robin between the DMA channels in front of the IOMMU (docs/dma.md, "The channel mux").
//!
//! ```text
//!  channel i: req[i], addr[i], we[i], wdata[i], last[i] ──►┌───────────┐──► up_req/addr/we/wdata/last
//!             grant[i], fault[i], rvalid[i], rdata   ◄────│ N:1, lock │◄── up_grant, up_fault,
//!                                                          │ per burst │    up_rvalid, up_rdata
//!                                                          └───────────┘──► up_dev = device_id[i]
//! ```
//!
//! The mux passes one channel's request through at a time, tagged with that channel's device
//! ID. Once a channel presents a request it keeps the port (so the IOMMU's answer, a grant
//! after a walk or a fault after the record is written, reaches the channel that asked) until
//! a beat it flags `last` (end of its burst: a page boundary, the end of a descriptor) is
//! granted, or the IOMMU refuses a request (`up_fault`), or it stops requesting; so bursts of different channels never
//! interleave and the arbiter's burst rules hold per channel. Between bursts the channel after
//! the last owner goes first (round robin). Read data returns one cycle after a grant, to the
//! channel whose read was granted.
//!
//! **A withdrawn request** (a channel aborted or reset while it waited) may still be owed an
//! answer: the IOMMU may be walking for it or writing its fault record (`answer_pending`:
//! the IOMMU is not idle). The mux then closes the port (`up_req` low) until the IOMMU is
//! idle again and drops any fault it reports meanwhile, so that late answer can never be
//! taken for the next request of that channel or of another one.

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct ChannelMux<const N: usize> {
    pub clock: Signal<In, Clock>,
    // ---- channel side ----
    pub req: [Signal<In, Bit>; N],
    pub addr: [Signal<In, Bits<32>>; N],
    pub we: [Signal<In, Bit>; N],
    pub wdata: [Signal<In, Bits<32>>; N],
    pub last: [Signal<In, Bit>; N],
    pub grant: [Signal<Out, Bit>; N],
    pub fault: [Signal<Out, Bit>; N],
    pub rvalid: [Signal<Out, Bit>; N],
    pub rdata: Signal<Out, Bits<32>>,
    // ---- IOMMU side ----
    pub up_req: Signal<Out, Bit>,
    pub up_addr: Signal<Out, Bits<32>>,
    pub up_we: Signal<Out, Bit>,
    pub up_wdata: Signal<Out, Bits<32>>,
    pub up_last: Signal<Out, Bit>,
    pub up_dev: Signal<Out, Bits<2>>,
    pub up_grant: Signal<In, Bit>,
    pub up_fault: Signal<In, Bit>,
    pub up_rvalid: Signal<In, Bit>,
    pub up_rdata: Signal<In, Bits<32>>,
    /// The IOMMU is not idle: it may still answer a request already passed up.
    pub answer_pending: Signal<In, Bit>,
    /// The channel whose request is on the port this cycle.
    pub owner: Signal<Out, Bits<4>>,
    // ==== implementation ====
    locked: DFF<Bit>,
    lock_owner: DFF<Bits<4>>,
    /// The channel that goes first when the port is free.
    next_first: DFF<Bits<4>>,
    read_owner: DFF<Bits<4>>,
    /// The owner withdrew its request while an answer to it was pending: the port is closed
    /// and faults are dropped until `answer_pending` falls.
    draining: DFF<Bit>,
    /// `up_fault`, unless it answers a withdrawn request.
    fault_in: Signal<Local, Bit>,
    sel: Signal<Local, Bits<4>>,
    found: Signal<Local, Bit>,
    sel_req: Signal<Local, Bit>,
    device_id: [Constant<Bits<2>>; N],
    last_index: Constant<Bits<4>>,
}

impl<const N: usize> ChannelMux<N> {
    /// Channel `i` is device `device_ids[i]`.
    pub fn new(device_ids: [u32; N]) -> Self {
        assert!((1..=16).contains(&N));
        Self {
            clock: Default::default(),
            req: std::array::from_fn(|_| Default::default()),
            addr: std::array::from_fn(|_| Default::default()),
            we: std::array::from_fn(|_| Default::default()),
            wdata: std::array::from_fn(|_| Default::default()),
            last: std::array::from_fn(|_| Default::default()),
            grant: std::array::from_fn(|_| Default::default()),
            fault: std::array::from_fn(|_| Default::default()),
            rvalid: std::array::from_fn(|_| Default::default()),
            rdata: Default::default(),
            up_req: Default::default(),
            up_addr: Default::default(),
            up_we: Default::default(),
            up_wdata: Default::default(),
            up_last: Default::default(),
            up_dev: Default::default(),
            up_grant: Default::default(),
            up_fault: Default::default(),
            up_rvalid: Default::default(),
            up_rdata: Default::default(),
            answer_pending: Default::default(),
            owner: Default::default(),
            locked: Default::default(),
            lock_owner: Default::default(),
            next_first: Default::default(),
            read_owner: Default::default(),
            draining: Default::default(),
            fault_in: Default::default(),
            sel: Default::default(),
            found: Default::default(),
            sel_req: Default::default(),
            device_id: std::array::from_fn(|i| Constant::new((device_ids[i] as u64).into())),
            last_index: Constant::new(((N - 1) as u64).into()),
        }
    }
}

impl<const N: usize> Logic for ChannelMux<N> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, locked, lock_owner, next_first, read_owner, draining);
        // ---- who owns the port this cycle ----
        // Round robin: the first requester at or after `next_first`, else the first one.
        // (`found` is a local: later loop iterations see the value set by earlier ones.)
        self.found.next = false;
        self.sel.next = self.next_first.q.val();
        for i in 0..N {
            if !self.found.val() & self.req[i].val() & (self.next_first.q.val().index() <= i) {
                self.sel.next = i.to_bits();
                self.found.next = true;
            }
        }
        for i in 0..N {
            if !self.found.val() & self.req[i].val() {
                self.sel.next = i.to_bits();
                self.found.next = true;
            }
        }
        if self.locked.q.val() {
            self.sel.next = self.lock_owner.q.val();
        }
        self.owner.next = self.sel.val();

        // ---- pass the owner's request up, and the answers back ----
        self.sel_req.next = false;
        self.up_addr.next = 0.into();
        self.up_we.next = false;
        self.up_wdata.next = 0.into();
        self.up_last.next = false;
        self.up_dev.next = 0.into();
        self.fault_in.next = self.up_fault.val() & !self.draining.q.val();
        for i in 0..N {
            self.grant[i].next = false;
            self.fault[i].next = false;
            self.rvalid[i].next = self.up_rvalid.val() & (self.read_owner.q.val().index() == i);
            if self.sel.val().index() == i {
                self.sel_req.next = self.req[i].val();
                self.up_addr.next = self.addr[i].val();
                self.up_we.next = self.we[i].val();
                self.up_wdata.next = self.wdata[i].val();
                self.up_last.next = self.last[i].val();
                self.up_dev.next = self.device_id[i].val();
                self.grant[i].next = self.up_grant.val();
                self.fault[i].next = self.fault_in.val();
            }
        }
        self.up_req.next = self.sel_req.val() & !self.draining.q.val();
        self.draining.d.next = self.answer_pending.val()
            & (self.draining.q.val() | (self.locked.q.val() & !self.sel_req.val()));
        self.rdata.next = self.up_rdata.val();

        // ---- lock per burst, round robin between bursts ----
        if self.up_grant.val() {
            self.read_owner.d.next = self.sel.val();
        }
        if (self.up_grant.val() & self.up_last.val()) | self.fault_in.val() | !self.sel_req.val() {
            self.locked.d.next = false;
            if self.sel_req.val() {
                if self.sel.val() == self.last_index.val() {
                    self.next_first.d.next = 0.into();
                } else {
                    self.next_first.d.next = self.sel.val() + 1;
                }
            }
        } else {
            // From its first request on (granted or still waiting for the IOMMU, which may be
            // walking or writing a fault record for it) the port stays with this channel.
            self.locked.d.next = true;
            self.lock_owner.d.next = self.sel.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};
    use pretty_assertions::assert_eq;

    /// Two channels that always request; channel i flags `last` on every `burst[i]`-th beat.
    /// The IOMMU side grants every cycle except when `stall` says so. Returns the owner of
    /// each granted beat.
    fn run(burst: [u32; 2], cycles: usize, stall: impl Fn(usize) -> bool) -> Vec<usize> {
        let mut m = ChannelMux::<2>::new([0, 1]);
        m.connect_all();
        let mut beats = [0u32; 2];
        let mut owners = vec![];
        let mut pending_read: Option<usize> = None;
        for c in 0..cycles {
            for i in 0..2 {
                m.req[i].next = true;
                m.addr[i].next = ((i as u64) << 16 | beats[i] as u64).into();
                m.we[i].next = false;
                m.last[i].next = (beats[i] + 1) % burst[i] == 0;
            }
            m.up_rvalid.next = pending_read.is_some();
            m.up_grant.next = false;
            settle(&mut m);
            // Read data goes back to the channel whose read was granted.
            for i in 0..2 {
                assert_eq!(m.rvalid[i].val(), pending_read == Some(i), "cycle {c}");
            }
            pending_read = None;
            if !stall(c) {
                m.up_grant.next = true;
                settle(&mut m);
                let o = m.owner.val().index();
                assert_eq!(m.up_dev.val().index(), o);
                assert_eq!(m.up_addr.val().index() >> 16, o);
                assert!(m.grant[o].val() && !m.grant[1 - o].val());
                beats[o] += 1;
                owners.push(o);
                pending_read = Some(o);
            }
            clock_edge(&mut m, |m| &mut m.clock);
        }
        owners
    }

    #[test]
    fn bursts_alternate_and_never_interleave() {
        let owners = run([4, 3], 28, |_| false);
        assert_eq!(
            owners,
            [
                vec![0; 4],
                vec![1; 3],
                vec![0; 4],
                vec![1; 3],
                vec![0; 4],
                vec![1; 3],
                vec![0; 4],
                vec![1; 3]
            ]
            .concat()
        );
    }

    #[test]
    fn a_stalled_port_keeps_the_burst_with_its_channel() {
        let owners = run([4, 4], 24, |c| c % 3 == 1);
        for w in owners.chunks(4) {
            assert!(w.iter().all(|&o| o == w[0]), "{owners:?}");
        }
        assert_eq!(owners.len(), 16);
        assert!(owners
            .chunks(4)
            .zip(owners.chunks(4).skip(1))
            .all(|(a, b)| a[0] != b[0]));
    }

    #[test]
    fn a_waiting_request_keeps_the_port_until_the_iommu_answers() {
        let mut m = ChannelMux::<2>::new([0, 1]);
        m.connect_all();
        // Channel 1 asks first; the IOMMU walks (no grant) while channel 0 starts asking.
        m.req[1].next = true;
        settle(&mut m);
        assert_eq!(m.owner.val().index(), 1);
        clock_edge(&mut m, |m| &mut m.clock);
        m.req[0].next = true;
        for _ in 0..5 {
            settle(&mut m);
            assert_eq!(
                m.owner.val().index(),
                1,
                "the walk's answer must go to channel 1"
            );
            clock_edge(&mut m, |m| &mut m.clock);
        }
        m.up_fault.next = true;
        settle(&mut m);
        assert!(m.fault[1].val() && !m.fault[0].val());
        clock_edge(&mut m, |m| &mut m.clock);
        m.up_fault.next = false;
        settle(&mut m);
        assert_eq!(m.owner.val().index(), 0);
    }

    #[test]
    fn a_withdrawn_request_closes_the_port_until_the_iommu_is_idle() {
        // Channel 0 asks; the IOMMU starts walking for it (no answer yet); channel 0 is
        // aborted and stops asking. The fault the IOMMU then reports for the old request must
        // reach nobody, and neither channel's new request may go up before the IOMMU is idle.
        let mut m = ChannelMux::<2>::new([0, 1]);
        m.connect_all();
        m.req[0].next = true;
        settle(&mut m);
        clock_edge(&mut m, |m| &mut m.clock);
        m.answer_pending.next = true;
        m.req[0].next = false;
        settle(&mut m);
        clock_edge(&mut m, |m| &mut m.clock);
        // Both ask again while the IOMMU is still busy with the withdrawn request.
        m.req[0].next = true;
        m.req[1].next = true;
        for _ in 0..4 {
            settle(&mut m);
            assert!(!m.up_req.val(), "the port is closed");
            clock_edge(&mut m, |m| &mut m.clock);
        }
        m.up_fault.next = true;
        settle(&mut m);
        assert!(
            !m.fault[0].val() && !m.fault[1].val(),
            "the late fault is dropped"
        );
        clock_edge(&mut m, |m| &mut m.clock);
        m.up_fault.next = false;
        m.answer_pending.next = false;
        settle(&mut m);
        assert!(
            !m.up_req.val(),
            "closed until the IOMMU was idle for a cycle"
        );
        clock_edge(&mut m, |m| &mut m.clock);
        settle(&mut m);
        assert!(m.up_req.val(), "open again");
    }

    #[test]
    fn a_request_withdrawn_while_the_iommu_is_idle_releases_the_port_at_once() {
        let mut m = ChannelMux::<2>::new([0, 1]);
        m.connect_all();
        m.req[0].next = true;
        settle(&mut m);
        clock_edge(&mut m, |m| &mut m.clock);
        m.req[0].next = false;
        m.req[1].next = true;
        settle(&mut m);
        clock_edge(&mut m, |m| &mut m.clock);
        settle(&mut m);
        assert!(m.up_req.val());
        assert_eq!(m.owner.val().index(), 1);
    }

    #[test]
    fn a_fault_ends_the_burst_and_reaches_only_its_channel() {
        let mut m = ChannelMux::<2>::new([0, 1]);
        m.connect_all();
        for i in 0..2 {
            m.req[i].next = true;
            m.last[i].next = false;
        }
        // Channel 0 gets a beat and is locked in.
        m.up_grant.next = true;
        settle(&mut m);
        assert_eq!(m.owner.val().index(), 0);
        clock_edge(&mut m, |m| &mut m.clock);
        m.up_grant.next = false;
        m.up_fault.next = true;
        settle(&mut m);
        assert_eq!(m.owner.val().index(), 0);
        assert!(m.fault[0].val() && !m.fault[1].val());
        clock_edge(&mut m, |m| &mut m.clock);
        m.up_fault.next = false;
        settle(&mut m);
        assert_eq!(
            m.owner.val().index(),
            1,
            "after the fault the other channel goes"
        );
    }
}
