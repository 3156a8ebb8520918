//! An Sv32 page table in host RAM: the translation of one IOMMU domain (one translated
//! device), in the format of [`regs::sv32`].
//!
//! ```text
//!  device context FSC.PPN ──► root table (1 page, 1024 PTEs, indexed by VPN[1])
//!                               │ leaf (R set): a 4 MiB superpage
//!                               └ pointer (V only) ──► level-0 table (1 page, indexed by VPN[0])
//!                                                        └ leaf: a 4 KiB page
//! ```
//!
//! What the builder writes, and why:
//! * Leaves get V, R, A, and W with D for writable pages. The IOMMU never sets A or D itself
//!   (a leaf without A, or a write through a leaf without D, is a page fault), so software sets
//!   them up front. W without R is a reserved encoding in Sv32, so there is no write-only
//!   permission ([`Perm`]). X, U and G stay clear: devices fetch no instructions and have no
//!   privilege mode.
//! * Pointers to level-0 tables have V only (R=W=X=0 is what makes a PTE a pointer).
//! * A new table is zeroed in RAM *before* a pointer to it is written, so a walk can never see
//!   a half-built table.
//!
//! The builder keeps a shadow copy of every PTE it wrote, so it never reads RAM back; every
//! change goes to RAM at once with one [`Device::write32`]. Changing a PTE does not touch the
//! IOTLB: whoever unmaps must invalidate (see [`crate::dma`]). Level-0 tables are kept while
//! the domain lives, even when empty, and given back by [`PageTable::destroy`].

use std::collections::BTreeMap;

use regs::sv32::{self, pte, PAGE_SIZE, PTES_PER_TABLE, PTE_SIZE, SUPERPAGE_SIZE};
use thiserror::Error;

use crate::mm::{zero_pages, MmError, PageAllocator};
use crate::Device;

/// What a device may do through a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Perm {
    /// The device may read.
    ReadOnly,
    /// The device may read and write (Sv32 has no write-only pages).
    ReadWrite,
}

impl Perm {
    /// The leaf PTE's flag bits: V, R, A, plus W and D when writable.
    pub const fn leaf_flags(self) -> u32 {
        match self {
            Perm::ReadOnly => pte::V | pte::R | pte::A,
            Perm::ReadWrite => pte::V | pte::R | pte::W | pte::A | pte::D,
        }
    }

    pub const fn writable(self) -> bool {
        matches!(self, Perm::ReadWrite)
    }

    /// The permission of a leaf this builder wrote.
    fn of_leaf(e: u32) -> Perm {
        if e & pte::W != 0 {
            Perm::ReadWrite
        } else {
            Perm::ReadOnly
        }
    }
}

/// One leaf mapping: `size` bytes at `iova` → `pa`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leaf {
    pub iova: u32,
    pub pa: u32,
    /// [`PAGE_SIZE`] or [`SUPERPAGE_SIZE`].
    pub size: u32,
    pub perm: Perm,
}

/// Why a page-table change was refused.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum PgTableError {
    /// The IOVA or the physical address is not aligned to the mapping's size.
    #[error("cannot map {iova:#010x} -> {pa:#010x}: both must be {align:#x}-byte aligned")]
    Misaligned { iova: u32, pa: u32, align: u32 },
    /// A leaf already maps this IOVA.
    #[error("IOVA {iova:#010x} is already mapped")]
    AlreadyMapped { iova: u32 },
    /// A 4 KiB page inside a superpage, or a superpage over a level-0 table.
    #[error("IOVA {iova:#010x}: the 4 MiB region is already used at the other page size")]
    SizeConflict { iova: u32 },
    /// No page for a table.
    #[error(transparent)]
    Mm(#[from] MmError),
}

/// A level-0 table: where it is and what it holds.
#[derive(Clone, Debug)]
struct Table {
    pa: u32,
    ptes: Vec<u32>,
}

/// The Sv32 tables of one domain, with a shadow of their contents.
#[derive(Debug)]
pub struct PageTable {
    root_pa: u32,
    root: Vec<u32>,
    /// Level-0 tables by VPN[1].
    tables: BTreeMap<u32, Table>,
}

