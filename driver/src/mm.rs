//! A page allocator for host RAM.
//!
//! DMA buffers and descriptor tables live in host RAM, and the hardware works in pages
//! (bursts never cross a [`PAGE_BYTES`] boundary; the IOMMU maps one page at a time), so
//! the driver hands out whole pages. First fit over a per-page table is plenty for RAM sizes
//! of a few hundred pages. Every misuse is reported as an [`MmError`]; nothing here panics on
//! bad input.
//!
//! **Small RAM.** A board's RAM can be a couple of pages (8 KiB on the Alchitry Cu), too few
//! for a page per ring and buffer. [`PageAllocator::with_unit`] then hands out smaller units:
//! [`alloc_bytes`](PageAllocator::alloc_bytes) rounds to the unit, while
//! [`alloc`](PageAllocator::alloc) still returns whole, page-aligned pages (page tables). Run
//! such a board with the IOMMU off or in passthrough: a translation maps whole pages, so a
//! device would also reach the other allocations sharing a page with its buffer.

use regs::{sys, PAGE_BYTES, RAM_BASE};
use thiserror::Error;

use crate::Device;

/// Why an allocator operation failed.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum MmError {
    /// No run of `pages` free contiguous allocation units (pages unless
    /// [`PageAllocator::with_unit`]) exists.
    #[error("out of memory: {pages} contiguous units requested, largest free run is {largest_free} units")]
    OutOfMemory { pages: u32, largest_free: u32 },
    /// Zero pages (or zero bytes) requested: there is no empty allocation to return.
    #[error("zero-size allocation requested")]
    ZeroSize,
    /// The address is not page aligned, lies outside RAM, or points into the middle of an
    /// allocation instead of at its first page.
    #[error("address {addr:#010x} is not the start of an allocation")]
    BadAddress { addr: u32 },
    /// The page is free: it was freed already (or never allocated).
    #[error("double free of {addr:#010x} (the page is not allocated)")]
    DoubleFree { addr: u32 },
    /// A range to reserve overlaps pages that are already in use.
    #[error("range {addr:#010x} (+{pages} pages) is already in use")]
    InUse { addr: u32, pages: u32 },
    /// The RAM size is zero or not a multiple of the page size (of the unit, for
    /// [`PageAllocator::with_unit`]).
    #[error("RAM size {bytes:#x} is not a non-zero multiple of the page size")]
    BadRamSize { bytes: u32 },
    /// The allocation unit is not a power of two between 16 bytes and a page.
    #[error("allocation unit {bytes} is not a power of two from 16 to {PAGE_BYTES} bytes")]
    BadUnit { bytes: u32 },
}

/// State of one allocation unit (a page unless [`PageAllocator::with_unit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Page {
    Free,
    /// First unit of an allocation of this many units.
    Head(u32),
    /// A further unit of an allocation.
    Body,
}

/// Hands out runs of contiguous pages of host RAM, as byte addresses on the host port.
#[derive(Clone, Debug)]
pub struct PageAllocator {
    pages: Vec<Page>,
    /// Bytes per entry of `pages`: [`PAGE_BYTES`], or less for [`PageAllocator::with_unit`].
    unit: u32,
}

impl PageAllocator {
    /// An allocator over `ram_bytes` of host RAM starting at [`RAM_BASE`], all pages free.
    pub fn new(ram_bytes: u32) -> Result<Self, MmError> {
        if ram_bytes == 0 || !ram_bytes.is_multiple_of(PAGE_BYTES) {
            return Err(MmError::BadRamSize { bytes: ram_bytes });
        }
        let n = (ram_bytes / PAGE_BYTES) as usize;
        Ok(PageAllocator {
            pages: vec![Page::Free; n],
            unit: PAGE_BYTES,
        })
    }

    /// An allocator whose [`alloc_bytes`](Self::alloc_bytes) hands out `unit`-byte units (a
    /// power of two from 16 to [`PAGE_BYTES`]): for boards with only a few pages of RAM. The
    /// unit-counting methods (`free`, `allocation_pages`, `free_pages`, ...) count units.
    pub fn with_unit(ram_bytes: u32, unit: u32) -> Result<Self, MmError> {
        if !unit.is_power_of_two() || !(16..=PAGE_BYTES).contains(&unit) {
            return Err(MmError::BadUnit { bytes: unit });
        }
        if ram_bytes == 0 || !ram_bytes.is_multiple_of(unit) {
            return Err(MmError::BadRamSize { bytes: ram_bytes });
        }
        Ok(PageAllocator {
            pages: vec![Page::Free; (ram_bytes / unit) as usize],
            unit,
        })
    }

