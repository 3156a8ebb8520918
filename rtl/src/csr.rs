//! The CSR block: the software-visible registers of the SYS block (the arbiter, each DMA
//! channel, the IOMMU and the NIC decode their own).
//!
//! ```text
//!              ┌──────────────────────┐
//!  sel      ──►│ decode offset        ├──► rdata (registered: valid the cycle after a read)
//!  offset   ──►│ (regs crate offsets, │
//!  we       ──►│  as Constant fields) │
//!  wdata    ──►│                      │
//!              │                      ├──► host_errors_clear
//!  status   ──►│ read mux             │
//!  inputs      └──────────────────────┘
//! ```
//! Offsets, reset values and field masks all come from the `regs` crate. Register writes take
//! the whole word (byte enables are ignored). Unimplemented offsets read 0 and ignore writes.
//! Every access is accepted in the cycle it is presented.

use crate::regfile::RegPort;
use regs::{block as blk, sys};
use rust_hdl::prelude::*;

type Off = Bits<{ regs::CSR_WINDOW_BITS }>;

#[derive(LogicBlock)]
pub struct Csr {
    pub clock: Signal<In, Clock>,
    /// Host side (`RegPort`: an access in the cycle `sel` is high, read data the cycle after).
    pub host: RegPort<Off>,
    // ---- configuration out ----
    pub host_errors_clear: Signal<Out, Bit>,
    // ---- status in ----
    pub host_errors: Signal<In, Bits<32>>,
    pub irq_status: Signal<In, Bits<32>>,
    // ==== implementation ====
    r_rdata: DFF<Bits<32>>,
    r_scratch: DFF<Bits<32>>,
    write: Signal<Local, Bit>,
    read_value: Signal<Local, Bits<32>>,
    // Register offsets.
    a_sys_id: Constant<Off>,
    a_sys_version: Constant<Off>,
    a_sys_ram_bytes: Constant<Off>,
    a_sys_scratch: Constant<Off>,
    a_sys_host_errors: Constant<Off>,
    a_sys_irq_status: Constant<Off>,
    // Values and field masks.
    k_id: Constant<Bits<32>>,
    k_version: Constant<Bits<32>>,
    k_ram_bytes: Constant<Bits<32>>,
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
            host: Default::default(),
            host_errors_clear: Default::default(),
            host_errors: Default::default(),
            irq_status: Default::default(),
            r_rdata: Default::default(),
            r_scratch: Default::default(),
            write: Default::default(),
            read_value: Default::default(),
            a_sys_id: at(blk::SYS, sys::ID),
            a_sys_version: at(blk::SYS, sys::VERSION),
            a_sys_ram_bytes: at(blk::SYS, sys::RAM_BYTES),
            a_sys_scratch: at(blk::SYS, sys::SCRATCH),
            a_sys_host_errors: at(blk::SYS, sys::HOST_ERRORS),
            a_sys_irq_status: at(blk::SYS, sys::IRQ_STATUS),
            k_id: k(sys::ID_VALUE),
            k_version: k(sys::VERSION_VALUE),
            k_ram_bytes: k(ram_bytes),
        }
    }
}

impl Logic for Csr {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, r_rdata, r_scratch);
        self.host.rdata.next = self.r_rdata.q.val();

        // ---- writes ----
        self.write.next = self.host.sel.val() & self.host.we.val();
        self.host_errors_clear.next = false;
        if self.write.val() {
            if self.host.offset.val() == self.a_sys_scratch.val() {
                self.r_scratch.d.next = self.host.wdata.val();
            }
            if self.host.offset.val() == self.a_sys_host_errors.val() {
                self.host_errors_clear.next = true;
            }
        }

        // ---- reads ----
        self.read_value.next = 0.into();
        if self.host.offset.val() == self.a_sys_id.val() {
            self.read_value.next = self.k_id.val();
        }
        if self.host.offset.val() == self.a_sys_version.val() {
            self.read_value.next = self.k_version.val();
        }
        if self.host.offset.val() == self.a_sys_ram_bytes.val() {
            self.read_value.next = self.k_ram_bytes.val();
        }
        if self.host.offset.val() == self.a_sys_scratch.val() {
            self.read_value.next = self.r_scratch.q.val();
        }
        if self.host.offset.val() == self.a_sys_host_errors.val() {
            self.read_value.next = self.host_errors.val();
        }
        if self.host.offset.val() == self.a_sys_irq_status.val() {
            self.read_value.next = self.irq_status.val();
        }
        if self.host.sel.val() & !self.host.we.val() {
            self.r_rdata.d.next = self.read_value.val();
        }
    }
}
