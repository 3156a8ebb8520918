//! The CSR block: the software-visible registers of the SYS, ARB and DMAC blocks.
//!
//! ```text
//!              ┌──────────────────────┐
//!  sel      ──►│ decode offset        ├──► rdata (registered: valid the cycle after a read)
//!  offset   ──►│ (regs crate offsets, │
//!  we       ──►│  as Constant fields) ├──► arbiter config, counter clear
//!  wdata    ──►│                      ├──► memcpy config, start / write-1-to-clear pulses
//!              │                      ├──► host_errors_clear
//!  status   ──►│ read mux             │
//!  inputs      └──────────────────────┘
//! ```
//! Offsets, reset values and field masks all come from the `regs` crate. Register writes take
//! the whole word (byte enables are ignored). Unimplemented offsets read 0 and ignore writes.
//! Every access is accepted in the cycle it is presented.

use regs::{arb, block as blk, dmac, sys};
use rust_hdl::prelude::*;

type Off = Bits<{ regs::CSR_WINDOW_BITS }>;

#[derive(LogicBlock)]
pub struct Csr {
    pub clock: Signal<In, Clock>,
    pub sel: Signal<In, Bit>,
    pub offset: Signal<In, Off>,
    pub we: Signal<In, Bit>,
    pub wdata: Signal<In, Bits<32>>,
    pub rdata: Signal<Out, Bits<32>>,
    // ---- configuration out ----
    pub arb_cycle_steal: Signal<Out, Bit>,
    pub arb_burst_cap: Signal<Out, Bits<32>>,
    pub arb_steal_bound: Signal<Out, Bits<32>>,
    pub arb_clear: Signal<Out, Bit>,
    pub dmac_src: Signal<Out, Bits<32>>,
    pub dmac_dst: Signal<Out, Bits<32>>,
    pub dmac_len: Signal<Out, Bits<32>>,
    pub dmac_irq_en: Signal<Out, Bit>,
    pub dmac_chain: Signal<Out, Bit>,
    pub dmac_desc: Signal<Out, Bits<32>>,
    pub dmac_chain_limit: Signal<Out, Bits<32>>,
    pub dmac_start: Signal<Out, Bit>,
    pub dmac_clear_done: Signal<Out, Bit>,
    pub dmac_clear_err: Signal<Out, Bit>,
    pub dmac_clear_rejected: Signal<Out, Bit>,
    pub host_errors_clear: Signal<Out, Bit>,
    // ---- status in ----
    pub host_errors: Signal<In, Bits<32>>,
    pub irq_status: Signal<In, Bits<32>>,
    pub arb_total_cycles: Signal<In, Bits<32>>,
    pub arb_cpu_req_cycles: Signal<In, Bits<32>>,
    pub arb_cpu_stall_cycles: Signal<In, Bits<32>>,
    pub arb_cpu_worst_wait: Signal<In, Bits<32>>,
    pub arb_dma_beats: Signal<In, Bits<32>>,
    pub arb_dma_wait_cycles: Signal<In, Bits<32>>,
    pub arb_idle_cycles: Signal<In, Bits<32>>,
    pub arb_dma_longest_hold: Signal<In, Bits<32>>,
    pub dmac_busy: Signal<In, Bit>,
    pub dmac_done: Signal<In, Bit>,
    pub dmac_err: Signal<In, Bit>,
    pub dmac_rejected: Signal<In, Bit>,
    pub dmac_cause: Signal<In, Bits<4>>,
    pub dmac_cur_desc: Signal<In, Bits<32>>,
    pub dmac_desc_done: Signal<In, Bits<32>>,
    pub dmac_bytes_done: Signal<In, Bits<32>>,
    pub dmac_err_addr: Signal<In, Bits<32>>,
    pub dmac_err_count: Signal<In, Bits<32>>,
    pub dmac_rejected_starts: Signal<In, Bits<32>>,
    // ==== implementation ====
    r_rdata: DFF<Bits<32>>,
    r_scratch: DFF<Bits<32>>,
    r_cycle_steal: DFF<Bit>,
    r_burst_cap: DFF<Bits<32>>,
    r_steal_bound: DFFWithInit<Bits<32>>,
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
    // Register offsets.
    a_sys_id: Constant<Off>,
    a_sys_version: Constant<Off>,
    a_sys_ram_bytes: Constant<Off>,
    a_sys_scratch: Constant<Off>,
    a_sys_host_errors: Constant<Off>,
    a_sys_irq_status: Constant<Off>,
    a_arb_mode: Constant<Off>,
    a_arb_burst_cap: Constant<Off>,
    a_arb_steal_bound: Constant<Off>,
    a_arb_cnt_ctrl: Constant<Off>,
    a_arb_total_cycles: Constant<Off>,
    a_arb_cpu_req_cycles: Constant<Off>,
    a_arb_cpu_stall_cycles: Constant<Off>,
    a_arb_cpu_worst_wait: Constant<Off>,
    a_arb_dma_beats: Constant<Off>,
    a_arb_dma_wait_cycles: Constant<Off>,
    a_arb_idle_cycles: Constant<Off>,
    a_arb_dma_longest_hold: Constant<Off>,
    a_dmac_src: Constant<Off>,
    a_dmac_dst: Constant<Off>,
    a_dmac_len: Constant<Off>,
    a_dmac_ctrl: Constant<Off>,
    a_dmac_status: Constant<Off>,
    a_dmac_desc: Constant<Off>,
    a_dmac_chain_limit: Constant<Off>,
    a_dmac_desc_done: Constant<Off>,
    a_dmac_bytes_done: Constant<Off>,
    a_dmac_err_addr: Constant<Off>,
    a_dmac_err_count: Constant<Off>,
    a_dmac_rejected_starts: Constant<Off>,
    a_dmac_cur_desc: Constant<Off>,
    // Values and field masks.
    k_id: Constant<Bits<32>>,
    k_version: Constant<Bits<32>>,
    k_ram_bytes: Constant<Bits<32>>,
    k_mode_cycle_steal: Constant<Bits<32>>,
    k_cnt_clear: Constant<Bits<32>>,
    k_ctrl_start: Constant<Bits<32>>,
    k_ctrl_irq_en: Constant<Bits<32>>,
    k_ctrl_chain: Constant<Bits<32>>,
    k_st_busy: Constant<Bits<32>>,
    k_st_done: Constant<Bits<32>>,
    k_st_err: Constant<Bits<32>>,
    k_st_rejected: Constant<Bits<32>>,
    k_st_cause_shift: Constant<Bits<5>>,
}

