//! The TX ring engine: walks the e1000 legacy TX descriptor ring, reads each buffer into the TX
//! FIFO a word per cycle over the pipelined DMA port, writes DD back, and hands each complete
//! frame to the MAC (store-and-forward).
//!
//! ```text
//!  enable, tdbal, tdlen, tdt ──►┌─────────────────────────────────┐   dma (DmaPort, dev NIC)
//!  head_write, head_wdata    ──►│ Idle ─► FetchDesc ─► CheckDesc ─┤──► valid, addr, we, wdata,
//!  restart, soft_reset       ──►│   ▲                    │        │    last, dev (registers)
//!                               │   │      WaitSpace ◄───┤        │◄── ready
//!  fifo_rd_ptr (MAC side)    ──►│   │          ▼         │        │◄── resp, fault, rdata
//!  q_full                    ──►│ Commit ◄─ WriteBack ◄─ ReadData │──► fifo_wr_pos/data/mask
//!                               │ Halted (refused descriptor)     │──► q_push, q_push_data
//!                               │ outstanding: beats in flight    │──► tdh, state, halted, err_addr
//!                               └─────────────────────────────────┘──► ev_drop, c_txdw,
//!                                                                      c_txdw_delayed, c_txqe,
//!                                                                      c_dma_err
//! ```
//!
//! Ring semantics as on the 8254x: the engine owns the head, software the tail; head == tail
//! is empty. The engine fetches only while the head and the tail are inside the ring (TDLEN
//! not 0 and both below TDLEN / 16): the register file refuses head and tail writes outside
//! it, and a TDLEN write that leaves them outside stops the engine until software fixes them.
//! A frame is the run of descriptors up to the one with EOP. A descriptor's buffer is read
//! only once the FIFO has room for all of it; its bytes land at the FIFO's write pointer
//! whatever the buffer's alignment (the [`LaneBuffer`](super::lane_buffer::LaneBuffer) rotates
//! them). With RS the status word is written back with DD after the buffer was read. At EOP
//! the frame is committed to the MAC's queue (length, IFCS).
//!
//! **The DMA port** ([`DmaPort`], `dev` = `regs::iommu::DEVICE_NIC`, docs/dma.md "The DMA
//! port"). The request fields are registers (`issue_addr`, the status word from `d_sta`) or
//! small functions of registers: `valid` = beats left to issue, fewer than
//! [`MAX_IN_FLIGHT`] beats outstanding, no fault seen, and `enable` high and `soft_reset` low
//! (the abort inputs); `last` = the beat is the last of its unit (a register loaded with the
//! word count) or the read address is the page's last word. The buffer's word count, first
//! and last byte masks are computed when the descriptor is checked, so neither the request
//! nor the response path has an adder wider than the word counters.
//!
//! - The descriptor fetch issues its 4 beats back to back; the buffer read a beat per cycle
//!   (the FIFO room for the whole buffer is reserved before the first beat, in `WaitSpace`,
//!   so every read in flight has its place); responses come back in order and the data of
//!   each is written to the FIFO in its cycle. At latency 3 and `ready` always high a frame
//!   takes 33 cycles (60 bytes) or 397 (1514 bytes) from TDT to its commit, the 1514-byte
//!   buffer's 379 beats in 379 consecutive cycles (the test `tx_throughput_at_latency_3`).
//! - `outstanding` counts beats accepted and not yet answered (+1 at `valid && ready`, −1 at
//!   `resp`). The write-back is issued after the buffer's last response, so DD never goes out
//!   before the buffer was read.
//! - **Faults.** At the first fault response the engine stops issuing (`faulted`), keeps the
//!   refused IOVA (`rdata`), counts the beats still in flight down to 0 (their responses are
//!   faults too and write nothing), then reports: a refused buffer read drops the frame
//!   (`ev_drop`, `err_addr`), a refused descriptor fetch or write-back halts the engine
//!   (`halted`, `c_dma_err`, `err_addr`), as before the pipelined port.
//! - **Abort.** `soft_reset`, or `enable` low while a descriptor is being fetched, checked,
//!   waited for or read, or before its write-back beat was accepted, stops issuing in that
//!   cycle: the engine returns to `Idle` with the head on that descriptor and its bytes not
//!   counted (it is fetched and read again when enabled; `dropping` of the frame stays, a
//!   fault not yet reported is forgotten). A write-back already accepted completes. In `Idle`
//!   the engine takes the responses of the beats still in flight (and discards their data:
//!   no FIFO write outside `ReadData`), and starts nothing until `outstanding` is 0, so no
//!   response is left for the next run.
//!
//! Malformed descriptors (buffer address high half non-zero, a buffer that wraps the 32-bit
//! space, a frame longer than the FIFO, an EOP frame of zero bytes, an extended data
//! descriptor: CMD.DEXT with DTYP (bits 23:20 of the length word) not 0, whose checksum and
//! TSO offloads this NIC does not do) and refused buffer reads
//! drop the frame: its bytes are discarded from the FIFO, every descriptor of it with RS from
//! the bad one on is written back with DD and STA_ERR (those before it already got DD without
//! ERR), and `ev_drop` pulses once. A refused descriptor fetch or write-back halts the
//! engine (`halted`, `c_dma_err`) until `restart`; the head stays on that descriptor, and the
//! restart fetches and reads it again (its bytes count once in the frame).
//! A context descriptor (CMD.DEXT with DTYP 0, which sets up those offloads) moves no bytes
//! and is skipped: written back with DD if RS, its first words and its TUCMD bits (TCP sits
//! where a legacy EOP does) ignored, so Linux's context + extended data pair is one dropped
//! frame.
//!
//! **Changes with the pipelined port.** `enable` low used to let the current descriptor
//! finish; now it aborts it (above). Errors are reported after the beats in flight drained
//! (a few cycles later than the refused beat). The write-back's TXDW and the head advance
//! come with the write's response, not its acceptance.
//!
//! **Ring width.** The head keeps the bits of `ring_mask` (its next value is ANDed with it):
//! all 32 in simulation, 16 in a build with `regs::SocConfig::narrow_registers`, whose
//! RDLEN/RDT/TDLEN/TDT registers are 16 bits too; there synthesis removes the upper bits of
//! the head and of the ring arithmetic.

