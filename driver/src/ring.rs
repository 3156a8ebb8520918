//! Descriptor rings, as Linux's e1000 keeps them (`struct e1000_tx_ring` / `e1000_rx_ring`):
//! coherent memory for `count` 16-byte descriptors that the NIC walks, the two software
//! indices, and one [`BufferInfo`] per slot saying what the driver put there.
//!
//! ```text
//!            next_to_clean          next_to_use
//!                 v                      v
//!   slot:  0   1  [2   3   4   5   6]  7   8 ... count-1
//!                  └── owned by the NIC ┘
//! ```
//!
//! The hardware owns the head (`RDH`/`TDH`), software the tail (`RDT`/`TDT`, written as
//! `next_to_use`). `head == tail` means empty, so one slot always stays unused and a full
//! ring has `count - 1` descriptors in flight: [`RingIndices::unused`] is Linux's
//! `E1000_DESC_UNUSED`.
//!
//! Descriptors are encoded and decoded from the `regs::nic::{tx_desc, rx_desc}` layouts
//! only ([`TxDesc`], [`RxDesc`]); the ring reads and writes them through the [`Device`]
//! like any host RAM.

use regs::nic::{self, rx_desc, tx_desc};
use thiserror::Error;

use crate::dma::{Dma, DmaAddr, DmaDirection, DmaError};
use crate::iommu::DeviceId;
use crate::Device;

/// Words per descriptor.
pub const DESC_WORDS: usize = (nic::DESC_BYTES / 4) as usize;
/// Fewest descriptors a ring can have: `RDLEN`/`TDLEN` are multiples of 128 bytes.
pub const MIN_DESCRIPTORS: usize = (nic::RING_LEN_ALIGN / nic::DESC_BYTES) as usize;
/// Most descriptors this driver puts in a ring (the 8254x's limit, 64 KiB of descriptors).
pub const MAX_DESCRIPTORS: usize = 4096;

/// Whether a ring may have `count` descriptors: a non-zero multiple of [`MIN_DESCRIPTORS`],
/// at most [`MAX_DESCRIPTORS`].
pub const fn valid_count(count: usize) -> bool {
    count != 0 && count.is_multiple_of(MIN_DESCRIPTORS) && count <= MAX_DESCRIPTORS
}

/// Word index of a descriptor field given as a byte offset in `regs`.
const fn word(offset: u32) -> usize {
    (offset / 4) as usize
}

/// Why a ring could not be set up.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum RingError {
    #[error(
        "{count} descriptors: a ring needs a multiple of {MIN_DESCRIPTORS}, at most {MAX_DESCRIPTORS}"
    )]
    BadCount { count: usize },
    #[error(transparent)]
    Dma(#[from] DmaError),
}

// ---- descriptors -----------------------------------------------------------------------------

/// A legacy transmit descriptor, as in [`tx_desc`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxDesc {
    /// Buffer DMA address (the high half is always 0: 32-bit DMA).
    pub addr: u32,
    /// Bytes to send from this buffer.
    pub length: u16,
    /// `tx_desc::CMD_*` bits.
    pub cmd: u8,
    /// `tx_desc::STA_*` bits (written back by the NIC).
    pub status: u8,
}

impl TxDesc {
    /// The four words in memory order (CSO, CSS and SPECIAL 0).
    pub fn to_words(&self) -> [u32; DESC_WORDS] {
        let mut w = [0; DESC_WORDS];
        w[word(tx_desc::ADDR_LO)] = self.addr;
        w[word(tx_desc::ADDR_HI)] = 0;
        w[word(tx_desc::LEN_CMD)] = tx_desc::len_cmd(u32::from(self.length), u32::from(self.cmd));
        // STA is bits 3:0 of word 3.
        w[word(tx_desc::STA_WORD)] = u32::from(self.status) & 0xF;
        w
    }

    pub fn from_words(w: &[u32; DESC_WORDS]) -> Self {
        let len_cmd = w[word(tx_desc::LEN_CMD)];
        TxDesc {
            addr: w[word(tx_desc::ADDR_LO)],
            length: (len_cmd & tx_desc::LEN_MASK) as u16,
            cmd: (len_cmd >> tx_desc::CMD_SHIFT) as u8,
            status: (w[word(tx_desc::STA_WORD)] & 0xF) as u8,
        }
    }
}

