//! The RX ring engine: takes complete frames from the RX FIFO (the MAC has already checked
//! them), writes each into one or more buffers of the e1000 legacy RX ring a word per cycle,
//! then writes back LENGTH and STATUS (DD, EOP, ERRORS on the last descriptor). It is a DMA
//! initiator on a pipelined [`DmaPort`] (`crate::dma::port`, the contract) with device ID
//! `regs::iommu::DEVICE_NIC`.
//!
//! ```text
//!  enable, rdbal, rdlen, rdt ──►┌───────────────────────────────────┐  dma (DmaPort, dev NIC):
//!  head_write, head_wdata    ──►│ Idle ─► FetchDesc ─► CheckDesc    │──► valid, addr, we, wdata,
//!  restart, soft_reset       ──►│  │ ▲        ▲            │        │    last, dev  (registers)
//!  buf_bytes, rdmts          ──►│  ▼ │     WaitDesc    WriteData    │◄── ready, resp, fault, rdata
//!  q_valid, q_head           ──►│ Release ◄── WriteBack ◄─┘         │──► fifo_rd_pos (rd_data next cycle)
//!                               │ Discard (refused or bad buffer)   │◄── fifo_rd_data
//!                               │ Halted (refused descriptor)       │──► fifo_rd_ptr, q_pop
//!                               │ outstanding (beats in flight ≤ 4) │──► rdh, state, halted, err_addr,
//!                               └───────────────────────────────────┘    events
//! ```
//!
//! Ring semantics as on the 8254x: head == tail means no free descriptor; a frame that finds
//! none (also: RDLEN 0, or a head or tail outside the ring) waits in the FIFO (counted once
//! in `ev_no_buffer`), and while it waits the MAC keeps
//! filling the FIFO, which drops (and counts) what no longer fits. The data of each buffer is
//! written before its descriptor's write-back, on the same in-order port, so DD is never seen
//! before the data is in memory. The last word of a buffer carries zeros past the frame's end.
//!
//! **Pipelining.** The engine issues a beat whenever the port is ready, without waiting for
//! the responses of the beats before it, and counts the beats in flight in `outstanding`
//! (accepted, response not yet seen); it issues only while fewer than [`MAX_IN_FLIGHT`] are
//! in flight, enough for one beat per cycle at the SoC's latency (accept at t, response at
//! t + 3). The descriptor fetch issues its two reads back to back (the data lands in
//! registers, so there is always room for it); the buffer writes go one per cycle, each
//! word straight from the FIFO's registered read port (`fifo_rd_pos` advances only in the
//! cycle a beat is accepted); the LENGTH and STATUS write-back beats follow the last data beat
//! at once, from a register. A descriptor is complete (head advanced, events) when every
//! beat of it was answered without a fault, so the engine waits in `WriteBack` for its
//! outstanding beats to come back. Request fields are functions of registers only (the
//! address register, a precomputed `last`, the FIFO's read port or a data register, the
//! counters); `soft_reset` pulls `valid` low. `last` flags the second fetch beat, the data
//! beat after which the next buffer word is in another 4 KiB page or which ends the buffer,
//! and the STATUS beat. With `ready` always high and a latency of 3, back-to-back frames take
//! 28 cycles at 60 bytes and 392 at 1514 bytes (the old engine, granted in the request's
//! cycle: 23 and 387). Since a descriptor completes at its last response, RDH, RXDMT0,
//! `c_rx_frame` and `ev_good` come a few cycles after the STATUS beat is issued (before: in
//! the cycle it was granted).
//!
//! **Faults.** At the first response with `fault` the engine stops issuing, records the
//! refused IOVA (`rdata`) in `err_addr`, lets its outstanding beats come back (all faults,
//! by the contract: nothing is written after the refused beat), and only then acts:
//!
//! - a refused buffer write, or a malformed descriptor (buffer address high half non-zero,
//!   not word aligned, or the frame's bytes in it would run past 2^32) drops the frame: the
//!   descriptor is written back with DD, EOP and ERR_DMA and length 0, and `ev_dma_drop`
//!   pulses (the write-back beats that were already in flight behind the data were refused
//!   with it and are issued again);
//! - a refused descriptor fetch or write-back drops the frame and halts the engine (`halted`,
//!   `c_dma_err`) until `restart`.
//!
//! Either way the frame's FIFO space is freed (`Release`: `fifo_rd_ptr`, `q_pop`) only after
//! its last beat was answered.
//!
//! **Disable and reset.** `enable` low stops the engine from taking a new frame or a new
//! descriptor (`Idle`, `WaitDesc`); a frame in its fetch/write phase completes, as before.
//! `soft_reset` puts the registers back at once (`Idle`, head 0, FIFO pointer 0, no halt) and
//! pulls `valid` low in its cycle; beats already accepted complete (whole words), and `Idle`
//! takes no frame until `outstanding` is back at 0, so no response is left for the next run.
//!
//! **Ring width.** The head keeps the bits of `ring_mask` (its next value is ANDed with it):
//! all 32 in simulation, 16 in a build with `regs::SocConfig::narrow_registers`, whose
//! RDLEN/RDT/TDLEN/TDT registers are 16 bits too; there synthesis removes the upper bits of
//! the head and of the ring arithmetic.

