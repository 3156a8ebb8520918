//! The register bank of one memcpy channel (`regs::dmac`), one per channel at
//! `regs::dmac::channel_block(n)`.
//!
//! ```text
//!              ┌──────────────────────┐
//!  sel      ──►│ decode offset        ├──► rdata (registered: valid the cycle after a read)
//!  offset   ──►│ (regs::dmac offsets) ├──► src, dst, len, desc, chain_limit, chain
//!  we, wdata──►│                      ├──► start, abort, clear_done / clear_err / clear_rejected
//!  channel  ──►│ read mux             ├──► irq = CTRL.IRQ_EN & (DONE | ERR)
//!  status      └──────────────────────┘
//! ```
//! Register writes take the whole word. Unimplemented offsets read 0 and ignore writes.

use crate::regfile::RegPort;
use regs::dmac;
use rust_hdl::prelude::*;

/// Offsets inside a channel's 256-byte register window.
pub type ChOffset = Bits<8>;

#[derive(LogicBlock)]
pub struct DmacRegs {
    pub clock: Signal<In, Clock>,
    /// Host side (`RegPort`: an access in the cycle `sel` is high, read data the cycle after).
    pub host: RegPort<ChOffset>,
    pub irq: Signal<Out, Bit>,
    // ---- configuration out ----
    pub src: Signal<Out, Bits<32>>,
    pub dst: Signal<Out, Bits<32>>,
    pub len: Signal<Out, Bits<32>>,
    pub chain: Signal<Out, Bit>,
    pub desc: Signal<Out, Bits<32>>,
    pub chain_limit: Signal<Out, Bits<32>>,
    pub start: Signal<Out, Bit>,
    /// One cycle: CTRL was written with ABORT.
    pub abort: Signal<Out, Bit>,
    pub clear_done: Signal<Out, Bit>,
    pub clear_err: Signal<Out, Bit>,
    pub clear_rejected: Signal<Out, Bit>,
    // ---- status in ----
    pub busy: Signal<In, Bit>,
    pub done: Signal<In, Bit>,
    pub err: Signal<In, Bit>,
    pub rejected: Signal<In, Bit>,
    pub cause: Signal<In, Bits<4>>,
    pub cur_desc: Signal<In, Bits<32>>,
    pub desc_done: Signal<In, Bits<32>>,
    pub bytes_done: Signal<In, Bits<32>>,
    pub err_addr: Signal<In, Bits<32>>,
    pub err_count: Signal<In, Bits<32>>,
    pub rejected_starts: Signal<In, Bits<32>>,
    // ==== implementation ====
    r_rdata: DFF<Bits<32>>,
    r_src: DFF<Bits<32>>,
    r_dst: DFF<Bits<32>>,
    r_len: DFF<Bits<32>>,
    r_irq_en: DFF<Bit>,
    r_chain: DFF<Bit>,
    r_desc: DFF<Bits<32>>,
    r_chain_limit: DFFWithInit<Bits<32>>,
    write: Signal<Local, Bit>,
    read_value: Signal<Local, Bits<32>>,
    status_word: Signal<Local, Bits<32>>,
    ctrl_word: Signal<Local, Bits<32>>,
    a_src: Constant<ChOffset>,
    a_dst: Constant<ChOffset>,
    a_len: Constant<ChOffset>,
    a_ctrl: Constant<ChOffset>,
    a_status: Constant<ChOffset>,
    a_desc: Constant<ChOffset>,
    a_chain_limit: Constant<ChOffset>,
    a_desc_done: Constant<ChOffset>,
    a_bytes_done: Constant<ChOffset>,
    a_err_addr: Constant<ChOffset>,
    a_err_count: Constant<ChOffset>,
    a_rejected_starts: Constant<ChOffset>,
    a_cur_desc: Constant<ChOffset>,
    k_ctrl_start: Constant<Bits<32>>,
    k_ctrl_irq_en: Constant<Bits<32>>,
    k_ctrl_chain: Constant<Bits<32>>,
    k_ctrl_abort: Constant<Bits<32>>,
    k_st_busy: Constant<Bits<32>>,
    k_st_done: Constant<Bits<32>>,
    k_st_err: Constant<Bits<32>>,
    k_st_rejected: Constant<Bits<32>>,
    k_st_cause_shift: Constant<Bits<5>>,
}