    /// [`with_unit`](Self::with_unit) over the RAM size the device reports.
    pub fn from_device_with_unit(dev: &mut dyn Device, unit: u32) -> Result<Self, MmError> {
        Self::with_unit(
            dev.read32(regs::csr(regs::block::SYS, sys::RAM_BYTES)),
            unit,
        )
    }

    /// Bytes per allocation unit.
    pub fn unit_bytes(&self) -> u32 {
        self.unit
    }

    /// Units per page.
    fn per_page(&self) -> usize {
        (PAGE_BYTES / self.unit) as usize
    }

    /// An allocator over the RAM size the device reports in `SYS.RAM_BYTES`.
    pub fn from_device(dev: &mut dyn Device) -> Result<Self, MmError> {
        Self::new(dev.read32(regs::csr(regs::block::SYS, sys::RAM_BYTES)))
    }

    /// Number of units (pages unless [`with_unit`](Self::with_unit)) managed.
    pub fn total_pages(&self) -> u32 {
        self.pages.len() as u32
    }

    /// Number of free units (not necessarily contiguous).
    pub fn free_pages(&self) -> u32 {
        self.pages.iter().filter(|p| **p == Page::Free).count() as u32
    }

    /// Length of the longest run of free units: the largest allocation that can succeed.
    pub fn largest_free_run(&self) -> u32 {
        let (mut best, mut run) = (0, 0);
        for p in &self.pages {
            run = if *p == Page::Free { run + 1 } else { 0 };
            best = best.max(run);
        }
        best
    }

    /// Allocates `pages` contiguous, page-aligned pages (first fit) and returns the first
    /// page's address.
    pub fn alloc(&mut self, pages: u32) -> Result<u32, MmError> {
        if pages == 0 {
            return Err(MmError::ZeroSize);
        }
        let per_page = self.per_page();
        self.alloc_units(pages as usize * per_page, per_page)
    }

    /// Allocates enough contiguous units for `bytes` bytes (rounded up to whole units: whole
    /// pages unless [`with_unit`](Self::with_unit)).
    pub fn alloc_bytes(&mut self, bytes: u32) -> Result<u32, MmError> {
        if bytes == 0 {
            return Err(MmError::ZeroSize);
        }
        self.alloc_units(bytes.div_ceil(self.unit) as usize, 1)
    }

    /// First fit of `want` free units starting at a multiple of `align` units.
    fn alloc_units(&mut self, want: usize, align: usize) -> Result<u32, MmError> {
        let mut run_start = 0;
        for i in 0..self.pages.len() {
            if self.pages[i] != Page::Free {
                run_start = (i + 1).next_multiple_of(align);
            } else if i >= run_start && i + 1 - run_start == want {
                self.mark(run_start, want as u32);
                return Ok(self.addr_of(run_start));
            }
        }
        Err(MmError::OutOfMemory {
            pages: want as u32,
            largest_free: self.largest_free_run(),
        })
    }

    /// Bytes of the allocation starting at `addr` (whole units), or `None` if none starts there.
    pub fn allocation_bytes(&self, addr: u32) -> Option<u32> {
        self.allocation_pages(addr).map(|n| n * self.unit)
    }

    /// Marks the `pages` pages starting at `addr` as used, e.g. memory a test or firmware
    /// owns outside the allocator. Free them later with [`free`](Self::free) like any
    /// allocation.
    pub fn reserve(&mut self, addr: u32, pages: u32) -> Result<(), MmError> {
        if pages == 0 {
            return Err(MmError::ZeroSize);
        }
        let first = self.page_index(addr)?;
        let units = pages as usize * self.per_page();
        let end = first
            .checked_add(units)
            .filter(|e| *e <= self.pages.len())
            .ok_or(MmError::BadAddress { addr })?;
        if self.pages[first..end].iter().any(|p| *p != Page::Free) {
            return Err(MmError::InUse { addr, pages });
        }
        self.mark(first, units as u32);
        Ok(())
    }

