//! The driver's end of the UART-to-bus bridge (`rtl::uart::bridge`): a [`Device`] over a
//! serial port, so the same driver code runs against a board. The wire protocol is
//! `regs::uart_bridge` (version 2: CRC-16, TAG, replay, inter-byte timeout, NOP); this module
//! encodes its frames and decodes its replies with pure functions ([`encode_read32`],
//! [`decode_reply`], ...) and [`UartDevice`] runs them over any `Read + Write` port, with
//! resync and bounded retries.
//!
//! Time on a board runs by itself: [`UartDevice`] estimates clock cycles from wall-clock time
//! and the board clock given to [`UartDevice::new`] ([`WallClock`]). A simulated board counts
//! its own cycles and hands them in through [`BoardClock`] ([`UartDevice::with_clock`]).

use std::io::{self, Read, Write};
use std::time::Instant;

use regs::uart_bridge::{
    crc16, crc_bytes, crc_ok, is_replayed, reply_len, CMD_IRQ_STATUS, CMD_NOP, CMD_READ32,
    CMD_READ_BURST, CMD_WRITE32, CMD_WRITE_BURST, IRQ_LINE, MAX_BURST_WORDS, REPLY_HEADER_BYTES,
    REPLY_SYNC, STATUS_OK, SYNC,
};
use thiserror::Error;

use crate::Device;

/// Tries of one command before it fails with [`UartError::LinkDown`]: the first, and three
/// retransmissions, each after a resync.
pub const ATTEMPTS: u32 = 4;
/// Replies with another command's TAG (late replies to earlier commands) skipped while
/// waiting for one reply, before the wait counts as failed.
const STALE_REPLIES: u32 = 4;
/// Bytes a resync discards before it gives up on a line that never goes quiet.
const DRAIN_LIMIT: usize = 4 * reply_len(4 * MAX_BURST_WORDS);

