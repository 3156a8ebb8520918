//! The MAC receiver: GMII-like RX pins to a byte stream for the RX FIFO and a status per frame,
//! one byte per clock enable.
//!
//! ```text
//!                ┌────────────────────────────────┐
//!  rxd[8]      ─►│ Idle ─► Preamble ─SFD─► Data   ├─► frame_start
//!  rx_dv       ─►│  ▲          │              │   ├─► byte_valid, byte_data[8]
//!  rx_er       ─►│  │          ▼              │   ├─► frame_end, frame_len[16],
//!  enable      ─►│  ├──────── Drop            │   │   err_crc, err_runt,
//!  max_len[16] ─►│  │  (until rx_dv low)      │   │   err_long, err_rxer
//!  reset       ─►│  │                         │   │
//!  ce          ─►│  └──────── rx_dv low ──────┘   ├─► state
//!  clock       ─►│   Crc32Byte residue check      │
//!                └────────────────────────────────┘
//! ```
//!
//! In each cycle with `ce` high the receiver looks at the pins. `rx_dv` high starts a
//! preamble: any number of 0x55 bytes (none included), then the SFD 0xD5. Any other byte before
//! the SFD means "not a frame": the receiver drops everything until `rx_dv` falls, with no
//! pulses. `enable` (RCTL.EN) is sampled with the SFD: a frame that starts while it is low is
//! dropped the same way. After the SFD every byte with `rx_dv` is a frame byte (FCS included)
//! and goes out as `byte_valid`; `rx_dv` low ends the frame with `frame_end` and its status:
//!
//! * `frame_len`: bytes after the SFD, FCS included (saturates at 0xFFFF);
//! * `err_crc`: the CRC register over the frame is not the residue (or the frame has fewer
//!   than 4 bytes);
//! * `err_runt`: `frame_len` < 64; `err_long`: `frame_len` > `max_len`;
//! * `err_rxer`: `rx_er` was high with `rx_dv` in a frame byte.
//!
//! `reset` (CTRL.RST, which empties the RX FIFO in the same cycle) abandons the frame being
//! received, whatever `ce` does: no pulses from the next cycle on, and the rest of the frame is
//! dropped (`Drop` until `rx_dv` falls), so no frame can end without having started.
//!
//! **Timing.** All outputs are registered: **the output latency is 1 cycle** (a byte on the
//! pins in a `ce` cycle *n* is `byte_valid`/`byte_data` in cycle *n*+1). Pulses last one cycle
//! whatever `ce` does; the status outputs hold until the next `frame_end`. `frame_start` comes
//! the cycle after the SFD, at least one cycle before the first `byte_valid`; `frame_end` comes
//! the cycle after the `ce` cycle that saw `rx_dv` low, after the last `byte_valid`. One idle
//! byte time between frames is enough. `state` is the state register (the pins it decides on
//! are this cycle's).

use super::crc::{Crc32Byte, CRC_INIT, CRC_RESIDUE};
use regs::nic::{FCS_BYTES, MIN_FRAME, PREAMBLE_BYTE, SFD_BYTE};
use rust_hdl::prelude::*;

/// States of the receiver, in encoding order.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum MacRxState {
    /// `rx_dv` low: waiting for a frame.
    Idle,
    /// Preamble bytes seen, waiting for the SFD.
    Preamble,
    /// Frame bytes after the SFD.
    Data,
    /// Not a frame (or RCTL.EN was low at the SFD): waiting for `rx_dv` low.
    Drop,
}

