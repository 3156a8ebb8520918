//! The memcpy DMA channel: the classic DMAC (SRC, DST, LEN, START, DONE/ERR, interrupt) plus a
//! descriptor-chain (scatter-gather) mode, a master on the pipelined DMA port
//! ([`DmaPort`], `dma::port`: valid/ready requests, in-order responses).
//!
//! ```text
//!          CSR side                                     DMA port (initiator, to the mux)
//!            ┌────────────────────────────────────┐
//!  start   ─►│  Idle ─► CheckRegs ─┐              ├─► dma.valid, addr, we, wdata, last,
//!  abort   ─►│                     ▼              │   dev (= device_id)   all from registers
//!  chain   ─►│  FetchDesc ─► CheckDesc ─► Read    │◄─ dma.ready
//!  src,dst,─►│       ▲                     │      │◄─ dma.resp, fault, rdata (in order)
//!  len       │       │                     ▼      │
//!  desc_head►│       └──── WriteBack ◄──── Write  │◄─ addr_limit (33 bits)
//!  chain_  ─►│      WriteBackError (bad desc.)    │
//!  limit     │                                    │
//!  clear_* ─►│  read-ahead buffer: READ_AHEAD     │  outstanding: beats accepted whose
//!            │  words, reads in flight + words    │  response has not come (at most
//!            │  held <= READ_AHEAD                │  MAX_OUTSTANDING), types in order
//!            ├────────────────────────────────────┤
//!            │ busy done err rejected_start       │
//!            │ cause desc_done bytes_done ...     │
//!            └────────────────────────────────────┘
//! ```
//!
//! **The port.** Every request field (`dma.valid`, `addr`, `we`, `wdata`, `last`, `dev`) is a
//! function of this channel's registers, and `abort` pulls `valid` low; none depends on
//! `ready`, `resp`, `fault` or `rdata` in the same cycle. A beat is accepted when `valid &&
//! ready`; `outstanding` counts accepted beats whose response has not come, and a ring of
//! `MAX_OUTSTANDING` bits remembers, in order, whether each was a read.
//!
//! **The copy** (states `Read`: reads still to issue, `Write`: every read issued, the last
//! writes and responses to go). Reads run ahead into a read-ahead buffer of
//! [`READ_AHEAD`] words (registers); writes go out from the buffer's head. At most one beat
//! per cycle: a write whenever the head word is there, else a read if `reads in flight +
//! words buffered < READ_AHEAD` (a read is issued only when its data has room: responses have
//! no back pressure). Read data enters the buffer at the response's clock edge and leaves it as
//! a write at the earliest one cycle later: `wdata` is a buffer register, never `rdata`. With
//! the SoC's latency (accept at t, response at t+3) the channel alternates four reads and four
//! writes and keeps the bus busy every cycle: a 1 KiB copy (512 beats) takes 515 cycles from
//! its first beat accepted to its last response (516 at latency 2: three reads and three
//! writes, and a last word whose write waits for its read).
//!
//! `dma.last` marks the read beat after which the source's next word is in another 4 KiB page,
//! the write beat after which the destination's next word is (both from bits 11:2 of the
//! address register, no adder), the last write of a run or descriptor (`wr_last`, a register
//! set one beat ahead), the 4th beat of a descriptor fetch and the descriptor write-back. The
//! arbiter ends a burst there.
//!
//! Nothing is written before all checks pass: register mode checks SRC, DST and LEN before the
//! first beat; chain mode checks each descriptor's address before it fetches it and its fields
//! before it copies. A bad descriptor gets ERR and the cause written back into it (if its
//! address is valid) and the run ends with `err`. A chain longer than `chain_limit` (a loop)
//! ends with `ChainLimit`. A `start` while busy is ignored and flagged. Every phase (a fetch,
//! a copy, a write-back) waits for all its responses before the next begins, so a response
//! always belongs to the current phase, and `done`, `err` and `desc_done` are reported only
//! when every beat has been answered: the port is then idle and memory settled.
//! `bytes_done` counts the words whose write response came back without a fault.
//!
//! **Faults.** A response with `fault` (the IOMMU refused the beat; `rdata` = its IOVA): the
//! channel stops issuing from the next cycle (the target's `ready` is low in the fault
//! cycle), takes the responses of the beats still in flight (all faults: the target refuses
//! every beat issued before the channel saw the fault), then ends with cause `IommuFault`,
//! `err_addr` = the first refused IOVA. In chain mode during a copy it first writes ERR and
//! the cause back into the descriptor (that write is translated too; if it faults as well the
//! run ends with the original cause and address). A response while nothing is outstanding is
//! not this channel's and is ignored.
//!
//! **Abort.** An `abort` pulse (CTRL.ABORT) pulls `valid` low in its own cycle and from then
//! on: no beat is accepted from the abort cycle on. The beats already accepted (at most
//! `MAX_OUTSTANDING`, in practice the latency's worth) complete, whole words, and the channel
//! counts them down; then the run ends with `err` and cause `Aborted`. With nothing in flight
//! it ends in the abort cycle, as before. `err_addr` is the source of the first word whose
//! write was not performed (register mode: SRC + `bytes_done`) or the descriptor it was in
//! (chain mode). Memory holds every word of the copy whole or not at all, and nothing past
//! the first word not copied. `abort` while idle does nothing, and wins over a `start` in the
//! same cycle; it also wins over a fault being drained (the cause is then `Aborted`).
//!
//! Descriptor write-back (`DONE`) is issued after the responses of the descriptor's data
//! writes have come back, so the data is in memory before the software can see `DONE`.
//!
//! The counters `err_count` and `rejected_starts` are register-file counter cells
//! (`crate::regfile::Counter`, docs/soc.md, "Counters"), `counter_max` wide (the build's
//! `regs::SocConfig::counter_bits`), wrapping to 0 after it (the cell checks that
//! `counter_max` is 2^n - 1). `desc_done` and `bytes_done` are progress, not statistics:
//! always 32 bits.

use super::port::DmaPort;
use crate::regfile::Counter;
use regs::dmac::{desc, Cause};
use rust_hdl::prelude::*;

/// Words of the read-ahead buffer: reads in flight + words held never exceed it. Four keep an
/// unobstructed copy at one beat per cycle for a response latency of up to 3 cycles (the
/// SoC's); a power of two, at most 8.
pub const READ_AHEAD: usize = regs::dmac::READ_AHEAD as usize;

/// Beats accepted and not yet answered, at most (reads and writes): a power of two, at most 8.
pub const MAX_OUTSTANDING: usize = 8;

const _: () = assert!(READ_AHEAD.is_power_of_two() && READ_AHEAD <= 8);
const _: () = assert!(MAX_OUTSTANDING.is_power_of_two() && MAX_OUTSTANDING <= 8);

/// States of the channel, in the order of their encoding (the `obs_dma_state` pin); their
/// names are also in `regs::dmac::STATE_NAMES`.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum MemcpyState {
    Idle,
    CheckRegs,
    FetchDesc,
    CheckDesc,
    /// The copy, reads still to issue (writes go out in between).
    Read,
    /// The copy, every read issued: the last writes and the responses.
    Write,
    WriteBack,
    WriteBackError,
}