/// Why a bridge command failed.
#[derive(Debug, Error)]
pub enum UartError {
    /// The reply's CRC does not check out (the reply was corrupted on the line).
    #[error("reply CRC does not check out")]
    BadCrc,
    /// The bridge answered a STATUS other than OK (`regs::uart_bridge::STATUS_*`).
    #[error("bridge answered status {0:#04x}")]
    Status(u8),
    /// The reply does not start with REPLY_SYNC or is shorter than its layout.
    #[error("reply too short or without its sync byte")]
    Short,
    /// An intact reply to another command (a late reply, or a refusal of a frame whose TAG was
    /// damaged on the way).
    #[error("reply has TAG {got:#04x}, expected {expected:#04x}")]
    WrongTag { expected: u8, got: u8 },
    #[error("serial port: {0}")]
    Io(io::Error),
    /// No (complete) reply before the port's read timeout.
    #[error("no reply from the bridge before the port's timeout")]
    Timeout,
    /// The line never went quiet during a resync.
    #[error("the line from the bridge did not go quiet")]
    Babbling,
    /// A burst of 0 or more than `MAX_BURST_WORDS` words: not sent.
    #[error("a burst is 1 to {MAX_BURST_WORDS} words, not {0}")]
    BadBurst(usize),
    /// Every one of [`ATTEMPTS`] tries failed; `last` is why the last one did.
    #[error("{what} at {addr:#010x}: no good reply after {ATTEMPTS} attempts (last: {last})")]
    LinkDown {
        what: &'static str,
        addr: u32,
        last: Box<UartError>,
    },
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

fn frame(cmd: u8, tag: u8, fields: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(fields.len() + 5);
    f.push(SYNC);
    f.push(cmd);
    f.push(tag);
    f.extend_from_slice(fields);
    let crc = crc16(&f[1..]);
    f.extend_from_slice(&crc_bytes(crc));
    f
}

/// READ32 frame for the word at `addr`.
pub fn encode_read32(tag: u8, addr: u32) -> Vec<u8> {
    frame(CMD_READ32, tag, &addr.to_le_bytes())
}

/// WRITE32 frame: `value` to `addr` with byte enables `be` (bit i enables byte i; the bits
/// above `regs::uart_bridge::BE_MASK` are ignored by the bridge).
pub fn encode_write32(tag: u8, addr: u32, value: u32, be: u8) -> Vec<u8> {
    let mut fields = [0u8; 9];
    fields[..4].copy_from_slice(&addr.to_le_bytes());
    fields[4..8].copy_from_slice(&value.to_le_bytes());
    fields[8] = be;
    frame(CMD_WRITE32, tag, &fields)
}

/// READ_BURST frame for `count` words from `addr`; `count` must be 1 to `MAX_BURST_WORDS`
/// (the bridge answers BAD_COMMAND otherwise).
pub fn encode_read_burst(tag: u8, addr: u32, count: u8) -> Vec<u8> {
    let mut fields = addr.to_le_bytes().to_vec();
    fields.push(count);
    frame(CMD_READ_BURST, tag, &fields)
}

/// WRITE_BURST frame for `words` from `addr`. The bridge answers BAD_COMMAND unless there are
/// 1 to `MAX_BURST_WORDS` words ([`UartDevice::try_write_burst`] refuses other lengths).
pub fn encode_write_burst(tag: u8, addr: u32, words: &[u32]) -> Vec<u8> {
    let mut fields = addr.to_le_bytes().to_vec();
    fields.push(words.len() as u8);
    for w in words {
        fields.extend_from_slice(&w.to_le_bytes());
    }
    frame(CMD_WRITE_BURST, tag, &fields)
}

/// IRQ_STATUS frame.
pub fn encode_irq_status(tag: u8) -> Vec<u8> {
    frame(CMD_IRQ_STATUS, tag, &[])
}

/// NOP frame (the resync).
pub fn encode_nop(tag: u8) -> Vec<u8> {
    frame(CMD_NOP, tag, &[])
}

/// Checks a whole reply (`REPLY_SYNC, STATUS, TAG, payload, CRC`) to the frame with `tag` that
/// should carry `payload_len` bytes when OK, and returns the payload. A non-OK reply has no
/// payload. The checks in order: sync byte and length, CRC, TAG, STATUS.
pub fn decode_reply(reply: &[u8], tag: u8, payload_len: usize) -> Result<&[u8], UartError> {
    if reply.len() < reply_len(0) || reply[0] != REPLY_SYNC {
        return Err(UartError::Short);
    }
    let status = reply[1];
    let payload_len = if status == STATUS_OK { payload_len } else { 0 };
    let len = reply_len(payload_len);
    if reply.len() < len {
        return Err(UartError::Short);
    }
    if !crc_ok(&reply[1..len]) {
        return Err(UartError::BadCrc);
    }
    if reply[2] != tag {
        return Err(UartError::WrongTag {
            expected: tag,
            got: reply[2],
        });
    }
    if status != STATUS_OK {
        return Err(UartError::Status(status));
    }
    Ok(&reply[REPLY_HEADER_BYTES..REPLY_HEADER_BYTES + payload_len])
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

/// What a [`UartDevice`] did to keep the link up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Frames sent again (with their original TAG) after a failed try.
    pub retries: u64,
    /// Resyncs: quiet line, then a NOP answered.
    pub resyncs: u64,
    /// Late replies to earlier commands skipped by their TAG.
    pub stale_replies: u64,
    /// Commands that failed after [`ATTEMPTS`] tries.
    pub failures: u64,
}

/// A [`Device`] behind the UART bridge on port `P` (a serial port, or an in-memory model in
/// tests). The port's read must time out (return `TimedOut`/`WouldBlock`) rather than block
/// for ever, and its timeout must be longer than the bridge's inter-byte timeout
/// (`regs::uart_bridge::INTERBYTE_TIMEOUT_BITS` bit times): a resync takes a read that timed
/// out as the sign that the line has been quiet long enough.
///
/// **Tags.** Each new command gets the next TAG of an 8-bit counter; a retransmission keeps its
/// command's TAG; NOPs take counter values too. The counter skips the TAG the bridge is known to
/// remember (learnt from every NOP's reply, then from every remembered command that succeeded),
/// so a new command is never taken for a retransmission. The first command on a device is
/// preceded by a NOP, which learns that TAG from a bridge that a previous session used.
///
/// **Errors and retries.** A try fails on a timeout, a reply that is short or whose CRC does not
/// check out, a refusal (BAD_CRC, BAD_COMMAND), or too many late replies. After a failed try the
/// device resyncs — reads and discards until a read times out (the line has been quiet for the
/// port's timeout, so the bridge abandoned any partial frame and finished any reply), then sends
/// a NOP with a fresh TAG and waits for its reply — and sends the frame again with its original
/// TAG: the bridge answers it from memory if it had executed it, so each command takes effect
/// exactly once (READ_BURST excepted: executed again, harmless for RAM). After [`ATTEMPTS`]
/// tries the `try_*` methods return [`UartError::LinkDown`]. Nothing here panics.
///
/// The [`Device`] methods cannot return an error (the trait is infallible, like a load or store
/// on the bus it stands for). As a PCIe root port does on a master abort, a failed read returns
/// all-ones (`0xFFFF_FFFF` for each word), a failed write is dropped, [`Device::wait_irq`]
/// returns false, and the device latches a sticky link error ([`Device::link_error`], cleared by
/// [`UartDevice::clear_link_error`]) that `driver::sys::probe` and callers check.
pub struct UartDevice<P: Read + Write> {
    port: P,
    clock: Box<dyn BoardClock>,
    start: u64,
    last_irq: bool,
    /// The next TAG to hand out.
    next_tag: u8,
    /// The TAG the bridge remembers, when known; `None` until the first resync.
    bridge_tag: Option<u8>,
    /// TAG and OK payload length of the command whose try failed, while it is retried: a late
    /// reply to it can still arrive, and is skipped.
    late: Option<(u8, usize)>,
    stats: LinkStats,
    link_error: Option<String>,
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
            next_tag: 0,
            bridge_tag: None,
            late: None,
            stats: LinkStats::default(),
            link_error: None,
        }
    }

    /// Frames sent again after a failed try.
    pub fn retries(&self) -> u64 {
        self.stats.retries
    }

    pub fn link_stats(&self) -> LinkStats {
        self.stats
    }

    /// Takes the sticky link error (see [`Device::link_error`]).
    pub fn clear_link_error(&mut self) -> Option<String> {
        self.link_error.take()
    }

    pub fn port_mut(&mut self) -> &mut P {
        &mut self.port
    }

    pub fn into_port(self) -> P {
        self.port
    }

    /// A TAG for a new frame: the counter's next value, skipping the one the bridge remembers.
    fn fresh_tag(&mut self) -> u8 {
        let mut tag = self.next_tag;
        if Some(tag) == self.bridge_tag {
            tag = tag.wrapping_add(1);
        }
        self.next_tag = tag.wrapping_add(1);
        tag
    }

    /// One try: sends `frame` (whose TAG is `tag`) and reads its reply, skipping late replies
    /// to earlier commands; returns the payload (`payload_len` bytes when OK).
    pub fn transact(
        &mut self,
        frame: &[u8],
        tag: u8,
        payload_len: usize,
    ) -> Result<Vec<u8>, UartError> {
        self.port.write_all(frame)?;
        self.port.flush()?;
        let mut skipped = 0;
        loop {
            // Hunt for REPLY_SYNC: bytes before it (line noise) are skipped.
            let mut reply = vec![0u8; REPLY_HEADER_BYTES];
            let mut hunted = 0;
            loop {
                self.port.read_exact(&mut reply[..1])?;
                if reply[0] == REPLY_SYNC {
                    break;
                }
                hunted += 1;
                if hunted > DRAIN_LIMIT {
                    return Err(UartError::Short);
                }
            }
            self.port.read_exact(&mut reply[1..])?;
            // A reply with the TAG of the failed try being retried is its late reply.
            let late = self.late.filter(|(t, _)| *t == reply[2] && *t != tag);
            let (want_tag, want_len) = late.unwrap_or((tag, payload_len));
            let len = if reply[1] == STATUS_OK {
                reply_len(want_len)
            } else {
                reply_len(0)
            };
            reply.resize(len, 0);
            self.port.read_exact(&mut reply[REPLY_HEADER_BYTES..])?;
            let result = decode_reply(&reply, want_tag, want_len);
            let stale = match &result {
                Ok(_) | Err(UartError::Status(_)) => late.is_some(),
                // An intact OK reply to another TAG is late too.
                Err(UartError::WrongTag { .. }) => reply[1] == STATUS_OK,
                Err(_) => false,
            };
            if !stale || skipped == STALE_REPLIES {
                return result.map(<[u8]>::to_vec);
            }
            skipped += 1;
            self.stats.stale_replies += 1;
        }
    }

    /// Waits for a quiet line, discarding what arrives, then sends a NOP and waits for its
    /// reply, which tells the TAG the bridge remembers.
    pub fn resync(&mut self) -> Result<(), UartError> {
        self.stats.resyncs += 1;
        let mut discarded = 0;
        let mut buf = [0u8; 64];
        loop {
            match self.port.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    discarded += n;
                    if discarded > DRAIN_LIMIT {
                        return Err(UartError::Babbling);
                    }
                }
                Err(e) => match UartError::from(e) {
                    UartError::Timeout => break,
                    e => return Err(e),
                },
            }
        }
        self.sync()
    }

    /// Sends a NOP with a fresh TAG and learns the TAG the bridge remembers from its reply.
    fn sync(&mut self) -> Result<(), UartError> {
        let tag = self.fresh_tag();
        let payload = self.transact(&encode_nop(tag), tag, 1)?;
        self.bridge_tag = Some(payload[0]);
        Ok(())
    }

    /// Runs command `cmd` (frame `encode(tag)`, `payload_len` bytes of OK payload) with up to
    /// [`ATTEMPTS`] tries, a resync before each retransmission (and before the first command).
    fn command(
        &mut self,
        what: &'static str,
        addr: u32,
        cmd: u8,
        payload_len: usize,
        encode: &dyn Fn(u8) -> Vec<u8>,
    ) -> Result<Vec<u8>, UartError> {
        // The first command of a session learns the TAG the bridge remembers with a NOP alone
        // (no quiet wait); if that fails, the first try starts with a full resync.
        if self.bridge_tag.is_none() && self.sync().is_err() {
            self.bridge_tag = None;
        }
        let mut tag = None;
        let mut last = UartError::Timeout;
        for attempt in 0..ATTEMPTS {
            // Every try after a failed one starts with a resync, and so does the first one
            // while the bridge's TAG is unknown.
            if attempt > 0 || self.bridge_tag.is_none() {
                if let Err(e) = self.resync() {
                    last = e;
                    continue;
                }
            }
            let tag = *tag.get_or_insert_with(|| self.fresh_tag());
            if attempt > 0 {
                self.stats.retries += 1;
            }
            match self.transact(&encode(tag), tag, payload_len) {
                Ok(payload) => {
                    if is_replayed(cmd) {
                        self.bridge_tag = Some(tag);
                    }
                    self.late = None;
                    return Ok(payload);
                }
                Err(e) => {
                    last = e;
                    self.late = Some((tag, payload_len));
                }
            }
        }
        self.late = None;
        self.stats.failures += 1;
        // What the bridge remembers is unknown now: the next command starts with a resync.
        self.bridge_tag = None;
        Err(UartError::LinkDown {
            what,
            addr,
            last: Box::new(last),
        })
    }

    /// One WRITE32, retried.
    pub fn try_write32_be(&mut self, addr: u32, value: u32, be: u8) -> Result<(), UartError> {
        self.command("WRITE32", addr, CMD_WRITE32, 0, &|tag| {
            encode_write32(tag, addr, value, be)
        })
        .map(drop)
    }

    /// One READ32, retried.
    pub fn try_read32(&mut self, addr: u32) -> Result<u32, UartError> {
        let payload = self.command("READ32", addr, CMD_READ32, 4, &|tag| {
            encode_read32(tag, addr)
        })?;
        Ok(decode_words(&payload)[0])
    }

    /// One READ_BURST of `out.len()` (1 to `MAX_BURST_WORDS`) words, retried.
    pub fn try_read_burst(&mut self, addr: u32, out: &mut [u32]) -> Result<(), UartError> {
        if !(1..=MAX_BURST_WORDS).contains(&out.len()) {
            return Err(UartError::BadBurst(out.len()));
        }
        let count = out.len() as u8;
        let payload = self.command("READ_BURST", addr, CMD_READ_BURST, 4 * out.len(), &|tag| {
            encode_read_burst(tag, addr, count)
        })?;
        out.copy_from_slice(&decode_words(&payload));
        Ok(())
    }

    /// One WRITE_BURST of 1 to `MAX_BURST_WORDS` words, retried.
    pub fn try_write_burst(&mut self, addr: u32, words: &[u32]) -> Result<(), UartError> {
        if !(1..=MAX_BURST_WORDS).contains(&words.len()) {
            return Err(UartError::BadBurst(words.len()));
        }
        self.command("WRITE_BURST", addr, CMD_WRITE_BURST, 0, &|tag| {
            encode_write_burst(tag, addr, words)
        })
        .map(drop)
    }

    /// One IRQ_STATUS, retried; remembers the answer for [`Device::irq`].
    pub fn try_irq_status(&mut self) -> Result<bool, UartError> {
        let payload = self.command("IRQ_STATUS", 0, CMD_IRQ_STATUS, 1, &encode_irq_status)?;
        let irq = decode_irq(&payload);
        self.last_irq = irq;
        Ok(irq)
    }

    /// Latches the first link error (sticky until [`UartDevice::clear_link_error`]).
    fn latch(&mut self, e: UartError) {
        if self.link_error.is_none() {
            self.link_error = Some(e.to_string());
        }
    }

    fn cycles_since(&self, t: u64) -> u64 {
        self.clock.cycles() - t
    }
}

