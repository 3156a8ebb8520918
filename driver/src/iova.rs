//! The IOVA allocator of one translated device: which ranges of the device's 32-bit I/O
//! virtual address space are in use.
//!
//! The IOVA space has nothing to do with the size of host RAM: a device behind the IOMMU sees
//! 4 GiB of addresses (fewer if its DMA mask says it drives fewer address bits), and the page
//! tables decide which of them lead anywhere. Allocation is page granular and, like Linux's
//! `alloc_iova`, goes top down from the limit, so IOVAs look nothing like the small physical
//! addresses of RAM: a device handed a physical address by mistake faults instead of
//! silently hitting the right memory.
//!
//! Two pages are never handed out: page 0, so that IOVA 0 can stay an error value, and the
//! page holding `0xFFFF_FFFF`, so that no mapping can produce [`DMA_MAPPING_ERROR`].
//!
//! [`DMA_MAPPING_ERROR`]: crate::dma::DMA_MAPPING_ERROR

use std::collections::BTreeMap;

use regs::sv32::{PAGE_SHIFT, PAGE_SIZE};
use thiserror::Error;

/// The lowest IOVA ever handed out: page 0 stays unused.
pub const IOVA_BASE: u32 = PAGE_SIZE;
/// The highest IOVA ever handed out (inclusive): the last page, which holds `0xFFFF_FFFF`,
/// stays unused.
pub const IOVA_TOP: u32 = u32::MAX - PAGE_SIZE;

/// Why an IOVA operation failed.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum IovaError {
    /// Zero pages requested.
    #[error("zero-size IOVA allocation requested")]
    ZeroSize,
    /// The alignment (in pages) is not a power of two.
    #[error("IOVA alignment of {align} pages is not a power of two")]
    BadAlign { align: u32 },
    /// No free run of `pages` pages with that alignment lies inside `[base, limit]`.
    #[error(
        "out of IOVA space: {pages} pages (aligned to {align}) do not fit below {limit:#010x}"
    )]
    OutOfSpace { pages: u32, align: u32, limit: u32 },
    /// `[base, limit]` is empty, or `base` is 0 or not page aligned.
    #[error("bad IOVA range {base:#010x}..={limit:#010x}")]
    BadRange { base: u32, limit: u32 },
    /// Nothing is allocated at this address: never allocated, or freed already (double free).
    #[error("IOVA {iova:#010x} is not allocated (never allocated, or freed twice)")]
    NotAllocated { iova: u32 },
    /// The address lies inside an allocation but is not its first page.
    #[error("IOVA {iova:#010x} is inside the allocation at {start:#010x}, not its start")]
    NotStart { iova: u32, start: u32 },
}

/// Page-granular allocator over `[base, limit]` of a 32-bit IOVA space.
#[derive(Clone, Debug)]
pub struct IovaAllocator {
    /// First usable page number.
    base_pfn: u32,
    /// Last usable page number (inclusive).
    limit_pfn: u32,
    /// Allocations: first page number → number of pages.
    used: BTreeMap<u32, u32>,
}

impl IovaAllocator {
    /// An allocator over `[base, limit]` (bytes, `limit` inclusive). `base` must be page
    /// aligned and not 0; `limit` is rounded down to the last whole page, and clamped to
    /// [`IOVA_TOP`].
    pub fn new(base: u32, limit: u32) -> Result<Self, IovaError> {
        let bad = IovaError::BadRange { base, limit };
        if base == 0 || !base.is_multiple_of(PAGE_SIZE) {
            return Err(bad);
        }
        let base_pfn = base >> PAGE_SHIFT;
        let limit_pfn = last_whole_pfn(limit.min(IOVA_TOP)).ok_or(bad.clone())?;
        if limit_pfn < base_pfn {
            return Err(bad);
        }
        Ok(IovaAllocator {
            base_pfn,
            limit_pfn,
            used: BTreeMap::new(),
        })
    }

    /// The allocator for a device with DMA mask `mask`: `[IOVA_BASE, mask]`.
    pub fn for_mask(mask: u32) -> Result<Self, IovaError> {
        Self::new(IOVA_BASE, mask)
    }

    /// Lowest address handed out.
    pub fn base(&self) -> u32 {
        self.base_pfn << PAGE_SHIFT
    }

    /// Highest address handed out (inclusive, the last byte of the top usable page).
    pub fn limit(&self) -> u32 {
        (self.limit_pfn << PAGE_SHIFT) | (PAGE_SIZE - 1)
    }

    /// Moves the limit (after a DMA mask change). Only later allocations see it: existing
    /// ones above the new limit stay valid until they are freed.
    pub fn set_limit(&mut self, limit: u32) -> Result<(), IovaError> {
        let base = self.base();
        let bad = IovaError::BadRange { base, limit };
        let limit_pfn = last_whole_pfn(limit.min(IOVA_TOP)).ok_or(bad.clone())?;
        if limit_pfn < self.base_pfn {
            return Err(bad);
        }
        self.limit_pfn = limit_pfn;
        Ok(())
    }