fn at(block: u32, offset: u32) -> Constant<Off> {
    Constant::new(((block + offset) as u64).into())
}

fn k(v: u32) -> Constant<Bits<32>> {
    Constant::new((v as u64).into())
}

impl Csr {
    pub fn new(ram_bytes: u32) -> Self {
        Self {
            clock: Default::default(),
            sel: Default::default(),
            offset: Default::default(),
            we: Default::default(),
            wdata: Default::default(),
            rdata: Default::default(),
            arb_cycle_steal: Default::default(),
            arb_burst_cap: Default::default(),
            arb_steal_bound: Default::default(),
            arb_clear: Default::default(),
            dmac_src: Default::default(),
            dmac_dst: Default::default(),
            dmac_len: Default::default(),
            dmac_irq_en: Default::default(),
            dmac_chain: Default::default(),
            dmac_desc: Default::default(),
            dmac_chain_limit: Default::default(),
            dmac_start: Default::default(),
            dmac_clear_done: Default::default(),
            dmac_clear_err: Default::default(),
            dmac_clear_rejected: Default::default(),
            host_errors_clear: Default::default(),
            host_errors: Default::default(),
            irq_status: Default::default(),
            arb_total_cycles: Default::default(),
            arb_cpu_req_cycles: Default::default(),
            arb_cpu_stall_cycles: Default::default(),
            arb_cpu_worst_wait: Default::default(),
            arb_dma_beats: Default::default(),
            arb_dma_wait_cycles: Default::default(),
            arb_idle_cycles: Default::default(),
            arb_dma_longest_hold: Default::default(),
            dmac_busy: Default::default(),
            dmac_done: Default::default(),
            dmac_err: Default::default(),
            dmac_rejected: Default::default(),
            dmac_cause: Default::default(),
            dmac_cur_desc: Default::default(),
            dmac_desc_done: Default::default(),
            dmac_bytes_done: Default::default(),
            dmac_err_addr: Default::default(),
            dmac_err_count: Default::default(),
            dmac_rejected_starts: Default::default(),
            r_rdata: Default::default(),
            r_scratch: Default::default(),
            r_cycle_steal: Default::default(),
            r_burst_cap: Default::default(),
            r_steal_bound: DFFWithInit::new((arb::STEAL_NEVER as u64).into()),
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
            a_sys_id: at(blk::SYS, sys::ID),
            a_sys_version: at(blk::SYS, sys::VERSION),
            a_sys_ram_bytes: at(blk::SYS, sys::RAM_BYTES),
            a_sys_scratch: at(blk::SYS, sys::SCRATCH),
            a_sys_host_errors: at(blk::SYS, sys::HOST_ERRORS),
            a_sys_irq_status: at(blk::SYS, sys::IRQ_STATUS),
            a_arb_mode: at(blk::ARB, arb::MODE),
            a_arb_burst_cap: at(blk::ARB, arb::BURST_CAP),
            a_arb_steal_bound: at(blk::ARB, arb::STEAL_BOUND),
            a_arb_cnt_ctrl: at(blk::ARB, arb::CNT_CTRL),
            a_arb_total_cycles: at(blk::ARB, arb::TOTAL_CYCLES),
            a_arb_cpu_req_cycles: at(blk::ARB, arb::CPU_REQ_CYCLES),
            a_arb_cpu_stall_cycles: at(blk::ARB, arb::CPU_STALL_CYCLES),
            a_arb_cpu_worst_wait: at(blk::ARB, arb::CPU_WORST_WAIT),
            a_arb_dma_beats: at(blk::ARB, arb::DMA_BEATS),
            a_arb_dma_wait_cycles: at(blk::ARB, arb::DMA_WAIT_CYCLES),
            a_arb_idle_cycles: at(blk::ARB, arb::IDLE_CYCLES),
            a_arb_dma_longest_hold: at(blk::ARB, arb::DMA_LONGEST_HOLD),
            a_dmac_src: at(blk::DMAC, dmac::SRC),
            a_dmac_dst: at(blk::DMAC, dmac::DST),
            a_dmac_len: at(blk::DMAC, dmac::LEN),
            a_dmac_ctrl: at(blk::DMAC, dmac::CTRL),
            a_dmac_status: at(blk::DMAC, dmac::STATUS),
            a_dmac_desc: at(blk::DMAC, dmac::DESC),
            a_dmac_chain_limit: at(blk::DMAC, dmac::CHAIN_LIMIT),
            a_dmac_desc_done: at(blk::DMAC, dmac::DESC_DONE),
            a_dmac_bytes_done: at(blk::DMAC, dmac::BYTES_DONE),
            a_dmac_err_addr: at(blk::DMAC, dmac::ERR_ADDR),
            a_dmac_err_count: at(blk::DMAC, dmac::ERR_COUNT),
            a_dmac_rejected_starts: at(blk::DMAC, dmac::REJECTED_STARTS),
            a_dmac_cur_desc: at(blk::DMAC, dmac::CUR_DESC),
            k_id: k(sys::ID_VALUE),
            k_version: k(sys::VERSION_VALUE),
            k_ram_bytes: k(ram_bytes),
            k_mode_cycle_steal: k(arb::MODE_CYCLE_STEAL),
            k_cnt_clear: k(arb::CNT_CLEAR),
            k_ctrl_start: k(dmac::ctrl::START),
            k_ctrl_irq_en: k(dmac::ctrl::IRQ_EN),
            k_ctrl_chain: k(dmac::ctrl::CHAIN),
            k_st_busy: k(dmac::status::BUSY),
            k_st_done: k(dmac::status::DONE),
            k_st_err: k(dmac::status::ERR),
            k_st_rejected: k(dmac::status::REJECTED_START),
            k_st_cause_shift: Constant::new((dmac::status::CAUSE_SHIFT as u64).into()),
        }
    }
}

