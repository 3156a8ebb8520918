//! The UART receiver: 8N1 bytes from the `rxd` pin, sampled in the middle of each bit.
//!
//! ```text
//!                ┌───────────────────────────────────────┐
//!  rxd         ─►│ 2-flop      Idle ─► Start ─► Data ─►  ├─► valid (1-cycle pulse)
//!                │ synchronizer  ▲                  │    ├─► data[8]
//!  divisor[16] ─►│               └───── Stop ◄──────┘    ├─► framing_error (1-cycle pulse)
//!  clock       ─►│   (stop bit 0: Stop ─► Break ─► Idle) │
//!                └───────────────────────────────────────┘
//! ```
//!
//! `divisor` is the number of clock cycles per bit (at least `regs::uart_bridge::MIN_DIVISOR`).
//! A falling edge on the synchronized line starts a byte; the start bit is checked half a bit
//! later (still low, else the edge was a glitch and the receiver goes back to idle), then each
//! data bit (least significant first) and the stop bit are sampled one bit time apart. A high
//! stop bit pulses `valid` with the byte on `data`; a low one pulses `framing_error` instead.
//! After a framing error the receiver waits for the line to go high before it looks for the
//! next start edge (a break is one framing error). `data` holds the byte until the next byte's
//! first data bit is sampled. After a good byte the receiver is idle again in the middle of
//! the stop bit, which leaves half a bit of slack for a sender whose clock runs fast.

use rust_hdl::prelude::*;

/// States of the receiver, named for the bit being timed.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum UartRxState {
    /// Waiting for a falling edge.
    Idle,
    /// Timing to the middle of the start bit.
    Start,
    /// Timing to the middle of each data bit.
    Data,
    /// Timing to the middle of the stop bit.
    Stop,
    /// The stop bit was low: waiting for the line to go high again before the next start
    /// edge, so that a line held low (a break) is one framing error, not a stream of bytes.
    Break,
}

#[derive(LogicBlock, Default)]
pub struct UartRx {
    pub clock: Signal<In, Clock>,
    pub divisor: Signal<In, Bits<16>>,
    pub rxd: Signal<In, Bit>,
    pub valid: Signal<Out, Bit>,
    pub data: Signal<Out, Bits<8>>,
    pub framing_error: Signal<Out, Bit>,
    // ==== implementation ====
    /// The synchronizer holds the *inverted* line, so that its reset value (0) means idle.
    line_low_meta: DFF<Bit>,
    line_low: DFF<Bit>,
    fsm: DFF<UartRxState>,
    /// Cycles into the current bit (from its sampling point, after the start bit).
    tick: DFF<Bits<16>>,
    bit_index: DFF<Bits<3>>,
    shift: DFF<Bits<8>>,
    valid_pulse: DFF<Bit>,
    error_pulse: DFF<Bit>,
    bit_end: Signal<Local, Bit>,
    half_bit: Signal<Local, Bit>,
}

