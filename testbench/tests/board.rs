//! The Colorlight i5 board top simulated in Verilator, driven only through its pins: the driver
//! reaches the SoC through the UART bridge (`driver::uart::UartDevice` over the simulated
//! line, the same code that runs against a real board's serial port), the NIC's frames leave
//! through the RGMII adapter's pins (captured and checked at TXC's edges) and come back
//! through them (looped back at the PHY's own RXC, as a PHY in loopback mode would), and the
//! driver manages the PHY model over the MDC/MDIO pins. This is the bitstream's logic: the same
//! rust-hdl top and SoC configuration (`regs::board::COLORLIGHT_I5`) that `make fpga
//! BOARD=colorlight-i5` builds, with only the PLL and the DDR I/O cells replaced by their
//! behavioural models.
//!
//! The board has 8 KiB of RAM: the driver's allocator hands out 256-byte units
//! (`PageAllocator::with_unit`), and the IOMMU stays off (its tables alone would need three
//! of the two pages).
//!
//! The UART bridge's own defences are tested here through the pins too: frames damaged at every
//! byte position (sent raw on the line, [`Raw`]), and the driver over a line that damages,
//! loses or cuts traffic ([`FlakyPort`]).

use std::io::{Read, Write};

use driver::dma::{Dma, DmaConfig, IommuPolicy};
use driver::dmac::{Completion, Dmac};
use driver::nic::{Nic, NicConfig};
use driver::uart::{
    decode_reply, decode_words, encode_read32, encode_read_burst, encode_write32,
    encode_write_burst, BoardClock, UartDevice, UartError,
};
use driver::{Device, PageAllocator};
use pretty_assertions::assert_eq;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use regs::board::{uart_divisor, COLORLIGHT_I5};
use regs::uart_bridge::{
    interbyte_timeout_cycles, reply_len, BITS_PER_BYTE, REPLY_SYNC, STATUS_BAD_CRC, STATUS_OK, SYNC,
};
use regs::{block, csr, dmac, nic as hw, sys};
use sim::board::{Board, BoardPort, SimClock};

/// The reset is held for 18 cycles after power-up: wait that out.
/// Without the board model (a Verilator older than 5.026 built `sim`: `sim::BOARD_MODEL`), the
/// board's tests say so and skip.
fn no_board_model() -> bool {
    if !sim::BOARD_MODEL {
        eprintln!(
            "note: sim was built by Verilator {} without the board model (it needs 5.026 or \
             newer): the board test is skipped",
            sim::VERILATOR
        );
    }
    !sim::BOARD_MODEL
}

fn powered_up() -> (Board, UartDevice<BoardPort>) {
    let board = Board::new();
    let mut dev = board.device();
    assert!(
        board.led(),
        "the LED is lit while the reset is held at power-up"
    );
    dev.advance(100);
    assert!(!board.led(), "reset released");
    (board, dev)
}

fn small_ram(dev: &mut dyn Device) -> Dma {
    let mm = PageAllocator::from_device_with_unit(dev, 256).expect("allocator");
    Dma::init(
        dev,
        mm,
        DmaConfig {
            policy: IommuPolicy::Off,
            ..DmaConfig::default()
        },
    )
    .expect("DMA layer")
}

#[test]
fn the_board_identifies_itself_and_its_build_over_the_uart() {
    if no_board_model() {
        return;
    }
    let (board, mut dev) = powered_up();
    let sysr = |r| csr(block::SYS, r);
    assert_eq!(dev.read32(sysr(sys::ID)), sys::ID_VALUE);
    assert_eq!(dev.read32(sysr(sys::VERSION)), sys::VERSION_VALUE);
    assert_eq!(dev.read32(sysr(sys::RAM_BYTES)), COLORLIGHT_I5.soc.bytes());
    assert_eq!(
        dev.read32(csr(block::NIC, hw::TXFIFO_BYTES)),
        COLORLIGHT_I5.soc.nic_fifo_bytes()
    );
    // Channel 1 is not built on this board: its window reads 0.
    assert_eq!(COLORLIGHT_I5.soc.dma_channels, 1);
    let ch1 = dmac::channel_block(1);
    assert_eq!(dev.read32(csr(ch1, dmac::STATUS)), 0);
    dev.write32(sysr(sys::SCRATCH), 0x1234_5678);
    assert_eq!(dev.read32(sysr(sys::SCRATCH)), 0x1234_5678);
    // Bursts: the whole RAM written and read back.
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let words = (COLORLIGHT_I5.soc.bytes() / 4) as usize;
    let data: Vec<u32> = (0..words).map(|_| rng.gen()).collect();
    dev.write_words(0, &data);
    let mut back = vec![0u32; words];
    dev.read_words(0, &mut back);
    assert_eq!(back, data);
    assert_eq!(dev.retries(), 0);
    assert_eq!(board.host_framing_errors(), 0);
}

