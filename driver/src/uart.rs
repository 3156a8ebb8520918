//! The driver's end of the UART-to-bus bridge (`rtl::uart::bridge`): a [`Device`] over a
//! serial port, so the same driver code runs against a board. The wire protocol is
//! `regs::uart_bridge`; this module encodes its frames and decodes its replies with pure
//! functions ([`encode_read32`], [`decode_reply`], ...) and [`UartDevice`] runs them over any
//! `Read + Write` port.
//!
//! Time on a board runs by itself: [`UartDevice`] estimates clock cycles from wall-clock time
//! and the board clock given to [`UartDevice::new`] ([`WallClock`]). A simulated board counts
//! its own cycles and hands them in through [`BoardClock`] ([`UartDevice::with_clock`]).

use std::io::{self, Read, Write};
use std::time::Instant;

use regs::uart_bridge::{
    checksum, CMD_IRQ_STATUS, CMD_READ32, CMD_READ_BURST, CMD_WRITE32, CMD_WRITE_BURST, IRQ_LINE,
    MAX_BURST_WORDS, REPLY_HEADER_BYTES, REPLY_SYNC, STATUS_BAD_CHECKSUM, STATUS_OK, SYNC,
};
use thiserror::Error;

use crate::Device;

/// Why a bridge command failed.
#[derive(Debug, Error)]
pub enum UartError {
    /// The reply's CHK does not add up (the reply was corrupted on the line).
    #[error("reply checksum does not add up")]
    BadChecksum,
    /// The bridge answered a STATUS other than OK (`regs::uart_bridge::STATUS_*`).
    #[error("bridge answered status {0:#04x}")]
    Status(u8),
    /// The reply is shorter than its layout or does not start with REPLY_SYNC.
    #[error("reply too short or without its sync byte")]
    Short,
    #[error("serial port: {0}")]
    Io(io::Error),
    /// No (complete) reply before the port's read timeout.
    #[error("no reply from the bridge before the port's timeout")]
    Timeout,
}

impl From<io::Error> for UartError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => UartError::Timeout,
            io::ErrorKind::UnexpectedEof => UartError::Short,
            _ => UartError::Io(e),
        }
    }
}

impl UartError {
    /// Whether the command may simply be sent again: the reply was corrupted, or the frame
    /// was (and the bridge executed nothing).
    pub fn is_checksum_error(&self) -> bool {
        matches!(
            self,
            UartError::BadChecksum | UartError::Status(STATUS_BAD_CHECKSUM)
        )
    }
}

fn frame(cmd: u8, fields: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(fields.len() + 3);
    f.push(SYNC);
    f.push(cmd);
    f.extend_from_slice(fields);
    f.push(checksum(&f[1..]));
    f
}

/// READ32 frame for the word at `addr`.
pub fn encode_read32(addr: u32) -> Vec<u8> {
    frame(CMD_READ32, &addr.to_le_bytes())
}

/// WRITE32 frame: `value` to `addr` with byte enables `be` (bit i enables byte i; the bits
/// above `regs::uart_bridge::BE_MASK` are ignored by the bridge).
pub fn encode_write32(addr: u32, value: u32, be: u8) -> Vec<u8> {
    let mut fields = [0u8; 9];
    fields[..4].copy_from_slice(&addr.to_le_bytes());
    fields[4..8].copy_from_slice(&value.to_le_bytes());
    fields[8] = be;
    frame(CMD_WRITE32, &fields)
}

/// READ_BURST frame for `count` words from `addr`; `count` must be 1 to `MAX_BURST_WORDS`
/// (the bridge answers BAD_COMMAND otherwise).
pub fn encode_read_burst(addr: u32, count: u8) -> Vec<u8> {
    let mut fields = addr.to_le_bytes().to_vec();
    fields.push(count);
    frame(CMD_READ_BURST, &fields)
}

