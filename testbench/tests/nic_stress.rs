//! NIC stress test: random configurations and random traffic through the real driver on the
//! Verilator model, with every system-level check at once.
//!
//! Each seed draws the IOMMU policy (on or passthrough) and invalidation (strict or lazy),
//! the arbitration mode (burst with or
//! without a cap, cycle stealing with a bound or transparent) and a CPU bus load of 0..70 %,
//! then runs two sessions on one SoC, each with its own NIC configuration (ring sizes 8..64,
//! RX buffers 256..2048 bytes, strip CRC, pad, SBP, LPE, ITR and delay timers, TIPG; MAC
//! loopback or the PHY pins):
//!
//! 1. **Paced traffic**: `xmit` and `xmit_sg` of random lengths and segmentations and, on the
//!    PHY pins, injected frames (good, bad FCS, `rx_er`, runts, oversize, no SFD, random
//!    preamble lengths and gaps), with polls of random budgets in between. The traffic is
//!    paced so that nothing may be lost (at most 3 frames in flight to the RX ring, which
//!    fits the frame queue, the FIFO and the ring), so the check is strict: every frame the
//!    NIC should deliver arrives once, in order, byte-exact, with exactly the expected error
//!    bits (bad frames only with SBP, never as good) and descriptor count; every TX frame
//!    appears on the pins byte-exact with its FCS and at least the gap; the statistics
//!    registers (CRCERRS, RUC, ROC, RXERRC, MPC, GPRC, GORC, GPTC, GOTC, TPR) equal what was
//!    sent.
//! 2. **Overload** (some sessions): a burst the rings cannot hold, nobody polling; what arrives
//!    is an in-order, byte-exact subsequence of what was sent, and the rest is MPC.
//! 3. **Close with frames in flight**: `close` succeeds, no mapping is left, and the NIC does
//!    not touch memory afterwards; the second session reopens the NIC on the same SoC.
//!
//! Throughout, the shadow-memory invariant (docs/verification.md, "1. Shadow memory"),
//! stricter than in `nic.rs`: each NIC bus beat lands in a range the driver had mapped for that
//! direction *at that cycle* (from the start of the driver call that mapped it to the end of the
//! one that unmapped it).
//!
//! Register abuse in the paced phase: a TDT or RDT write outside the ring (refused by the NIC:
//! nothing is lost or sent twice, and the next poll reports `RINGERR`), and a `DDTP` rewrite
//! with its own value (every cached translation flushed, walks in flight restarted) while the
//! NIC moves frames. Seeds, sizes and the mix come from the environment (`soak` crate: the
//! default is seeds 0..16; `DMANIC_SOAK_MIX=hostile` makes most PHY frames bad and abuses the
//! registers often); each seed reports what it checked.

use driver::arb::{self, ArbMode};
use driver::dma::{Dma, DmaConfig, Invalidation, IommuPolicy, PhysRange};
use driver::iommu::DeviceId;
use driver::nic::{HwStats, Nic, NicConfig, NicError, RxFrame};
use driver::Device;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use regs::nic::{self as hw, rx_desc};
use sim::{DmaBeat, PhySample, Soc};
use soak::{Suite, Tally};
use std::collections::VecDeque;
use testbench::frames::{with_fcs, FrameGen, FrameScoreboard};
use testbench::phy::{self, encode_rx, FcsMode, RxFrameSpec, TxSample};
use testbench::{cpu_load, iommu_writable, soc_with_dma};

/// Frames (and their FIFO bytes) that may be on their way to the RX ring in the paced phase:
/// fewer than the 4-entry frame queue, and room left in the 16 KiB FIFO for one more frame
/// being received.
const MAX_IN_FLIGHT: usize = 3;
const MAX_IN_FLIGHT_BYTES: usize = 10 * 1024;
const CYCLE_BUDGET: u64 = 3_000_000;

// ---- the rig: driver calls bracketed by mapping snapshots --------------------------------------

/// A range the driver had mapped for the NIC, from `from` to `to` (cycles, inclusive).
struct Window {
    range: PhysRange,
    from: u64,
    to: u64,
}

struct Rig {
    soc: Soc,
    dma: Dma,
    nic: Option<Nic>,
    /// Ranges live at the last snapshot.
    live: Vec<PhysRange>,
    windows: Vec<Window>,
    call_start: u64,
    tx_pins: Vec<TxSample>,
    /// Cycle of the last NIC beat checked (beats after a close must not exist).
    closed_at: Option<u64>,
    /// `RINGERR` bits a refused register write raised that the next poll must report.
    ring_errors_due: u32,
    tally: Tally,
    /// Everything the run showed outside the SoC, for the clock-gating comparison.
    seen: Seen,
}

/// What a run showed outside the SoC: every bus beat of the DMA side and every TX pin sample,
/// in order, as the harness logged them.
#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    beats: Vec<DmaBeat>,
    pins: Vec<PhySample>,
    cycles: u64,
}

impl Rig {
    fn new(
        policy: IommuPolicy,
        invalidation: Invalidation,
        mode: ArbMode,
        load: u32,
        seed: u64,
        clock_gating: bool,
    ) -> Rig {
        let (mut soc, dma) = soc_with_dma(DmaConfig {
            policy,
            invalidation,
            ..DmaConfig::default()
        });
        // Before the first cycle that matters: soc_with_dma has only set up memory and the
        // IOMMU, which gating or not does the same.
        soc.set_clock_gating(clock_gating);
        arb::set_mode(&mut soc, mode);
        if load > 0 {
            soc.set_cpu_workload(cpu_load(load, seed as u32 + 1));
        }
        soc.set_dma_log(true);
        soc.set_phy_tx_log(true);
        Rig {
            soc,
            dma,
            nic: None,
            live: vec![],
            windows: vec![],
            call_start: 0,
            tx_pins: vec![],
            closed_at: None,
            ring_errors_due: 0,
            tally: Tally::default(),
            seen: Seen::default(),
        }
    }

