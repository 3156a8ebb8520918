//! The MAC transmitter: a frame from the TX FIFO onto GMII-like TX pins, one byte per clock
//! enable.
//!
//! ```text
//!                  ┌──────────────────────────────────┐
//!  frame_ready   ─►│ Idle ─► Preamble ─► Sfd ─► Data  ├─► txd[8]
//!  frame_len[16] ─►│  ▲                       │   │   ├─► tx_en
//!  frame_ifcs    ─►│  │                       ▼   ▼   ├─► tx_er (always 0)
//!  byte_in[8]    ─►│ Gap ◄───────────────── Fcs ◄ Pad ├─► byte_pop (combinational)
//!  pad           ─►│                                  ├─► frame_start, frame_done,
//!  ipg[10]       ─►│   Crc32Byte over data + pad      │   wire_bytes[16]
//!  enable        ─►│                                  ├─► busy, state
//!  reset         ─►│                                  │
//!  ce, clock     ─►│                                  │
//!                  └──────────────────────────────────┘
//! ```
//!
//! A frame starts when the MAC is idle, `enable` (TCTL.EN) is set and `frame_ready` says a
//! whole frame waits; a frame in flight always finishes. On the wire: 7 × 0x55, the SFD 0xD5,
//! `frame_len` data bytes popped from the show-ahead FIFO, zero padding up to 60 bytes when
//! `pad` (TCTL.PSP) is set and the frame is shorter, the 4 FCS bytes when `frame_ifcs` is set
//! (CRC over data and padding), then at least `max(ipg, 12)` byte times with `tx_en` low.
//! `frame_len`, `frame_ifcs` and `pad` are taken when the frame starts. `frame_len` must be
//! at least 1 (0 acts as 65536).
//!
//! `reset` (CTRL.RST, which empties the FIFO and the frame queue in the same cycle) cuts the
//! frame on the wire at once, whatever `ce` does: no more pops or pulses, `tx_en` low from the
//! next cycle, then a full gap before the next frame (a PHY sees a short frame with a bad FCS).
//!
//! **Timing.** The MAC decides one byte in each cycle with `ce` high and holds everything while
//! `ce` is low. The pins and the pulses are registered: what is decided in cycle *n* is on
//! `txd`/`tx_en` from cycle *n*+1 until the cycle after the next `ce` cycle, so **the output
//! latency is 1 cycle** (a byte popped in cycle *n* is on `txd` in cycle *n*+1). `byte_pop` is
//! combinational in the deciding cycle; the FIFO shows the next byte on the following cycle.
//! `frame_start` is high for one cycle, the first cycle the first preamble byte is on the
//! pins; `frame_done` is high for one cycle, the first cycle the frame's last byte is on the
//! pins, with `wire_bytes` (data + padding + FCS, held until the next `frame_done`).
//! Back to back, exactly `max(ipg, 12)` byte times with `tx_en` low separate the last byte of
//! one frame from the first preamble byte of the next: line rate is 8 + frame + 12 bytes per
//! frame. `state` and `busy` show the state register, i.e. the byte being decided (one cycle
//! ahead of the pins); `busy` covers the frame and its gap.

use super::crc::{Crc32Byte, CRC_INIT};
use regs::nic::{
    FCS_BYTES, MIN_FRAME_NO_FCS, MIN_IFG_BYTES, PREAMBLE_BYTE, PREAMBLE_BYTES, SFD_BYTE,
};
use rust_hdl::prelude::*;

/// States of the transmitter, in encoding order; each names the byte being decided.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum MacTxState {
    /// Nothing to send (or TCTL.EN low); on a start the first preamble byte is decided here.
    Idle,
    /// Preamble bytes 2..=7.
    Preamble,
    Sfd,
    Data,
    Pad,
    Fcs,
    /// The inter-frame gap after the last byte.
    Gap,
}

