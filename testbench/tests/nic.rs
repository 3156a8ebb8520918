//! NIC system tests: the e1000-style driver runs the NIC on the Verilator model, frames go
//! through the MAC (loopback or the PHY pins driven by the PHY model), and every test checks:
//! frames byte-exact against a scoreboard, the TX pins' framing and timing, the statistics
//! against what the testbench counted, and the shadow-memory invariant (docs/verification.md,
//! "1. Shadow memory"): every NIC bus beat lands in a buffer the driver had mapped for that
//! direction, and the IOMMU writes only its fault queue.

use driver::dma::{Dma, DmaConfig, IommuPolicy, PhysRange};
use driver::iommu::DeviceId;
use driver::nic::{Nic, NicConfig, NicError, RxFrame};
use driver::Device;
use pretty_assertions::assert_eq;
use rand::{Rng, SeedableRng};
use regs::nic::{self as hw, icr, rx_desc};
use regs::{block, csr};
use sim::Soc;
use testbench::frames::{fcs_ok, with_fcs, FrameGen, FrameScoreboard};
use testbench::phy::{self, encode_rx, FcsMode, RxFrameSpec, TxSample};
use testbench::{cpu_load, iommu_writable, soc_with_dma};

struct Rig {
    soc: Soc,
    dma: Dma,
    nic: Nic,
    /// Every range the driver had mapped for the NIC at some point (shadow memory).
    allowed: Vec<PhysRange>,
    tx_pins: Vec<TxSample>,
}

impl Rig {
    fn new(policy: IommuPolicy, cfg: NicConfig) -> Rig {
        let (mut soc, mut dma) = soc_with_dma(DmaConfig {
            policy,
            ..DmaConfig::default()
        });
        soc.set_dma_log(true);
        soc.set_phy_tx_log(true);
        let nic = Nic::open(&mut soc, &mut dma, cfg).expect("open");
        let mut rig = Rig {
            soc,
            dma,
            nic,
            allowed: vec![],
            tx_pins: vec![],
        };
        rig.snapshot();
        rig
    }

    fn loopback(cfg: NicConfig) -> Rig {
        Rig::new(
            IommuPolicy::On,
            NicConfig {
                loopback: true,
                ..cfg
            },
        )
    }

    fn snapshot(&mut self) {
        for r in self.dma.allowed_ranges(DeviceId::NIC) {
            if !self.allowed.contains(&r) {
                self.allowed.push(r);
            }
        }
    }

    fn xmit(&mut self, frame: &[u8]) -> Result<(), NicError> {
        let r = self.nic.xmit(&mut self.soc, &mut self.dma, frame);
        self.snapshot();
        r
    }

    fn xmit_sg(&mut self, segs: &[&[u8]]) -> Result<(), NicError> {
        let r = self.nic.xmit_sg(&mut self.soc, &mut self.dma, segs);
        self.snapshot();
        r
    }

    fn poll(&mut self, budget: usize) -> Vec<RxFrame> {
        self.snapshot();
        let r = self.nic.poll(&mut self.soc, &mut self.dma, budget);
        self.snapshot();
        assert!(r.errors.is_empty(), "poll errors: {:?}", r.errors);
        r.frames
    }

    /// Polls (waiting for the interrupt between polls) until `n` frames came back or
    /// `max_cycles` passed.
    fn receive(&mut self, n: usize, max_cycles: u64) -> Vec<RxFrame> {
        let start = self.soc.now();
        let mut got = vec![];
        while got.len() < n {
            assert!(
                self.soc.now() - start < max_cycles,
                "received {} of {n} frames in {max_cycles} cycles; {}",
                got.len(),
                self.soc.describe_state()
            );
            got.extend(self.poll(64));
            if got.len() < n {
                self.soc.wait_irq(2_000);
            }
        }
        got
    }

    /// Lets the wire go quiet: the PHY model has played everything and the TX pins have been
    /// idle for a while.
    fn drain(&mut self) {
        while self.soc.phy_rx_pending() > 0 {
            self.soc.run(1_000);
        }
        self.soc.run(4_000);
    }

