//! The memcpy channel through the whole SoC with the real driver: byte-exact copies for random
//! sizes, alignments and chains, in every arbitration mode, with interrupt and polling
//! completion; and every kind of bad input, each with its defined error and no stray write.

use driver::arb::{self, ArbMode};
use driver::dmac::{Chain, Completion, Dmac, DmacError};
use driver::Device;
use pretty_assertions::assert_eq;
use rand::{Rng, SeedableRng};
use regs::csr;
use regs::dmac::{self, ctrl, desc, status, Cause};
use sim::Soc;
use testbench::{cpu_load, new_soc, stray_dma_writes};

const MODES: [ArbMode; 4] = [
    ArbMode::Burst { cap: 0 },
    ArbMode::Burst { cap: 16 },
    ArbMode::CycleSteal { bound: Some(8) },
    ArbMode::CycleSteal { bound: None },
];

fn fill_random(soc: &mut Soc, rng: &mut impl Rng, addr: u32, words: usize) -> Vec<u32> {
    let data: Vec<u32> = (0..words).map(|_| rng.gen()).collect();
    soc.write_words(addr, &data);
    data
}

fn read(soc: &mut Soc, addr: u32, words: usize) -> Vec<u32> {
    let mut out = vec![0; words];
    soc.read_words(addr, &mut out);
    out
}

/// One seed of the random register-mode copies: four copies, one per arbitration mode, of
/// random sizes and offsets under CPU load, with the interrupt or polling. In the hostile
/// mix (`DMANIC_SOAK_MIX=hostile`) half of them are aborted at a random cycle: the
/// destination must then hold whole source words up to `BYTES_DONE` and nothing after.
fn register_copies(seed: u64, tally: &mut soak::Tally, hostile: bool) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xD3A_0000 + seed);
    let mut soc = new_soc();
    soc.set_write_log(true);
    let mut dmac = Dmac::new();
    for (k, &mode) in MODES.iter().enumerate() {
        let i = 4 * seed as usize + k;
        arb::set_mode(&mut soc, mode);
        soc.set_cpu_workload(cpu_load([0, 30, 60][i % 3], i as u32 + 1));
        let words = rng.gen_range(1..1500usize);
        let src = 4 * rng.gen_range(0..0x1_0000u32);
        let dst = 0x8_0000 + 4 * rng.gen_range(0..0x1_0000u32);
        let data = fill_random(&mut soc, &mut rng, src, words);
        let before = read(&mut soc, dst - 4, words + 2);
        soc.take_write_log();
        let completion = if i.is_multiple_of(2) {
            Completion::Irq
        } else {
            Completion::Poll
        };
        let abort_after =
            (hostile && rng.gen_bool(0.5)).then(|| rng.gen_range(0..4 * words as u64));
        let copied = match abort_after {
            None => {
                let out = dmac
                    .memcpy(&mut soc, src, dst, 4 * words as u32, completion)
                    .unwrap_or_else(|e| panic!("copy {i} ({mode:?}): {e}"));
                assert_eq!(out.bytes, 4 * words as u32);
                words
            }
            Some(cycles) => {
                dmac.start(&mut soc, src, dst, 4 * words as u32, false)
                    .unwrap();
                soc.run(cycles);
                let out = dmac.abort(&mut soc).unwrap();
                tally.add("aborts", 1);
                (out.bytes / 4) as usize
            }
        };
        let log = soc.take_write_log();
        tally.add(
            "dma_write_beats_checked",
            log.iter().filter(|w| w.dma).count() as u64,
        );
        assert_eq!(
            stray_dma_writes(&log, std::slice::from_ref(&(dst..dst + 4 * copied as u32))),
            vec![],
            "copy {i}"
        );
        soc.set_cpu_workload(cpu_load(0, 0));
        let mut want = before;
        want[1..1 + copied].copy_from_slice(&data[..copied]);
        assert_eq!(
            read(&mut soc, dst - 4, words + 2),
            want,
            "copy {i}: {words} words {src:#x} -> {dst:#x}, {mode:?}, {copied} copied"
        );
        tally.add("copies", 1);
    }
}

#[test]
fn register_mode_copies_are_byte_exact_for_random_sizes_offsets_and_modes() {
    soak::Suite::new(
        "memcpy_register",
        "cargo test -p testbench --test memcpy register_mode_copies_are_byte_exact_for_random_sizes_offsets_and_modes -- --exact",
        0..12,
    )
    .run(register_copies);
}

#[test]
fn copy_across_page_boundaries_is_exact() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut soc = new_soc();
    let mut dmac = Dmac::new();
    // Source and destination cross 4 KiB boundaries at different offsets.
    let (src, dst, words) = (0x2FF0, 0x9F84, 3000);
    let data = fill_random(&mut soc, &mut rng, src, words);
    dmac.memcpy(&mut soc, src, dst, 4 * words as u32, Completion::Irq)
        .unwrap();
    assert_eq!(read(&mut soc, dst, words), data);
}

