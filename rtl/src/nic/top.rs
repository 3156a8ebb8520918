//! The NIC: register file, TX and RX ring engines, FIFOs and the MAC, with MAC loopback.
//!
//! ```text
//!  host sel/offset/we/wdata ─► NicRegs ─► rdata, irq (ICR & IMS, ITR-moderated)
//!                                 │ config, events
//!     TX bus ◄─► TxDma ─► tx_buf (LaneBuffer) ─► MacTx ─┬─► phy_txd/tx_en/tx_er
//!                  └──► tx_q (len, IFCS) ──────────┘ ▲  │ RCTL.LBM = MAC loopback
//!                                           phy_tx_ce ┤  │
//!     RX bus ◄─► RxDma ◄─ rx_buf (LaneBuffer) ◄─ MacRx ◄─┴── phy_rxd/rx_dv/rx_er
//!                  └───◄ rx_q (lengths, errors) ◄──┘ ▲
//!                           phy_rx_ce (phy_tx_ce in loopback)
//!
//!  NicRegs MDIC ─► MdioMaster ─► mdc, mdio_out/oe ◄─ mdio_in (2 flops); mdio_busy
//!  NicRegs CTRL.PHY_RST ─► phy_reset       NicRegs EECD ─► ee_sk/cs/di ◄─ ee_do (2 flops)
//! ```
//!
//! **PHY clock enables.** The MACs move one byte per cycle with their clock enable high (see
//! `mac::tx` and `mac::rx` for the timing): `phy_tx_ce` paces the transmitter, `phy_rx_ce`
//! the receiver, except in MAC loopback, where the receiver sees the transmitter's pins and
//! takes `phy_tx_ce`. Tied high they give the GMII-like one byte per clock of the simulation;
//! a board's PHY adapter (RMII: one byte per four 50 MHz cycles at 100 Mb/s) pulses them.
//!
//! The RX FIFO writer sits here: each byte from the MAC goes to the FIFO's write pointer while
//! there is room; at the frame's end the frame is committed to the queue (good, or bad with
//! RCTL.SBP) or the write pointer rewinds (bad frame, or a frame that did not fit: a missed
//! packet, RXO). Both rings' DMA is IOMMU device `regs::iommu::DEVICE_NIC`; each engine is one
//! channel of the SoC's channel mux.

use super::frame_queue::FrameQueue;
use super::lane_buffer::LaneBuffer;
use super::mdio::MdioMaster;
use super::regs::NicRegs;
use super::rx_dma::{RxDma, RxState, RX_Q_DELIVER_SHIFT, RX_Q_ERRORS_SHIFT};
use super::tx_dma::{TxDma, TxState, TX_Q_IFCS_BIT};
use crate::dma::port::DmaPort;
use crate::mac::rx::MacRx;
use crate::mac::tx::MacTx;
use crate::regfile::RegPort;
use regs::nic::{rctl, rx_desc, tctl};
use rust_hdl::prelude::*;

