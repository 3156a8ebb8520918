//! The SoC top: host port, address decode, CSR block, arbiter, the DMA masters (memcpy
//! channels and the NIC's ring engines) behind the channel mux and the IOMMU, host RAM
//! (docs/soc.md).
//!
//! ```text
//!  host_addr/wdata/be/we/req ──► decode ──┬─ RAM ──────────────► arbiter.cpu ─┐
//!  host_ready ◄───────────────────────────┤                                   ├─► bus mux ─► ram (2^A words)
//!  host_rvalid/rdata ◄── read routing ◄───┼─ CSR, DMAC n, IOMMU, NIC windows   │       │
//!                                         └─ else: HOST_ERRORS++              │       ▼ rdata
//!  memcpy 0, memcpy 1, NIC TX, NIC RX ──► channel mux ──► IOMMU ──► arbiter.dma ┘   to CPU or DMA
//!  irq ◄── DMAC channels | IOMMU | NIC
//!  phy_* ◄──► NIC MAC (GMII-like pins)
//!  mdc, mdio_*, phy_reset ◄──► NIC MDIC / CTRL.PHY_RST;  ee_*, eeprom_present ◄──► NIC EECD
//!  obs_* ◄── this cycle's bus beat, requests and grants (for the testbench)
//! ```
//!
//! Host port protocol: hold `host_req` with address, data, byte enables and `host_we` until
//! `host_ready` is high; the request is taken at that cycle's rising edge. A read's data comes
//! with `host_rvalid` in the next cycle. CSR and unmapped accesses are ready at once; RAM accesses
//! wait for the arbiter. Unmapped accesses read 0, write nothing and count in SYS.HOST_ERRORS.
//!
//! **Build options** ([`SocConfig`], one per build: `SIM` for simulation, `FPGA`,
//! `FPGA_CU`, `FPGA_SMALL`). The sizes are the const generics `A`, `W`, `Q`; the rest become `Constant`
//! fields, so an option that is off leaves logic nobody reads and synthesis removes it:
//! * `counter_bits`: the width of every statistics and performance counter (the NIC's
//!   statistics, the arbiter's, the IOMMU's, the memcpy channels' ERR_COUNT and
//!   REJECTED_STARTS, SYS.HOST_ERRORS). Each block ANDs its counters' next values with
//!   `counter_max()`; the bits above read 0.
//! * `dma_channels`: memcpy channels `n >= dma_channels` are not built: their outputs are
//!   replaced by constant 0s at the channel mux, the read path, the interrupt and the
//!   observation pins, and their host select is 0. Their window reads 0 and ignores writes;
//!   they never request the bus and never interrupt.
//! * `narrow_registers`: the NIC's registers keep only the bits it acts on, its rings 16
//!   bits (see [`crate::nic::regs`]).
//! * `nic`: without the NIC its window reads 0 and ignores writes; it makes no bus requests
//!   and no interrupt, and the PHY TX pins are 0.
//!
//! `phy_tx_ce`/`phy_rx_ce` are the MACs' clock enables (one byte per cycle with the enable
//! high, see [`crate::nic::top`]); the simulation ties both high.

use crate::arb_regs::ArbRegs;
use crate::arbiter::Arbiter;
use crate::clock_gate::ClockGate;
use crate::csr::Csr;
use crate::dma::memcpy::{Memcpy, MemcpyState};
use crate::dma::mux::ChannelMux;
use crate::dma::regs::DmacRegs;
use crate::dma::stage::DmaStage;
use crate::iommu::iotlb::DEFAULT_ENTRIES;
use crate::iommu::{Iommu, IommuState};
use crate::nic::rx_dma::RxState;
use crate::nic::top::Nic;
use crate::nic::tx_dma::TxState;
use crate::ram::ByteRam;
use crate::regfile::Counter;
use regs::SocConfig;
use rust_hdl::prelude::*;

const CSR_BITS: usize = regs::CSR_WINDOW_BITS;
/// memcpy channels; channel n is IOMMU device n.
const CHANNELS: usize = regs::dmac::CHANNELS as usize;
/// Channel-mux ports: the memcpy channels, then the NIC's TX and RX ring engines (both IOMMU
/// device `regs::iommu::DEVICE_NIC`).
const MUX_PORTS: usize = CHANNELS + 2;
const NIC_TX_PORT: usize = CHANNELS;
const NIC_RX_PORT: usize = CHANNELS + 1;