#[derive(LogicBlock)]
pub struct Memcpy {
    pub clock: Signal<In, Clock>,
    // ---- CSR side ----
    /// One-cycle pulse: CTRL was written with START.
    pub start: Signal<In, Bit>,
    /// One-cycle pulse: CTRL was written with ABORT.
    pub abort: Signal<In, Bit>,
    pub chain: Signal<In, Bit>,
    pub src: Signal<In, Bits<32>>,
    pub dst: Signal<In, Bits<32>>,
    pub len: Signal<In, Bits<32>>,
    pub desc_head: Signal<In, Bits<32>>,
    pub chain_limit: Signal<In, Bits<32>>,
    pub clear_done: Signal<In, Bit>,
    pub clear_err: Signal<In, Bit>,
    pub clear_rejected: Signal<In, Bit>,
    pub busy: Signal<Out, Bit>,
    pub done: Signal<Out, Bit>,
    pub err: Signal<Out, Bit>,
    pub rejected_start: Signal<Out, Bit>,
    pub cause: Signal<Out, Bits<4>>,
    pub cur_desc: Signal<Out, Bits<32>>,
    pub desc_done: Signal<Out, Bits<32>>,
    pub bytes_done: Signal<Out, Bits<32>>,
    pub err_addr: Signal<Out, Bits<32>>,
    pub err_count: Signal<Out, Bits<32>>,
    pub rejected_starts: Signal<Out, Bits<32>>,
    pub state: Signal<Out, MemcpyState>,
    /// Nothing would change at the next edge: idle, no beat in flight (the SoC's clock gate,
    /// `crate::clock_gate`; a start comes with a host write, which wakes the channel).
    pub quiet: Signal<Out, Bit>,
    // ---- DMA master side ----
    /// The pipelined DMA port (`dma.dev` = the constructor's `device_id`).
    pub dma: DmaPort,
    /// Addresses must end at or below this (33 bits, so 2^32 is expressible): the RAM size
    /// when addresses are physical, 2^32 when the IOMMU translates and checks them.
    pub addr_limit: Signal<In, Bits<33>>,
    // ==== implementation ====
    fsm: DFF<MemcpyState>,
    /// The next read address (the copy), or the source being checked.
    cur_src: DFF<Bits<32>>,
    /// The next write address.
    cur_dst: DFF<Bits<32>>,
    /// Bytes still to read (loaded with the length: the checks use it).
    remaining: DFF<Bits<32>>,
    /// Bytes still to write.
    wr_remaining: DFF<Bits<32>>,
    /// The run's SRC (register mode): ERR_ADDR of an abort is `base_src + bytes_done`.
    base_src: DFF<Bits<32>>,
    /// Reads still to issue / the next read is the copy's last.
    rd_active: DFF<Bit>,
    rd_last: DFF<Bit>,
    /// Writes still to issue / the next write is the copy's last.
    wr_active: DFF<Bit>,
    wr_last: DFF<Bit>,
    desc_addr: DFF<Bits<32>>,
    next_desc: DFF<Bits<32>>,
    desc_len: DFF<Bits<32>>,
    /// Beats issued / answered in a descriptor fetch; `fetch_issued` != 0 also marks the one
    /// write-back beat issued.
    fetch_issued: DFF<Bits<3>>,
    fetch_received: DFF<Bits<3>>,
    /// The read-ahead buffer (a ring: `buf_head` the next word to write, `buf_tail` where
    /// the next read data goes), `buf_count` words held, `ra_used` reads in flight + words held.
    buf: [DFF<Bits<32>>; READ_AHEAD],
    buf_head: DFF<Bits<3>>,
    buf_tail: DFF<Bits<3>>,
    buf_count: DFF<Bits<4>>,
    ra_used: DFF<Bits<4>>,
    /// Beats accepted and not answered; `kind_read[kind_out]` is the oldest one's type.
    outstanding: DFF<Bits<4>>,
    kind_read: [DFF<Bit>; MAX_OUTSTANDING],
    kind_in: DFF<Bits<3>>,
    kind_out: DFF<Bits<3>>,
    /// Stop issuing: a fault response came, or an abort; the run ends when `outstanding`
    /// is 0. `aborting`: the stop is an abort's.
    halt: DFF<Bit>,
    aborting: DFF<Bit>,
    chain_mode: DFF<Bit>,
    r_done: DFF<Bit>,
    r_err: DFF<Bit>,
    r_rejected: DFF<Bit>,
    r_cause: DFF<Bits<4>>,
    r_err_addr: DFF<Bits<32>>,
    r_desc_done: DFF<Bits<32>>,
    r_bytes_done: DFF<Bits<32>>,
    /// Counter cells (`crate::regfile::Counter`, never cleared: ERR_COUNT, REJECTED_STARTS).
    n_err: Counter,
    n_rejected: Counter,
    // Checks, computed every cycle on the current working registers.
    src_end: Signal<Local, Bits<33>>,
    dst_end: Signal<Local, Bits<33>>,
    candidate_desc: Signal<Local, Bits<32>>,
    candidate_end: Signal<Local, Bits<33>>,
    candidate_ok: Signal<Local, Bit>,
    fields_cause: Signal<Local, Bits<4>>,
    fields_err_addr: Signal<Local, Bits<32>>,
    // The port, this cycle.
    head_word: Signal<Local, Bits<32>>,
    may_issue: Signal<Local, Bit>,
    issue_write: Signal<Local, Bit>,
    issue_read: Signal<Local, Bit>,
    accepted: Signal<Local, Bit>,
    got_resp: Signal<Local, Bit>,
    got_fault: Signal<Local, Bit>,
    resp_is_read: Signal<Local, Bit>,
    push_word: Signal<Local, Bit>,
    /// The state is `Read` or `Write`.
    copying: Signal<Local, Bit>,
    pop_word: Signal<Local, Bit>,
    abort_now: Signal<Local, Bit>,
    /// No stop (fault, abort) in progress or starting: the phases may move on.
    go_on: Signal<Local, Bit>,
    /// This cycle's response (if any) is the last outstanding one, and nothing is accepted.
    drained: Signal<Local, Bit>,
    device: Constant<Bits<2>>,
    read_ahead: Constant<Bits<4>>,
    max_outstanding: Constant<Bits<4>>,
    buf_last: Constant<Bits<3>>,
    kind_last: Constant<Bits<3>>,
    page_last_word: Constant<Bits<10>>,
    desc_bytes: Constant<Bits<33>>,
    len_mask: Constant<Bits<32>>,
    desc_done_bit: Constant<Bits<32>>,
    desc_err_bit: Constant<Bits<32>>,
    desc_len_status: Constant<Bits<32>>,
    desc_cause_shift: Constant<Bits<5>>,
    cause_none: Constant<Bits<4>>,
    cause_zero_length: Constant<Bits<4>>,
    cause_unaligned: Constant<Bits<4>>,
    cause_out_of_range: Constant<Bits<4>>,
    cause_chain_limit: Constant<Bits<4>>,
    cause_bad_descriptor: Constant<Bits<4>>,
    cause_iommu_fault: Constant<Bits<4>>,
    cause_aborted: Constant<Bits<4>>,
}

fn k32(v: u32) -> Constant<Bits<32>> {
    Constant::new((v as u64).into())
}

fn cause(c: Cause) -> Constant<Bits<4>> {
    Constant::new((c as u64).into())
}

impl Memcpy {
    /// A channel whose counters (`err_count`, `rejected_starts`) hold up to `counter_max`
    /// (`2^counter_bits - 1`) and then wrap to 0, and which drives `device_id` (0 to 3, the
    /// IOMMU device context: channel n is device n) on `dma.dev`; its address range comes
    /// from the `addr_limit` input.
    pub fn new(counter_max: u32, device_id: usize) -> Self {
        assert!(device_id < 4, "device_id {device_id}: 0 to 3");
        Self {
            clock: Default::default(),
            start: Default::default(),
            abort: Default::default(),
            chain: Default::default(),
            src: Default::default(),
            dst: Default::default(),
            len: Default::default(),
            desc_head: Default::default(),
            chain_limit: Default::default(),
            clear_done: Default::default(),
            clear_err: Default::default(),
            clear_rejected: Default::default(),
            busy: Default::default(),
            done: Default::default(),
            err: Default::default(),
            rejected_start: Default::default(),
            cause: Default::default(),
            cur_desc: Default::default(),
            desc_done: Default::default(),
            bytes_done: Default::default(),
            err_addr: Default::default(),
            err_count: Default::default(),
            rejected_starts: Default::default(),
            state: Default::default(),
            quiet: Default::default(),
            dma: Default::default(),
            addr_limit: Default::default(),
            fsm: Default::default(),
            cur_src: Default::default(),
            cur_dst: Default::default(),
            remaining: Default::default(),
            wr_remaining: Default::default(),
            base_src: Default::default(),
            rd_active: Default::default(),
            rd_last: Default::default(),
            wr_active: Default::default(),
            wr_last: Default::default(),
            desc_addr: Default::default(),
            next_desc: Default::default(),
            desc_len: Default::default(),
            fetch_issued: Default::default(),
            fetch_received: Default::default(),
            buf: std::array::from_fn(|_| Default::default()),
            buf_head: Default::default(),
            buf_tail: Default::default(),
            buf_count: Default::default(),
            ra_used: Default::default(),
            outstanding: Default::default(),
            kind_read: std::array::from_fn(|_| Default::default()),
            kind_in: Default::default(),
            kind_out: Default::default(),
            halt: Default::default(),
            aborting: Default::default(),
            chain_mode: Default::default(),
            r_done: Default::default(),
            r_err: Default::default(),
            r_rejected: Default::default(),
            r_cause: Default::default(),
            r_err_addr: Default::default(),
            r_desc_done: Default::default(),
            r_bytes_done: Default::default(),
            n_err: Counter::new(counter_max),
            n_rejected: Counter::new(counter_max),
            src_end: Default::default(),
            dst_end: Default::default(),
            candidate_desc: Default::default(),
            candidate_end: Default::default(),
            candidate_ok: Default::default(),
            fields_cause: Default::default(),
            fields_err_addr: Default::default(),
            head_word: Default::default(),
            may_issue: Default::default(),
            issue_write: Default::default(),
            issue_read: Default::default(),
            accepted: Default::default(),
            got_resp: Default::default(),
            got_fault: Default::default(),
            resp_is_read: Default::default(),
            push_word: Default::default(),
            copying: Default::default(),
            pop_word: Default::default(),
            abort_now: Default::default(),
            go_on: Default::default(),
            drained: Default::default(),
            device: Constant::new((device_id as u64).into()),
            read_ahead: Constant::new((READ_AHEAD as u64).into()),
            max_outstanding: Constant::new((MAX_OUTSTANDING as u64).into()),
            buf_last: Constant::new(((READ_AHEAD - 1) as u64).into()),
            kind_last: Constant::new(((MAX_OUTSTANDING - 1) as u64).into()),
            page_last_word: Constant::new((((regs::PAGE_BYTES - 1) >> 2) as u64).into()),
            desc_bytes: Constant::new((desc::BYTES as u64).into()),
            len_mask: k32(desc::LEN_MASK),
            desc_done_bit: k32(desc::DONE),
            desc_err_bit: k32(desc::ERR),
            desc_len_status: k32(desc::LEN_STATUS),
            desc_cause_shift: Constant::new((desc::CAUSE_SHIFT as u64).into()),
            cause_none: cause(Cause::None),
            cause_zero_length: cause(Cause::ZeroLength),
            cause_unaligned: cause(Cause::Unaligned),
            cause_out_of_range: cause(Cause::OutOfRange),
            cause_chain_limit: cause(Cause::ChainLimit),
            cause_bad_descriptor: cause(Cause::BadDescriptor),
            cause_iommu_fault: cause(Cause::IommuFault),
            cause_aborted: cause(Cause::Aborted),
        }
    }
}