/// WRITE_BURST frame for `words` (1 to `MAX_BURST_WORDS` of them) from `addr`.
pub fn encode_write_burst(addr: u32, words: &[u32]) -> Vec<u8> {
    assert!(
        (1..=MAX_BURST_WORDS).contains(&words.len()),
        "a burst is 1 to {MAX_BURST_WORDS} words, not {}",
        words.len()
    );
    let mut fields = addr.to_le_bytes().to_vec();
    fields.push(words.len() as u8);
    for w in words {
        fields.extend_from_slice(&w.to_le_bytes());
    }
    frame(CMD_WRITE_BURST, &fields)
}

/// IRQ_STATUS frame.
pub fn encode_irq_status() -> Vec<u8> {
    frame(CMD_IRQ_STATUS, &[])
}

/// Bytes of the OK reply to a command whose payload is `payload_len` bytes.
pub fn reply_len(payload_len: usize) -> usize {
    REPLY_HEADER_BYTES + payload_len + 1
}

/// Checks a whole reply (`REPLY_SYNC, STATUS, payload, CHK`) that should carry `payload_len`
/// bytes when OK, and returns the payload. A non-OK reply is 3 bytes (no payload).
pub fn decode_reply(reply: &[u8], payload_len: usize) -> Result<&[u8], UartError> {
    if reply.len() < 3 || reply[0] != REPLY_SYNC {
        return Err(UartError::Short);
    }
    let status = reply[1];
    let expected = if status == STATUS_OK {
        reply_len(payload_len)
    } else {
        3
    };
    if reply.len() < expected {
        return Err(UartError::Short);
    }
    let body = &reply[1..expected];
    if body.iter().fold(0u8, |s, b| s.wrapping_add(*b)) != 0 {
        return Err(UartError::BadChecksum);
    }
    if status != STATUS_OK {
        return Err(UartError::Status(status));
    }
    Ok(&body[1..1 + payload_len])
}