    fn begin(&mut self) {
        self.call_start = self.soc.now();
    }

    /// Opens and closes the windows of the ranges that appeared or went away in the call.
    fn end(&mut self) {
        let now = self.soc.now();
        let mut cur = self.dma.allowed_ranges(DeviceId::NIC);
        let mut still = vec![];
        for r in std::mem::take(&mut self.live) {
            if let Some(i) = cur.iter().position(|c| *c == r) {
                still.push(cur.swap_remove(i));
            } else {
                let w = self
                    .windows
                    .iter()
                    .rposition(|w| w.range == r && w.to == u64::MAX)
                    .expect("an open window");
                self.windows[w].to = now;
            }
        }
        for r in cur {
            self.windows.push(Window {
                range: r,
                from: self.call_start,
                to: u64::MAX,
            });
            still.push(r);
        }
        self.live = still;
    }

    fn nic(&mut self) -> &mut Nic {
        self.nic.as_mut().expect("open NIC")
    }

    fn open(&mut self, cfg: NicConfig) {
        self.begin();
        let nic = Nic::open(&mut self.soc, &mut self.dma, cfg).expect("open");
        self.nic = Some(nic);
        self.closed_at = None;
        self.end();
    }

    fn xmit_sg(&mut self, segs: &[&[u8]]) -> Result<(), NicError> {
        self.begin();
        let nic = self.nic.as_mut().expect("open NIC");
        let r = nic.xmit_sg(&mut self.soc, &mut self.dma, segs);
        self.end();
        r
    }

    fn poll(&mut self, budget: usize) -> Vec<RxFrame> {
        self.begin();
        let nic = self.nic.as_mut().expect("open NIC");
        let r = nic.poll(&mut self.soc, &mut self.dma, budget);
        self.end();
        let mut errors = r.errors;
        if self.ring_errors_due != 0 {
            // The refused writes of the abuse, reported once each by ICR.RING.
            let want = NicError::RingRegister {
                bits: self.ring_errors_due,
            };
            if let Some(i) = errors.iter().position(|e| *e == want) {
                errors.remove(i);
                self.ring_errors_due = 0;
                self.tally.add("ring_register_errors_reported", 1);
            }
        }
        assert!(errors.is_empty(), "poll errors: {errors:?}");
        r.frames
    }

    fn hw_stats(&mut self) -> HwStats {
        let soc = &mut self.soc;
        self.nic.as_mut().expect("open NIC").stats(soc).hw
    }

    fn close(&mut self) {
        self.begin();
        let mut nic = self.nic.take().expect("open NIC");
        let r = nic.close(&mut self.soc, &mut self.dma);
        self.end();
        r.unwrap_or_else(|e| panic!("close: {e}"));
        assert_eq!(self.dma.live_mappings(DeviceId::NIC), vec![]);
        assert!(self.live.is_empty());
        self.closed_at = Some(self.soc.now());
        // The close resets the NIC, RINGERR with it.
        self.ring_errors_due = 0;
        self.check_shadow();
    }

    fn phy_send(&mut self, specs: &[RxFrameSpec]) {
        let syms: Vec<u16> = encode_rx(specs)
            .iter()
            .map(|s| s.data as u16 | (s.dv as u16) << 8 | (s.er as u16) << 9)
            .collect();
        self.soc.phy_rx_push(&syms);
    }

    fn take_tx_frames(&mut self) -> Vec<phy::TxFrameSeen> {
        self.collect_pins();
        let samples = std::mem::take(&mut self.tx_pins);
        phy::decode_tx(&samples).expect("TX pins decode")
    }

    fn collect_pins(&mut self) {
        let log = self.soc.take_phy_tx_log();
        self.seen.pins.extend_from_slice(&log);
        self.tx_pins.extend(log.into_iter().map(|s| TxSample {
            cycle: s.cycle,
            data: s.data,
            en: s.en,
            er: s.er,
        }));
    }

    /// Runs until the TX pins have been quiet for a frame's time.
    fn tx_quiet(&mut self) {
        let start = self.soc.now();
        loop {
            self.soc.run(2_000);
            self.collect_pins();
            let last = self.tx_pins.last().map_or(0, |s| s.cycle);
            if self.soc.now() - last > 20_000 {
                return;
            }
            assert!(
                self.soc.now() - start < CYCLE_BUDGET,
                "TX pins never went quiet"
            );
        }
    }

