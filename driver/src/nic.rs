//! The NIC as a netdev, after Linux's e1000 driver (`drivers/net/ethernet/intel/e1000`):
//! [`Nic::open`] (`e1000_open`: reset, link up, rings, RX fill, interrupts), [`Nic::xmit`] /
//! [`Nic::xmit_sg`] (`e1000_xmit_frame`), NAPI-style [`Nic::poll`] (`e1000_clean`: TX clean,
//! RX clean with refill), [`Nic::stats`] (`e1000_update_stats`) and [`Nic::close`]
//! (`e1000_close`). [`forward_once`] is an io-forward application on top (like testpmd).
//!
//! Memory, all through the DMA API for [`DeviceId::NIC`]:
//! * both descriptor rings: [`Dma::alloc_coherent`] ([`DescRing`]);
//! * RX buffers: a pool of `rx_descriptors - 1` buffers of `rx_buffer_bytes`, carved out of
//!   page-allocator pages (several buffers per page when they are smaller than a page). Each
//!   time a buffer is given to the NIC it is mapped afresh with [`Dma::map_single`]
//!   (`FromDevice`) and unmapped with [`Dma::unmap_single`] as soon as its descriptor is
//!   done, before the CPU reads it; the bytes are copied out into the [`RxFrame`], so the
//!   buffer goes straight back to the pool;
//! * TX frames: each frame gets its own page-allocator allocation, every segment copied in
//!   at a word-aligned offset and mapped on its own with `map_single` (`ToDevice`); the
//!   allocation is unmapped and freed when the frame's EOP descriptor shows DD.
//!
//! The host port moves whole words, little endian (byte `k` of a buffer is bits
//! `8(k%4)+7..8(k%4)` of the word at `k & !3`). A TX segment's last word is written whole,
//! zero padded, and mapped whole (the NIC reads whole words too); its descriptor's LENGTH
//! is exact.

use regs::nic::{self, ctrl, icr, rctl, status, tctl, tipg, tx_desc};
use regs::{block, csr, sys, PAGE_BYTES};
use thiserror::Error;

use crate::dma::{Dma, DmaDirection, DmaError};
use crate::iommu::DeviceId;
use crate::mm::{MmError, PageAllocator};
use crate::ring::{valid_count, BufferInfo, DescRing, Mapped, RingError, RxDesc, TxDesc};
use crate::Device;

/// The NIC's IOMMU device.
const NIC: DeviceId = DeviceId::NIC;

/// Cycles between two register reads while waiting for the NIC (reset, link, idle engines).
pub const POLL_INTERVAL_CYCLES: u64 = 16;
/// Default bound for each of those waits.
pub const DEFAULT_TIMEOUT_CYCLES: u64 = 1_000_000;
/// The interrupt causes the driver unmasks and handles (Linux's `IMS_ENABLE_MASK`).
pub const IMS_ENABLE_MASK: u32 =
    icr::TXDW | icr::RXT0 | icr::RXO | icr::RXDMT0 | icr::NIC_DMA | icr::RING;

use nic::dmaerr::{RX as DMAERR_RX, TX as DMAERR_TX};
use nic::engine_state::{
    RX_MASK as ENGINE_RX_MASK, RX_SHIFT as ENGINE_RX_SHIFT, TX_MASK as ENGINE_TX_MASK,
};

/// Host-port address of NIC register `offset`.
pub(crate) const fn reg(offset: u32) -> u32 {
    csr(block::NIC, offset)
}

/// How [`Nic::open`] sets the NIC up. Timer and ITR values are in the register units of
/// `regs::nic` ([`nic::TIMER_UNIT_CYCLES`], [`nic::ITR_UNIT_CYCLES`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NicConfig {
    /// TX ring size: a multiple of 8, at most 4096.
    pub tx_descriptors: usize,
    /// RX ring size: a multiple of 8, at most 4096.
    pub rx_descriptors: usize,
    /// RX buffer size (RCTL BSIZE/BSEX): 256, 512, 1024, 2048, 4096, 8192 or 16384.
    pub rx_buffer_bytes: u32,
    /// ITR: minimum interval between interrupts; 0 = no moderation.
    pub itr: u32,
    /// RDTR: RX packet timer; 0 = RXT0 at once.
    pub rdtr: u32,
    /// RADV: RX absolute timer; 0 = off.
    pub radv: u32,
    /// TIDV: TX interrupt delay; non-zero sets CMD.IDE on every EOP descriptor.
    pub tidv: u32,
    /// TADV: TX absolute interrupt delay; 0 = off.
    pub tadv: u32,
    /// RCTL.LBM = MAC loopback: TX goes straight back to RX inside the chip.
    pub loopback: bool,
    /// RCTL.SBP: frames with errors reach the ring (flagged) instead of being dropped.
    pub store_bad_packets: bool,
    /// RCTL.LPE: frames longer than 1518 bytes are good.
    pub long_packets: bool,
    /// RCTL.SECRC: the NIC strips the FCS before writing the frame to memory.
    pub strip_crc: bool,
    /// TCTL.PSP: short frames are padded to 60 bytes before the FCS.
    pub pad_short: bool,
    /// TIPG.IPGT: inter-frame gap in bytes (values below 12 act as 12).
    pub ipg: u32,
    /// Bound for each wait (reset, link up, engines idle), in cycles.
    pub timeout_cycles: u64,
}

impl Default for NicConfig {
    /// 64 descriptors per ring (the simulation RAM is 1 MiB), 2048-byte RX buffers (one
    /// 1518-byte frame each), Linux e1000's default delays (RxIntDelay 0, RxAbsIntDelay 8,
    /// TxIntDelay 8, TxAbsIntDelay 32) without ITR moderation, FCS stripped, short frames
    /// padded, the minimum gap.
    fn default() -> Self {
        NicConfig {
            tx_descriptors: 64,
            rx_descriptors: 64,
            rx_buffer_bytes: 2048,
            itr: 0,
            rdtr: 0,
            radv: 8,
            tidv: 8,
            tadv: 32,
            loopback: false,
            store_bad_packets: false,
            long_packets: false,
            strip_crc: true,
            pad_short: true,
            ipg: nic::MIN_IFG_BYTES,
            timeout_cycles: DEFAULT_TIMEOUT_CYCLES,
        }
    }
}

impl NicConfig {
    /// Checks every field against what its register can hold.
    pub fn validate(&self) -> Result<(), NicError> {
        let bad = |what, value: u64| Err(NicError::BadConfig { what, value });
        for (what, count) in [
            ("tx_descriptors", self.tx_descriptors),
            ("rx_descriptors", self.rx_descriptors),
        ] {
            if !valid_count(count) {
                return bad(what, count as u64);
            }
        }
        if rctl::for_buffer_bytes(self.rx_buffer_bytes).is_none() {
            return bad("rx_buffer_bytes", self.rx_buffer_bytes.into());
        }
        for (what, value) in [
            ("itr", self.itr),
            ("rdtr", self.rdtr),
            ("radv", self.radv),
            ("tidv", self.tidv),
            ("tadv", self.tadv),
        ] {
            if value > 0xFFFF {
                return bad(what, value.into());
            }
        }
        if self.ipg > tipg::IPGT_MASK {
            return bad("ipg", self.ipg.into());
        }
        Ok(())
    }

    /// The RCTL value with EN set (RDMTS 1/2).
    pub fn rctl(&self) -> u32 {
        let flag = |on: bool, bit: u32| if on { bit } else { 0 };
        rctl::EN
            | rctl::for_buffer_bytes(self.rx_buffer_bytes).unwrap_or(0)
            | flag(self.store_bad_packets, rctl::SBP)
            | flag(self.long_packets, rctl::LPE)
            | flag(self.loopback, rctl::LBM_MAC)
            | flag(self.strip_crc, rctl::SECRC)
    }

    /// The TCTL value with EN set.
    pub fn tctl(&self) -> u32 {
        tctl::EN | if self.pad_short { tctl::PSP } else { 0 }
    }

    /// CMD bits of a frame's EOP descriptor.
    fn eop_cmd(&self) -> u32 {
        let ide = if self.tidv != 0 { tx_desc::CMD_IDE } else { 0 };
        tx_desc::CMD_EOP | tx_desc::CMD_IFCS | tx_desc::CMD_RS | ide
    }
}

/// Why a NIC operation failed.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum NicError {
    /// `STATUS` does not look like the NIC (FD reads 0, or the bus returns all ones).
    #[error("no NIC: STATUS reads {status:#010x}")]
    NoDevice { status: u32 },
    /// `STATUS.LU` stayed clear after `CTRL.SLU`.
    #[error("no link: STATUS reads {status:#010x} after CTRL.SLU")]
    NoLink { status: u32 },
    #[error("bad NIC configuration: {what} = {value}")]
    BadConfig { what: &'static str, value: u64 },
    /// Not enough free TX descriptors (Linux's `NETDEV_TX_BUSY`); nothing was touched.
    #[error("TX ring full: {needed} descriptors needed, {unused} free")]
    RingFull { needed: usize, unused: usize },
    /// Longer than `TXFIFO_BYTES` (or a segment longer than a descriptor's LENGTH field).
    #[error("frame of {len} bytes is longer than the {max} bytes the NIC can send")]
    FrameTooLong { len: usize, max: u32 },
    /// No segments, or a segment of zero bytes.
    #[error("empty frame or segment")]
    Empty,
    /// `DMAERR`: a descriptor ring halted on an access the IOMMU refused.
    #[error("NIC ring halted (TX {tx}, RX {rx}) on a refused DMA access at {addr:#010x}")]
    DmaHalted { tx: bool, rx: bool, addr: u32 },
    /// `RINGERR`: a ring register write was refused or left a ring inconsistent (bits in
    /// `regs::nic::ringerr`); a driver bug, reported rather than acted on.
    #[error("NIC ring register error: RINGERR {bits:#x}")]
    RingRegister { bits: u32 },
    #[error("timed out after {waited} cycles waiting for {what}: {state}")]
    Timeout {
        what: &'static str,
        waited: u64,
        state: String,
    },
    /// The operation needs an open NIC.
    #[error("the NIC is closed")]
    Closed,
    #[error(transparent)]
    Dma(#[from] DmaError),
    #[error(transparent)]
    Mm(#[from] MmError),
}

impl From<RingError> for NicError {
    fn from(e: RingError) -> Self {
        match e {
            RingError::BadCount { count } => NicError::BadConfig {
                what: "descriptors",
                value: count as u64,
            },
            RingError::Dma(e) => NicError::Dma(e),
        }
    }
}

/// A received frame: the bytes the NIC wrote (with the FCS unless `strip_crc`), and the
/// STATUS and ERRORS bytes of its EOP descriptor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RxFrame {
    pub data: Vec<u8>,
    /// `rx_desc::ERR_*` bits; non-zero means a bad frame (delivered because of SBP or an
    /// `ERR_DMA` abort).
    pub errors: u8,
    /// `rx_desc::STA_*` bits.
    pub status: u8,
    /// Descriptors the frame spanned.
    pub descriptors: usize,
}

impl RxFrame {
    pub fn is_good(&self) -> bool {
        self.errors == 0
    }
}

/// What one [`Nic::poll`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollResult {
    /// Frames received, in ring order, bad ones included (see [`RxFrame::errors`]).
    pub frames: Vec<RxFrame>,
    /// RX descriptors cleaned (frames may span several).
    pub rx_descriptors: usize,
    /// RX descriptors given back to the NIC.
    pub rx_refilled: usize,
    /// TX frames whose descriptors were cleaned (sent or dropped).
    pub tx_completed: usize,
    /// Of those, frames the NIC dropped (`STA_ERR`).
    pub tx_dropped: usize,
    /// `ICR` as read by this poll.
    pub icr: u32,
    /// The RX budget ran out: call `poll` again without waiting for an interrupt (the
    /// causes were read already).
    pub more: bool,
    /// What went wrong on the way; the poll carried on past each. `DmaHalted` when `ICR`
    /// shows `NIC_DMA`; DMA-API failures while unmapping or refilling.
    pub errors: Vec<NicError>,
}

