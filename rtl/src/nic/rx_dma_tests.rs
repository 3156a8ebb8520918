//! Block tests of the RX ring engine on rust-hdl's simulator.
//!
//! The bench puts the engine between an RX FIFO and a host RAM (a map of 32-bit words):
//!
//! - the FIFO is a byte array the bench (as the MAC) fills with whole frames at its write
//!   pointer, each followed by a queue entry `stored | deliver << 16 | errors << 32` on
//!   `q_head`/`q_valid` (junk on `q_head` while the queue is empty); `fifo_rd_data` is the
//!   four bytes at the `fifo_rd_pos` of the previous cycle, as the lane buffer gives them;
//!   `fifo_rd_ptr` must always be the start of the oldest frame not yet popped;
//! - the DMA port's target follows `crate::dma::port`'s contract: `ready` high with
//!   probability `ready_p` (low in the cycle of a fault response), each accepted beat
//!   answered in order, one response per cycle at most, a random `delay` after its
//!   acceptance (at least 1 cycle); a beat is performed (a write applied, a read's word
//!   returned) in its response cycle. A beat whose word lies in a refused range (or a
//!   read-only range, for a write) is answered with `fault` and its address in `rdata`;
//!   the beats accepted before that response are then faulted too, the beats accepted after
//!   it are performed normally (so an engine that keeps issuing after a fault writes memory
//!   the checks look at). Without a response, `fault` and `rdata` carry junk.
//!
//! Each cycle the bench also checks the port rules: the request fields are the same with
//! `ready` low and high (they depend on registers only), a request not accepted is presented
//! again unchanged or withdrawn, every beat carries the NIC's device ID, `valid` is low in a
//! `soft_reset` cycle, nothing is accepted after a soft reset until every beat in flight was
//! answered, and the engine reports a drop, a DMA error, a frame or a FIFO release only with
//! no beat in flight.
//!
//! Expected values come from the descriptor layout in `regs::nic::rx_desc` and the ring rules
//! in the block's doc comment; the random test asks [`Model`], a re-derivation of those rules.

use super::*;
use crate::nic::frame_queue::DEPTH;
use crate::testing::{clock_edge, settle};
use pretty_assertions::assert_eq;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use regs::nic::rx_desc::{ERRORS_SHIFT, ERR_CE, ERR_DMA, ERR_LEN, ERR_RXE, STA_DD, STA_EOP};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::ops::{Range, RangeInclusive};

const FIFO: usize = 4096;
const RING: u32 = 0x0001_0000;
const BUFS: u32 = 0x0010_0000;
/// Buffers of the directed tests: one per slot, this far apart.
const BUF_STRIDE: u32 = 0x4000;
const PAGE: u32 = regs::PAGE_BYTES;
/// Buffers of odd descriptors (misaligned, high half set) of the directed tests.
const ODD: u32 = 0x0040_0000;
const BOUND: usize = 20_000;

/// The descriptor word the engine fills with a buffer's bytes and, at EOP, the errors.
fn status(eop: bool, errors: u32) -> u32 {
    STA_DD
        | if eop {
            STA_EOP | errors << ERRORS_SHIFT
        } else {
            0
        }
}

/// Deterministic contents of host RAM never written by the bench.
fn junk(word_addr: u32) -> u32 {
    word_addr.wrapping_mul(0x9E37_79B9) ^ 0xA5A5_A5A5
}

fn in_ranges(ranges: &[Range<u64>], addr: u32) -> bool {
    let a = (addr & !3) as u64;
    ranges.iter().any(|r| r.contains(&a))
}

/// A frame as the MAC leaves it in the FIFO.
#[derive(Clone, Debug)]
struct Frame {
    /// All bytes stored (FCS included).
    bytes: Vec<u8>,
    /// Bytes to deliver (without FCS when stripping).
    deliver: u32,
    errors: u32,
}

impl Frame {
    fn random(rng: &mut StdRng, stored: usize, deliver: u32, errors: u32) -> Self {
        Frame {
            bytes: (0..stored).map(|_| rng.gen()).collect(),
            deliver,
            errors,
        }
    }

    fn entry(&self) -> u64 {
        self.bytes.len() as u64
            | (self.deliver as u64) << RX_Q_DELIVER_SHIFT
            | (self.errors as u64) << RX_Q_ERRORS_SHIFT
    }

    fn delivered(&self) -> &[u8] {
        &self.bytes[..self.deliver as usize]
    }
}

/// One DMA beat: an accepted or performed one, or the request the engine presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Beat {
    addr: u32,
    we: bool,
    wdata: u32,
    last: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    Good(u16),
    DmaDrop,
    NoBuffer,
    RxFrame,
    Rxdmt0,
    DmaErr,
    Pop,
}

/// A beat accepted and not yet answered.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    beat: Beat,
    /// The cycle of its response.
    due: u64,
    /// Refused because an earlier beat was (the target's fault rule).
    faulted: bool,
}

/// Everything the engine drives on the request channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Request {
    valid: bool,
    addr: u32,
    we: bool,
    wdata: u32,
    last: bool,
    dev: u32,
}

struct Bench {
    uut: RxDma,
    rng: StdRng,
    mem: HashMap<u32, u32>,
    /// The probability of `ready` in a cycle (not a fault response's).
    ready_p: f64,
    /// Cycles from a beat's acceptance to its response (drawn per beat; the responses stay
    /// in order and one per cycle, so a beat may wait longer).
    delay: RangeInclusive<u64>,
    refused: Vec<Range<u64>>,
    read_only: Vec<Range<u64>>,
    in_flight: VecDeque<InFlight>,
    last_due: u64,
    held: Option<Request>,
    /// Beats performed, in order.
    beats: Vec<Beat>,
    /// Beats accepted (performed or refused), with their cycle.
    accepted: Vec<(u64, Beat)>,
    /// Addresses of the fault responses, in order.
    faults: Vec<u32>,
    /// A soft reset came with beats in flight: none may be accepted until they are answered.
    reset_draining: bool,
    /// Cycles whose request was checked against `ready` with `valid` high.
    independence_checked: u64,
    // ---- FIFO and frame queue ----
    fifo: Vec<u8>,
    wr_ptr: u16,
    /// Start of the oldest frame not yet popped: what `fifo_rd_ptr` must show.
    rd_ptr: u16,
    queue: VecDeque<u64>,
    last_rd_pos: u16,
    events: Vec<(u64, Event)>,
    /// `state_code` values seen.
    states_seen: BTreeSet<usize>,
    slots: u32,
    tail: u32,
    cycle: u64,
}

