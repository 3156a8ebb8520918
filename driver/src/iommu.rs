//! Control of the IOMMU (docs/iommu.md; registers and memory layouts in [`regs::iommu`]).
//!
//! ```text
//!  DDTP ──► device directory table (1 page): one 8-byte device context per device ID
//!             V=0 → every access faults (258)   FSC Bare → passthrough   FSC Sv32 → page tables
//!  CQB/CQH/CQT ──► command queue (ring of 16-byte commands, software produces at CQT)
//!  FQB/FQH/FQT ──► fault queue (ring of 32-byte records, hardware produces at FQT)
//! ```
//!
//! The IOMMU caches device contexts and translations. Whatever software changes in memory,
//! it tells the hardware through the command queue (`IODIR.INVAL_DDT`, `IOTINVAL.VMA`) and
//! learns that the hardware has acted on it from an `IOFENCE.C`, which writes a sequence
//! number into host RAM once every earlier command has taken effect. Rewriting `DDTP` also
//! flushes every cache, which is the fallback when no command queue is running.
//!
//! Faults are never silent: the hardware writes a record into the fault queue (or counts it
//! as dropped if the queue is off or full) and can raise `IPSR.FIP`.

use std::fmt;

use regs::iommu::{self as hw, cmd, cqcsr, dc, ddtp, fault, fqcsr, ipsr, qb};
use regs::iommu_cause::FaultCause;
use regs::{block, csr, PAGE_BYTES};
use thiserror::Error;

use crate::mm::{zero_pages, MmError, PageAllocator};
use crate::Device;

/// Cycles between two reads while waiting for the IOMMU (fence word, `CQH`).
pub const POLL_INTERVAL_CYCLES: u64 = 16;
/// Default bound for a fence or for room in the command queue. Generous, because the
/// IOMMU's memory accesses compete with DMA bursts for the one memory bus.
pub const DEFAULT_TIMEOUT_CYCLES: u64 = 10_000_000;
/// Most commands a one-page command queue holds.
pub const MAX_COMMAND_QUEUE_ENTRIES: u32 = PAGE_BYTES / cmd::BYTES;
/// Most records a one-page fault queue holds.
pub const MAX_FAULT_QUEUE_ENTRIES: u32 = PAGE_BYTES / fault::BYTES;

fn reg(offset: u32) -> u32 {
    csr(block::IOMMU, offset)
}

/// A DMA requester's device ID: the index of its device context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(pub u32);

impl DeviceId {
    pub const MEMCPY0: DeviceId = DeviceId(hw::DEVICE_MEMCPY0);
    pub const MEMCPY1: DeviceId = DeviceId(hw::DEVICE_MEMCPY1);
    pub const NIC: DeviceId = DeviceId(hw::DEVICE_NIC);
    /// Number of device IDs the hardware decodes.
    pub const COUNT: u32 = 1 << hw::DEVICE_ID_BITS;

    /// The ID itself if the hardware has a device context for it.
    pub fn checked(self) -> Result<DeviceId, IommuError> {
        if self.0 < Self::COUNT {
            Ok(self)
        } else {
            Err(IommuError::BadDeviceId { id: self.0 })
        }
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "device {}", self.0)
    }
}

/// The global mode in `DDTP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IommuMode {
    /// Every device access is refused and reported (cause 256).
    Off,
    /// No translation for anyone: DMA addresses are physical (`iommu=off`).
    Bare,
    /// Per-device contexts from the one-level device directory table.
    Ddt,
}

/// What the device context of one device says (the driver's copy of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceContext {
    /// V=0: the device's accesses fault with cause 258.
    Disabled,
    /// V=1, FSC Bare: passthrough, DMA address = physical address (`iommu=pt`).
    Bare,
    /// V=1, FSC Sv32 with the root table at `root_pa`.
    Sv32 { root_pa: u32 },
}

/// Why an IOMMU operation failed.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum IommuError {
    #[error(
        "device ID {id} has no device context (IDs are below {})",
        DeviceId::COUNT
    )]
    BadDeviceId { id: u32 },
    /// Device contexts live in the device directory: the IOMMU must be in DDT mode.
    #[error("device contexts need the IOMMU in DDT mode; it is in {mode:?} mode")]
    NotDdt { mode: IommuMode },
    #[error("{what} at {addr:#010x} is not page aligned")]
    Misaligned { what: &'static str, addr: u32 },
    /// Queue sizes are powers of two (`LOG2SZ-1` field) and a queue fills at most a page.
    #[error("a queue of {entries} entries: need a power of two from 2 to {max}")]
    BadQueueSize { entries: u32, max: u32 },
    #[error("the command queue is not enabled")]
    NoCommandQueue,
    #[error("the fault queue is not enabled")]
    NoFaultQueue,
    /// The IOMMU stopped executing commands: `CQCSR.CMD_ILL` (the command at `CQH` is
    /// illegal) or `CQCSR.CQMF` (a fetch or fence write hit no memory). Nothing after `CQH`
    /// runs until [`Iommu::reset_command_queue`].
    #[error(
        "command queue stopped ({}; CQCSR={cqcsr:#x}) at CQH={cqh}, command {command:08x?}",
        stop_reason(.cqcsr)
    )]
    CommandQueueStopped {
        cqcsr: u32,
        cqh: u32,
        command: [u32; 4],
    },
    /// The fence did not complete (or the queue did not drain) in time.
    #[error(
        "IOMMU timed out after {waited} cycles waiting for {what} \
         (CQH={cqh}, CQT={cqt}, CQCSR={cqcsr:#x}): {state}"
    )]
    Timeout {
        what: &'static str,
        waited: u64,
        cqh: u32,
        cqt: u32,
        cqcsr: u32,
        /// [`Device::describe_state`] at the timeout.
        state: String,
    },
    #[error(transparent)]
    Mm(#[from] MmError),
}