impl PageTable {
    /// Allocates and zeroes the root table.
    pub fn new(dev: &mut dyn Device, mm: &mut PageAllocator) -> Result<Self, PgTableError> {
        let root_pa = mm.alloc(1)?;
        zero_pages(dev, root_pa, 1);
        Ok(PageTable {
            root_pa,
            root: vec![0; PTES_PER_TABLE as usize],
            tables: BTreeMap::new(),
        })
    }

    /// Physical address of the root table: what the device context's FSC points at.
    pub fn root_pa(&self) -> u32 {
        self.root_pa
    }

    /// Pages this domain holds: the root and every level-0 table.
    pub fn table_pages(&self) -> u32 {
        1 + self.tables.len() as u32
    }

    /// Maps the 4 KiB page at `iova` to the page at `pa`, allocating (zeroed) a level-0 table
    /// if this 4 MiB region has none yet.
    pub fn map(
        &mut self,
        dev: &mut dyn Device,
        mm: &mut PageAllocator,
        iova: u32,
        pa: u32,
        perm: Perm,
    ) -> Result<(), PgTableError> {
        if !(iova | pa).is_multiple_of(PAGE_SIZE) {
            return Err(PgTableError::Misaligned {
                iova,
                pa,
                align: PAGE_SIZE,
            });
        }
        let vpn1 = sv32::vpn1(iova);
        let root_pte = self.root[vpn1 as usize];
        if root_pte & pte::V != 0 && pte::is_leaf(root_pte) {
            return Err(PgTableError::SizeConflict { iova });
        }
        let vpn0 = sv32::vpn0(iova) as usize;
        if let Some(t) = self.tables.get(&vpn1) {
            if t.ptes[vpn0] & pte::V != 0 {
                return Err(PgTableError::AlreadyMapped { iova });
            }
        } else {
            let table_pa = mm.alloc(1)?;
            zero_pages(dev, table_pa, 1);
            self.tables.insert(
                vpn1,
                Table {
                    pa: table_pa,
                    ptes: vec![0; PTES_PER_TABLE as usize],
                },
            );
            self.write_root(dev, vpn1, pte::new(table_pa >> sv32::PAGE_SHIFT, pte::V));
        }
        let e = pte::new(pa >> sv32::PAGE_SHIFT, perm.leaf_flags());
        if let Some(t) = self.tables.get_mut(&vpn1) {
            dev.write32(t.pa + vpn0 as u32 * PTE_SIZE, e);
            t.ptes[vpn0] = e;
        }
        Ok(())
    }

    /// Maps the 4 MiB superpage at `iova` to `pa` with one leaf in the root table. The region
    /// must not have a level-0 table (not even an empty one).
    pub fn map_superpage(
        &mut self,
        dev: &mut dyn Device,
        iova: u32,
        pa: u32,
        perm: Perm,
    ) -> Result<(), PgTableError> {
        if !(iova | pa).is_multiple_of(SUPERPAGE_SIZE) {
            return Err(PgTableError::Misaligned {
                iova,
                pa,
                align: SUPERPAGE_SIZE,
            });
        }
        let vpn1 = sv32::vpn1(iova);
        if self.tables.contains_key(&vpn1) {
            return Err(PgTableError::SizeConflict { iova });
        }
        if self.root[vpn1 as usize] & pte::V != 0 {
            return Err(PgTableError::AlreadyMapped { iova });
        }
        self.write_root(
            dev,
            vpn1,
            pte::new(pa >> sv32::PAGE_SHIFT, perm.leaf_flags()),
        );
        Ok(())
    }