    /// Allocates `pages` contiguous pages whose first page number is a multiple of `align`
    /// (a power of two, in pages), as high as possible below the limit. Returns the first
    /// page's IOVA.
    pub fn alloc(&mut self, pages: u32, align: u32) -> Result<u32, IovaError> {
        if pages == 0 {
            return Err(IovaError::ZeroSize);
        }
        if !align.is_power_of_two() {
            return Err(IovaError::BadAlign { align });
        }
        // Walk the gaps between allocations from the top down. `hi` is the exclusive upper
        // end of the gap being looked at.
        let mut hi = self.limit_pfn + 1;
        let mut found = None;
        for (&start, &n) in self.used.iter().rev() {
            let end = start + n;
            if end > hi {
                // Above (or straddling) the gap: only its start can lower the gap's top.
                hi = hi.min(start);
                continue;
            }
            if let Some(s) = fit(end.max(self.base_pfn), hi, pages, align) {
                found = Some(s);
                break;
            }
            hi = start;
            if hi <= self.base_pfn {
                break;
            }
        }
        let start = found
            .or_else(|| fit(self.base_pfn, hi, pages, align))
            .ok_or(IovaError::OutOfSpace {
                pages,
                align,
                limit: self.limit(),
            })?;
        self.used.insert(start, pages);
        Ok(start << PAGE_SHIFT)
    }

    /// Frees the allocation starting at `iova`; returns its size in pages.
    pub fn free(&mut self, iova: u32) -> Result<u32, IovaError> {
        match self.find(iova) {
            Some((start, n)) if start == iova => {
                self.used.remove(&(start >> PAGE_SHIFT));
                Ok(n)
            }
            Some((start, _)) => Err(IovaError::NotStart { iova, start }),
            None => Err(IovaError::NotAllocated { iova }),
        }
    }

    /// The allocation containing `iova`, as (first IOVA, pages).
    pub fn find(&self, iova: u32) -> Option<(u32, u32)> {
        let pfn = iova >> PAGE_SHIFT;
        let (&start, &n) = self.used.range(..=pfn).next_back()?;
        (pfn - start < n).then_some((start << PAGE_SHIFT, n))
    }

    /// Number of pages allocated.
    pub fn allocated_pages(&self) -> u64 {
        self.used.values().map(|n| u64::from(*n)).sum()
    }

    /// Every allocation as (first IOVA, pages), lowest first.
    pub fn allocations(&self) -> Vec<(u32, u32)> {
        self.used
            .iter()
            .map(|(s, n)| (s << PAGE_SHIFT, *n))
            .collect()
    }
}

/// Page number of the last page that lies wholly at or below `limit`.
fn last_whole_pfn(limit: u32) -> Option<u32> {
    let pfn = limit >> PAGE_SHIFT;
    if limit & (PAGE_SIZE - 1) == PAGE_SIZE - 1 {
        Some(pfn)
    } else {
        pfn.checked_sub(1)
    }
}

