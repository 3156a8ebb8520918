//! The Colorlight i5 top (and the i9's: the same board with an LFE5U-45F and its LED on L2),
//! `regs::board::COLORLIGHT_I5`: the whole SoC (UART bridge, memcpy, the IOMMU with its
//! 8-entry IOTLB, the NIC) with the RGMII adapter on the board's first Broadcom B50612D PHY.
//!
//! ```text
//!  clk25 ─► Ecp5Pll (EHXPLLL 25 → 50 MHz) ─► core clock ─► BoardCore ◄─► RgmiiAdapter ─► eth_tx*
//!                         locked ─► reset                   │  ▲               ◄── eth_rx* (RXC)
//!  uart_rx/tx ◄─► DAPLink CDC serial      eth_mdc/eth_mdio ◄─┘  └─ eth_rst_n (CTRL.PHY_RST)
//!  reset_n (K18) ─► reset      led_n (U16) ◄─ alive, blinking off while frames move
//! ```
//!
//! **Clocks.** The 25 MHz oscillator feeds the ECP5 PLL ([`Ecp5Pll`], the setting ecppll
//! chooses: VCO 600 MHz, CLKOP 50 MHz); the PLL's lock releases the reset. The core runs at
//! 50 MHz: the RGMII adapter makes the 100 Mb/s TX nibbles and the 25 MHz TXC from it (a
//! byte every 4 cycles), so the core clock is 2 × TXC, and 50 MHz leaves margin under the
//! whole SoC's Fmax on this part (the report of `make fpga BOARD=colorlight-i5`). The PHY's RXC
//! (25 MHz at 100 Mb/s) clocks the adapter's input registers and its FIFO's write side.
//!
//! **PHY management.** MDC and MDIO (a tristate pin with the board's pull-up; both PHYs share
//! them and the reset) come from the NIC's MDIC; the reset pin is CTRL.PHY_RST inverted. The
//! driver restricts the PHY to 100 Mb/s full duplex over MDIO
//! (`driver::phy::advertise_100_full_only`) before it uses the link.
//!
//! **LED.** The board has one user LED (active low): it shows the core's alive bit (a blink
//! every 0.17 s), inverted while the RX carrier or TX LED event is on, and lit while reset.
//! The core's other LED bits (interrupt, IOMMU fault, UART activity, bridge error) have no pin
//! here: read the blocks' registers and the bridge's error counters instead.
//!
//! In simulation the PLL passes the oscillator through (a simulated cycle is a core cycle) and
//! the DDR cells are their behavioural models (`ecp5_io`).

use super::core::BoardCore;
use super::ecp5_io::{Ecp5Pll, Ecp5PllSetting};
use super::pcf::Pin;
use super::rgmii::RgmiiAdapter;
use regs::board::{Board, COLORLIGHT_I5};
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct ColorlightTop<const A: usize, const W: usize, const Q: usize> {
    pub clk25: Signal<In, Clock>,
    pub reset_n: Signal<In, Bit>,
    pub uart_rx: Signal<In, Bit>,
    pub uart_tx: Signal<Out, Bit>,
    pub led_n: Signal<Out, Bit>,
    pub eth_txc: Signal<Out, Bit>,
    pub eth_txd: Signal<Out, Bits<4>>,
    pub eth_tx_ctl: Signal<Out, Bit>,
    pub eth_rxc: Signal<In, Clock>,
    pub eth_rxd: Signal<In, Bits<4>>,
    pub eth_rx_ctl: Signal<In, Bit>,
    pub eth_mdc: Signal<Out, Bit>,
    pub eth_mdio: Signal<InOut, Bit>,
    pub eth_rst_n: Signal<Out, Bit>,
    pll: Ecp5Pll,
    core: BoardCore<A, W, Q>,
    rgmii: RgmiiAdapter,
    mdio_pin: TristateBuffer<Bit>,
}

/// The PLL setting of a board: its oscillator to its core clock.
pub fn pll_setting(board: Board) -> Ecp5PllSetting {
    Ecp5PllSetting::for_hz(board.osc_hz as u64, board.core_hz as u64).unwrap_or_else(|| {
        panic!(
            "{}: no ECP5 PLL setting makes {} Hz from {} Hz",
            board.name, board.core_hz, board.osc_hz
        )
    })
}