use crate::dma::port::DmaPort;
use regs::nic::tx_desc;
use rust_hdl::prelude::*;

/// TX frame-queue entry: bits 15:0 the frame's bytes in the FIFO, bit 16 IFCS.
pub const TX_Q_IFCS_BIT: usize = 16;

/// Beats the engine keeps in flight at most (`outstanding` is 4 bits): one beat per cycle up
/// to a response latency of this many cycles.
pub const MAX_IN_FLIGHT: u32 = 15;

/// Engine states in encoding order (`regs::nic::TX_STATE_NAMES`).
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum TxState {
    Idle,
    FetchDesc,
    CheckDesc,
    WaitSpace,
    ReadData,
    WriteBack,
    Commit,
    Halted,
}

#[derive(LogicBlock)]
pub struct TxDma {
    pub clock: Signal<In, Clock>,
    pub soft_reset: Signal<In, Bit>,
    pub enable: Signal<In, Bit>,
    pub tdbal: Signal<In, Bits<32>>,
    pub tdlen: Signal<In, Bits<32>>,
    pub tdt: Signal<In, Bits<32>>,
    pub head_write: Signal<In, Bit>,
    pub head_wdata: Signal<In, Bits<32>>,
    pub restart: Signal<In, Bit>,
    // ---- FIFO ----
    pub fifo_rd_ptr: Signal<In, Bits<16>>,
    pub fifo_wr_pos: Signal<Out, Bits<16>>,
    pub fifo_wr_data: Signal<Out, Bits<32>>,
    pub fifo_wr_mask: Signal<Out, Bits<4>>,
    pub q_push: Signal<Out, Bit>,
    pub q_push_data: Signal<Out, Bits<40>>,
    pub q_full: Signal<In, Bit>,
    // ---- DMA master ----
    pub dma: DmaPort,
    // ---- status and events ----
    pub tdh: Signal<Out, Bits<32>>,
    pub state: Signal<Out, TxState>,
    /// Nothing would change at the next edge: idle with nothing to fetch, or halted; no beat
    /// in flight (the SoC's clock gate, `crate::clock_gate`).
    pub quiet: Signal<Out, Bit>,
    /// The state's index in `regs::nic::TX_STATE_NAMES` (for ENGINE_STATE).
    pub state_code: Signal<Out, Bits<4>>,
    pub halted: Signal<Out, Bit>,
    pub err_addr: Signal<Out, Bits<32>>,
    pub ev_drop: Signal<Out, Bit>,
    pub c_txdw: Signal<Out, Bit>,
    pub c_txdw_delayed: Signal<Out, Bit>,
    pub c_txqe: Signal<Out, Bit>,
    pub c_dma_err: Signal<Out, Bit>,
    // ==== implementation ====
    fsm: DFF<TxState>,
    head: DFF<Bits<32>>,
    desc_addr: DFF<Bits<32>>,
    d_addr: DFF<Bits<32>>,
    /// The descriptor's buffer address high half is not 0 (only that is checked).
    d_hi: DFF<Bit>,
    d_len_cmd: DFF<Bits<32>>,
    d_sta: DFF<Bits<32>>,
    // ---- issue side: the request fields ----
    /// Address of the next beat to issue.
    issue_addr: DFF<Bits<32>>,
    /// Beats of the unit (descriptor fetch, buffer, write-back) not yet issued.
    iss_left: DFF<Bits<16>>,
    /// `iss_left` is 1: the next beat ends the unit.
    iss_one: DFF<Bit>,
    /// `iss_left` is not 0 (and the state issues).
    iss_more: DFF<Bit>,
    // ---- response side ----
    /// Responses of the unit still to come.
    rcv_left: DFF<Bits<16>>,
    /// `rcv_left` is 1.
    rcv_one: DFF<Bit>,
    /// The next response is the buffer's first word.
    rcv_first: DFF<Bit>,
    first_mask: DFF<Bits<4>>,
    last_mask: DFF<Bits<4>>,
    /// Beats accepted and not yet answered.
    outstanding: DFF<Bits<4>>,
    /// A fault response came; no beat is issued until the unit's error is reported.
    faulted: DFF<Bit>,
    /// The IOVA of the first refused beat (`rdata` of its fault response).
    fault_addr: DFF<Bits<32>>,
    fpos: DFF<Bits<16>>,
    wr_ptr: DFF<Bits<16>>,
    frame_start: DFF<Bits<16>>,
    frame_bytes: DFF<Bits<32>>,
    dropping: DFF<Bit>,
    r_halted: DFF<Bit>,
    r_err_addr: DFF<Bits<32>>,
    // ---- per-cycle values ----
    count: Signal<Local, Bits<32>>,
    next_head: Signal<Local, Bits<32>>,
    /// The head and the tail are inside the ring (which has descriptors): the engine may
    /// fetch. Software can put them outside only through TDLEN (the register file refuses
    /// such head and tail writes); then the engine waits for valid values.
    ring_ok: Signal<Local, Bit>,
    len: Signal<Local, Bits<32>>,
    cmd: Signal<Local, Bits<8>>,
    /// A context descriptor (CMD.DEXT with DTYP 0): skipped. Its CMD byte is TUCMD, whose TCP
    /// bit sits where a legacy EOP does, and its first words are offload fields.
    ctx: Signal<Local, Bit>,
    /// CMD.EOP of a descriptor that is not a context descriptor.
    eop: Signal<Local, Bit>,
    rs: Signal<Local, Bit>,
    end_addr: Signal<Local, Bits<33>>,
    /// Words of the buffer: from the word of its first byte to that of its last.
    nwords: Signal<Local, Bits<32>>,
    /// Bytes in the FIFO (this engine's frames not yet taken by the MAC), 16 bits like the
    /// pointers.
    fifo_used: Signal<Local, Bits<16>>,
    fifo_free: Signal<Local, Bits<32>>,
    malformed: Signal<Local, Bit>,
    /// The lane after the buffer's last byte (0: the last word is whole).
    end_lane: Signal<Local, Bits<2>>,
    /// Byte mask of the response's word: from the buffer's first byte, up to its last.
    mask_lo: Signal<Local, Bits<4>>,
    mask_hi: Signal<Local, Bits<4>>,
    accept: Signal<Local, Bit>,
    /// Stop the unit in this cycle: `soft_reset`, or `enable` low in a state that may abort.
    abort: Signal<Local, Bit>,
    finish: Signal<Local, Bit>,
    capacity: Constant<Bits<32>>,
    dev_id: Constant<Bits<2>>,
    k_max_in_flight: Constant<Bits<4>>,
    k_eop: Constant<Bits<8>>,
    k_dext: Constant<Bits<8>>,
    k_ifcs: Constant<Bits<8>>,
    k_rs: Constant<Bits<8>>,
    k_ide: Constant<Bits<8>>,
    k_sta_dd: Constant<Bits<32>>,
    k_sta_err: Constant<Bits<32>>,
    k_len_mask: Constant<Bits<32>>,
    k_sta_offset: Constant<Bits<32>>,
    /// Bits 11:2 of a page's last word.
    page_last_word: Constant<Bits<10>>,
    /// The head's bits (`ring_mask`): its next value is ANDed with it.
    index_mask: Constant<Bits<32>>,
    word_mask: Constant<Bits<32>>,
    all_lanes: Constant<Bits<4>>,
    sta_keep: Constant<Bits<32>>,
    q_ifcs_flag: Constant<Bits<40>>,
}

