//! The IOMMU's software-visible registers (docs/iommu.md, "Queues and registers"): DDTP, the
//! command and fault queues' base, head, tail and control/status registers, IPSR, the
//! counters and CNT_CTRL, at the RISC-V IOMMU offsets of `regs::iommu`.
//!
//! ```text
//!  sel, offset, we, wdata ──►┌──────────────────────────┐──► rdata (the cycle after a read)
//!                            │ DDTP  CQB CQH CQT CQCSR   │──► ddtp_mode, ddtp_ppn, ddtp_write
//!  events from the walker:   │       FQB FQH FQT FQCSR   │──► cq_ppn, cqh, cmd_pending
//!  cq_done, cq_memory_fault, │ IPSR                      │──► fq_ppn, fqt, fqen, fq_stopped,
//!  cq_illegal, cq_fence_wip, │ counters[8] (Counter      │    fq_full
//!  fq_recorded, fq_overflow, │ cells), CNT_CTRL, CAPS    │──► irq = CIP | FIP
//!  fq_memory_fault, count[8] └──────────────────────────┘
//! ```
//!
//! The walker (`super::Iommu`) reads the configuration from here and reports what it did as
//! one-cycle events; this block turns them into register changes. A hardware event wins over
//! a software write in the same cycle (the write is applied first), so no event is lost to a
//! write-1-to-clear. Each queue event sets its interrupt-pending bit when the queue's interrupt
//! enable is on: CQMF, CMD_ILL and FENCE_W_IP set CIP (with CIE); FQOF, FQMF and a written
//! record set FIP (with FIE).