/// The hardware statistics registers, accumulated (they clear on read).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HwStats {
    /// CRCERRS.
    pub crc_errors: u64,
    /// RXERRC: frames with rx_er.
    pub rx_errors: u64,
    /// MPC: dropped because the RX FIFO was full.
    pub missed: u64,
    /// RNBC: frames that found no free RX descriptor and had to wait.
    pub rx_no_buffer: u64,
    /// RUC.
    pub runts: u64,
    /// ROC.
    pub oversize: u64,
    /// GPRC.
    pub good_rx_packets: u64,
    /// GPTC.
    pub good_tx_packets: u64,
    /// GORCL/GORCH (FCS included).
    pub good_rx_octets: u64,
    /// GOTCL/GOTCH (FCS included).
    pub good_tx_octets: u64,
    /// TORL/TORH.
    pub total_rx_octets: u64,
    /// TOTL/TOTH.
    pub total_tx_octets: u64,
    /// TPR.
    pub total_rx_packets: u64,
    /// TPT.
    pub total_tx_packets: u64,
    /// TDEC: TX frames dropped (malformed descriptor or refused buffer read).
    pub tx_desc_errors: u64,
    /// RDFC: RX frames dropped because the IOMMU refused a buffer write.
    pub rx_dma_drops: u64,
    /// IRQC: interrupts delivered.
    pub irqs: u64,
    /// RINGERRC: ring register writes refused or lengths that stranded a head or tail.
    pub ring_errors: u64,
}

/// Driver counters plus the accumulated hardware counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NicStats {
    /// Good frames delivered by [`Nic::poll`].
    pub rx_packets: u64,
    /// Their bytes, FCS excluded.
    pub rx_bytes: u64,
    /// Frames delivered with error bits (not in `rx_packets`), and per bit:
    pub rx_errors: u64,
    pub rx_crc_errors: u64,
    pub rx_length_errors: u64,
    pub rx_dma_errors: u64,
    pub rx_data_errors: u64,
    /// Refills that could not map a buffer (retried at the next poll).
    pub rx_alloc_failed: u64,
    /// Frames the NIC reported sent (DD without `STA_ERR` on the EOP descriptor).
    pub tx_packets: u64,
    /// Their bytes as queued (no padding, no FCS).
    pub tx_bytes: u64,
    /// Frames the NIC dropped (`STA_ERR`).
    pub tx_dropped: u64,
    /// [`Nic::xmit`] calls refused with [`NicError::RingFull`].
    pub tx_busy: u64,
    /// Frames still queued at [`Nic::close`], discarded unsent (or sent unconfirmed).
    pub tx_aborted: u64,
    /// [`Nic::poll`] calls.
    pub polls: u64,
    pub hw: HwStats,
    /// How many `ICR` reads showed each cause bit, by bit number.
    pub icr_causes: [u64; 32],
}

impl NicStats {
    /// How many `ICR` reads showed `cause` (one `icr::*` bit).
    pub fn cause_count(&self, cause: u32) -> u64 {
        debug_assert_eq!(cause.count_ones(), 1);
        self.icr_causes[cause.trailing_zeros() as usize & 31]
    }
}

/// RX buffers: fixed physical buffers, mapped while a descriptor holds them.
#[derive(Debug)]
struct RxBufferPool {
    bytes: u32,
    /// Page allocations the buffers are carved from.
    chunks: Vec<u32>,
    /// Buffers not in the ring, as physical addresses (taken from the end).
    free: Vec<u32>,
}

impl RxBufferPool {
    fn new(mm: &mut PageAllocator, bytes: u32, buffers: usize) -> Result<Self, MmError> {
        let per_chunk = (PAGE_BYTES / bytes).max(1) as usize;
        let mut pool = RxBufferPool {
            bytes,
            chunks: vec![],
            free: Vec::with_capacity(buffers),
        };
        while pool.free.len() < buffers {
            let pa = match mm.alloc_bytes(per_chunk as u32 * bytes) {
                Ok(pa) => pa,
                Err(e) => {
                    // Best effort: the allocation failure is the error worth reporting.
                    let _ = pool.release(mm);
                    return Err(e);
                }
            };
            pool.chunks.push(pa);
            let n = per_chunk.min(buffers - pool.free.len());
            pool.free.extend((0..n as u32).map(|k| pa + k * bytes));
        }
        // Slot 0 gets the first buffer.
        pool.free.reverse();
        Ok(pool)
    }

    fn take(&mut self) -> Option<u32> {
        self.free.pop()
    }

    fn put(&mut self, pa: u32) {
        self.free.push(pa);
    }

    fn release(&mut self, mm: &mut PageAllocator) -> Result<(), MmError> {
        self.free.clear();
        let mut result = Ok(());
        for pa in self.chunks.drain(..) {
            if let Err(e) = mm.free(pa) {
                result = result.and(Err(e));
            }
        }
        result
    }
}

/// A frame whose EOP descriptor has not been seen yet.
#[derive(Debug, Default)]
struct PartialFrame {
    data: Vec<u8>,
    descriptors: usize,
}

/// What an open NIC owns.
#[derive(Debug)]
struct Rings {
    tx: DescRing,
    rx: DescRing,
    pool: RxBufferPool,
    rx_partial: Option<PartialFrame>,
}

/// The NIC driver's state (Linux's `struct e1000_adapter`).
///
/// # Example
///
/// Bring the NIC up through the DMA API (IOMMU on), send one frame, receive what arrives
/// (NAPI-style, a budget of 64 frames per poll), and close it again.
///
/// ```no_run
/// use driver::{Device, Dma, DmaConfig, Nic, NicConfig, PageAllocator};
///
/// fn ping(dev: &mut dyn Device) -> Result<(), Box<dyn std::error::Error>> {
///     let mm = PageAllocator::from_device(dev)?;
///     let mut dma = Dma::init(dev, mm, DmaConfig::default())?;
///     let mut nic = Nic::open(dev, &mut dma, NicConfig::default())?;
///     let mut frame = vec![0xFF; 6]; // broadcast
///     frame.extend([0x02, 0, 0, 0, 0, 1, 0x88, 0xB5]); // source, local EtherType
///     frame.resize(60, 0); // the NIC appends the FCS
///     nic.xmit(dev, &mut dma, &frame)?;
///     let polled = nic.poll(dev, &mut dma, 64);
///     for f in polled.frames.iter().filter(|f| f.is_good()) {
///         println!("received {} bytes", nic.payload(f).len());
///     }
///     nic.close(dev, &mut dma)?;
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct Nic {
    cfg: NicConfig,
    txfifo_bytes: u32,
    /// `None` once closed.
    rings: Option<Rings>,
    stats: NicStats,
    /// `open` attached the NIC to the DMA layer, so `close` detaches it.
    attached_here: bool,
}

impl Nic {
    /// Brings the NIC up: checks `STATUS`, masks interrupts and resets (`CTRL.RST`, waiting
    /// for it to clear), sets link up, allocates both rings and the RX buffers, programs TX
    /// then RX registers, fills the RX ring (`RDT = count - 1`), unmasks
    /// [`IMS_ENABLE_MASK`], and enables RX, then TX. The NIC is attached to `dma` by its
    /// policy unless already attached. On error everything taken is given back.
    pub fn open(dev: &mut dyn Device, dma: &mut Dma, cfg: NicConfig) -> Result<Nic, NicError> {
        cfg.validate()?;
        let st = dev.read32(reg(nic::STATUS));
        if st == u32::MAX || st & status::FD == 0 {
            return Err(NicError::NoDevice { status: st });
        }
        // e1000_reset_hw: quiesce, then reset.
        dev.write32(reg(nic::IMC), u32::MAX);
        dev.write32(reg(nic::RCTL), 0);
        dev.write32(reg(nic::TCTL), 0);
        dev.write32(reg(nic::CTRL), ctrl::FD | ctrl::RST);
        wait_until(dev, cfg.timeout_cycles, "CTRL.RST to self-clear", |d| {
            d.read32(reg(nic::CTRL)) & ctrl::RST == 0
        })?;
        dev.write32(reg(nic::IMC), u32::MAX);
        dev.read32(reg(nic::ICR));

        dev.write32(reg(nic::CTRL), ctrl::FD | ctrl::SLU);
        let link = wait_until(dev, cfg.timeout_cycles, "STATUS.LU", |d| {
            d.read32(reg(nic::STATUS)) & status::LU != 0
        });
        if link.is_err() {
            let status = dev.read32(reg(nic::STATUS));
            return Err(NicError::NoLink { status });
        }
        let txfifo_bytes = dev.read32(reg(nic::TXFIFO_BYTES));

        let attached_here = dma.domain_type(NIC).is_none();
        if attached_here {
            dma.attach(dev, NIC)?;
        }
        let mut nic = Nic {
            cfg,
            txfifo_bytes,
            rings: None,
            stats: NicStats::default(),
            attached_here,
        };
        let up = match nic.alloc_rings(dev, dma) {
            Ok(()) => nic.configure(dev, dma),
            Err(e) => Err(e),
        };
        match up {
            Ok(()) => Ok(nic),
            Err(e) => {
                dev.write32(reg(nic::RCTL), 0);
                dev.write32(reg(nic::TCTL), 0);
                // Best effort: the original error is the one worth reporting.
                let _ = nic.release(dev, dma);
                Err(e)
            }
        }
    }