fn at(offset: u32) -> Constant<ChOffset> {
    Constant::new((offset as u64).into())
}

fn k(v: u32) -> Constant<Bits<32>> {
    Constant::new((v as u64).into())
}

impl Default for DmacRegs {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            host: Default::default(),
            irq: Default::default(),
            src: Default::default(),
            dst: Default::default(),
            len: Default::default(),
            chain: Default::default(),
            desc: Default::default(),
            chain_limit: Default::default(),
            start: Default::default(),
            abort: Default::default(),
            clear_done: Default::default(),
            clear_err: Default::default(),
            clear_rejected: Default::default(),
            busy: Default::default(),
            done: Default::default(),
            err: Default::default(),
            rejected: Default::default(),
            cause: Default::default(),
            cur_desc: Default::default(),
            desc_done: Default::default(),
            bytes_done: Default::default(),
            err_addr: Default::default(),
            err_count: Default::default(),
            rejected_starts: Default::default(),
            r_rdata: Default::default(),
            r_src: Default::default(),
            r_dst: Default::default(),
            r_len: Default::default(),
            r_irq_en: Default::default(),
            r_chain: Default::default(),
            r_desc: Default::default(),
            r_chain_limit: DFFWithInit::new((dmac::CHAIN_LIMIT_RESET as u64).into()),
            write: Default::default(),
            read_value: Default::default(),
            status_word: Default::default(),
            ctrl_word: Default::default(),
            a_src: at(dmac::SRC),
            a_dst: at(dmac::DST),
            a_len: at(dmac::LEN),
            a_ctrl: at(dmac::CTRL),
            a_status: at(dmac::STATUS),
            a_desc: at(dmac::DESC),
            a_chain_limit: at(dmac::CHAIN_LIMIT),
            a_desc_done: at(dmac::DESC_DONE),
            a_bytes_done: at(dmac::BYTES_DONE),
            a_err_addr: at(dmac::ERR_ADDR),
            a_err_count: at(dmac::ERR_COUNT),
            a_rejected_starts: at(dmac::REJECTED_STARTS),
            a_cur_desc: at(dmac::CUR_DESC),
            k_ctrl_start: k(dmac::ctrl::START),
            k_ctrl_irq_en: k(dmac::ctrl::IRQ_EN),
            k_ctrl_chain: k(dmac::ctrl::CHAIN),
            k_ctrl_abort: k(dmac::ctrl::ABORT),
            k_st_busy: k(dmac::status::BUSY),
            k_st_done: k(dmac::status::DONE),
            k_st_err: k(dmac::status::ERR),
            k_st_rejected: k(dmac::status::REJECTED_START),
            k_st_cause_shift: Constant::new((dmac::status::CAUSE_SHIFT as u64).into()),
        }
    }
}