/// A NIC whose FIFOs hold `4 · 2^W` bytes and `Q` complete frames each.
#[derive(LogicBlock)]
pub struct Nic<const W: usize, const Q: usize> {
    pub clock: Signal<In, Clock>,
    // ---- host side ----
    /// Host side (`RegPort`: an access in the cycle `sel` is high, read data the cycle after).
    pub host: RegPort<Bits<16>>,
    pub irq: Signal<Out, Bit>,
    /// Interrupt lines of the other blocks, latched as ICR causes.
    pub dmac_irq: Signal<In, Bit>,
    pub iommu_irq: Signal<In, Bit>,
    // ---- ring DMA: one channel-mux port per engine ----
    /// The TX ring engine's DMA port.
    pub tx_bus: DmaPort,
    /// The RX ring engine's DMA port.
    pub rx_bus: DmaPort,
    // ---- PHY pins (GMII-like) ----
    pub phy_txd: Signal<Out, Bits<8>>,
    pub phy_tx_en: Signal<Out, Bit>,
    pub phy_tx_er: Signal<Out, Bit>,
    pub phy_rxd: Signal<In, Bits<8>>,
    pub phy_rx_dv: Signal<In, Bit>,
    pub phy_rx_er: Signal<In, Bit>,
    /// Clock enable of the MAC transmitter: one byte goes onto `phy_txd` per cycle with
    /// `phy_tx_ce` high (`MacTx`'s `ce`); tie high for one byte per clock (GMII-like, the
    /// simulation), or pulse it at the PHY's byte rate (the board's RMII adapter).
    pub phy_tx_ce: Signal<In, Bit>,
    /// Clock enable of the MAC receiver: `phy_rxd`/`phy_rx_dv`/`phy_rx_er` are sampled in the
    /// cycles with `phy_rx_ce` high (`MacRx`'s `ce`). In MAC loopback the receiver sees the
    /// transmitter's pins and uses `phy_tx_ce` instead.
    pub phy_rx_ce: Signal<In, Bit>,
    // ---- PHY management (MDIC, CTRL.PHY_RST) ----
    /// The MDIO clock, and MDIO as an open-drain pin: driven with `mdio_out` while `mdio_oe`,
    /// else released (a pull-up makes it 1). `mdio_in` is the pin, synchronized here.
    pub mdc: Signal<Out, Bit>,
    pub mdio_out: Signal<Out, Bit>,
    pub mdio_oe: Signal<Out, Bit>,
    pub mdio_in: Signal<In, Bit>,
    /// CTRL.PHY_RST: the PHY's reset, active high (a board inverts it for an active-low pin).
    pub phy_reset: Signal<Out, Bit>,
    // ---- the card's EEPROM (EECD) ----
    /// SK, CS, DI to the EEPROM; its DO (synchronized here); whether there is one.
    pub ee_sk: Signal<Out, Bit>,
    pub ee_cs: Signal<Out, Bit>,
    pub ee_di: Signal<Out, Bit>,
    pub ee_do: Signal<In, Bit>,
    pub ee_present: Signal<In, Bit>,
    // ---- observation ----
    pub tx_state: Signal<Out, TxState>,
    pub rx_state: Signal<Out, RxState>,
    /// An MDIO frame is on the pins (the MDIO master's `busy`): a host that clocks the NIC only
    /// while it has work (the QEMU bridge) keeps clocking until MDIC's access ends.
    pub mdio_busy: Signal<Out, Bit>,
    /// Nothing in the NIC would change at the next edge: no host access, every block quiet
    /// (registers, ring engines, MACs, MDIO master), no CTRL.RST in flight, the MDIO and EEPROM
    /// synchronizers settled. The SoC clocks the NIC only when this is low
    /// (`crate::clock_gate`).
    pub quiet: Signal<Out, Bit>,
    // ==== blocks ====
    regs: NicRegs,
    tx_dma: TxDma,
    rx_dma: RxDma,
    tx_buf: LaneBuffer<W>,
    rx_buf: LaneBuffer<W>,
    tx_q: FrameQueue<Q>,
    rx_q: FrameQueue<Q>,
    mac_tx: MacTx,
    mac_rx: MacRx,
    mdio: MdioMaster,
    /// `mdio_in` through two flip-flops (the pin is asynchronous to the core clock).
    mdio_meta: DFF<Bit>,
    mdio_sync: DFF<Bit>,
    /// `ee_do` through two flip-flops.
    ee_do_meta: DFF<Bit>,
    ee_do_sync: DFF<Bit>,
    // ==== FIFO pointers ====
    /// CTRL.RST for the datapath (ring engines, FIFOs, frame queues, MACs), one cycle after
    /// the write (the registers reset in the cycle of the write): the path from the host port
    /// ends at this register instead of running through the engines' requests into the DMA
    /// port.
    datapath_reset: DFF<Bit>,
    tx_rd_ptr: DFF<Bits<16>>,
    rx_wr_ptr: DFF<Bits<16>>,
    rx_commit: DFF<Bits<16>>,
    rx_overflow: DFF<Bit>,
    loopback: Signal<Local, Bit>,
    rx_used: Signal<Local, Bits<16>>,
    rx_errors: Signal<Local, Bits<8>>,
    rx_bad: Signal<Local, Bit>,
    rx_deliver: Signal<Local, Bits<16>>,
    buf_bytes: Signal<Local, Bits<16>>,
    k_buf: [Constant<Bits<16>>; 4],
    k_buf_ext: [Constant<Bits<16>>; 4],
    capacity: Constant<Bits<16>>,
    max_frame: Constant<Bits<16>>,
    max_long_frame: Constant<Bits<16>>,
    fcs_bytes: Constant<Bits<16>>,
    k_rctl_en: Constant<Bits<32>>,
    k_rctl_sbp: Constant<Bits<32>>,
    k_rctl_lpe: Constant<Bits<32>>,
    k_rctl_lbm_mask: Constant<Bits<32>>,
    k_rctl_lbm_mac: Constant<Bits<32>>,
    k_rctl_secrc: Constant<Bits<32>>,
    k_tctl_en: Constant<Bits<32>>,
    k_tctl_psp: Constant<Bits<32>>,
    k_err_ce: Constant<Bits<8>>,
    k_err_len: Constant<Bits<8>>,
    k_err_rxe: Constant<Bits<8>>,
}