    /// Frees the allocation that starts at `addr`; returns how many units it had.
    pub fn free(&mut self, addr: u32) -> Result<u32, MmError> {
        let first = self.page_index(addr)?;
        match self.pages[first] {
            Page::Free => Err(MmError::DoubleFree { addr }),
            Page::Body => Err(MmError::BadAddress { addr }),
            Page::Head(n) => {
                self.pages[first..first + n as usize].fill(Page::Free);
                Ok(n)
            }
        }
    }

    /// Number of units of the allocation starting at `addr`, or `None` if none starts there.
    pub fn allocation_pages(&self, addr: u32) -> Option<u32> {
        match self.pages.get(self.page_index(addr).ok()?) {
            Some(Page::Head(n)) => Some(*n),
            _ => None,
        }
    }

    fn mark(&mut self, first: usize, pages: u32) {
        self.pages[first] = Page::Head(pages);
        self.pages[first + 1..first + pages as usize].fill(Page::Body);
    }

    fn addr_of(&self, unit: usize) -> u32 {
        RAM_BASE + unit as u32 * self.unit
    }

    /// Index of the unit starting at `addr`; the address must be unit aligned and in RAM.
    fn page_index(&self, addr: u32) -> Result<usize, MmError> {
        let off = addr
            .checked_sub(RAM_BASE)
            .filter(|o| o.is_multiple_of(self.unit))
            .ok_or(MmError::BadAddress { addr })?;
        let i = (off / self.unit) as usize;
        if i < self.pages.len() {
            Ok(i)
        } else {
            Err(MmError::BadAddress { addr })
        }
    }
}

/// Writes zeros over `bytes` bytes (a multiple of 4) starting at `addr` through the host port.
pub fn zero_bytes(dev: &mut dyn Device, addr: u32, bytes: u32) {
    const ZEROS: [u32; (PAGE_BYTES / 4) as usize] = [0; (PAGE_BYTES / 4) as usize];
    let mut off = 0;
    while off < bytes {
        let n = (bytes - off).min(PAGE_BYTES);
        dev.write_words(addr.wrapping_add(off), &ZEROS[..(n / 4) as usize]);
        off += n;
    }
}