    /// Both rings and the RX buffer pool (`e1000_setup_all_{tx,rx}_resources`).
    fn alloc_rings(&mut self, dev: &mut dyn Device, dma: &mut Dma) -> Result<(), NicError> {
        let tx = DescRing::new(dev, dma, NIC, self.cfg.tx_descriptors)?;
        let rx = match DescRing::new(dev, dma, NIC, self.cfg.rx_descriptors) {
            Ok(rx) => rx,
            Err(e) => {
                let _ = tx.free(dev, dma);
                return Err(e.into());
            }
        };
        let buffers = self.cfg.rx_descriptors - 1;
        let pool = match RxBufferPool::new(dma.mm_mut(), self.cfg.rx_buffer_bytes, buffers) {
            Ok(p) => p,
            Err(e) => {
                let _ = rx.free(dev, dma);
                let _ = tx.free(dev, dma);
                return Err(e.into());
            }
        };
        self.rings = Some(Rings {
            tx,
            rx,
            pool,
            rx_partial: None,
        });
        Ok(())
    }

    /// `e1000_configure` + `e1000_irq_enable`: every register, the RX fill, then enable.
    fn configure(&mut self, dev: &mut dyn Device, dma: &mut Dma) -> Result<(), NicError> {
        let cfg = self.cfg;
        let rings = self.rings.as_mut().ok_or(NicError::Closed)?;
        // TX (e1000_configure_tx).
        dev.write32(reg(nic::TDBAL), rings.tx.dma_addr().addr());
        dev.write32(reg(nic::TDBAH), 0);
        dev.write32(reg(nic::TDLEN), rings.tx.bytes());
        dev.write32(reg(nic::TDH), 0);
        dev.write32(reg(nic::TDT), 0);
        dev.write32(reg(nic::TIPG), cfg.ipg);
        dev.write32(reg(nic::TIDV), cfg.tidv);
        dev.write32(reg(nic::TADV), cfg.tadv);
        dev.write32(reg(nic::TCTL), cfg.tctl() & !tctl::EN);
        // RX (e1000_setup_rctl + e1000_configure_rx), disabled while set up.
        dev.write32(reg(nic::RCTL), cfg.rctl() & !rctl::EN);
        dev.write32(reg(nic::RDTR), cfg.rdtr);
        dev.write32(reg(nic::RADV), cfg.radv);
        dev.write32(reg(nic::ITR), cfg.itr);
        dev.write32(reg(nic::RDBAL), rings.rx.dma_addr().addr());
        dev.write32(reg(nic::RDBAH), 0);
        dev.write32(reg(nic::RDLEN), rings.rx.bytes());
        dev.write32(reg(nic::RDH), 0);
        dev.write32(reg(nic::RDT), 0);
        alloc_rx_buffers(rings, dev, dma, &mut self.stats).map_err(|(_, e)| e)?;
        dev.write32(reg(nic::IMS), IMS_ENABLE_MASK);
        dev.write32(reg(nic::RCTL), cfg.rctl());
        dev.write32(reg(nic::TCTL), cfg.tctl());
        Ok(())
    }

    pub fn config(&self) -> &NicConfig {
        &self.cfg
    }

    pub fn is_open(&self) -> bool {
        self.rings.is_some()
    }

    /// `TXFIFO_BYTES` as read at open: the longest frame [`xmit`](Self::xmit) accepts.
    pub fn txfifo_bytes(&self) -> u32 {
        self.txfifo_bytes
    }

    pub fn tx_ring(&self) -> Option<&DescRing> {
        self.rings.as_ref().map(|r| &r.tx)
    }

    pub fn rx_ring(&self) -> Option<&DescRing> {
        self.rings.as_ref().map(|r| &r.rx)
    }

    /// The frame without its FCS: the whole data with `strip_crc` (the NIC removed it),
    /// the data minus its last 4 bytes otherwise.
    pub fn payload<'a>(&self, frame: &'a RxFrame) -> &'a [u8] {
        if self.cfg.strip_crc {
            &frame.data
        } else {
            let fcs = nic::FCS_BYTES as usize;
            &frame.data[..frame.data.len().saturating_sub(fcs)]
        }
    }

    /// Sends one frame from one buffer (one descriptor).
    pub fn xmit(
        &mut self,
        dev: &mut dyn Device,
        dma: &mut Dma,
        frame: &[u8],
    ) -> Result<(), NicError> {
        self.xmit_sg(dev, dma, &[frame])
    }

    /// Sends one frame made of `segments`, one descriptor each: the data is copied into one
    /// fresh page-allocator allocation (each segment word aligned), each segment mapped
    /// `ToDevice`, the descriptors written (EOP, IFCS, RS and, with `tidv`, IDE on the last),
    /// then `TDT` written once. Refuses without touching anything: an empty frame or
    /// segment, a frame longer than `TXFIFO_BYTES`, or fewer free descriptors than segments
    /// ([`NicError::RingFull`], counted in `tx_busy`).
    pub fn xmit_sg(
        &mut self,
        dev: &mut dyn Device,
        dma: &mut Dma,
        segments: &[&[u8]],
    ) -> Result<(), NicError> {
        let rings = self.rings.as_mut().ok_or(NicError::Closed)?;
        if segments.is_empty() || segments.iter().any(|s| s.is_empty()) {
            return Err(NicError::Empty);
        }
        let len: usize = segments.iter().map(|s| s.len()).sum();
        if len > self.txfifo_bytes as usize {
            return Err(NicError::FrameTooLong {
                len,
                max: self.txfifo_bytes,
            });
        }
        if let Some(s) = segments
            .iter()
            .find(|s| s.len() > tx_desc::LEN_MASK as usize)
        {
            return Err(NicError::FrameTooLong {
                len: s.len(),
                max: tx_desc::LEN_MASK,
            });
        }
        let needed = segments.len();
        let unused = rings.tx.unused();
        if unused < needed {
            self.stats.tx_busy += 1;
            return Err(NicError::RingFull { needed, unused });
        }

        // Copy every segment into host RAM, each at a word-aligned offset.
        let padded = |s: &[u8]| (s.len() as u32).next_multiple_of(4);
        let total: u32 = segments.iter().map(|s| padded(s)).sum();
        let pages = dma.mm_mut().alloc_bytes(total)?;
        let mut maps = Vec::with_capacity(needed);
        let mut off = 0;
        for s in segments {
            write_bytes(dev, pages + off, s);
            match Mapped::map(
                dev,
                dma,
                NIC,
                pages + off,
                padded(s),
                DmaDirection::ToDevice,
            ) {
                Ok(m) => maps.push(m),
                Err(e) => {
                    // Best effort: the mapping failure is the error worth reporting.
                    for m in maps {
                        let _ = m.unmap(dev, dma, NIC);
                    }
                    let _ = dma.mm_mut().free(pages);
                    return Err(e.into());
                }
            }
            off += padded(s);
        }

        // Descriptors, then the tail once (e1000_tx_queue).
        let tx = &mut rings.tx;
        let first = tx.next_to_use();
        let mut i = first;
        for (k, (s, m)) in segments.iter().zip(maps).enumerate() {
            let last = k + 1 == needed;
            let cmd = if last { self.cfg.eop_cmd() } else { 0 };
            let desc = TxDesc {
                addr: m.addr.addr(),
                length: s.len() as u16,
                cmd: cmd as u8,
                status: 0,
            };
            tx.write_tx(dev, i, &desc);
            *tx.buffer_mut(i) = BufferInfo {
                mapping: Some(m),
                length: s.len() as u32,
                eop: last,
                frame_len: if last { len as u32 } else { 0 },
                next_to_watch: None,
                pages: last.then_some(pages),
            };
            if !last {
                i = tx.next(i);
            }
        }
        tx.buffer_mut(first).next_to_watch = Some(i);
        tx.produce(needed);
        dev.write32(reg(nic::TDT), tx.next_to_use() as u32);
        Ok(())
    }

    /// One NAPI poll (`e1000_clean`): masks [`IMS_ENABLE_MASK`], reads `ICR` (counting each
    /// cause; `NIC_DMA` reports [`NicError::DmaHalted`], `RING` [`NicError::RingRegister`] and
    /// clears `RINGERR`), cleans every completed TX frame,
    /// cleans RX up to `budget` frames in ring order (gathering frames across descriptors,
    /// keeping a frame whose EOP has not come yet for the next poll), refills the RX ring
    /// and writes `RDT`, and unmasks.
    pub fn poll(&mut self, dev: &mut dyn Device, dma: &mut Dma, budget: usize) -> PollResult {
        let mut res = PollResult::default();
        let Some(rings) = self.rings.as_mut() else {
            res.errors.push(NicError::Closed);
            return res;
        };
        let stats = &mut self.stats;
        stats.polls += 1;
        dev.write32(reg(nic::IMC), IMS_ENABLE_MASK);
        res.icr = dev.read32(reg(nic::ICR));
        count_causes(stats, res.icr);
        if res.icr & icr::NIC_DMA != 0 {
            if let Some(e) = dma_halt(dev) {
                res.errors.push(e);
            }
        }
        if res.icr & icr::RING != 0 {
            let bits = dev.read32(reg(nic::RINGERR));
            dev.write32(reg(nic::RINGERR), bits);
            res.errors.push(NicError::RingRegister { bits });
        }
        clean_tx_irq(rings, dev, dma, stats, &mut res);
        clean_rx_irq(rings, dev, dma, &self.cfg, stats, budget, &mut res);
        match alloc_rx_buffers(rings, dev, dma, stats) {
            Ok(n) => res.rx_refilled = n,
            Err((n, e)) => {
                res.rx_refilled = n;
                res.errors.push(e);
            }
        }
        res.more = res.frames.len() == budget;
        dev.write32(reg(nic::IMS), IMS_ENABLE_MASK);
        res
    }

    /// Whether the NIC's interrupt is asserted now (`SYS.IRQ_STATUS`).
    pub fn irq_pending(&self, dev: &mut dyn Device) -> bool {
        dev.read32(csr(block::SYS, sys::IRQ_STATUS)) & sys::irq::NIC != 0
    }

    /// `DMAERR` as a [`NicError::DmaHalted`], or `None` if no ring is halted.
    pub fn dma_error(&self, dev: &mut dyn Device) -> Option<NicError> {
        dma_halt(dev)
    }

    /// Clears `DMAERR` (write 1 to clear), which restarts the halted rings; returns the bits
    /// that were set. Fix the mapping first, or the ring halts again.
    ///
    /// An RX halt drops the frame in progress: descriptors of it already written back (DD
    /// without EOP) are a fragment that no EOP will close, so the fragment gathered so far is
    /// discarded here (counted in `rx_errors` and `rx_dma_errors`) rather than glued to the
    /// next frame. Call it after a [`poll`](Self::poll) has cleaned what the ring holds (the
    /// poll that reported [`NicError::DmaHalted`] did).
    pub fn restart_halted_rings(&mut self, dev: &mut dyn Device) -> u32 {
        let e = dev.read32(reg(nic::DMAERR));
        if e & DMAERR_RX != 0 {
            if let Some(rings) = self.rings.as_mut() {
                if rings.rx_partial.take().is_some() {
                    self.stats.rx_errors += 1;
                    self.stats.rx_dma_errors += 1;
                }
            }
        }
        if e != 0 {
            dev.write32(reg(nic::DMAERR), e);
        }
        e
    }

    /// The driver's counters and every hardware statistics register, read now and added to
    /// the totals (`e1000_update_stats`).
    pub fn stats(&mut self, dev: &mut dyn Device) -> NicStats {
        let r = |dev: &mut dyn Device, o| u64::from(dev.read32(reg(o)));
        let wide = |dev: &mut dyn Device, lo, hi| r(dev, lo) | r(dev, hi) << 32;
        let hw = &mut self.stats.hw;
        hw.crc_errors += r(dev, nic::CRCERRS);
        hw.rx_errors += r(dev, nic::RXERRC);
        hw.missed += r(dev, nic::MPC);
        hw.good_rx_packets += r(dev, nic::GPRC);
        hw.good_tx_packets += r(dev, nic::GPTC);
        hw.good_rx_octets += wide(dev, nic::GORCL, nic::GORCH);
        hw.good_tx_octets += wide(dev, nic::GOTCL, nic::GOTCH);
        hw.rx_no_buffer += r(dev, nic::RNBC);
        hw.runts += r(dev, nic::RUC);
        hw.oversize += r(dev, nic::ROC);
        hw.total_rx_octets += wide(dev, nic::TORL, nic::TORH);
        hw.total_tx_octets += wide(dev, nic::TOTL, nic::TOTH);
        hw.total_rx_packets += r(dev, nic::TPR);
        hw.total_tx_packets += r(dev, nic::TPT);
        hw.tx_desc_errors += r(dev, nic::TDEC);
        hw.rx_dma_drops += r(dev, nic::RDFC);
        hw.irqs += r(dev, nic::IRQC);
        hw.ring_errors += r(dev, nic::RINGERRC);
        self.stats.clone()
    }

    /// Brings the NIC down (`e1000_down`): masks its interrupts, disables RX and TX, waits
    /// for both engines to stop (`ENGINE_STATE` idle, or waiting for something a disabled
    /// NIC never gets: an RX descriptor, TX FIFO room or frame-queue space, a restart after
    /// a halt), cleans the TX frames that completed, reads the statistics one last time,
    /// resets the NIC (`CTRL.RST`: both engines idle, the FIFOs empty), then unmaps and frees
    /// every buffer and both rings, flushes lazy unmaps, and detaches the NIC if `open`
    /// attached it. Afterwards `dma.live_mappings(DeviceId::NIC)` is empty and the pages are
    /// back in `dma`'s allocator ([`Dma::mm`]). If the engines do not stop, nothing is freed
    /// (the NIC may still be using it) and the timeout is returned; `close` may be called
    /// again. Closing a closed NIC does nothing.
    pub fn close(&mut self, dev: &mut dyn Device, dma: &mut Dma) -> Result<(), NicError> {
        let Some(rings) = self.rings.as_mut() else {
            return Ok(());
        };
        dev.write32(reg(nic::IMC), u32::MAX);
        dev.write32(reg(nic::RCTL), self.cfg.rctl() & !rctl::EN);
        dev.write32(reg(nic::TCTL), self.cfg.tctl() & !tctl::EN);
        let t0 = dev.now();
        let idle = wait_until(
            dev,
            self.cfg.timeout_cycles,
            "NIC engines to go idle",
            |d| engines_stopped(d.read32(reg(nic::ENGINE_STATE))),
        );
        if idle.is_err() {
            let es = dev.read32(reg(nic::ENGINE_STATE));
            return Err(NicError::Timeout {
                what: "NIC engines to go idle",
                waited: dev.now() - t0,
                state: format!("{}; {}", engine_state(es), dev.describe_state()),
            });
        }
        let mut last = PollResult::default();
        clean_tx_irq(rings, dev, dma, &mut self.stats, &mut last);
        self.stats(dev);
        // e1000_reset: an engine parked in a wait would otherwise wake up later and use
        // memory that is about to be unmapped (the reset also clears the statistics).
        dev.write32(reg(nic::CTRL), ctrl::FD | ctrl::RST);
        wait_until(
            dev,
            self.cfg.timeout_cycles,
            "CTRL.RST to self-clear",
            |d| d.read32(reg(nic::CTRL)) & ctrl::RST == 0,
        )?;
        let first = last.errors.into_iter().next();
        let released = self.release(dev, dma);
        match first {
            Some(e) => Err(e),
            None => released,
        }
    }

    /// Unmaps and frees everything the NIC owns, carrying on past errors (the first is
    /// returned). The caller has made sure the NIC no longer uses any of it.
    fn release(&mut self, dev: &mut dyn Device, dma: &mut Dma) -> Result<(), NicError> {
        let mut result: Result<(), NicError> = Ok(());
        let mut keep = |r: Result<(), NicError>| {
            if result.is_ok() {
                result = r;
            }
        };
        if let Some(mut rings) = self.rings.take() {
            for i in 0..rings.tx.count() {
                let info = std::mem::take(rings.tx.buffer_mut(i));
                if info.eop {
                    self.stats.tx_aborted += 1;
                }
                if let Some(m) = info.mapping {
                    keep(m.unmap(dev, dma, NIC).map_err(NicError::from));
                }
                if let Some(pa) = info.pages {
                    keep(dma.mm_mut().free(pa).map(drop).map_err(NicError::from));
                }
            }
            for i in 0..rings.rx.count() {
                if let Some(m) = std::mem::take(rings.rx.buffer_mut(i)).mapping {
                    keep(m.unmap(dev, dma, NIC).map_err(NicError::from));
                }
            }
            keep(rings.pool.release(dma.mm_mut()).map_err(NicError::from));
            keep(rings.rx.free(dev, dma).map_err(NicError::from));
            keep(rings.tx.free(dev, dma).map_err(NicError::from));
        }
        if dma.domain_type(NIC).is_some() {
            keep(dma.flush(dev, NIC).map_err(NicError::from));
            if self.attached_here {
                keep(dma.detach(dev, NIC).map_err(NicError::from));
                self.attached_here = false;
            }
        }
        result
    }
}