impl Bench {
    fn new(seed: u64, slots: u32, buf_bytes: u32) -> Self {
        let mut uut = RxDma::new(u32::MAX);
        uut.connect_all();
        uut.enable.next = true;
        uut.rdbal.next = (RING as u64).into();
        uut.rdlen.next = ((16 * slots) as u64).into();
        uut.buf_bytes.next = (buf_bytes as u64).into();
        Bench {
            uut,
            rng: StdRng::seed_from_u64(seed),
            mem: HashMap::new(),
            ready_p: 1.0,
            delay: 1..=4,
            refused: vec![],
            read_only: vec![],
            in_flight: VecDeque::new(),
            last_due: 0,
            held: None,
            beats: vec![],
            accepted: vec![],
            faults: vec![],
            reset_draining: false,
            independence_checked: 0,
            fifo: vec![0; FIFO],
            wr_ptr: 0,
            rd_ptr: 0,
            queue: VecDeque::new(),
            last_rd_pos: 0,
            events: vec![],
            states_seen: BTreeSet::new(),
            slots,
            tail: 0,
            cycle: 0,
        }
    }

    fn desc(&self, slot: u32) -> u32 {
        RING + 16 * slot
    }

    fn word(&self, addr: u32) -> u32 {
        let a = addr & !3;
        *self.mem.get(&a).unwrap_or(&junk(a))
    }

    /// The bus refuses every beat to the word at `addr`.
    fn refuse_word(&mut self, addr: u32) {
        self.refused.push(addr as u64..addr as u64 + 4);
    }

    fn write_word(&mut self, addr: u32, data: u32) {
        self.mem.insert(addr & !3, data);
    }

    fn bytes(&self, addr: u32, len: u32) -> Vec<u8> {
        (0..len)
            .map(|i| {
                let a = addr.wrapping_add(i);
                self.word(a).to_le_bytes()[(a & 3) as usize]
            })
            .collect()
    }

    /// Gives the descriptor at the tail the buffer `addr` (`hi` its high half) and moves the
    /// tail past it; its length and status words hold junk until the write-back.
    fn post(&mut self, addr: u32, hi: u32) -> u32 {
        let slot = self.tail;
        let d = self.desc(slot);
        self.write_word(d, addr);
        self.write_word(d + 4, hi);
        self.write_word(d + 8, 0xFFFF_FFFF);
        self.write_word(d + 12, 0xFFFF_FFFF);
        self.tail = (self.tail + 1) % self.slots;
        self.uut.rdt.next = (self.tail as u64).into();
        slot
    }

    /// Posts `n` descriptors with the usual buffers of their slots.
    fn post_buffers(&mut self, n: u32) -> Vec<u32> {
        (0..n)
            .map(|_| {
                let a = BUFS + BUF_STRIDE * self.tail;
                self.post(a, 0)
            })
            .collect()
    }

    fn buffer(&self, slot: u32) -> u32 {
        self.word(self.desc(slot))
    }

    /// The MAC stores a whole frame and queues its entry.
    fn receive(&mut self, f: &Frame) {
        let used = self.wr_ptr.wrapping_sub(self.rd_ptr) as usize;
        assert!(used + f.bytes.len() <= FIFO && self.queue.len() < DEPTH);
        for b in &f.bytes {
            self.fifo[self.wr_ptr as usize % FIFO] = *b;
            self.wr_ptr = self.wr_ptr.wrapping_add(1);
        }
        self.queue.push_back(f.entry());
    }

    fn frame(&mut self, stored: usize, deliver: u32, errors: u32) -> Frame {
        Frame::random(&mut self.rng, stored, deliver, errors)
    }

    /// The MAC stores a new random frame.
    fn receive_new(&mut self, stored: usize, deliver: u32, errors: u32) -> Frame {
        let f = self.frame(stored, deliver, errors);
        self.receive(&f);
        f
    }

    fn room_for(&self, stored: usize) -> bool {
        let used = self.wr_ptr.wrapping_sub(self.rd_ptr) as usize;
        used + stored <= FIFO && self.queue.len() < DEPTH
    }

    fn rdh(&self) -> u32 {
        self.uut.rdh.val().to_u64() as u32
    }

    fn state(&self) -> RxState {
        self.uut.state.val()
    }

    fn count(&self, want: impl Fn(Event) -> bool) -> usize {
        self.events.iter().filter(|(_, e)| want(*e)).count()
    }

    fn writes(&self) -> Vec<(u32, u32)> {
        self.beats
            .iter()
            .filter(|b| b.we)
            .map(|b| (b.addr, b.wdata))
            .collect()
    }

    /// The request the engine drives now (settled).
    fn request(&self) -> Request {
        let d = &self.uut.dma;
        Request {
            valid: d.valid.val(),
            addr: d.addr.val().to_u64() as u32,
            we: d.we.val(),
            wdata: d.wdata.val().to_u64() as u32,
            last: d.last.val(),
            dev: d.dev.val().to_u64() as u32,
        }
    }

    /// Pulses `soft_reset` in the next cycle; in it the bench empties the FIFO and its frame
    /// queue, as `top` does under CTRL.RST.
    fn soft_reset(&mut self) {
        self.uut.soft_reset.next = true;
    }

