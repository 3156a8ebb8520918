//! The clock gates (`rtl::clock_gate`, docs/soc.md "Idle blocks are not clocked") change
//! nothing a test can see: the same random register traffic, run once with the gates on and
//! once with every block clocked in every cycle, gives the same read data, the same interrupt
//! line in every cycle, the same bus writes and DMA beats at the same cycles, the same TX pins.
//!
//! The traffic is adversarial rather than sensible, to reach states the driver never makes:
//! writes to every NIC and memcpy register at random moments (CTRL.RST and SLU, the rings'
//! registers, the interrupt mask and the moderation and delay timers, MDIC accesses, EECD's
//! pins, starts, aborts and chains on both channels), frames and noise on the PHY's RX pins,
//! reads of every register (the clear-on-read statistics and ICR among them). `nic_stress`
//! compares the same two ways on driver traffic.

use driver::Device;
use pretty_assertions::assert_eq;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use regs::{dmac, iommu, nic, Register, REGISTERS};
use sim::{BusWrite, DmaBeat, PhySample, Soc};
use testbench::new_soc;

/// What a run showed outside the SoC.
#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    /// Every register read: (cycle, address, value).
    reads: Vec<(u64, u32, u32)>,
    /// The cycles at which the interrupt line changed (the harness's log: every cycle).
    irq: Vec<u64>,
    /// Bus writes, DMA-side beats and TX pin samples, as the harness logged them.
    writes: Vec<BusWrite>,
    beats: Vec<DmaBeat>,
    pins: Vec<PhySample>,
    /// EEPROM words read through EECD (or why not).
    eeprom: Vec<Result<Vec<u16>, String>>,
}

struct Run {
    soc: Soc,
    seen: Seen,
}

impl Run {
    fn new(clock_gating: bool) -> Run {
        let mut soc = new_soc();
        soc.set_clock_gating(clock_gating);
        soc.set_write_log(true);
        soc.set_dma_log(true);
        soc.set_phy_tx_log(true);
        soc.set_irq_log(true);
        Run {
            soc,
            seen: Seen::default(),
        }
    }

    fn run(&mut self, cycles: u64) {
        self.soc.run(cycles);
    }

    fn write(&mut self, addr: u32, value: u32) {
        self.soc.host_write(addr, value, 0xF);
    }

    fn read(&mut self, addr: u32) {
        let value = self.soc.host_read(addr);
        self.seen.reads.push((self.soc.now(), addr, value));
    }

    fn finish(mut self) -> Seen {
        let s = &mut self.seen;
        s.irq = self.soc.take_irq_log();
        s.writes = self.soc.take_write_log();
        s.beats = self.soc.take_dma_log();
        s.pins = self.soc.take_phy_tx_log();
        self.seen
    }
}

fn registers(block: &str) -> Vec<Register> {
    REGISTERS
        .iter()
        .filter(|r| r.block == block)
        .copied()
        .collect()
}

/// A value for a NIC register that makes something happen more often than a random word.
fn nic_value(rng: &mut StdRng, r: &Register) -> u32 {
    let small = |rng: &mut StdRng| rng.gen_range(0..6u32);
    match r.offset {
        nic::CTRL => {
            let rst = if rng.gen_bool(0.1) { nic::ctrl::RST } else { 0 };
            let slu = if rng.gen_bool(0.5) { nic::ctrl::SLU } else { 0 };
            let phy_rst = if rng.gen_bool(0.1) {
                nic::ctrl::PHY_RST
            } else {
                0
            };
            rst | slu | phy_rst
        }
        nic::IMC => 1 << rng.gen_range(0..32),
        nic::IMS => rng.gen::<u32>() | rng.gen::<u32>(),
        nic::RCTL => rng.gen::<u32>() & 0x0603_03E6,
        nic::TCTL => rng.gen::<u32>() & 0xA,
        nic::ITR | nic::RDTR | nic::RADV | nic::TIDV | nic::TADV => {
            small(rng).max(rng.gen_range(0..2))
        }
        nic::TDLEN | nic::RDLEN => 128 * rng.gen_range(0..3u32),
        nic::TDBAL => 0x4_0000,
        nic::RDBAL => 0x5_0000,
        nic::TDT | nic::RDT | nic::TDH | nic::RDH => rng.gen_range(0..20),
        nic::MDIC => {
            let op = rng.gen_range(0..4u32) << 26;
            op | rng.gen_range(0..3u32) << 21
                | rng.gen_range(0..32u32) << 16
                | (rng.gen::<u32>() & 0xFFFF)
                | if rng.gen_bool(0.5) {
                    nic::mdic::INT_EN
                } else {
                    0
                }
        }
        nic::EECD => rng.gen::<u32>() & 0x7F,
        _ => rng.gen(),
    }
}

