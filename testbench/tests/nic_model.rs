//! The NIC-only Verilated model (`sim::nic`, the QEMU bridge's model) on its own: its DMA
//! ports served from memory outside the model, its PHY pins, its register port, and a DMA
//! address outside that memory refused without touching it.

use pretty_assertions::assert_eq;
use regs::nic::{self, ctrl, rctl, rx_desc, status, tctl, tx_desc};
use sim::nic::{MemRegion, NicModel};
use testbench::frames::{random_frame, with_fcs};

/// Bus address of the test memory (its first byte).
const BASE: u32 = 0x0010_0000;
const MEM_BYTES: usize = 64 * 1024;
const TX_RING: u32 = BASE;
const RX_RING: u32 = BASE + 0x400;
const TX_BUF: u32 = BASE + 0x1000;
const RX_BUF: u32 = BASE + 0x4000;
const RING_DESCS: u32 = 8;
/// Quiet cycles after which a run stops: longer than any interrupt timer left at 0.
const TAIL: u64 = 256;

struct Card {
    nic: NicModel,
    mem: Box<[u8]>,
}

impl Card {
    fn new() -> Card {
        let mut mem = vec![0u8; MEM_BYTES].into_boxed_slice();
        let mut nic = NicModel::new();
        // SAFETY: `mem` is owned by the Card next to the model and never reallocated; the
        // model is dropped first (field order).
        unsafe {
            nic.set_memory(&[MemRegion {
                base: BASE as u64,
                size: MEM_BYTES as u64,
                host: mem.as_mut_ptr() as usize,
            }])
        };
        Card { nic, mem }
    }

    fn at(&self, addr: u32) -> usize {
        (addr - BASE) as usize
    }

    fn word(&self, addr: u32) -> u32 {
        let i = self.at(addr);
        u32::from_le_bytes(self.mem[i..i + 4].try_into().unwrap())
    }

    fn set_word(&mut self, addr: u32, v: u32) {
        let i = self.at(addr);
        self.mem[i..i + 4].copy_from_slice(&v.to_le_bytes());
    }

    fn settle(&mut self) -> u64 {
        self.nic.run_until_quiet(TAIL, 1_000_000)
    }
}

#[test]
fn transmits_a_frame_from_outside_memory_with_its_fcs() {
    let mut c = Card::new();
    let frame = random_frame(&mut rand::thread_rng(), 7, 100);
    let i = c.at(TX_BUF);
    c.mem[i..i + frame.len()].copy_from_slice(&frame);
    c.set_word(TX_RING + tx_desc::ADDR_LO, TX_BUF);
    let cmd = tx_desc::CMD_EOP | tx_desc::CMD_IFCS | tx_desc::CMD_RS;
    c.set_word(
        TX_RING + tx_desc::LEN_CMD,
        frame.len() as u32 | cmd << tx_desc::CMD_SHIFT,
    );
    let n = &mut c.nic;
    n.reg_write(nic::CTRL, ctrl::SLU);
    n.reg_write(nic::TDBAL, TX_RING);
    n.reg_write(nic::TDLEN, RING_DESCS * nic::DESC_BYTES);
    n.reg_write(nic::TCTL, tctl::EN | tctl::PSP);
    n.reg_write(nic::TDT, 1);
    let ran = c.settle();
    assert!(ran < 10_000, "{ran} cycles");

    let sent = c.nic.take_tx_frame().expect("a frame on the TX pins");
    assert!(!sent.er);
    assert_eq!(
        &sent.bytes[..8],
        &[0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0xD5]
    );
    assert_eq!(sent.bytes[8..], with_fcs(&frame)[..]);
    assert!(c.nic.take_tx_frame().is_none());
    assert_ne!(c.word(TX_RING + tx_desc::STA_WORD) & tx_desc::STA_DD, 0);
    assert_eq!(c.nic.reg_read(nic::TDH), 1);
    assert_eq!(c.nic.reg_read(nic::STATUS) & status::LU, status::LU);
    let a = c.nic.activity();
    assert_eq!((a.tx_frames, a.dma_faults), (1, 0));
    assert!(a.dma_reads >= 4 + 25 && a.dma_writes >= 1, "{a:?}");
}

#[test]
fn receives_a_frame_into_outside_memory() {
    let mut c = Card::new();
    for d in 0..RING_DESCS {
        c.set_word(
            RX_RING + d * nic::DESC_BYTES + rx_desc::ADDR_LO,
            RX_BUF + d * 2048,
        );
    }
    let n = &mut c.nic;
    n.reg_write(nic::RDBAL, RX_RING);
    n.reg_write(nic::RDLEN, RING_DESCS * nic::DESC_BYTES);
    n.reg_write(nic::RDT, RING_DESCS - 1);
    n.reg_write(nic::IMS, nic::icr::RXT0);
    n.reg_write(nic::RCTL, rctl::EN);
    let frame = with_fcs(&random_frame(&mut rand::thread_rng(), 9, 60));
    c.nic.receive(&frame);
    c.settle();

    // SECRC clear: the FCS is stored and counted, as Linux's e1000 expects.
    let i = c.at(RX_BUF);
    assert_eq!(&c.mem[i..i + frame.len()], &frame[..]);
    assert_eq!(
        c.word(RX_RING + rx_desc::LEN_CSUM) & rx_desc::LEN_MASK,
        frame.len() as u32
    );
    let sta = c.word(RX_RING + rx_desc::STATUS_WORD);
    assert_eq!(sta & 0xFF, rx_desc::STA_DD | rx_desc::STA_EOP);
    assert!(c.nic.irq());
    assert_eq!(c.nic.reg_read(nic::ICR) & nic::icr::RXT0, nic::icr::RXT0);
    assert!(!c.nic.irq());
    assert_eq!(c.nic.reg_read(nic::RDH), 1);
    assert_eq!(c.nic.activity().rx_frames, 1);
}

