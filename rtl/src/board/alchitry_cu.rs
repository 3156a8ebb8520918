//! The Alchitry Cu top (iCE40-HX8K-CB132): 100 MHz oscillator → PLL → core clock
//! (`regs::board::ALCHITRY_CU`), forwarded to the RMII PHY as its reference clock when the
//! board drives one (`Board::rmii`; held low otherwise); the FT2232H's UART; 8 LEDs (active
//! high); the reset button (active low).

use super::clocking::{ClockForward, CorePll};
use super::core::RmiiBoardCore;
use super::pcf::Pin;
use regs::board::ALCHITRY_CU;
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct AlchitryCuTop<const A: usize, const W: usize, const Q: usize> {
    pub clock_100mhz: Signal<In, Clock>,
    pub reset_n: Signal<In, Bit>,
    pub uart_rx: Signal<In, Bit>,
    pub uart_tx: Signal<Out, Bit>,
    pub led: Signal<Out, Bits<8>>,
    pub rmii_ref_clk: Signal<Out, Bit>,
    pub rmii_txd: Signal<Out, Bits<2>>,
    pub rmii_tx_en: Signal<Out, Bit>,
    pub rmii_rxd: Signal<In, Bits<2>>,
    pub rmii_crs_dv: Signal<In, Bit>,
    pll: CorePll,
    ref_clk: ClockForward,
    core: RmiiBoardCore<A, W, Q>,
    rmii_on: Constant<Bit>,
}

impl<const A: usize, const W: usize, const Q: usize> AlchitryCuTop<A, W, Q> {
    /// The bitstream's top: the board's own SoC configuration.
    pub fn new() -> Self {
        Self::with_soc(ALCHITRY_CU.soc)
    }

    /// The same top around the SoC of `soc` (same sizes): the simulation builds it with the NIC.
    pub fn with_soc(soc: regs::SocConfig) -> Self {
        let board = regs::board::Board { soc, ..ALCHITRY_CU };
        let pll = board
            .pll
            .expect("the Alchitry Cu top needs its PLL setting");
        assert_eq!(pll.out_hz(board.osc_hz), board.core_hz);
        Self {
            clock_100mhz: Default::default(),
            reset_n: Default::default(),
            uart_rx: Default::default(),
            uart_tx: Default::default(),
            led: Default::default(),
            rmii_ref_clk: Default::default(),
            rmii_txd: Default::default(),
            rmii_tx_en: Default::default(),
            rmii_rxd: Default::default(),
            rmii_crs_dv: Default::default(),
            pll: CorePll::new(pll),
            ref_clk: Default::default(),
            core: RmiiBoardCore::new(board),
            rmii_on: Constant::new(board.rmii),
        }
    }
}

impl<const A: usize, const W: usize, const Q: usize> Default for AlchitryCuTop<A, W, Q> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const A: usize, const W: usize, const Q: usize> Logic for AlchitryCuTop<A, W, Q> {
    #[hdl_gen]
    fn update(&mut self) {
        self.pll.clock_in.next = self.clock_100mhz.val();
        self.core.clock.next = self.pll.clock_out.val();
        self.ref_clk.clock.next = self.pll.clock_out.val();
        self.ref_clk.enable.next = self.rmii_on.val();
        self.rmii_ref_clk.next = self.ref_clk.pin.val();
        self.core.pll_locked.next = self.pll.locked.val();
        self.core.button_n.next = self.reset_n.val();
        self.core.uart_rx.next = self.uart_rx.val();
        // No MDIO on this board's PHY wiring: the pin floats high (pull-up).
        self.core.mdio_in.next = true;
        self.uart_tx.next = self.core.uart_tx.val();
        self.led.next = self.core.led.val();
        self.rmii_txd.next = self.core.rmii_txd.val();
        self.rmii_tx_en.next = self.core.rmii_tx_en.val();
        self.core.rmii_rxd.next = self.rmii_rxd.val();
        self.core.rmii_crs_dv.next = self.rmii_crs_dv.val();
        // The LAN8720 modules this top is wired for bring out no RX_ER.
        self.core.rmii_rx_er.next = false;
    }
}

/// The pins (Alchitry Cu schematic; the RMII pins are Br/Io-element header bank B).
pub const PINS: &[Pin] = &[
    Pin::new("clock_100mhz", "P7", "100 MHz oscillator"),
    Pin::new("reset_n", "P8", "reset button (active low)"),
    Pin::new("uart_rx", "P14", "FT2232H TXD → FPGA (UART from the host)"),
    Pin::new("uart_tx", "M9", "FPGA → FT2232H RXD (UART to the host)"),
    Pin::new("led[0]", "J11", "LED 0: alive"),
    Pin::new("led[1]", "K11", "LED 1: RX carrier"),
    Pin::new("led[2]", "K12", "LED 2: TX"),
    Pin::new("led[3]", "K14", "LED 3: interrupt"),
    Pin::new("led[4]", "L12", "LED 4: IOMMU fault (sticky)"),
    Pin::new("led[5]", "L14", "LED 5: UART activity"),
    Pin::new("led[6]", "M12", "LED 6: bridge error (sticky)"),
    Pin::new("led[7]", "N14", "LED 7: reset"),
    Pin::new(
        "rmii_ref_clk",
        "G14",
        "header B21 → PHY REF_CLK (50 MHz from the FPGA)",
    ),
    Pin::new("rmii_txd[0]", "F14", "header B20 → PHY TXD0"),
    Pin::new("rmii_txd[1]", "E12", "header B18 → PHY TXD1"),
    Pin::new("rmii_tx_en", "E14", "header B17 → PHY TX_EN"),
    Pin::new("rmii_rxd[0]", "D14", "header B15 ← PHY RXD0"),
    Pin::new("rmii_rxd[1]", "C14", "header B14 ← PHY RXD1"),
    Pin::new("rmii_crs_dv", "B14", "header B12 ← PHY CRS_DV"),
];
