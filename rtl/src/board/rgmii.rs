//! The RGMII PHY adapter: the MAC's GMII-like byte pins (one byte per clock enable) to an
//! RGMII PHY (e.g. the Broadcom B50612D of the Colorlight i5) at 100 Mb/s full duplex, one
//! nibble per 40 ns period of the 25 MHz TXC/RXC. The RMII adapter's sibling
//! ([`RmiiAdapter`]): the same MAC side, the same contract.
//!
//! ```text
//!                 ┌───────────────────────────────────────────────────────┐
//!  mac_txd[8]   ─►│ TX: nibble by tx_phase (low first) ─► Oddr<4> ─────────├─► rgmii_txd[4]
//!  mac_tx_en    ─►│     TX_EN / TX_EN^TX_ER by half   ──► Oddr<1> ─────────├─► rgmii_tx_ctl
//!  mac_tx_er    ─►│     TXC pattern 0,1 / 1,0 (90°)   ──► Oddr<1> ─────────├─► rgmii_txc
//!  tx_ce        ◄─│ tx_phase == 3                       (core clock)       │
//!                 │                                                       │
//!  mac_rxd[8]   ◄─│ byte    ◄─ async FIFO ◄─ Idle ─5─► Preamble ─D─► Data  │◄─ rgmii_rxd[4]
//!  mac_rx_dv    ◄─│ time       8 × (byte,    │ ▲        │ other     │     │◄─ rgmii_rx_ctl
//!  mac_rx_er    ◄─│ flops      er, end),     │ └─ Drop ◄┘  DV low   │     │   (Iddr<4>, Iddr<1>
//!  rx_ce        ◄─│ (core)     Gray pointers └────◄──────────────────┘     │    on RXC)
//!  clock        ─►│ 50 MHz core clock               RXC domain            │◄─ rgmii_rxc
//!                 └───────────────────────────────────────────────────────┘
//! ```
//!
//! `clock` is the core clock, exactly 50 MHz: the transmitter runs on it with no clock-domain
//! crossing. `rgmii_rxc` is the PHY's receive clock (25 MHz ± 100 ppm, unrelated to the core
//! clock); the receiver runs on it and hands its bytes to the core through an asynchronous
//! FIFO. **Only 100 Mb/s full duplex is supported**: at 10 Mb/s TXC would have to be 2.5 MHz
//! (this block always sends 25 MHz) and at 1000 Mb/s RGMII carries a byte per 8 ns period on
//! both edges (the core clock is too slow). The driver must restrict the PHY's advertisement
//! to 100BASE-TX full duplex over MDIO (clear the 10 Mb/s and half-duplex bits of register 4
//! and the 1000BASE-T bits of register 9, then restart autonegotiation). There is no reset
//! input: the registers start from their bitstream values (TX phase 0, RX `Idle`, FIFO
//! pointers all 0, i.e. empty), and the receiver finds its alignment again at every SFD.
//!
//! The pins go through the ECP5 I/O cells' DDR registers ([`Oddr`], [`Iddr`]; their latency is
//! documented there: `Oddr` 2 cycles from sampling to pin, `Iddr` 1 cycle).
//!
//! ## Transmit
//!
//! `tx_phase` counts the core cycles 0, 1, 2, 3 forever; `tx_ce` (the [`MacTx`] clock enable)
//! is high in phase 3. MacTx decides a byte in that cycle *n* and holds it on `mac_txd` in
//! cycles *n*+1 ..= *n*+4 (phases 0..=3). A byte time is 80 ns: the low nibble is on TXD for
//! the first 40 ns (2 core cycles), the high nibble for the next 40 ns. Each 40 ns nibble
//! window is one TXC period, 4 core half cycles, which the `Oddr` inputs set as
//!
//! ```text
//!  core clock   _|‾‾‾‾‾|_____|‾‾‾‾‾|_____|‾‾‾‾‾|_____|‾‾‾‾‾|_____|
//!  half cycle     A.d0  A.d1  B.d0  B.d1  A.d0  A.d1  B.d0  B.d1
//!  rgmii_txd    X low nibble            X high nibble           X
//!  rgmii_txc    ______|‾‾‾‾‾‾‾‾‾‾‾|___________|‾‾‾‾‾‾‾‾‾‾‾|_____
//!  rgmii_tx_ctl X TX_EN     X TX_EN^TX_ER X TX_EN     X EN^ER    X
//!                  0   10    20   30    40
//! ```
//!
//! **TXC at 90°**: TXC rises 10 ns after the data change and falls 30 ns after it (in the
//! middle of the second core cycle). The PHY samples TXD and TX_EN at the rising edge and TX_EN
//! xor TX_ER at the falling edge; TX_CTL changes in the middle of the window (20 ns), so both
//! edges are 10 ns from the nearest change of what they sample: the most margin a 10 ns grid
//! allows, the same on both edges. It holds whether or not the PHY delays TXC internally (the
//! B50612D can add about 2 ns, RGMII-ID): with the delay the edges are 8 ns and 12 ns from a
//! change, against the PHY's 1 ns setup and hold. The data and TX_CTL are driven from the I/O
//! cells' registers (`d0 = d1` within a core cycle), so the pins change only at core rising
//! edges, and TXC has the same clock-to-out path.
//!
//! **TX latency: 3 core cycles** from the byte on `mac_txd` (cycle *n*+1, phase 0) to its low
//! nibble on the pins (from the rising edge that starts cycle *n*+4; the `Oddr` samples at the
//! end of cycle *n*+1 and drives the pin 2 cycles later); the high nibble follows at *n*+6.
//! TX_CTL is TX_EN in the first half of each nibble window and TX_EN xor TX_ER in the second,
//! so `mac_tx_er` is passed on (MacTx never raises it).
//!
//! ## Receive
//!
//! **The falling edge samples.** At 100 Mb/s the PHY changes RXD once per RXC period, with
//! RX_DV on RX_CTL, and RX_CTL again half a period later to RX_DV xor RX_ER. It does so at
//! RXC's edges (±0.5 ns, RGMII's TskewT) when it does not delay RXC, or about 2 ns before them
//! (≥ 1.2 ns, TsetupT) with its RGMII-ID receive delay on; whether the board's B50612D has it on
//! at power-up is not known, and nothing here sets it. The receiver therefore takes the nibble
//! and RX_CTL at the **falling** RXC edge in the middle of each period (the `Iddr`s' `q1`),
//! which is far from every RXD change either way. With the period starting at a rising edge
//! at 0 ns and the falling edge at 20 ns (16–24 ns: RGMII allows a 40–60 % duty cycle at
//! 10/100):
//!
//! ```text
//!  sample                                   PHY delay off            PHY delay on (2 ns)
//!  RXD, RX_CTL w/o RX_ER at falling (used)  20 set-up, 20 hold ns    22 set-up, 18 hold ns
//!  RXD, RX_DV at rising (the old sampler)   0 ± 0.5 ns: a race       2 set-up, 38 hold ns
//!  RX_CTL's 2nd half (RX_ER) at falling     0 ± 0.5 ns: a race       2 set-up, 18 hold ns
//! ```
//!
//! (at the duty cycle's limits the used samples keep ≥ 15.5 ns without the delay, ≥ 14 ns with
//! it). Without RX_ER, RX_CTL is RX_DV for the whole period, so its falling sample is RX_DV in
//! both cases. RX_ER in a frame is RX_CTL low for the second half of a period (a 20 ns pulse
//! from a falling edge to the next rising edge), and where that pulse lands depends on the
//! delay: with it, the falling sample sees it and the next rising one does not; without it, the
//! two edges sit on the pulse's ends (a PHY 1 ns late puts it in the next rising sample only).
//! So each period is decided one RXC period late, from three RX_CTL samples: `mid` (its
//! falling edge, `rx_ctl_mid`), `rise'` and `mid'` (the next rising edge and the falling edge
//! after it):
//!
//! * a carrier starts (`Idle`) when `mid` is high and goes on (`Preamble`, `Data`, `Drop`)
//!   while `mid | rise'` (`rx_carrier`); it ends at the first period where both are low, so
//!   carriers need two idle periods between them (the inter-frame gap gives 24);
//! * the nibble has RX_ER (`rx_er`) when `!mid & rise'` (low in the middle, RX_DV again at the
//!   next edge: a delayed PHY's pulse, or an edge-aligned one caught early) or
//!   `mid & !rise' & mid'` (low only at the rising edge between two high falling samples: an
//!   edge-aligned pulse caught late).
//!
//! *What RX_ER detection covers.* With the PHY's delay: every RX_ER in a frame after the SFD,
//! exactly (the byte it falls in), except in the frame's last nibble. Without it: every pulse
//! whose two ends the samples see on the same side (both early or both late, as the PHY's
//! output delay makes them), exactly too. A pulse seen late at its start and early at its end
//! (possible only through a duty-cycle difference between the PHY's launch and RXC at the
//! pins) is missed; one seen early at its start and late at its end is low at `mid` and
//! `rise'`, so the frame ends there: MacRx gets it cut, with a bad FCS, and the rest of the
//! carrier goes to `Drop` (a 0x5 .. 0xD in it would start a frame whose FCS fails). RX_ER in
//! the last nibble cannot be told from the frame's end: without the delay the frame is taken
//! as it is (only its FCS checks it), with the delay it ends a nibble early (the last byte is
//! lost: a bad FCS). RX_ER in the preamble and on the SFD is ignored; their nibbles are checked.
//!
//! *Alignment.* In a carrier the receiver aligns on the SFD: preamble nibbles 0x5 (any number
//! from one: a PHY may drop some, an odd number included), then 0xD after a 0x5 ends the SFD
//! (0xD5 = 5, D). The SFD becomes an entry 0xD5 with dv; then every two nibbles (low first) one
//! byte entry, with `er` if RX_ER was decided in either nibble; the carrier's end ends the
//! frame with an *end* entry (a half byte is dropped, and MacRx sees a bad FCS). A nibble other
//! than 0x5 before the SFD, or 0x5 .. then something other than 0x5/0xD, puts the receiver in
//! `Drop` until the carrier ends: no entries. A false carrier (RX_DV low, RX_ER high, RXD 0xE)
//! is a carrier with a bad first nibble when its falling samples are high (PHY delay on) and
//! nothing otherwise: no entries either way. At 100 Mb/s it only comes at a carrier's start;
//! directly after a frame's last nibble one such nibble would be dropped as a half byte, more
//! would be added to the frame (its FCS then fails).
//!
//! *Clock-domain crossing.* The entries (byte, er, end: 10 bits) go through an 8-entry FIFO: a
//! [`LutRam`] written on RXC and read combinationally from the core, with 4-bit Gray-coded
//! pointers, each passed through two flops into the other domain (the write pointer moves
//! at the RXC edge that writes the entry, so the entry is stable long before the core sees
//! the pointer). Both pointers start at 0: the FIFO starts empty. **It cannot overflow**: the
//! receiver writes at most one byte entry per two RXC periods (≥ 79.99 ns at 25 MHz + 100 ppm;
//! the end entry can follow the last byte in the next period), and the core takes an entry in
//! every cycle one is visible (20 ns), so the write side sees at most the entries of the
//! pointer round trip (≤ 2 core + 3 RXC cycles, < 180 ns): 4 entries.
//! The write side still checks for full and would drop an entry rather than overwrite one.
//!
//! ## Byte times to the MAC (`rx_ce`)
//!
//! Each FIFO entry becomes one byte time: `rx_ce` high for a cycle with `mac_rxd`, `mac_rx_dv`
//! (low for an end entry) and `mac_rx_er`, registered, held in between. Entries are taken as
//! they arrive, so inside a frame the byte times come every 4 core cycles on average (3 to 5,
//! as the pointer crosses clocks; consecutive cycles if entries queued up — MacRx takes a byte
//! time per `ce` cycle, with no spacing needed). While no frame is in progress (after an end
//! entry, and from the start) the adapter adds a byte time with `mac_rx_dv` low whenever 4
//! cycles passed without one, so a MacRx that waits for `rx_dv` low is released within 4
//! cycles. Inside a frame an empty FIFO gives no byte time: MacRx never sees `rx_dv` drop
//! before the frame's end. So MacRx sees the SFD (0xD5 with dv), each frame byte once, then a
//! byte time with dv low, exactly as from [`RmiiAdapter`]. **RX latency: 2½ RXC periods + 40
//! to 60 ns** (140–160 ns at 25 MHz) from the falling RXC edge that samples a byte's high nibble
//! (or the SFD's 0xD) at the pins to the start of its `rx_ce` cycle: the `Iddr` to the next
//! rising edge ½ period, `rx_nibble`/`rx_ctl_mid` 1 period (waiting for the next period's
//! RX_CTL samples), the receiver's FIFO write (with the write pointer's Gray register) 1
//! period, then on the core side the next core edge, a second synchroniser flop and the byte
//! time flop. Counted from the rising edge that starts the nibble's period that is 3 periods +
//! 40 to 60 ns (160–180 ns), one RXC period (40 ns) more than the rising-edge receiver before
//! it.
//! If RXC stopped inside a frame, MacRx would stay in that frame until RXC came back with its
//! end (RGMII PHYs keep RXC running without link).
//!
//! [`MacTx`]: crate::mac::tx::MacTx
//! [`MacRx`]: crate::mac::rx::MacRx
//! [`RmiiAdapter`]: super::rmii::RmiiAdapter
//! [`Oddr`]: super::ecp5_io::Oddr
//! [`Iddr`]: super::ecp5_io::Iddr
//! [`LutRam`]: crate::lutram::LutRam

