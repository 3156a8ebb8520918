//! The NIC's ring registers under hostile and broken writes (docs/nic.md, "Ring registers"):
//! TDLEN, TDT, TDH, RDLEN, RDT and RDH swept over edge values, written before and while frames
//! move through the MAC loopback, and unaligned ring bases. The rings are built with raw
//! register and memory writes (no driver: the point is what the hardware does with values a
//! driver would never write), the IOMMU is in Bare mode, so nothing but the NIC's own checks
//! stands between a bad value and memory.
//!
//! Every trial checks, from the bus pins and the registers:
//! * every NIC write lands in a descriptor slot software had handed over (its write-back
//!   words) or in that slot's RX buffer; no read leaves the rings and the TX buffers;
//! * no TX frame goes out more often than software queued it, and the engines come to rest
//!   (no bus traffic at the end of the run): never the endless re-send of a tail outside the
//!   ring;
//! * a refused write leaves the register as it was and is reported: its `RINGERR` bit,
//!   `RINGERRC` and `ICR.RING`.

use pretty_assertions::assert_eq;
use regs::nic::{self as hw, ctrl, icr, rctl, ringerr, rx_desc, tctl, tx_desc};
use regs::{block, csr};
use sim::{DmaBeat, Soc};
use testbench::new_soc;

const SLOTS: u32 = 8;
const TX_RING: u32 = 0x1_0000;
const RX_RING: u32 = 0x2_0000;
const TX_BUFS: u32 = 0x3_0000;
const RX_BUFS: u32 = 0x4_0000;
const BUF_BYTES: u32 = 2048;
const FRAME_BYTES: u32 = 200;
/// Frames queued on TX (slots 0..3) and RX buffers handed over (slots 0..4) at the start.
const TX_QUEUED: u32 = 3;
const RX_GIVEN: u32 = 4;
/// Cycles a trial runs after the write, and the quiet tail it must end with.
const RUN: u64 = 15_000;
const QUIET: u64 = 5_000;

fn reg(offset: u32) -> u32 {
    csr(block::NIC, offset)
}

/// A fresh SoC with both rings of `SLOTS` descriptors at `tx_base`/`rx_base`: every RX
/// descriptor has its buffer, every TX descriptor a 200-byte frame; RX given up to `RX_GIVEN`
/// and, with `start`, TX queued up to `TX_QUEUED`; MAC loopback, every interrupt cause
/// enabled.
fn rig(tx_base: u32, rx_base: u32, start: bool) -> Soc {
    let mut soc = new_soc();
    for slot in 0..SLOTS {
        let buf = TX_BUFS + slot * BUF_BYTES;
        let frame: Vec<u32> = (0..FRAME_BYTES / 4).map(|i| slot << 24 | i).collect();
        soc.host_write_block(buf, &frame);
        let cmd = tx_desc::CMD_EOP | tx_desc::CMD_IFCS | tx_desc::CMD_RS;
        soc.host_write_block(
            tx_base + 16 * slot,
            &[buf, 0, tx_desc::len_cmd(FRAME_BYTES, cmd), 0],
        );
        soc.host_write_block(rx_base + 16 * slot, &[RX_BUFS + slot * BUF_BYTES, 0, 0, 0]);
    }
    let w = |soc: &mut Soc, offset, value| soc.host_write(reg(offset), value, 0xF);
    w(&mut soc, hw::CTRL, ctrl::SLU);
    w(&mut soc, hw::TDBAL, tx_base);
    w(&mut soc, hw::TDLEN, SLOTS * 16);
    w(&mut soc, hw::RDBAL, rx_base);
    w(&mut soc, hw::RDLEN, SLOTS * 16);
    w(&mut soc, hw::IMS, icr::ALL);
    w(&mut soc, hw::RCTL, rctl::EN | rctl::LBM_MAC | rctl::SECRC);
    w(&mut soc, hw::TCTL, tctl::EN | tctl::PSP);
    w(&mut soc, hw::RDT, RX_GIVEN);
    soc.set_dma_log(true);
    if start {
        w(&mut soc, hw::TDT, TX_QUEUED);
    }
    soc
}

/// What a trial saw.
#[derive(Debug)]
struct Seen {
    beats: Vec<DmaBeat>,
    /// The cycle the run ended.
    end: u64,
    /// TDT, TDH, RDT, RDH at the end.
    regs_end: [u32; 4],
    ringerr: u32,
    ringerrc: u32,
    icr: u32,
    /// Frames transmitted and received (TPT, GPRC), and RNBC.
    tpt: u32,
    gprc: u32,
    rnbc: u32,
}

