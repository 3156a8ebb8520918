//! What every board top shares: the SoC, the UART bridge as its host port, the reset and the
//! LEDs. The board tops ([`super::alchitry_cu`], [`super::icebreaker`], [`super::ecp5`],
//! [`super::colorlight_i5`]) add their clocking, their PHY adapter (RMII or RGMII, on the MAC
//! pins here) and their pins.
//!
//! ```text
//!  uart_rx ─► UartBridge ─host port─► Soc ◄─bus─► RAM, memcpy, IOMMU, NIC
//!  uart_tx ◄─     ▲ irq ◄──────────── irq        │ MAC pins (bytes, ce), MDC/MDIO, PHY reset
//!                                                ▼
//!  mac_* ◄────────────────────────────► the top's PHY adapter (RmiiAdapter, RgmiiAdapter)
//!  pll_locked, button_n ─► ResetSync ─► reset: holds the host port idle, clears the LEDs
//!  led[7:0] ◄─ alive, RX carrier, TX, irq, IOMMU fault, UART, bridge error, reset
//! ```
//!
//! **Reset.** The SoC's registers start from their bitstream values when the FPGA configures;
//! `reset` (power-up, PLL not locked, button) holds the UART line idle at the bridge and the
//! host port's request low, and clears the sticky LEDs. Software resets the blocks through
//! their registers (NIC CTRL.RST, DMAC abort, IOMMU off), as the driver's `open` does.
//!
//! **LEDs** (active high here; a board top inverts them where its LEDs are active low). Event
//! LEDs are lit for a whole period of 2^20 cycles (21 ms at 50 MHz) after any cycle with the
//! event, so single frames are visible:
//!
//! | bit | meaning |
//! |---|---|
//! | 0 | alive: toggles every 2^23 cycles (0.17 s at 50 MHz) |
//! | 1 | RX carrier: `rx_carrier` (the PHY's CRS_DV or RX_DV, from the top) was high |
//! | 2 | TX: the MAC drove TX_EN |
//! | 3 | the SoC's interrupt line is high |
//! | 4 | fault: the IOMMU reported a fault since the last reset (sticky) |
//! | 5 | UART: a start bit on either line |
//! | 6 | bridge error: a frame with a bad CRC or command, a framing error or an inter-byte timeout, since the last reset (sticky) |
//! | 7 | reset is held |

use super::reset::ResetSync;
use super::rmii::RmiiAdapter;
use crate::iommu::IommuState;
use crate::soc::Soc;
use crate::uart::bridge::UartBridge;
use regs::board::{uart_divisor, Board};
use rust_hdl::prelude::*;

/// log2 of the LED event period in cycles.
const EVENT_PERIOD_BITS: usize = 20;