/// A ring outside the memory: the NIC's descriptor fetch is refused with `fault`, the NIC
/// reports the DMA error with the address, and not a byte of the memory changes.
#[test]
fn a_ring_outside_memory_is_a_dma_error_and_writes_nothing() {
    let mut c = Card::new();
    for (i, b) in c.mem.iter_mut().enumerate() {
        *b = i as u8 ^ 0xA5;
    }
    let before = c.mem.clone();
    let outside = BASE + MEM_BYTES as u32; // the first word past the end
    let n = &mut c.nic;
    n.reg_write(nic::TDBAL, outside);
    n.reg_write(nic::TDLEN, RING_DESCS * nic::DESC_BYTES);
    n.reg_write(nic::TCTL, tctl::EN);
    n.reg_write(nic::TDT, 1);
    c.settle();
    assert_eq!(c.nic.reg_read(nic::DMAERR_ADDR), outside);
    assert_ne!(c.nic.reg_read(nic::DMAERR), 0);
    assert!(c.nic.activity().dma_faults >= 1);
    assert!(c.nic.take_tx_frame().is_none());
    assert!(c.mem[..] == before[..], "memory changed");
}

/// The card's PHY is where Linux expects it: MDIC reads the M88E1011's ID at PHY address 1,
/// and the model keeps clocking while the MDIO frame is on the pins.
#[test]
fn the_phy_answers_mdic_at_address_1() {
    let mut c = Card::new();
    let n = &mut c.nic;
    // MDIC: read PHY 1 register 2 (PHYID1).
    use regs::nic::mdic;
    let read_id1 =
        mdic::OP_READ << mdic::OP_SHIFT | 1 << mdic::PHYADD_SHIFT | 2 << mdic::REGADD_SHIFT;
    n.reg_write(nic::MDIC, read_id1);
    let ran = n.run_until_quiet(TAIL, 100_000);
    assert!(ran > 3000, "the MDIO frame takes its time: {ran}");
    let v = n.reg_read(nic::MDIC);
    assert_ne!(v & mdic::READY, 0);
    assert_eq!(v & mdic::DATA_MASK, 0x0141);
}

/// An RX buffer whose last words lie past the end of memory: the words inside are written,
/// the first word outside is refused with `fault` and nothing after it is attempted
/// (rtl/src/dma/port.rs: memory holds every word before the first fault and none after); the
/// NIC drops the frame as for a refused buffer write (docs/nic.md, "The RX engine": the
/// descriptor written back with ERRORS bit 2, RDFC), and no other byte changes.
#[test]
fn an_rx_buffer_across_the_end_of_memory_is_written_up_to_the_end() {
    let mut c = Card::new();
    let end = BASE + MEM_BYTES as u32;
    let buf = end - 32; // 32 bytes inside, the rest outside
    c.set_word(RX_RING + rx_desc::ADDR_LO, buf);
    let before = c.mem.clone();
    let n = &mut c.nic;
    n.reg_write(nic::RDBAL, RX_RING);
    n.reg_write(nic::RDLEN, RING_DESCS * nic::DESC_BYTES);
    n.reg_write(nic::RDT, 1);
    n.reg_write(nic::RCTL, rctl::EN);
    let frame = with_fcs(&random_frame(&mut rand::thread_rng(), 11, 96));
    c.nic.receive(&frame);
    c.settle();

    let i = c.at(buf);
    assert_eq!(&c.mem[i..], &frame[..32], "the words inside memory");
    let desc = c.at(RX_RING);
    assert!(
        c.mem[..desc] == before[..desc] && c.mem[desc + 16..i] == before[desc + 16..i],
        "nothing but the buffer and its descriptor changed"
    );
    let sta = c.word(RX_RING + rx_desc::STATUS_WORD);
    assert_eq!(sta & 0xFF, rx_desc::STA_DD | rx_desc::STA_EOP);
    assert_eq!(
        (sta >> rx_desc::ERRORS_SHIFT) & 0xFF & rx_desc::ERR_DMA,
        rx_desc::ERR_DMA
    );
    assert_eq!(c.nic.reg_read(nic::RDFC), 1);
    assert_eq!(
        c.nic.activity().dma_faults,
        1,
        "one beat refused, none after it"
    );
}