    fn cycle(&mut self) {
        // ---- inputs: FIFO, queue, response ----
        let p = self.last_rd_pos as usize;
        let rd = u32::from_le_bytes(std::array::from_fn(|k| self.fifo[(p + k) % FIFO]));
        let junk_entry = self.rng.gen::<u64>() & ((1 << 40) - 1);
        let u = &mut self.uut;
        u.fifo_rd_data.next = (rd as u64).into();
        u.q_valid.next = !self.queue.is_empty();
        u.q_head.next = match self.queue.front() {
            Some(e) => (*e).into(),
            None => junk_entry.into(),
        };
        let mut fault_now = false;
        let (mut resp, mut fault, mut rdata) = (false, self.rng.gen(), self.rng.gen::<u32>());
        if self.in_flight.front().is_some_and(|f| f.due <= self.cycle) {
            let f = self.in_flight.pop_front().unwrap();
            assert_eq!(f.due, self.cycle, "bench: responses one per cycle");
            let b = f.beat;
            resp = true;
            if f.faulted
                || in_ranges(&self.refused, b.addr)
                || (b.we && in_ranges(&self.read_only, b.addr))
            {
                (fault, rdata, fault_now) = (true, b.addr, true);
                self.faults.push(b.addr);
                for g in self.in_flight.iter_mut() {
                    g.faulted = true;
                }
            } else {
                fault = false;
                self.beats.push(b);
                if b.we {
                    self.write_word(b.addr, b.wdata);
                } else {
                    rdata = self.word(b.addr);
                }
            }
        }
        let ready = !fault_now && (self.ready_p >= 1.0 || self.rng.gen_bool(self.ready_p));
        let u = &mut self.uut;
        u.dma.resp.next = resp;
        u.dma.fault.next = fault;
        u.dma.rdata.next = (rdata as u64).into();

        // ---- the request may not depend on ready ----
        u.dma.ready.next = false;
        settle(u);
        let without = self.request();
        let u = &mut self.uut;
        u.dma.ready.next = true;
        settle(u);
        let with = self.request();
        assert_eq!(
            without, with,
            "cycle {}: a request field depends on ready",
            self.cycle
        );
        if with.valid {
            self.independence_checked += 1;
        }
        let u = &mut self.uut;
        u.dma.ready.next = ready;
        settle(u);
        let code = u.state_code.val().to_u64() as usize;
        assert_eq!(
            regs::nic::RX_STATE_NAMES[code],
            format!("{:?}", u.state.val()),
            "state_code"
        );
        self.states_seen.insert(code);
        assert_eq!(
            u.fifo_rd_ptr.val().to_u64() as u16,
            self.rd_ptr,
            "fifo_rd_ptr is the start of the oldest frame"
        );

        // ---- request channel ----
        let req = self.request();
        let resetting = self.uut.soft_reset.val();
        if let Some(h) = self.held.take() {
            if req.valid {
                assert_eq!(req, h, "a request changed before it was accepted");
            }
        }
        if resetting {
            assert!(!req.valid, "valid in a soft reset cycle");
            if !self.in_flight.is_empty() {
                self.reset_draining = true;
            }
        }
        if self.in_flight.is_empty() {
            self.reset_draining = false;
        }
        if req.valid {
            assert_eq!(req.addr & 3, 0, "unaligned beat");
            assert_eq!(req.dev, regs::iommu::DEVICE_NIC, "the NIC's device ID");
            if ready {
                assert!(
                    !self.reset_draining,
                    "cycle {}: a beat accepted after a soft reset before the beats in \
                     flight were answered",
                    self.cycle
                );
                let beat = Beat {
                    addr: req.addr,
                    we: req.we,
                    // Don't care on a read.
                    wdata: if req.we { req.wdata } else { 0 },
                    last: req.last,
                };
                let d = self.rng.gen_range(self.delay.clone());
                let due = (self.cycle + d).max(self.last_due + 1);
                self.last_due = due;
                self.in_flight.push_back(InFlight {
                    beat,
                    due,
                    faulted: false,
                });
                self.accepted.push((self.cycle, beat));
            } else {
                self.held = Some(req);
            }
        }
        let u = &mut self.uut;
        if u.ev_dma_drop.val() | u.c_dma_err.val() | u.q_pop.val() | u.c_rx_frame.val() {
            assert!(
                self.in_flight.is_empty(),
                "cycle {}: a drop, error, frame or release with beats in flight",
                self.cycle
            );
        }

        // ---- FIFO side ----
        if u.q_pop.val() {
            let e = self.queue.pop_front().expect("a pop with the queue empty");
            self.rd_ptr = self.rd_ptr.wrapping_add(e as u16);
            self.events.push((self.cycle, Event::Pop));
        }
        self.last_rd_pos = u.fifo_rd_pos.val().to_u64() as u16;

        // ---- events ----
        let good_bytes = u.ev_good_bytes.val().to_u64() as u16;
        for (on, e) in [
            (u.ev_good.val(), Event::Good(good_bytes)),
            (u.ev_dma_drop.val(), Event::DmaDrop),
            (u.ev_no_buffer.val(), Event::NoBuffer),
            (u.c_rx_frame.val(), Event::RxFrame),
            (u.c_rxdmt0.val(), Event::Rxdmt0),
            (u.c_dma_err.val(), Event::DmaErr),
        ] {
            if on {
                self.events.push((self.cycle, e));
            }
        }
        if resetting {
            // CTRL.RST empties the FIFO and its frame queue.
            self.queue.clear();
            self.wr_ptr = 0;
            self.rd_ptr = 0;
        }

        clock_edge(&mut self.uut, |u| &mut u.clock);
        self.uut.restart.next = false;
        self.uut.head_write.next = false;
        self.uut.soft_reset.next = false;
        self.cycle += 1;
    }

    fn run(&mut self, cycles: usize) {
        for _ in 0..cycles {
            self.cycle();
        }
    }

    fn run_until(&mut self, what: &str, done: impl Fn(&Self) -> bool) {
        for _ in 0..BOUND {
            settle(&mut self.uut);
            if done(self) {
                return;
            }
            self.cycle();
        }
        panic!(
            "RX engine never reached: {what} (state {:?}, rdh {})",
            self.state(),
            self.rdh()
        );
    }

    /// Runs until every queued frame was taken and the engine is idle.
    fn run_to_rest(&mut self) {
        self.run_until("an empty FIFO", |b| {
            b.queue.is_empty() && b.state() == RxState::Idle
        });
    }

    /// The write-back of descriptor `slot`: (length word, status word).
    fn written_back(&self, slot: u32) -> (u32, u32) {
        let d = self.desc(slot);
        (self.word(d + 8), self.word(d + 12))
    }

    /// The bytes the buffer of `slot` must hold for `data`: the data, zeros to the word's end.
    fn assert_buffer(&self, slot: u32, data: &[u8], what: &str) {
        let a = self.buffer(slot);
        let padded = data.len().div_ceil(4) * 4;
        let mut want = data.to_vec();
        want.resize(padded, 0);
        assert_eq!(
            self.bytes(a, padded as u32),
            want,
            "{what}: buffer of slot {slot}"
        );
    }
}

#[test]
fn rx_frame_fits_one_buffer_data_then_length_then_status() {
    let mut b = Bench::new(1, 8, 2048);
    for i in 0..40u32 {
        b.ready_p = if i % 2 == 0 { 1.0 } else { 0.5 };
        b.delay = [1..=1, 3..=3, 1..=6][i as usize % 3].clone();
        let stored = b.rng.gen_range(1..=200usize);
        let deliver = if b.rng.gen_bool(0.5) && stored > 4 {
            stored as u32 - 4
        } else {
            stored as u32
        };
        let f = b.frame(stored, deliver, 0);
        let slot = b.post_buffers(1)[0];
        let buf = b.buffer(slot);
        let desc = b.desc(slot);
        let first_beat = b.beats.len();
        b.receive(&f);
        b.run_to_rest();
        let what = format!("frame {i} ({stored} stored, {deliver} delivered)");
        let words = deliver.div_ceil(4);
        let mut want: Vec<u32> = (0..words).map(|w| buf + 4 * w).collect();
        want.extend([desc + 8, desc + 12]);
        let beats = &b.beats[first_beat..];
        let reads: Vec<u32> = beats.iter().filter(|x| !x.we).map(|x| x.addr).collect();
        assert_eq!(
            reads,
            vec![desc, desc + 4],
            "{what}: the fetch reads two words"
        );
        let writes: Vec<u32> = beats.iter().filter(|x| x.we).map(|x| x.addr).collect();
        assert_eq!(writes, want, "{what}: data, then length, then status");
        assert_eq!(b.written_back(slot), (deliver, status(true, 0)), "{what}");
        b.assert_buffer(slot, f.delivered(), &what);
    }
}

#[test]
fn rx_frame_spans_several_buffers() {
    for (deliver, lengths) in [
        (700u32, vec![256u32, 256, 188]),
        (512, vec![256, 256]),
        (257, vec![256, 1]),
    ] {
        let mut b = Bench::new(2, 8, 256);
        b.ready_p = 0.6;
        let f = b.frame(deliver as usize + 4, deliver, ERR_CE);
        let slots = b.post_buffers(4);
        b.receive(&f);
        b.run_to_rest();
        let mut at = 0usize;
        for (i, len) in lengths.iter().enumerate() {
            let last = i == lengths.len() - 1;
            let what = format!("{deliver} bytes, descriptor {i}");
            assert_eq!(
                b.written_back(slots[i]),
                (*len, status(last, ERR_CE)),
                "{what}"
            );
            b.assert_buffer(slots[i], &f.bytes[at..at + *len as usize], &what);
            at += *len as usize;
        }
        assert_eq!(
            b.rdh(),
            lengths.len() as u32,
            "{deliver}: no descriptor after EOP"
        );
        assert_eq!(b.count(|e| e == Event::RxFrame), 1);
        assert_eq!(
            b.count(|e| matches!(e, Event::Good(_))),
            0,
            "errors: not good"
        );
    }
}

