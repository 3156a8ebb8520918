//! The UART-to-bus bridge: a board's serial port drives the SoC's host port, so the Rust driver
//! runs against hardware (`driver::uart`). A pipeline of small stages, one per file:
//! [`rx`] (8N1 receiver, mid-bit sampling), [`tx`] (8N1 transmitter) and [`bridge`] (frame
//! parser, host-port master, reply builder). The wire protocol is `regs::uart_bridge`.
//!
//! ```text
//!  rxd ──► UartRx ──► bridge FSM ──► host_addr/wdata/be/we/req ──► (SoC host port)
//!  txd ◄── UartTx ◄──     │      ◄── host_ready/rvalid/rdata
//!                         └── burst buffer (64 × 32 bits)
//! ```

pub mod bridge;
pub mod rx;
pub mod tx;

pub use bridge::{BridgeState, UartBridge};

pub use rx::{UartRx, UartRxState};
pub use tx::{UartTx, UartTxState};

/// Software ends of a serial line for block tests: one bit per `divisor` cycles, sampled once
/// per cycle.
#[cfg(test)]
pub(crate) mod line {
    use std::collections::VecDeque;

    /// Drives a line: the levels of queued 8N1 bytes, one per cycle; idle high.
    #[derive(Default)]
    pub struct LineDriver {
        levels: VecDeque<bool>,
    }

    impl LineDriver {
        /// Queue `byte` with `stop` as its stop bit (false makes a framing error).
        pub fn queue_byte_with_stop(&mut self, byte: u8, divisor: usize, stop: bool) {
            let bits = std::iter::once(false)
                .chain((0..8).map(|i| byte & (1 << i) != 0))
                .chain(std::iter::once(stop));
            for bit in bits {
                self.levels.extend(std::iter::repeat_n(bit, divisor));
            }
        }

        pub fn queue_byte(&mut self, byte: u8, divisor: usize) {
            self.queue_byte_with_stop(byte, divisor, true);
        }

        pub fn queue_idle(&mut self, cycles: usize) {
            self.levels.extend(std::iter::repeat_n(true, cycles));
        }

        /// This cycle's level.
        pub fn next_level(&mut self) -> bool {
            self.levels.pop_front().unwrap_or(true)
        }

        pub fn is_idle(&self) -> bool {
            self.levels.is_empty()
        }
    }

    /// Watches a line and decodes 8N1 bytes, sampling mid-bit from the falling start edge.
    /// Also records each byte's stop bit and the length of every start bit seen.
    pub struct LineMonitor {
        divisor: usize,
        /// Cycles since the start edge, while in a byte.
        in_byte: Option<usize>,
        shift: u8,
        prev: bool,
        pub bytes: Vec<u8>,
        pub framing_errors: usize,
    }

    impl LineMonitor {
        pub fn new(divisor: usize) -> Self {
            LineMonitor {
                divisor,
                in_byte: None,
                shift: 0,
                prev: true,
                bytes: Vec::new(),
                framing_errors: 0,
            }
        }

        pub fn sample(&mut self, level: bool) {
            match self.in_byte {
                None => {
                    if self.prev && !level {
                        self.in_byte = Some(0);
                    }
                }
                Some(t) => {
                    let t = t + 1;
                    self.in_byte = Some(t);
                    let half = self.divisor / 2;
                    if t >= half && (t - half).is_multiple_of(self.divisor) {
                        let bit = (t - half) / self.divisor;
                        match bit {
                            0 => assert!(!level, "start bit not low at its middle"),
                            1..=8 => {
                                self.shift >>= 1;
                                if level {
                                    self.shift |= 0x80;
                                }
                            }
                            _ => {
                                if level {
                                    self.bytes.push(self.shift);
                                } else {
                                    self.framing_errors += 1;
                                }
                                self.in_byte = None;
                            }
                        }
                    }
                }
            }
            self.prev = level;
        }
    }
}
