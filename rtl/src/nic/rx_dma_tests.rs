//! Block tests of the RX ring engine on rust-hdl's simulator.
//!
//! The bench puts the engine between an RX FIFO and a host RAM (a map of 32-bit words):
//!
//! - the FIFO is a byte array the bench (as the MAC) fills with whole frames at its write
//!   pointer, each followed by a queue entry `stored | deliver << 16 | errors << 32` on
//!   `q_head`/`q_valid` (junk on `q_head` while the queue is empty); `fifo_rd_data` is the
//!   four bytes at the `fifo_rd_pos` of the previous cycle, as the lane buffer gives them;
//!   `fifo_rd_ptr` must always be the start of the oldest frame not yet popped;
//! - the bus grants a request with probability `grant_p` (else it stalls, and the engine must
//!   hold the same request), returns read data one cycle after the grant (junk otherwise),
//!   applies a write at its grant, and answers `bus_fault` instead of a grant for any beat
//!   whose word lies in a refused range (reads and writes) or a read-only range (writes).
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
use std::ops::Range;

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

/// One bus beat: a granted one, or the request the engine presents.
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

struct Bench {
    uut: RxDma,
    rng: StdRng,
    mem: HashMap<u32, u32>,
    grant_p: f64,
    refused: Vec<Range<u64>>,
    read_only: Vec<Range<u64>>,
    read_pending: Option<u32>,
    held: Option<Beat>,
    beats: Vec<Beat>,
    faults: Vec<u32>,
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
            grant_p: 1.0,
            refused: vec![],
            read_only: vec![],
            read_pending: None,
            held: None,
            beats: vec![],
            faults: vec![],
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

    fn cycle(&mut self) {
        let u = &mut self.uut;
        match self.read_pending.take() {
            Some(a) => {
                u.bus_rvalid.next = true;
                u.bus_rdata.next = (self.mem.get(&a).copied().unwrap_or(junk(a)) as u64).into();
            }
            None => {
                u.bus_rvalid.next = false;
                u.bus_rdata.next = (self.rng.gen::<u32>() as u64).into();
            }
        }
        let p = self.last_rd_pos as usize;
        let rd = u32::from_le_bytes(std::array::from_fn(|k| self.fifo[(p + k) % FIFO]));
        u.fifo_rd_data.next = (rd as u64).into();
        u.q_valid.next = !self.queue.is_empty();
        u.q_head.next = match self.queue.front() {
            Some(e) => (*e).into(),
            None => (self.rng.gen::<u64>() & ((1 << 40) - 1)).into(),
        };
        u.bus_grant.next = false;
        u.bus_fault.next = false;
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

        // ---- bus ----
        let req = u.bus_req.val().then(|| Beat {
            addr: u.bus_addr.val().to_u64() as u32,
            we: u.bus_we.val(),
            // Don't care on a read.
            wdata: if u.bus_we.val() {
                u.bus_wdata.val().to_u64() as u32
            } else {
                0
            },
            last: u.bus_last.val(),
        });
        if let Some(h) = self.held.take() {
            assert_eq!(req, Some(h), "a request changed before its grant");
        }
        if let Some(r) = req {
            assert_eq!(r.addr & 3, 0, "unaligned beat");
            if self.grant_p < 1.0 && !self.rng.gen_bool(self.grant_p) {
                self.held = Some(r);
            } else if in_ranges(&self.refused, r.addr)
                || (r.we && in_ranges(&self.read_only, r.addr))
            {
                self.uut.bus_fault.next = true;
                self.faults.push(r.addr);
            } else {
                self.uut.bus_grant.next = true;
                self.beats.push(r);
                if r.we {
                    self.write_word(r.addr, r.wdata);
                } else {
                    self.read_pending = Some(r.addr);
                }
            }
            settle(&mut self.uut);
        }
        let u = &mut self.uut;

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

        clock_edge(&mut self.uut, |u| &mut u.clock);
        self.uut.restart.next = false;
        self.uut.head_write.next = false;
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
        b.grant_p = if i % 2 == 0 { 1.0 } else { 0.5 };
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
        b.grant_p = 0.6;
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
    b.grant_p = 0.7;
    let slots = b.post_buffers(2);
    let refused = b.buffer(slots[0]) + 8;
    b.refuse_word(refused);
    let bad = b.frame(100, 96, ERR_RXE);
    let good = b.frame(64, 60, 0);
    b.receive(&bad);
    b.receive(&good);
    b.run_to_rest();
    assert_eq!(b.faults, vec![refused]);
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
    b.grant_p = 0.7;
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
    assert_eq!(b.faults, vec![b.desc(0) + 8]);
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
    b.grant_p = 0.5;
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
    b.grant_p = 0.5;
    let a = BUFS + PAGE - 20;
    let slot = b.post(a, 0);
    let f = b.frame(1000, 1000, 0);
    b.receive(&f);
    b.run_to_rest();
    let last_word = a + 1000 - 4;
    for beat in &b.beats {
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
        b.grant_p = b.rng.gen_range(0.3..1.0);
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