fn stop_reason(cqcsr: &u32) -> &'static str {
    if cqcsr & cqcsr::CMD_ILL != 0 {
        "illegal command"
    } else {
        "command queue memory fault"
    }
}

/// The fault record's cause: one the spec (and [`FaultCause`]) names, or a raw code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultCode {
    Known(FaultCause),
    Unknown(u32),
}

impl FaultCode {
    pub fn from_code(code: u32) -> Self {
        FaultCause::from_code(code).map_or(FaultCode::Unknown(code), FaultCode::Known)
    }

    pub fn code(self) -> u32 {
        match self {
            FaultCode::Known(c) => c.code(),
            FaultCode::Unknown(c) => c,
        }
    }
}

/// The fault record's transaction type (TTYP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultAccess {
    Read,
    Write,
    /// A TTYP this design does not produce.
    Other(u32),
}

/// One decoded fault record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultRecord {
    pub cause: FaultCode,
    pub access: FaultAccess,
    pub device: DeviceId,
    /// IOTVAL: the IOVA the device used.
    pub iova: u32,
    /// The eight words as the hardware wrote them.
    pub raw: [u32; 8],
}

impl FaultRecord {
    pub fn decode(raw: [u32; 8]) -> Self {
        let ttyp = (raw[1] & fault::TTYP_MASK) >> fault::TTYP_SHIFT;
        FaultRecord {
            cause: FaultCode::from_code(raw[0] & fault::CAUSE_MASK),
            access: match ttyp {
                fault::TTYP_READ => FaultAccess::Read,
                fault::TTYP_WRITE => FaultAccess::Write,
                t => FaultAccess::Other(t),
            },
            device: DeviceId(raw[1] >> fault::DID_SHIFT),
            iova: raw[fault::IOTVAL_WORD],
            raw,
        }
    }
}

/// Error flags of the fault queue (`FQCSR`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultQueueStatus {
    /// `FQOF`: a record was dropped because the queue was full.
    pub overflow: bool,
    /// `FQMF`: a record was dropped because its address hit no memory.
    pub memory_fault: bool,
}

/// What `CAPS` says about the hardware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IommuCaps {
    /// 0x10 = version 1.0 of the spec's register layout.
    pub version: u32,
    pub sv32: bool,
    pub iotlb_entries: u32,
    pub device_id_bits: u32,
}

/// The IOMMU's counters since the last [`Iommu::clear_counters`], widened to `u64`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IommuCounters {
    pub iotlb_hits: u64,
    pub iotlb_misses: u64,
    pub walk_cycles: u64,
    pub faults: u64,
    pub faults_dropped: u64,
    pub commands: u64,
    pub dc_fetches: u64,
    /// Device-context fetches and walks abandoned by a `DDTP` write and redone.
    pub walks_restarted: u64,
}

#[derive(Clone, Debug)]
struct CommandQueue {
    base: u32,
    entries: u32,
    /// Where the next command goes (the value last written, or about to be written, to CQT).
    tail: u32,
    /// `CQH` as last read: the queue is full when `tail + 1 == head`.
    head: u32,
    /// The word `IOFENCE.C` writes its sequence number to.
    fence_word: u32,
    /// The fence word has a page of its own (the queue fills its page).
    fence_page: Option<u32>,
    seq: u32,
}

#[derive(Clone, Debug)]
struct FaultQueue {
    base: u32,
    entries: u32,
    head: u32,
}

/// The driver's side of the IOMMU: what it configured, and the queues it owns.
///
/// Most code reaches it through [`crate::Dma`] ([`Dma::iommu`](crate::Dma::iommu)), which
/// owns it; used alone it is the register-level interface.
///
/// # Example
///
/// After a DMA that faulted: the fault records the IOMMU wrote into its queue, and its
/// counters.
///
/// ```no_run
/// use driver::{Device, Dma, IommuError};
///
/// fn report_faults(dev: &mut dyn Device, dma: &mut Dma) -> Result<(), IommuError> {
///     for f in dma.iommu_mut().read_faults(dev)? {
///         eprintln!("device {:?}: {:?} at IOVA {:#x}", f.device, f.cause, f.iova);
///     }
///     let c = dma.iommu().read_counters(dev);
///     eprintln!("IOTLB hits {}, misses {}", c.iotlb_hits, c.iotlb_misses);
///     Ok(())
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Iommu {
    mode: IommuMode,
    ddt: Option<u32>,
    contexts: [DeviceContext; DeviceId::COUNT as usize],
    cq: Option<CommandQueue>,
    fq: Option<FaultQueue>,
    timeout_cycles: u64,
}

impl Default for Iommu {
    fn default() -> Self {
        Self::new()
    }
}

impl Iommu {
    /// The state after reset: global Bare mode, no queues. Touches no hardware.
    pub fn new() -> Self {
        Iommu {
            mode: IommuMode::Bare,
            ddt: None,
            contexts: [DeviceContext::Disabled; DeviceId::COUNT as usize],
            cq: None,
            fq: None,
            timeout_cycles: DEFAULT_TIMEOUT_CYCLES,
        }
    }

    /// Sets the bound for fences and for waiting on room in the command queue.
    pub fn with_timeout(mut self, cycles: u64) -> Self {
        self.timeout_cycles = cycles;
        self
    }

    pub fn set_timeout(&mut self, cycles: u64) {
        self.timeout_cycles = cycles;
    }

    /// Reads `CAPS`.
    pub fn caps(&self, dev: &mut dyn Device) -> IommuCaps {
        let c = dev.read32(reg(hw::CAPS));
        IommuCaps {
            version: c & 0xFF,
            sv32: c & (1 << 8) != 0,
            iotlb_entries: (c >> 16) & 0xFF,
            device_id_bits: (c >> 24) & 0xF,
        }
    }