/// The highest start page in `[lo, hi)` for `pages` pages aligned to `align`.
fn fit(lo: u32, hi: u32, pages: u32, align: u32) -> Option<u32> {
    let start = hi.checked_sub(pages)? & !(align - 1);
    (start >= lo).then_some(start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const P: u32 = PAGE_SIZE;

    #[test]
    fn allocates_top_down_below_the_limit() {
        let mut a = IovaAllocator::for_mask(0xFFFF_FFFF).unwrap();
        assert_eq!(a.base(), P);
        assert_eq!(a.limit(), 0xFFFF_EFFF);
        assert_eq!(a.alloc(1, 1), Ok(0xFFFF_E000));
        assert_eq!(a.alloc(2, 1), Ok(0xFFFF_C000));
        assert_eq!(a.allocated_pages(), 3);
        assert_eq!(a.find(0xFFFF_D123), Some((0xFFFF_C000, 2)));
        assert_eq!(a.find(0xFFFF_B000), None);
    }

    #[test]
    fn a_24_bit_mask_keeps_iovas_below_16_mib() {
        let mut a = IovaAllocator::for_mask(0x00FF_FFFF).unwrap();
        assert_eq!(a.alloc(4, 1), Ok(0x00FF_C000));
        assert_eq!(a.limit(), 0x00FF_FFFF);
    }

    #[test]
    fn never_hands_out_page_zero_or_the_top_page() {
        // Two pages below the mask: page 0 is excluded, so exactly one is usable.
        let mut a = IovaAllocator::for_mask(0x1FFF).unwrap();
        assert_eq!(a.alloc(1, 1), Ok(P));
        assert_eq!(
            a.alloc(1, 1),
            Err(IovaError::OutOfSpace {
                pages: 1,
                align: 1,
                limit: 0x1FFF
            })
        );
        let mut all = IovaAllocator::for_mask(u32::MAX).unwrap();
        assert_eq!(all.alloc(0xF_FFFE, 1), Ok(P));
        assert!(all.alloc(1, 1).is_err());
    }

    #[test]
    fn refuses_empty_ranges() {
        assert_eq!(
            IovaAllocator::for_mask(0xFFF).unwrap_err(),
            IovaError::BadRange {
                base: P,
                limit: 0xFFF
            }
        );
        assert!(IovaAllocator::new(0, u32::MAX).is_err());
        assert!(IovaAllocator::new(0x1234, u32::MAX).is_err());
        // A limit in the middle of a page only counts the whole pages below it.
        let a = IovaAllocator::new(P, 0x3800).unwrap();
        assert_eq!(a.limit(), 0x2FFF);
    }

    #[test]
    fn alignment_is_in_pages_and_fills_gaps_below() {
        let mut a = IovaAllocator::new(P, 0x10_FFFF).unwrap();
        // Page numbers 0x001..=0x10F: an 8-page block aligned to 8 fits exactly at the top.
        assert_eq!(a.alloc(8, 8), Ok(0x10_8000));
        assert_eq!(a.alloc(1, 1), Ok(0x10_7000));
        // 4 pages aligned to 4 cannot start at 0x104 (taken): next is 0x100.
        assert_eq!(a.alloc(4, 4), Ok(0x10_0000));
        // The 3-page gap 0x104..0x107 is used by smaller requests.
        assert_eq!(a.alloc(3, 1), Ok(0x10_4000));
        assert_eq!(a.alloc(1, 1), Ok(0x0F_F000));
        assert_eq!(a.alloc(2, 3), Err(IovaError::BadAlign { align: 3 }));
        assert_eq!(a.alloc(0, 1), Err(IovaError::ZeroSize));
    }

    #[test]
    fn freed_ranges_are_reused() {
        let mut a = IovaAllocator::for_mask(0xFFFF).unwrap();
        let x = a.alloc(2, 1).unwrap();
        let y = a.alloc(1, 1).unwrap();
        assert_eq!(a.free(x), Ok(2));
        assert_eq!(a.alloc(2, 1), Ok(x));
        assert_eq!(a.allocations(), vec![(y, 1), (x, 2)]);
    }

    #[test]
    fn free_errors_name_the_problem() {
        let mut a = IovaAllocator::for_mask(0xFFFF).unwrap();
        let x = a.alloc(2, 1).unwrap();
        assert_eq!(
            a.free(x + P),
            Err(IovaError::NotStart {
                iova: x + P,
                start: x
            })
        );
        assert_eq!(a.free(x), Ok(2));
        assert_eq!(a.free(x), Err(IovaError::NotAllocated { iova: x }));
        assert_eq!(a.free(0), Err(IovaError::NotAllocated { iova: 0 }));
    }

    #[test]
    fn out_of_space_then_room_after_free() {
        let mut a = IovaAllocator::for_mask(0x4FFF).unwrap(); // pages 1..=4
        assert_eq!(a.alloc(4, 1), Ok(P));
        assert!(matches!(
            a.alloc(1, 1),
            Err(IovaError::OutOfSpace { pages: 1, .. })
        ));
        a.free(P).unwrap();
        assert_eq!(a.alloc(3, 2), Ok(2 * P));
        assert_eq!(a.alloc(1, 1), Ok(P));
    }

    #[test]
    fn lowering_the_limit_keeps_allocations_above_it() {
        let mut a = IovaAllocator::for_mask(u32::MAX).unwrap();
        let high = a.alloc(1, 1).unwrap();
        a.set_limit(0x00FF_FFFF).unwrap();
        assert_eq!(a.alloc(1, 1), Ok(0x00FF_F000));
        assert_eq!(a.free(high), Ok(1));
        assert!(a.set_limit(0x0FFF).is_err());
    }

    #[test]
    fn matches_a_page_map_under_random_use() {
        // Ground truth: one bool per page of a small space.
        let mut rng = 0x1234_5678u32;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            rng
        };
        let pages = 64u32;
        let mut a = IovaAllocator::for_mask(pages * P - 1).unwrap();
        let mut used = vec![false; pages as usize];
        used[0] = true; // page 0 is never handed out
        let mut live: Vec<(u32, u32)> = vec![];
        for _ in 0..2000 {
            if next() % 3 != 0 || live.is_empty() {
                let n = 1 + next() % 6;
                let align = 1 << (next() % 3);
                match a.alloc(n, align) {
                    Ok(iova) => {
                        let first = iova / P;
                        assert_eq!(first % align, 0);
                        for p in first..first + n {
                            assert!(!used[p as usize], "page {p} handed out twice");
                            used[p as usize] = true;
                        }
                        live.push((iova, n));
                    }
                    Err(IovaError::OutOfSpace { .. }) => {
                        // No aligned free run of n pages may exist.
                        let fits = (0..pages)
                            .step_by(align as usize)
                            .any(|s| s + n <= pages && (s..s + n).all(|p| !used[p as usize]));
                        assert!(!fits, "{n} pages aligned {align} fit but were refused");
                    }
                    Err(e) => panic!("{e}"),
                }
            } else {
                let (iova, n) = live.swap_remove((next() as usize) % live.len());
                assert_eq!(a.free(iova), Ok(n));
                for p in iova / P..iova / P + n {
                    used[p as usize] = false;
                }
            }
        }
    }
}