#[derive(LogicBlock)]
pub struct Soc<const A: usize, const W: usize, const Q: usize> {
    pub clock: Signal<In, Clock>,
    pub host_addr: Signal<In, Bits<32>>,
    pub host_wdata: Signal<In, Bits<32>>,
    pub host_be: Signal<In, Bits<4>>,
    pub host_we: Signal<In, Bit>,
    pub host_req: Signal<In, Bit>,
    pub host_ready: Signal<Out, Bit>,
    pub host_rvalid: Signal<Out, Bit>,
    pub host_rdata: Signal<Out, Bits<32>>,
    pub irq: Signal<Out, Bit>,
    pub obs_cpu_req: Signal<Out, Bit>,
    pub obs_cpu_grant: Signal<Out, Bit>,
    pub obs_dma_req: Signal<Out, Bit>,
    pub obs_dma_grant: Signal<Out, Bit>,
    pub obs_bus_we: Signal<Out, Bit>,
    pub obs_bus_addr: Signal<Out, Bits<32>>,
    pub obs_bus_wdata: Signal<Out, Bits<32>>,
    pub obs_bus_be: Signal<Out, Bits<4>>,
    pub obs_dma_state: Signal<Out, MemcpyState>,
    pub obs_dma1_state: Signal<Out, MemcpyState>,
    /// The memcpy channel whose request the channel mux passes to the IOMMU this cycle.
    pub obs_dma_owner: Signal<Out, Bits<4>>,
    /// The granted DMA-side beat is the IOMMU's own (page walk, device context, fault record,
    /// command fetch, fence write): a physical access no device asked for.
    pub obs_iommu_beat: Signal<Out, Bit>,
    /// The granted DMA-side beat is a device's, translated from `obs_dma_iova`.
    pub obs_dev_beat: Signal<Out, Bit>,
    pub obs_dma_iova: Signal<Out, Bits<32>>,
    pub obs_dma_dev: Signal<Out, Bits<2>>,
    pub obs_iommu_state: Signal<Out, IommuState>,
    pub obs_iotlb_occupancy: Signal<Out, Bits<8>>,
    // ---- the NIC's PHY pins (GMII-like) and engine states ----
    pub phy_txd: Signal<Out, Bits<8>>,
    pub phy_tx_en: Signal<Out, Bit>,
    pub phy_tx_er: Signal<Out, Bit>,
    pub phy_rxd: Signal<In, Bits<8>>,
    pub phy_rx_dv: Signal<In, Bit>,
    pub phy_rx_er: Signal<In, Bit>,
    /// MAC TX clock enable: one byte goes onto `phy_txd` per cycle with it high (see
    /// `mac::tx`). Tie high for one byte per clock (the simulation); the board's PHY adapter
    /// pulses it at the line's byte rate.
    pub phy_tx_ce: Signal<In, Bit>,
    /// MAC RX clock enable: the RX pins are sampled in the cycles with it high (see
    /// `mac::rx`); MAC loopback uses `phy_tx_ce` instead. Tie high in simulation.
    pub phy_rx_ce: Signal<In, Bit>,
    /// The NIC's PHY management pins (MDIC): MDC, MDIO as open drain (driven with `mdio_out`
    /// while `mdio_oe`; `mdio_in` is the pin), and the PHY's reset (CTRL.PHY_RST, active
    /// high). Without a NIC: MDC low, MDIO released, reset off.
    pub mdc: Signal<Out, Bit>,
    pub mdio_out: Signal<Out, Bit>,
    pub mdio_oe: Signal<Out, Bit>,
    pub mdio_in: Signal<In, Bit>,
    pub phy_reset: Signal<Out, Bit>,
    /// The card's serial EEPROM on the NIC's EECD (regs::eeprom): SK, CS, DI out, DO in, and
    /// whether the board has one (a strap: EECD.EE_PRES). Without a NIC: all low.
    pub ee_sk: Signal<Out, Bit>,
    pub ee_cs: Signal<Out, Bit>,
    pub ee_di: Signal<Out, Bit>,
    pub ee_do: Signal<In, Bit>,
    pub eeprom_present: Signal<In, Bit>,
    /// Stop the NIC's and each memcpy channel's clock while the block is idle
    /// (`crate::clock_gate`; only in builds with `SocConfig::gate_idle_clocks`, else
    /// ignored). The simulation drives it high; low gives the same cycles and the same results
    /// with every block clocked in every cycle.
    pub clock_gating: Signal<In, Bit>,
    /// The gated clocks that run in this cycle (`crate::clock_gate`): bit 0 the NIC's, bit
    /// 1 + n memcpy channel n's; all ones without gating.
    pub obs_gates: Signal<Out, Bits<3>>,
    pub obs_nic_tx_state: Signal<Out, TxState>,
    pub obs_nic_rx_state: Signal<Out, RxState>,
    // ==== blocks ====
    ram: ByteRam<A>,
    arbiter: Arbiter,
    arb_regs: ArbRegs,
    memcpy: [Memcpy; CHANNELS],
    dmac_regs: [DmacRegs; CHANNELS],
    mux: ChannelMux<MUX_PORTS>,
    /// In a build without an IOMMU: the register between the mux and the arbiter, refusing
    /// addresses outside RAM as the IOMMU's Bare mode does.
    stage: DmaStage,
    nic: Nic<W, Q>,
    /// The NIC's clock and each channel's (its memcpy engine and its registers): stopped while
    /// the block is quiet and the host does not access it.
    nic_gate: ClockGate,
    dmac_gate: [ClockGate; CHANNELS],
    iommu: Iommu<DEFAULT_ENTRIES>,
    csr: Csr,
    // ==== decode and routing ====
    host_is_ram: Signal<Local, Bit>,
    host_is_csr: Signal<Local, Bit>,
    host_is_iommu: Signal<Local, Bit>,
    host_is_arb: Signal<Local, Bit>,
    host_is_nic: Signal<Local, Bit>,
    host_is_dmac: [Signal<Local, Bit>; CHANNELS],
    dmac_read_any: Signal<Local, Bit>,
    dmac_rdata: Signal<Local, Bits<32>>,
    dmac_irq_any: Signal<Local, Bit>,
    dmac_irq_bits: Signal<Local, Bits<32>>,
    nic_irq: Signal<Local, Bit>,
    nic_rdata: Signal<Local, Bits<32>>,
    // ---- the DMA side after the IOMMU, or after the DMA stage when it is not built ----
    dn_req: Signal<Local, Bit>,
    dn_last: Signal<Local, Bit>,
    dn_addr: Signal<Local, Bits<32>>,
    dn_we: Signal<Local, Bit>,
    dn_wdata: Signal<Local, Bits<32>>,
    iommu_irq: Signal<Local, Bit>,
    /// Device addresses are physical (no IOMMU, or its global mode is Bare).
    dma_physical: Signal<Local, Bit>,
    /// The arbiter's answer on the DMA side: a beat was granted last cycle (a read's data is
    /// on the RAM's output now). The DMA port's fixed latency of one cycle behind the grant.
    dma_resp: DFF<Bit>,
    bus_addr: Signal<Local, Bits<32>>,
    bus_we: Signal<Local, Bit>,
    cpu_read_pending: DFF<Bit>,
    csr_read_pending: DFF<Bit>,
    iommu_read_pending: DFF<Bit>,
    arb_read_pending: DFF<Bit>,
    nic_read_pending: DFF<Bit>,
    dmac_read_pending: [DFF<Bit>; CHANNELS],
    /// A running channel's CTRL.ABORT, one cycle after the write: the path from the host
    /// port then ends at this register, not at the channel's request and the DMA port behind
    /// it (an abort pulls the request low in the cycle it arrives).
    dmac_abort: [DFF<Bit>; CHANNELS],
    other_read_pending: DFF<Bit>,
    /// SYS.HOST_ERRORS, a counter cell (`crate::regfile::Counter`).
    host_errors: Counter,
    ram_bytes: Constant<Bits<32>>,
    csr_mask: Constant<Bits<32>>,
    csr_base: Constant<Bits<32>>,
    iommu_window: Constant<Bits<6>>,
    arb_window: Constant<Bits<6>>,
    irq_dmac_shift: [Constant<Bits<5>>; CHANNELS],
    irq_iommu_shift: Constant<Bits<5>>,
    irq_nic_shift: Constant<Bits<5>>,
    nic_window: Constant<Bits<2>>,
    dmac_window: [Constant<Bits<10>>; CHANNELS],
    ram_limit: Constant<Bits<33>>,
    iova_limit: Constant<Bits<33>>,
    // ==== build options (regs::SocConfig) ====
    /// Channel n is built (n < `dma_channels`).
    dmac_built: [Constant<Bit>; CHANNELS],
    nic_built: Constant<Bit>,
    /// `SocConfig::gate_idle_clocks`: without it the blocks take `clock` itself, and the gates
    /// (wires then) are left unread.
    gating_built: Constant<Bit>,
    iommu_built: Constant<Bit>,
}