    // ---- global mode and device contexts -------------------------------------------------

    /// The mode this driver last wrote to `DDTP`.
    pub fn mode(&self) -> IommuMode {
        self.mode
    }

    /// Physical address of the device directory table, once DDT mode has been used.
    pub fn ddt_pa(&self) -> Option<u32> {
        self.ddt
    }

    /// Writes `DDTP`. DDT mode needs a device directory: the first time, one page is
    /// allocated and zeroed (every device starts disabled). The table is kept when leaving DDT
    /// mode, so going back restores the devices' contexts. Any `DDTP` write flushes the
    /// hardware's device-context cache and IOTLB.
    pub fn set_mode(
        &mut self,
        dev: &mut dyn Device,
        mm: &mut PageAllocator,
        mode: IommuMode,
    ) -> Result<(), IommuError> {
        let value = match mode {
            IommuMode::Off => ddtp::new(ddtp::MODE_OFF, 0),
            IommuMode::Bare => ddtp::new(ddtp::MODE_BARE, 0),
            IommuMode::Ddt => {
                let table = match self.ddt {
                    Some(t) => t,
                    None => {
                        let t = mm.alloc(1)?;
                        zero_pages(dev, t, 1);
                        self.contexts = [DeviceContext::Disabled; DeviceId::COUNT as usize];
                        self.ddt = Some(t);
                        t
                    }
                };
                ddtp::new(ddtp::MODE_1LVL, table)
            }
        };
        dev.write32(reg(hw::DDTP), value);
        self.mode = mode;
        Ok(())
    }

    /// The driver's copy of `id`'s device context.
    pub fn device_context(&self, id: DeviceId) -> Result<DeviceContext, IommuError> {
        Ok(self.contexts[id.checked()?.0 as usize])
    }

    /// Passthrough for `id`: V=1, FSC Bare (`iommu=pt` for this device).
    pub fn set_device_bare(
        &mut self,
        dev: &mut dyn Device,
        id: DeviceId,
    ) -> Result<(), IommuError> {
        self.write_context(dev, id, DeviceContext::Bare)
    }

    /// Translation for `id` through the Sv32 tables rooted at `root_pa` (page aligned).
    pub fn set_device_sv32(
        &mut self,
        dev: &mut dyn Device,
        id: DeviceId,
        root_pa: u32,
    ) -> Result<(), IommuError> {
        if !root_pa.is_multiple_of(PAGE_BYTES) {
            return Err(IommuError::Misaligned {
                what: "root page table",
                addr: root_pa,
            });
        }
        self.write_context(dev, id, DeviceContext::Sv32 { root_pa })
    }

    /// V=0: every access of `id` faults.
    pub fn disable_device(&mut self, dev: &mut dyn Device, id: DeviceId) -> Result<(), IommuError> {
        self.write_context(dev, id, DeviceContext::Disabled)
    }

    /// Writes the context and makes the hardware forget what it cached of it.
    ///
    /// The two words are ordered so that a context fetched in between is never half valid:
    /// going valid, FSC is written before TC.V; going invalid, TC.V is cleared first.
    /// The IOTLB is invalidated for the device as well as its cached context: its entries
    /// were made under the old context (e.g. an old root table) and would outlive it.
    fn write_context(
        &mut self,
        dev: &mut dyn Device,
        id: DeviceId,
        ctx: DeviceContext,
    ) -> Result<(), IommuError> {
        let id = id.checked()?;
        let table = match (self.mode, self.ddt) {
            (IommuMode::Ddt, Some(t)) => t,
            (mode, _) => return Err(IommuError::NotDdt { mode }),
        };
        let at = table + id.0 * dc::BYTES;
        match ctx {
            DeviceContext::Disabled => {
                dev.write32(at + dc::TC, 0);
                dev.write32(at + dc::FSC, 0);
            }
            DeviceContext::Bare => {
                dev.write32(at + dc::FSC, 0);
                dev.write32(at + dc::TC, dc::TC_V);
            }
            DeviceContext::Sv32 { root_pa } => {
                dev.write32(at + dc::FSC, dc::fsc_sv32(root_pa));
                dev.write32(at + dc::TC, dc::TC_V);
            }
        }
        self.contexts[id.0 as usize] = ctx;
        if self.cq.is_some() {
            self.submit(
                dev,
                &[
                    cmd::iodir_inval_ddt(Some(id.0)),
                    cmd::iotinval_vma(Some(id.0), None),
                ],
            )?;
            self.fence(dev)
        } else {
            // Without a command queue the only way to flush the caches is a DDTP write.
            dev.write32(reg(hw::DDTP), ddtp::new(ddtp::MODE_1LVL, table));
            Ok(())
        }
    }

    // ---- command queue -------------------------------------------------------------------

    /// Whether the command queue is enabled (by this driver).
    pub fn has_command_queue(&self) -> bool {
        self.cq.is_some()
    }