fn observe(mut soc: Soc) -> Seen {
    soc.run(RUN);
    let beats = soc.take_dma_log();
    let end = soc.now();
    let mut r = |offset| soc.host_read(reg(offset));
    Seen {
        beats,
        end,
        regs_end: [r(hw::TDT), r(hw::TDH), r(hw::RDT), r(hw::RDH)],
        ringerr: r(hw::RINGERR),
        ringerrc: r(hw::RINGERRC),
        icr: r(hw::ICR),
        tpt: r(hw::TPT),
        gprc: r(hw::GPRC),
        rnbc: r(hw::RNBC),
    }
}

/// Slots `0..n` of a ring of `SLOTS` as byte ranges of their descriptors.
fn slots(base: u32, n: u32) -> std::ops::Range<u32> {
    base..base + 16 * n
}

/// The memory invariants: NIC writes only into handed-over RX descriptors and their buffers
/// and into TX descriptors software queued; reads only from the rings and TX buffers; and
/// quiet at the end.
fn check_memory(
    s: &Seen,
    tx_base: u32,
    rx_base: u32,
    tx_queued: u32,
    rx_given: u32,
) -> Result<(), String> {
    for b in &s.beats {
        let ok = if b.we {
            let in_tx = slots(tx_base, tx_queued).contains(&b.pa)
                && (b.pa - tx_base) % 16 == tx_desc::STA_WORD;
            let in_rx = slots(rx_base, rx_given).contains(&b.pa)
                && (b.pa - rx_base) % 16 >= rx_desc::LEN_CSUM;
            let in_buf = (0..rx_given).any(|slot| {
                let buf = RX_BUFS + slot * BUF_BYTES;
                (buf..buf + BUF_BYTES).contains(&b.pa)
            });
            in_tx || in_rx || in_buf
        } else {
            slots(tx_base, SLOTS).contains(&b.pa)
                || slots(rx_base, SLOTS).contains(&b.pa)
                || (TX_BUFS..TX_BUFS + SLOTS * BUF_BYTES).contains(&b.pa)
        };
        if !ok {
            return Err(format!(
                "cycle {}: NIC {} {:#x}",
                b.cycle,
                if b.we { "wrote" } else { "read" },
                b.pa
            ));
        }
    }
    if let Some(last) = s.beats.last().filter(|b| b.cycle + QUIET > s.end) {
        return Err(format!(
            "still moving data at cycle {} of {}: the engines never rest",
            last.cycle, s.end
        ));
    }
    Ok(())
}

/// The registers software may abuse, with what each does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Abused {
    Tdt,
    Tdh,
    Tdlen,
    Rdt,
    Rdh,
    Rdlen,
}

impl Abused {
    const ALL: [Abused; 6] = [
        Abused::Tdt,
        Abused::Tdh,
        Abused::Tdlen,
        Abused::Rdt,
        Abused::Rdh,
        Abused::Rdlen,
    ];

    fn offset(self) -> u32 {
        match self {
            Abused::Tdt => hw::TDT,
            Abused::Tdh => hw::TDH,
            Abused::Tdlen => hw::TDLEN,
            Abused::Rdt => hw::RDT,
            Abused::Rdh => hw::RDH,
            Abused::Rdlen => hw::RDLEN,
        }
    }

    fn bit(self) -> u32 {
        match self {
            Abused::Tdt => ringerr::TDT,
            Abused::Tdh => ringerr::TDH,
            Abused::Tdlen => ringerr::TDLEN,
            Abused::Rdt => ringerr::RDT,
            Abused::Rdh => ringerr::RDH,
            Abused::Rdlen => ringerr::RDLEN,
        }
    }

    fn is_length(self) -> bool {
        matches!(self, Abused::Tdlen | Abused::Rdlen)
    }
}

/// Edge values around a ring of `SLOTS` descriptors and around the register widths.
const INDEX_VALUES: [u32; 14] = [
    0,
    1,
    SLOTS - 1,
    SLOTS,
    SLOTS + 1,
    2 * SLOTS,
    0x7F,
    0x80,
    0xFFF,
    0xFFFF,
    0x1_0000,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
];
const LENGTH_VALUES: [u32; 11] = [
    0,
    16,
    0x70,
    0x7F,
    SLOTS * 16 - 1,
    SLOTS * 16 + 16,
    0x100,
    0x1000,
    0xFFFF,
    0x1_0000,
    0xFFFF_FFFF,
];

