//! Block tests of the TX ring engine on rust-hdl's simulator.
//!
//! The bench puts the engine between a host RAM (a map of 32-bit words) and a TX FIFO:
//!
//! - the bus is a DMA target following the port's contract (`dma::port`): `ready` is high with
//!   probability `ready_p` (low in the cycle of a fault response), a beat accepted at `t` is
//!   answered in order at `t + lat` plus a random delay of up to `extra` cycles (at most one
//!   response a cycle; junk on `rdata` and `fault` when `resp` is low), and performed at its
//!   response: a write then lands in memory, a read returns the word. A beat whose word lies
//!   in a refused range, a write to a read-only range, or (with `flaky_p`) a descriptor-ring
//!   beat at random is answered with `fault` and `rdata` = its address, and so is every beat
//!   accepted up to the cycle of that fault response (the strict rule: a beat accepted later is
//!   performed, so an engine that goes on issuing is caught by the memory checks);
//! - every cycle the bench checks that the request does not depend on `ready`, `resp`,
//!   `fault` or `rdata` (settled with both values), that a request not accepted is presented
//!   again unless the engine saw a fault or an abort, and that `ev_drop` and `c_dma_err` come
//!   with no beat in flight;
//! - the FIFO is a byte array written through `fifo_wr_*` by position; every byte written must
//!   lie in the free part (past the committed frames, within the capacity), only in
//!   `ReadData`, within the current descriptor's reserved bytes;
//! - the MAC takes the queued frames a byte per cycle with probability `drain_p`, reading
//!   them from the FIFO at its read pointer (`fifo_rd_ptr`), and pops the frame queue (depth
//!   `frame_queue::DEPTH`, `q_full`) when a frame is done.
//!
//! Expected values come from the descriptor layout in `regs::nic::tx_desc` and the ring rules
//! in the block's doc comment; the random test asks [`model_frame`], a re-derivation of those
//! rules on whole frames.

use super::*;
use crate::nic::frame_queue::DEPTH;
use crate::testing::{clock_edge, settle};
use pretty_assertions::assert_eq;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use regs::nic::tx_desc::{len_cmd, CMD_DEXT, CMD_EOP, CMD_IDE, CMD_IFCS, CMD_RS, STA_DD, STA_ERR};
use std::collections::{HashMap, VecDeque};
use std::ops::Range;

const FIFO: u32 = 1024;
const RING: u32 = 0x0001_0000;
const SLOTS: u32 = 8;
/// Buffers of the directed tests start here.
const BUFS: u32 = 0x0002_0000;
const PAGE: u32 = regs::PAGE_BYTES;
/// Cycles any test phase may take before the bench calls the engine stuck.
const BOUND: usize = 20_000;

fn desc_addr(slot: u32) -> u32 {
    RING + 16 * slot
}

/// A legacy TX descriptor as software writes it.
#[derive(Clone, Copy, Debug)]
struct Desc {
    addr: u32,
    hi: u32,
    len: u32,
    cmd: u32,
    sta: u32,
    /// DTYP (bits 23:20 of the length word) of an extended descriptor: 0 context, 1 data.
    dtyp: u32,
}

impl Desc {
    fn new(addr: u32, len: u32, cmd: u32) -> Self {
        Desc {
            addr,
            hi: 0,
            len,
            cmd,
            sta: 0,
            dtyp: 0,
        }
    }

    fn eop(&self) -> bool {
        self.cmd & CMD_EOP != 0
    }

    /// The word addresses of the buffer: from the word of its first byte to that of its last.
    fn words(&self) -> Vec<u32> {
        let start = self.addr & !3;
        let end = self.addr as u64 + self.len as u64;
        (start as u64..end).step_by(4).map(|a| a as u32).collect()
    }
}

/// A beat the bus accepted and has not answered yet.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    beat: Beat,
    accepted: u64,
    due: u64,
}

/// One bus beat: a performed one, or the request the engine presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Beat {
    addr: u32,
    we: bool,
    wdata: u32,
    last: bool,
}

/// Pulses seen on the event outputs, in order, with their cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    Drop,
    Txdw,
    TxdwDelayed,
    Txqe,
    DmaErr,
}

/// Deterministic contents of host RAM never written by the bench.
fn junk(word_addr: u32) -> u32 {
    word_addr.wrapping_mul(0x9E37_79B9) ^ 0x5A5A_5A5A
}

fn in_ranges(ranges: &[Range<u64>], addr: u32) -> bool {
    let a = (addr & !3) as u64;
    ranges.iter().any(|r| r.contains(&a))
}

struct Bench {
    uut: TxDma,
    rng: StdRng,
    mem: HashMap<u32, u32>,
    /// Probability of `ready` in a cycle.
    ready_p: f64,
    /// Fewest cycles from acceptance to response.
    lat: u64,
    /// Most extra (random) cycles of a response.
    extra: u64,
    inflight: VecDeque<InFlight>,
    /// Cycle of the last response scheduled.
    last_due: u64,
    /// Cycle of the last fault response not in the shadow of another.
    fault_resp_at: Option<u64>,
    /// Cycles in which a beat was accepted.
    accept_cycles: Vec<u64>,
    /// Byte ranges whose beats the bus refuses.
    refused: Vec<Range<u64>>,
    /// Byte ranges whose write beats the bus refuses (a read-only mapping).
    read_only: Vec<Range<u64>>,
    /// Probability of a transient refusal of a descriptor-ring beat.
    flaky_p: f64,
    /// The request of the last cycle, if it was not accepted (and not withdrawn for a cause).
    held: Option<Beat>,
    /// Performed beats, in order.
    beats: Vec<Beat>,
    /// Addresses of beats refused for their own sake (not in a fault's shadow).
    faults: Vec<u32>,
    /// Beats refused in the shadow of a fault.
    shadow_faults: usize,
    /// Cycles with a FIFO write.
    fifo_writes: usize,
    // ---- FIFO, MAC, frame queue ----
    /// FIFO capacity in bytes.
    cap: u32,
    fifo: Vec<u8>,
    rd_ptr: u16,
    committed_end: u16,
    queue: VecDeque<u64>,
    drain_p: f64,
    mac_frame: Vec<u8>,
    /// Frames the MAC took: (bytes, IFCS).
    sent: Vec<(Vec<u8>, bool)>,
    /// Every `q_push_data`, in order.
    pushes: Vec<u64>,
    events: Vec<(u64, Event)>,
    /// `state_code` values seen.
    states_seen: std::collections::BTreeSet<usize>,
    /// (cycle, tdh) at each change of `tdh`.
    heads: Vec<(u64, u32)>,
    tail: u32,
    cycle: u64,
}

impl Bench {
    fn new(seed: u64) -> Self {
        Self::with_fifo(seed, FIFO)
    }