    /// The shadow-memory check (docs/verification.md, "1. Shadow memory") over every DMA-side
    /// beat since the last call, against the windows.
    fn check_shadow(&mut self) {
        let beats = self.soc.take_dma_log();
        self.seen.beats.extend_from_slice(&beats);
        let iommu_writable = iommu_writable(&mut self.soc);
        let mut errors = vec![];
        for b in &beats {
            if b.iommu {
                if b.we && !iommu_writable.iter().any(|r| r.contains(&b.pa)) {
                    errors.push(format!("cycle {}: IOMMU wrote {:#x}", b.cycle, b.pa));
                }
                continue;
            }
            if b.dev as u32 != regs::iommu::DEVICE_NIC {
                errors.push(format!("cycle {}: beat of device {}", b.cycle, b.dev));
                continue;
            }
            if let Some(t) = self.closed_at.filter(|&t| b.cycle > t) {
                errors.push(format!(
                    "cycle {}: NIC beat at {:#x} after the close at cycle {t}",
                    b.cycle, b.pa
                ));
                continue;
            }
            let ok = self.windows.iter().any(|w| {
                w.range.contains(b.pa)
                    && (w.from..=w.to).contains(&b.cycle)
                    && if b.we { w.range.write } else { w.range.read }
            });
            if !ok {
                errors.push(format!(
                    "cycle {}: NIC {} {:#010x} (IOVA {:#010x}) outside every buffer mapped for \
                     it at that cycle",
                    b.cycle,
                    if b.we { "wrote" } else { "read" },
                    b.pa,
                    b.iova
                ));
            }
        }
        errors.truncate(20);
        assert!(errors.is_empty(), "shadow memory:\n{}", errors.join("\n"));
        self.tally.add("dma_beats_checked", beats.len() as u64);
    }
}

// ---- what the NIC should do with each frame -----------------------------------------------------

/// A frame the NIC should write to the RX ring.
#[derive(Debug)]
struct Delivery {
    data: Vec<u8>,
    errors: u8,
    descriptors: usize,
    /// Bytes it takes in the RX FIFO (FCS included).
    fifo_bytes: usize,
}

/// The statistics the paced phase predicts.
#[derive(Debug, Default, PartialEq, Eq)]
struct Expected {
    crc_errors: u64,
    runts: u64,
    oversize: u64,
    rx_errors: u64,
    missed: u64,
    good_rx_packets: u64,
    good_rx_octets: u64,
    total_rx_packets: u64,
    good_tx_packets: u64,
    good_tx_octets: u64,
}

impl Expected {
    fn from_hw(h: &HwStats) -> Expected {
        Expected {
            crc_errors: h.crc_errors,
            runts: h.runts,
            oversize: h.oversize,
            rx_errors: h.rx_errors,
            missed: h.missed,
            good_rx_packets: h.good_rx_packets,
            good_rx_octets: h.good_rx_octets,
            total_rx_packets: h.total_rx_packets,
            good_tx_packets: h.good_tx_packets,
            good_tx_octets: h.good_tx_octets,
        }
    }

    fn minus(&self, base: &Expected) -> Expected {
        Expected {
            crc_errors: self.crc_errors - base.crc_errors,
            runts: self.runts - base.runts,
            oversize: self.oversize - base.oversize,
            rx_errors: self.rx_errors - base.rx_errors,
            missed: self.missed - base.missed,
            good_rx_packets: self.good_rx_packets - base.good_rx_packets,
            good_rx_octets: self.good_rx_octets - base.good_rx_octets,
            total_rx_packets: self.total_rx_packets - base.total_rx_packets,
            good_tx_packets: self.good_tx_packets - base.good_tx_packets,
            good_tx_octets: self.good_tx_octets - base.good_tx_octets,
        }
    }
}

/// One session's traffic bookkeeping.
struct Traffic {
    cfg: NicConfig,
    /// Frames the NIC will deliver, oldest first.
    pending: VecDeque<Delivery>,
    good: FrameScoreboard,
    /// TX frames as they must appear after the SFD, in `xmit` order.
    tx_wire: Vec<Vec<u8>>,
    expected: Expected,
    delivered: usize,
}

impl Traffic {
    fn new(cfg: NicConfig) -> Traffic {
        Traffic {
            cfg,
            pending: VecDeque::new(),
            good: FrameScoreboard::new(),
            tx_wire: vec![],
            expected: Expected::default(),
            delivered: 0,
        }
    }

    fn max_frame(&self) -> usize {
        if self.cfg.long_packets {
            hw::MAX_LONG_FRAME.min(16 * 1024) as usize
        } else {
            hw::MAX_FRAME as usize
        }
    }

    /// What the MAC and the RX engine make of `wire` (the bytes after the SFD, FCS
    /// included): counts it, and returns the delivery if it reaches the ring.
    fn classify(&mut self, wire: &[u8], fcs_good: bool, rx_er: bool) -> Option<Delivery> {
        let len = wire.len();
        let mut errors = 0u8;
        self.expected.total_rx_packets += 1;
        if !fcs_good {
            errors |= rx_desc::ERR_CE as u8;
            self.expected.crc_errors += 1;
        }
        if len < hw::MIN_FRAME as usize {
            errors |= rx_desc::ERR_LEN as u8;
            self.expected.runts += 1;
        }
        if len > self.max_frame() {
            errors |= rx_desc::ERR_LEN as u8;
            self.expected.oversize += 1;
        }
        if rx_er {
            errors |= rx_desc::ERR_RXE as u8;
            self.expected.rx_errors += 1;
        }
        if errors != 0 && !self.cfg.store_bad_packets {
            return None;
        }
        if errors == 0 {
            self.expected.good_rx_packets += 1;
            self.expected.good_rx_octets += len as u64;
        }
        let data = if self.cfg.strip_crc {
            wire[..len.saturating_sub(4)].to_vec()
        } else {
            wire.to_vec()
        };
        let descriptors = data
            .len()
            .div_ceil(self.cfg.rx_buffer_bytes as usize)
            .max(1);
        Some(Delivery {
            data,
            errors,
            descriptors,
            fifo_bytes: len,
        })
    }

    fn in_flight_bytes(&self) -> usize {
        self.pending.iter().map(|d| d.fifo_bytes).sum()
    }