/// A legacy receive descriptor, as in [`rx_desc`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RxDesc {
    /// Buffer DMA address (high half 0).
    pub addr: u32,
    /// Bytes the NIC wrote into this buffer (written back).
    pub length: u16,
    /// `rx_desc::STA_*` bits (written back).
    pub status: u8,
    /// `rx_desc::ERR_*` bits (written back, valid on the EOP descriptor).
    pub errors: u8,
}

impl RxDesc {
    /// The descriptor software gives the NIC: the buffer address, everything else 0 (a stale
    /// DD must never survive a refill).
    pub fn for_buffer(addr: DmaAddr) -> Self {
        RxDesc {
            addr: addr.addr(),
            ..RxDesc::default()
        }
    }

    pub fn to_words(&self) -> [u32; DESC_WORDS] {
        let mut w = [0; DESC_WORDS];
        w[word(rx_desc::ADDR_LO)] = self.addr;
        w[word(rx_desc::ADDR_HI)] = 0;
        w[word(rx_desc::LEN_CSUM)] = u32::from(self.length) & rx_desc::LEN_MASK;
        w[word(rx_desc::STATUS_WORD)] =
            u32::from(self.status) | (u32::from(self.errors) << rx_desc::ERRORS_SHIFT);
        w
    }

    pub fn from_words(w: &[u32; DESC_WORDS]) -> Self {
        let mut d = RxDesc {
            addr: w[word(rx_desc::ADDR_LO)],
            ..RxDesc::default()
        };
        d.set_writeback(w[word(rx_desc::LEN_CSUM)], w[word(rx_desc::STATUS_WORD)]);
        d
    }

    /// Decodes the two words the NIC writes back (word 2: LENGTH, word 3: STATUS, ERRORS).
    fn set_writeback(&mut self, len_csum: u32, status_word: u32) {
        self.length = (len_csum & rx_desc::LEN_MASK) as u16;
        self.status = status_word as u8;
        self.errors = (status_word >> rx_desc::ERRORS_SHIFT) as u8;
    }

    pub fn done(&self) -> bool {
        u32::from(self.status) & rx_desc::STA_DD != 0
    }

    pub fn eop(&self) -> bool {
        u32::from(self.status) & rx_desc::STA_EOP != 0
    }
}

// ---- index arithmetic ------------------------------------------------------------------------

/// `next_to_use` and `next_to_clean` of a ring of `count` slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingIndices {
    count: usize,
    next_to_use: usize,
    next_to_clean: usize,
}

impl RingIndices {
    /// An empty ring: both indices at 0. `count` must not be 0.
    pub fn new(count: usize) -> Self {
        assert!(count > 0, "a ring has at least one slot");
        RingIndices {
            count,
            next_to_use: 0,
            next_to_clean: 0,
        }
    }

    pub fn count(&self) -> usize {
        self.count
    }

    /// The slot software fills next (what it writes to the tail register).
    pub fn next_to_use(&self) -> usize {
        self.next_to_use
    }

    /// The oldest slot software has given the NIC and not cleaned yet.
    pub fn next_to_clean(&self) -> usize {
        self.next_to_clean
    }

    /// The slot after `i`, wrapping.
    pub fn next(&self, i: usize) -> usize {
        self.advance(i, 1)
    }

    /// `n` slots after `i`, wrapping.
    pub fn advance(&self, i: usize, n: usize) -> usize {
        (i + n % self.count) % self.count
    }

    /// Slots from `from` forward to `to` (0 if equal).
    pub fn distance(&self, from: usize, to: usize) -> usize {
        (to + self.count - from) % self.count
    }

    /// Slots given to the NIC and not yet cleaned.
    pub fn in_use(&self) -> usize {
        self.distance(self.next_to_clean, self.next_to_use)
    }