    /// Removes the leaf that maps `iova` (the 4 KiB page, or the whole superpage it lies in)
    /// and returns what it mapped; `None` if nothing did. The IOTLB may still hold the old
    /// translation until it is invalidated.
    pub fn unmap(&mut self, dev: &mut dyn Device, iova: u32) -> Option<Leaf> {
        let leaf = self.lookup(iova)?;
        let vpn1 = sv32::vpn1(iova);
        if leaf.size == SUPERPAGE_SIZE {
            self.write_root(dev, vpn1, 0);
        } else if let Some(t) = self.tables.get_mut(&vpn1) {
            let vpn0 = sv32::vpn0(iova) as usize;
            dev.write32(t.pa + vpn0 as u32 * PTE_SIZE, 0);
            t.ptes[vpn0] = 0;
        }
        Some(leaf)
    }

    /// The leaf that maps `iova`, from the shadow.
    pub fn lookup(&self, iova: u32) -> Option<Leaf> {
        let vpn1 = sv32::vpn1(iova);
        let r = self.root[vpn1 as usize];
        if r & pte::V != 0 && pte::is_leaf(r) {
            return Some(leaf_of(r, iova & !(SUPERPAGE_SIZE - 1), SUPERPAGE_SIZE));
        }
        let e = self.tables.get(&vpn1)?.ptes[sv32::vpn0(iova) as usize];
        (e & pte::V != 0).then(|| leaf_of(e, iova & !(PAGE_SIZE - 1), PAGE_SIZE))
    }

    /// Software walk: the physical address `iova` translates to, and the permission.
    pub fn translate(&self, iova: u32) -> Option<(u32, Perm)> {
        let leaf = self.lookup(iova)?;
        Some((leaf.pa + (iova - leaf.iova), leaf.perm))
    }

    /// Every leaf, lowest IOVA first.
    pub fn leaves(&self) -> Vec<Leaf> {
        let mut out = vec![];
        for (vpn1, &r) in (0u32..).zip(&self.root) {
            let base = vpn1 << sv32::VPN1_SHIFT;
            if r & pte::V != 0 && pte::is_leaf(r) {
                out.push(leaf_of(r, base, SUPERPAGE_SIZE));
            } else if let Some(t) = self.tables.get(&vpn1) {
                for (vpn0, &e) in (0u32..).zip(&t.ptes) {
                    if e & pte::V != 0 {
                        out.push(leaf_of(e, base | vpn0 << sv32::VPN0_SHIFT, PAGE_SIZE));
                    }
                }
            }
        }
        out
    }

    /// Gives the tables back. Call it only once no device context points at this root and
    /// the IOTLB holds nothing of the domain. The root's entries are cleared in RAM first, so
    /// a walk through a forgotten pointer faults instead of reading reused pages.
    pub fn destroy(self, dev: &mut dyn Device, mm: &mut PageAllocator) -> Result<(), MmError> {
        for (vpn1, &r) in (0u32..).zip(&self.root) {
            if r != 0 {
                dev.write32(self.root_pa + vpn1 * PTE_SIZE, 0);
            }
        }
        for t in self.tables.values() {
            mm.free(t.pa)?;
        }
        mm.free(self.root_pa)?;
        Ok(())
    }

    fn write_root(&mut self, dev: &mut dyn Device, vpn1: u32, e: u32) {
        dev.write32(self.root_pa + vpn1 * PTE_SIZE, e);
        self.root[vpn1 as usize] = e;
    }
}

