//! The iCEBreaker's SoC (`SocConfig::FPGA_SMALL`: no NIC, no IOMMU) in rust-hdl's simulator,
//! through its host port: the memcpy channel copies through the DMA stage (no IOMMU), the IOMMU's and
//! the NIC's windows read 0 and ignore writes, and a copy that would leave RAM is refused
//! without touching it (nothing wraps around into RAM).

use regs::dmac::{self, ctrl, status};
use regs::{block, csr, iommu, nic, SocConfig};
use rtl::soc::Soc;
use rust_hdl::prelude::*;

type Small = Soc<11, 9, 4>;

struct Host {
    uut: Box<Small>,
}

impl Host {
    fn new() -> Host {
        let mut uut = Box::new(Small::new(SocConfig::FPGA_SMALL));
        uut.connect_all();
        uut.phy_tx_ce.next = true;
        uut.phy_rx_ce.next = true;
        let mut h = Host { uut };
        h.drive(false, 0, 0, false);
        h.uut.clock.next = Clock { clk: false };
        assert!(simulate(&mut *h.uut, 1000));
        h
    }

    fn drive(&mut self, req: bool, addr: u32, data: u32, we: bool) {
        let u = &mut self.uut;
        u.host_req.next = req;
        u.host_addr.next = u64::from(addr).into();
        u.host_wdata.next = u64::from(data).into();
        u.host_be.next = 0xF.into();
        u.host_we.next = we;
    }

    /// One cycle: settle, sample (ready, rvalid, rdata), rising edge.
    fn step(&mut self) -> (bool, bool, u32) {
        assert!(simulate(&mut *self.uut, 1000), "settles");
        let s = (
            self.uut.host_ready.val(),
            self.uut.host_rvalid.val(),
            self.uut.host_rdata.val().to_u64() as u32,
        );
        self.uut.clock.next = Clock { clk: true };
        assert!(simulate(&mut *self.uut, 1000));
        self.uut.clock.next = Clock { clk: false };
        assert!(simulate(&mut *self.uut, 1000));
        s
    }

    fn access(&mut self, addr: u32, data: u32, we: bool) -> u32 {
        for _ in 0..1000 {
            self.drive(true, addr, data, we);
            let (ready, _, _) = self.step();
            if ready {
                self.drive(false, 0, 0, false);
                let (_, rvalid, rdata) = self.step();
                assert_eq!(rvalid, !we, "rvalid after the access to {addr:#x}");
                return rdata;
            }
        }
        panic!("access to {addr:#x} not accepted");
    }

    fn write(&mut self, addr: u32, data: u32) {
        self.access(addr, data, true);
    }

    fn read(&mut self, addr: u32) -> u32 {
        self.access(addr, 0, false)
    }

    /// Starts a copy on channel 0 and returns STATUS once it is no longer busy.
    fn memcpy(&mut self, src: u32, dst: u32, len: u32) -> u32 {
        let ch = |r| csr(dmac::channel_block(0), r);
        self.write(ch(dmac::SRC), src);
        self.write(ch(dmac::DST), dst);
        self.write(ch(dmac::LEN), len);
        self.write(ch(dmac::CTRL), ctrl::START);
        for _ in 0..2000 {
            let st = self.read(ch(dmac::STATUS));
            if st & status::BUSY == 0 {
                return st;
            }
        }
        panic!("the copy did not finish");
    }
}

#[test]
fn memcpy_runs_through_the_dma_stage_and_never_leaves_ram() {
    let mut h = Host::new();
    let ram = SocConfig::FPGA_SMALL.bytes();
    let words: Vec<u32> = (0..16u32)
        .map(|i| 0x1000_0001u32.wrapping_mul(i + 7))
        .collect();
    for (i, w) in words.iter().enumerate() {
        h.write(0x100 + 4 * i as u32, *w);
    }
    let st = h.memcpy(0x100, 0x800, 64);
    assert_eq!(st & (status::DONE | status::ERR), status::DONE, "{st:#x}");
    let got: Vec<u32> = (0..16).map(|i| h.read(0x800 + 4 * i)).collect();
    assert_eq!(got, words);

    // A destination running past the end of RAM: refused, RAM's first words (where an
    // address wrapped to RAM's size would land) untouched.
    let first: Vec<u32> = (0..16).map(|i| h.read(4 * i)).collect();
    let st = h.memcpy(0x100, ram - 16, 64);
    assert_eq!(st & status::ERR, status::ERR, "{st:#x}");
    assert_eq!(
        (st & status::CAUSE_MASK) >> status::CAUSE_SHIFT,
        dmac::Cause::OutOfRange as u32
    );
    assert_eq!((0..16).map(|i| h.read(4 * i)).collect::<Vec<_>>(), first);
    assert_eq!(h.read(ram - 16), 0, "nothing of the refused copy landed");
}

#[test]
fn the_windows_of_blocks_not_built_read_zero_and_ignore_writes() {
    let mut h = Host::new();
    for addr in [csr(block::IOMMU, iommu::DDTP), csr(block::NIC, nic::RCTL)] {
        h.write(addr, 0xFFFF_FFFF);
        assert_eq!(h.read(addr), 0, "{addr:#x}");
    }
    assert_eq!(h.read(csr(block::NIC, nic::TXFIFO_BYTES)), 0);
    // Channel 1 is not built either.
    assert_eq!(h.read(csr(dmac::channel_block(1), dmac::STATUS)), 0);
    assert!(!h.uut.irq.val());
}