use crate::dma::port::DmaPort;
use regs::nic::rx_desc;
use rust_hdl::prelude::*;

/// RX frame-queue entry: bits 15:0 bytes stored in the FIFO (FCS included), 31:16 bytes to
/// deliver (without FCS when stripping), 39:32 the ERRORS byte.
pub const RX_Q_DELIVER_SHIFT: usize = 16;
pub const RX_Q_ERRORS_SHIFT: usize = 32;

/// Beats the engine keeps in flight at most (accepted, response not yet seen): one beat per
/// cycle up to a latency of 4 cycles from acceptance to response.
pub const MAX_IN_FLIGHT: u32 = 4;

// The write-back writes LENGTH, then STATUS in the next word.
const _: () = assert!(rx_desc::STATUS_WORD == rx_desc::LEN_CSUM + 4);

/// Engine states in encoding order (`regs::nic::RX_STATE_NAMES`).
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum RxState {
    Idle,
    WaitDesc,
    FetchDesc,
    CheckDesc,
    WriteData,
    WriteBack,
    Discard,
    Release,
    Halted,
}

#[derive(LogicBlock)]
pub struct RxDma {
    pub clock: Signal<In, Clock>,
    pub soft_reset: Signal<In, Bit>,
    pub enable: Signal<In, Bit>,
    pub rdbal: Signal<In, Bits<32>>,
    pub rdlen: Signal<In, Bits<32>>,
    pub rdt: Signal<In, Bits<32>>,
    pub head_write: Signal<In, Bit>,
    pub head_wdata: Signal<In, Bits<32>>,
    pub restart: Signal<In, Bit>,
    /// Bytes per RX buffer (RCTL.BSIZE/BSEX), a multiple of 4.
    pub buf_bytes: Signal<In, Bits<16>>,
    /// RCTL.RDMTS: RXDMT0 when the free descriptors fall to 1/2, 1/4 or 1/8 of the ring.
    pub rdmts: Signal<In, Bits<2>>,
    // ---- FIFO ----
    pub q_valid: Signal<In, Bit>,
    pub q_head: Signal<In, Bits<40>>,
    pub q_pop: Signal<Out, Bit>,
    /// Start of the oldest frame still in the FIFO: bytes before it are free.
    pub fifo_rd_ptr: Signal<Out, Bits<16>>,
    pub fifo_rd_pos: Signal<Out, Bits<16>>,
    pub fifo_rd_data: Signal<In, Bits<32>>,
    // ---- DMA initiator ----
    pub dma: DmaPort,
    // ---- status and events ----
    pub rdh: Signal<Out, Bits<32>>,
    pub state: Signal<Out, RxState>,
    /// Nothing would change at the next edge: idle with no frame to take, waiting for a
    /// descriptor that is not there, or halted; no beat in flight (the SoC's clock gate,
    /// `crate::clock_gate`).
    pub quiet: Signal<Out, Bit>,
    /// The state's index in `regs::nic::RX_STATE_NAMES` (for ENGINE_STATE).
    pub state_code: Signal<Out, Bits<4>>,
    pub halted: Signal<Out, Bit>,
    pub err_addr: Signal<Out, Bits<32>>,
    /// A frame was delivered without errors; `ev_good_bytes` its bytes (FCS included).
    pub ev_good: Signal<Out, Bit>,
    pub ev_good_bytes: Signal<Out, Bits<16>>,
    pub ev_dma_drop: Signal<Out, Bit>,
    pub ev_no_buffer: Signal<Out, Bit>,
    /// An EOP descriptor was written back.
    pub c_rx_frame: Signal<Out, Bit>,
    pub c_rxdmt0: Signal<Out, Bit>,
    pub c_dma_err: Signal<Out, Bit>,
    // ==== implementation ====
    fsm: DFF<RxState>,
    head: DFF<Bits<32>>,
    desc_addr: DFF<Bits<32>>,
    d_addr: DFF<Bits<32>>,
    /// The descriptor's buffer address high half is not 0 (only that is checked).
    d_hi: DFF<Bit>,
    /// Beats of the fetch or the write-back accepted.
    issued: DFF<Bits<2>>,
    /// Fetch responses taken.
    received: DFF<Bits<2>>,
    /// Beats accepted whose response has not come yet.
    outstanding: DFF<Bits<3>>,
    /// A fault response came: issue nothing more, drain `outstanding`, then act.
    stop: DFF<Bit>,
    /// The first fault was a buffer write's (not the write-back's).
    fault_data: DFF<Bit>,
    /// The address of the next beat (fetch, buffer word or write-back word).
    cur_addr: DFF<Bits<32>>,
    /// The next buffer beat is `last` (precomputed when it is loaded).
    last_q: DFF<Bit>,
    /// The next write-back word (LENGTH, then STATUS).
    wb_data: DFF<Bits<32>>,
    rd_ptr: DFF<Bits<16>>,
    fpos: DFF<Bits<16>>,
    remaining: DFF<Bits<16>>,
    chunk: DFF<Bits<16>>,
    chunk_left: DFF<Bits<16>>,
    errors: DFF<Bits<8>>,
    waited: DFF<Bit>,
    r_halted: DFF<Bit>,
    r_err_addr: DFF<Bits<32>>,
    // ---- per-cycle values ----
    count: Signal<Local, Bits<32>>,
    /// The head and the tail are inside the ring (which has descriptors). Otherwise (RDLEN
    /// 0, or shrunk below them) a frame finds no descriptor: it waits, counted in RNBC.
    ring_ok: Signal<Local, Bit>,
    next_head: Signal<Local, Bits<32>>,
    free_after: Signal<Local, Bits<32>>,
    threshold: Signal<Local, Bits<32>>,
    q_stored: Signal<Local, Bits<16>>,
    /// The bytes the descriptor being checked will receive, and the end of them.
    fill: Signal<Local, Bits<16>>,
    fill_end: Signal<Local, Bits<33>>,
    eop: Signal<Local, Bit>,
    status_word: Signal<Local, Bits<32>>,
    tail_mask: Signal<Local, Bits<32>>,
    /// The head's descriptor, the next head's, and the write-back's first word.
    head_desc: Signal<Local, Bits<32>>,
    next_desc: Signal<Local, Bits<32>>,
    wb_addr: Signal<Local, Bits<32>>,
    /// The engine wants to issue a beat (before `soft_reset`), and it is accepted.
    want: Signal<Local, Bit>,
    accepted: Signal<Local, Bit>,
    /// Room for one more beat in flight.
    room: Signal<Local, Bit>,
    /// A response without, or with, a fault.
    resp_ok: Signal<Local, Bit>,
    resp_fault: Signal<Local, Bit>,
    /// Stopped after a fault and every beat answered.
    drained: Signal<Local, Bit>,
    /// Both write-back beats issued and every beat answered (the last one may be answering
    /// now) without a fault so far.
    wb_done: Signal<Local, Bit>,
    k_dd: Constant<Bits<32>>,
    k_eop: Constant<Bits<32>>,
    k_err_dma: Constant<Bits<8>>,
    k_len_offset: Constant<Bits<32>>,
    k_dev: Constant<Bits<2>>,
    page_mask: Constant<Bits<32>>,
    /// A word at this page offset is the page's last; at the other, the one before.
    k_page_last: Constant<Bits<32>>,
    k_page_last_but_one: Constant<Bits<32>>,
    k_max_in_flight: Constant<Bits<3>>,
    /// The head's bits (`ring_mask`): its next value is ANDed with it.
    index_mask: Constant<Bits<32>>,
}