    fn in_flight_descriptors(&self) -> usize {
        self.pending.iter().map(|d| d.descriptors).sum()
    }

    /// Whether `more` deliveries may be sent now without anything being dropped.
    fn room_for(&self, more: &[Delivery]) -> bool {
        if self.pending.is_empty() && more.len() <= 1 {
            return true;
        }
        let frames = self.pending.len() + more.len();
        let bytes = self.in_flight_bytes() + more.iter().map(|d| d.fifo_bytes).sum::<usize>();
        let descs =
            self.in_flight_descriptors() + more.iter().map(|d| d.descriptors).sum::<usize>();
        frames <= MAX_IN_FLIGHT && bytes <= MAX_IN_FLIGHT_BYTES && descs < self.cfg.rx_descriptors
    }

    /// Checks frames returned by a poll against the oldest pending deliveries.
    fn received(&mut self, got: Vec<RxFrame>) {
        for f in got {
            let n = self.delivered;
            self.delivered += 1;
            if f.is_good() {
                if let Err(m) = self.good.offer(&f.data) {
                    panic!("received frame #{n}: {m}");
                }
            }
            let want = self
                .pending
                .pop_front()
                .unwrap_or_else(|| panic!("received frame #{n} that nothing should have sent"));
            assert!(
                f.data == want.data,
                "received frame #{n}: {} bytes, errors {:#x}, want {} bytes, errors {:#x}",
                f.data.len(),
                f.errors,
                want.data.len(),
                want.errors
            );
            assert_eq!(f.errors, want.errors, "received frame #{n}: error bits");
            assert_eq!(
                f.descriptors, want.descriptors,
                "received frame #{n}: descriptors"
            );
        }
    }

    fn expect(&mut self, d: Delivery) {
        if d.errors == 0 {
            self.good.expect(d.data.clone());
        }
        self.pending.push_back(d);
    }
}

// ---- configurations and frames -----------------------------------------------------------------

fn draw_config(rng: &mut StdRng, loopback: bool) -> NicConfig {
    let ring = |rng: &mut StdRng| 8 * rng.gen_range(1..=8usize);
    NicConfig {
        tx_descriptors: ring(rng),
        rx_descriptors: ring(rng),
        rx_buffer_bytes: [256, 512, 1024, 2048][rng.gen_range(0..4)],
        itr: [0, 0, 4, 16, 64][rng.gen_range(0..5)],
        rdtr: [0, 0, 2][rng.gen_range(0..3)],
        radv: [0, 8][rng.gen_range(0..2)],
        tidv: [0, 8][rng.gen_range(0..2)],
        tadv: [0, 32][rng.gen_range(0..2)],
        loopback,
        store_bad_packets: rng.gen_bool(0.5),
        long_packets: rng.gen_bool(0.25),
        strip_crc: rng.gen_bool(0.5),
        pad_short: rng.gen_bool(0.5),
        ipg: [0, 12, 12, 13, 20][rng.gen_range(0..5)],
        ..NicConfig::default()
    }
}

fn draw_mode(rng: &mut StdRng) -> ArbMode {
    match rng.gen_range(0..4) {
        0 => ArbMode::Burst { cap: 0 },
        1 => ArbMode::Burst {
            cap: rng.gen_range(1..=32),
        },
        2 => ArbMode::CycleSteal {
            bound: Some(rng.gen_range(1..=16)),
        },
        _ => ArbMode::CycleSteal { bound: None },
    }
}

/// A frame length for `xmit`: mostly normal, some short (padded or runts), some jumbo.
fn tx_len(rng: &mut StdRng, t: &Traffic) -> usize {
    match rng.gen_range(0..10) {
        0 => rng.gen_range(1..60),
        1 if t.cfg.long_packets => rng.gen_range(1515..=3000),
        2 => 60,
        3 => 1514,
        _ => rng.gen_range(60..=1514),
    }
}

/// `frame` cut into 1..=4 non-empty segments.
fn segments(rng: &mut StdRng, frame: &[u8]) -> Vec<Vec<u8>> {
    let k = rng.gen_range(1..=4usize.min(frame.len()));
    let mut cuts: Vec<usize> = (1..frame.len()).collect();
    for i in 0..k - 1 {
        let j = rng.gen_range(i..cuts.len());
        cuts.swap(i, j);
    }
    let mut cuts: Vec<usize> = cuts[..k - 1].to_vec();
    cuts.sort_unstable();
    let mut out = vec![];
    let mut at = 0;
    for c in cuts.into_iter().chain([frame.len()]) {
        out.push(frame[at..c].to_vec());
        at = c;
    }
    out
}

/// What `xmit` of `frame` puts after the SFD.
fn tx_wire(cfg: &NicConfig, frame: &[u8]) -> Vec<u8> {
    let mut f = frame.to_vec();
    if cfg.pad_short && f.len() < hw::MIN_FRAME_NO_FCS as usize {
        f.resize(hw::MIN_FRAME_NO_FCS as usize, 0);
    }
    with_fcs(&f)
}

