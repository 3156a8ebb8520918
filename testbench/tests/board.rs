//! The Alchitry Cu board top simulated in Verilator, driven only through its pins: the driver
//! reaches the SoC through the UART bridge (`driver::uart::UartDevice` over the simulated
//! line, the same code that runs against a real board's serial port), and the NIC's frames
//! leave and come back through the RMII PHY adapter's pins (looped back as a PHY in loopback
//! mode would). This is the bitstream's logic: the same rust-hdl top and SoC configuration
//! (`regs::board::ALCHITRY_CU`) that `make fpga BOARD=alchitry-cu` builds, with only the PLL
//! and the clock-forwarding I/O cell replaced by their simulation models.
//!
//! The board has 8 KiB of RAM: the driver's allocator hands out 256-byte units
//! (`PageAllocator::with_unit`), and the IOMMU stays off (its tables alone would need three
//! of the two pages).

use std::io::{Read, Write};

use driver::dma::{Dma, DmaConfig, IommuPolicy};
use driver::dmac::{Completion, Dmac};
use driver::nic::{Nic, NicConfig};
use driver::uart::{encode_write32, UartDevice};
use driver::{Device, PageAllocator};
use pretty_assertions::assert_eq;
use rand::{Rng, SeedableRng};
use regs::board::ALCHITRY_CU;
use regs::uart_bridge::{REPLY_SYNC, STATUS_BAD_CHECKSUM};
use regs::{block, csr, dmac, nic as hw, sys};
use sim::board::{Board, BoardPort};

/// The reset is held for 18 cycles after power-up: wait that out.
fn powered_up() -> (Board, UartDevice<BoardPort>) {
    let board = Board::new();
    let mut dev = board.device();
    assert_ne!(board.led() & 0x80, 0, "LED 7: reset is held at power-up");
    dev.advance(100);
    assert_eq!(board.led() & 0x80, 0, "reset released");
    (board, dev)
}

fn small_ram(dev: &mut dyn Device) -> (PageAllocator, Dma) {
    let mut mm = PageAllocator::from_device_with_unit(dev, 256).expect("allocator");
    let dma = Dma::init(
        dev,
        &mut mm,
        DmaConfig {
            policy: IommuPolicy::Off,
            ..DmaConfig::default()
        },
    )
    .expect("DMA layer");
    (mm, dma)
}

#[test]
fn the_board_identifies_itself_and_its_build_over_the_uart() {
    let (board, mut dev) = powered_up();
    let sysr = |r| csr(block::SYS, r);
    assert_eq!(dev.read32(sysr(sys::ID)), sys::ID_VALUE);
    assert_eq!(dev.read32(sysr(sys::VERSION)), sys::VERSION_VALUE);
    assert_eq!(dev.read32(sysr(sys::RAM_BYTES)), ALCHITRY_CU.soc.bytes());
    assert_eq!(
        dev.read32(csr(block::NIC, hw::TXFIFO_BYTES)),
        ALCHITRY_CU.soc.nic_fifo_bytes()
    );
    // Channel 1 is not built on this board: its window reads 0.
    assert_eq!(ALCHITRY_CU.soc.dma_channels, 1);
    let ch1 = dmac::channel_block(1);
    assert_eq!(dev.read32(csr(ch1, dmac::STATUS)), 0);
    dev.write32(sysr(sys::SCRATCH), 0x1234_5678);
    assert_eq!(dev.read32(sysr(sys::SCRATCH)), 0x1234_5678);
    // Bursts: the whole RAM written and read back.
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let words = (ALCHITRY_CU.soc.bytes() / 4) as usize;
    let data: Vec<u32> = (0..words).map(|_| rng.gen()).collect();
    dev.write_words(0, &data);
    let mut back = vec![0u32; words];
    dev.read_words(0, &mut back);
    assert_eq!(back, data);
    assert_eq!(dev.retries(), 0);
    assert_eq!(board.host_framing_errors(), 0);
}

#[test]
fn a_corrupted_frame_is_answered_bad_checksum_and_not_executed() {
    let (board, mut dev) = powered_up();
    let scratch = csr(block::SYS, sys::SCRATCH);
    dev.write32(scratch, 7);
    let mut frame = encode_write32(scratch, 0xDEAD_BEEF, 0xF);
    frame[4] ^= 0x10; // one bit of the address flips on the line
    let mut port = board.port();
    port.write_all(&frame).unwrap();
    let mut reply = [0u8; 3];
    port.read_exact(&mut reply).unwrap();
    assert_eq!(reply[..2], [REPLY_SYNC, STATUS_BAD_CHECKSUM]);
    assert_eq!(dev.read32(scratch), 7, "nothing was written");
    assert_ne!(board.led() & 0x40, 0, "LED 6: bridge error (sticky)");
    board.press_reset(50);
    assert_eq!(board.led() & 0x40, 0, "the reset button clears it");
}

#[test]
fn memcpy_through_the_bridge_copies_exactly_and_touches_nothing_else() {
    let (_board, mut dev) = powered_up();
    let (mut mm, _dma) = small_ram(&mut dev);
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let ram_words = (ALCHITRY_CU.soc.bytes() / 4) as usize;
    let before: Vec<u32> = (0..ram_words).map(|_| rng.gen()).collect();
    dev.write_words(0, &before);
    let src = mm.alloc_bytes(2048).unwrap();
    let dst = mm.alloc_bytes(2048).unwrap();
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

fn nic_loopback(rmii: bool) {
    let (board, mut dev) = powered_up();
    board.set_rmii_loopback(rmii);
    let (mut mm, mut dma) = small_ram(&mut dev);
    let cfg = NicConfig {
        tx_descriptors: 8,
        rx_descriptors: 8,
        rx_buffer_bytes: 256,
        loopback: !rmii,
        timeout_cycles: 5_000_000,
        ..NicConfig::default()
    };
    let mut nic = Nic::open(&mut dev, &mut mm, &mut dma, cfg).expect("open");
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let tx0 = board.rmii_tx_cycles();
    let mut sent = vec![];
    let mut got = vec![];
    for len in [60usize, 64, 333, 1514, 100] {
        let mut f: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        f[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
        nic.xmit(&mut dev, &mut mm, &mut dma, &f).expect("xmit");
        sent.push(f);
        for _ in 0..200 {
            if got.len() == sent.len() {
                break;
            }
            dev.wait_irq(200_000);
            let res = nic.poll(&mut dev, &mut mm, &mut dma, 16);
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
    // Preamble, SFD, frame and FCS, 4 cycles (dibits) a byte: TX_EN for exactly those (the
    // MAC drives the pins in MAC loopback too, as the 8254x does).
    let wire_bytes: u64 = sent.iter().map(|f| 8 + f.len() as u64 + 4).sum();
    assert_eq!(board.rmii_tx_cycles() - tx0, 4 * wire_bytes);
    nic.close(&mut dev, &mut mm, &mut dma).expect("close");
}

#[test]
fn nic_frames_go_out_and_back_through_the_rmii_pins() {
    nic_loopback(true);
}

#[test]
fn nic_mac_loopback_through_the_bridge() {
    nic_loopback(false);
}