impl Default for RxDma {
    /// A 32-bit head (the simulation build).
    fn default() -> Self {
        Self::new(u32::MAX)
    }
}

impl RxDma {
    /// An engine whose head keeps the bits of `ring_mask` (`u32::MAX`: 32 bits; the FPGA
    /// build's 16-bit ring registers: 0xFFFF).
    pub fn new(ring_mask: u32) -> Self {
        let k32 = |v: u32| Constant::new((v as u64).into());
        Self {
            clock: Default::default(),
            soft_reset: Default::default(),
            enable: Default::default(),
            rdbal: Default::default(),
            rdlen: Default::default(),
            rdt: Default::default(),
            head_write: Default::default(),
            head_wdata: Default::default(),
            restart: Default::default(),
            buf_bytes: Default::default(),
            rdmts: Default::default(),
            q_valid: Default::default(),
            q_head: Default::default(),
            q_pop: Default::default(),
            fifo_rd_ptr: Default::default(),
            fifo_rd_pos: Default::default(),
            fifo_rd_data: Default::default(),
            dma: Default::default(),
            rdh: Default::default(),
            state: Default::default(),
            quiet: Default::default(),
            state_code: Default::default(),
            halted: Default::default(),
            err_addr: Default::default(),
            ev_good: Default::default(),
            ev_good_bytes: Default::default(),
            ev_dma_drop: Default::default(),
            ev_no_buffer: Default::default(),
            c_rx_frame: Default::default(),
            c_rxdmt0: Default::default(),
            c_dma_err: Default::default(),
            fsm: Default::default(),
            head: Default::default(),
            desc_addr: Default::default(),
            d_addr: Default::default(),
            d_hi: Default::default(),
            issued: Default::default(),
            received: Default::default(),
            outstanding: Default::default(),
            stop: Default::default(),
            fault_data: Default::default(),
            cur_addr: Default::default(),
            last_q: Default::default(),
            wb_data: Default::default(),
            rd_ptr: Default::default(),
            fpos: Default::default(),
            remaining: Default::default(),
            chunk: Default::default(),
            chunk_left: Default::default(),
            errors: Default::default(),
            waited: Default::default(),
            r_halted: Default::default(),
            r_err_addr: Default::default(),
            count: Default::default(),
            ring_ok: Default::default(),
            next_head: Default::default(),
            free_after: Default::default(),
            threshold: Default::default(),
            q_stored: Default::default(),
            fill: Default::default(),
            fill_end: Default::default(),
            eop: Default::default(),
            status_word: Default::default(),
            tail_mask: Default::default(),
            head_desc: Default::default(),
            next_desc: Default::default(),
            wb_addr: Default::default(),
            want: Default::default(),
            accepted: Default::default(),
            room: Default::default(),
            resp_ok: Default::default(),
            resp_fault: Default::default(),
            drained: Default::default(),
            wb_done: Default::default(),
            k_dd: k32(rx_desc::STA_DD),
            k_eop: k32(rx_desc::STA_EOP),
            k_err_dma: Constant::new((rx_desc::ERR_DMA as u64).into()),
            k_len_offset: k32(rx_desc::LEN_CSUM),
            k_dev: Constant::new((regs::iommu::DEVICE_NIC as u64).into()),
            page_mask: k32(regs::PAGE_BYTES - 1),
            k_page_last: k32(regs::PAGE_BYTES - 4),
            k_page_last_but_one: k32(regs::PAGE_BYTES - 8),
            k_max_in_flight: Constant::new((MAX_IN_FLIGHT as u64).into()),
            index_mask: k32(ring_mask),
        }
    }
}