#[test]
fn a_corrupted_frame_is_answered_bad_crc_and_not_executed() {
    if no_board_model() {
        return;
    }
    let (board, mut dev) = powered_up();
    let scratch = csr(block::SYS, sys::SCRATCH);
    dev.write32(scratch, 7);
    let mut frame = encode_write32(0xC0, scratch, 0xDEAD_BEEF, 0xF);
    frame[4] ^= 0x10; // one bit of the address flips on the line
    let mut port = board.port();
    port.write_all(&frame).unwrap();
    let mut reply = [0u8; reply_len(0)];
    port.read_exact(&mut reply).unwrap();
    assert_eq!(reply[..3], [REPLY_SYNC, STATUS_BAD_CRC, 0xC0]);
    assert!(matches!(
        decode_reply(&reply, 0xC0, 0),
        Err(UartError::Status(STATUS_BAD_CRC))
    ));
    assert_eq!(dev.read32(scratch), 7, "nothing was written");
    // The button resets the bridge and the LEDs' state, not the SoC's registers or RAM.
    board.press_reset(50);
    assert_eq!(dev.read32(scratch), 7, "the board answers after the button");
}

/// An address mapped to nothing: every access to it that executes counts once in
/// `SYS.HOST_ERRORS`, so it shows how often a command ran.
const UNMAPPED: u32 = 0x2000_0000;

/// The host's raw end of the line, for frames the test makes (and damages) itself. Its TAGs
/// count up from 0x80; the driver's device is not used while it is.
struct Raw<'a> {
    board: &'a Board,
    port: BoardPort,
    tag: u8,
}

impl<'a> Raw<'a> {
    fn new(board: &'a Board) -> Self {
        Raw {
            board,
            port: board.port(),
            tag: 0x80,
        }
    }

    fn next_tag(&mut self) -> u8 {
        self.tag = self.tag.wrapping_add(1);
        self.tag
    }

    /// Sends `bytes`, then keeps the line quiet for longer than the bridge's inter-byte
    /// timeout and any refusal's reply (as the driver's resync does); returns what came back.
    fn send_then_quiet(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.port.write_all(bytes).unwrap();
        self.port.flush().unwrap();
        let divisor = uart_divisor(self.board.board);
        let byte = u64::from(BITS_PER_BYTE * divisor);
        self.board
            .clock()
            .idle(interbyte_timeout_cycles(divisor) + 2 * byte * reply_len(4) as u64);
        let saved = self.port.timeout_cycles;
        self.port.timeout_cycles = 1;
        let mut got = vec![];
        let mut buf = [0u8; 64];
        while let Ok(n) = self.port.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
        self.port.timeout_cycles = saved;
        got
    }

    /// Sends a good `frame` whose TAG is `tag` and returns its OK reply's payload.
    fn command(&mut self, frame: &[u8], tag: u8, payload_len: usize) -> Vec<u8> {
        self.port.write_all(frame).unwrap();
        let mut reply = vec![0u8; reply_len(payload_len)];
        self.port.read_exact(&mut reply).unwrap();
        decode_reply(&reply, tag, payload_len)
            .unwrap_or_else(|e| panic!("{frame:02x?}: {e} ({reply:02x?})"))
            .to_vec()
    }

    fn read_words(&mut self, addr: u32, n: usize) -> Vec<u32> {
        let tag = self.next_tag();
        decode_words(&self.command(&encode_read_burst(tag, addr, n as u8), tag, 4 * n))
    }

    fn host_errors(&mut self) -> u32 {
        self.read_words(csr(block::SYS, sys::HOST_ERRORS), 1)[0]
    }
}

/// How a frame is damaged on the line at one byte position.
#[derive(Clone, Copy, Debug)]
enum Damage {
    /// XOR with a random non-zero pattern.
    Flip,
    Drop,
    /// A random byte (not SYNC) inserted before it.
    Insert,
    /// The frame ends before it.
    Truncate,
}