use super::ecp5_io::{Iddr, Oddr};
use crate::lutram::LutRam;
use regs::nic::SFD_BYTE;
use rust_hdl::prelude::*;

/// States of the receiver, for the nibble being decided (the previous RXC period's).
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum RgmiiRxState {
    /// No carrier: waiting for RX_DV at a falling-edge sample.
    Idle,
    /// Preamble nibbles 0x5 seen: waiting for the 0xD that ends the SFD.
    Preamble,
    /// After the SFD: two nibbles per byte until the carrier ends.
    Data,
    /// Not a frame: waiting for the carrier to end.
    Drop,
}

/// Entries of the receive FIFO: bits 7:0 the byte, bit 8 rx_er, bit 9 end of frame.
pub const RX_ENTRY_BITS: usize = 10;
/// Receive FIFO depth (entries); its pointers have one bit more than its address.
pub const RX_FIFO_DEPTH: usize = 8;

#[derive(LogicBlock)]
pub struct RgmiiAdapter {
    /// The 50 MHz core clock.
    pub clock: Signal<In, Clock>,
    // ---- MAC TX side (outputs of MacTx) ----
    pub mac_txd: Signal<In, Bits<8>>,
    pub mac_tx_en: Signal<In, Bit>,
    pub mac_tx_er: Signal<In, Bit>,
    /// The MAC TX's clock enable: high one cycle in four.
    pub tx_ce: Signal<Out, Bit>,
    // ---- MAC RX side (inputs of MacRx) ----
    pub mac_rxd: Signal<Out, Bits<8>>,
    pub mac_rx_dv: Signal<Out, Bit>,
    pub mac_rx_er: Signal<Out, Bit>,
    /// The MAC RX's clock enable: high in the cycles where mac_rxd/mac_rx_dv/mac_rx_er hold a
    /// byte time.
    pub rx_ce: Signal<Out, Bit>,
    // ---- RGMII pins (PHY side) ----
    pub rgmii_txc: Signal<Out, Bit>,
    pub rgmii_txd: Signal<Out, Bits<4>>,
    pub rgmii_tx_ctl: Signal<Out, Bit>,
    /// The PHY's receive clock (25 MHz at 100 Mb/s).
    pub rgmii_rxc: Signal<In, Clock>,
    pub rgmii_rxd: Signal<In, Bits<4>>,
    pub rgmii_rx_ctl: Signal<In, Bit>,
    // ==== implementation ====
    // ---- transmit (core clock) ----
    /// The core cycle of the MAC's byte: 0, 1 the low nibble, 2, 3 the high one; `tx_ce` in 3.
    tx_phase: DFF<Bits<2>>,
    txc_out: Oddr<1>,
    txd_out: Oddr<4>,
    tx_ctl_out: Oddr<1>,
    // ---- receive (RXC) ----
    rxd_in: Iddr<4>,
    rx_ctl_in: Iddr<1>,
    /// The nibble and RX_CTL sampled at the falling edge in the middle of the RXC period
    /// being decided (the `Iddr`s' `q1`, one period later).
    rx_nibble: DFF<Bits<4>>,
    rx_ctl_mid: DFF<Bit>,
    /// RX_CTL at the next period's rising edge and at the falling edge after it.
    rx_ctl_next_rise: Signal<Local, Bit>,
    rx_ctl_next_mid: Signal<Local, Bit>,
    rx_fsm: DFF<RgmiiRxState>,
    /// The next data nibble is a byte's high nibble.
    rx_high: DFF<Bit>,
    rx_low: DFF<Bits<4>>,
    rx_low_er: DFF<Bit>,
    /// The decision for the period of `rx_nibble`: RX_DV starts a carrier, `rx_carrier`
    /// continues one (or ends it when low), `rx_er` marks the nibble.
    rx_dv: Signal<Local, Bit>,
    rx_carrier: Signal<Local, Bit>,
    rx_er: Signal<Local, Bit>,
    // ---- receive FIFO ----
    fifo: LutRam<Bits<RX_ENTRY_BITS>, 3>,
    push: Signal<Local, Bit>,
    push_entry: Signal<Local, Bits<RX_ENTRY_BITS>>,
    fifo_full: Signal<Local, Bit>,
    wr_bin: DFF<Bits<4>>,
    wr_bin_next: Signal<Local, Bits<4>>,
    wr_gray: DFF<Bits<4>>,
    /// The read pointer (Gray) in the RXC domain: first flop, then the one used.
    rd_gray_meta: DFF<Bits<4>>,
    rd_gray_sync: DFF<Bits<4>>,
    /// The write pointer (Gray) in the core domain.
    wr_gray_meta: DFF<Bits<4>>,
    wr_gray_sync: DFF<Bits<4>>,
    rd_bin: DFF<Bits<4>>,
    rd_bin_next: Signal<Local, Bits<4>>,
    rd_gray: DFF<Bits<4>>,
    fifo_empty: Signal<Local, Bit>,
    // ---- byte times to the MAC (core clock) ----
    /// Between an SFD entry and an end entry.
    in_frame: DFF<Bit>,
    /// Cycles since the last byte time (wraps).
    quiet_cycles: DFF<Bits<2>>,
    byte_time: DFF<Bit>,
    byte_data: DFF<Bits<8>>,
    byte_dv: DFF<Bit>,
    byte_er: DFF<Bit>,
    sfd_entry: Constant<Bits<RX_ENTRY_BITS>>,
    end_entry: Constant<Bits<RX_ENTRY_BITS>>,
    er_flag: Constant<Bits<RX_ENTRY_BITS>>,
    preamble_nibble: Constant<Bits<4>>,
    /// The high nibble of the SFD.
    sfd_nibble: Constant<Bits<4>>,
    /// A Gray pointer 8 entries ahead of another differs from it in exactly these bits.
    gray_full: Constant<Bits<4>>,
}

