//! The RMII PHY adapter: the MAC's GMII-like byte pins (one byte per clock enable) to an RMII
//! 10/100 PHY (e.g. LAN8720) at 100 Mb/s full duplex, two bits per cycle of the 50 MHz
//! reference clock.
//!
//! ```text
//!                 ┌──────────────────────────────────────────────┐
//!  mac_txd[8]   ─►│ TX: dibit mux by tx_phase ──► pin flops      ├─► rmii_txd[2]
//!  mac_tx_en    ─►│     (LSB first)                              ├─► rmii_tx_en
//!  mac_tx_er    ─►│     (ignored: RMII has no TX_ER)             │
//!  tx_ce        ◄─│ tx_phase == 3                                │
//!                 │                                              │
//!  mac_rxd[8]   ◄─│ RX: byte   Idle ─01─► Preamble ─11─► Data    │◄─ rmii_rxd[2]
//!  mac_rx_dv    ◄─│     time     ▲  │        │ 00/10     │      │◄─ rmii_crs_dv
//!  mac_rx_er    ◄─│     flops    │  10/11    ▼           │      │◄─ rmii_rx_er
//!  rx_ce        ◄─│              └─ Drop ◄───┘  carrier  │      │   (2 input flops)
//!                 │                 ◄───────── ended ────┘      │
//!  clock        ─►│ 50 MHz RMII REF_CLK = the core clock         │
//!                 └──────────────────────────────────────────────┘
//! ```
//!
//! The whole block runs on one clock, the 50 MHz RMII reference clock, which is also the SoC
//! core clock: there is no clock-domain crossing. A byte is 4 dibits, so the MAC runs at one
//! byte every 4 cycles. **Only 100 Mb/s is supported**: at 10 Mb/s an RMII PHY holds each
//! dibit for 10 cycles, and this block would take every cycle as a new dibit. Strap or program
//! the PHY for 100 Mb/s full duplex; there is no MDIO here. There is no reset input either:
//! the registers start from their bitstream values (TX phase 0, RX `Idle`), and the receiver
//! finds its alignment again at every SFD.
//!
//! ## Transmit
//!
//! `tx_phase` counts the cycles 0, 1, 2, 3 forever; `tx_ce` (the [`MacTx`] clock enable) is
//! high in phase 3. MacTx decides a byte in that cycle *n* and holds it on `mac_txd`/`mac_tx_en`
//! in cycles *n*+1 ..= *n*+4 (phases 0..=3), so in phase *p* the adapter registers bits
//! 2*p*+1:2*p* of a stable byte: the dibits leave least significant first, on `rmii_txd` in
//! cycles *n*+2 ..= *n*+5, each with the byte's `mac_tx_en` on `rmii_tx_en`. **TX latency: 1
//! cycle** from the byte on `mac_txd` to its first dibit on the pins (2 cycles from the `ce`
//! cycle that decided it). `rmii_tx_en` thus covers exactly the 4 dibits of every byte the MAC
//! sent with `tx_en`, preamble and SFD included (the MAC sends them).
//!
//! `mac_tx_er` is ignored: RMII has no TX_ER pin (and MacTx never drives it high); forcing
//! `rmii_tx_en` low or corrupting dibits would not reliably signal an error to the far end.
//!
//! ## Receive
//!
//! `rmii_rxd`, `rmii_crs_dv` and `rmii_rx_er` are registered at the pins, then once more, so
//! that the state machine decides on dibit *t* while it can see CRS_DV of dibit *t*+1. A frame
//! is aligned on its SFD: in the PHY's carrier (CRS_DV high), RXD is 00 until the PHY has
//! locked, then preamble dibits 01 (any number from one: a PHY may drop some, an odd number
//! included); the dibit 11 after a 01 ends the SFD (0xD5 = 01 01 01 11). That SFD becomes one
//! byte time 0xD5 for [`MacRx`], then every 4 dibits make one byte (the first dibit is bits
//! 1:0). `mac_rx_er` is high for a byte if `rmii_rx_er` was high in any of its dibits.
//!
//! *End of frame.* At the end of a frame CRS_DV may toggle: the PHY drops it on the first dibit
//! of each nibble and raises it on the second while its FIFO drains (RMII 1.2, LAN8720). A dibit
//! is frame data if CRS_DV is high in it **or in the next one**; the frame ends at the first
//! dibit where CRS_DV is low in both (CRS_DV low for two dibits in a row). A frame that ends in
//! the middle of a byte drops that partial byte (MacRx then sees a bad FCS, which is right).
//! The look-ahead makes the trailing dibit after the last high CRS_DV not data (a rule on the
//! current and the previous dibit would count it, and a frame cut after 3 dibits of a byte
//! would then get a whole byte with a made-up last dibit). Frames need CRS_DV low for at least
//! two dibits between them (the inter-frame gap gives 48); a one-dibit dip is the toggle.
//!
//! *Not a frame.* RXD 10 (false carrier) or 11 before any 01, or 00/10 after preamble dibits,
//! puts the receiver in `Drop` until the carrier ends: no byte time of it has `mac_rx_dv`. A
//! carrier that ends before the SFD is not a frame either.
//!
//! ## Byte times to the MAC (`rx_ce`)
//!
//! `rx_ce` is a steady strobe, high one cycle in four (a byte time), re-phased at the SFD so
//! that inside a frame it comes with each assembled byte, exactly 4 cycles apart; plus one
//! extra byte time at the end of a frame. `mac_rxd`, `mac_rx_dv` and `mac_rx_er` are
//! registered, change only with `rx_ce` and hold in between. In the byte times MacRx sees:
//! `mac_rx_dv` low while idle (also during a preamble or a dropped carrier), then the SFD, then
//! each frame byte once, then a byte time with `mac_rx_dv` low as soon as the carrier has
//! ended (1 cycle after the last byte time for a frame of whole bytes). Between two `rx_ce` cycles there are at most 3 cycles without, so a MacRx that
//! waits for `rx_dv` low (after CTRL.RST) is released within 4 cycles when idle. The preamble
//! bytes are not passed on (MacRx accepts an SFD with no 0x55 before it). **RX latency: 3
//! cycles** from the last dibit of a byte on the pins to the byte on `mac_rxd` with `rx_ce`
//! (two input flops, one output flop).
//!
//! [`MacTx`]: crate::mac::tx::MacTx
//! [`MacRx`]: crate::mac::rx::MacRx