#[test]
fn rx_no_free_descriptor_waits_and_counts_once() {
    let mut b = Bench::new(3, 8, 256);
    let f = b.frame(604, 600, 0);
    b.receive(&f);
    b.run(200);
    assert_eq!(b.state(), RxState::WaitDesc);
    assert!(b.beats.is_empty(), "no bus traffic without a descriptor");
    assert_eq!(b.count(|e| e == Event::NoBuffer), 1);
    // One buffer of the three it needs: it waits again, uncounted.
    let mut slots = b.post_buffers(1);
    b.run(200);
    assert_eq!(b.state(), RxState::WaitDesc);
    assert_eq!(b.written_back(slots[0]), (256, status(false, 0)));
    assert_eq!(b.count(|e| e == Event::NoBuffer), 1);
    slots.extend(b.post_buffers(2));
    b.run_to_rest();
    assert_eq!(b.count(|e| e == Event::NoBuffer), 1);
    assert_eq!(b.written_back(slots[2]), (88, status(true, 0)));
    let mut got = vec![];
    for (s, n) in slots.iter().zip([256, 256, 88]) {
        got.extend(b.bytes(b.buffer(*s), n));
    }
    assert_eq!(got, f.delivered());
    // The next frame that finds no descriptor is counted again.
    b.receive_new(64, 64, 0);
    b.run(50);
    assert_eq!(b.count(|e| e == Event::NoBuffer), 2);
}

#[test]
fn rx_without_a_ring_or_with_the_tail_outside_it_counts_no_buffer_and_writes_nothing() {
    // RDLEN = 0 while frames arrive: each waits and counts in RNBC (it used to wait
    // uncounted, so only the FIFO overflowing showed, as MPC).
    let mut b = Bench::new(4, 8, 256);
    b.uut.rdlen.next = 0.into();
    b.receive_new(64, 60, 0);
    b.run(200);
    assert_eq!(b.state(), RxState::WaitDesc);
    assert_eq!(b.count(|e| e == Event::NoBuffer), 1);
    // A tail beyond the ring (RDLEN shrunk under it): the old engine wrapped at RDLEN and
    // never met the tail, filling descriptors software had not given back.
    b.uut.rdlen.next = ((16 * 8) as u64).into();
    b.post_buffers(3);
    b.uut.rdt.next = 12.into();
    b.run(500);
    assert!(b.beats.is_empty(), "no descriptor fetched");
    assert_eq!(b.state(), RxState::WaitDesc);
    b.receive_new(64, 60, 0);
    b.uut.rdt.next = 3.into();
    b.run_to_rest();
    assert_eq!(b.rdh(), 2, "two frames in the three descriptors given");
    assert_eq!(b.count(|e| e == Event::NoBuffer), 1);
}

#[test]
fn rx_refused_buffer_write_closes_the_frame_with_err_dma() {
    let mut b = Bench::new(4, 8, 2048);
    b.ready_p = 0.7;
    let slots = b.post_buffers(2);
    let refused = b.buffer(slots[0]) + 8;
    b.refuse_word(refused);
    let bad = b.frame(100, 96, ERR_RXE);
    let good = b.frame(64, 60, 0);
    b.receive(&bad);
    b.receive(&good);
    b.run_to_rest();
    // The beats issued behind the refused one (more buffer words, the write-back) were
    // refused with it.
    assert_eq!(b.faults[0], refused);
    let d0 = b.desc(slots[0]);
    for &a in &b.faults[1..] {
        assert!(a > refused || a == d0 + 8 || a == d0 + 12, "{a:#x}");
    }
    assert_eq!(
        b.written_back(slots[0]),
        (0, status(true, ERR_RXE | ERR_DMA))
    );
    let data_writes: Vec<u32> = b
        .writes()
        .iter()
        .map(|w| w.0)
        .filter(|a| (b.buffer(slots[0])..b.buffer(slots[0]) + 2048).contains(a))
        .collect();
    assert_eq!(
        data_writes,
        vec![refused - 8, refused - 4],
        "nothing after the refusal"
    );
    assert_eq!(b.count(|e| e == Event::DmaDrop), 1);
    assert_eq!(b.count(|e| e == Event::DmaErr), 0);
    assert!(!b.uut.halted.val());
    assert_eq!(b.uut.err_addr.val().to_u64() as u32, refused);
    // Both frames released: the FIFO pointer moved by the stored lengths.
    assert_eq!(b.rd_ptr, 164);
    assert_eq!(b.count(|e| e == Event::Pop), 2);
    // The next frame goes on from the next descriptor, read from its own start.
    assert_eq!(b.written_back(slots[1]), (60, status(true, 0)));
    b.assert_buffer(slots[1], good.delivered(), "good frame");
    assert_eq!(b.count(|e| matches!(e, Event::Good(_))), 1);
}

#[test]
fn rx_misaligned_or_high_buffer_address_is_a_dma_drop() {
    let cases = [
        ("misaligned by 1", ODD + 1, 0),
        ("misaligned by 2", ODD + 2, 0),
        ("misaligned by 3", ODD + 3, 0),
        ("high half non-zero", ODD, 1),
        ("high half non-zero, top bit", ODD, 0x8000_0000),
    ];
    for (what, addr, hi) in cases {
        for first in [true, false] {
            // The bad descriptor holds the frame's start, or its second buffer.
            let mut b = Bench::new(5, 8, 256);
            let mut slots = vec![];
            if !first {
                slots.extend(b.post_buffers(1));
            }
            slots.push(b.post(addr, hi));
            slots.extend(b.post_buffers(1));
            let f = b.frame(304, 300, 0);
            let next = b.frame(40, 40, 0);
            b.receive(&f);
            b.receive(&next);
            b.run_to_rest();
            let bad = slots[slots.len() - 2];
            assert_eq!(
                b.written_back(bad),
                (0, status(true, ERR_DMA)),
                "{what} (first {first})"
            );
            if !first {
                assert_eq!(b.written_back(slots[0]), (256, status(false, 0)), "{what}");
            }
            let bad_writes = b
                .writes()
                .iter()
                .filter(|w| (addr & !3..(addr & !3) + 260).contains(&w.0))
                .count();
            assert_eq!(bad_writes, 0, "{what}: nothing written to the bad buffer");
            assert_eq!(b.count(|e| e == Event::DmaDrop), 1, "{what}");
            assert!(!b.uut.halted.val(), "{what}");
            assert_eq!(b.uut.err_addr.val().to_u64() as u32, b.desc(bad), "{what}");
            let last = *slots.last().unwrap();
            assert_eq!(b.written_back(last), (40, status(true, 0)), "{what}");
            b.assert_buffer(last, next.delivered(), what);
        }
    }
}