    fn collect_tx_pins(&mut self) {
        self.tx_pins
            .extend(self.soc.take_phy_tx_log().into_iter().map(|s| TxSample {
                cycle: s.cycle,
                data: s.data,
                en: s.en,
                er: s.er,
            }));
    }

    fn tx_frames(&mut self) -> Vec<phy::TxFrameSeen> {
        self.collect_tx_pins();
        phy::decode_tx(&self.tx_pins).expect("TX pins decode")
    }

    fn phy_send(&mut self, specs: &[RxFrameSpec]) {
        let syms: Vec<u16> = encode_rx(specs)
            .iter()
            .map(|s| s.data as u16 | (s.dv as u16) << 8 | (s.er as u16) << 9)
            .collect();
        self.soc.phy_rx_push(&syms);
    }

    fn reg(&mut self, offset: u32) -> u32 {
        self.soc.read32(csr(block::NIC, offset))
    }

    /// The shadow-memory check (docs/verification.md, "1. Shadow memory") over every DMA-side
    /// beat since the last call.
    fn check_shadow(&mut self) {
        let beats = self.soc.take_dma_log();
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
            let ok = self
                .allowed
                .iter()
                .any(|r| r.contains(b.pa) && if b.we { r.write } else { r.read });
            if !ok {
                errors.push(format!(
                    "cycle {}: NIC {} {:#010x} (IOVA {:#010x}) outside every buffer mapped for it",
                    b.cycle,
                    if b.we { "wrote" } else { "read" },
                    b.pa,
                    b.iova
                ));
            }
        }
        assert!(errors.is_empty(), "shadow memory:\n{}", errors.join("\n"));
    }

    fn close(&mut self) {
        self.nic.close(&mut self.soc, &mut self.dma).expect("close");
        assert_eq!(self.dma.live_mappings(DeviceId::NIC), vec![]);
        self.check_shadow();
    }

    /// `close`, then `open` again with `cfg` on the same SoC (the driver reloaded).
    fn reopen(&mut self, cfg: NicConfig) {
        self.close();
        self.nic = Nic::open(&mut self.soc, &mut self.dma, cfg).expect("reopen");
        self.snapshot();
    }
}

fn frame_lengths(rng: &mut impl Rng, n: usize, lo: usize, hi: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).map(|_| rng.gen_range(lo..=hi)).collect();
    v[0] = lo;
    v[n - 1] = hi;
    v
}

/// Sends `frames` through the loopback, keeping the TX ring topped up, and returns what came
/// back.
fn loop_frames(rig: &mut Rig, frames: &[Vec<u8>]) -> Vec<RxFrame> {
    let mut got = vec![];
    let mut next = 0;
    let start = rig.soc.now();
    while got.len() < frames.len() {
        assert!(
            rig.soc.now() - start < 5_000_000,
            "{}",
            rig.soc.describe_state()
        );
        while next < frames.len() {
            match rig.xmit(&frames[next]) {
                Ok(()) => next += 1,
                Err(NicError::RingFull { .. }) => break,
                Err(e) => panic!("xmit: {e}"),
            }
        }
        got.extend(rig.poll(64));
        if got.len() < frames.len() {
            rig.soc.wait_irq(3_000);
        }
    }
    got
}

fn score(expected: &[Vec<u8>], got: &[RxFrame]) {
    let mut sb = FrameScoreboard::new();
    for f in expected {
        sb.expect(f.clone());
    }
    for f in got {
        assert!(f.is_good(), "frame with errors {:#x}", f.errors);
        let _ = sb.offer(&f.data);
    }
    sb.finish().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn loopback_random_frames_arrive_byte_exact_and_the_pins_show_ethernet_framing() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(41);
    let mut rig = Rig::loopback(NicConfig::default());
    let mut g = FrameGen::new(rand::rngs::StdRng::seed_from_u64(1));
    let frames: Vec<Vec<u8>> = frame_lengths(&mut rng, 40, 60, 1514)
        .into_iter()
        .map(|l| g.frame(l))
        .collect();
    let got = loop_frames(&mut rig, &frames);
    score(&frames, &got);
    rig.drain();
    let seen = rig.tx_frames();
    assert_eq!(seen.len(), frames.len());
    phy::check_tx(&seen, hw::MIN_IFG_BYTES as u64).expect("TX framing");
    for (s, f) in seen.iter().zip(&frames) {
        assert_eq!(s.bytes_after_sfd, with_fcs(f));
    }
    let st = rig.nic.stats(&mut rig.soc);
    assert_eq!(st.hw.good_tx_packets, frames.len() as u64);
    assert_eq!(st.hw.good_rx_packets, frames.len() as u64);
    let octets: u64 = frames.iter().map(|f| f.len() as u64 + 4).sum();
    assert_eq!(st.hw.good_tx_octets, octets);
    assert_eq!(st.hw.good_rx_octets, octets);
    assert_eq!((st.hw.crc_errors, st.hw.missed), (0, 0));
    rig.close();
}

