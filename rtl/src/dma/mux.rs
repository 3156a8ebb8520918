//! Round-robin between the DMA initiators in front of the IOMMU (docs/dma.md, "The channel
//! mux"), on the pipelined DMA port ([`crate::dma::port`]).
//!
//! ```text
//!  port i (DmaTarget): valid/addr/we/wdata/last/dev ──►┌─────────────┐──► up (DmaPort): valid/addr/
//!                      ready                        ◄──│ N:1, lock   │    we/wdata/last/dev
//!                      resp/fault/rdata             ◄──│ per burst,  │◄── up.ready
//!                                                      │ outstanding │◄── up.resp/fault/rdata
//!  owner ◄─────────────────────────────────────────────│ beats count │
//!                                                      └─────────────┘
//! ```
//!
//! The mux is combinational on the request path (the chosen port's fields go up, `up.ready`
//! comes back to that port) and counts the beats it has passed up and not yet seen answered
//! (`outstanding`). Responses come back in order and all belong to the **owner**: the mux
//! changes owner only when nothing is outstanding.
//!
//! - **Lock per burst.** From its first accepted beat a port owns the mux until it has had a
//!   beat flagged `last` accepted, or a fault answered, or it stops requesting; and then until
//!   its outstanding beats are answered. So bursts of different ports never interleave and
//!   the arbiter's burst rules hold per channel.
//! - **Round robin per burst.** When the owner's burst ends (a `last` beat or a fault),
//!   `next_first` moves to the port after it. A free mux takes the first requesting port at
//!   or after `next_first`, else the first requesting port, in the same cycle. An owner whose
//!   burst ended may go on at once if no other port requests; if one does, the owner waits
//!   until its beats are answered and the other port gets the next burst.
//! - **Faults.** After a fault response the mux passes no beat (`closed`) until the owner's
//!   outstanding beats are answered (the target faults them all), so an initiator that goes
//!   on issuing after its fault gets nothing performed.
//! - **A withdrawn request** (an aborted channel) needs no special case: the beats it had
//!   issued are counted and answered to it, and nobody else gets the port before that.
//!
//! The switch between two owners therefore costs the target's latency in idle cycles, once
//! per burst of another port; a single busy channel never waits for its own answers.

use crate::dma::port::{DmaPort, DmaTarget};
use rust_hdl::prelude::*;

/// Beats in flight the mux can count (the SoC's targets hold at most 4).
const OUTSTANDING_BITS: usize = 4;

#[derive(LogicBlock)]
pub struct ChannelMux<const N: usize> {
    pub clock: Signal<In, Clock>,
    /// The initiators, port i at index i.
    pub ports: [DmaTarget; N],
    /// To the IOMMU (or the DMA stage of a build without one).
    pub up: DmaPort,
    /// The port whose beats go up this cycle (the owner while it holds the lock).
    pub owner: Signal<Out, Bits<4>>,
    // ==== state ====
    /// A port holds the mux.
    locked: DFF<Bit>,
    /// The port that holds it (the owner of every outstanding beat).
    cur: DFF<Bits<4>>,
    /// The owner's burst ended (a `last` beat accepted, or a fault answered).
    ended: DFF<Bit>,
    /// A fault was answered: no beat passes until nothing is outstanding.
    closed: DFF<Bit>,
    next_first: DFF<Bits<4>>,
    outstanding: DFF<Bits<OUTSTANDING_BITS>>,
    // ==== combinational ====
    rr_sel: Signal<Local, Bits<4>>,
    rr_found: Signal<Local, Bit>,
    sel: Signal<Local, Bits<4>>,
    open: Signal<Local, Bit>,
    others_req: Signal<Local, Bit>,
    cur_valid: Signal<Local, Bit>,
    free: Signal<Local, Bit>,
    drained: Signal<Local, Bit>,
    accept: Signal<Local, Bit>,
    sel_valid: Signal<Local, Bit>,
    fault_resp: Signal<Local, Bit>,
    last_index: Constant<Bits<4>>,
}

