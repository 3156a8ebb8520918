//! The iCEBreaker top (iCE40-UP5K-SG48): the core runs on the 12 MHz oscillator (no PLL); the
//! FT2232H's UART; the red and green LEDs (active low); the user button (active low). No PHY:
//! the iCE40 PLL cannot make RMII's 50 MHz from 12 MHz, and the board's configuration has no
//! NIC (`regs::SocConfig::FPGA_SMALL`).

use super::core::RmiiBoardCore;
use super::pcf::Pin;
use regs::board::ICEBREAKER;
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct IcebreakerTop<const A: usize, const W: usize, const Q: usize> {
    pub clock_12mhz: Signal<In, Clock>,
    pub button_n: Signal<In, Bit>,
    pub uart_rx: Signal<In, Bit>,
    pub uart_tx: Signal<Out, Bit>,
    /// Red LED, active low: IOMMU fault or bridge error.
    pub led_red_n: Signal<Out, Bit>,
    /// Green LED, active low: alive, lit solid while the interrupt line is high.
    pub led_green_n: Signal<Out, Bit>,
    core: RmiiBoardCore<A, W, Q>,
}

impl<const A: usize, const W: usize, const Q: usize> IcebreakerTop<A, W, Q> {
    pub fn new() -> Self {
        let board = ICEBREAKER;
        assert!(board.pll.is_none() && board.core_hz == board.osc_hz);
        Self {
            clock_12mhz: Default::default(),
            button_n: Default::default(),
            uart_rx: Default::default(),
            uart_tx: Default::default(),
            led_red_n: Default::default(),
            led_green_n: Default::default(),
            core: RmiiBoardCore::new(board),
        }
    }
}

impl<const A: usize, const W: usize, const Q: usize> Default for IcebreakerTop<A, W, Q> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const A: usize, const W: usize, const Q: usize> Logic for IcebreakerTop<A, W, Q> {
    #[hdl_gen]
    fn update(&mut self) {
        self.core.clock.next = self.clock_12mhz.val();
        self.core.pll_locked.next = true;
        self.core.button_n.next = self.button_n.val();
        self.core.uart_rx.next = self.uart_rx.val();
        // No MDIO on this board's PHY wiring: the pin floats high (pull-up).
        self.core.mdio_in.next = true;
        self.uart_tx.next = self.core.uart_tx.val();
        self.led_red_n.next = !(self.core.led.val().get_bit(4) | self.core.led.val().get_bit(6));
        self.led_green_n.next = !(self.core.led.val().get_bit(0) | self.core.led.val().get_bit(3));
        self.core.rmii_rxd.next = 0.into();
        self.core.rmii_crs_dv.next = false;
        self.core.rmii_rx_er.next = false;
    }
}

/// The pins (iCEBreaker v1.0 schematic).
pub const PINS: &[Pin] = &[
    Pin::new("clock_12mhz", "35", "12 MHz oscillator"),
    Pin::new("button_n", "10", "user button (active low)"),
    Pin::new("uart_rx", "6", "FT2232H TXD → FPGA (UART from the host)"),
    Pin::new("uart_tx", "9", "FPGA → FT2232H RXD (UART to the host)"),
    Pin::new("led_red_n", "11", "red LED: fault / bridge error"),
    Pin::new("led_green_n", "37", "green LED: alive / interrupt"),
];