impl<const A: usize, const W: usize, const Q: usize> ColorlightTop<A, W, Q> {
    /// The top of `board` (the i5 or the i9: same pins but the LED, same clocks).
    pub fn new(board: Board) -> Self {
        assert_eq!(
            board.core_hz, 50_000_000,
            "the RGMII adapter makes 100 Mb/s from a 50 MHz core clock"
        );
        let pll = pll_setting(board);
        assert!(pll.within_limits() && pll.out_hz() == board.core_hz as u64);
        Self {
            clk25: Default::default(),
            reset_n: Default::default(),
            uart_rx: Default::default(),
            uart_tx: Default::default(),
            led_n: Default::default(),
            eth_txc: Default::default(),
            eth_txd: Default::default(),
            eth_tx_ctl: Default::default(),
            eth_rxc: Default::default(),
            eth_rxd: Default::default(),
            eth_rx_ctl: Default::default(),
            eth_mdc: Default::default(),
            eth_mdio: Default::default(),
            eth_rst_n: Default::default(),
            pll: Ecp5Pll::new(pll),
            core: BoardCore::new(board),
            rgmii: Default::default(),
            mdio_pin: Default::default(),
        }
    }
}

impl<const A: usize, const W: usize, const Q: usize> Default for ColorlightTop<A, W, Q> {
    fn default() -> Self {
        Self::new(COLORLIGHT_I5)
    }
}

impl<const A: usize, const W: usize, const Q: usize> Logic for ColorlightTop<A, W, Q> {
    #[hdl_gen]
    fn update(&mut self) {
        self.pll.clock_in.next = self.clk25.val();
        self.core.clock.next = self.pll.clock_out.val();
        self.rgmii.clock.next = self.pll.clock_out.val();
        self.core.pll_locked.next = self.pll.locked.val();
        self.core.button_n.next = self.reset_n.val();
        self.core.uart_rx.next = self.uart_rx.val();
        self.uart_tx.next = self.core.uart_tx.val();

        // ---- MAC ↔ RGMII ----
        self.rgmii.mac_txd.next = self.core.mac_txd.val();
        self.rgmii.mac_tx_en.next = self.core.mac_tx_en.val();
        self.rgmii.mac_tx_er.next = self.core.mac_tx_er.val();
        self.core.mac_tx_ce.next = self.rgmii.tx_ce.val();
        self.core.mac_rxd.next = self.rgmii.mac_rxd.val();
        self.core.mac_rx_dv.next = self.rgmii.mac_rx_dv.val();
        self.core.mac_rx_er.next = self.rgmii.mac_rx_er.val();
        self.core.mac_rx_ce.next = self.rgmii.rx_ce.val();
        self.core.rx_carrier.next = self.rgmii.mac_rx_dv.val();
        self.eth_txc.next = self.rgmii.rgmii_txc.val();
        self.eth_txd.next = self.rgmii.rgmii_txd.val();
        self.eth_tx_ctl.next = self.rgmii.rgmii_tx_ctl.val();
        self.rgmii.rgmii_rxc.next = self.eth_rxc.val();
        self.rgmii.rgmii_rxd.next = self.eth_rxd.val();
        self.rgmii.rgmii_rx_ctl.next = self.eth_rx_ctl.val();

        // ---- PHY management ----
        self.eth_mdc.next = self.core.mdc.val();
        self.mdio_pin.write_enable.next = self.core.mdio_oe.val();
        self.mdio_pin.write_data.next = self.core.mdio_out.val();
        Signal::<InOut, Bit>::link(&mut self.eth_mdio, &mut self.mdio_pin.bus);
        self.core.mdio_in.next = self.mdio_pin.read_data.val();
        self.eth_rst_n.next = self.core.phy_reset_n.val();

        // ---- LED (active low): alive, flipped by RX/TX activity, on in reset ----
        self.led_n.next = !(self.core.led.val().get_bit(0)
            ^ (self.core.led.val().get_bit(1) | self.core.led.val().get_bit(2))
            | self.core.led.val().get_bit(7));
    }
}

/// The pins of `eth 0`, the serial port, the clock and the button, from LiteX's platform file
/// for this board (litex-boards `litex_boards/platforms/colorlight_i5.py`, v7.0: `clk25` P3,
/// `cpu_reset_n` K18 with a pull-up, `serial` tx J17 / rx H18, `user_led_n` U16, `eth_clocks`
/// 0 tx G1 / rx H2, `eth` 0 rst_n P4, mdio P5, mdc N5, rx_ctl P2, rx_data K2 L1 N1 P1, tx_ctl
/// K1, tx_data G2 H1 J1 J3), all LVCMOS33. Both PHYs share rst_n, MDIO and MDC.
const COMMON_PINS: &[Pin] = &[
    Pin::new("clk25", "P3", "25 MHz oscillator"),
    Pin::new("reset_n", "K18", "reset button (active low, pull-up)"),
    Pin::new("uart_rx", "H18", "DAPLink CDC serial TX → FPGA"),
    Pin::new("uart_tx", "J17", "FPGA → DAPLink CDC serial RX"),
    Pin::new(
        "eth_txc",
        "G1",
        "PHY 0 GTX_CLK (RGMII TXC, 25 MHz at 100 Mb/s)",
    ),
    Pin::new("eth_txd[0]", "G2", "PHY 0 TXD0"),
    Pin::new("eth_txd[1]", "H1", "PHY 0 TXD1"),
    Pin::new("eth_txd[2]", "J1", "PHY 0 TXD2"),
    Pin::new("eth_txd[3]", "J3", "PHY 0 TXD3"),
    Pin::new("eth_tx_ctl", "K1", "PHY 0 TX_CTL"),
    Pin::new("eth_rxc", "H2", "PHY 0 RXC"),
    Pin::new("eth_rxd[0]", "K2", "PHY 0 RXD0"),
    Pin::new("eth_rxd[1]", "L1", "PHY 0 RXD1"),
    Pin::new("eth_rxd[2]", "N1", "PHY 0 RXD2"),
    Pin::new("eth_rxd[3]", "P1", "PHY 0 RXD3"),
    Pin::new("eth_rx_ctl", "P2", "PHY 0 RX_CTL"),
    Pin::new("eth_mdc", "N5", "MDC (both PHYs)"),
    Pin::new("eth_mdio", "P5", "MDIO (both PHYs; PHY 0 at address 0)"),
    Pin::new("eth_rst_n", "P4", "PHY reset, active low (both PHYs)"),
];