#[test]
fn tx_fifo_pointers_wrap_past_64_kib_while_the_fifo_is_full_and_every_frame_goes_out_intact() {
    // 150 frames of 1514 bytes (220 KiB) queued faster than the wire takes them: the 16 KiB
    // TX FIFO stays full while its 16-bit write pointer wraps past 2^16 three times. The
    // free-space sum once ran at 32 bits in the Verilog (not in rust-hdl's simulator), so
    // after a wrap the FIFO looked empty and frames overwrote frames not yet sent (found by
    // the soak: 162 bytes of one frame replaced by the tail of a later one).
    let mut rig = Rig::new(
        IommuPolicy::On,
        NicConfig {
            tx_descriptors: 64,
            ..NicConfig::default()
        },
    );
    let mut g = FrameGen::new(rand::rngs::StdRng::seed_from_u64(64));
    let frames: Vec<Vec<u8>> = (0..150).map(|_| g.frame(1514)).collect();
    let mut next = 0;
    let start = rig.soc.now();
    while next < frames.len() {
        assert!(
            rig.soc.now() - start < 5_000_000,
            "{}",
            rig.soc.describe_state()
        );
        match rig.xmit(&frames[next]) {
            Ok(()) => next += 1,
            Err(NicError::RingFull { .. }) => {
                rig.soc.run(2_000);
                rig.poll(64);
            }
            Err(e) => panic!("xmit: {e}"),
        }
    }
    while rig.nic.tx_ring().expect("TX ring").in_use() > 0 {
        assert!(
            rig.soc.now() - start < 5_000_000,
            "{}",
            rig.soc.describe_state()
        );
        rig.soc.run(5_000);
        rig.poll(64);
    }
    // The FIFO still holds up to 16 KiB of frames whose descriptors are done.
    rig.soc.run(30_000);
    let seen = rig.tx_frames();
    assert_eq!(seen.len(), frames.len());
    for (i, (s, f)) in seen.iter().zip(&frames).enumerate() {
        assert!(
            s.bytes_after_sfd == with_fcs(f),
            "TX frame #{i} corrupted on the pins"
        );
    }
    rig.close();
}

#[test]
fn short_frames_are_padded_to_60_bytes_before_the_fcs() {
    let mut rig = Rig::loopback(NicConfig::default());
    let mut g = FrameGen::new(rand::rngs::StdRng::seed_from_u64(2));
    let f = g.frame(20);
    rig.xmit(&f).unwrap();
    let got = rig.receive(1, 200_000);
    let mut padded = f.clone();
    padded.resize(60, 0);
    assert_eq!(got[0].data, padded);
    rig.drain();
    let seen = rig.tx_frames();
    assert_eq!(seen[0].bytes_after_sfd.len(), 64);
    assert!(seen[0].fcs_ok);
    rig.close();
}

#[test]
fn multi_descriptor_frames_on_tx_and_rx() {
    let mut rig = Rig::loopback(NicConfig {
        rx_buffer_bytes: 256,
        ..NicConfig::default()
    });
    let mut g = FrameGen::new(rand::rngs::StdRng::seed_from_u64(3));
    let mut expected = vec![];
    for len in [61usize, 300, 777, 1514] {
        let f = g.frame(len);
        let (a, rest) = f.split_at(14);
        let (b, c) = rest.split_at(rest.len() / 3);
        rig.xmit_sg(&[a, b, c]).unwrap();
        expected.push(f);
    }
    let got = rig.receive(expected.len(), 500_000);
    score(&expected, &got);
    assert_eq!(
        got.iter().map(|f| f.descriptors).collect::<Vec<_>>(),
        expected
            .iter()
            .map(|f| f.len().div_ceil(256))
            .collect::<Vec<_>>()
    );
    rig.close();
}

