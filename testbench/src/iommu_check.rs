//! The IOMMU scoreboard: every DMA-side bus beat the harness logged (`Soc::set_dma_log`) is
//! checked against the reference model ([`crate::iommu_model`]) and against the driver's
//! mappings (the shadow-memory check, docs/verification.md, "1. Shadow memory").
//!
//! * A **device beat** of a translated device must carry exactly the physical address the
//!   reference walk gives for its IOVA and access type (docs/verification.md, "2. No
//!   untranslated address from a translated device"); a faulting access must never appear on
//!   the bus. A Bare (passthrough) device's beat carries its IOVA unchanged.
//! * **Shadow memory**: a device beat may only touch physical memory the driver mapped for that
//!   device with a compatible direction at the time (`allowed`), unless the test says the device
//!   is unprotected (Bare), where the point is to show what it can reach.
//! * An **IOMMU beat** (walk, device context, fault record, command, fence) may read anything
//!   but write only into the regions the driver gave it (fault queue, fence words).

use crate::iommu_model::{translate, Access, Fault};
use sim::{DmaBeat, Soc};
use std::ops::Range;

/// How the IOMMU treats a device, as the testbench configured it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceView {
    /// Global Off or a device context with V=0: nothing of it may reach the bus.
    Blocked,
    /// Global Bare or a passthrough device context: PA = IOVA.
    Bare,
    /// Sv32 with the root table at this physical page number.
    Sv32 { root_ppn: u32 },
}

impl DeviceView {
    /// How the IOMMU must treat device `dev` with `ddtp` in force and the device directory
    /// in `ram`: the reference decode of `DDTP` and the device context (`regs::iommu::dc`),
    /// independent of the rtl and the driver. A context that is not valid, has reserved
    /// bits set, or lies outside RAM blocks the device (its accesses fault).
    pub fn from_tables(ram: &[u32], ddtp: u32, dev: u8) -> DeviceView {
        use regs::iommu::{dc, ddtp as d};
        match ddtp & d::MODE_MASK {
            d::MODE_BARE => DeviceView::Bare,
            d::MODE_1LVL => {
                let at = ((ddtp >> d::PPN_SHIFT) as usize) * 1024 + 2 * dev as usize;
                let (Some(&tc), Some(&fsc)) = (ram.get(at), ram.get(at + 1)) else {
                    return DeviceView::Blocked;
                };
                if tc & dc::TC_V == 0 || tc & dc::TC_RESERVED != 0 || fsc & dc::FSC_RESERVED != 0 {
                    DeviceView::Blocked
                } else if fsc & dc::FSC_SV32 == 0 {
                    DeviceView::Bare
                } else {
                    DeviceView::Sv32 {
                        root_ppn: fsc & dc::FSC_PPN_MASK,
                    }
                }
            }
            _ => DeviceView::Blocked,
        }
    }
}

/// A physical range a device may access, from the driver's bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowed {
    pub dev: u8,
    pub range: Range<u32>,
    pub read: bool,
    pub write: bool,
}

/// What the check saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BeatSummary {
    pub device_reads: usize,
    pub device_writes: usize,
    /// Device beats whose PA was checked against the reference walk.
    pub translated: usize,
    pub iommu_reads: usize,
    pub iommu_writes: usize,
}

/// A snapshot of host RAM, read through the host port (the reference walk reads page tables
/// from it). Take it while the page tables are the ones the logged beats were translated with.
pub fn ram_snapshot(soc: &mut Soc) -> Vec<u32> {
    let words = (regs::SocConfig::SIM.bytes() / 4) as usize;
    let mut ram = vec![0u32; words];
    soc.host_read_block(0, &mut ram);
    ram
}

/// The reference model's answer for one device access.
pub fn expected_pa(ram: &[u32], view: DeviceView, iova: u32, write: bool) -> Result<u32, Fault> {
    let ram_bytes = (ram.len() * 4) as u64;
    let access = if write { Access::Write } else { Access::Read };
    match view {
        DeviceView::Blocked => Err(Fault {
            cause: regs::iommu_cause::FaultCause::AllDisallowed,
            iova,
            level: 0,
        }),
        // No translation, but the address must still be RAM (an access fault otherwise).
        DeviceView::Bare if u64::from(iova) < ram_bytes => Ok(iova),
        DeviceView::Bare => Err(Fault {
            cause: if write {
                regs::iommu_cause::FaultCause::WriteAccessFault
            } else {
                regs::iommu_cause::FaultCause::ReadAccessFault
            },
            iova,
            level: 0,
        }),
        DeviceView::Sv32 { root_ppn } => {
            translate(ram, ram_bytes, root_ppn, iova, access).map(|t| t.pa as u32)
        }
    }
}

/// Checks every beat in `beats`; returns a summary or one line per violation.
///
/// `view(dev)` says how the IOMMU treats each device; `allowed` is the driver's mappings
/// (ignored for devices for which `unprotected(dev)` is true); `iommu_writable` are the
/// regions the IOMMU itself may write.
pub fn check_beats(
    beats: &[DmaBeat],
    ram: &[u32],
    view: impl Fn(u8) -> DeviceView,
    allowed: &[Allowed],
    unprotected: impl Fn(u8) -> bool,
    iommu_writable: &[Range<u32>],
) -> Result<BeatSummary, Vec<String>> {
    let mut s = BeatSummary::default();
    let mut errors = vec![];
    for b in beats {
        if b.iommu {
            if b.we {
                s.iommu_writes += 1;
                if !iommu_writable.iter().any(|r| r.contains(&b.pa)) {
                    errors.push(format!(
                        "cycle {}: IOMMU wrote {:#010x} outside its queues",
                        b.cycle, b.pa
                    ));
                }
            } else {
                s.iommu_reads += 1;
            }
            continue;
        }
        if b.we {
            s.device_writes += 1;
        } else {
            s.device_reads += 1;
        }
        let v = view(b.dev);
        match expected_pa(ram, v, b.iova, b.we) {
            Ok(pa) if pa == b.pa => {
                if matches!(v, DeviceView::Sv32 { .. }) {
                    s.translated += 1;
                }
            }
            Ok(pa) => errors.push(format!(
                "cycle {}: device {} {} IOVA {:#010x} went to PA {:#010x}, the model says {:#010x}",
                b.cycle,
                b.dev,
                if b.we { "write" } else { "read" },
                b.iova,
                b.pa,
                pa
            )),
            Err(f) => errors.push(format!(
                "cycle {}: device {} {} IOVA {:#010x} reached the bus at PA {:#010x}; the model \
                 says it faults ({})",
                b.cycle,
                b.dev,
                if b.we { "write" } else { "read" },
                b.iova,
                b.pa,
                f.cause.name()
            )),
        }
        if !unprotected(b.dev) {
            let ok = allowed.iter().any(|a| {
                a.dev == b.dev && a.range.contains(&b.pa) && if b.we { a.write } else { a.read }
            });
            if !ok {
                errors.push(format!(
                    "cycle {}: device {} {} PA {:#010x} (IOVA {:#010x}) is not mapped for it",
                    b.cycle,
                    b.dev,
                    if b.we { "wrote" } else { "read" },
                    b.pa,
                    b.iova
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(s)
    } else {
        Err(errors)
    }
}
