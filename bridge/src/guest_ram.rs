//! The guest's RAM as QEMU shares it with `SYNC_SYSMEM`: each region's file mapped into this
//! process, so the device's DMA reads and writes the guest's memory directly.
//!
//! QEMU's proxy sends the regions of `address_space_memory` that are RAM (not ROM) and have a
//! file descriptor, merged where adjacent (`hw/remote/proxy-memory-listener.c`); its own remote
//! maps each one `RAM_SHARED` from its fd at its offset (`memory_region_init_ram_from_fd` in
//! `hw/remote/memory.c`). [`GuestRam`] does the same with `mmap(MAP_SHARED, PROT_READ |
//! PROT_WRITE)`, so writes reach the guest at once and the guest's writes are seen at once.
//!
//! Every `SYNC_SYSMEM` replaces the whole map: build a new [`GuestRam`] from it and drop the
//! old one, which unmaps it. Host pointers from [`GuestRam::regions`] are valid only while the
//! [`GuestRam`] they came from lives; a model holding them must take new ones after each
//! `SYNC_SYSMEM`. QEMU sends `SYNC_SYSMEM` after every change of the guest's memory map (any
//! device's BAR mapped or moved, ...), mostly with the same regions.
//!
//! The guest runs while the device reads and writes: memory shared with another process may
//! change under a read, as it may under a real device's DMA. Nothing here hands out Rust
//! references into the mapping; [`GuestRam::read`] and [`GuestRam::write`] copy.

use std::fmt;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr;

use crate::proto::SysmemRegion;

/// One mapped region, for a model that serves DMA straight from the mapping: guest-physical
/// `gpa .. gpa + size` is host memory `host .. host + size`.
///
/// `host` is valid for reads and writes of `size` bytes while the [`GuestRam`] it came from
/// lives, and is shared with the running guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RamRegion {
    /// Guest-physical address of the first byte.
    pub gpa: u64,
    /// Length in bytes (never 0).
    pub size: u64,
    /// Host address of the first byte.
    pub host: *mut u8,
}