    fn with_fifo(seed: u64, cap: u32) -> Self {
        let mut uut = TxDma::new(cap, u32::MAX);
        uut.connect_all();
        uut.enable.next = true;
        uut.tdbal.next = (RING as u64).into();
        uut.tdlen.next = ((16 * SLOTS) as u64).into();
        Bench {
            uut,
            rng: StdRng::seed_from_u64(seed),
            mem: HashMap::new(),
            ready_p: 1.0,
            lat: 1,
            extra: 3,
            inflight: VecDeque::new(),
            last_due: 0,
            fault_resp_at: None,
            accept_cycles: vec![],
            refused: vec![],
            read_only: vec![],
            flaky_p: 0.0,
            held: None,
            beats: vec![],
            faults: vec![],
            shadow_faults: 0,
            fifo_writes: 0,
            cap,
            fifo: vec![0; cap as usize],
            rd_ptr: 0,
            committed_end: 0,
            queue: VecDeque::new(),
            drain_p: 1.0,
            mac_frame: vec![],
            sent: vec![],
            pushes: vec![],
            events: vec![],
            states_seen: Default::default(),
            heads: vec![(0, 0)],
            tail: 0,
            cycle: 0,
        }
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

    fn put_bytes(&mut self, addr: u32, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            let a = addr.wrapping_add(i as u32);
            let mut w = self.word(a).to_le_bytes();
            w[(a & 3) as usize] = *b;
            self.write_word(a, u32::from_le_bytes(w));
        }
    }

    fn bytes(&self, addr: u32, len: u32) -> Vec<u8> {
        (0..len)
            .map(|i| {
                let a = addr.wrapping_add(i);
                self.word(a).to_le_bytes()[(a & 3) as usize]
            })
            .collect()
    }

    /// Random bytes into the buffer of `d`; returns them.
    fn fill(&mut self, d: &Desc) -> Vec<u8> {
        let data: Vec<u8> = (0..d.len).map(|_| self.rng.gen()).collect();
        self.put_bytes(d.addr, &data);
        data
    }

    fn put_desc(&mut self, slot: u32, d: &Desc) {
        let a = desc_addr(slot);
        self.write_word(a, d.addr);
        self.write_word(a + 4, d.hi);
        self.write_word(a + 8, len_cmd(d.len, d.cmd) | d.dtyp << 20);
        self.write_word(a + 12, d.sta);
    }

    /// Writes `descs` at the tail and moves the tail past them; returns their slots.
    fn post(&mut self, descs: &[Desc]) -> Vec<u32> {
        let mut slots = vec![];
        for d in descs {
            self.put_desc(self.tail, d);
            slots.push(self.tail);
            self.tail = (self.tail + 1) % SLOTS;
        }
        self.uut.tdt.next = (self.tail as u64).into();
        slots
    }

    fn refuses(&self, addr: u32) -> bool {
        in_ranges(&self.refused, addr)
    }

    fn tdh(&self) -> u32 {
        self.uut.tdh.val().to_u64() as u32
    }

    fn state(&self) -> TxState {
        self.uut.state.val()
    }

    fn count(&self, e: Event) -> usize {
        self.events.iter().filter(|(_, x)| *x == e).count()
    }

    /// Performed writes, as (address, data).
    fn writes(&self) -> Vec<(u32, u32)> {
        self.beats
            .iter()
            .filter(|b| b.we)
            .map(|b| (b.addr, b.wdata))
            .collect()
    }

    fn reads(&self) -> Vec<u32> {
        self.beats
            .iter()
            .filter(|b| !b.we)
            .map(|b| b.addr)
            .collect()
    }

    /// The request the engine presents, if any.
    fn request(&self) -> Option<Beat> {
        let d = &self.uut.dma;
        d.valid.val().then(|| Beat {
            addr: d.addr.val().to_u64() as u32,
            we: d.we.val(),
            // Don't care on a read.
            wdata: if d.we.val() {
                d.wdata.val().to_u64() as u32
            } else {
                0
            },
            last: d.last.val(),
        })
    }

