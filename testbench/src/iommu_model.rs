//! Reference model of the IOMMU's Sv32 translation (docs/iommu.md, "The Sv32 walk"): what the
//! hardware walker must answer for one device access, and which page-table words it reads to
//! get there.
//!
//! The walk is the RISC-V privileged architecture's "Virtual Address Translation Process" for
//! Sv32 (LEVELS = 2, PTESIZE = 4, PAGESIZE = 4096), with these choices for a DMA requester:
//!
//! * **A/D are never updated by hardware** (the spec's Svade behaviour): A=0, or D=0 on a write,
//!   is a page fault. Software sets A (and D for writable pages) when it maps.
//! * **X is ignored**: devices neither fetch instructions nor need X; a leaf with X=1 and R=0 is
//!   still a leaf (and so cannot be read).
//! * **U is ignored**: a device request carries no privilege mode here (no process IDs, no
//!   supervisor/user distinction), so the spec's U/SUM check has nothing to compare against; the
//!   walker neither requires nor rejects U=1, and the driver may leave it clear.
//! * G and RSW are ignored (G only matters to invalidation, which this model does not cache).
//! * Physical memory is one RAM from 0 to `ram_bytes`: a PTE read or the final access outside it
//!   is an access fault for the original access type (steps 2 and the final PMA check of the
//!   spec's walk), cause 5 for reads, 7 for writes. Page faults are 13 for reads, 15 for writes.
//!
//! Order of the checks (the spec's step order): PTE read in RAM; V=0 or R=0 & W=1; non-leaf at
//! level 0; misaligned superpage; permission (R for reads, W for writes); A, and D for writes;
//! final address in RAM.

use regs::iommu_cause::FaultCause;
use regs::sv32::{self, pte};
use std::collections::HashMap;

/// What the device does at the IOVA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    fn page_fault(self) -> FaultCause {
        match self {
            Access::Read => FaultCause::ReadPageFault,
            Access::Write => FaultCause::WritePageFault,
        }
    }

    fn access_fault(self) -> FaultCause {
        match self {
            Access::Read => FaultCause::ReadAccessFault,
            Access::Write => FaultCause::WriteAccessFault,
        }
    }
}

/// Physical memory as the walker sees it: 32-bit little-endian words at word-aligned byte
/// addresses.
pub trait PhysMem {
    fn read_u32(&self, pa: u64) -> u32;
}

/// Any `Fn(pa) -> word`.
impl<F: Fn(u64) -> u32> PhysMem for F {
    fn read_u32(&self, pa: u64) -> u32 {
        self(pa)
    }
}

/// A sparse memory keyed by byte address; missing words read as 0.
impl PhysMem for HashMap<u64, u32> {
    fn read_u32(&self, pa: u64) -> u32 {
        self.get(&pa).copied().unwrap_or(0)
    }
}

/// A dense memory: word `i` is at byte address `4 * i`; words past the end read as 0.
impl PhysMem for [u32] {
    fn read_u32(&self, pa: u64) -> u32 {
        usize::try_from(pa / 4)
            .ok()
            .and_then(|i| self.get(i).copied())
            .unwrap_or(0)
    }
}

/// A successful translation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Translation {
    /// The physical address (34-bit space).
    pub pa: u64,
    /// The leaf was at level 1: a 4 MiB superpage.
    pub superpage: bool,
    /// The PTE reads the walk made, in order (root level first).
    pub pte_addrs: Vec<u64>,
}

/// A refused access: what goes into the fault record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub cause: FaultCause,
    pub iova: u32,
    /// The page-table level the walk was at when it stopped (1 = root, 0 = last level).
    pub level: u32,
}