/// Gives the NIC every unused RX descriptor it can (`e1000_alloc_rx_buffers`): a buffer from
/// the pool, mapped `FromDevice`, its descriptor written with status 0; then `RDT` once.
/// Returns how many were given, with the first error if one stopped the refill.
fn alloc_rx_buffers(
    rings: &mut Rings,
    dev: &mut dyn Device,
    dma: &mut Dma,
    stats: &mut NicStats,
) -> Result<usize, (usize, NicError)> {
    let mut given = 0;
    let mut failure = None;
    while rings.rx.unused() > 0 {
        let i = rings.rx.next_to_use();
        let Some(pa) = rings.pool.take() else {
            stats.rx_alloc_failed += 1;
            break;
        };
        let bytes = rings.pool.bytes;
        match Mapped::map(dev, dma, NIC, pa, bytes, DmaDirection::FromDevice) {
            Ok(m) => {
                rings.rx.write_rx(dev, i, &RxDesc::for_buffer(m.addr));
                *rings.rx.buffer_mut(i) = BufferInfo {
                    mapping: Some(m),
                    length: bytes,
                    ..BufferInfo::default()
                };
                rings.rx.produce(1);
                given += 1;
            }
            Err(e) => {
                rings.pool.put(pa);
                stats.rx_alloc_failed += 1;
                failure = Some(NicError::from(e));
                break;
            }
        }
    }
    if given > 0 {
        dev.write32(reg(nic::RDT), rings.rx.next_to_use() as u32);
    }
    match failure {
        Some(e) => Err((given, e)),
        None => Ok(given),
    }
}

/// `e1000_clean_rx_irq`: up to `budget` frames from `next_to_clean` while DD is set.
fn clean_rx_irq(
    rings: &mut Rings,
    dev: &mut dyn Device,
    dma: &mut Dma,
    cfg: &NicConfig,
    stats: &mut NicStats,
    budget: usize,
    res: &mut PollResult,
) {
    while res.frames.len() < budget && rings.rx.in_use() > 0 {
        let i = rings.rx.next_to_clean();
        let Some(d) = rings.rx.rx_writeback(dev, i) else {
            break;
        };
        let info = std::mem::take(rings.rx.buffer_mut(i));
        rings.rx.consume(1);
        res.rx_descriptors += 1;
        let part = rings.rx_partial.get_or_insert_with(PartialFrame::default);
        part.descriptors += 1;
        if let Some(m) = info.mapping {
            // The NIC is done with the buffer: unmap before the CPU looks at it.
            if let Err(e) = m.unmap(dev, dma, NIC) {
                res.errors.push(e.into());
            }
            let len = u32::from(d.length).min(m.len);
            read_bytes(dev, m.pa, len, &mut part.data);
            rings.pool.put(m.pa);
        }
        if d.eop() {
            let part = rings.rx_partial.take().unwrap_or_default();
            let frame = RxFrame {
                data: part.data,
                errors: d.errors,
                status: d.status,
                descriptors: part.descriptors,
            };
            count_rx(stats, cfg, &frame);
            res.frames.push(frame);
        }
    }
}

fn count_rx(stats: &mut NicStats, cfg: &NicConfig, f: &RxFrame) {
    use regs::nic::rx_desc::{ERR_CE, ERR_DMA, ERR_LEN, ERR_RXE};
    if f.is_good() {
        let fcs = if cfg.strip_crc {
            0
        } else {
            nic::FCS_BYTES as usize
        };
        stats.rx_packets += 1;
        stats.rx_bytes += f.data.len().saturating_sub(fcs) as u64;
        return;
    }
    stats.rx_errors += 1;
    let e = u32::from(f.errors);
    for (bit, counter) in [
        (ERR_CE, &mut stats.rx_crc_errors),
        (ERR_LEN, &mut stats.rx_length_errors),
        (ERR_DMA, &mut stats.rx_dma_errors),
        (ERR_RXE, &mut stats.rx_data_errors),
    ] {
        if e & bit != 0 {
            *counter += 1;
        }
    }
}

/// `e1000_clean_tx_irq`: every frame whose EOP descriptor shows DD, oldest first.
fn clean_tx_irq(
    rings: &mut Rings,
    dev: &mut dyn Device,
    dma: &mut Dma,
    stats: &mut NicStats,
    res: &mut PollResult,
) {
    let tx = &mut rings.tx;
    while tx.in_use() > 0 {
        let first = tx.next_to_clean();
        let Some(eop) = tx.buffer(first).next_to_watch else {
            break;
        };
        let sta = u32::from(tx.tx_status(dev, eop));
        if sta & tx_desc::STA_DD == 0 {
            break;
        }
        let n = tx.indices().distance(first, eop) + 1;
        let mut frame_len = 0;
        let mut i = first;
        for _ in 0..n {
            let info = std::mem::take(tx.buffer_mut(i));
            if let Some(m) = info.mapping {
                if let Err(e) = m.unmap(dev, dma, NIC) {
                    res.errors.push(e.into());
                }
            }
            if let Some(pa) = info.pages {
                if let Err(e) = dma.mm_mut().free(pa) {
                    res.errors.push(e.into());
                }
            }
            if info.eop {
                frame_len = info.frame_len;
            }
            i = tx.next(i);
        }
        tx.consume(n);
        res.tx_completed += 1;
        if sta & tx_desc::STA_ERR != 0 {
            res.tx_dropped += 1;
            stats.tx_dropped += 1;
        } else {
            stats.tx_packets += 1;
            stats.tx_bytes += u64::from(frame_len);
        }
    }
}

