//! The Colorlight i5 board top (`rtl/verilog/board_colorlight_i5.v`) compiled by Verilator
//! (prefix `Vboard`), driven through its pins: the host's UART line, the RGMII pins to a PHY
//! model (TX frames captured at TXC, optionally looped back to RX at the PHY's own RXC), and
//! MDC/MDIO/reset to the clause 22 PHY model. [`Board::device`] is the driver's [`UartDevice`]
//! over that line, so the driver reaches the SoC exactly as on the board: bytes through the
//! UART bridge.
//!
//! The cycle loop is C++ (`cpp/board.cpp`): Rust crosses into it once per burst of line
//! traffic. A cycle is a 20 ns core cycle (the PLL wrapper passes the clock through in
//! simulation); `cpp/board.h` says where RXC's edges fall.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::rc::Rc;

use driver::uart::{BoardClock, UartDevice};
use regs::board::{uart_divisor, COLORLIGHT_I5};

#[cxx::bridge(namespace = "dmanic")]
mod ffi {
    unsafe extern "C++" {
        include!("sim/cpp/board.h");

        type BoardSim;

        fn new_board_sim(divisor: u32, fst_path: &str) -> Result<UniquePtr<BoardSim>>;
        fn send(self: Pin<&mut BoardSim>, bytes: &[u8]);
        fn receive(self: Pin<&mut BoardSim>, max_cycles: u64, want: u64) -> Vec<u8>;
        fn idle(self: Pin<&mut BoardSim>, cycles: u64);
        fn cycles(self: &BoardSim) -> u64;
        fn set_phy_loopback(self: Pin<&mut BoardSim>, on: bool);
        fn set_button(self: Pin<&mut BoardSim>, pressed: bool);
        fn led(self: &BoardSim) -> bool;
        fn tx_nibbles(self: &BoardSim) -> u64;
        fn take_tx_frames(self: Pin<&mut BoardSim>) -> Vec<u16>;
        fn set_mdio_phy(
            self: Pin<&mut BoardSim>,
            present: bool,
            address: u8,
            power_up: &[u16],
        ) -> Result<()>;
        fn mdio_phy_reg(self: &BoardSim, reg: u8) -> u16;
        fn phy_reset_pin(self: &BoardSim) -> bool;
        fn set_phy_rx_launch_ps(self: Pin<&mut BoardSim>, offset_ps: i32) -> Result<()>;
        fn tx_timing_violations(self: &BoardSim) -> u64;
        fn host_framing_errors(self: &BoardSim) -> u64;
        fn unsent(self: &BoardSim) -> u64;
    }
}

type Shared = Rc<RefCell<cxx::UniquePtr<ffi::BoardSim>>>;

/// The simulated board. Cheap handles to it ([`BoardPort`], [`SimClock`]) share the model.
pub struct Board {
    sim: Shared,
    /// The board whose top this is, with its clock and UART settings.
    pub board: regs::board::Board,
}

impl Board {
    /// The Colorlight i5 top, no waveform.
    pub fn new() -> Self {
        Self::open("")
    }

    /// The same, dumping every clock edge to the FST file `path` (the `trace` feature), in ps:
    /// the core clock's rising edges at 20000 ps × cycle, RXC's on their own timeline
    /// (`cpp/board.h`).
    pub fn with_trace(path: &str) -> Self {
        Self::open(path)
    }

    fn open(fst_path: &str) -> Self {
        let board = COLORLIGHT_I5;
        let mut sim = ffi::new_board_sim(uart_divisor(board), fst_path)
            .unwrap_or_else(|e| panic!("{}", e.what()));
        sim.pin_mut()
            .set_mdio_phy(
                true,
                regs::phy::COLORLIGHT_PHY_ADDR,
                &regs::phy::model_power_up(),
            )
            .unwrap_or_else(|e| panic!("{}", e.what()));
        Board {
            sim: Rc::new(RefCell::new(sim)),
            board,
        }
    }

    /// The driver's device: the UART bridge protocol over the simulated line, with the
    /// simulation's cycle count as the board clock.
    pub fn device(&self) -> UartDevice<BoardPort> {
        UartDevice::with_clock(self.port(), Box::new(self.clock()))
    }

    /// The simulation's cycle counter, as a [`UartDevice`]'s clock (for a device over a port
    /// of the test's own, e.g. one that damages bytes).
    pub fn clock(&self) -> SimClock {
        SimClock(self.sim.clone())
    }

    /// The raw line (for tests that send their own bytes).
    pub fn port(&self) -> BoardPort {
        // The longest reply (a 64-word burst, 261 bytes of 10 bits), with room for a DMA
        // burst holding the bus before the bridge's access. It is also the resync's quiet
        // time: far above the bridge's inter-byte timeout (128 bit times).
        let divisor = uart_divisor(self.board) as u64;
        BoardPort {
            sim: self.sim.clone(),
            timeout_cycles: 4 * 260 * 10 * divisor + 100_000,
            pending: Vec::new(),
        }
    }

