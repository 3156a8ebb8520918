//! The UART transmitter: one 8N1 byte on the `txd` pin per `start` pulse.
//!
//! ```text
//!                ┌──────────────────────────────┐
//!  start       ─►│ Idle ─► Start ─► Data ─► Stop├─► txd (registered, idle 1)
//!  data[8]     ─►│  ▲                        │  ├─► busy
//!  divisor[16] ─►│  └────────────────────────┘  │
//!  clock       ─►│                              │
//!                └──────────────────────────────┘
//! ```
//!
//! `start` is taken while `busy` is low (it is ignored while busy); `data` is latched with it.
//! From the next cycle `txd` carries the start bit, the 8 data bits least significant first and
//! the stop bit, `divisor` cycles each; `busy` is high from the cycle after `start` until the
//! stop bit has lasted `divisor` cycles, so a sender that waits for `busy` low and starts the
//! next byte at once puts `divisor + 1` cycles of stop bit on the line. The pin is a flip-flop
//! (no glitches on the line); it is stored inverted so that its reset value means idle high.

use rust_hdl::prelude::*;

/// States of the transmitter, named for the bit on the pin.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum UartTxState {
    Idle,
    Start,
    Data,
    Stop,
}

#[derive(LogicBlock, Default)]
pub struct UartTx {
    pub clock: Signal<In, Clock>,
    pub divisor: Signal<In, Bits<16>>,
    pub start: Signal<In, Bit>,
    pub data: Signal<In, Bits<8>>,
    pub txd: Signal<Out, Bit>,
    pub busy: Signal<Out, Bit>,
    // ==== implementation ====
    fsm: DFF<UartTxState>,
    tick: DFF<Bits<16>>,
    bit_index: DFF<Bits<3>>,
    /// The bits still to send, next one in bit 0.
    shift: DFF<Bits<8>>,
    /// The pin, inverted.
    line_low: DFF<Bit>,
    bit_end: Signal<Local, Bit>,
}

impl Logic for UartTx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, fsm, tick, bit_index, shift, line_low);
        self.txd.next = !self.line_low.q.val();
        self.busy.next = self.fsm.q.val() != UartTxState::Idle;

        self.bit_end.next = self.tick.q.val() == (self.divisor.val() - 1);
        self.tick.d.next = self.tick.q.val() + 1;
        if self.bit_end.val() {
            self.tick.d.next = 0.into();
        }
        match self.fsm.q.val() {
            UartTxState::Idle => {
                self.tick.d.next = 0.into();
                self.line_low.d.next = false;
                if self.start.val() {
                    self.shift.d.next = self.data.val();
                    self.line_low.d.next = true;
                    self.fsm.d.next = UartTxState::Start;
                }
            }
            UartTxState::Start => {
                if self.bit_end.val() {
                    self.bit_index.d.next = 0.into();
                    self.line_low.d.next = !self.shift.q.val().get_bit(0);
                    self.fsm.d.next = UartTxState::Data;
                }
            }
            UartTxState::Data => {
                if self.bit_end.val() {
                    self.shift.d.next = self.shift.q.val() >> 1;
                    self.bit_index.d.next = self.bit_index.q.val() + 1;
                    self.line_low.d.next = !self.shift.q.val().get_bit(1);
                    if self.bit_index.q.val() == 7 {
                        self.line_low.d.next = false;
                        self.fsm.d.next = UartTxState::Stop;
                    }
                }
            }
            UartTxState::Stop => {
                if self.bit_end.val() {
                    self.fsm.d.next = UartTxState::Idle;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};
    use crate::uart::line::LineMonitor;
    use crate::uart::rx::UartRx;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    #[test]
    fn tx_into_rx_loop_carries_random_bytes_at_several_divisors() {
        let mut rng = StdRng::seed_from_u64(3);
        for divisor in [4u64, 6, 9] {
            let mut tx = UartTx::default();
            let mut rx = UartRx::default();
            tx.connect_all();
            rx.connect_all();
            tx.divisor.next = divisor.into();
            rx.divisor.next = divisor.into();
            let mut monitor = LineMonitor::new(divisor as usize);
            let sent: Vec<u8> = (0..30).map(|_| rng.gen()).collect();
            let (mut next, mut got) = (0, Vec::new());
            for _ in 0..40 * 11 * divisor {
                settle(&mut tx);
                tx.start.next = false;
                if !tx.busy.val() && next < sent.len() && rng.gen_bool(0.5) {
                    tx.start.next = true;
                    tx.data.next = (sent[next] as u64).into();
                    next += 1;
                }
                settle(&mut tx);
                monitor.sample(tx.txd.val());
                rx.rxd.next = tx.txd.val();
                settle(&mut rx);
                if rx.valid.val() {
                    got.push(rx.data.val().to_u64() as u8);
                }
                assert!(!rx.framing_error.val());
                clock_edge(&mut tx, |u| &mut u.clock);
                clock_edge(&mut rx, |u| &mut u.clock);
            }
            assert_eq!(got, sent, "divisor {divisor}");
            assert_eq!(monitor.bytes, sent);
        }
    }

    #[test]
    fn tx_line_idles_high_and_each_bit_lasts_divisor_cycles() {
        let mut tx = UartTx::default();
        tx.connect_all();
        tx.divisor.next = 5.into();
        let mut levels = Vec::new();
        for cycle in 0..80 {
            tx.start.next = cycle == 3;
            tx.data.next = 0b1010_0110.into();
            settle(&mut tx);
            levels.push(tx.txd.val());
            if cycle == 4 {
                assert!(tx.busy.val());
            }
            clock_edge(&mut tx, |u| &mut u.clock);
        }
        settle(&mut tx);
        assert!(!tx.busy.val());
        let mut expect = vec![true; 4];
        for bit in std::iter::once(false)
            .chain((0..8).map(|i| 0b1010_0110u8 & (1 << i) != 0))
            .chain(std::iter::once(true))
        {
            expect.extend(std::iter::repeat_n(bit, 5));
        }
        expect.resize(80, true);
        assert_eq!(levels, expect);
    }

    #[test]
    fn tx_generates_verilog() {
        let mut uut = UartTx::default();
        uut.connect_all();
        assert!(generate_verilog(&uut).contains("module top"));
    }
}