#[test]
fn rx_buffer_that_would_wrap_the_32_bit_space_is_a_dma_drop() {
    let mut b = Bench::new(6, 8, 256);
    let bad = b.post(0xFFFF_FF80, 0);
    let slots = b.post_buffers(1);
    let f = b.frame(204, 200, 0);
    let next = b.frame(40, 40, 0);
    b.receive(&f);
    b.receive(&next);
    b.run_to_rest();
    for (a, _) in b.writes() {
        assert!(
            (RING..RING + 16 * 8).contains(&a) || a >= BUFS,
            "write at {a:#x}: past 2^32 into low memory"
        );
    }
    assert_eq!(b.written_back(bad), (0, status(true, ERR_DMA)));
    assert_eq!(b.count(|e| e == Event::DmaDrop), 1);
    b.assert_buffer(slots[0], next.delivered(), "next frame");
    // A frame that ends at 2^32 or below fits.
    let mut b = Bench::new(6, 8, 256);
    let top = b.post(0xFFFF_FF80, 0);
    let f = b.frame(128, 128, 0);
    b.receive(&f);
    b.run_to_rest();
    assert_eq!(b.written_back(top), (128, status(true, 0)));
    b.assert_buffer(top, f.delivered(), "frame at the top");
}

#[test]
fn rx_refused_descriptor_fetch_halts_and_drops_the_frame() {
    let mut b = Bench::new(7, 8, 2048);
    b.ready_p = 0.7;
    let slots = b.post_buffers(3);
    let refused = b.desc(1) + 4;
    b.refuse_word(refused);
    let frames: Vec<Frame> = (0..3).map(|i| b.frame(50 + i, 46 + i as u32, 0)).collect();
    for f in &frames {
        b.receive(f);
    }
    b.run_until("halted", |b| b.state() == RxState::Halted);
    b.run(200);
    assert!(b.uut.halted.val());
    assert_eq!(b.state(), RxState::Halted);
    assert_eq!(b.count(|e| e == Event::DmaErr), 1);
    assert_eq!(b.count(|e| e == Event::DmaDrop), 1);
    assert_eq!(b.uut.err_addr.val().to_u64() as u32, refused);
    assert_eq!(b.rdh(), 1, "the head stays on the refused descriptor");
    // Frame 1 is dropped (released), frame 2 waits in the FIFO.
    assert_eq!(b.count(|e| e == Event::Pop), 2);
    assert_eq!(b.queue.len(), 1);
    assert_eq!(b.rd_ptr, 50 + 51);
    assert!(!b
        .writes()
        .iter()
        .any(|w| (b.desc(1)..b.desc(2)).contains(&w.0)));
    b.refused.clear();
    b.uut.restart.next = true;
    b.run_to_rest();
    assert!(!b.uut.halted.val());
    assert_eq!(b.written_back(slots[0]), (46, status(true, 0)));
    assert_eq!(b.written_back(slots[1]), (48, status(true, 0)));
    b.assert_buffer(slots[1], frames[2].delivered(), "frame after the restart");
    assert_eq!(b.rdh(), 2);
}

#[test]
fn rx_refused_write_back_halts_and_drops_the_frame() {
    let mut b = Bench::new(8, 8, 2048);
    let slots = b.post_buffers(2);
    let wb = b.desc(0) as u64;
    b.read_only.push(wb + 8..wb + 16);
    let f = b.frame(80, 80, 0);
    let next = b.frame(70, 70, 0);
    b.receive(&f);
    b.receive(&next);
    b.run_until("halted", |b| b.state() == RxState::Halted);
    // The STATUS beat may have been issued behind LENGTH: refused with it.
    assert_eq!(b.faults[0], b.desc(0) + 8);
    assert!(b.faults.len() == 1 || b.faults[1..] == [b.desc(0) + 12]);
    assert!(
        !b.writes().iter().any(|w| w.0 == b.desc(0) + 12),
        "no STATUS after the refused LENGTH"
    );
    assert_eq!(b.uut.err_addr.val().to_u64() as u32, b.desc(0) + 8);
    assert_eq!(b.count(|e| e == Event::DmaErr), 1);
    assert_eq!(b.count(|e| e == Event::DmaDrop), 1);
    assert_eq!(b.count(|e| matches!(e, Event::Good(_))), 0);
    assert_eq!((b.rdh(), b.rd_ptr, b.queue.len()), (0, 80, 1));
    b.read_only.clear();
    b.uut.restart.next = true;
    b.run_to_rest();
    assert_eq!(b.written_back(slots[0]), (70, status(true, 0)));
    b.assert_buffer(slots[0], next.delivered(), "frame after the restart");
}

#[test]
fn rx_rxdmt0_when_free_descriptors_reach_the_threshold() {
    for (rdmts, threshold) in [(0u64, 8u32), (1, 4), (2, 2)] {
        let mut b = Bench::new(9, 16, 2048);
        b.uut.rdmts.next = rdmts.into();
        b.post_buffers(15);
        let mut at = vec![];
        for k in 1..=15u32 {
            let f = b.frame(64, 64, 0);
            b.receive(&f);
            b.run_to_rest();
            if b.count(|e| e == Event::Rxdmt0) > at.len() {
                at.push(k);
            }
        }
        // After frame k, 15 - k descriptors are free.
        assert_eq!(at, vec![15 - threshold], "RDMTS {rdmts}");
    }
}

#[test]
fn rx_good_frame_event_carries_the_stored_length() {
    let mut b = Bench::new(10, 8, 2048);
    b.post_buffers(4);
    let refused = b.buffer(2);
    b.refuse_word(refused);
    b.receive_new(68, 64, 0);
    b.receive_new(72, 72, ERR_LEN);
    b.receive_new(90, 86, 0);
    b.receive_new(1000, 996, 0);
    b.run_to_rest();
    let good: Vec<u16> = b
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Good(n) => Some(*n),
            _ => None,
        })
        .collect();
    // Not the frame with errors, nor the one whose buffer was refused.
    assert_eq!(good, vec![68, 1000]);
    assert_eq!(b.count(|e| e == Event::RxFrame), 4);
}

#[test]
fn rx_release_frees_the_fifo_and_pops_the_queue() {
    let mut b = Bench::new(11, 8, 2048);
    b.ready_p = 0.5;
    let slots = b.post_buffers(3);
    let frames = [b.frame(68, 64, 0), b.frame(5, 1, 0), b.frame(4, 0, 0)];
    for (i, f) in frames.iter().enumerate() {
        b.receive(f);
        let before = b.rd_ptr;
        b.run_to_rest();
        let pops: Vec<u64> = b
            .events
            .iter()
            .filter(|(_, e)| *e == Event::Pop)
            .map(|(c, _)| *c)
            .collect();
        assert_eq!(pops.len(), i + 1, "frame {i}: one pop");
        assert_eq!(
            b.rd_ptr.wrapping_sub(before) as usize,
            f.bytes.len(),
            "frame {i}: freed by its stored length"
        );
        let status_at = b
            .events
            .iter()
            .rfind(|(_, e)| *e == Event::RxFrame)
            .unwrap()
            .0;
        assert!(
            status_at < *pops.last().unwrap(),
            "frame {i}: pop after write-back"
        );
        assert_eq!(b.written_back(slots[i]), (f.deliver, status(true, 0)));
        b.assert_buffer(slots[i], f.delivered(), "frame");
    }
}

