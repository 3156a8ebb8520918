//! The IOMMU benchmark: what translation costs the memcpy channel.
//!
//! For each IOMMU setting (global Bare = `iommu=off`; DDT with the device in passthrough =
//! `iommu=pt`; DDT with Sv32 tables of 4 KiB pages or of 4 MiB superpages = `iommu=on`) and
//! each transfer size, one memcpy in burst mode (uncapped, CPU idle) from a cold IOTLB (flushed
//! by `IOTINVAL.VMA` before the run), then the same copy again with the IOTLB warm. Cycles are
//! counted from the pins (START write to interrupt); hits, misses and walk cycles come from the
//! IOMMU's counters.
//!
//! * **hit cost** = warm cycles − Bare cycles (a hit should add nothing: the IOTLB answers in
//!   the cycle of the request);
//! * **miss cost** = (cold cycles − warm cycles) / misses;
//! * the requirement: IOMMU on with 4 KiB pages costs ≤ 3 % of the Bare throughput for every
//!   transfer of 4 KiB or more (cold IOTLB, the honest case).

use crate::new_soc;
use driver::arb::{self, ArbMode};
use driver::dmac::{Completion, Dmac};
use driver::iommu::{DeviceId, Iommu, IommuMode};
use driver::pgtable::{PageTable, Perm};
use driver::PageAllocator;
use regs::sv32::SUPERPAGE_SIZE;
use regs::PAGE_BYTES;
use serde::Serialize;
use sim::Soc;

/// The IOMMU settings compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Setting {
    /// Global Bare: no translation (`iommu=off`).
    Off,
    /// DDT mode, the memcpy device's context Bare (`iommu=pt`).
    Passthrough,
    /// DDT mode, Sv32 with 4 KiB pages.
    Pages4K,
    /// DDT mode, Sv32 with 4 MiB superpages.
    Superpages,
}

impl Setting {
    pub const ALL: [Setting; 4] = [
        Setting::Off,
        Setting::Passthrough,
        Setting::Pages4K,
        Setting::Superpages,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Setting::Off => "off (global Bare)",
            Setting::Passthrough => "pt (device Bare)",
            Setting::Pages4K => "on, 4 KiB pages",
            Setting::Superpages => "on, 4 MiB superpages",
        }
    }
}

pub const SIZES: [u32; 3] = [4096, 16384, 65536];
const SRC_PA: u32 = 0x1_0000;
const DST_PA: u32 = 0x4_0000;
const BUF_BYTES: u32 = 0x1_0000;
/// IOVAs the translated settings use: far from the physical addresses, so a missing
/// translation could not go unnoticed.
const IOVA_BASE: u32 = 0x8000_0000;
const BUDGET: u64 = 2_000_000;

/// One measured copy.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub setting: Setting,
    pub label: &'static str,
    pub bytes: u32,
    /// Cold IOTLB: START to interrupt.
    pub cycles_cold: u64,
    /// The same copy again, IOTLB warm.
    pub cycles_warm: u64,
    pub copied_bytes_per_cycle: f64,
    pub iotlb_hits: u64,
    pub iotlb_misses: u64,
    /// Misses in the warm copy (0 when the IOTLB holds every page of the copy).
    pub warm_misses: u64,
    pub walk_cycles: u64,
    pub hit_rate: f64,
    /// Throughput lost against the Bare setting, cold IOTLB (0.01 = 1 %).
    pub cost_vs_off: f64,
}

/// The whole benchmark.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub rows: Vec<Row>,
    /// Extra cycles per hit (warm 4 KiB-page copy against Bare, per translated beat).
    pub hit_cost_cycles: f64,
    /// Cycles per IOTLB miss (cold − warm, per miss), 4 KiB pages.
    pub miss_cost_cycles: f64,
    pub failures: Vec<String>,
}

struct Setup {
    soc: Soc,
    iommu: Iommu,
    src: u32,
    dst: u32,
}