impl<const A: usize, const W: usize, const Q: usize> Soc<A, W, Q> {
    pub fn new(config: SocConfig) -> Self {
        // `obs_gates` has one bit per channel, written out for two.
        assert_eq!(CHANNELS, 2, "obs_gates: one bit per memcpy channel");
        assert_eq!(
            (
                config.word_addr_bits,
                config.nic_fifo_word_bits,
                config.nic_frame_queue_depth
            ),
            (A, W, Q),
            "Soc<A, W, Q> must be built with the sizes of its configuration"
        );
        assert!(
            (1..=CHANNELS).contains(&config.dma_channels),
            "dma_channels must be 1 to {CHANNELS}"
        );
        assert!((1..=32).contains(&config.counter_bits));
        let ram_bytes = config.bytes();
        let counter_max = config.counter_max();
        // `update` names the NIC's mux ports by number (hdl_gen emits indices verbatim).
        assert_eq!((NIC_TX_PORT, NIC_RX_PORT), (2, 3));
        assert_eq!(
            regs::block::NIC,
            0,
            "the NIC window is CSR offsets 0x0_0000..0x0_FFFF"
        );
        Self {
            clock: Default::default(),
            host_addr: Default::default(),
            host_wdata: Default::default(),
            host_be: Default::default(),
            host_we: Default::default(),
            host_req: Default::default(),
            host_ready: Default::default(),
            host_rvalid: Default::default(),
            host_rdata: Default::default(),
            irq: Default::default(),
            obs_cpu_req: Default::default(),
            obs_cpu_grant: Default::default(),
            obs_dma_req: Default::default(),
            obs_dma_grant: Default::default(),
            obs_bus_we: Default::default(),
            obs_bus_addr: Default::default(),
            obs_bus_wdata: Default::default(),
            obs_bus_be: Default::default(),
            obs_dma_state: Default::default(),
            obs_dma1_state: Default::default(),
            obs_dma_owner: Default::default(),
            obs_iommu_beat: Default::default(),
            obs_dev_beat: Default::default(),
            obs_dma_iova: Default::default(),
            obs_dma_dev: Default::default(),
            obs_iommu_state: Default::default(),
            obs_iotlb_occupancy: Default::default(),
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
            eeprom_present: Default::default(),
            clock_gating: Default::default(),
            obs_gates: Default::default(),
            obs_nic_tx_state: Default::default(),
            obs_nic_rx_state: Default::default(),
            ram: Default::default(),
            arbiter: Arbiter::new(counter_max),
            arb_regs: Default::default(),
            // Channel n is IOMMU device n; both NIC engines are the NIC device.
            memcpy: std::array::from_fn(|n| Memcpy::new(counter_max, n)),
            dmac_regs: std::array::from_fn(|_| Default::default()),
            mux: ChannelMux::new(),
            stage: Default::default(),
            nic: Nic::new(counter_max, config.narrow_registers, config.mdc_half_cycles),
            nic_gate: ClockGate::new(config.gate_idle_clocks),
            dmac_gate: std::array::from_fn(|_| ClockGate::new(config.gate_idle_clocks)),
            iommu: Iommu::new(ram_bytes, counter_max),
            csr: Csr::new(ram_bytes),
            host_is_ram: Default::default(),
            host_is_csr: Default::default(),
            host_is_iommu: Default::default(),
            host_is_arb: Default::default(),
            host_is_nic: Default::default(),
            host_is_dmac: std::array::from_fn(|_| Default::default()),
            dmac_read_any: Default::default(),
            dmac_rdata: Default::default(),
            dmac_irq_any: Default::default(),
            dmac_irq_bits: Default::default(),
            nic_irq: Default::default(),
            nic_rdata: Default::default(),
            dn_req: Default::default(),
            dn_last: Default::default(),
            dn_addr: Default::default(),
            dn_we: Default::default(),
            dn_wdata: Default::default(),
            iommu_irq: Default::default(),
            dma_physical: Default::default(),
            dma_resp: Default::default(),
            bus_addr: Default::default(),
            bus_we: Default::default(),
            cpu_read_pending: Default::default(),
            csr_read_pending: Default::default(),
            iommu_read_pending: Default::default(),
            arb_read_pending: Default::default(),
            nic_read_pending: Default::default(),
            dmac_read_pending: std::array::from_fn(|_| Default::default()),
            dmac_abort: std::array::from_fn(|_| Default::default()),
            other_read_pending: Default::default(),
            host_errors: Counter::new(counter_max),
            ram_bytes: Constant::new((ram_bytes as u64).into()),
            csr_mask: Constant::new((!(regs::CSR_WINDOW_BYTES - 1) as u64).into()),
            csr_base: Constant::new((regs::CSR_BASE as u64).into()),
            iommu_window: Constant::new(((regs::block::IOMMU >> 12) as u64).into()),
            arb_window: Constant::new(((regs::block::ARB >> 12) as u64).into()),
            irq_dmac_shift: std::array::from_fn(|n| {
                Constant::new((regs::sys::irq::DMAC_CHANNELS[n].trailing_zeros() as u64).into())
            }),
            irq_iommu_shift: Constant::new((regs::sys::irq::IOMMU.trailing_zeros() as u64).into()),
            irq_nic_shift: Constant::new((regs::sys::irq::NIC.trailing_zeros() as u64).into()),
            nic_window: Constant::new(((regs::block::NIC >> 16) as u64).into()),
            dmac_window: std::array::from_fn(|n| {
                Constant::new(((regs::dmac::channel_block(n as u32) >> 8) as u64).into())
            }),
            ram_limit: Constant::new((ram_bytes as u64).into()),
            iova_limit: Constant::new((1u64 << 32).into()),
            dmac_built: std::array::from_fn(|n| Constant::new(n < config.dma_channels)),
            nic_built: Constant::new(config.nic),
            gating_built: Constant::new(config.gate_idle_clocks),
            iommu_built: Constant::new(config.iommu),
        }
    }
}