use super::RegOffset;
use crate::regfile::{Counter, RegPort};
use regs::iommu::{self as r, cqcsr, ddtp, fqcsr, ipsr, qb};
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct IommuRegs<const N: usize> {
    pub clock: Signal<In, Clock>,
    // ---- host side ----
    /// Host side (`RegPort`: an access in the cycle `sel` is high, read data the cycle after).
    pub host: RegPort<RegOffset>,
    // ---- events from the walker ----
    /// A command completed: CQH advances.
    pub cq_done: Signal<In, Bit>,
    /// A command could not be fetched or its fence target is outside RAM (CQMF).
    pub cq_memory_fault: Signal<In, Bit>,
    /// An unknown command (CMD_ILL).
    pub cq_illegal: Signal<In, Bit>,
    /// An IOFENCE.C with WSI completed (FENCE_W_IP).
    pub cq_fence_wip: Signal<In, Bit>,
    /// A fault record was written: FQT advances.
    pub fq_recorded: Signal<In, Bit>,
    /// A fault was dropped because the queue was full (FQOF).
    pub fq_overflow: Signal<In, Bit>,
    /// A fault was dropped because its record slot is outside RAM (FQMF).
    pub fq_memory_fault: Signal<In, Bit>,
    /// Counter increments, in `regs::iommu::COUNTERS` order.
    pub count: [Signal<In, Bit>; 8],
    // ---- state for the walker ----
    pub ddtp_mode: Signal<Out, Bits<4>>,
    pub ddtp_ppn: Signal<Out, Bits<22>>,
    /// A valid DDTP write this cycle (the new value from the next cycle on).
    pub ddtp_write: Signal<Out, Bit>,
    pub cq_ppn: Signal<Out, Bits<22>>,
    pub cqh: Signal<Out, Bits<8>>,
    /// The command queue is on, not empty and not stopped by CMD_ILL or CQMF.
    pub cmd_pending: Signal<Out, Bit>,
    pub fq_ppn: Signal<Out, Bits<22>>,
    pub fqt: Signal<Out, Bits<8>>,
    pub fqen: Signal<Out, Bit>,
    /// FQOF or FQMF is set: no records until software clears them.
    pub fq_stopped: Signal<Out, Bit>,
    /// The slot at FQT is the last free one before FQH (a record there would overwrite).
    pub fq_full: Signal<Out, Bit>,
    pub irq: Signal<Out, Bit>,
    // ==== registers ====
    r_rdata: DFF<Bits<32>>,
    r_ddtp_mode: DFFWithInit<Bits<4>>,
    r_ddtp_ppn: DFF<Bits<22>>,
    cq_log2szm1: DFF<Bits<5>>,
    r_cq_ppn: DFF<Bits<22>>,
    r_cqh: DFF<Bits<8>>,
    cqt: DFF<Bits<8>>,
    fq_log2szm1: DFF<Bits<5>>,
    r_fq_ppn: DFF<Bits<22>>,
    fqh: DFF<Bits<8>>,
    r_fqt: DFF<Bits<8>>,
    cqen: DFF<Bit>,
    cie: DFF<Bit>,
    cqmf: DFF<Bit>,
    cmd_ill: DFF<Bit>,
    fence_w_ip: DFF<Bit>,
    r_fqen: DFF<Bit>,
    fie: DFF<Bit>,
    fqmf: DFF<Bit>,
    fqof: DFF<Bit>,
    cip: DFF<Bit>,
    fip: DFF<Bit>,
    /// The counter cells, in `regs::iommu::COUNTERS` order: 0 hits, 1 misses, 2 walk
    /// cycles, 3 faults, 4 faults dropped, 5 commands, 6 DC fetches, 7 walks restarted.
    counters: [Counter; 8],
    // ==== combinational ====
    write: Signal<Local, Bit>,
    clear_counters: Signal<Local, Bit>,
    read_value: Signal<Local, Bits<32>>,
    cq_mask: Signal<Local, Bits<8>>,
    fq_mask: Signal<Local, Bits<8>>,
    fq_next: Signal<Local, Bits<8>>,
    // ==== constants ====
    k_caps: Constant<Bits<32>>,
    k_mode_1lvl: Constant<Bits<4>>,
    a_caps: Constant<RegOffset>,
    a_ddtp: Constant<RegOffset>,
    a_cqb: Constant<RegOffset>,
    a_cqh: Constant<RegOffset>,
    a_cqt: Constant<RegOffset>,
    a_fqb: Constant<RegOffset>,
    a_fqh: Constant<RegOffset>,
    a_fqt: Constant<RegOffset>,
    a_cqcsr: Constant<RegOffset>,
    a_fqcsr: Constant<RegOffset>,
    a_ipsr: Constant<RegOffset>,
    /// The counters' offsets (`regs::iommu::COUNTERS`).
    a_counters: [Constant<RegOffset>; 8],
    a_cnt_ctrl: Constant<RegOffset>,
}

fn off(o: u32) -> Constant<RegOffset> {
    Constant::new((o as u64).into())
}

// The field positions the logic below hard-codes (rust-hdl kernels take no const paths); a
// change in `regs` fails the build here instead of silently mis-decoding.
const _: () = {
    assert!(ddtp::PPN_SHIFT == 10 && qb::PPN_SHIFT == 10 && qb::LOG2SZM1_MASK == 0x1F);
    assert!(cqcsr::CQEN == 1 && cqcsr::CIE == 2 && cqcsr::CQMF == 1 << 8);
    assert!(cqcsr::CMD_ILL == 1 << 10 && cqcsr::FENCE_W_IP == 1 << 11);
    assert!(cqcsr::CQON == 1 << 16 && cqcsr::BUSY == 1 << 17);
    assert!(fqcsr::FQEN == 1 && fqcsr::FIE == 2 && fqcsr::FQMF == 1 << 8);
    assert!(fqcsr::FQOF == 1 << 9 && fqcsr::FQON == 1 << 16);
    assert!(ipsr::CIP == 1 && ipsr::FIP == 2);
};