fn setup(setting: Setting) -> Setup {
    let mut soc = new_soc();
    let mut mm = PageAllocator::from_device(&mut soc).expect("allocator");
    mm.reserve(SRC_PA, BUF_BYTES / PAGE_BYTES).expect("src");
    mm.reserve(DST_PA, BUF_BYTES / PAGE_BYTES).expect("dst");
    mm.reserve(crate::WORKLOAD_BASE, 0x1_0000 / PAGE_BYTES)
        .expect("workload");
    let mut iommu = Iommu::new();
    iommu
        .enable_command_queue(&mut soc, &mut mm, 64)
        .expect("command queue");
    let dev = DeviceId::MEMCPY0;
    let (src, dst) = match setting {
        Setting::Off => {
            iommu
                .set_mode(&mut soc, &mut mm, IommuMode::Bare)
                .expect("mode");
            (SRC_PA, DST_PA)
        }
        Setting::Passthrough => {
            iommu
                .set_mode(&mut soc, &mut mm, IommuMode::Ddt)
                .expect("mode");
            iommu.set_device_bare(&mut soc, dev).expect("pt");
            (SRC_PA, DST_PA)
        }
        Setting::Pages4K | Setting::Superpages => {
            iommu
                .set_mode(&mut soc, &mut mm, IommuMode::Ddt)
                .expect("mode");
            let mut pt = PageTable::new(&mut soc, &mut mm).expect("page table");
            if setting == Setting::Superpages {
                // RAM is 1 MiB: one superpage at PA 0 covers it.
                pt.map_superpage(&mut soc, IOVA_BASE, 0, Perm::ReadWrite)
                    .expect("superpage");
            } else {
                for off in (0..BUF_BYTES).step_by(PAGE_BYTES as usize) {
                    pt.map(
                        &mut soc,
                        &mut mm,
                        IOVA_BASE + SRC_PA + off,
                        SRC_PA + off,
                        Perm::ReadOnly,
                    )
                    .expect("map src");
                    pt.map(
                        &mut soc,
                        &mut mm,
                        IOVA_BASE + DST_PA + off,
                        DST_PA + off,
                        Perm::ReadWrite,
                    )
                    .expect("map dst");
                }
            }
            const {
                assert!(
                    SRC_PA + BUF_BYTES <= SUPERPAGE_SIZE && DST_PA + BUF_BYTES <= SUPERPAGE_SIZE
                )
            };
            iommu
                .set_device_sv32(&mut soc, dev, pt.root_pa())
                .expect("sv32");
            (IOVA_BASE + SRC_PA, IOVA_BASE + DST_PA)
        }
    };
    arb::set_mode(&mut soc, ArbMode::Burst { cap: 0 });
    Setup {
        soc,
        iommu,
        src,
        dst,
    }
}

/// One copy: cycles from START to the interrupt, from the pins.
fn copy(s: &mut Setup, bytes: u32) -> u64 {
    let mut dmac = Dmac::new();
    dmac.start(&mut s.soc, s.src, s.dst, bytes, true)
        .expect("start");
    s.soc.clear_observed();
    assert!(
        s.soc.run_until_irq(BUDGET),
        "no interrupt: {}",
        driver::Device::describe_state(&s.soc)
    );
    let cycles = s.soc.observed().total_cycles;
    let outcome = dmac
        .wait(&mut s.soc, Completion::Irq, 1)
        .expect("memcpy result");
    assert_eq!(outcome.bytes, bytes);
    cycles
}