impl Logic for UartRx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            line_low_meta,
            line_low,
            fsm,
            tick,
            bit_index,
            shift,
            valid_pulse,
            error_pulse
        );
        self.line_low_meta.d.next = !self.rxd.val();
        self.line_low.d.next = self.line_low_meta.q.val();
        self.valid.next = self.valid_pulse.q.val();
        self.framing_error.next = self.error_pulse.q.val();
        self.data.next = self.shift.q.val();

        self.bit_end.next = self.tick.q.val() == (self.divisor.val() - 1);
        self.half_bit.next = self.tick.q.val() == ((self.divisor.val() >> 1) - 1);
        self.valid_pulse.d.next = false;
        self.error_pulse.d.next = false;
        self.tick.d.next = self.tick.q.val() + 1;
        match self.fsm.q.val() {
            UartRxState::Idle => {
                self.tick.d.next = 0.into();
                if self.line_low.q.val() {
                    self.fsm.d.next = UartRxState::Start;
                }
            }
            UartRxState::Start => {
                if self.half_bit.val() {
                    self.tick.d.next = 0.into();
                    self.bit_index.d.next = 0.into();
                    self.fsm.d.next = UartRxState::Idle;
                    if self.line_low.q.val() {
                        self.fsm.d.next = UartRxState::Data;
                    }
                }
            }
            UartRxState::Data => {
                if self.bit_end.val() {
                    self.tick.d.next = 0.into();
                    self.shift.d.next = self.shift.q.val() >> 1;
                    if !self.line_low.q.val() {
                        self.shift.d.next = (self.shift.q.val() >> 1) | 0x80;
                    }
                    self.bit_index.d.next = self.bit_index.q.val() + 1;
                    if self.bit_index.q.val() == 7 {
                        self.fsm.d.next = UartRxState::Stop;
                    }
                }
            }
            UartRxState::Stop => {
                if self.bit_end.val() {
                    self.valid_pulse.d.next = !self.line_low.q.val();
                    self.error_pulse.d.next = self.line_low.q.val();
                    self.fsm.d.next = UartRxState::Idle;
                    if self.line_low.q.val() {
                        self.fsm.d.next = UartRxState::Break;
                    }
                }
            }
            UartRxState::Break => {
                if !self.line_low.q.val() {
                    self.fsm.d.next = UartRxState::Idle;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};
    use crate::uart::line::LineDriver;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    /// Runs `line` through a receiver; returns (bytes, framing errors) as pulsed.
    fn receive(divisor: usize, line: &mut LineDriver, extra: usize) -> (Vec<u8>, usize) {
        let mut uut = UartRx::default();
        uut.connect_all();
        uut.divisor.next = (divisor as u64).into();
        let (mut bytes, mut errors) = (Vec::new(), 0);
        let mut idle_for = 0;
        while idle_for < extra {
            if line.is_idle() {
                idle_for += 1;
            }
            uut.rxd.next = line.next_level();
            settle(&mut uut);
            assert!(!(uut.valid.val() && uut.framing_error.val()));
            if uut.valid.val() {
                bytes.push(uut.data.val().to_u64() as u8);
            }
            if uut.framing_error.val() {
                errors += 1;
            }
            clock_edge(&mut uut, |u| &mut u.clock);
        }
        (bytes, errors)
    }

    #[test]
    fn rx_receives_random_bytes_back_to_back_at_several_divisors() {
        let mut rng = StdRng::seed_from_u64(7);
        for divisor in [4, 5, 7, 16] {
            let sent: Vec<u8> = (0..40).map(|_| rng.gen()).collect();
            let mut line = LineDriver::default();
            line.queue_idle(3);
            for b in &sent {
                line.queue_byte(*b, divisor);
                if rng.gen_bool(0.3) {
                    line.queue_idle(rng.gen_range(1..3 * divisor));
                }
            }
            let (got, errors) = receive(divisor, &mut line, 4 * divisor);
            assert_eq!(got, sent, "divisor {divisor}");
            assert_eq!(errors, 0);
        }
    }

    #[test]
    fn rx_stop_bit_low_is_a_framing_error_and_a_break_is_one() {
        let mut line = LineDriver::default();
        line.queue_idle(2);
        line.queue_byte(0x11, 4);
        line.queue_byte_with_stop(0x22, 4, false);
        line.queue_idle(8);
        // A break: the line held low for three byte times.
        for _ in 0..3 {
            line.queue_byte_with_stop(0x00, 4, false);
        }
        line.queue_idle(8);
        line.queue_byte(0x33, 4);
        let (got, errors) = receive(4, &mut line, 20);
        assert_eq!(got, vec![0x11, 0x33]);
        assert_eq!(errors, 2);
    }

    #[test]
    fn rx_ignores_a_glitch_shorter_than_half_a_bit() {
        let mut uut = UartRx::default();
        uut.connect_all();
        uut.divisor.next = 8.into();
        for cycle in 0..200 {
            // Low for 2 cycles at 8 cycles per bit: high again by the start bit's middle.
            uut.rxd.next = !(5..7).contains(&cycle);
            settle(&mut uut);
            assert!(!uut.valid.val() && !uut.framing_error.val());
            clock_edge(&mut uut, |u| &mut u.clock);
        }
    }

    #[test]
    fn rx_generates_verilog() {
        let mut uut = UartRx::default();
        uut.connect_all();
        assert!(generate_verilog(&uut).contains("module top"));
    }
}