impl TxDma {
    /// An engine in front of a TX FIFO of `fifo_bytes` bytes whose head keeps the bits of
    /// `ring_mask` (`u32::MAX`: 32 bits; the FPGA build's 16-bit ring registers: 0xFFFF).
    pub fn new(fifo_bytes: u32, ring_mask: u32) -> Self {
        let k8 = |v: u32| Constant::new((v as u64).into());
        let k32 = |v: u32| Constant::new((v as u64).into());
        Self {
            clock: Default::default(),
            soft_reset: Default::default(),
            enable: Default::default(),
            tdbal: Default::default(),
            tdlen: Default::default(),
            tdt: Default::default(),
            head_write: Default::default(),
            head_wdata: Default::default(),
            restart: Default::default(),
            fifo_rd_ptr: Default::default(),
            fifo_wr_pos: Default::default(),
            fifo_wr_data: Default::default(),
            fifo_wr_mask: Default::default(),
            q_push: Default::default(),
            q_push_data: Default::default(),
            q_full: Default::default(),
            dma: Default::default(),
            tdh: Default::default(),
            state: Default::default(),
            quiet: Default::default(),
            state_code: Default::default(),
            halted: Default::default(),
            err_addr: Default::default(),
            ev_drop: Default::default(),
            c_txdw: Default::default(),
            c_txdw_delayed: Default::default(),
            c_txqe: Default::default(),
            c_dma_err: Default::default(),
            fsm: Default::default(),
            head: Default::default(),
            desc_addr: Default::default(),
            d_addr: Default::default(),
            d_hi: Default::default(),
            d_len_cmd: Default::default(),
            d_sta: Default::default(),
            issue_addr: Default::default(),
            iss_left: Default::default(),
            iss_one: Default::default(),
            iss_more: Default::default(),
            rcv_left: Default::default(),
            rcv_one: Default::default(),
            rcv_first: Default::default(),
            first_mask: Default::default(),
            last_mask: Default::default(),
            outstanding: Default::default(),
            faulted: Default::default(),
            fault_addr: Default::default(),
            fpos: Default::default(),
            wr_ptr: Default::default(),
            frame_start: Default::default(),
            frame_bytes: Default::default(),
            dropping: Default::default(),
            r_halted: Default::default(),
            r_err_addr: Default::default(),
            count: Default::default(),
            next_head: Default::default(),
            ring_ok: Default::default(),
            len: Default::default(),
            cmd: Default::default(),
            ctx: Default::default(),
            eop: Default::default(),
            rs: Default::default(),
            end_addr: Default::default(),
            nwords: Default::default(),
            fifo_used: Default::default(),
            fifo_free: Default::default(),
            malformed: Default::default(),
            end_lane: Default::default(),
            mask_lo: Default::default(),
            mask_hi: Default::default(),
            accept: Default::default(),
            abort: Default::default(),
            finish: Default::default(),
            capacity: k32(fifo_bytes),
            dev_id: Constant::new((regs::iommu::DEVICE_NIC as u64).into()),
            k_max_in_flight: Constant::new((MAX_IN_FLIGHT as u64).into()),
            k_eop: k8(tx_desc::CMD_EOP),
            k_dext: k8(tx_desc::CMD_DEXT),
            k_ifcs: k8(tx_desc::CMD_IFCS),
            k_rs: k8(tx_desc::CMD_RS),
            k_ide: k8(tx_desc::CMD_IDE),
            k_sta_dd: k32(tx_desc::STA_DD),
            k_sta_err: k32(tx_desc::STA_ERR),
            k_len_mask: k32(tx_desc::LEN_MASK),
            k_sta_offset: k32(tx_desc::STA_WORD),
            page_last_word: Constant::new((((regs::PAGE_BYTES - 1) >> 2) as u64).into()),
            index_mask: k32(ring_mask),
            word_mask: k32(!3),
            all_lanes: Constant::new(15.into()),
            sta_keep: k32(!0xF),
            q_ifcs_flag: Constant::new((1u64 << TX_Q_IFCS_BIT).into()),
        }
    }
}