/// A random frame for the PHY RX pins and what the MAC sees of it: (spec, FCS good, rx_er,
/// is a frame at all, its kind for the tally). In the hostile mix five in six are bad.
fn phy_frame(
    rng: &mut StdRng,
    g: &mut FrameGen<StdRng>,
    t: &Traffic,
    hostile: bool,
) -> (RxFrameSpec, bool, bool, bool, &'static str) {
    let kind = rng.gen_range(0..if hostile { 6 } else { 12 });
    let mut spec = match kind {
        0 => {
            let mut s = RxFrameSpec::new(g.frame_in(60..=1514));
            s.fcs = FcsMode::Bad;
            s
        }
        1 => {
            let mut s = RxFrameSpec::new(g.frame_in(60..=1514));
            s.rx_er_at = Some(rng.gen_range(0..s.wire_bytes().len()));
            s
        }
        // Runts: fewer than 64 bytes with the FCS.
        2 => RxFrameSpec::new(g.frame_in(20..=59)),
        3 if !t.cfg.long_packets => RxFrameSpec::new(g.frame_in(1515..=1600)),
        3 => RxFrameSpec::new(g.frame_in(1515..=3000)),
        // Not a frame: a bad byte where the SFD should be.
        4 => {
            let mut s = RxFrameSpec::new(g.frame_in(60..=200));
            s.sfd = 0x54;
            s
        }
        _ => RxFrameSpec::new(g.frame_in(60..=1514)),
    };
    spec.preamble_bytes = rng.gen_range(1..=9);
    spec.gap_after = if rng.gen_bool(0.3) {
        rng.gen_range(1..12)
    } else {
        rng.gen_range(12..=40)
    };
    let fcs_good = spec.fcs == FcsMode::Good;
    let rx_er = spec.rx_er_at.is_some();
    let is_frame = spec.sfd == hw::SFD_BYTE;
    let name = match kind {
        0 => "rx_frames_bad_fcs",
        1 => "rx_frames_rx_er",
        2 => "rx_frames_runt",
        3 => "rx_frames_giant",
        4 => "rx_frames_no_sfd",
        _ => "rx_frames_good",
    };
    (spec, fcs_good, rx_er, is_frame, name)
}

// ---- the phases ------------------------------------------------------------------------------

/// Polls (waiting for interrupts in between) until every pending delivery arrived.
fn drain_rx(rig: &mut Rig, t: &mut Traffic, rng: &mut StdRng) {
    let start = rig.soc.now();
    while !t.pending.is_empty() || rig.soc.phy_rx_pending() > 0 {
        assert!(
            rig.soc.now() - start < CYCLE_BUDGET,
            "{} frames never arrived ({} received); {}",
            t.pending.len(),
            t.delivered,
            rig.soc.describe_state()
        );
        let budget = rng.gen_range(1..=64);
        let got = rig.poll(budget);
        t.received(got);
        rig.soc.wait_irq(3_000);
    }
}

/// Polls until the TX ring is empty and the pins quiet, then checks them against `tx_wire`.
fn drain_tx_and_check_pins(rig: &mut Rig, t: &mut Traffic, rng: &mut StdRng) {
    let start = rig.soc.now();
    while rig.nic().tx_ring().expect("TX ring").in_use() > 0 {
        assert!(
            rig.soc.now() - start < CYCLE_BUDGET,
            "TX ring never drained; {}",
            rig.soc.describe_state()
        );
        let got = rig.poll(64);
        t.received(got);
        rig.soc.run(rng.gen_range(100..3_000));
    }
    rig.tx_quiet();
    let seen = rig.take_tx_frames();
    let gap = t.cfg.ipg.max(hw::MIN_IFG_BYTES) as u64;
    phy::check_tx(&seen, gap).unwrap_or_else(|e| panic!("TX pins: {e}"));
    assert_eq!(seen.len(), t.tx_wire.len(), "frames on the TX pins");
    for (i, (s, w)) in seen.iter().zip(&t.tx_wire).enumerate() {
        assert!(
            s.bytes_after_sfd == *w,
            "TX frame #{i}: {} bytes on the pins, want {} (first difference at byte {:?}, \
             the frame started in cycle {})",
            s.bytes_after_sfd.len(),
            w.len(),
            s.bytes_after_sfd.iter().zip(w).position(|(a, b)| a != b),
            s.start_cycle
        );
    }
    t.tx_wire.clear();
}

/// A register write software must never make, while frames move: a TDT or RDT outside the
/// ring (the NIC ignores it and reports it), or a `DDTP` rewrite with its own value (the
/// IOMMU flushes every cached translation and restarts walks in flight). Neither may change
/// what the traffic checks expect.
fn abuse_registers(rig: &mut Rig, rng: &mut StdRng) {
    use regs::{block, csr, iommu};
    let reg = |offset| csr(block::NIC, offset);
    match rng.gen_range(0..3) {
        0 | 1 => {
            let (offset, bit) = if rng.gen_bool(0.5) {
                (hw::TDT, hw::ringerr::TDT)
            } else {
                (hw::RDT, hw::ringerr::RDT)
            };
            let len = if offset == hw::TDT {
                hw::TDLEN
            } else {
                hw::RDLEN
            };
            let count = rig.soc.read32(reg(len)) / hw::DESC_BYTES;
            let before = rig.soc.read32(reg(offset));
            let value = count + rng.gen_range(0..=1_000u32.min(u32::MAX - count));
            rig.soc.write32(reg(offset), value);
            assert_eq!(
                rig.soc.read32(reg(offset)),
                before,
                "a tail outside the ring is refused"
            );
            rig.ring_errors_due |= bit;
            rig.tally.add("ring_writes_refused", 1);
        }
        _ => {
            let ddtp = csr(block::IOMMU, iommu::DDTP);
            let v = rig.soc.read32(ddtp);
            rig.soc.write32(ddtp, v);
            rig.tally.add("ddtp_rewrites", 1);
        }
    }
}

