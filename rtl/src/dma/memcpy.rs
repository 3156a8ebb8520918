//! The memcpy DMA channel: the classic DMAC (SRC, DST, LEN, START, DONE/ERR, interrupt) plus a
//! descriptor-chain (scatter-gather) mode.
//!
//! ```text
//!          CSR side                                   bus master side
//!            ┌──────────────────────────────────┐
//!  start   ─►│                                  ├─► bus_req, bus_addr, bus_we,
//!  chain   ─►│  Idle ─► CheckRegs ─┐            │   bus_wdata, bus_last
//!  src,dst,─►│                     ▼            │◄─ bus_grant  (beat taken this cycle)
//!  len     ─►│  FetchDesc ─► CheckDesc ─► Read ◄┤◄─ bus_rvalid (read data, one cycle later)
//!  desc_head►│       ▲                     │  ▲ │◄─ bus_rdata
//!  chain_  ─►│       │                     ▼  │ │
//!  limit     │       └──── WriteBack ◄──── Write│
//!  clear_* ─►│      WriteBackError (bad desc.)  │
//!            ├──────────────────────────────────┤
//!            │ busy done err rejected_start     │
//!            │ cause desc_done bytes_done ...   │
//!            └──────────────────────────────────┘
//! ```
//!
//! The copy alternates one read beat and one write beat. The write of a word goes on the bus in
//! the very cycle its read data comes back (the data bypasses the holding register), so an
//! unobstructed copy uses the bus on every cycle: one bus beat per cycle, half a word per cycle.
//! `bus_last` marks the write beat after which the source or destination crosses a 4 KiB page
//! (and the last beat of a descriptor's copy), so the arbiter ends a burst there.
//!
//! Nothing is written before all checks pass: register mode checks SRC, DST and LEN before the
//! first beat; chain mode checks each descriptor's address before it fetches it and its fields
//! before it copies. A bad descriptor gets ERR and the cause written back into it (if its
//! address is valid) and the run ends with `err`. A chain longer than `chain_limit` (a loop)
//! ends with `ChainLimit`. A `start` while busy is ignored and flagged.
//!
//! **Abort.** An `abort` pulse (CTRL.ABORT) ends a running transfer in the same cycle,
//! whatever the state: a beat granted in that cycle completes (a write beat writes its whole
//! word), a request not yet granted is withdrawn, so memory holds every word of the copy or
//! none of it, never a part. The run ends with `err` and cause `Aborted`; `err_addr` is the
//! source of the first word not copied (register mode) or the descriptor it was in (chain
//! mode). The channel mux keeps a withdrawn request's late answer (a fault the IOMMU was
//! still recording) away from every channel. `abort` while idle does nothing, and wins over
//! a `start` in the same cycle.
//!
//! A fault (`bus_fault`) counts only while the channel is requesting: the answer to a
//! withdrawn request is not this run's.
//!
//! Descriptor write-back (`DONE`) happens after the descriptor's last data write: both go
//! through the same in-order bus, so the data is in memory before the software can see `DONE`.
//!
//! The counters `err_count` and `rejected_starts` are `counter_max` wide (the build's
//! `regs::SocConfig::counter_bits`) and wrap to 0 after it; their increments are ANDed with
//! `counter_max`, so a narrow build's upper flip-flops have a constant input and synthesis
//! removes them. `desc_done` and `bytes_done` are progress, not statistics: always 32 bits.

use regs::dmac::{desc, Cause};
use rust_hdl::prelude::*;