/// One write of `value` to `what`, `delay` cycles after the traffic started; then the
/// checks. The write is refused exactly when the value is outside the ring (index
/// registers), or flagged when it leaves a head or tail outside (lengths).
fn abuse(what: Abused, value: u32, delay: u64) {
    let mut soc = rig(TX_RING, RX_RING, true);
    soc.run(delay);
    // The ring's state just before the write decides what the hardware must do.
    let before = [hw::TDT, hw::TDH, hw::RDT, hw::RDH].map(|r| soc.host_read(reg(r)));
    soc.host_write(reg(what.offset()), value, 0xF);
    let after_write = soc.host_read(reg(what.offset()));
    let s = observe(soc);
    let ctx = format!("{what:?} = {value:#x} after {delay} cycles");
    let count = SLOTS; // the rings' length before the write
    let inside = value == 0 || value < count;
    let (expect_err, expect_kept) = if what.is_length() {
        let new_count = (value & !hw::RING_LEN_IGNORED) / 16;
        let (t, h) = if what == Abused::Tdlen {
            (before[0], before[1])
        } else {
            (before[2], before[3])
        };
        let outside = |v: u32| v != 0 && v >= new_count;
        (outside(t) || outside(h), value & !hw::RING_LEN_IGNORED)
    } else {
        let old = match what {
            Abused::Tdt => before[0],
            Abused::Rdt => before[2],
            _ => u32::MAX, // heads read the engine, which moves
        };
        (!inside, if inside { value } else { old })
    };
    if what.is_length() || matches!(what, Abused::Tdt | Abused::Rdt) {
        assert_eq!(after_write, expect_kept, "{ctx}: read back");
    }
    let err = s.ringerr & what.bit() != 0;
    assert_eq!(err, expect_err, "{ctx}: RINGERR {:#x}", s.ringerr);
    assert_eq!(s.ringerrc, expect_err as u32, "{ctx}: RINGERRC");
    assert_eq!(s.icr & icr::RING != 0, expect_err, "{ctx}: ICR.RING");
    // What software handed over by the end: the queued TX slots and given RX slots, or, once
    // it moved a tail or a head to a valid value, any slot (software says it owns none).
    let tx_moved = matches!(what, Abused::Tdt | Abused::Tdh) && inside;
    let rx_moved = matches!(what, Abused::Rdt | Abused::Rdh) && inside;
    let tx_queued = if tx_moved { SLOTS } else { TX_QUEUED };
    let rx_given = if rx_moved { SLOTS } else { RX_GIVEN };
    check_memory(&s, TX_RING, RX_RING, tx_queued, rx_given)
        .unwrap_or_else(|e| panic!("{ctx}: {e}"));
    // A head moved back, or a tail moved round past it, sends frames again (software asked
    // for it): at most one more ring's worth.
    let max_sent = if tx_moved {
        TX_QUEUED + SLOTS
    } else {
        tx_queued
    };
    assert!(
        s.tpt <= max_sent,
        "{ctx}: {} frames sent, at most {max_sent}",
        s.tpt
    );
}

#[test]
fn ring_registers_swept_over_edge_values_never_run_away_or_write_outside_the_rings() {
    for what in Abused::ALL {
        let values: &[u32] = if what.is_length() {
            &LENGTH_VALUES
        } else {
            &INDEX_VALUES
        };
        for &value in values {
            for delay in [0, 400] {
                abuse(what, value, delay);
            }
        }
    }
}

#[test]
fn a_tail_beyond_the_ring_is_refused_so_a_queued_frame_goes_out_once() {
    // The reviewer's case: TDT = ring size made the engine wrap for ever (one frame was
    // re-sent 1,613 times).
    let mut soc = rig(TX_RING, RX_RING, true);
    soc.host_write(reg(hw::TDT), SLOTS, 0xF);
    let s = observe(soc);
    assert_eq!(s.regs_end[0], TX_QUEUED, "TDT kept");
    assert_eq!(s.tpt, TX_QUEUED);
    assert_eq!((s.ringerr, s.ringerrc), (ringerr::TDT, 1));
    check_memory(&s, TX_RING, RX_RING, TX_QUEUED, RX_GIVEN).unwrap();
}