fn count_causes(stats: &mut NicStats, icr: u32) {
    for (bit, n) in stats.icr_causes.iter_mut().enumerate() {
        if icr & (1 << bit) != 0 {
            *n += 1;
        }
    }
}

fn dma_halt(dev: &mut dyn Device) -> Option<NicError> {
    let e = dev.read32(reg(nic::DMAERR));
    (e & (DMAERR_TX | DMAERR_RX) != 0).then(|| NicError::DmaHalted {
        tx: e & DMAERR_TX != 0,
        rx: e & DMAERR_RX != 0,
        addr: dev.read32(reg(nic::DMAERR_ADDR)),
    })
}

/// Whether `ENGINE_STATE` shows both engines idle or parked: in a state without bus access
/// that a disabled engine does not leave by itself (RX WaitDesc; TX WaitSpace, Commit; a
/// halted ring). Only `CTRL.RST` gets a parked engine back to idle.
fn engines_stopped(es: u32) -> bool {
    let state = |names: &[&'static str], v: u32| names.get(v as usize).copied().unwrap_or("?");
    let tx = state(&nic::TX_STATE_NAMES, es & ENGINE_TX_MASK);
    let rx = state(
        &nic::RX_STATE_NAMES,
        (es & ENGINE_RX_MASK) >> ENGINE_RX_SHIFT,
    );
    ["Idle", "WaitSpace", "Commit", "Halted"].contains(&tx)
        && ["Idle", "WaitDesc", "Halted"].contains(&rx)
}

/// `ENGINE_STATE` with the state names from `regs::nic`.
fn engine_state(es: u32) -> String {
    let name = |names: &[&'static str], v: u32| names.get(v as usize).copied().unwrap_or("?");
    let tx = es & ENGINE_TX_MASK;
    let rx = (es & ENGINE_RX_MASK) >> ENGINE_RX_SHIFT;
    format!(
        "ENGINE_STATE {es:#x}: TX {}, RX {}",
        name(&nic::TX_STATE_NAMES, tx),
        name(&nic::RX_STATE_NAMES, rx)
    )
}

/// Polls `done` every [`POLL_INTERVAL_CYCLES`] until it holds or `timeout` cycles passed.
fn wait_until(
    dev: &mut dyn Device,
    timeout: u64,
    what: &'static str,
    mut done: impl FnMut(&mut dyn Device) -> bool,
) -> Result<(), NicError> {
    let t0 = dev.now();
    loop {
        if done(dev) {
            return Ok(());
        }
        let waited = dev.now() - t0;
        if waited >= timeout {
            return Err(NicError::Timeout {
                what,
                waited,
                state: dev.describe_state(),
            });
        }
        dev.advance(POLL_INTERVAL_CYCLES.min(timeout - waited));
    }
}

/// Writes `data` at `pa` (word aligned) as whole little-endian words, the last zero padded.
fn write_bytes(dev: &mut dyn Device, pa: u32, data: &[u8]) {
    let words: Vec<u32> = data
        .chunks(4)
        .map(|c| {
            let mut b = [0; 4];
            b[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(b)
        })
        .collect();
    dev.write_words(pa, &words);
}

/// Appends the `len` bytes at `pa` (word aligned) to `out`.
fn read_bytes(dev: &mut dyn Device, pa: u32, len: u32, out: &mut Vec<u8>) {
    let mut words = vec![0; len.div_ceil(4) as usize];
    dev.read_words(pa, &mut words);
    out.extend(
        words
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .take(len as usize),
    );
}

// ---- io-forward --------------------------------------------------------------------------

/// What one [`forward_once`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForwardStats {
    /// Frames the poll returned.
    pub received: usize,
    /// Good frames queued back out.
    pub forwarded: usize,
    /// Frames with error bits, not forwarded.
    pub dropped_bad: usize,
    /// Good frames dropped because the TX ring was full.
    pub dropped_ring_full: usize,
    /// Good frames longer than `forward_once`'s `max_frame`, not forwarded.
    pub dropped_too_long: usize,
    /// Good frames [`Nic::xmit`] refused for another reason (in `errors`).
    pub dropped_other: usize,
    /// TX frames the poll cleaned.
    pub tx_completed: usize,
    /// The poll's budget ran out.
    pub more: bool,
    /// The poll's errors, then the refusals counted in `dropped_other`.
    pub errors: Vec<NicError>,
}

/// io-forward, as testpmd's: one [`Nic::poll`] of `budget`, then every good frame is sent
/// back out unchanged, without its FCS (the TX side appends a fresh one with IFCS). Bad
/// frames, frames longer than `max_frame` bytes with their FCS (a limit below the MAC's, as
/// RCTL.LPE allows frames up to [`nic::MAX_LONG_FRAME`]) and frames that find the TX ring full
/// are dropped and counted.
pub fn forward_once(
    nic: &mut Nic,
    dev: &mut dyn Device,
    dma: &mut Dma,
    budget: usize,
    max_frame: usize,
) -> ForwardStats {
    let polled = nic.poll(dev, dma, budget);
    let mut fs = ForwardStats {
        received: polled.frames.len(),
        tx_completed: polled.tx_completed,
        more: polled.more,
        errors: polled.errors,
        ..ForwardStats::default()
    };
    for f in &polled.frames {
        if !f.is_good() {
            fs.dropped_bad += 1;
            continue;
        }
        let data = nic.payload(f).to_vec();
        if data.len() + nic::FCS_BYTES as usize > max_frame {
            fs.dropped_too_long += 1;
            continue;
        }
        match nic.xmit(dev, dma, &data) {
            Ok(()) => fs.forwarded += 1,
            Err(NicError::RingFull { .. }) => fs.dropped_ring_full += 1,
            Err(e) => {
                fs.dropped_other += 1;
                fs.errors.push(e);
            }
        }
    }
    fs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dma::{DmaAddr, DmaConfig, Invalidation, IommuPolicy, MappingKind};
    use crate::mock::MockDevice;
    use pretty_assertions::assert_eq;
    use regs::iommu::cmd;
    use regs::nic::rx_desc;

    const RAM: u32 = 64 * PAGE_BYTES;
    const TXFIFO: u32 = regs::SocConfig::SIM.nic_fifo_bytes();
    /// The NIC registers the register table marks read-to-clear: `ICR` and the statistics.
    fn clear_on_read() -> impl Iterator<Item = u32> {
        regs::REGISTERS
            .iter()
            .filter(|r| r.block_offset == regs::block::NIC && r.access == regs::Access::Rc)
            .map(|r| r.offset)
    }
    const DD: u32 = rx_desc::STA_DD;
    const EOP: u32 = rx_desc::STA_EOP;
    /// No `max_frame` limit for `forward_once`.
    const MAX: usize = usize::MAX;

    /// The mock with the NIC's reset values, a self-clearing `CTRL.RST`, link up, and
    /// read-to-clear `ICR` and statistics.
    fn hardware() -> MockDevice {
        let mut dev = MockDevice::new(RAM);
        dev.set_reg(reg(nic::CTRL), ctrl::FD);
        dev.set_self_clearing(reg(nic::CTRL), ctrl::RST);
        dev.set_reg(
            reg(nic::STATUS),
            status::FD | status::LU | status::SPEED_1000,
        );
        dev.set_reg(reg(nic::TXFIFO_BYTES), TXFIFO);
        dev.set_reg(reg(nic::RXFIFO_BYTES), TXFIFO);
        for o in clear_on_read() {
            dev.set_read_to_clear(reg(o));
        }
        dev
    }

    fn dma_on(dev: &mut MockDevice, mm: PageAllocator, policy: IommuPolicy) -> Dma {
        let cfg = DmaConfig {
            policy,
            invalidation: Invalidation::Strict,
            command_queue_entries: 8,
            fault_queue_entries: 4,
            fault_irq: false,
            timeout_cycles: 1000,
        };
        Dma::init(dev, mm, cfg).unwrap()
    }

    /// 8-descriptor rings, 256-byte RX buffers.
    fn small() -> NicConfig {
        NicConfig {
            tx_descriptors: 8,
            rx_descriptors: 8,
            rx_buffer_bytes: 256,
            timeout_cycles: 1000,
            ..NicConfig::default()
        }
    }

    struct Sys {
        dev: MockDevice,
        dma: Dma,
        nic: Nic,
    }

    impl Sys {
        fn poll(&mut self, budget: usize) -> PollResult {
            self.nic.poll(&mut self.dev, &mut self.dma, budget)
        }

        fn xmit(&mut self, frame: &[u8]) -> Result<(), NicError> {
            self.nic.xmit(&mut self.dev, &mut self.dma, frame)
        }

        fn xmit_sg(&mut self, segs: &[&[u8]]) -> Result<(), NicError> {
            self.nic.xmit_sg(&mut self.dev, &mut self.dma, segs)
        }

        fn close(&mut self) -> Result<(), NicError> {
            self.nic.close(&mut self.dev, &mut self.dma)
        }

        fn tx(&self) -> &DescRing {
            self.nic.tx_ring().unwrap()
        }

        fn rx(&self) -> &DescRing {
            self.nic.rx_ring().unwrap()
        }

        /// The NIC's view of a DMA address: the physical address it reaches.
        fn pa(&self, addr: u32) -> u32 {
            self.dma.translate(NIC, DmaAddr(addr)).expect("mapped")
        }

        /// What the NIC does with RX descriptor `slot`: `data` into the buffer its word 0
        /// names, then LENGTH (word 2) and STATUS/ERRORS (word 3).
        fn hw_receive(&mut self, slot: usize, data: &[u8], status: u32, errors: u32) {
            let desc = self.rx().desc_pa(slot);
            let addr = self.dev.read32(desc + rx_desc::ADDR_LO);
            let buf = self.pa(addr);
            write_bytes(&mut self.dev, buf, data);
            self.dev
                .write32(desc + rx_desc::LEN_CSUM, data.len() as u32);
            self.dev.write32(
                desc + rx_desc::STATUS_WORD,
                status | errors << rx_desc::ERRORS_SHIFT,
            );
        }

        /// What the NIC writes back into TX descriptor `slot`.
        fn hw_tx_done(&mut self, slot: usize, sta: u32) {
            let desc = self.tx().desc_pa(slot);
            self.dev.write32(desc + tx_desc::STA_WORD, sta);
        }

        fn desc_words(&mut self, pa: u32) -> [u32; 4] {
            let mut w = [0; 4];
            self.dev.read_words(pa, &mut w);
            w
        }

        fn bytes_at(&mut self, pa: u32, len: u32) -> Vec<u8> {
            let mut v = vec![];
            read_bytes(&mut self.dev, pa, len, &mut v);
            v
        }

        /// Values written to NIC register `offset`, in order.
        fn written(&self, offset: u32) -> Vec<u32> {
            self.dev
                .writes()
                .iter()
                .filter(|w| w.0 == reg(offset))
                .map(|w| w.1)
                .collect()
        }

        /// Position of the write of `value` to `offset` among all register writes.
        fn position(&self, offset: u32, value: u32) -> usize {
            self.dev
                .writes()
                .iter()
                .position(|w| *w == (reg(offset), value))
                .unwrap_or_else(|| panic!("no write of {value:#x} to {offset:#x}"))
        }

        fn singles(&self, dir: DmaDirection) -> usize {
            self.dma
                .live_mappings(NIC)
                .iter()
                .filter(|m| m.kind == MappingKind::Single && m.dir == dir)
                .count()
        }
    }

    fn up_with(policy: IommuPolicy, cfg: NicConfig) -> Sys {
        let mut dev = hardware();
        let mm = PageAllocator::new(RAM).unwrap();
        let mut dma = dma_on(&mut dev, mm, policy);
        let nic = Nic::open(&mut dev, &mut dma, cfg).unwrap();
        Sys { dev, dma, nic }
    }

    fn up(cfg: NicConfig) -> Sys {
        up_with(IommuPolicy::On, cfg)
    }

    fn frame(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(7) ^ seed).collect()
    }

    // ---- open ------------------------------------------------------------------------------

    #[test]
    fn open_resets_sets_link_up_and_programs_both_rings() {
        let s = up(small());
        assert_eq!(
            s.written(nic::CTRL),
            vec![ctrl::FD | ctrl::RST, ctrl::FD | ctrl::SLU]
        );
        assert_eq!(s.written(nic::TDBAL), vec![s.tx().dma_addr().addr()]);
        assert_eq!(s.written(nic::RDBAL), vec![s.rx().dma_addr().addr()]);
        assert_eq!(s.pa(s.tx().dma_addr().addr()), s.tx().pa());
        assert_eq!(s.written(nic::TDBAH), vec![0]);
        assert_eq!(s.written(nic::RDBAH), vec![0]);
        assert_eq!(s.written(nic::TDLEN), vec![128]);
        assert_eq!(s.written(nic::RDLEN), vec![128]);
        assert_eq!(s.written(nic::TDH), vec![0]);
        assert_eq!(s.written(nic::RDH), vec![0]);
        assert_eq!(s.written(nic::TDT), vec![0]);
        assert_eq!(s.written(nic::RDT), vec![0, 7], "RDT = count - 1");
        assert_eq!(s.written(nic::TIPG), vec![12]);
        assert_eq!(s.written(nic::TIDV), vec![8]);
        assert_eq!(s.written(nic::TADV), vec![32]);
        assert_eq!(s.written(nic::RDTR), vec![0]);
        assert_eq!(s.written(nic::RADV), vec![8]);
        assert_eq!(s.written(nic::ITR), vec![0]);
        let rctl = rctl::EN | (3 << rctl::BSIZE_SHIFT) | rctl::SECRC;
        assert_eq!(s.written(nic::RCTL), vec![0, rctl & !rctl::EN, rctl]);
        assert_eq!(
            s.written(nic::TCTL),
            vec![0, tctl::PSP, tctl::EN | tctl::PSP]
        );
        assert_eq!(s.written(nic::IMS), vec![IMS_ENABLE_MASK]);
        // Fill, unmask, enable RX, enable TX: in that order.
        let fill = s.position(nic::RDT, 7);
        let ims = s.position(nic::IMS, IMS_ENABLE_MASK);
        let rx_on = s.position(nic::RCTL, rctl);
        let tx_on = s.position(nic::TCTL, tctl::EN | tctl::PSP);
        assert!(fill < ims && ims < rx_on && rx_on < tx_on);
        assert_eq!(s.nic.txfifo_bytes(), TXFIFO);
    }

    #[test]
    fn open_gives_the_nic_one_mapped_buffer_per_rx_descriptor_but_the_last() {
        let mut s = up(small());
        let mut bufs = vec![];
        for i in 0..7 {
            let w = s.desc_words(s.rx().desc_pa(i));
            assert_eq!(w[1..], [0, 0, 0], "slot {i}: no stale DD, high address 0");
            let m = s.rx().buffer(i).mapping.unwrap();
            assert_eq!(
                (w[0], m.len, m.dir),
                (m.addr.addr(), 256, DmaDirection::FromDevice)
            );
            assert_eq!(s.pa(w[0]), m.pa);
            bufs.push(m.pa);
        }
        assert_eq!(s.rx().buffer(7).mapping, None);
        // Seven 256-byte buffers from one page, each its own mapping.
        assert!(bufs.windows(2).all(|b| b[1] == b[0] + 256));
        assert_eq!(s.singles(DmaDirection::FromDevice), 7);
        assert_eq!(s.dma.live_mappings(NIC).len(), 7 + 2);
        assert_eq!(
            (
                s.rx().next_to_use(),
                s.rx().next_to_clean(),
                s.rx().unused()
            ),
            (7, 0, 0)
        );
    }

    #[test]
    fn open_refuses_a_missing_nic_and_takes_nothing() {
        let mut dev = hardware();
        dev.set_reg(reg(nic::STATUS), 0);
        let mm = PageAllocator::new(RAM).unwrap();
        let mut dma = dma_on(&mut dev, mm, IommuPolicy::On);
        let free = dma.mm().free_pages();
        assert_eq!(
            Nic::open(&mut dev, &mut dma, small()).unwrap_err(),
            NicError::NoDevice { status: 0 }
        );
        assert_eq!(dma.mm().free_pages(), free);
        assert_eq!(dma.domain_type(NIC), None);
    }

    #[test]
    fn open_without_link_up_is_no_link() {
        let mut dev = hardware();
        dev.set_reg(reg(nic::STATUS), status::FD | status::SPEED_1000);
        let mm = PageAllocator::new(RAM).unwrap();
        let mut dma = dma_on(&mut dev, mm, IommuPolicy::On);
        let free = dma.mm().free_pages();
        assert_eq!(
            Nic::open(&mut dev, &mut dma, small()).unwrap_err(),
            NicError::NoLink {
                status: status::FD | status::SPEED_1000
            }
        );
        assert_eq!(dma.mm().free_pages(), free);
    }

    #[test]
    fn a_reset_that_never_clears_times_out() {
        let mut dev = MockDevice::new(RAM);
        dev.set_reg(reg(nic::STATUS), status::FD | status::LU);
        let mm = PageAllocator::new(RAM).unwrap();
        let mut dma = dma_on(&mut dev, mm, IommuPolicy::On);
        let err = Nic::open(&mut dev, &mut dma, small()).unwrap_err();
        assert!(
            matches!(
                err,
                NicError::Timeout {
                    what: "CTRL.RST to self-clear",
                    waited: 1000..=1010,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_bad_configuration_is_refused_before_touching_the_nic() {
        let mut dev = hardware();
        let mm = PageAllocator::new(RAM).unwrap();
        let mut dma = dma_on(&mut dev, mm, IommuPolicy::On);
        let n = dev.writes().len();
        for (cfg, what, value) in [
            (
                NicConfig {
                    rx_descriptors: 12,
                    ..small()
                },
                "rx_descriptors",
                12,
            ),
            (
                NicConfig {
                    tx_descriptors: 0,
                    ..small()
                },
                "tx_descriptors",
                0,
            ),
            (
                NicConfig {
                    tx_descriptors: 8192,
                    ..small()
                },
                "tx_descriptors",
                8192,
            ),
            (
                NicConfig {
                    rx_buffer_bytes: 1500,
                    ..small()
                },
                "rx_buffer_bytes",
                1500,
            ),
            (
                NicConfig {
                    itr: 0x1_0000,
                    ..small()
                },
                "itr",
                0x1_0000,
            ),
            (
                NicConfig {
                    ipg: 0x400,
                    ..small()
                },
                "ipg",
                0x400,
            ),
        ] {
            assert_eq!(
                Nic::open(&mut dev, &mut dma, cfg).unwrap_err(),
                NicError::BadConfig { what, value }
            );
        }
        assert_eq!(dev.writes().len(), n);
    }

    #[test]
    fn rctl_and_tctl_carry_every_option() {
        let cfg = NicConfig {
            rx_buffer_bytes: 16384,
            loopback: true,
            store_bad_packets: true,
            long_packets: true,
            strip_crc: false,
            pad_short: false,
            ..NicConfig::default()
        };
        assert_eq!(
            cfg.rctl(),
            rctl::EN | rctl::SBP | rctl::LPE | rctl::LBM_MAC | rctl::BSEX | (1 << 16)
        );
        assert_eq!(rctl::buffer_bytes(cfg.rctl()), 16384);
        assert_eq!(cfg.tctl(), tctl::EN);
        assert_eq!(rctl::buffer_bytes(NicConfig::default().rctl()), 2048);
    }

    // ---- xmit ------------------------------------------------------------------------------

    #[test]
    fn xmit_copies_the_frame_maps_it_and_bumps_tdt_once() {
        let mut s = up(small());
        let f = frame(61, 0x5A);
        s.xmit(&f).unwrap();
        let w = s.desc_words(s.tx().desc_pa(0));
        // LENGTH 61 = 0x3D; CMD = EOP | IFCS | RS | IDE (TIDV is 8) = 0x8B.
        assert_eq!(w[1..], [0, 0x8B00_003D, 0]);
        assert_eq!(w[2], tx_desc::len_cmd(61, s.nic.config().eop_cmd()));
        let pa = s.pa(w[0]);
        assert_eq!(s.bytes_at(pa, 61), f);
        assert_eq!(s.bytes_at(pa, 64)[61..], [0; 3], "tail word zero padded");
        let m = s.tx().buffer(0).mapping.unwrap();
        assert_eq!((m.pa, m.len, m.dir), (pa, 64, DmaDirection::ToDevice));
        assert_eq!(s.written(nic::TDT), vec![0, 1]);
        let b = s.tx().buffer(0);
        assert_eq!(
            (b.eop, b.length, b.frame_len, b.next_to_watch),
            (true, 61, 61, Some(0))
        );
        assert_eq!(b.pages, Some(pa));
    }

    #[test]
    fn xmit_sg_puts_eop_ifcs_and_rs_on_the_last_descriptor_only() {
        let mut s = up(NicConfig { tidv: 0, ..small() });
        s.xmit(&frame(60, 1)).unwrap();
        let segs = [frame(14, 2), frame(20, 3), frame(27, 4)];
        let refs: Vec<&[u8]> = segs.iter().map(|v| v.as_slice()).collect();
        s.xmit_sg(&refs).unwrap();
        let eop = tx_desc::CMD_EOP | tx_desc::CMD_IFCS | tx_desc::CMD_RS;
        for (k, seg) in segs.iter().enumerate() {
            let slot = 1 + k;
            let w = s.desc_words(s.tx().desc_pa(slot));
            let cmd = if k == 2 { eop } else { 0 };
            assert_eq!(w[1..], [0, tx_desc::len_cmd(seg.len() as u32, cmd), 0]);
            let pa = s.pa(w[0]);
            assert_eq!(pa % 4, 0);
            assert_eq!(s.bytes_at(pa, seg.len() as u32), *seg, "segment {k}");
        }
        assert_eq!(
            s.written(nic::TDT),
            vec![0, 1, 4],
            "one TDT write per frame"
        );
        assert_eq!(s.tx().buffer(1).next_to_watch, Some(3));
        assert_eq!(s.tx().buffer(3).frame_len, 61);
        assert_eq!(s.singles(DmaDirection::ToDevice), 4);
    }

    #[test]
    fn xmit_refuses_when_the_ring_is_full_and_touches_nothing() {
        let mut s = up(small());
        for k in 0..7 {
            s.xmit(&frame(64, k)).unwrap();
        }
        let (writes, ram, free) = (
            s.dev.writes().len(),
            s.dev.ram_writes().len(),
            s.dma.mm().free_pages(),
        );
        let live = s.dma.live_mappings(NIC);
        assert_eq!(
            s.xmit(&frame(64, 9)),
            Err(NicError::RingFull {
                needed: 1,
                unused: 0
            })
        );
        assert_eq!(
            (
                s.dev.writes().len(),
                s.dev.ram_writes().len(),
                s.dma.mm().free_pages()
            ),
            (writes, ram, free)
        );
        assert_eq!(s.dma.live_mappings(NIC), live);
        // One frame sent: one slot free, not enough for two segments.
        s.hw_tx_done(0, tx_desc::STA_DD);
        s.poll(0);
        assert_eq!(
            s.xmit_sg(&[&[1; 8], &[2; 8]]),
            Err(NicError::RingFull {
                needed: 2,
                unused: 1
            })
        );
        assert_eq!(s.nic.stats(&mut s.dev).tx_busy, 2);
    }

    #[test]
    fn xmit_rejects_empty_and_too_long_frames() {
        let mut s = up(small());
        assert_eq!(s.xmit(&[]), Err(NicError::Empty));
        assert_eq!(s.xmit_sg(&[]), Err(NicError::Empty));
        assert_eq!(s.xmit_sg(&[&[1, 2], &[]]), Err(NicError::Empty));
        let long = vec![0; TXFIFO as usize + 1];
        assert_eq!(
            s.xmit(&long),
            Err(NicError::FrameTooLong {
                len: TXFIFO as usize + 1,
                max: TXFIFO
            })
        );
        assert_eq!(s.xmit(&long[..TXFIFO as usize]), Ok(()));
        assert_eq!(s.written(nic::TDT), vec![0, 1]);
    }

    // ---- poll: TX --------------------------------------------------------------------------

    #[test]
    fn poll_cleans_a_frame_once_its_eop_descriptor_shows_dd() {
        let mut s = up(small());
        let free = s.dma.mm().free_pages();
        s.xmit_sg(&[&frame(30, 1), &frame(34, 2)]).unwrap();
        s.xmit(&frame(100, 3)).unwrap();
        // DD on the first descriptor only says nothing: the EOP one is watched.
        s.hw_tx_done(0, tx_desc::STA_DD);
        let r = s.poll(16);
        assert_eq!(r.tx_completed, 0);
        s.hw_tx_done(1, tx_desc::STA_DD);
        let r = s.poll(16);
        assert_eq!((r.tx_completed, r.tx_dropped), (1, 0));
        assert_eq!(s.tx().next_to_clean(), 2);
        assert_eq!(s.tx().buffer(0), &BufferInfo::default());
        assert_eq!(s.singles(DmaDirection::ToDevice), 1);
        // The NIC dropped the second frame.
        s.hw_tx_done(2, tx_desc::STA_DD | tx_desc::STA_ERR);
        let r = s.poll(16);
        assert_eq!((r.tx_completed, r.tx_dropped), (1, 1));
        assert_eq!(s.singles(DmaDirection::ToDevice), 0);
        assert_eq!(s.dma.mm().free_pages(), free, "frame pages freed");
        let st = s.nic.stats(&mut s.dev);
        assert_eq!((st.tx_packets, st.tx_bytes, st.tx_dropped), (1, 64, 1));
        assert_eq!(s.tx().unused(), 7);
    }

    // ---- poll: RX --------------------------------------------------------------------------

    #[test]
    fn poll_reassembles_a_frame_spread_over_three_descriptors() {
        let mut s = up(NicConfig {
            strip_crc: false,
            ..small()
        });
        // 600 bytes and a 4-byte FCS in 256-byte buffers: 256 + 256 + 92.
        let f = frame(604, 0x33);
        s.hw_receive(0, &f[..256], DD, 0);
        s.hw_receive(1, &f[256..512], DD, 0);
        s.hw_receive(2, &f[512..], DD | EOP, 0);
        s.dev.clear_commands();
        let r = s.poll(8);
        // Each buffer was unmapped (strict: its page invalidated and fenced) before the read.
        let fences = s.dev.commands().iter();
        let fences = fences.filter(|c| c[0] & cmd::OPCODE_MASK == cmd::OP_IOFENCE);
        assert_eq!(fences.count(), 3);
        assert_eq!(
            r.frames,
            vec![RxFrame {
                data: f.clone(),
                errors: 0,
                status: (DD | EOP) as u8,
                descriptors: 3,
            }]
        );
        assert_eq!(s.nic.payload(&r.frames[0]), &f[..600]);
        assert_eq!((r.rx_descriptors, r.rx_refilled, r.more), (3, 3, false));
        // Refilled: slots 7, 0, 1 given back with fresh mappings and status 0.
        assert_eq!(s.written(nic::RDT), vec![0, 7, 2]);
        assert_eq!(
            (
                s.rx().next_to_clean(),
                s.rx().next_to_use(),
                s.rx().unused()
            ),
            (3, 2, 0)
        );
        for slot in [7, 0, 1] {
            let w = s.desc_words(s.rx().desc_pa(slot));
            assert_eq!(w[1..], [0, 0, 0], "slot {slot}");
            assert_eq!(s.rx().buffer(slot).mapping.unwrap().addr.addr(), w[0]);
        }
        assert_eq!(s.singles(DmaDirection::FromDevice), 7);
        let st = s.nic.stats(&mut s.dev);
        assert_eq!((st.rx_packets, st.rx_bytes, st.rx_errors), (1, 600, 0));
    }

    #[test]
    fn a_frame_whose_eop_has_not_arrived_waits_for_the_next_poll() {
        let mut s = up(small());
        let f = frame(300, 9);
        s.hw_receive(0, &f[..256], DD, 0);
        let r = s.poll(8);
        assert_eq!((r.frames.len(), r.rx_descriptors, r.rx_refilled), (0, 1, 1));
        s.hw_receive(1, &f[256..], DD | EOP, 0);
        let r = s.poll(8);
        assert_eq!(r.frames.len(), 1);
        assert_eq!(r.frames[0].data, f);
        assert_eq!(r.frames[0].descriptors, 2);
    }

    #[test]
    fn bad_frames_are_delivered_flagged_and_counted_as_errors_not_packets() {
        let mut s = up(NicConfig {
            store_bad_packets: true,
            ..small()
        });
        s.hw_receive(0, &frame(64, 1), DD | EOP, rx_desc::ERR_CE);
        s.hw_receive(
            1,
            &frame(40, 2),
            DD | EOP,
            rx_desc::ERR_LEN | rx_desc::ERR_RXE,
        );
        s.hw_receive(2, &frame(64, 3), DD | EOP, 0);
        let r = s.poll(8);
        let errors: Vec<u8> = r.frames.iter().map(|f| f.errors).collect();
        assert_eq!(
            errors,
            vec![
                rx_desc::ERR_CE as u8,
                (rx_desc::ERR_LEN | rx_desc::ERR_RXE) as u8,
                0
            ]
        );
        let st = s.nic.stats(&mut s.dev);
        assert_eq!((st.rx_packets, st.rx_bytes), (1, 64));
        assert_eq!(
            (
                st.rx_errors,
                st.rx_crc_errors,
                st.rx_length_errors,
                st.rx_data_errors,
                st.rx_dma_errors
            ),
            (2, 1, 1, 1, 0)
        );
    }

    #[test]
    fn poll_stops_at_the_budget_and_says_more() {
        let mut s = up(small());
        for slot in 0..3 {
            s.hw_receive(slot, &frame(64, slot as u8), DD | EOP, 0);
        }
        let r = s.poll(2);
        assert_eq!((r.frames.len(), r.more), (2, true));
        let r = s.poll(2);
        assert_eq!((r.frames.len(), r.more), (1, false));
        assert_eq!(r.frames[0].data, frame(64, 2));
    }

    #[test]
    fn rx_wraps_around_the_ring() {
        let mut s = up(small());
        for k in 0..20u8 {
            let slot = s.rx().next_to_clean();
            s.hw_receive(slot, &frame(60 + k as usize, k), DD | EOP, 0);
            let r = s.poll(4);
            assert_eq!(r.frames.len(), 1, "frame {k}");
            assert_eq!(r.frames[0].data, frame(60 + k as usize, k));
        }
        assert_eq!(s.rx().next_to_clean(), 20 % 8);
        assert_eq!(s.singles(DmaDirection::FromDevice), 7);
    }

    // ---- poll: interrupts ------------------------------------------------------------------

    #[test]
    fn poll_masks_reads_icr_and_unmasks_at_the_end() {
        let mut s = up(small());
        s.dev.set_reg(reg(nic::ICR), icr::TXDW | icr::RXT0);
        let before = s.dev.writes().len();
        let r = s.poll(8);
        let nic_writes: Vec<(u32, u32)> = s.dev.writes()[before..].to_vec();
        assert_eq!(nic_writes.first(), Some(&(reg(nic::IMC), IMS_ENABLE_MASK)));
        assert_eq!(nic_writes.last(), Some(&(reg(nic::IMS), IMS_ENABLE_MASK)));
        assert_eq!(r.icr, icr::TXDW | icr::RXT0);
        assert_eq!(r.errors, vec![]);
        let r = s.poll(8);
        assert_eq!(r.icr, 0, "read to clear");
        let st = s.nic.stats(&mut s.dev);
        assert_eq!(
            (
                st.cause_count(icr::TXDW),
                st.cause_count(icr::RXT0),
                st.cause_count(icr::RXO)
            ),
            (1, 1, 0)
        );
        assert_eq!(st.polls, 2);
    }

    #[test]
    fn a_halted_ring_is_reported_and_can_be_restarted() {
        let mut s = up(small());
        s.dev.set_reg(reg(nic::ICR), icr::NIC_DMA);
        s.dev.set_reg(reg(nic::DMAERR), DMAERR_RX);
        s.dev.set_reg(reg(nic::DMAERR_ADDR), 0xFFFF_E000);
        let r = s.poll(8);
        assert_eq!(
            r.errors,
            vec![NicError::DmaHalted {
                tx: false,
                rx: true,
                addr: 0xFFFF_E000
            }]
        );
        assert_eq!(s.nic.restart_halted_rings(&mut s.dev), DMAERR_RX);
        assert_eq!(s.written(nic::DMAERR), vec![DMAERR_RX]);
    }

    #[test]
    fn a_ring_register_error_is_reported_and_cleared() {
        let mut s = up(small());
        s.dev.set_reg(reg(nic::ICR), icr::RING);
        s.dev.set_reg(reg(nic::RINGERR), nic::ringerr::TDT);
        let r = s.poll(8);
        assert_eq!(
            r.errors,
            vec![NicError::RingRegister {
                bits: nic::ringerr::TDT
            }]
        );
        assert_eq!(s.written(nic::RINGERR), vec![nic::ringerr::TDT]);
    }

    #[test]
    fn irq_pending_reads_the_nic_bit_of_sys_irq_status() {
        let mut s = up(small());
        assert!(!s.nic.irq_pending(&mut s.dev));
        s.dev
            .set_reg(csr(block::SYS, sys::IRQ_STATUS), sys::irq::NIC);
        assert!(s.nic.irq_pending(&mut s.dev));
    }

    // ---- stats -----------------------------------------------------------------------------

    #[test]
    fn statistics_accumulate_over_clear_on_read_registers() {
        let mut s = up(small());
        let stats: Vec<u32> = clear_on_read().filter(|&o| o != nic::ICR).collect();
        for (k, o) in stats.iter().enumerate() {
            s.dev.set_reg(reg(*o), k as u32 + 1);
        }
        // The high halves read 0 on this NIC; the driver still adds them in (as on the 8254x,
        // where reading the high half clears the pair).
        s.dev.set_reg(reg(nic::GOTCH), 40);
        s.dev.set_read_to_clear(reg(nic::GOTCH));
        let a = s.nic.stats(&mut s.dev).hw;
        for o in &stats {
            assert_eq!(s.dev.reg(reg(*o)), 0, "stats() read {:#x}", o);
        }
        s.dev.set_reg(reg(nic::CRCERRS), 10);
        s.dev.set_reg(reg(nic::GORCL), u32::MAX);
        let b = s.nic.stats(&mut s.dev).hw;
        let c = s.nic.stats(&mut s.dev).hw;
        assert_eq!(
            a,
            HwStats {
                crc_errors: 1,
                rx_errors: 2,
                missed: 3,
                good_rx_packets: 4,
                good_tx_packets: 5,
                good_rx_octets: 6,
                good_tx_octets: 7 | 40 << 32,
                rx_no_buffer: 8,
                runts: 9,
                oversize: 10,
                total_rx_octets: 11,
                total_tx_octets: 12,
                total_rx_packets: 13,
                total_tx_packets: 14,
                tx_desc_errors: 15,
                rx_dma_drops: 16,
                irqs: 17,
                ring_errors: 18,
            }
        );
        assert_eq!(
            (b.crc_errors, b.good_rx_octets),
            (11, 6 + u64::from(u32::MAX))
        );
        assert_eq!(c, b, "registers read zero once read");
    }

    // ---- close -----------------------------------------------------------------------------

    #[test]
    fn close_unmaps_everything_and_gives_every_page_back() {
        let mut dev = hardware();
        let mm = PageAllocator::new(RAM).unwrap();
        let mut dma = dma_on(&mut dev, mm, IommuPolicy::On);
        let free = dma.mm().free_pages();
        let nic = Nic::open(&mut dev, &mut dma, small()).unwrap();
        let mut s = Sys { dev, dma, nic };
        s.xmit(&frame(64, 1)).unwrap();
        s.xmit_sg(&[&frame(64, 2), &frame(8, 3)]).unwrap();
        s.hw_tx_done(0, tx_desc::STA_DD);
        s.hw_receive(0, &frame(256, 4), DD, 0);
        s.poll(8);
        s.close().unwrap();
        assert_eq!(s.dma.live_mappings(NIC), vec![]);
        assert_eq!(
            s.dma.domain_type(NIC),
            None,
            "open attached, close detached"
        );
        assert_eq!(s.dma.mm().free_pages(), free);
        let rctl = small().rctl();
        assert_eq!(s.written(nic::RCTL).last(), Some(&(rctl & !rctl::EN)));
        assert_eq!(s.written(nic::TCTL).last(), Some(&tctl::PSP));
        let st = s.nic.stats(&mut s.dev);
        assert_eq!((st.tx_packets, st.tx_aborted), (1, 1));
        assert!(!s.nic.is_open());
        assert_eq!(s.xmit(&[1]), Err(NicError::Closed));
        assert_eq!(s.poll(1).errors, vec![NicError::Closed]);
        assert_eq!(s.close(), Ok(()), "closing twice does nothing");
    }

    #[test]
    fn close_keeps_a_device_it_did_not_attach() {
        let mut dev = hardware();
        let mm = PageAllocator::new(RAM).unwrap();
        let mut dma = dma_on(&mut dev, mm, IommuPolicy::On);
        dma.attach(&mut dev, NIC).unwrap();
        let nic = Nic::open(&mut dev, &mut dma, small()).unwrap();
        let mut s = Sys { dev, dma, nic };
        s.close().unwrap();
        assert_eq!(s.dma.live_mappings(NIC), vec![]);
        assert!(s.dma.domain_type(NIC).is_some());
    }

    #[test]
    fn close_waits_for_the_engines_and_frees_nothing_while_they_run() {
        let mut s = up(small());
        s.xmit(&frame(64, 1)).unwrap();
        // TX ReadData (4), RX WriteData (4).
        s.dev.set_reg(reg(nic::ENGINE_STATE), 0x404);
        let live = s.dma.live_mappings(NIC);
        let err = s.close().unwrap_err();
        let NicError::Timeout { what, state, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(*what, "NIC engines to go idle");
        assert!(state.contains("TX ReadData, RX WriteData"), "{state}");
        assert_eq!(s.dma.live_mappings(NIC), live);
        assert!(s.nic.is_open());
        s.dev.set_reg(reg(nic::ENGINE_STATE), 0);
        s.close().unwrap();
        assert_eq!(s.dma.live_mappings(NIC), vec![]);
    }

    #[test]
    fn close_resets_engines_that_would_wait_forever_and_frees_everything() {
        // RX WaitDesc (ring exhausted), TX WaitSpace / Commit (FIFO or frame queue full, the
        // MAC stopped), both Halted: a disabled engine never leaves these by itself.
        for es in [0x100, 0x003, 0x006, 0x807, 0x103] {
            let mut s = up(small());
            s.xmit(&frame(64, 1)).unwrap();
            s.dev.set_reg(reg(nic::ENGINE_STATE), es);
            s.close()
                .unwrap_or_else(|e| panic!("ENGINE_STATE {es:#x}: {e}"));
            assert_eq!(s.dma.live_mappings(NIC), vec![], "ENGINE_STATE {es:#x}");
            let writes = s.dev.writes();
            let last_rst = writes
                .iter()
                .rposition(|w| *w == (reg(nic::CTRL), ctrl::FD | ctrl::RST))
                .unwrap();
            let last_tctl = writes.iter().rposition(|w| w.0 == reg(nic::TCTL)).unwrap();
            assert!(
                last_rst > last_tctl,
                "close resets the NIC after disabling it"
            );
            assert_eq!(s.written(nic::CTRL).len(), 3, "open: RST, SLU; close: RST");
        }
    }

    #[test]
    fn with_iommu_off_the_nic_gets_physical_addresses() {
        let mut s = up_with(IommuPolicy::Off, small());
        assert_eq!(s.written(nic::RDBAL), vec![s.rx().pa()]);
        s.xmit(&frame(60, 0)).unwrap();
        let w = s.desc_words(s.tx().desc_pa(0));
        assert_eq!(w[0], s.tx().buffer(0).mapping.unwrap().pa);
        s.close().unwrap();
        assert_eq!(s.dma.live_mappings(NIC), vec![]);
    }

    // ---- forwarding ------------------------------------------------------------------------

    #[test]
    fn forward_once_sends_good_frames_back_without_their_fcs() {
        let mut s = up(NicConfig {
            strip_crc: false,
            store_bad_packets: true,
            tidv: 0,
            ..small()
        });
        let good = frame(68, 1);
        s.hw_receive(0, &good, DD | EOP, 0);
        s.hw_receive(1, &frame(68, 2), DD | EOP, rx_desc::ERR_CE);
        let fs = forward_once(&mut s.nic, &mut s.dev, &mut s.dma, 8, MAX);
        assert_eq!(
            (
                fs.received,
                fs.forwarded,
                fs.dropped_bad,
                fs.dropped_ring_full
            ),
            (2, 1, 1, 0)
        );
        let w = s.desc_words(s.tx().desc_pa(0));
        let eop = tx_desc::CMD_EOP | tx_desc::CMD_IFCS | tx_desc::CMD_RS;
        assert_eq!(w[2], tx_desc::len_cmd(64, eop));
        let pa = s.pa(w[0]);
        assert_eq!(s.bytes_at(pa, 64), good[..64].to_vec());
    }

    #[test]
    fn forward_once_drops_good_frames_longer_than_max_frame() {
        let mut s = up(NicConfig { tidv: 0, ..small() });
        // 68 and 69 bytes with FCS (the NIC strips it: SECRC).
        s.hw_receive(0, &frame(64, 1), DD | EOP, 0);
        s.hw_receive(1, &frame(65, 2), DD | EOP, 0);
        let fs = forward_once(&mut s.nic, &mut s.dev, &mut s.dma, 8, 68);
        assert_eq!((fs.received, fs.forwarded, fs.dropped_too_long), (2, 1, 1));
        let w = s.desc_words(s.tx().desc_pa(0));
        assert_eq!(w[2] & tx_desc::LEN_MASK, 64);
    }

    #[test]
    fn forward_once_counts_frames_that_find_the_tx_ring_full() {
        let mut s = up(small());
        for k in 0..7 {
            s.xmit(&frame(60, k)).unwrap();
        }
        s.hw_receive(0, &frame(60, 9), DD | EOP, 0);
        let fs = forward_once(&mut s.nic, &mut s.dev, &mut s.dma, 8, MAX);
        assert_eq!((fs.received, fs.forwarded, fs.dropped_ring_full), (1, 0, 1));
        assert_eq!(fs.errors, vec![]);
    }
}