const TX_RING: u32 = 0x4_0000;
const RX_RING: u32 = 0x5_0000;
const RING: u32 = 16;

/// Writes all 16 TX descriptors (random lengths, mostly whole frames with FCS and RS,
/// some with IDE or without EOP), then a random TDT.
fn tx_burst(run: &mut Run, rng: &mut StdRng) {
    use nic::tx_desc::*;
    for i in 0..RING {
        let mut cmd = CMD_IFCS | CMD_RS;
        if rng.gen_bool(0.8) {
            cmd |= CMD_EOP;
        }
        if rng.gen_bool(0.3) {
            cmd |= CMD_IDE;
        }
        let desc = [
            0x7_0000 + 0x800 * i,
            0,
            len_cmd(rng.gen_range(1..400), cmd),
            0,
        ];
        run.soc.write_words(TX_RING + 16 * i, &desc);
    }
    let tdt = nic::TDT + regs::CSR_BASE + regs::block::NIC;
    run.write(tdt, rng.gen_range(0..=RING));
}

/// Gives all 16 RX descriptors fresh buffers, then a random RDT.
fn rx_refill(run: &mut Run, rng: &mut StdRng) {
    for i in 0..RING {
        run.soc
            .write_words(RX_RING + 16 * i, &[0x8_0000 + 0x800 * i, 0, 0, 0]);
    }
    let rdt = nic::RDT + regs::CSR_BASE + regs::block::NIC;
    run.write(rdt, rng.gen_range(0..=RING));
}

/// Rings at TX_RING and RX_RING, both enabled, every cause unmasked.
fn nic_setup(run: &mut Run, rng: &mut StdRng) {
    let at = |r: u32| regs::CSR_BASE + regs::block::NIC + r;
    run.write(at(nic::TDBAL), TX_RING);
    run.write(at(nic::TDLEN), 16 * RING);
    run.write(at(nic::RDBAL), RX_RING);
    run.write(at(nic::RDLEN), 16 * RING);
    run.write(at(nic::IMS), !0);
    run.write(at(nic::TCTL), nic::tctl::EN | nic::tctl::PSP);
    run.write(at(nic::RCTL), nic::rctl::EN | nic::rctl::SBP);
    run.write(at(nic::CTRL), nic::ctrl::SLU);
    rx_refill(run, rng);
    tx_burst(run, rng);
}

fn dmac_value(rng: &mut StdRng, offset: u32) -> u32 {
    match offset {
        dmac::SRC | dmac::DST | dmac::DESC => {
            if rng.gen_bool(0.9) {
                0x6_0000 + 4 * rng.gen_range(0..0x4000u32)
            } else {
                rng.gen()
            }
        }
        dmac::LEN => 4 * rng.gen_range(0..300u32),
        dmac::CTRL => {
            if rng.gen_bool(0.7) {
                dmac::ctrl::START | dmac::ctrl::IRQ_EN
            } else {
                rng.gen::<u32>() & 0xF
            }
        }
        dmac::CHAIN_LIMIT => rng.gen_range(0..8),
        _ => rng.gen(),
    }
}

/// PHY RX symbols (data | dv << 8 | er << 9): a frame of random bytes after a preamble and SFD,
/// sometimes with an error or cut short, or noise.
fn rx_symbols(rng: &mut StdRng) -> Vec<u16> {
    let mut syms: Vec<u16> = vec![0x155; rng.gen_range(0..8)];
    if rng.gen_bool(0.8) {
        syms.push(0x1D5);
    }
    for _ in 0..rng.gen_range(0..200) {
        let er = if rng.gen_bool(0.01) { 0x200 } else { 0 };
        syms.push(0x100 | er | rng.gen::<u8>() as u16);
    }
    syms.extend(std::iter::repeat_n(0, rng.gen_range(0..20)));
    syms
}