    /// The RGMII TX nibbles come back on the RX pins at the PHY's RXC, as a PHY in loopback
    /// mode would.
    pub fn set_phy_loopback(&self, on: bool) {
        self.sim.borrow_mut().pin_mut().set_phy_loopback(on);
    }

    /// The frames the RGMII TX pins carried since the last call, each from its preamble on,
    /// as (byte, TX_ER during it).
    pub fn take_tx_frames(&self) -> Vec<Vec<(u8, bool)>> {
        let words = self.sim.borrow_mut().pin_mut().take_tx_frames();
        words
            .split(|&w| w == 0xFFFF)
            .filter(|f| !f.is_empty())
            .map(|f| f.iter().map(|&w| (w as u8, w & 0x100 != 0)).collect())
            .collect()
    }

    /// A register of the PHY model on MDC/MDIO, as it is now.
    pub fn mdio_phy_reg(&self, reg: u8) -> u16 {
        self.sim.borrow().mdio_phy_reg(reg)
    }

    /// When the PHY model launches each RX nibble relative to RXC's rising edge, in ps:
    /// negative before it (a PHY with its RGMII-ID receive delay on, the default -2000),
    /// positive after it (no delay: +1000 has the data change 1 ns after the edge).
    pub fn set_phy_rx_launch_ps(&self, offset_ps: i32) {
        self.sim
            .borrow_mut()
            .pin_mut()
            .set_phy_rx_launch_ps(offset_ps)
            .unwrap_or_else(|e| panic!("{}", e.what()));
    }

    /// Changes of TXD/TX_CTL closer than 8 ns to an edge of TXC, since power-up: the PHY would
    /// sample them in their transition.
    pub fn tx_timing_violations(&self) -> u64 {
        self.sim.borrow().tx_timing_violations()
    }

    /// The PHY's reset pin is asserted (`eth_rst_n` low).
    pub fn phy_reset_pin(&self) -> bool {
        self.sim.borrow().phy_reset_pin()
    }

    /// Holds the reset button for `cycles` cycles, then lets it go and waits as long again.
    pub fn press_reset(&self, cycles: u64) {
        let mut s = self.sim.borrow_mut();
        s.pin_mut().set_button(true);
        s.pin_mut().idle(cycles);
        s.pin_mut().set_button(false);
        s.pin_mut().idle(cycles);
    }

    /// The user LED is lit (its pin is active low; `rtl::board::colorlight_i5` says what it
    /// shows).
    pub fn led(&self) -> bool {
        self.sim.borrow().led()
    }

    pub fn cycles(&self) -> u64 {
        self.sim.borrow().cycles()
    }

    /// Nibbles sent on the RGMII TX pins (TXC periods with TX_CTL high) so far.
    pub fn tx_nibbles(&self) -> u64 {
        self.sim.borrow().tx_nibbles()
    }

    /// Bytes from the board whose stop bit was 0.
    pub fn host_framing_errors(&self) -> u64 {
        self.sim.borrow().host_framing_errors()
    }
}

impl Default for Board {
    fn default() -> Self {
        Self::new()
    }
}

/// The host's end of the simulated UART line. Writing queues bytes (they go out as cycles
/// run, and `flush` runs until they are out); reading runs the board until bytes arrive, and
/// fails with `TimedOut` after `timeout_cycles` without one, like a serial port's read timeout.
pub struct BoardPort {
    sim: Shared,
    pub timeout_cycles: u64,
    pending: Vec<u8>,
}

impl Write for BoardPort {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sim.borrow_mut().pin_mut().send(buf);
        Ok(buf.len())
    }

    /// Runs the board until every queued byte is on the line, like a serial port's drain.
    fn flush(&mut self) -> io::Result<()> {
        let mut s = self.sim.borrow_mut();
        while s.unsent() > 0 {
            s.pin_mut().idle(64);
        }
        Ok(())
    }
}

impl Read for BoardPort {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.pending.is_empty() {
            self.pending = self
                .sim
                .borrow_mut()
                .pin_mut()
                .receive(self.timeout_cycles, buf.len() as u64);
            if self.pending.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no byte from the board's UART",
                ));
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

/// The simulation's cycle counter as the [`UartDevice`]'s board clock.
pub struct SimClock(Shared);

impl BoardClock for SimClock {
    fn cycles(&self) -> u64 {
        self.0.borrow().cycles()
    }

    fn idle(&mut self, cycles: u64) {
        self.0.borrow_mut().pin_mut().idle(cycles);
    }
}
