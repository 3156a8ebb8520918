//! The IOMMU while software changes what it translates with, at every cycle of a walk: a
//! `DDTP` rewrite, an `IODIR.INVAL_DDT` and an `IOTINVAL.VMA`, each swept over every cycle
//! offset across the device-context fetch and the page walks of a running copy, in each
//! arbitration mode and under CPU load (docs/iommu.md, "Changing the tables under DMA").
//!
//! The rule every trial checks, beat by beat from the bus pins: a device beat granted in cycle
//! `c` carries the physical address that the reference walk gives under the tables in force
//! in cycle `c`, or would have faulted there and must not be on the bus at all:
//! * `DDTP`: the value written by the end of cycle `c - 1` (a write takes effect at the edge
//!   that ends the cycle it is accepted in);
//! * the device directory and page tables in memory: after software changed them and the
//!   `IOFENCE.C` behind its invalidation command has completed, only the new tables; between
//!   the change and the fence, old or new.
//!
//! The tables, the copy and the commands are written with raw register and memory accesses
//! (not the driver), so each trial controls exactly when each write happens; the reference is
//! `testbench::iommu_check` (device context decode and Sv32 walk), not the rtl.

use regs::iommu::{cmd, cqcsr, dc, ddtp, fqcsr, qb};
use regs::sv32::pte;
use regs::{arb, block, csr, dmac, iommu as hw};
use sim::{DmaBeat, Soc};
use testbench::iommu_check::{expected_pa, DeviceView};
use testbench::{cpu_load, new_soc};

// ---- physical layout (all below the CPU workload's region at the top of RAM) ----
const DDT_A: u32 = 0x1000;
const DDT_B: u32 = 0x2000;
const PT_A_ROOT: u32 = 0x3000;
const PT_A_LEAF: u32 = 0x4000;
const PT_B_ROOT: u32 = 0x5000;
const PT_B_LEAF: u32 = 0x6000;
const FQ: u32 = 0x7000;
const FQ_ENTRIES: u32 = 16;
const CQ: u32 = 0x8000;
const CQ_ENTRIES: u32 = 16;
const FENCE: u32 = 0x9000;
/// The copy: IOVAs below 1 MiB, so that a Bare device reaches RAM (pages 0x30..0x33, "the
/// secret") and a translated one the pages its tables give.
const SRC: u32 = 0x3_0C00;
const DST: u32 = 0x3_2C00;
/// Two pages on each side: walks at the start and again half-way.
const LEN: u32 = 0x800;
/// Physical pages behind IOVA pages 0x30..0x33 in table A and in table B.
const A_PAGES: [u32; 4] = [0x40, 0x41, 0x42, 0x43];
const B_PAGES: [u32; 4] = [0x50, 0x51, 0x52, 0x53];
const DEV: u8 = hw::DEVICE_MEMCPY0 as u8;
/// Cycles the undisturbed copy, or the command queue, may take at most.
const BUDGET: u64 = 60_000;
/// Cycles a trial runs after its table change (the copy may end sooner).
const HORIZON: u64 = 1_500;
/// Cycles a trial runs after the IOMMU has executed the last queued command.
const AFTER_DRAIN: u64 = 600;

/// What device 0's context says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ctx {
    /// Passthrough (FSC mode Bare).
    Bare,
    SvA,
    SvB,
    /// V = 0 (its FSC still points at table A: a context assembled from this word 1 and
    /// another table's word 0 would translate).
    Invalid,
}

impl Ctx {
    const ALL: [Ctx; 4] = [Ctx::Bare, Ctx::SvA, Ctx::SvB, Ctx::Invalid];

    fn words(self) -> [u32; 2] {
        match self {
            Ctx::Bare => [dc::TC_V, 0],
            Ctx::SvA => [dc::TC_V, dc::fsc_sv32(PT_A_ROOT)],
            Ctx::SvB => [dc::TC_V, dc::fsc_sv32(PT_B_ROOT)],
            Ctx::Invalid => [0, dc::fsc_sv32(PT_A_ROOT)],
        }
    }
}

/// Arbitration settings a sweep runs under.
#[derive(Clone, Copy, Debug)]
struct Bus {
    /// `arb::MODE_*`.
    mode: u32,
    /// Burst cap or steal bound.
    param: u32,
    load_pct: u32,
}