#[derive(LogicBlock)]
pub struct BoardCore<const A: usize, const W: usize, const Q: usize> {
    pub clock: Signal<In, Clock>,
    pub pll_locked: Signal<In, Bit>,
    /// The reset button, active low (1 when not pressed).
    pub button_n: Signal<In, Bit>,
    pub uart_rx: Signal<In, Bit>,
    pub uart_tx: Signal<Out, Bit>,
    pub led: Signal<Out, Bits<8>>,
    /// The NIC's MAC pins (GMII-like bytes with clock enables), for the top's PHY adapter.
    pub mac_txd: Signal<Out, Bits<8>>,
    pub mac_tx_en: Signal<Out, Bit>,
    pub mac_tx_er: Signal<Out, Bit>,
    pub mac_tx_ce: Signal<In, Bit>,
    pub mac_rxd: Signal<In, Bits<8>>,
    pub mac_rx_dv: Signal<In, Bit>,
    pub mac_rx_er: Signal<In, Bit>,
    pub mac_rx_ce: Signal<In, Bit>,
    /// The PHY sees a carrier (for the RX LED): RMII CRS_DV, RGMII RX_CTL.
    pub rx_carrier: Signal<In, Bit>,
    /// The PHY's management pins (the NIC's MDIC and CTRL.PHY_RST): MDC; MDIO as open drain,
    /// driven with `mdio_out` while `mdio_oe` (a board top puts them on a tristate pin), read
    /// on `mdio_in` (tie high where the board has no MDIO); the PHY's reset, active low.
    pub mdc: Signal<Out, Bit>,
    pub mdio_out: Signal<Out, Bit>,
    pub mdio_oe: Signal<Out, Bit>,
    pub mdio_in: Signal<In, Bit>,
    pub phy_reset_n: Signal<Out, Bit>,
    // ==== blocks ====
    reset_sync: ResetSync,
    soc: Soc<A, W, Q>,
    bridge: UartBridge,
    divisor: Constant<Bits<16>>,
    // ==== LEDs ====
    /// Free-running: bit 23 is the alive LED; its low bits end the event periods.
    ticks: DFF<Bits<24>>,
    period_end: Signal<Local, Bit>,
    /// Events seen in the current period (bit = LED), shown during the next one.
    seen: DFF<Bits<8>>,
    shown: DFF<Bits<8>>,
    events: Signal<Local, Bits<8>>,
    fault: DFF<Bit>,
    bridge_error: DFF<Bit>,
    /// Low byte of the bridge's error counters' sum, and its value at the last reset: they
    /// differ once an error happened since (the counters themselves do not reset).
    error_sum: Signal<Local, Bits<8>>,
    error_base: DFF<Bits<8>>,
    period_mask: Constant<Bits<24>>,
}

impl<const A: usize, const W: usize, const Q: usize> BoardCore<A, W, Q> {
    pub fn new(board: Board) -> Self {
        let divisor = uart_divisor(board);
        assert!(
            (regs::uart_bridge::MIN_DIVISOR..0x1_0000).contains(&divisor),
            "{}: UART divisor {divisor} out of range",
            board.name
        );
        Self {
            clock: Default::default(),
            pll_locked: Default::default(),
            button_n: Default::default(),
            uart_rx: Default::default(),
            uart_tx: Default::default(),
            led: Default::default(),
            mac_txd: Default::default(),
            mac_tx_en: Default::default(),
            mac_tx_er: Default::default(),
            mac_tx_ce: Default::default(),
            mac_rxd: Default::default(),
            mac_rx_dv: Default::default(),
            mac_rx_er: Default::default(),
            mac_rx_ce: Default::default(),
            rx_carrier: Default::default(),
            mdc: Default::default(),
            mdio_out: Default::default(),
            mdio_oe: Default::default(),
            mdio_in: Default::default(),
            phy_reset_n: Default::default(),
            reset_sync: Default::default(),
            soc: Soc::new(board.soc),
            bridge: Default::default(),
            divisor: Constant::new((divisor as u64).into()),
            ticks: Default::default(),
            period_end: Default::default(),
            seen: Default::default(),
            shown: Default::default(),
            events: Default::default(),
            fault: Default::default(),
            bridge_error: Default::default(),
            error_sum: Default::default(),
            error_base: Default::default(),
            period_mask: Constant::new(((1u64 << EVENT_PERIOD_BITS) - 1).into()),
        }
    }
}