#[test]
fn rings_wrap_around_many_times() {
    let mut rig = Rig::loopback(NicConfig {
        tx_descriptors: 8,
        rx_descriptors: 8,
        ..NicConfig::default()
    });
    let mut g = FrameGen::new(rand::rngs::StdRng::seed_from_u64(4));
    let frames: Vec<Vec<u8>> = (0..100).map(|i| g.frame(60 + (i * 37) % 400)).collect();
    let got = loop_frames(&mut rig, &frames);
    score(&frames, &got);
    rig.close();
}

#[test]
fn a_full_tx_ring_refuses_the_frame_and_touches_nothing() {
    let mut rig = Rig::new(
        IommuPolicy::On,
        NicConfig {
            tx_descriptors: 8,
            ..NicConfig::default()
        },
    );
    // TX disabled: the ring cannot drain.
    rig.soc.write32(csr(block::NIC, hw::TCTL), 0);
    let mut g = FrameGen::new(rand::rngs::StdRng::seed_from_u64(5));
    for _ in 0..7 {
        rig.xmit(&g.frame(100)).unwrap();
    }
    let tdt = rig.reg(hw::TDT);
    assert!(matches!(
        rig.xmit(&g.frame(100)),
        Err(NicError::RingFull { .. })
    ));
    assert_eq!(rig.reg(hw::TDT), tdt);
    assert_eq!(rig.nic.stats(&mut rig.soc).tx_busy, 1);
    rig.close();
}

#[test]
fn an_exhausted_rx_ring_counts_missed_packets_corrupts_nothing_and_recovers() {
    let mut rig = Rig::new(
        IommuPolicy::On,
        NicConfig {
            rx_descriptors: 8,
            ..NicConfig::default()
        },
    );
    let mut g = FrameGen::new(rand::rngs::StdRng::seed_from_u64(6));
    // 7 free descriptors, a 16 KiB FIFO: 40 frames of 1000 bytes cannot all fit.
    let frames: Vec<Vec<u8>> = (0..40).map(|_| g.frame(1000)).collect();
    let specs: Vec<RxFrameSpec> = frames.iter().map(|f| RxFrameSpec::new(f.clone())).collect();
    rig.phy_send(&specs);
    rig.drain();
    let icr_seen = rig.reg(hw::ICR);
    assert_ne!(icr_seen & icr::RXO, 0, "RXO raised");
    let got = rig.receive(1, 100_000);
    let mut all = got;
    // Keep polling until the FIFO is empty.
    for _ in 0..20 {
        all.extend(rig.poll(64));
        rig.soc.run(2_000);
    }
    let st = rig.nic.stats(&mut rig.soc);
    assert!(st.hw.missed > 0, "missed packets counted");
    assert!(st.hw.rx_no_buffer > 0, "RNBC counted");
    assert_eq!(st.hw.missed as usize + all.len(), frames.len());
    // What arrived is a prefix-in-order subset of what was sent, byte-exact.
    let mut it = frames.iter();
    for f in &all {
        assert!(
            it.any(|e| e == &f.data),
            "a received frame is corrupted or out of order"
        );
    }
    // Recovery: after the refill new frames arrive again.
    let more: Vec<Vec<u8>> = (0..4).map(|_| g.frame(500)).collect();
    rig.phy_send(
        &more
            .iter()
            .map(|f| RxFrameSpec::new(f.clone()))
            .collect::<Vec<_>>(),
    );
    let got = rig.receive(4, 200_000);
    score(&more, &got);
    rig.close();
}

fn bad_frame_specs(g: &mut FrameGen<rand::rngs::StdRng>) -> Vec<(RxFrameSpec, u8)> {
    let good = |g: &mut FrameGen<rand::rngs::StdRng>, len| RxFrameSpec::new(g.frame(len));
    let mut bad_fcs = good(g, 200);
    bad_fcs.fcs = FcsMode::Bad;
    let runt = good(g, 40);
    let oversize = good(g, 1600);
    let mut rx_er = good(g, 300);
    rx_er.rx_er_at = Some(100);
    vec![
        (bad_fcs, rx_desc::ERR_CE as u8),
        (runt, rx_desc::ERR_LEN as u8),
        (oversize, rx_desc::ERR_LEN as u8),
        (rx_er, rx_desc::ERR_RXE as u8),
    ]
}