/// A leaf PTE this builder wrote, as a [`Leaf`]. Its physical address fits 32 bits because
/// it came from a `u32`.
fn leaf_of(e: u32, iova: u32, size: u32) -> Leaf {
    Leaf {
        iova,
        pa: pte::pa(e) as u32,
        size,
        perm: Perm::of_leaf(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::{sv32_walk as hw_walk, MockDevice};
    use pretty_assertions::assert_eq;

    const RAM: u32 = 64 * PAGE_SIZE;

    fn setup() -> (MockDevice, PageAllocator) {
        (MockDevice::new(RAM), PageAllocator::new(RAM).unwrap())
    }

    #[test]
    fn a_new_table_is_zeroed() {
        let (mut dev, mut mm) = setup();
        dev.write32(0, 0xDEAD_BEEF); // garbage where the root will go
        let pt = PageTable::new(&mut dev, &mut mm).unwrap();
        assert_eq!(pt.root_pa(), 0);
        let mut words = vec![1; PTES_PER_TABLE as usize];
        dev.read_words(0, &mut words);
        assert!(words.iter().all(|w| *w == 0));
    }

    #[test]
    fn page_mapping_layout_matches_sv32() {
        let (mut dev, mut mm) = setup();
        let mut pt = PageTable::new(&mut dev, &mut mm).unwrap();
        let iova = 0xFFC0_3000;
        pt.map(&mut dev, &mut mm, iova, 0x5000, Perm::ReadOnly)
            .unwrap();
        pt.map(&mut dev, &mut mm, iova + PAGE_SIZE, 0x9000, Perm::ReadWrite)
            .unwrap();
        assert_eq!(pt.table_pages(), 2);

        // Root entry: a pointer with V only, to the level-0 table (page 1 of RAM).
        let root_pte = dev.read32(sv32::pte_addr(0, iova, 1) as u32);
        assert_eq!(root_pte, pte::new(1, pte::V));
        assert!(!pte::is_leaf(root_pte));
        // Leaves at VPN[0] of the level-0 table.
        let leaf = dev.read32(sv32::pte_addr(1, iova, 0) as u32);
        assert_eq!(leaf, pte::new(5, pte::V | pte::R | pte::A));
        let leaf2 = dev.read32(sv32::pte_addr(1, iova + PAGE_SIZE, 0) as u32);
        assert_eq!(
            leaf2,
            pte::new(9, pte::V | pte::R | pte::W | pte::A | pte::D)
        );
        assert!(!pte::is_reserved_rw(leaf2));

        assert_eq!(hw_walk(&mut dev, 0, iova + 0x123), Some((0x5123, leaf)));
        assert_eq!(pt.translate(iova + 0x123), Some((0x5123, Perm::ReadOnly)));
        assert_eq!(
            pt.translate(iova + PAGE_SIZE + 4),
            Some((0x9004, Perm::ReadWrite))
        );
        assert_eq!(pt.translate(iova + 2 * PAGE_SIZE), None);
        assert_eq!(hw_walk(&mut dev, 0, iova + 2 * PAGE_SIZE), None);
    }

    #[test]
    fn superpage_is_one_root_leaf() {
        let (mut dev, mut mm) = setup();
        let mut pt = PageTable::new(&mut dev, &mut mm).unwrap();
        pt.map_superpage(&mut dev, 0x0080_0000, 0, Perm::ReadWrite)
            .unwrap();
        let r = dev.read32(sv32::pte_addr(0, 0x0080_0000, 1) as u32);
        assert!(pte::is_leaf(r));
        assert_eq!(pte::ppn0(r), 0, "superpage PPN[0] must be 0");
        assert_eq!(pt.table_pages(), 1);
        assert_eq!(
            hw_walk(&mut dev, 0, 0x00AB_CDEF).map(|x| x.0),
            Some(0x002B_CDEF)
        );
        assert_eq!(
            pt.translate(0x00AB_CDEF),
            Some((0x2B_CDEF, Perm::ReadWrite))
        );
        assert_eq!(
            pt.leaves(),
            vec![Leaf {
                iova: 0x0080_0000,
                pa: 0,
                size: SUPERPAGE_SIZE,
                perm: Perm::ReadWrite
            }]
        );
    }

    #[test]
    fn size_and_overlap_conflicts_are_errors() {
        let (mut dev, mut mm) = setup();
        let mut pt = PageTable::new(&mut dev, &mut mm).unwrap();
        pt.map_superpage(&mut dev, 0x0040_0000, 0, Perm::ReadOnly)
            .unwrap();
        assert_eq!(
            pt.map(&mut dev, &mut mm, 0x0040_1000, 0x1000, Perm::ReadOnly),
            Err(PgTableError::SizeConflict { iova: 0x0040_1000 })
        );
        assert_eq!(
            pt.map_superpage(&mut dev, 0x0040_0000, 0, Perm::ReadOnly),
            Err(PgTableError::AlreadyMapped { iova: 0x0040_0000 })
        );
        pt.map(&mut dev, &mut mm, 0x1000, 0x1000, Perm::ReadOnly)
            .unwrap();
        assert_eq!(
            pt.map(&mut dev, &mut mm, 0x1000, 0x2000, Perm::ReadOnly),
            Err(PgTableError::AlreadyMapped { iova: 0x1000 })
        );
        assert_eq!(
            pt.map_superpage(&mut dev, 0, 0, Perm::ReadOnly),
            Err(PgTableError::SizeConflict { iova: 0 })
        );
        assert_eq!(
            pt.map(&mut dev, &mut mm, 0x1004, 0x2000, Perm::ReadOnly),
            Err(PgTableError::Misaligned {
                iova: 0x1004,
                pa: 0x2000,
                align: PAGE_SIZE
            })
        );
        assert_eq!(
            pt.map_superpage(&mut dev, 0x0080_0000, 0x1000, Perm::ReadOnly),
            Err(PgTableError::Misaligned {
                iova: 0x0080_0000,
                pa: 0x1000,
                align: SUPERPAGE_SIZE
            })
        );
    }

    #[test]
    fn unmap_clears_the_pte_in_ram() {
        let (mut dev, mut mm) = setup();
        let mut pt = PageTable::new(&mut dev, &mut mm).unwrap();
        pt.map(&mut dev, &mut mm, 0x7000, 0x3000, Perm::ReadWrite)
            .unwrap();
        pt.map_superpage(&mut dev, 0x0400_0000, 0, Perm::ReadOnly)
            .unwrap();
        assert_eq!(
            pt.unmap(&mut dev, 0x7abc),
            Some(Leaf {
                iova: 0x7000,
                pa: 0x3000,
                size: PAGE_SIZE,
                perm: Perm::ReadWrite
            })
        );
        assert_eq!(hw_walk(&mut dev, pt.root_pa(), 0x7000), None);
        assert_eq!(pt.unmap(&mut dev, 0x7000), None);
        assert_eq!(
            pt.unmap(&mut dev, 0x0412_3000).map(|l| (l.iova, l.size)),
            Some((0x0400_0000, SUPERPAGE_SIZE))
        );
        assert_eq!(hw_walk(&mut dev, pt.root_pa(), 0x0400_0000), None);
        assert_eq!(pt.leaves(), vec![]);
        // The level-0 table stays until the domain is destroyed.
        assert_eq!(pt.table_pages(), 2);
    }

    #[test]
    fn destroy_gives_every_table_back() {
        let (mut dev, mut mm) = setup();
        let free_before = mm.free_pages();
        let mut pt = PageTable::new(&mut dev, &mut mm).unwrap();
        for (i, iova) in [0x1000, 0x0040_0000, 0x0080_0000, 0xFFFF_E000]
            .into_iter()
            .enumerate()
        {
            pt.map(&mut dev, &mut mm, iova, (i as u32) << 12, Perm::ReadOnly)
                .unwrap();
        }
        assert_eq!(pt.table_pages(), 5);
        assert_eq!(mm.free_pages(), free_before - 5);
        let root = pt.root_pa();
        pt.destroy(&mut dev, &mut mm).unwrap();
        assert_eq!(mm.free_pages(), free_before);
        assert_eq!(hw_walk(&mut dev, root, 0x1000), None);
    }

    #[test]
    fn out_of_pages_for_a_table_is_an_error() {
        let mut dev = MockDevice::new(PAGE_SIZE);
        let mut mm = PageAllocator::new(PAGE_SIZE).unwrap();
        let mut pt = PageTable::new(&mut dev, &mut mm).unwrap();
        assert!(matches!(
            pt.map(&mut dev, &mut mm, 0x1000, 0, Perm::ReadOnly),
            Err(PgTableError::Mm(MmError::OutOfMemory { .. }))
        ));
        // A superpage needs no table.
        pt.map_superpage(&mut dev, 0, 0, Perm::ReadOnly).unwrap();
    }
}