impl<P: Read + Write> Device for UartDevice<P> {
    /// A WRITE32; dropped (and the link error latched) if it fails.
    fn write32_be(&mut self, addr: u32, value: u32, be: u8) {
        if let Err(e) = self.try_write32_be(addr, value, be) {
            self.latch(e);
        }
    }

    /// A READ32; all-ones (and the link error latched) if it fails.
    fn read32(&mut self, addr: u32) -> u32 {
        self.try_read32(addr).unwrap_or_else(|e| {
            self.latch(e);
            u32::MAX
        })
    }

    /// WRITE_BURSTs of up to `MAX_BURST_WORDS` words; a failed one is dropped.
    fn write_words(&mut self, addr: u32, words: &[u32]) {
        for (i, chunk) in words.chunks(MAX_BURST_WORDS).enumerate() {
            let a = addr.wrapping_add((4 * MAX_BURST_WORDS * i) as u32);
            if let Err(e) = self.try_write_burst(a, chunk) {
                self.latch(e);
            }
        }
    }

    /// READ_BURSTs of up to `MAX_BURST_WORDS` words; a failed one reads all-ones.
    fn read_words(&mut self, addr: u32, out: &mut [u32]) {
        for (i, chunk) in out.chunks_mut(MAX_BURST_WORDS).enumerate() {
            let a = addr.wrapping_add((4 * MAX_BURST_WORDS * i) as u32);
            if let Err(e) = self.try_read_burst(a, chunk) {
                chunk.fill(u32::MAX);
                self.latch(e);
            }
        }
    }