    fn cycle(&mut self) {
        let now = self.cycle;
        // ---- the response of this cycle ----
        let mut response: Option<(bool, u32)> = None;
        if self.inflight.front().is_some_and(|f| f.due <= now) {
            let f = self.inflight.pop_front().unwrap();
            let r = f.beat;
            let on_ring = (RING..RING + 16 * SLOTS).contains(&r.addr);
            let shadow = self.fault_resp_at.is_some_and(|t| f.accepted <= t);
            let refused = self.refuses(r.addr)
                || (r.we && in_ranges(&self.read_only, r.addr))
                || (on_ring && self.flaky_p > 0.0 && self.rng.gen_bool(self.flaky_p));
            if shadow {
                self.shadow_faults += 1;
                response = Some((true, r.addr));
            } else if refused {
                self.faults.push(r.addr);
                self.fault_resp_at = Some(now);
                response = Some((true, r.addr));
            } else {
                self.beats.push(r);
                if r.we {
                    self.write_word(r.addr, r.wdata);
                    response = Some((false, self.rng.gen()));
                } else {
                    response = Some((false, self.word(r.addr)));
                }
            }
        }
        let fault_resp = response.is_some_and(|(f, _)| f);
        let ready = !fault_resp && (self.ready_p >= 1.0 || self.rng.gen_bool(self.ready_p));
        let junk_rdata: u32 = self.rng.gen();
        let junk_fault: bool = self.rng.gen();
        let u = &mut self.uut;
        u.fifo_rd_ptr.next = (self.rd_ptr as u64).into();
        u.q_full.next = self.queue.len() == DEPTH;

        // ---- the request depends on none of ready, resp, fault, rdata ----
        u.dma.ready.next = false;
        u.dma.resp.next = false;
        u.dma.fault.next = junk_fault;
        u.dma.rdata.next = (junk_rdata as u64).into();
        settle(u);
        let without = self.request();
        let u = &mut self.uut;
        u.dma.ready.next = true;
        u.dma.resp.next = response.is_some();
        u.dma.fault.next = response.map_or(!junk_fault, |(f, _)| f);
        u.dma.rdata.next = (response.map_or(!junk_rdata, |(_, d)| d) as u64).into();
        settle(u);
        let req = self.request();
        assert_eq!(
            without, req,
            "cycle {now}: the request depends on ready or the response"
        );
        let u = &mut self.uut;
        u.dma.ready.next = ready;
        settle(u);
        assert_eq!(self.request(), req);
        let u = &self.uut;
        assert_eq!(
            u.dma.dev.val().to_u64() as u32,
            regs::iommu::DEVICE_NIC,
            "dev"
        );
        let code = u.state_code.val().to_u64() as usize;
        assert_eq!(
            regs::nic::TX_STATE_NAMES[code],
            format!("{:?}", u.state.val()),
            "state_code"
        );
        self.states_seen.insert(code);
        let aborting = !u.enable.val() || u.soft_reset.val();

        // ---- request channel ----
        if let Some(h) = self.held.take() {
            if !aborting {
                assert_eq!(req, Some(h), "cycle {now}: a request withdrawn or changed");
            }
        }
        if let Some(r) = req {
            assert_eq!(r.addr & 3, 0, "unaligned beat");
            if ready {
                let due =
                    (now + self.lat + self.rng.gen_range(0..=self.extra)).max(self.last_due + 1);
                self.last_due = due;
                self.inflight.push_back(InFlight {
                    beat: r,
                    accepted: now,
                    due,
                });
                self.accept_cycles.push(now);
            } else if !fault_resp {
                self.held = Some(r);
            }
        }
        if self.uut.ev_drop.val() || self.uut.c_dma_err.val() {
            assert!(
                self.inflight.is_empty(),
                "cycle {now}: an error reported with beats in flight"
            );
        }
        let u = &mut self.uut;

        // ---- FIFO writes: only into the free part ----
        let mask = u.fifo_wr_mask.val().to_u64();
        let pos = u.fifo_wr_pos.val().to_u64() as u16;
        let data = (u.fifo_wr_data.val().to_u64() as u32).to_le_bytes();
        let used = self.committed_end.wrapping_sub(self.rd_ptr);
        if mask != 0 {
            assert_eq!(
                u.state.val(),
                TxState::ReadData,
                "a FIFO write outside ReadData"
            );
            self.fifo_writes += 1;
        }
        let wr_ptr = u.wr_ptr.q.val().to_u64() as u16;
        let len = u.len.val().to_u64() as u16;
        for (k, byte) in data.iter().enumerate() {
            if mask & (1 << k) != 0 {
                let p = pos.wrapping_add(k as u16);
                assert!(
                    p.wrapping_sub(wr_ptr) < len,
                    "FIFO byte {p} outside the descriptor's reserved bytes"
                );
                let off = p.wrapping_sub(self.rd_ptr);
                assert!(
                    off >= used && (off as u32) < self.cap,
                    "FIFO byte {p} written outside the free part \
                     (MAC at {}, committed up to {})",
                    self.rd_ptr,
                    self.committed_end
                );
                self.fifo[p as usize % self.cap as usize] = *byte;
            }
        }

        // ---- frame queue ----
        if u.q_push.val() {
            assert!(self.queue.len() < DEPTH, "push into a full frame queue");
            let entry = u.q_push_data.val().to_u64();
            self.queue.push_back(entry);
            self.pushes.push(entry);
            self.committed_end = self.committed_end.wrapping_add(entry as u16);
        }

        // ---- events ----
        for (on, e) in [
            (u.ev_drop.val(), Event::Drop),
            (u.c_txdw.val(), Event::Txdw),
            (u.c_txdw_delayed.val(), Event::TxdwDelayed),
            (u.c_txqe.val(), Event::Txqe),
            (u.c_dma_err.val(), Event::DmaErr),
        ] {
            if on {
                self.events.push((self.cycle, e));
            }
        }
        let tdh = u.tdh.val().to_u64() as u32;
        if self.heads.last().unwrap().1 != tdh {
            self.heads.push((self.cycle, tdh));
        }

        // ---- MAC: a byte per cycle from the committed frames ----
        if let Some(&entry) = self.queue.front() {
            if self.drain_p > 0.0 && self.rng.gen_bool(self.drain_p) {
                let len = (entry & 0xFFFF) as usize;
                if self.mac_frame.len() < len {
                    self.mac_frame
                        .push(self.fifo[self.rd_ptr as usize % self.cap as usize]);
                    self.rd_ptr = self.rd_ptr.wrapping_add(1);
                }
                if self.mac_frame.len() == len {
                    self.queue.pop_front();
                    let ifcs = entry & (1 << TX_Q_IFCS_BIT) != 0;
                    self.sent.push((std::mem::take(&mut self.mac_frame), ifcs));
                }
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
            "TX engine never reached: {what} (state {:?}, tdh {})",
            self.state(),
            self.tdh()
        );
    }

    /// Runs until the ring is empty and the engine idle, then until the MAC sent everything
    /// (if it drains).
    fn run_to_rest(&mut self) {
        let tail = self.tail;
        self.run_until("an empty ring", |b| {
            b.state() == TxState::Idle && b.tdh() == tail
        });
        if self.drain_p > 0.0 {
            self.run_until("an empty FIFO", |b| b.queue.is_empty());
        }
    }

    /// The frame at the head of the queue, read straight from the FIFO, and its entry;
    /// then the MAC takes it at once.
    fn take_queued_frame(&mut self) -> (Vec<u8>, u64) {
        let entry = self.queue.pop_front().expect("a committed frame");
        let len = (entry & 0xFFFF) as u16;
        let bytes = (0..len)
            .map(|i| self.fifo[self.rd_ptr.wrapping_add(i) as usize % self.cap as usize])
            .collect();
        self.rd_ptr = self.rd_ptr.wrapping_add(len);
        (bytes, entry)
    }
}

fn entry(len: u32, ifcs: bool) -> u64 {
    len as u64 | (ifcs as u64) << TX_Q_IFCS_BIT
}

/// Status word the engine must write back over `sta`.
fn written_status(sta: u32, err: bool) -> u32 {
    (sta & !0xF) | STA_DD | if err { STA_ERR } else { 0 }
}

#[test]
fn tx_single_descriptor_frame_is_copied_to_the_fifo_and_committed() {
    let mut b = Bench::new(1);
    b.drain_p = 0.0;
    for i in 0..48u32 {
        b.ready_p = if i % 2 == 0 { 1.0 } else { 0.5 };
        let align = b.rng.gen_range(0..4);
        let len = b.rng.gen_range(1..=200);
        let ifcs = b.rng.gen_bool(0.5);
        let cmd = CMD_EOP | if ifcs { CMD_IFCS } else { 0 };
        let d = Desc::new(BUFS + 0x100 * i + align, len, cmd);
        let data = b.fill(&d);
        b.post(&[d]);
        b.run_to_rest();
        assert_eq!(b.queue.len(), 1, "frame {i}: one queue entry");
        let (bytes, e) = b.take_queued_frame();
        assert_eq!(e, entry(len, ifcs), "frame {i} (align {align})");
        assert_eq!(bytes, data, "frame {i} (align {align}, len {len})");
    }
    assert_eq!(b.pushes.len(), 48);
}

#[test]
fn tx_multi_descriptor_frame_is_one_queue_entry_with_eop_on_the_last() {
    let mut b = Bench::new(2);
    b.drain_p = 0.0;
    b.ready_p = 0.7;
    let descs = [
        Desc::new(BUFS + 1, 7, 0),
        Desc::new(BUFS + 0x103, 1, 0),
        Desc::new(BUFS + 0x200, 0, 0),
        Desc::new(BUFS + 0x302, 50, CMD_EOP | CMD_IFCS),
    ];
    let mut frame = vec![];
    for d in &descs {
        frame.extend(b.fill(d));
    }
    b.post(&descs[..3]);
    b.run_to_rest();
    assert!(b.pushes.is_empty(), "nothing committed before EOP");
    assert_eq!(b.tdh(), 3);
    b.post(&descs[3..]);
    b.run_to_rest();
    assert_eq!(b.pushes, vec![entry(58, true)]);
    assert_eq!(b.take_queued_frame().0, frame);
}

#[test]
fn tx_rs_writes_back_dd_and_keeps_the_other_status_bits() {
    let mut b = Bench::new(3);
    let sta = 0xABCD_12F6;
    let mut d = Desc::new(BUFS + 2, 40, CMD_EOP | CMD_RS);
    d.sta = sta;
    b.fill(&d);
    let slot = b.post(&[d])[0];
    b.run_to_rest();
    let wb = desc_addr(slot) + 12;
    assert_eq!(b.writes(), vec![(wb, written_status(sta, false))]);
    assert_eq!(b.word(wb), 0xABCD_12F1);
    // DD goes out after the last word of the buffer was read.
    let wb_at = b.beats.iter().position(|x| x.we).unwrap();
    let last_read = b.beats.iter().rposition(|x| !x.we).unwrap();
    assert!(last_read < wb_at);
    assert_eq!(b.beats[last_read].addr, (d.addr + d.len - 1) & !3);
    assert_eq!(b.count(Event::Txdw), 1);
    assert_eq!(b.count(Event::TxdwDelayed), 0);
    assert_eq!(b.sent.len(), 1);
}

#[test]
fn tx_rs_with_ide_signals_the_delayed_txdw() {
    let mut b = Bench::new(4);
    let d = Desc::new(BUFS, 16, CMD_EOP | CMD_RS | CMD_IDE);
    b.fill(&d);
    b.post(&[d]);
    b.run_to_rest();
    assert_eq!(b.writes().len(), 1);
    assert_eq!(b.count(Event::TxdwDelayed), 1);
    assert_eq!(b.count(Event::Txdw), 0);
}

#[test]
fn tx_no_rs_means_no_write_back() {
    let mut b = Bench::new(5);
    b.ready_p = 0.6;
    let descs = [
        Desc::new(BUFS + 1, 30, 0),
        Desc::new(BUFS + 0x100, 30, CMD_EOP | CMD_IFCS),
        Desc::new(BUFS + 0x200, 64, CMD_EOP | CMD_IDE),
    ];
    let mut frames = vec![];
    for d in &descs {
        frames.push(b.fill(d));
    }
    b.post(&descs);
    b.run_to_rest();
    assert!(b.writes().is_empty());
    assert_eq!(b.count(Event::Txdw) + b.count(Event::TxdwDelayed), 0);
    let both = [frames[0].clone(), frames[1].clone()].concat();
    assert_eq!(
        b.sent,
        vec![(both, true), (frames[2].clone(), false)],
        "the frames still go out"
    );
}

#[test]
fn tx_head_advances_and_wraps_at_tdlen() {
    let mut b = Bench::new(6);
    b.uut.head_write.next = true;
    b.uut.head_wdata.next = 6.into();
    b.tail = 6;
    b.cycle();
    let descs: Vec<Desc> = (0..4)
        .map(|i| Desc::new(BUFS + 0x100 * i, 8, CMD_EOP))
        .collect();
    for d in &descs {
        b.fill(d);
    }
    let slots = b.post(&descs);
    assert_eq!(slots, vec![6, 7, 0, 1]);
    b.run_to_rest();
    let heads: Vec<u32> = b.heads.iter().map(|(_, h)| *h).collect();
    assert_eq!(heads, vec![0, 6, 7, 0, 1, 2]);
    let fetches: Vec<u32> = b
        .reads()
        .into_iter()
        .filter(|a| (RING..RING + 16 * SLOTS).contains(a) && a % 16 == 0)
        .collect();
    assert_eq!(
        fetches,
        slots.iter().map(|s| desc_addr(*s)).collect::<Vec<_>>()
    );
    assert_eq!(b.sent.len(), 4);
}

#[test]
fn tx_with_the_tail_or_head_outside_the_ring_fetches_nothing_until_they_are_valid() {
    // A TDLEN shrunk below the tail (the register file flags it; only a length write can
    // do this): the old engine wrapped at TDLEN and never met the tail, sending the queued
    // frames again and again.
    let mut b = Bench::new(11);
    let d = Desc::new(BUFS, 60, CMD_EOP);
    b.fill(&d);
    b.post(&[d]);
    b.uut.tdt.next = ((SLOTS + 3) as u64).into();
    b.run(2_000);
    assert_eq!((b.reads(), b.sent.len(), b.tdh()), (vec![], 0, 0));
    // TDLEN 0 with a tail, and a head outside the ring.
    b.uut.tdlen.next = 0.into();
    b.uut.tdt.next = 1.into();
    b.run(500);
    b.uut.head_write.next = true;
    b.uut.head_wdata.next = (SLOTS as u64).into();
    b.cycle();
    b.uut.head_write.next = false;
    b.uut.tdlen.next = ((16 * SLOTS) as u64).into();
    b.run(500);
    assert_eq!((b.reads(), b.sent.len()), (vec![], 0));
    // Valid values: the one frame goes out once.
    b.uut.head_write.next = true;
    b.uut.head_wdata.next = 0.into();
    b.cycle();
    b.uut.head_write.next = false;
    b.run_to_rest();
    assert_eq!((b.sent.len(), b.tdh()), (1, 1));
    b.run(2_000);
    assert_eq!(b.sent.len(), 1, "and only once");
}

#[test]
fn tx_txqe_when_head_reaches_tail() {
    let mut b = Bench::new(7);
    let descs: Vec<Desc> = (0..3)
        .map(|i| Desc::new(BUFS + 0x100 * i, 20, if i == 1 { 0 } else { CMD_EOP }))
        .collect();
    for d in &descs {
        b.fill(d);
    }
    b.post(&descs);
    b.run_to_rest();
    assert_eq!(b.count(Event::Txqe), 1);
    // In the cycle the head is set to the tail.
    let at = b.events.iter().find(|(_, e)| *e == Event::Txqe).unwrap().0;
    assert_eq!(b.heads.last(), Some(&(at + 1, 3)));
    let d = Desc::new(BUFS + 0x400, 20, CMD_EOP);
    b.fill(&d);
    b.post(&[d]);
    b.run_to_rest();
    assert_eq!(b.count(Event::Txqe), 2);
}

#[test]
fn tx_waits_for_fifo_space() {
    let mut b = Bench::new(8);
    b.drain_p = 0.0;
    let descs: Vec<Desc> = (0..4)
        .map(|i| Desc::new(BUFS + 0x200 * i + i, 300, CMD_EOP))
        .collect();
    let frames: Vec<Vec<u8>> = descs.iter().map(|d| b.fill(d)).collect();
    b.post(&descs);
    b.run_until("the fourth frame waiting", |b| {
        b.state() == TxState::WaitSpace && b.tdh() == 3
    });
    let reads_before = b.reads().len();
    b.run(500);
    assert_eq!(b.state(), TxState::WaitSpace);
    assert_eq!(
        b.reads().len(),
        reads_before,
        "no buffer read while waiting"
    );
    assert_eq!(b.pushes.len(), 3);
    // The MAC takes one frame: 3 × 300 bytes used, 124 + 300 free.
    b.drain_p = 1.0;
    b.run_to_rest();
    assert_eq!(
        b.sent.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>(),
        frames
    );
}

#[test]
fn tx_commit_waits_while_the_frame_queue_is_full() {
    let mut b = Bench::new(9);
    b.drain_p = 0.0;
    let descs: Vec<Desc> = (0..DEPTH as u32 + 1)
        .map(|i| Desc::new(BUFS + 0x100 * i, 10, CMD_EOP))
        .collect();
    let frames: Vec<Vec<u8>> = descs.iter().map(|d| b.fill(d)).collect();
    b.post(&descs);
    b.run_until("a full queue", |b| {
        b.state() == TxState::Commit && b.queue.len() == DEPTH
    });
    b.run(100);
    assert_eq!(b.state(), TxState::Commit);
    assert_eq!(b.pushes.len(), DEPTH);
    b.drain_p = 1.0;
    b.run_to_rest();
    assert_eq!(
        b.sent.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>(),
        frames
    );
}

#[test]
fn tx_malformed_descriptor_drops_the_whole_frame_with_sta_err() {
    let cap = FIFO;
    // (what, descriptors of the bad frame, index of the first bad one)
    let high = Desc {
        hi: 1,
        ..Desc::new(BUFS + 0x100, 20, CMD_RS)
    };
    let cases: Vec<(&str, Vec<Desc>, usize)> = vec![
        (
            "high address half non-zero",
            vec![
                Desc::new(BUFS, 20, CMD_RS),
                high,
                Desc::new(BUFS + 0x200, 20, CMD_RS | CMD_EOP),
            ],
            1,
        ),
        (
            "frame longer than the FIFO",
            vec![
                Desc::new(BUFS, cap / 2 + 8, CMD_RS),
                Desc::new(BUFS + cap, cap / 2, CMD_RS),
                Desc::new(BUFS + 2 * cap, 4, CMD_RS | CMD_EOP),
            ],
            1,
        ),
        (
            "buffer wrapping the 32-bit space",
            vec![Desc::new(0xFFFF_FFF0, 0x11, CMD_RS | CMD_EOP)],
            0,
        ),
        (
            "extended data descriptor in the middle of a legacy frame",
            vec![
                Desc::new(BUFS, 20, CMD_RS),
                Desc {
                    dtyp: 1,
                    ..Desc::new(BUFS + 0x100, 20, CMD_RS | CMD_DEXT)
                },
                Desc::new(BUFS + 0x200, 20, CMD_RS | CMD_EOP),
            ],
            1,
        ),
        (
            "EOP frame of zero bytes",
            vec![
                Desc::new(BUFS, 0, CMD_RS),
                Desc::new(BUFS + 0x100, 0, CMD_RS | CMD_EOP),
            ],
            1,
        ),
    ];
    for (what, descs, bad) in cases {
        let mut b = Bench::new(10);
        b.ready_p = 0.7;
        for d in &descs {
            b.fill(d);
        }
        let slots = b.post(&descs);
        // A good frame after it starts where the dropped one started.
        let good = Desc::new(BUFS + 0x4000, 33, CMD_EOP);
        let good_data = b.fill(&good);
        b.post(&[good]);
        b.run_to_rest();
        assert_eq!(b.count(Event::Drop), 1, "{what}");
        assert_eq!(b.pushes, vec![entry(33, false)], "{what}");
        assert_eq!(b.sent, vec![(good_data, false)], "{what}");
        for (i, (d, s)) in descs.iter().zip(&slots).enumerate() {
            assert_eq!(
                b.word(desc_addr(*s) + 12),
                written_status(d.sta, i >= bad),
                "{what}: descriptor {i}"
            );
        }
        // No buffer of the frame is read from the bad descriptor on.
        let reads = b.reads();
        for d in &descs[bad..] {
            for w in d.words() {
                assert!(!reads.contains(&w), "{what}: read {w:#x}");
            }
        }
        assert!(!b.uut.halted.val(), "{what}");
    }
}

#[test]
fn tx_context_descriptors_are_skipped_and_extended_data_descriptors_drop_their_frame_once() {
    // Linux's e1000 with checksum offload or TSO on: a context descriptor (DEXT, DTYP 0; its
    // TUCMD has TCP where a legacy EOP is, IP, and TSE for TSO; PAYLEN in bits 19:0; offload
    // fields in its first qword), then extended data descriptors (DEXT, DTYP 1), RS on the last.
    let ctx = |tucmd: u32, paylen: u32| Desc {
        hi: 0x0036_0022,
        ..Desc::new(BUFS + 0x3000, paylen, CMD_DEXT | tucmd)
    };
    let data = |addr: u32, len: u32, cmd: u32| Desc {
        dtyp: 1,
        ..Desc::new(addr, len, CMD_DEXT | cmd)
    };
    const TCP: u32 = 1 << 0; // TUCMD.TCP, the legacy EOP position
    const IP: u32 = 1 << 1;
    const TSE: u32 = 1 << 2;
    let cases: Vec<(&str, Vec<Desc>)> = vec![
        (
            "UDP checksum offload",
            vec![ctx(0, 0), data(BUFS, 42, CMD_EOP | CMD_RS)],
        ),
        (
            "TCP checksum offload",
            vec![
                ctx(TCP | IP, 0),
                data(BUFS, 20, 0),
                data(BUFS + 0x100, 40, CMD_EOP | CMD_RS),
            ],
        ),
        (
            "TSO",
            vec![
                ctx(TCP | IP | TSE, 4000),
                data(BUFS, 54, 0),
                data(BUFS + 0x100, 1448, CMD_EOP | CMD_RS),
            ],
        ),
    ];
    for (what, descs) in cases {
        let mut b = Bench::new(11);
        b.ready_p = 0.7;
        for d in &descs[1..] {
            b.fill(d);
        }
        let slots = b.post(&descs);
        // A legacy frame after it goes out alone.
        let good = Desc::new(BUFS + 0x4000, 33, CMD_EOP | CMD_RS);
        let good_data = b.fill(&good);
        let good_slot = b.post(&[good])[0];
        b.run_to_rest();
        assert_eq!(b.count(Event::Drop), 1, "{what}: one frame dropped");
        assert_eq!(b.sent, vec![(good_data, false)], "{what}");
        let last = *slots.last().unwrap();
        assert_eq!(
            b.word(desc_addr(last) + 12) & 0xF,
            STA_DD | STA_ERR,
            "{what}: the frame's RS descriptor"
        );
        assert_eq!(b.word(desc_addr(good_slot) + 12) & 0xF, STA_DD, "{what}");
        // Nothing is read at the context descriptor's "address", or from the data buffers.
        let reads = b.reads();
        for d in &descs {
            for w in (d.addr & !3..d.addr + d.len.max(4)).step_by(4) {
                assert!(!reads.contains(&w), "{what}: read {w:#x}");
            }
        }
        assert!(!b.uut.halted.val(), "{what}");
    }
}

#[test]
fn tx_refused_buffer_read_drops_the_frame_and_the_engine_goes_on() {
    let mut b = Bench::new(11);
    b.ready_p = 0.6;
    let descs = [
        Desc::new(BUFS + 1, 40, CMD_RS),
        Desc::new(BUFS + 0x100, 64, CMD_RS),
        Desc::new(BUFS + 0x200, 64, CMD_RS | CMD_EOP),
    ];
    for d in &descs {
        b.fill(d);
    }
    let refused = BUFS + 0x100 + 32;
    b.refuse_word(refused);
    let slots = b.post(&descs);
    let good = Desc::new(BUFS + 0x300, 100, CMD_EOP | CMD_IFCS);
    let good_data = b.fill(&good);
    b.post(&[good]);
    b.run_to_rest();
    assert_eq!(b.faults, vec![refused]);
    assert_eq!(b.count(Event::Drop), 1);
    assert_eq!(b.count(Event::DmaErr), 0);
    assert!(!b.uut.halted.val());
    assert_eq!(b.uut.err_addr.val().to_u64() as u32, refused);
    for (i, (d, s)) in descs.iter().zip(&slots).enumerate() {
        assert_eq!(b.word(desc_addr(*s) + 12), written_status(d.sta, i >= 1));
    }
    // The refused buffer is read up to the refused word, the next one not at all.
    let reads = b.reads();
    let words = descs[1].words();
    assert!(words[..8].iter().all(|w| reads.contains(w)));
    assert!(!words[8..].iter().any(|w| reads.contains(w)));
    assert!(!descs[2].words().iter().any(|w| reads.contains(w)));
    assert_eq!(b.pushes, vec![entry(100, true)]);
    assert_eq!(b.sent, vec![(good_data, true)]);
}

#[test]
fn tx_refused_descriptor_fetch_halts_until_restart() {
    let mut b = Bench::new(12);
    b.ready_p = 0.7;
    let descs = [
        Desc::new(BUFS, 20, CMD_EOP | CMD_RS),
        Desc::new(BUFS + 0x101, 30, CMD_RS),
        Desc::new(BUFS + 0x202, 40, CMD_EOP | CMD_RS),
    ];
    let data: Vec<Vec<u8>> = descs.iter().map(|d| b.fill(d)).collect();
    // The second descriptor of the second frame: the frame is half in the FIFO.
    let refused = desc_addr(2) + 8;
    b.refuse_word(refused);
    b.post(&descs);
    b.run_until("halted", |b| b.state() == TxState::Halted);
    b.run(300);
    assert_eq!(b.state(), TxState::Halted);
    assert!(b.uut.halted.val());
    assert_eq!(b.count(Event::DmaErr), 1);
    assert_eq!(b.count(Event::Drop), 0);
    assert_eq!(b.faults, vec![refused]);
    assert_eq!(b.uut.err_addr.val().to_u64() as u32, refused);
    assert_eq!(b.tdh(), 2, "the head stays on the refused descriptor");
    assert!(!b.uut.dma.valid.val());
    assert_eq!(b.sent.len(), 1);
    // Software fixes the mapping and restarts: the frame goes out once, whole.
    b.refused.clear();
    b.uut.restart.next = true;
    b.run_to_rest();
    assert!(!b.uut.halted.val());
    assert_eq!(b.tdh(), 3);
    assert_eq!(b.count(Event::DmaErr), 1);
    assert_eq!(
        b.sent,
        vec![
            (data[0].clone(), false),
            ([data[1].clone(), data[2].clone()].concat(), false)
        ]
    );
    assert_eq!(b.word(desc_addr(2) + 12), STA_DD);
}

#[test]
fn tx_refused_write_back_halts_and_the_frame_goes_out_once_after_restart() {
    for (what, descs) in [
        (
            "single descriptor",
            vec![Desc::new(BUFS + 1, 50, CMD_EOP | CMD_RS)],
        ),
        (
            "first of two",
            vec![
                Desc::new(BUFS + 3, 50, CMD_RS),
                Desc::new(BUFS + 0x100, 20, CMD_EOP),
            ],
        ),
    ] {
        let mut b = Bench::new(13);
        let data: Vec<u8> = descs.iter().flat_map(|d| b.fill(d)).collect();
        let refused = desc_addr(0) + 12;
        b.read_only.push(RING as u64..(RING + 16 * SLOTS) as u64);
        b.post(&descs);
        b.run_until("halted", |b| b.state() == TxState::Halted);
        assert_eq!(b.count(Event::DmaErr), 1, "{what}");
        assert_eq!(b.tdh(), 0, "{what}");
        assert_eq!(b.uut.err_addr.val().to_u64() as u32, refused, "{what}");
        b.read_only.clear();
        b.uut.restart.next = true;
        b.run_to_rest();
        assert_eq!(b.sent, vec![(data, false)], "{what}");
        assert_eq!(b.word(refused), STA_DD, "{what}");
    }
}

#[test]
fn tx_bursts_end_at_page_boundaries() {
    // A FIFO big enough for a buffer of two pages and more.
    let mut b = Bench::with_fifo(14, 16 << 10);
    b.ready_p = 0.5;
    b.drain_p = 0.0;
    let descs = [
        Desc::new(BUFS + PAGE - 13, 100, CMD_RS),
        Desc::new(BUFS + 3 * PAGE - 8, 2 * PAGE + 11, CMD_EOP | CMD_RS),
    ];
    for d in &descs {
        b.fill(d);
    }
    b.post(&descs);
    b.run_until("an empty ring", |b| {
        b.tdh() == 2 && b.state() == TxState::Idle
    });
    let mut buffer_reads = 0;
    for beat in &b.beats {
        let a = beat.addr;
        if let Some(d) = descs.iter().find(|d| d.words().contains(&a)) {
            let last_word = *d.words().last().unwrap();
            assert_eq!(
                beat.last,
                (a + 4) % PAGE == 0 || a == last_word,
                "buffer word {a:#x}"
            );
            buffer_reads += 1;
        } else if beat.we {
            assert!(beat.last, "a write-back is a burst of its own");
        } else {
            assert_eq!(beat.last, a % 16 == 12, "descriptor word {a:#x}");
        }
    }
    assert_eq!(
        buffer_reads,
        descs.iter().map(|d| d.words().len()).sum::<usize>()
    );
}

#[test]
fn tx_never_reads_outside_the_buffer_words() {
    let mut b = Bench::new(15);
    b.ready_p = 0.6;
    b.drain_p = 1.0;
    let mut descs = vec![
        // Ends exactly at 2^32: not malformed, and nothing past it is read.
        Desc::new(0xFFFF_FF9D, 0x63, CMD_EOP),
        Desc::new(0, 5, CMD_EOP),
        Desc::new(BUFS + PAGE - 1, 2, CMD_EOP),
    ];
    for i in 0..20 {
        let align = b.rng.gen_range(0..4);
        let len = b.rng.gen_range(1..=200);
        let eop = if b.rng.gen_bool(0.6) { CMD_EOP } else { 0 };
        descs.push(Desc::new(BUFS + 0x400 * i + align, len, eop));
    }
    descs.last_mut().unwrap().cmd |= CMD_EOP;
    let mut expected = vec![];
    for d in &descs {
        b.fill(d);
    }
    for chunk in descs.chunks(SLOTS as usize - 1) {
        let slots = b.post(chunk);
        for (d, s) in chunk.iter().zip(slots) {
            expected.extend((0..4).map(|w| desc_addr(s) + 4 * w));
            expected.extend(d.words());
        }
        b.run_to_rest();
    }
    assert_eq!(b.reads(), expected);
    assert_eq!(b.count(Event::Drop), 0);
}

/// What the ring rules make of one posted frame: the frames the MAC sends, the status
/// write-backs (address, data), and the number of drops.
struct Expected {
    sent: Vec<(Vec<u8>, bool)>,
    write_backs: Vec<(u32, u32)>,
    drops: usize,
}

fn model_frame(b: &Bench, descs: &[(u32, Desc)], exp: &mut Expected) {
    let mut bytes = vec![];
    let mut dropping = false;
    for (slot, d) in descs {
        let len = d.len;
        let end = d.addr as u64 + len as u64;
        let malformed = d.hi != 0
            || end > 1 << 32
            || bytes.len() as u32 + len > FIFO
            || (d.eop() && bytes.len() as u32 + len == 0);
        if malformed {
            dropping = true;
        } else if !dropping && len > 0 {
            if d.words().iter().any(|w| b.refuses(*w)) {
                dropping = true;
            } else {
                bytes.extend(b.bytes(d.addr, len));
            }
        }
        if d.cmd & CMD_RS != 0 {
            exp.write_backs
                .push((desc_addr(*slot) + 12, written_status(d.sta, dropping)));
        }
    }
    if dropping {
        exp.drops += 1;
    } else {
        let ifcs = descs.last().unwrap().1.cmd & CMD_IFCS != 0;
        exp.sent.push((bytes, ifcs));
    }
}

/// A random descriptor for the stress test: mostly good, sometimes malformed or refused.
fn random_desc(rng: &mut StdRng, next_buf: &mut u32, refused: &Range<u64>) -> Desc {
    let align = rng.gen_range(0..4);
    let len = match rng.gen_range(0..10) {
        0 => 0,
        1 => rng.gen_range(400..700),
        _ => rng.gen_range(1..300),
    };
    let cmd = if rng.gen_bool(0.7) { CMD_RS } else { 0 }
        | if rng.gen_bool(0.5) { CMD_IFCS } else { 0 }
        | if rng.gen_bool(0.2) { CMD_IDE } else { 0 };
    let mut d = Desc::new(*next_buf + align, len, cmd);
    d.sta = rng.gen::<u32>() & !0xF;
    *next_buf += (len + 64) & !3;
    // The odd buffers share address ranges; each of them is refused or malformed, so the
    // engine never reads it and its bytes do not matter.
    match rng.gen_range(0..40) {
        0 => d.hi = rng.gen_range(1..16),
        1 => {
            d.addr = 0xFFFF_FF00 + rng.gen_range(0..0xF0);
            d.len = 0x100 + rng.gen_range(1..100);
        }
        2 | 3 => {
            // Straddles the start of the refused range (at least one word in it).
            let back = rng.gen_range(0..len.max(1));
            d.addr = (refused.start as u32).wrapping_sub(back);
        }
        _ => {}
    }
    d
}

#[test]
fn tx_random_stress_matches_a_model_of_the_ring() {
    soak::Suite::new(
        "tx_ring_block",
        "cargo test -p rtl --lib nic::tx_dma::tests::tx_random_stress_matches_a_model_of_the_ring -- --exact",
        0..6,
    )
    .run(|seed, tally, _hostile| {
        let mut b = Bench::new(100 + seed);
        b.ready_p = b.rng.gen_range(0.3..1.0);
        b.drain_p = b.rng.gen_range(0.2..1.0);
        b.flaky_p = if seed % 2 == 1 { 0.01 } else { 0.0 };
        b.lat = b.rng.gen_range(1..=4);
        b.extra = b.rng.gen_range(0..=4);
        let toggles = seed >= 3;
        let mut disables = 0u64;
        let refused = 0x7000_0000u64..0x7000_1000;
        b.refused.push(refused.clone());
        let mut exp = Expected {
            sent: vec![],
            write_backs: vec![],
            drops: 0,
        };
        let mut next_buf = 0x0010_0000;
        let mut buffer_words = std::collections::HashSet::new();
        let frames = 60;
        let mut posted = 0;
        let mut cycles = 0;
        loop {
            settle(&mut b.uut);
            let in_ring = (b.tail + SLOTS - b.tdh()) % SLOTS;
            if posted < frames && b.rng.gen_bool(0.05) {
                let n = b.rng.gen_range(1..=4);
                if n < SLOTS - in_ring {
                    let mut descs = vec![];
                    for i in 0..n {
                        let mut d = random_desc(&mut b.rng, &mut next_buf, &refused);
                        if i == n - 1 {
                            d.cmd |= CMD_EOP;
                        }
                        b.fill(&d);
                        buffer_words.extend(d.words());
                        descs.push(d);
                    }
                    let slots = b.post(&descs);
                    let with_slots: Vec<(u32, Desc)> = slots.into_iter().zip(descs).collect();
                    model_frame(&b, &with_slots, &mut exp);
                    posted += 1;
                }
            }
            if b.uut.halted.val() && b.rng.gen_bool(0.05) {
                b.uut.restart.next = true;
            }
            // TCTL.EN off for a while now and then: the descriptor is aborted and redone.
            if toggles && b.rng.gen_bool(if b.uut.enable.val() { 0.005 } else { 0.1 }) {
                b.uut.enable.next = !b.uut.enable.val();
                disables += b.uut.enable.val() as u64;
            }
            if posted == frames
                && b.uut.enable.val()
                && b.tdh() == b.tail
                && b.state() == TxState::Idle
                && b.queue.is_empty()
            {
                break;
            }
            b.cycle();
            cycles += 1;
            assert!(cycles < 400_000, "seed {seed}: stuck in {:?}", b.state());
        }
        let ring_faults = b
            .faults
            .iter()
            .filter(|a| (RING..RING + 16 * SLOTS).contains(*a))
            .count();
        if toggles {
            // A fault not yet reported when the descriptor is aborted is forgotten.
            assert!(b.count(Event::DmaErr) <= ring_faults, "seed {seed}");
        } else {
            assert_eq!(b.count(Event::DmaErr), ring_faults, "seed {seed}");
        }
        assert_eq!(b.count(Event::Drop), exp.drops, "seed {seed}");
        assert_eq!(b.sent.len(), exp.sent.len(), "seed {seed}");
        for (i, (got, want)) in b.sent.iter().zip(&exp.sent).enumerate() {
            assert_eq!(got, want, "seed {seed}: frame {i}");
        }
        assert_eq!(b.writes(), exp.write_backs, "seed {seed}");
        for a in b.reads() {
            assert!(
                (RING..RING + 16 * SLOTS).contains(&a) || buffer_words.contains(&a),
                "seed {seed}: read {a:#x} outside the ring and the buffers"
            );
        }
        assert!(exp.sent.len() > 30, "seed {seed}: too few good frames");
        assert_eq!(toggles, disables > 0, "seed {seed}: disables");
        tally.add("tx_disables", disables);
            tally.add("tx_frames_checked", frames as u64);
    });
}

#[test]
fn tx_state_codes_follow_the_register_names() {
    // Each cycle of every bench checks the name of `state_code`; this one visits them all.
    let mut b = Bench::new(16);
    let d = Desc::new(BUFS, 8, CMD_EOP | CMD_RS);
    b.fill(&d);
    b.post(&[d]);
    b.refuse_word(desc_addr(1));
    b.post(&[d]);
    b.run_until("halted", |b| b.state() == TxState::Halted);
    b.run(5);
    assert_eq!(b.states_seen.len(), regs::nic::TX_STATE_NAMES.len());
}

#[test]
fn a_narrow_build_keeps_the_head_in_the_ring_mask() {
    let mut uut = TxDma::new(FIFO, 0xFFFF);
    uut.connect_all();
    uut.head_write.next = true;
    uut.head_wdata.next = 0x0012_3456.into();
    settle(&mut uut);
    clock_edge(&mut uut, |u| &mut u.clock);
    uut.head_write.next = false;
    settle(&mut uut);
    assert_eq!(uut.tdh.val().to_u32(), 0x3456);
}

/// Cycles from the TDT write of a one-descriptor frame (EOP, RS) of `len` bytes to the engine
/// back in `Idle` with the frame committed, on a bus of latency `lat` that is always ready;
/// and the cycles from the buffer's first beat to its last.
fn cycles_per_frame(lat: u64, len: u32) -> (u64, u64) {
    let mut b = Bench::with_fifo(20, 4096);
    b.lat = lat;
    b.extra = 0;
    b.drain_p = 0.0;
    let d = Desc::new(BUFS, len, CMD_EOP | CMD_RS);
    let data = b.fill(&d);
    b.post(&[d]);
    let start = b.cycle;
    let tail = b.tail;
    b.run_until("the frame committed", |b| {
        b.state() == TxState::Idle && b.tdh() == tail && !b.pushes.is_empty()
    });
    let total = b.cycle - start;
    assert_eq!(b.take_queued_frame().0, data);
    // Accepted beats: 4 descriptor words, the buffer, the write-back.
    let words = d.words().len();
    assert_eq!(b.accept_cycles.len(), 4 + words + 1);
    let buf = &b.accept_cycles[4..4 + words];
    (total, buf[words - 1] - buf[0] + 1)
}

#[test]
fn tx_throughput_at_latency_3() {
    // Idle 1, fetch 4 beats + 3, check 1, wait 1, buffer n beats + 3, write-back 1 + 3,
    // commit 1. The engine on the old one-cycle bus took 26 and 390 cycles.
    let (short, short_buf) = cycles_per_frame(3, 60);
    let (long, long_buf) = cycles_per_frame(3, 1514);
    println!("TX cycles per frame at latency 3: 60 B {short}, 1514 B {long}");
    println!("TX buffer read: 60 B {short_buf} cycles, 1514 B {long_buf} cycles");
    assert_eq!((short_buf, long_buf), (15, 379), "a buffer beat per cycle");
    assert_eq!((short, long), (33, 397));
    // Each cycle of latency costs 3 per frame (the fetch, the buffer, the write-back).
    let lower: Vec<(u64, u64)> = [1, 2]
        .iter()
        .map(|lat| (cycles_per_frame(*lat, 60).0, cycles_per_frame(*lat, 1514).0))
        .collect();
    println!("TX cycles per frame at latency 1 and 2: {lower:?}");
    assert_eq!(lower, vec![(27, 391), (30, 394)]);
}

#[test]
fn tx_fault_mid_buffer_drains_before_the_drop_and_writes_only_the_words_before_it() {
    for seed in 0..12u64 {
        let mut b = Bench::with_fifo(30 + seed, 4096);
        b.lat = 1 + seed % 4;
        b.extra = seed % 3;
        b.ready_p = if seed < 4 { 1.0 } else { 0.7 };
        b.drain_p = 0.0;
        let first = Desc::new(BUFS, 100, CMD_RS);
        let bad = Desc::new(BUFS + 0x1000, 1000, CMD_RS | CMD_EOP);
        b.fill(&first);
        b.fill(&bad);
        let k = 40 + seed as usize * 7;
        let refused = bad.words()[k];
        b.refuse_word(refused);
        b.post(&[first, bad]);
        let good = Desc::new(BUFS + 0x3000, 77, CMD_EOP);
        let good_data = b.fill(&good);
        b.post(&[good]);
        b.run_until("the good frame", |b| b.pushes.len() == 1);
        // The good frame's buffer follows the dropped frame's in the FIFO writes.
        let good_words = good.words().len();
        assert_eq!(
            b.fifo_writes,
            first.words().len() + k + good_words,
            "seed {seed}: FIFO writes"
        );
        assert_eq!(b.faults, vec![refused], "seed {seed}");
        if b.lat > 1 && b.ready_p == 1.0 {
            assert!(b.shadow_faults > 0, "seed {seed}: beats in flight faulted");
        }
        let reads = b.reads();
        let words = bad.words();
        assert!(words[..k].iter().all(|w| reads.contains(w)), "seed {seed}");
        assert!(!words[k..].iter().any(|w| reads.contains(w)), "seed {seed}");
        assert_eq!(b.count(Event::Drop), 1);
        assert_eq!(b.uut.err_addr.val().to_u32(), refused);
        // DD without ERR on the first, with ERR on the bad one.
        assert_eq!(b.word(desc_addr(0) + 12), STA_DD);
        assert_eq!(b.word(desc_addr(1) + 12), STA_DD | STA_ERR);
        assert_eq!(b.pushes, vec![entry(77, false)], "seed {seed}");
        assert_eq!(b.take_queued_frame().0, good_data, "seed {seed}");
    }
}

/// A two-descriptor frame, both with RS, posted on a fresh bench with random ready and delays.
fn abort_bench(seed: u64) -> (Bench, [Desc; 2], Vec<u8>) {
    let mut b = Bench::new(seed);
    b.lat = 3;
    b.extra = 2;
    b.ready_p = 0.8;
    let descs = [
        Desc::new(BUFS + 1, 45, CMD_RS),
        Desc::new(BUFS + 0x1000 - 6, 70, CMD_RS | CMD_EOP | CMD_IFCS),
    ];
    let frame = [b.fill(&descs[0]), b.fill(&descs[1])].concat();
    b.post(&descs);
    (b, descs, frame)
}

#[test]
fn tx_disable_at_every_cycle_stops_issuing_drains_and_resumes_the_descriptor() {
    let span = {
        let (mut b, _, _) = abort_bench(40);
        b.run_to_rest();
        b.cycle
    };
    for at in 0..span {
        let (mut b, _, frame) = abort_bench(40);
        b.run(at as usize);
        b.uut.enable.next = false;
        let off = b.cycle;
        b.run_until("idle with nothing in flight", |b| {
            b.inflight.is_empty() && matches!(b.state(), TxState::Idle)
        });
        b.run(10);
        assert!(
            b.accept_cycles.iter().all(|c| *c < off),
            "disabled at {at}: a beat accepted after the disable"
        );
        assert!(b.inflight.is_empty() && b.uut.outstanding.q.val() == 0);
        let head = b.tdh();
        b.uut.enable.next = true;
        b.run_to_rest();
        assert_eq!(b.sent, vec![(frame.clone(), true)], "disabled at {at}");
        assert_eq!(
            b.writes(),
            vec![(desc_addr(0) + 12, STA_DD), (desc_addr(1) + 12, STA_DD)],
            "disabled at {at} (head {head}): each write-back once"
        );
        assert_eq!(b.count(Event::Txdw), 2, "disabled at {at}");
        assert_eq!(b.count(Event::Drop) + b.count(Event::DmaErr), 0);
    }
}

#[test]
fn tx_soft_reset_at_every_cycle_drains_and_leaves_no_response_for_the_next_run() {
    let span = {
        let (mut b, _, _) = abort_bench(41);
        b.run_to_rest();
        b.cycle
    };
    for at in 0..span {
        let (mut b, _, _) = abort_bench(41);
        b.lat = 6;
        b.run(at as usize);
        // The reset, the FIFOs and queues emptied with it (as CTRL.RST does), and at once a
        // new frame at slot 0 with a tail of 1.
        b.uut.soft_reset.next = true;
        let reset_at = b.cycle;
        let old_in_flight = b.inflight.len();
        b.rd_ptr = 0;
        b.committed_end = 0;
        b.queue.clear();
        b.mac_frame.clear();
        b.sent.clear();
        b.tail = 0;
        let d = Desc::new(BUFS + 0x4000 + 2, 90, CMD_EOP);
        let data = b.fill(&d);
        b.post(&[d]);
        b.cycle();
        b.uut.soft_reset.next = false;
        assert_eq!(b.tdh(), 0);
        // Nothing is issued before the old beats have all been answered.
        let mut drained_at = None;
        for _ in 0..100 {
            if b.inflight.is_empty() && drained_at.is_none() {
                drained_at = Some(b.cycle);
            }
            b.cycle();
        }
        let drained_at = drained_at.expect("the old beats answered");
        let first_new = b.accept_cycles.iter().find(|c| **c > reset_at).copied();
        if let Some(c) = first_new {
            assert!(
                c >= drained_at,
                "reset at {at}: a beat issued at {c} with {old_in_flight} old ones in flight until {drained_at}"
            );
        }
        assert!(!b.accept_cycles.contains(&reset_at));
        b.run_to_rest();
        assert_eq!(b.sent, vec![(data, false)], "reset at {at}");
        assert_eq!(b.tdh(), 1);
    }
}