use regs::nic::SFD_BYTE;
use rust_hdl::prelude::*;

/// States of the receiver, for the dibit being decided.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum RmiiRxState {
    /// No carrier, or carrier with RXD 00 (the PHY not locked yet).
    Idle,
    /// Preamble dibits 01 seen: waiting for the 11 that ends the SFD.
    Preamble,
    /// After the SFD: 4 dibits per byte until the carrier ends.
    Data,
    /// Not a frame (false carrier or a bad preamble): waiting for the carrier to end.
    Drop,
}

#[derive(LogicBlock)]
pub struct RmiiAdapter {
    /// The 50 MHz RMII reference clock (the core clock).
    pub clock: Signal<In, Clock>,
    // ---- MAC TX side (outputs of MacTx) ----
    pub mac_txd: Signal<In, Bits<8>>,
    pub mac_tx_en: Signal<In, Bit>,
    /// Ignored: RMII has no TX_ER.
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
    // ---- RMII pins (PHY side) ----
    pub rmii_txd: Signal<Out, Bits<2>>,
    pub rmii_tx_en: Signal<Out, Bit>,
    pub rmii_rxd: Signal<In, Bits<2>>,
    pub rmii_crs_dv: Signal<In, Bit>,
    pub rmii_rx_er: Signal<In, Bit>,
    // ==== implementation ====
    // ---- transmit ----
    /// The dibit of the MAC's byte to register this cycle; `tx_ce` in phase 3.
    tx_phase: DFF<Bits<2>>,
    tx_pin_txd: DFF<Bits<2>>,
    tx_pin_en: DFF<Bit>,
    // ---- receive: the pins, and the dibit being decided one cycle later ----
    rx_pin_rxd: DFF<Bits<2>>,
    rx_pin_crs_dv: DFF<Bit>,
    rx_pin_er: DFF<Bit>,
    rx_dibit: DFF<Bits<2>>,
    rx_crs_dv: DFF<Bit>,
    rx_er: DFF<Bit>,
    rx_fsm: DFF<RmiiRxState>,
    /// Position of the dibit being decided in its byte time (3: the last), re-phased at the SFD.
    rx_slot: DFF<Bits<2>>,
    /// The dibits of the byte so far, the newest at the top.
    rx_shift: DFF<Bits<8>>,
    /// `rmii_rx_er` in an earlier dibit of this byte.
    rx_er_seen: DFF<Bit>,
    // ---- receive: the byte time to the MAC ----
    byte_time: DFF<Bit>,
    byte_data: DFF<Bits<8>>,
    byte_dv: DFF<Bit>,
    byte_er: DFF<Bit>,
    /// The dibit being decided is frame data: CRS_DV is high in it or in the next one.
    frame_valid: Signal<Local, Bit>,
    /// The dibit being decided is the last of a byte time.
    slot_last: Signal<Local, Bit>,
    /// The byte with the dibit being decided as its top dibit.
    assembled: Signal<Local, Bits<8>>,
    sfd_byte: Constant<Bits<8>>,
    /// RXD while the carrier is up and the PHY is not locked.
    idle_dibit: Constant<Bits<2>>,
    preamble_dibit: Constant<Bits<2>>,
    /// The last dibit of the SFD.
    sfd_dibit: Constant<Bits<2>>,
}

impl Default for RmiiAdapter {
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
            rmii_txd: Default::default(),
            rmii_tx_en: Default::default(),
            rmii_rxd: Default::default(),
            rmii_crs_dv: Default::default(),
            rmii_rx_er: Default::default(),
            tx_phase: Default::default(),
            tx_pin_txd: Default::default(),
            tx_pin_en: Default::default(),
            rx_pin_rxd: Default::default(),
            rx_pin_crs_dv: Default::default(),
            rx_pin_er: Default::default(),
            rx_dibit: Default::default(),
            rx_crs_dv: Default::default(),
            rx_er: Default::default(),
            rx_fsm: Default::default(),
            rx_slot: Default::default(),
            rx_shift: Default::default(),
            rx_er_seen: Default::default(),
            byte_time: Default::default(),
            byte_data: Default::default(),
            byte_dv: Default::default(),
            byte_er: Default::default(),
            frame_valid: Default::default(),
            slot_last: Default::default(),
            assembled: Default::default(),
            sfd_byte: Constant::new((SFD_BYTE as u64).into()),
            idle_dibit: Constant::new(0b00.into()),
            preamble_dibit: Constant::new(0b01.into()),
            sfd_dibit: Constant::new(0b11.into()),
        }
    }
}