fn scenario(seed: u64, clock_gating: bool) -> Seen {
    let mut rng = StdRng::seed_from_u64(0xC10C_0000 + seed);
    let mut run = Run::new(clock_gating);
    let nic_regs = registers("NIC");
    let dmac_regs = registers("DMAC");
    let irq_status = regs::CSR_BASE + regs::block::SYS + regs::sys::IRQ_STATUS;
    nic_setup(&mut run, &mut rng);
    let icr = regs::CSR_BASE + regs::block::NIC + nic::ICR;
    for _ in 0..600 {
        match rng.gen_range(0..122) {
            0..=29 => {
                let r = nic_regs[rng.gen_range(0..nic_regs.len())];
                let v = nic_value(&mut rng, &r);
                run.write(r.address(), v);
            }
            30..=44 => {
                let r = nic_regs[rng.gen_range(0..nic_regs.len())];
                run.read(r.address());
            }
            45..=59 => {
                let r = dmac_regs[rng.gen_range(0..dmac_regs.len())];
                let n = rng.gen_range(0..dmac::CHANNELS);
                let v = dmac_value(&mut rng, r.offset);
                run.write(r.address() + dmac::CHANNEL_STRIDE * n, v);
            }
            60..=67 => {
                let r = dmac_regs[rng.gen_range(0..dmac_regs.len())];
                let n = rng.gen_range(0..dmac::CHANNELS);
                run.read(r.address() + dmac::CHANNEL_STRIDE * n);
            }
            68..=74 => {
                let syms = rx_symbols(&mut rng);
                run.soc.phy_rx_push(&syms);
            }
            75..=79 => run.read(irq_status),
            80..=99 => {
                let cycles = if rng.gen_bool(0.1) {
                    rng.gen_range(0..5000)
                } else {
                    rng.gen_range(0..60)
                };
                run.run(cycles);
            }
            100..=102 => tx_burst(&mut run, &mut rng),
            103..=105 => rx_refill(&mut run, &mut rng),
            // The interrupt handler's read: clears the causes, so that the next ones (and
            // their moderation) show on the line.
            106..=119 => run.read(icr),
            // Linux's EEPROM read: bit-banged on EECD, each bit one host access.
            _ => {
                let start = rng.gen_range(0..60);
                let words =
                    driver::eeprom::read(&mut run.soc, start, 4).map_err(|e| format!("{e:?}"));
                run.seen.eeprom.push(words);
            }
        }
    }
    // Let every timer, MDIO access and copy end, then read everything once more.
    run.run(30_000);
    for r in nic_regs.iter().chain(&dmac_regs) {
        run.read(r.address());
    }
    run.read(dmac_regs[0].address() + dmac::CHANNEL_STRIDE);
    run.finish()
}

#[test]
fn random_register_traffic_is_the_same_with_and_without_clock_gating() {
    let mut totals = (0, 0, 0, 0, 0);
    for seed in 0..6 {
        let off = scenario(seed, false);
        let on = scenario(seed, true);
        totals.0 += off.reads.len();
        totals.1 += off.irq.len();
        totals.2 += off.beats.len();
        totals.3 += off.pins.len();
        totals.4 += off.eeprom.iter().filter(|r| r.is_ok()).count();
        assert_eq!(off, on, "seed {seed}");
    }
    eprintln!(
        "compared {} register reads, {} interrupt edges, {} DMA beats, {} TX pin samples, {} \
         EEPROM reads",
        totals.0, totals.1, totals.2, totals.3, totals.4
    );
    // The traffic reached what it is meant to: interrupts, DMA, frames on the pins, EEPROM
    // words.
    assert!(
        totals.1 > 50 && totals.2 > 10_000 && totals.3 > 10_000 && totals.4 > 10,
        "{totals:?}"
    );
}

/// Events that reach an idle NIC from outside or a cycle after a write, each followed by the
/// interrupt handler's ICR reads: the NIC must be clocked in the cycle after a CTRL write that
/// changes SLU (ICR.LSC), when a memcpy channel's interrupt rises (ICR.DMAC) and when the
/// IOMMU's does (ICR.IOMMU: an illegal command in its command queue), with and without
/// moderation; and Linux's EEPROM read, whose DO the NIC synchronizes while nothing else runs.
fn idle_nic_events(clock_gating: bool) -> Seen {
    let mut run = Run::new(clock_gating);
    let at = |r: u32| regs::CSR_BASE + regs::block::NIC + r;
    let ch = |n: u32, r: u32| regs::CSR_BASE + regs::block::DMAC + dmac::CHANNEL_STRIDE * n + r;
    run.write(at(nic::IMS), !0);
    for itr in [0, 3] {
        run.write(at(nic::ITR), itr);
        for slu in [nic::ctrl::SLU, 0, nic::ctrl::SLU] {
            run.read(at(nic::ICR));
            run.run(200);
            run.write(at(nic::CTRL), slu);
            for _ in 0..3 {
                run.run(7);
                run.read(at(nic::ICR));
            }
        }
        for n in 0..dmac::CHANNELS {
            run.write(ch(n, dmac::SRC), 0x1000);
            run.write(ch(n, dmac::DST), 0x2000);
            run.write(ch(n, dmac::LEN), 64);
            run.write(ch(n, dmac::CTRL), dmac::ctrl::START | dmac::ctrl::IRQ_EN);
            for _ in 0..8 {
                run.run(11);
                run.read(at(nic::ICR));
            }
            run.write(ch(n, dmac::STATUS), dmac::status::DONE);
            run.run(50);
            run.read(at(nic::ICR));
        }
        // The IOMMU's command queue, 2 entries at 0x3000, with an opcode it does not know.
        let mmu = |r: u32| regs::CSR_BASE + regs::block::IOMMU + r;
        run.soc.write_words(0x3000, &[0x7F, 0, 0, 0, 0x7F, 0, 0, 0]);
        run.write(mmu(iommu::CQB), iommu::qb::new(0x3000, 2));
        run.write(mmu(iommu::CQCSR), iommu::cqcsr::CQEN | iommu::cqcsr::CIE);
        run.run(50);
        run.write(mmu(iommu::CQT), 1);
        for _ in 0..8 {
            run.run(9);
            run.read(at(nic::ICR));
        }
        run.read(mmu(iommu::CQCSR));
        run.write(mmu(iommu::CQCSR), 0);
        run.write(mmu(iommu::IPSR), iommu::ipsr::CIP);
        run.run(50);
        run.read(at(nic::ICR));
    }
    let words = driver::eeprom::read_all(&mut run.soc).map_err(|e| format!("{e:?}"));
    run.seen.eeprom.push(words);
    run.finish()
}