    /// Slots software may still fill: `count - 1 - in_use` (one stays empty so that a full
    /// ring is not mistaken for an empty one). Linux's `E1000_DESC_UNUSED`.
    pub fn unused(&self) -> usize {
        self.count - 1 - self.in_use()
    }

    pub fn is_empty(&self) -> bool {
        self.next_to_use == self.next_to_clean
    }

    pub fn is_full(&self) -> bool {
        self.unused() == 0
    }

    /// Whether slot `i` lies between `next_to_clean` (inclusive) and `next_to_use`.
    pub fn is_in_use(&self, i: usize) -> bool {
        i < self.count && self.distance(self.next_to_clean, i) < self.in_use()
    }

    /// Marks `n` more slots filled. Panics if that would overrun the empty slot: callers
    /// check [`unused`](Self::unused) first.
    pub fn produce(&mut self, n: usize) {
        assert!(
            n <= self.unused(),
            "ring overrun: {n} > {} unused",
            self.unused()
        );
        self.next_to_use = self.advance(self.next_to_use, n);
    }

    /// Marks `n` more slots cleaned. Panics beyond `next_to_use`.
    pub fn consume(&mut self, n: usize) {
        assert!(
            n <= self.in_use(),
            "ring underrun: {n} > {} in use",
            self.in_use()
        );
        self.next_to_clean = self.advance(self.next_to_clean, n);
    }
}

// ---- per-slot bookkeeping --------------------------------------------------------------------

/// A buffer mapped for the NIC: where the CPU sees it, where the NIC sees it, and what to
/// give [`Dma::unmap_single`] back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapped {
    /// CPU physical address.
    pub pa: u32,
    /// DMA address the descriptor carries.
    pub addr: DmaAddr,
    /// Mapped length in bytes.
    pub len: u32,
    pub dir: DmaDirection,
}

impl Mapped {
    /// `map_single` of `len` bytes at `pa` for `id`.
    pub fn map(
        dev: &mut dyn Device,
        dma: &mut Dma,
        id: DeviceId,
        pa: u32,
        len: u32,
        dir: DmaDirection,
    ) -> Result<Self, DmaError> {
        let addr = dma.try_map_single(dev, id, pa, len, dir)?;
        Ok(Mapped { pa, addr, len, dir })
    }

    /// `unmap_single` with the length and direction it was mapped with.
    pub fn unmap(self, dev: &mut dyn Device, dma: &mut Dma, id: DeviceId) -> Result<(), DmaError> {
        dma.unmap_single(dev, id, self.addr, self.len, self.dir)
    }
}

/// What the driver put in one slot (Linux's `e1000_tx_buffer` / `e1000_rx_buffer`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BufferInfo {
    /// The buffer's mapping while the NIC may use it.
    pub mapping: Option<Mapped>,
    /// Bytes the descriptor covers (TX: its LENGTH).
    pub length: u32,
    /// TX: the slot holds a frame's last descriptor.
    pub eop: bool,
    /// TX, on the EOP slot: bytes of the whole frame.
    pub frame_len: u32,
    /// TX, on a frame's first slot: the slot of its EOP descriptor, whose DD says the frame
    /// is done (Linux's `next_to_watch`).
    pub next_to_watch: Option<usize>,
    /// TX, on the EOP slot: the page allocation holding the frame's data, freed when the
    /// frame is cleaned.
    pub pages: Option<u32>,
}

// ---- the ring --------------------------------------------------------------------------------

/// A descriptor ring in coherent memory, with its indices and per-slot bookkeeping.
#[derive(Debug)]
pub struct DescRing {
    id: DeviceId,
    /// CPU physical address of descriptor 0.
    pa: u32,
    /// What the NIC is given in `RDBAL`/`TDBAL`.
    dma: DmaAddr,
    idx: RingIndices,
    buffers: Vec<BufferInfo>,
}

impl DescRing {
    /// Allocates zeroed coherent memory for `count` descriptors for device `id`.
    pub fn new(
        dev: &mut dyn Device,
        dma: &mut Dma,
        id: DeviceId,
        count: usize,
    ) -> Result<Self, RingError> {
        if !valid_count(count) {
            return Err(RingError::BadCount { count });
        }
        let (pa, addr) = dma.alloc_coherent(dev, id, Self::bytes_for(count))?;
        Ok(DescRing {
            id,
            pa,
            dma: addr,
            idx: RingIndices::new(count),
            buffers: vec![BufferInfo::default(); count],
        })
    }