impl Default for RgmiiAdapter {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            mac_txd: Default::default(),
            mac_tx_en: Default::default(),
            mac_tx_er: Default::default(),
            tx_ce: Default::default(),
            mac_rxd: Default::default(),
            mac_rx_dv: Default::default(),
            mac_rx_er: Default::default(),
            rx_ce: Default::default(),
            rgmii_txc: Default::default(),
            rgmii_txd: Default::default(),
            rgmii_tx_ctl: Default::default(),
            rgmii_rxc: Default::default(),
            rgmii_rxd: Default::default(),
            rgmii_rx_ctl: Default::default(),
            tx_phase: Default::default(),
            txc_out: Default::default(),
            txd_out: Default::default(),
            tx_ctl_out: Default::default(),
            rxd_in: Default::default(),
            rx_ctl_in: Default::default(),
            rx_nibble: Default::default(),
            rx_ctl_mid: Default::default(),
            rx_ctl_next_rise: Default::default(),
            rx_ctl_next_mid: Default::default(),
            rx_fsm: Default::default(),
            rx_high: Default::default(),
            rx_low: Default::default(),
            rx_low_er: Default::default(),
            rx_dv: Default::default(),
            rx_carrier: Default::default(),
            rx_er: Default::default(),
            fifo: LutRam::new(RX_FIFO_DEPTH),
            push: Default::default(),
            push_entry: Default::default(),
            fifo_full: Default::default(),
            wr_bin: Default::default(),
            wr_bin_next: Default::default(),
            wr_gray: Default::default(),
            rd_gray_meta: Default::default(),
            rd_gray_sync: Default::default(),
            wr_gray_meta: Default::default(),
            wr_gray_sync: Default::default(),
            rd_bin: Default::default(),
            rd_bin_next: Default::default(),
            rd_gray: Default::default(),
            fifo_empty: Default::default(),
            in_frame: Default::default(),
            quiet_cycles: Default::default(),
            byte_time: Default::default(),
            byte_data: Default::default(),
            byte_dv: Default::default(),
            byte_er: Default::default(),
            sfd_entry: Constant::new((SFD_BYTE as u64).into()),
            end_entry: Constant::new((1u64 << 9).into()),
            er_flag: Constant::new((1u64 << 8).into()),
            preamble_nibble: Constant::new(0x5.into()),
            sfd_nibble: Constant::new(0xD.into()),
            gray_full: Constant::new(0b1100.into()),
        }
    }
}