    /// Sets up a command queue of `entries` commands (a power of two, 2 to
    /// [`MAX_COMMAND_QUEUE_ENTRIES`]) in a fresh page and enables it: `CQB`, `CQT`=0, then
    /// `CQCSR.CQEN` 0 → 1, which resets `CQH` to 0. The fence word lives in the last word of
    /// the queue's page when the queue leaves room, else in a page of its own.
    pub fn enable_command_queue(
        &mut self,
        dev: &mut dyn Device,
        mm: &mut PageAllocator,
        entries: u32,
    ) -> Result<(), IommuError> {
        check_queue_size(entries, MAX_COMMAND_QUEUE_ENTRIES)?;
        self.disable_command_queue(dev, mm)?;
        let base = mm.alloc(1)?;
        let (fence_word, fence_page) = if entries < MAX_COMMAND_QUEUE_ENTRIES {
            (base + PAGE_BYTES - 4, None)
        } else {
            match mm.alloc(1) {
                Ok(p) => (p, Some(p)),
                Err(e) => {
                    mm.free(base)?;
                    return Err(e.into());
                }
            }
        };
        dev.write32(fence_word, 0);
        dev.write32(reg(hw::CQB), qb::new(base, entries));
        dev.write32(reg(hw::CQT), 0);
        dev.write32(reg(hw::CQCSR), cqcsr::CQEN);
        self.cq = Some(CommandQueue {
            base,
            entries,
            tail: 0,
            head: 0,
            fence_word,
            fence_page,
            seq: 0,
        });
        Ok(())
    }

    /// Turns the command queue off (`CQCSR` = 0) and frees its pages. Nothing if it is off.
    pub fn disable_command_queue(
        &mut self,
        dev: &mut dyn Device,
        mm: &mut PageAllocator,
    ) -> Result<(), IommuError> {
        if let Some(cq) = self.cq.take() {
            dev.write32(reg(hw::CQCSR), 0);
            mm.free(cq.base)?;
            if let Some(p) = cq.fence_page {
                mm.free(p)?;
            }
        }
        Ok(())
    }

    /// After [`IommuError::CommandQueueStopped`]: drops every command not yet executed, clears
    /// `CMD_ILL`/`CQMF` and restarts the queue empty (`CQEN` 0 → 1 resets `CQH`).
    pub fn reset_command_queue(&mut self, dev: &mut dyn Device) -> Result<(), IommuError> {
        let cq = self.cq.as_mut().ok_or(IommuError::NoCommandQueue)?;
        // CQEN=0 and the RW1C error bits in one write.
        dev.write32(reg(hw::CQCSR), cqcsr::CMD_ILL | cqcsr::CQMF);
        dev.write32(reg(hw::CQT), 0);
        dev.write32(reg(hw::CQCSR), cqcsr::CQEN);
        cq.tail = 0;
        cq.head = 0;
        Ok(())
    }

    /// Writes `commands` into the queue at `CQT` and moves `CQT` past them. When the ring is
    /// full (`(tail + 1) % n == head`) it publishes what it has and waits for `CQH` to move.
    /// Returns once the commands are queued, not executed: see [`fence`](Self::fence).
    pub fn submit(
        &mut self,
        dev: &mut dyn Device,
        commands: &[[u32; 4]],
    ) -> Result<(), IommuError> {
        let timeout = self.timeout_cycles;
        let cq = self.cq.as_mut().ok_or(IommuError::NoCommandQueue)?;
        let mask = cq.entries - 1;
        for c in commands {
            if (cq.tail + 1) & mask == cq.head {
                dev.write32(reg(hw::CQT), cq.tail);
                let t0 = dev.now();
                loop {
                    check_command_queue(dev, cq)?;
                    cq.head = dev.read32(reg(hw::CQH)) & mask;
                    if (cq.tail + 1) & mask != cq.head {
                        break;
                    }
                    let waited = dev.now() - t0;
                    if waited >= timeout {
                        return Err(timeout_error(dev, "room in the command queue", t0));
                    }
                    dev.advance(POLL_INTERVAL_CYCLES.min(timeout - waited));
                }
            }
            dev.write_words(cq.base + cq.tail * cmd::BYTES, c);
            cq.tail = (cq.tail + 1) & mask;
        }
        dev.write32(reg(hw::CQT), cq.tail);
        Ok(())
    }

    /// Submits an `IOFENCE.C` that writes a new sequence number to the fence word, and polls
    /// that word until it shows up: then every command submitted before has taken effect.
    pub fn fence(&mut self, dev: &mut dyn Device) -> Result<(), IommuError> {
        let cq = self.cq.as_mut().ok_or(IommuError::NoCommandQueue)?;
        // 0 is what the word holds after enable: never wait for it.
        cq.seq = cq.seq.wrapping_add(1).max(1);
        let (word, seq) = (cq.fence_word, cq.seq);
        self.submit(dev, &[cmd::iofence_c(Some((word, seq)), false)])?;
        let timeout = self.timeout_cycles;
        let t0 = dev.now();
        loop {
            if dev.read32(word) == seq {
                return Ok(());
            }
            if let Some(cq) = self.cq.as_ref() {
                check_command_queue(dev, cq)?;
            }
            let waited = dev.now() - t0;
            if waited >= timeout {
                return Err(timeout_error(dev, "IOFENCE.C", t0));
            }
            dev.advance(POLL_INTERVAL_CYCLES.min(timeout - waited));
        }
    }

    /// `IOTINVAL.VMA` for every translation of `id`, then a fence.
    pub fn invalidate_device(
        &mut self,
        dev: &mut dyn Device,
        id: DeviceId,
    ) -> Result<(), IommuError> {
        let id = id.checked()?;
        self.submit(dev, &[cmd::iotinval_vma(Some(id.0), None)])?;
        self.fence(dev)
    }

    /// `IOTINVAL.VMA` for `id`'s translation of the page holding each of `iovas`, then a fence.
    pub fn invalidate_pages(
        &mut self,
        dev: &mut dyn Device,
        id: DeviceId,
        iovas: impl IntoIterator<Item = u32>,
    ) -> Result<(), IommuError> {
        let id = id.checked()?;
        let cmds: Vec<[u32; 4]> = iovas
            .into_iter()
            .map(|a| cmd::iotinval_vma(Some(id.0), Some(a)))
            .collect();
        self.submit(dev, &cmds)?;
        self.fence(dev)
    }