impl<const A: usize, const W: usize, const Q: usize> Logic for BoardCore<A, W, Q> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            ticks,
            seen,
            shown,
            fault,
            bridge_error,
            error_base
        );
        self.reset_sync.clock.next = self.clock.val();
        self.soc.clock.next = self.clock.val();
        self.bridge.clock.next = self.clock.val();
        self.reset_sync.locked.next = self.pll_locked.val();
        self.reset_sync.button_n.next = self.button_n.val();

        // ---- host port: UART bridge → SoC ----
        self.bridge.divisor.next = self.divisor.val();
        self.bridge.rxd.next = self.uart_rx.val() | self.reset_sync.reset.val();
        self.uart_tx.next = self.bridge.txd.val();
        self.bridge.irq.next = self.soc.irq.val();
        self.soc.host_addr.next = self.bridge.host_addr.val();
        self.soc.host_wdata.next = self.bridge.host_wdata.val();
        self.soc.host_be.next = self.bridge.host_be.val();
        self.soc.host_we.next = self.bridge.host_we.val();
        self.soc.host_req.next = self.bridge.host_req.val() & !self.reset_sync.reset.val();
        self.bridge.host_ready.next = self.soc.host_ready.val() & !self.reset_sync.reset.val();
        self.bridge.host_rvalid.next = self.soc.host_rvalid.val();
        self.bridge.host_rdata.next = self.soc.host_rdata.val();

        // ---- MAC pins (to the top's PHY adapter) ----
        self.mac_txd.next = self.soc.phy_txd.val();
        self.mac_tx_en.next = self.soc.phy_tx_en.val();
        self.mac_tx_er.next = self.soc.phy_tx_er.val();
        self.soc.phy_tx_ce.next = self.mac_tx_ce.val();
        self.soc.phy_rxd.next = self.mac_rxd.val();
        self.soc.phy_rx_dv.next = self.mac_rx_dv.val();
        self.soc.phy_rx_er.next = self.mac_rx_er.val();
        self.soc.phy_rx_ce.next = self.mac_rx_ce.val();

        // ---- PHY management ----
        self.mdc.next = self.soc.mdc.val();
        self.mdio_out.next = self.soc.mdio_out.val();
        self.mdio_oe.next = self.soc.mdio_oe.val();
        self.soc.mdio_in.next = self.mdio_in.val();
        self.phy_reset_n.next = !self.soc.phy_reset.val();
        // No EEPROM on the boards: EECD.EE_PRES reads 0 (the driver then takes the MAC address
        // from elsewhere).
        self.soc.ee_do.next = true;
        self.soc.eeprom_present.next = false;
        // The FPGA builds have no clock gates (SocConfig::gate_idle_clocks).
        self.soc.clock_gating.next = false;

        // ---- LEDs ----
        self.ticks.d.next = self.ticks.q.val() + 1;
        self.period_end.next = (self.ticks.q.val() & self.period_mask.val()) == 0;
        if self.soc.obs_iommu_state.val() == IommuState::FaultStart {
            self.fault.d.next = true;
        }
        self.error_sum.next = self.bridge.bad_crc.val().get_bits::<8>(0)
            + self.bridge.bad_command.val().get_bits::<8>(0)
            + self.bridge.framing_errors.val().get_bits::<8>(0)
            + self.bridge.timeouts.val().get_bits::<8>(0);
        if self.error_sum.val() != self.error_base.q.val() {
            self.bridge_error.d.next = true;
        }
        if self.reset_sync.reset.val() {
            self.fault.d.next = false;
            self.bridge_error.d.next = false;
            self.error_base.d.next = self.error_sum.val();
        }
        self.events.next = 0.into();
        if self.rx_carrier.val() {
            self.events.next = self.events.val() | 2;
        }
        if self.soc.phy_tx_en.val() {
            self.events.next = self.events.val() | 4;
        }
        if !self.uart_rx.val() | !self.bridge.txd.val() {
            self.events.next = self.events.val() | 32;
        }
        if self.period_end.val() {
            self.shown.d.next = self.seen.q.val();
            self.seen.d.next = self.events.val();
        } else {
            self.seen.d.next = self.seen.q.val() | self.events.val();
        }
        self.led.next = self.shown.q.val() & 0x26;
        if self.ticks.q.val().get_bit(23) {
            self.led.next = self.led.val() | 1;
        }
        if self.soc.irq.val() {
            self.led.next = self.led.val() | 8;
        }
        if self.fault.q.val() {
            self.led.next = self.led.val() | 16;
        }
        if self.bridge_error.q.val() {
            self.led.next = self.led.val() | 64;
        }
        if self.reset_sync.reset.val() {
            self.led.next = self.led.val() | 128;
        }
    }
}