    /// Gives the descriptor memory back. Buffers still recorded in the slots are the
    /// caller's to release first; this only frees the ring itself.
    pub fn free(self, dev: &mut dyn Device, dma: &mut Dma) -> Result<(), DmaError> {
        dma.free_coherent(dev, self.id, self.bytes(), self.pa, self.dma)
    }

    const fn bytes_for(count: usize) -> u32 {
        count as u32 * nic::DESC_BYTES
    }

    /// Ring length in bytes (`RDLEN`/`TDLEN`).
    pub fn bytes(&self) -> u32 {
        Self::bytes_for(self.idx.count)
    }

    /// The ring base as the NIC sees it (`RDBAL`/`TDBAL`).
    pub fn dma_addr(&self) -> DmaAddr {
        self.dma
    }

    /// CPU physical address of descriptor 0.
    pub fn pa(&self) -> u32 {
        self.pa
    }

    /// CPU physical address of descriptor `i`.
    pub fn desc_pa(&self, i: usize) -> u32 {
        debug_assert!(i < self.idx.count);
        self.pa + i as u32 * nic::DESC_BYTES
    }

    pub fn indices(&self) -> &RingIndices {
        &self.idx
    }

    pub fn count(&self) -> usize {
        self.idx.count()
    }

    pub fn next_to_use(&self) -> usize {
        self.idx.next_to_use()
    }

    pub fn next_to_clean(&self) -> usize {
        self.idx.next_to_clean()
    }

    pub fn next(&self, i: usize) -> usize {
        self.idx.next(i)
    }

    pub fn unused(&self) -> usize {
        self.idx.unused()
    }

    pub fn in_use(&self) -> usize {
        self.idx.in_use()
    }

    /// See [`RingIndices::produce`].
    pub fn produce(&mut self, n: usize) {
        self.idx.produce(n);
    }

    /// See [`RingIndices::consume`].
    pub fn consume(&mut self, n: usize) {
        self.idx.consume(n);
    }

    pub fn buffer(&self, i: usize) -> &BufferInfo {
        &self.buffers[i]
    }

    pub fn buffer_mut(&mut self, i: usize) -> &mut BufferInfo {
        &mut self.buffers[i]
    }

    /// Every slot's bookkeeping, slot 0 first.
    pub fn buffers(&self) -> &[BufferInfo] {
        &self.buffers
    }

    /// Writes descriptor `i` (all four words).
    pub fn write_desc(&self, dev: &mut dyn Device, i: usize, words: &[u32; DESC_WORDS]) {
        dev.write_words(self.desc_pa(i), words);
    }

    /// Reads descriptor `i` (all four words).
    pub fn read_desc(&self, dev: &mut dyn Device, i: usize) -> [u32; DESC_WORDS] {
        let mut w = [0; DESC_WORDS];
        dev.read_words(self.desc_pa(i), &mut w);
        w
    }

    pub fn write_tx(&self, dev: &mut dyn Device, i: usize, d: &TxDesc) {
        self.write_desc(dev, i, &d.to_words());
    }

    pub fn read_tx(&self, dev: &mut dyn Device, i: usize) -> TxDesc {
        TxDesc::from_words(&self.read_desc(dev, i))
    }

    /// The STA bits of TX descriptor `i` (one read of word 3: what the NIC writes back).
    pub fn tx_status(&self, dev: &mut dyn Device, i: usize) -> u8 {
        (dev.read32(self.desc_pa(i) + tx_desc::STA_WORD) & 0xF) as u8
    }

    pub fn write_rx(&self, dev: &mut dyn Device, i: usize, d: &RxDesc) {
        self.write_desc(dev, i, &d.to_words());
    }

    pub fn read_rx(&self, dev: &mut dyn Device, i: usize) -> RxDesc {
        RxDesc::from_words(&self.read_desc(dev, i))
    }