/// Writes zeros over `pages` pages starting at `addr` through the host port. Page tables,
/// device directories and coherent buffers start out zeroed, because the hardware may read any
/// word of them (a page walk indexes a whole table).
pub fn zero_pages(dev: &mut dyn Device, addr: u32, pages: u32) {
    const ZEROS: [u32; (PAGE_BYTES / 4) as usize] = [0; (PAGE_BYTES / 4) as usize];
    for i in 0..pages {
        dev.write_words(addr.wrapping_add(i.wrapping_mul(PAGE_BYTES)), &ZEROS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::MockDevice;
    use pretty_assertions::assert_eq;

    const P: u32 = PAGE_BYTES;

    #[test]
    fn small_units_pack_byte_allocations_and_keep_pages_page_aligned() {
        let mut mm = PageAllocator::with_unit(2 * P, 256).unwrap();
        assert_eq!(mm.total_pages(), 32);
        let a = mm.alloc_bytes(100).unwrap();
        let b = mm.alloc_bytes(300).unwrap();
        assert_eq!((a, b), (0, 256));
        assert_eq!(mm.allocation_bytes(b), Some(512));
        // A whole page skips the partly used first page.
        let page = mm.alloc(1).unwrap();
        assert_eq!(page, P);
        assert_eq!(
            mm.alloc(1),
            Err(MmError::OutOfMemory {
                pages: 16,
                largest_free: 13
            })
        );
        let c = mm.alloc_bytes(13 * 256).unwrap();
        assert_eq!(c, 3 * 256);
        assert_eq!(mm.free(b), Ok(2));
        assert_eq!(mm.alloc_bytes(512), Ok(256));
        assert_eq!(mm.free(a + 16), Err(MmError::BadAddress { addr: a + 16 }));
        assert_eq!(
            PageAllocator::with_unit(P, 24).unwrap_err(),
            MmError::BadUnit { bytes: 24 }
        );
        assert_eq!(
            PageAllocator::with_unit(1000, 256).unwrap_err(),
            MmError::BadRamSize { bytes: 1000 }
        );
    }

    #[test]
    fn rejects_bad_ram_sizes() {
        assert_eq!(
            PageAllocator::new(0).unwrap_err(),
            MmError::BadRamSize { bytes: 0 }
        );
        assert_eq!(
            PageAllocator::new(P + 4).unwrap_err(),
            MmError::BadRamSize { bytes: P + 4 }
        );
    }

    #[test]
    fn reads_ram_size_from_the_device() {
        let mut dev = MockDevice::new(8 * P);
        let mm = PageAllocator::from_device(&mut dev).unwrap();
        assert_eq!(mm.total_pages(), 8);
        assert_eq!(mm.free_pages(), 8);
    }

    #[test]
    fn first_fit_contiguous_and_free() {
        let mut mm = PageAllocator::new(8 * P).unwrap();
        let a = mm.alloc(2).unwrap();
        let b = mm.alloc(1).unwrap();
        let c = mm.alloc(3).unwrap();
        assert_eq!((a, b, c), (RAM_BASE, RAM_BASE + 2 * P, RAM_BASE + 3 * P));
        assert_eq!(mm.free_pages(), 2);

        assert_eq!(mm.free(a), Ok(2));
        // The 2-page hole at the start is reused first; a 3-page request does not fit there.
        assert_eq!(
            mm.alloc(3).unwrap_err(),
            MmError::OutOfMemory {
                pages: 3,
                largest_free: 2
            }
        );
        assert_eq!(mm.alloc(1), Ok(RAM_BASE));
        assert_eq!(mm.alloc(2), Ok(RAM_BASE + 6 * P));
        assert_eq!(mm.alloc(1), Ok(RAM_BASE + P));
        assert_eq!(mm.free_pages(), 0);
        assert_eq!(mm.allocation_pages(c), Some(3));
    }

    #[test]
    fn alloc_bytes_rounds_up_to_pages() {
        let mut mm = PageAllocator::new(8 * P).unwrap();
        let a = mm.alloc_bytes(16).unwrap();
        let b = mm.alloc_bytes(P + 1).unwrap();
        assert_eq!(mm.allocation_pages(a), Some(1));
        assert_eq!(mm.allocation_pages(b), Some(2));
        assert_eq!(mm.alloc_bytes(0).unwrap_err(), MmError::ZeroSize);
    }

    #[test]
    fn misuse_is_an_error_not_a_panic() {
        let mut mm = PageAllocator::new(4 * P).unwrap();
        assert_eq!(mm.alloc(0).unwrap_err(), MmError::ZeroSize);
        assert_eq!(
            mm.alloc(u32::MAX).unwrap_err(),
            MmError::OutOfMemory {
                pages: u32::MAX,
                largest_free: 4
            }
        );
        let a = mm.alloc(2).unwrap();
        assert_eq!(
            mm.free(a + 4).unwrap_err(),
            MmError::BadAddress { addr: a + 4 }
        );
        assert_eq!(
            mm.free(a + P).unwrap_err(),
            MmError::BadAddress { addr: a + P }
        );
        assert_eq!(
            mm.free(4 * P).unwrap_err(),
            MmError::BadAddress { addr: 4 * P }
        );
        assert_eq!(
            mm.free(u32::MAX).unwrap_err(),
            MmError::BadAddress { addr: u32::MAX }
        );
        assert_eq!(mm.free(a), Ok(2));
        assert_eq!(mm.free(a).unwrap_err(), MmError::DoubleFree { addr: a });
        assert_eq!(
            mm.free(3 * P).unwrap_err(),
            MmError::DoubleFree { addr: 3 * P }
        );
    }

    #[test]
    fn reserve_marks_pages_used() {
        let mut mm = PageAllocator::new(4 * P).unwrap();
        mm.reserve(RAM_BASE, 1).unwrap();
        assert_eq!(
            mm.reserve(RAM_BASE, 1).unwrap_err(),
            MmError::InUse {
                addr: RAM_BASE,
                pages: 1
            }
        );
        assert_eq!(
            mm.reserve(3 * P, 2).unwrap_err(),
            MmError::BadAddress { addr: 3 * P }
        );
        assert_eq!(mm.alloc(1), Ok(RAM_BASE + P));
        assert_eq!(mm.free(RAM_BASE), Ok(1));
    }
}