impl Logic for DmacRegs {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            r_rdata,
            r_src,
            r_dst,
            r_len,
            r_irq_en,
            r_chain,
            r_desc,
            r_chain_limit
        );
        self.host.rdata.next = self.r_rdata.q.val();
        self.src.next = self.r_src.q.val();
        self.dst.next = self.r_dst.q.val();
        self.len.next = self.r_len.q.val();
        self.chain.next = self.r_chain.q.val();
        self.desc.next = self.r_desc.q.val();
        self.chain_limit.next = self.r_chain_limit.q.val();
        self.irq.next = self.r_irq_en.q.val() & (self.done.val() | self.err.val());

        // ---- writes ----
        self.write.next = self.host.sel.val() & self.host.we.val();
        self.start.next = false;
        self.abort.next = false;
        self.clear_done.next = false;
        self.clear_err.next = false;
        self.clear_rejected.next = false;
        if self.write.val() {
            if self.host.offset.val() == self.a_src.val() {
                self.r_src.d.next = self.host.wdata.val();
            }
            if self.host.offset.val() == self.a_dst.val() {
                self.r_dst.d.next = self.host.wdata.val();
            }
            if self.host.offset.val() == self.a_len.val() {
                self.r_len.d.next = self.host.wdata.val();
            }
            if self.host.offset.val() == self.a_ctrl.val() {
                self.r_irq_en.d.next = (self.host.wdata.val() & self.k_ctrl_irq_en.val()) != 0;
                self.r_chain.d.next = (self.host.wdata.val() & self.k_ctrl_chain.val()) != 0;
                // The channel samples CHAIN with the start pulse, so the start must see the
                // value being written now.
                self.chain.next = (self.host.wdata.val() & self.k_ctrl_chain.val()) != 0;
                self.start.next = (self.host.wdata.val() & self.k_ctrl_start.val()) != 0;
                self.abort.next = (self.host.wdata.val() & self.k_ctrl_abort.val()) != 0;
            }
            if self.host.offset.val() == self.a_status.val() {
                self.clear_done.next = (self.host.wdata.val() & self.k_st_done.val()) != 0;
                self.clear_err.next = (self.host.wdata.val() & self.k_st_err.val()) != 0;
                self.clear_rejected.next = (self.host.wdata.val() & self.k_st_rejected.val()) != 0;
            }
            if self.host.offset.val() == self.a_desc.val() {
                self.r_desc.d.next = self.host.wdata.val();
            }
            if self.host.offset.val() == self.a_chain_limit.val() {
                self.r_chain_limit.d.next = self.host.wdata.val();
            }
        }

        // ---- reads ----
        self.ctrl_word.next = 0.into();
        if self.r_irq_en.q.val() {
            self.ctrl_word.next = self.ctrl_word.val() | self.k_ctrl_irq_en.val();
        }
        if self.r_chain.q.val() {
            self.ctrl_word.next = self.ctrl_word.val() | self.k_ctrl_chain.val();
        }
        self.status_word.next = bit_cast::<32, 4>(self.cause.val()) << self.k_st_cause_shift.val();
        if self.busy.val() {
            self.status_word.next = self.status_word.val() | self.k_st_busy.val();
        }
        if self.done.val() {
            self.status_word.next = self.status_word.val() | self.k_st_done.val();
        }
        if self.err.val() {
            self.status_word.next = self.status_word.val() | self.k_st_err.val();
        }
        if self.rejected.val() {
            self.status_word.next = self.status_word.val() | self.k_st_rejected.val();
        }
        self.read_value.next = 0.into();
        if self.host.offset.val() == self.a_src.val() {
            self.read_value.next = self.r_src.q.val();
        }
        if self.host.offset.val() == self.a_dst.val() {
            self.read_value.next = self.r_dst.q.val();
        }
        if self.host.offset.val() == self.a_len.val() {
            self.read_value.next = self.r_len.q.val();
        }
        if self.host.offset.val() == self.a_ctrl.val() {
            self.read_value.next = self.ctrl_word.val();
        }
        if self.host.offset.val() == self.a_status.val() {
            self.read_value.next = self.status_word.val();
        }
        if self.host.offset.val() == self.a_desc.val() {
            self.read_value.next = self.r_desc.q.val();
        }
        if self.host.offset.val() == self.a_chain_limit.val() {
            self.read_value.next = self.r_chain_limit.q.val();
        }
        if self.host.offset.val() == self.a_desc_done.val() {
            self.read_value.next = self.desc_done.val();
        }
        if self.host.offset.val() == self.a_bytes_done.val() {
            self.read_value.next = self.bytes_done.val();
        }
        if self.host.offset.val() == self.a_err_addr.val() {
            self.read_value.next = self.err_addr.val();
        }
        if self.host.offset.val() == self.a_err_count.val() {
            self.read_value.next = self.err_count.val();
        }
        if self.host.offset.val() == self.a_rejected_starts.val() {
            self.read_value.next = self.rejected_starts.val();
        }
        if self.host.offset.val() == self.a_cur_desc.val() {
            self.read_value.next = self.cur_desc.val();
        }
        if self.host.sel.val() & !self.host.we.val() {
            self.r_rdata.d.next = self.read_value.val();
        }
    }
}