#[test]
fn events_that_wake_an_idle_nic_are_the_same_with_and_without_clock_gating() {
    let off = idle_nic_events(false);
    // The reads saw both causes, and the line moved.
    let seen = |bit: u32| off.reads.iter().filter(|r| r.2 & bit != 0).count();
    assert!(
        seen(nic::icr::LSC) >= 4 && seen(nic::icr::DMAC) >= 4 && seen(nic::icr::IOMMU) >= 2,
        "{:?}",
        off.reads
    );
    assert_eq!(
        off.eeprom,
        [Ok(regs::eeprom::image(regs::eeprom::SIM_MAC).to_vec())]
    );
    assert!(off.irq.len() >= 8, "{:?}", off.irq);
    assert_eq!(off, idle_nic_events(true));
}

/// The gates do stop: an idle NIC and an idle channel get no clock edge, a copy opens its
/// channel's gate in every cycle it runs and no other, a register access opens the NIC's for
/// its cycle; with the gates off every block is clocked in every cycle.
#[test]
fn idle_blocks_get_no_clock_edge_and_busy_ones_get_every_one() {
    const NIC: u8 = 1;
    const CH0: u8 = 2;
    const CH1: u8 = 4;
    let mut soc = new_soc();
    soc.run(100);
    // Counts, per gate, the cycles in which it is open over `cycles` cycles.
    let open = |soc: &mut Soc, cycles: u64| {
        let mut n = [0u64; 3];
        for _ in 0..cycles {
            let g = soc.clock_gates();
            for (bit, count) in n.iter_mut().enumerate() {
                *count += u64::from(g >> bit & 1);
            }
            soc.cycle();
        }
        n
    };
    assert_eq!(open(&mut soc, 1000), [0, 0, 0], "idle");

    let ch = |n: u32, r: u32| regs::CSR_BASE + regs::block::DMAC + dmac::CHANNEL_STRIDE * n + r;
    soc.host_write(ch(0, dmac::SRC), 0x1000, 0xF);
    soc.host_write(ch(0, dmac::DST), 0x8000, 0xF);
    soc.host_write(ch(0, dmac::LEN), 4096, 0xF);
    soc.host_write(ch(0, dmac::CTRL), dmac::ctrl::START, 0xF);
    let mut busy = 0;
    while soc.host_read(ch(0, dmac::STATUS)) & dmac::status::BUSY != 0 {
        let g = soc.clock_gates();
        assert_eq!(
            g & (CH0 | CH1),
            CH0,
            "cycle {}: channel 0 copying",
            soc.now()
        );
        busy += 1;
        soc.cycle();
    }
    assert!(busy > 100, "{busy} polls");
    assert_eq!(open(&mut soc, 1000), [0, 0, 0], "idle again");

    // A NIC register read: the NIC is clocked in its cycle, then stops again.
    let status = regs::CSR_BASE + regs::block::NIC + nic::STATUS;
    let before = soc.now();
    soc.host_read(status);
    assert!(soc.now() - before <= 2);
    assert_eq!(open(&mut soc, 100), [0, 0, 0], "after the read");
    assert_eq!(NIC, 1);

    soc.set_clock_gating(false);
    soc.cycle();
    assert_eq!(open(&mut soc, 100), [100, 100, 100], "gates off");
}