/// The board's pins: the common ones and its LED.
pub fn pins(board: Board) -> Vec<Pin> {
    let led = match board.name {
        "colorlight-i5" => Pin::new("led_n", "U16", "user LED (active low)"),
        "colorlight-i9" => Pin::new("led_n", "L2", "user LED (active low; U16 on the i5)"),
        name => panic!("{name} is not a Colorlight board"),
    };
    let mut all = COMMON_PINS.to_vec();
    all.push(led);
    all
}

/// The LPF (nextpnr-ecp5's constraint file): each pin's site and LVCMOS33, the clock inputs'
/// frequencies (the oscillator, and RXC at 25 MHz: the adapter runs 100 Mb/s only), and MDIO's
/// pull-up (the board has one too).
pub fn lpf(board: Board) -> String {
    let mut out = format!(
        "# Pins of the {} top. Generated by `cargo run -p rtl --bin gen-board` from \
         rtl/src/board/colorlight_i5.rs; do not edit.\n",
        board.name
    );
    for p in pins(board) {
        let pull = if p.port == "reset_n" || p.port == "eth_mdio" {
            " PULLMODE=UP"
        } else {
            ""
        };
        out += &format!(
            "# {}\nLOCATE COMP \"{}\" SITE \"{}\";\nIOBUF PORT \"{}\" IO_TYPE=LVCMOS33{};\n",
            p.what, p.port, p.pin, p.port, pull
        );
    }
    out += &format!(
        "FREQUENCY PORT \"clk25\" {} MHZ;\nFREQUENCY PORT \"eth_rxc\" 25 MHZ;\n",
        board.osc_hz / 1_000_000
    );
    out
}

/// `board.env` for scripts/synth_ecp5.sh in board mode.
pub fn env(board: Board) -> String {
    super::ecp5::board_env(board, "clk25")
}

#[cfg(test)]
mod tests {
    use super::*;
    use regs::board::COLORLIGHT_I9;

    #[test]
    fn the_colorlight_top_is_the_whole_soc_with_rgmii_pll_and_ddr_cells() {
        let v = super::super::board_verilog(COLORLIGHT_I5);
        for block in [
            "top$core$soc$nic",
            "top$core$soc$iommu",
            "top$rgmii",
            "top$pll",
        ] {
            assert!(v.contains(&format!("module {block}(")), "{block} missing");
        }
        for cell in ["EHXPLLL", "ODDRX1F", "IDDRX1F"] {
            assert!(v.contains(cell), "no {cell}");
        }
        assert!(!v.contains("SB_"), "an iCE40 primitive in an ECP5 top");
        assert_eq!(regs::board::uart_divisor(COLORLIGHT_I5), 50);
    }

    #[test]
    fn every_port_has_a_pin_and_the_lpf_constrains_the_clocks() {
        for board in [COLORLIGHT_I5, COLORLIGHT_I9] {
            let pins = pins(board);
            let mut sites: Vec<&str> = pins.iter().map(|p| p.pin).collect();
            sites.sort();
            sites.dedup();
            assert_eq!(sites.len(), pins.len(), "a site used twice");
            let lpf = lpf(board);
            for p in &pins {
                assert!(lpf.contains(&format!("LOCATE COMP \"{}\" SITE \"{}\";", p.port, p.pin)));
            }
            assert!(lpf.contains("FREQUENCY PORT \"clk25\" 25 MHZ;"));
            assert!(lpf.contains("FREQUENCY PORT \"eth_rxc\" 25 MHZ;"));
        }
        assert!(lpf(COLORLIGHT_I9).contains("SITE \"L2\""));
        assert!(env(COLORLIGHT_I9).contains("DEVICE=45k\n"));
    }
}
