//! The IOTLB: a fully associative cache of Sv32 leaf translations, tagged by device ID.
//!
//! ```text
//!              ┌──────────────────────────────────────────┐
//!  dev, vpn ──►│ N entries, all compared at once          ├──► hit, ppn (effective), r, w, d
//!              │ {valid, dev, vpn[19:0], super, ppn, rwd} │    (combinational: same cycle)
//!  install  ──►│ victim: first invalid entry, else the    │
//!  i_*      ──►│ round-robin pointer (FIFO replacement)   │
//!  inv      ──►│ invalidate: all / by device / by address │
//!  inv_*    ──►│ / by device and address                  │
//!              └──────────────────────────────────────────┘
//! ```
//!
//! A 4 KiB entry matches on device and the whole VPN; a 4 MiB superpage entry on device and
//! `VPN[1]`, and its effective PPN takes `PPN[0]` from the VPN. Only successful translations are
//! installed; permission bits (R, W, D) are kept so that a later access of another kind is
//! checked without a walk. An address invalidation removes every entry whose page or superpage
//! contains the address. If two entries match (a superpage and a page installed without an
//! invalidation in between), the one with the higher index wins: still one defined answer.
//!
//! **PPN width.** An entry keeps the PPN bits of `ppn_mask` (all 22 by default). The IOMMU
//! installs only translations inside host RAM (a page's PPN, or a superpage's `PPN[1] << 10`,
//! below the RAM's page count), so it passes the mask that covers the RAM's pages: an 8 KiB
//! RAM needs one PPN bit per entry, and synthesis removes the other 21 flip-flops.

use rust_hdl::prelude::*;

/// IOTLB entries in the SoC builds; `CAPS` reports it.
pub const DEFAULT_ENTRIES: usize = regs::iommu::IOTLB_ENTRIES as usize;

#[derive(LogicBlock)]
pub struct Iotlb<const N: usize> {
    pub clock: Signal<In, Clock>,
    // ---- lookup (combinational) ----
    pub dev: Signal<In, Bits<2>>,
    pub vpn: Signal<In, Bits<20>>,
    pub hit: Signal<Out, Bit>,
    /// The page's physical page number (for a superpage: `PPN[1]` and the VPN's `VPN[0]`).
    pub ppn: Signal<Out, Bits<22>>,
    pub r: Signal<Out, Bit>,
    pub w: Signal<Out, Bit>,
    pub d: Signal<Out, Bit>,
    // ---- install (one-cycle pulse) ----
    pub install: Signal<In, Bit>,
    pub i_dev: Signal<In, Bits<2>>,
    pub i_vpn: Signal<In, Bits<20>>,
    pub i_super: Signal<In, Bit>,
    pub i_ppn: Signal<In, Bits<22>>,
    pub i_r: Signal<In, Bit>,
    pub i_w: Signal<In, Bit>,
    pub i_d: Signal<In, Bit>,
    // ---- invalidate (one-cycle pulse) ----
    pub inv: Signal<In, Bit>,
    /// Only entries of `inv_dev`.
    pub inv_by_dev: Signal<In, Bit>,
    pub inv_dev: Signal<In, Bits<2>>,
    /// Only entries containing the page `inv_vpn`.
    pub inv_by_addr: Signal<In, Bit>,
    pub inv_vpn: Signal<In, Bits<20>>,
    /// Entries currently valid (for the waveform and tests).
    pub occupancy: Signal<Out, Bits<8>>,
    // ==== implementation ====
    valid: [DFF<Bit>; N],
    tag_dev: [DFF<Bits<2>>; N],
    tag_vpn: [DFF<Bits<20>>; N],
    tag_super: [DFF<Bit>; N],
    data_ppn: [DFF<Bits<22>>; N],
    data_rwd: [DFF<Bits<3>>; N],
    round_robin: DFF<Bits<8>>,
    match_any: Signal<Local, Bit>,
    free_found: Signal<Local, Bit>,
    free_index: Signal<Local, Bits<8>>,
    victim: Signal<Local, Bits<8>>,
    count: Signal<Local, Bits<8>>,
    last_index: Constant<Bits<8>>,
    ppn_mask: Constant<Bits<22>>,
}