impl Logic for RxDma {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            fsm,
            head,
            desc_addr,
            d_addr,
            d_hi,
            issued,
            received,
            outstanding,
            stop,
            fault_data,
            cur_addr,
            last_q,
            wb_data,
            rd_ptr,
            fpos,
            remaining,
            chunk,
            chunk_left,
            errors,
            waited,
            r_halted,
            r_err_addr
        );
        // ---- per-cycle values ----
        self.count.next = self.rdlen.val() >> 4;
        self.ring_ok.next = (self.count.val() != 0)
            & (self.head.q.val() < self.count.val())
            & (self.rdt.val() < self.count.val());
        if (self.head.q.val() + 1) >= self.count.val() {
            self.next_head.next = 0.into();
        } else {
            self.next_head.next = self.head.q.val() + 1;
        }
        if self.rdt.val() >= self.next_head.val() {
            self.free_after.next = self.rdt.val() - self.next_head.val();
        } else {
            self.free_after.next = self.rdt.val() + self.count.val() - self.next_head.val();
        }
        self.threshold.next = self.count.val() >> 1;
        if self.rdmts.val() == 1 {
            self.threshold.next = self.count.val() >> 2;
        }
        if self.rdmts.val() == 2 {
            self.threshold.next = self.count.val() >> 3;
        }
        self.head_desc.next = self.rdbal.val() + (self.head.q.val() << 4);
        self.next_desc.next = self.rdbal.val() + (self.next_head.val() << 4);
        self.wb_addr.next = self.desc_addr.q.val() + self.k_len_offset.val();
        self.q_stored.next = self.q_head.val().get_bits::<16>(0);
        if self.remaining.q.val() > self.buf_bytes.val() {
            self.fill.next = self.buf_bytes.val();
        } else {
            self.fill.next = self.remaining.q.val();
        }
        self.fill_end.next =
            bit_cast::<33, 32>(self.d_addr.q.val()) + bit_cast::<33, 16>(self.fill.val());
        self.eop.next = self.remaining.q.val() == self.chunk.q.val();
        self.status_word.next = self.k_dd.val();
        if self.eop.val() {
            self.status_word.next =
                self.k_dd.val() | self.k_eop.val() | (bit_cast::<32, 8>(self.errors.q.val()) << 8);
        }
        self.tail_mask.next = 0xFFFF_FFFF_u64.into();
        if self.chunk_left.q.val() == 3 {
            self.tail_mask.next = 0x00FF_FFFF_u64.into();
        }
        if self.chunk_left.q.val() == 2 {
            self.tail_mask.next = 0x0000_FFFF_u64.into();
        }
        if self.chunk_left.q.val() == 1 {
            self.tail_mask.next = 0x0000_00FF_u64.into();
        }

        // ---- the request: registers only (soft_reset may pull valid low) ----
        self.room.next = self.outstanding.q.val() != self.k_max_in_flight.val();
        self.want.next = false;
        self.dma.we.next = false;
        self.dma.addr.next = self.cur_addr.q.val();
        self.dma.wdata.next = self.wb_data.q.val();
        self.dma.last.next = false;
        self.dma.dev.next = self.k_dev.val();
        match self.fsm.q.val() {
            RxState::FetchDesc => {
                self.want.next = (self.issued.q.val() != 2) & !self.stop.q.val();
                self.dma.last.next = self.issued.q.val() == 1;
            }
            RxState::WriteData => {
                self.want.next = !self.stop.q.val() & self.room.val();
                self.dma.we.next = true;
                self.dma.wdata.next = self.fifo_rd_data.val() & self.tail_mask.val();
                self.dma.last.next = self.last_q.q.val();
            }
            RxState::WriteBack => {
                self.want.next = (self.issued.q.val() != 2) & !self.stop.q.val() & self.room.val();
                self.dma.we.next = true;
                self.dma.last.next = self.issued.q.val() == 1;
            }
            _ => {}
        }
        self.dma.valid.next = self.want.val() & !self.soft_reset.val();
        self.accepted.next = self.dma.valid.val() & self.dma.ready.val();
        self.resp_ok.next = self.dma.resp.val() & !self.dma.fault.val();
        self.resp_fault.next = self.dma.resp.val() & self.dma.fault.val();
        self.drained.next = self.stop.q.val() & (self.outstanding.q.val() == 0);
        self.wb_done.next = (self.issued.q.val() == 2)
            & ((self.outstanding.q.val() == 0)
                | ((self.outstanding.q.val() == 1) & self.resp_ok.val()));
        if self.accepted.val() & !self.dma.resp.val() {
            self.outstanding.d.next = self.outstanding.q.val() + 1;
        }
        if !self.accepted.val() & self.dma.resp.val() {
            self.outstanding.d.next = self.outstanding.q.val() - 1;
        }

        // ---- defaults ----
        self.fifo_rd_pos.next = self.fpos.q.val();
        self.q_pop.next = false;
        self.ev_good.next = false;
        self.ev_good_bytes.next = self.q_stored.val();
        self.ev_dma_drop.next = false;
        self.ev_no_buffer.next = false;
        self.c_rx_frame.next = false;
        self.c_rxdmt0.next = false;
        self.c_dma_err.next = false;

        match self.fsm.q.val() {
            RxState::Idle => {
                // No frame while beats of an aborted one are still in flight.
                if self.r_halted.q.val() {
                    self.fsm.d.next = RxState::Halted;
                } else if self.enable.val() & self.q_valid.val() & (self.outstanding.q.val() == 0) {
                    self.remaining.d.next = self.q_head.val().get_bits::<16>(16);
                    self.errors.d.next = self.q_head.val().get_bits::<8>(32);
                    self.fpos.d.next = self.rd_ptr.q.val();
                    self.desc_addr.d.next = self.head_desc.val();
                    self.cur_addr.d.next = self.head_desc.val();
                    self.issued.d.next = 0.into();
                    self.received.d.next = 0.into();
                    self.stop.d.next = false;
                    if (self.head.q.val() == self.rdt.val()) | !self.ring_ok.val() {
                        self.ev_no_buffer.next = true;
                        self.waited.d.next = true;
                        self.fsm.d.next = RxState::WaitDesc;
                    } else {
                        self.waited.d.next = false;
                        self.fsm.d.next = RxState::FetchDesc;
                    }
                }
            }
            RxState::WaitDesc => {
                if self.enable.val() & (self.head.q.val() != self.rdt.val()) & self.ring_ok.val() {
                    self.desc_addr.d.next = self.head_desc.val();
                    self.cur_addr.d.next = self.head_desc.val();
                    self.issued.d.next = 0.into();
                    self.received.d.next = 0.into();
                    self.fsm.d.next = RxState::FetchDesc;
                }
            }
            RxState::FetchDesc => {
                if self.accepted.val() {
                    self.issued.d.next = self.issued.q.val() + 1;
                    self.cur_addr.d.next = self.cur_addr.q.val() + 4;
                }
                if self.resp_ok.val() & !self.stop.q.val() {
                    self.received.d.next = self.received.q.val() + 1;
                    if self.received.q.val() == 0 {
                        self.d_addr.d.next = self.dma.rdata.val();
                    }
                    if self.received.q.val() == 1 {
                        // Both beats answered: nothing is in flight.
                        self.d_hi.d.next = self.dma.rdata.val() != 0;
                        self.fsm.d.next = RxState::CheckDesc;
                    }
                }
                if self.resp_fault.val() & !self.stop.q.val() {
                    self.stop.d.next = true;
                    self.r_err_addr.d.next = self.dma.rdata.val();
                }
                if self.drained.val() {
                    self.stop.d.next = false;
                    self.r_halted.d.next = true;
                    self.c_dma_err.next = true;
                    self.ev_dma_drop.next = true;
                    self.fsm.d.next = RxState::Release;
                }
            }
            RxState::CheckDesc => {
                self.chunk.d.next = self.fill.val();
                self.chunk_left.d.next = self.fill.val();
                self.last_q.d.next = ((self.d_addr.q.val() & self.page_mask.val())
                    == self.k_page_last.val())
                    | (self.fill.val() <= 4);
                self.issued.d.next = 0.into();
                if self.d_hi.q.val()
                    | (self.d_addr.q.val().get_bits::<2>(0) != 0)
                    | (self.fill_end.val().get_bit(32)
                        & (self.fill_end.val().get_bits::<32>(0) != 0))
                {
                    self.r_err_addr.d.next = self.desc_addr.q.val();
                    self.fsm.d.next = RxState::Discard;
                } else if self.remaining.q.val() == 0 {
                    self.cur_addr.d.next = self.wb_addr.val();
                    self.wb_data.d.next = 0.into();
                    self.fsm.d.next = RxState::WriteBack;
                } else {
                    self.cur_addr.d.next = self.d_addr.q.val();
                    self.fsm.d.next = RxState::WriteData;
                }
            }
            RxState::WriteData => {
                if self.accepted.val() {
                    self.fifo_rd_pos.next = self.fpos.q.val() + 4;
                    self.fpos.d.next = self.fpos.q.val() + 4;
                    self.cur_addr.d.next = self.cur_addr.q.val() + 4;
                    self.last_q.d.next = ((self.cur_addr.q.val() & self.page_mask.val())
                        == self.k_page_last_but_one.val())
                        | (self.chunk_left.q.val() <= 8);
                    if self.chunk_left.q.val() <= 4 {
                        // The write-back follows the last data beat at once.
                        self.chunk_left.d.next = 0.into();
                        self.cur_addr.d.next = self.wb_addr.val();
                        self.wb_data.d.next = bit_cast::<32, 16>(self.chunk.q.val());
                        self.fsm.d.next = RxState::WriteBack;
                    } else {
                        self.chunk_left.d.next = self.chunk_left.q.val() - 4;
                    }
                }
                if self.resp_fault.val() & !self.stop.q.val() {
                    self.stop.d.next = true;
                    self.fault_data.d.next = true;
                    self.r_err_addr.d.next = self.dma.rdata.val();
                }
                if self.drained.val() {
                    self.stop.d.next = false;
                    self.fsm.d.next = RxState::Discard;
                }
            }
            RxState::Discard => {
                // The frame is lost: close it on this descriptor, with nothing in its buffer.
                self.ev_dma_drop.next = true;
                self.errors.d.next = self.errors.q.val() | self.k_err_dma.val();
                self.chunk.d.next = 0.into();
                self.remaining.d.next = 0.into();
                self.issued.d.next = 0.into();
                self.cur_addr.d.next = self.wb_addr.val();
                self.wb_data.d.next = 0.into();
                self.fsm.d.next = RxState::WriteBack;
            }
            RxState::WriteBack => {
                if self.accepted.val() {
                    self.issued.d.next = self.issued.q.val() + 1;
                    self.cur_addr.d.next = self.cur_addr.q.val() + 4;
                    self.wb_data.d.next = self.status_word.val();
                }
                if self.resp_fault.val() & !self.stop.q.val() {
                    self.stop.d.next = true;
                    // The oldest beat in flight is a buffer word if more are in flight than
                    // write-back beats were issued.
                    self.fault_data.d.next =
                        self.outstanding.q.val() > bit_cast::<3, 2>(self.issued.q.val());
                    self.r_err_addr.d.next = self.dma.rdata.val();
                }
                if self.drained.val() {
                    self.stop.d.next = false;
                    if self.fault_data.q.val() {
                        self.fsm.d.next = RxState::Discard;
                    } else {
                        self.r_halted.d.next = true;
                        self.c_dma_err.next = true;
                        self.ev_dma_drop.next = true;
                        self.fsm.d.next = RxState::Release;
                    }
                } else if !self.stop.q.val() & self.wb_done.val() {
                    // Every beat of the descriptor was answered without a fault.
                    self.head.d.next = self.next_head.val() & self.index_mask.val();
                    self.remaining.d.next = self.remaining.q.val() - self.chunk.q.val();
                    if self.free_after.val() == self.threshold.val() {
                        self.c_rxdmt0.next = true;
                    }
                    self.desc_addr.d.next = self.next_desc.val();
                    self.cur_addr.d.next = self.next_desc.val();
                    self.issued.d.next = 0.into();
                    self.received.d.next = 0.into();
                    if self.eop.val() {
                        self.c_rx_frame.next = true;
                        if self.errors.q.val() == 0 {
                            self.ev_good.next = true;
                        }
                        self.fsm.d.next = RxState::Release;
                    } else if self.next_head.val() == self.rdt.val() {
                        if !self.waited.q.val() {
                            self.ev_no_buffer.next = true;
                        }
                        self.waited.d.next = true;
                        self.fsm.d.next = RxState::WaitDesc;
                    } else {
                        self.fsm.d.next = RxState::FetchDesc;
                    }
                }
            }
            RxState::Release => {
                self.rd_ptr.d.next = self.rd_ptr.q.val() + self.q_stored.val();
                self.q_pop.next = true;
                self.fault_data.d.next = false;
                self.fsm.d.next = RxState::Idle;
            }
            RxState::Halted => {
                if self.restart.val() {
                    self.r_halted.d.next = false;
                    self.fsm.d.next = RxState::Idle;
                }
            }
            _ => {
                self.fsm.d.next = RxState::Idle;
            }
        }
        if self.head_write.val() {
            self.head.d.next = self.head_wdata.val() & self.index_mask.val();
        }
        if self.soft_reset.val() {
            // `outstanding` goes on counting: Idle waits for it to reach 0.
            self.fsm.d.next = RxState::Idle;
            self.head.d.next = 0.into();
            self.rd_ptr.d.next = 0.into();
            self.r_halted.d.next = false;
            self.stop.d.next = false;
            self.fault_data.d.next = false;
        }
        self.fifo_rd_ptr.next = self.rd_ptr.q.val();
        self.rdh.next = self.head.q.val();
        self.state.next = self.fsm.q.val();
        self.quiet.next = (self.outstanding.q.val() == 0)
            & !self.soft_reset.val()
            & !self.head_write.val()
            & !self.restart.val()
            & (((self.fsm.q.val() == RxState::Idle)
                & !self.r_halted.q.val()
                & !(self.enable.val() & self.q_valid.val()))
                | ((self.fsm.q.val() == RxState::WaitDesc)
                    & !(self.enable.val() & (self.head.q.val() != self.rdt.val())))
                | (self.fsm.q.val() == RxState::Halted));
        // A default first: the 4-bit state register has encodings no state uses, and a case
        // without it infers a latch (a combinational loop that nextpnr refuses).
        self.state_code.next = 0.into();
        match self.fsm.q.val() {
            RxState::Idle => {
                self.state_code.next = 0.into();
            }
            RxState::WaitDesc => {
                self.state_code.next = 1.into();
            }
            RxState::FetchDesc => {
                self.state_code.next = 2.into();
            }
            RxState::CheckDesc => {
                self.state_code.next = 3.into();
            }
            RxState::WriteData => {
                self.state_code.next = 4.into();
            }
            RxState::WriteBack => {
                self.state_code.next = 5.into();
            }
            RxState::Discard => {
                self.state_code.next = 6.into();
            }
            RxState::Release => {
                self.state_code.next = 7.into();
            }
            RxState::Halted => {
                self.state_code.next = 8.into();
            }
        }
        self.halted.next = self.r_halted.q.val();
        self.err_addr.next = self.r_err_addr.q.val();
    }
}

#[cfg(test)]
#[path = "rx_dma_tests.rs"]
mod tests;