/// [`BoardCore`] with the RMII PHY adapter on its MAC pins: the core of the RMII boards (the
/// Alchitry Cu, the iCEBreaker with its RMII pins tied off, the ECP5 synthesis top).
#[derive(LogicBlock)]
pub struct RmiiBoardCore<const A: usize, const W: usize, const Q: usize> {
    pub clock: Signal<In, Clock>,
    pub pll_locked: Signal<In, Bit>,
    pub button_n: Signal<In, Bit>,
    pub uart_rx: Signal<In, Bit>,
    pub uart_tx: Signal<Out, Bit>,
    pub led: Signal<Out, Bits<8>>,
    pub rmii_txd: Signal<Out, Bits<2>>,
    pub rmii_tx_en: Signal<Out, Bit>,
    pub rmii_rxd: Signal<In, Bits<2>>,
    pub rmii_crs_dv: Signal<In, Bit>,
    pub rmii_rx_er: Signal<In, Bit>,
    /// As [`BoardCore`]'s (tie `mdio_in` high where the board has no MDIO).
    pub mdc: Signal<Out, Bit>,
    pub mdio_out: Signal<Out, Bit>,
    pub mdio_oe: Signal<Out, Bit>,
    pub mdio_in: Signal<In, Bit>,
    pub phy_reset_n: Signal<Out, Bit>,
    core: BoardCore<A, W, Q>,
    rmii: RmiiAdapter,
}

impl<const A: usize, const W: usize, const Q: usize> RmiiBoardCore<A, W, Q> {
    pub fn new(board: Board) -> Self {
        Self {
            clock: Default::default(),
            pll_locked: Default::default(),
            button_n: Default::default(),
            uart_rx: Default::default(),
            uart_tx: Default::default(),
            led: Default::default(),
            rmii_txd: Default::default(),
            rmii_tx_en: Default::default(),
            rmii_rxd: Default::default(),
            rmii_crs_dv: Default::default(),
            rmii_rx_er: Default::default(),
            mdc: Default::default(),
            mdio_out: Default::default(),
            mdio_oe: Default::default(),
            mdio_in: Default::default(),
            phy_reset_n: Default::default(),
            core: BoardCore::new(board),
            rmii: Default::default(),
        }
    }
}

impl<const A: usize, const W: usize, const Q: usize> Logic for RmiiBoardCore<A, W, Q> {
    #[hdl_gen]
    fn update(&mut self) {
        self.core.clock.next = self.clock.val();
        self.rmii.clock.next = self.clock.val();
        self.core.pll_locked.next = self.pll_locked.val();
        self.core.button_n.next = self.button_n.val();
        self.core.uart_rx.next = self.uart_rx.val();
        self.uart_tx.next = self.core.uart_tx.val();
        self.led.next = self.core.led.val();
        self.mdc.next = self.core.mdc.val();
        self.mdio_out.next = self.core.mdio_out.val();
        self.mdio_oe.next = self.core.mdio_oe.val();
        self.core.mdio_in.next = self.mdio_in.val();
        self.phy_reset_n.next = self.core.phy_reset_n.val();
        // ---- MAC ↔ RMII ----
        self.rmii.mac_txd.next = self.core.mac_txd.val();
        self.rmii.mac_tx_en.next = self.core.mac_tx_en.val();
        self.rmii.mac_tx_er.next = self.core.mac_tx_er.val();
        self.core.mac_tx_ce.next = self.rmii.tx_ce.val();
        self.core.mac_rxd.next = self.rmii.mac_rxd.val();
        self.core.mac_rx_dv.next = self.rmii.mac_rx_dv.val();
        self.core.mac_rx_er.next = self.rmii.mac_rx_er.val();
        self.core.mac_rx_ce.next = self.rmii.rx_ce.val();
        self.core.rx_carrier.next = self.rmii_crs_dv.val();
        self.rmii_txd.next = self.rmii.rmii_txd.val();
        self.rmii_tx_en.next = self.rmii.rmii_tx_en.val();
        self.rmii.rmii_rxd.next = self.rmii_rxd.val();
        self.rmii.rmii_crs_dv.next = self.rmii_crs_dv.val();
        self.rmii.rmii_rx_er.next = self.rmii_rx_er.val();
    }
}
