//! The DMA API: how a driver hands host memory to a device, named and behaving like Linux's
//! (`Documentation/core-api/dma-api.rst`, `dma-api-howto.rst`).
//!
//! The CPU always uses physical addresses; a device uses *DMA addresses* ([`DmaAddr`]). What a
//! DMA address is depends on the device's mode, chosen like the kernel command line:
//!
//! | [`IommuPolicy`] | IOMMU             | a device's DMA address                          |
//! |-----------------|-------------------|-------------------------------------------------|
//! | `Off`           | global Bare       | the physical address (`iommu=off`)              |
//! | `Pt`            | DDT, contexts Bare| the physical address (`iommu=pt`)               |
//! | `On`            | DDT, contexts Sv32| an IOVA mapped through the device's page table  |
//!
//! [`Dma::attach_as`] overrides the policy for one device (passthrough for one device while
//! another is translated), as Linux's per-group domain type does.
//!
//! Mapping a buffer on a translated device allocates IOVA pages below the device's DMA mask
//! ([`crate::iova`]) and maps every page the buffer touches ([`crate::pgtable`]); the offset in
//! the page is preserved, so the DMA address of byte `pa` is `iova_page + pa % 4096`. Without
//! translation the mask is still checked; there are no bounce buffers (no swiotlb), so a buffer
//! the device cannot reach is an error.
//!
//! Directions become page permissions: [`DmaDirection::ToDevice`] (the device reads) maps R;
//! `FromDevice` (the device writes) maps R and W, because W without R is a reserved encoding
//! in Sv32; `Bidirectional` maps R and W.
//!
//! Unmapping runs in one of two modes, like `iommu.strict=1/0` ([`Invalidation`]): *strict*
//! clears the PTEs, invalidates each page in the IOTLB and fences before returning; *lazy*
//! clears the PTEs but leaves the IOTLB alone and parks the IOVA range in a flush queue. Until
//! [`Dma::flush`] (or the queue reaching its threshold) a stale IOTLB entry still lets the
//! device reach the old page; the IOVAs are not reused before that flush, so nothing new can
//! be mapped under a stale entry.
//!
//! The memory bus is coherent (no CPU caches between the driver and RAM), so
//! [`Dma::sync_single_for_cpu`] and [`Dma::sync_single_for_device`] only check, like Linux's
//! DMA-API debugging, that the range is mapped with a compatible direction.
//!
//! The memcpy channel through this API:
//!
//! ```no_run
//! use driver::dma::{Dma, DmaDirection};
//! use driver::dmac::{Completion, Dmac};
//! use driver::iommu::DeviceId;
//! use driver::Device;
//!
//! fn copy(
//!     dev: &mut dyn Device,
//!     dma: &mut Dma,
//!     src_pa: u32,
//!     dst_pa: u32,
//!     len: u32,
//! ) -> Result<(), Box<dyn std::error::Error>> {
//!     let id = DeviceId::MEMCPY0;
//!     let src = dma.try_map_single(dev, id, src_pa, len, DmaDirection::ToDevice)?;
//!     let dst = dma.try_map_single(dev, id, dst_pa, len, DmaDirection::FromDevice)?;
//!     let result = Dmac::new().memcpy(dev, src.addr(), dst.addr(), len, Completion::Poll);
//!     dma.unmap_single(dev, id, dst, len, DmaDirection::FromDevice)?;
//!     dma.unmap_single(dev, id, src, len, DmaDirection::ToDevice)?;
//!     result?;
//!     Ok(())
//! }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use regs::sv32::PAGE_SIZE;
use thiserror::Error;

use crate::iommu::{DeviceContext, DeviceId, Iommu, IommuError, IommuMode};
use crate::iova::{IovaAllocator, IovaError};
use crate::mm::{zero_bytes, MmError, PageAllocator};
use crate::pgtable::{Leaf, PageTable, Perm, PgTableError};
use crate::Device;

/// A device's DMA mask unless [`Dma::set_dma_mask`] says otherwise: 32 bits, as in Linux.
pub const DEFAULT_DMA_MASK: u32 = u32::MAX;
/// Longest DMA segment [`Dma::map_sg`] merges to, unless set: Linux's default (64 KiB).
pub const DEFAULT_MAX_SEGMENT_SIZE: u32 = 64 * 1024;
/// Lazy mode flushes by itself once this many unmaps wait: Linux's `IOVA_FQ_SIZE`.
pub const DEFAULT_FLUSH_THRESHOLD: usize = 256;

/// An address as a device sees it: an IOVA, or a physical address without translation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DmaAddr(pub u32);

impl DmaAddr {
    pub const fn addr(self) -> u32 {
        self.0
    }
}

impl fmt::Debug for DmaAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DmaAddr({:#010x})", self.0)
    }
}

impl fmt::Display for DmaAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}

/// What the Linux-style map functions return on failure (all ones, as in Linux). No mapping
/// can produce it: the IOVA allocator never hands out the top page.
pub const DMA_MAPPING_ERROR: DmaAddr = DmaAddr(u32::MAX);

/// Linux's `dma_mapping_error`: whether a map function failed.
pub fn mapping_error(addr: DmaAddr) -> bool {
    addr == DMA_MAPPING_ERROR
}

/// Which way the data moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DmaDirection {
    /// The device reads the buffer (e.g. a frame to send, a memcpy source).
    ToDevice,
    /// The device writes the buffer (e.g. a receive buffer, a memcpy destination).
    FromDevice,
    Bidirectional,
}

impl DmaDirection {
    /// The page permission: R for `ToDevice`; R and W otherwise (Sv32 has no write-only).
    pub const fn perm(self) -> Perm {
        match self {
            DmaDirection::ToDevice => Perm::ReadOnly,
            DmaDirection::FromDevice | DmaDirection::Bidirectional => Perm::ReadWrite,
        }
    }

    /// Whether the driver lets the device read the buffer.
    pub const fn device_reads(self) -> bool {
        !matches!(self, DmaDirection::FromDevice)
    }

    /// Whether the driver lets the device write the buffer.
    pub const fn device_writes(self) -> bool {
        !matches!(self, DmaDirection::ToDevice)
    }
}

/// The system-wide IOMMU setting, like the kernel's `iommu=` parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IommuPolicy {
    /// `iommu=off`: global Bare mode, no device translated.
    Off,
    /// `iommu=pt`: device directory, every device in passthrough unless overridden.
    Pt,
    /// `iommu=on`: device directory, every device translated unless overridden.
    On,
}

/// How one device's DMA is handled (Linux's domain types "identity" and "DMA").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainType {
    /// DMA address = physical address.
    Identity,
    /// DMA addresses are IOVAs in the device's own Sv32 page table.
    Translated,
}

/// When unmapped IOVAs are invalidated, like `iommu.strict=1/0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalidation {
    /// Every unmap invalidates its pages and fences before it returns.
    Strict,
    /// Unmaps wait in a flush queue; one device-wide invalidation and fence retires all of
    /// them, at [`Dma::flush`] or when `flush_threshold` unmaps are waiting.
    Lazy { flush_threshold: usize },
}

/// How [`Dma::init`] sets up the IOMMU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DmaConfig {
    pub policy: IommuPolicy,
    pub invalidation: Invalidation,
    /// Command queue size (power of two, 2..=256). Unused with [`IommuPolicy::Off`].
    pub command_queue_entries: u32,
    /// Fault queue size (power of two, 2..=128); 0 = no fault queue. Unused with `Off`.
    pub fault_queue_entries: u32,
    /// Raise the interrupt for each fault record.
    pub fault_irq: bool,
    /// Bound for each IOMMU fence, in cycles.
    pub timeout_cycles: u64,
}

impl Default for DmaConfig {
    fn default() -> Self {
        DmaConfig {
            policy: IommuPolicy::On,
            invalidation: Invalidation::Strict,
            command_queue_entries: 64,
            fault_queue_entries: 64,
            fault_irq: false,
            timeout_cycles: crate::iommu::DEFAULT_TIMEOUT_CYCLES,
        }
    }
}

/// Which call made a mapping (and so which call must release it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MappingKind {
    /// [`Dma::map_single`] / [`Dma::unmap_single`].
    Single,
    /// [`Dma::map_sg`] / [`Dma::unmap_sg`].
    Sg,
    /// [`Dma::alloc_coherent`] / [`Dma::free_coherent`].
    Coherent,
}

/// A live mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmaMapping {
    pub kind: MappingKind,
    pub dir: DmaDirection,
    /// The CPU buffers, as (physical address, length).
    pub cpu: Vec<(u32, u32)>,
    /// What the device was given, as (DMA address, length); after sg merging there may be
    /// fewer segments than buffers.
    pub dma: Vec<(DmaAddr, u32)>,
}

/// A physical range and what a device may do there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhysRange {
    pub pa: u32,
    pub len: u32,
    pub read: bool,
    pub write: bool,
}