#[test]
fn random_chains_copy_every_descriptor_and_mark_it_done() {
    soak::Suite::new(
        "memcpy_chain",
        "cargo test -p testbench --test memcpy random_chains_copy_every_descriptor_and_mark_it_done -- --exact",
        0..6,
    )
    .run(|seed, tally, _| {
        let round = seed as usize;
        let mut rng = rand::rngs::StdRng::seed_from_u64(0xC4A1_0000 + seed);
        let mut soc = new_soc();
        soc.set_write_log(true);
        let mut dmac = Dmac::new();
        arb::set_mode(&mut soc, MODES[round % MODES.len()]);
        soc.set_cpu_workload(cpu_load(40, round as u32 + 9));
        let mut chain = Chain::new();
        let mut expected = vec![];
        let mut allowed = vec![];
        let n = rng.gen_range(1..12);
        for k in 0..n {
            let words = rng.gen_range(1..200usize);
            let src = 0x1_0000 + 0x1000 * k as u32 + 4 * rng.gen_range(0..64);
            let dst = 0x4_0000 + 0x1000 * k as u32 + 4 * rng.gen_range(0..64);
            let data = fill_random(&mut soc, &mut rng, src, words);
            let at = 0x2_0000 + 16 * (k as u32 * 3 + 1);
            chain.push(at, src, dst, 4 * words as u32).unwrap();
            expected.push((dst, data));
            allowed.push(dst..dst + 4 * words as u32);
            allowed.push(at + desc::LEN_STATUS..at + desc::LEN_STATUS + 4);
        }
        soc.take_write_log();
        let completion = if round.is_multiple_of(2) {
            Completion::Irq
        } else {
            Completion::Poll
        };
        let out = dmac.run_chain(&mut soc, &chain, completion).unwrap();
        assert_eq!(out.descriptors, n as u32);
        assert_eq!(out.bytes as u64, chain.total_bytes());
        let log = soc.take_write_log();
        tally.add("dma_write_beats_checked", log.iter().filter(|w| w.dma).count() as u64);
        assert_eq!(stray_dma_writes(&log, &allowed), vec![]);
        soc.set_cpu_workload(cpu_load(0, 0));
        for (dst, data) in expected {
            assert_eq!(read(&mut soc, dst, data.len()), data, "round {round}");
        }
        for st in chain.read_back(&mut soc) {
            assert!(st.done && !st.err, "{st:?}");
        }
        tally.add("descriptors", n as u64);
    });
}

/// Starts a register-mode copy with bad arguments and checks the error, that nothing was
/// written, and that the error is counted.
fn expect_register_error(src: u32, dst: u32, len: u32, cause: Cause, addr: u32) {
    let mut soc = new_soc();
    soc.set_write_log(true);
    let mut dmac = Dmac::new();
    match dmac.memcpy(&mut soc, src, dst, len, Completion::Irq) {
        Err(DmacError::Transfer {
            cause: c,
            addr: a,
            bytes_done: 0,
            ..
        }) => {
            assert_eq!((c, a), (cause, addr), "src {src:#x} dst {dst:#x} len {len}");
        }
        other => panic!("src {src:#x} dst {dst:#x} len {len}: expected {cause:?}, got {other:?}"),
    }
    assert!(
        soc.take_write_log().iter().all(|w| !w.dma),
        "a DMA write happened"
    );
    let err_count = soc.read32(regs::csr(regs::block::DMAC, regs::dmac::ERR_COUNT));
    assert_eq!(err_count, 1);
}

#[test]
fn zero_length_is_refused() {
    expect_register_error(0x1000, 0x2000, 0, Cause::ZeroLength, 0x1000);
}

#[test]
fn unaligned_source_destination_or_length_is_refused() {
    expect_register_error(0x1002, 0x2000, 64, Cause::Unaligned, 0x1002);
    expect_register_error(0x1000, 0x2001, 64, Cause::Unaligned, 0x2001);
    expect_register_error(0x1000, 0x2000, 63, Cause::Unaligned, 0x1000);
}

#[test]
fn ranges_outside_ram_are_refused() {
    let end = regs::SocConfig::SIM.bytes();
    expect_register_error(end - 8, 0x2000, 16, Cause::OutOfRange, end - 8);
    expect_register_error(0x1000, end - 4, 8, Cause::OutOfRange, end - 4);
    expect_register_error(0x4000_0000, 0x2000, 16, Cause::OutOfRange, 0x4000_0000);
    // SRC + LEN wraps around 2^32: still out of range, not a copy from address 0.
    expect_register_error(0xFFFF_FF00, 0x2000, 0x200, Cause::OutOfRange, 0xFFFF_FF00);
}