#[test]
fn rx_bursts_end_at_page_boundaries() {
    let mut b = Bench::new(12, 8, 2048);
    b.ready_p = 0.5;
    let a = BUFS + PAGE - 20;
    let slot = b.post(a, 0);
    let f = b.frame(1000, 1000, 0);
    b.receive(&f);
    b.run_to_rest();
    let last_word = a + 1000 - 4;
    for (_, beat) in &b.accepted {
        let x = beat.addr;
        if (a..a + 1000).contains(&x) {
            assert_eq!(beat.last, (x + 4) % PAGE == 0 || x == last_word, "{x:#x}");
        } else if beat.we {
            assert_eq!(beat.last, x % 16 == 12, "write-back {x:#x}");
        } else {
            assert_eq!(beat.last, x % 16 == 4, "fetch {x:#x}");
        }
    }
    b.assert_buffer(slot, f.delivered(), "frame across a page");
}

/// The ring rules applied to whole frames and the descriptors posted for them.
struct Model {
    buf_bytes: u32,
    /// Posted descriptors not yet used: (slot, buffer address, high half).
    posted: VecDeque<(u32, u32, u32)>,
    frames: VecDeque<Frame>,
    /// Bytes of the current frame already placed.
    offset: u32,
    good: Vec<u16>,
    drops: usize,
}

/// What the model says one descriptor's write-back must be.
struct WriteBack {
    slot: u32,
    len: u32,
    status: u32,
    /// The buffer's bytes, when the frame was not dropped.
    data: Option<(u32, Vec<u8>)>,
}

impl Model {
    fn next(&mut self, refused: &[Range<u64>]) -> WriteBack {
        let (slot, addr, hi) = self.posted.pop_front().expect("a posted descriptor");
        let f = self.frames.front().expect("a frame").clone();
        let remaining = f.deliver - self.offset;
        let chunk = remaining.min(self.buf_bytes);
        let words: Vec<u32> = (0..chunk.div_ceil(4))
            .map(|w| addr.wrapping_add(4 * w))
            .collect();
        let bad = hi != 0 || addr & 3 != 0 || addr as u64 + chunk as u64 > 1 << 32;
        let wb = if bad || words.iter().any(|w| in_ranges(refused, *w)) {
            self.drops += 1;
            self.offset = f.deliver;
            WriteBack {
                slot,
                len: 0,
                status: status(true, f.errors | ERR_DMA),
                data: None,
            }
        } else {
            let at = self.offset as usize;
            self.offset += chunk;
            let eop = self.offset == f.deliver;
            if eop && f.errors == 0 {
                self.good.push(f.bytes.len() as u16);
            }
            WriteBack {
                slot,
                len: chunk,
                status: status(eop, f.errors),
                data: Some((addr, f.bytes[at..at + chunk as usize].to_vec())),
            }
        };
        if wb.status & STA_EOP != 0 {
            self.frames.pop_front();
            self.offset = 0;
        }
        wb
    }
}

#[test]
fn rx_random_stress_matches_a_model_of_the_ring() {
    soak::Suite::new(
        "rx_ring_block",
        "cargo test -p rtl --lib nic::rx_dma::tests::rx_random_stress_matches_a_model_of_the_ring -- --exact",
        0..6,
    )
    .run(|seed, tally, _hostile| {
        let buf_bytes = [256, 512, 1024, 2048][seed as usize % 4];
        let slots = 8;
        let mut b = Bench::new(200 + seed, slots, buf_bytes);
        b.ready_p = b.rng.gen_range(0.3..1.0);
        let slowest = b.rng.gen_range(1..=8);
        b.delay = 1..=slowest;
        b.uut.rdmts.next = (seed % 3).into();
        let refused = 0x7000_0000u64..0x7000_4000;
        b.refused.push(refused.clone());
        let mut model = Model {
            buf_bytes,
            posted: VecDeque::new(),
            frames: VecDeque::new(),
            offset: 0,
            good: vec![],
            drops: 0,
        };
        let mut next_to_clean = 0;
        let mut buffer_ranges: Vec<Range<u64>> = vec![];
        // A slow driver on odd seeds: frames often find the ring empty.
        let post_p = if seed % 2 == 1 { 0.004 } else { 0.03 };
        let frames = 50;
        let (mut sent, mut checked) = (0, 0);
        let mut cycles = 0;
        loop {
            settle(&mut b.uut);
            // ---- MAC: a frame now and then, when it fits ----
            if sent < frames && b.rng.gen_bool(0.02) {
                let stored = match b.rng.gen_range(0..10) {
                    0 => b.rng.gen_range(1..8),
                    1 => b.rng.gen_range(1500..3000),
                    _ => b.rng.gen_range(60..800),
                };
                let strip = b.rng.gen_bool(0.5) && stored >= 4;
                let deliver = stored as u32 - if strip { 4 } else { 0 };
                let errors = if b.rng.gen_bool(0.2) {
                    [ERR_CE, ERR_LEN, ERR_RXE][b.rng.gen_range(0..3)]
                } else {
                    0
                };
                if b.room_for(stored) {
                    let f = b.frame(stored, deliver, errors);
                    b.receive(&f);
                    model.frames.push_back(f);
                    sent += 1;
                }
            }
            // ---- driver: clean written-back descriptors in order, post new ones ----
            while next_to_clean != b.rdh() {
                let want = model.next(&b.refused);
                assert_eq!(want.slot, next_to_clean);
                let what = format!("seed {seed}: descriptor {checked} (slot {})", want.slot);
                assert_eq!(b.written_back(want.slot), (want.len, want.status), "{what}");
                if let Some((addr, data)) = want.data {
                    let padded = data.len().div_ceil(4) * 4;
                    let mut bytes = data;
                    bytes.resize(padded, 0);
                    assert_eq!(b.bytes(addr, padded as u32), bytes, "{what}");
                }
                next_to_clean = (next_to_clean + 1) % slots;
                checked += 1;
            }
            let in_ring = (b.tail + slots - next_to_clean) % slots;
            if in_ring < slots - 1 && b.rng.gen_bool(post_p) {
                let slot = b.tail;
                let base = BUFS + 0x8000 * slot + 0x800;
                // Odd buffers below the refused range and at the top of the address space
                // share addresses, so their RAM is not refreshed (the frame data is random).
                let (addr, hi, own) = match b.rng.gen_range(0..40) {
                    0 => (base + b.rng.gen_range(1..4), 0, true),
                    1 => (base, b.rng.gen_range(1..4), true),
                    2 | 3 => (refused.start as u32 - 4 * b.rng.gen_range(0..64), 0, false),
                    4 => (0xFFFF_FF00 + 4 * b.rng.gen_range(0..64), 0, false),
                    _ => (base + 4 * b.rng.gen_range(0..0x400), 0, true),
                };
                if own {
                    // Fresh junk where the frame will go.
                    for w in 0..buf_bytes / 4 {
                        b.mem.remove(&(addr & !3).wrapping_add(4 * w));
                    }
                }
                buffer_ranges.push(addr as u64..addr as u64 + buf_bytes as u64);
                b.post(addr, hi);
                model.posted.push_back((slot, addr, hi));
            }
            if sent == frames && b.queue.is_empty() && b.state() == RxState::Idle {
                break;
            }
            b.cycle();
            cycles += 1;
            assert!(cycles < 1_000_000, "seed {seed}: stuck in {:?}", b.state());
        }
        while next_to_clean != b.rdh() {
            let want = model.next(&b.refused);
            assert_eq!(b.written_back(want.slot), (want.len, want.status));
            next_to_clean = (next_to_clean + 1) % slots;
        }
        assert!(model.frames.is_empty(), "seed {seed}");
        let good: Vec<u16> = b
            .events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Good(n) => Some(*n),
                _ => None,
            })
            .collect();
        assert_eq!(good, model.good, "seed {seed}");
        assert_eq!(b.count(|e| e == Event::DmaDrop), model.drops, "seed {seed}");
        assert_eq!(b.count(|e| e == Event::RxFrame), frames, "seed {seed}");
        assert_eq!(b.count(|e| e == Event::DmaErr), 0, "seed {seed}");
        for (a, _) in b.writes() {
            let ok = (RING..RING + 16 * slots).contains(&a)
                || buffer_ranges.iter().any(|r| r.contains(&(a as u64)));
            assert!(
                ok,
                "seed {seed}: write at {a:#x} outside the ring and the buffers"
            );
        }
            tally.add("rx_frames_checked", sent as u64);
    });
}