#[derive(LogicBlock)]
pub struct MacRx {
    pub clock: Signal<In, Clock>,
    pub ce: Signal<In, Bit>,
    pub enable: Signal<In, Bit>,
    pub reset: Signal<In, Bit>,
    pub max_len: Signal<In, Bits<16>>,
    pub rxd: Signal<In, Bits<8>>,
    pub rx_dv: Signal<In, Bit>,
    pub rx_er: Signal<In, Bit>,
    // ---- byte stream to the RX FIFO ----
    pub frame_start: Signal<Out, Bit>,
    pub byte_valid: Signal<Out, Bit>,
    pub byte_data: Signal<Out, Bits<8>>,
    pub frame_end: Signal<Out, Bit>,
    pub frame_len: Signal<Out, Bits<16>>,
    pub err_crc: Signal<Out, Bit>,
    pub err_runt: Signal<Out, Bit>,
    pub err_long: Signal<Out, Bit>,
    pub err_rxer: Signal<Out, Bit>,
    pub state: Signal<Out, MacRxState>,
    /// Nothing would change at the next edge: idle, no pulse to end, `rx_dv` low (the SoC's
    /// clock gate, `crate::clock_gate`).
    pub quiet: Signal<Out, Bit>,
    // ==== implementation ====
    fsm: DFF<MacRxState>,
    crc: DFF<Bits<32>>,
    crc_step: Crc32Byte,
    /// Bytes of this frame after the SFD (saturating).
    received: DFF<Bits<16>>,
    saw_rxer: DFF<Bit>,
    start_pulse: DFF<Bit>,
    valid_pulse: DFF<Bit>,
    data_out: DFF<Bits<8>>,
    end_pulse: DFF<Bit>,
    status_len: DFF<Bits<16>>,
    status_crc: DFF<Bit>,
    status_runt: DFF<Bit>,
    status_long: DFF<Bit>,
    status_rxer: DFF<Bit>,
    /// The SFD is on the pins this cycle.
    sfd_seen: Signal<Local, Bit>,
    received_next: Signal<Local, Bits<16>>,
    preamble_byte: Constant<Bits<8>>,
    sfd_byte: Constant<Bits<8>>,
    crc_init: Constant<Bits<32>>,
    crc_residue: Constant<Bits<32>>,
    fcs_bytes: Constant<Bits<16>>,
    min_frame: Constant<Bits<16>>,
    len_saturated: Constant<Bits<16>>,
}

impl Default for MacRx {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            ce: Default::default(),
            enable: Default::default(),
            reset: Default::default(),
            max_len: Default::default(),
            rxd: Default::default(),
            rx_dv: Default::default(),
            rx_er: Default::default(),
            frame_start: Default::default(),
            byte_valid: Default::default(),
            byte_data: Default::default(),
            frame_end: Default::default(),
            frame_len: Default::default(),
            err_crc: Default::default(),
            err_runt: Default::default(),
            err_long: Default::default(),
            err_rxer: Default::default(),
            state: Default::default(),
            quiet: Default::default(),
            fsm: Default::default(),
            crc: Default::default(),
            crc_step: Default::default(),
            received: Default::default(),
            saw_rxer: Default::default(),
            start_pulse: Default::default(),
            valid_pulse: Default::default(),
            data_out: Default::default(),
            end_pulse: Default::default(),
            status_len: Default::default(),
            status_crc: Default::default(),
            status_runt: Default::default(),
            status_long: Default::default(),
            status_rxer: Default::default(),
            sfd_seen: Default::default(),
            received_next: Default::default(),
            preamble_byte: Constant::new((PREAMBLE_BYTE as u64).into()),
            sfd_byte: Constant::new((SFD_BYTE as u64).into()),
            crc_init: Constant::new((CRC_INIT as u64).into()),
            crc_residue: Constant::new((CRC_RESIDUE as u64).into()),
            fcs_bytes: Constant::new((FCS_BYTES as u64).into()),
            min_frame: Constant::new((MIN_FRAME as u64).into()),
            len_saturated: Constant::new(0xFFFF.into()),
        }
    }
}