impl Logic for RmiiAdapter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            tx_phase,
            tx_pin_txd,
            tx_pin_en,
            rx_pin_rxd,
            rx_pin_crs_dv,
            rx_pin_er,
            rx_dibit,
            rx_crs_dv,
            rx_er,
            rx_fsm,
            rx_slot,
            rx_shift,
            rx_er_seen,
            byte_time,
            byte_data,
            byte_dv,
            byte_er
        );
        // ---- outputs ----
        self.tx_ce.next = self.tx_phase.q.val() == 3;
        self.rmii_txd.next = self.tx_pin_txd.q.val();
        self.rmii_tx_en.next = self.tx_pin_en.q.val();
        self.rx_ce.next = self.byte_time.q.val();
        self.mac_rxd.next = self.byte_data.q.val();
        self.mac_rx_dv.next = self.byte_dv.q.val();
        self.mac_rx_er.next = self.byte_er.q.val();

        // ---- transmit: the byte MacTx decided in phase 3 is stable in phases 0..=3 ----
        self.tx_phase.d.next = self.tx_phase.q.val() + 1;
        self.tx_pin_en.d.next = self.mac_tx_en.val();
        if self.tx_phase.q.val() == 0 {
            self.tx_pin_txd.d.next = self.mac_txd.val().get_bits::<2>(0);
        } else if self.tx_phase.q.val() == 1 {
            self.tx_pin_txd.d.next = self.mac_txd.val().get_bits::<2>(2);
        } else if self.tx_phase.q.val() == 2 {
            self.tx_pin_txd.d.next = self.mac_txd.val().get_bits::<2>(4);
        } else {
            self.tx_pin_txd.d.next = self.mac_txd.val().get_bits::<2>(6);
        }

        // ---- receive: the pins, then the dibit to decide on ----
        self.rx_pin_rxd.d.next = self.rmii_rxd.val();
        self.rx_pin_crs_dv.d.next = self.rmii_crs_dv.val();
        self.rx_pin_er.d.next = self.rmii_rx_er.val();
        self.rx_dibit.d.next = self.rx_pin_rxd.q.val();
        self.rx_crs_dv.d.next = self.rx_pin_crs_dv.q.val();
        self.rx_er.d.next = self.rx_pin_er.q.val();

        // ---- receive: working values ----
        self.frame_valid.next = self.rx_crs_dv.q.val() | self.rx_pin_crs_dv.q.val();
        self.slot_last.next = self.rx_slot.q.val() == 3;
        self.assembled.next =
            (self.rx_shift.q.val() >> 2) | (bit_cast::<8, 2>(self.rx_dibit.q.val()) << 6);
        self.rx_slot.d.next = self.rx_slot.q.val() + 1;

        // ---- byte times: one in four, rx_dv low unless a frame byte ends here ----
        self.byte_time.d.next = false;
        if self.slot_last.val() {
            self.byte_time.d.next = true;
            self.byte_data.d.next = 0.into();
            self.byte_dv.d.next = false;
            self.byte_er.d.next = false;
        }

        match self.rx_fsm.q.val() {
            RmiiRxState::Idle => {
                if self.rx_crs_dv.q.val() {
                    if self.rx_dibit.q.val() == self.preamble_dibit.val() {
                        self.rx_fsm.d.next = RmiiRxState::Preamble;
                    } else if self.rx_dibit.q.val() != self.idle_dibit.val() {
                        self.rx_fsm.d.next = RmiiRxState::Drop;
                    }
                }
            }
            RmiiRxState::Preamble => {
                if !self.frame_valid.val() {
                    self.rx_fsm.d.next = RmiiRxState::Idle;
                } else if self.rx_dibit.q.val() == self.sfd_dibit.val() {
                    // The SFD's byte time, and the next dibit is bits 1:0 of the first byte.
                    self.byte_time.d.next = true;
                    self.byte_data.d.next = self.sfd_byte.val();
                    self.byte_dv.d.next = true;
                    self.byte_er.d.next = false;
                    self.rx_slot.d.next = 0.into();
                    self.rx_er_seen.d.next = false;
                    self.rx_fsm.d.next = RmiiRxState::Data;
                } else if self.rx_dibit.q.val() != self.preamble_dibit.val() {
                    self.rx_fsm.d.next = RmiiRxState::Drop;
                }
            }
            RmiiRxState::Data => {
                if self.frame_valid.val() {
                    self.rx_shift.d.next = self.assembled.val();
                    self.rx_er_seen.d.next = self.rx_er_seen.q.val() | self.rx_er.q.val();
                    if self.slot_last.val() {
                        self.byte_data.d.next = self.assembled.val();
                        self.byte_dv.d.next = true;
                        self.byte_er.d.next = self.rx_er_seen.q.val() | self.rx_er.q.val();
                        self.rx_er_seen.d.next = false;
                    }
                } else {
                    // The carrier ended: a byte time with rx_dv low now; a partial byte is
                    // dropped.
                    self.byte_time.d.next = true;
                    self.byte_data.d.next = 0.into();
                    self.byte_dv.d.next = false;
                    self.byte_er.d.next = false;
                    self.rx_fsm.d.next = RmiiRxState::Idle;
                }
            }
            RmiiRxState::Drop => {
                if !self.frame_valid.val() {
                    self.rx_fsm.d.next = RmiiRxState::Idle;
                }
            }
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

    /// One receive dibit as the PHY drives it: (crs_dv, rx_er, rxd).
    type Dibit = (bool, bool, u8);

    /// Dibits of a full preamble and SFD: 7 × 0x55 and 0xD5 are 31 × 01, then 11.
    const FULL_PREAMBLE_DIBITS: usize = 31;

    fn dibits_lsb_first(byte: u8) -> [u8; 4] {
        [byte & 3, (byte >> 2) & 3, (byte >> 4) & 3, byte >> 6]
    }

    fn bytes_from_dibits(dibits: &[u8]) -> Vec<u8> {
        assert_eq!(dibits.len() % 4, 0, "not a whole number of bytes");
        dibits
            .chunks(4)
            .map(|d| d[0] | (d[1] << 2) | (d[2] << 4) | (d[3] << 6))
            .collect()
    }

    /// How a PHY puts one received frame on the RMII pins.
    #[derive(Clone, Copy, Debug)]
    struct PhyFrame {
        /// Dibits of RXD 00 with CRS_DV high before the preamble (the PHY locking).
        carrier_zeros: usize,
        /// Dibits 01 before the 11 that ends the SFD (31 for a full preamble).
        preamble_dibits: usize,
        /// The last this many nibbles come with CRS_DV low on their first dibit (the FIFO
        /// draining after the carrier has gone).
        toggle_nibbles: usize,
    }

    impl PhyFrame {
        const PLAIN: PhyFrame = PhyFrame {
            carrier_zeros: 0,
            preamble_dibits: FULL_PREAMBLE_DIBITS,
            toggle_nibbles: 0,
        };

        fn random(rng: &mut StdRng, frame_len: usize) -> Self {
            Self {
                carrier_zeros: rng.gen_range(0..=6),
                preamble_dibits: rng.gen_range(1..=FULL_PREAMBLE_DIBITS),
                toggle_nibbles: if rng.gen_bool(0.5) {
                    rng.gen_range(1..=(2 * frame_len).min(24))
                } else {
                    0
                },
            }
        }

        /// The dibits of the whole carrier event for `bytes` (the bytes after the SFD).
        fn dibits(&self, bytes: &[u8]) -> Vec<Dibit> {
            let mut out = vec![(true, false, 0b00); self.carrier_zeros];
            out.resize(out.len() + self.preamble_dibits, (true, false, 0b01));
            out.push((true, false, 0b11));
            let data: Vec<u8> = bytes.iter().flat_map(|&b| dibits_lsb_first(b)).collect();
            let toggle_from = data.len() - 2 * self.toggle_nibbles;
            for (i, &d) in data.iter().enumerate() {
                let crs = i < toggle_from || i % 2 == 1;
                out.push((crs, false, d));
            }
            out
        }
    }

    fn idle_dibits(n: usize) -> Vec<Dibit> {
        vec![(false, false, 0b00); n]
    }

    /// The MAC RX side: records every byte time, checks the `rx_ce` rhythm, and feeds a real
    /// MacRx, whose frames it collects.
    struct MacSide {
        byte_times: Vec<ByteTime>,
        mac: MacRx,
        open: Option<Vec<u8>>,
        mac_frames: Vec<MacFrame>,
    }

    impl MacSide {
        fn new() -> Self {
            let mut mac = MacRx::default();
            mac.connect_all();
            mac.enable.next = true;
            mac.max_len.next = 2000.into();
            Self {
                byte_times: Vec::new(),
                mac,
                open: None,
                mac_frames: Vec::new(),
            }
        }

        /// Look at the settled adapter in `cycle` and settle the MacRx behind it.
        fn observe(&mut self, uut: &RmiiAdapter, cycle: usize) {
            if uut.rx_ce.val() {
                if let Some(last) = self.byte_times.last() {
                    assert!(
                        cycle - last.cycle <= 4,
                        "rx_ce gap of {} cycles at cycle {cycle}",
                        cycle - last.cycle
                    );
                }
                self.byte_times.push(ByteTime {
                    cycle,
                    dv: uut.mac_rx_dv.val(),
                    er: uut.mac_rx_er.val(),
                    data: uut.mac_rxd.val().to_u8(),
                });
            } else if let Some(last) = self.byte_times.last() {
                assert!(cycle - last.cycle < 4, "no rx_ce for 4 cycles at {cycle}");
            }
            let m = &mut self.mac;
            m.ce.next = uut.rx_ce.val();
            m.rxd.next = uut.mac_rxd.val();
            m.rx_dv.next = uut.mac_rx_dv.val();
            m.rx_er.next = uut.mac_rx_er.val();
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
                assert_eq!(m.frame_len.val().to_u16() as usize, bytes.len());
                self.mac_frames.push(MacFrame {
                    bytes,
                    err_crc: m.err_crc.val(),
                    err_rxer: m.err_rxer.val(),
                });
            }
        }

        fn clock(&mut self) {
            clock_edge(&mut self.mac, |m| &mut m.clock);
        }

        /// Cut the byte times into frames, checking the protocol MacRx relies on: a frame is
        /// the SFD, then its bytes 4 cycles apart, then a byte time with rx_dv low.
        fn handed_frames(&self) -> Vec<Handed> {
            let mut frames = Vec::new();
            let mut open: Option<(usize, Handed)> = None;
            for t in &self.byte_times {
                match (&mut open, t.dv) {
                    (None, false) => {}
                    (None, true) => {
                        assert_eq!(t.data, SFD_BYTE, "a frame starts with the SFD: {t:?}");
                        assert!(!t.er, "rx_er with the SFD: {t:?}");
                        open = Some((t.cycle, Vec::new()));
                    }
                    (Some((last, bytes)), true) => {
                        assert_eq!(t.cycle - *last, 4, "byte times in a frame: {t:?}");
                        *last = t.cycle;
                        bytes.push((t.data, t.er));
                    }
                    (Some(_), false) => frames.push(open.take().unwrap().1),
                }
            }
            assert!(open.is_none(), "a frame never ended");
            frames
        }
    }

    /// The adapter with only its RX pins driven.
    struct RxBench {
        uut: RmiiAdapter,
        cycle: usize,
        mac: MacSide,
    }

    impl RxBench {
        fn new() -> Self {
            let mut uut = RmiiAdapter::default();
            uut.connect_all();
            Self {
                uut,
                cycle: 0,
                mac: MacSide::new(),
            }
        }

        fn drive(&mut self, dibits: &[Dibit]) {
            for &(crs, er, d) in dibits {
                self.uut.rmii_crs_dv.next = crs;
                self.uut.rmii_rx_er.next = er;
                self.uut.rmii_rxd.next = (d as u64).into();
                settle(&mut self.uut);
                self.mac.observe(&self.uut, self.cycle);
                clock_edge(&mut self.uut, |u| &mut u.clock);
                self.mac.clock();
                self.cycle += 1;
            }
        }

        fn idle(&mut self, n: usize) {
            self.drive(&idle_dibits(n));
        }

        /// Idle long enough for everything to come out; the frames as handed and as MacRx saw
        /// them.
        fn finish(&mut self) -> (Vec<Handed>, Vec<MacFrame>) {
            self.idle(16);
            assert!(self.mac.open.is_none(), "MacRx is still in a frame");
            (self.mac.handed_frames(), self.mac.mac_frames.clone())
        }
    }

    /// Receive `frames`, each with its PHY behaviour and the idle dibits after it; check that
    /// each comes out whole and good, at the byte-time level and through MacRx.
    fn receive_and_check(frames: &[(Vec<u8>, PhyFrame, usize)]) {
        let mut b = RxBench::new();
        b.idle(5);
        for (bytes, phy, gap) in frames {
            b.drive(&phy.dibits(bytes));
            b.idle(*gap);
        }
        let (handed, mac) = b.finish();
        assert_eq!(handed.len(), frames.len());
        for (k, ((bytes, phy, gap), got)) in frames.iter().zip(&handed).enumerate() {
            assert_eq!(
                got,
                &handed_good(bytes),
                "frame {k}: {} bytes, {phy:?}, gap {gap}",
                bytes.len()
            );
        }
        let expect: Vec<MacFrame> = frames.iter().map(|(f, _, _)| mac_good(f)).collect();
        assert_eq!(mac, expect);
    }

    // ---- transmit ----

    /// MacTx (with the TX FIFO model of its own tests) clocked by the adapter's `tx_ce`; the
    /// RMII TX pins of each cycle, optionally looped back to the RX pins one cycle later.
    struct TxLoop {
        tx: TxBench,
        uut: RmiiAdapter,
        cycle: usize,
        /// The cycles with `tx_ce` high.
        ce_cycles: Vec<usize>,
        /// (rmii_tx_en, rmii_txd) in each cycle.
        pins: Vec<(bool, u8)>,
        mac: MacSide,
    }

    impl TxLoop {
        fn new(seed: u64, ipg: u16) -> Self {
            let mut uut = RmiiAdapter::default();
            uut.connect_all();
            settle(&mut uut);
            Self {
                tx: TxBench::new(seed, 1.0, ipg),
                uut,
                cycle: 0,
                ce_cycles: Vec::new(),
                pins: Vec::new(),
                mac: MacSide::new(),
            }
        }

        fn cycle(&mut self, loopback: bool) {
            self.tx.set_inputs();
            // tx_ce comes from the adapter's phase register: settled since the last edge.
            let ce = self.uut.tx_ce.val();
            self.tx.ce_now = ce;
            self.tx.uut.ce.next = ce;
            settle(&mut self.tx.uut);
            if ce {
                self.ce_cycles.push(self.cycle);
            }
            let u = &mut self.uut;
            u.mac_txd.next = self.tx.uut.txd.val();
            u.mac_tx_en.next = self.tx.uut.tx_en.val();
            u.mac_tx_er.next = self.tx.uut.tx_er.val();
            let (en, d) = self.pins.last().copied().unwrap_or((false, 0));
            u.rmii_crs_dv.next = loopback & en;
            u.rmii_rxd.next = if loopback { d as u64 } else { 0 }.into();
            u.rmii_rx_er.next = false;
            settle(u);
            self.pins
                .push((u.rmii_tx_en.val(), u.rmii_txd.val().to_u8()));
            self.mac.observe(u, self.cycle);
            self.tx.finish_cycle();
            clock_edge(u, |u| &mut u.clock);
            self.mac.clock();
            self.cycle += 1;
        }

        /// Run until every queued frame is out, its gap has passed and the pins are idle.
        fn run(&mut self, frames: &[TxFrame], loopback: bool) {
            for f in frames {
                self.tx.queue(f.clone());
            }
            while self.tx.queued_frames() > 0 || self.tx.uut.busy.val() {
                self.cycle(loopback);
                assert!(self.cycle < 10_000_000, "frames never went out");
            }
            for _ in 0..40 {
                self.cycle(loopback);
            }
        }
    }

    fn preamble_sfd_and(wire: &[u8]) -> Vec<u8> {
        let mut p = vec![PREAMBLE_BYTE; PREAMBLE_BYTES as usize - 1];
        p.push(SFD_BYTE);
        p.extend_from_slice(wire);
        p
    }

    fn random_tx_frames(rng: &mut StdRng, n: usize) -> Vec<TxFrame> {
        (0..n)
            .map(|_| {
                let len = if rng.gen_bool(0.5) {
                    rng.gen_range(1..=80)
                } else {
                    rng.gen_range(1..=1514)
                };
                TxFrame {
                    ifcs: true,
                    ..TxFrame::random(rng, len)
                }
            })
            .collect()
    }

    #[test]
    fn tx_ce_is_high_one_cycle_in_four() {
        let mut l = TxLoop::new(1, 12);
        for _ in 0..64 {
            l.cycle(false);
        }
        let expect: Vec<usize> = (0..64).filter(|c| c % 4 == 3).collect();
        assert_eq!(l.ce_cycles, expect);
    }

    #[test]
    fn tx_each_mac_byte_goes_out_as_four_dibits_lsb_first_with_its_tx_en() {
        let mut rng = StdRng::seed_from_u64(101);
        let frames = random_tx_frames(&mut rng, 16);
        let mut l = TxLoop::new(102, 12);
        l.run(&frames, false);
        // Byte time by byte time: what MacTx showed at the ce cycle n (held since n-3) is on
        // the RMII pins in cycles n-2..=n+1, i.e. 1 cycle after it is on mac_txd.
        let mut checked = 0;
        for (k, (&n, &(en, byte))) in l.ce_cycles.iter().zip(&l.tx.wire).enumerate() {
            if n < 3 || n + 1 >= l.pins.len() {
                continue;
            }
            let pins = &l.pins[n - 2..=n + 1];
            assert!(pins.iter().all(|&(e, _)| e == en), "tx_en of byte time {k}");
            let dibits: Vec<u8> = pins.iter().map(|&(_, d)| d).collect();
            assert_eq!(
                bytes_from_dibits(&dibits),
                vec![byte],
                "byte time {k} (cycle {n})"
            );
            checked += 1;
        }
        assert!(checked > 1000);
        // And as a PHY sees it: bursts of tx_en, a whole number of bytes each, exactly the
        // frames MacTx sent, preamble and SFD included.
        let dibit_bursts = bursts(&l.pins);
        assert_eq!(dibit_bursts.len(), frames.len());
        for (k, (f, (_, dibits))) in frames.iter().zip(&dibit_bursts).enumerate() {
            assert_eq!(
                bytes_from_dibits(dibits),
                preamble_sfd_and(&f.on_the_wire()),
                "frame {k}"
            );
        }
    }

    #[test]
    fn tx_er_is_ignored() {
        let mut rng = StdRng::seed_from_u64(103);
        let mut pins = [Vec::new(), Vec::new()];
        for (er_on, out) in [false, true].into_iter().zip(&mut pins) {
            let mut uut = RmiiAdapter::default();
            uut.connect_all();
            let mut stim = StdRng::seed_from_u64(104);
            for _ in 0..400 {
                // A byte held from phase 0 to phase 3, as MacTx holds it.
                let (en, byte): (bool, u8) = (stim.gen(), stim.gen());
                for _ in 0..4 {
                    uut.mac_txd.next = (byte as u64).into();
                    uut.mac_tx_en.next = en;
                    uut.mac_tx_er.next = er_on && rng.gen();
                    settle(&mut uut);
                    out.push((uut.rmii_tx_en.val(), uut.rmii_txd.val().to_u8()));
                    clock_edge(&mut uut, |u| &mut u.clock);
                }
            }
        }
        assert_eq!(pins[0], pins[1]);
        assert!(pins[0].iter().any(|&(en, _)| en));
    }

    // ---- receive ----

    #[test]
    fn rx_random_frames_come_out_as_the_sfd_then_every_byte_once() {
        let mut rng = StdRng::seed_from_u64(201);
        let frames: Vec<(Vec<u8>, PhyFrame, usize)> = (0..24)
            .map(|_| {
                let len = if rng.gen_bool(0.5) {
                    rng.gen_range(0..=80)
                } else {
                    rng.gen_range(MIN_FRAME_NO_FCS as usize..=1514)
                };
                let bytes = random_frame(&mut rng, len);
                let phy = PhyFrame::random(&mut rng, bytes.len());
                let gap = rng.gen_range(2..=60);
                (bytes, phy, gap)
            })
            .collect();
        receive_and_check(&frames);
    }

    #[test]
    fn rx_crs_dv_toggling_at_the_end_of_a_frame_keeps_every_byte() {
        let mut rng = StdRng::seed_from_u64(202);
        let frames: Vec<(Vec<u8>, PhyFrame, usize)> = (0..20)
            .map(|i| {
                let len = rng.gen_range(1..=120);
                let bytes = random_frame(&mut rng, len);
                let phy = PhyFrame {
                    // From one nibble to the whole frame after the SFD.
                    toggle_nibbles: if i == 0 {
                        1
                    } else {
                        rng.gen_range(1..=2 * bytes.len())
                    },
                    ..PhyFrame::PLAIN
                };
                (bytes, phy, 2)
            })
            .collect();
        receive_and_check(&frames);
    }

    #[test]
    fn rx_odd_and_short_preambles_still_align_on_the_sfd() {
        let mut rng = StdRng::seed_from_u64(203);
        let frames: Vec<(Vec<u8>, PhyFrame, usize)> = (1..=FULL_PREAMBLE_DIBITS)
            .map(|preamble_dibits| {
                let len = rng.gen_range(1..=70);
                let bytes = random_frame(&mut rng, len);
                let phy = PhyFrame {
                    preamble_dibits,
                    carrier_zeros: preamble_dibits % 4,
                    ..PhyFrame::PLAIN
                };
                (bytes, phy, 48)
            })
            .collect();
        receive_and_check(&frames);
    }

    #[test]
    fn rx_back_to_back_frames_with_the_minimum_gap() {
        let mut rng = StdRng::seed_from_u64(204);
        // The inter-frame gap (96 bit times = 48 dibits) and the adapter's own minimum, two
        // dibits of CRS_DV low, with and without the toggle before it.
        for gap in [48, 2] {
            let frames: Vec<(Vec<u8>, PhyFrame, usize)> = (0..10)
                .map(|i| {
                    let bytes = random_frame(&mut rng, MIN_FRAME_NO_FCS as usize);
                    let phy = PhyFrame {
                        preamble_dibits: if i % 2 == 0 { 31 } else { 1 },
                        toggle_nibbles: if i % 3 == 0 { 3 } else { 0 },
                        ..PhyFrame::PLAIN
                    };
                    (bytes, phy, gap)
                })
                .collect();
            receive_and_check(&frames);
        }
    }

    #[test]
    fn rx_frame_ending_mid_byte_drops_the_partial_byte() {
        let mut rng = StdRng::seed_from_u64(205);
        let mut b = RxBench::new();
        let mut expect_handed = Vec::new();
        let mut expect_mac = Vec::new();
        for cut in [1, 2, 3, 1, 2, 3] {
            let len = rng.gen_range(60..=100);
            let bytes = random_frame(&mut rng, len);
            let toggle = rng.gen_bool(0.5);
            let phy = PhyFrame {
                toggle_nibbles: if toggle { 4 } else { 0 },
                ..PhyFrame::PLAIN
            };
            // The carrier goes `cut` dibits before the end of the last byte.
            let mut dibits = phy.dibits(&bytes);
            dibits.truncate(dibits.len() - cut);
            b.drive(&dibits);
            b.idle(3);
            let kept = &bytes[..bytes.len() - 1];
            expect_handed.push(handed_good(kept));
            expect_mac.push(MacFrame {
                err_crc: true,
                ..mac_good(kept)
            });
        }
        let (handed, mac) = b.finish();
        assert_eq!(handed, expect_handed);
        assert_eq!(mac, expect_mac);
    }

    #[test]
    fn rx_false_carrier_yields_no_byte_times_with_rx_dv() {
        let mut rng = StdRng::seed_from_u64(206);
        let frame = random_frame(&mut rng, 60);
        let good = PhyFrame::PLAIN.dibits(&frame);
        let carrier = |d: &[u8]| -> Vec<Dibit> { d.iter().map(|&d| (true, false, d)).collect() };
        let events: Vec<Vec<Dibit>> = vec![
            // A false carrier: RXD 10 for its whole length.
            carrier(&[0b10; 40]),
            // A false carrier, then a preamble, SFD and frame in the same carrier.
            [carrier(&[0b00, 0b10, 0b10]), good.clone()].concat(),
            // 11 with no 01 before it is not an SFD.
            [
                carrier(&[0b00, 0b00, 0b11]),
                good[FULL_PREAMBLE_DIBITS..].to_vec(),
            ]
            .concat(),
            // 00 and 10 inside the preamble.
            [carrier(&[0b01, 0b01, 0b00]), good.clone()].concat(),
            [carrier(&[0b01, 0b10]), good.clone()].concat(),
            // Preamble only: the carrier ends before the SFD.
            carrier(&[0b01; 31]),
            // rx_er and garbage on RXD without CRS_DV.
            vec![
                (false, true, 0b11),
                (false, false, 0b01),
                (false, true, 0b11),
            ],
        ];
        let mut b = RxBench::new();
        for e in &events {
            b.idle(4);
            b.drive(e);
        }
        let (handed, mac) = b.finish();
        assert_eq!(handed, Vec::<Handed>::new());
        assert!(b.mac.byte_times.iter().all(|t| !t.dv));
        assert_eq!(mac, vec![]);
        // The next good frame is taken.
        b.drive(&good);
        let (handed, mac) = b.finish();
        assert_eq!(handed, vec![handed_good(&frame)]);
        assert_eq!(mac, vec![mac_good(&frame)]);
    }

    #[test]
    fn rx_er_marks_the_byte_it_falls_in() {
        let mut rng = StdRng::seed_from_u64(207);
        let mut b = RxBench::new();
        let mut expect_handed = Vec::new();
        let mut expect_mac = Vec::new();
        for _ in 0..12 {
            let len = rng.gen_range(60..=120);
            let bytes = random_frame(&mut rng, len);
            let phy = PhyFrame {
                carrier_zeros: 2,
                toggle_nibbles: rng.gen_range(0..=4),
                ..PhyFrame::PLAIN
            };
            let mut dibits = phy.dibits(&bytes);
            let data_from = 2 + FULL_PREAMBLE_DIBITS + 1;
            let mut handed = handed_good(&bytes);
            for _ in 0..rng.gen_range(1..=3) {
                let i = rng.gen_range(0..4 * bytes.len());
                dibits[data_from + i].1 = true;
                handed[i / 4].1 = true;
            }
            // rx_er in the preamble and the SFD is not a frame byte's.
            dibits[3].1 = true;
            dibits[data_from - 1].1 = true;
            b.drive(&dibits);
            b.drive(&[
                (false, true, 0b00),
                (false, false, 0b00),
                (false, true, 0b10),
            ]);
            b.idle(4);
            expect_handed.push(handed);
            expect_mac.push(MacFrame {
                err_rxer: true,
                ..mac_good(&bytes)
            });
        }
        // rx_er outside frame bytes only: a good frame.
        let bytes = random_frame(&mut rng, 80);
        let mut dibits = PhyFrame::PLAIN.dibits(&bytes);
        dibits[10].1 = true;
        dibits[FULL_PREAMBLE_DIBITS].1 = true;
        b.drive(&dibits);
        expect_handed.push(handed_good(&bytes));
        expect_mac.push(mac_good(&bytes));
        let (handed, mac) = b.finish();
        assert_eq!(handed, expect_handed);
        assert_eq!(mac, expect_mac);
    }

    #[test]
    fn rx_ce_strobes_one_cycle_in_four_with_rx_dv_low_while_idle() {
        let mut b = RxBench::new();
        b.idle(200);
        let t = &b.mac.byte_times;
        // The first byte time leaves the output flop in cycle 4.
        let cycles: Vec<usize> = t.iter().map(|t| t.cycle).collect();
        assert_eq!(cycles, (1..50).map(|k| 4 * k).collect::<Vec<_>>());
        assert!(t.iter().all(|t| !t.dv && !t.er));
    }

    #[test]
    fn rx_latency_is_three_cycles_from_the_last_dibit_of_a_byte() {
        let mut rng = StdRng::seed_from_u64(208);
        let bytes = random_frame(&mut rng, 60);
        let mut b = RxBench::new();
        b.idle(7);
        let start = b.cycle;
        b.drive(&PhyFrame::PLAIN.dibits(&bytes));
        b.finish();
        let sfd_last_dibit = start + FULL_PREAMBLE_DIBITS;
        let frame: Vec<&ByteTime> = b.mac.byte_times.iter().filter(|t| t.dv).collect();
        assert_eq!(frame.len(), 1 + bytes.len());
        assert_eq!(frame[0].cycle, sfd_last_dibit + 3, "the SFD");
        for (i, t) in frame[1..].iter().enumerate() {
            assert_eq!(t.cycle, sfd_last_dibit + 4 * (i + 1) + 3, "byte {i}");
        }
    }

    // ---- both ----

    #[test]
    fn loopback_returns_the_mac_tx_byte_stream() {
        let mut rng = StdRng::seed_from_u64(301);
        let frames = random_tx_frames(&mut rng, 12);
        let mut l = TxLoop::new(302, 12);
        l.run(&frames, true);
        let handed = l.mac.handed_frames();
        let expect: Vec<Handed> = frames
            .iter()
            .map(|f| handed_good(&f.on_the_wire()))
            .collect();
        assert_eq!(handed, expect);
        let expect: Vec<MacFrame> = frames.iter().map(|f| mac_good(&f.on_the_wire())).collect();
        assert_eq!(l.mac.mac_frames, expect);
    }

    #[test]
    fn rmii_adapter_generates_verilog() {
        let mut uut = RmiiAdapter::default();
        uut.connect_all();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
    }
}