    /// `IOTINVAL.VMA` for every device and address, then a fence.
    pub fn invalidate_all(&mut self, dev: &mut dyn Device) -> Result<(), IommuError> {
        self.submit(dev, &[cmd::iotinval_vma(None, None)])?;
        self.fence(dev)
    }

    // ---- fault queue ---------------------------------------------------------------------

    /// Sets up a fault queue of `entries` records (a power of two, 2 to
    /// [`MAX_FAULT_QUEUE_ENTRIES`]) in a fresh page and enables it: `FQB`, `FQH`=0, then
    /// `FQCSR.FQEN` 0 → 1, which resets `FQT`. With `irq`, `FIE` is set too, so each new
    /// record raises `IPSR.FIP` and the interrupt line.
    pub fn enable_fault_queue(
        &mut self,
        dev: &mut dyn Device,
        mm: &mut PageAllocator,
        entries: u32,
        irq: bool,
    ) -> Result<(), IommuError> {
        check_queue_size(entries, MAX_FAULT_QUEUE_ENTRIES)?;
        self.disable_fault_queue(dev, mm)?;
        let base = mm.alloc(1)?;
        dev.write32(reg(hw::FQB), qb::new(base, entries));
        dev.write32(reg(hw::FQH), 0);
        let fie = if irq { fqcsr::FIE } else { 0 };
        dev.write32(reg(hw::FQCSR), fqcsr::FQEN | fie);
        self.fq = Some(FaultQueue {
            base,
            entries,
            head: 0,
        });
        Ok(())
    }

    /// Turns the fault queue off (`FQCSR` = 0: later faults are only counted as dropped) and
    /// frees its page. Nothing if it is off.
    pub fn disable_fault_queue(
        &mut self,
        dev: &mut dyn Device,
        mm: &mut PageAllocator,
    ) -> Result<(), IommuError> {
        if let Some(fq) = self.fq.take() {
            dev.write32(reg(hw::FQCSR), 0);
            mm.free(fq.base)?;
        }
        Ok(())
    }

    pub fn has_fault_queue(&self) -> bool {
        self.fq.is_some()
    }

    /// Reads every record from `FQH` up to `FQT`, oldest first, and hands the slots back by
    /// writing `FQH`. `IPSR.FIP` is acknowledged *before* `FQT` is read, so a record that
    /// arrives meanwhile raises it again instead of being missed.
    pub fn read_faults(&mut self, dev: &mut dyn Device) -> Result<Vec<FaultRecord>, IommuError> {
        let fq = self.fq.as_mut().ok_or(IommuError::NoFaultQueue)?;
        let mask = fq.entries - 1;
        dev.write32(reg(hw::IPSR), ipsr::FIP);
        let tail = dev.read32(reg(hw::FQT)) & mask;
        let mut out = vec![];
        while fq.head != tail {
            let mut raw = [0; fault::WORDS as usize];
            dev.read_words(fq.base + fq.head * fault::BYTES, &mut raw);
            out.push(FaultRecord::decode(raw));
            fq.head = (fq.head + 1) & mask;
        }
        if !out.is_empty() {
            dev.write32(reg(hw::FQH), fq.head);
        }
        Ok(out)
    }

    /// `FQCSR`'s error flags; with `clear`, the ones that are set are cleared (they are
    /// RW1C; the enable bits are written back as they are).
    pub fn fault_status(&self, dev: &mut dyn Device, clear: bool) -> FaultQueueStatus {
        let v = dev.read32(reg(hw::FQCSR));
        let errors = v & (fqcsr::FQOF | fqcsr::FQMF);
        if clear && errors != 0 {
            dev.write32(reg(hw::FQCSR), (v & (fqcsr::FQEN | fqcsr::FIE)) | errors);
        }
        FaultQueueStatus {
            overflow: v & fqcsr::FQOF != 0,
            memory_fault: v & fqcsr::FQMF != 0,
        }
    }

    /// `IPSR`: bit 0 CIP (command queue), bit 1 FIP (fault queue).
    pub fn ipsr(&self, dev: &mut dyn Device) -> u32 {
        dev.read32(reg(hw::IPSR))
    }

    /// Clears the `IPSR` bits set in `bits` (write 1 to clear).
    pub fn clear_ipsr(&self, dev: &mut dyn Device, bits: u32) {
        dev.write32(reg(hw::IPSR), bits & (ipsr::CIP | ipsr::FIP));
    }

    // ---- counters ------------------------------------------------------------------------

    /// Reads every counter (one register read each).
    pub fn read_counters(&self, dev: &mut dyn Device) -> IommuCounters {
        let mut rd = |offset| u64::from(dev.read32(reg(offset)));
        IommuCounters {
            iotlb_hits: rd(hw::IOTLB_HITS),
            iotlb_misses: rd(hw::IOTLB_MISSES),
            walk_cycles: rd(hw::WALK_CYCLES),
            faults: rd(hw::FAULTS),
            faults_dropped: rd(hw::FAULTS_DROPPED),
            commands: rd(hw::COMMANDS),
            dc_fetches: rd(hw::DC_FETCHES),
            walks_restarted: rd(hw::WALKS_RESTARTED),
        }
    }

    pub fn clear_counters(&self, dev: &mut dyn Device) {
        dev.write32(reg(hw::CNT_CTRL), hw::CNT_CLEAR);
    }

    // ---- teardown ------------------------------------------------------------------------

    /// Back to the reset state: both queues off, global Bare mode, every page freed.
    pub fn release(
        &mut self,
        dev: &mut dyn Device,
        mm: &mut PageAllocator,
    ) -> Result<(), IommuError> {
        self.disable_command_queue(dev, mm)?;
        self.disable_fault_queue(dev, mm)?;
        self.set_mode(dev, mm, IommuMode::Bare)?;
        if let Some(t) = self.ddt.take() {
            mm.free(t)?;
        }
        self.contexts = [DeviceContext::Disabled; DeviceId::COUNT as usize];
        Ok(())
    }
}