    /// What the NIC wrote back into RX descriptor `i`, or `None` while DD is clear. The
    /// status word is read first and the length only after it showed DD, so a length read
    /// before the write-back can never be paired with a DD read after it.
    pub fn rx_writeback(&self, dev: &mut dyn Device, i: usize) -> Option<RxDesc> {
        let status_word = dev.read32(self.desc_pa(i) + rx_desc::STATUS_WORD);
        if status_word & rx_desc::STA_DD == 0 {
            return None;
        }
        let len_csum = dev.read32(self.desc_pa(i) + rx_desc::LEN_CSUM);
        let mut d = RxDesc {
            addr: self.buffers[i].mapping.map_or(0, |m| m.addr.addr()),
            ..RxDesc::default()
        };
        d.set_writeback(len_csum, status_word);
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dma::{DmaConfig, IommuPolicy};
    use crate::mm::PageAllocator;
    use crate::mock::MockDevice;
    use pretty_assertions::assert_eq;
    use regs::PAGE_BYTES;

    fn at(count: usize, next_to_clean: usize, next_to_use: usize) -> RingIndices {
        let mut r = RingIndices::new(count);
        r.next_to_use = next_to_use;
        r.next_to_clean = next_to_clean;
        r
    }

    #[test]
    fn an_empty_ring_has_all_but_one_slot_unused() {
        let r = RingIndices::new(8);
        assert!(r.is_empty());
        assert!(!r.is_full());
        assert_eq!((r.in_use(), r.unused()), (0, 7));
        // Empty anywhere, not only at 0.
        let r = at(8, 5, 5);
        assert_eq!((r.in_use(), r.unused(), r.is_empty()), (0, 7, true));
    }

    #[test]
    fn a_full_ring_keeps_one_slot_empty() {
        let r = at(8, 0, 7);
        assert!(r.is_full());
        assert_eq!((r.in_use(), r.unused()), (7, 0));
        // Full across the wrap: next_to_use one behind next_to_clean.
        let r = at(8, 3, 2);
        assert!(r.is_full());
        assert!(!r.is_empty());
        assert_eq!((r.in_use(), r.unused()), (7, 0));
    }

    #[test]
    fn unused_matches_linux_e1000_desc_unused() {
        fn linux(count: usize, ntc: usize, ntu: usize) -> usize {
            (if ntc > ntu { 0 } else { count }) + ntc - ntu - 1
        }
        for count in [8, 16] {
            for ntc in 0..count {
                for ntu in 0..count {
                    assert_eq!(
                        at(count, ntc, ntu).unused(),
                        linux(count, ntc, ntu),
                        "count {count} ntc {ntc} ntu {ntu}"
                    );
                }
            }
        }
    }

    #[test]
    fn indices_wrap_around_the_end() {
        let r = RingIndices::new(8);
        assert_eq!(r.next(6), 7);
        assert_eq!(r.next(7), 0);
        assert_eq!(r.advance(6, 3), 1);
        assert_eq!(r.advance(2, 8), 2);
        assert_eq!(r.distance(6, 1), 3);
        assert_eq!(r.distance(1, 6), 5);
        assert_eq!(r.distance(4, 4), 0);
    }

    #[test]
    fn produce_and_consume_wrap_and_track_use() {
        let mut r = at(8, 6, 6);
        r.produce(5);
        assert_eq!((r.next_to_use(), r.in_use(), r.unused()), (3, 5, 2));
        assert!(r.is_in_use(6) && r.is_in_use(0) && r.is_in_use(2));
        assert!(!r.is_in_use(3) && !r.is_in_use(5) && !r.is_in_use(8));
        r.produce(2);
        assert!(r.is_full());
        r.consume(3);
        assert_eq!((r.next_to_clean(), r.unused()), (1, 3));
        r.consume(4);
        assert!(r.is_empty());
        assert_eq!(r.next_to_clean(), 5);
    }

    #[test]
    #[should_panic(expected = "ring overrun")]
    fn producing_into_the_empty_slot_panics() {
        at(8, 0, 7).produce(1);
    }

    #[test]
    #[should_panic(expected = "ring underrun")]
    fn consuming_past_next_to_use_panics() {
        at(8, 2, 4).consume(3);
    }

    #[test]
    fn tx_descriptor_words_follow_the_regs_layout_bit_for_bit() {
        let d = TxDesc {
            addr: 0xFFFF_E010,
            length: 0x05EA,
            cmd: (tx_desc::CMD_EOP | tx_desc::CMD_IFCS | tx_desc::CMD_RS) as u8,
            status: 0,
        };
        // +0x8: LENGTH 15:0, CMD 31:24 = EOP(0) | IFCS(1) | RS(3) = 0x0B.
        assert_eq!(d.to_words(), [0xFFFF_E010, 0, 0x0B00_05EA, 0]);
        assert_eq!(TxDesc::from_words(&d.to_words()), d);
        // Write-back: STA in bits 3:0 of word 3; the rest of the word is not STA.
        let back = TxDesc::from_words(&[0x1000, 0, 0x0900_0040, 0xFFFF_FFF0 | tx_desc::STA_DD]);
        assert_eq!(back.status, tx_desc::STA_DD as u8);
        assert_eq!((back.length, back.cmd), (0x40, 0x09));
    }

    #[test]
    fn rx_descriptor_words_follow_the_regs_layout_bit_for_bit() {
        let give = RxDesc::for_buffer(DmaAddr(0x0003_2800));
        assert_eq!(give.to_words(), [0x0003_2800, 0, 0, 0]);
        // Write-back: LENGTH 15:0 of word 2 (checksum above it), STATUS 7:0 and ERRORS 15:8
        // of word 3 (SPECIAL above).
        let words = [
            0x0003_2800,
            0,
            0xABCD_0100,
            0xFFFF_0000 | (rx_desc::ERR_CE << 8) | rx_desc::STA_EOP | rx_desc::STA_DD,
        ];
        let d = RxDesc::from_words(&words);
        assert_eq!(
            d,
            RxDesc {
                addr: 0x0003_2800,
                length: 0x100,
                status: (rx_desc::STA_DD | rx_desc::STA_EOP) as u8,
                errors: rx_desc::ERR_CE as u8,
            }
        );
        assert!(d.done() && d.eop());
        assert_eq!(
            d.to_words(),
            [0x0003_2800, 0, 0x0100, 0x0103],
            "checksum and SPECIAL are not kept"
        );
    }

    #[test]
    fn a_ring_lives_in_coherent_memory_and_is_given_back() {
        let mut dev = MockDevice::new(16 * PAGE_BYTES);
        let mm = PageAllocator::new(16 * PAGE_BYTES).unwrap();
        let cfg = DmaConfig {
            policy: IommuPolicy::Off,
            ..DmaConfig::default()
        };
        let mut dma = Dma::init(&mut dev, mm, cfg).unwrap();
        let id = DeviceId::NIC;
        dma.attach(&mut dev, id).unwrap();
        assert_eq!(
            DescRing::new(&mut dev, &mut dma, id, 12).unwrap_err(),
            RingError::BadCount { count: 12 }
        );
        let free = dma.mm().free_pages();
        let ring = DescRing::new(&mut dev, &mut dma, id, 16).unwrap();
        assert_eq!(ring.bytes(), 256);
        assert_eq!(
            ring.dma_addr(),
            DmaAddr(ring.pa()),
            "iommu=off: DMA address = PA"
        );
        assert_eq!(ring.desc_pa(3), ring.pa() + 48);
        let d = TxDesc {
            addr: 0x1234,
            length: 60,
            cmd: tx_desc::CMD_EOP as u8,
            status: 0,
        };
        ring.write_tx(&mut dev, 15, &d);
        assert_eq!(ring.read_tx(&mut dev, 15), d);
        assert_eq!(ring.tx_status(&mut dev, 15), 0);
        assert_eq!(ring.rx_writeback(&mut dev, 15), None, "no DD");
        assert_eq!(dma.live_mappings(id).len(), 1);
        ring.free(&mut dev, &mut dma).unwrap();
        assert_eq!(dma.live_mappings(id), vec![]);
        assert_eq!(dma.mm().free_pages(), free);
    }
}