fn paced_phase(
    rig: &mut Rig,
    t: &mut Traffic,
    rng: &mut StdRng,
    g: &mut FrameGen<StdRng>,
    hostile: bool,
) {
    let base = Expected::from_hw(&rig.hw_stats());
    let ops = rng.gen_range(40..80);
    let abuse_p = if hostile { 0.15 } else { 0.03 };
    for _ in 0..ops {
        if rng.gen_bool(abuse_p) {
            abuse_registers(rig, rng);
        }
        match rng.gen_range(0..10) {
            0..=3 => {
                let frame = g.frame(tx_len(rng, t));
                let wire = tx_wire(&t.cfg, &frame);
                // In loopback the frame comes back: only if nothing can be dropped.
                let mut probe = Traffic::new(t.cfg);
                let d = probe.classify(&wire, true, false);
                if t.cfg.loopback && !t.room_for(d.as_slice()) {
                    t.received(rig.poll(64));
                    continue;
                }
                let segs = segments(rng, &frame);
                let refs: Vec<&[u8]> = segs.iter().map(|s| s.as_slice()).collect();
                match rig.xmit_sg(&refs) {
                    Ok(()) => {
                        rig.tally.add("tx_frames", 1);
                        t.expected.good_tx_packets += 1;
                        t.expected.good_tx_octets += wire.len() as u64;
                        if t.cfg.loopback {
                            if let Some(d) = t.classify(&wire, true, false) {
                                t.expect(d);
                            }
                        }
                        t.tx_wire.push(wire);
                    }
                    Err(NicError::RingFull { .. }) => t.received(rig.poll(64)),
                    Err(e) => panic!("xmit_sg of {} bytes: {e}", frame.len()),
                }
            }
            4..=6 if !t.cfg.loopback => {
                let n = rng.gen_range(1..=3);
                let mut specs = vec![];
                let mut deliveries = vec![];
                let mut counted = Traffic::new(t.cfg);
                let mut kinds = vec![];
                for _ in 0..n {
                    let (spec, fcs_good, rx_er, is_frame, kind) = phy_frame(rng, g, t, hostile);
                    kinds.push(kind);
                    if is_frame {
                        if let Some(d) = counted.classify(&spec.wire_bytes(), fcs_good, rx_er) {
                            deliveries.push(d);
                        }
                    }
                    specs.push(spec);
                }
                if !t.room_for(&deliveries) {
                    t.received(rig.poll(64));
                    continue;
                }
                for kind in kinds {
                    rig.tally.add(kind, 1);
                }
                for (k, v) in [
                    (&mut t.expected.crc_errors, counted.expected.crc_errors),
                    (&mut t.expected.runts, counted.expected.runts),
                    (&mut t.expected.oversize, counted.expected.oversize),
                    (&mut t.expected.rx_errors, counted.expected.rx_errors),
                    (
                        &mut t.expected.good_rx_packets,
                        counted.expected.good_rx_packets,
                    ),
                    (
                        &mut t.expected.good_rx_octets,
                        counted.expected.good_rx_octets,
                    ),
                    (
                        &mut t.expected.total_rx_packets,
                        counted.expected.total_rx_packets,
                    ),
                ] {
                    *k += v;
                }
                for d in deliveries {
                    t.expect(d);
                }
                rig.phy_send(&specs);
            }
            _ => {
                let budget = rng.gen_range(1..=64);
                let got = rig.poll(budget);
                t.received(got);
                if rng.gen_bool(0.5) {
                    rig.soc.wait_irq(rng.gen_range(1..4_000));
                }
            }
        }
        if rng.gen_bool(0.3) {
            rig.soc.run(rng.gen_range(1..1_500));
        }
    }
    drain_rx(rig, t, rng);
    drain_tx_and_check_pins(rig, t, rng);
    // Nothing else arrives.
    rig.soc.run(10_000);
    t.received(rig.poll(64));
    t.good.finish().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        rig.ring_errors_due, 0,
        "a refused ring write that no poll reported"
    );
    let got = Expected::from_hw(&rig.hw_stats()).minus(&base);
    assert_eq!(got, t.expected, "statistics registers");
    rig.tally
        .add("rx_frames_delivered_checked", t.delivered as u64);
    t.expected = Expected::default();
    t.good = FrameScoreboard::new();
    rig.check_shadow();
}

/// A burst nobody polls for: what arrives is an in-order, byte-exact subsequence of what was
/// sent; the rest is counted in MPC.
fn overload_phase(rig: &mut Rig, t: &mut Traffic, rng: &mut StdRng, g: &mut FrameGen<StdRng>) {
    let base = rig.hw_stats();
    let mut sent = vec![];
    if t.cfg.loopback {
        loop {
            let frame = g.frame_in(60..=1514);
            match rig.xmit_sg(&[&frame]) {
                Ok(()) => {
                    t.tx_wire.push(tx_wire(&t.cfg, &frame));
                    sent.push(frame);
                }
                Err(NicError::RingFull { .. }) => break,
                Err(e) => panic!("xmit: {e}"),
            }
        }
    } else {
        let specs: Vec<RxFrameSpec> = (0..rng.gen_range(24..48))
            .map(|_| RxFrameSpec::new(g.frame_in(60..=1514)))
            .collect();
        sent = specs.iter().map(|s| s.bytes.clone()).collect();
        rig.phy_send(&specs);
    }
    let want = |f: &Vec<u8>| {
        if t.cfg.strip_crc {
            f.clone()
        } else {
            with_fcs(f)
        }
    };
    let mut got = vec![];
    let start = rig.soc.now();
    let mut quiet = 0;
    while quiet < 3 {
        assert!(
            rig.soc.now() - start < CYCLE_BUDGET,
            "overload never drained"
        );
        rig.soc.run(5_000);
        let fs = rig.poll(64);
        let busy = !fs.is_empty()
            || rig.soc.phy_rx_pending() > 0
            || rig.nic().tx_ring().expect("TX ring").in_use() > 0;
        got.extend(fs);
        quiet = if busy { 0 } else { quiet + 1 };
    }
    let mut it = sent.iter();
    for (n, f) in got.iter().enumerate() {
        assert!(f.is_good(), "overload frame #{n}: errors {:#x}", f.errors);
        assert!(
            it.any(|s| want(s) == f.data),
            "overload frame #{n} ({} bytes) is corrupted, duplicated or out of order",
            f.data.len()
        );
    }
    let hw = rig.hw_stats();
    eprintln!(
        "  overload: {} sent, {} received, {} missed",
        sent.len(),
        got.len(),
        hw.missed - base.missed
    );
    assert_eq!(
        got.len() as u64 + (hw.missed - base.missed),
        sent.len() as u64,
        "every frame of the burst is received or counted missed"
    );
    drain_tx_and_check_pins(rig, t, rng);
    rig.check_shadow();
}