impl<const W: usize, const Q: usize> Nic<W, Q> {
    pub const FIFO_BYTES: u32 = 4 << W;

    /// A NIC whose statistics saturate at `counter_max` (`2^counter_bits - 1`); with
    /// `narrow_registers` its registers keep only the bits it uses, its rings 16 bits
    /// (`regs::SocConfig::narrow_registers`); its MDC's half period is `mdc_half_cycles`
    /// clock cycles.
    pub fn new(counter_max: u32, narrow_registers: bool, mdc_half_cycles: u32) -> Self {
        assert!(
            (4u32 << W) <= 1 << 15,
            "FIFO pointers are 16 bits: at most 32 KiB"
        );
        // Field positions written as literals in `update` (hdl_gen emits expressions verbatim).
        assert_eq!(rctl::BSIZE_SHIFT, 16);
        assert_eq!(rctl::BSEX, 1 << 25);
        assert_eq!(rctl::RDMTS_SHIFT, 8);
        assert_eq!(TX_Q_IFCS_BIT, 16);
        assert_eq!((RX_Q_DELIVER_SHIFT, RX_Q_ERRORS_SHIFT), (16, 32));
        let fifo = Self::FIFO_BYTES;
        let ring_mask = if narrow_registers {
            regs::SocConfig::NARROW_RING_MASK
        } else {
            u32::MAX
        };
        let k16 = |v: u32| Constant::new((v as u64).into());
        let k32 = |v: u32| Constant::new((v as u64).into());
        let k8 = |v: u32| Constant::new((v as u64).into());
        Self {
            clock: Default::default(),
            host: Default::default(),
            irq: Default::default(),
            dmac_irq: Default::default(),
            iommu_irq: Default::default(),
            tx_bus: Default::default(),
            rx_bus: Default::default(),
            phy_txd: Default::default(),
            phy_tx_en: Default::default(),
            phy_tx_er: Default::default(),
            phy_rxd: Default::default(),
            phy_rx_dv: Default::default(),
            phy_rx_er: Default::default(),
            phy_tx_ce: Default::default(),
            phy_rx_ce: Default::default(),
            mdc: Default::default(),
            mdio_out: Default::default(),
            mdio_oe: Default::default(),
            mdio_in: Default::default(),
            phy_reset: Default::default(),
            ee_sk: Default::default(),
            ee_cs: Default::default(),
            ee_di: Default::default(),
            ee_do: Default::default(),
            ee_present: Default::default(),
            tx_state: Default::default(),
            rx_state: Default::default(),
            mdio_busy: Default::default(),
            quiet: Default::default(),
            regs: NicRegs::new(fifo, fifo, counter_max, narrow_registers),
            tx_dma: TxDma::new(fifo, ring_mask),
            rx_dma: RxDma::new(ring_mask),
            tx_buf: Default::default(),
            rx_buf: Default::default(),
            tx_q: Default::default(),
            rx_q: Default::default(),
            mac_tx: Default::default(),
            mac_rx: Default::default(),
            mdio: MdioMaster::new(mdc_half_cycles),
            mdio_meta: Default::default(),
            mdio_sync: Default::default(),
            ee_do_meta: Default::default(),
            ee_do_sync: Default::default(),
            datapath_reset: Default::default(),
            tx_rd_ptr: Default::default(),
            rx_wr_ptr: Default::default(),
            rx_commit: Default::default(),
            rx_overflow: Default::default(),
            loopback: Default::default(),
            rx_used: Default::default(),
            rx_errors: Default::default(),
            rx_bad: Default::default(),
            rx_deliver: Default::default(),
            buf_bytes: Default::default(),
            k_buf: std::array::from_fn(|i| {
                k16(rctl::buffer_bytes((i as u32) << rctl::BSIZE_SHIFT))
            }),
            k_buf_ext: std::array::from_fn(|i| {
                k16(rctl::buffer_bytes(
                    ((i as u32) << rctl::BSIZE_SHIFT) | rctl::BSEX,
                ))
            }),
            capacity: k16(fifo),
            max_frame: k16(regs::nic::MAX_FRAME),
            max_long_frame: k16(regs::nic::MAX_LONG_FRAME.min(fifo)),
            fcs_bytes: k16(regs::nic::FCS_BYTES),
            k_rctl_en: k32(rctl::EN),
            k_rctl_sbp: k32(rctl::SBP),
            k_rctl_lpe: k32(rctl::LPE),
            k_rctl_lbm_mask: k32(rctl::LBM_MASK),
            k_rctl_lbm_mac: k32(rctl::LBM_MAC),
            k_rctl_secrc: k32(rctl::SECRC),
            k_tctl_en: k32(tctl::EN),
            k_tctl_psp: k32(tctl::PSP),
            k_err_ce: k8(rx_desc::ERR_CE),
            k_err_len: k8(rx_desc::ERR_LEN),
            k_err_rxe: k8(rx_desc::ERR_RXE),
        }
    }
}