/// Translates `iova` for `access` through the Sv32 tables whose root is page `root_ppn`, in a
/// memory of `ram_bytes` bytes starting at 0. See the module documentation for the rules.
pub fn translate<M: PhysMem + ?Sized>(
    mem: &M,
    ram_bytes: u64,
    root_ppn: u32,
    iova: u32,
    access: Access,
) -> Result<Translation, Fault> {
    let fault = |cause, level| Fault { cause, iova, level };
    let mut table = sv32::ppn_to_pa(root_ppn);
    let mut pte_addrs = Vec::with_capacity(sv32::LEVELS as usize);
    let mut level = sv32::LEVELS - 1;
    loop {
        let addr = table + (sv32::vpn(iova, level) * sv32::PTE_SIZE) as u64;
        if addr >= ram_bytes {
            return Err(fault(access.access_fault(), level));
        }
        pte_addrs.push(addr);
        let e = mem.read_u32(addr);
        if e & pte::V == 0 || pte::is_reserved_rw(e) {
            return Err(fault(access.page_fault(), level));
        }
        if pte::is_leaf(e) {
            if level > 0 && pte::ppn0(e) != 0 {
                // Misaligned superpage.
                return Err(fault(access.page_fault(), level));
            }
            let needed = match access {
                Access::Read => pte::R | pte::A,
                Access::Write => pte::W | pte::A | pte::D,
            };
            if e & needed != needed {
                return Err(fault(access.page_fault(), level));
            }
            let superpage = level == 1;
            let pa = if superpage {
                pte::pa(e) + sv32::superpage_offset(iova) as u64
            } else {
                pte::pa(e) + sv32::page_offset(iova) as u64
            };
            if pa >= ram_bytes {
                return Err(fault(access.access_fault(), level));
            }
            return Ok(Translation {
                pa,
                superpage,
                pte_addrs,
            });
        }
        if level == 0 {
            // A pointer where a leaf must be.
            return Err(fault(access.page_fault(), level));
        }
        level -= 1;
        table = pte::pa(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// 64 MiB of RAM for most tests: room for a 4 MiB superpage well inside it.
    const RAM: u64 = 64 << 20;
    const ROOT: u32 = 0x10;
    /// Leaf flags of an ordinary read-write mapping.
    const RW: u32 = pte::V | pte::R | pte::W | pte::A | pte::D;
    const RO: u32 = pte::V | pte::R | pte::A;

    /// Maps `iova` to `pa` with leaf `flags` (taken as they are: V is not added). A 4 KiB mapping
    /// uses the level-0 table the root entry points at, or makes one at page `*next_table`
    /// (which then advances).
    fn map(
        mem: &mut HashMap<u64, u32>,
        root: u32,
        iova: u32,
        pa: u64,
        flags: u32,
        superpage: bool,
        next_table: &mut u32,
    ) {
        let root_addr = sv32::pte_addr(root, iova, 1);
        if superpage {
            mem.insert(root_addr, pte::new(sv32::pa_to_ppn(pa), flags));
            return;
        }
        let mut l1 = mem.get(&root_addr).copied().unwrap_or(0);
        if l1 & pte::V == 0 {
            l1 = pte::new(*next_table, pte::V);
            *next_table += 1;
            mem.insert(root_addr, l1);
        }
        assert!(!pte::is_leaf(l1), "{iova:#x} is inside a superpage");
        mem.insert(
            sv32::pte_addr(pte::ppn(l1), iova, 0),
            pte::new(sv32::pa_to_ppn(pa), flags),
        );
    }

    /// One mapping in a fresh memory; returns the memory.
    fn one(iova: u32, pa: u64, flags: u32, superpage: bool) -> HashMap<u64, u32> {
        let mut mem = HashMap::new();
        let mut next = ROOT + 1;
        map(&mut mem, ROOT, iova, pa, flags, superpage, &mut next);
        mem
    }

    fn fault(cause: FaultCause, iova: u32, level: u32) -> Result<Translation, Fault> {
        Err(Fault { cause, iova, level })
    }

    #[test]
    fn a_4k_mapping_translates_page_and_offset() {
        let mem = one(0x1234_5000, 0x0020_7000, RW, false);
        for access in [Access::Read, Access::Write] {
            let t = translate(&mem, RAM, ROOT, 0x1234_5ABC, access).unwrap();
            assert_eq!(t.pa, 0x0020_7ABC);
            assert!(!t.superpage);
            assert_eq!(t.pte_addrs.len(), 2);
        }
    }

    #[test]
    fn a_superpage_translates_with_its_22_bit_offset() {
        let mem = one(0x8040_0000, 0x0080_0000, RW, true);
        let t = translate(&mem, RAM, ROOT, 0x805F_F124, Access::Write).unwrap();
        assert_eq!(
            t,
            Translation {
                pa: 0x009F_F124,
                superpage: true,
                pte_addrs: vec![sv32::ppn_to_pa(ROOT) + (0x8040_0000u64 >> 22) * 4],
            }
        );
    }

    #[test]
    fn the_walk_reads_root_then_level_0_pte() {
        let iova = 0xC03F_E010;
        let mut mem = HashMap::new();
        let mut next = 0x77;
        map(&mut mem, ROOT, iova, 0x3000, RO, false, &mut next);
        let t = translate(&mem, RAM, ROOT, iova, Access::Read).unwrap();
        let (vpn1, vpn0) = (iova as u64 >> 22, (iova as u64 >> 12) & 0x3FF);
        assert_eq!(
            t.pte_addrs,
            vec![ROOT as u64 * 4096 + vpn1 * 4, 0x77 * 4096 + vpn0 * 4]
        );
        assert_eq!(t.pa, 0x3010);
    }

    #[test]
    fn an_invalid_root_pte_is_a_page_fault_at_level_1() {
        let mem = HashMap::new();
        assert_eq!(
            translate(&mem, RAM, ROOT, 0x1000, Access::Read),
            fault(FaultCause::ReadPageFault, 0x1000, 1)
        );
        assert_eq!(
            translate(&mem, RAM, ROOT, 0x1000, Access::Write),
            fault(FaultCause::WritePageFault, 0x1000, 1)
        );
    }

    #[test]
    fn an_invalid_leaf_pte_is_a_page_fault_at_level_0() {
        let mem = one(0x5000, 0x9000, RW & !pte::V, false);
        assert_eq!(
            translate(&mem, RAM, ROOT, 0x5004, Access::Read),
            fault(FaultCause::ReadPageFault, 0x5004, 0)
        );
    }

    #[test]
    fn write_without_read_is_a_reserved_encoding_and_a_page_fault() {
        let flags = pte::V | pte::W | pte::A | pte::D;
        let mem = one(0x5000, 0x9000, flags, false);
        assert_eq!(
            translate(&mem, RAM, ROOT, 0x5000, Access::Write),
            fault(FaultCause::WritePageFault, 0x5000, 0)
        );
        // Also at level 1, where R=W=X=0 would otherwise mean "pointer".
        let mem = one(0x0040_0000, 0x0080_0000, flags, true);
        assert_eq!(
            translate(&mem, RAM, ROOT, 0x0040_0000, Access::Read),
            fault(FaultCause::ReadPageFault, 0x0040_0000, 1)
        );
    }

    #[test]
    fn a_pointer_at_level_0_is_a_page_fault() {
        let mem = one(0x5000, 0x9000, pte::V, false);
        assert_eq!(
            translate(&mem, RAM, ROOT, 0x5000, Access::Read),
            fault(FaultCause::ReadPageFault, 0x5000, 0)
        );
    }

    #[test]
    fn a_misaligned_superpage_is_a_page_fault() {
        let mem = one(0x0040_0000, 0x0080_1000, RW, true);
        assert_eq!(
            translate(&mem, RAM, ROOT, 0x0040_0000, Access::Read),
            fault(FaultCause::ReadPageFault, 0x0040_0000, 1)
        );
        assert_eq!(
            translate(&mem, RAM, ROOT, 0x0040_0000, Access::Write),
            fault(FaultCause::WritePageFault, 0x0040_0000, 1)
        );
    }

    #[test]
    fn read_from_a_page_without_r_is_a_read_page_fault() {
        // Execute-only: a leaf (X=1) that is not readable.
        let mem = one(0x5000, 0x9000, pte::V | pte::X | pte::A, false);
        assert_eq!(
            translate(&mem, RAM, ROOT, 0x5000, Access::Read),
            fault(FaultCause::ReadPageFault, 0x5000, 0)
        );
    }

    #[test]
    fn write_to_read_only_page_is_a_write_page_fault() {
        let mem = one(0x5000, 0x9000, RO | pte::D, false);
        assert_eq!(
            translate(&mem, RAM, ROOT, 0x5008, Access::Write),
            fault(FaultCause::WritePageFault, 0x5008, 0)
        );
        assert_eq!(
            translate(&mem, RAM, ROOT, 0x5008, Access::Read).map(|t| t.pa),
            Ok(0x9008)
        );
    }

    #[test]
    fn x_does_not_grant_or_deny_dma_access() {
        let mem = one(0x5000, 0x9000, RW | pte::X, false);
        for access in [Access::Read, Access::Write] {
            assert_eq!(
                translate(&mem, RAM, ROOT, 0x5000, access).map(|t| t.pa),
                Ok(0x9000)
            );
        }
    }

    #[test]
    fn access_with_a_clear_is_a_page_fault() {
        let mem = one(0x5000, 0x9000, RW & !pte::A, false);
        assert_eq!(
            translate(&mem, RAM, ROOT, 0x5000, Access::Read),
            fault(FaultCause::ReadPageFault, 0x5000, 0)
        );
        assert_eq!(
            translate(&mem, RAM, ROOT, 0x5000, Access::Write),
            fault(FaultCause::WritePageFault, 0x5000, 0)
        );
    }

    #[test]
    fn write_with_d_clear_is_a_write_page_fault_but_reads_pass() {
        let mem = one(0x5000, 0x9000, RW & !pte::D, false);
        assert_eq!(
            translate(&mem, RAM, ROOT, 0x5000, Access::Write),
            fault(FaultCause::WritePageFault, 0x5000, 0)
        );
        assert_eq!(
            translate(&mem, RAM, ROOT, 0x5000, Access::Read).map(|t| t.pa),
            Ok(0x9000)
        );
    }

    #[test]
    fn u_is_ignored_for_devices() {
        for flags in [RW, RW | pte::U] {
            let mem = one(0x5000, 0x9000, flags, false);
            for access in [Access::Read, Access::Write] {
                assert_eq!(
                    translate(&mem, RAM, ROOT, 0x5000, access).map(|t| t.pa),
                    Ok(0x9000)
                );
            }
        }
    }

    #[test]
    fn a_page_outside_ram_is_an_access_fault() {
        // 1 MiB of RAM; the page at 0x10_0000 is the first past the end.
        let ram = 1 << 20;
        let mem = one(0x5000, 0x10_0000, RW, false);
        assert_eq!(
            translate(&mem, ram, ROOT, 0x5000, Access::Read),
            fault(FaultCause::ReadAccessFault, 0x5000, 0)
        );
        assert_eq!(
            translate(&mem, ram, ROOT, 0x5000, Access::Write),
            fault(FaultCause::WriteAccessFault, 0x5000, 0)
        );
        // A superpage that only partly overlaps RAM: the part inside works.
        let mem = one(0, 0, RW, true);
        assert_eq!(
            translate(&mem, ram, ROOT, 0x000F_FFFC, Access::Read).map(|t| t.pa),
            Ok(0x000F_FFFC)
        );
        assert_eq!(
            translate(&mem, ram, ROOT, 0x0010_0000, Access::Read),
            fault(FaultCause::ReadAccessFault, 0x0010_0000, 1)
        );
    }

    #[test]
    fn a_page_table_outside_ram_is_an_access_fault() {
        let ram = 1 << 20;
        let mem = HashMap::new();
        assert_eq!(
            translate(&mem, ram, 0x100, 0x5000, Access::Write),
            fault(FaultCause::WriteAccessFault, 0x5000, 1)
        );
        let mut mem = HashMap::new();
        mem.insert(sv32::pte_addr(ROOT, 0x5000, 1), pte::new(0x100, pte::V));
        assert_eq!(
            translate(&mem, ram, ROOT, 0x5000, Access::Read),
            fault(FaultCause::ReadAccessFault, 0x5000, 0)
        );
    }

    #[test]
    fn pas_use_all_34_bits() {
        let pa = 0x3_FFFF_F000u64;
        let mem = one(0x5000, pa, RW, false);
        let t = translate(&mem, 1 << 34, ROOT, 0x5FFC, Access::Read).unwrap();
        assert_eq!(t.pa, pa + 0xFFC);
    }

    #[test]
    fn a_dense_memory_and_a_closure_work_as_memories() {
        let map = one(0x5000, 0x9000, RO, false);
        let mut dense = vec![0u32; (RAM / 4) as usize];
        for (&a, &w) in &map {
            dense[(a / 4) as usize] = w;
        }
        let closure = |pa: u64| map.get(&pa).copied().unwrap_or(0);
        let want = translate(&map, RAM, ROOT, 0x5010, Access::Read);
        assert_eq!(want.as_ref().map(|t| t.pa), Ok(0x9010));
        assert_eq!(
            translate(dense.as_slice(), RAM, ROOT, 0x5010, Access::Read),
            want
        );
        assert_eq!(translate(&closure, RAM, ROOT, 0x5010, Access::Read), want);
    }

    /// Random 4 KiB pages and superpages with random permissions: every mapped word translates
    /// to where it was mapped with the permissions it was given, and unmapped pages fault.
    #[test]
    fn random_mappings_round_trip() {
        let ram: u64 = 1 << 30;
        for seed in 0..20u64 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut mem = HashMap::new();
            let mut next_table = ROOT + 1;
            // iova page -> (pa page, writable, superpage)
            let mut mapped: HashMap<u32, (u64, bool, bool)> = HashMap::new();
            // A few superpages in the top 64 VPN[1] slots, 4 KiB pages below.
            for _ in 0..rng.gen_range(0..4) {
                let vpn1 = rng.gen_range(960..1024u32);
                let iova = vpn1 << 22;
                if mapped.contains_key(&iova) {
                    continue;
                }
                let pa = rng.gen_range(0..(ram >> 22)) << 22;
                let writable = rng.gen_bool(0.5);
                let flags = if writable { RW } else { RO };
                map(&mut mem, ROOT, iova, pa, flags, true, &mut next_table);
                mapped.insert(iova, (pa, writable, true));
            }
            for _ in 0..200 {
                let iova = rng.gen_range(0..(960u32 << 10)) << 12;
                if mapped.contains_key(&iova) {
                    continue;
                }
                let pa = rng.gen_range(0x1000..(ram >> 12)) << 12;
                let writable = rng.gen_bool(0.5);
                let flags = if writable { RW } else { RO };
                map(&mut mem, ROOT, iova, pa, flags, false, &mut next_table);
                mapped.insert(iova, (pa, writable, false));
            }

            for (&base, &(pa, writable, superpage)) in &mapped {
                let span = if superpage {
                    sv32::SUPERPAGE_SIZE
                } else {
                    sv32::PAGE_SIZE
                };
                let off = rng.gen_range(0..span / 4) * 4;
                let iova = base + off;
                let t = translate(&mem, ram, ROOT, iova, Access::Read).unwrap();
                assert_eq!((t.pa, t.superpage), (pa + off as u64, superpage));
                assert_eq!(t.pte_addrs.len(), if superpage { 1 } else { 2 });
                assert_eq!(t.pte_addrs[0], sv32::pte_addr(ROOT, iova, 1));
                let w = translate(&mem, ram, ROOT, iova, Access::Write);
                if writable {
                    assert_eq!(w, Ok(t));
                } else {
                    assert_eq!(
                        w,
                        fault(FaultCause::WritePageFault, iova, u32::from(superpage))
                    );
                }
            }

            // Pages nobody mapped: a 4 KiB slot next to a mapped one, or an empty root slot.
            for _ in 0..50 {
                let iova = rng.gen_range(0..(960u32 << 10)) << 12;
                if mapped.contains_key(&iova) {
                    continue;
                }
                let level = if mem.contains_key(&sv32::pte_addr(ROOT, iova, 1)) {
                    0
                } else {
                    1
                };
                assert_eq!(
                    translate(&mem, ram, ROOT, iova, Access::Read),
                    fault(FaultCause::ReadPageFault, iova, level)
                );
            }
        }
    }
}