#[test]
fn bad_frames_from_the_phy_are_dropped_and_counted() {
    let mut rig = Rig::new(IommuPolicy::On, NicConfig::default());
    let mut g = FrameGen::new(rand::rngs::StdRng::seed_from_u64(7));
    let mut specs: Vec<RxFrameSpec> = bad_frame_specs(&mut g)
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let good = g.frame(100);
    specs.push(RxFrameSpec::new(good.clone()));
    rig.phy_send(&specs);
    let got = rig.receive(1, 200_000);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data, good);
    let st = rig.nic.stats(&mut rig.soc);
    assert_eq!(st.hw.crc_errors, 1);
    assert_eq!(st.hw.runts, 1);
    assert_eq!(st.hw.oversize, 1);
    assert_eq!(st.hw.rx_errors, 1);
    assert_eq!(st.hw.total_rx_packets, 5);
    assert_eq!(st.hw.good_rx_packets, 1);
    rig.close();
}

/// The register table is the one source of the clear-on-read list (the driver's `stats`,
/// the README): here the hardware is held to it. After RX frames of every kind, a sent frame
/// and a refused tail write, every readable NIC register is read twice: those marked `RC`
/// read 0 the second time (a write before the first read changes nothing), every other one
/// reads the same value both times.
#[test]
fn exactly_the_registers_the_table_marks_read_to_clear_clear_on_read() {
    let mut rig = Rig::new(IommuPolicy::On, NicConfig::default());
    let mut g = FrameGen::new(rand::rngs::StdRng::seed_from_u64(12));
    let mut specs: Vec<RxFrameSpec> = bad_frame_specs(&mut g)
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    specs.push(RxFrameSpec::new(g.frame(100)));
    rig.phy_send(&specs);
    assert_eq!(rig.receive(1, 200_000).len(), 1);
    rig.xmit(&g.frame(80)).expect("xmit");
    rig.drain();
    let tdt = rig.reg(hw::TDT);
    rig.soc.write32(csr(block::NIC, hw::TDT), 0xFFFF);
    assert_eq!(
        rig.reg(hw::TDT),
        tdt,
        "the tail write outside the ring is refused"
    );
    rig.drain();

    let mut cleared = vec![];
    let mut changed = vec![];
    for r in regs::REGISTERS
        .iter()
        .filter(|r| r.block_offset == block::NIC && r.access != regs::Access::Wo)
    {
        let rc = r.access == regs::Access::Rc;
        if rc {
            rig.soc.write32(r.address(), u32::MAX);
        }
        let first = rig.soc.read32(r.address());
        let second = rig.soc.read32(r.address());
        if rc {
            assert_eq!(
                second, 0,
                "{} (RC) read {first:#x}, then {second:#x}",
                r.name
            );
            if first != 0 {
                cleared.push(r.name);
            }
        } else if first != second {
            changed.push(format!("{}: {first:#x} then {second:#x}", r.name));
        }
    }
    assert_eq!(
        changed,
        Vec::<String>::new(),
        "registers not marked RC changed on a read"
    );
    // Which RC registers had something to clear (so the check above was not vacuous).
    assert_eq!(
        cleared,
        [
            "ICR", "CRCERRS", "RXERRC", "GPRC", "GPTC", "GORCL", "GOTCL", "RUC", "ROC", "TORL",
            "TOTL", "TPR", "TPT", "IRQC", "RINGERRC"
        ]
    );
    rig.close();
}