impl<const N: usize> Default for Iotlb<N> {
    /// Entries that keep all 22 PPN bits.
    fn default() -> Self {
        Self::new(0x3F_FFFF)
    }
}

impl<const N: usize> Iotlb<N> {
    /// An IOTLB whose entries keep the PPN bits of `ppn_mask` (installed PPNs must fit it).
    pub fn new(ppn_mask: u32) -> Self {
        assert!((1..=255).contains(&N), "IOTLB size {N} is not in 1..=255");
        Self {
            clock: Default::default(),
            dev: Default::default(),
            vpn: Default::default(),
            hit: Default::default(),
            ppn: Default::default(),
            r: Default::default(),
            w: Default::default(),
            d: Default::default(),
            install: Default::default(),
            i_dev: Default::default(),
            i_vpn: Default::default(),
            i_super: Default::default(),
            i_ppn: Default::default(),
            i_r: Default::default(),
            i_w: Default::default(),
            i_d: Default::default(),
            inv: Default::default(),
            inv_by_dev: Default::default(),
            inv_dev: Default::default(),
            inv_by_addr: Default::default(),
            inv_vpn: Default::default(),
            occupancy: Default::default(),
            valid: std::array::from_fn(|_| Default::default()),
            tag_dev: std::array::from_fn(|_| Default::default()),
            tag_vpn: std::array::from_fn(|_| Default::default()),
            tag_super: std::array::from_fn(|_| Default::default()),
            data_ppn: std::array::from_fn(|_| Default::default()),
            data_rwd: std::array::from_fn(|_| Default::default()),
            round_robin: Default::default(),
            match_any: Default::default(),
            free_found: Default::default(),
            free_index: Default::default(),
            victim: Default::default(),
            count: Default::default(),
            last_index: Constant::new(((N - 1) as u64).into()),
            ppn_mask: Constant::new(((ppn_mask & 0x3F_FFFF) as u64).into()),
        }
    }
}

