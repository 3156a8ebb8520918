use super::SocConfig;

/// An iCE40 PLL setting (`SB_PLL40_CORE`, simple feedback), as `icepll` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pll {
    pub divr: u8,
    pub divf: u8,
    pub divq: u8,
    pub filter_range: u8,
}

impl Pll {
    /// Output frequency for an input of `in_hz`.
    pub const fn out_hz(self, in_hz: u32) -> u32 {
        let vco = in_hz as u64 * (self.divf as u64 + 1) / (self.divr as u64 + 1);
        (vco >> self.divq) as u32
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Board {
    /// The name `make fpga BOARD=...` takes.
    pub name: &'static str,
    /// nextpnr-ice40's device option (`--hx8k`, `--up5k`) and icetime's `-d`.
    pub device: &'static str,
    pub package: &'static str,
    /// The board's oscillator.
    pub osc_hz: u32,
    /// The PLL between the oscillator and the core clock; `None`: the core runs on the
    /// oscillator.
    pub pll: Option<Pll>,
    /// The core clock, also the RMII reference clock when the board has the PHY adapter.
    pub core_hz: u32,
    /// The UART bridge's line speed (8N1).
    pub baud: u32,
    /// Whether the board top drives the RMII PHY (forwards its reference clock, or, on
    /// [`ECP5_25K`], runs on the PHY's): needs the NIC and a 50 MHz core clock.
    pub rmii: bool,
    pub soc: SocConfig,
    /// Logic cells the SoC may use: the budget (75 % of the device's).
    pub lc_budget: u32,
    /// The slowest core clock the design is meant to meet on this board.
    pub fmax_target_hz: u32,
}

/// Alchitry Cu: iCE40-HX8K-CB132, 100 MHz oscillator, FT2232H UART. Core clock 25 MHz
/// from the PLL: the design closes timing at about 27 MHz on the HX8K (the IOMMU's
/// single-cycle IOTLB lookup between the memcpy channel's address adder and the arbiter's
/// grant is the critical path), short of the 50 MHz an RMII PHY needs as its core and
/// reference clock. Its bitstream has no NIC (`SocConfig::FPGA_CU`), so no RMII either.
pub const ALCHITRY_CU: Board = Board {
    name: "alchitry-cu",
    device: "hx8k",
    package: "cb132",
    osc_hz: 100_000_000,
    pll: Some(Pll {
        divr: 0,
        divf: 7,
        divq: 5,
        filter_range: 5,
    }),
    core_hz: 25_000_000,
    baud: 1_000_000,
    rmii: false,
    soc: SocConfig::FPGA_CU,
    lc_budget: 7680 * 3 / 4,
    fmax_target_hz: 25_000_000,
};

/// iCEBreaker: iCE40-UP5K-SG48, 12 MHz oscillator, FT2232H UART. The core runs on the
/// 12 MHz oscillator (no PLL: the iCE40 PLL cannot make RMII's 50 MHz from 12 MHz), so
/// this board has no PHY adapter, and the reduced configuration (no NIC) to fit the UP5K.
pub const ICEBREAKER: Board = Board {
    name: "icebreaker",
    device: "up5k",
    package: "sg48",
    osc_hz: 12_000_000,
    pll: None,
    core_hz: 12_000_000,
    baud: 1_000_000,
    rmii: false,
    soc: SocConfig::FPGA_SMALL,
    lc_budget: 5280 * 3 / 4,
    fmax_target_hz: 12_000_000,
};

pub const BOARDS: &[Board] = &[ALCHITRY_CU, ICEBREAKER];

/// Not a board but the ECP5 synthesis target of `make synth-ecp5`: a Lattice
/// LFE5U-25F-6BG381C (`device` and `package` are nextpnr-ecp5's `--25k --package
/// CABGA381`; its speed grade is the rtl crate's `board::ecp5::SPEED`) with the whole SoC,
/// [`SocConfig::FPGA`], NIC included, and the RMII adapter. The core runs on the PHY
/// module's 50 MHz RMII reference clock (a LAN8720 module whose own oscillator drives
/// REF_CLK), brought in on a pin: no PLL and no vendor primitive. Out of context: no pin
/// locations, no bitstream. `lc_budget` counts LUT4s here (75 % of the part's 24288). Not in
/// [`BOARDS`] (`make fpga` is the iCE40 flow).
pub const ECP5_25K: Board = Board {
    name: "ecp5-25k",
    device: "25k",
    package: "CABGA381",
    osc_hz: 50_000_000,
    pll: None,
    core_hz: 50_000_000,
    baud: 1_000_000,
    rmii: true,
    soc: SocConfig::FPGA,
    lc_budget: 24288 * 3 / 4,
    fmax_target_hz: 50_000_000,
};

/// Colorlight i5 (v7.0): a Lattice LFE5U-25F-6BG381C module on its extension board, a 25 MHz
/// oscillator, two Broadcom B50612D gigabit PHYs over RGMII (the top uses `eth 0`, MDIO address
/// 0), the on-board DAPLink's CDC serial port for the UART bridge. The whole SoC with the NIC
/// ([`SocConfig::FPGA`]). The core clock comes from the ECP5 PLL (EHXPLLL, 25 → 50 MHz, its
/// setting computed in `rtl::board::ecp5_io`; `pll` is the iCE40 kind, so `None`); the RGMII
/// adapter runs the PHY at 100 Mb/s from it. `device`/`package` are nextpnr-ecp5's;
/// `lc_budget` counts LUT4s (75 % of 24288). Built by the ECP5 flow (`make fpga
/// BOARD=colorlight-i5`, scripts/synth_ecp5.sh), not the iCE40 one.
pub const COLORLIGHT_I5: Board = Board {
    name: "colorlight-i5",
    device: "25k",
    package: "CABGA381",
    osc_hz: 25_000_000,
    pll: None,
    core_hz: 50_000_000,
    baud: 1_000_000,
    rmii: false,
    soc: SocConfig::FPGA,
    lc_budget: 24288 * 3 / 4,
    fmax_target_hz: 50_000_000,
};

/// Colorlight i9 (v7.2): the i5's board with an LFE5U-45F (43848 LUT4s) and its user LED on
/// another pin; the same top and flow.
pub const COLORLIGHT_I9: Board = Board {
    name: "colorlight-i9",
    device: "45k",
    lc_budget: 43848 * 3 / 4,
    ..COLORLIGHT_I5
};

/// The ECP5 boards `make fpga` builds with the ECP5 flow.
pub const ECP5_BOARDS: &[Board] = &[COLORLIGHT_I5, COLORLIGHT_I9];

pub fn by_name(name: &str) -> Option<Board> {
    BOARDS
        .iter()
        .chain(ECP5_BOARDS)
        .copied()
        .find(|b| b.name == name)
}

/// The UART bridge's divisor (core clocks per bit) on this board.
pub const fn uart_divisor(board: Board) -> u32 {
    super::uart_bridge::divisor(board.core_hz, board.baud)
}