#[test]
fn store_bad_packets_delivers_bad_frames_flagged() {
    let mut rig = Rig::new(
        IommuPolicy::On,
        NicConfig {
            store_bad_packets: true,
            strip_crc: false,
            ..NicConfig::default()
        },
    );
    let mut g = FrameGen::new(rand::rngs::StdRng::seed_from_u64(8));
    let cases = bad_frame_specs(&mut g);
    let specs: Vec<RxFrameSpec> = cases.iter().map(|(s, _)| s.clone()).collect();
    rig.phy_send(&specs);
    let got = rig.receive(cases.len(), 300_000);
    for ((spec, err), f) in cases.iter().zip(&got) {
        assert_eq!(f.errors & *err, *err, "error bits {:#x}", f.errors);
        assert_eq!(f.data, spec.wire_bytes());
    }
    assert_eq!(rig.nic.stats(&mut rig.soc).rx_packets, 0);
    rig.close();
}

#[test]
fn long_packets_pass_with_lpe_and_jumbo_buffers() {
    let mut rig = Rig::loopback(NicConfig {
        long_packets: true,
        rx_buffer_bytes: 4096,
        ..NicConfig::default()
    });
    let mut g = FrameGen::new(rand::rngs::StdRng::seed_from_u64(9));
    let frames: Vec<Vec<u8>> = [1600usize, 4000, 9000]
        .iter()
        .map(|l| g.frame(*l))
        .collect();
    let got = loop_frames(&mut rig, &frames);
    score(&frames, &got);
    rig.close();
}

#[test]
fn an_iommu_fault_on_an_rx_buffer_drops_the_frame_and_the_nic_keeps_running() {
    let mut rig = Rig::new(IommuPolicy::On, NicConfig::default());
    // Point the next RX descriptor's buffer at an IOVA nothing maps.
    let next = rig.reg(hw::RDH) as usize;
    let desc_pa = rig.nic.rx_ring().expect("rx ring").desc_pa(next);
    let unmapped_iova = 0x7000_0000;
    rig.soc.write32(desc_pa + rx_desc::ADDR_LO, unmapped_iova);
    let mut g = FrameGen::new(rand::rngs::StdRng::seed_from_u64(10));
    let lost = g.frame(300);
    let good: Vec<Vec<u8>> = (0..3).map(|_| g.frame(200)).collect();
    let mut specs = vec![RxFrameSpec::new(lost)];
    specs.extend(good.iter().map(|f| RxFrameSpec::new(f.clone())));
    rig.phy_send(&specs);
    let got = rig.receive(4, 300_000);
    assert_ne!(got[0].errors as u32 & rx_desc::ERR_DMA, 0);
    score(&good, &got[1..]);
    let faults = rig
        .dma
        .iommu_mut()
        .read_faults(&mut rig.soc)
        .expect("fault queue");
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].iova, unmapped_iova);
    let st = rig.nic.stats(&mut rig.soc);
    assert_eq!(st.hw.rx_dma_drops, 1);
    rig.close();
}

/// Interrupts per frame for a stream of back-to-back 64-byte frames at one ITR setting.
fn irqs_per_frame(itr: u32) -> (f64, u64) {
    let mut rig = Rig::new(
        IommuPolicy::On,
        NicConfig {
            itr,
            radv: 0,
            rdtr: 0,
            ..NicConfig::default()
        },
    );
    let mut g = FrameGen::new(rand::rngs::StdRng::seed_from_u64(11));
    let frames: Vec<Vec<u8>> = (0..60).map(|_| g.frame(60)).collect();
    rig.phy_send(
        &frames
            .iter()
            .map(|f| RxFrameSpec::new(f.clone()))
            .collect::<Vec<_>>(),
    );
    let start = rig.soc.now();
    let got = rig.receive(frames.len(), 1_000_000);
    let cycles = rig.soc.now() - start;
    score(&frames, &got);
    let st = rig.nic.stats(&mut rig.soc);
    rig.close();
    (st.hw.irqs as f64 / frames.len() as f64, cycles)
}

#[test]
fn interrupt_moderation_bounds_interrupts_per_frame() {
    let mut last = f64::MAX;
    for itr in [0u32, 4, 16, 64] {
        let (per_frame, cycles) = irqs_per_frame(itr);
        eprintln!("ITR {itr}: {per_frame:.3} interrupts per frame over {cycles} cycles");
        assert!(
            per_frame <= last,
            "ITR {itr}: {per_frame} interrupts per frame"
        );
        if itr > 0 {
            let bound = cycles as f64 / (itr * hw::ITR_UNIT_CYCLES) as f64 + 1.0;
            assert!(
                per_frame * 60.0 <= bound,
                "ITR {itr}: more interrupts than the interval allows"
            );
        }
        last = per_frame;
    }
    assert!(
        last < 0.5,
        "moderation at ITR 64 leaves {last} interrupts per frame"
    );
}