const BUSES: [Bus; 12] = {
    let mut b = [Bus {
        mode: 0,
        param: 0,
        load_pct: 0,
    }; 12];
    let modes = [
        (arb::MODE_BURST, 0),
        (arb::MODE_BURST, 16),
        (arb::MODE_CYCLE_STEAL, 8),
        (arb::MODE_CYCLE_STEAL, arb::STEAL_NEVER),
    ];
    let loads = [0, 50, 90];
    let mut i = 0;
    while i < 12 {
        b[i] = Bus {
            mode: modes[i / 3].0,
            param: modes[i / 3].1,
            load_pct: loads[i % 3],
        };
        i += 1;
    }
    b
};

fn iommu(offset: u32) -> u32 {
    csr(block::IOMMU, offset)
}

fn chan(offset: u32) -> u32 {
    csr(dmac::channel_block(0), offset)
}

fn sv32_tables(soc: &mut Soc, root: u32, leaf: u32, pages: [u32; 4]) {
    let ptr = ((leaf >> 12) << pte::PPN_SHIFT) | pte::V;
    soc.host_write(root, ptr, 0xF);
    let flags = pte::V | pte::R | pte::W | pte::A | pte::D;
    for (i, ppn) in pages.iter().enumerate() {
        let vpn0 = (SRC >> 12) + i as u32;
        soc.host_write(leaf + 4 * vpn0, (ppn << pte::PPN_SHIFT) | flags, 0xF);
    }
}

/// A fresh SoC with both directories (device 0's context `a` in DDT_A, `b` in DDT_B), both
/// page tables, the data, the fault and command queues, `DDTP` = DDT_A, and the arbiter and
/// CPU load of `bus`.
fn rig(a: Ctx, b: Ctx, bus: Bus) -> Soc {
    let mut soc = new_soc();
    for (ddt, ctx) in [(DDT_A, a), (DDT_B, b)] {
        let [tc, fsc] = ctx.words();
        soc.host_write(ddt + DEV as u32 * dc::BYTES + dc::TC, tc, 0xF);
        soc.host_write(ddt + DEV as u32 * dc::BYTES + dc::FSC, fsc, 0xF);
    }
    sv32_tables(&mut soc, PT_A_ROOT, PT_A_LEAF, A_PAGES);
    sv32_tables(&mut soc, PT_B_ROOT, PT_B_LEAF, B_PAGES);
    soc.host_write(iommu(hw::FQB), qb::new(FQ, FQ_ENTRIES), 0xF);
    soc.host_write(iommu(hw::FQCSR), fqcsr::FQEN, 0xF);
    soc.host_write(iommu(hw::CQB), qb::new(CQ, CQ_ENTRIES), 0xF);
    soc.host_write(iommu(hw::CQCSR), cqcsr::CQEN, 0xF);
    soc.host_write(iommu(hw::DDTP), ddtp::new(ddtp::MODE_1LVL, DDT_A), 0xF);
    let param = if bus.mode == arb::MODE_BURST {
        arb::BURST_CAP
    } else {
        arb::STEAL_BOUND
    };
    soc.host_write(csr(block::ARB, param), bus.param, 0xF);
    soc.host_write(csr(block::ARB, arb::MODE), bus.mode, 0xF);
    soc.set_cpu_workload(cpu_load(bus.load_pct, 0x5EED ^ bus.load_pct));
    soc.set_dma_log(true);
    soc
}

/// Starts the copy; returns the cycle after the START write.
fn start_copy(soc: &mut Soc) -> u64 {
    soc.host_write(chan(dmac::SRC), SRC, 0xF);
    soc.host_write(chan(dmac::DST), DST, 0xF);
    soc.host_write(chan(dmac::LEN), LEN, 0xF);
    soc.take_dma_log();
    soc.host_write(chan(dmac::CTRL), dmac::ctrl::START, 0xF);
    soc.now()
}

/// A host write; returns the cycle it was accepted in (it takes effect at that cycle's end).
fn write_at(soc: &mut Soc, addr: u32, value: u32) -> u64 {
    soc.host_write(addr, value, 0xF);
    soc.now() - 1
}

/// The cycles, from `t0` until the copy ends, in which the walker is not idle, as runs
/// `(first, last)`: where a table change must be swept.
fn walker_busy_runs(soc: &mut Soc, t0: u64) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = vec![];
    let end = t0 + BUDGET;
    while soc.now() < end {
        let c = soc.now();
        if soc.iommu_state() != 0 {
            match runs.last_mut() {
                Some((_, last)) if *last + 1 == c => *last = c,
                _ => runs.push((c, c)),
            }
        }
        if soc.dma_state() == 0 && c > t0 + 4 {
            break;
        }
        soc.cycle();
    }
    runs
}

/// What a trial left: the DMA-side beats from the pins, RAM, and the channel's status.
struct Outcome {
    beats: Vec<DmaBeat>,
    ram: Vec<u32>,
    /// The copy ended (`status` is its final status).
    ended: bool,
    status: u32,
    err_addr: u32,
    walks_restarted: u32,
}