impl Logic for TxDma {
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
            d_len_cmd,
            d_sta,
            issue_addr,
            iss_left,
            iss_one,
            iss_more,
            rcv_left,
            rcv_one,
            rcv_first,
            first_mask,
            last_mask,
            outstanding,
            faulted,
            fault_addr,
            fpos,
            wr_ptr,
            frame_start,
            frame_bytes,
            dropping,
            r_halted,
            r_err_addr
        );
        // ---- per-cycle values ----
        self.count.next = self.tdlen.val() >> 4;
        self.ring_ok.next = (self.count.val() != 0)
            & (self.head.q.val() < self.count.val())
            & (self.tdt.val() < self.count.val());
        if (self.head.q.val() + 1) >= self.count.val() {
            self.next_head.next = 0.into();
        } else {
            self.next_head.next = self.head.q.val() + 1;
        }
        self.cmd.next = self.d_len_cmd.q.val().get_bits::<8>(24);
        self.ctx.next = ((self.cmd.val() & self.k_dext.val()) != 0)
            & (self.d_len_cmd.q.val().get_bits::<4>(20) == 0);
        self.eop.next = ((self.cmd.val() & self.k_eop.val()) != 0) & !self.ctx.val();
        self.len.next = self.d_len_cmd.q.val() & self.k_len_mask.val();
        if self.ctx.val() {
            // A context descriptor moves no bytes (its bits 19:0 are TSO's PAYLEN).
            self.len.next = 0.into();
        }
        self.rs.next = (self.cmd.val() & self.k_rs.val()) != 0;
        self.end_addr.next =
            bit_cast::<33, 32>(self.d_addr.q.val()) + bit_cast::<33, 32>(self.len.val());
        self.nwords.next =
            (self.len.val() + bit_cast::<32, 2>(self.d_addr.q.val().get_bits::<2>(0)) + 3) >> 2;
        // The 16-bit difference in a 16-bit signal: written inside the 32-bit expression, the
        // Verilog rust-hdl emits computes it at 32 bits and does not wrap, so once `wr_ptr`
        // had wrapped past 2^16 and the MAC's pointer had not, the FIFO looked almost empty
        // and new frames overwrote ones not yet sent (the simulator of rust-hdl wraps, which
        // is why only the Verilator model showed it).
        self.fifo_used.next = self.wr_ptr.q.val() - self.fifo_rd_ptr.val();
        self.fifo_free.next = self.capacity.val() - bit_cast::<32, 16>(self.fifo_used.val());
        self.malformed.next = !self.ctx.val()
            & (self.d_hi.q.val()
                | (self.end_addr.val().get_bit(32) & (self.end_addr.val().get_bits::<32>(0) != 0))
                | ((self.frame_bytes.q.val() + self.len.val()) > self.capacity.val())
                | (self.eop.val() & ((self.frame_bytes.q.val() + self.len.val()) == 0))
                | ((self.cmd.val() & self.k_dext.val()) != 0));
        self.end_lane.next = self.d_addr.q.val().get_bits::<2>(0) + self.len.val().get_bits::<2>(0);
        self.mask_lo.next = self.all_lanes.val();
        if self.rcv_first.q.val() {
            self.mask_lo.next = self.first_mask.q.val();
        }
        self.mask_hi.next = self.all_lanes.val();
        if self.rcv_one.q.val() {
            self.mask_hi.next = self.last_mask.q.val();
        }

        // ---- the request: registers, gated by the abort inputs ----
        self.dma.valid.next = self.iss_more.q.val()
            & (self.outstanding.q.val() != self.k_max_in_flight.val())
            & !self.faulted.q.val()
            & self.enable.val()
            & !self.soft_reset.val();
        self.dma.addr.next = self.issue_addr.q.val();
        self.dma.we.next = self.fsm.q.val() == TxState::WriteBack;
        self.dma.wdata.next = (self.d_sta.q.val() & self.sta_keep.val()) | self.k_sta_dd.val();
        if self.dropping.q.val() {
            self.dma.wdata.next = (self.d_sta.q.val() & self.sta_keep.val())
                | self.k_sta_dd.val()
                | self.k_sta_err.val();
        }
        self.dma.last.next = self.iss_one.q.val()
            | (self.issue_addr.q.val().get_bits::<10>(2) == self.page_last_word.val());
        self.dma.dev.next = self.dev_id.val();
        self.accept.next = self.dma.valid.val() & self.dma.ready.val();

        // ---- beat accounting (the states below override where a unit starts) ----
        if self.accept.val() {
            self.issue_addr.d.next = self.issue_addr.q.val() + 4;
            self.iss_left.d.next = self.iss_left.q.val() - 1;
            self.iss_one.d.next = self.iss_left.q.val() == 2;
            self.iss_more.d.next = !self.iss_one.q.val();
        }
        if self.dma.resp.val() {
            self.rcv_left.d.next = self.rcv_left.q.val() - 1;
            self.rcv_one.d.next = self.rcv_left.q.val() == 2;
            self.rcv_first.d.next = false;
        }
        if self.accept.val() & !self.dma.resp.val() {
            self.outstanding.d.next = self.outstanding.q.val() + 1;
        }
        if !self.accept.val() & self.dma.resp.val() {
            self.outstanding.d.next = self.outstanding.q.val() - 1;
        }

        // ---- defaults ----
        self.fifo_wr_pos.next = self.fpos.q.val();
        self.fifo_wr_data.next = self.dma.rdata.val();
        self.fifo_wr_mask.next = 0.into();
        self.q_push.next = false;
        self.q_push_data.next = bit_cast::<40, 32>(self.frame_bytes.q.val());
        if (self.cmd.val() & self.k_ifcs.val()) != 0 {
            self.q_push_data.next =
                bit_cast::<40, 32>(self.frame_bytes.q.val()) | self.q_ifcs_flag.val();
        }
        self.ev_drop.next = false;
        self.c_txdw.next = false;
        self.c_txdw_delayed.next = false;
        self.c_txqe.next = false;
        self.c_dma_err.next = false;
        self.finish.next = false;

        // An abort leaves the descriptor: fetch, check, wait and read, and a write-back not
        // yet accepted (one accepted completes); the soft reset leaves anything.
        self.abort.next = self.soft_reset.val();
        if !self.enable.val()
            & ((self.fsm.q.val() == TxState::FetchDesc)
                | (self.fsm.q.val() == TxState::CheckDesc)
                | (self.fsm.q.val() == TxState::WaitSpace)
                | (self.fsm.q.val() == TxState::ReadData)
                | ((self.fsm.q.val() == TxState::WriteBack) & self.iss_more.q.val()))
        {
            self.abort.next = true;
        }

        if self.abort.val() {
            // Beats in flight drain in Idle (`outstanding`), their data discarded.
            self.fsm.d.next = TxState::Idle;
            self.iss_more.d.next = false;
            self.faulted.d.next = false;
            // The descriptor is fetched and read again: take its bytes back out of the frame
            // (added at the end of ReadData, unless dropping).
            if (self.fsm.q.val() == TxState::WriteBack) & !self.dropping.q.val() {
                self.wr_ptr.d.next = self.wr_ptr.q.val() - self.len.val().get_bits::<16>(0);
                self.frame_bytes.d.next = self.frame_bytes.q.val() - self.len.val();
            }
        } else {
            match self.fsm.q.val() {
                TxState::Idle => {
                    if self.r_halted.q.val() {
                        self.fsm.d.next = TxState::Halted;
                    } else if self.enable.val()
                        & (self.head.q.val() != self.tdt.val())
                        & self.ring_ok.val()
                        & (self.outstanding.q.val() == 0)
                    {
                        self.desc_addr.d.next = self.tdbal.val() + (self.head.q.val() << 4);
                        self.issue_addr.d.next = self.tdbal.val() + (self.head.q.val() << 4);
                        self.iss_left.d.next = 4.into();
                        self.iss_one.d.next = false;
                        self.iss_more.d.next = true;
                        self.rcv_left.d.next = 4.into();
                        self.rcv_one.d.next = false;
                        self.faulted.d.next = false;
                        self.fsm.d.next = TxState::FetchDesc;
                    }
                }
                TxState::FetchDesc => {
                    if self.dma.resp.val() & !self.faulted.q.val() {
                        if self.dma.fault.val() {
                            self.faulted.d.next = true;
                            self.fault_addr.d.next = self.dma.rdata.val();
                        } else {
                            if self.rcv_left.q.val() == 4 {
                                self.d_addr.d.next = self.dma.rdata.val();
                            }
                            if self.rcv_left.q.val() == 3 {
                                self.d_hi.d.next = self.dma.rdata.val() != 0;
                            }
                            if self.rcv_left.q.val() == 2 {
                                self.d_len_cmd.d.next = self.dma.rdata.val();
                            }
                            if self.rcv_one.q.val() {
                                self.d_sta.d.next = self.dma.rdata.val();
                                self.fsm.d.next = TxState::CheckDesc;
                            }
                        }
                    }
                    if self.faulted.q.val() & (self.outstanding.q.val() == 0) {
                        self.faulted.d.next = false;
                        self.iss_more.d.next = false;
                        self.r_halted.d.next = true;
                        self.r_err_addr.d.next = self.fault_addr.q.val();
                        self.c_dma_err.next = true;
                        self.fsm.d.next = TxState::Halted;
                    }
                }
                TxState::CheckDesc => {
                    if self.malformed.val() {
                        if !self.dropping.q.val() {
                            self.ev_drop.next = true;
                        }
                        self.dropping.d.next = true;
                    }
                    if self.malformed.val() | self.dropping.q.val() | (self.len.val() == 0) {
                        self.issue_addr.d.next = self.desc_addr.q.val() + self.k_sta_offset.val();
                        self.iss_left.d.next = 1.into();
                        self.iss_one.d.next = true;
                        self.iss_more.d.next = self.rs.val();
                        self.rcv_left.d.next = 1.into();
                        self.rcv_one.d.next = true;
                        self.fsm.d.next = TxState::WriteBack;
                    } else {
                        self.issue_addr.d.next = self.d_addr.q.val() & self.word_mask.val();
                        self.iss_left.d.next = self.nwords.val().get_bits::<16>(0);
                        self.iss_one.d.next = self.nwords.val() == 1;
                        self.rcv_left.d.next = self.nwords.val().get_bits::<16>(0);
                        self.rcv_one.d.next = self.nwords.val() == 1;
                        self.rcv_first.d.next = true;
                        self.first_mask.d.next =
                            self.all_lanes.val() << self.d_addr.q.val().get_bits::<2>(0);
                        self.last_mask.d.next = 15.into();
                        if self.end_lane.val() == 1 {
                            self.last_mask.d.next = 1.into();
                        }
                        if self.end_lane.val() == 2 {
                            self.last_mask.d.next = 3.into();
                        }
                        if self.end_lane.val() == 3 {
                            self.last_mask.d.next = 7.into();
                        }
                        self.fpos.d.next = self.wr_ptr.q.val()
                            - bit_cast::<16, 2>(self.d_addr.q.val().get_bits::<2>(0));
                        self.fsm.d.next = TxState::WaitSpace;
                    }
                }
                TxState::WaitSpace => {
                    // The whole buffer's room: every read in flight has its place.
                    if self.fifo_free.val() >= self.len.val() {
                        self.iss_more.d.next = true;
                        self.fsm.d.next = TxState::ReadData;
                    }
                }
                TxState::ReadData => {
                    if self.dma.resp.val() & !self.faulted.q.val() {
                        if self.dma.fault.val() {
                            self.faulted.d.next = true;
                            self.fault_addr.d.next = self.dma.rdata.val();
                        } else {
                            self.fifo_wr_mask.next = self.mask_lo.val() & self.mask_hi.val();
                            self.fpos.d.next = self.fpos.q.val() + 4;
                            if self.rcv_one.q.val() {
                                self.wr_ptr.d.next =
                                    self.wr_ptr.q.val() + self.len.val().get_bits::<16>(0);
                                self.frame_bytes.d.next = self.frame_bytes.q.val() + self.len.val();
                                self.issue_addr.d.next =
                                    self.desc_addr.q.val() + self.k_sta_offset.val();
                                self.iss_left.d.next = 1.into();
                                self.iss_one.d.next = true;
                                self.iss_more.d.next = self.rs.val();
                                self.rcv_left.d.next = 1.into();
                                self.rcv_one.d.next = true;
                                self.fsm.d.next = TxState::WriteBack;
                            }
                        }
                    }
                    if self.faulted.q.val() & (self.outstanding.q.val() == 0) {
                        if !self.dropping.q.val() {
                            self.ev_drop.next = true;
                        }
                        self.dropping.d.next = true;
                        self.r_err_addr.d.next = self.fault_addr.q.val();
                        self.faulted.d.next = false;
                        self.issue_addr.d.next = self.desc_addr.q.val() + self.k_sta_offset.val();
                        self.iss_left.d.next = 1.into();
                        self.iss_one.d.next = true;
                        self.iss_more.d.next = self.rs.val();
                        self.rcv_left.d.next = 1.into();
                        self.rcv_one.d.next = true;
                        self.fsm.d.next = TxState::WriteBack;
                    }
                }
                TxState::WriteBack => {
                    if self.rs.val() {
                        if self.dma.resp.val() & !self.faulted.q.val() {
                            if self.dma.fault.val() {
                                self.faulted.d.next = true;
                                self.fault_addr.d.next = self.dma.rdata.val();
                            } else {
                                self.finish.next = true;
                                if (self.cmd.val() & self.k_ide.val()) != 0 {
                                    self.c_txdw_delayed.next = true;
                                } else {
                                    self.c_txdw.next = true;
                                }
                            }
                        }
                        if self.faulted.q.val() & (self.outstanding.q.val() == 0) {
                            self.faulted.d.next = false;
                            self.r_halted.d.next = true;
                            self.r_err_addr.d.next = self.fault_addr.q.val();
                            self.c_dma_err.next = true;
                            self.fsm.d.next = TxState::Halted;
                            // The restart fetches this descriptor again: take its bytes back
                            // out of the frame (unless dropping, they were added in ReadData).
                            if !self.dropping.q.val() {
                                self.wr_ptr.d.next =
                                    self.wr_ptr.q.val() - self.len.val().get_bits::<16>(0);
                                self.frame_bytes.d.next = self.frame_bytes.q.val() - self.len.val();
                            }
                        }
                    } else {
                        self.finish.next = true;
                    }
                    if self.finish.val() {
                        self.head.d.next = self.next_head.val() & self.index_mask.val();
                        if self.next_head.val() == self.tdt.val() {
                            self.c_txqe.next = true;
                        }
                        if self.eop.val() {
                            self.fsm.d.next = TxState::Commit;
                        } else {
                            self.fsm.d.next = TxState::Idle;
                        }
                    }
                }
                TxState::Commit => {
                    if self.dropping.q.val() {
                        self.wr_ptr.d.next = self.frame_start.q.val();
                        self.frame_bytes.d.next = 0.into();
                        self.dropping.d.next = false;
                        self.fsm.d.next = TxState::Idle;
                    } else if !self.q_full.val() {
                        self.q_push.next = true;
                        self.frame_start.d.next = self.wr_ptr.q.val();
                        self.frame_bytes.d.next = 0.into();
                        self.fsm.d.next = TxState::Idle;
                    }
                }
                TxState::Halted => {
                    if self.restart.val() {
                        self.r_halted.d.next = false;
                        self.fsm.d.next = TxState::Idle;
                    }
                }
                _ => {
                    self.fsm.d.next = TxState::Idle;
                }
            }
        }
        if self.head_write.val() {
            self.head.d.next = self.head_wdata.val() & self.index_mask.val();
        }
        if self.soft_reset.val() {
            self.fsm.d.next = TxState::Idle;
            self.head.d.next = 0.into();
            self.wr_ptr.d.next = 0.into();
            self.frame_start.d.next = 0.into();
            self.frame_bytes.d.next = 0.into();
            self.dropping.d.next = false;
            self.r_halted.d.next = false;
        }
        self.tdh.next = self.head.q.val();
        self.state.next = self.fsm.q.val();
        self.quiet.next = (self.outstanding.q.val() == 0)
            & !self.iss_more.q.val()
            & !self.soft_reset.val()
            & !self.head_write.val()
            & !self.restart.val()
            & (((self.fsm.q.val() == TxState::Idle)
                & !self.r_halted.q.val()
                & !(self.enable.val() & (self.head.q.val() != self.tdt.val())))
                | (self.fsm.q.val() == TxState::Halted));
        match self.fsm.q.val() {
            TxState::Idle => {
                self.state_code.next = 0.into();
            }
            TxState::FetchDesc => {
                self.state_code.next = 1.into();
            }
            TxState::CheckDesc => {
                self.state_code.next = 2.into();
            }
            TxState::WaitSpace => {
                self.state_code.next = 3.into();
            }
            TxState::ReadData => {
                self.state_code.next = 4.into();
            }
            TxState::WriteBack => {
                self.state_code.next = 5.into();
            }
            TxState::Commit => {
                self.state_code.next = 6.into();
            }
            TxState::Halted => {
                self.state_code.next = 7.into();
            }
        }
        self.halted.next = self.r_halted.q.val();
        self.err_addr.next = self.r_err_addr.q.val();
    }
}

#[cfg(test)]
#[path = "tx_dma_tests.rs"]
mod tests;