#[test]
fn rx_state_codes_follow_the_register_names() {
    // Each cycle of every bench checks the name of `state_code`; this one visits them all.
    let mut b = Bench::new(13, 8, 256);
    b.receive_new(600, 600, 0);
    b.run(20);
    let slots = b.post_buffers(3);
    b.refuse_word(b.buffer(slots[2]));
    b.run_to_rest();
    b.refused.clear();
    b.refuse_word(b.desc(3));
    b.post_buffers(1);
    b.receive_new(64, 64, 0);
    b.run_until("halted", |b| b.state() == RxState::Halted);
    b.run(5);
    assert_eq!(b.states_seen.len(), regs::nic::RX_STATE_NAMES.len());
}

#[test]
fn a_narrow_build_keeps_the_head_in_the_ring_mask() {
    let mut uut = RxDma::new(0xFFFF);
    uut.connect_all();
    uut.head_write.next = true;
    uut.head_wdata.next = 0x0012_3456.into();
    settle(&mut uut);
    clock_edge(&mut uut, |u| &mut u.clock);
    uut.head_write.next = false;
    settle(&mut uut);
    assert_eq!(uut.rdh.val().to_u32(), 0x3456);
}

/// Cycles between the FIFO releases of back-to-back frames of `len` bytes (descriptor
/// fetch, data, write-back, release) on a target with `ready` always high that answers
/// every beat 3 cycles after accepting it (the SoC's latency through the IOMMU), and the
/// cycles of the data beats of the last frame.
fn cycles_per_frame(len: usize) -> (u64, Vec<u64>) {
    let mut b = Bench::new(14, 16, 2048);
    b.delay = 3..=3;
    let slots = b.post_buffers(8);
    let frames: Vec<Frame> = (0..if len > 1000 { 2 } else { 4 })
        .map(|_| b.receive_new(len, len as u32, 0))
        .collect();
    b.run_to_rest();
    for (s, f) in slots.iter().zip(&frames) {
        assert_eq!(b.written_back(*s), (len as u32, status(true, 0)));
        b.assert_buffer(*s, f.delivered(), "back to back");
    }
    let pops: Vec<u64> = b
        .events
        .iter()
        .filter(|(_, e)| *e == Event::Pop)
        .map(|(c, _)| *c)
        .collect();
    let periods: Vec<u64> = pops.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        periods.iter().all(|p| *p == periods[0]),
        "{len} bytes: {periods:?}"
    );
    let buf = b.buffer(slots[frames.len() - 1]);
    let data: Vec<u64> = b
        .accepted
        .iter()
        .filter(|(_, x)| x.we && (buf..buf + 2048).contains(&x.addr))
        .map(|(c, _)| *c)
        .collect();
    (periods[0], data)
}

#[test]
fn rx_cycles_per_frame_at_latency_3() {
    // 60 bytes: 2 fetch beats, 15 data beats, 2 write-back beats; 1514 bytes: 379 data
    // beats. The old engine (request granted in its cycle, read data the next) took 23 and
    // 387 cycles; the fixed part grows by the latency the fetch and the write-back wait for.
    let (short, _) = cycles_per_frame(60);
    let (long, data) = cycles_per_frame(1514);
    println!(
        "RX engine at latency 3, ready 1: 60 B frame {short} cycles, 1514 B frame {long} cycles"
    );
    assert_eq!(short, 28, "60-byte frame");
    assert_eq!(long, 392, "1514-byte frame");
    assert_eq!(data.len(), 379);
    assert_eq!(
        data.last().unwrap() - data[0],
        378,
        "the buffer's words go one per cycle"
    );
}

#[test]
fn rx_request_fields_do_not_depend_on_ready_or_responses() {
    // Every bench cycle compares the request with ready low and high (and drives junk on
    // fault and rdata without a response); this one makes sure many beats were checked
    // while waiting, in every phase.
    let mut b = Bench::new(15, 8, 256);
    b.ready_p = 0.3;
    b.delay = 1..=6;
    let slots = b.post_buffers(4);
    let f = b.receive_new(700, 700, 0);
    b.run_to_rest();
    assert!(b.independence_checked > 400, "{}", b.independence_checked);
    let mut at = 0usize;
    for (s, n) in slots.iter().zip([256usize, 256, 188]) {
        b.assert_buffer(*s, &f.bytes[at..at + n], "frame");
        at += n;
    }
    let reads = b.accepted.iter().filter(|(_, x)| !x.we).count();
    assert_eq!(reads, 6, "two fetch beats per descriptor");
}