impl Logic for MacRx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            fsm,
            crc,
            received,
            saw_rxer,
            start_pulse,
            valid_pulse,
            data_out,
            end_pulse,
            status_len,
            status_crc,
            status_runt,
            status_long,
            status_rxer
        );
        // ---- outputs ----
        self.frame_start.next = self.start_pulse.q.val();
        self.byte_valid.next = self.valid_pulse.q.val();
        self.byte_data.next = self.data_out.q.val();
        self.frame_end.next = self.end_pulse.q.val();
        self.frame_len.next = self.status_len.q.val();
        self.err_crc.next = self.status_crc.q.val();
        self.err_runt.next = self.status_runt.q.val();
        self.err_long.next = self.status_long.q.val();
        self.err_rxer.next = self.status_rxer.q.val();
        self.state.next = self.fsm.q.val();
        self.quiet.next = (self.fsm.q.val() == MacRxState::Idle)
            & !self.rx_dv.val()
            & !self.start_pulse.q.val()
            & !self.valid_pulse.q.val()
            & !self.end_pulse.q.val()
            & !self.reset.val();

        // ---- working values ----
        self.crc_step.crc_in.next = self.crc.q.val();
        self.crc_step.data.next = self.rxd.val();
        self.received_next.next = self.received.q.val() + 1;
        if self.received.q.val() == self.len_saturated.val() {
            self.received_next.next = self.received.q.val();
        }

        // ---- one byte time per clock enable ----
        self.start_pulse.d.next = false;
        self.valid_pulse.d.next = false;
        self.end_pulse.d.next = false;
        self.sfd_seen.next = false;
        if self.ce.val() {
            match self.fsm.q.val() {
                MacRxState::Idle => {
                    if self.rx_dv.val() {
                        if self.rxd.val() == self.sfd_byte.val() {
                            self.sfd_seen.next = true;
                        } else if self.rxd.val() == self.preamble_byte.val() {
                            self.fsm.d.next = MacRxState::Preamble;
                        } else {
                            self.fsm.d.next = MacRxState::Drop;
                        }
                    }
                }
                MacRxState::Preamble => {
                    if !self.rx_dv.val() {
                        self.fsm.d.next = MacRxState::Idle;
                    } else if self.rxd.val() == self.sfd_byte.val() {
                        self.sfd_seen.next = true;
                    } else if self.rxd.val() != self.preamble_byte.val() {
                        self.fsm.d.next = MacRxState::Drop;
                    }
                }
                MacRxState::Data => {
                    if self.rx_dv.val() {
                        self.valid_pulse.d.next = true;
                        self.data_out.d.next = self.rxd.val();
                        self.crc.d.next = self.crc_step.crc_out.val();
                        self.received.d.next = self.received_next.val();
                        self.saw_rxer.d.next = self.saw_rxer.q.val() | self.rx_er.val();
                    } else {
                        self.end_pulse.d.next = true;
                        self.status_len.d.next = self.received.q.val();
                        // No frame of fewer than 4 bytes leaves the residue (checked
                        // exhaustively); the length test makes that explicit.
                        self.status_crc.d.next = (self.crc.q.val() != self.crc_residue.val())
                            | (self.received.q.val() < self.fcs_bytes.val());
                        self.status_runt.d.next = self.received.q.val() < self.min_frame.val();
                        self.status_long.d.next = self.received.q.val() > self.max_len.val();
                        self.status_rxer.d.next = self.saw_rxer.q.val();
                        self.fsm.d.next = MacRxState::Idle;
                    }
                }
                MacRxState::Drop => {
                    if !self.rx_dv.val() {
                        self.fsm.d.next = MacRxState::Idle;
                    }
                }
            }
            // ---- the SFD: a frame starts, if the receiver is enabled ----
            if self.sfd_seen.val() {
                if self.enable.val() {
                    self.start_pulse.d.next = true;
                    self.crc.d.next = self.crc_init.val();
                    self.received.d.next = 0.into();
                    self.saw_rxer.d.next = false;
                    self.fsm.d.next = MacRxState::Data;
                } else {
                    self.fsm.d.next = MacRxState::Drop;
                }
            }
        }
        // ---- reset: the frame in progress is abandoned ----
        if self.reset.val() {
            self.start_pulse.d.next = false;
            self.valid_pulse.d.next = false;
            self.end_pulse.d.next = false;
            self.fsm.d.next = MacRxState::Drop;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mac::crc::tests::reference_fcs;
    use crate::mac::tx::tests::{TxBench, TxFrame};
    use crate::testing::{clock_edge, settle};
    use rand::{rngs::StdRng, Rng, SeedableRng};
    use regs::nic::{MAX_FRAME, MIN_FRAME_NO_FCS};

    /// One byte time on the pins: (rx_dv, rx_er, rxd).
    type Pins = (bool, bool, u8);

    /// A frame as the RX FIFO sees it.
    #[derive(Clone, Debug, Default, PartialEq)]
    struct Received {
        bytes: Vec<u8>,
        len: u16,
        crc: bool,
        runt: bool,
        long: bool,
        rxer: bool,
    }

    impl Received {
        fn good(bytes: &[u8]) -> Self {
            Self {
                bytes: bytes.to_vec(),
                len: bytes.len() as u16,
                ..Default::default()
            }
        }
    }

    /// Checks the output protocol cycle by cycle and collects the frames.
    #[derive(Default)]
    struct Collector {
        open: Option<Vec<u8>>,
        frames: Vec<Received>,
    }

    impl Collector {
        fn observe(&mut self, u: &MacRx) {
            let (start, valid, end) = (u.frame_start.val(), u.byte_valid.val(), u.frame_end.val());
            assert!(
                [start, valid, end].iter().filter(|&&p| p).count() <= 1,
                "pulses overlap: start {start} valid {valid} end {end}"
            );
            if start {
                assert!(self.open.is_none(), "frame_start inside a frame");
                self.open = Some(Vec::new());
            }
            if valid {
                self.open
                    .as_mut()
                    .expect("byte_valid outside a frame")
                    .push(u.byte_data.val().to_u8());
            }
            if end {
                let bytes = self.open.take().expect("frame_end without frame_start");
                self.frames.push(Received {
                    bytes,
                    len: u.frame_len.val().to_u16(),
                    crc: u.err_crc.val(),
                    runt: u.err_runt.val(),
                    long: u.err_long.val(),
                    rxer: u.err_rxer.val(),
                });
            }
        }
    }

    struct RxBench {
        uut: MacRx,
        rng: StdRng,
        ce_prob: f64,
        out: Collector,
    }

    impl RxBench {
        fn new(seed: u64, ce_prob: f64) -> Self {
            let mut uut = MacRx::default();
            uut.connect_all();
            uut.enable.next = true;
            uut.max_len.next = (MAX_FRAME as u64).into();
            Self {
                uut,
                rng: StdRng::seed_from_u64(seed),
                ce_prob,
                out: Collector::default(),
            }
        }

        /// Present each byte time on the pins until a cycle with `ce` has taken it.
        fn drive(&mut self, pins: &[Pins]) {
            for &(dv, er, d) in pins {
                loop {
                    let ce = self.ce_prob >= 1.0 || self.rng.gen_bool(self.ce_prob);
                    self.uut.ce.next = ce;
                    self.uut.rx_dv.next = dv;
                    self.uut.rx_er.next = er;
                    self.uut.rxd.next = (d as u64).into();
                    settle(&mut self.uut);
                    self.out.observe(&self.uut);
                    clock_edge(&mut self.uut, |u| &mut u.clock);
                    if ce {
                        break;
                    }
                }
            }
        }

        /// Idle pins (random rxd with rx_dv low) for `n` byte times.
        fn idle(&mut self, n: usize) {
            let pins: Vec<Pins> = (0..n).map(|_| (false, false, self.rng.gen())).collect();
            self.drive(&pins);
        }

        /// Preamble (`n` × 0x55), SFD and `bytes`, then one idle byte time.
        fn frame(&mut self, n: usize, bytes: &[u8]) {
            self.drive(&with_preamble(n, bytes));
            self.idle(1);
        }

        fn take_frames(&mut self) -> Vec<Received> {
            self.idle(3);
            assert!(self.out.open.is_none(), "a frame never ended");
            std::mem::take(&mut self.out.frames)
        }
    }

    fn with_preamble(n: usize, bytes: &[u8]) -> Vec<Pins> {
        let mut pins = vec![(true, false, PREAMBLE_BYTE); n];
        pins.push((true, false, SFD_BYTE));
        pins.extend(bytes.iter().map(|&b| (true, false, b)));
        pins
    }

    fn with_fcs(data: &[u8]) -> Vec<u8> {
        let mut f = data.to_vec();
        f.extend_from_slice(&reference_fcs(data));
        f
    }

    fn random_frame(rng: &mut StdRng, len: usize) -> Vec<u8> {
        let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        with_fcs(&data)
    }

    #[test]
    fn rx_good_frames_come_out_byte_for_byte_with_no_errors() {
        for (seed, ce_prob) in [(61, 1.0), (62, 0.6), (63, 0.2)] {
            let mut b = RxBench::new(seed, ce_prob);
            let mut rng = StdRng::seed_from_u64(seed + 100);
            let mut sent = Vec::new();
            b.idle(2);
            for _ in 0..12 {
                let len = rng.gen_range(MIN_FRAME_NO_FCS as usize..=1514);
                let frame = random_frame(&mut rng, len);
                let preamble = rng.gen_range(0..=15);
                b.drive(&with_preamble(preamble, &frame));
                let gap = rng.gen_range(1..=16);
                b.idle(gap);
                sent.push(Received::good(&frame));
            }
            assert_eq!(b.take_frames(), sent, "ce probability {ce_prob}");
        }
    }

    #[test]
    fn rx_one_idle_byte_between_frames_is_enough() {
        let mut b = RxBench::new(64, 1.0);
        let mut rng = StdRng::seed_from_u64(65);
        let frames: Vec<Vec<u8>> = (0..5).map(|_| random_frame(&mut rng, 60)).collect();
        for f in &frames {
            b.frame(0, f);
        }
        let expect: Vec<Received> = frames.iter().map(|f| Received::good(f)).collect();
        assert_eq!(b.take_frames(), expect);
    }

    #[test]
    fn rx_bad_fcs_sets_err_crc_only() {
        let mut b = RxBench::new(66, 1.0);
        let mut rng = StdRng::seed_from_u64(67);
        for _ in 0..10 {
            let len = rng.gen_range(60..=300);
            let mut frame = random_frame(&mut rng, len);
            let bit = rng.gen_range(0..8 * frame.len());
            frame[bit / 8] ^= 1 << (bit % 8);
            b.frame(7, &frame);
            let got = b.take_frames();
            let expect = Received {
                crc: true,
                ..Received::good(&frame)
            };
            assert_eq!(got, vec![expect]);
        }
    }

    #[test]
    fn rx_runt_frame_sets_err_runt() {
        let mut b = RxBench::new(68, 1.0);
        let mut rng = StdRng::seed_from_u64(69);
        let runt = random_frame(&mut rng, 40);
        let shortest_good = random_frame(&mut rng, MIN_FRAME_NO_FCS as usize);
        b.frame(7, &runt);
        b.frame(7, &shortest_good);
        let expect = vec![
            Received {
                runt: true,
                ..Received::good(&runt)
            },
            Received::good(&shortest_good),
        ];
        assert_eq!(b.take_frames(), expect);
    }

    #[test]
    fn rx_frames_shorter_than_the_fcs_set_err_crc() {
        let mut b = RxBench::new(70, 1.0);
        for n in 0..FCS_BYTES as usize {
            let bytes: Vec<u8> = (0..n as u8).collect();
            b.frame(7, &bytes);
            let expect = Received {
                crc: true,
                runt: true,
                ..Received::good(&bytes)
            };
            assert_eq!(b.take_frames(), vec![expect], "{n} bytes");
        }
    }

    #[test]
    fn rx_frame_longer_than_max_len_sets_err_long() {
        let mut b = RxBench::new(71, 1.0);
        let mut rng = StdRng::seed_from_u64(72);
        let longest = random_frame(&mut rng, MAX_FRAME as usize - 4);
        let too_long = random_frame(&mut rng, MAX_FRAME as usize - 3);
        b.frame(7, &longest);
        b.frame(7, &too_long);
        let expect = vec![
            Received::good(&longest),
            Received {
                long: true,
                ..Received::good(&too_long)
            },
        ];
        assert_eq!(b.take_frames(), expect);
        // Long packets on: the same frame is good.
        b.uut.max_len.next = 2000.into();
        b.frame(7, &too_long);
        assert_eq!(b.take_frames(), vec![Received::good(&too_long)]);
    }

    #[test]
    fn rx_er_in_a_frame_sets_err_rxer_and_outside_a_frame_does_nothing() {
        let mut b = RxBench::new(73, 1.0);
        let mut rng = StdRng::seed_from_u64(74);
        let frame = random_frame(&mut rng, 100);
        let mut pins = with_preamble(7, &frame);
        pins[8 + 50].1 = true;
        b.drive(&pins);
        // rx_er without rx_dv (carrier extension, false carrier) is not an error.
        b.drive(&[(false, true, 0x0E), (false, true, 0xFF)]);
        b.frame(7, &frame);
        let expect = vec![
            Received {
                rxer: true,
                ..Received::good(&frame)
            },
            Received::good(&frame),
        ];
        assert_eq!(b.take_frames(), expect);
    }

    #[test]
    fn rx_without_sfd_is_not_a_frame() {
        let mut b = RxBench::new(75, 1.0);
        let mut rng = StdRng::seed_from_u64(76);
        let frame = random_frame(&mut rng, 80);
        // A bad byte in the preamble, then an SFD and a frame in the same rx_dv burst.
        let mut pins = vec![(true, false, PREAMBLE_BYTE); 4];
        pins.push((true, false, 0x54));
        pins.extend(with_preamble(3, &frame));
        b.drive(&pins);
        b.idle(1);
        // A frame that starts without any preamble byte: garbage first.
        let mut pins = vec![(true, false, 0x00)];
        pins.extend(with_preamble(7, &frame));
        b.drive(&pins);
        b.idle(1);
        // Preamble only: rx_dv falls before the SFD.
        b.drive(&[(true, false, PREAMBLE_BYTE); 7]);
        b.idle(1);
        assert_eq!(b.take_frames(), vec![]);
        // The receiver still takes the next good frame.
        b.frame(7, &frame);
        assert_eq!(b.take_frames(), vec![Received::good(&frame)]);
    }

    #[test]
    fn rx_frame_starting_while_disabled_is_ignored_entirely() {
        let mut b = RxBench::new(77, 1.0);
        let mut rng = StdRng::seed_from_u64(78);
        let frame = random_frame(&mut rng, 70);
        let pins = with_preamble(7, &frame);
        // Disabled at the SFD, enabled in the middle of the frame: nothing.
        b.uut.enable.next = false;
        b.drive(&pins[..20]);
        b.uut.enable.next = true;
        b.drive(&pins[20..]);
        b.idle(1);
        assert_eq!(b.take_frames(), vec![]);
        // Enabled at the SFD, disabled in the middle: the frame is delivered whole.
        b.drive(&pins[..20]);
        b.uut.enable.next = false;
        b.drive(&pins[20..]);
        b.idle(1);
        assert_eq!(b.take_frames(), vec![Received::good(&frame)]);
    }

    #[test]
    fn rx_reset_in_the_middle_of_a_frame_drops_the_rest_of_it() {
        for (seed, ce_prob) in [(79, 1.0), (80, 0.5)] {
            let mut b = RxBench::new(seed, ce_prob);
            let mut rng = StdRng::seed_from_u64(seed + 1);
            let cut = random_frame(&mut rng, 200);
            let pins = with_preamble(7, &cut);
            b.drive(&pins[..100]);
            // CTRL.RST for one cycle (the RX FIFO is emptied in the same cycle).
            b.uut.reset.next = true;
            b.uut.ce.next = false;
            settle(&mut b.uut);
            b.out.observe(&b.uut);
            clock_edge(&mut b.uut, |u| &mut u.clock);
            b.uut.reset.next = false;
            b.out.open = None;
            // No pulse for the rest of it (the collector fails on a byte outside a frame).
            b.drive(&pins[100..]);
            b.idle(1);
            assert_eq!(b.take_frames(), vec![]);
            let next = random_frame(&mut rng, 80);
            b.frame(7, &next);
            assert_eq!(b.take_frames(), vec![Received::good(&next)]);
        }
    }

    #[test]
    fn tx_to_rx_loop_returns_the_frame_and_its_fcs() {
        for (seed, ce_prob) in [(81, 1.0), (82, 0.5)] {
            let mut tx = TxBench::new(seed, ce_prob, 12);
            let mut rx = MacRx::default();
            rx.connect_all();
            rx.enable.next = true;
            rx.max_len.next = 2000.into();
            let mut out = Collector::default();
            let mut rng = StdRng::seed_from_u64(seed + 1);
            let frames: Vec<TxFrame> = (0..10)
                .map(|_| {
                    let len = rng.gen_range(1..=1600);
                    TxFrame {
                        ifcs: true,
                        ..TxFrame::random(&mut rng, len)
                    }
                })
                .collect();
            for f in &frames {
                tx.queue(f.clone());
            }
            let mut guard = 0;
            while tx.queued_frames() > 0 || tx.uut.busy.val() || out.frames.len() < frames.len() {
                tx.set_inputs();
                rx.ce.next = tx.ce_now;
                rx.rxd.next = tx.uut.txd.val();
                rx.rx_dv.next = tx.uut.tx_en.val();
                rx.rx_er.next = tx.uut.tx_er.val();
                settle(&mut rx);
                out.observe(&rx);
                tx.finish_cycle();
                clock_edge(&mut rx, |u| &mut u.clock);
                guard += 1;
                assert!(guard < 1_000_000, "frames never came back");
            }
            let expect: Vec<Received> = frames
                .iter()
                .map(|f| {
                    let wire = f.on_the_wire();
                    Received {
                        runt: wire.len() < MIN_FRAME as usize,
                        ..Received::good(&wire)
                    }
                })
                .collect();
            assert_eq!(out.frames, expect, "ce probability {ce_prob}");
        }
    }

    #[test]
    fn rx_generates_verilog() {
        let mut uut = MacRx::default();
        uut.connect_all();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
    }
}