#[derive(LogicBlock)]
pub struct MacTx {
    pub clock: Signal<In, Clock>,
    pub ce: Signal<In, Bit>,
    pub enable: Signal<In, Bit>,
    pub reset: Signal<In, Bit>,
    // ---- frame queue side (the show-ahead TX FIFO) ----
    pub frame_ready: Signal<In, Bit>,
    pub frame_len: Signal<In, Bits<16>>,
    pub frame_ifcs: Signal<In, Bit>,
    pub pad: Signal<In, Bit>,
    pub ipg: Signal<In, Bits<10>>,
    pub byte_in: Signal<In, Bits<8>>,
    pub byte_pop: Signal<Out, Bit>,
    pub frame_start: Signal<Out, Bit>,
    pub frame_done: Signal<Out, Bit>,
    pub wire_bytes: Signal<Out, Bits<16>>,
    pub busy: Signal<Out, Bit>,
    // ---- GMII-like pins ----
    pub txd: Signal<Out, Bits<8>>,
    pub tx_en: Signal<Out, Bit>,
    pub tx_er: Signal<Out, Bit>,
    pub state: Signal<Out, MacTxState>,
    /// Nothing would change at the next edge: idle, no frame to start, no pulse to end
    /// (the SoC's clock gate, `crate::clock_gate`).
    pub quiet: Signal<Out, Bit>,
    // ==== implementation ====
    fsm: DFF<MacTxState>,
    /// Position in the preamble (bytes sent), the FCS (bytes sent) or the gap (byte times).
    step: DFF<Bits<10>>,
    /// Bytes of this frame sent after the SFD.
    sent: DFF<Bits<16>>,
    /// The frame's description, taken at its start.
    frame_bytes: DFF<Bits<16>>,
    append_fcs: DFF<Bit>,
    pad_short: DFF<Bit>,
    crc: DFF<Bits<32>>,
    crc_step: Crc32Byte,
    pin_txd: DFF<Bits<8>>,
    pin_tx_en: DFF<Bit>,
    start_pulse: DFF<Bit>,
    done_pulse: DFF<Bit>,
    wire_count: DFF<Bits<16>>,
    step_next: Signal<Local, Bits<10>>,
    sent_next: Signal<Local, Bits<16>>,
    gap_bytes: Signal<Local, Bits<10>>,
    /// This byte is the last of data + padding.
    payload_last: Signal<Local, Bit>,
    /// This byte is the last of the frame.
    frame_last: Signal<Local, Bit>,
    preamble_byte: Constant<Bits<8>>,
    sfd_byte: Constant<Bits<8>>,
    preamble_len: Constant<Bits<10>>,
    min_ifg: Constant<Bits<10>>,
    min_payload: Constant<Bits<16>>,
    fcs_last_step: Constant<Bits<10>>,
    crc_init: Constant<Bits<32>>,
}

impl Default for MacTx {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            ce: Default::default(),
            enable: Default::default(),
            reset: Default::default(),
            frame_ready: Default::default(),
            frame_len: Default::default(),
            frame_ifcs: Default::default(),
            pad: Default::default(),
            ipg: Default::default(),
            byte_in: Default::default(),
            byte_pop: Default::default(),
            frame_start: Default::default(),
            frame_done: Default::default(),
            wire_bytes: Default::default(),
            busy: Default::default(),
            txd: Default::default(),
            tx_en: Default::default(),
            tx_er: Default::default(),
            state: Default::default(),
            quiet: Default::default(),
            fsm: Default::default(),
            step: Default::default(),
            sent: Default::default(),
            frame_bytes: Default::default(),
            append_fcs: Default::default(),
            pad_short: Default::default(),
            crc: Default::default(),
            crc_step: Default::default(),
            pin_txd: Default::default(),
            pin_tx_en: Default::default(),
            start_pulse: Default::default(),
            done_pulse: Default::default(),
            wire_count: Default::default(),
            step_next: Default::default(),
            sent_next: Default::default(),
            gap_bytes: Default::default(),
            payload_last: Default::default(),
            frame_last: Default::default(),
            preamble_byte: Constant::new((PREAMBLE_BYTE as u64).into()),
            sfd_byte: Constant::new((SFD_BYTE as u64).into()),
            // The preamble proper, without the SFD.
            preamble_len: Constant::new(((PREAMBLE_BYTES - 1) as u64).into()),
            min_ifg: Constant::new((MIN_IFG_BYTES as u64).into()),
            min_payload: Constant::new((MIN_FRAME_NO_FCS as u64).into()),
            fcs_last_step: Constant::new(((FCS_BYTES - 1) as u64).into()),
            crc_init: Constant::new((CRC_INIT as u64).into()),
        }
    }
}