/// One `mmap` of a region's file.
struct Mapping {
    gpa: u64,
    size: u64,
    /// The region's first byte: `base` plus the offset's distance from a page boundary.
    host: *mut u8,
    /// What `mmap` returned, and its length, for `munmap`.
    base: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    fn new(index: usize, region: &SysmemRegion, page: u64) -> io::Result<Mapping> {
        let fail = |kind: io::ErrorKind, what: String| {
            io::Error::new(
                kind,
                format!(
                    "guest RAM region {index} ({:#x} bytes at gpa {:#x}, file offset {:#x}): {what}",
                    region.size, region.gpa, region.offset
                ),
            )
        };
        let invalid = |what: &str| fail(io::ErrorKind::InvalidInput, what.to_string());

        if region.gpa.checked_add(region.size).is_none() {
            return Err(invalid(
                "passes the end of the guest-physical address space",
            ));
        }
        let file_end = region
            .offset
            .checked_add(region.size)
            .ok_or_else(|| invalid("passes the largest file offset"))?;

        // A mapping past the end of a regular file raises SIGBUS when touched; refuse it here,
        // as QEMU's file_ram_alloc refuses a backing file smaller than the RAM.
        // SAFETY: an all-zero stat is a valid value for fstat to overwrite.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: a valid fd and a pointer to a live stat.
        if unsafe { libc::fstat(region.fd.as_raw_fd(), &mut st) } != 0 {
            let e = io::Error::last_os_error();
            return Err(fail(e.kind(), format!("fstat: {e}")));
        }
        if st.st_mode & libc::S_IFMT == libc::S_IFREG && (st.st_size as u64) < file_end {
            return Err(invalid(&format!(
                "the file has only {:#x} bytes",
                st.st_size
            )));
        }

        // mmap wants a page-aligned offset: map from the page holding the first byte.
        let aligned = region.offset & !(page - 1);
        let lead = region.offset - aligned;
        let len = region
            .size
            .checked_add(lead)
            .and_then(|l| usize::try_from(l).ok())
            .ok_or_else(|| invalid("too large to map"))?;
        let file_offset =
            libc::off_t::try_from(aligned).map_err(|_| invalid("file offset out of range"))?;
        // SAFETY: a new shared mapping chosen by the kernel; nothing else is at that address.
        let base = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                region.fd.as_raw_fd(),
                file_offset,
            )
        };
        if base == libc::MAP_FAILED {
            let e = io::Error::last_os_error();
            return Err(fail(e.kind(), format!("mmap: {e}")));
        }
        Ok(Mapping {
            gpa: region.gpa,
            size: region.size,
            // `lead` < page size <= `len`: inside the mapping.
            host: base.cast::<u8>().wrapping_add(lead as usize),
            base,
            len,
        })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` are exactly what mmap returned; nothing of ours refers to the
        // mapping after this (RamRegion pointers are documented to die with the GuestRam).
        unsafe { libc::munmap(self.base, self.len) };
    }
}

/// The guest RAM of one `SYNC_SYSMEM`, mapped. Unmapped on drop.
pub struct GuestRam {
    maps: Vec<Mapping>,
}

// SAFETY: the mappings are plain shared memory owned by this value; `read` and `write` copy
// through raw pointers without handing out references, so using them from several threads is
// no different from the guest's own concurrent accesses.
unsafe impl Send for GuestRam {}
// SAFETY: as for Send.
unsafe impl Sync for GuestRam {}

impl GuestRam {
    /// Maps every non-empty region of a `SYNC_SYSMEM`, each from its own fd at its offset (an
    /// offset that is not page aligned is mapped from the page below it). Several regions may
    /// share one file. The fds may be closed afterwards; the mappings stay.
    ///
    /// Fails, mapping nothing, if a region passes the end of the address space or of its file,
    /// or `mmap` refuses it (e.g. an offset that is not a multiple of a hugetlbfs file's page
    /// size).
    pub fn new(regions: &[SysmemRegion]) -> io::Result<GuestRam> {
        let page = page_size();
        let mut maps = Vec::with_capacity(regions.len());
        for (index, region) in regions.iter().enumerate() {
            if region.size == 0 {
                continue;
            }
            // On error `maps` is dropped, unmapping what was mapped so far.
            maps.push(Mapping::new(index, region, page)?);
        }
        Ok(GuestRam { maps })
    }

    /// No RAM at all: every access fails. What a device has before the first `SYNC_SYSMEM`.
    pub fn empty() -> GuestRam {
        GuestRam { maps: Vec::new() }
    }

    /// Whether there is no region.
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }

    /// The host address of guest-physical `gpa`, if `len` bytes from there lie inside one
    /// region (with `len` 0: if `gpa` does). Valid while `self` lives.
    pub fn host_ptr(&self, gpa: u64, len: usize) -> Option<*mut u8> {
        let len = len as u64;
        self.maps.iter().find_map(|m| {
            let off = gpa.checked_sub(m.gpa)?;
            (off < m.size && len <= m.size - off).then(|| m.host.wrapping_add(off as usize))
        })
    }

    /// Copies guest memory at `gpa` into `buf`. False, and `buf` untouched, unless the whole
    /// range lies inside one region.
    pub fn read(&self, gpa: u64, buf: &mut [u8]) -> bool {
        match self.host_ptr(gpa, buf.len()) {
            Some(src) => {
                // SAFETY: `src .. src + buf.len()` is inside a live mapping (host_ptr checked
                // it); `ptr::copy` tolerates overlap should `buf` itself be in the mapping.
                unsafe { ptr::copy(src, buf.as_mut_ptr(), buf.len()) };
                true
            }
            None => false,
        }
    }

    /// Copies `data` into guest memory at `gpa`. False, and nothing written, unless the whole
    /// range lies inside one region.
    pub fn write(&self, gpa: u64, data: &[u8]) -> bool {
        match self.host_ptr(gpa, data.len()) {
            Some(dst) => {
                // SAFETY: as in `read`; the mapping is writable (PROT_WRITE, MAP_SHARED).
                unsafe { ptr::copy(data.as_ptr(), dst, data.len()) };
                true
            }
            None => false,
        }
    }

    /// The mapped regions, in `SYNC_SYSMEM` order, empty ones left out.
    pub fn regions(&self) -> Vec<RamRegion> {
        self.maps
            .iter()
            .map(|m| RamRegion {
                gpa: m.gpa,
                size: m.size,
                host: m.host,
            })
            .collect()
    }
}

impl Default for GuestRam {
    fn default() -> Self {
        GuestRam::empty()
    }
}

impl fmt::Debug for GuestRam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.regions()).finish()
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 && (size as u64).is_power_of_two() {
        size as u64
    } else {
        4096
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{memfd, pattern};
    use std::fs::File;
    use std::os::fd::OwnedFd;
    use std::os::unix::fs::FileExt;

    const FILE_LEN: usize = 0x4000;

    fn region(gpa: u64, size: u64, offset: u64, fd: &OwnedFd) -> SysmemRegion {
        SysmemRegion {
            gpa,
            size,
            offset,
            fd: fd.try_clone().unwrap(),
        }
    }

    /// Region A: gpa 0x0 .. 0x1000 = file 0x1000 .. 0x2000 (page aligned).
    /// Region B: gpa 0x10_0000 .. 0x10_1800 = file 0x2800 .. 0x4000 (offset inside a page).
    /// An empty region between them.
    fn two_regions(fd: &OwnedFd) -> Vec<SysmemRegion> {
        vec![
            region(0, 0x1000, 0x1000, fd),
            region(0x8000, 0, 0, fd),
            region(0x10_0000, 0x1800, 0x2800, fd),
        ]
    }

    fn expected(file_offset: usize, len: usize) -> Vec<u8> {
        (file_offset..file_offset + len).map(pattern).collect()
    }

    #[test]
    fn reads_see_the_file_at_each_regions_offset() {
        let fd = memfd(FILE_LEN);
        let ram = GuestRam::new(&two_regions(&fd)).unwrap();
        let mut buf = [0u8; 16];
        assert!(ram.read(0, &mut buf));
        assert_eq!(buf.to_vec(), expected(0x1000, 16));
        assert!(ram.read(0xff0, &mut buf));
        assert_eq!(buf.to_vec(), expected(0x1ff0, 16));
        assert!(ram.read(0x10_0000, &mut buf));
        assert_eq!(buf.to_vec(), expected(0x2800, 16));
        let mut whole = vec![0u8; 0x1800];
        assert!(ram.read(0x10_0000, &mut whole));
        assert_eq!(whole, expected(0x2800, 0x1800));
    }

    #[test]
    fn writes_reach_the_file_and_file_writes_reach_reads() {
        let fd = memfd(FILE_LEN);
        let ram = GuestRam::new(&two_regions(&fd)).unwrap();
        let file = File::from(fd.try_clone().unwrap());

        assert!(ram.write(0x10_0100, b"descriptor"));
        let mut back = [0u8; 10];
        file.read_exact_at(&mut back, 0x2900).unwrap();
        assert_eq!(&back, b"descriptor");
        // The bytes around it are unchanged.
        let mut around = [0u8; 2];
        file.read_exact_at(&mut around[..1], 0x28ff).unwrap();
        file.read_exact_at(&mut around[1..], 0x290a).unwrap();
        assert_eq!(around, [pattern(0x28ff), pattern(0x290a)]);

        file.write_all_at(b"from the guest", 0x1abc).unwrap();
        let mut seen = [0u8; 14];
        assert!(ram.read(0xabc, &mut seen));
        assert_eq!(&seen, b"from the guest");
    }

    #[test]
    fn accesses_outside_or_across_regions_are_refused_untouched() {
        let fd = memfd(FILE_LEN);
        let ram = GuestRam::new(&two_regions(&fd)).unwrap();
        let file = File::from(fd.try_clone().unwrap());
        let mut buf = [0xeeu8; 16];
        for gpa in [
            0x1000,       // just past A
            0xff8,        // straddles A's end
            0x8000,       // the empty region
            0xf_fff8,     // straddles B's start
            0x10_17f8,    // straddles B's end
            0x10_1800,    // just past B
            u64::MAX - 7, // wraps
            0xffff_ffff_0000_0000,
        ] {
            assert!(!ram.read(gpa, &mut buf), "read at {gpa:#x}");
            assert_eq!(buf, [0xee; 16]);
            assert!(!ram.write(gpa, &[0x55; 16]), "write at {gpa:#x}");
        }
        // Nothing was written anywhere in the file.
        let mut content = vec![0u8; FILE_LEN];
        file.read_exact_at(&mut content, 0).unwrap();
        assert_eq!(content, expected(0, FILE_LEN));
        // Zero-length accesses succeed inside a region only.
        assert!(ram.read(0xfff, &mut []));
        assert!(!ram.read(0x1000, &mut []));
        // The last byte of each region is reachable.
        assert!(ram.read(0xfff, &mut buf[..1]));
        assert!(ram.read(0x10_17ff, &mut buf[..1]));
        assert_eq!(buf[0], pattern(0x3fff));
    }

    #[test]
    fn regions_lists_the_mappings_and_host_pointers_work() {
        let fd = memfd(FILE_LEN);
        let ram = GuestRam::new(&two_regions(&fd)).unwrap();
        let regions = ram.regions();
        assert_eq!(regions.len(), 2, "the empty region is skipped");
        assert_eq!((regions[0].gpa, regions[0].size), (0, 0x1000));
        assert_eq!((regions[1].gpa, regions[1].size), (0x10_0000, 0x1800));
        // SAFETY: both pointers are valid for `size` bytes while `ram` lives.
        unsafe {
            assert_eq!(*regions[0].host, pattern(0x1000));
            assert_eq!(*regions[1].host.add(0x17ff), pattern(0x3fff));
            *regions[1].host.add(1) = 0x42;
        }
        let mut b = [0u8; 1];
        assert!(ram.read(0x10_0001, &mut b));
        assert_eq!(b[0], 0x42);
        assert_eq!(
            ram.host_ptr(0x10_0001, 1),
            Some(regions[1].host.wrapping_add(1))
        );
        assert_eq!(ram.host_ptr(0x10_0001, 0x1800), None);
        assert!(format!("{ram:?}").contains("gpa: 1048576"));
    }

    #[test]
    fn the_mapping_outlives_the_fds() {
        let fd = memfd(FILE_LEN);
        let regions = two_regions(&fd);
        let ram = GuestRam::new(&regions).unwrap();
        drop(regions);
        drop(fd);
        let mut buf = [0u8; 4];
        assert!(ram.write(0x10, &[1, 2, 3, 4]));
        assert!(ram.read(0x10, &mut buf));
        assert_eq!(buf, [1, 2, 3, 4]);
    }

    #[test]
    fn regions_past_the_file_or_the_address_space_are_refused() {
        let fd = memfd(FILE_LEN);
        let e = GuestRam::new(&[region(0, 0x1000, 0x3800, &fd)]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(
            e.to_string().contains("the file has only 0x4000 bytes"),
            "{e}"
        );
        let e = GuestRam::new(&[region(u64::MAX - 0xfff, 0x1000, 0, &fd)]).unwrap_err();
        assert!(e.to_string().contains("end of the guest-physical"), "{e}");
        let e = GuestRam::new(&[region(0, 0x1000, u64::MAX - 0x10, &fd)]).unwrap_err();
        assert!(e.to_string().contains("largest file offset"), "{e}");
        // A good region before a bad one is not kept either (and is unmapped).
        let e = GuestRam::new(&[
            region(0, 0x1000, 0, &fd),
            region(0x1000, 0x1000, 0x4000, &fd),
        ])
        .unwrap_err();
        assert!(e.to_string().starts_with("guest RAM region 1"), "{e}");
    }

    #[test]
    fn empty_ram_refuses_everything() {
        let ram = GuestRam::default();
        assert!(ram.is_empty());
        assert!(!ram.read(0, &mut [0u8; 1]));
        assert!(!ram.write(0, &[0u8; 1]));
        assert!(ram.regions().is_empty());
        let fd = memfd(FILE_LEN);
        let only_empty = GuestRam::new(&[region(0, 0, 0, &fd)]).unwrap();
        assert!(only_empty.is_empty());
    }
}