#[test]
fn forward_app_sends_every_good_frame_back_out() {
    let mut rig = Rig::new(IommuPolicy::On, NicConfig::default());
    rig.soc.set_cpu_workload(cpu_load(20, 5));
    let mut g = FrameGen::new(rand::rngs::StdRng::seed_from_u64(12));
    let frames: Vec<Vec<u8>> = (0..20).map(|i| g.frame(60 + i * 70)).collect();
    let mut specs: Vec<RxFrameSpec> = frames.iter().map(|f| RxFrameSpec::new(f.clone())).collect();
    let mut bad = RxFrameSpec::new(g.frame(100));
    bad.fcs = FcsMode::Bad;
    specs.insert(5, bad);
    rig.phy_send(&specs);
    let mut forwarded = 0;
    let start = rig.soc.now();
    while forwarded < frames.len() {
        assert!(
            rig.soc.now() - start < 2_000_000,
            "{}",
            rig.soc.describe_state()
        );
        rig.snapshot();
        let fs = driver::nic::forward_once(
            &mut rig.nic,
            &mut rig.soc,
            &mut rig.dma,
            64,
            regs::nic::MAX_FRAME as usize,
        );
        rig.snapshot();
        assert!(fs.errors.is_empty(), "{:?}", fs.errors);
        forwarded += fs.forwarded;
        rig.soc.wait_irq(2_000);
    }
    rig.drain();
    let _ = rig.poll(64);
    let seen = rig.tx_frames();
    phy::check_tx(&seen, hw::MIN_IFG_BYTES as u64).expect("TX framing");
    let out: Vec<Vec<u8>> = seen.iter().map(|s| s.frame().to_vec()).collect();
    assert_eq!(out, frames);
    assert!(seen.iter().all(|s| fcs_ok(&s.bytes_after_sfd)));
    rig.close();
}

#[test]
fn line_rate_both_ways_in_burst_mode_at_50_percent_cpu_load() {
    use driver::arb::ArbMode;
    use testbench::nic_bench;
    for len in nic_bench::FRAME_LENS {
        let r = nic_bench::run(ArbMode::Burst { cap: 0 }, 50, len, 16, 0);
        assert!(
            r.line_rate_held,
            "{len}-byte frames: largest gap {} bytes, {} of 16 back, {} missed",
            r.max_gap, r.frames_received, r.missed
        );
        assert_eq!(r.cycles, r.line_rate_cycles);
    }
}

#[test]
fn cycle_stealing_at_90_percent_cpu_load_cannot_keep_line_rate() {
    use driver::arb::ArbMode;
    use testbench::nic_bench;
    let r = nic_bench::run(ArbMode::CycleSteal { bound: Some(8) }, 90, 1518, 8, 0);
    assert!(!r.line_rate_held);
    assert!(r.max_gap > 12, "the MAC waited for the TX engine");
    assert_eq!(
        (r.missed, r.frames_received),
        (0, 8),
        "slower, but nothing lost"
    );
}

#[test]
fn close_with_a_frame_waiting_for_an_rx_descriptor_frees_everything() {
    let mut rig = Rig::new(
        IommuPolicy::On,
        NicConfig {
            rx_descriptors: 8,
            ..NicConfig::default()
        },
    );
    let mut g = FrameGen::new(rand::rngs::StdRng::seed_from_u64(13));
    // 7 free descriptors, 12 frames, nobody polls: the RX engine waits for a descriptor.
    let specs: Vec<RxFrameSpec> = (0..12).map(|_| RxFrameSpec::new(g.frame(200))).collect();
    rig.phy_send(&specs);
    rig.drain();
    assert_eq!(
        rig.soc.nic_states().1,
        1,
        "RX engine waits for a descriptor"
    );
    rig.close();
}

