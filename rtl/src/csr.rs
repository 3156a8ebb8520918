//! The CSR block: the software-visible registers of the SYS and ARB blocks (each DMA channel
//! and the IOMMU decode their own).
//!
//! ```text
//!              ┌──────────────────────┐
//!  sel      ──►│ decode offset        ├──► rdata (registered: valid the cycle after a read)
//!  offset   ──►│ (regs crate offsets, │
//!  we       ──►│  as Constant fields) ├──► arbiter config, counter clear
//!  wdata    ──►│                      │
//!              │                      ├──► host_errors_clear
//!  status   ──►│ read mux             │
//!  inputs      └──────────────────────┘
//! ```
//! Offsets, reset values and field masks all come from the `regs` crate. Register writes take
//! the whole word (byte enables are ignored). Unimplemented offsets read 0 and ignore writes.
//! Every access is accepted in the cycle it is presented.

use regs::{arb, block as blk, sys};
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
    // ==== implementation ====
    r_rdata: DFF<Bits<32>>,
    r_scratch: DFF<Bits<32>>,
    r_cycle_steal: DFF<Bit>,
    r_burst_cap: DFF<Bits<32>>,
    r_steal_bound: DFFWithInit<Bits<32>>,
    write: Signal<Local, Bit>,
    read_value: Signal<Local, Bits<32>>,
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
    // Values and field masks.
    k_id: Constant<Bits<32>>,
    k_version: Constant<Bits<32>>,
    k_ram_bytes: Constant<Bits<32>>,
    k_mode_cycle_steal: Constant<Bits<32>>,
    k_cnt_clear: Constant<Bits<32>>,
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
            r_rdata: Default::default(),
            r_scratch: Default::default(),
            r_cycle_steal: Default::default(),
            r_burst_cap: Default::default(),
            r_steal_bound: DFFWithInit::new((arb::STEAL_NEVER as u64).into()),
            write: Default::default(),
            read_value: Default::default(),
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
            k_id: k(sys::ID_VALUE),
            k_version: k(sys::VERSION_VALUE),
            k_ram_bytes: k(ram_bytes),
            k_mode_cycle_steal: k(arb::MODE_CYCLE_STEAL),
            k_cnt_clear: k(arb::CNT_CLEAR),
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
            r_steal_bound
        );
        self.rdata.next = self.r_rdata.q.val();
        self.arb_cycle_steal.next = self.r_cycle_steal.q.val();
        self.arb_burst_cap.next = self.r_burst_cap.q.val();
        self.arb_steal_bound.next = self.r_steal_bound.q.val();

        // ---- writes ----
        self.write.next = self.sel.val() & self.we.val();
        self.arb_clear.next = false;
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
        }

        // ---- reads ----
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
        if self.sel.val() & !self.we.val() {
            self.r_rdata.d.next = self.read_value.val();
        }
    }
}