/// States of the channel, in the order of their encoding (the `obs_dma_state` pin); their
/// names are also in `regs::dmac::STATE_NAMES`.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum MemcpyState {
    Idle,
    CheckRegs,
    FetchDesc,
    CheckDesc,
    Read,
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
    // ---- bus master side ----
    pub bus_req: Signal<Out, Bit>,
    pub bus_addr: Signal<Out, Bits<32>>,
    pub bus_we: Signal<Out, Bit>,
    pub bus_wdata: Signal<Out, Bits<32>>,
    pub bus_last: Signal<Out, Bit>,
    pub bus_grant: Signal<In, Bit>,
    pub bus_rvalid: Signal<In, Bit>,
    pub bus_rdata: Signal<In, Bits<32>>,
    /// The IOMMU refused the request on the bus this cycle (instead of a grant): the run ends
    /// with cause `IommuFault` and `ERR_ADDR` = the refused IOVA.
    pub bus_fault: Signal<In, Bit>,
    /// Addresses must end at or below this (33 bits, so 2^32 is expressible): the RAM size
    /// when addresses are physical, 2^32 when the IOMMU translates and checks them.
    pub addr_limit: Signal<In, Bits<33>>,
    // ==== implementation ====
    fsm: DFF<MemcpyState>,
    cur_src: DFF<Bits<32>>,
    cur_dst: DFF<Bits<32>>,
    remaining: DFF<Bits<32>>,
    desc_addr: DFF<Bits<32>>,
    next_desc: DFF<Bits<32>>,
    desc_len: DFF<Bits<32>>,
    fetch_issued: DFF<Bits<3>>,
    fetch_received: DFF<Bits<3>>,
    hold: DFF<Bits<32>>,
    chain_mode: DFF<Bit>,
    r_done: DFF<Bit>,
    r_err: DFF<Bit>,
    r_rejected: DFF<Bit>,
    r_cause: DFF<Bits<4>>,
    r_err_addr: DFF<Bits<32>>,
    r_desc_done: DFF<Bits<32>>,
    r_bytes_done: DFF<Bits<32>>,
    r_err_count: DFF<Bits<32>>,
    r_rejected_starts: DFF<Bits<32>>,
    // Checks, computed every cycle on the current working registers.
    src_end: Signal<Local, Bits<33>>,
    dst_end: Signal<Local, Bits<33>>,
    candidate_desc: Signal<Local, Bits<32>>,
    candidate_end: Signal<Local, Bits<33>>,
    candidate_ok: Signal<Local, Bit>,
    fields_cause: Signal<Local, Bits<4>>,
    fields_err_addr: Signal<Local, Bits<32>>,
    desc_bytes: Constant<Bits<33>>,
    len_mask: Constant<Bits<32>>,
    desc_done_bit: Constant<Bits<32>>,
    desc_err_bit: Constant<Bits<32>>,
    desc_len_status: Constant<Bits<32>>,
    desc_cause_shift: Constant<Bits<5>>,
    page_mask: Constant<Bits<32>>,
    /// `counter_max`: the counters' next values are ANDed with it.
    counter_mask: Constant<Bits<32>>,
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
    /// (`2^counter_bits - 1`) and then wrap to 0; its address range comes from the
    /// `addr_limit` input.
    pub fn new(counter_max: u32) -> Self {
        assert!(
            counter_max.wrapping_add(1).is_power_of_two() || counter_max == u32::MAX,
            "counter_max must be 2^n - 1"
        );
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
            bus_req: Default::default(),
            bus_addr: Default::default(),
            bus_we: Default::default(),
            bus_wdata: Default::default(),
            bus_last: Default::default(),
            bus_grant: Default::default(),
            bus_rvalid: Default::default(),
            bus_rdata: Default::default(),
            bus_fault: Default::default(),
            addr_limit: Default::default(),
            fsm: Default::default(),
            cur_src: Default::default(),
            cur_dst: Default::default(),
            remaining: Default::default(),
            desc_addr: Default::default(),
            next_desc: Default::default(),
            desc_len: Default::default(),
            fetch_issued: Default::default(),
            fetch_received: Default::default(),
            hold: Default::default(),
            chain_mode: Default::default(),
            r_done: Default::default(),
            r_err: Default::default(),
            r_rejected: Default::default(),
            r_cause: Default::default(),
            r_err_addr: Default::default(),
            r_desc_done: Default::default(),
            r_bytes_done: Default::default(),
            r_err_count: Default::default(),
            r_rejected_starts: Default::default(),
            src_end: Default::default(),
            dst_end: Default::default(),
            candidate_desc: Default::default(),
            candidate_end: Default::default(),
            candidate_ok: Default::default(),
            fields_cause: Default::default(),
            fields_err_addr: Default::default(),
            desc_bytes: Constant::new((desc::BYTES as u64).into()),
            len_mask: k32(desc::LEN_MASK),
            desc_done_bit: k32(desc::DONE),
            desc_err_bit: k32(desc::ERR),
            desc_len_status: k32(desc::LEN_STATUS),
            desc_cause_shift: Constant::new((desc::CAUSE_SHIFT as u64).into()),
            page_mask: k32(regs::PAGE_BYTES - 1),
            counter_mask: k32(counter_max),
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
    /// 32-bit counters (the simulation build).
    fn default() -> Self {
        Self::new(u32::MAX)
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
            desc_addr,
            next_desc,
            desc_len,
            fetch_issued,
            fetch_received,
            hold,
            chain_mode,
            r_done,
            r_err,
            r_rejected,
            r_cause,
            r_err_addr,
            r_desc_done,
            r_bytes_done,
            r_err_count,
            r_rejected_starts
        );
        // ---- status outputs ----
        self.state.next = self.fsm.q.val();
        self.busy.next = self.fsm.q.val() != MemcpyState::Idle;
        self.done.next = self.r_done.q.val();
        self.err.next = self.r_err.q.val();
        self.rejected_start.next = self.r_rejected.q.val();
        self.cause.next = self.r_cause.q.val();
        self.cur_desc.next = self.desc_addr.q.val();
        self.desc_done.next = self.r_desc_done.q.val();
        self.bytes_done.next = self.r_bytes_done.q.val();
        self.err_addr.next = self.r_err_addr.q.val();
        self.err_count.next = self.r_err_count.q.val();
        self.rejected_starts.next = self.r_rejected_starts.q.val();

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

        // ---- bus defaults ----
        self.bus_req.next = false;
        self.bus_addr.next = self.cur_src.q.val();
        self.bus_we.next = false;
        self.bus_wdata.next = self.hold.q.val();
        self.bus_last.next = false;
        if self.bus_rvalid.val() {
            self.hold.d.next = self.bus_rdata.val();
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
                    if self.chain.val() {
                        self.desc_addr.d.next = self.desc_head.val();
                        if !self.candidate_ok.val() {
                            self.r_err.d.next = true;
                            self.r_cause.d.next = self.cause_bad_descriptor.val();
                            self.r_err_addr.d.next = self.desc_head.val();
                            self.r_err_count.d.next =
                                (self.r_err_count.q.val() + 1) & self.counter_mask.val();
                        } else if self.chain_limit.val() == 0 {
                            self.r_err.d.next = true;
                            self.r_cause.d.next = self.cause_chain_limit.val();
                            self.r_err_addr.d.next = self.desc_head.val();
                            self.r_err_count.d.next =
                                (self.r_err_count.q.val() + 1) & self.counter_mask.val();
                        } else {
                            self.fsm.d.next = MemcpyState::FetchDesc;
                        }
                    } else {
                        self.cur_src.d.next = self.src.val();
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
                    self.r_err_count.d.next =
                        (self.r_err_count.q.val() + 1) & self.counter_mask.val();
                    self.fsm.d.next = MemcpyState::Idle;
                }
            }
            MemcpyState::FetchDesc => {
                // Four read beats SRC, DST, LEN_STATUS, NEXT; the responses follow one cycle
                // behind the grants.
                self.bus_req.next = self.fetch_issued.q.val() != 4;
                self.bus_addr.next =
                    self.desc_addr.q.val() + (bit_cast::<32, 3>(self.fetch_issued.q.val()) << 2);
                self.bus_last.next = self.fetch_issued.q.val() == 3;
                if self.bus_grant.val() {
                    self.fetch_issued.d.next = self.fetch_issued.q.val() + 1;
                }
                if self.bus_rvalid.val() {
                    self.fetch_received.d.next = self.fetch_received.q.val() + 1;
                    if self.fetch_received.q.val() == 0 {
                        self.cur_src.d.next = self.bus_rdata.val();
                    }
                    if self.fetch_received.q.val() == 1 {
                        self.cur_dst.d.next = self.bus_rdata.val();
                    }
                    if self.fetch_received.q.val() == 2 {
                        self.remaining.d.next = self.bus_rdata.val() & self.len_mask.val();
                        self.desc_len.d.next = self.bus_rdata.val() & self.len_mask.val();
                    }
                    if self.fetch_received.q.val() == 3 {
                        self.next_desc.d.next = self.bus_rdata.val();
                        self.fsm.d.next = MemcpyState::CheckDesc;
                    }
                }
            }
            MemcpyState::CheckDesc => {
                if self.fields_cause.val() == self.cause_none.val() {
                    self.fsm.d.next = MemcpyState::Read;
                } else {
                    self.r_cause.d.next = self.fields_cause.val();
                    self.r_err_addr.d.next = self.desc_addr.q.val();
                    self.fsm.d.next = MemcpyState::WriteBackError;
                }
            }
            MemcpyState::Read => {
                self.bus_req.next = true;
                self.bus_addr.next = self.cur_src.q.val();
                if self.bus_grant.val() {
                    self.cur_src.d.next = self.cur_src.q.val() + 4;
                    self.fsm.d.next = MemcpyState::Write;
                }
            }
            MemcpyState::Write => {
                self.bus_req.next = true;
                self.bus_we.next = true;
                self.bus_addr.next = self.cur_dst.q.val();
                if self.bus_rvalid.val() {
                    self.bus_wdata.next = self.bus_rdata.val();
                }
                self.bus_last.next = (((self.cur_dst.q.val() + 4) & self.page_mask.val()) == 0)
                    | ((self.cur_src.q.val() & self.page_mask.val()) == 0)
                    | (self.remaining.q.val() == 4);
                if self.bus_grant.val() {
                    self.cur_dst.d.next = self.cur_dst.q.val() + 4;
                    self.remaining.d.next = self.remaining.q.val() - 4;
                    self.r_bytes_done.d.next = self.r_bytes_done.q.val() + 4;
                    if self.remaining.q.val() != 4 {
                        self.fsm.d.next = MemcpyState::Read;
                    } else if self.chain_mode.q.val() {
                        self.fsm.d.next = MemcpyState::WriteBack;
                    } else {
                        self.r_done.d.next = true;
                        self.fsm.d.next = MemcpyState::Idle;
                    }
                }
            }
            MemcpyState::WriteBack => {
                self.bus_req.next = true;
                self.bus_we.next = true;
                self.bus_last.next = true;
                self.bus_addr.next = self.desc_addr.q.val() + self.desc_len_status.val();
                self.bus_wdata.next = self.desc_len.q.val() | self.desc_done_bit.val();
                if self.bus_grant.val() {
                    self.r_desc_done.d.next = self.r_desc_done.q.val() + 1;
                    self.fetch_issued.d.next = 0.into();
                    self.fetch_received.d.next = 0.into();
                    if self.next_desc.q.val() == 0 {
                        self.r_done.d.next = true;
                        self.fsm.d.next = MemcpyState::Idle;
                    } else if (self.r_desc_done.q.val() + 1) >= self.chain_limit.val() {
                        self.r_err.d.next = true;
                        self.r_cause.d.next = self.cause_chain_limit.val();
                        self.r_err_addr.d.next = self.next_desc.q.val();
                        self.r_err_count.d.next =
                            (self.r_err_count.q.val() + 1) & self.counter_mask.val();
                        self.fsm.d.next = MemcpyState::Idle;
                    } else if !self.candidate_ok.val() {
                        self.r_err.d.next = true;
                        self.r_cause.d.next = self.cause_bad_descriptor.val();
                        self.r_err_addr.d.next = self.next_desc.q.val();
                        self.r_err_count.d.next =
                            (self.r_err_count.q.val() + 1) & self.counter_mask.val();
                        self.fsm.d.next = MemcpyState::Idle;
                    } else {
                        self.desc_addr.d.next = self.next_desc.q.val();
                        self.fsm.d.next = MemcpyState::FetchDesc;
                    }
                }
            }
            MemcpyState::WriteBackError => {
                self.bus_req.next = true;
                self.bus_we.next = true;
                self.bus_last.next = true;
                self.bus_addr.next = self.desc_addr.q.val() + self.desc_len_status.val();
                self.bus_wdata.next = self.desc_len.q.val()
                    | self.desc_err_bit.val()
                    | (bit_cast::<32, 4>(self.r_cause.q.val()) << self.desc_cause_shift.val());
                if self.bus_grant.val() {
                    self.r_err.d.next = true;
                    self.r_err_count.d.next =
                        (self.r_err_count.q.val() + 1) & self.counter_mask.val();
                    self.fsm.d.next = MemcpyState::Idle;
                }
            }
        }

        // ---- the IOMMU refused the beat this channel is requesting ----
        // Nothing of it reached memory. A copy in chain mode still gets ERR written back into
        // its descriptor (that write is translated too; if it faults as well, the run just
        // ends). Any other bus phase ends the run at once.
        if self.bus_fault.val() & self.bus_req.val() {
            // A failed error write-back keeps the cause and address of the original error.
            if self.fsm.q.val() != MemcpyState::WriteBackError {
                self.r_cause.d.next = self.cause_iommu_fault.val();
                self.r_err_addr.d.next = self.bus_addr.val();
            }
            if self.chain_mode.q.val()
                & ((self.fsm.q.val() == MemcpyState::Read)
                    | (self.fsm.q.val() == MemcpyState::Write))
            {
                self.fsm.d.next = MemcpyState::WriteBackError;
            } else {
                self.r_err.d.next = true;
                self.r_err_count.d.next = (self.r_err_count.q.val() + 1) & self.counter_mask.val();
                self.fsm.d.next = MemcpyState::Idle;
            }
        }

        // ---- abort: the run ends now, between whole-word beats (a beat granted this cycle
        // has happened; a request not granted is withdrawn with the state change) ----
        if self.abort.val() & (self.fsm.q.val() != MemcpyState::Idle) {
            self.r_err.d.next = true;
            self.r_cause.d.next = self.cause_aborted.val();
            if self.chain_mode.q.val() {
                self.r_err_addr.d.next = self.desc_addr.q.val();
            } else if (self.fsm.q.val() == MemcpyState::Write) & !self.bus_grant.val() {
                // The word read last is not written: it is the first one not copied.
                self.r_err_addr.d.next = self.cur_src.q.val() - 4;
            } else {
                self.r_err_addr.d.next = self.cur_src.q.val();
            }
            self.r_err_count.d.next = (self.r_err_count.q.val() + 1) & self.counter_mask.val();
            self.r_done.d.next = false;
            self.fsm.d.next = MemcpyState::Idle;
        }

        // ---- a start while busy is ignored, flagged and counted ----
        if self.start.val() & (self.fsm.q.val() != MemcpyState::Idle) {
            self.r_rejected.d.next = true;
            self.r_rejected_starts.d.next =
                (self.r_rejected_starts.q.val() + 1) & self.counter_mask.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};
    use pretty_assertions::assert_eq;
    use rand::{Rng, SeedableRng};

    const RAM_WORDS: usize = 1024;

    /// The channel on a bus that grants each request with probability `grant_p` and returns
    /// read data one cycle after the grant; every write beat is logged.
    struct Bench {
        uut: Memcpy,
        mem: Vec<u32>,
        rng: rand::rngs::StdRng,
        grant_p: f64,
        read_pending: Option<u32>,
        writes: Vec<(u32, u32)>,
    }

    impl Bench {
        fn new(seed: u64, grant_p: f64) -> Self {
            Bench::with_counter_max(seed, grant_p, u32::MAX)
        }

        fn with_counter_max(seed: u64, grant_p: f64, counter_max: u32) -> Self {
            let mut uut = Memcpy::new(counter_max);
            uut.addr_limit.next = (4 * RAM_WORDS as u64).into();
            uut.connect_all();
            uut.chain_limit.next = 1024.into();
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mem = (0..RAM_WORDS).map(|_| rng.gen()).collect();
            Self {
                uut,
                mem,
                rng,
                grant_p,
                read_pending: None,
                writes: vec![],
            }
        }

        fn cycle(&mut self) {
            let u = &mut self.uut;
            match self.read_pending.take() {
                Some(addr) => {
                    u.bus_rvalid.next = true;
                    u.bus_rdata.next = (self.mem[(addr / 4) as usize] as u64).into();
                }
                None => u.bus_rvalid.next = false,
            }
            u.bus_grant.next = false;
            settle(u);
            if u.bus_req.val() && self.rng.gen_bool(self.grant_p) {
                u.bus_grant.next = true;
                settle(u);
                let addr = u.bus_addr.val().to_u64() as u32;
                assert!(
                    (addr as usize) < 4 * RAM_WORDS,
                    "beat outside RAM: {addr:#x}"
                );
                if u.bus_we.val() {
                    let data = u.bus_wdata.val().to_u64() as u32;
                    self.mem[(addr / 4) as usize] = data;
                    self.writes.push((addr, data));
                } else {
                    self.read_pending = Some(addr);
                }
            }
            clock_edge(u, |u| &mut u.clock);
            u.start.next = false;
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
        for seed in 0..8 {
            let mut b = Bench::new(seed, if seed % 2 == 0 { 1.0 } else { 0.4 });
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
        }
    }

    #[test]
    fn unobstructed_copy_uses_the_bus_every_cycle() {
        let mut b = Bench::new(1, 1.0);
        b.regs(0, 2048, 1024);
        b.start(false);
        let cycles = b.run_to_idle();
        // 256 words = 512 beats, plus the check cycle.
        assert_eq!(cycles, 512 + 1);
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
            assert!(b.writes.is_empty());
            assert_eq!(b.uut.err_count.val().to_u64(), 1);
        }
    }

    fn put_desc(b: &mut Bench, at: u32, src: u32, dst: u32, len: u32, next: u32) {
        let w = (at / 4) as usize;
        b.mem[w..w + 4].copy_from_slice(&[src, dst, len, next]);
    }

    #[test]
    fn chain_mode_copies_every_descriptor_and_writes_done_after_the_data() {
        let mut b = Bench::new(4, 0.5);
        put_desc(&mut b, 0x100, 0x400, 0x800, 64, 0x120);
        put_desc(&mut b, 0x120, 0x500, 0x900, 8, 0x140);
        put_desc(&mut b, 0x140, 0x600, 0xA00, 128, 0);
        let before = b.mem.clone();
        b.uut.desc_head.next = 0x100.into();
        b.start(true);
        b.run_to_idle();
        assert!(b.uut.done.val() && !b.uut.err.val());
        assert_eq!(b.uut.desc_done.val().to_u64(), 3);
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
            assert!(b.writes.is_empty());
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

    /// One cycle with `abort` high; returns whether the channel was busy going into it.
    fn abort_now(b: &mut Bench) -> bool {
        settle(&mut b.uut);
        let busy = b.uut.busy.val();
        b.uut.abort.next = true;
        b.cycle();
        b.uut.abort.next = false;
        settle(&mut b.uut);
        busy
    }

    #[test]
    fn abort_in_any_cycle_ends_the_run_at_once_between_whole_words() {
        let (src, dst, len) = (0x000, 0x800, 256);
        for grant_p in [1.0, 0.5] {
            for k in 0..(2 * len / 4 + 8) as u64 {
                let mut b = Bench::new(20 + k, grant_p);
                let before = b.mem.clone();
                b.regs(src, dst, len);
                b.start(false);
                for _ in 0..k {
                    b.cycle();
                }
                let was_busy = abort_now(&mut b);
                let ctx = format!("abort after {k} cycles, p = {grant_p}");
                assert!(!b.uut.busy.val() && !b.uut.bus_req.val(), "{ctx}: stopped");
                let copied = b.uut.bytes_done.val().to_u64() as u32;
                if was_busy {
                    assert!(b.uut.err.val() && !b.uut.done.val(), "{ctx}");
                    assert_eq!(b.cause(), Cause::Aborted as u64, "{ctx}");
                    assert_eq!(b.uut.err_addr.val().to_u32(), src + copied, "{ctx}");
                } else {
                    assert!(b.uut.done.val() && !b.uut.err.val(), "{ctx}: done before");
                }
                // The first `copied` bytes are the source's, the rest untouched: no partial
                // word, no word past the count.
                let (s, d, w) = (
                    (src / 4) as usize,
                    (dst / 4) as usize,
                    (copied / 4) as usize,
                );
                let n = (len / 4) as usize;
                assert_eq!(&b.mem[d..d + w], &before[s..s + w], "{ctx}");
                assert_eq!(&b.mem[d + w..d + n], &before[d + w..d + n], "{ctx}");
                assert_eq!(b.writes.len(), w, "{ctx}: one write per word copied");
                for _ in 0..20 {
                    b.cycle();
                }
                assert_eq!(b.writes.len(), w, "{ctx}: nothing after");
            }
        }
    }

    #[test]
    fn abort_stops_a_chain_that_loops_on_itself() {
        // A descriptor whose NEXT is itself, with a chain limit that would take 2^32 runs.
        let mut b = Bench::new(8, 0.7);
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
        assert!(abort_now(&mut b));
        assert!(!b.uut.busy.val() && b.uut.err.val());
        assert_eq!(b.cause(), Cause::Aborted as u64);
        assert_eq!(b.uut.err_addr.val().to_u32(), 0x100);
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
        assert!(b.writes.is_empty());
    }

    #[test]
    fn a_fault_for_a_request_no_longer_made_is_not_this_runs() {
        // The mux drops such faults; the channel ignores one anyway while not requesting.
        let mut b = Bench::new(9, 1.0);
        b.uut.bus_fault.next = true;
        b.cycle();
        b.uut.bus_fault.next = false;
        settle(&mut b.uut);
        assert!(!b.uut.err.val());
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