#[test]
fn an_rx_tail_beyond_the_ring_never_lets_rx_fill_buffers_software_still_holds() {
    let mut soc = rig(TX_RING, RX_RING, false);
    soc.host_write(reg(hw::RDT), SLOTS + 2, 0xF);
    // Seven frames for four buffers: four delivered, the rest wait (RNBC).
    soc.host_write(reg(hw::TDT), SLOTS - 1, 0xF);
    let s = observe(soc);
    assert_eq!(s.regs_end[2], RX_GIVEN, "RDT kept");
    assert_eq!(s.gprc, RX_GIVEN, "RX stops at the tail");
    assert!(s.rnbc >= 1, "the frames that found no buffer are counted");
    check_memory(&s, TX_RING, RX_RING, SLOTS - 1, RX_GIVEN).unwrap();
}

#[test]
fn rdlen_0_with_frames_arriving_counts_rnbc() {
    let mut soc = rig(TX_RING, RX_RING, true);
    soc.host_write(reg(hw::RDT), 0, 0xF);
    soc.host_write(reg(hw::RDLEN), 0, 0xF);
    let s = observe(soc);
    assert_eq!(s.tpt, TX_QUEUED);
    assert_eq!(s.gprc, 0);
    assert_eq!(
        s.rnbc, 1,
        "the first frame waits for a descriptor, counted once"
    );
    check_memory(&s, TX_RING, RX_RING, TX_QUEUED, 0).unwrap();
}

#[test]
fn unaligned_ring_bases_ignore_bits_3_0_so_write_backs_stay_in_the_ring() {
    // The 8254x ignores TDBAL/RDBAL bits 3:0; an unaligned base once put the last slot's
    // write-back one word past the ring. Fill the whole TX ring (7 frames) so the last slot
    // is used.
    let mut soc = rig(TX_RING, RX_RING, false);
    soc.host_write(reg(hw::TDBAL), TX_RING + 4, 0xF);
    soc.host_write(reg(hw::RDBAL), RX_RING + 0xC, 0xF);
    assert_eq!(soc.host_read(reg(hw::TDBAL)), TX_RING);
    assert_eq!(soc.host_read(reg(hw::RDBAL)), RX_RING);
    soc.host_write(reg(hw::RDT), SLOTS - 1, 0xF);
    soc.host_write(reg(hw::TDT), SLOTS - 1, 0xF);
    let s = observe(soc);
    assert_eq!(s.tpt, SLOTS - 1);
    check_memory(&s, TX_RING, RX_RING, SLOTS - 1, SLOTS - 1).unwrap();
}

#[test]
fn context_and_extended_descriptors_are_dropped_as_malformed_never_sent() {
    // Linux's e1000 with TCP checksum offload on: a context descriptor (DEXT, DTYP 0, TUCMD
    // TCP|IP: TCP where a legacy EOP is; offload fields in its first words) and an extended
    // data descriptor (DEXT, DTYP 1, EOP) for one frame. This NIC does not do the offload:
    // the context is skipped, the frame dropped once (STA_ERR, TDEC), and the legacy frame
    // after it goes out alone.
    let mut soc = rig(TX_RING, RX_RING, false);
    let ext = tx_desc::CMD_DEXT | tx_desc::CMD_RS;
    let (tcp, ip) = (1 << 0, 1 << 1);
    soc.host_write_block(
        TX_RING,
        &[
            0x0022_0E0E,
            0x0036_0022,
            tx_desc::len_cmd(0, ext | tcp | ip),
            0,
        ],
    );
    soc.host_write_block(
        TX_RING + 16,
        &[
            TX_BUFS + BUF_BYTES,
            0,
            tx_desc::len_cmd(FRAME_BYTES, ext | tx_desc::CMD_EOP | tx_desc::CMD_IFCS) | 1 << 20,
            0,
        ],
    );
    soc.host_write(reg(hw::TDT), 3, 0xF);
    soc.run(RUN);
    let status = |soc: &mut Soc, slot: u32| soc.host_read(TX_RING + 16 * slot + 12) & 0xF;
    assert_eq!(
        status(&mut soc, 0),
        tx_desc::STA_DD,
        "context descriptor: skipped"
    );
    assert_eq!(
        status(&mut soc, 1),
        tx_desc::STA_DD | tx_desc::STA_ERR,
        "extended data descriptor: its frame dropped"
    );
    assert_eq!(
        status(&mut soc, 2),
        tx_desc::STA_DD,
        "the legacy frame after them"
    );
    assert_eq!(soc.host_read(reg(hw::TDEC)), 1, "one frame dropped");
    assert_eq!(
        soc.host_read(reg(hw::TPT)),
        1,
        "only the legacy frame was sent"
    );
    assert_eq!(
        soc.host_read(reg(hw::GPRC)),
        1,
        "and came back through the loopback"
    );
}