impl Logic for MacTx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            fsm,
            step,
            sent,
            frame_bytes,
            append_fcs,
            pad_short,
            crc,
            pin_txd,
            pin_tx_en,
            start_pulse,
            done_pulse,
            wire_count
        );
        // ---- outputs ----
        self.txd.next = self.pin_txd.q.val();
        self.tx_en.next = self.pin_tx_en.q.val();
        self.tx_er.next = false;
        self.frame_start.next = self.start_pulse.q.val();
        self.frame_done.next = self.done_pulse.q.val();
        self.wire_bytes.next = self.wire_count.q.val();
        self.state.next = self.fsm.q.val();
        self.busy.next = self.fsm.q.val() != MacTxState::Idle;
        self.quiet.next = (self.fsm.q.val() == MacTxState::Idle)
            & !(self.enable.val() & self.frame_ready.val())
            & !self.start_pulse.q.val()
            & !self.done_pulse.q.val()
            & !self.pin_tx_en.q.val()
            & (self.pin_txd.q.val() == 0)
            & !self.reset.val();

        // ---- working values ----
        self.step_next.next = self.step.q.val() + 1;
        self.sent_next.next = self.sent.q.val() + 1;
        self.gap_bytes.next = self.ipg.val();
        if self.ipg.val() < self.min_ifg.val() {
            self.gap_bytes.next = self.min_ifg.val();
        }
        self.crc_step.crc_in.next = self.crc.q.val();
        self.crc_step.data.next = 0.into();

        // ---- one byte per clock enable ----
        self.byte_pop.next = false;
        self.start_pulse.d.next = false;
        self.done_pulse.d.next = false;
        self.payload_last.next = false;
        self.frame_last.next = false;
        if self.ce.val() {
            match self.fsm.q.val() {
                MacTxState::Idle => {
                    self.pin_tx_en.d.next = false;
                    self.pin_txd.d.next = 0.into();
                    if self.enable.val() & self.frame_ready.val() {
                        self.pin_tx_en.d.next = true;
                        self.pin_txd.d.next = self.preamble_byte.val();
                        self.start_pulse.d.next = true;
                        self.step.d.next = 1.into();
                        self.sent.d.next = 0.into();
                        self.crc.d.next = self.crc_init.val();
                        self.frame_bytes.d.next = self.frame_len.val();
                        self.append_fcs.d.next = self.frame_ifcs.val();
                        self.pad_short.d.next = self.pad.val();
                        self.fsm.d.next = MacTxState::Preamble;
                    }
                }
                MacTxState::Preamble => {
                    self.pin_txd.d.next = self.preamble_byte.val();
                    self.step.d.next = self.step_next.val();
                    if self.step_next.val() == self.preamble_len.val() {
                        self.fsm.d.next = MacTxState::Sfd;
                    }
                }
                MacTxState::Sfd => {
                    self.pin_txd.d.next = self.sfd_byte.val();
                    self.fsm.d.next = MacTxState::Data;
                }
                MacTxState::Data => {
                    self.byte_pop.next = true;
                    self.pin_txd.d.next = self.byte_in.val();
                    self.crc_step.data.next = self.byte_in.val();
                    self.crc.d.next = self.crc_step.crc_out.val();
                    self.sent.d.next = self.sent_next.val();
                    if self.sent_next.val() == self.frame_bytes.q.val() {
                        if self.pad_short.q.val()
                            & (self.frame_bytes.q.val() < self.min_payload.val())
                        {
                            self.fsm.d.next = MacTxState::Pad;
                        } else {
                            self.payload_last.next = true;
                        }
                    }
                }
                MacTxState::Pad => {
                    self.pin_txd.d.next = 0.into();
                    self.crc.d.next = self.crc_step.crc_out.val();
                    self.sent.d.next = self.sent_next.val();
                    if self.sent_next.val() == self.min_payload.val() {
                        self.payload_last.next = true;
                    }
                }
                MacTxState::Fcs => {
                    // The complement of the register, least significant byte first.
                    self.pin_txd.d.next = !self.crc.q.val().get_bits::<8>(0);
                    self.crc.d.next = self.crc.q.val() >> 8;
                    self.sent.d.next = self.sent_next.val();
                    self.step.d.next = self.step_next.val();
                    if self.step.q.val() == self.fcs_last_step.val() {
                        self.frame_last.next = true;
                    }
                }
                MacTxState::Gap => {
                    self.pin_tx_en.d.next = false;
                    self.pin_txd.d.next = 0.into();
                    self.step.d.next = self.step_next.val();
                    if self.step_next.val() >= self.gap_bytes.val() {
                        self.fsm.d.next = MacTxState::Idle;
                    }
                }
            }
            // ---- end of the payload: the FCS, or the end of the frame ----
            if self.payload_last.val() {
                if self.append_fcs.q.val() {
                    self.step.d.next = 0.into();
                    self.fsm.d.next = MacTxState::Fcs;
                } else {
                    self.frame_last.next = true;
                }
            }
            if self.frame_last.val() {
                self.done_pulse.d.next = true;
                self.wire_count.d.next = self.sent_next.val();
                self.step.d.next = 0.into();
                self.fsm.d.next = MacTxState::Gap;
            }
        }
        // ---- reset: the frame is cut here (its bytes are no longer in the FIFO) ----
        if self.reset.val() {
            self.byte_pop.next = false;
            self.start_pulse.d.next = false;
            self.done_pulse.d.next = false;
            self.pin_tx_en.d.next = false;
            self.pin_txd.d.next = 0.into();
            self.step.d.next = 0.into();
            self.fsm.d.next = MacTxState::Gap;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::mac::crc::tests::reference_fcs;
    use crate::testing::{clock_edge, settle};
    use rand::{rngs::StdRng, Rng, SeedableRng};
    use std::collections::VecDeque;

    /// A frame as the TX FIFO holds it.
    #[derive(Clone, Debug)]
    pub(crate) struct TxFrame {
        pub data: Vec<u8>,
        pub ifcs: bool,
        pub pad: bool,
    }

    impl TxFrame {
        pub fn random(rng: &mut StdRng, len: usize) -> Self {
            Self {
                data: (0..len).map(|_| rng.gen()).collect(),
                ifcs: rng.gen_bool(0.7),
                pad: rng.gen_bool(0.5),
            }
        }

        /// The bytes that must follow the SFD on the wire.
        pub fn on_the_wire(&self) -> Vec<u8> {
            let mut wire = self.data.clone();
            if self.pad && wire.len() < MIN_FRAME_NO_FCS as usize {
                wire.resize(MIN_FRAME_NO_FCS as usize, 0);
            }
            if self.ifcs {
                let fcs = reference_fcs(&wire);
                wire.extend_from_slice(&fcs);
            }
            wire
        }
    }

    /// The TX FIFO (a byte queue and a frame queue, both honouring the MAC's pops) and the
    /// pins as a PHY sees them: sampled once per byte time (each cycle with `ce` high).
    pub(crate) struct TxBench {
        pub uut: MacTx,
        pub rng: StdRng,
        pub ce_prob: f64,
        bytes: VecDeque<u8>,
        frames: VecDeque<TxFrame>,
        /// (tx_en, txd) at each byte time.
        pub wire: Vec<(bool, u8)>,
        /// Wire index of the first preamble byte at each `frame_start`.
        pub starts: Vec<usize>,
        /// Wire index of the last byte and `wire_bytes` at each `frame_done`.
        pub dones: Vec<(usize, u16)>,
        pub pops: usize,
        last_pins: (bool, u8),
        last_ce: bool,
        /// `ce` of the cycle now being set up (drawn in `set_inputs`).
        pub ce_now: bool,
    }

    impl TxBench {
        pub fn new(seed: u64, ce_prob: f64, ipg: u16) -> Self {
            let mut uut = MacTx::default();
            uut.connect_all();
            uut.enable.next = true;
            uut.ipg.next = (ipg as u64).into();
            Self {
                uut,
                rng: StdRng::seed_from_u64(seed),
                ce_prob,
                bytes: VecDeque::new(),
                frames: VecDeque::new(),
                wire: Vec::new(),
                starts: Vec::new(),
                dones: Vec::new(),
                pops: 0,
                last_pins: (false, 0),
                last_ce: true,
                ce_now: true,
            }
        }

        pub fn queue(&mut self, frame: TxFrame) {
            self.bytes.extend(frame.data.iter().copied());
            self.frames.push_back(frame);
        }

        pub fn queued_frames(&self) -> usize {
            self.frames.len()
        }

        /// Drive this cycle's inputs from the FIFO model and settle.
        pub fn set_inputs(&mut self) {
            self.ce_now = self.ce_prob >= 1.0 || self.rng.gen_bool(self.ce_prob);
            let u = &mut self.uut;
            u.ce.next = self.ce_now;
            u.frame_ready.next = !self.frames.is_empty();
            let (len, ifcs, pad) = self
                .frames
                .front()
                .map_or((0, false, false), |f| (f.data.len(), f.ifcs, f.pad));
            u.frame_len.next = (len as u64).into();
            u.frame_ifcs.next = ifcs;
            u.pad.next = pad;
            u.byte_in.next = (*self.bytes.front().unwrap_or(&0) as u64).into();
            settle(u);
        }

        /// Look at the settled outputs, let the FIFO react, and clock.
        pub fn finish_cycle(&mut self) {
            let u = &mut self.uut;
            let pins = (u.tx_en.val(), u.txd.val().to_u8());
            assert!(!u.tx_er.val(), "tx_er is never driven high");
            if !self.last_ce {
                assert_eq!(
                    pins, self.last_pins,
                    "pins changed after a cycle without ce"
                );
                assert!(!u.frame_start.val() && !u.frame_done.val());
            }
            if u.byte_pop.val() {
                assert!(self.ce_now, "byte_pop without ce");
                self.bytes.pop_front().expect("byte_pop on an empty FIFO");
                self.pops += 1;
            }
            if u.frame_start.val() {
                self.starts.push(self.wire.len());
            }
            if u.frame_done.val() {
                self.dones
                    .push((self.wire.len(), u.wire_bytes.val().to_u16()));
                self.frames.pop_front().expect("frame_done without a frame");
            }
            if self.ce_now {
                self.wire.push(pins);
            }
            self.last_pins = pins;
            self.last_ce = self.ce_now;
            clock_edge(u, |u| &mut u.clock);
        }

        pub fn cycle(&mut self) {
            self.set_inputs();
            self.finish_cycle();
        }

        /// Run until every queued frame has been sent and its gap has passed.
        pub fn run_until_sent(&mut self) {
            let mut guard = 0;
            while !self.frames.is_empty() || self.uut.busy.val() {
                self.cycle();
                guard += 1;
                assert!(guard < 10_000_000, "frames never went out");
            }
        }
    }

    /// Cut the sampled wire into bursts of `tx_en`: (wire index of the first byte, bytes).
    pub(crate) fn bursts(wire: &[(bool, u8)]) -> Vec<(usize, Vec<u8>)> {
        let mut out: Vec<(usize, Vec<u8>)> = Vec::new();
        let mut in_burst = false;
        for (i, &(en, d)) in wire.iter().enumerate() {
            if en {
                if !in_burst {
                    out.push((i, Vec::new()));
                }
                out.last_mut().unwrap().1.push(d);
            }
            in_burst = en;
        }
        out
    }

    fn preamble_and_sfd() -> Vec<u8> {
        let mut p = vec![PREAMBLE_BYTE; PREAMBLE_BYTES as usize - 1];
        p.push(SFD_BYTE);
        p
    }

    /// Send `frames` queued back to back and check every burst on the wire, the pulses and
    /// `wire_bytes`. Returns the bench for further checks.
    fn send_and_check(frames: &[TxFrame], seed: u64, ce_prob: f64, ipg: u16) -> TxBench {
        let mut b = TxBench::new(seed, ce_prob, ipg);
        for f in frames {
            b.queue(f.clone());
        }
        b.run_until_sent();
        let got = bursts(&b.wire);
        assert_eq!(got.len(), frames.len());
        assert_eq!(b.starts.len(), frames.len());
        assert_eq!(b.dones.len(), frames.len());
        let total_data: usize = frames.iter().map(|f| f.data.len()).sum();
        assert_eq!(b.pops, total_data);
        for (k, (f, (at, burst))) in frames.iter().zip(&got).enumerate() {
            let mut expect = preamble_and_sfd();
            let after_sfd = f.on_the_wire();
            expect.extend_from_slice(&after_sfd);
            assert_eq!(
                burst,
                &expect,
                "frame {k}: {} bytes, ifcs {}, pad {}",
                f.data.len(),
                f.ifcs,
                f.pad
            );
            assert_eq!(
                b.starts[k], *at,
                "frame_start is with the first preamble byte"
            );
            let last = at + burst.len() - 1;
            assert_eq!(b.dones[k], (last, after_sfd.len() as u16), "frame_done");
        }
        b
    }

    #[test]
    fn tx_sends_preamble_sfd_data_padding_and_fcs() {
        let mut rng = StdRng::seed_from_u64(21);
        let mut frames: Vec<TxFrame> = [1, 2, 3, 59, 60, 61, 63, 64, 65]
            .iter()
            .flat_map(|&n| {
                [(false, false), (false, true), (true, false), (true, true)].map(|(ifcs, pad)| {
                    TxFrame {
                        ifcs,
                        pad,
                        ..TxFrame::random(&mut rng, n)
                    }
                })
            })
            .collect();
        for _ in 0..24 {
            let len = if rng.gen_bool(0.5) {
                rng.gen_range(1..=80)
            } else {
                rng.gen_range(1..=1600)
            };
            frames.push(TxFrame::random(&mut rng, len));
        }
        send_and_check(&frames, 22, 1.0, 12);
    }

    #[test]
    fn tx_back_to_back_frames_keep_exactly_the_gap() {
        for ipg in [0u16, 12, 20, 5, 100] {
            let mut rng = StdRng::seed_from_u64(30 + ipg as u64);
            let frames: Vec<TxFrame> = (0..6)
                .map(|_| {
                    let len = rng.gen_range(1..=200);
                    TxFrame::random(&mut rng, len)
                })
                .collect();
            let b = send_and_check(&frames, 31, 1.0, ipg);
            let gap = (ipg as usize).max(MIN_IFG_BYTES as usize);
            let got = bursts(&b.wire);
            for pair in got.windows(2) {
                let idle = pair[1].0 - (pair[0].0 + pair[0].1.len());
                assert_eq!(idle, gap, "ipg {ipg}");
            }
            // Line rate: the next preamble is 8 + frame + gap byte times after the last.
            for (f, pair) in frames.iter().zip(got.windows(2)) {
                let period = PREAMBLE_BYTES as usize + f.on_the_wire().len() + gap;
                assert_eq!(pair[1].0 - pair[0].0, period);
            }
        }
    }

    #[test]
    fn tx_random_clock_enable_gives_the_same_byte_stream() {
        let mut rng = StdRng::seed_from_u64(41);
        let frames: Vec<TxFrame> = (0..12)
            .map(|_| {
                let len = rng.gen_range(1..=300);
                TxFrame::random(&mut rng, len)
            })
            .collect();
        let full_rate = send_and_check(&frames, 42, 1.0, 17);
        for (seed, ce_prob) in [(43, 0.5), (44, 0.1), (45, 0.9)] {
            let slowed = send_and_check(&frames, seed, ce_prob, 17);
            assert_eq!(slowed.wire, full_rate.wire, "ce probability {ce_prob}");
        }
    }

    #[test]
    fn tx_enable_low_holds_a_waiting_frame_and_a_frame_in_flight_finishes() {
        let mut rng = StdRng::seed_from_u64(51);
        let mut b = TxBench::new(52, 1.0, 12);
        let first = TxFrame::random(&mut rng, 100);
        let second = TxFrame::random(&mut rng, 30);
        b.uut.enable.next = false;
        b.queue(first.clone());
        b.queue(second.clone());
        for _ in 0..300 {
            b.cycle();
            assert!(!b.uut.busy.val() && b.uut.state.val() == MacTxState::Idle);
        }
        assert!(b.starts.is_empty() && b.pops == 0);
        assert!(b.wire.iter().all(|&(en, _)| !en));
        // Enable: the first frame starts; drop enable again in the middle of it.
        b.uut.enable.next = true;
        while b.starts.is_empty() {
            b.cycle();
        }
        for _ in 0..50 {
            b.cycle();
        }
        b.uut.enable.next = false;
        for _ in 0..500 {
            b.cycle();
        }
        assert_eq!(b.dones.len(), 1, "the frame in flight finished");
        assert_eq!(b.queued_frames(), 1, "the second frame waits");
        assert!(!b.uut.busy.val());
        let got = bursts(&b.wire);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1[8..], first.on_the_wire()[..]);
        b.uut.enable.next = true;
        b.run_until_sent();
        let got = bursts(&b.wire);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].1[8..], second.on_the_wire()[..]);
    }

    #[test]
    fn tx_reset_cuts_the_frame_in_flight_and_the_next_frame_goes_out_whole_after_a_gap() {
        let mut rng = StdRng::seed_from_u64(61);
        let mut b = TxBench::new(62, 1.0, 12);
        let cut = TxFrame::random(&mut rng, 200);
        b.queue(cut.clone());
        while b.pops < 50 {
            b.cycle();
        }
        // CTRL.RST: the FIFO and the frame queue are emptied in the same cycle.
        b.uut.reset.next = true;
        b.cycle();
        b.uut.reset.next = false;
        b.bytes.clear();
        b.frames.clear();
        let pops = b.pops;
        for _ in 0..300 {
            b.cycle();
        }
        assert_eq!(b.pops, pops, "nothing popped after the reset");
        assert!(b.dones.is_empty(), "no frame_done for the cut frame");
        assert!(!b.uut.busy.val());
        let got = bursts(&b.wire);
        assert_eq!(got.len(), 1);
        assert!(got[0].1.len() < 8 + 60, "cut short");
        assert_eq!(got[0].1[8..], cut.on_the_wire()[..got[0].1.len() - 8]);
        let next = TxFrame::random(&mut rng, 80);
        b.queue(next.clone());
        b.run_until_sent();
        let got = bursts(&b.wire);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].1[8..], next.on_the_wire()[..]);
        assert_eq!(b.dones.len(), 1);
    }

    #[test]
    fn tx_reset_keeps_the_gap_after_the_cut() {
        let mut rng = StdRng::seed_from_u64(63);
        let mut b = TxBench::new(64, 1.0, 12);
        b.queue(TxFrame::random(&mut rng, 100));
        while b.pops < 10 {
            b.cycle();
        }
        b.uut.reset.next = true;
        b.cycle();
        b.uut.reset.next = false;
        b.bytes.clear();
        b.frames.clear();
        // A frame ready at once after the reset still waits for the gap.
        let next = TxFrame::random(&mut rng, 70);
        b.queue(next.clone());
        b.run_until_sent();
        let got = bursts(&b.wire);
        assert_eq!(got.len(), 2);
        let idle = got[1].0 - (got[0].0 + got[0].1.len());
        assert!(idle >= MIN_IFG_BYTES as usize, "{idle} idle bytes");
        assert_eq!(got[1].1[8..], next.on_the_wire()[..]);
    }

    #[test]
    fn tx_generates_verilog() {
        let mut uut = MacTx::default();
        uut.connect_all();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
    }
}