fn check_queue_size(entries: u32, max: u32) -> Result<(), IommuError> {
    if entries.is_power_of_two() && (2..=max).contains(&entries) {
        Ok(())
    } else {
        Err(IommuError::BadQueueSize { entries, max })
    }
}

/// The error if the IOMMU has stopped executing commands.
fn check_command_queue(dev: &mut dyn Device, cq: &CommandQueue) -> Result<(), IommuError> {
    let v = dev.read32(reg(hw::CQCSR));
    if v & (cqcsr::CMD_ILL | cqcsr::CQMF) == 0 {
        return Ok(());
    }
    let cqh = dev.read32(reg(hw::CQH)) & (cq.entries - 1);
    let mut command = [0; 4];
    dev.read_words(cq.base + cqh * cmd::BYTES, &mut command);
    Err(IommuError::CommandQueueStopped {
        cqcsr: v,
        cqh,
        command,
    })
}

fn timeout_error(dev: &mut dyn Device, what: &'static str, t0: u64) -> IommuError {
    let waited = dev.now() - t0;
    IommuError::Timeout {
        what,
        waited,
        cqh: dev.read32(reg(hw::CQH)),
        cqt: dev.read32(reg(hw::CQT)),
        cqcsr: dev.read32(reg(hw::CQCSR)),
        state: dev.describe_state(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::MockDevice;
    use pretty_assertions::assert_eq;

    const RAM: u32 = 16 * PAGE_BYTES;

    fn setup() -> (MockDevice, PageAllocator) {
        (MockDevice::new(RAM), PageAllocator::new(RAM).unwrap())
    }

    /// DDT mode with a command queue of `entries`, as most tests want it.
    fn with_queue(entries: u32) -> (MockDevice, PageAllocator, Iommu) {
        let (mut dev, mut mm) = setup();
        let mut iommu = Iommu::new().with_timeout(1000);
        iommu
            .enable_command_queue(&mut dev, &mut mm, entries)
            .unwrap();
        iommu.set_mode(&mut dev, &mut mm, IommuMode::Ddt).unwrap();
        dev.clear_commands();
        (dev, mm, iommu)
    }

    fn fence_cmd(iommu: &Iommu, seq: u32) -> [u32; 4] {
        let word = iommu.cq.as_ref().map(|c| c.fence_word).unwrap();
        cmd::iofence_c(Some((word, seq)), false)
    }

    #[test]
    fn ddt_mode_points_ddtp_at_a_zeroed_directory() {
        let (mut dev, mut mm) = setup();
        dev.write32(0x10, 0xFFFF_FFFF); // a stale "valid" context in the page to be used
        let mut iommu = Iommu::new();
        iommu.set_mode(&mut dev, &mut mm, IommuMode::Ddt).unwrap();
        let ddt = iommu.ddt_pa().unwrap();
        assert_eq!(ddt, 0);
        assert_eq!(dev.read32(0x10), 0);
        assert_eq!(
            dev.writes(),
            &[(reg(hw::DDTP), ddtp::new(ddtp::MODE_1LVL, ddt))]
        );
        // Off and back: the same table, no new page.
        iommu.set_mode(&mut dev, &mut mm, IommuMode::Off).unwrap();
        iommu.set_mode(&mut dev, &mut mm, IommuMode::Ddt).unwrap();
        assert_eq!(iommu.ddt_pa(), Some(ddt));
        assert_eq!(mm.free_pages(), 15);
        assert_eq!(
            dev.writes()[1..],
            [
                (reg(hw::DDTP), ddtp::MODE_OFF),
                (reg(hw::DDTP), ddtp::new(ddtp::MODE_1LVL, ddt)),
            ]
        );
    }

    #[test]
    fn device_context_is_written_valid_last_then_invalidated_and_fenced() {
        let (mut dev, _mm, mut iommu) = with_queue(8);
        let ddt = iommu.ddt_pa().unwrap();
        let id = DeviceId::MEMCPY1;
        let at = ddt + id.0 * dc::BYTES;
        dev.clear_ram_writes();
        iommu.set_device_sv32(&mut dev, id, 0x5000).unwrap();
        let fence_word = iommu.cq.as_ref().unwrap().fence_word;
        let dc_writes: Vec<_> = dev
            .ram_writes()
            .iter()
            .copied()
            .filter(|(a, _)| (at..at + dc::BYTES).contains(a))
            .collect();
        assert_eq!(
            dc_writes,
            vec![(at + dc::FSC, dc::FSC_SV32 | 5), (at + dc::TC, dc::TC_V)]
        );
        assert_eq!(
            dev.commands(),
            &[
                cmd::iodir_inval_ddt(Some(1)),
                cmd::iotinval_vma(Some(1), None),
                fence_cmd(&iommu, 1),
            ]
        );
        assert_eq!(dev.read32(fence_word), 1);
        assert_eq!(
            iommu.device_context(id),
            Ok(DeviceContext::Sv32 { root_pa: 0x5000 })
        );

        dev.clear_ram_writes();
        iommu.disable_device(&mut dev, id).unwrap();
        let first_dc_write = dev
            .ram_writes()
            .iter()
            .find(|(a, _)| *a >= at && *a < at + 8);
        assert_eq!(first_dc_write, Some(&(at + dc::TC, 0)), "V cleared first");
        iommu.set_device_bare(&mut dev, id).unwrap();
        assert_eq!((dev.read32(at), dev.read32(at + 4)), (dc::TC_V, 0));
        assert_eq!(dev.commands().len(), 9);
    }

    #[test]
    fn device_contexts_refuse_what_the_hardware_cannot_hold() {
        let (mut dev, mut mm) = setup();
        let mut iommu = Iommu::new();
        assert_eq!(
            iommu.set_device_bare(&mut dev, DeviceId::MEMCPY0),
            Err(IommuError::NotDdt {
                mode: IommuMode::Bare
            })
        );
        iommu.set_mode(&mut dev, &mut mm, IommuMode::Ddt).unwrap();
        assert_eq!(
            iommu.set_device_bare(&mut dev, DeviceId(DeviceId::COUNT)),
            Err(IommuError::BadDeviceId { id: 4 })
        );
        assert_eq!(
            iommu.set_device_sv32(&mut dev, DeviceId::NIC, 0x5100),
            Err(IommuError::Misaligned {
                what: "root page table",
                addr: 0x5100
            })
        );
    }

    #[test]
    fn without_a_command_queue_a_ddtp_write_flushes_the_caches() {
        let (mut dev, mut mm) = setup();
        let mut iommu = Iommu::new();
        iommu.set_mode(&mut dev, &mut mm, IommuMode::Ddt).unwrap();
        iommu.set_device_bare(&mut dev, DeviceId::NIC).unwrap();
        assert_eq!(dev.writes().len(), 2);
        assert_eq!(dev.writes()[0], dev.writes()[1]);
        assert_eq!(dev.commands(), &[] as &[[u32; 4]]);
    }

    #[test]
    fn command_queue_setup_order_and_sizes() {
        let (mut dev, mut mm) = setup();
        let mut iommu = Iommu::new();
        for bad in [0, 1, 3, 512] {
            assert_eq!(
                iommu.enable_command_queue(&mut dev, &mut mm, bad),
                Err(IommuError::BadQueueSize {
                    entries: bad,
                    max: 256
                })
            );
        }
        iommu.enable_command_queue(&mut dev, &mut mm, 4).unwrap();
        assert_eq!(
            dev.writes(),
            &[
                (reg(hw::CQB), qb::new(0, 4)),
                (reg(hw::CQT), 0),
                (reg(hw::CQCSR), cqcsr::CQEN),
            ]
        );
        assert_eq!(iommu.cq.as_ref().unwrap().fence_word, PAGE_BYTES - 4);
        // A full-page queue gets a page of its own for the fence word.
        iommu.enable_command_queue(&mut dev, &mut mm, 256).unwrap();
        assert_eq!(mm.free_pages(), 14);
        iommu.disable_command_queue(&mut dev, &mut mm).unwrap();
        assert_eq!(mm.free_pages(), 16);
        assert_eq!(iommu.fence(&mut dev), Err(IommuError::NoCommandQueue));
    }

    #[test]
    fn submit_wraps_around_a_small_ring_in_order() {
        // Two entries: one command in flight at a time, so every command waits for CQH.
        let (mut dev, _mm, mut iommu) = with_queue(2);
        let cmds: Vec<[u32; 4]> = (0..5)
            .map(|i| cmd::iotinval_vma(Some(0), Some(i * PAGE_BYTES)))
            .collect();
        iommu.submit(&mut dev, &cmds).unwrap();
        iommu.fence(&mut dev).unwrap();
        let mut expect = cmds.clone();
        expect.push(fence_cmd(&iommu, 1));
        assert_eq!(dev.commands(), &expect[..]);
        assert_eq!(dev.reg(reg(hw::CQT)), 0);
    }

    #[test]
    fn fence_timeout_names_the_stuck_state() {
        let (mut dev, _mm, mut iommu) = with_queue(4);
        dev.stall_iommu(true);
        let Err(IommuError::Timeout {
            what,
            waited,
            cqh,
            cqt,
            state,
            ..
        }) = iommu.fence(&mut dev)
        else {
            panic!("expected a timeout");
        };
        assert!(waited >= 1000, "{waited}");
        assert_eq!(
            (what, cqh, cqt, state.as_str()),
            ("IOFENCE.C", 0, 1, "mock: nothing moves")
        );
        // Once the IOMMU moves, the next fence completes (the stale one runs first).
        dev.stall_iommu(false);
        iommu.fence(&mut dev).unwrap();
    }

    #[test]
    fn a_full_ring_times_out_when_the_iommu_is_stuck() {
        let (mut dev, _mm, mut iommu) = with_queue(2);
        dev.stall_iommu(true);
        let nop = cmd::iotinval_vma(None, None);
        assert!(matches!(
            iommu.submit(&mut dev, &[nop, nop]),
            Err(IommuError::Timeout {
                what: "room in the command queue",
                ..
            })
        ));
    }

    #[test]
    fn an_illegal_command_is_reported_with_its_words_and_can_be_reset() {
        let (mut dev, _mm, mut iommu) = with_queue(4);
        let bogus = [0x7F, 1, 2, 3];
        iommu
            .submit(&mut dev, &[cmd::iotinval_vma(None, None), bogus])
            .unwrap();
        let err = iommu.fence(&mut dev).unwrap_err();
        assert_eq!(
            err,
            IommuError::CommandQueueStopped {
                cqcsr: cqcsr::CQEN | cqcsr::CMD_ILL,
                cqh: 1,
                command: bogus
            }
        );
        assert!(err.to_string().contains("illegal command"), "{err}");
        iommu.reset_command_queue(&mut dev).unwrap();
        assert_eq!(
            dev.writes()[dev.writes().len() - 3..],
            [
                (reg(hw::CQCSR), cqcsr::CMD_ILL | cqcsr::CQMF),
                (reg(hw::CQT), 0),
                (reg(hw::CQCSR), cqcsr::CQEN),
            ]
        );
        iommu.fence(&mut dev).unwrap();
    }

    fn record(cause: u32, ttyp: u32, did: u32, iova: u32) -> [u32; 8] {
        let mut r = [0; 8];
        r[0] = cause;
        r[1] = (ttyp << fault::TTYP_SHIFT) | (did << fault::DID_SHIFT);
        r[fault::IOTVAL_WORD] = iova;
        r
    }

    #[test]
    fn fault_records_are_decoded_in_order_and_fqh_follows() {
        let (mut dev, mut mm) = setup();
        let mut iommu = Iommu::new();
        assert_eq!(iommu.read_faults(&mut dev), Err(IommuError::NoFaultQueue));
        iommu
            .enable_fault_queue(&mut dev, &mut mm, 4, true)
            .unwrap();
        let base = 0;
        assert_eq!(
            dev.writes(),
            &[
                (reg(hw::FQB), qb::new(base, 4)),
                (reg(hw::FQH), 0),
                (reg(hw::FQCSR), fqcsr::FQEN | fqcsr::FIE),
            ]
        );
        assert_eq!(iommu.read_faults(&mut dev), Ok(vec![]));

        let slot = |i: u32| base + i * fault::BYTES;
        let write = FaultCause::WritePageFault.code();
        dev.write_words(slot(0), &record(write, fault::TTYP_WRITE, 2, 0xFFFF_E010));
        dev.write_words(slot(1), &record(999, 9, 1, 0x40));
        dev.set_reg(reg(hw::FQT), 2);
        let got = iommu.read_faults(&mut dev).unwrap();
        assert_eq!(
            got.iter()
                .map(|r| (r.cause, r.access, r.device, r.iova))
                .collect::<Vec<_>>(),
            vec![
                (
                    FaultCode::Known(FaultCause::WritePageFault),
                    FaultAccess::Write,
                    DeviceId::NIC,
                    0xFFFF_E010
                ),
                (
                    FaultCode::Unknown(999),
                    FaultAccess::Other(9),
                    DeviceId(1),
                    0x40
                ),
            ]
        );
        let n = dev.writes().len();
        assert_eq!(
            dev.writes()[n - 2..],
            [(reg(hw::IPSR), ipsr::FIP), (reg(hw::FQH), 2)]
        );

        // Around the end of the ring: slots 2, 3, 0.
        let read = FaultCause::ReadPageFault.code();
        for (i, s) in [2, 3, 0].into_iter().enumerate() {
            dev.write_words(slot(s), &record(read, fault::TTYP_READ, 0, i as u32 * 4));
        }
        dev.set_reg(reg(hw::FQT), 1);
        let got = iommu.read_faults(&mut dev).unwrap();
        assert_eq!(
            got.iter().map(|r| r.iova).collect::<Vec<_>>(),
            vec![0, 4, 8]
        );
        assert_eq!(dev.writes().last(), Some(&(reg(hw::FQH), 1)));
    }

    #[test]
    fn fault_status_clears_only_the_flags_that_are_set() {
        let (mut dev, _mm) = setup();
        let iommu = Iommu::new();
        dev.set_reg(
            reg(hw::FQCSR),
            fqcsr::FQEN | fqcsr::FIE | fqcsr::FQOF | fqcsr::FQON,
        );
        assert_eq!(
            iommu.fault_status(&mut dev, false),
            FaultQueueStatus {
                overflow: true,
                memory_fault: false
            }
        );
        assert_eq!(dev.writes(), &[]);
        iommu.fault_status(&mut dev, true);
        assert_eq!(
            dev.writes(),
            &[(reg(hw::FQCSR), fqcsr::FQEN | fqcsr::FIE | fqcsr::FQOF)]
        );
        iommu.clear_ipsr(&mut dev, 0xFF);
        assert_eq!(
            dev.writes().last(),
            Some(&(reg(hw::IPSR), ipsr::CIP | ipsr::FIP))
        );
    }

    #[test]
    fn counters_and_caps_come_from_their_registers() {
        let (mut dev, _mm) = setup();
        let iommu = Iommu::new();
        dev.set_reg(reg(hw::CAPS), hw::caps(16));
        dev.set_reg(reg(hw::IOTLB_HITS), 7);
        dev.set_reg(reg(hw::DC_FETCHES), 2);
        dev.set_reg(reg(hw::WALKS_RESTARTED), 3);
        assert_eq!(
            iommu.caps(&mut dev),
            IommuCaps {
                version: 0x10,
                sv32: true,
                iotlb_entries: 16,
                device_id_bits: hw::DEVICE_ID_BITS
            }
        );
        assert_eq!(
            iommu.read_counters(&mut dev),
            IommuCounters {
                iotlb_hits: 7,
                dc_fetches: 2,
                walks_restarted: 3,
                ..IommuCounters::default()
            }
        );
        iommu.clear_counters(&mut dev);
        assert_eq!(
            dev.writes().last(),
            Some(&(reg(hw::CNT_CTRL), hw::CNT_CLEAR))
        );
    }

    #[test]
    fn release_gives_every_page_back_and_returns_to_bare() {
        let (mut dev, mut mm, mut iommu) = with_queue(4);
        iommu
            .enable_fault_queue(&mut dev, &mut mm, 2, false)
            .unwrap();
        assert_eq!(mm.free_pages(), 13);
        iommu.release(&mut dev, &mut mm).unwrap();
        assert_eq!(mm.free_pages(), 16);
        assert_eq!(iommu.mode(), IommuMode::Bare);
        assert_eq!(dev.reg(reg(hw::DDTP)), ddtp::MODE_BARE);
        assert_eq!(dev.reg(reg(hw::CQCSR)), 0);
        assert_eq!(dev.reg(reg(hw::FQCSR)), 0);
    }
}