#[test]
fn start_while_busy_is_rejected_counted_and_harmless() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let mut soc = new_soc();
    let data = fill_random(&mut soc, &mut rng, 0x1_0000, 1024);
    let mut dmac = Dmac::new();
    dmac.start(&mut soc, 0x1_0000, 0x4_0000, 4096, true)
        .unwrap();
    // The driver refuses to start a busy channel...
    assert!(matches!(
        dmac.start(&mut soc, 0x2_0000, 0x5_0000, 64, true),
        Err(DmacError::Busy { .. })
    ));
    // ...and the hardware ignores a START that gets through anyway.
    let r = |o| regs::csr(regs::block::DMAC, o);
    soc.write32(r(regs::dmac::SRC), 0x2_0000);
    soc.write32(
        r(regs::dmac::CTRL),
        regs::dmac::ctrl::START | regs::dmac::ctrl::IRQ_EN,
    );
    let out = dmac.wait(&mut soc, Completion::Irq, 100_000).unwrap();
    assert!(out.rejected_start);
    assert_eq!(out.bytes, 4096);
    assert_eq!(soc.read32(r(regs::dmac::REJECTED_STARTS)), 1);
    assert_eq!(read(&mut soc, 0x4_0000, 1024), data);
}

#[test]
fn bad_descriptor_in_a_chain_is_flagged_in_place_and_stops_the_chain() {
    let mut soc = new_soc();
    soc.set_write_log(true);
    let mut chain = Chain::new();
    chain.push(0x2_0000, 0x1_0000, 0x4_0000, 64).unwrap();
    chain.push(0x2_0010, 0x1_0000, 0xFFFF_0000, 64).unwrap();
    chain.push(0x2_0020, 0x1_0000, 0x4_1000, 64).unwrap();
    let mut dmac = Dmac::new();
    let err = dmac
        .run_chain(&mut soc, &chain, Completion::Irq)
        .unwrap_err();
    assert!(
        matches!(
            err,
            DmacError::Transfer {
                cause: Cause::OutOfRange,
                addr: 0x2_0010,
                desc_done: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let status = chain.read_back(&mut soc);
    assert!(status[0].done && !status[0].err);
    assert!(
        status[1].err && status[1].cause == Some(Cause::OutOfRange),
        "{:?}",
        status[1]
    );
    assert!(!status[2].done && !status[2].err);
    let allowed = [0x4_0000..0x4_0040, 0x2_0008..0x2_000C, 0x2_0018..0x2_001C];
    assert_eq!(stray_dma_writes(&soc.take_write_log(), &allowed), vec![]);
}

#[test]
fn next_pointer_to_a_bad_address_ends_the_chain_with_bad_descriptor() {
    for next in [0x2_0004u32, 0x8000_0000, regs::SocConfig::SIM.bytes() - 8] {
        let mut soc = new_soc();
        let mut chain = Chain::new();
        chain.push(0x2_0000, 0x1_0000, 0x4_0000, 16).unwrap();
        chain.set_last_next(next);
        let err = Dmac::new()
            .run_chain(&mut soc, &chain, Completion::Irq)
            .unwrap_err();
        assert!(
            matches!(err, DmacError::Transfer { cause: Cause::BadDescriptor, addr, desc_done: 1, .. } if addr == next),
            "{next:#x}: {err:?}"
        );
    }
}

#[test]
fn a_looping_chain_ends_at_the_chain_limit() {
    let mut soc = new_soc();
    let mut chain = Chain::new();
    chain.push(0x2_0000, 0x1_0000, 0x4_0000, 32).unwrap();
    chain.push(0x2_0010, 0x1_0100, 0x4_0100, 32).unwrap();
    chain.loop_back(0).unwrap();
    let mut dmac = Dmac::new();
    dmac.set_chain_limit(&mut soc, 7);
    let err = dmac
        .run_chain(&mut soc, &chain, Completion::Poll)
        .unwrap_err();
    assert!(
        matches!(
            err,
            DmacError::Transfer {
                cause: Cause::ChainLimit,
                desc_done: 7,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_starved_transfer_times_out_naming_the_stuck_state_and_is_aborted() {
    // Transparent mode and a CPU that wants the bus every cycle: the DMA never gets a beat.
    let mut soc = new_soc();
    arb::set_mode(&mut soc, ArbMode::CycleSteal { bound: None });
    soc.set_cpu_workload(cpu_load(100, 1));
    let before = read(&mut soc, 0x4_0000, 64);
    let mut dmac = Dmac::new().with_timeout(5_000);
    let err = dmac
        .memcpy(&mut soc, 0x1_0000, 0x4_0000, 64, Completion::Irq)
        .unwrap_err();
    let copied = match err {
        // One word got through while the driver's CSR writes left the RAM bus idle.
        DmacError::Timeout {
            state,
            bytes_done,
            aborted,
            ..
        } => {
            assert!(aborted, "the timeout path aborts the run");
            assert!(bytes_done < 64);
            assert_eq!(
                state,
                "DMAC in state Read (4), IOMMU in state Idle (0), NIC TX in state Idle (0), NIC RX in state Idle (0)"
            );
            bytes_done
        }
        other => panic!("expected a timeout, got {other:?}"),
    };
    // Stopped between whole words: what was copied is the source, the rest untouched.
    soc.set_cpu_workload(cpu_load(0, 0));
    assert_eq!(dmac.status(&mut soc) & status::BUSY, 0);
    let src = read(&mut soc, 0x1_0000, 64);
    let dst = read(&mut soc, 0x4_0000, 64);
    let w = (copied / 4) as usize;
    assert_eq!(dst[..w], src[..w]);
    assert_eq!(dst[w..], before[w..]);
    // The channel is free again: with a steal bound the copy goes through.
    arb::set_mode(&mut soc, ArbMode::CycleSteal { bound: Some(4) });
    soc.set_cpu_workload(cpu_load(100, 1));
    let out = dmac
        .memcpy(&mut soc, 0x1_0000, 0x4_0000, 64, Completion::Irq)
        .unwrap();
    assert_eq!(out.bytes, 64);
}

#[test]
fn abort_stops_a_chain_that_loops_on_itself_with_only_the_beats_in_flight_after_the_write() {
    // A descriptor whose NEXT is itself and CHAIN_LIMIT at its maximum: without ABORT it
    // would hold the DMA side for 2^32 runs. Every arbitration mode, CPU at 50 %.
    let modes = [
        ArbMode::Burst { cap: 0 },
        ArbMode::Burst { cap: 16 },
        ArbMode::CycleSteal { bound: Some(8) },
        ArbMode::CycleSteal { bound: None },
    ];
    for mode in modes {
        let mut soc = new_soc();
        arb::set_mode(&mut soc, mode);
        let head = 0x8000;
        let pattern: Vec<u32> = (0..64).map(|i| 0xC0DE_0000 | i).collect();
        soc.write_words(0x1_0000, &pattern);
        soc.write_words(0x2_0000, &[0xDEAD_BEEF; 64]);
        soc.write_words(head, &[0x1_0000, 0x2_0000, 256, head]);
        let dmac = Dmac::new();
        dmac.set_chain_limit(&mut soc, u32::MAX);
        soc.set_cpu_workload(cpu_load(50, 3));
        soc.set_write_log(true);
        soc.host_write(csr(dmac::channel_block(0), dmac::DESC), head, 0xF);
        soc.host_write(
            csr(dmac::channel_block(0), dmac::CTRL),
            ctrl::START | ctrl::CHAIN,
            0xF,
        );
        soc.run(20_000);
        assert!(
            dmac.status(&mut soc) & status::BUSY != 0,
            "{mode:?}: still looping"
        );
        // The ABORT write, and the cycle it was taken in. From that cycle the channel issues
        // nothing; the beats already accepted (at most the IOMMU's 3: its 2-entry buffer and
        // S2, docs/iommu.md) complete, whole words, and then the channel is idle.
        soc.host_write(csr(dmac::channel_block(0), dmac::CTRL), ctrl::ABORT, 0xF);
        let at = soc.now() - 1;
        let mut waited = 0;
        while soc.dma_state() != 0 {
            assert!(
                waited < 200,
                "{mode:?}: still busy 200 cycles after the abort"
            );
            soc.run(1);
            waited += 1;
        }
        let writes = soc.take_write_log();
        assert!(writes.iter().any(|w| w.dma), "{mode:?}: it was copying");
        let late = writes.iter().filter(|w| w.dma && w.cycle > at).count();
        assert!(
            late <= 3,
            "{mode:?}: {late} DMA writes after the abort in cycle {at}, more than were in flight"
        );
        soc.run(1_000);
        assert!(
            soc.take_write_log().iter().all(|w| !w.dma),
            "{mode:?}: the bus is quiet"
        );
        soc.set_cpu_workload(cpu_load(0, 0));
        let st = dmac.status(&mut soc);
        assert_eq!(
            (
                st & status::ERR,
                (st & status::CAUSE_MASK) >> status::CAUSE_SHIFT
            ),
            (status::ERR, Cause::Aborted as u32),
            "{mode:?}"
        );
        assert_eq!(
            soc.read32(csr(dmac::channel_block(0), dmac::ERR_ADDR)),
            head,
            "{mode:?}"
        );
        // Whole words only: the destination holds the source, word for word, wherever
        // the copy stopped (every pass copies the same 256 bytes).
        assert_eq!(read(&mut soc, 0x2_0000, 64), pattern, "{mode:?}");
    }
}
