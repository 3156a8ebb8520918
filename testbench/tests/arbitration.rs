//! Bus arbitration through the whole SoC (docs/arbiter.md), checked from the observation pins:
//! the bounds of docs/verification.md, "4. Arbitration bounds" (cycle stealing bounds the
//! CPU's wait; a burst never exceeds its cap; bursts end at 4 KiB boundaries), the counters of
//! docs/verification.md, "5. Counters agree with the pins" (the CSR counters equal what the
//! pins showed), and the CPU model's promise that a CPU keeps running from its cache while DMA
//! has the bus.

use driver::arb::{self, ArbMode};
use driver::dmac::{Completion, Dmac};
use sim::Soc;
use testbench::{check_counters, clear_all_counters, cpu_load, new_soc, read_counters};

/// One memcpy of `bytes` under `mode` with a CPU at `load` %; returns the pin counts of the
/// transfer (from the START write to the interrupt) and leaves the counters unread.
fn transfer(soc: &mut Soc, mode: ArbMode, load: u32, bytes: u32, seed: u32) -> sim::Observed {
    arb::set_mode(soc, mode);
    soc.set_cpu_workload(cpu_load(load, seed));
    let mut dmac = Dmac::new();
    dmac.start(soc, 0x1_0800, 0x4_0400, bytes, true).unwrap();
    soc.clear_observed();
    assert!(
        soc.run_until_irq(2_000_000),
        "{mode:?} {load} %: {}",
        driver::Device::describe_state(soc)
    );
    let obs = soc.observed();
    soc.set_cpu_workload(cpu_load(0, 0));
    assert_eq!(dmac.wait(soc, Completion::Irq, 10).unwrap().bytes, bytes);
    obs
}

#[test]
fn counters_agree_with_the_pins_in_every_mode_and_load() {
    let mut soc = new_soc();
    let modes = [
        ArbMode::Burst { cap: 0 },
        ArbMode::Burst { cap: 7 },
        ArbMode::CycleSteal { bound: Some(3) },
        ArbMode::CycleSteal { bound: None },
    ];
    for (i, mode) in modes.into_iter().enumerate() {
        for load in [0, 25, 60, 90] {
            arb::set_mode(&mut soc, mode);
            soc.set_cpu_workload(cpu_load(load, 77 + i as u32));
            clear_all_counters(&mut soc);
            let mut dmac = Dmac::new();
            dmac.start(&mut soc, 0x1_0000, 0x4_0000, 12 * 1024, true)
                .unwrap();
            assert!(soc.run_until_irq(2_000_000));
            soc.set_cpu_workload(cpu_load(0, 0));
            // A PIO copy too, so the CPU's own RAM traffic is in the counts.
            driver::pio::copy(&mut soc, 0x1_0000, 0x6_0000, 256).unwrap();
            dmac.wait(&mut soc, Completion::Irq, 10).unwrap();
            let (hw, before, after) = read_counters(&mut soc);
            assert!(hw.dma_beats >= 2 * 3 * 1024);
            if let Err(e) = check_counters(&hw, &before, &after) {
                panic!("{mode:?} at {load} %: {e}");
            }
        }
    }
}

#[test]
fn cycle_stealing_never_makes_the_cpu_wait_more_than_one_cycle() {
    let mut soc = new_soc();
    for bound in [0, 1, 8, 100] {
        for load in [25, 50, 75, 90, 100] {
            let obs = transfer(
                &mut soc,
                ArbMode::CycleSteal { bound: Some(bound) },
                load,
                4096,
                bound + load,
            );
            assert!(
                obs.cpu_worst_wait <= 1,
                "bound {bound}, load {load} %: CPU waited {}",
                obs.cpu_worst_wait
            );
            assert!(obs.cpu_worst_wait <= bound as u64 + 1);
        }
    }
}

#[test]
fn transparent_mode_never_stalls_the_cpu() {
    let mut soc = new_soc();
    for load in [25, 50, 90] {
        let obs = transfer(
            &mut soc,
            ArbMode::CycleSteal { bound: None },
            load,
            2048,
            load,
        );
        assert_eq!(obs.cpu_stall_cycles, 0, "load {load} %");
        assert!(obs.dma_beats >= 1024);
    }
}