#[test]
fn rx_fault_mid_buffer_writes_nothing_after_it_and_drains_before_the_drop() {
    let words = 100u32;
    let mut cascades = 0;
    for (ready_p, delay) in [(1.0, 1..=1), (1.0, 3..=3), (0.5, 1..=6), (0.8, 2..=5)] {
        for k in [0u32, 1, 2, 37, 98, 99] {
            let what = format!("ready {ready_p}, delay {delay:?}, word {k}");
            let mut b = Bench::new(16 + k as u64, 8, 2048);
            b.ready_p = ready_p;
            b.delay = delay.clone();
            let slots = b.post_buffers(2);
            let buf = b.buffer(slots[0]);
            let refused = buf + 4 * k;
            b.refuse_word(refused);
            let f = b.receive_new(4 * words as usize - 2, 4 * words - 2, 0);
            let next = b.receive_new(64, 64, 0);
            b.run_to_rest();
            assert_eq!(b.faults[0], refused, "{what}");
            assert_eq!(b.uut.err_addr.val().to_u64() as u32, refused, "{what}");
            // Word by word: the frame's words before the refused one, junk from it on.
            for w in 0..words {
                let a = buf + 4 * w;
                let want = if w < k {
                    let mut bytes = [0u8; 4];
                    for (i, x) in bytes.iter_mut().enumerate() {
                        *x = *f.delivered().get(4 * w as usize + i).unwrap_or(&0);
                    }
                    u32::from_le_bytes(bytes)
                } else {
                    junk(a)
                };
                assert_eq!(b.word(a), want, "{what}: word {w} at {a:#x}");
            }
            if b.accepted.iter().any(|(_, x)| x.addr == refused + 4) {
                cascades += 1;
            }
            assert_eq!(
                b.written_back(slots[0]),
                (0, status(true, ERR_DMA)),
                "{what}"
            );
            assert_eq!(b.count(|e| e == Event::DmaDrop), 1, "{what}");
            assert_eq!(b.count(|e| e == Event::DmaErr), 0, "{what}");
            assert_eq!(b.written_back(slots[1]), (64, status(true, 0)), "{what}");
            b.assert_buffer(slots[1], next.delivered(), &what);
            assert_eq!(b.rd_ptr as u32, 4 * words - 2 + 64, "{what}");
        }
    }
    // Words after the refused one were issued before its response came (then refused).
    assert!(cascades >= 10, "{cascades}");
}

/// A frame of three buffers on a slow target, and the next frame (one buffer).
fn slow_frame_bench(seed: u64) -> (Bench, Vec<u32>, Frame, Frame) {
    let mut b = Bench::new(seed, 8, 256);
    b.ready_p = 0.8;
    b.delay = 1..=4;
    let slots = b.post_buffers(4);
    let f = b.frame(600, 600, 0);
    let next = b.frame(64, 64, 0);
    b.receive(&f);
    b.receive(&next);
    (b, slots, f, next)
}

#[test]
fn rx_soft_reset_at_every_cycle_stops_issuing_and_drains() {
    let (mut probe, ..) = slow_frame_bench(17);
    probe.run_to_rest();
    let cycles = probe.cycle;
    let mut in_flight_at_reset = 0;
    for k in 0..=cycles {
        let what = format!("soft reset at cycle {k}");
        let (mut b, slots, f, _) = slow_frame_bench(17);
        let old_bufs: Vec<u32> = slots.iter().map(|s| b.buffer(*s)).collect();
        b.run(k as usize);
        let accepted_before = b.accepted.len();
        let reset_cycle = b.cycle;
        if !b.in_flight.is_empty() {
            in_flight_at_reset += 1;
        }
        b.soft_reset();
        b.run(1);
        // At once a new run from slot 0, with a new frame: the engine must not start it
        // while beats of the old one are in flight (the bench checks every acceptance).
        b.tail = 0;
        let fresh_buf = BUFS + 0x0008_0000;
        let fresh = b.post(fresh_buf, 0);
        let g = b.receive_new(100, 96, 0);
        b.run_to_rest();
        let d0 = b.desc(0);
        for (c, x) in &b.accepted[accepted_before..] {
            assert!(*c > reset_cycle, "{what}: a beat in the reset cycle");
            assert!(
                (d0..d0 + 16).contains(&x.addr) || (fresh_buf..fresh_buf + 100).contains(&x.addr),
                "{what}: a beat of the old run after the reset at {:#x}",
                x.addr
            );
        }
        assert_eq!(b.written_back(fresh), (96, status(true, 0)), "{what}");
        b.assert_buffer(fresh, g.delivered(), &what);
        assert_eq!(
            (b.state(), b.rdh(), b.rd_ptr, b.uut.halted.val()),
            (RxState::Idle, 1, 100, false),
            "{what}"
        );
        // The old buffers hold the frame's words where a beat was performed (whole words),
        // junk elsewhere.
        let mut at = 0usize;
        for (&a, n) in old_bufs.iter().zip([256usize, 256, 88]) {
            for w in 0..n.div_ceil(4) as u32 {
                let got = b.word(a + 4 * w);
                let performed = b.beats.iter().any(|x| x.we && x.addr == a + 4 * w);
                if performed {
                    let mut bytes = [0u8; 4];
                    for (i, x) in bytes.iter_mut().enumerate() {
                        let j = at + 4 * w as usize + i;
                        *x = if j < at + n { f.bytes[j] } else { 0 };
                    }
                    assert_eq!(got, u32::from_le_bytes(bytes), "{what}");
                } else {
                    assert_eq!(got, junk(a + 4 * w), "{what}");
                }
            }
            at += n;
        }
    }
    assert!(
        in_flight_at_reset > cycles / 2,
        "{in_flight_at_reset} of {cycles}"
    );
}

#[test]
fn rx_disable_at_every_cycle_finishes_the_frame_and_takes_no_new_one() {
    let (mut probe, ..) = slow_frame_bench(18);
    probe.run_to_rest();
    let cycles = probe.cycle;
    for k in 0..=cycles {
        let what = format!("disabled at cycle {k}");
        let (mut b, slots, f, next) = slow_frame_bench(18);
        b.run(k as usize);
        b.uut.enable.next = false;
        settle(&mut b.uut);
        let off = b.cycle;
        let (busy, queued, rdh) = (b.state() != RxState::Idle, b.queue.len(), b.rdh());
        b.run_until("the engine at rest", |b| {
            b.state() == RxState::Idle && b.in_flight.is_empty()
        });
        b.run(100);
        // Nothing new while disabled: the frame in progress completes, the next one waits.
        let fetched: Vec<u32> = b
            .accepted
            .iter()
            .filter(|(c, x)| !x.we && *c >= off)
            .map(|(_, x)| x.addr)
            .collect();
        let after = (b.rdh(), b.queue.len());
        if !busy {
            assert!(fetched.is_empty(), "{what}: {fetched:x?}");
            assert_eq!(after, (rdh, queued), "{what}");
        } else if queued == 2 {
            assert!(!fetched.contains(&b.desc(slots[3])), "{what}: {fetched:x?}");
            assert_eq!(after, (3, 1), "{what}: the frame in progress completed");
        } else {
            assert_eq!(after, (4, 0), "{what}: the frame in progress completed");
        }
        b.uut.enable.next = true;
        b.run_to_rest();
        let mut at = 0usize;
        for (s, n) in slots.iter().zip([256u32, 256, 88]) {
            let eop = n == 88;
            assert_eq!(b.written_back(*s), (n, status(eop, 0)), "{what}");
            b.assert_buffer(*s, &f.bytes[at..at + n as usize], &what);
            at += n as usize;
        }
        assert_eq!(b.written_back(slots[3]), (64, status(true, 0)), "{what}");
        b.assert_buffer(slots[3], next.delivered(), &what);
    }
}