/// Frames in flight both ways (more than the RX ring holds, jumbo frames on TX), then
/// `close` at a random moment. Returns the frames still to come on the PHY RX pins when the
/// next session should open at once (`reopen_at_once`), else lets the wire go quiet.
fn close_in_flight(
    rig: &mut Rig,
    t: &mut Traffic,
    rng: &mut StdRng,
    g: &mut FrameGen<StdRng>,
    reopen_at_once: bool,
) -> Vec<Vec<u8>> {
    for _ in 0..rng.gen_range(1..=4) {
        let len = if rng.gen_bool(0.3) {
            rng.gen_range(3_000..=9_000)
        } else {
            tx_len(rng, t)
        };
        let frame = g.frame(len);
        match rig.xmit_sg(&[&frame]) {
            Ok(()) => t.tx_wire.push(tx_wire(&t.cfg, &frame)),
            Err(NicError::RingFull { .. }) => break,
            Err(e) => panic!("xmit: {e}"),
        }
    }
    let mut on_the_wire = vec![];
    if !t.cfg.loopback {
        let specs: Vec<RxFrameSpec> = (0..rng.gen_range(1..=t.cfg.rx_descriptors + 4))
            .map(|_| RxFrameSpec::new(g.frame_in(60..=1514)))
            .collect();
        on_the_wire = specs.iter().map(|s| s.bytes.clone()).collect();
        rig.phy_send(&specs);
    }
    rig.soc.run(rng.gen_range(0..20_000));
    rig.close();
    // A frame on the pins ends (or was cut) before the next one could start.
    loop {
        rig.soc.run(50);
        rig.collect_pins();
        if rig
            .tx_pins
            .last()
            .is_none_or(|s| s.cycle + 50 < rig.soc.now())
        {
            break;
        }
    }
    // What left the TX pins is the queued frames in order, the last one possibly cut short by
    // the close's reset.
    let seen = rig.take_tx_frames();
    assert!(seen.len() <= t.tx_wire.len(), "more TX frames than queued");
    for (i, (s, w)) in seen.iter().zip(&t.tx_wire).enumerate() {
        if i + 1 < seen.len() {
            assert!(s.preamble_ok && s.bytes_after_sfd == *w, "TX frame #{i}");
        } else {
            assert!(w.starts_with(&s.bytes_after_sfd), "last TX frame #{i}");
        }
    }
    t.tx_wire.clear();
    t.pending.clear();
    if reopen_at_once && rig.soc.phy_rx_pending() > 0 {
        return on_the_wire;
    }
    // The wire goes quiet; the NIC must not touch memory any more.
    while rig.soc.phy_rx_pending() > 0 {
        rig.soc.run(1_000);
    }
    rig.soc.run(30_000);
    rig.check_shadow();
    vec![]
}

/// Right after an `open` while the PHY still plays `left` (sent before the close): what the
/// new session receives of them is an in-order, byte-exact subsequence (a frame cut by the
/// open's reset or begun while RX was off is not delivered, nor anything made of it).
fn receive_leftovers(rig: &mut Rig, cfg: &NicConfig, left: &[Vec<u8>]) {
    let mut got = vec![];
    let start = rig.soc.now();
    let mut quiet = 0;
    while quiet < 3 {
        assert!(
            rig.soc.now() - start < CYCLE_BUDGET,
            "leftovers never drained"
        );
        rig.soc.run(5_000);
        let fs = rig.poll(64);
        let busy = !fs.is_empty() || rig.soc.phy_rx_pending() > 0;
        got.extend(fs);
        quiet = if busy { 0 } else { quiet + 1 };
    }
    let mut it = left.iter();
    for (n, f) in got.iter().enumerate() {
        let ok = f.is_good()
            && it.any(|l| {
                let want = if cfg.strip_crc {
                    l.clone()
                } else {
                    with_fcs(l)
                };
                want == f.data
            });
        assert!(
            ok,
            "frame #{n} after the reopen ({} bytes, errors {:#x}) is not one of the frames \
             sent before it, in order",
            f.data.len(),
            f.errors
        );
    }
    rig.check_shadow();
}

fn run_seed(seed: u64, tally: &mut Tally, hostile: bool) {
    run_seed_gated(seed, tally, hostile, true);
}