#[test]
fn a_burst_never_holds_the_bus_beyond_its_cap() {
    let mut soc = new_soc();
    for cap in [1, 2, 16, 64] {
        for load in [50, 90, 100] {
            let obs = transfer(&mut soc, ArbMode::Burst { cap }, load, 8192, cap + load);
            assert!(
                obs.dma_longest_hold <= cap as u64,
                "cap {cap}, load {load} %: held {}",
                obs.dma_longest_hold
            );
            assert!(
                obs.cpu_worst_wait <= cap as u64,
                "cap {cap}, load {load} %: CPU waited {}",
                obs.cpu_worst_wait
            );
        }
    }
}

#[test]
fn uncapped_bursts_end_at_every_4k_boundary() {
    // The source (0x1_0800) reaches a page boundary after 512, 1536, 2560, ... words, the
    // destination (0x4_0400) after 768, 1792, 2816, ...; a burst ends after the read that
    // crosses a source boundary or the write that crosses a destination boundary, so bursts
    // span 512, 256, 768, 256, 768, ... words. The longest, from a destination boundary to
    // the next source boundary, holds the 768 writes of its words and 764 reads: the channel
    // reads `READ_AHEAD` (4) words ahead of its writes, so the first 4 of those words were
    // read in the burst before. 1532 beats. A CPU that always wants the bus sees every one.
    let mut soc = new_soc();
    let obs = transfer(&mut soc, ArbMode::Burst { cap: 0 }, 100, 64 * 1024, 5);
    let longest = 2 * 768 - regs::dmac::READ_AHEAD as u64;
    assert_eq!(obs.dma_longest_hold, longest);
    assert_eq!(obs.cpu_worst_wait, longest);
}

#[test]
fn burst_mode_moves_one_beat_per_cycle_on_an_idle_bus() {
    let mut soc = new_soc();
    let obs = transfer(&mut soc, ArbMode::Burst { cap: 0 }, 0, 16 * 1024, 1);
    // 4096 words = 8192 beats, plus the check cycle before the first beat and the DMA port's
    // latency through the IOMMU (accepted in t, granted in t + 2, answered in t + 3: the
    // run ends with the last answer): 8192 + 1 + 3 cycles, 0.9995 beats per cycle.
    assert_eq!(obs.dma_beats, 8192);
    assert_eq!(obs.total_cycles, 8192 + 1 + 3);
}

#[test]
fn the_cpu_keeps_running_from_its_cache_while_dma_holds_the_bus() {
    let mut soc = new_soc();
    // A CPU that never misses is never slowed down, whatever the DMA does.
    let obs = transfer(&mut soc, ArbMode::Burst { cap: 0 }, 0, 16 * 1024, 1);
    assert_eq!(obs.cpu_work, obs.total_cycles);
    assert_eq!(obs.cpu_stall_cycles, 0);
    // A CPU that misses now and then runs until its next miss, then waits for the burst: every
    // cycle it either retires an instruction or stalls on the bus, never both, never neither.
    for load in [1, 5, 25] {
        let obs = transfer(&mut soc, ArbMode::Burst { cap: 0 }, load, 16 * 1024, load);
        assert_eq!(
            obs.cpu_work + obs.cpu_stall_cycles,
            obs.total_cycles,
            "load {load} %"
        );
        assert!(
            obs.cpu_work > 0 && obs.cpu_stall_cycles > 0,
            "load {load} %: {obs:?}"
        );
    }
    // Cycle stealing at the same load gives the CPU far more work per cycle than block mode.
    let burst = transfer(&mut soc, ArbMode::Burst { cap: 0 }, 25, 16 * 1024, 9);
    let steal = transfer(
        &mut soc,
        ArbMode::CycleSteal { bound: Some(8) },
        25,
        16 * 1024,
        9,
    );
    let rate = |o: &sim::Observed| o.cpu_work as f64 / o.total_cycles as f64;
    assert!(
        rate(&steal) > 0.95 && rate(&burst) < 0.1,
        "steal {} burst {}",
        rate(&steal),
        rate(&burst)
    );
}