impl PhysRange {
    /// As a byte range (the end saturates at `u32::MAX`, which is not RAM).
    pub fn range(&self) -> Range<u32> {
        self.pa..self.pa.saturating_add(self.len)
    }

    pub fn contains(&self, addr: u32) -> bool {
        u64::from(addr) >= u64::from(self.pa)
            && u64::from(addr) < u64::from(self.pa) + u64::from(self.len)
    }
}

/// What the IOMMU hardware lets a device reach (see [`Dma::reachable_ranges`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// No translation: any physical address.
    Everything,
    /// Only these pages.
    Only(Vec<PhysRange>),
}

/// Why a DMA API call failed.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DmaError {
    #[error("{id} is not attached to the DMA layer")]
    NotAttached { id: DeviceId },
    #[error("{id} is already attached")]
    AlreadyAttached { id: DeviceId },
    /// A translated domain under `iommu=off`: there is no device directory.
    #[error("{id}: translation asked for, but the IOMMU policy is iommu=off")]
    NoTranslation { id: DeviceId },
    #[error("zero-length DMA buffer")]
    ZeroLength,
    #[error("empty scatter-gather list")]
    EmptySg,
    /// The buffer's end does not fit the 32-bit address space.
    #[error("buffer {pa:#010x} + {len:#x} wraps the 32-bit address space")]
    Wraps { pa: u32, len: u32 },
    /// Without translation the device needs the physical address itself below its mask.
    #[error("{id}: buffer {pa:#010x} + {len:#x} lies beyond the DMA mask {mask:#010x} (no bounce buffers)")]
    AboveMask {
        id: DeviceId,
        pa: u32,
        len: u32,
        mask: u32,
    },
    /// A mask is `2^n - 1` and covers at least two pages (page 0 is never an IOVA).
    #[error("DMA mask {mask:#x} is not 2^n - 1 of at least two pages")]
    BadMask { mask: u32 },
    #[error("maximum segment size must not be 0")]
    BadSegmentSize,
    #[error("{id}: no live mapping at DMA address {addr}")]
    NotMapped { id: DeviceId, addr: DmaAddr },
    /// Released or synced with a length, direction or kind other than it was mapped with
    /// (what Linux's DMA-API debugging reports).
    #[error(
        "{id}: {addr} was mapped as {mapped_kind:?}, {mapped_len:#x} bytes {mapped_dir:?}; \
         the call says {kind:?}, {len:#x} bytes {dir:?}"
    )]
    Mismatch {
        id: DeviceId,
        addr: DmaAddr,
        mapped_kind: MappingKind,
        mapped_len: u32,
        mapped_dir: DmaDirection,
        kind: MappingKind,
        len: u32,
        dir: DmaDirection,
    },
    #[error("{id} still has {count} live mappings")]
    StillMapped { id: DeviceId, count: usize },
    #[error(transparent)]
    Iova(#[from] IovaError),
    #[error(transparent)]
    PageTable(#[from] PgTableError),
    #[error(transparent)]
    Iommu(#[from] IommuError),
    #[error(transparent)]
    Mm(#[from] MmError),
}

/// An unmapped IOVA range waiting for its IOTLB flush, with what its pages mapped.
#[derive(Debug)]
struct Pending {
    iova: u32,
    stale: Vec<Leaf>,
}

#[derive(Debug)]
struct Translated {
    table: PageTable,
    iova: IovaAllocator,
    pending: Vec<Pending>,
}

#[derive(Debug)]
enum Domain {
    Identity,
    Translated(Box<Translated>),
}

#[derive(Debug)]
struct Record {
    mapping: DmaMapping,
    /// Translated: the IOVA allocation (first IOVA, pages).
    iova: Option<(u32, u32)>,
}

impl Record {
    fn first(&self) -> Option<DmaAddr> {
        self.mapping.dma.first().map(|s| s.0)
    }

    fn total_len(&self) -> u32 {
        self.mapping
            .cpu
            .iter()
            .fold(0u32, |a, s| a.saturating_add(s.1))
    }
}

#[derive(Debug)]
struct DeviceDma {
    mask: u32,
    max_segment_size: u32,
    domain: Domain,
    mappings: Vec<Record>,
}

/// The DMA mapping layer for every device of the SoC: owns the [`PageAllocator`] it takes
/// page tables, queues and coherent buffers from, the [`Iommu`], each device's domain (page
/// table, IOVA allocator, flush queue) and the record of live mappings.
///
/// # Example
///
/// Linux's `iommu=on`: the memcpy channel translated through its own Sv32 page table, one
/// buffer mapped each way for a copy, then unmapped (strict: the IOTLB is invalidated and
/// fenced before `unmap_single` returns).
///
/// ```no_run
/// use driver::{Completion, Device, DeviceId, Dma, DmaConfig, DmaDirection, Dmac, PageAllocator};
///
/// fn copy_translated(dev: &mut dyn Device) -> Result<(), Box<dyn std::error::Error>> {
///     let mm = PageAllocator::from_device(dev)?;
///     let mut dma = Dma::init(dev, mm, DmaConfig::default())?; // IommuPolicy::On
///     let id = DeviceId::MEMCPY0;
///     dma.attach(dev, id)?;
///     let mm = dma.mm_mut(); // buffers come from the allocator the layer owns
///     let (src, dst) = (mm.alloc_bytes(4096)?, mm.alloc_bytes(4096)?);
///     let s = dma.map_single(dev, id, src, 4096, DmaDirection::ToDevice);
///     let d = dma.map_single(dev, id, dst, 4096, DmaDirection::FromDevice);
///     let mut dmac = Dmac::new();
///     dmac.start(dev, s.0, d.0, 4096, true)?; // IOVAs
///     dmac.wait(dev, Completion::Irq, 100_000)?;
///     dma.unmap_single(dev, id, s, 4096, DmaDirection::ToDevice)?;
///     dma.unmap_single(dev, id, d, 4096, DmaDirection::FromDevice)?;
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct Dma {
    mm: PageAllocator,
    iommu: Iommu,
    policy: IommuPolicy,
    invalidation: Invalidation,
    devices: BTreeMap<DeviceId, DeviceDma>,
}

impl Dma {
    /// Sets the IOMMU up for `config.policy`: `Off` writes global Bare mode and nothing else;
    /// `Pt` and `On` enable the command queue and the fault queue, then switch to DDT mode
    /// with every device disabled until it is [attached](Self::attach).
    ///
    /// The layer takes `mm` and owns it from then on: page tables, queues and coherent
    /// buffers come from it, and callers reach it through [`mm`](Self::mm),
    /// [`mm_mut`](Self::mm_mut) and [`into_mm`](Self::into_mm). Reserve what the allocator
    /// must not hand out before passing it in. On error every page taken so far is given
    /// back to `mm`, which is then dropped.
    pub fn init(
        dev: &mut dyn Device,
        mut mm: PageAllocator,
        config: DmaConfig,
    ) -> Result<Self, DmaError> {
        let iommu = setup_iommu(dev, &mut mm, config)?;
        Ok(Dma {
            mm,
            iommu,
            policy: config.policy,
            invalidation: config.invalidation,
            devices: BTreeMap::new(),
        })
    }

    /// The page allocator the layer owns (see [`init`](Self::init)).
    pub fn mm(&self) -> &PageAllocator {
        &self.mm
    }

    /// The page allocator the layer owns, for the caller's own buffers. Freeing pages the
    /// layer handed out (page tables, queues, coherent buffers) behind its back makes its
    /// bookkeeping wrong.
    pub fn mm_mut(&mut self) -> &mut PageAllocator {
        &mut self.mm
    }

    /// Tears the layer down without touching the hardware and gives the allocator back.
    /// Pages the layer still holds stay allocated: [`shutdown`](Self::shutdown) first to
    /// free them.
    pub fn into_mm(self) -> PageAllocator {
        self.mm
    }

    pub fn policy(&self) -> IommuPolicy {
        self.policy
    }

    pub fn invalidation(&self) -> Invalidation {
        self.invalidation
    }

    /// Changes the invalidation mode for later unmaps. Unmaps already queued stay queued
    /// until a flush.
    pub fn set_invalidation(&mut self, mode: Invalidation) {
        self.invalidation = mode;
    }

    pub fn iommu(&self) -> &Iommu {
        &self.iommu
    }

    /// The IOMMU, for fault handling, counters and experiments. Changing device contexts
    /// behind the DMA layer's back makes its bookkeeping wrong.
    pub fn iommu_mut(&mut self) -> &mut Iommu {
        &mut self.iommu
    }

    /// The IOMMU and the page allocator at once, for the `Iommu` calls that allocate (queues,
    /// the device directory): [`Self::iommu_mut`]'s caveat applies.
    pub fn iommu_and_mm(&mut self) -> (&mut Iommu, &mut PageAllocator) {
        (&mut self.iommu, &mut self.mm)
    }

    // ---- devices -------------------------------------------------------------------------

    /// Attaches `id` with the domain type its policy gives: identity under `Off` and `Pt`,
    /// translated under `On`.
    pub fn attach(&mut self, dev: &mut dyn Device, id: DeviceId) -> Result<(), DmaError> {
        let ty = match self.policy {
            IommuPolicy::Off | IommuPolicy::Pt => DomainType::Identity,
            IommuPolicy::On => DomainType::Translated,
        };
        self.attach_as(dev, id, ty)
    }

    /// Attaches `id` with an explicit domain type, overriding the policy for this device.
    /// Translated: a fresh page table (root zeroed) and an IOVA space under the default mask;
    /// the device context points at the table. Identity under `Pt`/`On`: a Bare context.
    pub fn attach_as(
        &mut self,
        dev: &mut dyn Device,
        id: DeviceId,
        ty: DomainType,
    ) -> Result<(), DmaError> {
        let id = id.checked()?;
        if self.devices.contains_key(&id) {
            return Err(DmaError::AlreadyAttached { id });
        }
        let domain = match (self.policy, ty) {
            (IommuPolicy::Off, DomainType::Identity) => Domain::Identity,
            (IommuPolicy::Off, DomainType::Translated) => {
                return Err(DmaError::NoTranslation { id })
            }
            (_, DomainType::Identity) => {
                self.iommu.set_device_bare(dev, id)?;
                Domain::Identity
            }
            (_, DomainType::Translated) => {
                let iova = IovaAllocator::for_mask(DEFAULT_DMA_MASK)?;
                let table = PageTable::new(dev, &mut self.mm)?;
                // If this fails after the context was written, the table stays allocated:
                // the hardware may point at it.
                self.iommu.set_device_sv32(dev, id, table.root_pa())?;
                Domain::Translated(Box::new(Translated {
                    table,
                    iova,
                    pending: vec![],
                }))
            }
        };
        self.devices.insert(
            id,
            DeviceDma {
                mask: DEFAULT_DMA_MASK,
                max_segment_size: DEFAULT_MAX_SEGMENT_SIZE,
                domain,
                mappings: vec![],
            },
        );
        Ok(())
    }

    /// Detaches `id`, which must have no live mappings: its device context is disabled
    /// (which invalidates its cached context and IOTLB entries and fences, retiring any
    /// queued lazy unmaps too), then its page table is freed.
    pub fn detach(&mut self, dev: &mut dyn Device, id: DeviceId) -> Result<(), DmaError> {
        let d = self.device(id)?;
        if !d.mappings.is_empty() {
            return Err(DmaError::StillMapped {
                id,
                count: d.mappings.len(),
            });
        }
        if self.policy != IommuPolicy::Off {
            self.iommu.disable_device(dev, id)?;
        }
        if let Some(d) = self.devices.remove(&id) {
            if let Domain::Translated(t) = d.domain {
                t.table.destroy(dev, &mut self.mm)?;
            }
        }
        Ok(())
    }

    /// Detaches every device (all must be unmapped) and puts the IOMMU back in its reset
    /// state, freeing its pages.
    pub fn shutdown(&mut self, dev: &mut dyn Device) -> Result<(), DmaError> {
        if let Some((&id, d)) = self.devices.iter().find(|(_, d)| !d.mappings.is_empty()) {
            return Err(DmaError::StillMapped {
                id,
                count: d.mappings.len(),
            });
        }
        let ids: Vec<DeviceId> = self.devices.keys().copied().collect();
        for id in ids {
            self.detach(dev, id)?;
        }
        self.iommu.release(dev, &mut self.mm)?;
        Ok(())
    }

    /// The domain type of an attached device.
    pub fn domain_type(&self, id: DeviceId) -> Option<DomainType> {
        self.devices.get(&id).map(|d| match d.domain {
            Domain::Identity => DomainType::Identity,
            Domain::Translated(_) => DomainType::Translated,
        })
    }

    /// The page table of a translated device (its root, its leaves, a software walk).
    pub fn page_table(&self, id: DeviceId) -> Option<&PageTable> {
        match &self.devices.get(&id)?.domain {
            Domain::Translated(t) => Some(&t.table),
            Domain::Identity => None,
        }
    }

    /// `dma_set_mask`: the highest address the device can drive. For a translated device it
    /// bounds later IOVA allocations; without translation, later buffers must lie below it.
    pub fn set_dma_mask(&mut self, id: DeviceId, mask: u32) -> Result<(), DmaError> {
        if mask < 2 * PAGE_SIZE - 1 || mask & mask.wrapping_add(1) != 0 {
            return Err(DmaError::BadMask { mask });
        }
        let d = self.device_mut(id)?;
        if let Domain::Translated(t) = &mut d.domain {
            t.iova.set_limit(mask)?;
        }
        d.mask = mask;
        Ok(())
    }

    pub fn dma_mask(&self, id: DeviceId) -> Option<u32> {
        self.devices.get(&id).map(|d| d.mask)
    }

    /// `dma_set_max_seg_size`: [`map_sg`](Self::map_sg) merges no segment beyond it.
    pub fn set_max_segment_size(&mut self, id: DeviceId, size: u32) -> Result<(), DmaError> {
        if size == 0 {
            return Err(DmaError::BadSegmentSize);
        }
        self.device_mut(id)?.max_segment_size = size;
        Ok(())
    }

    // ---- mapping -------------------------------------------------------------------------

    /// `dma_map_single`: maps `len` bytes at `pa` for `id`. Returns [`DMA_MAPPING_ERROR`] on
    /// failure (check with [`mapping_error`]); [`try_map_single`](Self::try_map_single) says
    /// why.
    pub fn map_single(
        &mut self,
        dev: &mut dyn Device,
        id: DeviceId,
        pa: u32,
        len: u32,
        dir: DmaDirection,
    ) -> DmaAddr {
        self.try_map_single(dev, id, pa, len, dir)
            .unwrap_or(DMA_MAPPING_ERROR)
    }

    /// [`map_single`](Self::map_single) with the reason for a failure.
    pub fn try_map_single(
        &mut self,
        dev: &mut dyn Device,
        id: DeviceId,
        pa: u32,
        len: u32,
        dir: DmaDirection,
    ) -> Result<DmaAddr, DmaError> {
        let segs = self.map_buffers(dev, id, &[(pa, len)], dir, MappingKind::Single)?;
        Ok(segs[0].0)
    }

    /// `dma_unmap_single`: releases a [`map_single`](Self::map_single) mapping. `len` and
    /// `dir` must be the ones it was mapped with.
    pub fn unmap_single(
        &mut self,
        dev: &mut dyn Device,
        id: DeviceId,
        addr: DmaAddr,
        len: u32,
        dir: DmaDirection,
    ) -> Result<(), DmaError> {
        let rec = self.take_record(id, addr, MappingKind::Single, len, dir, |_| true)?;
        self.release(dev, id, rec)
    }

    /// `dma_map_sg`: maps the buffers `sg` as (physical address, length) in one IOVA range,
    /// each buffer starting on a fresh IOVA page at its own page offset. Where one buffer ends
    /// on a page boundary and the next starts on one, their DMA segments are contiguous and
    /// merge (up to the maximum segment size), as Linux's `iommu_dma_map_sg` does. Without
    /// translation every buffer is its own segment. Returns an empty list on failure.
    pub fn map_sg(
        &mut self,
        dev: &mut dyn Device,
        id: DeviceId,
        sg: &[(u32, u32)],
        dir: DmaDirection,
    ) -> Vec<(DmaAddr, u32)> {
        self.try_map_sg(dev, id, sg, dir).unwrap_or_default()
    }

    /// [`map_sg`](Self::map_sg) with the reason for a failure.
    pub fn try_map_sg(
        &mut self,
        dev: &mut dyn Device,
        id: DeviceId,
        sg: &[(u32, u32)],
        dir: DmaDirection,
    ) -> Result<Vec<(DmaAddr, u32)>, DmaError> {
        if sg.is_empty() {
            return Err(DmaError::EmptySg);
        }
        self.map_buffers(dev, id, sg, dir, MappingKind::Sg)
    }

    /// `dma_unmap_sg`: releases a [`map_sg`](Self::map_sg) mapping, named by the segment list
    /// `map_sg` returned.
    pub fn unmap_sg(
        &mut self,
        dev: &mut dyn Device,
        id: DeviceId,
        segs: &[(DmaAddr, u32)],
        dir: DmaDirection,
    ) -> Result<(), DmaError> {
        let first = segs.first().ok_or(DmaError::EmptySg)?.0;
        let len = segs.iter().fold(0u32, |a, s| a.saturating_add(s.1));
        let rec = self.take_record(id, first, MappingKind::Sg, len, dir, |r| {
            r.mapping.dma == segs
        })?;
        self.release(dev, id, rec)
    }

    /// `dma_alloc_coherent`: allocates whole pages for `len` bytes, zeroes them and maps them
    /// for both directions. Returns (CPU physical address, DMA address).
    pub fn alloc_coherent(
        &mut self,
        dev: &mut dyn Device,
        id: DeviceId,
        len: u32,
    ) -> Result<(u32, DmaAddr), DmaError> {
        if len == 0 {
            return Err(DmaError::ZeroLength);
        }
        self.device(id)?;
        let pa = self.mm.alloc_bytes(len)?;
        // The whole allocation (whole pages unless the allocator hands out smaller units).
        zero_bytes(
            dev,
            pa,
            self.mm
                .allocation_bytes(pa)
                .unwrap_or(len.next_multiple_of(4)),
        );
        let dir = DmaDirection::Bidirectional;
        match self.map_buffers(dev, id, &[(pa, len)], dir, MappingKind::Coherent) {
            Ok(segs) => Ok((pa, segs[0].0)),
            Err(e) => {
                self.mm.free(pa)?;
                Err(e)
            }
        }
    }

    /// `dma_free_coherent`: unmaps and frees an [`alloc_coherent`](Self::alloc_coherent)
    /// buffer. In lazy mode the pages go back to the allocator while a stale IOTLB entry may
    /// still reach them until the next flush (as in Linux).
    pub fn free_coherent(
        &mut self,
        dev: &mut dyn Device,
        id: DeviceId,
        len: u32,
        cpu_pa: u32,
        addr: DmaAddr,
    ) -> Result<(), DmaError> {
        let rec = self.take_record(
            id,
            addr,
            MappingKind::Coherent,
            len,
            DmaDirection::Bidirectional,
            |r| r.mapping.cpu.first().map(|c| c.0) == Some(cpu_pa),
        )?;
        self.release(dev, id, rec)?;
        self.mm.free(cpu_pa)?;
        Ok(())
    }

    /// `dma_sync_single_for_cpu`: the CPU is about to look at the buffer. The bus is
    /// coherent, so this only checks that `[addr, addr + len)` lies in one live DMA segment
    /// mapped with `dir` (or bidirectionally).
    pub fn sync_single_for_cpu(
        &self,
        id: DeviceId,
        addr: DmaAddr,
        len: u32,
        dir: DmaDirection,
    ) -> Result<(), DmaError> {
        self.check_sync(id, addr, len, dir)
    }

    /// `dma_sync_single_for_device`: the device may use the buffer again. Only checks, as
    /// [`sync_single_for_cpu`](Self::sync_single_for_cpu).
    pub fn sync_single_for_device(
        &self,
        id: DeviceId,
        addr: DmaAddr,
        len: u32,
        dir: DmaDirection,
    ) -> Result<(), DmaError> {
        self.check_sync(id, addr, len, dir)
    }

    // ---- lazy invalidation ---------------------------------------------------------------

    /// Retires `id`'s queued unmaps: one `IOTINVAL.VMA` for the device and a fence, then the
    /// IOVAs become free. Nothing (no commands) if none are queued.
    pub fn flush(&mut self, dev: &mut dyn Device, id: DeviceId) -> Result<(), DmaError> {
        let d = self
            .devices
            .get_mut(&id)
            .ok_or(DmaError::NotAttached { id })?;
        match &mut d.domain {
            Domain::Translated(t) => flush_domain(&mut self.iommu, dev, id, t),
            Domain::Identity => Ok(()),
        }
    }

    /// [`flush`](Self::flush) for every device.
    pub fn flush_all(&mut self, dev: &mut dyn Device) -> Result<(), DmaError> {
        for (&id, d) in self.devices.iter_mut() {
            if let Domain::Translated(t) = &mut d.domain {
                flush_domain(&mut self.iommu, dev, id, t)?;
            }
        }
        Ok(())
    }

    /// Unmaps of `id` waiting for a flush.
    pub fn pending_unmaps(&self, id: DeviceId) -> usize {
        match self.devices.get(&id).map(|d| &d.domain) {
            Some(Domain::Translated(t)) => t.pending.len(),
            _ => 0,
        }
    }

    // ---- bookkeeping ---------------------------------------------------------------------

    /// Every live mapping of `id`, oldest first (empty if not attached).
    pub fn live_mappings(&self, id: DeviceId) -> Vec<DmaMapping> {
        self.devices.get(&id).map_or_else(Vec::new, |d| {
            d.mappings.iter().map(|r| r.mapping.clone()).collect()
        })
    }

    /// What the driver lets `id` touch right now: the exact bytes of each live mapping, with
    /// its direction's permissions (`FromDevice` buffers are write-only here even though the
    /// page is readable). This is the reference for the "no stray DMA" shadow-memory check.
    pub fn allowed_ranges(&self, id: DeviceId) -> Vec<PhysRange> {
        let Some(d) = self.devices.get(&id) else {
            return vec![];
        };
        d.mappings
            .iter()
            .flat_map(|r| {
                let dir = r.mapping.dir;
                r.mapping.cpu.iter().map(move |&(pa, len)| PhysRange {
                    pa,
                    len,
                    read: dir.device_reads(),
                    write: dir.device_writes(),
                })
            })
            .collect()
    }

    /// What the IOMMU hardware lets `id` reach right now: everything without translation;
    /// for a translated device, every page its page table maps (whole pages, with the PTE's
    /// permissions) plus, in lazy mode, the pages of queued unmaps that a stale IOTLB entry
    /// may still reach. Detached devices reach nothing in DDT mode (V=0) unless their context
    /// was set to Bare behind the DMA layer.
    pub fn reachable_ranges(&self, id: DeviceId) -> Reach {
        match self.devices.get(&id).map(|d| &d.domain) {
            Some(Domain::Identity) => Reach::Everything,
            Some(Domain::Translated(t)) => {
                let live = t.table.leaves();
                let stale = t.pending.iter().flat_map(|p| p.stale.iter());
                Reach::Only(
                    live.iter()
                        .chain(stale)
                        .map(|l| PhysRange {
                            pa: l.pa,
                            len: l.size,
                            read: true,
                            write: l.perm.writable(),
                        })
                        .collect(),
                )
            }
            None => match (self.iommu.mode(), self.iommu.device_context(id)) {
                (IommuMode::Bare, _) | (IommuMode::Ddt, Ok(DeviceContext::Bare)) => {
                    Reach::Everything
                }
                _ => Reach::Only(vec![]),
            },
        }
    }

    /// The physical address `id`'s access to `addr` goes to according to the driver's
    /// tables (no IOTLB): `addr` itself without translation.
    pub fn translate(&self, id: DeviceId, addr: DmaAddr) -> Option<u32> {
        match &self.devices.get(&id)?.domain {
            Domain::Identity => Some(addr.0),
            Domain::Translated(t) => t.table.translate(addr.0).map(|x| x.0),
        }
    }

    // ---- internals -----------------------------------------------------------------------

    fn device(&self, id: DeviceId) -> Result<&DeviceDma, DmaError> {
        self.devices.get(&id).ok_or(DmaError::NotAttached { id })
    }

    fn device_mut(&mut self, id: DeviceId) -> Result<&mut DeviceDma, DmaError> {
        self.devices
            .get_mut(&id)
            .ok_or(DmaError::NotAttached { id })
    }

    /// Maps `bufs` as one mapping of `kind` and records it; returns its DMA segments.
    fn map_buffers(
        &mut self,
        dev: &mut dyn Device,
        id: DeviceId,
        bufs: &[(u32, u32)],
        dir: DmaDirection,
        kind: MappingKind,
    ) -> Result<Vec<(DmaAddr, u32)>, DmaError> {
        for &(pa, len) in bufs {
            if len == 0 {
                return Err(DmaError::ZeroLength);
            }
            if pa.checked_add(len).is_none() {
                return Err(DmaError::Wraps { pa, len });
            }
        }
        // Field access, not `device_mut`: the allocator is borrowed alongside.
        let d = self
            .devices
            .get_mut(&id)
            .ok_or(DmaError::NotAttached { id })?;
        let (dma, iova) = match &mut d.domain {
            Domain::Identity => {
                for &(pa, len) in bufs {
                    if pa + (len - 1) > d.mask {
                        return Err(DmaError::AboveMask {
                            id,
                            pa,
                            len,
                            mask: d.mask,
                        });
                    }
                }
                let dma = bufs.iter().map(|&(pa, len)| (DmaAddr(pa), len)).collect();
                (dma, None)
            }
            Domain::Translated(t) => {
                let m = map_translated(t, dev, &mut self.mm, bufs, dir.perm())?;
                (
                    merge_segments(&m.segs, d.max_segment_size),
                    Some((m.first, m.pages)),
                )
            }
        };
        d.mappings.push(Record {
            mapping: DmaMapping {
                kind,
                dir,
                cpu: bufs.to_vec(),
                dma: dma.clone(),
            },
            iova,
        });
        Ok(dma)
    }

    /// Removes and returns the record that `addr` starts, if it matches what the caller
    /// says it is (`kind`, total `len`, `dir`, and `extra`). Without translation two live
    /// mappings may share a DMA address; the first that matches is taken.
    fn take_record(
        &mut self,
        id: DeviceId,
        addr: DmaAddr,
        kind: MappingKind,
        len: u32,
        dir: DmaDirection,
        extra: impl Fn(&Record) -> bool,
    ) -> Result<Record, DmaError> {
        let d = self.device_mut(id)?;
        let starts = |r: &&Record| r.first() == Some(addr);
        let matches = |r: &Record| {
            r.mapping.kind == kind && r.mapping.dir == dir && r.total_len() == len && extra(r)
        };
        if let Some(i) = d.mappings.iter().position(|r| starts(&r) && matches(r)) {
            return Ok(d.mappings.remove(i));
        }
        Err(match d.mappings.iter().find(starts) {
            Some(r) => DmaError::Mismatch {
                id,
                addr,
                mapped_kind: r.mapping.kind,
                mapped_len: r.total_len(),
                mapped_dir: r.mapping.dir,
                kind,
                len,
                dir,
            },
            None => DmaError::NotMapped { id, addr },
        })
    }

    /// Tears down a record taken out of the list: for a translated device clears its PTEs
    /// and invalidates (strict) or queues the range (lazy).
    fn release(&mut self, dev: &mut dyn Device, id: DeviceId, rec: Record) -> Result<(), DmaError> {
        let Some((iova, pages)) = rec.iova else {
            return Ok(());
        };
        // Field access, not `device_mut`: the IOMMU is borrowed alongside.
        let d = self
            .devices
            .get_mut(&id)
            .ok_or(DmaError::NotAttached { id })?;
        let Domain::Translated(t) = &mut d.domain else {
            return Ok(());
        };
        let page_iovas = (0..pages).map(|p| iova + p * PAGE_SIZE);
        let stale: Vec<Leaf> = page_iovas
            .clone()
            .filter_map(|a| t.table.unmap(dev, a))
            .collect();
        let pending = Pending { iova, stale };
        match self.invalidation {
            Invalidation::Strict => match self.iommu.invalidate_pages(dev, id, page_iovas) {
                Ok(()) => {
                    t.iova.free(iova)?;
                    Ok(())
                }
                Err(e) => {
                    // Not known to be invalidated: keep the IOVAs out of use until a flush.
                    t.pending.push(pending);
                    Err(e.into())
                }
            },
            Invalidation::Lazy { flush_threshold } => {
                t.pending.push(pending);
                if t.pending.len() >= flush_threshold {
                    flush_domain(&mut self.iommu, dev, id, t)
                } else {
                    Ok(())
                }
            }
        }
    }

    fn check_sync(
        &self,
        id: DeviceId,
        addr: DmaAddr,
        len: u32,
        dir: DmaDirection,
    ) -> Result<(), DmaError> {
        let d = self.device(id)?;
        let end = u64::from(addr.0) + u64::from(len);
        let found = d.mappings.iter().find(|r| {
            r.mapping
                .dma
                .iter()
                .any(|&(a, l)| addr.0 >= a.0 && end <= u64::from(a.0) + u64::from(l))
        });
        match found {
            None => Err(DmaError::NotMapped { id, addr }),
            Some(r) if r.mapping.dir == dir || r.mapping.dir == DmaDirection::Bidirectional => {
                Ok(())
            }
            Some(r) => Err(DmaError::Mismatch {
                id,
                addr,
                mapped_kind: r.mapping.kind,
                mapped_len: r.total_len(),
                mapped_dir: r.mapping.dir,
                kind: r.mapping.kind,
                len,
                dir,
            }),
        }
    }
}

/// The IOMMU set up for `config.policy` with pages from `mm` (see [`Dma::init`]). On error
/// every page taken so far is given back to `mm`.
fn setup_iommu(
    dev: &mut dyn Device,
    mm: &mut PageAllocator,
    config: DmaConfig,
) -> Result<Iommu, DmaError> {
    let mut iommu = Iommu::new().with_timeout(config.timeout_cycles);
    let mut setup = || match config.policy {
        IommuPolicy::Off => iommu.set_mode(dev, mm, IommuMode::Bare),
        IommuPolicy::Pt | IommuPolicy::On => {
            iommu.enable_command_queue(dev, mm, config.command_queue_entries)?;
            if config.fault_queue_entries != 0 {
                iommu.enable_fault_queue(dev, mm, config.fault_queue_entries, config.fault_irq)?;
            }
            iommu.set_mode(dev, mm, IommuMode::Ddt)
        }
    };
    if let Err(e) = setup() {
        // Best effort: the original error is the one worth reporting.
        let _ = iommu.release(dev, mm);
        return Err(e.into());
    }
    Ok(iommu)
}

/// What [`map_translated`] did.
struct MappedRange {
    /// One DMA segment per buffer, before merging.
    segs: Vec<(DmaAddr, u32)>,
    /// The IOVA range: first IOVA and number of pages.
    first: u32,
    pages: u32,
}

/// Maps `bufs` into one fresh IOVA range of `t`: each buffer gets the pages it touches, at
/// its own page offset. Returns the per-buffer segments and the range (first IOVA, pages).
/// On failure everything mapped so far is undone (those pages were never handed out, so
/// no IOTLB entry can exist for them: their IOVAs were free, not waiting for a flush).
fn map_translated(
    t: &mut Translated,
    dev: &mut dyn Device,
    mm: &mut PageAllocator,
    bufs: &[(u32, u32)],
    perm: Perm,
) -> Result<MappedRange, DmaError> {
    let pages_of = |&(pa, len): &(u32, u32)| (pa % PAGE_SIZE + len).div_ceil(PAGE_SIZE);
    let total = bufs
        .iter()
        .try_fold(0u32, |a, b| a.checked_add(pages_of(b)))
        .ok_or(IovaError::OutOfSpace {
            pages: u32::MAX,
            align: 1,
            limit: t.iova.limit(),
        })?;
    let first = t.iova.alloc(total, 1)?;
    let mut segs = Vec::with_capacity(bufs.len());
    let mut cursor = first;
    let mut result = Ok(());
    'bufs: for b in bufs {
        let (pa, len) = *b;
        let page = pa - pa % PAGE_SIZE;
        for p in 0..pages_of(b) {
            let r = t
                .table
                .map(dev, mm, cursor + p * PAGE_SIZE, page + p * PAGE_SIZE, perm);
            if let Err(e) = r {
                result = Err(e);
                break 'bufs;
            }
        }
        segs.push((DmaAddr(cursor + pa % PAGE_SIZE), len));
        cursor += pages_of(b) * PAGE_SIZE;
    }
    if let Err(e) = result {
        for p in 0..total {
            t.table.unmap(dev, first + p * PAGE_SIZE);
        }
        t.iova.free(first)?;
        return Err(e.into());
    }
    Ok(MappedRange {
        segs,
        first,
        pages: total,
    })
}

/// Joins DMA segments that are contiguous, up to `max` bytes each.
fn merge_segments(segs: &[(DmaAddr, u32)], max: u32) -> Vec<(DmaAddr, u32)> {
    let mut out: Vec<(DmaAddr, u32)> = Vec::with_capacity(segs.len());
    for &(a, l) in segs {
        if let Some(last) = out.last_mut() {
            let contiguous = last.0 .0.checked_add(last.1) == Some(a.0);
            if let Some(joined) = last.1.checked_add(l).filter(|j| contiguous && *j <= max) {
                last.1 = joined;
                continue;
            }
        }
        out.push((a, l));
    }
    out
}

/// One device-wide invalidation and fence, then the queued IOVAs are free again.
fn flush_domain(
    iommu: &mut Iommu,
    dev: &mut dyn Device,
    id: DeviceId,
    t: &mut Translated,
) -> Result<(), DmaError> {
    if t.pending.is_empty() {
        return Ok(());
    }
    iommu.invalidate_device(dev, id)?;
    let mut result = Ok(());
    for p in std::mem::take(&mut t.pending) {
        if let Err(e) = t.iova.free(p.iova) {
            result = Err(e.into());
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dmac::{Completion, Dmac};
    use crate::mock::{sv32_walk, MockDevice};
    use pretty_assertions::assert_eq;
    use regs::iommu::{self as hw, cmd, dc, ddtp};
    use regs::sv32::pte;
    use regs::{block, csr, dmac};

    const P: u32 = PAGE_SIZE;
    const RAM: u32 = 64 * P;
    const M0: DeviceId = DeviceId::MEMCPY0;
    const M1: DeviceId = DeviceId::MEMCPY1;
    /// The first IOVA page handed out (top down, below the excluded top page).
    const TOP: u32 = 0xFFFF_E000;

    fn config(policy: IommuPolicy, invalidation: Invalidation) -> DmaConfig {
        DmaConfig {
            policy,
            invalidation,
            command_queue_entries: 8,
            fault_queue_entries: 4,
            fault_irq: false,
            timeout_cycles: 1000,
        }
    }

    /// A system with `policy` and MEMCPY0 attached by the policy's default.
    fn setup(policy: IommuPolicy, invalidation: Invalidation) -> (MockDevice, Dma) {
        let mut dev = MockDevice::new(RAM);
        let mm = PageAllocator::new(RAM).unwrap();
        let mut dma = Dma::init(&mut dev, mm, config(policy, invalidation)).unwrap();
        dma.attach(&mut dev, M0).unwrap();
        dev.clear_commands();
        (dev, dma)
    }

    fn on() -> (MockDevice, Dma) {
        setup(IommuPolicy::On, Invalidation::Strict)
    }

    fn lazy(threshold: usize) -> (MockDevice, Dma) {
        setup(
            IommuPolicy::On,
            Invalidation::Lazy {
                flush_threshold: threshold,
            },
        )
    }

    /// The commands a strict unmap of `pages` pages at `iova` issues, fence number `seq`.
    fn strict_unmap_cmds(id: DeviceId, iova: u32, pages: u32, seq: u32) -> Vec<[u32; 4]> {
        let mut v: Vec<[u32; 4]> = (0..pages)
            .map(|p| cmd::iotinval_vma(Some(id.0), Some(iova + p * P)))
            .collect();
        v.push(cmd::iofence_c(Some((P - 4, seq)), false));
        v
    }

    /// Fence sequence number the next fence will use.
    fn next_seq(dev: &mut MockDevice) -> u32 {
        dev.read32(P - 4) + 1
    }

    #[test]
    fn iommu_on_maps_through_the_page_table_keeping_the_page_offset() {
        let (mut dev, mut dma) = on();
        let a = dma.map_single(&mut dev, M0, 0x5010, 0x100, DmaDirection::ToDevice);
        assert_eq!(a, DmaAddr(TOP + 0x010));
        assert!(!mapping_error(a));
        assert_eq!(dma.translate(M0, a), Some(0x5010));
        let root = dma.page_table(M0).unwrap().root_pa();
        let (pa, leaf) = sv32_walk(&mut dev, root, a.0).unwrap();
        assert_eq!(pa, 0x5010);
        assert_eq!(leaf, pte::new(5, pte::V | pte::R | pte::A));
        // The device context points at that root.
        let ddt = dma.iommu().ddt_pa().unwrap();
        assert_eq!(dev.read32(ddt + dc::FSC), dc::fsc_sv32(root));
        assert_eq!(dev.read32(ddt + dc::TC), dc::TC_V);
        assert_eq!(
            dev.reg(csr(block::IOMMU, hw::DDTP)),
            ddtp::new(ddtp::MODE_1LVL, ddt)
        );
    }

    #[test]
    fn a_buffer_spanning_pages_maps_every_page_it_touches() {
        let (mut dev, mut dma) = on();
        let a = dma
            .try_map_single(&mut dev, M0, 0x5FF0, 0x20, DmaDirection::FromDevice)
            .unwrap();
        assert_eq!(a, DmaAddr(0xFFFF_DFF0));
        assert_eq!(dma.translate(M0, a), Some(0x5FF0));
        assert_eq!(dma.translate(M0, DmaAddr(a.0 + 0x1F)), Some(0x600F));
        let leaves = dma.page_table(M0).unwrap().leaves();
        assert_eq!(
            leaves
                .iter()
                .map(|l| (l.iova, l.pa, l.perm))
                .collect::<Vec<_>>(),
            vec![
                (0xFFFF_D000, 0x5000, Perm::ReadWrite),
                (0xFFFF_E000, 0x6000, Perm::ReadWrite),
            ]
        );
        // FromDevice: the page is R+W (Sv32 has no write-only), the driver allows writes only.
        assert_eq!(
            dma.allowed_ranges(M0),
            vec![PhysRange {
                pa: 0x5FF0,
                len: 0x20,
                read: false,
                write: true
            }]
        );
        assert_eq!(
            dma.reachable_ranges(M0),
            Reach::Only(vec![
                PhysRange {
                    pa: 0x5000,
                    len: P,
                    read: true,
                    write: true
                },
                PhysRange {
                    pa: 0x6000,
                    len: P,
                    read: true,
                    write: true
                },
            ])
        );
    }

    #[test]
    fn pt_gives_physical_addresses_and_still_checks_the_mask() {
        let (mut dev, mut dma) = setup(IommuPolicy::Pt, Invalidation::Strict);
        let ddt = dma.iommu().ddt_pa().unwrap();
        assert_eq!(
            (dev.read32(ddt + dc::TC), dev.read32(ddt + dc::FSC)),
            (dc::TC_V, 0)
        );
        assert_eq!(dma.domain_type(M0), Some(DomainType::Identity));
        let d = DmaDirection::Bidirectional;
        assert_eq!(dma.map_single(&mut dev, M0, 0x8004, 8, d), DmaAddr(0x8004));
        dma.set_dma_mask(M0, 0xFFFF).unwrap();
        assert_eq!(
            dma.try_map_single(&mut dev, M0, 0xFFF8, 0x10, d),
            Err(DmaError::AboveMask {
                id: M0,
                pa: 0xFFF8,
                len: 0x10,
                mask: 0xFFFF
            })
        );
        let bad = dma.map_single(&mut dev, M0, 0x1_0000, 4, d);
        assert!(mapping_error(bad));
        assert_eq!(dma.reachable_ranges(M0), Reach::Everything);
        assert_eq!(dma.live_mappings(M0).len(), 1);
    }

    #[test]
    fn one_device_in_passthrough_while_another_is_translated() {
        let (mut dev, mut dma) = on();
        dma.attach_as(&mut dev, M1, DomainType::Identity).unwrap();
        let d = DmaDirection::ToDevice;
        let t = dma.map_single(&mut dev, M0, 0x3000, 64, d);
        let p = dma.map_single(&mut dev, M1, 0x3000, 64, d);
        assert_eq!((t, p), (DmaAddr(TOP), DmaAddr(0x3000)));
        assert_eq!(dma.iommu().device_context(M1), Ok(DeviceContext::Bare));
        assert_eq!(
            dma.attach(&mut dev, M1),
            Err(DmaError::AlreadyAttached { id: M1 })
        );
    }

    #[test]
    fn iommu_off_is_global_bare_with_no_queues() {
        let mut dev = MockDevice::new(RAM);
        let mm = PageAllocator::new(RAM).unwrap();
        let mut dma =
            Dma::init(&mut dev, mm, config(IommuPolicy::Off, Invalidation::Strict)).unwrap();
        assert_eq!(
            dev.writes(),
            &[(csr(block::IOMMU, hw::DDTP), ddtp::MODE_BARE)]
        );
        assert_eq!(dma.mm().free_pages(), 64);
        assert_eq!(
            dma.attach_as(&mut dev, M0, DomainType::Translated),
            Err(DmaError::NoTranslation { id: M0 })
        );
        dma.attach(&mut dev, M0).unwrap();
        let a = dma.map_single(&mut dev, M0, 0x2000, 4, DmaDirection::ToDevice);
        assert_eq!(a, DmaAddr(0x2000));
        // Detached devices reach everything too: nothing translates in global Bare.
        assert_eq!(dma.reachable_ranges(M1), Reach::Everything);
    }

    #[test]
    fn map_sg_merges_segments_that_meet_on_page_boundaries() {
        let (mut dev, mut dma) = on();
        let sg = [
            (0x3800, 0x800),  // ends on a page boundary
            (0x9000, 0x1000), // whole page: joins both neighbours
            (0xB000, 0x400),  // starts on a boundary, ends inside the page
            (0xC100, 0x100),  // starts inside a page: a segment of its own
        ];
        let segs = dma.map_sg(&mut dev, M0, &sg, DmaDirection::ToDevice);
        // One IOVA range of 4 pages, top down.
        let base = 0xFFFF_B000;
        assert_eq!(
            segs,
            vec![
                (DmaAddr(base + 0x800), 0x1C00),
                (DmaAddr(base + 3 * P + 0x100), 0x100),
            ]
        );
        for (pa, iova) in [
            (0x3800, base + 0x800),
            (0x3FFF, base + 0xFFF),
            (0x9000, base + P),
            (0xB3FF, base + 2 * P + 0x3FF),
            (0xC1FF, base + 3 * P + 0x1FF),
        ] {
            assert_eq!(dma.translate(M0, DmaAddr(iova)), Some(pa), "{iova:#x}");
        }
        let live = dma.live_mappings(M0);
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].cpu, sg.to_vec());
        assert_eq!(live[0].kind, MappingKind::Sg);

        assert!(matches!(
            dma.unmap_sg(&mut dev, M0, &segs, DmaDirection::FromDevice),
            Err(DmaError::Mismatch { .. })
        ));
        dma.unmap_sg(&mut dev, M0, &segs, DmaDirection::ToDevice)
            .unwrap();
        assert_eq!(dma.live_mappings(M0), vec![]);
        assert_eq!(dma.page_table(M0).unwrap().leaves(), vec![]);
    }

    #[test]
    fn map_sg_respects_the_maximum_segment_size() {
        let (mut dev, mut dma) = on();
        dma.set_max_segment_size(M0, 0x1800).unwrap();
        let sg = [(0x3000, P), (0x5000, P), (0x7000, P)];
        let segs = dma.map_sg(&mut dev, M0, &sg, DmaDirection::ToDevice);
        let base = 0xFFFF_C000;
        assert_eq!(
            segs,
            vec![
                (DmaAddr(base), P),
                (DmaAddr(base + P), P),
                (DmaAddr(base + 2 * P), P)
            ]
        );
        assert_eq!(
            dma.set_max_segment_size(M0, 0),
            Err(DmaError::BadSegmentSize)
        );
        assert_eq!(
            dma.try_map_sg(&mut dev, M0, &[], DmaDirection::ToDevice),
            Err(DmaError::EmptySg)
        );
    }

    #[test]
    fn without_translation_sg_segments_stay_apart() {
        let (mut dev, mut dma) = setup(IommuPolicy::Pt, Invalidation::Strict);
        let sg = [(0x3000, P), (0x4000, P)];
        let segs = dma.map_sg(&mut dev, M0, &sg, DmaDirection::ToDevice);
        assert_eq!(segs, vec![(DmaAddr(0x3000), P), (DmaAddr(0x4000), P)]);
    }

    #[test]
    fn strict_unmap_invalidates_each_page_and_fences_before_returning() {
        let (mut dev, mut dma) = on();
        let d = DmaDirection::ToDevice;
        let a = dma.map_single(&mut dev, M0, 0x4FF0, 0x20, d);
        assert_eq!(
            dev.commands(),
            &[] as &[[u32; 4]],
            "mapping needs no command"
        );
        let seq = next_seq(&mut dev);
        dma.unmap_single(&mut dev, M0, a, 0x20, d).unwrap();
        assert_eq!(
            dev.commands(),
            &strict_unmap_cmds(M0, 0xFFFF_D000, 2, seq)[..]
        );
        assert_eq!(dev.read32(P - 4), seq, "fence completed");
        assert_eq!(dma.pending_unmaps(M0), 0);
        assert_eq!(dma.reachable_ranges(M0), Reach::Only(vec![]));
        // The IOVAs are free at once: the next mapping gets them back.
        let b = dma.map_single(&mut dev, M0, 0x4FF0, 0x20, d);
        assert_eq!(b, a);
    }

    #[test]
    fn lazy_unmap_leaves_the_iotlb_alone_until_the_flush() {
        let (mut dev, mut dma) = lazy(8);
        let d = DmaDirection::FromDevice;
        let a = dma.map_single(&mut dev, M0, 0x4000, P, d);
        dma.unmap_single(&mut dev, M0, a, P, d).unwrap();
        assert_eq!(dev.commands(), &[] as &[[u32; 4]]);
        // The PTE is gone, so a new walk faults...
        assert_eq!(dma.translate(M0, a), None);
        let root = dma.page_table(M0).unwrap().root_pa();
        assert_eq!(sv32_walk(&mut dev, root, a.0), None);
        // ...but a stale IOTLB entry may still reach the page.
        let stale = PhysRange {
            pa: 0x4000,
            len: P,
            read: true,
            write: true,
        };
        assert_eq!(dma.reachable_ranges(M0), Reach::Only(vec![stale]));
        assert_eq!(dma.allowed_ranges(M0), vec![]);
        assert_eq!(dma.pending_unmaps(M0), 1);
        // Its IOVA is not reused before the flush.
        let b = dma.map_single(&mut dev, M0, 0x4000, P, d);
        assert_eq!(b, DmaAddr(TOP - P));

        let seq = next_seq(&mut dev);
        dma.flush(&mut dev, M0).unwrap();
        assert_eq!(
            dev.commands(),
            &[
                cmd::iotinval_vma(Some(M0.0), None),
                cmd::iofence_c(Some((P - 4, seq)), false)
            ]
        );
        assert_eq!(dma.pending_unmaps(M0), 0);
        let c = dma.map_single(&mut dev, M0, 0x7000, P, d);
        assert_eq!(c, a, "flushed IOVAs are free again");
        // Nothing queued: a flush issues no command.
        dev.clear_commands();
        dma.flush_all(&mut dev).unwrap();
        assert_eq!(dev.commands(), &[] as &[[u32; 4]]);
    }

    #[test]
    fn the_lazy_queue_flushes_itself_at_the_threshold() {
        let (mut dev, mut dma) = lazy(2);
        let d = DmaDirection::ToDevice;
        let a = dma.map_single(&mut dev, M0, 0x4000, 16, d);
        let b = dma.map_single(&mut dev, M0, 0x5000, 16, d);
        dma.unmap_single(&mut dev, M0, a, 16, d).unwrap();
        assert_eq!(dev.commands().len(), 0);
        let seq = next_seq(&mut dev);
        dma.unmap_single(&mut dev, M0, b, 16, d).unwrap();
        assert_eq!(
            dev.commands(),
            &[
                cmd::iotinval_vma(Some(M0.0), None),
                cmd::iofence_c(Some((P - 4, seq)), false)
            ]
        );
        assert_eq!(dma.pending_unmaps(M0), 0);
    }

    #[test]
    fn coherent_memory_is_zeroed_mapped_both_ways_and_given_back() {
        let (mut dev, mut dma) = on();
        let free = dma.mm().free_pages();
        // Garbage where the allocation will land (the first free page).
        let next = dma.mm_mut().alloc(1).unwrap();
        dma.mm_mut().free(next).unwrap();
        dev.write32(next + 0x40, 0xDEAD_BEEF);
        let (pa, a) = dma.alloc_coherent(&mut dev, M0, 100).unwrap();
        assert_eq!(pa, next);
        assert_eq!(dev.read32(pa + 0x40), 0);
        assert_eq!(dma.translate(M0, a), Some(pa));
        assert_eq!(
            dma.page_table(M0).unwrap().lookup(a.0).map(|l| l.perm),
            Some(Perm::ReadWrite)
        );
        assert!(matches!(
            dma.free_coherent(&mut dev, M0, 100, pa + P, a),
            Err(DmaError::Mismatch { .. })
        ));
        assert!(matches!(
            dma.free_coherent(&mut dev, M0, 64, pa, a),
            Err(DmaError::Mismatch { .. })
        ));
        assert!(matches!(
            dma.unmap_single(&mut dev, M0, a, 100, DmaDirection::Bidirectional),
            Err(DmaError::Mismatch {
                mapped_kind: MappingKind::Coherent,
                ..
            })
        ));
        dma.free_coherent(&mut dev, M0, 100, pa, a).unwrap();
        // One level-0 table stays with the domain.
        assert_eq!(dma.mm().free_pages(), free - 1);
        assert_eq!(
            dma.alloc_coherent(&mut dev, M0, 0),
            Err(DmaError::ZeroLength)
        );
    }

    #[test]
    fn unmapping_what_is_not_mapped_is_an_error() {
        let (mut dev, mut dma) = on();
        let d = DmaDirection::ToDevice;
        assert_eq!(
            dma.unmap_single(&mut dev, M0, DmaAddr(TOP), 4, d),
            Err(DmaError::NotMapped {
                id: M0,
                addr: DmaAddr(TOP)
            })
        );
        let a = dma.map_single(&mut dev, M0, 0x3000, 64, d);
        assert_eq!(
            dma.unmap_single(&mut dev, M0, a, 32, d),
            Err(DmaError::Mismatch {
                id: M0,
                addr: a,
                mapped_kind: MappingKind::Single,
                mapped_len: 64,
                mapped_dir: d,
                kind: MappingKind::Single,
                len: 32,
                dir: d
            })
        );
        dma.unmap_single(&mut dev, M0, a, 64, d).unwrap();
        assert_eq!(
            dma.unmap_single(&mut dev, M0, a, 64, d),
            Err(DmaError::NotMapped { id: M0, addr: a }),
            "double unmap"
        );
        assert_eq!(
            dma.unmap_single(&mut dev, M1, a, 64, d),
            Err(DmaError::NotAttached { id: M1 })
        );
    }

    #[test]
    fn bad_buffers_and_masks_are_errors_not_panics() {
        let (mut dev, mut dma) = on();
        let d = DmaDirection::ToDevice;
        assert_eq!(
            dma.try_map_single(&mut dev, M0, 0x3000, 0, d),
            Err(DmaError::ZeroLength)
        );
        assert_eq!(
            dma.try_map_single(&mut dev, M0, 0xFFFF_F000, P, d),
            Err(DmaError::Wraps {
                pa: 0xFFFF_F000,
                len: P
            })
        );
        for mask in [0, 0xFFF, 0x1000, 0x1FF0, 0x2FFF] {
            assert_eq!(dma.set_dma_mask(M0, mask), Err(DmaError::BadMask { mask }));
        }
        assert_eq!(
            dma.try_map_single(&mut dev, DeviceId(9), 0x3000, 4, d),
            Err(DmaError::NotAttached { id: DeviceId(9) })
        );
        assert_eq!(
            dma.attach(&mut dev, DeviceId(9)),
            Err(DmaError::Iommu(IommuError::BadDeviceId { id: 9 }))
        );
    }

    #[test]
    fn a_small_mask_runs_out_of_iova_space() {
        let (mut dev, mut dma) = on();
        let d = DmaDirection::ToDevice;
        dma.set_dma_mask(M0, 0x3FFF).unwrap(); // pages 1..=3
        assert_eq!(dma.dma_mask(M0), Some(0x3FFF));
        let a = dma.try_map_single(&mut dev, M0, 0x8000, 2 * P, d).unwrap();
        assert_eq!(a, DmaAddr(0x2000));
        assert!(matches!(
            dma.try_map_single(&mut dev, M0, 0x8000, 2 * P, d),
            Err(DmaError::Iova(IovaError::OutOfSpace { pages: 2, .. }))
        ));
        assert!(mapping_error(dma.map_single(
            &mut dev,
            M0,
            0x8000,
            2 * P,
            d
        )));
        // A 24-bit mask: IOVAs below 16 MiB.
        dma.set_dma_mask(M0, 0x00FF_FFFF).unwrap();
        let b = dma.map_single(&mut dev, M0, 0x8000, 4, d);
        assert_eq!(b, DmaAddr(0x00FF_F000));
    }

    #[test]
    fn a_failed_map_takes_nothing() {
        let (mut dev, mut dma) = on();
        let d = DmaDirection::ToDevice;
        // Use up RAM so the level-0 table cannot be allocated.
        let rest = dma.mm().largest_free_run();
        let hog = dma.mm_mut().alloc(rest).unwrap();
        assert!(matches!(
            dma.try_map_single(&mut dev, M0, 0x3000, 4, d),
            Err(DmaError::PageTable(PgTableError::Mm(_)))
        ));
        assert_eq!(dma.live_mappings(M0), vec![]);
        dma.mm_mut().free(hog).unwrap();
        assert_eq!(
            dma.map_single(&mut dev, M0, 0x3000, 4, d),
            DmaAddr(TOP),
            "the IOVA was given back"
        );
    }

    #[test]
    fn alloc_coherent_gives_its_pages_back_when_the_device_cannot_reach_them() {
        let (mut dev, mut dma) = setup(IommuPolicy::Pt, Invalidation::Strict);
        dma.set_dma_mask(M0, 0x1FFF).unwrap();
        let free = dma.mm().free_pages();
        assert!(matches!(
            dma.alloc_coherent(&mut dev, M0, 64),
            Err(DmaError::AboveMask { .. })
        ));
        assert_eq!(dma.mm().free_pages(), free);
        assert_eq!(
            dma.alloc_coherent(&mut dev, M1, 64),
            Err(DmaError::NotAttached { id: M1 })
        );
        assert_eq!(dma.mm().free_pages(), free);
    }

    #[test]
    fn sync_checks_the_range_and_direction_and_does_nothing_else() {
        let (mut dev, mut dma) = on();
        let d = DmaDirection::FromDevice;
        let a = dma.map_single(&mut dev, M0, 0x3100, 0x200, d);
        let n = dev.writes().len();
        dma.sync_single_for_cpu(M0, a, 0x200, d).unwrap();
        dma.sync_single_for_device(M0, DmaAddr(a.0 + 0x100), 0x100, d)
            .unwrap();
        assert_eq!(dev.writes().len(), n, "a coherent bus needs no maintenance");
        assert!(matches!(
            dma.sync_single_for_cpu(M0, a, 0x200, DmaDirection::ToDevice),
            Err(DmaError::Mismatch { .. })
        ));
        assert_eq!(
            dma.sync_single_for_cpu(M0, a, 0x201, d),
            Err(DmaError::NotMapped { id: M0, addr: a })
        );
        let (_, c) = dma.alloc_coherent(&mut dev, M0, 64).unwrap();
        dma.sync_single_for_device(M0, c, 64, DmaDirection::ToDevice)
            .unwrap();
    }

    #[test]
    fn memcpy_through_the_dma_api() {
        let (mut dev, mut dma) = on();
        let (src_pa, dst_pa, len) = (0x3000, 0x8040, 256);
        let src = dma.map_single(&mut dev, M0, src_pa, len, DmaDirection::ToDevice);
        let dst = dma.map_single(&mut dev, M0, dst_pa, len, DmaDirection::FromDevice);
        assert!(!mapping_error(src) && !mapping_error(dst));
        // The mock DMAC does nothing; make it report completion.
        let dreg = |o| csr(block::DMAC, o);
        dev.set_reg(dreg(dmac::STATUS), dmac::status::DONE);
        dev.set_reg(dreg(dmac::BYTES_DONE), len);
        Dmac::new()
            .memcpy(&mut dev, src.addr(), dst.addr(), len, Completion::Poll)
            .unwrap();
        assert_eq!(dev.reg(dreg(dmac::SRC)), TOP);
        assert_eq!(dev.reg(dreg(dmac::DST)), TOP - P + 0x40);
        dma.unmap_single(&mut dev, M0, dst, len, DmaDirection::FromDevice)
            .unwrap();
        dma.unmap_single(&mut dev, M0, src, len, DmaDirection::ToDevice)
            .unwrap();
        assert_eq!(dma.live_mappings(M0), vec![]);
    }

    #[test]
    fn detach_and_shutdown_give_every_page_back() {
        let mut dev = MockDevice::new(RAM);
        let mm = PageAllocator::new(RAM).unwrap();
        let lazy = Invalidation::Lazy {
            flush_threshold: 16,
        };
        let mut dma = Dma::init(&mut dev, mm, config(IommuPolicy::On, lazy)).unwrap();
        dma.attach(&mut dev, M0).unwrap();
        dma.attach_as(&mut dev, M1, DomainType::Identity).unwrap();
        let d = DmaDirection::ToDevice;
        let a = dma.map_single(&mut dev, M0, 0x3000, 4, d);
        assert_eq!(
            dma.detach(&mut dev, M0),
            Err(DmaError::StillMapped { id: M0, count: 1 })
        );
        assert_eq!(
            dma.shutdown(&mut dev),
            Err(DmaError::StillMapped { id: M0, count: 1 })
        );
        dma.unmap_single(&mut dev, M0, a, 4, d).unwrap();
        assert_eq!(dma.pending_unmaps(M0), 1);
        dma.detach(&mut dev, M0).unwrap();
        assert_eq!(dma.iommu().device_context(M0), Ok(DeviceContext::Disabled));
        assert_eq!(dma.reachable_ranges(M0), Reach::Only(vec![]));
        dma.shutdown(&mut dev).unwrap();
        let mm = dma.into_mm();
        assert_eq!(mm.free_pages(), mm.total_pages());
        assert_eq!(dev.reg(csr(block::IOMMU, hw::DDTP)), ddtp::MODE_BARE);
    }

    #[test]
    fn init_gives_pages_back_when_it_fails() {
        let mut dev = MockDevice::new(RAM);
        let mm = PageAllocator::new(RAM).unwrap();
        let mut bad = config(IommuPolicy::On, Invalidation::Strict);
        bad.fault_queue_entries = 3;
        assert!(matches!(
            Dma::init(&mut dev, mm, bad),
            Err(DmaError::Iommu(IommuError::BadQueueSize { entries: 3, .. }))
        ));
        // `init` drops the allocator with the error; the setup it runs on it (after the
        // command queue took its page) shows every page given back.
        let mut dev = MockDevice::new(RAM);
        let mut mm = PageAllocator::new(RAM).unwrap();
        assert!(matches!(
            setup_iommu(&mut dev, &mut mm, bad),
            Err(DmaError::Iommu(IommuError::BadQueueSize { entries: 3, .. }))
        ));
        assert_eq!(mm.free_pages(), mm.total_pages());
    }

    #[test]
    fn a_stuck_iommu_fails_a_strict_unmap_and_keeps_the_iova_out_of_use() {
        let (mut dev, mut dma) = on();
        let d = DmaDirection::ToDevice;
        let a = dma.map_single(&mut dev, M0, 0x3000, 4, d);
        dev.stall_iommu(true);
        assert!(matches!(
            dma.unmap_single(&mut dev, M0, a, 4, d),
            Err(DmaError::Iommu(IommuError::Timeout { .. }))
        ));
        assert_eq!(dma.live_mappings(M0), vec![]);
        assert_eq!(dma.pending_unmaps(M0), 1);
        let b = dma.map_single(&mut dev, M0, 0x3000, 4, d);
        assert_ne!(a, b);
        dev.stall_iommu(false);
        dma.flush(&mut dev, M0).unwrap();
        assert_eq!(dma.pending_unmaps(M0), 0);
    }
}