/// READ32 or READ_BURST payload as words.
pub fn decode_words(payload: &[u8]) -> Vec<u32> {
    payload
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// IRQ_STATUS payload: whether the interrupt line is high.
pub fn decode_irq(payload: &[u8]) -> bool {
    payload.first().is_some_and(|b| b & IRQ_LINE != 0)
}

/// The board's time as a [`UartDevice`] sees it: [`Device::now`], and the cycle budgets of
/// [`Device::wait_irq`] and [`Device::advance`].
pub trait BoardClock {
    /// Board clock cycles since the clock was made.
    fn cycles(&self) -> u64;
    /// Lets `cycles` board clock cycles pass without traffic on the line.
    fn idle(&mut self, cycles: u64);
}

/// A real board's clock, estimated from wall-clock time: the board runs by itself.
pub struct WallClock {
    start: Instant,
    hz: u32,
}

impl WallClock {
    pub fn new(hz: u32) -> Self {
        WallClock {
            start: Instant::now(),
            hz,
        }
    }
}

impl BoardClock for WallClock {
    fn cycles(&self) -> u64 {
        (self.start.elapsed().as_nanos() * self.hz as u128 / 1_000_000_000) as u64
    }

    /// Busy-waits (no port traffic) until `cycles` cycles of wall-clock time have passed.
    fn idle(&mut self, cycles: u64) {
        let until = self.cycles() + cycles;
        while self.cycles() < until {
            std::hint::spin_loop();
        }
    }
}

/// A [`Device`] behind the UART bridge on port `P` (a serial port, or an in-memory model in
/// tests). The port's read must time out (return `TimedOut`/`WouldBlock`) rather than block
/// for ever, so that a lost reply becomes [`UartError::Timeout`].
///
/// **Errors.** The `try_*` methods return [`UartError`]. The [`Device`] methods cannot (the
/// trait is infallible, like a load or store on the bus it stands for): they send a command
/// again once after a checksum error (a corrupted reply, or the bridge's BAD_CHECKSUM for a
/// corrupted frame) and **panic** naming the address on a second failure or any other error.
/// A retried write whose reply was corrupted has been executed twice, and a retried read
/// twice: harmless for RAM and plain registers, not for read-to-clear ones.
pub struct UartDevice<P: Read + Write> {
    port: P,
    clock: Box<dyn BoardClock>,
    start: u64,
    last_irq: bool,
    retries: u64,
}

impl<P: Read + Write> UartDevice<P> {
    /// A device on `port`; `clock_hz` is the board clock, which [`Device::now`] and the cycle
    /// budgets of [`Device::wait_irq`] and [`Device::advance`] convert wall-clock time with.
    pub fn new(port: P, clock_hz: u32) -> Self {
        Self::with_clock(port, Box::new(WallClock::new(clock_hz)))
    }

    /// A device on `port` whose time is `clock` (a simulated board's cycle counter).
    pub fn with_clock(port: P, clock: Box<dyn BoardClock>) -> Self {
        UartDevice {
            port,
            start: clock.cycles(),
            clock,
            last_irq: false,
            retries: 0,
        }
    }

    /// Commands sent a second time after a checksum error.
    pub fn retries(&self) -> u64 {
        self.retries
    }

    pub fn port_mut(&mut self) -> &mut P {
        &mut self.port
    }

    /// Sends `frame` and reads its reply; returns the payload (`payload_len` bytes when OK).
    pub fn transact(&mut self, frame: &[u8], payload_len: usize) -> Result<Vec<u8>, UartError> {
        self.port.write_all(frame)?;
        self.port.flush()?;
        // Hunt for REPLY_SYNC: bytes before it (line noise) are skipped.
        let mut reply = vec![0u8; 2];
        loop {
            self.port.read_exact(&mut reply[..1])?;
            if reply[0] == REPLY_SYNC {
                break;
            }
        }
        self.port.read_exact(&mut reply[1..2])?;
        let len = if reply[1] == STATUS_OK {
            reply_len(payload_len)
        } else {
            3
        };
        reply.resize(len, 0);
        self.port.read_exact(&mut reply[2..])?;
        decode_reply(&reply, payload_len).map(<[u8]>::to_vec)
    }

    /// One WRITE32.
    pub fn try_write32_be(&mut self, addr: u32, value: u32, be: u8) -> Result<(), UartError> {
        self.transact(&encode_write32(addr, value, be), 0).map(drop)
    }

    /// One READ32.
    pub fn try_read32(&mut self, addr: u32) -> Result<u32, UartError> {
        Ok(decode_words(&self.transact(&encode_read32(addr), 4)?)[0])
    }

    /// One READ_BURST of `out.len()` (1 to `MAX_BURST_WORDS`) words.
    pub fn try_read_burst(&mut self, addr: u32, out: &mut [u32]) -> Result<(), UartError> {
        let payload = self.transact(&encode_read_burst(addr, out.len() as u8), 4 * out.len())?;
        out.copy_from_slice(&decode_words(&payload));
        Ok(())
    }

    /// One WRITE_BURST.
    pub fn try_write_burst(&mut self, addr: u32, words: &[u32]) -> Result<(), UartError> {
        self.transact(&encode_write_burst(addr, words), 0).map(drop)
    }

    /// One IRQ_STATUS; remembers the answer for [`Device::irq`].
    pub fn try_irq_status(&mut self) -> Result<bool, UartError> {
        let irq = decode_irq(&self.transact(&encode_irq_status(), 1)?);
        self.last_irq = irq;
        Ok(irq)
    }

    /// Runs `op` and, after a checksum error, once more; panics on the final error.
    fn retried<T>(
        &mut self,
        what: &str,
        addr: u32,
        mut op: impl FnMut(&mut Self) -> Result<T, UartError>,
    ) -> T {
        match op(self) {
            Ok(v) => v,
            Err(e) if e.is_checksum_error() => {
                self.retries += 1;
                op(self).unwrap_or_else(|e2| {
                    panic!("UART bridge: {what} at {addr:#010x} failed twice: {e}, then {e2}")
                })
            }
            Err(e) => panic!("UART bridge: {what} at {addr:#010x} failed: {e}"),
        }
    }

    fn cycles_since(&self, t: u64) -> u64 {
        self.clock.cycles() - t
    }
}

impl<P: Read + Write> Device for UartDevice<P> {
    fn write32_be(&mut self, addr: u32, value: u32, be: u8) {
        self.retried("WRITE32", addr, |d| d.try_write32_be(addr, value, be))
    }

    fn read32(&mut self, addr: u32) -> u32 {
        self.retried("READ32", addr, |d| d.try_read32(addr))
    }

    /// WRITE_BURSTs of up to `MAX_BURST_WORDS` words.
    fn write_words(&mut self, addr: u32, words: &[u32]) {
        for (i, chunk) in words.chunks(MAX_BURST_WORDS).enumerate() {
            let a = addr + (4 * MAX_BURST_WORDS * i) as u32;
            self.retried("WRITE_BURST", a, |d| d.try_write_burst(a, chunk));
        }
    }

    /// READ_BURSTs of up to `MAX_BURST_WORDS` words.
    fn read_words(&mut self, addr: u32, out: &mut [u32]) {
        for (i, chunk) in out.chunks_mut(MAX_BURST_WORDS).enumerate() {
            let a = addr + (4 * MAX_BURST_WORDS * i) as u32;
            self.retried("READ_BURST", a, |d| d.try_read_burst(a, chunk));
        }
    }

    /// Polls IRQ_STATUS back to back, without sleeping, until the line is high or
    /// `max_cycles` board-clock cycles of wall-clock time have passed (at least one poll). One
    /// poll takes 7 bytes on the line (70 bit times), so the budget buys about
    /// `max_cycles / (70 × divisor)` polls.
    fn wait_irq(&mut self, max_cycles: u64) -> bool {
        let t = self.clock.cycles();
        loop {
            if self.retried("IRQ_STATUS", 0, |d| d.try_irq_status()) {
                return true;
            }
            if self.cycles_since(t) >= max_cycles {
                return false;
            }
        }
    }

    /// Lets `cycles` board cycles pass without port traffic ([`BoardClock::idle`]; on a real
    /// board a busy wait).
    fn advance(&mut self, cycles: u64) {
        self.clock.idle(cycles);
    }

    /// Board-clock cycles since the device was made (on a real board, an estimate from
    /// wall-clock time).
    fn now(&self) -> u64 {
        self.cycles_since(self.start)
    }

    /// The interrupt line as the last IRQ_STATUS reply showed it (from [`Device::wait_irq`]
    /// or [`UartDevice::try_irq_status`]): `irq` takes `&self`, so it cannot ask the bridge.
    fn irq(&self) -> bool {
        self.last_irq
    }

    fn describe_state(&self) -> String {
        format!(
            "UART bridge: last IRQ_STATUS {}, {} retries",
            self.last_irq, self.retries
        )
    }
}

/// Opens the board's serial port at `baud` 8N1 with a read timeout, for a board whose clock
/// is `clock_hz` (its bridge divisor is `regs::uart_bridge::divisor(clock_hz, baud)`).
#[cfg(feature = "serial")]
pub fn open_serial(
    path: &str,
    baud: u32,
    clock_hz: u32,
) -> Result<UartDevice<Box<dyn serialport::SerialPort>>, serialport::Error> {
    // Longest reply: a 64-word burst, 259 bytes of 10 bits; allow a generous margin.
    let reply_ms = 1000 * 10 * (reply_len(4 * MAX_BURST_WORDS) as u64) / baud as u64;
    let port = serialport::new(path, baud)
        .data_bits(serialport::DataBits::Eight)
        .parity(serialport::Parity::None)
        .stop_bits(serialport::StopBits::One)
        .flow_control(serialport::FlowControl::None)
        .timeout(std::time::Duration::from_millis(100 + 2 * reply_ms))
        .open()?;
    Ok(UartDevice::new(port, clock_hz))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use regs::uart_bridge::STATUS_BAD_COMMAND;
    use regs::{block, csr, sys, PAGE_BYTES};
    use std::collections::{HashMap, VecDeque};

    /// A software model of the bridge behind an in-memory port: parses the frames written to
    /// it, executes them on a word memory and queues the replies for reading. Knobs corrupt
    /// replies or frames, or drop replies.
    #[derive(Default)]
    struct FakeBridge {
        mem: HashMap<u32, u32>,
        irq: bool,
        input: Vec<u8>,
        output: VecDeque<u8>,
        /// (CMD, addr, words) of every frame executed.
        log: Vec<(u8, u32, usize)>,
        /// Flip a bit in this many of the next replies.
        corrupt_replies: usize,
        /// Flip a bit in this many of the next frames before checking them.
        corrupt_frames: usize,
        silent: bool,
    }

    impl FakeBridge {
        /// Presets `SYS.ID`, `VERSION` and `RAM_BYTES` so that `probe` passes.
        fn soc() -> Self {
            let mut f = FakeBridge::default();
            f.mem.insert(csr(block::SYS, sys::ID), sys::ID_VALUE);
            f.mem
                .insert(csr(block::SYS, sys::VERSION), sys::VERSION_VALUE);
            f.mem
                .insert(csr(block::SYS, sys::RAM_BYTES), 2 * PAGE_BYTES);
            f
        }

        fn reply(&mut self, status: u8, payload: &[u8]) {
            let mut r = vec![REPLY_SYNC, status];
            r.extend_from_slice(payload);
            r.push(checksum(&r[1..]));
            if self.corrupt_replies > 0 {
                self.corrupt_replies -= 1;
                let last = r.len() - 1;
                r[last] ^= 0x04;
            }
            if !self.silent {
                self.output.extend(r);
            }
        }

        /// Handles every complete frame at the front of `input`.
        fn run(&mut self) {
            loop {
                while self.input.first().is_some_and(|b| *b != SYNC) {
                    self.input.remove(0);
                }
                let Some(&cmd) = self.input.get(1) else {
                    return;
                };
                let len = match cmd {
                    CMD_READ32 => 7,
                    CMD_WRITE32 => 12,
                    CMD_READ_BURST => 8,
                    CMD_IRQ_STATUS => 3,
                    CMD_WRITE_BURST => match self.input.get(6) {
                        Some(&n) if (1..=MAX_BURST_WORDS).contains(&(n as usize)) => {
                            8 + 4 * n as usize
                        }
                        Some(_) => {
                            self.input.drain(..7);
                            self.reply(STATUS_BAD_COMMAND, &[]);
                            continue;
                        }
                        None => return,
                    },
                    _ => {
                        self.input.drain(..2);
                        self.reply(STATUS_BAD_COMMAND, &[]);
                        continue;
                    }
                };
                if self.input.len() < len {
                    return;
                }
                let mut f: Vec<u8> = self.input.drain(..len).collect();
                if self.corrupt_frames > 0 {
                    self.corrupt_frames -= 1;
                    f[3] ^= 0x40;
                }
                if f[1..].iter().fold(0u8, |s, b| s.wrapping_add(*b)) != 0 {
                    self.reply(STATUS_BAD_CHECKSUM, &[]);
                    continue;
                }
                let word = |i: usize| u32::from_le_bytes([f[i], f[i + 1], f[i + 2], f[i + 3]]);
                let addr = if cmd == CMD_IRQ_STATUS { 0 } else { word(2) };
                match cmd {
                    CMD_READ32 | CMD_READ_BURST => {
                        let n = if cmd == CMD_READ32 { 1 } else { f[6] as usize };
                        if n == 0 || n > MAX_BURST_WORDS {
                            self.reply(STATUS_BAD_COMMAND, &[]);
                            continue;
                        }
                        let payload: Vec<u8> = (0..n as u32)
                            .flat_map(|i| self.word_at(addr + 4 * i).to_le_bytes())
                            .collect();
                        self.log.push((cmd, addr, n));
                        self.reply(STATUS_OK, &payload);
                    }
                    CMD_WRITE32 => {
                        let mask = (0..4)
                            .filter(|i| f[10] & (1 << i) != 0)
                            .fold(0u32, |m, i| m | 0xFF << (8 * i));
                        let old = self.word_at(addr);
                        self.mem.insert(addr, (old & !mask) | (word(6) & mask));
                        self.log.push((cmd, addr, 1));
                        self.reply(STATUS_OK, &[]);
                    }
                    CMD_WRITE_BURST => {
                        let n = f[6] as usize;
                        for i in 0..n {
                            self.mem.insert(addr + 4 * i as u32, word(7 + 4 * i));
                        }
                        self.log.push((cmd, addr, n));
                        self.reply(STATUS_OK, &[]);
                    }
                    _ => {
                        let irq = if self.irq { IRQ_LINE } else { 0 };
                        self.log.push((cmd, 0, 0));
                        self.reply(STATUS_OK, &[irq]);
                    }
                }
            }
        }

        fn word_at(&self, addr: u32) -> u32 {
            self.mem.get(&addr).copied().unwrap_or(0)
        }
    }

    impl Write for FakeBridge {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.input.extend_from_slice(buf);
            self.run();
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Read for FakeBridge {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.output.is_empty() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            let n = buf.len().min(self.output.len());
            for b in buf.iter_mut().take(n) {
                *b = self.output.pop_front().unwrap();
            }
            Ok(n)
        }
    }

    const CLOCK_HZ: u32 = 12_000_000;

    fn device() -> UartDevice<FakeBridge> {
        UartDevice::new(FakeBridge::soc(), CLOCK_HZ)
    }

    #[test]
    fn uart_frames_are_sync_cmd_little_endian_fields_and_checksum() {
        assert_eq!(
            encode_read32(0x4002_0000),
            vec![0xA5, 0x01, 0x00, 0x00, 0x02, 0x40, 0xBD]
        );
        let w = encode_write32(0x10, 0xAABB_CCDD, 0x5);
        assert_eq!(
            w[..11],
            [0xA5, 0x02, 0x10, 0, 0, 0, 0xDD, 0xCC, 0xBB, 0xAA, 0x05]
        );
        assert_eq!(encode_read_burst(4, 64)[6], 64);
        assert_eq!(encode_write_burst(0, &[1, 2]).len(), 2 + 5 + 8 + 1);
        assert_eq!(encode_irq_status(), vec![0xA5, 0x05, 0xFB]);
        for f in [w, encode_read_burst(4, 64), encode_write_burst(0, &[1, 2])] {
            assert_eq!(f[1..].iter().fold(0u8, |s, b| s.wrapping_add(*b)), 0);
        }
    }

    #[test]
    fn uart_decode_reply_checks_sync_length_checksum_and_status() {
        let good = [REPLY_SYNC, 0, 0x78, 0x56, 0x34, 0x12, 0xEC];
        assert_eq!(
            decode_words(decode_reply(&good, 4).unwrap()),
            vec![0x1234_5678]
        );
        let mut bad = good;
        bad[3] ^= 1;
        assert!(matches!(decode_reply(&bad, 4), Err(UartError::BadChecksum)));
        assert!(matches!(decode_reply(&good[..5], 4), Err(UartError::Short)));
        assert!(matches!(
            decode_reply(&[0x00, 0, 0], 0),
            Err(UartError::Short)
        ));
        assert!(matches!(
            decode_reply(&[REPLY_SYNC, 2, 0xFE], 4),
            Err(UartError::Status(STATUS_BAD_COMMAND))
        ));
        assert!(decode_irq(
            decode_reply(&[REPLY_SYNC, 0, 1, 0xFF], 1).unwrap()
        ));
    }

    #[test]
    fn uart_device_write32_then_read32_round_trip_with_byte_enables() {
        let mut dev = device();
        dev.write32(0x100, 0x1122_3344);
        assert_eq!(dev.read32(0x100), 0x1122_3344);
        dev.write32_be(0x100, 0xAABB_CCDD, 0b1010);
        assert_eq!(dev.read32(0x100), 0xAA22_CC44);
        assert_eq!(dev.retries(), 0);
    }

    #[test]
    fn uart_device_words_go_in_bursts_of_64() {
        let mut dev = device();
        let words: Vec<u32> = (0..150).map(|i| i * 0x0101_0101).collect();
        dev.write_words(0x1000, &words);
        let mut back = vec![0; 150];
        dev.read_words(0x1000, &mut back);
        assert_eq!(back, words);
        let log = &dev.port_mut().log;
        let bursts: Vec<_> = log.iter().map(|(c, a, n)| (*c, *a, *n)).collect();
        assert_eq!(
            bursts,
            vec![
                (CMD_WRITE_BURST, 0x1000, 64),
                (CMD_WRITE_BURST, 0x1100, 64),
                (CMD_WRITE_BURST, 0x1200, 22),
                (CMD_READ_BURST, 0x1000, 64),
                (CMD_READ_BURST, 0x1100, 64),
                (CMD_READ_BURST, 0x1200, 22),
            ]
        );
    }

    #[test]
    fn uart_device_retries_once_after_a_corrupted_reply() {
        let mut dev = device();
        dev.port_mut().mem.insert(0x40, 0xCAFE_F00D);
        dev.port_mut().corrupt_replies = 1;
        assert_eq!(dev.read32(0x40), 0xCAFE_F00D);
        assert_eq!(dev.retries(), 1);
        assert_eq!(dev.port_mut().log.len(), 2);
    }

    #[test]
    fn uart_device_retries_once_after_the_bridge_saw_a_corrupted_frame() {
        let mut dev = device();
        dev.port_mut().corrupt_frames = 1;
        dev.write32(0x80, 5);
        assert_eq!(dev.retries(), 1);
        assert_eq!(dev.port_mut().log, vec![(CMD_WRITE32, 0x80, 1)]);
        assert_eq!(dev.read32(0x80), 5);
    }

    #[test]
    #[should_panic(expected = "READ32 at 0x00000040 failed twice")]
    fn uart_device_panics_naming_the_address_after_a_second_failure() {
        let mut dev = device();
        dev.port_mut().corrupt_replies = 2;
        dev.read32(0x40);
    }

    #[test]
    fn uart_lost_reply_is_a_timeout() {
        let mut dev = device();
        dev.port_mut().silent = true;
        assert!(matches!(dev.try_read32(0), Err(UartError::Timeout)));
    }

    #[test]
    fn uart_probe_passes_against_the_bridge_model() {
        let mut dev = device();
        let info = crate::sys::probe(&mut dev).unwrap();
        assert_eq!(info.version, sys::VERSION_VALUE);
        assert_eq!(info.ram_bytes, 2 * PAGE_BYTES);
    }

    #[test]
    fn uart_irq_is_the_last_irq_status_seen() {
        let mut dev = device();
        assert!(!dev.irq());
        assert!(!dev.wait_irq(1));
        dev.port_mut().irq = true;
        assert!(!dev.irq(), "irq() does not ask the bridge");
        assert!(dev.wait_irq(1_000_000));
        assert!(dev.irq());
    }

    #[test]
    fn uart_time_is_wall_clock_in_board_cycles() {
        let mut dev = device();
        let t0 = dev.now();
        dev.advance(u64::from(CLOCK_HZ / 1000));
        assert!(dev.now() - t0 >= u64::from(CLOCK_HZ / 1000));
    }
}