/// One seed with the SoC's clock gates on or off (`rtl::clock_gate`); what it showed.
fn run_seed_gated(seed: u64, tally: &mut Tally, hostile: bool, clock_gating: bool) -> Seen {
    let mut rng = StdRng::seed_from_u64(0x5EED_0000 + seed);
    let mut g = FrameGen::new(StdRng::seed_from_u64(seed));
    let policy = if rng.gen_bool(0.5) {
        IommuPolicy::On
    } else {
        IommuPolicy::Pt
    };
    let invalidation = if rng.gen_bool(0.5) {
        Invalidation::Strict
    } else {
        Invalidation::Lazy {
            flush_threshold: rng.gen_range(1..=32),
        }
    };
    let mode = draw_mode(&mut rng);
    let load = rng.gen_range(0..=70);
    let mut rig = Rig::new(policy, invalidation, mode, load, seed, clock_gating);
    let mut left = vec![];
    for session in 0..2 {
        let loopback = rng.gen_bool(0.5);
        let cfg = draw_config(&mut rng, loopback);
        eprintln!(
            "seed {seed} session {session}: {policy:?}, {invalidation:?}, {mode:?}, CPU {load} %, \
             {cfg:?}"
        );
        rig.open(cfg);
        receive_leftovers(&mut rig, &cfg, &left);
        let mut t = Traffic::new(cfg);
        paced_phase(&mut rig, &mut t, &mut rng, &mut g, hostile);
        if rng.gen_bool(0.5) {
            overload_phase(&mut rig, &mut t, &mut rng, &mut g);
            paced_phase(&mut rig, &mut t, &mut rng, &mut g, hostile);
        }
        let reopen_at_once = session == 0 && rng.gen_bool(0.5);
        left = close_in_flight(&mut rig, &mut t, &mut rng, &mut g, reopen_at_once);
        eprintln!(
            "  {} frames delivered, {} cycles",
            t.delivered,
            rig.soc.now()
        );
    }
    rig.collect_pins();
    rig.check_shadow();
    rig.tally.add("cycles", rig.soc.now());
    tally.merge(&rig.tally);
    rig.seen.cycles = rig.soc.now();
    rig.seen
}

/// The first index at which `a` and `b` differ.
fn first_difference<T: PartialEq>(a: &[T], b: &[T]) -> Option<usize> {
    a.iter().zip(b).position(|(x, y)| x != y)
}

/// The clock gates (`rtl::clock_gate`) stop the NIC's and the channels' clocks only in
/// cycles in which nothing in them would change: the same seeds with the gates off give the
/// same bus beats (each at the same cycle, with the same data), the same TX pins and the same
/// cycle count, through everything the suite does (interrupt moderation and delay timers,
/// MAC loopback, bad frames on the pins, register abuse, the IOMMU's walks, a CPU load, a
/// close with frames in flight and a reopen). Seed 1 draws passthrough, MAC loopback with ITR,
/// then the PHY pins with RDTR and TADV; seed 2 the IOMMU on, RADV, TIDV and ITR in the hostile
/// mix; all four a CPU load.
#[test]
fn clock_gating_changes_no_beat_no_pin_and_no_cycle() {
    for (seed, hostile) in [(0, false), (1, false), (2, true), (3, true)] {
        let runs: Vec<(Seen, Tally)> = [false, true]
            .into_iter()
            .map(|gating| {
                let mut tally = Tally::default();
                let seen = run_seed_gated(seed, &mut tally, hostile, gating);
                (seen, tally)
            })
            .collect();
        let ((off, off_tally), (on, on_tally)) = (&runs[0], &runs[1]);
        assert!(
            off.beats.len() > 1000 && off.pins.len() > 1000,
            "seed {seed}: too little traffic"
        );
        if let Some(i) = first_difference(&off.beats, &on.beats) {
            panic!(
                "seed {seed}: beat {i} differs: gating off {:?}, on {:?}",
                off.beats[i], on.beats[i]
            );
        }
        if let Some(i) = first_difference(&off.pins, &on.pins) {
            panic!(
                "seed {seed}: TX pin sample {i} differs: gating off {:?}, on {:?}",
                off.pins[i], on.pins[i]
            );
        }
        assert_eq!(
            (off.beats.len(), off.pins.len(), off.cycles),
            (on.beats.len(), on.pins.len(), on.cycles),
            "seed {seed}: beats, pin samples, cycles"
        );
        assert_eq!(off_tally, on_tally, "seed {seed}");
    }
}

/// The seeds of shard `shard` of 4 (the default plan is seeds 0..16, four per test, so that
/// the harness runs the shards in parallel).
fn shard(shard: u64, name: &'static str, repro: &'static str) {
    let suite = Suite::new(name, repro, 0..16);
    suite.run_shard(shard, 4, |seed, tally, hostile| {
        run_seed(seed, tally, hostile)
    });
}

#[test]
fn random_configurations_and_traffic_keep_every_invariant_shard_0() {
    shard(
        0,
        "nic_stress",
        "cargo test -p testbench --test nic_stress shard_0",
    );
}

#[test]
fn random_configurations_and_traffic_keep_every_invariant_shard_1() {
    shard(
        1,
        "nic_stress",
        "cargo test -p testbench --test nic_stress shard_1",
    );
}

#[test]
fn random_configurations_and_traffic_keep_every_invariant_shard_2() {
    shard(
        2,
        "nic_stress",
        "cargo test -p testbench --test nic_stress shard_2",
    );
}

#[test]
fn random_configurations_and_traffic_keep_every_invariant_shard_3() {
    shard(
        3,
        "nic_stress",
        "cargo test -p testbench --test nic_stress shard_3",
    );
}