impl<const N: usize> ChannelMux<N> {
    pub fn new() -> Self {
        assert!((1..=15).contains(&N), "1 to 15 ports");
        Self {
            clock: Default::default(),
            ports: std::array::from_fn(|_| Default::default()),
            up: Default::default(),
            owner: Default::default(),
            locked: Default::default(),
            cur: Default::default(),
            ended: Default::default(),
            closed: Default::default(),
            next_first: Default::default(),
            outstanding: Default::default(),
            rr_sel: Default::default(),
            rr_found: Default::default(),
            sel: Default::default(),
            open: Default::default(),
            others_req: Default::default(),
            cur_valid: Default::default(),
            free: Default::default(),
            drained: Default::default(),
            accept: Default::default(),
            sel_valid: Default::default(),
            fault_resp: Default::default(),
            last_index: Constant::new((N as u64 - 1).into()),
        }
    }
}

impl<const N: usize> Default for ChannelMux<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Logic for ChannelMux<N> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            locked,
            cur,
            ended,
            closed,
            next_first,
            outstanding
        );
        self.drained.next = self.outstanding.q.val() == 0;
        self.fault_resp.next = self.up.resp.val() & self.up.fault.val();
        // Round robin: the first requester at or after `next_first`, else the first one.
        self.rr_found.next = false;
        self.rr_sel.next = self.next_first.q.val();
        for i in 0..N {
            if !self.rr_found.val()
                & self.ports[i].valid.val()
                & (self.next_first.q.val().index() <= i)
            {
                self.rr_sel.next = i.to_bits();
                self.rr_found.next = true;
            }
        }
        for i in 0..N {
            if !self.rr_found.val() & self.ports[i].valid.val() {
                self.rr_sel.next = i.to_bits();
                self.rr_found.next = true;
            }
        }
        self.others_req.next = false;
        self.cur_valid.next = false;
        for i in 0..N {
            if self.cur.q.val().index() == i {
                self.cur_valid.next = self.ports[i].valid.val();
            } else if self.ports[i].valid.val() {
                self.others_req.next = true;
            }
        }
        // Free to choose: nobody holds the mux, or the owner's burst is over (it ended, or
        // the owner stopped asking) and nothing is owed to it.
        self.free.next = !self.locked.q.val()
            | (self.drained.val() & (self.ended.q.val() | !self.cur_valid.val()));
        // ---- who goes up this cycle ----
        self.sel.next = self.cur.q.val();
        self.open.next = true;
        if self.free.val() {
            self.sel.next = self.rr_sel.val();
        } else if self.closed.q.val() {
            self.open.next = false;
        } else if self.ended.q.val() & self.others_req.val() {
            // Another port waits for the next burst: the owner's beats drain first.
            self.open.next = false;
        }
        // ---- pass the chosen port's request up, the answers back to the owner ----
        self.sel_valid.next = false;
        self.up.addr.next = 0.into();
        self.up.we.next = false;
        self.up.wdata.next = 0.into();
        self.up.last.next = false;
        self.up.dev.next = 0.into();
        for i in 0..N {
            self.ports[i].ready.next = false;
            self.ports[i].resp.next = self.up.resp.val() & (self.cur.q.val().index() == i);
            self.ports[i].fault.next = self.up.fault.val();
            self.ports[i].rdata.next = self.up.rdata.val();
            if self.sel.val().index() == i {
                self.sel_valid.next = self.ports[i].valid.val() & self.open.val();
                self.up.addr.next = self.ports[i].addr.val();
                self.up.we.next = self.ports[i].we.val();
                self.up.wdata.next = self.ports[i].wdata.val();
                self.up.last.next = self.ports[i].last.val();
                self.up.dev.next = self.ports[i].dev.val();
                self.ports[i].ready.next = self.up.ready.val() & self.open.val();
            }
        }
        self.up.valid.next = self.sel_valid.val();
        self.owner.next = self.sel.val();
        self.accept.next = self.sel_valid.val() & self.up.ready.val();

        // ---- bookkeeping ----
        if self.accept.val() & !self.up.resp.val() {
            self.outstanding.d.next = self.outstanding.q.val() + 1;
        } else if !self.accept.val() & self.up.resp.val() {
            self.outstanding.d.next = self.outstanding.q.val() - 1;
        }
        if self.accept.val() {
            self.locked.d.next = true;
            self.cur.d.next = self.sel.val();
            self.ended.d.next = self.up.last.val();
            if self.up.last.val() {
                if self.sel.val() == self.last_index.val() {
                    self.next_first.d.next = 0.into();
                } else {
                    self.next_first.d.next = self.sel.val() + 1;
                }
            }
        } else if self.free.val() {
            // Free, and nobody asks: nothing is owed to anyone.
            self.locked.d.next = false;
            self.ended.d.next = false;
        }
        if self.fault_resp.val() {
            self.ended.d.next = true;
            self.closed.d.next = true;
            if self.cur.q.val() == self.last_index.val() {
                self.next_first.d.next = 0.into();
            } else {
                self.next_first.d.next = self.cur.q.val() + 1;
            }
        } else if self.drained.val() {
            self.closed.d.next = false;
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

    const PORTS: usize = 3;

    /// One initiator: beats numbered 0, 1, ...; beat k of port p has address p << 20 | 4k, is
    /// a read, and flags `last` on every `burst`-th beat. It issues while it has fewer than
    /// `window` beats in flight, pauses at random, and stops at its first fault (then it
    /// waits for its outstanding answers, and goes on after `resume` cycles).
    struct Initiator {
        burst: u32,
        window: usize,
        pause_p: f64,
        next: u32,
        in_flight: VecDeque<u32>,
        stopped: bool,
        paused: bool,
        answered: Vec<(u32, bool)>,
    }

    impl Initiator {
        fn new(burst: u32, window: usize, pause_p: f64) -> Self {
            Initiator {
                burst,
                window,
                pause_p,
                next: 0,
                in_flight: VecDeque::new(),
                stopped: false,
                paused: false,
                answered: vec![],
            }
        }
        fn addr(p: usize, k: u32) -> u32 {
            ((p as u32) << 20) | (4 * k)
        }
        fn valid(&self) -> bool {
            !self.stopped && !self.paused && self.in_flight.len() < self.window
        }
    }

    /// The target: a 2-deep buffer with random ready, answers after a random delay, in
    /// order; refuses beats whose address is in `refused` and, after such a fault, every
    /// beat accepted before its response was presented (the port's fault rule).
    struct Target {
        ready_p: f64,
        max_delay: usize,
        refused: Vec<u32>,
        /// (beat address, cycle from which it may be answered, poisoned).
        queue: VecDeque<(u32, usize, bool)>,
    }

    struct Run {
        /// (port, address, last) of every beat accepted upstream, in order.
        up_beats: Vec<(usize, u32, bool)>,
        /// Per port, its answered beats (number, fault).
        answered: Vec<Vec<(u32, bool)>>,
        /// Cycle of every up beat, for the latency checks.
        cycles: usize,
    }

    fn run(
        seed: u64,
        cycles: usize,
        initiators: &mut [Initiator; PORTS],
        target: &mut Target,
    ) -> Run {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut m = ChannelMux::<PORTS>::new();
        m.connect_all();
        let mut up_beats = vec![];
        let mut owed: VecDeque<usize> = VecDeque::new();
        for c in 0..cycles {
            // The initiators' requests come from their state only.
            for (p, ini) in initiators.iter_mut().enumerate() {
                if ini.stopped && ini.in_flight.is_empty() {
                    ini.stopped = false;
                }
                ini.paused = rng.gen_bool(ini.pause_p);
                m.ports[p].valid.next = ini.valid();
                m.ports[p].addr.next = (Initiator::addr(p, ini.next) as u64).into();
                m.ports[p].we.next = false;
                m.ports[p].wdata.next = 0.into();
                m.ports[p].last.next = (ini.next + 1) % ini.burst == 0;
                m.ports[p].dev.next = (p as u64).into();
            }
            // The target's answer of this cycle, if the head may go.
            let answer = match target.queue.front() {
                Some(&(addr, from, poisoned)) if from <= c => {
                    target.queue.pop_front();
                    Some((addr, poisoned || target.refused.contains(&addr)))
                }
                _ => None,
            };
            let fault_now = answer.is_some_and(|(_, f)| f);
            if fault_now {
                for beat in target.queue.iter_mut() {
                    beat.2 = true;
                }
            }
            m.up.resp.next = answer.is_some();
            m.up.fault.next = fault_now;
            m.up.rdata.next = (answer.map_or(0, |(a, _)| a ^ 0xFFFF_0000) as u64).into();
            let ready = !fault_now && target.queue.len() < 2 && rng.gen_bool(target.ready_p);
            // The request must not depend on ready: settle both ways and compare.
            m.up.ready.next = false;
            settle(&mut m);
            let snapshot = (
                m.up.valid.val(),
                m.up.addr.val(),
                m.up.last.val(),
                m.up.dev.val(),
            );
            m.up.ready.next = ready;
            settle(&mut m);
            assert_eq!(
                snapshot,
                (
                    m.up.valid.val(),
                    m.up.addr.val(),
                    m.up.last.val(),
                    m.up.dev.val()
                ),
                "cycle {c}: the mux's request changed with up.ready"
            );
            // Answers reach the port that owns the beat, and only it.
            if let Some((addr, fault)) = answer {
                let p = owed.pop_front().expect("an answer nobody is owed");
                assert_eq!(addr >> 20, p as u32, "cycle {c}: answer for another port");
                for q in 0..PORTS {
                    assert_eq!(m.ports[q].resp.val(), q == p, "cycle {c}: resp of port {q}");
                }
                assert_eq!(m.ports[p].fault.val(), fault);
                assert_eq!(m.ports[p].rdata.val().index() as u32, addr ^ 0xFFFF_0000);
                let ini = &mut initiators[p];
                let k = ini.in_flight.pop_front().unwrap();
                assert_eq!(Initiator::addr(p, k), addr);
                ini.answered.push((k, fault));
                if fault {
                    ini.stopped = true;
                }
            } else {
                for q in 0..PORTS {
                    assert!(!m.ports[q].resp.val(), "cycle {c}: resp without an answer");
                }
            }
            // At most one port is ready, the one whose request goes up.
            let readies: Vec<usize> = (0..PORTS).filter(|&q| m.ports[q].ready.val()).collect();
            assert!(readies.len() <= 1, "cycle {c}: ready to {readies:?}");
            if m.up.valid.val() && ready {
                let p = m.owner.val().index();
                assert_eq!(readies, vec![p]);
                assert!(initiators[p].valid(), "cycle {c}: port {p} did not ask");
                let addr = m.up.addr.val().index() as u32;
                assert_eq!(addr, Initiator::addr(p, initiators[p].next));
                assert_eq!(m.up.dev.val().index(), p);
                // A new owner only when nothing is owed to another port.
                if let Some(&q) = owed.back() {
                    assert_eq!(q, p, "cycle {c}: port {p} went up while port {q} was owed");
                }
                owed.push_back(p);
                let ini = &mut initiators[p];
                ini.in_flight.push_back(ini.next);
                ini.next += 1;
                up_beats.push((p, addr, m.up.last.val()));
                let delay = rng.gen_range(1..=target.max_delay);
                target.queue.push_back((addr, c + delay, false));
            }
            clock_edge(&mut m, |m| &mut m.clock);
        }
        Run {
            up_beats,
            answered: initiators.iter().map(|i| i.answered.clone()).collect(),
            cycles,
        }
    }

    /// The ports of successive bursts (runs of beats of one port).
    fn burst_owners(beats: &[(usize, u32, bool)]) -> Vec<usize> {
        let mut owners: Vec<usize> = vec![];
        for (i, &(p, _, _)) in beats.iter().enumerate() {
            if i == 0 || beats[i - 1].0 != p || beats[i - 1].2 {
                owners.push(p);
            }
        }
        owners
    }

    #[test]
    fn bursts_alternate_round_robin_and_never_interleave() {
        let mut ini = [
            Initiator::new(4, 4, 0.0),
            Initiator::new(3, 4, 0.0),
            Initiator::new(2, 4, 0.0),
        ];
        let mut target = Target {
            ready_p: 1.0,
            max_delay: 3,
            refused: vec![],
            queue: VecDeque::new(),
        };
        let r = run(1, 200, &mut ini, &mut target);
        let owners = burst_owners(&r.up_beats);
        assert!(owners.len() > 20);
        for (i, &o) in owners.iter().enumerate() {
            assert_eq!(o, i % PORTS, "burst {i}: {owners:?}");
        }
        // Every burst is whole: a port's beats between two of its `last` flags are contiguous.
        for w in r.up_beats.windows(2) {
            if w[0].0 != w[1].0 {
                assert!(w[0].2, "a burst of port {} was cut: {w:?}", w[0].0);
            }
        }
        assert!(r.cycles > 0);
    }

    #[test]
    fn a_single_port_streams_one_beat_per_cycle_across_its_bursts() {
        let mut ini = [
            Initiator::new(4, 8, 0.0),
            Initiator::new(4, 8, 0.0),
            Initiator::new(4, 8, 0.0),
        ];
        // Only port 0 asks: the others stopped for good (they never resume: window 0).
        ini[1].window = 0;
        ini[2].window = 0;
        let mut target = Target {
            ready_p: 1.0,
            max_delay: 3,
            refused: vec![],
            queue: VecDeque::new(),
        };
        // A target answering exactly 3 cycles after acceptance, always ready with room:
        // the buffer check (queue < 2) would throttle, so give it depth by answering fast.
        target.max_delay = 1;
        let r = run(2, 100, &mut ini, &mut target);
        assert_eq!(r.up_beats.len(), 100, "one beat per cycle, bursts included");
    }

    #[test]
    fn random_traffic_keeps_answers_with_their_port_and_faults_stop_a_port() {
        for seed in 0..20 {
            let mut ini = [
                Initiator::new(5, 4, 0.2),
                Initiator::new(3, 2, 0.3),
                Initiator::new(7, 6, 0.1),
            ];
            let refused: Vec<u32> = (0..PORTS)
                .flat_map(|p| [Initiator::addr(p, 9), Initiator::addr(p, 40)])
                .collect();
            let mut target = Target {
                ready_p: 0.7,
                max_delay: 5,
                refused: refused.clone(),
                queue: VecDeque::new(),
            };
            let r = run(100 + seed, 400, &mut ini, &mut target);
            for p in 0..PORTS {
                let answered = &r.answered[p];
                assert!(
                    answered.len() > 5,
                    "seed {seed}: port {p} starved: {:?}",
                    r.answered.iter().map(|a| a.len()).collect::<Vec<_>>()
                );
                // In order, every beat answered once.
                for (i, &(k, _)) in answered.iter().enumerate() {
                    assert_eq!(k, i as u32, "seed {seed} port {p}");
                }
                // A refused beat faults, and so does every later beat of that port issued
                // before it saw the fault; beats after that go through.
                for (i, &(k, fault)) in answered.iter().enumerate() {
                    if refused.contains(&Initiator::addr(p, k)) {
                        assert!(fault, "seed {seed} port {p} beat {k}");
                    }
                    if fault && !refused.contains(&Initiator::addr(p, k)) {
                        assert!(i > 0 && answered[i - 1].1, "seed {seed} port {p}: {k}");
                    }
                }
            }
            // The mux passed nothing of a port between its fault and its last answer.
            assert!(!r.up_beats.is_empty());
        }
    }
}