fn damaged(good: &[u8], at: usize, damage: Damage, rng: &mut StdRng) -> Vec<u8> {
    let mut f = good.to_vec();
    match damage {
        Damage::Flip => f[at] ^= rng.gen_range(1..=255u8),
        Damage::Drop => {
            f.remove(at);
        }
        Damage::Insert => f.insert(at, rng.gen_range(0..SYNC)),
        Damage::Truncate => f.truncate(at),
    }
    f
}

fn seed(default: u64) -> u64 {
    let seed = std::env::var("UART_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    println!("seed {seed} (rerun with UART_SEED={seed})");
    seed
}

/// Through the board's pins: a WRITE32 to RAM, a READ32 of an unmapped address (each one
/// executed counts in HOST_ERRORS) and a 4-word WRITE_BURST, each damaged at every byte
/// position in each way. A damaged frame changes nothing; the good frame sent after the pause
/// runs exactly once. The whole RAM is compared with a model after each kind of frame.
#[test]
fn damage_at_every_byte_position_changes_nothing_on_the_board() {
    if no_board_model() {
        return;
    }
    let (board, mut dev) = powered_up();
    let seed = seed(31);
    let mut rng = StdRng::seed_from_u64(seed);
    let words = (COLORLIGHT_I5.soc.bytes() / 4) as usize;
    let mut model: Vec<u32> = (0..words).map(|_| rng.gen()).collect();
    dev.write_words(0, &model);
    let mut raw = Raw::new(&board);
    let mut errors = raw.host_errors();
    // The WRITE32's word just before the burst's four: one READ_BURST checks all five.
    let (w32, burst) = (0x1FCu32, 0x200u32);
    let targets = |model: &[u32]| model[w32 as usize / 4..][..5].to_vec();
    for kind in 0..3 {
        let len = [14, 9, 3 + 5 + 16 + 2][kind];
        for at in 0..len {
            for damage in [Damage::Flip, Damage::Drop, Damage::Insert, Damage::Truncate] {
                let tag = raw.next_tag();
                let values: Vec<u32> = (0..4).map(|_| rng.gen()).collect();
                let good = match kind {
                    0 => encode_write32(tag, w32, values[0], 0xF),
                    1 => encode_read32(tag, UNMAPPED),
                    _ => encode_write_burst(tag, burst, &values),
                };
                assert_eq!(good.len(), len);
                let what = format!("seed {seed}: {damage:?} at byte {at} of {good:02x?}");
                let bad = damaged(&good, at, damage, &mut rng);
                let reply = raw.send_then_quiet(&bad);
                let intact = at == 0 && matches!(damage, Damage::Insert);
                for refusal in reply.chunks(reply_len(0)).filter(|_| !intact) {
                    let status = refusal.get(1).copied();
                    assert_ne!(status, Some(STATUS_OK), "{what}: answered {reply:02x?}");
                }
                if !intact {
                    // Nothing changed: the target words and HOST_ERRORS.
                    assert_eq!(raw.read_words(w32, 5), targets(&model), "{what}");
                    assert_eq!(raw.host_errors(), errors, "{what}: a command ran");
                    // The good frame, once.
                    let payload_len = if kind == 1 { 4 } else { 0 };
                    raw.command(&good, tag, payload_len);
                } else {
                    // Noise before SYNC: the frame arrived whole and ran.
                    assert_eq!(
                        reply.len(),
                        reply_len(if kind == 1 { 4 } else { 0 }),
                        "{what}"
                    );
                    assert_eq!(reply[1], STATUS_OK, "{what}");
                }
                match kind {
                    0 => model[w32 as usize / 4] = values[0],
                    1 => errors += 1,
                    _ => model[burst as usize / 4..][..4].copy_from_slice(&values),
                }
                assert_eq!(raw.host_errors(), errors, "{what}: ran exactly once");
                assert_eq!(raw.read_words(w32, 5), targets(&model), "{what}");
            }
        }
        let mut ram = vec![];
        for chunk in (0..words).step_by(64) {
            ram.extend(raw.read_words(4 * chunk as u32, 64));
        }
        assert!(
            ram == model,
            "seed {seed}: RAM differs from the model after kind {kind}"
        );
    }
}

/// The reviewer's case on the board: +4 on an address byte and -4 on a data byte (the same
/// 8-bit sum) is refused, and neither address is written.
#[test]
fn compensating_byte_errors_are_refused_by_the_board() {
    if no_board_model() {
        return;
    }
    let (board, _dev) = powered_up();
    let mut raw = Raw::new(&board);
    let before = raw.read_words(0x100, 2);
    let tag = raw.next_tag();
    let mut f = encode_write32(tag, 0x100, 0x1234_5678, 0xF);
    f[3] = f[3].wrapping_add(4);
    f[7] = f[7].wrapping_sub(4);
    let reply = raw.send_then_quiet(&f);
    assert_eq!(reply[..3], [REPLY_SYNC, STATUS_BAD_CRC, tag]);
    assert_eq!(raw.read_words(0x100, 2), before);
}

/// A port between the driver and the board that damages the traffic on request.
struct FlakyPort {
    inner: BoardPort,
    clock: SimClock,
    /// XOR this into byte `.0` of the next frame written.
    corrupt_next_frame: Option<(usize, u8)>,
    /// Send only this many bytes of the next frame (a truncated frame).
    truncate_next_frame: Option<usize>,
    /// Discard this many of the next bytes from the board (a lost reply).
    lose_bytes: usize,
    /// The line is cut: nothing gets through either way.
    cut: bool,
}

impl FlakyPort {
    fn device(board: &Board) -> UartDevice<FlakyPort> {
        let port = FlakyPort {
            inner: board.port(),
            clock: board.clock(),
            corrupt_next_frame: None,
            truncate_next_frame: None,
            lose_bytes: 0,
            cut: false,
        };
        UartDevice::with_clock(port, Box::new(board.clock()))
    }
}

impl Write for FlakyPort {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.cut {
            return Ok(buf.len());
        }
        let mut bytes = buf.to_vec();
        if let Some((at, x)) = self.corrupt_next_frame.take() {
            bytes[at] ^= x;
        }
        if let Some(n) = self.truncate_next_frame.take() {
            bytes.truncate(n);
        }
        self.inner.write_all(&bytes)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl Read for FlakyPort {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cut {
            // The port's timeout passes, as on a real one.
            self.clock.idle(self.inner.timeout_cycles);
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        loop {
            let n = self.inner.read(buf)?;
            let lost = n.min(self.lose_bytes);
            self.lose_bytes -= lost;
            if lost < n {
                buf.copy_within(lost..n, 0);
                return Ok(n - lost);
            }
        }
    }
}

/// The driver over a line that damages a frame, loses replies and truncates a frame: each
/// time it resyncs and sends the frame again, and each command runs exactly once (accesses to
/// an unmapped address count in HOST_ERRORS, so a READ32 or WRITE32 run twice would show).
#[test]
fn the_driver_recovers_and_runs_each_command_once_on_the_board() {
    if no_board_model() {
        return;
    }
    let (board, _) = powered_up();
    let mut dev = FlakyPort::device(&board);
    let host_errors = csr(block::SYS, sys::HOST_ERRORS);
    let scratch = csr(block::SYS, sys::SCRATCH);
    let e0 = dev.read32(host_errors);
    // A corrupted frame: refused (BAD_CRC), sent again.
    dev.port_mut().corrupt_next_frame = Some((4, 0x10));
    dev.write32(UNMAPPED, 1);
    assert_eq!(dev.read32(host_errors), e0 + 1);
    // The reply to a READ32 is lost: timeout, resync, and the retransmission is answered from
    // the bridge's memory.
    dev.port_mut().lose_bytes = reply_len(4);
    assert_eq!(dev.read32(UNMAPPED), 0);
    assert_eq!(dev.read32(host_errors), e0 + 2, "the READ32 ran once");
    // The reply to a WRITE32 is lost.
    dev.port_mut().lose_bytes = reply_len(0);
    dev.write32(UNMAPPED, 2);
    assert_eq!(dev.read32(host_errors), e0 + 3, "the WRITE32 ran once");
    // A truncated frame: the bridge's inter-byte timeout abandons it; sent again.
    dev.port_mut().truncate_next_frame = Some(6);
    dev.write32(scratch, 0x55);
    assert_eq!(dev.read32(scratch), 0x55);
    // A burst whose reply is lost: READ_BURST runs again (RAM reads), same words.
    let words: Vec<u32> = (0..64).map(|i| i * 0x0101_0101).collect();
    dev.write_words(0x400, &words);
    dev.port_mut().lose_bytes = 7;
    let mut back = vec![0u32; 64];
    dev.read_words(0x400, &mut back);
    assert_eq!(back, words);
    let stats = dev.link_stats();
    assert_eq!((stats.retries, stats.failures), (5, 0), "{stats:?}");
    assert_eq!(dev.link_error(), None);
    assert_eq!(board.host_framing_errors(), 0);
}

/// A cut line: the `try_*` calls return an error after the bounded tries, the `Device` calls
/// read all-ones and latch the link error, probe says the link is down; nothing panics, and
/// once the line is back commands work again.
#[test]
fn a_cut_line_is_an_error_and_all_ones_not_a_panic() {
    if no_board_model() {
        return;
    }
    let (board, _) = powered_up();
    let mut dev = FlakyPort::device(&board);
    let scratch = csr(block::SYS, sys::SCRATCH);
    dev.write32(scratch, 9);
    dev.port_mut().cut = true;
    assert!(matches!(
        dev.try_read32(scratch),
        Err(UartError::LinkDown { what: "READ32", .. })
    ));
    assert_eq!(dev.link_error(), None);
    assert_eq!(dev.read32(scratch), 0xFFFF_FFFF);
    assert!(dev.link_error().is_some());
    assert!(matches!(
        driver::sys::probe(&mut dev),
        Err(driver::ProbeError::LinkDown(_))
    ));
    dev.port_mut().cut = false;
    assert_eq!(dev.read32(scratch), 9);
    assert!(dev.clear_link_error().is_some());
    assert!(driver::sys::probe(&mut dev).is_ok());
}

#[test]
fn memcpy_through_the_bridge_copies_exactly_and_touches_nothing_else() {
    if no_board_model() {
        return;
    }
    let (_board, mut dev) = powered_up();
    let mut dma = small_ram(&mut dev);
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let ram_words = (COLORLIGHT_I5.soc.bytes() / 4) as usize;
    let before: Vec<u32> = (0..ram_words).map(|_| rng.gen()).collect();
    dev.write_words(0, &before);
    let src = dma.mm_mut().alloc_bytes(2048).unwrap();
    let dst = dma.mm_mut().alloc_bytes(2048).unwrap();
    // The whole RAM is compared once at the end against a model that applied every copy.
    let mut want = before.clone();
    let mut dmac = Dmac::new().with_timeout(2_000_000);
    for (so, doff, len) in [(0u32, 0u32, 2048u32), (4, 12, 1000), (100, 8, 4)] {
        let out = dmac
            .memcpy(&mut dev, src + so, dst + doff, len, Completion::Irq)
            .expect("memcpy");
        assert_eq!(out.bytes, len);
        let (d, s, n) = (
            ((dst + doff) / 4) as usize,
            ((src + so) / 4) as usize,
            (len / 4) as usize,
        );
        let copied: Vec<u32> = want[s..s + n].to_vec();
        want[d..d + n].copy_from_slice(&copied);
    }
    let mut got = vec![0u32; ram_words];
    dev.read_words(0, &mut got);
    assert_eq!(
        got, want,
        "every copy exact, RAM outside the destinations unchanged"
    );
    let mut dmac = Dmac::new().with_timeout(2_000_000);
    let poll = dmac
        .memcpy(&mut dev, src, dst, 256, Completion::Poll)
        .expect("memcpy (polled)");
    assert_eq!(poll.bytes, 256);
}

/// NIC frames through the bridge, in PHY loopback (the PHY launching its RX nibbles
/// `rx_launch_ps` from RXC's rising edge) or MAC loopback (`None`).
fn nic_loopback(phy_loopback: Option<i32>) {
    let (board, mut dev) = powered_up();
    board.set_phy_loopback(phy_loopback.is_some());
    if let Some(ps) = phy_loopback {
        board.set_phy_rx_launch_ps(ps);
    }
    let mut dma = small_ram(&mut dev);
    let cfg = NicConfig {
        tx_descriptors: 8,
        rx_descriptors: 8,
        rx_buffer_bytes: 256,
        loopback: phy_loopback.is_none(),
        timeout_cycles: 5_000_000,
        ..NicConfig::default()
    };
    let mut nic = Nic::open(&mut dev, &mut dma, cfg).expect("open");
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let tx0 = board.tx_nibbles();
    board.take_tx_frames();
    let mut sent = vec![];
    let mut got = vec![];
    for len in [60usize, 64, 333, 1514, 100] {
        let mut f: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        f[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
        nic.xmit(&mut dev, &mut dma, &f).expect("xmit");
        sent.push(f);
        for _ in 0..200 {
            if got.len() == sent.len() {
                break;
            }
            dev.wait_irq(200_000);
            let res = nic.poll(&mut dev, &mut dma, 16);
            assert!(res.errors.is_empty(), "{:?}", res.errors);
            got.extend(res.frames.iter().map(|fr| {
                assert!(fr.is_good(), "errors {:#x}", fr.errors);
                nic.payload(fr).to_vec()
            }));
        }
    }
    assert_eq!(got, sent, "frames back byte for byte");
    let stats = nic.stats(&mut dev);
    assert_eq!(stats.hw.good_rx_packets, sent.len() as u64);
    assert_eq!(stats.hw.good_tx_packets, sent.len() as u64);
    assert_eq!(stats.hw.crc_errors, 0);
    // On the TX pins (the MAC drives them in MAC loopback too, as the 8254x does): each frame
    // as preamble, SFD, the bytes sent and a good FCS, two nibbles a byte, no TX_ER.
    let on_pins = board.take_tx_frames();
    let expected: Vec<Vec<(u8, bool)>> = sent
        .iter()
        .map(|f| {
            let mut wire = vec![0x55u8; 7];
            wire.push(0xD5);
            wire.extend(testbench::frames::with_fcs(f));
            wire.into_iter().map(|b| (b, false)).collect()
        })
        .collect();
    assert_eq!(on_pins, expected, "the RGMII TX pins, byte for byte");
    let wire_bytes: u64 = sent.iter().map(|f| 8 + f.len() as u64 + 4).sum();
    assert_eq!(board.tx_nibbles() - tx0, 2 * wire_bytes);
    assert_eq!(
        board.tx_timing_violations(),
        0,
        "TXD/TX_CTL changed within 8 ns of a TXC edge"
    );
    nic.close(&mut dev, &mut dma).expect("close");
}

#[test]
fn nic_frames_go_out_and_back_through_the_rgmii_pins_phy_with_rx_delay() {
    if no_board_model() {
        return;
    }
    nic_loopback(Some(-2000));
}

#[test]
fn nic_frames_go_out_and_back_through_the_rgmii_pins_phy_without_rx_delay() {
    if no_board_model() {
        return;
    }
    nic_loopback(Some(1000));
}

#[test]
fn nic_mac_loopback_through_the_bridge() {
    if no_board_model() {
        return;
    }
    nic_loopback(None);
}

#[test]
fn the_driver_manages_the_phy_over_the_mdio_pins() {
    if no_board_model() {
        return;
    }
    use driver::phy;
    use regs::phy::{self as c22, Resolved, COLORLIGHT_PHY_ADDR as PHY};
    let (board, mut dev) = powered_up();
    let id = phy::read_id(&mut dev, PHY).expect("PHY ID over MDIO");
    assert_eq!(id & c22::BCM54612E_ID_MASK, c22::BCM54612E_ID);
    assert_eq!(
        phy::read(&mut dev, PHY + 1, c22::PHYID1),
        Err(phy::MdioError::NoPhy {
            phy: PHY + 1,
            reg: c22::PHYID1
        }),
        "nobody at address 1 in this model"
    );
    phy::advertise_100_full_only(&mut dev, PHY).expect("advertise");
    assert_eq!(
        phy::link(&mut dev, PHY).expect("link").resolved,
        Resolved::Mbps100Full
    );
    assert_eq!(
        board.mdio_phy_reg(c22::ANAR),
        c22::anar::SELECTOR_8023 | c22::anar::ADV_100_FD
    );
    // The reset pin (CTRL.PHY_RST) brings the PHY back to its power-up values.
    assert!(!board.phy_reset_pin());
    phy::reset_pin_pulse(&mut dev, 1000);
    assert!(!board.phy_reset_pin());
    assert_eq!(
        board.mdio_phy_reg(c22::ANAR),
        c22::model_power_up()[c22::ANAR as usize]
    );
}