impl<const W: usize, const Q: usize> Default for Nic<W, Q> {
    /// The simulation build: 32-bit statistics, full registers.
    fn default() -> Self {
        Self::new(u32::MAX, false, regs::SocConfig::SIM.mdc_half_cycles)
    }
}

impl<const W: usize, const Q: usize> Logic for Nic<W, Q> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            tx_rd_ptr,
            rx_wr_ptr,
            rx_commit,
            rx_overflow,
            datapath_reset,
            mdio_meta,
            mdio_sync,
            ee_do_meta,
            ee_do_sync
        );
        clock!(self, clock, regs, tx_dma, rx_dma, tx_buf, rx_buf, tx_q, rx_q, mac_tx, mac_rx, mdio);

        // ---- registers ----
        self.regs.host.sel.next = self.host.sel.val();
        self.regs.host.offset.next = self.host.offset.val();
        self.regs.host.we.next = self.host.we.val();
        self.regs.host.wdata.next = self.host.wdata.val();
        self.host.rdata.next = self.regs.host.rdata.val();
        self.irq.next = self.regs.irq.val();
        self.regs.c_dmac.next = self.dmac_irq.val();
        self.regs.c_iommu.next = self.iommu_irq.val();
        self.regs.rdh.next = self.rx_dma.rdh.val();
        self.regs.tdh.next = self.tx_dma.tdh.val();
        self.regs.tx_state.next = self.tx_dma.state_code.val();
        self.regs.rx_state.next = self.rx_dma.state_code.val();
        self.regs.tx_halted.next = self.tx_dma.halted.val();
        self.regs.rx_halted.next = self.rx_dma.halted.val();
        if self.rx_dma.halted.val() & !self.tx_dma.halted.val() {
            self.regs.dmaerr_addr.next = self.rx_dma.err_addr.val();
        } else {
            self.regs.dmaerr_addr.next = self.tx_dma.err_addr.val();
        }
        self.loopback.next =
            (self.regs.rctl.val() & self.k_rctl_lbm_mask.val()) == self.k_rctl_lbm_mac.val();

        // ---- PHY management: MDIC → MDIO master → pins ----
        // CTRL.RST abandons an access at the edge where MDIC reads R again.
        self.mdio.reset.next = self.regs.nic_reset.val();
        self.mdio.start.next = self.regs.mdio_start.val();
        self.mdio.read.next = self.regs.mdio_read.val();
        self.mdio.phy_addr.next = self.regs.mdio_phy.val();
        self.mdio.reg_addr.next = self.regs.mdio_reg.val();
        self.mdio.wdata.next = self.regs.mdio_wdata.val();
        self.regs.mdio_done.next = self.mdio.done.val();
        self.regs.mdio_error.next = self.mdio.error.val();
        self.regs.mdio_rdata.next = self.mdio.rdata.val();
        self.mdio_meta.d.next = self.mdio_in.val();
        self.mdio_sync.d.next = self.mdio_meta.q.val();
        self.mdio.mdio_in.next = self.mdio_sync.q.val();
        self.mdc.next = self.mdio.mdc.val();
        self.mdio_busy.next = self.mdio.busy.val();
        self.mdio_out.next = self.mdio.mdio_out.val();
        self.mdio_oe.next = self.mdio.mdio_oe.val();
        self.phy_reset.next = self.regs.phy_reset.val();

        // ---- the card's EEPROM: EECD's pins ----
        self.ee_sk.next = self.regs.ee_sk.val();
        self.ee_cs.next = self.regs.ee_cs.val();
        self.ee_di.next = self.regs.ee_di.val();
        self.ee_do_meta.d.next = self.ee_do.val();
        self.ee_do_sync.d.next = self.ee_do_meta.q.val();
        self.regs.ee_do.next = self.ee_do_sync.q.val();
        self.regs.ee_present.next = self.ee_present.val();

        // ---- TX: ring engine → FIFO → MAC ----
        self.tx_dma.soft_reset.next = self.datapath_reset.q.val();
        self.tx_dma.enable.next = (self.regs.tctl.val() & self.k_tctl_en.val()) != 0;
        self.tx_dma.tdbal.next = self.regs.tdbal.val();
        self.tx_dma.tdlen.next = self.regs.tdlen.val();
        self.tx_dma.tdt.next = self.regs.tdt.val();
        self.tx_dma.head_write.next = self.regs.tdh_write.val();
        self.tx_dma.head_wdata.next = self.regs.head_wdata.val();
        self.tx_dma.restart.next = self.regs.restart_tx.val();
        self.tx_dma.fifo_rd_ptr.next = self.tx_rd_ptr.q.val();
        self.tx_dma.q_full.next = self.tx_q.full.val();
        DmaPort::link(&mut self.tx_bus, &mut self.tx_dma.dma);
        self.tx_buf.wr_pos.next = self.tx_dma.fifo_wr_pos.val();
        self.tx_buf.wr_data.next = self.tx_dma.fifo_wr_data.val();
        self.tx_buf.wr_mask.next = self.tx_dma.fifo_wr_mask.val();
        self.tx_q.push.next = self.tx_dma.q_push.val();
        self.tx_q.push_data.next = self.tx_dma.q_push_data.val();
        self.tx_q.flush.next = self.datapath_reset.q.val();

        self.mac_tx.ce.next = self.phy_tx_ce.val();
        // CTRL.RST empties the FIFO: the MAC must not go on reading a frame from it.
        self.mac_tx.reset.next = self.datapath_reset.q.val();
        self.mac_tx.enable.next = (self.regs.tctl.val() & self.k_tctl_en.val()) != 0;
        self.mac_tx.frame_ready.next = self.tx_q.valid.val();
        self.mac_tx.frame_len.next = self.tx_q.head.val().get_bits::<16>(0);
        self.mac_tx.frame_ifcs.next = self.tx_q.head.val().get_bit(16);
        self.mac_tx.pad.next = (self.regs.tctl.val() & self.k_tctl_psp.val()) != 0;
        self.mac_tx.ipg.next = self.regs.ipg.val();
        self.mac_tx.byte_in.next = self.tx_buf.rd_data.val().get_bits::<8>(0);
        // Show-ahead: address the byte after the one the MAC takes this cycle.
        if self.mac_tx.byte_pop.val() {
            self.tx_buf.rd_pos.next = self.tx_rd_ptr.q.val() + 1;
            self.tx_rd_ptr.d.next = self.tx_rd_ptr.q.val() + 1;
        } else {
            self.tx_buf.rd_pos.next = self.tx_rd_ptr.q.val();
        }
        self.tx_q.pop.next = self.mac_tx.frame_done.val();
        self.regs.ev_tx_good.next = self.mac_tx.frame_done.val();
        self.regs.ev_tx_good_bytes.next = self.mac_tx.wire_bytes.val();
        self.regs.ev_tx_drop.next = self.tx_dma.ev_drop.val();
        self.regs.c_txdw.next = self.tx_dma.c_txdw.val();
        self.regs.c_txdw_delayed.next = self.tx_dma.c_txdw_delayed.val();
        self.regs.c_txqe.next = self.tx_dma.c_txqe.val();
        self.regs.c_nic_dma.next = self.tx_dma.c_dma_err.val() | self.rx_dma.c_dma_err.val();
        self.phy_txd.next = self.mac_tx.txd.val();
        self.phy_tx_en.next = self.mac_tx.tx_en.val();
        self.phy_tx_er.next = self.mac_tx.tx_er.val();

        // ---- RX: pins (or loopback) → MAC → FIFO ----
        // In loopback the receiver samples the transmitter's pins at the transmitter's pace.
        if self.loopback.val() {
            self.mac_rx.rxd.next = self.mac_tx.txd.val();
            self.mac_rx.rx_dv.next = self.mac_tx.tx_en.val();
            self.mac_rx.rx_er.next = self.mac_tx.tx_er.val();
            self.mac_rx.ce.next = self.phy_tx_ce.val();
        } else {
            self.mac_rx.rxd.next = self.phy_rxd.val();
            self.mac_rx.rx_dv.next = self.phy_rx_dv.val();
            self.mac_rx.rx_er.next = self.phy_rx_er.val();
            self.mac_rx.ce.next = self.phy_rx_ce.val();
        }
        // CTRL.RST empties the FIFO: the rest of a frame being received must not be stored.
        self.mac_rx.reset.next = self.datapath_reset.q.val();
        self.mac_rx.enable.next = (self.regs.rctl.val() & self.k_rctl_en.val()) != 0;
        if (self.regs.rctl.val() & self.k_rctl_lpe.val()) != 0 {
            self.mac_rx.max_len.next = self.max_long_frame.val();
        } else {
            self.mac_rx.max_len.next = self.max_frame.val();
        }
        self.rx_used.next = self.rx_wr_ptr.q.val() - self.rx_dma.fifo_rd_ptr.val();
        self.rx_buf.wr_pos.next = self.rx_wr_ptr.q.val();
        self.rx_buf.wr_data.next = bit_cast::<32, 8>(self.mac_rx.byte_data.val());
        self.rx_buf.wr_mask.next = 0.into();
        if self.mac_rx.frame_start.val() {
            self.rx_wr_ptr.d.next = self.rx_commit.q.val();
            self.rx_overflow.d.next = false;
        }
        if self.mac_rx.byte_valid.val() {
            if !self.rx_overflow.q.val() & (self.rx_used.val() < self.capacity.val()) {
                self.rx_buf.wr_mask.next = 1.into();
                self.rx_wr_ptr.d.next = self.rx_wr_ptr.q.val() + 1;
            } else {
                self.rx_overflow.d.next = true;
            }
        }
        self.rx_errors.next = 0.into();
        if self.mac_rx.err_crc.val() {
            self.rx_errors.next = self.k_err_ce.val();
        }
        if self.mac_rx.err_runt.val() | self.mac_rx.err_long.val() {
            self.rx_errors.next = self.rx_errors.val() | self.k_err_len.val();
        }
        if self.mac_rx.err_rxer.val() {
            self.rx_errors.next = self.rx_errors.val() | self.k_err_rxe.val();
        }
        self.rx_bad.next = self.rx_errors.val() != 0;
        self.rx_deliver.next = self.mac_rx.frame_len.val();
        if (self.regs.rctl.val() & self.k_rctl_secrc.val()) != 0 {
            if self.mac_rx.frame_len.val() >= self.fcs_bytes.val() {
                self.rx_deliver.next = self.mac_rx.frame_len.val() - self.fcs_bytes.val();
            } else {
                self.rx_deliver.next = 0.into();
            }
        }
        self.rx_q.push.next = false;
        self.rx_q.push_data.next = bit_cast::<40, 16>(self.mac_rx.frame_len.val())
            | (bit_cast::<40, 16>(self.rx_deliver.val()) << 16)
            | (bit_cast::<40, 8>(self.rx_errors.val()) << 32);
        self.rx_q.flush.next = self.datapath_reset.q.val();
        self.regs.ev_missed.next = false;
        self.regs.c_rxo.next = false;
        if self.mac_rx.frame_end.val() {
            if self.rx_overflow.q.val() | self.rx_q.full.val() {
                self.regs.ev_missed.next = true;
                self.regs.c_rxo.next = true;
                self.rx_wr_ptr.d.next = self.rx_commit.q.val();
            } else if self.rx_bad.val() & ((self.regs.rctl.val() & self.k_rctl_sbp.val()) == 0) {
                self.rx_wr_ptr.d.next = self.rx_commit.q.val();
            } else {
                self.rx_q.push.next = true;
                self.rx_commit.d.next = self.rx_wr_ptr.q.val();
            }
        }
        self.regs.ev_rx_frame.next = self.mac_rx.frame_end.val();
        self.regs.ev_rx_frame_bytes.next = self.mac_rx.frame_len.val();
        self.regs.ev_crc_err.next = self.mac_rx.frame_end.val() & self.mac_rx.err_crc.val();
        self.regs.ev_rx_er.next = self.mac_rx.frame_end.val() & self.mac_rx.err_rxer.val();
        self.regs.ev_runt.next = self.mac_rx.frame_end.val() & self.mac_rx.err_runt.val();
        self.regs.ev_oversize.next = self.mac_rx.frame_end.val() & self.mac_rx.err_long.val();

        // ---- RX: FIFO → ring engine ----
        // RCTL.BSIZE (bits 17:16) and BSEX (bit 25), as `regs::nic::rctl::buffer_bytes`.
        self.buf_bytes.next = self.k_buf[0].val();
        for i in 1..4 {
            if self.regs.rctl.val().get_bits::<2>(16).index() == i {
                if self.regs.rctl.val().get_bit(25) {
                    self.buf_bytes.next = self.k_buf_ext[i].val();
                } else {
                    self.buf_bytes.next = self.k_buf[i].val();
                }
            }
        }
        self.rx_dma.soft_reset.next = self.datapath_reset.q.val();
        self.datapath_reset.d.next = self.regs.nic_reset.val();
        self.rx_dma.enable.next = (self.regs.rctl.val() & self.k_rctl_en.val()) != 0;
        self.rx_dma.rdbal.next = self.regs.rdbal.val();
        self.rx_dma.rdlen.next = self.regs.rdlen.val();
        self.rx_dma.rdt.next = self.regs.rdt.val();
        self.rx_dma.head_write.next = self.regs.rdh_write.val();
        self.rx_dma.head_wdata.next = self.regs.head_wdata.val();
        self.rx_dma.restart.next = self.regs.restart_rx.val();
        self.rx_dma.buf_bytes.next = self.buf_bytes.val();
        self.rx_dma.rdmts.next = self.regs.rctl.val().get_bits::<2>(8);
        self.rx_dma.q_valid.next = self.rx_q.valid.val();
        self.rx_dma.q_head.next = self.rx_q.head.val();
        self.rx_q.pop.next = self.rx_dma.q_pop.val();
        self.rx_buf.rd_pos.next = self.rx_dma.fifo_rd_pos.val();
        self.rx_dma.fifo_rd_data.next = self.rx_buf.rd_data.val();
        DmaPort::link(&mut self.rx_bus, &mut self.rx_dma.dma);
        self.regs.ev_rx_good.next = self.rx_dma.ev_good.val();
        self.regs.ev_rx_good_bytes.next = self.rx_dma.ev_good_bytes.val();
        self.regs.ev_rx_dma_drop.next = self.rx_dma.ev_dma_drop.val();
        self.regs.ev_no_buffer.next = self.rx_dma.ev_no_buffer.val();
        self.regs.c_rx_frame.next = self.rx_dma.c_rx_frame.val();
        self.regs.c_rxdmt0.next = self.rx_dma.c_rxdmt0.val();

        if self.datapath_reset.q.val() {
            self.tx_rd_ptr.d.next = 0.into();
            self.rx_wr_ptr.d.next = 0.into();
            self.rx_commit.d.next = 0.into();
            self.rx_overflow.d.next = false;
        }
        self.tx_state.next = self.tx_dma.state.val();
        self.rx_state.next = self.rx_dma.state.val();
        self.quiet.next = self.regs.quiet.val()
            & self.tx_dma.quiet.val()
            & self.rx_dma.quiet.val()
            & self.mac_tx.quiet.val()
            & self.mac_rx.quiet.val()
            & self.mdio.quiet.val()
            & !self.regs.nic_reset.val()
            & !self.datapath_reset.q.val()
            & (self.mdio_in.val() == self.mdio_meta.q.val())
            & (self.mdio_meta.q.val() == self.mdio_sync.q.val())
            & (self.ee_do.val() == self.ee_do_meta.q.val())
            & (self.ee_do_meta.q.val() == self.ee_do_sync.q.val());
    }
}

/// Verilog of the NIC alone as the top module `top`, at `config`'s sizes: every port of
/// [`Nic`] is a port of the top (the `sim` crate's NIC-only model, which serves both DMA
/// ports from memory outside the model; docs/linux.md).
pub fn verilog<const W: usize, const Q: usize>(config: regs::SocConfig) -> String {
    let mut nic = Nic::<W, Q>::new(
        config.counter_max(),
        config.narrow_registers,
        config.mdc_half_cycles,
    );
    nic.connect_all();
    generate_verilog(&nic)
}