    /// Polls IRQ_STATUS back to back, without sleeping, until the line is high or
    /// `max_cycles` board-clock cycles of wall-clock time have passed (at least one poll). One
    /// poll takes 11 bytes on the line (110 bit times), so the budget buys about
    /// `max_cycles / (110 × divisor)` polls. A poll that fails latches the link error and
    /// ends the wait (false).
    fn wait_irq(&mut self, max_cycles: u64) -> bool {
        let t = self.clock.cycles();
        loop {
            match self.try_irq_status() {
                Ok(true) => return true,
                Ok(false) => {}
                Err(e) => {
                    self.latch(e);
                    return false;
                }
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
        let s = self.stats;
        format!(
            "UART bridge: last IRQ_STATUS {}, {} retries, {} resyncs, {} late replies, {} failed commands{}",
            self.last_irq,
            s.retries,
            s.resyncs,
            s.stale_replies,
            s.failures,
            self.link_error
                .as_ref()
                .map(|e| format!(", link error: {e}"))
                .unwrap_or_default()
        )
    }

    fn link_error(&self) -> Option<String> {
        self.link_error.clone()
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
    // Longest reply: a 64-word burst, 261 bytes of 10 bits; allow a generous margin. The
    // timeout is also the resync's quiet time, far above the bridge's inter-byte timeout.
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
    use regs::uart_bridge::{
        field_bytes, frame_len, CRC_BYTES, FRAME_HEADER_BYTES, STATUS_BAD_COMMAND, STATUS_BAD_CRC,
    };
    use regs::{block, csr, sys, PAGE_BYTES};
    use std::collections::{HashMap, HashSet, VecDeque};

    /// The reference CRC: the `crc` crate's CRC-16/IBM-3740 (= CCITT-FALSE), not `regs`'s.
    fn reference_crc(bytes: &[u8]) -> u16 {
        crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740).checksum(bytes)
    }

    /// A software model of the bridge (protocol v2) behind an in-memory port: parses the
    /// frames written to it, checks their CRC, answers retransmissions from its memory,
    /// executes the rest on a word memory and queues the replies for reading. A read that finds
    /// nothing to read is a timeout: time has passed, so a partial frame is abandoned as the
    /// bridge's inter-byte timeout would. Knobs damage frames or replies, or lose replies.
    #[derive(Default)]
    struct FakeBridge {
        mem: HashMap<u32, u32>,
        /// Registers that clear when read (like the NIC's ICR).
        read_to_clear: HashSet<u32>,
        /// Registers whose bits clear when written with 1.
        write_1_to_clear: HashSet<u32>,
        irq: bool,
        input: Vec<u8>,
        output: VecDeque<u8>,
        /// (CMD, addr, words) of every frame executed.
        log: Vec<(u8, u32, usize)>,
        /// The replay memory: TAG, CRC and payload of the last remembered frame executed.
        memory: Option<(u8, u16, Vec<u8>)>,
        replays: usize,
        timeouts: usize,
        /// Flip a bit in this many of the next replies.
        corrupt_replies: usize,
        /// Flip a bit in this many of the next frames before checking them.
        corrupt_frames: usize,
        /// Lose this many of the next frames' last byte (a truncated frame).
        truncate_frames: usize,
        /// Execute, but lose the reply of this many of the next frames.
        drop_replies: usize,
        /// Hold back the reply of this many of the next frames and send it before the reply
        /// after it (a late reply).
        delay_replies: usize,
        delayed: Vec<u8>,
        /// Never reply (a board that is gone).
        silent: bool,
        /// Frames received whole.
        frames_seen: usize,
        /// Whether `corrupt_replies` spares the replies to NOPs.
        spare_nops: bool,
        last_cmd: u8,
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

        fn reply(&mut self, status: u8, tag: u8, payload: &[u8]) {
            let mut r = vec![REPLY_SYNC, status, tag];
            r.extend_from_slice(payload);
            let crc = reference_crc(&r[1..]);
            r.extend_from_slice(&crc.to_be_bytes());
            if self.corrupt_replies > 0 && !(self.spare_nops && self.last_cmd == CMD_NOP) {
                self.corrupt_replies -= 1;
                r[3] ^= 0x04;
            }
            if self.silent {
                return;
            }
            if self.drop_replies > 0 {
                self.drop_replies -= 1;
                return;
            }
            if self.delay_replies > 0 {
                self.delay_replies -= 1;
                self.delayed = r;
                return;
            }
            let late = std::mem::take(&mut self.delayed);
            self.output.extend(late);
            self.output.extend(r);
        }

        /// Handles every complete frame at the front of `input`.
        fn run(&mut self) {
            loop {
                while self.input.first().is_some_and(|b| *b != SYNC) {
                    self.input.remove(0);
                }
                let (Some(&cmd), Some(&tag)) = (self.input.get(1), self.input.get(2)) else {
                    return;
                };
                let count = if matches!(cmd, CMD_READ_BURST | CMD_WRITE_BURST) {
                    match self.input.get(FRAME_HEADER_BYTES + 4) {
                        Some(&n) if (1..=MAX_BURST_WORDS).contains(&(n as usize)) => n as usize,
                        Some(_) => {
                            self.input.drain(..FRAME_HEADER_BYTES + 5);
                            self.reply(STATUS_BAD_COMMAND, tag, &[]);
                            continue;
                        }
                        None => return,
                    }
                } else {
                    1
                };
                let Some(len) = frame_len(cmd, count) else {
                    self.input.drain(..FRAME_HEADER_BYTES);
                    self.reply(STATUS_BAD_COMMAND, tag, &[]);
                    continue;
                };
                if self.truncate_frames > 0 && self.input.len() >= len {
                    self.truncate_frames -= 1;
                    self.input.remove(len - 1);
                }
                if self.input.len() < len {
                    return;
                }
                let mut f: Vec<u8> = self.input.drain(..len).collect();
                self.frames_seen += 1;
                self.last_cmd = cmd;
                if self.corrupt_frames > 0 {
                    self.corrupt_frames -= 1;
                    f[FRAME_HEADER_BYTES] ^= 0x40;
                }
                if !crc_ok(&f[1..]) {
                    self.reply(STATUS_BAD_CRC, f[2], &[]);
                    continue;
                }
                let body_crc = u16::from_be_bytes([f[len - 2], f[len - 1]]);
                self.execute(&f, body_crc, count);
            }
        }

        fn execute(&mut self, f: &[u8], body_crc: u16, count: usize) {
            let (cmd, tag) = (f[1], f[2]);
            if cmd == CMD_NOP {
                let remembered = self.memory.as_ref().map_or(0, |m| m.0);
                self.reply(STATUS_OK, tag, &[remembered]);
                return;
            }
            if let Some((t, c, payload)) = &self.memory {
                if is_replayed(cmd) && (*t, *c) == (tag, body_crc) {
                    let payload = payload.clone();
                    self.replays += 1;
                    self.reply(STATUS_OK, tag, &payload);
                    return;
                }
            }
            let at = FRAME_HEADER_BYTES;
            let word = |i: usize| u32::from_le_bytes([f[i], f[i + 1], f[i + 2], f[i + 3]]);
            let addr = if field_bytes(cmd, count) == Some(0) {
                0
            } else {
                word(at)
            };
            let payload: Vec<u8> = match cmd {
                CMD_READ32 | CMD_READ_BURST => (0..count as u32)
                    .flat_map(|i| self.read(addr + 4 * i).to_le_bytes())
                    .collect(),
                CMD_WRITE32 => {
                    let be = f[at + 8];
                    let mask = (0..4)
                        .filter(|i| be & (1 << i) != 0)
                        .fold(0u32, |m, i| m | 0xFF << (8 * i));
                    self.write(addr, word(at + 4), mask);
                    vec![]
                }
                CMD_WRITE_BURST => {
                    for i in 0..count {
                        self.write(addr + 4 * i as u32, word(at + 5 + 4 * i), u32::MAX);
                    }
                    vec![]
                }
                _ => vec![if self.irq { IRQ_LINE } else { 0 }],
            };
            self.log
                .push((cmd, addr, count * (cmd != CMD_IRQ_STATUS) as usize));
            if is_replayed(cmd) {
                self.memory = Some((tag, body_crc, payload.clone()));
            }
            self.reply(STATUS_OK, tag, &payload);
        }

        fn read(&mut self, addr: u32) -> u32 {
            let v = self.word_at(addr);
            if self.read_to_clear.contains(&addr) {
                self.mem.insert(addr, 0);
            }
            v
        }

        fn write(&mut self, addr: u32, value: u32, mask: u32) {
            let old = self.word_at(addr);
            let new = if self.write_1_to_clear.contains(&addr) {
                old & !(value & mask)
            } else {
                (old & !mask) | (value & mask)
            };
            self.mem.insert(addr, new);
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
                // The port's timeout passed: the bridge's inter-byte timeout too.
                if !self.input.is_empty() {
                    self.input.clear();
                    self.timeouts += 1;
                }
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
    const ICR: u32 = 0x0EC0;
    const STATUS_W1C: u32 = 0x0F00;

    fn device() -> UartDevice<FakeBridge> {
        let mut bridge = FakeBridge::soc();
        bridge.mem.insert(ICR, 0x0000_0085);
        bridge.read_to_clear.insert(ICR);
        bridge.mem.insert(STATUS_W1C, 0b1111);
        bridge.write_1_to_clear.insert(STATUS_W1C);
        UartDevice::new(bridge, CLOCK_HZ)
    }

    /// Executed frames other than the device's NOPs.
    fn executed(dev: &mut UartDevice<FakeBridge>) -> Vec<(u8, u32, usize)> {
        dev.port_mut().log.clone()
    }

    #[test]
    fn uart_frames_are_sync_cmd_tag_little_endian_fields_and_crc16_msb_first() {
        let r = encode_read32(0x17, 0x4002_0000);
        assert_eq!(r[..7], [0xA5, 0x01, 0x17, 0x00, 0x00, 0x02, 0x40]);
        assert_eq!(r[7..], reference_crc(&r[1..7]).to_be_bytes());
        let w = encode_write32(0x18, 0x10, 0xAABB_CCDD, 0x5);
        assert_eq!(
            w[..12],
            [0xA5, 0x02, 0x18, 0x10, 0, 0, 0, 0xDD, 0xCC, 0xBB, 0xAA, 0x05]
        );
        assert_eq!(encode_read_burst(1, 4, 64)[7], 64);
        assert_eq!(encode_write_burst(1, 0, &[1, 2]).len(), 3 + 5 + 8 + 2);
        assert_eq!(encode_irq_status(9)[..3], [0xA5, 0x05, 9]);
        assert_eq!(encode_nop(9)[..3], [0xA5, 0x06, 9]);
        for f in [
            r,
            w,
            encode_read_burst(2, 4, 64),
            encode_write_burst(3, 0, &[1, 2]),
            encode_irq_status(4),
            encode_nop(5),
        ] {
            let n = f.len();
            assert_eq!(
                f[n - CRC_BYTES..],
                reference_crc(&f[1..n - CRC_BYTES]).to_be_bytes()
            );
            assert_eq!(
                Some(n),
                frame_len(f[1], f.get(7).copied().unwrap_or(1) as usize)
            );
        }
    }

    #[test]
    fn uart_decode_reply_checks_sync_length_crc_tag_and_status() {
        let reply = |status: u8, tag: u8, payload: &[u8]| {
            let mut r = vec![REPLY_SYNC, status, tag];
            r.extend_from_slice(payload);
            let crc = reference_crc(&r[1..]);
            r.extend_from_slice(&crc.to_be_bytes());
            r
        };
        let good = reply(0, 7, &[0x78, 0x56, 0x34, 0x12]);
        assert_eq!(
            decode_words(decode_reply(&good, 7, 4).unwrap()),
            vec![0x1234_5678]
        );
        for i in 1..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 1 << (i % 8);
            assert!(
                matches!(decode_reply(&bad, 7, 4), Err(UartError::BadCrc)),
                "byte {i}"
            );
        }
        assert!(matches!(
            decode_reply(&good, 8, 4),
            Err(UartError::WrongTag {
                expected: 8,
                got: 7
            })
        ));
        assert!(matches!(
            decode_reply(&good[..6], 7, 4),
            Err(UartError::Short)
        ));
        assert!(matches!(
            decode_reply(&[0, 0, 0, 0, 0], 0, 0),
            Err(UartError::Short)
        ));
        assert!(matches!(
            decode_reply(&reply(STATUS_BAD_COMMAND, 3, &[]), 3, 4),
            Err(UartError::Status(STATUS_BAD_COMMAND))
        ));
        assert!(decode_irq(decode_reply(&reply(0, 1, &[1]), 1, 1).unwrap()));
    }

    #[test]
    fn uart_device_write32_then_read32_round_trip_with_byte_enables() {
        let mut dev = device();
        dev.write32(0x100, 0x1122_3344);
        assert_eq!(dev.read32(0x100), 0x1122_3344);
        dev.write32_be(0x100, 0xAABB_CCDD, 0b1010);
        assert_eq!(dev.read32(0x100), 0xAA22_CC44);
        let s = dev.link_stats();
        assert_eq!((s.retries, s.resyncs, s.failures), (0, 0, 0));
        // The NOP of the first use, then the four commands.
        assert_eq!(dev.port_mut().frames_seen, 5);
        assert_eq!(dev.link_error(), None);
    }

    #[test]
    fn uart_device_words_go_in_bursts_of_64() {
        let mut dev = device();
        let words: Vec<u32> = (0..150).map(|i| i * 0x0101_0101).collect();
        dev.write_words(0x1000, &words);
        let mut back = vec![0; 150];
        dev.read_words(0x1000, &mut back);
        assert_eq!(back, words);
        assert_eq!(
            executed(&mut dev),
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
    fn uart_tags_increment_and_skip_the_one_the_bridge_remembers() {
        let mut dev = device();
        // The bridge remembers TAG 1 from an earlier session.
        dev.port_mut().memory = Some((1, 0, vec![]));
        dev.write32(0x10, 1); // resync (NOP, TAG 0) learns 1, so the write gets TAG 2
        assert_eq!(dev.port_mut().memory.as_ref().unwrap().0, 2);
        dev.write32(0x10, 2);
        assert_eq!(dev.port_mut().memory.as_ref().unwrap().0, 3);
    }

    #[test]
    fn uart_corrupted_reply_is_retried_and_executed_exactly_once() {
        let mut dev = device();
        dev.read32(0); // first use: resync
        dev.port_mut().corrupt_replies = 1;
        assert_eq!(dev.read32(ICR), 0x85, "the value the one read saw");
        assert_eq!(dev.read32(ICR), 0, "cleared once by that read");
        assert_eq!(
            dev.port_mut().replays,
            1,
            "the retransmission was answered from memory"
        );
        dev.port_mut().corrupt_replies = 1;
        dev.write32(STATUS_W1C, 0b0001);
        assert_eq!(dev.read32(STATUS_W1C), 0b1110);
        let reads = executed(&mut dev).iter().filter(|e| e.1 == ICR).count();
        assert_eq!(reads, 2);
        assert_eq!(dev.retries(), 2);
        assert_eq!(dev.link_error(), None);
    }

    #[test]
    fn uart_corrupted_frame_is_refused_then_sent_again() {
        let mut dev = device();
        dev.read32(0);
        dev.port_mut().corrupt_frames = 1;
        dev.write32(0x80, 5);
        assert_eq!(dev.retries(), 1);
        assert_eq!(executed(&mut dev)[1..], [(CMD_WRITE32, 0x80, 1)]);
        assert_eq!(dev.read32(0x80), 5);
        assert_eq!(
            dev.port_mut().replays,
            0,
            "the refused frame was not executed"
        );
    }

    #[test]
    fn uart_lost_reply_times_out_then_resync_and_retry_execute_once() {
        let mut dev = device();
        dev.read32(0);
        dev.port_mut().drop_replies = 1;
        dev.write32(STATUS_W1C, 0b0100);
        assert_eq!(
            dev.read32(STATUS_W1C),
            0b1011,
            "one bit cleared: executed once"
        );
        dev.port_mut().drop_replies = 1;
        assert_eq!(dev.read32(ICR), 0x85);
        assert_eq!(dev.read32(ICR), 0);
        let s = dev.link_stats();
        assert_eq!((s.retries, s.resyncs, s.failures), (2, 2, 0));
        assert_eq!(dev.port_mut().replays, 2);
        assert_eq!(dev.link_error(), None);
    }

    #[test]
    fn uart_truncated_frame_times_out_and_the_retry_executes_once() {
        let mut dev = device();
        dev.read32(0);
        dev.port_mut().truncate_frames = 1;
        dev.write32(0x40, 9);
        assert_eq!(dev.port_mut().timeouts, 1);
        assert_eq!(dev.read32(0x40), 9);
        assert_eq!(
            executed(&mut dev)[1..],
            [(CMD_WRITE32, 0x40, 1), (CMD_READ32, 0x40, 1)]
        );
    }

    #[test]
    fn uart_late_reply_to_an_earlier_command_is_skipped_by_its_tag() {
        let mut dev = device();
        dev.read32(0);
        dev.port_mut().mem.insert(0x40, 0x4444);
        dev.port_mut().mem.insert(0x50, 0x5555);
        dev.port_mut().delay_replies = 1;
        // The first read's reply is held back: timeout, resync; the NOP's reply comes after
        // the late one, which is skipped by its TAG.
        assert_eq!(dev.read32(0x40), 0x4444);
        assert_eq!(dev.read32(0x50), 0x5555);
        assert_eq!(dev.link_stats().stale_replies, 1);
        assert_eq!(dev.link_error(), None);
    }

    #[test]
    fn uart_permanent_failure_is_an_error_all_ones_and_a_latched_link_error() {
        let mut dev = device();
        dev.read32(0);
        dev.port_mut().silent = true;
        match dev.try_read32(0x40) {
            Err(UartError::LinkDown {
                what: "READ32",
                addr: 0x40,
                last,
            }) => {
                assert!(matches!(*last, UartError::Timeout), "{last}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(dev.link_error(), None, "try_* report, they do not latch");
        assert_eq!(dev.read32(0x40), 0xFFFF_FFFF);
        let latched = dev.link_error().expect("latched");
        assert!(latched.contains("READ32 at 0x00000040"), "{latched}");
        dev.write32(0x44, 1);
        let mut words = [0u32; 3];
        dev.read_words(0x40, &mut words);
        assert_eq!(words, [u32::MAX; 3]);
        assert!(!dev.wait_irq(1_000));
        assert_eq!(
            dev.link_error(),
            Some(latched.clone()),
            "sticky: the first error"
        );
        assert!(dev.describe_state().contains("link error"));
        assert_eq!(dev.link_stats().failures, 5);
        // The bridge is back: commands work again; the error stays until cleared.
        dev.port_mut().silent = false;
        dev.port_mut().mem.insert(0x20, 0x2222);
        assert_eq!(dev.read32(0x20), 0x2222);
        assert_eq!(dev.clear_link_error(), Some(latched));
        assert_eq!(dev.link_error(), None);
    }

    #[test]
    fn uart_a_bounded_number_of_attempts() {
        let mut dev = device();
        dev.read32(0);
        let frames_before = dev.port_mut().frames_seen;
        dev.port_mut().corrupt_frames = usize::MAX;
        assert!(matches!(
            dev.try_write32_be(0x10, 1, 0xF),
            Err(UartError::LinkDown { .. })
        ));
        // The write's first try, then a resync before each further try (whose NOP is refused
        // too): ATTEMPTS frames in all, none executed.
        assert_eq!(
            dev.port_mut().frames_seen - frames_before,
            ATTEMPTS as usize
        );
        assert_eq!(dev.link_stats().failures, 1);
        assert_eq!(dev.port_mut().mem.get(&0x10), None, "nothing executed");
        // With good NOPs, each further try is a retransmission of the write.
        dev.port_mut().corrupt_frames = 0;
        dev.read32(0);
        dev.port_mut().corrupt_replies = usize::MAX;
        dev.port_mut().spare_nops = true;
        let before = dev.link_stats();
        assert!(dev.try_write32_be(0x10, 1, 0xF).is_err());
        assert_eq!(
            dev.link_stats().retries - before.retries,
            u64::from(ATTEMPTS) - 1
        );
    }

    #[test]
    fn uart_bad_burst_length_is_an_error_not_a_panic() {
        let mut dev = device();
        assert!(matches!(
            dev.try_write_burst(0, &[]),
            Err(UartError::BadBurst(0))
        ));
        assert!(matches!(
            dev.try_read_burst(0, &mut [0; 65]),
            Err(UartError::BadBurst(65))
        ));
    }

    #[test]
    fn uart_a_new_session_is_not_answered_from_the_last_sessions_memory() {
        let mut dev = device();
        assert_eq!(dev.read32(ICR), 0x85);
        let mut bridge = dev.into_port();
        bridge.mem.insert(ICR, 0x02);
        // A new device would send the same first frame; its resync learns the TAG to avoid.
        let mut dev = UartDevice::new(bridge, CLOCK_HZ);
        assert_eq!(dev.read32(ICR), 0x02);
        assert_eq!(dev.port_mut().replays, 0);
    }

    #[test]
    fn uart_probe_passes_against_the_bridge_model() {
        let mut dev = device();
        let info = crate::sys::probe(&mut dev).unwrap();
        assert_eq!(info.version, sys::VERSION_VALUE);
        assert_eq!(info.ram_bytes, 2 * PAGE_BYTES);
    }

    #[test]
    fn uart_probe_of_a_dead_link_is_link_down_not_a_bad_id() {
        let mut dev = device();
        dev.port_mut().silent = true;
        match crate::sys::probe(&mut dev) {
            Err(crate::sys::ProbeError::LinkDown(e)) => assert!(e.contains("READ32"), "{e}"),
            other => panic!("{other:?}"),
        }
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