/// Runs until the copy has ended or [`HORIZON`] cycles have passed since the table change in
/// cycle `changed`, and then until the IOMMU has executed every queued command and
/// [`AFTER_DRAIN`] more cycles have passed (or the copy ended): long enough for the device's
/// access to be translated again under the new tables and to run on them.
fn finish(mut soc: Soc, changed: u64) -> Outcome {
    let until = changed + HORIZON;
    soc.run_until_dma_idle(until.saturating_sub(soc.now()));
    let deadline = soc.now() + BUDGET;
    while soc.host_read(iommu(hw::CQH)) != soc.host_read(iommu(hw::CQT)) || soc.iommu_state() != 0 {
        assert!(soc.now() < deadline, "the command queue did not drain");
        soc.run(8);
    }
    let ended = soc.run_until_dma_idle(AFTER_DRAIN);
    let beats = soc.take_dma_log();
    soc.set_cpu_workload(cpu_load(0, 1));
    let status = soc.host_read(chan(dmac::STATUS));
    let err_addr = soc.host_read(chan(dmac::ERR_ADDR));
    let walks_restarted = soc.host_read(iommu(hw::WALKS_RESTARTED));
    Outcome {
        beats,
        ram: tables_snapshot(&mut soc),
        ended,
        status,
        err_addr,
        walks_restarted,
    }
}

/// RAM as the walker sees it: the directory entries and page-table entries the copy's
/// IOVAs use, read back from the model, in an image of the whole RAM (everything else reads
/// 0, as it is in RAM: the rest of every table page was never written).
fn tables_snapshot(soc: &mut Soc) -> Vec<u32> {
    let mut ram = vec![0u32; (regs::SocConfig::SIM.bytes() / 4) as usize];
    let vpn0 = (SRC >> 12) as usize;
    let words = [
        (DDT_A + DEV as u32 * dc::BYTES, 2),
        (DDT_B + DEV as u32 * dc::BYTES, 2),
        (PT_A_ROOT, 1),
        (PT_B_ROOT, 1),
        (PT_A_LEAF + 4 * vpn0 as u32, 4),
        (PT_B_LEAF + 4 * vpn0 as u32, 4),
    ];
    for (addr, n) in words {
        let at = (addr / 4) as usize;
        soc.host_read_block(addr, &mut ram[at..at + n]);
    }
    ram
}

/// Every device beat against `view_at(cycle)`; every IOMMU write inside its fault queue or
/// the fence word.
fn check_beats(
    o: &Outcome,
    view_at: impl Fn(u64) -> Vec<DeviceView>,
    views_all: &[DeviceView],
) -> Result<(), String> {
    for b in &o.beats {
        if b.iommu {
            let fq = FQ..FQ + FQ_ENTRIES * hw::fault::BYTES;
            if b.we && !fq.contains(&b.pa) && b.pa != FENCE {
                return Err(format!("cycle {}: IOMMU wrote {:#x}", b.cycle, b.pa));
            }
            continue;
        }
        let views = view_at(b.cycle);
        let ok = views
            .iter()
            .any(|v| expected_pa(&o.ram, *v, b.iova, b.we) == Ok(b.pa));
        if !ok {
            let expected: Vec<String> = views
                .iter()
                .map(|v| format!("{v:?}: {:?}", expected_pa(&o.ram, *v, b.iova, b.we)))
                .collect();
            return Err(format!(
                "cycle {}: device {} {} IOVA {:#x} went to PA {:#x}; allowed: {}",
                b.cycle,
                b.dev,
                if b.we { "write" } else { "read" },
                b.iova,
                b.pa,
                expected.join(", ")
            ));
        }
    }
    // A copy that ended in a fault faulted on an address that a view it ran under refuses.
    if o.ended && o.status & dmac::status::ERR != 0 {
        let cause = (o.status & dmac::status::CAUSE_MASK) >> dmac::status::CAUSE_SHIFT;
        if cause != dmac::Cause::IommuFault as u32 {
            return Err(format!("the copy ended with cause {cause}"));
        }
        let refused = views_all.iter().any(|v| {
            expected_pa(&o.ram, *v, o.err_addr, false).is_err()
                || expected_pa(&o.ram, *v, o.err_addr, true).is_err()
        });
        if !refused {
            return Err(format!(
                "the copy faulted at {:#x}, which every view allows",
                o.err_addr
            ));
        }
    }
    Ok(())
}

fn view(ram: &[u32], ddt: u32) -> DeviceView {
    DeviceView::from_tables(ram, ddtp::new(ddtp::MODE_1LVL, ddt), DEV)
}