impl Default for Memcpy {
    /// 32-bit counters (the simulation build), device 0.
    fn default() -> Self {
        Self::new(u32::MAX, 0)
    }
}

impl Logic for Memcpy {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            fsm,
            cur_src,
            cur_dst,
            remaining,
            wr_remaining,
            base_src,
            rd_active,
            rd_last,
            wr_active,
            wr_last,
            desc_addr,
            next_desc,
            desc_len,
            fetch_issued,
            fetch_received,
            buf_head,
            buf_tail,
            buf_count,
            ra_used,
            outstanding,
            kind_in,
            kind_out,
            halt,
            aborting,
            chain_mode,
            r_done,
            r_err,
            r_rejected,
            r_cause,
            r_err_addr,
            r_desc_done,
            r_bytes_done
        );
        self.n_err.clock.next = self.clock.val();
        self.n_err.inc.next = false;
        self.n_err.clear.next = false;
        self.n_rejected.clock.next = self.clock.val();
        self.n_rejected.inc.next = false;
        self.n_rejected.clear.next = false;
        for i in 0..READ_AHEAD {
            self.buf[i].clock.next = self.clock.val();
            self.buf[i].d.next = self.buf[i].q.val();
        }
        for i in 0..MAX_OUTSTANDING {
            self.kind_read[i].clock.next = self.clock.val();
            self.kind_read[i].d.next = self.kind_read[i].q.val();
        }
        // ---- status outputs ----
        self.state.next = self.fsm.q.val();
        self.busy.next = self.fsm.q.val() != MemcpyState::Idle;
        self.quiet.next = (self.fsm.q.val() == MemcpyState::Idle)
            & (self.outstanding.q.val() == 0)
            & !self.start.val()
            & !self.abort.val()
            & !self.clear_done.val()
            & !self.clear_err.val()
            & !self.clear_rejected.val();
        self.done.next = self.r_done.q.val();
        self.err.next = self.r_err.q.val();
        self.rejected_start.next = self.r_rejected.q.val();
        self.cause.next = self.r_cause.q.val();
        self.cur_desc.next = self.desc_addr.q.val();
        self.desc_done.next = self.r_desc_done.q.val();
        self.bytes_done.next = self.r_bytes_done.q.val();
        self.err_addr.next = self.r_err_addr.q.val();
        self.err_count.next = self.n_err.value.val();
        self.rejected_starts.next = self.n_rejected.value.val();

        // ---- software clears (write 1 to clear); hardware sets below win ----
        if self.clear_done.val() {
            self.r_done.d.next = false;
        }
        if self.clear_err.val() {
            self.r_err.d.next = false;
            self.r_cause.d.next = self.cause_none.val();
        }
        if self.clear_rejected.val() {
            self.r_rejected.d.next = false;
        }

        // ---- checks ----
        self.src_end.next =
            bit_cast::<33, 32>(self.cur_src.q.val()) + bit_cast::<33, 32>(self.remaining.q.val());
        self.dst_end.next =
            bit_cast::<33, 32>(self.cur_dst.q.val()) + bit_cast::<33, 32>(self.remaining.q.val());
        if self.fsm.q.val() == MemcpyState::Idle {
            self.candidate_desc.next = self.desc_head.val();
        } else {
            self.candidate_desc.next = self.next_desc.q.val();
        }
        self.candidate_end.next =
            bit_cast::<33, 32>(self.candidate_desc.val()) + self.desc_bytes.val();
        self.candidate_ok.next = (self.candidate_desc.val().get_bits::<4>(0) == 0)
            & (self.candidate_desc.val() != 0)
            & (self.candidate_end.val() <= self.addr_limit.val());
        self.fields_err_addr.next = self.cur_src.q.val();
        if self.remaining.q.val() == 0 {
            self.fields_cause.next = self.cause_zero_length.val();
        } else if (self.cur_src.q.val().get_bits::<2>(0) != 0)
            | (self.cur_dst.q.val().get_bits::<2>(0) != 0)
            | (self.remaining.q.val().get_bits::<2>(0) != 0)
        {
            self.fields_cause.next = self.cause_unaligned.val();
            // ERR_ADDR names the unaligned address: SRC, else DST, else (LEN) SRC.
            if (self.cur_src.q.val().get_bits::<2>(0) == 0)
                & (self.cur_dst.q.val().get_bits::<2>(0) != 0)
            {
                self.fields_err_addr.next = self.cur_dst.q.val();
            }
        } else if self.src_end.val() > self.addr_limit.val() {
            self.fields_cause.next = self.cause_out_of_range.val();
        } else if self.dst_end.val() > self.addr_limit.val() {
            self.fields_cause.next = self.cause_out_of_range.val();
            self.fields_err_addr.next = self.cur_dst.q.val();
        } else {
            self.fields_cause.next = self.cause_none.val();
        }

        // ---- the request: registers only (abort may pull valid low) ----
        self.abort_now.next = self.abort.val() & (self.fsm.q.val() != MemcpyState::Idle);
        self.may_issue.next = !self.halt.q.val()
            & !self.abort.val()
            & (self.outstanding.q.val() != self.max_outstanding.val());
        self.head_word.next = self.buf[0].q.val();
        for i in 0..READ_AHEAD {
            if self.buf_head.q.val().index() == i {
                self.head_word.next = self.buf[i].q.val();
            }
        }
        // The copy prefers a write when the head word is there.
        self.issue_write.next = self.buf_count.q.val() != 0;
        self.issue_read.next = !self.issue_write.val()
            & self.rd_active.q.val()
            & (self.ra_used.q.val() != self.read_ahead.val());
        self.dma.dev.next = self.device.val();
        self.dma.valid.next = false;
        self.dma.addr.next = self.cur_src.q.val();
        self.dma.we.next = false;
        self.dma.wdata.next = self.head_word.val();
        self.dma.last.next = false;
        match self.fsm.q.val() {
            MemcpyState::FetchDesc => {
                // Four read beats SRC, DST, LEN_STATUS, NEXT (16-byte aligned: OR, no adder).
                self.dma.valid.next = self.may_issue.val() & (self.fetch_issued.q.val() != 4);
                self.dma.addr.next =
                    self.desc_addr.q.val() | (bit_cast::<32, 3>(self.fetch_issued.q.val()) << 2);
                self.dma.last.next = self.fetch_issued.q.val() == 3;
            }
            MemcpyState::Read => {
                self.dma.valid.next =
                    self.may_issue.val() & (self.issue_write.val() | self.issue_read.val());
                if self.issue_write.val() {
                    self.dma.we.next = true;
                    self.dma.addr.next = self.cur_dst.q.val();
                    self.dma.last.next = self.wr_last.q.val()
                        | (self.cur_dst.q.val().get_bits::<10>(2) == self.page_last_word.val());
                } else {
                    self.dma.last.next =
                        self.cur_src.q.val().get_bits::<10>(2) == self.page_last_word.val();
                }
            }
            MemcpyState::Write => {
                // Every read issued: only writes are left.
                self.dma.valid.next = self.may_issue.val() & self.issue_write.val();
                self.dma.we.next = true;
                self.dma.addr.next = self.cur_dst.q.val();
                self.dma.last.next = self.wr_last.q.val()
                    | (self.cur_dst.q.val().get_bits::<10>(2) == self.page_last_word.val());
            }
            MemcpyState::WriteBack => {
                self.dma.valid.next = self.may_issue.val() & (self.fetch_issued.q.val() == 0);
                self.dma.we.next = true;
                self.dma.last.next = true;
                self.dma.addr.next = self.desc_addr.q.val() | self.desc_len_status.val();
                self.dma.wdata.next = self.desc_len.q.val() | self.desc_done_bit.val();
            }
            MemcpyState::WriteBackError => {
                self.dma.valid.next = self.may_issue.val() & (self.fetch_issued.q.val() == 0);
                self.dma.we.next = true;
                self.dma.last.next = true;
                self.dma.addr.next = self.desc_addr.q.val() | self.desc_len_status.val();
                self.dma.wdata.next = self.desc_len.q.val()
                    | self.desc_err_bit.val()
                    | (bit_cast::<32, 4>(self.r_cause.q.val()) << self.desc_cause_shift.val());
            }
            MemcpyState::Idle => {}
            MemcpyState::CheckRegs => {}
            MemcpyState::CheckDesc => {}
        }

        // ---- acceptance and responses: they only feed registers ----
        self.accepted.next = self.dma.valid.val() & self.dma.ready.val();
        self.got_resp.next = self.dma.resp.val() & (self.outstanding.q.val() != 0);
        self.got_fault.next = self.got_resp.val() & self.dma.fault.val();
        self.resp_is_read.next = false;
        for i in 0..MAX_OUTSTANDING {
            if self.kind_out.q.val().index() == i {
                self.resp_is_read.next = self.kind_read[i].q.val();
            }
        }
        if self.accepted.val() {
            for i in 0..MAX_OUTSTANDING {
                if self.kind_in.q.val().index() == i {
                    self.kind_read[i].d.next = !self.dma.we.val();
                }
            }
            if self.kind_in.q.val() == self.kind_last.val() {
                self.kind_in.d.next = 0.into();
            } else {
                self.kind_in.d.next = self.kind_in.q.val() + 1;
            }
        }
        if self.got_resp.val() {
            if self.kind_out.q.val() == self.kind_last.val() {
                self.kind_out.d.next = 0.into();
            } else {
                self.kind_out.d.next = self.kind_out.q.val() + 1;
            }
        }
        if self.accepted.val() & !self.got_resp.val() {
            self.outstanding.d.next = self.outstanding.q.val() + 1;
        }
        if !self.accepted.val() & self.got_resp.val() {
            self.outstanding.d.next = self.outstanding.q.val() - 1;
        }
        self.drained.next = !self.accepted.val()
            & ((self.outstanding.q.val() == 0)
                | ((self.outstanding.q.val() == 1) & self.got_resp.val()));
        self.go_on.next = !self.halt.q.val() & !self.abort_now.val() & !self.got_fault.val();

        // ---- the read-ahead buffer ----
        self.copying.next =
            (self.fsm.q.val() == MemcpyState::Read) | (self.fsm.q.val() == MemcpyState::Write);
        self.pop_word.next = self.copying.val() & self.accepted.val() & self.dma.we.val();
        self.push_word.next = self.copying.val()
            & self.got_resp.val()
            & !self.dma.fault.val()
            & self.resp_is_read.val();
        if self.push_word.val() {
            for i in 0..READ_AHEAD {
                if self.buf_tail.q.val().index() == i {
                    self.buf[i].d.next = self.dma.rdata.val();
                }
            }
            if self.buf_tail.q.val() == self.buf_last.val() {
                self.buf_tail.d.next = 0.into();
            } else {
                self.buf_tail.d.next = self.buf_tail.q.val() + 1;
            }
        }
        if self.pop_word.val() {
            if self.buf_head.q.val() == self.buf_last.val() {
                self.buf_head.d.next = 0.into();
            } else {
                self.buf_head.d.next = self.buf_head.q.val() + 1;
            }
        }
        if self.push_word.val() & !self.pop_word.val() {
            self.buf_count.d.next = self.buf_count.q.val() + 1;
        }
        if !self.push_word.val() & self.pop_word.val() {
            self.buf_count.d.next = self.buf_count.q.val() - 1;
        }

        match self.fsm.q.val() {
            MemcpyState::Idle => {
                if self.start.val() & !self.abort.val() {
                    self.r_done.d.next = false;
                    self.r_err.d.next = false;
                    self.r_cause.d.next = self.cause_none.val();
                    self.r_desc_done.d.next = 0.into();
                    self.r_bytes_done.d.next = 0.into();
                    self.chain_mode.d.next = self.chain.val();
                    self.fetch_issued.d.next = 0.into();
                    self.fetch_received.d.next = 0.into();
                    self.halt.d.next = false;
                    self.aborting.d.next = false;
                    if self.chain.val() {
                        self.desc_addr.d.next = self.desc_head.val();
                        if !self.candidate_ok.val() {
                            self.r_err.d.next = true;
                            self.r_cause.d.next = self.cause_bad_descriptor.val();
                            self.r_err_addr.d.next = self.desc_head.val();
                            self.n_err.inc.next = true;
                        } else if self.chain_limit.val() == 0 {
                            self.r_err.d.next = true;
                            self.r_cause.d.next = self.cause_chain_limit.val();
                            self.r_err_addr.d.next = self.desc_head.val();
                            self.n_err.inc.next = true;
                        } else {
                            self.fsm.d.next = MemcpyState::FetchDesc;
                        }
                    } else {
                        self.cur_src.d.next = self.src.val();
                        self.base_src.d.next = self.src.val();
                        self.cur_dst.d.next = self.dst.val();
                        self.remaining.d.next = self.len.val();
                        self.fsm.d.next = MemcpyState::CheckRegs;
                    }
                }
            }
            MemcpyState::CheckRegs => {
                if self.fields_cause.val() == self.cause_none.val() {
                    self.fsm.d.next = MemcpyState::Read;
                } else {
                    self.r_err.d.next = true;
                    self.r_cause.d.next = self.fields_cause.val();
                    self.r_err_addr.d.next = self.fields_err_addr.val();
                    self.n_err.inc.next = true;
                    self.fsm.d.next = MemcpyState::Idle;
                }
            }
            MemcpyState::FetchDesc => {
                if self.accepted.val() {
                    self.fetch_issued.d.next = self.fetch_issued.q.val() + 1;
                }
                if self.got_resp.val() & !self.dma.fault.val() {
                    self.fetch_received.d.next = self.fetch_received.q.val() + 1;
                    if self.fetch_received.q.val() == 0 {
                        self.cur_src.d.next = self.dma.rdata.val();
                    }
                    if self.fetch_received.q.val() == 1 {
                        self.cur_dst.d.next = self.dma.rdata.val();
                    }
                    if self.fetch_received.q.val() == 2 {
                        self.remaining.d.next = self.dma.rdata.val() & self.len_mask.val();
                        self.desc_len.d.next = self.dma.rdata.val() & self.len_mask.val();
                    }
                    if self.fetch_received.q.val() == 3 {
                        self.next_desc.d.next = self.dma.rdata.val();
                        if self.go_on.val() {
                            self.fsm.d.next = MemcpyState::CheckDesc;
                        }
                    }
                }
            }
            MemcpyState::CheckDesc => {
                if self.fields_cause.val() == self.cause_none.val() {
                    self.fsm.d.next = MemcpyState::Read;
                } else {
                    self.r_cause.d.next = self.fields_cause.val();
                    self.r_err_addr.d.next = self.desc_addr.q.val();
                    self.fetch_issued.d.next = 0.into();
                    self.fsm.d.next = MemcpyState::WriteBackError;
                }
            }
            MemcpyState::Read => {
                if self.accepted.val() & !self.dma.we.val() {
                    self.cur_src.d.next = self.cur_src.q.val() + 4;
                    self.remaining.d.next = self.remaining.q.val() - 4;
                    self.rd_last.d.next = self.remaining.q.val() == 8;
                    self.ra_used.d.next = self.ra_used.q.val() + 1;
                    if self.rd_last.q.val() {
                        self.rd_active.d.next = false;
                        self.fsm.d.next = MemcpyState::Write;
                    }
                }
            }
            MemcpyState::WriteBack => {
                if self.accepted.val() {
                    self.fetch_issued.d.next = 1.into();
                }
                // The DONE word is in memory when its response comes.
                if self.got_resp.val() & !self.dma.fault.val() {
                    self.r_desc_done.d.next = self.r_desc_done.q.val() + 1;
                }
                if self.got_resp.val() & self.go_on.val() {
                    self.fetch_issued.d.next = 0.into();
                    self.fetch_received.d.next = 0.into();
                    if self.next_desc.q.val() == 0 {
                        self.r_done.d.next = true;
                        self.fsm.d.next = MemcpyState::Idle;
                    } else if (self.r_desc_done.q.val() + 1) >= self.chain_limit.val() {
                        self.r_err.d.next = true;
                        self.r_cause.d.next = self.cause_chain_limit.val();
                        self.r_err_addr.d.next = self.next_desc.q.val();
                        self.n_err.inc.next = true;
                        self.fsm.d.next = MemcpyState::Idle;
                    } else if !self.candidate_ok.val() {
                        self.r_err.d.next = true;
                        self.r_cause.d.next = self.cause_bad_descriptor.val();
                        self.r_err_addr.d.next = self.next_desc.q.val();
                        self.n_err.inc.next = true;
                        self.fsm.d.next = MemcpyState::Idle;
                    } else {
                        self.desc_addr.d.next = self.next_desc.q.val();
                        self.fsm.d.next = MemcpyState::FetchDesc;
                    }
                }
            }
            MemcpyState::WriteBackError => {
                if self.accepted.val() {
                    self.fetch_issued.d.next = 1.into();
                }
                // Its response ends the run, a fault too (the original cause stays).
                if self.got_resp.val() & !self.halt.q.val() & !self.abort_now.val() {
                    self.r_err.d.next = true;
                    self.n_err.inc.next = true;
                    self.fsm.d.next = MemcpyState::Idle;
                }
            }
            // The copy's writes and responses: below, for both copy states.
            MemcpyState::Write => {}
        }

        // ---- the copy (Read and Write): writes from the buffer's head, responses ----
        if (self.fsm.q.val() == MemcpyState::CheckRegs)
            | (self.fsm.q.val() == MemcpyState::CheckDesc)
        {
            // Load the copy (used only if the checks pass): next-is-last precomputed.
            self.wr_remaining.d.next = self.remaining.q.val();
            self.rd_active.d.next = true;
            self.wr_active.d.next = true;
            self.rd_last.d.next = self.remaining.q.val() == 4;
            self.wr_last.d.next = self.remaining.q.val() == 4;
            self.buf_head.d.next = 0.into();
            self.buf_tail.d.next = 0.into();
            self.buf_count.d.next = 0.into();
            self.ra_used.d.next = 0.into();
        }
        if self.copying.val() {
            if self.pop_word.val() {
                self.cur_dst.d.next = self.cur_dst.q.val() + 4;
                self.wr_remaining.d.next = self.wr_remaining.q.val() - 4;
                self.wr_last.d.next = self.wr_remaining.q.val() == 8;
                self.ra_used.d.next = self.ra_used.q.val() - 1;
                if self.wr_last.q.val() {
                    self.wr_active.d.next = false;
                }
            }
            if self.got_resp.val() & !self.dma.fault.val() & !self.resp_is_read.val() {
                self.r_bytes_done.d.next = self.r_bytes_done.q.val() + 4;
            }
            // Every write issued and answered.
            if !self.wr_active.q.val() & self.drained.val() & self.go_on.val() {
                if self.chain_mode.q.val() {
                    self.fetch_issued.d.next = 0.into();
                    self.fsm.d.next = MemcpyState::WriteBack;
                } else {
                    self.r_done.d.next = true;
                    self.fsm.d.next = MemcpyState::Idle;
                }
            }
        }

        // ---- a fault response: stop issuing, drain, then end ----
        // Nothing of the refused beat reached memory, nor of any beat after it. A copy in
        // chain mode still gets ERR written back into its descriptor. A failed error
        // write-back keeps the cause and address of the original error.
        if self.got_fault.val() & (self.fsm.q.val() != MemcpyState::WriteBackError) {
            self.halt.d.next = true;
            if !self.halt.q.val() & !self.abort_now.val() {
                self.r_cause.d.next = self.cause_iommu_fault.val();
                self.r_err_addr.d.next = self.dma.rdata.val();
            }
        }
        if self.halt.q.val()
            & !self.aborting.q.val()
            & !self.abort_now.val()
            & (self.outstanding.q.val() == 0)
        {
            self.halt.d.next = false;
            if self.chain_mode.q.val()
                & ((self.fsm.q.val() == MemcpyState::Read)
                    | (self.fsm.q.val() == MemcpyState::Write))
            {
                self.fetch_issued.d.next = 0.into();
                self.fsm.d.next = MemcpyState::WriteBackError;
            } else {
                self.r_err.d.next = true;
                self.n_err.inc.next = true;
                self.fsm.d.next = MemcpyState::Idle;
            }
        }

        // ---- abort: no beat from this cycle on; the beats in flight complete, then the
        // run ends (at once if none is in flight) ----
        if self.abort_now.val() {
            self.halt.d.next = true;
            self.aborting.d.next = true;
        }
        if (self.aborting.q.val() | self.abort_now.val()) & (self.outstanding.q.val() == 0) {
            self.halt.d.next = false;
            self.aborting.d.next = false;
            self.r_err.d.next = true;
            self.r_cause.d.next = self.cause_aborted.val();
            if self.chain_mode.q.val() {
                self.r_err_addr.d.next = self.desc_addr.q.val();
            } else {
                // The first word whose write was not performed.
                self.r_err_addr.d.next = self.base_src.q.val() + self.r_bytes_done.q.val();
            }
            self.n_err.inc.next = true;
            self.r_done.d.next = false;
            self.fsm.d.next = MemcpyState::Idle;
        }

        // ---- a start while busy is ignored, flagged and counted ----
        if self.start.val() & (self.fsm.q.val() != MemcpyState::Idle) {
            self.r_rejected.d.next = true;
            self.n_rejected.inc.next = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};
    use pretty_assertions::assert_eq;
    use rand::{Rng, SeedableRng};
    use std::collections::VecDeque;

    const RAM_WORDS: usize = 1024;

    /// A beat the bus model accepted, waiting for its response.
    #[derive(Clone, Debug)]
    struct Beat {
        addr: u32,
        we: bool,
        wdata: u32,
        last: bool,
        accepted: u64,
        due: u64,
        /// Accepted before a fault response was visible: refused too.
        doomed: bool,
    }

    /// The channel on a DMA port model: `ready` high with probability `ready_p`; each beat
    /// answered `delay` cycles after its acceptance (drawn per beat, at least 1), in order, at
    /// most one response per cycle; a beat is performed (memory written or read) in its
    /// response cycle. Beats to `refuse` are answered with a fault, and so (strictly) is every
    /// beat accepted before that fault response was visible; `ready` is low in a fault
    /// response's cycle, and beats accepted afterwards are performed normally.
    /// Every cycle it checks that the request does not depend on `ready`.
    struct Bench {
        uut: Memcpy,
        mem: Vec<u32>,
        rng: rand::rngs::StdRng,
        ready_p: f64,
        delay: (u64, u64),
        refuse: Vec<u32>,
        /// Write beats to refuse (reads of these addresses are performed).
        refuse_writes: Vec<u32>,
        now: u64,
        queue: VecDeque<Beat>,
        /// Every beat accepted, in order.
        beats: Vec<Beat>,
        /// The performed writes.
        writes: Vec<(u32, u32)>,
        /// (cycle, address) of each fault response.
        faults: Vec<(u64, u32)>,
        last_resp: Option<u64>,
        device: u64,
    }

    impl Bench {
        fn new(seed: u64, ready_p: f64) -> Self {
            Bench::build(seed, ready_p, u32::MAX, 0)
        }

        fn with_counter_max(seed: u64, ready_p: f64, counter_max: u32) -> Self {
            Bench::build(seed, ready_p, counter_max, 0)
        }

        fn build(seed: u64, ready_p: f64, counter_max: u32, device: usize) -> Self {
            let mut uut = Memcpy::new(counter_max, device);
            uut.addr_limit.next = (4 * RAM_WORDS as u64).into();
            uut.connect_all();
            uut.chain_limit.next = 1024.into();
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mem = (0..RAM_WORDS).map(|_| rng.gen()).collect();
            Self {
                uut,
                mem,
                rng,
                ready_p,
                delay: (3, 3),
                refuse: vec![],
                refuse_writes: vec![],
                now: 0,
                queue: VecDeque::new(),
                beats: vec![],
                writes: vec![],
                faults: vec![],
                last_resp: None,
                device: device as u64,
            }
        }

        fn request(u: &Memcpy) -> (bool, u64, bool, u64, bool, u64) {
            let p = &u.dma;
            (
                p.valid.val(),
                p.addr.val().to_u64(),
                p.we.val(),
                p.wdata.val().to_u64(),
                p.last.val(),
                p.dev.val().to_u64(),
            )
        }

        fn cycle(&mut self) {
            let now = self.now;
            let u = &mut self.uut;
            settle(u);
            if !u.busy.val() {
                assert!(self.queue.is_empty(), "idle with beats in flight");
            }
            // ---- the response of this cycle ----
            u.dma.resp.next = false;
            u.dma.fault.next = false;
            u.dma.rdata.next = 0.into();
            let mut fault_now = false;
            if self.queue.front().is_some_and(|b| b.due <= now) {
                let b = self.queue.pop_front().unwrap();
                u.dma.resp.next = true;
                self.last_resp = Some(now);
                if b.doomed
                    || self.refuse.contains(&b.addr)
                    || (b.we && self.refuse_writes.contains(&b.addr))
                {
                    fault_now = true;
                    u.dma.fault.next = true;
                    u.dma.rdata.next = (b.addr as u64).into();
                    self.faults.push((now, b.addr));
                    for q in self.queue.iter_mut() {
                        q.doomed = true;
                    }
                } else if b.we {
                    self.mem[(b.addr / 4) as usize] = b.wdata;
                    self.writes.push((b.addr, b.wdata));
                } else {
                    u.dma.rdata.next = (self.mem[(b.addr / 4) as usize] as u64).into();
                }
            }
            // ---- independence: the request must not depend on ready ----
            u.dma.ready.next = false;
            settle(u);
            let low = Bench::request(u);
            u.dma.ready.next = true;
            settle(u);
            assert_eq!(low, Bench::request(u), "request depends on ready at {now}");
            // ---- acceptance ----
            let ready = !fault_now && self.rng.gen_bool(self.ready_p);
            u.dma.ready.next = ready;
            settle(u);
            if u.dma.valid.val() && ready {
                let (_, addr, we, wdata, last, dev) = Bench::request(u);
                let addr = addr as u32;
                assert!(
                    (addr as usize) < 4 * self.mem.len() && addr.is_multiple_of(4),
                    "beat outside RAM: {addr:#x}"
                );
                assert_eq!(dev, self.device);
                assert!(self.queue.len() < MAX_OUTSTANDING);
                let delay = self.rng.gen_range(self.delay.0..=self.delay.1);
                let beat = Beat {
                    addr,
                    we,
                    wdata: wdata as u32,
                    last,
                    accepted: now,
                    due: now + delay,
                    doomed: false,
                };
                self.queue.push_back(beat.clone());
                self.beats.push(beat);
            }
            clock_edge(u, |u| &mut u.clock);
            u.start.next = false;
            self.now += 1;
        }

        fn start(&mut self, chain: bool) {
            self.uut.start.next = true;
            self.uut.chain.next = chain;
            self.cycle();
        }

        fn run_to_idle(&mut self) -> usize {
            for n in 0..100_000 {
                settle(&mut self.uut);
                if !self.uut.busy.val() {
                    assert!(self.queue.is_empty(), "idle with beats in flight");
                    return n;
                }
                self.cycle();
            }
            panic!("memcpy stuck in {:?}", self.uut.state.val());
        }

        fn regs(&mut self, src: u32, dst: u32, len: u32) {
            self.uut.src.next = (src as u64).into();
            self.uut.dst.next = (dst as u64).into();
            self.uut.len.next = (len as u64).into();
        }

        fn cause(&self) -> u64 {
            self.uut.cause.val().to_u64()
        }
    }

    #[test]
    fn register_mode_copies_exactly_and_writes_only_the_destination() {
        for seed in 0..12 {
            let mut b = Bench::new(seed, [1.0, 0.4, 0.8][seed as usize % 3]);
            b.delay = [(3, 3), (2, 2), (1, 7), (1, 1)][seed as usize % 4];
            let src = 4 * b.rng.gen_range(0..256u32);
            let dst = 2048 + 4 * b.rng.gen_range(0..256u32);
            let len = 4 * b.rng.gen_range(1..256u32);
            let before = b.mem.clone();
            b.regs(src, dst, len);
            b.start(false);
            b.run_to_idle();
            assert!(b.uut.done.val() && !b.uut.err.val());
            assert_eq!(b.uut.bytes_done.val().to_u64(), len as u64);
            let (s, d, n) = ((src / 4) as usize, (dst / 4) as usize, (len / 4) as usize);
            assert_eq!(&b.mem[d..d + n], &before[s..s + n]);
            assert!(b.writes.iter().all(|(a, _)| (dst..dst + len).contains(a)));
            assert_eq!(b.writes.len(), n, "one write per word");
            let reads: Vec<u32> = b.beats.iter().filter(|b| !b.we).map(|b| b.addr).collect();
            assert_eq!(
                reads,
                (0..n as u32).map(|i| src + 4 * i).collect::<Vec<_>>()
            );
        }
    }

    /// Cycles from the first beat accepted to the last response of an unobstructed 1 KiB
    /// copy with a fixed response latency.
    fn unobstructed_1k(latency: u64) -> u64 {
        let mut b = Bench::new(1, 1.0);
        b.delay = (latency, latency);
        let before = b.mem.clone();
        b.regs(0, 2048, 1024);
        b.start(false);
        b.run_to_idle();
        assert!(b.uut.done.val());
        assert_eq!(&b.mem[512..768], &before[0..256]);
        assert_eq!(b.beats.len(), 512);
        let cycles = b.last_resp.unwrap() - b.beats[0].accepted + 1;
        println!(
            "latency {latency}: 512 beats in {cycles} cycles, {:.4} beats/cycle",
            512.0 / cycles as f64
        );
        cycles
    }

    #[test]
    fn unobstructed_1k_copy_at_the_socs_latency_keeps_the_bus_busy() {
        // Accept at t, response at t+3 (the IOMMU's): four reads, four writes, no gap.
        let cycles = unobstructed_1k(3);
        assert_eq!(cycles, 515);
        assert!(512.0 / cycles as f64 >= 0.97);
    }

    #[test]
    fn unobstructed_1k_copy_without_iommu_keeps_the_bus_busy() {
        // Accept at t, response at t+2 (a DmaStage): three reads, three writes; 256 words
        // are 85 such groups and one word, whose write waits for its read: two idle cycles.
        let cycles = unobstructed_1k(2);
        assert_eq!(cycles, 516);
        assert!(512.0 / cycles as f64 >= 0.97);
    }

    #[test]
    fn last_marks_page_crossings_and_the_last_write() {
        for (seed, ready_p, delay) in [(30, 1.0, (3, 3)), (31, 0.5, (1, 6))] {
            let mut b = Bench::new(seed, ready_p);
            b.delay = delay;
            // Source crosses at 0x1000 - 0xF00 = 0x100 bytes in, destination at 0x80 in.
            let (src, dst, len) = (0x0F00, 0x2F80, 0x200);
            b.mem.resize(0x4000 / 4, 0);
            b.uut.addr_limit.next = 0x4000u64.into();
            b.regs(src, dst, len);
            b.start(false);
            b.run_to_idle();
            assert!(b.uut.done.val());
            for beat in &b.beats {
                let expect = if beat.we {
                    (beat.addr + 4).is_multiple_of(0x1000) || beat.addr == dst + len - 4
                } else {
                    (beat.addr + 4).is_multiple_of(0x1000)
                };
                assert_eq!(beat.last, expect, "{beat:?}");
            }
            assert_eq!(b.beats.iter().filter(|b| b.last).count(), 3);
        }
    }

    #[test]
    fn random_ready_and_delays_at_most_read_ahead_reads_ahead_of_the_writes() {
        for seed in 0..6 {
            let mut b = Bench::new(40 + seed, 0.3 + 0.1 * seed as f64);
            b.delay = (1, 2 + seed);
            let before = b.mem.clone();
            b.regs(0x100, 0x900, 0x300);
            b.start(false);
            b.run_to_idle();
            assert!(b.uut.done.val() && !b.uut.err.val());
            assert_eq!(&b.mem[0x900 / 4..0xC00 / 4], &before[0x100 / 4..0x400 / 4]);
            // The i-th read is issued only once the (i - READ_AHEAD)-th write was.
            let mut reads = 0usize;
            let mut writes = 0usize;
            for beat in &b.beats {
                if beat.we {
                    writes += 1;
                    assert!(writes <= reads);
                } else {
                    reads += 1;
                    assert!(reads - writes <= READ_AHEAD);
                }
            }
        }
    }

    #[test]
    fn the_channel_drives_its_device_id() {
        let mut b = Bench::build(2, 0.7, u32::MAX, 2);
        b.regs(0, 2048, 64);
        b.start(false);
        b.run_to_idle();
        assert!(b.uut.done.val());
        assert_eq!(b.beats.len(), 32, "each beat checked dev = 2");
    }

    #[test]
    fn bad_register_inputs_end_with_their_cause_and_write_nothing() {
        let cases = [
            (0, 64, 0, Cause::ZeroLength),
            (2, 64, 8, Cause::Unaligned),
            (0, 66, 8, Cause::Unaligned),
            (0, 64, 6, Cause::Unaligned),
            (4000, 0, 200, Cause::OutOfRange),
            (0, 4000, 200, Cause::OutOfRange),
            (0xFFFF_FFF0, 0, 32, Cause::OutOfRange),
        ];
        for (src, dst, len, cause) in cases {
            let mut b = Bench::new(3, 1.0);
            b.regs(src, dst, len);
            b.start(false);
            b.run_to_idle();
            assert!(
                b.uut.err.val() && !b.uut.done.val(),
                "{src:#x} {dst:#x} {len}"
            );
            assert_eq!(b.cause(), cause as u64, "{src:#x} {dst:#x} {len}");
            assert!(b.beats.is_empty());
            assert_eq!(b.uut.err_count.val().to_u64(), 1);
        }
    }

    fn put_desc(b: &mut Bench, at: u32, src: u32, dst: u32, len: u32, next: u32) {
        let w = (at / 4) as usize;
        b.mem[w..w + 4].copy_from_slice(&[src, dst, len, next]);
    }

    #[test]
    fn chain_mode_copies_every_descriptor_and_writes_done_after_the_data() {
        for (seed, delay) in [(4, (3, 3)), (14, (1, 6))] {
            let mut b = Bench::new(seed, 0.5);
            b.delay = delay;
            put_desc(&mut b, 0x100, 0x400, 0x800, 64, 0x120);
            put_desc(&mut b, 0x120, 0x500, 0x900, 8, 0x140);
            put_desc(&mut b, 0x140, 0x600, 0xA00, 128, 0);
            let before = b.mem.clone();
            b.uut.desc_head.next = 0x100.into();
            b.start(true);
            b.run_to_idle();
            assert!(b.uut.done.val() && !b.uut.err.val());
            assert_eq!(b.uut.desc_done.val().to_u64(), 3);
            assert_eq!(b.uut.bytes_done.val().to_u64(), 200);
            for (d, s, n) in [(0x800, 0x400, 64), (0x900, 0x500, 8), (0xA00, 0x600, 128)] {
                assert_eq!(&b.mem[d / 4..(d + n) / 4], &before[s / 4..(s + n) / 4]);
            }
            for (at, len) in [(0x100u32, 64u32), (0x120, 8), (0x140, 128)] {
                assert_eq!(b.mem[(at / 4 + 2) as usize], len | desc::DONE);
                // The DONE write comes after every data write of that descriptor.
                let done_at = b.writes.iter().position(|(a, _)| *a == at + 8).unwrap();
                let dst = b.mem[(at / 4 + 1) as usize];
                let last_data = b
                    .writes
                    .iter()
                    .rposition(|(a, _)| (dst..dst + len).contains(a))
                    .unwrap();
                assert!(last_data < done_at);
            }
            // Fetches: four reads, the fourth flagged last; write-backs flagged last.
            for beat in &b.beats {
                if beat.we && beat.addr % 16 == 8 && beat.addr < 0x200 {
                    assert!(beat.last);
                }
                if !beat.we && beat.addr < 0x200 {
                    assert_eq!(beat.last, beat.addr % 16 == 12, "{beat:?}");
                }
            }
        }
    }

    #[test]
    fn bad_descriptor_gets_its_error_written_back_and_stops_the_chain() {
        let mut b = Bench::new(5, 1.0);
        put_desc(&mut b, 0x100, 0x400, 0x800, 16, 0x120);
        put_desc(&mut b, 0x120, 0x402, 0x900, 16, 0x140);
        put_desc(&mut b, 0x140, 0x400, 0xA00, 16, 0);
        b.uut.desc_head.next = 0x100.into();
        b.start(true);
        b.run_to_idle();
        assert!(b.uut.err.val());
        assert_eq!(b.cause(), Cause::Unaligned as u64);
        assert_eq!(b.uut.err_addr.val().to_u64(), 0x120);
        assert_eq!(b.uut.desc_done.val().to_u64(), 1);
        assert_eq!(
            b.mem[0x120 / 4 + 2],
            16 | desc::ERR | (Cause::Unaligned as u32) << desc::CAUSE_SHIFT
        );
        assert!(!b
            .writes
            .iter()
            .any(|(a, _)| (0x900..0x910).contains(a) || (0xA00..0xA10).contains(a)));
    }

    #[test]
    fn looping_chain_stops_at_the_chain_limit() {
        let mut b = Bench::new(6, 1.0);
        put_desc(&mut b, 0x100, 0x400, 0x800, 16, 0x120);
        put_desc(&mut b, 0x120, 0x500, 0x900, 16, 0x100);
        b.uut.desc_head.next = 0x100.into();
        b.uut.chain_limit.next = 5.into();
        b.start(true);
        b.run_to_idle();
        assert!(b.uut.err.val());
        assert_eq!(b.cause(), Cause::ChainLimit as u64);
        assert_eq!(b.uut.desc_done.val().to_u64(), 5);
    }

    #[test]
    fn descriptor_address_outside_ram_or_unaligned_is_refused_before_any_beat() {
        for head in [0u32, 0x104, 4 * RAM_WORDS as u32 - 8, 0x8000_0000] {
            let mut b = Bench::new(7, 1.0);
            b.uut.desc_head.next = (head as u64).into();
            b.start(true);
            b.run_to_idle();
            assert!(b.uut.err.val());
            assert_eq!(b.cause(), Cause::BadDescriptor as u64);
            assert_eq!(b.uut.err_addr.val().to_u64(), head as u64);
            assert!(b.beats.is_empty());
        }
    }

    #[test]
    fn start_while_busy_is_flagged_and_does_not_disturb_the_transfer() {
        let mut b = Bench::new(8, 0.5);
        let before = b.mem.clone();
        b.regs(0, 2048, 256);
        b.start(false);
        b.cycle();
        b.regs(4, 3000, 8);
        b.start(false);
        b.run_to_idle();
        assert!(b.uut.done.val() && !b.uut.err.val() && b.uut.rejected_start.val());
        assert_eq!(b.uut.rejected_starts.val().to_u64(), 1);
        assert_eq!(&b.mem[512..576], &before[0..64]);
        b.uut.clear_rejected.next = true;
        b.uut.clear_done.next = true;
        b.cycle();
        b.uut.clear_rejected.next = false;
        b.uut.clear_done.next = false;
        settle(&mut b.uut);
        assert!(!b.uut.rejected_start.val() && !b.uut.done.val());
    }

    #[test]
    fn narrow_counters_wrap_at_their_width() {
        // A 2-bit build (`counter_max` 3): five failed runs and five rejected starts.
        let mut b = Bench::with_counter_max(9, 1.0, 0x3);
        for _ in 0..5 {
            b.regs(0, 64, 0);
            b.start(false);
            b.run_to_idle();
            b.regs(0, 2048, 64);
            b.start(false);
            b.start(false);
            b.run_to_idle();
        }
        settle(&mut b.uut);
        assert_eq!(
            b.uut.err_count.val().to_u64(),
            5 - 4,
            "5 errors wrap past 3 to 1"
        );
        assert_eq!(b.uut.rejected_starts.val().to_u64(), 5 - 4);
    }

    /// Memory after a run that stopped early: the first `copied` bytes of the destination are
    /// the source's, every other word is untouched, one write per word copied.
    fn check_prefix(b: &Bench, before: &[u32], src: u32, dst: u32, len: u32, ctx: &str) {
        let copied = b.uut.bytes_done.val().to_u64() as u32;
        let (s, d, w, n) = (
            (src / 4) as usize,
            (dst / 4) as usize,
            (copied / 4) as usize,
            (len / 4) as usize,
        );
        for i in 0..n {
            let expect = if i < w { before[s + i] } else { before[d + i] };
            assert_eq!(b.mem[d + i], expect, "{ctx}: destination word {i}");
        }
        assert_eq!(b.writes.len(), w, "{ctx}: one write per word copied");
        for (i, (a, _)) in b.writes.iter().enumerate() {
            assert_eq!(*a, dst + 4 * i as u32, "{ctx}: writes in order");
        }
    }

    #[test]
    fn a_fault_stops_the_stream_drains_and_leaves_whole_words_before_it() {
        let (src, dst, len) = (0x100u32, 0x900u32, 0x100u32);
        let mut n = 0;
        for (ready_p, delay) in [(1.0, (3, 3)), (1.0, (2, 2)), (0.6, (1, 6))] {
            for k in 0..(len / 4) {
                for on_dst in [false, true] {
                    let refused = if on_dst { dst + 4 * k } else { src + 4 * k };
                    let mut b = Bench::new(50 + k as u64, ready_p);
                    b.delay = delay;
                    b.refuse = vec![refused];
                    let before = b.mem.clone();
                    b.regs(src, dst, len);
                    b.start(false);
                    b.run_to_idle();
                    let ctx = format!("refuse {refused:#x}, p = {ready_p}, {delay:?}");
                    assert!(b.uut.err.val() && !b.uut.done.val(), "{ctx}");
                    assert_eq!(b.cause(), Cause::IommuFault as u64, "{ctx}");
                    assert_eq!(b.uut.err_addr.val().to_u32(), refused, "{ctx}");
                    assert_eq!(b.uut.err_count.val().to_u64(), 1, "{ctx}");
                    // Nothing issued after the first fault response.
                    let (at, first) = b.faults[0];
                    assert_eq!(first, refused, "{ctx}");
                    assert!(b.beats.iter().all(|x| x.accepted < at), "{ctx}");
                    let copied = b.uut.bytes_done.val().to_u64() as u32;
                    assert!(copied <= 4 * k, "{ctx}: {copied}");
                    check_prefix(&b, &before, src, dst, len, &ctx);
                    n += 1;
                }
            }
        }
        assert_eq!(n, 3 * 2 * 64);
    }

    #[test]
    fn a_fault_in_a_chain_copy_is_written_back_after_the_drain() {
        for (seed, ready_p, delay) in [(60, 1.0, (3, 3)), (61, 0.5, (1, 5))] {
            let mut b = Bench::new(seed, ready_p);
            b.delay = delay;
            put_desc(&mut b, 0x100, 0x400, 0x800, 64, 0x120);
            put_desc(&mut b, 0x120, 0x500, 0x900, 64, 0);
            b.refuse = vec![0x920];
            b.uut.desc_head.next = 0x100.into();
            b.start(true);
            b.run_to_idle();
            assert!(b.uut.err.val() && !b.uut.done.val());
            assert_eq!(b.cause(), Cause::IommuFault as u64);
            assert_eq!(b.uut.err_addr.val().to_u64(), 0x920);
            assert_eq!(b.uut.desc_done.val().to_u64(), 1);
            assert_eq!(b.mem[0x100 / 4 + 2], 64 | desc::DONE);
            assert_eq!(
                b.mem[0x120 / 4 + 2],
                64 | desc::ERR | (Cause::IommuFault as u32) << desc::CAUSE_SHIFT
            );
            assert!(!b.writes.iter().any(|(a, _)| (0x920..0x940).contains(a)));
            // The error write-back is the only beat after the fault.
            let (at, _) = b.faults[0];
            let after: Vec<_> = b.beats.iter().filter(|x| x.accepted > at).collect();
            assert_eq!(after.len(), 1);
            assert_eq!(after[0].addr, 0x128);
        }
    }

    #[test]
    fn a_faulting_error_write_back_keeps_the_first_cause() {
        let mut b = Bench::new(62, 1.0);
        put_desc(&mut b, 0x100, 0x402, 0x800, 16, 0);
        b.refuse_writes = vec![0x108];
        b.uut.desc_head.next = 0x100.into();
        b.start(true);
        b.run_to_idle();
        assert!(b.uut.err.val());
        assert_eq!(b.cause(), Cause::Unaligned as u64);
        assert_eq!(b.uut.err_addr.val().to_u64(), 0x100);
        assert_eq!(b.uut.err_count.val().to_u64(), 1);
        assert!(b.writes.is_empty());
    }

    #[test]
    fn a_fault_in_a_descriptor_fetch_or_write_back_ends_the_run() {
        for refused in [0x104u32, 0x10C, 0x108] {
            let mut b = Bench::new(63, 0.7);
            b.delay = (1, 4);
            put_desc(&mut b, 0x100, 0x400, 0x800, 16, 0);
            if refused == 0x108 {
                b.refuse_writes = vec![refused];
            } else {
                b.refuse = vec![refused];
            }
            b.uut.desc_head.next = 0x100.into();
            b.start(true);
            b.run_to_idle();
            assert!(b.uut.err.val() && !b.uut.done.val());
            assert_eq!(b.cause(), Cause::IommuFault as u64);
            assert_eq!(b.uut.err_addr.val().to_u32(), refused);
            assert_eq!(b.uut.desc_done.val().to_u64(), 0);
            if refused == 0x108 {
                // The write-back (the copy was complete).
                assert_eq!(b.uut.bytes_done.val().to_u64(), 16);
            } else {
                assert!(b.writes.is_empty());
            }
        }
    }

    /// One cycle with `abort` high; returns whether the channel was busy going into it, and
    /// checks that no beat is requested in it.
    fn abort_now(b: &mut Bench) -> bool {
        settle(&mut b.uut);
        let busy = b.uut.busy.val();
        b.uut.abort.next = true;
        settle(&mut b.uut);
        assert!(!b.uut.dma.valid.val(), "valid low in the abort cycle");
        b.cycle();
        b.uut.abort.next = false;
        settle(&mut b.uut);
        busy
    }

    #[test]
    fn abort_in_any_cycle_issues_nothing_more_and_ends_between_whole_words() {
        let (src, dst, len) = (0x000, 0x800, 256);
        for (ready_p, delay) in [(1.0, (3, 3)), (1.0, (2, 2)), (0.5, (1, 6))] {
            for k in 0..(2 * len / 4 + 12) as u64 {
                let mut b = Bench::new(20 + k, ready_p);
                b.delay = delay;
                let before = b.mem.clone();
                b.regs(src, dst, len);
                b.start(false);
                for _ in 0..k {
                    b.cycle();
                }
                let abort_cycle = b.now;
                let in_flight = b.queue.len() as u64;
                let was_busy = abort_now(&mut b);
                let ctx = format!("abort after {k} cycles, p = {ready_p}, {delay:?}");
                let drain = b.run_to_idle() as u64;
                // The beats in flight complete; nothing is accepted from the abort on.
                assert!(b.beats.iter().all(|x| x.accepted < abort_cycle), "{ctx}");
                assert!(drain <= in_flight * delay.1, "{ctx}: drained in {drain}");
                if in_flight == 0 {
                    assert_eq!(drain, 0, "{ctx}: ends in the abort cycle");
                }
                if was_busy {
                    assert!(b.uut.err.val() && !b.uut.done.val(), "{ctx}");
                    assert_eq!(b.cause(), Cause::Aborted as u64, "{ctx}");
                    let copied = b.uut.bytes_done.val().to_u64() as u32;
                    assert_eq!(b.uut.err_addr.val().to_u32(), src + copied, "{ctx}");
                } else {
                    assert!(b.uut.done.val() && !b.uut.err.val(), "{ctx}: done before");
                }
                check_prefix(&b, &before, src, dst, len, &ctx);
                let writes = b.writes.len();
                for _ in 0..20 {
                    b.cycle();
                }
                assert_eq!(b.writes.len(), writes, "{ctx}: nothing after");
                assert!(b.queue.is_empty(), "{ctx}");
            }
        }
    }

    #[test]
    fn abort_stops_a_chain_that_loops_on_itself() {
        // A descriptor whose NEXT is itself, with a chain limit that would take 2^32 runs.
        let mut b = Bench::new(8, 0.7);
        b.delay = (1, 4);
        put_desc(&mut b, 0x100, 0x400, 0x800, 32, 0x100);
        b.uut.chain_limit.next = (u32::MAX as u64).into();
        b.uut.desc_head.next = 0x100.into();
        b.start(true);
        for _ in 0..5_000 {
            b.cycle();
        }
        settle(&mut b.uut);
        assert!(b.uut.busy.val(), "still looping");
        let loops = b.uut.desc_done.val().to_u64();
        assert!(loops > 20, "{loops}");
        let abort_cycle = b.now;
        assert!(abort_now(&mut b));
        b.run_to_idle();
        assert!(b.uut.err.val());
        assert_eq!(b.cause(), Cause::Aborted as u64);
        assert_eq!(b.uut.err_addr.val().to_u32(), 0x100);
        assert!(b.beats.iter().all(|x| x.accepted < abort_cycle));
        let writes = b.writes.len();
        for _ in 0..100 {
            b.cycle();
        }
        assert_eq!(b.writes.len(), writes, "quiet after the abort");
        // The channel starts again normally afterwards.
        b.uut.clear_err.next = true;
        b.cycle();
        b.uut.clear_err.next = false;
        b.regs(0x400, 0xC00, 16);
        b.start(false);
        b.run_to_idle();
        assert!(b.uut.done.val() && !b.uut.err.val());
        assert_eq!(&b.mem[0xC00 / 4..0xC10 / 4], &b.mem[0x400 / 4..0x410 / 4]);
    }

    #[test]
    fn abort_while_a_fault_drains_ends_with_aborted() {
        let mut b = Bench::new(64, 1.0);
        b.delay = (6, 6);
        b.refuse = vec![0x10];
        b.regs(0, 0x800, 256);
        b.start(false);
        while b.faults.is_empty() {
            b.cycle();
        }
        settle(&mut b.uut);
        assert!(b.uut.busy.val() && !b.queue.is_empty(), "draining");
        abort_now(&mut b);
        b.run_to_idle();
        assert!(b.uut.err.val());
        assert_eq!(b.cause(), Cause::Aborted as u64);
        assert_eq!(b.uut.err_count.val().to_u64(), 1);
        assert_eq!(
            b.uut.err_addr.val().to_u64(),
            b.uut.bytes_done.val().to_u64()
        );
    }

    #[test]
    fn abort_while_idle_does_nothing_and_wins_over_a_start_in_the_same_cycle() {
        let mut b = Bench::new(9, 1.0);
        assert!(!abort_now(&mut b));
        assert!(!b.uut.err.val() && !b.uut.busy.val());
        b.regs(0, 0x800, 64);
        b.uut.start.next = true;
        assert!(!abort_now(&mut b));
        assert!(!b.uut.busy.val() && !b.uut.err.val());
        assert!(b.beats.is_empty());
    }

    #[test]
    fn a_response_while_nothing_is_outstanding_is_not_this_channels() {
        let mut b = Bench::new(9, 1.0);
        b.uut.dma.resp.next = true;
        b.uut.dma.fault.next = true;
        clock_edge(&mut b.uut, |u| &mut u.clock);
        b.uut.dma.resp.next = false;
        b.uut.dma.fault.next = false;
        settle(&mut b.uut);
        assert!(!b.uut.err.val());
        // And a copy afterwards is whole.
        let before = b.mem.clone();
        b.regs(0, 0x800, 64);
        b.start(false);
        b.run_to_idle();
        assert!(b.uut.done.val() && !b.uut.err.val());
        assert_eq!(&b.mem[0x200..0x210], &before[0..16]);
    }

    #[test]
    fn memcpy_generates_verilog_with_the_port() {
        let mut uut = Memcpy::new(u32::MAX, 1);
        uut.connect_all();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
        for port in [
            "valid", "addr", "we", "wdata", "last", "dev", "ready", "resp", "fault",
        ] {
            assert!(v.contains(&format!("dma${port}")), "{port}");
        }
        if let Ok(path) = std::env::var("MEMCPY_VERILOG") {
            std::fs::write(path, v).unwrap();
        }
    }

    #[test]
    fn state_names_follow_the_encoding() {
        let all = [
            MemcpyState::Idle,
            MemcpyState::CheckRegs,
            MemcpyState::FetchDesc,
            MemcpyState::CheckDesc,
            MemcpyState::Read,
            MemcpyState::Write,
            MemcpyState::WriteBack,
            MemcpyState::WriteBackError,
        ];
        for (i, s) in all.iter().enumerate() {
            let code: Bits<3> = (*s).into();
            assert_eq!(code.to_u64() as usize, i);
            assert_eq!(regs::dmac::STATE_NAMES[i], format!("{s:?}"));
        }
    }
}