impl<const N: usize> Logic for Iotlb<N> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, round_robin);
        // ---- lookup ----
        self.match_any.next = false;
        self.ppn.next = 0.into();
        self.r.next = false;
        self.w.next = false;
        self.d.next = false;
        self.free_found.next = false;
        self.free_index.next = 0.into();
        self.count.next = 0.into();
        for i in 0..N {
            self.valid[i].clock.next = self.clock.val();
            self.tag_dev[i].clock.next = self.clock.val();
            self.tag_vpn[i].clock.next = self.clock.val();
            self.tag_super[i].clock.next = self.clock.val();
            self.data_ppn[i].clock.next = self.clock.val();
            self.data_rwd[i].clock.next = self.clock.val();
            self.valid[i].d.next = self.valid[i].q.val();
            self.tag_dev[i].d.next = self.tag_dev[i].q.val();
            self.tag_vpn[i].d.next = self.tag_vpn[i].q.val();
            self.tag_super[i].d.next = self.tag_super[i].q.val();
            self.data_ppn[i].d.next = self.data_ppn[i].q.val();
            self.data_rwd[i].d.next = self.data_rwd[i].q.val();
            if self.valid[i].q.val()
                & (self.tag_dev[i].q.val() == self.dev.val())
                & (self.tag_vpn[i].q.val().get_bits::<10>(10) == self.vpn.val().get_bits::<10>(10))
                & (self.tag_super[i].q.val()
                    | (self.tag_vpn[i].q.val().get_bits::<10>(0)
                        == self.vpn.val().get_bits::<10>(0)))
            {
                self.match_any.next = true;
                if self.tag_super[i].q.val() {
                    self.ppn.next = (self.data_ppn[i].q.val() & 0x3F_FC00)
                        | bit_cast::<22, 10>(self.vpn.val().get_bits::<10>(0));
                } else {
                    self.ppn.next = self.data_ppn[i].q.val();
                }
                self.r.next = self.data_rwd[i].q.val().get_bit(0);
                self.w.next = self.data_rwd[i].q.val().get_bit(1);
                self.d.next = self.data_rwd[i].q.val().get_bit(2);
            }
            if !self.valid[i].q.val() {
                // The lowest free index: entries fill 0, 1, 2, ... so that the round robin,
                // which starts at 0, replaces the oldest entry first.
                if !self.free_found.val() {
                    self.free_index.next = i.to_bits();
                }
                self.free_found.next = true;
            } else {
                self.count.next = self.count.val() + 1;
            }
        }
        self.hit.next = self.match_any.val();
        self.occupancy.next = self.count.val();

        // ---- install: an invalid entry if there is one, else round robin ----
        if self.free_found.val() {
            self.victim.next = self.free_index.val();
        } else {
            self.victim.next = self.round_robin.q.val();
        }
        if self.install.val() & !self.free_found.val() {
            if self.round_robin.q.val() == self.last_index.val() {
                self.round_robin.d.next = 0.into();
            } else {
                self.round_robin.d.next = self.round_robin.q.val() + 1;
            }
        }
        for i in 0..N {
            if self.install.val() & (self.victim.val().index() == i) {
                self.valid[i].d.next = true;
                self.tag_dev[i].d.next = self.i_dev.val();
                self.tag_vpn[i].d.next = self.i_vpn.val();
                self.tag_super[i].d.next = self.i_super.val();
                self.data_ppn[i].d.next = self.i_ppn.val() & self.ppn_mask.val();
                self.data_rwd[i].d.next = bit_cast::<3, 1>(self.i_r.val().into())
                    | (bit_cast::<3, 1>(self.i_w.val().into()) << 1)
                    | (bit_cast::<3, 1>(self.i_d.val().into()) << 2);
            }
        }
        // ---- invalidate (after the install: an invalidation in the same cycle wins) ----
        // One test of `inv` around the whole sweep, so that the per-entry tag compares are
        // evaluated only in a cycle with an invalidation: in Verilator's model that took about
        // 150 host instructions out of every other simulated cycle.
        if self.inv.val() {
            for i in 0..N {
                if (!self.inv_by_dev.val() | (self.tag_dev[i].q.val() == self.inv_dev.val()))
                    & (!self.inv_by_addr.val()
                        | ((self.tag_vpn[i].q.val().get_bits::<10>(10)
                            == self.inv_vpn.val().get_bits::<10>(10))
                            & (self.tag_super[i].q.val()
                                | (self.tag_vpn[i].q.val().get_bits::<10>(0)
                                    == self.inv_vpn.val().get_bits::<10>(0)))))
                {
                    self.valid[i].d.next = false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};
    use pretty_assertions::assert_eq;

    type Tlb = Iotlb<4>;

    fn new() -> Tlb {
        let mut t = Tlb::default();
        t.connect_all();
        settle(&mut t);
        t
    }

    fn edge(t: &mut Tlb) {
        clock_edge(t, |t| &mut t.clock);
        t.install.next = false;
        t.inv.next = false;
        settle(t);
    }

    fn install(t: &mut Tlb, dev: u32, vpn: u32, sup: bool, ppn: u32, rwd: [bool; 3]) {
        t.install.next = true;
        t.i_dev.next = (dev as u64).into();
        t.i_vpn.next = (vpn as u64).into();
        t.i_super.next = sup;
        t.i_ppn.next = (ppn as u64).into();
        t.i_r.next = rwd[0];
        t.i_w.next = rwd[1];
        t.i_d.next = rwd[2];
        settle(t);
        edge(t);
    }

    /// (hit, ppn, r, w, d) for a lookup.
    fn lookup(t: &mut Tlb, dev: u32, vpn: u32) -> Option<(u32, bool, bool, bool)> {
        t.dev.next = (dev as u64).into();
        t.vpn.next = (vpn as u64).into();
        settle(t);
        t.hit
            .val()
            .then(|| (t.ppn.val().index() as u32, t.r.val(), t.w.val(), t.d.val()))
    }

    fn invalidate(t: &mut Tlb, dev: Option<u32>, vpn: Option<u32>) {
        t.inv.next = true;
        t.inv_by_dev.next = dev.is_some();
        t.inv_dev.next = (dev.unwrap_or(0) as u64).into();
        t.inv_by_addr.next = vpn.is_some();
        t.inv_vpn.next = (vpn.unwrap_or(0) as u64).into();
        settle(t);
        edge(t);
    }

    #[test]
    fn pages_superpages_and_device_tags() {
        let mut t = new();
        assert_eq!(lookup(&mut t, 0, 0x12345), None);
        install(&mut t, 0, 0x12345, false, 0x77, [true, false, false]);
        install(&mut t, 1, 0x12345, false, 0x88, [true, true, true]);
        // A superpage at VPN[1] = 0x3 for device 2: PPN[1] = 0x5.
        install(&mut t, 2, 0x3 << 10, true, 0x5 << 10, [true, true, false]);
        assert_eq!(lookup(&mut t, 0, 0x12345), Some((0x77, true, false, false)));
        assert_eq!(lookup(&mut t, 1, 0x12345), Some((0x88, true, true, true)));
        assert_eq!(lookup(&mut t, 3, 0x12345), None);
        assert_eq!(lookup(&mut t, 0, 0x12346), None);
        assert_eq!(
            lookup(&mut t, 2, (0x3 << 10) | 0x2AB),
            Some(((0x5 << 10) | 0x2AB, true, true, false))
        );
        assert_eq!(lookup(&mut t, 2, 0x4 << 10), None);
        assert_eq!(t.occupancy.val().index(), 3);
    }

    #[test]
    fn invalidation_by_all_device_and_address() {
        let mut t = new();
        install(&mut t, 0, 0x10, false, 1, [true; 3]);
        install(&mut t, 0, 0x11, false, 2, [true; 3]);
        install(&mut t, 1, 0x10, false, 3, [true; 3]);
        install(&mut t, 1, 0x400, true, 0x400, [true; 3]);
        // By device and address: only (0, 0x10).
        invalidate(&mut t, Some(0), Some(0x10));
        assert_eq!(lookup(&mut t, 0, 0x10), None);
        assert!(lookup(&mut t, 0, 0x11).is_some());
        assert!(lookup(&mut t, 1, 0x10).is_some());
        // By address in every device: a page inside the superpage removes the superpage.
        invalidate(&mut t, None, Some(0x4FF));
        assert_eq!(lookup(&mut t, 1, 0x400), None);
        assert!(lookup(&mut t, 1, 0x10).is_some());
        // By device.
        invalidate(&mut t, Some(1), None);
        assert_eq!(lookup(&mut t, 1, 0x10), None);
        assert!(lookup(&mut t, 0, 0x11).is_some());
        // All.
        invalidate(&mut t, None, None);
        assert_eq!(lookup(&mut t, 0, 0x11), None);
        assert_eq!(t.occupancy.val().index(), 0);
    }

    #[test]
    fn replacement_fills_free_entries_then_goes_round_robin() {
        let mut t = new();
        for v in 0..4 {
            install(&mut t, 0, v, false, v, [true; 3]);
        }
        assert_eq!(t.occupancy.val().index(), 4);
        // Full: the oldest entries are replaced first (FIFO for a full table).
        install(&mut t, 0, 100, false, 100, [true; 3]);
        let present: Vec<bool> = (0..4).map(|v| lookup(&mut t, 0, v).is_some()).collect();
        assert_eq!(present, [false, true, true, true]);
        install(&mut t, 0, 101, false, 101, [true; 3]);
        let present: Vec<bool> = (0..4).map(|v| lookup(&mut t, 0, v).is_some()).collect();
        assert_eq!(present, [false, false, true, true]);
        assert!(lookup(&mut t, 0, 100).is_some());
        assert!(lookup(&mut t, 0, 101).is_some());
        // A freed entry is reused before the round robin moves on.
        invalidate(&mut t, Some(0), Some(100));
        install(&mut t, 0, 102, false, 102, [true; 3]);
        assert!(lookup(&mut t, 0, 101).is_some());
        assert!(lookup(&mut t, 0, 102).is_some());
        assert_eq!(t.occupancy.val().index(), 4);
    }
}