/// Runs every setting and size.
pub fn run() -> Report {
    let mut rows = vec![];
    for setting in Setting::ALL {
        let mut s = setup(setting);
        for bytes in SIZES {
            s.iommu.invalidate_all(&mut s.soc).expect("flush");
            s.iommu.clear_counters(&mut s.soc);
            let cycles_cold = copy(&mut s, bytes);
            let c = s.iommu.read_counters(&mut s.soc);
            s.iommu.clear_counters(&mut s.soc);
            let cycles_warm = copy(&mut s, bytes);
            let warm_misses = s.iommu.read_counters(&mut s.soc).iotlb_misses;
            let translated = c.iotlb_hits + c.iotlb_misses;
            rows.push(Row {
                setting,
                label: setting.label(),
                bytes,
                cycles_cold,
                cycles_warm,
                copied_bytes_per_cycle: bytes as f64 / cycles_cold as f64,
                iotlb_hits: c.iotlb_hits,
                iotlb_misses: c.iotlb_misses,
                warm_misses,
                walk_cycles: c.walk_cycles,
                hit_rate: if translated == 0 {
                    0.0
                } else {
                    c.iotlb_hits as f64 / translated as f64
                },
                cost_vs_off: 0.0,
            });
        }
    }
    let off: Vec<(u32, u64)> = rows
        .iter()
        .filter(|r| r.setting == Setting::Off)
        .map(|r| (r.bytes, r.cycles_cold))
        .collect();
    let off_cycles = |bytes: u32| {
        off.iter()
            .find(|(b, _)| *b == bytes)
            .map(|(_, c)| *c)
            .expect("Bare row")
    };
    let costs: Vec<f64> = rows
        .iter()
        .map(|r| 1.0 - off_cycles(r.bytes) as f64 / r.cycles_cold as f64)
        .collect();
    for (r, c) in rows.iter_mut().zip(costs) {
        r.cost_vs_off = c;
    }
    let pages: Vec<&Row> = rows
        .iter()
        .filter(|r| r.setting == Setting::Pages4K)
        .collect();
    // Only copies whose pages all fit the IOTLB: their warm run is hits only.
    let all_hits: Vec<&&Row> = pages.iter().filter(|r| r.warm_misses == 0).collect();
    let hit_cost_cycles = all_hits
        .iter()
        .map(|r| (r.cycles_warm as f64 - off_cycles(r.bytes) as f64) / (r.bytes / 2) as f64)
        .fold(f64::MIN, f64::max);
    let miss_cost_cycles = all_hits
        .iter()
        .map(|r| (r.cycles_cold as f64 - r.cycles_warm as f64) / r.iotlb_misses.max(1) as f64)
        .sum::<f64>()
        / all_hits.len().max(1) as f64;
    let failures = pages
        .iter()
        .filter(|r| r.cost_vs_off > 0.03)
        .map(|r| {
            format!(
                "IOMMU on (4 KiB pages), {} B: {:.2} % of burst throughput lost > 3 %",
                r.bytes,
                100.0 * r.cost_vs_off
            )
        })
        .collect();
    Report {
        rows,
        hit_cost_cycles,
        miss_cost_cycles,
        failures,
    }
}

/// The report as a Markdown table.
pub fn markdown(r: &Report) -> String {
    let mut md = String::from(
        "Generated by `make bench` (memcpy, burst mode uncapped, CPU idle; cold = IOTLB flushed \
         before the copy, warm = the same copy again).\n\n\
         | IOMMU | transfer | cycles cold | cycles warm | bytes/cycle (cold) | IOTLB hits | misses | hit rate | walk cycles | misses warm | cost vs off |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in &r.rows {
        md += &format!(
            "| {} | {} | {} | {} | {:.3} | {} | {} | {:.4} | {} | {} | {:.2} % |\n",
            row.label,
            crate::study::human_bytes(row.bytes),
            row.cycles_cold,
            row.cycles_warm,
            row.copied_bytes_per_cycle,
            row.iotlb_hits,
            row.iotlb_misses,
            row.hit_rate,
            row.walk_cycles,
            row.warm_misses,
            100.0 * row.cost_vs_off
        );
    }
    md += &format!(
        "\nIOTLB hit cost: {:+.3} cycles per translated beat (warm copies whose pages all fit \
         the IOTLB, against Bare). Miss cost: {:.1} cycles per miss (cold − warm over the \
         misses of those copies: two PTE reads and the retry; the first access of a device \
         also fetches its device context). A translated bus beat counts as a hit, or as a miss \
         (the walk; its retry is not counted again), so the hit rate is hits / (hits + misses); \
         only an invalidation between a walk and its retry makes one beat miss twice.\n",
        r.hit_cost_cycles, r.miss_cost_cycles
    );
    if r.failures.is_empty() {
        md += "\nRequirement met: IOMMU on with 4 KiB pages costs ≤ 3 % of burst throughput for every transfer ≥ 4 KiB.\n";
    } else {
        md += &format!("\nMISSED: {}\n", r.failures.join("; "));
    }
    md
}