impl Logic for Csr {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            r_rdata,
            r_scratch,
            r_cycle_steal,
            r_burst_cap,
            r_steal_bound,
            r_src,
            r_dst,
            r_len,
            r_irq_en,
            r_chain,
            r_desc,
            r_chain_limit
        );
        self.rdata.next = self.r_rdata.q.val();
        self.arb_cycle_steal.next = self.r_cycle_steal.q.val();
        self.arb_burst_cap.next = self.r_burst_cap.q.val();
        self.arb_steal_bound.next = self.r_steal_bound.q.val();
        self.dmac_src.next = self.r_src.q.val();
        self.dmac_dst.next = self.r_dst.q.val();
        self.dmac_len.next = self.r_len.q.val();
        self.dmac_irq_en.next = self.r_irq_en.q.val();
        self.dmac_chain.next = self.r_chain.q.val();
        self.dmac_desc.next = self.r_desc.q.val();
        self.dmac_chain_limit.next = self.r_chain_limit.q.val();

        // ---- writes ----
        self.write.next = self.sel.val() & self.we.val();
        self.arb_clear.next = false;
        self.dmac_start.next = false;
        self.dmac_clear_done.next = false;
        self.dmac_clear_err.next = false;
        self.dmac_clear_rejected.next = false;
        self.host_errors_clear.next = false;
        if self.write.val() {
            if self.offset.val() == self.a_sys_scratch.val() {
                self.r_scratch.d.next = self.wdata.val();
            }
            if self.offset.val() == self.a_sys_host_errors.val() {
                self.host_errors_clear.next = true;
            }
            if self.offset.val() == self.a_arb_mode.val() {
                self.r_cycle_steal.d.next = self.wdata.val() == self.k_mode_cycle_steal.val();
            }
            if self.offset.val() == self.a_arb_burst_cap.val() {
                self.r_burst_cap.d.next = self.wdata.val();
            }
            if self.offset.val() == self.a_arb_steal_bound.val() {
                self.r_steal_bound.d.next = self.wdata.val();
            }
            if self.offset.val() == self.a_arb_cnt_ctrl.val() {
                self.arb_clear.next = (self.wdata.val() & self.k_cnt_clear.val()) != 0;
            }
            if self.offset.val() == self.a_dmac_src.val() {
                self.r_src.d.next = self.wdata.val();
            }
            if self.offset.val() == self.a_dmac_dst.val() {
                self.r_dst.d.next = self.wdata.val();
            }
            if self.offset.val() == self.a_dmac_len.val() {
                self.r_len.d.next = self.wdata.val();
            }
            if self.offset.val() == self.a_dmac_ctrl.val() {
                self.r_irq_en.d.next = (self.wdata.val() & self.k_ctrl_irq_en.val()) != 0;
                self.r_chain.d.next = (self.wdata.val() & self.k_ctrl_chain.val()) != 0;
                // The memcpy channel samples CHAIN from `dmac_chain` with the start pulse,
                // so the start must see the value being written now.
                self.dmac_chain.next = (self.wdata.val() & self.k_ctrl_chain.val()) != 0;
                self.dmac_start.next = (self.wdata.val() & self.k_ctrl_start.val()) != 0;
            }
            if self.offset.val() == self.a_dmac_status.val() {
                self.dmac_clear_done.next = (self.wdata.val() & self.k_st_done.val()) != 0;
                self.dmac_clear_err.next = (self.wdata.val() & self.k_st_err.val()) != 0;
                self.dmac_clear_rejected.next = (self.wdata.val() & self.k_st_rejected.val()) != 0;
            }
            if self.offset.val() == self.a_dmac_desc.val() {
                self.r_desc.d.next = self.wdata.val();
            }
            if self.offset.val() == self.a_dmac_chain_limit.val() {
                self.r_chain_limit.d.next = self.wdata.val();
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
        self.status_word.next =
            bit_cast::<32, 4>(self.dmac_cause.val()) << self.k_st_cause_shift.val();
        if self.dmac_busy.val() {
            self.status_word.next = self.status_word.val() | self.k_st_busy.val();
        }
        if self.dmac_done.val() {
            self.status_word.next = self.status_word.val() | self.k_st_done.val();
        }
        if self.dmac_err.val() {
            self.status_word.next = self.status_word.val() | self.k_st_err.val();
        }
        if self.dmac_rejected.val() {
            self.status_word.next = self.status_word.val() | self.k_st_rejected.val();
        }
        self.read_value.next = 0.into();
        if self.offset.val() == self.a_sys_id.val() {
            self.read_value.next = self.k_id.val();
        }
        if self.offset.val() == self.a_sys_version.val() {
            self.read_value.next = self.k_version.val();
        }
        if self.offset.val() == self.a_sys_ram_bytes.val() {
            self.read_value.next = self.k_ram_bytes.val();
        }
        if self.offset.val() == self.a_sys_scratch.val() {
            self.read_value.next = self.r_scratch.q.val();
        }
        if self.offset.val() == self.a_sys_host_errors.val() {
            self.read_value.next = self.host_errors.val();
        }
        if self.offset.val() == self.a_sys_irq_status.val() {
            self.read_value.next = self.irq_status.val();
        }
        if (self.offset.val() == self.a_arb_mode.val()) & self.r_cycle_steal.q.val() {
            self.read_value.next = self.k_mode_cycle_steal.val();
        }
        if self.offset.val() == self.a_arb_burst_cap.val() {
            self.read_value.next = self.r_burst_cap.q.val();
        }
        if self.offset.val() == self.a_arb_steal_bound.val() {
            self.read_value.next = self.r_steal_bound.q.val();
        }
        if self.offset.val() == self.a_arb_total_cycles.val() {
            self.read_value.next = self.arb_total_cycles.val();
        }
        if self.offset.val() == self.a_arb_cpu_req_cycles.val() {
            self.read_value.next = self.arb_cpu_req_cycles.val();
        }
        if self.offset.val() == self.a_arb_cpu_stall_cycles.val() {
            self.read_value.next = self.arb_cpu_stall_cycles.val();
        }
        if self.offset.val() == self.a_arb_cpu_worst_wait.val() {
            self.read_value.next = self.arb_cpu_worst_wait.val();
        }
        if self.offset.val() == self.a_arb_dma_beats.val() {
            self.read_value.next = self.arb_dma_beats.val();
        }
        if self.offset.val() == self.a_arb_dma_wait_cycles.val() {
            self.read_value.next = self.arb_dma_wait_cycles.val();
        }
        if self.offset.val() == self.a_arb_idle_cycles.val() {
            self.read_value.next = self.arb_idle_cycles.val();
        }
        if self.offset.val() == self.a_arb_dma_longest_hold.val() {
            self.read_value.next = self.arb_dma_longest_hold.val();
        }
        if self.offset.val() == self.a_dmac_src.val() {
            self.read_value.next = self.r_src.q.val();
        }
        if self.offset.val() == self.a_dmac_dst.val() {
            self.read_value.next = self.r_dst.q.val();
        }
        if self.offset.val() == self.a_dmac_len.val() {
            self.read_value.next = self.r_len.q.val();
        }
        if self.offset.val() == self.a_dmac_ctrl.val() {
            self.read_value.next = self.ctrl_word.val();
        }
        if self.offset.val() == self.a_dmac_status.val() {
            self.read_value.next = self.status_word.val();
        }
        if self.offset.val() == self.a_dmac_desc.val() {
            self.read_value.next = self.r_desc.q.val();
        }
        if self.offset.val() == self.a_dmac_chain_limit.val() {
            self.read_value.next = self.r_chain_limit.q.val();
        }
        if self.offset.val() == self.a_dmac_desc_done.val() {
            self.read_value.next = self.dmac_desc_done.val();
        }
        if self.offset.val() == self.a_dmac_bytes_done.val() {
            self.read_value.next = self.dmac_bytes_done.val();
        }
        if self.offset.val() == self.a_dmac_err_addr.val() {
            self.read_value.next = self.dmac_err_addr.val();
        }
        if self.offset.val() == self.a_dmac_err_count.val() {
            self.read_value.next = self.dmac_err_count.val();
        }
        if self.offset.val() == self.a_dmac_rejected_starts.val() {
            self.read_value.next = self.dmac_rejected_starts.val();
        }
        if self.offset.val() == self.a_dmac_cur_desc.val() {
            self.read_value.next = self.dmac_cur_desc.val();
        }
        if self.sel.val() & !self.we.val() {
            self.r_rdata.d.next = self.read_value.val();
        }
    }
}