impl Logic for RgmiiAdapter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            tx_phase,
            wr_gray_meta,
            wr_gray_sync,
            rd_bin,
            rd_gray,
            in_frame,
            quiet_cycles,
            byte_time,
            byte_data,
            byte_dv,
            byte_er
        );
        dff_setup!(
            self,
            rgmii_rxc,
            rx_nibble,
            rx_ctl_mid,
            rx_fsm,
            rx_high,
            rx_low,
            rx_low_er,
            wr_bin,
            wr_gray,
            rd_gray_meta,
            rd_gray_sync
        );
        // ---- outputs ----
        self.tx_ce.next = self.tx_phase.q.val() == 3;
        self.rgmii_txc.next = self.txc_out.pin.val().into();
        self.rgmii_txd.next = self.txd_out.pin.val();
        self.rgmii_tx_ctl.next = self.tx_ctl_out.pin.val().into();
        self.rx_ce.next = self.byte_time.q.val();
        self.mac_rxd.next = self.byte_data.q.val();
        self.mac_rx_dv.next = self.byte_dv.q.val();
        self.mac_rx_er.next = self.byte_er.q.val();

        // ---- transmit: the byte MacTx decided in phase 3 is stable in phases 0..=3 ----
        self.tx_phase.d.next = self.tx_phase.q.val() + 1;
        self.txc_out.clock.next = self.clock.val();
        self.txd_out.clock.next = self.clock.val();
        self.tx_ctl_out.clock.next = self.clock.val();
        if self.tx_phase.q.val().get_bit(1) {
            self.txd_out.d0.next = self.mac_txd.val().get_bits::<4>(4);
            self.txd_out.d1.next = self.mac_txd.val().get_bits::<4>(4);
        } else {
            self.txd_out.d0.next = self.mac_txd.val().get_bits::<4>(0);
            self.txd_out.d1.next = self.mac_txd.val().get_bits::<4>(0);
        }
        if self.tx_phase.q.val().get_bit(0) {
            // Second core cycle of the nibble window: TXC falls in its middle.
            self.txc_out.d0.next = 1.into();
            self.txc_out.d1.next = 0.into();
            self.tx_ctl_out.d0.next = (self.mac_tx_en.val() ^ self.mac_tx_er.val()).into();
            self.tx_ctl_out.d1.next = (self.mac_tx_en.val() ^ self.mac_tx_er.val()).into();
        } else {
            // First core cycle: TXC rises in its middle.
            self.txc_out.d0.next = 0.into();
            self.txc_out.d1.next = 1.into();
            self.tx_ctl_out.d0.next = self.mac_tx_en.val().into();
            self.tx_ctl_out.d1.next = self.mac_tx_en.val().into();
        }

        // ---- receive: the pins through the I/O cells, on RXC ----
        self.rxd_in.clock.next = self.rgmii_rxc.val();
        self.rx_ctl_in.clock.next = self.rgmii_rxc.val();
        self.rxd_in.pin.next = self.rgmii_rxd.val();
        self.rx_ctl_in.pin.next = self.rgmii_rx_ctl.val().into();
        // Period k's falling-edge samples (mid-window with or without the PHY's RXC delay)
        // wait a period for the next period's RX_CTL samples (see the module docs).
        self.rx_nibble.d.next = self.rxd_in.q1.val();
        self.rx_ctl_mid.d.next = self.rx_ctl_in.q1.val().into();
        self.rx_ctl_next_rise.next = self.rx_ctl_in.q0.val().into();
        self.rx_ctl_next_mid.next = self.rx_ctl_in.q1.val().into();
        self.rx_dv.next = self.rx_ctl_mid.q.val();
        self.rx_carrier.next = self.rx_ctl_mid.q.val() | self.rx_ctl_next_rise.val();
        self.rx_er.next = (!self.rx_ctl_mid.q.val() & self.rx_ctl_next_rise.val())
            | (self.rx_ctl_mid.q.val() & !self.rx_ctl_next_rise.val() & self.rx_ctl_next_mid.val());

        // ---- receive: nibbles to FIFO entries ----
        self.push.next = false;
        self.push_entry.next = self.end_entry.val();
        match self.rx_fsm.q.val() {
            RgmiiRxState::Idle => {
                if self.rx_dv.val() {
                    if self.rx_nibble.q.val() == self.preamble_nibble.val() {
                        self.rx_fsm.d.next = RgmiiRxState::Preamble;
                    } else {
                        self.rx_fsm.d.next = RgmiiRxState::Drop;
                    }
                }
            }
            RgmiiRxState::Preamble => {
                if !self.rx_carrier.val() {
                    self.rx_fsm.d.next = RgmiiRxState::Idle;
                } else if self.rx_nibble.q.val() == self.sfd_nibble.val() {
                    self.push.next = true;
                    self.push_entry.next = self.sfd_entry.val();
                    self.rx_high.d.next = false;
                    self.rx_fsm.d.next = RgmiiRxState::Data;
                } else if self.rx_nibble.q.val() != self.preamble_nibble.val() {
                    self.rx_fsm.d.next = RgmiiRxState::Drop;
                }
            }
            RgmiiRxState::Data => {
                if self.rx_carrier.val() {
                    if self.rx_high.q.val() {
                        self.push.next = true;
                        self.push_entry.next = bit_cast::<RX_ENTRY_BITS, 4>(self.rx_low.q.val())
                            | (bit_cast::<RX_ENTRY_BITS, 4>(self.rx_nibble.q.val()) << 4);
                        if self.rx_low_er.q.val() | self.rx_er.val() {
                            self.push_entry.next = self.push_entry.val() | self.er_flag.val();
                        }
                        self.rx_high.d.next = false;
                    } else {
                        self.rx_low.d.next = self.rx_nibble.q.val();
                        self.rx_low_er.d.next = self.rx_er.val();
                        self.rx_high.d.next = true;
                    }
                } else {
                    // The carrier ended: the end of the frame; a half byte is dropped.
                    self.push.next = true;
                    self.push_entry.next = self.end_entry.val();
                    self.rx_fsm.d.next = RgmiiRxState::Idle;
                }
            }
            RgmiiRxState::Drop => {
                if !self.rx_carrier.val() {
                    self.rx_fsm.d.next = RgmiiRxState::Idle;
                }
            }
        }

        // ---- receive FIFO: write side (RXC) ----
        self.rd_gray_meta.d.next = self.rd_gray.q.val();
        self.rd_gray_sync.d.next = self.rd_gray_meta.q.val();
        self.fifo_full.next =
            self.wr_gray.q.val() == (self.rd_gray_sync.q.val() ^ self.gray_full.val());
        self.wr_bin_next.next = self.wr_bin.q.val() + 1;
        self.fifo.clock.next = self.rgmii_rxc.val();
        self.fifo.write_address.next = self.wr_bin.q.val().get_bits::<3>(0);
        self.fifo.write_data.next = self.push_entry.val();
        self.fifo.write_enable.next = self.push.val() & !self.fifo_full.val();
        if self.push.val() & !self.fifo_full.val() {
            self.wr_bin.d.next = self.wr_bin_next.val();
            self.wr_gray.d.next = self.wr_bin_next.val() ^ (self.wr_bin_next.val() >> 1);
        }

        // ---- receive FIFO: read side (core) ----
        self.wr_gray_meta.d.next = self.wr_gray.q.val();
        self.wr_gray_sync.d.next = self.wr_gray_meta.q.val();
        self.fifo_empty.next = self.rd_gray.q.val() == self.wr_gray_sync.q.val();
        self.rd_bin_next.next = self.rd_bin.q.val() + 1;
        self.fifo.read_address.next = self.rd_bin.q.val().get_bits::<3>(0);

        // ---- byte times: each entry, and one with dv low every 4 quiet cycles between frames
        self.byte_time.d.next = false;
        self.quiet_cycles.d.next = self.quiet_cycles.q.val() + 1;
        if !self.fifo_empty.val() {
            self.rd_bin.d.next = self.rd_bin_next.val();
            self.rd_gray.d.next = self.rd_bin_next.val() ^ (self.rd_bin_next.val() >> 1);
            self.byte_time.d.next = true;
            self.quiet_cycles.d.next = 0.into();
            self.byte_data.d.next = self.fifo.read_data.val().get_bits::<8>(0);
            self.byte_er.d.next = self.fifo.read_data.val().get_bit(8);
            self.byte_dv.d.next = !self.fifo.read_data.val().get_bit(9);
            self.in_frame.d.next = !self.fifo.read_data.val().get_bit(9);
        } else if !self.in_frame.q.val() & (self.quiet_cycles.q.val() == 3) {
            self.byte_time.d.next = true;
            self.quiet_cycles.d.next = 0.into();
            self.byte_data.d.next = 0.into();
            self.byte_er.d.next = false;
            self.byte_dv.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::adapter_testing::*;
    use crate::mac::rx::MacRx;
    use crate::mac::tx::tests::{bursts, TxBench, TxFrame};
    use crate::testing::{clock_edge, settle};
    use rand::{rngs::StdRng, Rng, SeedableRng};
    use regs::nic::{MIN_FRAME_NO_FCS, PREAMBLE_BYTE, PREAMBLE_BYTES};
    use std::collections::VecDeque;

    /// One receive nibble period as the PHY drives it: (rx_dv, rx_er, rxd).
    type Nibble = (bool, bool, u8);

    /// Core clock half period (ps).
    const CORE_HALF_PS: u64 = 10_000;

    /// The nibbles of a frame: `preamble` nibbles 0x5 (15 for a full preamble), the SFD's
    /// 0xD, then the bytes low nibble first, all with RX_DV.
    fn frame_nibbles(preamble: usize, bytes: &[u8]) -> Vec<Nibble> {
        let mut out = vec![(true, false, 0x5); preamble];
        out.push((true, false, 0xD));
        for &b in bytes {
            out.push((true, false, b & 15));
            out.push((true, false, b >> 4));
        }
        out
    }

    fn idle(n: usize) -> Vec<Nibble> {
        vec![(false, false, 0); n]
    }

    /// Where the PHY's receive outputs change relative to RXC (at 100 Mb/s the nibble changes
    /// once per period, with RX_DV on RX_CTL; RX_CTL changes again half a period later to
    /// RX_DV xor RX_ER).
    #[derive(Copy, Clone, Debug, PartialEq, Eq)]
    enum Phy {
        /// No RXC delay in the PHY (RGMII 1.3 / RGMII-ID off): the outputs change with RXC's
        /// edges, modelled 1 ns after them, the worst case for the old rising-edge sampler
        /// (it takes the previous value).
        EdgeAligned,
        /// The PHY delays RXC by 2 ns (RGMII-ID): the outputs change 2 ns before RXC's edges.
        Delayed,
        /// The outputs change this many ps after RXC's edges (before them if negative).
        Skewed(i64),
        /// No PHY: the adapter's own TX pins looped back, RXC = TXC.
        LoopedBack,
    }

    impl Phy {
        /// When the outputs for an RXC edge change, relative to that edge (ps).
        fn launch_offset_ps(self) -> i64 {
            match self {
                Phy::EdgeAligned => 1_000,
                Phy::Delayed => -2_000,
                Phy::Skewed(ps) => ps,
                Phy::LoopedBack => 0,
            }
        }
    }

    /// The receive timings a PHY may have at power-up: both must work.
    const PHYS: [Phy; 2] = [Phy::EdgeAligned, Phy::Delayed];

    /// The adapter between a PHY model (or its own TX pins, looped back) and MacTx/MacRx, on
    /// two clocks: the 50 MHz core clock and RXC with its own period and phase (ps).
    struct Bench {
        uut: RgmiiAdapter,
        phy_timing: Phy,
        loopback: bool,
        t: u64,
        next_core: u64,
        core_high: bool,
        rxc_half: u64,
        next_rxc: u64,
        rxc_high: bool,
        /// The next change of the PHY's outputs (ps) and whether it is the one for a rising
        /// RXC edge (a new nibble with RX_DV) or for a falling one (RX_DV xor RX_ER).
        next_launch: u64,
        launch_for_rise: bool,
        /// The PHY's nibbles still to send, and the one on the pins.
        phy: VecDeque<Nibble>,
        current: Nibble,
        /// Times (ps) of the falling RXC edges that sampled a nibble with RX_DV, per nibble.
        rx_sample_ps: Vec<u64>,
        cycle: usize,
        tx: TxBench,
        /// (txc, txd, tx_ctl) in each core half cycle, from the start.
        pins: Vec<(bool, u8, bool)>,
        /// (tx_en, txd) on the MAC TX side in each core cycle, and the `tx_ce` cycles.
        mac_tx: Vec<(bool, u8)>,
        ce_cycles: Vec<usize>,
        byte_times: Vec<ByteTime>,
        mac: MacRx,
        open: Option<Vec<u8>>,
        mac_frames: Vec<MacFrame>,
    }

    impl Bench {
        fn new(rxc_period_ps: u64, rxc_phase_ps: u64, phy_timing: Phy) -> Self {
            let mut uut = RgmiiAdapter::default();
            uut.connect_all();
            settle(&mut uut);
            let mut mac = MacRx::default();
            mac.connect_all();
            mac.enable.next = true;
            mac.max_len.next = 2000.into();
            let first_rise = rxc_period_ps / 2 + rxc_phase_ps;
            Self {
                uut,
                phy_timing,
                loopback: phy_timing == Phy::LoopedBack,
                t: 0,
                next_core: CORE_HALF_PS,
                core_high: false,
                rxc_half: rxc_period_ps / 2,
                next_rxc: rxc_period_ps / 2 + rxc_phase_ps,
                rxc_high: false,
                next_launch: (first_rise as i64 + phy_timing.launch_offset_ps()) as u64,
                launch_for_rise: true,
                phy: VecDeque::new(),
                current: (false, false, 0),
                rx_sample_ps: Vec::new(),
                cycle: 0,
                tx: TxBench::new(7, 1.0, 12),
                pins: Vec::new(),
                mac_tx: Vec::new(),
                ce_cycles: Vec::new(),
                byte_times: Vec::new(),
                mac,
                open: None,
                mac_frames: Vec::new(),
            }
        }

        fn loop_pins_back(&mut self) {
            if self.loopback {
                let u = &mut self.uut;
                u.rgmii_rxd.next = u.rgmii_txd.val();
                u.rgmii_rx_ctl.next = u.rgmii_tx_ctl.val();
                settle(u);
                u.rgmii_rxc.next = Clock {
                    clk: u.rgmii_txc.val(),
                };
                settle(u);
            }
        }

        /// The MAC side of one core cycle (before its rising edge).
        fn mac_cycle(&mut self) {
            let u = &mut self.uut;
            // ---- RX: record the byte time and feed MacRx ----
            if u.rx_ce.val() {
                self.byte_times.push(ByteTime {
                    cycle: self.cycle,
                    dv: u.mac_rx_dv.val(),
                    er: u.mac_rx_er.val(),
                    data: u.mac_rxd.val().to_u8(),
                });
            }
            let m = &mut self.mac;
            m.ce.next = u.rx_ce.val();
            m.rxd.next = u.mac_rxd.val();
            m.rx_dv.next = u.mac_rx_dv.val();
            m.rx_er.next = u.mac_rx_er.val();
            settle(m);
            if m.frame_start.val() {
                assert!(self.open.is_none(), "MacRx frame_start inside a frame");
                self.open = Some(Vec::new());
            }
            if m.byte_valid.val() {
                let byte = m.byte_data.val().to_u8();
                self.open.as_mut().expect("byte outside a frame").push(byte);
            }
            if m.frame_end.val() {
                let bytes = self.open.take().expect("frame_end without frame_start");
                self.mac_frames.push(MacFrame {
                    bytes,
                    err_crc: m.err_crc.val(),
                    err_rxer: m.err_rxer.val(),
                });
            }
            clock_edge(m, |m| &mut m.clock);
            // ---- TX: MacTx paced by tx_ce ----
            self.tx.set_inputs();
            let ce = u.tx_ce.val();
            if ce {
                self.ce_cycles.push(self.cycle);
            }
            self.tx.ce_now = ce;
            self.tx.uut.ce.next = ce;
            settle(&mut self.tx.uut);
            u.mac_txd.next = self.tx.uut.txd.val();
            u.mac_tx_en.next = self.tx.uut.tx_en.val();
            u.mac_tx_er.next = self.tx.uut.tx_er.val();
            settle(u);
            self.mac_tx
                .push((u.mac_tx_en.val(), u.mac_txd.val().to_u8()));
            self.tx.finish_cycle();
        }

        fn record_pins(&mut self) {
            let u = &self.uut;
            self.pins.push((
                u.rgmii_txc.val(),
                u.rgmii_txd.val().to_u8(),
                u.rgmii_tx_ctl.val(),
            ));
        }

        /// Process the next event: a change of the PHY's outputs (`phy_timing` from each RXC
        /// edge), an RXC edge, or a core clock edge.
        fn step(&mut self) {
            let phy_pin = !self.loopback
                && self.next_launch < self.next_core
                && self.next_launch < self.next_rxc;
            let phy_rxc = !self.loopback && self.next_rxc < self.next_core;
            if phy_pin {
                self.t = self.next_launch;
                let u = &mut self.uut;
                if self.launch_for_rise {
                    // For a rising edge: the next nibble and RX_DV.
                    self.current = self.phy.pop_front().unwrap_or((false, false, 0));
                    u.rgmii_rxd.next = (self.current.2 as u64).into();
                    u.rgmii_rx_ctl.next = self.current.0;
                } else {
                    u.rgmii_rx_ctl.next = self.current.0 ^ self.current.1;
                }
                settle(u);
                self.launch_for_rise = !self.launch_for_rise;
                self.next_launch += self.rxc_half;
            } else if phy_rxc {
                self.t = self.next_rxc;
                self.rxc_high = !self.rxc_high;
                if !self.rxc_high && self.current.0 {
                    self.rx_sample_ps.push(self.t);
                }
                self.uut.rgmii_rxc.next = Clock { clk: self.rxc_high };
                settle(&mut self.uut);
                self.next_rxc += self.rxc_half;
            } else {
                self.t = self.next_core;
                if !self.core_high {
                    self.mac_cycle();
                    self.cycle += 1;
                }
                self.core_high = !self.core_high;
                self.uut.clock.next = Clock {
                    clk: self.core_high,
                };
                settle(&mut self.uut);
                self.loop_pins_back();
                self.record_pins();
                self.next_core += CORE_HALF_PS;
            }
        }

        fn run_cycles(&mut self, n: usize) {
            let end = self.cycle + n;
            while self.cycle < end {
                self.step();
            }
        }

        /// Send `nibbles` from the PHY and wait until they are out and everything has come
        /// through.
        fn receive(&mut self, nibbles: &[Nibble]) {
            self.phy.extend(nibbles.iter().copied());
            assert!(self.phy_timing != Phy::LoopedBack);
            while !self.phy.is_empty() {
                self.step();
            }
            self.run_cycles(40);
        }

        /// Send the frames through MacTx and wait until the pins are idle again.
        fn transmit(&mut self, frames: &[TxFrame]) {
            for f in frames {
                self.tx.queue(f.clone());
            }
            while self.tx.queued_frames() > 0 || self.tx.uut.busy.val() {
                self.step();
                assert!(self.cycle < 10_000_000, "frames never went out");
            }
            self.run_cycles(60);
        }

        /// Cut the byte times into frames, checking the contract MacRx relies on: a frame is
        /// the SFD, then its bytes, then a byte time with rx_dv low; between frames a byte
        /// time with rx_dv low at least every 4 cycles.
        fn handed_frames(&self) -> Vec<Handed> {
            let mut frames = Vec::new();
            let mut open: Option<Handed> = None;
            let mut last_cycle = 0;
            for t in &self.byte_times {
                if open.is_none() {
                    assert!(t.cycle - last_cycle <= 4, "idle rx_ce gap before {t:?}");
                }
                last_cycle = t.cycle;
                match (&mut open, t.dv) {
                    (None, false) => assert!(!t.er),
                    (None, true) => {
                        assert_eq!(t.data, SFD_BYTE, "a frame starts with the SFD: {t:?}");
                        assert!(!t.er, "rx_er with the SFD: {t:?}");
                        open = Some(Vec::new());
                    }
                    (Some(bytes), true) => bytes.push((t.data, t.er)),
                    (Some(_), false) => frames.push(open.take().unwrap()),
                }
            }
            assert!(open.is_none(), "a frame never ended");
            frames
        }
    }

    /// Receive `frames` (bytes after the SFD, preamble nibbles, idle nibbles after) and check
    /// each comes out whole, at the byte-time level and through MacRx.
    fn receive_and_check(b: &mut Bench, frames: &[(Vec<u8>, usize, usize)]) {
        let mut nibbles = idle(3);
        for (bytes, preamble, gap) in frames {
            nibbles.extend(frame_nibbles(*preamble, bytes));
            nibbles.extend(idle(*gap));
        }
        b.receive(&nibbles);
        let handed = b.handed_frames();
        let expect: Vec<Handed> = frames.iter().map(|(f, _, _)| handed_good(f)).collect();
        assert_eq!(handed, expect);
        let expect: Vec<MacFrame> = frames.iter().map(|(f, _, _)| mac_good(f)).collect();
        assert_eq!(b.mac_frames, expect);
    }

    /// RXC periods: exactly 25 MHz, 100 ppm slow, 100 ppm fast; with phases unaligned to the
    /// core clock.
    const RXC: [(u64, u64); 3] = [(40_000, 7_300), (40_004, 13_100), (39_996, 2_900)];

    // ---- transmit ----

    #[test]
    fn tx_ce_is_high_one_cycle_in_four() {
        let mut b = Bench::new(40_000, 0, Phy::LoopedBack);
        b.run_cycles(64);
        let expect: Vec<usize> = (0..64).filter(|c| c % 4 == 3).collect();
        assert_eq!(b.ce_cycles, expect);
    }

    /// The nibble windows a PHY samples: at each rising TXC edge (TXD, TX_CTL) and at the
    /// falling edge after it (TX_CTL). Checks that TXC has a 40 ns period, rises one half
    /// cycle (10 ns) after TXD and TX_CTL change and falls one half cycle after TX_CTL's
    /// mid-window change, with TXD stable over the whole window.
    fn phy_samples(pins: &[(bool, u8, bool)]) -> Vec<(u8, bool, bool)> {
        let rises: Vec<usize> = (1..pins.len())
            .filter(|&i| pins[i].0 && !pins[i - 1].0)
            .collect();
        assert!(rises.len() > 10);
        let mut out = Vec::new();
        for w in rises.windows(2) {
            assert_eq!(w[1] - w[0], 4, "TXC period is 4 half cycles (40 ns)");
            let r = w[0];
            // The window: half cycles r-1 ..= r+2; TXC high in r, r+1.
            assert!(!pins[r - 1].0 && pins[r].0 && pins[r + 1].0 && !pins[r + 2].0);
            let txd = pins[r].1;
            assert!(
                (r - 1..=r + 2).all(|i| pins[i].1 == txd),
                "TXD stable in the window"
            );
            assert_eq!(
                pins[r - 1].2,
                pins[r].2,
                "TX_CTL stable around the rising edge"
            );
            assert_eq!(
                pins[r + 1].2,
                pins[r + 2].2,
                "TX_CTL stable around the falling edge"
            );
            out.push((txd, pins[r].2, pins[r + 2].2));
        }
        out
    }

    fn random_tx_frames(rng: &mut StdRng, n: usize) -> Vec<TxFrame> {
        (0..n)
            .map(|_| {
                let len = rng.gen_range(1..=300);
                TxFrame {
                    ifcs: true,
                    ..TxFrame::random(rng, len)
                }
            })
            .collect()
    }

    fn preamble_sfd_and(wire: &[u8]) -> Vec<u8> {
        let mut p = vec![PREAMBLE_BYTE; PREAMBLE_BYTES as usize - 1];
        p.push(SFD_BYTE);
        p.extend_from_slice(wire);
        p
    }

    #[test]
    fn tx_each_mac_byte_leaves_as_two_nibbles_low_first_with_tx_ctl_on_both_edges() {
        let mut rng = StdRng::seed_from_u64(401);
        let frames = random_tx_frames(&mut rng, 8);
        let mut b = Bench::new(40_000, 0, Phy::Delayed);
        b.transmit(&frames);
        let samples = phy_samples(&b.pins);
        // TX_CTL: TX_EN at the rising edge, TX_EN xor TX_ER (MacTx: TX_ER low) at the falling.
        assert!(samples.iter().all(|&(_, en, en_xor_er)| en == en_xor_er));
        // Nibble pairs, low first, with TX_EN, are the frames with preamble and SFD.
        let nibbles: Vec<(bool, u8)> = samples.iter().map(|&(d, en, _)| (en, d)).collect();
        let got = bursts(&nibbles);
        assert_eq!(got.len(), frames.len());
        for (k, (f, (_, nib))) in frames.iter().zip(&got).enumerate() {
            assert_eq!(nib.len() % 2, 0, "frame {k}: whole bytes");
            let bytes: Vec<u8> = nib.chunks(2).map(|p| p[0] | (p[1] << 4)).collect();
            assert_eq!(bytes, preamble_sfd_and(&f.on_the_wire()), "frame {k}");
        }
    }

    #[test]
    fn tx_latency_is_three_cycles_from_mac_txd_to_the_low_nibble() {
        let mut rng = StdRng::seed_from_u64(402);
        let frames = random_tx_frames(&mut rng, 2);
        let mut b = Bench::new(40_000, 0, Phy::Delayed);
        b.transmit(&frames);
        // The first cycle with mac_tx_en (phase 0 of the first preamble byte).
        let first = b.mac_tx.iter().position(|&(en, _)| en).unwrap();
        assert_eq!(first % 4, 0, "a byte starts in phase 0");
        // pins[2c] is the first half of core cycle c + 1 (recorded after the rising edge
        // that ends cycle c).
        let pin_first = (0..b.pins.len()).find(|&i| b.pins[i].2).unwrap();
        assert_eq!(pin_first % 2, 0, "TX_CTL rises at a core rising edge");
        assert_eq!(
            pin_first / 2 + 1,
            first + 3,
            "3 cycles from mac_txd to the pins"
        );
        // The first nibble (low nibble of 0x55) for two cycles, TXC rising in its middle.
        let p = &b.pins[pin_first..pin_first + 4];
        assert!(p.iter().all(|&(_, d, en)| d == 5 && en));
        assert_eq!(
            p.iter().map(|x| x.0).collect::<Vec<_>>(),
            [false, true, true, false]
        );
    }

    #[test]
    fn tx_er_goes_out_as_tx_ctl_low_at_the_falling_edge() {
        // Straight at the MAC pins: a byte with tx_en and tx_er, one with tx_er only.
        let mut u = RgmiiAdapter::default();
        u.connect_all();
        let mut pins = Vec::new();
        let bytes = [
            (false, false),
            (true, true),
            (false, true),
            (true, false),
            (false, false),
        ];
        for _ in 0..2 {
            for &(en, er) in &bytes {
                for _ in 0..4 {
                    u.mac_txd.next = 0xA3.into();
                    u.mac_tx_en.next = en;
                    u.mac_tx_er.next = er;
                    u.clock.next = Clock { clk: true };
                    settle(&mut u);
                    pins.push((
                        u.rgmii_txc.val(),
                        u.rgmii_txd.val().to_u8(),
                        u.rgmii_tx_ctl.val(),
                    ));
                    u.clock.next = Clock { clk: false };
                    settle(&mut u);
                    pins.push((
                        u.rgmii_txc.val(),
                        u.rgmii_txd.val().to_u8(),
                        u.rgmii_tx_ctl.val(),
                    ));
                }
            }
        }
        let s = phy_samples(&pins);
        let ctl: Vec<(bool, bool)> = s.iter().map(|&(_, a, b)| (a, b)).collect();
        // Per byte two nibble windows, each (TX_EN, TX_EN xor TX_ER).
        let want: Vec<(bool, bool)> = bytes
            .iter()
            .flat_map(|&(en, er)| [(en, en ^ er), (en, en ^ er)])
            .collect();
        assert!(ctl.windows(want.len()).any(|w| w == want), "{ctl:?}");
    }

    // ---- receive ----

    /// Frames of random lengths with short and odd preambles.
    fn random_frames(rng: &mut StdRng, n: usize) -> Vec<(Vec<u8>, usize, usize)> {
        (0..n)
            .map(|_| {
                let len = if rng.gen_bool(0.5) {
                    rng.gen_range(0..=80)
                } else {
                    rng.gen_range(MIN_FRAME_NO_FCS as usize..=1514)
                };
                (
                    random_frame(rng, len),
                    rng.gen_range(1..=15),
                    rng.gen_range(24..=80),
                )
            })
            .collect()
    }

    #[test]
    fn rx_random_frames_come_out_as_the_sfd_then_every_byte_once() {
        for phy in PHYS {
            for (k, &(period, phase)) in RXC.iter().enumerate() {
                let mut rng = StdRng::seed_from_u64(500 + k as u64);
                let frames = random_frames(&mut rng, 10);
                let mut b = Bench::new(period, phase, phy);
                receive_and_check(&mut b, &frames);
            }
        }
    }

    #[test]
    fn rx_back_to_back_frames_with_the_minimum_gap() {
        for phy in PHYS {
            for (k, &(period, phase)) in RXC.iter().enumerate() {
                let mut rng = StdRng::seed_from_u64(510 + k as u64);
                // 12 bytes of inter-frame gap = 24 nibbles; odd and short preambles.
                let frames: Vec<(Vec<u8>, usize, usize)> = (0..12)
                    .map(|i| {
                        let len = MIN_FRAME_NO_FCS as usize;
                        (random_frame(&mut rng, len), [15, 1, 6, 3][i % 4], 24)
                    })
                    .collect();
                let mut b = Bench::new(period, phase, phy);
                receive_and_check(&mut b, &frames);
            }
        }
    }

    /// Frames with RX_ER on 1 to 3 random nibbles (never the last: see
    /// `rx_er_in_the_last_nibble_is_not_seen_edge_aligned_and_cuts_the_frame_delayed`), also
    /// on a preamble nibble, and a false carrier one nibble after each frame; the nibbles and
    /// the bytes they mark as handed to the MAC.
    fn frames_with_rx_er(rng: &mut StdRng, n: usize) -> (Vec<Nibble>, Vec<Handed>) {
        let mut nibbles = idle(4);
        let mut expect = Vec::new();
        for _ in 0..n {
            let len = rng.gen_range(60..=120);
            let bytes = random_frame(rng, len);
            let mut n = frame_nibbles(15, &bytes);
            let mut handed = handed_good(&bytes);
            for _ in 0..rng.gen_range(1..=3) {
                let i = rng.gen_range(0..2 * bytes.len() - 1);
                n[16 + i].1 = true;
                handed[i / 2].1 = true;
            }
            // RX_ER in the preamble is not a frame byte's; nor without RX_DV after the frame.
            n[3].1 = true;
            nibbles.extend(n);
            nibbles.extend([(false, false, 0), (false, true, 0xE), (false, true, 0xE)]);
            nibbles.extend(idle(24));
            expect.push(handed);
        }
        (nibbles, expect)
    }

    #[test]
    fn rx_er_marks_the_byte_it_falls_in() {
        for phy in PHYS {
            for (k, &(period, phase)) in RXC.iter().enumerate() {
                let mut rng = StdRng::seed_from_u64(520 + k as u64);
                let mut b = Bench::new(period, phase, phy);
                let (nibbles, expect) = frames_with_rx_er(&mut rng, 6);
                b.receive(&nibbles);
                assert_eq!(b.handed_frames(), expect, "{phy:?} {period}");
                assert_eq!(b.mac_frames.len(), 6);
                assert!(b.mac_frames.iter().all(|f| f.err_rxer && !f.err_crc));
            }
        }
    }

    #[test]
    fn rx_er_in_the_last_nibble_is_not_seen_edge_aligned_and_cuts_the_frame_delayed() {
        // The only RX_ER pulse the samples cannot tell from the frame's end: without the
        // PHY's delay it runs from the last falling edge into RX_DV's fall, which is what a
        // clean end looks like with the delay. So the frame is either taken whole and unmarked
        // (its FCS is then the only check, as it is here) or loses its last byte (FCS error).
        let mut rng = StdRng::seed_from_u64(525);
        let bytes = random_frame(&mut rng, 70);
        let mut n = frame_nibbles(15, &bytes);
        n.last_mut().unwrap().1 = true;
        n.extend(idle(24));
        for (phy, kept, err_crc) in [
            (Phy::EdgeAligned, bytes.len(), false),
            (Phy::Delayed, bytes.len() - 1, true),
        ] {
            let mut b = Bench::new(RXC[0].0, RXC[0].1, phy);
            b.receive(&n);
            assert_eq!(b.handed_frames(), vec![handed_good(&bytes[..kept])]);
            assert_eq!(b.mac_frames[0].err_crc, err_crc, "{phy:?}");
            assert!(!b.mac_frames[0].err_rxer);
        }
    }

    #[test]
    fn rx_frames_and_rx_er_come_through_at_any_phy_skew_from_minus_15_to_15_ns() {
        // Wherever RXD and RX_CTL change within ±15 ns of RXC's edges (0 would be a race in
        // the simulator), the falling edge samples the nibble and RX_DV at least 5 ns from a
        // change: good frames come through byte for byte and a frame with RX_ER is marked.
        for ns in [-15i64, -10, -5, -3, -1, 1, 3, 5, 10, 15] {
            let mut rng = StdRng::seed_from_u64(560 + ns.unsigned_abs());
            let (period, phase) = RXC[(ns.unsigned_abs() % 3) as usize];
            let mut b = Bench::new(period, phase, Phy::Skewed(1_000 * ns));
            receive_and_check(&mut b, &random_frames(&mut rng, 3));
            let mut b = Bench::new(period, phase, Phy::Skewed(1_000 * ns));
            let (nibbles, expect) = frames_with_rx_er(&mut rng, 2);
            b.receive(&nibbles);
            assert_eq!(b.handed_frames(), expect, "{ns} ns");
        }
    }

    #[test]
    fn rx_false_carrier_and_bad_preambles_give_no_byte_times_with_rx_dv() {
        for phy in PHYS {
            let mut rng = StdRng::seed_from_u64(530);
            let (period, phase) = RXC[2];
            let mut b = Bench::new(period, phase, phy);
            let good = random_frame(&mut rng, 60);
            let events: Vec<Vec<Nibble>> = vec![
                // False carrier: RX_DV low, RX_ER high, RXD 0xE.
                vec![(false, true, 0xE); 40],
                // Preamble only: RX_DV falls before the SFD.
                vec![(true, false, 0x5); 15],
                // Not a preamble: the first nibble is not 0x5; then 0x5 then garbage.
                [vec![(true, false, 0x0)], frame_nibbles(15, &good)].concat(),
                [
                    vec![(true, false, 0x5), (true, false, 0x7)],
                    frame_nibbles(15, &good),
                ]
                .concat(),
                // 0xD with no 0x5 before it.
                [
                    vec![(true, false, 0xD)],
                    frame_nibbles(15, &good)[16..].to_vec(),
                ]
                .concat(),
            ];
            let mut nibbles = Vec::new();
            for e in &events {
                nibbles.extend(idle(24));
                nibbles.extend(e.iter().copied());
            }
            nibbles.extend(idle(24));
            b.receive(&nibbles);
            assert!(b.byte_times.iter().all(|t| !t.dv), "a byte time with rx_dv");
            assert!(b.mac_frames.is_empty());
            assert!(b.byte_times.len() > 100);
            // The next good frame is taken.
            let mut n = frame_nibbles(15, &good);
            n.extend(idle(8));
            b.receive(&n);
            assert_eq!(b.handed_frames(), vec![handed_good(&good)]);
            assert_eq!(b.mac_frames, vec![mac_good(&good)]);
        }
    }

    #[test]
    fn rx_frame_ending_mid_byte_drops_the_half_byte() {
        for phy in PHYS {
            let mut rng = StdRng::seed_from_u64(540);
            let mut b = Bench::new(RXC[0].0, RXC[0].1, phy);
            let bytes = random_frame(&mut rng, 70);
            let mut n = frame_nibbles(15, &bytes);
            n.pop();
            n.extend(idle(24));
            b.receive(&n);
            let kept = &bytes[..bytes.len() - 1];
            assert_eq!(b.handed_frames(), vec![handed_good(kept)]);
            assert!(b.mac_frames[0].err_crc);
        }
    }

    #[test]
    fn rx_ce_strobes_every_4_cycles_with_rx_dv_low_while_idle() {
        let mut b = Bench::new(RXC[1].0, RXC[1].1, Phy::Delayed);
        b.run_cycles(200);
        let cycles: Vec<usize> = b.byte_times.iter().map(|t| t.cycle).collect();
        assert_eq!(cycles, (1..50).map(|k| 4 * k).collect::<Vec<_>>());
        assert!(b.byte_times.iter().all(|t| !t.dv && !t.er));
    }

    #[test]
    fn rx_latency_is_within_the_documented_range() {
        let mut rng = StdRng::seed_from_u64(550);
        for phy in PHYS {
            for &(period, phase) in &RXC {
                let mut b = Bench::new(period, phase, phy);
                let bytes = random_frame(&mut rng, 200);
                let mut n = idle(5);
                n.extend(frame_nibbles(15, &bytes));
                n.extend(idle(24));
                b.receive(&n);
                // Falling RXC edges that sampled the nibbles with RX_DV: 16 preamble/SFD, then
                // two per byte; a byte's high nibble is sample 16 + 2i + 1; the SFD is 15.
                let frame: Vec<&ByteTime> = b.byte_times.iter().filter(|t| t.dv).collect();
                assert_eq!(frame.len(), 1 + bytes.len());
                let mut lat = Vec::new();
                for (i, t) in frame.iter().enumerate() {
                    let sample = if i == 0 { 15 } else { 16 + 2 * (i - 1) + 1 };
                    // The byte time of cycle c is seen just before the core rising edge at
                    // 2c + 1 half periods; it started at the edge before.
                    let seen = (2 * t.cycle as u64 - 1) * CORE_HALF_PS;
                    lat.push(seen - b.rx_sample_ps[sample]);
                }
                let (lo, hi) = (*lat.iter().min().unwrap(), *lat.iter().max().unwrap());
                // 2½ RXC periods to the FIFO write (the Iddr's rising edge, the next period's
                // RX_CTL samples, the decision), then 2 to 3 core cycles (the write pointer's
                // two synchroniser flops, the byte time flop), from the next core edge.
                let to_write = 5 * period / 2;
                assert!(lo > to_write + 40_000, "{phy:?} {period}: {lo}");
                assert!(hi <= to_write + 60_000, "{phy:?} {period}: {hi}");
                eprintln!("RX latency, {phy:?}, RXC {period} ps: {lo}..={hi} ps");
            }
        }
    }

    // ---- both ----

    #[test]
    fn loopback_returns_the_mac_tx_byte_stream() {
        let mut rng = StdRng::seed_from_u64(601);
        let frames = random_tx_frames(&mut rng, 8);
        let mut b = Bench::new(40_000, 0, Phy::LoopedBack);
        b.transmit(&frames);
        let expect: Vec<Handed> = frames
            .iter()
            .map(|f| handed_good(&f.on_the_wire()))
            .collect();
        assert_eq!(b.handed_frames(), expect);
        let expect: Vec<MacFrame> = frames.iter().map(|f| mac_good(&f.on_the_wire())).collect();
        assert_eq!(b.mac_frames, expect);
    }
    // ---- the generated Verilog, with the primitives' behavioural models ----

    /// A PHY at the pins in Icarus: RXC 25 MHz + 100 ppm at 7.3 ns from the core clock, its
    /// outputs changing 1 ns after RXC's edges (`Phy::EdgeAligned`) or 2 ns before them
    /// (`Phy::Delayed`); a frame with a short preamble, then the same frame with RX_ER on one
    /// nibble, checked on the MAC side; and a byte stream paced by `tx_ce`, checked as a PHY
    /// samples TXD and TX_CTL at TXC's edges.
    fn icarus_testbench(frame: &[u8], tx: &[u8], phy: Phy) -> String {
        let init = |name: &str, bytes: &[u8]| -> String {
            bytes
                .iter()
                .enumerate()
                .map(|(i, b)| format!("        {name}[{i}] = 8'h{b:02x};\n"))
                .collect()
        };
        let nibble_task = match phy {
            Phy::EdgeAligned => {
                "    // The PHY without its RXC delay: the nibble with RX_DV 1 ns after the rising RXC
    // edge, RX_CTL = RX_DV xor RX_ER 1 ns after the falling edge.
    task nibble(input dv, input er, input [3:0] d);
        begin
            @(posedge rxc) #1 begin rxd = d; rx_ctl = dv; end
            @(negedge rxc) #1 rx_ctl = dv ^ er;
        end
    endtask"
            }
            Phy::Delayed => {
                "    // The PHY with its 2 ns RXC delay: the nibble with RX_DV 2 ns before the rising RXC
    // edge, RX_CTL = RX_DV xor RX_ER 2 ns before the falling edge.
    task nibble(input dv, input er, input [3:0] d);
        begin
            @(negedge rxc) #17.998 begin rxd = d; rx_ctl = dv; end
            @(posedge rxc) #17.998 rx_ctl = dv ^ er;
        end
    endtask"
            }
            _ => unreachable!("a PHY at the pins"),
        };
        format!(
            r#"`timescale 1ns/1ps
module tb;
    reg clock = 0;
    always #10 clock = ~clock;
    reg rxc = 0;
    initial begin #7.3; forever #19.998 rxc = ~rxc; end
    reg [7:0] mac_txd = 0;
    reg mac_tx_en = 0;
    reg mac_tx_er = 0;
    reg [3:0] rxd = 0;
    reg rx_ctl = 0;
    wire tx_ce, rx_ce, mac_rx_dv, mac_rx_er, txc, tx_ctl;
    wire [7:0] mac_rxd;
    wire [3:0] txd;
    top dut(.clock(clock), .mac_txd(mac_txd), .mac_tx_en(mac_tx_en), .mac_tx_er(mac_tx_er),
        .tx_ce(tx_ce), .mac_rxd(mac_rxd), .mac_rx_dv(mac_rx_dv), .mac_rx_er(mac_rx_er),
        .rx_ce(rx_ce), .rgmii_txc(txc), .rgmii_txd(txd), .rgmii_tx_ctl(tx_ctl),
        .rgmii_rxc(rxc), .rgmii_rxd(rxd), .rgmii_rx_ctl(rx_ctl));

    reg [7:0] frame [0:{nf}];
    reg [7:0] tx [0:{nt}];
    // The bytes of the two frames with rx_dv (SFD first), and how many had rx_er.
    reg [7:0] got0 [0:{nf} + 1];
    reg [7:0] got1 [0:{nf} + 1];
    reg [7:0] sent [0:{nt}];
    integer ngot0 = 0, ngot1 = 0, er0 = 0, er1 = 0, nframes = 0;
    integer nsent = 0, errors = 0, i, k;
    reg in_frame = 0;
    reg [3:0] low;
    reg high = 0;
    reg en_at_rise = 0;

{nibble_task}

    // The MAC RX side.
    always @(posedge clock) if (rx_ce) begin
        if (mac_rx_dv) begin
            in_frame = 1;
            if (nframes == 0) begin
                got0[ngot0] = mac_rxd; ngot0 = ngot0 + 1; er0 = er0 + mac_rx_er;
            end else begin
                got1[ngot1] = mac_rxd; ngot1 = ngot1 + 1; er1 = er1 + mac_rx_er;
            end
        end else if (in_frame) begin
            in_frame = 0;
            nframes = nframes + 1;
        end
    end

    // The PHY's TX side: TXD and TX_EN at the rising TXC edge, TX_EN^TX_ER at the falling.
    always @(posedge txc) en_at_rise <= tx_ctl;
    always @(posedge txc) if (tx_ctl) begin
        if (high) begin sent[nsent] = {{txd, low}}; nsent = nsent + 1; end
        else low = txd;
        high = ~high;
    end
    always @(negedge txc) if (tx_ctl != en_at_rise) errors = errors + 1000;

    // The MAC TX side: a new byte after each tx_ce cycle.
    initial begin
{init_frame}{init_tx}        k = 0;
        repeat (20) @(posedge clock);
        while (k <= {nt}) begin
            @(posedge clock);
            if (tx_ce) begin mac_txd <= tx[k]; mac_tx_en <= 1; k = k + 1; end
        end
        @(posedge clock);
        while (!tx_ce) @(posedge clock);
        mac_tx_en <= 0;
    end

    initial begin
        for (i = 0; i < 20; i = i + 1) nibble(0, 0, 0);
        // A false carrier, then a frame with a 5-nibble preamble.
        for (i = 0; i < 10; i = i + 1) nibble(0, 1, 4'he);
        for (i = 0; i < 24; i = i + 1) nibble(0, 0, 0);
        for (i = 0; i < 5; i = i + 1) nibble(1, 0, 4'h5);
        nibble(1, 0, 4'hd);
        for (i = 0; i <= {nf}; i = i + 1) begin
            nibble(1, 0, frame[i][3:0]);
            nibble(1, 0, frame[i][7:4]);
        end
        for (i = 0; i < 40; i = i + 1) nibble(0, 0, 0);
        // The same frame with RX_ER on the high nibble of byte 10 (MAC byte 11 after the SFD).
        for (i = 0; i < 15; i = i + 1) nibble(1, 0, 4'h5);
        nibble(1, 0, 4'hd);
        for (i = 0; i <= {nf}; i = i + 1) begin
            nibble(1, 0, frame[i][3:0]);
            nibble(1, i == 10, frame[i][7:4]);
        end
        for (i = 0; i < 40; i = i + 1) nibble(0, 0, 0);
        #2000;
        if (nframes != 2) begin $display("FAIL: %0d frames ended", nframes); errors = errors + 1; end
        if (ngot0 != {nf} + 2) begin $display("FAIL: %0d bytes received", ngot0); errors = errors + 1; end
        if (ngot1 != {nf} + 2) begin $display("FAIL: %0d bytes received", ngot1); errors = errors + 1; end
        if (got0[0] !== 8'hd5 || got1[0] !== 8'hd5) begin
            $display("FAIL: no SFD first: %h %h", got0[0], got1[0]); errors = errors + 1;
        end
        for (i = 0; i <= {nf}; i = i + 1)
            if (got0[i + 1] !== frame[i] || got1[i + 1] !== frame[i]) begin
                $display("FAIL: rx byte %0d %h %h, want %h", i, got0[i + 1], got1[i + 1], frame[i]);
                errors = errors + 1;
            end
        if (er0 != 0) begin $display("FAIL: rx_er in the clean frame"); errors = errors + 1; end
        if (er1 != 1) begin $display("FAIL: %0d bytes with rx_er, want 1", er1); errors = errors + 1; end
        if (nsent != {nt} + 1) begin $display("FAIL: %0d bytes sent", nsent); errors = errors + 1; end
        for (i = 0; i <= {nt}; i = i + 1)
            if (sent[i] !== tx[i]) begin
                $display("FAIL: tx byte %0d %h, want %h", i, sent[i], tx[i]);
                errors = errors + 1;
            end
        if (errors == 0) $display("PASS");
        else $display("FAIL: %0d errors", errors);
        $finish;
    end
endmodule
"#,
            nf = frame.len() - 1,
            nt = tx.len() - 1,
            init_frame = init("frame", frame),
            init_tx = init("tx", tx),
            nibble_task = nibble_task,
        )
    }

    #[test]
    fn its_verilog_with_the_ddr_models_works_at_the_pins_in_icarus() {
        for phy in PHYS {
            icarus_run(phy);
        }
    }

    fn icarus_run(phy: Phy) {
        let mut rng = StdRng::seed_from_u64(701);
        let frame = random_frame(&mut rng, 60);
        let tx = preamble_sfd_and(&random_frame(&mut rng, 30));
        let mut uut = RgmiiAdapter::default();
        uut.connect_all();
        let v = generate_verilog(&uut);
        let dir = std::env::temp_dir().join(format!("rgmii-{}-{phy:?}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("rgmii.v"), &v).unwrap();
        std::fs::write(dir.join("tb.v"), icarus_testbench(&frame, &tx, phy)).unwrap();
        let compiled = std::process::Command::new("iverilog")
            .arg("-g2012")
            .arg("-s")
            .arg("tb")
            .arg("-o")
            .arg(dir.join("a.out"))
            .arg(dir.join("tb.v"))
            .arg(dir.join("rgmii.v"))
            .output();
        match compiled {
            Ok(out) => {
                assert!(
                    out.status.success(),
                    "iverilog: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let run = std::process::Command::new("vvp")
                    .arg(dir.join("a.out"))
                    .output()
                    .expect("vvp");
                let stdout = String::from_utf8_lossy(&run.stdout);
                assert!(stdout.contains("PASS"), "{phy:?}: {stdout}");
            }
            Err(e) => assert!(
                std::env::var_os("DMANIC_REQUIRE_TOOLS").is_none(),
                "iverilog not found ({e}), and DMANIC_REQUIRE_TOOLS is set"
            ),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn its_verilog_is_verilator_lint_clean() {
        // As `make lint`: -Wall with the rust-hdl waivers of rtl/lint.vlt.
        let mut uut = RgmiiAdapter::default();
        uut.connect_all();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let dir = std::env::temp_dir().join(format!("rgmii-lint-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("rgmii.v");
        std::fs::write(&file, generate_verilog(&uut)).unwrap();
        let which = std::process::Command::new("bash")
            .arg(root.join("scripts/verilator.sh"))
            .arg("--which")
            .output();
        if !which.map(|o| o.status.success()).unwrap_or(false) {
            assert!(
                std::env::var_os("DMANIC_REQUIRE_TOOLS").is_none(),
                "verilator not found, and DMANIC_REQUIRE_TOOLS is set"
            );
            return;
        }
        let out = std::process::Command::new("bash")
            .arg(root.join("scripts/verilator.sh"))
            .args(["--lint-only", "-Wall", "--top-module", "top"])
            .arg(root.join("rtl/lint.vlt"))
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "verilator: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