#[test]
fn reopening_while_a_frame_arrives_drops_it_and_the_next_frames_arrive_intact() {
    let cfg = NicConfig {
        long_packets: true,
        ..NicConfig::default()
    };
    let mut rig = Rig::new(IommuPolicy::On, cfg);
    let mut g = FrameGen::new(rand::rngs::StdRng::seed_from_u64(14));
    let jumbo = RxFrameSpec::new(g.frame(9000));
    rig.phy_send(std::slice::from_ref(&jumbo));
    rig.soc.run(500);
    rig.close();
    // The resets of close and open come while the MAC is still receiving the jumbo frame.
    assert!(rig.soc.phy_rx_pending() > 1_000, "still inside the frame");
    rig.nic = Nic::open(&mut rig.soc, &mut rig.dma, cfg).expect("reopen");
    rig.snapshot();
    rig.drain();
    let frames: Vec<Vec<u8>> = (0..3).map(|_| g.frame(300)).collect();
    rig.phy_send(
        &frames
            .iter()
            .map(|f| RxFrameSpec::new(f.clone()))
            .collect::<Vec<_>>(),
    );
    let mut got = rig.receive(3, 200_000);
    rig.soc.run(5_000);
    got.extend(rig.poll(64));
    score(&frames, &got);
    assert_eq!(rig.nic.stats(&mut rig.soc).hw.missed, 0);
    rig.close();
}

#[test]
fn reopening_while_a_frame_is_on_the_tx_pins_sends_the_next_frames_intact() {
    let mut rig = Rig::new(IommuPolicy::On, NicConfig::default());
    let mut g = FrameGen::new(rand::rngs::StdRng::seed_from_u64(15));
    let jumbo = g.frame(9000);
    rig.xmit(&jumbo).unwrap();
    let start = rig.soc.now();
    while rig.tx_pins.is_empty() {
        assert!(rig.soc.now() - start < 100_000, "the frame never started");
        rig.soc.run(50);
        rig.collect_tx_pins();
    }
    // The resets of close and open come while the MAC is still sending the jumbo frame.
    rig.reopen(NicConfig::default());
    rig.collect_tx_pins();
    assert!(
        rig.tx_pins.len() < 9000,
        "the reset came after the frame ended"
    );
    let frames: Vec<Vec<u8>> = (0..3).map(|_| g.frame(200)).collect();
    for f in &frames {
        rig.xmit(f).unwrap();
    }
    rig.drain();
    let _ = rig.poll(64);
    let seen = rig.tx_frames();
    assert_eq!(
        seen.len(),
        1 + frames.len(),
        "the jumbo frame, then the others"
    );
    let wire = with_fcs(&jumbo);
    assert!(
        wire.starts_with(&seen[0].bytes_after_sfd),
        "the jumbo frame on the wire is its own bytes, cut short or whole"
    );
    for (s, f) in seen[1..].iter().zip(&frames) {
        assert_eq!(s.bytes_after_sfd, with_fcs(f));
    }
    phy::check_tx(&seen[1..], hw::MIN_IFG_BYTES as u64).expect("TX framing");
    rig.close();
}

#[test]
fn small_frames_wait_in_the_rx_fifo_while_the_ring_is_exhausted() {
    // 7 free descriptors; 30 frames of 64 bytes: 23 of them wait in the RX FIFO (its frame
    // queue holds regs::SocConfig::SIM.nic_frame_queue_depth) and none is missed.
    const { assert!(regs::SocConfig::SIM.nic_frame_queue_depth >= 23) };
    let mut rig = Rig::new(
        IommuPolicy::On,
        NicConfig {
            rx_descriptors: 8,
            ..NicConfig::default()
        },
    );
    let mut g = FrameGen::new(rand::rngs::StdRng::seed_from_u64(13));
    let frames: Vec<Vec<u8>> = (0..30).map(|_| g.frame(60)).collect();
    rig.phy_send(
        &frames
            .iter()
            .map(|f| RxFrameSpec::new(f.clone()))
            .collect::<Vec<_>>(),
    );
    rig.drain();
    let got = rig.receive(frames.len(), 400_000);
    score(&frames, &got);
    let st = rig.nic.stats(&mut rig.soc);
    assert_eq!(st.hw.missed, 0);
    assert!(st.hw.rx_no_buffer > 0, "frames had to wait for descriptors");
    rig.close();
}