impl<const N: usize> IommuRegs<N> {
    /// The registers of an IOMMU with `N` IOTLB entries (CAPS), whose counters hold up to
    /// `counter_max` (`2^counter_bits - 1`) and then wrap to 0.
    pub fn new(counter_max: u32) -> Self {
        Self {
            clock: Default::default(),
            host: Default::default(),
            cq_done: Default::default(),
            cq_memory_fault: Default::default(),
            cq_illegal: Default::default(),
            cq_fence_wip: Default::default(),
            fq_recorded: Default::default(),
            fq_overflow: Default::default(),
            fq_memory_fault: Default::default(),
            count: std::array::from_fn(|_| Default::default()),
            ddtp_mode: Default::default(),
            ddtp_ppn: Default::default(),
            ddtp_write: Default::default(),
            cq_ppn: Default::default(),
            cqh: Default::default(),
            cmd_pending: Default::default(),
            fq_ppn: Default::default(),
            fqt: Default::default(),
            fqen: Default::default(),
            fq_stopped: Default::default(),
            fq_full: Default::default(),
            irq: Default::default(),
            r_rdata: Default::default(),
            r_ddtp_mode: DFFWithInit::new((ddtp::MODE_BARE as u64).into()),
            r_ddtp_ppn: Default::default(),
            cq_log2szm1: Default::default(),
            r_cq_ppn: Default::default(),
            r_cqh: Default::default(),
            cqt: Default::default(),
            fq_log2szm1: Default::default(),
            r_fq_ppn: Default::default(),
            fqh: Default::default(),
            r_fqt: Default::default(),
            cqen: Default::default(),
            cie: Default::default(),
            cqmf: Default::default(),
            cmd_ill: Default::default(),
            fence_w_ip: Default::default(),
            r_fqen: Default::default(),
            fie: Default::default(),
            fqmf: Default::default(),
            fqof: Default::default(),
            cip: Default::default(),
            fip: Default::default(),
            counters: std::array::from_fn(|_| Counter::new(counter_max)),
            write: Default::default(),
            clear_counters: Default::default(),
            read_value: Default::default(),
            cq_mask: Default::default(),
            fq_mask: Default::default(),
            fq_next: Default::default(),
            k_caps: Constant::new((r::caps(N as u32) as u64).into()),
            k_mode_1lvl: Constant::new((ddtp::MODE_1LVL as u64).into()),
            a_caps: off(r::CAPS),
            a_ddtp: off(r::DDTP),
            a_cqb: off(r::CQB),
            a_cqh: off(r::CQH),
            a_cqt: off(r::CQT),
            a_fqb: off(r::FQB),
            a_fqh: off(r::FQH),
            a_fqt: off(r::FQT),
            a_cqcsr: off(r::CQCSR),
            a_fqcsr: off(r::FQCSR),
            a_ipsr: off(r::IPSR),
            a_counters: r::COUNTERS.map(off),
            a_cnt_ctrl: off(r::CNT_CTRL),
        }
    }
}