impl<const A: usize, const W: usize, const Q: usize> Logic for Soc<A, W, Q> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            cpu_read_pending,
            csr_read_pending,
            iommu_read_pending,
            arb_read_pending,
            nic_read_pending,
            other_read_pending,
            dma_resp
        );
        clock!(self, clock, ram, arbiter, arb_regs, mux, stage, iommu, csr, nic_gate);
        // The NIC and the channels run on gated clocks (crate::clock_gate; their `wake` is set
        // at the end, after the host selects), in the builds that have them; the others take
        // `clock` itself, so that their netlist has no trace of the gates.
        if self.gating_built.val() {
            self.nic.clock.next = self.nic_gate.gclk.val();
        } else {
            self.nic.clock.next = self.clock.val();
        }
        for i in 0..CHANNELS {
            self.dmac_gate[i].clock.next = self.clock.val();
            // dmac_abort is on the channel's clock: the channel's logic then reads no
            // flip-flop of the always-clocked domain (Verilator would evaluate it in every
            // cycle); a delayed ABORT keeps the channel awake until it has gone.
            if self.gating_built.val() {
                self.memcpy[i].clock.next = self.dmac_gate[i].gclk.val();
                self.dmac_regs[i].clock.next = self.dmac_gate[i].gclk.val();
                self.dmac_abort[i].clock.next = self.dmac_gate[i].gclk.val();
            } else {
                self.memcpy[i].clock.next = self.clock.val();
                self.dmac_regs[i].clock.next = self.clock.val();
                self.dmac_abort[i].clock.next = self.clock.val();
            }
            self.dmac_read_pending[i].clock.next = self.clock.val();
        }

        // ---- address decode ----
        self.host_is_ram.next = self.host_addr.val() < self.ram_bytes.val();
        self.host_is_csr.next = (self.host_addr.val() & self.csr_mask.val()) == self.csr_base.val();
        self.host_is_iommu.next = self.host_is_csr.val()
            & (self.host_addr.val().get_bits::<6>(12) == self.iommu_window.val());
        self.host_is_arb.next = self.host_is_csr.val()
            & (self.host_addr.val().get_bits::<6>(12) == self.arb_window.val());
        self.host_is_nic.next = self.host_is_csr.val()
            & (self.host_addr.val().get_bits::<2>(16) == self.nic_window.val());
        for i in 0..CHANNELS {
            self.host_is_dmac[i].next = self.host_is_csr.val()
                & (self.host_addr.val().get_bits::<10>(8) == self.dmac_window[i].val());
        }

        // ---- the IOMMU, or (SocConfig::iommu false) the DMA stage, between the channel mux
        // and the arbiter; nothing reads the one that is not built ----
        self.iommu.up.valid.next = self.mux.up.valid.val() & self.iommu_built.val();
        self.iommu.up.addr.next = self.mux.up.addr.val();
        self.iommu.up.we.next = self.mux.up.we.val();
        self.iommu.up.wdata.next = self.mux.up.wdata.val();
        self.iommu.up.last.next = self.mux.up.last.val();
        self.iommu.up.dev.next = self.mux.up.dev.val();
        self.stage.up.valid.next = self.mux.up.valid.val() & !self.iommu_built.val();
        self.stage.up.addr.next = self.mux.up.addr.val();
        self.stage.up.we.next = self.mux.up.we.val();
        self.stage.up.wdata.next = self.mux.up.wdata.val();
        self.stage.up.last.next = self.mux.up.last.val();
        self.stage.up.dev.next = self.mux.up.dev.val();
        self.stage.ram_limit.next = self.ram_limit.val();
        self.dma_resp.d.next = self.arbiter.dma_grant.val();
        self.iommu.dn.ready.next = self.arbiter.dma_grant.val() & self.iommu_built.val();
        self.iommu.dn.resp.next = self.dma_resp.q.val() & self.iommu_built.val();
        self.iommu.dn.fault.next = false;
        self.iommu.dn.rdata.next = self.ram.rdata.val();
        self.stage.dn.ready.next = self.arbiter.dma_grant.val() & !self.iommu_built.val();
        self.stage.dn.resp.next = self.dma_resp.q.val() & !self.iommu_built.val();
        self.stage.dn.fault.next = false;
        self.stage.dn.rdata.next = self.ram.rdata.val();
        if self.iommu_built.val() {
            self.dn_req.next = self.iommu.dn.valid.val();
            self.dn_last.next = self.iommu.dn.last.val();
            self.dn_addr.next = self.iommu.dn.addr.val();
            self.dn_we.next = self.iommu.dn.we.val();
            self.dn_wdata.next = self.iommu.dn.wdata.val();
            self.mux.up.ready.next = self.iommu.up.ready.val();
            self.mux.up.resp.next = self.iommu.up.resp.val();
            self.mux.up.fault.next = self.iommu.up.fault.val();
            self.mux.up.rdata.next = self.iommu.up.rdata.val();
            self.iommu_irq.next = self.iommu.irq.val();
            self.dma_physical.next = self.iommu.mode_bare.val();
        } else {
            self.dn_req.next = self.stage.dn.valid.val();
            self.dn_last.next = self.stage.dn.last.val();
            self.dn_addr.next = self.stage.dn.addr.val();
            self.dn_we.next = self.stage.dn.we.val();
            self.dn_wdata.next = self.stage.dn.wdata.val();
            self.mux.up.ready.next = self.stage.up.ready.val();
            self.mux.up.resp.next = self.stage.up.resp.val();
            self.mux.up.fault.next = self.stage.up.fault.val();
            self.mux.up.rdata.next = self.stage.up.rdata.val();
            self.iommu_irq.next = false;
            self.dma_physical.next = true;
        }

        // ---- arbiter ----
        self.arbiter.cpu_req.next = self.host_req.val() & self.host_is_ram.val();
        self.arbiter.dma_req.next = self.dn_req.val();
        self.arbiter.dma_last.next = self.dn_last.val();
        self.arbiter.cycle_steal.next = self.arb_regs.cycle_steal.val();
        self.arbiter.burst_cap.next = self.arb_regs.burst_cap.val();
        self.arbiter.steal_bound.next = self.arb_regs.steal_bound.val();
        self.arbiter.clear_counters.next = self.arb_regs.clear.val();
        // ---- the arbiter's registers (block ARB) ----
        self.arb_regs.host.sel.next = self.host_req.val() & self.host_is_arb.val();
        self.arb_regs.host.offset.next = self.host_addr.val().get_bits::<12>(0);
        self.arb_regs.host.we.next = self.host_we.val();
        self.arb_regs.host.wdata.next = self.host_wdata.val();
        for i in 0..8 {
            self.arb_regs.counters[i].next = self.arbiter.counters[i].val();
        }

        // ---- the RAM bus: one beat per cycle, to whoever was granted ----
        if self.arbiter.dma_grant.val() {
            self.bus_addr.next = self.dn_addr.val();
            self.bus_we.next = self.dn_we.val();
            self.ram.wdata.next = self.dn_wdata.val();
            self.ram.be.next = 15.into();
        } else {
            self.bus_addr.next = self.host_addr.val();
            self.bus_we.next = self.host_we.val();
            self.ram.wdata.next = self.host_wdata.val();
            self.ram.be.next = self.host_be.val();
        }
        self.ram.addr.next = self.bus_addr.val().get_bits::<A>(2);
        self.ram.we.next =
            self.bus_we.val() & (self.arbiter.dma_grant.val() | self.arbiter.cpu_grant.val());

        // ---- read routing: data comes back one cycle after the beat ----
        self.cpu_read_pending.d.next = self.arbiter.cpu_grant.val() & !self.host_we.val();
        self.csr_read_pending.d.next =
            self.host_req.val() & self.host_is_csr.val() & !self.host_we.val();
        self.iommu_read_pending.d.next =
            self.host_req.val() & self.host_is_iommu.val() & !self.host_we.val();
        self.arb_read_pending.d.next =
            self.host_req.val() & self.host_is_arb.val() & !self.host_we.val();
        self.nic_read_pending.d.next =
            self.host_req.val() & self.host_is_nic.val() & !self.host_we.val();
        for i in 0..CHANNELS {
            self.dmac_read_pending[i].d.next =
                self.host_req.val() & self.host_is_dmac[i].val() & !self.host_we.val();
        }
        self.other_read_pending.d.next = self.host_req.val()
            & !self.host_is_csr.val()
            & !self.host_is_ram.val()
            & !self.host_we.val();

        // ---- the memcpy channels (channel n is device n), round robin, then the IOMMU ----
        // A channel that is not built (n >= dma_channels) gives the mux constant 0s: nothing
        // reads its logic, and synthesis removes it.
        for i in 0..CHANNELS {
            if self.dmac_built[i].val() {
                self.mux.ports[i].valid.next = self.memcpy[i].dma.valid.val();
                self.mux.ports[i].addr.next = self.memcpy[i].dma.addr.val();
                self.mux.ports[i].we.next = self.memcpy[i].dma.we.val();
                self.mux.ports[i].wdata.next = self.memcpy[i].dma.wdata.val();
                self.mux.ports[i].last.next = self.memcpy[i].dma.last.val();
                self.mux.ports[i].dev.next = self.memcpy[i].dma.dev.val();
            } else {
                self.mux.ports[i].valid.next = false;
                self.mux.ports[i].addr.next = 0.into();
                self.mux.ports[i].we.next = false;
                self.mux.ports[i].wdata.next = 0.into();
                self.mux.ports[i].last.next = false;
                self.mux.ports[i].dev.next = 0.into();
            }
            self.memcpy[i].dma.ready.next = self.mux.ports[i].ready.val();
            self.memcpy[i].dma.resp.next = self.mux.ports[i].resp.val();
            self.memcpy[i].dma.fault.next = self.mux.ports[i].fault.val();
            self.memcpy[i].dma.rdata.next = self.mux.ports[i].rdata.val();
            if self.dma_physical.val() {
                self.memcpy[i].addr_limit.next = self.ram_limit.val();
            } else {
                self.memcpy[i].addr_limit.next = self.iova_limit.val();
            }
        }
        // ---- the NIC's ring engines: mux ports NIC_TX_PORT (2) and NIC_RX_PORT (3) ----
        // Without the NIC (SocConfig::nic false) its outputs are replaced by constant 0s here,
        // at the PHY pins and in the read and interrupt paths: nothing reads the block.
        if self.nic_built.val() {
            self.mux.ports[2].valid.next = self.nic.tx_bus.valid.val();
            self.mux.ports[2].addr.next = self.nic.tx_bus.addr.val();
            self.mux.ports[2].we.next = self.nic.tx_bus.we.val();
            self.mux.ports[2].wdata.next = self.nic.tx_bus.wdata.val();
            self.mux.ports[2].last.next = self.nic.tx_bus.last.val();
            self.mux.ports[2].dev.next = self.nic.tx_bus.dev.val();
            self.mux.ports[3].valid.next = self.nic.rx_bus.valid.val();
            self.mux.ports[3].addr.next = self.nic.rx_bus.addr.val();
            self.mux.ports[3].we.next = self.nic.rx_bus.we.val();
            self.mux.ports[3].wdata.next = self.nic.rx_bus.wdata.val();
            self.mux.ports[3].last.next = self.nic.rx_bus.last.val();
            self.mux.ports[3].dev.next = self.nic.rx_bus.dev.val();
            self.nic_irq.next = self.nic.irq.val();
            self.nic_rdata.next = self.nic.host.rdata.val();
            self.phy_txd.next = self.nic.phy_txd.val();
            self.phy_tx_en.next = self.nic.phy_tx_en.val();
            self.phy_tx_er.next = self.nic.phy_tx_er.val();
            self.mdc.next = self.nic.mdc.val();
            self.mdio_out.next = self.nic.mdio_out.val();
            self.mdio_oe.next = self.nic.mdio_oe.val();
            self.phy_reset.next = self.nic.phy_reset.val();
            self.ee_sk.next = self.nic.ee_sk.val();
            self.ee_cs.next = self.nic.ee_cs.val();
            self.ee_di.next = self.nic.ee_di.val();
            self.obs_nic_tx_state.next = self.nic.tx_state.val();
            self.obs_nic_rx_state.next = self.nic.rx_state.val();
        } else {
            self.mux.ports[2].valid.next = false;
            self.mux.ports[2].addr.next = 0.into();
            self.mux.ports[2].we.next = false;
            self.mux.ports[2].wdata.next = 0.into();
            self.mux.ports[2].last.next = false;
            self.mux.ports[2].dev.next = 0.into();
            self.mux.ports[3].valid.next = false;
            self.mux.ports[3].addr.next = 0.into();
            self.mux.ports[3].we.next = false;
            self.mux.ports[3].wdata.next = 0.into();
            self.mux.ports[3].last.next = false;
            self.mux.ports[3].dev.next = 0.into();
            self.nic_irq.next = false;
            self.nic_rdata.next = 0.into();
            self.phy_txd.next = 0.into();
            self.phy_tx_en.next = false;
            self.phy_tx_er.next = false;
            self.mdc.next = false;
            self.mdio_out.next = false;
            self.mdio_oe.next = false;
            self.phy_reset.next = false;
            self.ee_sk.next = false;
            self.ee_cs.next = false;
            self.ee_di.next = false;
            self.obs_nic_tx_state.next = TxState::Idle;
            self.obs_nic_rx_state.next = RxState::Idle;
        }
        self.nic.tx_bus.ready.next = self.mux.ports[2].ready.val();
        self.nic.tx_bus.resp.next = self.mux.ports[2].resp.val();
        self.nic.tx_bus.fault.next = self.mux.ports[2].fault.val();
        self.nic.tx_bus.rdata.next = self.mux.ports[2].rdata.val();
        self.nic.rx_bus.ready.next = self.mux.ports[3].ready.val();
        self.nic.rx_bus.resp.next = self.mux.ports[3].resp.val();
        self.nic.rx_bus.fault.next = self.mux.ports[3].fault.val();
        self.nic.rx_bus.rdata.next = self.mux.ports[3].rdata.val();
        // ---- host port ----
        self.host_ready.next =
            self.arbiter.cpu_grant.val() | (self.host_req.val() & !self.host_is_ram.val());
        // The channels' register read data, gathered in locals (the output below is then
        // assigned once per path).
        self.dmac_read_any.next = false;
        self.dmac_rdata.next = 0.into();
        for i in 0..CHANNELS {
            if self.dmac_read_pending[i].q.val() {
                self.dmac_read_any.next = true;
                if self.dmac_built[i].val() {
                    self.dmac_rdata.next = self.dmac_regs[i].host.rdata.val();
                }
            }
        }
        self.host_rvalid.next = self.cpu_read_pending.q.val()
            | self.csr_read_pending.q.val()
            | self.other_read_pending.q.val();
        if self.cpu_read_pending.q.val() {
            self.host_rdata.next = self.ram.rdata.val();
        } else if self.iommu_read_pending.q.val() {
            if self.iommu_built.val() {
                self.host_rdata.next = self.iommu.host.rdata.val();
            } else {
                self.host_rdata.next = 0.into();
            }
        } else if self.arb_read_pending.q.val() {
            self.host_rdata.next = self.arb_regs.host.rdata.val();
        } else if self.nic_read_pending.q.val() {
            self.host_rdata.next = self.nic_rdata.val();
        } else if self.dmac_read_any.val() {
            self.host_rdata.next = self.dmac_rdata.val();
        } else if self.csr_read_pending.q.val() {
            self.host_rdata.next = self.csr.host.rdata.val();
        } else {
            self.host_rdata.next = 0.into();
        }
        self.host_errors.clock.next = self.clock.val();
        self.host_errors.clear.next = self.csr.host_errors_clear.val();
        self.host_errors.inc.next =
            self.host_req.val() & !self.host_is_csr.val() & !self.host_is_ram.val();

        // ---- interrupt ----
        self.dmac_irq_any.next = false;
        self.dmac_irq_bits.next = 0.into();
        for i in 0..CHANNELS {
            if self.dmac_regs[i].irq.val() & self.dmac_built[i].val() {
                self.dmac_irq_any.next = true;
                self.dmac_irq_bits.next = self.dmac_irq_bits.val()
                    | (bit_cast::<32, 1>(1.into()) << self.irq_dmac_shift[i].val());
            }
        }
        self.irq.next = self.dmac_irq_any.val() | self.iommu_irq.val() | self.nic_irq.val();
        self.nic.dmac_irq.next = self.dmac_irq_any.val();
        self.nic.iommu_irq.next = self.iommu_irq.val();

        // ---- CSR block ----
        self.csr.host.sel.next = self.host_req.val() & self.host_is_csr.val();
        self.csr.host.offset.next = self.host_addr.val().get_bits::<CSR_BITS>(0);
        self.csr.host.we.next = self.host_we.val();
        self.csr.host.wdata.next = self.host_wdata.val();
        self.csr.host_errors.next = self.host_errors.value.val();
        // One assignment, no default-then-override: event-driven simulators (Icarus) would
        // otherwise see this input toggle on every evaluation and ping-pong with the CSR block.
        self.csr.irq_status.next = self.dmac_irq_bits.val()
            | (bit_cast::<32, 1>(self.iommu_irq.val().into()) << self.irq_iommu_shift.val())
            | (bit_cast::<32, 1>(self.nic_irq.val().into()) << self.irq_nic_shift.val());

        // ---- NIC registers and PHY pins ----
        self.nic.host.sel.next =
            self.host_req.val() & self.host_is_nic.val() & self.nic_built.val();
        self.nic.host.offset.next = self.host_addr.val().get_bits::<16>(0);
        self.nic.host.we.next = self.host_we.val();
        self.nic.host.wdata.next = self.host_wdata.val();
        self.nic.phy_rxd.next = self.phy_rxd.val();
        self.nic.phy_rx_dv.next = self.phy_rx_dv.val();
        self.nic.phy_rx_er.next = self.phy_rx_er.val();
        self.nic.phy_tx_ce.next = self.phy_tx_ce.val();
        self.nic.phy_rx_ce.next = self.phy_rx_ce.val();
        self.nic.mdio_in.next = self.mdio_in.val();
        self.nic.ee_do.next = self.ee_do.val();
        self.nic.ee_present.next = self.eeprom_present.val();

        // ---- IOMMU registers ----
        self.iommu.host.sel.next =
            self.host_req.val() & self.host_is_iommu.val() & self.iommu_built.val();
        self.iommu.host.offset.next = self.host_addr.val().get_bits::<12>(0);
        self.iommu.host.we.next = self.host_we.val();
        self.iommu.host.wdata.next = self.host_wdata.val();
        // ---- memcpy channel registers ----
        for i in 0..CHANNELS {
            self.dmac_regs[i].host.sel.next =
                self.host_req.val() & self.host_is_dmac[i].val() & self.dmac_built[i].val();
            self.dmac_regs[i].host.offset.next = self.host_addr.val().get_bits::<8>(0);
            self.dmac_regs[i].host.we.next = self.host_we.val();
            self.dmac_regs[i].host.wdata.next = self.host_wdata.val();
            self.dmac_regs[i].busy.next = self.memcpy[i].busy.val();
            self.dmac_regs[i].done.next = self.memcpy[i].done.val();
            self.dmac_regs[i].err.next = self.memcpy[i].err.val();
            self.dmac_regs[i].rejected.next = self.memcpy[i].rejected_start.val();
            self.dmac_regs[i].cause.next = self.memcpy[i].cause.val();
            self.dmac_regs[i].cur_desc.next = self.memcpy[i].cur_desc.val();
            self.dmac_regs[i].desc_done.next = self.memcpy[i].desc_done.val();
            self.dmac_regs[i].bytes_done.next = self.memcpy[i].bytes_done.val();
            self.dmac_regs[i].err_addr.next = self.memcpy[i].err_addr.val();
            self.dmac_regs[i].err_count.next = self.memcpy[i].err_count.val();
            self.dmac_regs[i].rejected_starts.next = self.memcpy[i].rejected_starts.val();
            // ABORT wins over a START in the same write. The delayed ABORT reaches the channel
            // only while it is busy: one of an idle channel, or of a run that ended in the
            // cycle of the write, cannot meet the next START a cycle later.
            self.memcpy[i].start.next =
                self.dmac_regs[i].start.val() & !self.dmac_regs[i].abort.val();
            self.dmac_abort[i].d.next = self.dmac_regs[i].abort.val();
            self.memcpy[i].abort.next = self.dmac_abort[i].q.val() & self.memcpy[i].busy.val();
            self.memcpy[i].chain.next = self.dmac_regs[i].chain.val();
            self.memcpy[i].src.next = self.dmac_regs[i].src.val();
            self.memcpy[i].dst.next = self.dmac_regs[i].dst.val();
            self.memcpy[i].len.next = self.dmac_regs[i].len.val();
            self.memcpy[i].desc_head.next = self.dmac_regs[i].desc.val();
            self.memcpy[i].chain_limit.next = self.dmac_regs[i].chain_limit.val();
            self.memcpy[i].clear_done.next = self.dmac_regs[i].clear_done.val();
            self.memcpy[i].clear_err.next = self.dmac_regs[i].clear_err.val();
            self.memcpy[i].clear_rejected.next = self.dmac_regs[i].clear_rejected.val();
        }

        // ---- observation port ----
        self.obs_cpu_req.next = self.arbiter.cpu_req.val();
        self.obs_cpu_grant.next = self.arbiter.cpu_grant.val();
        self.obs_dma_req.next = self.dn_req.val();
        self.obs_dma_grant.next = self.arbiter.dma_grant.val();
        self.obs_bus_we.next = self.bus_we.val();
        self.obs_bus_addr.next = self.bus_addr.val();
        self.obs_bus_wdata.next = self.ram.wdata.val();
        self.obs_bus_be.next = self.ram.be.val();
        self.obs_dma_state.next = self.memcpy[0].state.val();
        if self.dmac_built[1].val() {
            self.obs_dma1_state.next = self.memcpy[1].state.val();
        } else {
            self.obs_dma1_state.next = MemcpyState::Idle;
        }
        self.obs_dma_owner.next = self.mux.owner.val();
        if self.iommu_built.val() {
            self.obs_iommu_beat.next = self.iommu.own_beat.val();
            self.obs_dev_beat.next = self.iommu.dev_beat.val();
            self.obs_iommu_state.next = self.iommu.state.val();
            self.obs_iotlb_occupancy.next = self.iommu.iotlb_occupancy.val();
            self.obs_dma_iova.next = self.iommu.dn_iova.val();
            self.obs_dma_dev.next = self.iommu.dn_dev.val();
        } else {
            self.obs_iommu_beat.next = false;
            self.obs_dev_beat.next = self.arbiter.dma_grant.val();
            self.obs_iommu_state.next = IommuState::Idle;
            self.obs_iotlb_occupancy.next = 0.into();
            self.obs_dma_iova.next = self.stage.dn.addr.val();
            self.obs_dma_dev.next = self.stage.dn.dev.val();
        }

        // ---- clock gates: a block is clocked in a cycle in which it is not quiet or the host
        // accesses its registers ----
        self.nic_gate.gate.next = self.clock_gating.val();
        self.nic_gate.wake.next = !self.nic.quiet.val() | self.nic.host.sel.val();
        self.obs_gates.next = bit_cast::<3, 1>(self.nic_gate.enabled.val().into())
            | (bit_cast::<3, 1>(self.dmac_gate[0].enabled.val().into()) << 1)
            | (bit_cast::<3, 1>(self.dmac_gate[1].enabled.val().into()) << 2);
        for i in 0..CHANNELS {
            self.dmac_gate[i].gate.next = self.clock_gating.val();
            self.dmac_gate[i].wake.next = !self.memcpy[i].quiet.val()
                | self.dmac_regs[i].host.sel.val()
                | self.dmac_abort[i].q.val();
        }
    }
}

/// The Verilog of the SoC of `config`, whose sizes are `2^A` words of RAM and NIC FIFOs of
/// `4 · 2^W` bytes and `Q` frames.
pub fn verilog<const A: usize, const W: usize, const Q: usize>(config: SocConfig) -> String {
    let mut soc = Soc::<A, W, Q>::new(config);
    soc.connect_all();
    generate_verilog(&soc)
}