/// The offsets to sweep: every cycle of every walker-busy run of the undisturbed copy, from
/// a few cycles before it to a few after (the host write itself takes a cycle or more).
fn offsets(runs: &[(u64, u64)], t0: u64) -> Vec<u64> {
    let mut v: Vec<u64> = runs
        .iter()
        .flat_map(|&(a, b)| a.saturating_sub(t0 + 4)..=(b - t0 + 2))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Sweeps a `DDTP` rewrite (DDT_A → DDT_B) over every cycle of the walks.
fn sweep_ddtp(a: Ctx, b: Ctx, bus: Bus) -> (usize, u32) {
    let mut dry = rig(a, b, bus);
    let t0 = start_copy(&mut dry);
    let runs = walker_busy_runs(&mut dry, t0);
    let (mut trials, mut restarted) = (0, 0);
    for off in offsets(&runs, t0) {
        let mut soc = rig(a, b, bus);
        let t = start_copy(&mut soc);
        soc.run(off);
        let w = write_at(&mut soc, iommu(hw::DDTP), ddtp::new(ddtp::MODE_1LVL, DDT_B));
        let o = finish(soc, w);
        let (va, vb) = (view(&o.ram, DDT_A), view(&o.ram, DDT_B));
        let at = |c| if c <= w { vec![va] } else { vec![vb] };
        check_beats(&o, at, &[va, vb]).unwrap_or_else(|e| {
            panic!(
                "DDTP {a:?} -> {b:?} written at cycle {w} (copy started {t}, offset {off}), \
                 {bus:?}: {e}"
            )
        });
        trials += 1;
        restarted += o.walks_restarted;
    }
    (trials, restarted)
}

#[test]
fn a_ddtp_write_at_any_cycle_of_a_walk_never_lets_the_old_tables_translate() {
    // The fail-open case (a passthrough context cached after the switch to a translated
    // one) and a page walk under the old root, in every arbitration mode and CPU load.
    let mut restarted = 0;
    let mut trials = 0;
    for bus in BUSES {
        for (a, b) in [
            (Ctx::Bare, Ctx::SvB),
            (Ctx::SvA, Ctx::SvB),
            (Ctx::SvA, Ctx::Invalid),
        ] {
            let (t, r) = sweep_ddtp(a, b, bus);
            trials += t;
            restarted += r;
        }
    }
    eprintln!("{trials} trials, {restarted} walks restarted");
    assert!(restarted > 0, "no trial hit a walk in flight");
}

#[test]
fn every_pair_of_device_contexts_survives_a_ddtp_switch_at_every_cycle() {
    let bus = BUSES[1]; // block mode, CPU at 50 %
    for a in Ctx::ALL {
        for b in Ctx::ALL {
            if a != b {
                sweep_ddtp(a, b, bus);
            }
        }
    }
}

/// Queues `commands` at CQ from index `at` and writes CQT; returns the new tail and the cycle
/// of the CQT write.
fn submit(soc: &mut Soc, at: u32, commands: &[[u32; 4]]) -> (u32, u64) {
    for (i, c) in commands.iter().enumerate() {
        let slot = CQ + (at + i as u32) % CQ_ENTRIES * cmd::BYTES;
        soc.host_write_block(slot, c);
    }
    let tail = (at + commands.len() as u32) % CQ_ENTRIES;
    (tail, write_at(soc, iommu(hw::CQT), tail))
}

/// The cycle of the IOMMU's write of `FENCE` (the IOFENCE.C completing), from the beat log.
fn fence_cycle(o: &Outcome) -> Option<u64> {
    o.beats
        .iter()
        .find(|b| b.iommu && b.we && b.pa == FENCE)
        .map(|b| b.cycle)
}

/// What software changes in memory before the invalidation command.
#[derive(Clone, Copy, Debug)]
enum Change {
    /// Remap IOVA page SRC's PTE in table A to B's page (then IOTINVAL.VMA for that page).
    RemapPte,
    /// Unmap the destination's first page (V = 0), then IOTINVAL.VMA for it.
    UnmapPte,
    /// Device 0's context in DDT_A from Sv32 (A) to Sv32 (B), then IODIR.INVAL_DDT (and an
    /// IOTINVAL for the device, as the RISC-V IOMMU requires for a new root).
    Context(Ctx),
}

fn sweep_invalidation(change: Change, bus: Bus) {
    let mut dry = rig(Ctx::SvA, Ctx::SvB, bus);
    let t0 = start_copy(&mut dry);
    let runs = walker_busy_runs(&mut dry, t0);
    for off in offsets(&runs, t0) {
        let mut soc = rig(Ctx::SvA, Ctx::SvB, bus);
        let t = start_copy(&mut soc);
        soc.run(off);
        let fence = cmd::iofence_c(Some((FENCE, 0xFE4CE)), false);
        let changed = match change {
            Change::RemapPte => {
                let vpn0 = SRC >> 12;
                let flags = pte::V | pte::R | pte::W | pte::A | pte::D;
                let c = write_at(
                    &mut soc,
                    PT_A_LEAF + 4 * vpn0,
                    (B_PAGES[0] << pte::PPN_SHIFT) | flags,
                );
                submit(
                    &mut soc,
                    0,
                    &[cmd::iotinval_vma(Some(DEV as u32), Some(SRC)), fence],
                );
                c
            }
            Change::UnmapPte => {
                let vpn0 = DST >> 12;
                let c = write_at(&mut soc, PT_A_LEAF + 4 * vpn0, 0);
                submit(
                    &mut soc,
                    0,
                    &[cmd::iotinval_vma(Some(DEV as u32), Some(DST)), fence],
                );
                c
            }
            Change::Context(ctx) => {
                let [tc, fsc] = ctx.words();
                let at = DDT_A + DEV as u32 * dc::BYTES;
                // TC first: in between, memory holds the new TC with the old FSC, which for
                // these contexts is the old or the new context.
                let c = write_at(&mut soc, at + dc::TC, tc);
                soc.host_write(at + dc::FSC, fsc, 0xF);
                submit(
                    &mut soc,
                    0,
                    &[
                        cmd::iodir_inval_ddt(Some(DEV as u32)),
                        cmd::iotinval_vma(Some(DEV as u32), None),
                        fence,
                    ],
                );
                c
            }
        };
        let o = finish(soc, changed);
        let done = fence_cycle(&o)
            .unwrap_or_else(|| panic!("{change:?} at offset {off}, {bus:?}: no fence write"));
        // The old tables: what the new ones were before the change, rebuilt from the new
        // snapshot by undoing it.
        let mut old_ram = o.ram.clone();
        match change {
            Change::RemapPte => {
                old_ram[((PT_A_LEAF + 4 * (SRC >> 12)) / 4) as usize] =
                    (A_PAGES[0] << pte::PPN_SHIFT) | pte::V | pte::R | pte::W | pte::A | pte::D;
            }
            Change::UnmapPte => {
                old_ram[((PT_A_LEAF + 4 * (DST >> 12)) / 4) as usize] =
                    (A_PAGES[2] << pte::PPN_SHIFT) | pte::V | pte::R | pte::W | pte::A | pte::D;
            }
            Change::Context(_) => {
                let at = ((DDT_A + DEV as u32 * dc::BYTES) / 4) as usize;
                old_ram[at..at + 2].copy_from_slice(&Ctx::SvA.words());
            }
        }
        let old = view(&old_ram, DDT_A);
        let new = view(&o.ram, DDT_A);
        let result = o.beats.iter().filter(|b| !b.iommu).try_for_each(|b| {
            let allowed: Vec<(&[u32], DeviceView)> = if b.cycle <= changed {
                vec![(&old_ram, old)]
            } else if b.cycle <= done {
                vec![(&old_ram, old), (&o.ram, new)]
            } else {
                vec![(&o.ram, new)]
            };
            if allowed
                .iter()
                .any(|(ram, v)| expected_pa(ram, *v, b.iova, b.we) == Ok(b.pa))
            {
                Ok(())
            } else {
                Err(format!(
                    "cycle {}: {} IOVA {:#x} went to PA {:#x} (change at {changed}, fence \
                         done at {done})",
                    b.cycle,
                    if b.we { "write" } else { "read" },
                    b.iova,
                    b.pa
                ))
            }
        });
        result.unwrap_or_else(|e| {
            panic!("{change:?} (copy started {t}, offset {off}), {bus:?}: {e}");
        });
    }
}

#[test]
fn iotinval_racing_a_walk_never_leaves_a_stale_translation_after_the_fence() {
    for bus in [BUSES[1], BUSES[5], BUSES[8], BUSES[10]] {
        sweep_invalidation(Change::RemapPte, bus);
        sweep_invalidation(Change::UnmapPte, bus);
    }
}

#[test]
fn iodir_inval_ddt_racing_a_walk_never_leaves_a_stale_context_after_the_fence() {
    for bus in [BUSES[1], BUSES[5], BUSES[8], BUSES[10]] {
        for ctx in [Ctx::SvB, Ctx::Bare, Ctx::Invalid] {
            sweep_invalidation(Change::Context(ctx), bus);
        }
    }
}