impl<const N: usize> Logic for IommuRegs<N> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            r_rdata,
            r_ddtp_mode,
            r_ddtp_ppn,
            cq_log2szm1,
            r_cq_ppn,
            r_cqh,
            cqt,
            fq_log2szm1,
            r_fq_ppn,
            fqh,
            r_fqt,
            cqen,
            cie,
            cqmf,
            cmd_ill,
            fence_w_ip,
            r_fqen,
            fie,
            fqmf,
            fqof,
            cip,
            fip
        );
        for i in 0..8 {
            self.counters[i].clock.next = self.clock.val();
            self.counters[i].inc.next = self.count[i].val();
        }
        // ---- outputs ----
        self.host.rdata.next = self.r_rdata.q.val();
        self.irq.next = self.cip.q.val() | self.fip.q.val();
        self.ddtp_mode.next = self.r_ddtp_mode.q.val();
        self.ddtp_ppn.next = self.r_ddtp_ppn.q.val();
        self.cq_ppn.next = self.r_cq_ppn.q.val();
        self.cqh.next = self.r_cqh.q.val();
        self.fq_ppn.next = self.r_fq_ppn.q.val();
        self.fqt.next = self.r_fqt.q.val();
        self.fqen.next = self.r_fqen.q.val();
        self.fq_stopped.next = self.fqof.q.val() | self.fqmf.q.val();
        // Index masks 2^(LOG2SZM1 + 1) - 1: queues of up to 256 entries.
        if self.cq_log2szm1.q.val() >= 7 {
            self.cq_mask.next = 0xFF.into();
        } else {
            self.cq_mask.next =
                (bit_cast::<8, 2>(2.into()) << bit_cast::<8, 5>(self.cq_log2szm1.q.val())) - 1;
        }
        if self.fq_log2szm1.q.val() >= 7 {
            self.fq_mask.next = 0xFF.into();
        } else {
            self.fq_mask.next =
                (bit_cast::<8, 2>(2.into()) << bit_cast::<8, 5>(self.fq_log2szm1.q.val())) - 1;
        }
        self.fq_next.next = (self.r_fqt.q.val() + 1) & self.fq_mask.val();
        self.fq_full.next = self.fq_next.val() == self.fqh.q.val();
        self.cmd_pending.next = self.cqen.q.val()
            & (self.r_cqh.q.val() != self.cqt.q.val())
            & !self.cmd_ill.q.val()
            & !self.cqmf.q.val();

        // ---- software writes: first, so that a hardware event below wins ----
        self.write.next = self.host.sel.val() & self.host.we.val();
        self.clear_counters.next = false;
        self.ddtp_write.next = false;
        if self.write.val() {
            if (self.host.offset.val() == self.a_ddtp.val())
                & (self.host.wdata.val().get_bits::<4>(0) <= self.k_mode_1lvl.val())
            {
                self.r_ddtp_mode.d.next = self.host.wdata.val().get_bits::<4>(0);
                self.r_ddtp_ppn.d.next = self.host.wdata.val().get_bits::<22>(10);
                self.ddtp_write.next = true;
            }
            if self.host.offset.val() == self.a_cqb.val() {
                self.cq_log2szm1.d.next = self.host.wdata.val().get_bits::<5>(0);
                self.r_cq_ppn.d.next = self.host.wdata.val().get_bits::<22>(10);
            }
            if self.host.offset.val() == self.a_cqt.val() {
                self.cqt.d.next = self.host.wdata.val().get_bits::<8>(0) & self.cq_mask.val();
            }
            if self.host.offset.val() == self.a_fqb.val() {
                self.fq_log2szm1.d.next = self.host.wdata.val().get_bits::<5>(0);
                self.r_fq_ppn.d.next = self.host.wdata.val().get_bits::<22>(10);
            }
            if self.host.offset.val() == self.a_fqh.val() {
                self.fqh.d.next = self.host.wdata.val().get_bits::<8>(0) & self.fq_mask.val();
            }
            if self.host.offset.val() == self.a_cqcsr.val() {
                self.cqen.d.next = self.host.wdata.val().get_bit(0);
                self.cie.d.next = self.host.wdata.val().get_bit(1);
                // CQEN 0 -> 1 resets CQH and the error and fence flags (as in the spec).
                if self.host.wdata.val().get_bit(0) & !self.cqen.q.val() {
                    self.r_cqh.d.next = 0.into();
                    self.cqmf.d.next = false;
                    self.cmd_ill.d.next = false;
                    self.fence_w_ip.d.next = false;
                }
                if self.host.wdata.val().get_bit(8) {
                    self.cqmf.d.next = false;
                }
                if self.host.wdata.val().get_bit(10) {
                    self.cmd_ill.d.next = false;
                }
                if self.host.wdata.val().get_bit(11) {
                    self.fence_w_ip.d.next = false;
                }
            }
            if self.host.offset.val() == self.a_fqcsr.val() {
                self.r_fqen.d.next = self.host.wdata.val().get_bit(0);
                self.fie.d.next = self.host.wdata.val().get_bit(1);
                // FQEN 0 -> 1 resets FQT, FQOF and FQMF (as in the spec).
                if self.host.wdata.val().get_bit(0) & !self.r_fqen.q.val() {
                    self.r_fqt.d.next = 0.into();
                    self.fqof.d.next = false;
                    self.fqmf.d.next = false;
                }
                if self.host.wdata.val().get_bit(8) {
                    self.fqmf.d.next = false;
                }
                if self.host.wdata.val().get_bit(9) {
                    self.fqof.d.next = false;
                }
            }
            if self.host.offset.val() == self.a_ipsr.val() {
                if self.host.wdata.val().get_bit(0) {
                    self.cip.d.next = false;
                }
                if self.host.wdata.val().get_bit(1) {
                    self.fip.d.next = false;
                }
            }
            if self.host.offset.val() == self.a_cnt_ctrl.val() {
                self.clear_counters.next = self.host.wdata.val().get_bit(0);
            }
        }
        for i in 0..8 {
            self.counters[i].clear.next = self.clear_counters.val();
        }

        // ---- hardware events ----
        if self.cq_done.val() {
            self.r_cqh.d.next = (self.r_cqh.q.val() + 1) & self.cq_mask.val();
        }
        if self.cq_memory_fault.val() {
            self.cqmf.d.next = true;
        }
        if self.cq_illegal.val() {
            self.cmd_ill.d.next = true;
        }
        if self.cq_fence_wip.val() {
            self.fence_w_ip.d.next = true;
        }
        if (self.cq_memory_fault.val() | self.cq_illegal.val() | self.cq_fence_wip.val())
            & self.cie.q.val()
        {
            self.cip.d.next = true;
        }
        if self.fq_recorded.val() {
            self.r_fqt.d.next = self.fq_next.val();
        }
        if self.fq_overflow.val() {
            self.fqof.d.next = true;
        }
        if self.fq_memory_fault.val() {
            self.fqmf.d.next = true;
        }
        if (self.fq_recorded.val() | self.fq_overflow.val() | self.fq_memory_fault.val())
            & self.fie.q.val()
        {
            self.fip.d.next = true;
        }

        // ---- reads (data the cycle after) ----
        self.read_value.next = 0.into();
        if self.host.offset.val() == self.a_caps.val() {
            self.read_value.next = self.k_caps.val();
        }
        if self.host.offset.val() == self.a_ddtp.val() {
            self.read_value.next = bit_cast::<32, 4>(self.r_ddtp_mode.q.val())
                | (bit_cast::<32, 22>(self.r_ddtp_ppn.q.val()) << 10);
        }
        if self.host.offset.val() == self.a_cqb.val() {
            self.read_value.next = bit_cast::<32, 5>(self.cq_log2szm1.q.val())
                | (bit_cast::<32, 22>(self.r_cq_ppn.q.val()) << 10);
        }
        if self.host.offset.val() == self.a_cqh.val() {
            self.read_value.next = bit_cast::<32, 8>(self.r_cqh.q.val());
        }
        if self.host.offset.val() == self.a_cqt.val() {
            self.read_value.next = bit_cast::<32, 8>(self.cqt.q.val());
        }
        if self.host.offset.val() == self.a_fqb.val() {
            self.read_value.next = bit_cast::<32, 5>(self.fq_log2szm1.q.val())
                | (bit_cast::<32, 22>(self.r_fq_ppn.q.val()) << 10);
        }
        if self.host.offset.val() == self.a_fqh.val() {
            self.read_value.next = bit_cast::<32, 8>(self.fqh.q.val());
        }
        if self.host.offset.val() == self.a_fqt.val() {
            self.read_value.next = bit_cast::<32, 8>(self.r_fqt.q.val());
        }
        if self.host.offset.val() == self.a_cqcsr.val() {
            self.read_value.next = bit_cast::<32, 1>(self.cqen.q.val().into())
                | (bit_cast::<32, 1>(self.cie.q.val().into()) << 1)
                | (bit_cast::<32, 1>(self.cqmf.q.val().into()) << 8)
                | (bit_cast::<32, 1>(self.cmd_ill.q.val().into()) << 10)
                | (bit_cast::<32, 1>(self.fence_w_ip.q.val().into()) << 11)
                | (bit_cast::<32, 1>(self.cqen.q.val().into()) << 16)
                | (bit_cast::<32, 1>(self.cmd_pending.val().into()) << 17);
        }
        if self.host.offset.val() == self.a_fqcsr.val() {
            self.read_value.next = bit_cast::<32, 1>(self.r_fqen.q.val().into())
                | (bit_cast::<32, 1>(self.fie.q.val().into()) << 1)
                | (bit_cast::<32, 1>(self.fqmf.q.val().into()) << 8)
                | (bit_cast::<32, 1>(self.fqof.q.val().into()) << 9)
                | (bit_cast::<32, 1>(self.r_fqen.q.val().into()) << 16);
        }
        if self.host.offset.val() == self.a_ipsr.val() {
            self.read_value.next = bit_cast::<32, 1>(self.cip.q.val().into())
                | (bit_cast::<32, 1>(self.fip.q.val().into()) << 1);
        }
        for i in 0..8 {
            if self.host.offset.val() == self.a_counters[i].val() {
                self.read_value.next = self.counters[i].value.val();
            }
        }
        if self.host.sel.val() & !self.host.we.val() {
            self.r_rdata.d.next = self.read_value.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};
    use pretty_assertions::assert_eq;

    type Regs = IommuRegs<4>;

    fn bench() -> Regs {
        let mut b = Regs::new(u32::MAX);
        b.connect_all();
        settle(&mut b);
        b
    }

    /// One cycle with `f`'s inputs (events, host port); all of them are dropped after it.
    fn cycle(b: &mut Regs, f: impl FnOnce(&mut Regs)) {
        f(b);
        settle(b);
        clock_edge(b, |b| &mut b.clock);
        b.host.sel.next = false;
        b.host.we.next = false;
        b.cq_done.next = false;
        b.cq_memory_fault.next = false;
        b.cq_illegal.next = false;
        b.cq_fence_wip.next = false;
        b.fq_recorded.next = false;
        b.fq_overflow.next = false;
        b.fq_memory_fault.next = false;
        for i in 0..8 {
            b.count[i].next = false;
        }
        settle(b);
    }

    fn host(b: &mut Regs, offset: u32, write: Option<u32>) {
        b.host.sel.next = true;
        b.host.offset.next = (offset as u64).into();
        b.host.we.next = write.is_some();
        b.host.wdata.next = (write.unwrap_or(0) as u64).into();
    }

    fn write(b: &mut Regs, offset: u32, value: u32) {
        cycle(b, |b| host(b, offset, Some(value)));
    }

    fn read(b: &mut Regs, offset: u32) -> u32 {
        cycle(b, |b| host(b, offset, None));
        b.host.rdata.val().index() as u32
    }

    #[test]
    fn a_hardware_event_wins_over_a_same_cycle_write_1_to_clear() {
        let mut b = bench();
        write(&mut b, r::FQB, qb::new(0x1000, 4));
        write(&mut b, r::FQCSR, fqcsr::FQEN | fqcsr::FIE);
        cycle(&mut b, |b| b.fq_recorded.next = true);
        assert_eq!(
            (read(&mut b, r::FQT), read(&mut b, r::IPSR)),
            (1, ipsr_fip())
        );
        // Software clears FIP in the cycle the next record is written: FIP stays set.
        cycle(&mut b, |b| {
            host(b, r::IPSR, Some(ipsr_fip()));
            b.fq_recorded.next = true;
        });
        assert_eq!(
            (read(&mut b, r::FQT), read(&mut b, r::IPSR)),
            (2, ipsr_fip())
        );
        write(&mut b, r::IPSR, ipsr_fip());
        assert_eq!(read(&mut b, r::IPSR), 0);
        // FQT 3 of 4 with FQH 0: the next slot is FQH's, the queue is full.
        assert!(!b.fq_full.val());
        cycle(&mut b, |b| b.fq_recorded.next = true);
        assert!(b.fq_full.val());
        cycle(&mut b, |b| b.fq_overflow.next = true);
        assert!(b.fq_stopped.val());
        assert_eq!(
            read(&mut b, r::FQCSR),
            fqcsr::FQEN | fqcsr::FIE | fqcsr::FQOF | fqcsr::FQON
        );
        write(&mut b, r::FQCSR, fqcsr::FQEN | fqcsr::FIE | fqcsr::FQOF);
        assert!(!b.fq_stopped.val());
    }

    #[test]
    fn command_queue_events_move_cqh_stop_the_queue_and_raise_cip() {
        let mut b = bench();
        write(&mut b, r::CQB, qb::new(0x2000, 8));
        write(&mut b, r::CQCSR, cqcsr::CQEN | cqcsr::CIE);
        write(&mut b, r::CQT, 2);
        assert!(b.cmd_pending.val());
        cycle(&mut b, |b| b.cq_done.next = true);
        assert_eq!(read(&mut b, r::CQH), 1);
        assert!(!b.irq.val());
        cycle(&mut b, |b| b.cq_illegal.next = true);
        assert!(!b.cmd_pending.val() && b.irq.val());
        assert_eq!(
            read(&mut b, r::CQCSR) & (cqcsr::CMD_ILL | cqcsr::BUSY),
            cqcsr::CMD_ILL
        );
        write(&mut b, r::CQCSR, cqcsr::CQEN | cqcsr::CIE | cqcsr::CMD_ILL);
        assert!(b.cmd_pending.val());
        // CQT is masked to the queue's 8 entries; CQEN 0 -> 1 resets CQH.
        write(&mut b, r::CQT, 0x1F);
        assert_eq!(read(&mut b, r::CQT), 7);
        write(&mut b, r::CQCSR, 0);
        write(&mut b, r::CQCSR, cqcsr::CQEN);
        assert_eq!(read(&mut b, r::CQH), 0);
    }

    #[test]
    fn counters_count_their_events_and_clear_together() {
        let mut b = bench();
        for n in 0..5 {
            cycle(&mut b, |b| {
                b.count[0].next = true;
                b.count[7].next = n % 2 == 0;
            });
        }
        assert_eq!(
            (
                read(&mut b, r::IOTLB_HITS),
                read(&mut b, r::WALKS_RESTARTED)
            ),
            (5, 3)
        );
        write(&mut b, r::CNT_CTRL, 1);
        assert_eq!(read(&mut b, r::IOTLB_HITS), 0);
    }

    #[test]
    fn ddtp_takes_only_the_modes_it_implements() {
        let mut b = bench();
        assert_eq!(b.ddtp_mode.val().index() as u32, ddtp::MODE_BARE);
        cycle(&mut b, |b| host(b, r::DDTP, Some(ddtp::MODE_1LVL + 1)));
        assert_eq!(b.ddtp_mode.val().index() as u32, ddtp::MODE_BARE);
        host(&mut b, r::DDTP, Some(ddtp::MODE_1LVL | (5 << 10)));
        settle(&mut b);
        assert!(b.ddtp_write.val());
        cycle(&mut b, |_| {});
        assert_eq!(read(&mut b, r::DDTP), ddtp::MODE_1LVL | (5 << 10));
        assert_eq!(read(&mut b, r::CAPS), r::caps(4));
    }

    fn ipsr_fip() -> u32 {
        ipsr::FIP
    }
}
