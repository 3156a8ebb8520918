//! The NIC's register file (`regs::nic`): the 8254x (e1000) register subset, the statistics
//! counters, and the interrupt causes with their delay timers and moderation.
//!
//! ```text
//!                  ┌─────────────────────────────────┐
//!  sel, offset  ──►│ decode (regs::nic offsets)      ├──► rdata (registered: valid the cycle
//!  we, wdata    ──►│                                 │          after a read)
//!                  │ configuration registers         ├──► ctrl_slu, rctl, tctl, ipg,
//!                  │  (ConfigReg, reset values from  │    rdbal, rdbah, rdlen, rdt,
//!                  │   regs::REGISTERS)              │    tdbal, tdbah, tdlen, tdt
//!                  │                                 ├──► nic_reset (CTRL written with RST)
//!  rdh, tdh     ──►│ heads: owned by the DMA engines ├──► rdh_write / tdh_write, head_wdata
//!  tx/rx_state  ──►│ ENGINE_STATE, DMAERR,           ├──► restart_tx / restart_rx
//!  tx/rx_halted ──►│ DMAERR_ADDR, FIFO sizes         │    (1s written to DMAERR)
//!  dmaerr_addr  ──►│                                 │
//!  ev_*         ──►│ statistics (StatCounter: clear  │
//!                  │  on read, saturating)           │
//!  c_*          ──►│ TIDV/TADV, RDTR/RADV timers     │
//!                  │  → ICR; ICR & IMS → ITR ────────├──► irq (registered)
//!  mdio_done,   ──►│ MDIC (one access at a time)     ├──► mdio_start + fields
//!  error, rdata    │ CTRL.PHY_RST                    ├──► phy_reset
//!  ee_do,       ──►│ EECD (the EEPROM's pins)        ├──► ee_sk, ee_cs, ee_di
//!  ee_present      │                                 │
//!                  └─────────────────────────────────┘
//! ```
//!
//! Host side: `RegPort` (`rtl/src/regfile.rs`). An access is taken in the cycle `sel` is high; a
//! read returns its word on `rdata` in the next cycle. Writes take the whole word. Unimplemented
//! offsets read 0 and ignore writes. The pulse outputs (`nic_reset`, `rdh_write`, `tdh_write`,
//! `restart_tx`, `restart_rx`) are high in the cycle of the write.
//!
//! **Reset.** Writing CTRL with RST pulses `nic_reset` and, at the same clock edge, returns
//! every configuration register to its documented reset value and clears ICR, IMS, the
//! statistics and every timer. RST reads 0 and CTRL.FD reads 1.
//!
//! **Register width.** With `narrow_registers` (`regs::SocConfig::narrow_registers`, the FPGA
//! builds) the configuration registers keep only the bits the NIC acts on and the others read
//! 0 (reset value) and ignore writes: RDLEN, RDT, TDLEN, TDT bits 15:0 (rings of up to 4088
//! descriptors, as the lengths' bits 6:0 are ignored; the engines' heads, RDH and TDH, are 16
//! bits too); ITR, RDTR, RADV, TIDV, TADV bits 15:0; TIPG bits 9:0; CTRL.SLU (FD reads 1); RCTL EN, SBP, LPE, LBM, RDMTS,
//! BSIZE, BSEX, SECRC; TCTL EN, PSP; RDBAH and TDBAH read 0. Without it (simulation) every bit
//! reads back as written. Synthesis removes the flip-flops of the bits that are kept constant.
//!
//! **Ring registers** (`regs::nic::ringerr`). RDBAL/TDBAL ignore bits 3:0 and RDLEN/TDLEN
//! bits 6:0 (they read 0), as on the 8254x. A write of RDT, TDT, RDH or TDH with a value
//! that is not 0 and not below the ring's descriptor count is ignored (a refused head write
//! never reaches its engine); a write of RDLEN or TDLEN is taken, but flagged if it leaves
//! that ring's head or tail at or beyond the new count. Each such event sets its RINGERR bit
//! (sticky, W1C), counts in RINGERRC and sets ICR.RING. The engines themselves refuse to
//! fetch while a head or tail is outside the ring, so no write order makes them run past
//! what software queued.
//!
//! **Statistics.** Each counter is `counter_bits` wide (`regs::SocConfig::counter_bits`: 32
//! in simulation, 16 on the FPGA) and saturates at `counter_max` (0xFFFFFFFF, 0xFFFF); the
//! bits above read 0 (in a narrow build synthesis removes their flip-flops). A read returns
//! the count and the counter restarts from the events of that same cycle, so no event is lost.
//!
//! **Interrupt causes.** A cause set in cycle `t` is in ICR from the next edge. Reading ICR
//! returns the causes and clears them, except those set in the cycle of the read. The delay
//! timers count in [`nic::TIMER_UNIT_CYCLES`]: a `c_txdw_delayed` (`c_rx_frame`) pulse loads
//! the packet timer with TIDV (RDTR) units, and the absolute timer with TADV (RADV) units if
//! that is not 0 and the absolute timer is not running; the first of the two to expire sets
//! TXDW (RXT0) and stops both. TIDV (RDTR) = 0 sets the cause at once. A timer that expires
//! in the cycle of a new pulse stops both timers anyway: the cause it sets covers that
//! descriptor too.
//!
//! **EECD** (`regs::nic::eecd`): SK, CS, DI, FWE and EE_REQ are kept as written and drive the
//! EEPROM's pins (`ee_sk`, `ee_cs`, `ee_di`); a read adds DO (`ee_do`), EE_GNT (= EE_REQ) and
//! EE_PRES (`ee_present`). CTRL.RST clears it.
//!
//! **LSC.** A change of CTRL.SLU raises ICR.LSC, except the one CTRL.RST makes.
//!
//! **MDIC** (`regs::nic::mdic`, docs/mdio.md). A write with OP read or write while no access
//! runs pulses `mdio_start` with the fields for the MDIO master (`rtl::nic::mdio`); MDIC's R
//! reads 0 until the master's `done`, which sets R, E from `mdio_error` and, in a read, DATA
//! from `mdio_rdata`, and raises ICR.MDAC if I was set. Writes while an access runs are
//! ignored; OP 00 or 11 reads back with R and E at once. CTRL.PHY_RST drives `phy_reset`.
//!
//! **Moderation.** `irq` rises at the edge where ICR & IMS becomes non-zero, provided the ITR
//! interval timer is 0; it then loads ITR × [`nic::ITR_UNIT_CYCLES`] and counts down every
//! cycle, so rising edges are more than ITR × 32 cycles apart. `irq` falls at the edge where
//! ICR & IMS becomes 0 (ICR read, IMC). IRQC counts the rising edges.

use crate::regfile::RegPort;
use regs::nic::{self, ctrl, eecd, icr, mdic, rctl, tctl, tipg};
use rust_hdl::prelude::*;

/// Byte offsets inside the NIC window (the 8254x offsets).
pub type NicOffset = Bits<16>;

const DMAERR_TX_HALTED: u32 = nic::dmaerr::TX;
const DMAERR_RX_HALTED: u32 = nic::dmaerr::RX;
const ENGINE_STATE_TX_SHIFT: u32 = nic::engine_state::TX_SHIFT;
const ENGINE_STATE_RX_SHIFT: u32 = nic::engine_state::RX_SHIFT;
/// Width of the engine state fields.
pub const ENGINE_STATE_BITS: usize = nic::engine_state::FIELD_BITS as usize;
/// ITR, RDTR, RADV, TIDV and TADV hold their interval in bits 15:0.
const INTERVAL_BITS: usize = nic::INTERVAL_MASK.trailing_ones() as usize;
/// Width of TIPG.IPGT (bits 9:0).
pub const IPGT_BITS: usize = tipg::IPGT_MASK.trailing_ones() as usize;
/// The RCTL fields the NIC acts on (the others are kept only for read-back).
const RCTL_FIELDS: u32 = rctl::EN
    | rctl::SBP
    | rctl::LPE
    | rctl::LBM_MASK
    | rctl::RDMTS_MASK
    | rctl::BSIZE_MASK
    | rctl::BSEX
    | rctl::SECRC;
/// The bits RDLEN, RDT, TDLEN and TDT (and the engines' heads) keep in a narrow build.
pub const NARROW_RING_MASK: u32 = regs::SocConfig::NARROW_RING_MASK;
/// Width of the statistics events' byte counts.
pub const EVENT_BYTES_BITS: usize = 16;

const ITR_SHIFT: u32 = nic::ITR_UNIT_CYCLES.trailing_zeros();
const TIMER_SHIFT: u32 = nic::TIMER_UNIT_CYCLES.trailing_zeros();
/// The ITR interval timer holds up to 0xFFFF × ITR_UNIT_CYCLES.
const ITR_TIMER_BITS: usize = INTERVAL_BITS + ITR_SHIFT as usize;
/// The delay timers hold up to 0xFFFF × TIMER_UNIT_CYCLES.
const DELAY_TIMER_BITS: usize = INTERVAL_BITS + TIMER_SHIFT as usize;

// The units become shifts, and IPGT is sliced from bit 0.
const _: () = assert!(nic::ITR_UNIT_CYCLES.is_power_of_two());
const _: () = assert!(nic::TIMER_UNIT_CYCLES.is_power_of_two());
const _: () = assert!(tipg::IPGT_MASK.trailing_zeros() == 0);
// MDIC's fields and EECD's pins are sliced at these literal positions in `update`.
const _: () = assert!(mdic::OP_SHIFT == 26 && mdic::PHYADD_SHIFT == 21 && mdic::REGADD_SHIFT == 16);
const _: () =
    assert!(eecd::SK == 1 << 0 && eecd::CS == 1 << 1 && eecd::DI == 1 << 2 && eecd::REQ == 1 << 6);

/// Which literal index in `cfg` and `stats` is which register. `update` must write numbers
/// (hdl_gen takes no named constants as indices) and names the register beside each in a
/// comment, which nothing checks; these tables are checked against `regs::nic::CONFIG` and
/// `regs::nic::STATS` at compile time, so reordering either list fails the build here, and
/// the block tests exercise every register and counter by its offset.
const CONFIG_INDEX: [(usize, u32); 17] = [
    (0, nic::CTRL),
    (1, nic::ITR),
    (2, nic::RCTL),
    (3, nic::TCTL),
    (4, nic::TIPG),
    (5, nic::RDBAL),
    (6, nic::RDBAH),
    (7, nic::RDLEN),
    (8, nic::RDT),
    (9, nic::RDTR),
    (10, nic::RADV),
    (11, nic::TDBAL),
    (12, nic::TDBAH),
    (13, nic::TDLEN),
    (14, nic::TDT),
    (15, nic::TIDV),
    (16, nic::TADV),
];
const STATS_INDEX: [(usize, u32); 18] = [
    (0, nic::CRCERRS),
    (1, nic::RXERRC),
    (2, nic::MPC),
    (3, nic::GPRC),
    (4, nic::GPTC),
    (5, nic::GORCL),
    (6, nic::GOTCL),
    (7, nic::RNBC),
    (8, nic::RUC),
    (9, nic::ROC),
    (10, nic::TORL),
    (11, nic::TOTL),
    (12, nic::TPR),
    (13, nic::TPT),
    (14, nic::TDEC),
    (15, nic::RDFC),
    (16, nic::IRQC),
    (17, nic::RINGERRC),
];
const _: () = {
    let mut i = 0;
    while i < CONFIG_INDEX.len() {
        assert!(nic::CONFIG[CONFIG_INDEX[i].0] == CONFIG_INDEX[i].1);
        i += 1;
    }
    let mut i = 0;
    while i < STATS_INDEX.len() {
        assert!(nic::STATS[STATS_INDEX[i].0] == STATS_INDEX[i].1);
        i += 1;
    }
};

/// The documented reset value of NIC register `offset` (from `regs::REGISTERS`).
fn documented_reset(offset: u32) -> u32 {
    regs::REGISTERS
        .iter()
        .find(|r| r.block_offset == regs::block::NIC && r.offset == offset)
        .unwrap_or_else(|| panic!("NIC register {offset:#06x} is not in regs::REGISTERS"))
        .reset
}

fn at(offset: u32) -> Constant<NicOffset> {
    Constant::new((offset as u64).into())
}

fn k(v: u32) -> Constant<Bits<32>> {
    Constant::new((v as u64).into())
}

fn shift(amount: u32) -> Constant<Bits<5>> {
    Constant::new((amount as u64).into())
}

/// One software-written register. It decodes its own offset, reads back what was written
/// (bits in `read_only` keep their reset value) and returns to its reset value on `reset`,
/// which wins over a write in the same cycle.
#[derive(LogicBlock)]
pub struct ConfigReg {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    /// A host write to the NIC window this cycle.
    pub write: Signal<In, Bit>,
    pub offset: Signal<In, NicOffset>,
    pub wdata: Signal<In, Bits<32>>,
    pub value: Signal<Out, Bits<32>>,
    /// `value` while `offset` is this register's, else 0 (the read mux ORs these).
    pub rdata: Signal<Out, Bits<32>>,
    r_value: DFFWithInit<Bits<32>>,
    hit: Signal<Local, Bit>,
    address: Constant<NicOffset>,
    reset_value: Constant<Bits<32>>,
    read_only: Constant<Bits<32>>,
}

impl ConfigReg {
    /// The register at `offset`, with its reset value from `regs::REGISTERS`.
    pub fn new(offset: u32, read_only: u32) -> Self {
        let reset = documented_reset(offset);
        Self {
            clock: Default::default(),
            reset: Default::default(),
            write: Default::default(),
            offset: Default::default(),
            wdata: Default::default(),
            value: Default::default(),
            rdata: Default::default(),
            r_value: DFFWithInit::new((reset as u64).into()),
            hit: Default::default(),
            address: at(offset),
            reset_value: k(reset),
            read_only: k(read_only),
        }
    }
}

impl Logic for ConfigReg {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, r_value);
        self.value.next = self.r_value.q.val();
        self.hit.next = self.offset.val() == self.address.val();
        if self.reset.val() {
            self.r_value.d.next = self.reset_value.val();
        } else if self.write.val() & self.hit.val() {
            self.r_value.d.next = (self.wdata.val() & !self.read_only.val())
                | (self.r_value.q.val() & self.read_only.val());
        }
        self.rdata.next = 0.into();
        if self.hit.val() {
            self.rdata.next = self.r_value.q.val();
        }
    }
}

/// One statistics counter: adds `amount` in each cycle `inc` is high, saturates at
/// `counter_max` (`2^counter_bits - 1`: 0xFFFFFFFF in the simulation build), and is cleared by
/// a host read of its offset (keeping that cycle's `amount`) and by `reset`. The next value is
/// ANDed with `counter_max`, so the flip-flops above a narrow build's width have a constant 0
/// input and synthesis removes them with their adder bits; those bits read 0.
#[derive(LogicBlock)]
pub struct StatCounter {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    /// A host read of the NIC window this cycle.
    pub read: Signal<In, Bit>,
    pub offset: Signal<In, NicOffset>,
    pub inc: Signal<In, Bit>,
    pub amount: Signal<In, Bits<EVENT_BYTES_BITS>>,
    pub count: Signal<Out, Bits<32>>,
    /// `count` while `offset` is this counter's, else 0 (the read mux ORs these).
    pub rdata: Signal<Out, Bits<32>>,
    r_count: DFF<Bits<32>>,
    hit: Signal<Local, Bit>,
    sum: Signal<Local, Bits<33>>,
    address: Constant<NicOffset>,
    /// `counter_max`: the saturation value and the mask of the next value.
    saturated: Constant<Bits<32>>,
    /// `!counter_max`: a sum with any of these bits set is past the saturation value.
    overflow_bits: Constant<Bits<32>>,
}

impl StatCounter {
    /// The counter at `offset`, saturating at `counter_max` (`2^n - 1`).
    pub fn new(offset: u32, counter_max: u32) -> Self {
        assert!(
            counter_max.wrapping_add(1).is_power_of_two() || counter_max == u32::MAX,
            "counter_max must be 2^n - 1"
        );
        Self {
            clock: Default::default(),
            reset: Default::default(),
            read: Default::default(),
            offset: Default::default(),
            inc: Default::default(),
            amount: Default::default(),
            count: Default::default(),
            rdata: Default::default(),
            r_count: Default::default(),
            hit: Default::default(),
            sum: Default::default(),
            address: at(offset),
            saturated: k(counter_max),
            overflow_bits: k(!counter_max),
        }
    }
}

impl Logic for StatCounter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, r_count);
        self.count.next = self.r_count.q.val();
        self.hit.next = self.offset.val() == self.address.val();
        // 33 bits: bit 32 is the carry that saturates the counter.
        self.sum.next = bit_cast::<33, 32>(self.r_count.q.val());
        if self.read.val() & self.hit.val() {
            self.sum.next = 0.into();
        }
        if self.inc.val() {
            self.sum.next = self.sum.val() + bit_cast::<33, EVENT_BYTES_BITS>(self.amount.val());
        }
        if self.reset.val() {
            self.r_count.d.next = 0.into();
        } else if self.sum.val().get_bit(32)
            | ((self.sum.val().get_bits::<32>(0) & self.overflow_bits.val()) != 0)
        {
            self.r_count.d.next = self.saturated.val();
        } else {
            self.r_count.d.next = self.sum.val().get_bits::<32>(0) & self.saturated.val();
        }
        self.rdata.next = 0.into();
        if self.hit.val() {
            self.rdata.next = self.r_count.q.val();
        }
    }
}

/// One interrupt delay of the 8254x (TIDV/TADV for TXDW, RDTR/RADV for RXT0): each `start`
/// (a descriptor with IDE written back, a frame written back) reloads the packet timer with
/// `packet` units and, when `absolute` is non-zero and the absolute timer is not running,
/// loads that one with `absolute` units (units of `regs::nic::TIMER_UNIT_CYCLES`; bits 15:0 of
/// the register values count). `expires` is high in the cycle either timer reaches 1, or at a
/// `start` when `packet` is 0; then both timers stop. `reset` stops them too.
#[derive(LogicBlock)]
pub struct DelayTimer {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub start: Signal<In, Bit>,
    pub packet: Signal<In, Bits<32>>,
    pub absolute: Signal<In, Bits<32>>,
    pub expires: Signal<Out, Bit>,
    /// Neither timer is counting.
    pub quiet: Signal<Out, Bit>,
    packet_timer: DFF<Bits<DELAY_TIMER_BITS>>,
    absolute_timer: DFF<Bits<DELAY_TIMER_BITS>>,
    packet_cycles: Signal<Local, Bits<DELAY_TIMER_BITS>>,
    absolute_cycles: Signal<Local, Bits<DELAY_TIMER_BITS>>,
    k_timer_shift: Constant<Bits<5>>,
}

impl Default for DelayTimer {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            reset: Default::default(),
            start: Default::default(),
            packet: Default::default(),
            absolute: Default::default(),
            expires: Default::default(),
            quiet: Default::default(),
            packet_timer: Default::default(),
            absolute_timer: Default::default(),
            packet_cycles: Default::default(),
            absolute_cycles: Default::default(),
            k_timer_shift: shift(TIMER_SHIFT),
        }
    }
}

impl Logic for DelayTimer {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, packet_timer, absolute_timer);
        self.packet_cycles.next = bit_cast::<DELAY_TIMER_BITS, INTERVAL_BITS>(
            self.packet.val().get_bits::<INTERVAL_BITS>(0),
        ) << self.k_timer_shift.val();
        self.absolute_cycles.next = bit_cast::<DELAY_TIMER_BITS, INTERVAL_BITS>(
            self.absolute.val().get_bits::<INTERVAL_BITS>(0),
        ) << self.k_timer_shift.val();
        self.expires.next = (self.packet_timer.q.val() == 1)
            | (self.absolute_timer.q.val() == 1)
            | (self.start.val() & (self.packet_cycles.val() == 0));
        self.quiet.next = (self.packet_timer.q.val() == 0) & (self.absolute_timer.q.val() == 0);
        if self.packet_timer.q.val() != 0 {
            self.packet_timer.d.next = self.packet_timer.q.val() - 1;
        }
        if self.absolute_timer.q.val() != 0 {
            self.absolute_timer.d.next = self.absolute_timer.q.val() - 1;
        }
        if self.start.val() {
            self.packet_timer.d.next = self.packet_cycles.val();
            if (self.absolute_cycles.val() != 0) & (self.absolute_timer.q.val() == 0) {
                self.absolute_timer.d.next = self.absolute_cycles.val();
            }
        }
        if self.expires.val() | self.reset.val() {
            self.packet_timer.d.next = 0.into();
            self.absolute_timer.d.next = 0.into();
        }
    }
}

#[derive(LogicBlock)]
pub struct NicRegs {
    pub clock: Signal<In, Clock>,
    // ---- host side ----
    /// Host side (`RegPort`: an access in the cycle `sel` is high, read data the cycle after).
    pub host: RegPort<NicOffset>,
    // ---- configuration out ----
    /// One cycle: CTRL was written with RST.
    pub nic_reset: Signal<Out, Bit>,
    pub ctrl_slu: Signal<Out, Bit>,
    pub rctl: Signal<Out, Bits<32>>,
    pub tctl: Signal<Out, Bits<32>>,
    /// TIPG.IPGT.
    pub ipg: Signal<Out, Bits<IPGT_BITS>>,
    pub rdbal: Signal<Out, Bits<32>>,
    pub rdbah: Signal<Out, Bits<32>>,
    pub rdlen: Signal<Out, Bits<32>>,
    pub rdt: Signal<Out, Bits<32>>,
    pub tdbal: Signal<Out, Bits<32>>,
    pub tdbah: Signal<Out, Bits<32>>,
    pub tdlen: Signal<Out, Bits<32>>,
    pub tdt: Signal<Out, Bits<32>>,
    // ---- ring heads, owned by the DMA engines ----
    /// What RDH reads.
    pub rdh: Signal<In, Bits<32>>,
    /// What TDH reads.
    pub tdh: Signal<In, Bits<32>>,
    /// One cycle: software wrote RDH with `head_wdata`.
    pub rdh_write: Signal<Out, Bit>,
    /// One cycle: software wrote TDH with `head_wdata`.
    pub tdh_write: Signal<Out, Bit>,
    pub head_wdata: Signal<Out, Bits<32>>,
    // ---- engine status ----
    pub tx_state: Signal<In, Bits<ENGINE_STATE_BITS>>,
    pub rx_state: Signal<In, Bits<ENGINE_STATE_BITS>>,
    pub tx_halted: Signal<In, Bit>,
    pub rx_halted: Signal<In, Bit>,
    pub dmaerr_addr: Signal<In, Bits<32>>,
    /// One cycle: DMAERR was written with bit 0 (TX) / bit 1 (RX) set.
    pub restart_tx: Signal<Out, Bit>,
    pub restart_rx: Signal<Out, Bit>,
    // ---- statistics events (one-cycle pulses) ----
    pub ev_crc_err: Signal<In, Bit>,
    pub ev_rx_er: Signal<In, Bit>,
    pub ev_missed: Signal<In, Bit>,
    pub ev_rx_good: Signal<In, Bit>,
    pub ev_rx_good_bytes: Signal<In, Bits<EVENT_BYTES_BITS>>,
    pub ev_tx_good: Signal<In, Bit>,
    pub ev_tx_good_bytes: Signal<In, Bits<EVENT_BYTES_BITS>>,
    pub ev_rx_frame: Signal<In, Bit>,
    pub ev_rx_frame_bytes: Signal<In, Bits<EVENT_BYTES_BITS>>,
    pub ev_no_buffer: Signal<In, Bit>,
    pub ev_runt: Signal<In, Bit>,
    pub ev_oversize: Signal<In, Bit>,
    pub ev_tx_drop: Signal<In, Bit>,
    pub ev_rx_dma_drop: Signal<In, Bit>,
    // ---- interrupt causes ----
    /// Pulse: TXDW at once.
    pub c_txdw: Signal<In, Bit>,
    /// Pulse: a descriptor with RS and IDE was written back (TXDW after TIDV/TADV).
    pub c_txdw_delayed: Signal<In, Bit>,
    /// Pulse: an EOP RX descriptor was written back (RXT0 after RDTR/RADV).
    pub c_rx_frame: Signal<In, Bit>,
    pub c_txqe: Signal<In, Bit>,
    pub c_rxdmt0: Signal<In, Bit>,
    pub c_rxo: Signal<In, Bit>,
    pub c_nic_dma: Signal<In, Bit>,
    /// Level (the DMAC's irq): its rising edge sets ICR.DMAC.
    pub c_dmac: Signal<In, Bit>,
    /// Level (the IOMMU's irq): its rising edge sets ICR.IOMMU.
    pub c_iommu: Signal<In, Bit>,
    pub irq: Signal<Out, Bit>,
    /// Nothing here would change at the next edge, given no event from the engines, the MACs
    /// or the MDIO master: no host access, no timer counting (ITR, TIDV/TADV, RDTR/RADV), the
    /// interrupt line where the causes and the mask put it, the DMAC, IOMMU and link levels
    /// as last seen, no MDIC access (the SoC's clock gate, `crate::clock_gate`).
    pub quiet: Signal<Out, Bit>,
    // ---- MDIC and the MDIO master (`rtl::nic::mdio`) ----
    /// Pulse: a write of MDIC with OP read or write while no access is in flight starts one.
    pub mdio_start: Signal<Out, Bit>,
    /// The access `mdio_start` starts is a read.
    pub mdio_read: Signal<Out, Bit>,
    pub mdio_phy: Signal<Out, Bits<5>>,
    pub mdio_reg: Signal<Out, Bits<5>>,
    pub mdio_wdata: Signal<Out, Bits<16>>,
    /// The master's `done` pulse, with its `error` and `rdata`.
    pub mdio_done: Signal<In, Bit>,
    pub mdio_error: Signal<In, Bit>,
    pub mdio_rdata: Signal<In, Bits<16>>,
    /// CTRL.PHY_RST: hold the PHY in reset (active high).
    pub phy_reset: Signal<Out, Bit>,
    // ---- EECD: the EEPROM's pins ----
    pub ee_sk: Signal<Out, Bit>,
    pub ee_cs: Signal<Out, Bit>,
    pub ee_di: Signal<Out, Bit>,
    /// The EEPROM's DO, synchronized.
    pub ee_do: Signal<In, Bit>,
    /// The board has an EEPROM (EECD.EE_PRES).
    pub ee_present: Signal<In, Bit>,
    // ==== configuration registers ====
    /// `cfg[i]` holds `regs::nic::CONFIG[i]`.
    cfg: [ConfigReg; 17],
    // ==== statistics ====
    /// `stats[i]` counts what `regs::nic::STATS[i]` reads.
    stats: [StatCounter; 18],
    // ==== ring register checks ====
    /// RINGERR: sticky, write 1 to clear.
    ringerr: DFF<Bits<32>>,
    /// Descriptors in each ring now (xDLEN / 16).
    tx_count: Signal<Local, Bits<32>>,
    rx_count: Signal<Local, Bits<32>>,
    /// The written value as a ring register keeps it, and the descriptor count a written
    /// xDLEN would give.
    ring_wdata: Signal<Local, Bits<32>>,
    len_wdata_count: Signal<Local, Bits<32>>,
    /// This cycle's write is to that register with a value outside its ring (TDT, TDH, RDT,
    /// RDH: refused), or leaves the head or tail outside the new ring (TDLEN, RDLEN).
    bad_tdt: Signal<Local, Bit>,
    bad_tdh: Signal<Local, Bit>,
    bad_tdlen: Signal<Local, Bit>,
    bad_rdt: Signal<Local, Bit>,
    bad_rdh: Signal<Local, Bit>,
    bad_rdlen: Signal<Local, Bit>,
    ring_errors: Signal<Local, Bits<32>>,
    // ==== interrupt state ====
    icr_causes: DFF<Bits<32>>,
    ims_mask: DFF<Bits<32>>,
    irq_line: DFF<Bit>,
    itr_timer: DFF<Bits<ITR_TIMER_BITS>>,
    tx_delay: DelayTimer,
    rx_delay: DelayTimer,
    dmac_level: DFF<Bit>,
    /// CTRL.SLU in the previous cycle: a change raises ICR.LSC.
    slu_level: DFF<Bit>,
    iommu_level: DFF<Bit>,
    r_rdata: DFF<Bits<32>>,
    /// MDIC: the fields of the last access and E (error); R is `!mdic_busy` (so that the
    /// register reads R from power-up).
    mdic: DFF<Bits<32>>,
    mdic_busy: DFF<Bit>,
    /// EECD's writable bits (`regs::nic::eecd::WRITABLE`).
    eecd: DFF<Bits<32>>,
    eecd_word: Signal<Local, Bits<32>>,
    mdic_write: Signal<Local, Bit>,
    mdic_idle: Signal<Local, Bit>,
    mdic_op: Signal<Local, Bits<2>>,
    /// MDIC as the access in flight leaves it when the master is done.
    mdic_done_word: Signal<Local, Bits<32>>,
    // ==== combinational ====
    write: Signal<Local, Bit>,
    read: Signal<Local, Bit>,
    read_value: Signal<Local, Bits<32>>,
    status_word: Signal<Local, Bits<32>>,
    dmaerr_word: Signal<Local, Bits<32>>,
    itr_cycles: Signal<Local, Bits<ITR_TIMER_BITS>>,
    new_causes: Signal<Local, Bits<32>>,
    icr_next: Signal<Local, Bits<32>>,
    ims_next: Signal<Local, Bits<32>>,
    irq_pending: Signal<Local, Bit>,
    irq_rises: Signal<Local, Bit>,
    // ==== offsets decoded here (the others decode their own) ====
    a_ctrl: Constant<NicOffset>,
    a_status: Constant<NicOffset>,
    a_icr: Constant<NicOffset>,
    a_ics: Constant<NicOffset>,
    a_ims: Constant<NicOffset>,
    a_imc: Constant<NicOffset>,
    a_rdh: Constant<NicOffset>,
    a_tdh: Constant<NicOffset>,
    a_dmaerr: Constant<NicOffset>,
    a_dmaerr_addr: Constant<NicOffset>,
    a_txfifo_bytes: Constant<NicOffset>,
    a_rxfifo_bytes: Constant<NicOffset>,
    a_engine_state: Constant<NicOffset>,
    a_ringerr: Constant<NicOffset>,
    a_mdic: Constant<NicOffset>,
    a_eecd: Constant<NicOffset>,
    a_tdt: Constant<NicOffset>,
    a_tdlen: Constant<NicOffset>,
    a_rdt: Constant<NicOffset>,
    a_rdlen: Constant<NicOffset>,
    // ==== values and fields ====
    /// The bits a ring index register (RDT, TDT, RDH, TDH) keeps, and those of a length.
    k_ring_bits: Constant<Bits<32>>,
    k_len_bits: Constant<Bits<32>>,
    k_ringerr_tdt: Constant<Bits<32>>,
    k_ringerr_tdh: Constant<Bits<32>>,
    k_ringerr_tdlen: Constant<Bits<32>>,
    k_ringerr_rdt: Constant<Bits<32>>,
    k_ringerr_rdh: Constant<Bits<32>>,
    k_ringerr_rdlen: Constant<Bits<32>>,
    k_ringerr_all: Constant<Bits<32>>,
    k_icr_ring: Constant<Bits<32>>,
    k_icr_mdac: Constant<Bits<32>>,
    k_icr_lsc: Constant<Bits<32>>,
    k_eecd_writable: Constant<Bits<32>>,
    k_eecd_do: Constant<Bits<32>>,
    k_eecd_gnt: Constant<Bits<32>>,
    k_eecd_pres: Constant<Bits<32>>,
    k_ctrl_phy_rst: Constant<Bits<32>>,
    /// MDIC's DATA, REGADD, PHYADD, OP and I (what a write keeps), R, E, I and DATA.
    k_mdic_fields: Constant<Bits<32>>,
    k_mdic_ready: Constant<Bits<32>>,
    k_mdic_error: Constant<Bits<32>>,
    k_mdic_int_en: Constant<Bits<32>>,
    k_mdic_data: Constant<Bits<32>>,
    k_mdic_op_write: Constant<Bits<2>>,
    k_mdic_op_read: Constant<Bits<2>>,
    k_ctrl_rst: Constant<Bits<32>>,
    k_ctrl_slu: Constant<Bits<32>>,
    k_status_fixed: Constant<Bits<32>>,
    k_status_lu: Constant<Bits<32>>,
    k_icr_txdw: Constant<Bits<32>>,
    k_icr_txqe: Constant<Bits<32>>,
    k_icr_rxdmt0: Constant<Bits<32>>,
    k_icr_rxo: Constant<Bits<32>>,
    k_icr_rxt0: Constant<Bits<32>>,
    k_icr_dmac: Constant<Bits<32>>,
    k_icr_iommu: Constant<Bits<32>>,
    k_icr_nic_dma: Constant<Bits<32>>,
    k_icr_all: Constant<Bits<32>>,
    k_dmaerr_tx: Constant<Bits<32>>,
    k_dmaerr_rx: Constant<Bits<32>>,
    k_engine_tx_shift: Constant<Bits<5>>,
    k_engine_rx_shift: Constant<Bits<5>>,
    k_itr_shift: Constant<Bits<5>>,
    k_txfifo_bytes: Constant<Bits<32>>,
    k_rxfifo_bytes: Constant<Bits<32>>,
}

impl NicRegs {
    /// `tx_fifo_bytes` and `rx_fifo_bytes` are the build's FIFO sizes (read in TXFIFO_BYTES
    /// and RXFIFO_BYTES); the statistics saturate at `counter_max` (`2^counter_bits - 1`).
    /// With `narrow_registers` the configuration registers keep only the bits the NIC uses
    /// (see the module doc).
    pub fn new(
        tx_fifo_bytes: u32,
        rx_fifo_bytes: u32,
        counter_max: u32,
        narrow_registers: bool,
    ) -> Self {
        // Bits that keep their reset value: none but the fixed ones, or in a narrow build
        // everything outside the fields the NIC acts on.
        let unused = |used: u32| if narrow_registers { !used } else { 0 };
        let ring = unused(NARROW_RING_MASK);
        let interval = unused(nic::INTERVAL_MASK);
        // The bits of each configuration register that keep their reset value.
        let fixed = |offset: u32| match offset {
            // FD reads 1 and RST reads 0 whatever is written (RST acts through nic_reset).
            nic::CTRL => ctrl::FD | ctrl::RST | unused(ctrl::SLU | ctrl::PHY_RST),
            nic::RCTL => unused(RCTL_FIELDS),
            nic::TCTL => unused(tctl::EN | tctl::PSP),
            nic::TIPG => unused(tipg::IPGT_MASK),
            nic::RDBAL | nic::TDBAL => nic::RING_BASE_IGNORED,
            nic::RDBAH | nic::TDBAH => unused(0),
            nic::RDLEN | nic::TDLEN => ring | nic::RING_LEN_IGNORED,
            nic::RDT | nic::TDT => ring,
            nic::ITR | nic::RDTR | nic::RADV | nic::TIDV | nic::TADV => interval,
            _ => unreachable!("{offset:#06x} is not in regs::nic::CONFIG"),
        };
        Self {
            clock: Default::default(),
            host: Default::default(),
            nic_reset: Default::default(),
            ctrl_slu: Default::default(),
            rctl: Default::default(),
            tctl: Default::default(),
            ipg: Default::default(),
            rdbal: Default::default(),
            rdbah: Default::default(),
            rdlen: Default::default(),
            rdt: Default::default(),
            tdbal: Default::default(),
            tdbah: Default::default(),
            tdlen: Default::default(),
            tdt: Default::default(),
            rdh: Default::default(),
            tdh: Default::default(),
            rdh_write: Default::default(),
            tdh_write: Default::default(),
            head_wdata: Default::default(),
            tx_state: Default::default(),
            rx_state: Default::default(),
            tx_halted: Default::default(),
            rx_halted: Default::default(),
            dmaerr_addr: Default::default(),
            restart_tx: Default::default(),
            restart_rx: Default::default(),
            ev_crc_err: Default::default(),
            ev_rx_er: Default::default(),
            ev_missed: Default::default(),
            ev_rx_good: Default::default(),
            ev_rx_good_bytes: Default::default(),
            ev_tx_good: Default::default(),
            ev_tx_good_bytes: Default::default(),
            ev_rx_frame: Default::default(),
            ev_rx_frame_bytes: Default::default(),
            ev_no_buffer: Default::default(),
            ev_runt: Default::default(),
            ev_oversize: Default::default(),
            ev_tx_drop: Default::default(),
            ev_rx_dma_drop: Default::default(),
            c_txdw: Default::default(),
            c_txdw_delayed: Default::default(),
            c_rx_frame: Default::default(),
            c_txqe: Default::default(),
            c_rxdmt0: Default::default(),
            c_rxo: Default::default(),
            c_nic_dma: Default::default(),
            c_dmac: Default::default(),
            c_iommu: Default::default(),
            irq: Default::default(),
            quiet: Default::default(),
            mdio_start: Default::default(),
            mdio_read: Default::default(),
            mdio_phy: Default::default(),
            mdio_reg: Default::default(),
            mdio_wdata: Default::default(),
            mdio_done: Default::default(),
            mdio_error: Default::default(),
            mdio_rdata: Default::default(),
            phy_reset: Default::default(),
            ee_sk: Default::default(),
            ee_cs: Default::default(),
            ee_di: Default::default(),
            ee_do: Default::default(),
            ee_present: Default::default(),
            cfg: nic::CONFIG.map(|offset| ConfigReg::new(offset, fixed(offset))),
            stats: nic::STATS.map(|offset| StatCounter::new(offset, counter_max)),
            ringerr: Default::default(),
            tx_count: Default::default(),
            rx_count: Default::default(),
            ring_wdata: Default::default(),
            len_wdata_count: Default::default(),
            bad_tdt: Default::default(),
            bad_tdh: Default::default(),
            bad_tdlen: Default::default(),
            bad_rdt: Default::default(),
            bad_rdh: Default::default(),
            bad_rdlen: Default::default(),
            ring_errors: Default::default(),
            icr_causes: Default::default(),
            ims_mask: Default::default(),
            irq_line: Default::default(),
            itr_timer: Default::default(),
            tx_delay: Default::default(),
            rx_delay: Default::default(),
            dmac_level: Default::default(),
            slu_level: Default::default(),
            iommu_level: Default::default(),
            r_rdata: Default::default(),
            mdic: Default::default(),
            mdic_busy: Default::default(),
            eecd: Default::default(),
            eecd_word: Default::default(),
            mdic_write: Default::default(),
            mdic_idle: Default::default(),
            mdic_op: Default::default(),
            mdic_done_word: Default::default(),
            write: Default::default(),
            read: Default::default(),
            read_value: Default::default(),
            status_word: Default::default(),
            dmaerr_word: Default::default(),
            itr_cycles: Default::default(),
            new_causes: Default::default(),
            icr_next: Default::default(),
            ims_next: Default::default(),
            irq_pending: Default::default(),
            irq_rises: Default::default(),
            a_ctrl: at(nic::CTRL),
            a_status: at(nic::STATUS),
            a_icr: at(nic::ICR),
            a_ics: at(nic::ICS),
            a_ims: at(nic::IMS),
            a_imc: at(nic::IMC),
            a_rdh: at(nic::RDH),
            a_tdh: at(nic::TDH),
            a_dmaerr: at(nic::DMAERR),
            a_dmaerr_addr: at(nic::DMAERR_ADDR),
            a_txfifo_bytes: at(nic::TXFIFO_BYTES),
            a_rxfifo_bytes: at(nic::RXFIFO_BYTES),
            a_engine_state: at(nic::ENGINE_STATE),
            a_ringerr: at(nic::RINGERR),
            a_mdic: at(nic::MDIC),
            a_eecd: at(nic::EECD),
            a_tdt: at(nic::TDT),
            a_tdlen: at(nic::TDLEN),
            a_rdt: at(nic::RDT),
            a_rdlen: at(nic::RDLEN),
            k_ring_bits: k(!ring),
            k_len_bits: k(!(ring | nic::RING_LEN_IGNORED)),
            k_ringerr_tdt: k(nic::ringerr::TDT),
            k_ringerr_tdh: k(nic::ringerr::TDH),
            k_ringerr_tdlen: k(nic::ringerr::TDLEN),
            k_ringerr_rdt: k(nic::ringerr::RDT),
            k_ringerr_rdh: k(nic::ringerr::RDH),
            k_ringerr_rdlen: k(nic::ringerr::RDLEN),
            k_ringerr_all: k(nic::ringerr::ALL),
            k_icr_ring: k(icr::RING),
            k_icr_mdac: k(icr::MDAC),
            k_icr_lsc: k(icr::LSC),
            k_eecd_writable: k(eecd::WRITABLE),
            k_eecd_do: k(eecd::DO),
            k_eecd_gnt: k(eecd::GNT),
            k_eecd_pres: k(eecd::PRES),
            k_ctrl_phy_rst: k(ctrl::PHY_RST),
            k_mdic_fields: k(mdic::DATA_MASK
                | mdic::REGADD_MASK
                | mdic::PHYADD_MASK
                | mdic::OP_MASK
                | mdic::INT_EN),
            k_mdic_ready: k(mdic::READY),
            k_mdic_error: k(mdic::ERROR),
            k_mdic_int_en: k(mdic::INT_EN),
            k_mdic_data: k(mdic::DATA_MASK),
            k_mdic_op_write: Constant::new((mdic::OP_WRITE as u64).into()),
            k_mdic_op_read: Constant::new((mdic::OP_READ as u64).into()),
            k_ctrl_rst: k(ctrl::RST),
            k_ctrl_slu: k(ctrl::SLU),
            // STATUS reads its reset value (FD, 1000 Mb/s) plus LU = CTRL.SLU.
            k_status_fixed: k(documented_reset(nic::STATUS)),
            k_status_lu: k(nic::status::LU),
            k_icr_txdw: k(icr::TXDW),
            k_icr_txqe: k(icr::TXQE),
            k_icr_rxdmt0: k(icr::RXDMT0),
            k_icr_rxo: k(icr::RXO),
            k_icr_rxt0: k(icr::RXT0),
            k_icr_dmac: k(icr::DMAC),
            k_icr_iommu: k(icr::IOMMU),
            k_icr_nic_dma: k(icr::NIC_DMA),
            k_icr_all: k(icr::ALL),
            k_dmaerr_tx: k(DMAERR_TX_HALTED),
            k_dmaerr_rx: k(DMAERR_RX_HALTED),
            k_engine_tx_shift: shift(ENGINE_STATE_TX_SHIFT),
            k_engine_rx_shift: shift(ENGINE_STATE_RX_SHIFT),
            k_itr_shift: shift(ITR_SHIFT),
            k_txfifo_bytes: k(tx_fifo_bytes),
            k_rxfifo_bytes: k(rx_fifo_bytes),
        }
    }
}

impl Logic for NicRegs {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            icr_causes,
            ims_mask,
            irq_line,
            itr_timer,
            dmac_level,
            slu_level,
            iommu_level,
            ringerr,
            r_rdata,
            mdic,
            mdic_busy,
            eecd
        );

        // ---- host access, reset and the pulses of writes ----
        self.write.next = self.host.sel.val() & self.host.we.val();
        self.read.next = self.host.sel.val() & !self.host.we.val();
        self.nic_reset.next = self.write.val()
            & (self.host.offset.val() == self.a_ctrl.val())
            & ((self.host.wdata.val() & self.k_ctrl_rst.val()) != 0);
        self.head_wdata.next = self.host.wdata.val();

        // ---- ring register checks (regs::nic::ringerr) ----
        self.tx_count.next = self.cfg[13].value.val() >> 4; // TDLEN
        self.rx_count.next = self.cfg[7].value.val() >> 4; // RDLEN
        self.ring_wdata.next = self.host.wdata.val() & self.k_ring_bits.val();
        self.len_wdata_count.next = (self.host.wdata.val() & self.k_len_bits.val()) >> 4;
        self.bad_tdt.next = self.write.val()
            & (self.host.offset.val() == self.a_tdt.val())
            & (self.ring_wdata.val() != 0)
            & (self.ring_wdata.val() >= self.tx_count.val());
        self.bad_tdh.next = self.write.val()
            & (self.host.offset.val() == self.a_tdh.val())
            & (self.ring_wdata.val() != 0)
            & (self.ring_wdata.val() >= self.tx_count.val());
        self.bad_rdt.next = self.write.val()
            & (self.host.offset.val() == self.a_rdt.val())
            & (self.ring_wdata.val() != 0)
            & (self.ring_wdata.val() >= self.rx_count.val());
        self.bad_rdh.next = self.write.val()
            & (self.host.offset.val() == self.a_rdh.val())
            & (self.ring_wdata.val() != 0)
            & (self.ring_wdata.val() >= self.rx_count.val());
        self.bad_tdlen.next = self.write.val()
            & (self.host.offset.val() == self.a_tdlen.val())
            & (((self.cfg[14].value.val() != 0)
                & (self.cfg[14].value.val() >= self.len_wdata_count.val()))
                | ((self.tdh.val() != 0) & (self.tdh.val() >= self.len_wdata_count.val())));
        self.bad_rdlen.next = self.write.val()
            & (self.host.offset.val() == self.a_rdlen.val())
            & (((self.cfg[8].value.val() != 0)
                & (self.cfg[8].value.val() >= self.len_wdata_count.val()))
                | ((self.rdh.val() != 0) & (self.rdh.val() >= self.len_wdata_count.val())));
        self.ring_errors.next = 0.into();
        if self.bad_tdt.val() {
            self.ring_errors.next = self.ring_errors.val() | self.k_ringerr_tdt.val();
        }
        if self.bad_tdh.val() {
            self.ring_errors.next = self.ring_errors.val() | self.k_ringerr_tdh.val();
        }
        if self.bad_tdlen.val() {
            self.ring_errors.next = self.ring_errors.val() | self.k_ringerr_tdlen.val();
        }
        if self.bad_rdt.val() {
            self.ring_errors.next = self.ring_errors.val() | self.k_ringerr_rdt.val();
        }
        if self.bad_rdh.val() {
            self.ring_errors.next = self.ring_errors.val() | self.k_ringerr_rdh.val();
        }
        if self.bad_rdlen.val() {
            self.ring_errors.next = self.ring_errors.val() | self.k_ringerr_rdlen.val();
        }
        // A new error wins over a same-cycle write-1-to-clear (it cannot be one: one write
        // per cycle), and the reset clears everything.
        if self.write.val() & (self.host.offset.val() == self.a_ringerr.val()) {
            self.ringerr.d.next = self.ringerr.q.val() & !self.host.wdata.val();
        }
        if self.ring_errors.val() != 0 {
            self.ringerr.d.next = self.ringerr.q.val() | self.ring_errors.val();
        }
        if self.nic_reset.val() {
            self.ringerr.d.next = 0.into();
        }
        self.stats[17].inc.next = self.ring_errors.val() != 0; // RINGERRC

        // A refused head write never reaches its engine; a refused tail write never reaches
        // its register (below).
        self.rdh_write.next =
            self.write.val() & (self.host.offset.val() == self.a_rdh.val()) & !self.bad_rdh.val();
        self.tdh_write.next =
            self.write.val() & (self.host.offset.val() == self.a_tdh.val()) & !self.bad_tdh.val();
        self.restart_tx.next = self.write.val()
            & (self.host.offset.val() == self.a_dmaerr.val())
            & ((self.host.wdata.val() & self.k_dmaerr_tx.val()) != 0);
        self.restart_rx.next = self.write.val()
            & (self.host.offset.val() == self.a_dmaerr.val())
            & ((self.host.wdata.val() & self.k_dmaerr_rx.val()) != 0);

        // ---- configuration registers ----
        for i in 0..17 {
            self.cfg[i].clock.next = self.clock.val();
            self.cfg[i].reset.next = self.nic_reset.val();
            self.cfg[i].write.next = self.write.val();
            self.cfg[i].offset.next = self.host.offset.val();
            self.cfg[i].wdata.next = self.host.wdata.val();
        }
        // A refused tail write never reaches its register.
        self.cfg[8].write.next = self.write.val() & !self.bad_rdt.val(); // RDT
        self.cfg[14].write.next = self.write.val() & !self.bad_tdt.val(); // TDT

        // cfg[] and stats[] are in regs::nic::CONFIG and STATS order (CONFIG_INDEX, STATS_INDEX).
        self.ctrl_slu.next = (self.cfg[0].value.val() & self.k_ctrl_slu.val()) != 0;
        self.rctl.next = self.cfg[2].value.val();
        self.tctl.next = self.cfg[3].value.val();
        self.ipg.next = self.cfg[4].value.val().get_bits::<IPGT_BITS>(0);
        self.rdbal.next = self.cfg[5].value.val();
        self.rdbah.next = self.cfg[6].value.val();
        self.rdlen.next = self.cfg[7].value.val();
        self.rdt.next = self.cfg[8].value.val();
        self.tdbal.next = self.cfg[11].value.val();
        self.tdbah.next = self.cfg[12].value.val();
        self.tdlen.next = self.cfg[13].value.val();
        self.tdt.next = self.cfg[14].value.val();

        // ---- statistics ----
        for i in 0..18 {
            self.stats[i].clock.next = self.clock.val();
            self.stats[i].reset.next = self.nic_reset.val();
            self.stats[i].read.next = self.read.val();
            self.stats[i].offset.next = self.host.offset.val();
            self.stats[i].amount.next = 1.into();
        }
        self.stats[0].inc.next = self.ev_crc_err.val(); // CRCERRS
        self.stats[1].inc.next = self.ev_rx_er.val(); // RXERRC
        self.stats[2].inc.next = self.ev_missed.val(); // MPC
        self.stats[3].inc.next = self.ev_rx_good.val(); // GPRC
        self.stats[4].inc.next = self.ev_tx_good.val(); // GPTC
        self.stats[5].inc.next = self.ev_rx_good.val(); // GORCL
        self.stats[5].amount.next = self.ev_rx_good_bytes.val();
        self.stats[6].inc.next = self.ev_tx_good.val(); // GOTCL
        self.stats[6].amount.next = self.ev_tx_good_bytes.val();
        self.stats[7].inc.next = self.ev_no_buffer.val(); // RNBC
        self.stats[8].inc.next = self.ev_runt.val(); // RUC
        self.stats[9].inc.next = self.ev_oversize.val(); // ROC
        self.stats[10].inc.next = self.ev_rx_frame.val(); // TORL
        self.stats[10].amount.next = self.ev_rx_frame_bytes.val();
        self.stats[11].inc.next = self.ev_tx_good.val(); // TOTL
        self.stats[11].amount.next = self.ev_tx_good_bytes.val();
        self.stats[12].inc.next = self.ev_rx_frame.val(); // TPR
        self.stats[13].inc.next = self.ev_tx_good.val(); // TPT
        self.stats[14].inc.next = self.ev_tx_drop.val(); // TDEC
        self.stats[15].inc.next = self.ev_rx_dma_drop.val(); // RDFC

        // ---- interrupt delays: TIDV/TADV for TXDW, RDTR/RADV for RXT0 ----
        self.tx_delay.clock.next = self.clock.val();
        self.tx_delay.reset.next = self.nic_reset.val();
        self.tx_delay.start.next = self.c_txdw_delayed.val();
        self.tx_delay.packet.next = self.cfg[15].value.val(); // TIDV
        self.tx_delay.absolute.next = self.cfg[16].value.val(); // TADV
        self.rx_delay.clock.next = self.clock.val();
        self.rx_delay.reset.next = self.nic_reset.val();
        self.rx_delay.start.next = self.c_rx_frame.val();
        self.rx_delay.packet.next = self.cfg[9].value.val(); // RDTR
        self.rx_delay.absolute.next = self.cfg[10].value.val(); // RADV

        // ---- MDIC (regs::nic::mdic): one access at a time on the MDIO master ----
        self.phy_reset.next = (self.cfg[0].value.val() & self.k_ctrl_phy_rst.val()) != 0; // CTRL
        self.mdic_write.next = self.write.val() & (self.host.offset.val() == self.a_mdic.val());
        self.mdic_idle.next = !self.mdic_busy.q.val();
        self.mdic_op.next = self.host.wdata.val().get_bits::<2>(26);
        self.mdio_read.next = self.mdic_op.val() == self.k_mdic_op_read.val();
        self.mdio_phy.next = self.host.wdata.val().get_bits::<5>(21);
        self.mdio_reg.next = self.host.wdata.val().get_bits::<5>(16);
        self.mdio_wdata.next = self.host.wdata.val().get_bits::<16>(0);
        self.mdio_start.next = self.mdic_write.val()
            & self.mdic_idle.val()
            & ((self.mdic_op.val() == self.k_mdic_op_read.val())
                | (self.mdic_op.val() == self.k_mdic_op_write.val()));
        if self.mdic_write.val() & self.mdic_idle.val() {
            if self.mdio_start.val() {
                self.mdic.d.next = self.host.wdata.val() & self.k_mdic_fields.val();
            } else {
                // OP 00 or 11: nothing to do, done at once with an error.
                self.mdic.d.next =
                    (self.host.wdata.val() & self.k_mdic_fields.val()) | self.k_mdic_error.val();
            }
        }
        self.mdic_done_word.next = self.mdic.q.val();
        if self.mdio_error.val() {
            self.mdic_done_word.next = self.mdic_done_word.val() | self.k_mdic_error.val();
        }
        if self.mdic.q.val().get_bits::<2>(26) == self.k_mdic_op_read.val() {
            self.mdic_done_word.next = (self.mdic_done_word.val() & !self.k_mdic_data.val())
                | bit_cast::<32, 16>(self.mdio_rdata.val());
        }
        if self.mdio_start.val() {
            self.mdic_busy.d.next = true;
        }
        if self.mdio_done.val() {
            self.mdic.d.next = self.mdic_done_word.val();
            self.mdic_busy.d.next = false;
        }
        if self.nic_reset.val() {
            self.mdic.d.next = 0.into();
            self.mdic_busy.d.next = false;
        }

        // ---- EECD (regs::nic::eecd): the EEPROM's pins, bit-banged by software ----
        if self.write.val() & (self.host.offset.val() == self.a_eecd.val()) {
            self.eecd.d.next = self.host.wdata.val() & self.k_eecd_writable.val();
        }
        if self.nic_reset.val() {
            self.eecd.d.next = 0.into();
        }
        self.ee_sk.next = self.eecd.q.val().get_bit(0);
        self.ee_cs.next = self.eecd.q.val().get_bit(1);
        self.ee_di.next = self.eecd.q.val().get_bit(2);
        self.eecd_word.next = self.eecd.q.val();
        if self.ee_do.val() {
            self.eecd_word.next = self.eecd_word.val() | self.k_eecd_do.val();
        }
        if self.eecd.q.val().get_bit(6) {
            self.eecd_word.next = self.eecd_word.val() | self.k_eecd_gnt.val();
        }
        if self.ee_present.val() {
            self.eecd_word.next = self.eecd_word.val() | self.k_eecd_pres.val();
        }

        // ---- interrupt causes (ICR), ICS, mask (IMS/IMC) ----
        self.dmac_level.d.next = self.c_dmac.val();
        self.iommu_level.d.next = self.c_iommu.val();
        self.new_causes.next = 0.into();
        if self.c_txdw.val() | self.tx_delay.expires.val() {
            self.new_causes.next = self.new_causes.val() | self.k_icr_txdw.val();
        }
        if self.c_txqe.val() {
            self.new_causes.next = self.new_causes.val() | self.k_icr_txqe.val();
        }
        if self.c_rxdmt0.val() {
            self.new_causes.next = self.new_causes.val() | self.k_icr_rxdmt0.val();
        }
        if self.c_rxo.val() {
            self.new_causes.next = self.new_causes.val() | self.k_icr_rxo.val();
        }
        if self.rx_delay.expires.val() {
            self.new_causes.next = self.new_causes.val() | self.k_icr_rxt0.val();
        }
        if self.c_dmac.val() & !self.dmac_level.q.val() {
            self.new_causes.next = self.new_causes.val() | self.k_icr_dmac.val();
        }
        if self.c_iommu.val() & !self.iommu_level.q.val() {
            self.new_causes.next = self.new_causes.val() | self.k_icr_iommu.val();
        }
        if self.c_nic_dma.val() {
            self.new_causes.next = self.new_causes.val() | self.k_icr_nic_dma.val();
        }
        if self.ring_errors.val() != 0 {
            self.new_causes.next = self.new_causes.val() | self.k_icr_ring.val();
        }
        if self.mdio_done.val() & ((self.mdic.q.val() & self.k_mdic_int_en.val()) != 0) {
            self.new_causes.next = self.new_causes.val() | self.k_icr_mdac.val();
        }
        // The link (STATUS.LU = CTRL.SLU) changed. The NIC's reset clears SLU without an event.
        self.slu_level.d.next = self.ctrl_slu.val() & !self.nic_reset.val();
        if self.ctrl_slu.val() != self.slu_level.q.val() {
            self.new_causes.next = self.new_causes.val() | self.k_icr_lsc.val();
        }
        if self.write.val() & (self.host.offset.val() == self.a_ics.val()) {
            self.new_causes.next =
                self.new_causes.val() | (self.host.wdata.val() & self.k_icr_all.val());
        }
        self.icr_next.next = self.icr_causes.q.val() | self.new_causes.val();
        if self.read.val() & (self.host.offset.val() == self.a_icr.val()) {
            self.icr_next.next = self.new_causes.val();
        }
        self.ims_next.next = self.ims_mask.q.val();
        if self.write.val() & (self.host.offset.val() == self.a_ims.val()) {
            self.ims_next.next =
                self.ims_mask.q.val() | (self.host.wdata.val() & self.k_icr_all.val());
        }
        if self.write.val() & (self.host.offset.val() == self.a_imc.val()) {
            self.ims_next.next = self.ims_mask.q.val() & !self.host.wdata.val();
        }
        if self.nic_reset.val() {
            self.icr_next.next = 0.into();
            self.ims_next.next = 0.into();
        }
        self.icr_causes.d.next = self.icr_next.val();
        self.ims_mask.d.next = self.ims_next.val();

        // ---- moderation (ITR) and the interrupt line ----
        self.itr_cycles.next = bit_cast::<ITR_TIMER_BITS, INTERVAL_BITS>(
            self.cfg[1].value.val().get_bits::<INTERVAL_BITS>(0), // ITR
        ) << self.k_itr_shift.val();
        self.irq_pending.next = (self.icr_next.val() & self.ims_next.val()) != 0;
        self.irq_rises.next =
            self.irq_pending.val() & !self.irq_line.q.val() & (self.itr_timer.q.val() == 0);
        if self.itr_timer.q.val() != 0 {
            self.itr_timer.d.next = self.itr_timer.q.val() - 1;
        }
        if self.irq_rises.val() {
            self.itr_timer.d.next = self.itr_cycles.val();
        }
        if self.nic_reset.val() {
            self.itr_timer.d.next = 0.into();
        }
        self.irq_line.d.next =
            self.irq_pending.val() & (self.irq_line.q.val() | self.irq_rises.val());
        self.irq.next = self.irq_line.q.val();
        self.quiet.next = !self.host.sel.val()
            & (self.itr_timer.q.val() == 0)
            & (self.irq_line.q.val() == ((self.icr_causes.q.val() & self.ims_mask.q.val()) != 0))
            & (self.dmac_level.q.val() == self.c_dmac.val())
            & (self.iommu_level.q.val() == self.c_iommu.val())
            & (self.slu_level.q.val() == self.ctrl_slu.val())
            & !self.mdic_busy.q.val()
            & self.tx_delay.quiet.val()
            & self.rx_delay.quiet.val();
        // IRQC counts the rising edges (written here: a local is written before it is read).
        self.stats[16].inc.next = self.irq_rises.val(); // IRQC

        // ---- reads ----
        self.status_word.next = self.k_status_fixed.val();
        if self.ctrl_slu.val() {
            self.status_word.next = self.status_word.val() | self.k_status_lu.val();
        }
        self.dmaerr_word.next = 0.into();
        if self.tx_halted.val() {
            self.dmaerr_word.next = self.dmaerr_word.val() | self.k_dmaerr_tx.val();
        }
        if self.rx_halted.val() {
            self.dmaerr_word.next = self.dmaerr_word.val() | self.k_dmaerr_rx.val();
        }
        // The registers and counters give 0 unless addressed: OR them.
        self.read_value.next = 0.into();
        for i in 0..17 {
            self.read_value.next = self.read_value.val() | self.cfg[i].rdata.val();
        }
        for i in 0..18 {
            self.read_value.next = self.read_value.val() | self.stats[i].rdata.val();
        }
        if self.host.offset.val() == self.a_status.val() {
            self.read_value.next = self.status_word.val();
        }
        if self.host.offset.val() == self.a_icr.val() {
            self.read_value.next = self.icr_causes.q.val();
        }
        if self.host.offset.val() == self.a_ims.val() {
            self.read_value.next = self.ims_mask.q.val();
        }
        if self.host.offset.val() == self.a_rdh.val() {
            self.read_value.next = self.rdh.val();
        }
        if self.host.offset.val() == self.a_tdh.val() {
            self.read_value.next = self.tdh.val();
        }
        if self.host.offset.val() == self.a_dmaerr.val() {
            self.read_value.next = self.dmaerr_word.val();
        }
        if self.host.offset.val() == self.a_dmaerr_addr.val() {
            self.read_value.next = self.dmaerr_addr.val();
        }
        if self.host.offset.val() == self.a_eecd.val() {
            self.read_value.next = self.eecd_word.val();
        }
        if self.host.offset.val() == self.a_mdic.val() {
            self.read_value.next = self.mdic.q.val();
            if !self.mdic_busy.q.val() {
                self.read_value.next = self.mdic.q.val() | self.k_mdic_ready.val();
            }
        }
        if self.host.offset.val() == self.a_ringerr.val() {
            self.read_value.next = self.ringerr.q.val() & self.k_ringerr_all.val();
        }
        if self.host.offset.val() == self.a_txfifo_bytes.val() {
            self.read_value.next = self.k_txfifo_bytes.val();
        }
        if self.host.offset.val() == self.a_rxfifo_bytes.val() {
            self.read_value.next = self.k_rxfifo_bytes.val();
        }
        if self.host.offset.val() == self.a_engine_state.val() {
            self.read_value.next = (bit_cast::<32, ENGINE_STATE_BITS>(self.tx_state.val())
                << self.k_engine_tx_shift.val())
                | (bit_cast::<32, ENGINE_STATE_BITS>(self.rx_state.val())
                    << self.k_engine_rx_shift.val());
        }
        if self.read.val() {
            self.r_rdata.d.next = self.read_value.val();
        }
        self.host.rdata.next = self.r_rdata.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};
    use nic::{ringerr, RINGERR, RINGERRC};
    use nic::{
        CRCERRS, CTRL, DMAERR, DMAERR_ADDR, EECD, ENGINE_STATE, GORCH, GORCL, GOTCH, GOTCL, GPRC,
        GPTC, ICR, ICS, IMC, IMS, IRQC, ITR, ITR_UNIT_CYCLES, MDIC, MPC, RADV, RCTL, RDBAH, RDBAL,
        RDFC, RDH, RDLEN, RDT, RDTR, RNBC, ROC, RUC, RXERRC, RXFIFO_BYTES, STATUS, TADV, TCTL,
        TDBAH, TDBAL, TDEC, TDH, TDLEN, TDT, TIDV, TIMER_UNIT_CYCLES, TIPG, TORH, TORL, TOTH, TOTL,
        TPR, TPT, TXFIFO_BYTES,
    };
    use pretty_assertions::assert_eq;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use regs::{Access, Register, REGISTERS};

    /// Two different sizes, so that a swap shows.
    const TX_FIFO: u32 = regs::SocConfig::SIM.nic_fifo_bytes();
    const RX_FIFO: u32 = TX_FIFO / 2;
    const TIMER_UNIT: u64 = TIMER_UNIT_CYCLES as u64;
    const ITR_UNIT: u64 = ITR_UNIT_CYCLES as u64;
    const INTERVAL_MASK: u32 = (1 << INTERVAL_BITS) - 1;

    /// Every statistics register, the high halves included.
    const STATISTICS: [u32; 21] = [
        CRCERRS, RXERRC, MPC, GPRC, GPTC, GORCL, GORCH, GOTCL, GOTCH, RNBC, RUC, ROC, TORL, TORH,
        TOTL, TOTH, TPR, TPT, TDEC, RDFC, IRQC,
    ];

    fn nic_registers() -> impl Iterator<Item = &'static Register> {
        REGISTERS
            .iter()
            .filter(|r| r.block_offset == regs::block::NIC)
    }

    fn name_of(offset: u32) -> &'static str {
        nic_registers()
            .find(|r| r.offset == offset)
            .map_or("(unimplemented)", |r| r.name)
    }

    /// The NIC registers software writes and reads back (RDH/TDH read the engines' heads;
    /// MDIC starts an access).
    fn is_config_register(r: &Register) -> bool {
        r.access == Access::Rw && ![CTRL, IMS, RDH, TDH, MDIC, EECD].contains(&r.offset)
    }

    struct Bench {
        uut: NicRegs,
        /// Cycles run so far.
        now: u64,
        /// The cycles at whose clock edge `irq` rose.
        irq_rises: Vec<u64>,
    }

    impl Bench {
        fn new() -> Self {
            Bench::with_counter_max(u32::MAX)
        }

        /// As [`Bench::new`], with statistics that saturate at `counter_max`.
        fn with_counter_max(counter_max: u32) -> Self {
            Bench::build(counter_max, false)
        }

        fn build(counter_max: u32, narrow_registers: bool) -> Self {
            let mut uut = NicRegs::new(TX_FIFO, RX_FIFO, counter_max, narrow_registers);
            // The simulation's board: an EEPROM whose DO idles high (EECD's documented reset).
            uut.ee_present.next = true;
            uut.ee_do.next = true;
            uut.connect_all();
            settle(&mut uut);
            Self {
                uut,
                now: 0,
                irq_rises: vec![],
            }
        }

        /// One clock cycle: `drive` sets this cycle's inputs, `check` looks at the settled
        /// outputs before the edge. Afterwards the host port and the pulse inputs are idle
        /// again (levels and status inputs keep their values).
        fn cycle_checked(
            &mut self,
            drive: impl FnOnce(&mut NicRegs),
            check: impl FnOnce(&NicRegs),
        ) {
            drive(&mut self.uut);
            settle(&mut self.uut);
            check(&self.uut);
            let irq_before = self.uut.irq.val();
            clock_edge(&mut self.uut, |u| &mut u.clock);
            idle_pulses(&mut self.uut);
            settle(&mut self.uut);
            if self.uut.irq.val() && !irq_before {
                self.irq_rises.push(self.now);
            }
            self.now += 1;
        }

        fn cycle(&mut self, drive: impl FnOnce(&mut NicRegs)) {
            self.cycle_checked(drive, |_| {});
        }

        fn idle(&mut self, cycles: u64) {
            for _ in 0..cycles {
                self.cycle(|_| {});
            }
        }

        fn write(&mut self, offset: u32, value: u32) {
            self.cycle(|u| host(u, offset, Some(value)));
        }

        fn read(&mut self, offset: u32) -> u32 {
            self.read_with(offset, |_| {})
        }

        /// A read of `offset` in a cycle whose other inputs `also` sets.
        fn read_with(&mut self, offset: u32, also: impl FnOnce(&mut NicRegs)) -> u32 {
            self.cycle(|u| {
                host(u, offset, None);
                also(u);
            });
            self.uut.host.rdata.val().to_u32()
        }

        fn irq(&self) -> bool {
            self.uut.irq.val()
        }
    }

    /// Present a host access: a write of `wdata`, or a read.
    fn host(u: &mut NicRegs, offset: u32, wdata: Option<u32>) {
        u.host.sel.next = true;
        u.host.offset.next = (offset as u64).into();
        u.host.we.next = wdata.is_some();
        u.host.wdata.next = (wdata.unwrap_or(0) as u64).into();
    }

    fn idle_pulses(u: &mut NicRegs) {
        u.host.sel.next = false;
        u.host.we.next = false;
        u.ev_crc_err.next = false;
        u.ev_rx_er.next = false;
        u.ev_missed.next = false;
        u.ev_rx_good.next = false;
        u.ev_tx_good.next = false;
        u.ev_rx_frame.next = false;
        u.ev_no_buffer.next = false;
        u.ev_runt.next = false;
        u.ev_oversize.next = false;
        u.ev_tx_drop.next = false;
        u.ev_rx_dma_drop.next = false;
        u.c_txdw.next = false;
        u.c_txdw_delayed.next = false;
        u.c_rx_frame.next = false;
        u.c_txqe.next = false;
        u.c_rxdmt0.next = false;
        u.c_rxo.next = false;
        u.c_nic_dma.next = false;
    }

    fn every_event(u: &mut NicRegs) {
        u.ev_crc_err.next = true;
        u.ev_rx_er.next = true;
        u.ev_missed.next = true;
        u.ev_rx_good.next = true;
        u.ev_rx_good_bytes.next = 64.into();
        u.ev_tx_good.next = true;
        u.ev_tx_good_bytes.next = 64.into();
        u.ev_rx_frame.next = true;
        u.ev_rx_frame_bytes.next = 64.into();
        u.ev_no_buffer.next = true;
        u.ev_runt.next = true;
        u.ev_oversize.next = true;
        u.ev_tx_drop.next = true;
        u.ev_rx_dma_drop.next = true;
    }

    /// Sets some inputs of one cycle.
    type Pulse = fn(&mut NicRegs);

    fn txqe(u: &mut NicRegs) {
        u.c_txqe.next = true;
    }

    fn txdw_delayed(u: &mut NicRegs) {
        u.c_txdw_delayed.next = true;
    }

    fn rx_frame(u: &mut NicRegs) {
        u.c_rx_frame.next = true;
    }

    /// Unmask `cause` only, then run `horizon` cycles with a `pulse` in each cycle of `at`
    /// (counted from the start), reading ICR as soon as `irq` is up (it must show `cause`).
    /// Returns the cycles at whose edge `cause` reached ICR (= `irq` rose, as ITR is 0): a
    /// cause raised "at once" by a pulse in cycle t arrives at t.
    fn cause_arrivals(
        b: &mut Bench,
        pulse: Pulse,
        at: &[u64],
        cause: u32,
        horizon: u64,
    ) -> Vec<u64> {
        b.write(IMS, cause);
        b.irq_rises.clear();
        let start = b.now;
        for t in 0..horizon {
            let fire = at.contains(&t);
            if b.irq() {
                let icr = b.read_with(ICR, |u| {
                    if fire {
                        pulse(u)
                    }
                });
                assert_eq!(icr, cause, "ICR at cycle {t}");
            } else {
                b.cycle(|u| {
                    if fire {
                        pulse(u)
                    }
                });
            }
        }
        b.irq_rises.iter().map(|c| c - start).collect()
    }

    // ---- host side, configuration ----

    /// What a configuration register reads after `written` (the ring lengths were written
    /// before the tails: registers go in address order): the 8254x's ignored low bits of the
    /// bases and lengths read 0, and a tail outside its ring is refused (the reset value
    /// stays).
    fn read_back(offset: u32, written: u32, lengths: (u32, u32)) -> u32 {
        match offset {
            RDBAL | TDBAL => written & !nic::RING_BASE_IGNORED,
            RDLEN | TDLEN => written & !nic::RING_LEN_IGNORED,
            RDT | TDT => {
                let len = if offset == RDT { lengths.0 } else { lengths.1 };
                if written < (len & !nic::RING_LEN_IGNORED) / 16 {
                    written
                } else {
                    documented_reset(offset)
                }
            }
            _ => written,
        }
    }

    #[test]
    fn registers_read_back_as_written_and_drive_the_outputs() {
        let mut b = Bench::new();
        // The tails' patterns are inside their rings (the lengths' are large), except that
        // the test below refuses the ones that are not.
        let pattern = |offset: u32| match offset {
            RDT | TDT => 0x0123_4567 ^ offset,
            _ => 0xA5C3_0F96 ^ offset.wrapping_mul(0x0101_0101),
        };
        let lengths = (pattern(RDLEN), pattern(TDLEN));
        let expected = |offset: u32| read_back(offset, pattern(offset), lengths);
        let config: Vec<u32> = nic_registers()
            .filter(|r| is_config_register(r))
            .map(|r| r.offset)
            .collect();
        for &offset in &config {
            b.write(offset, pattern(offset));
        }
        for &offset in &config {
            assert_eq!(b.read(offset), expected(offset), "{}", name_of(offset));
        }
        assert_eq!(b.read(RINGERR), 0, "every tail was inside its ring");
        let u = &b.uut;
        let outputs = [
            (RCTL, u.rctl.val()),
            (TCTL, u.tctl.val()),
            (RDBAL, u.rdbal.val()),
            (RDBAH, u.rdbah.val()),
            (RDLEN, u.rdlen.val()),
            (RDT, u.rdt.val()),
            (TDBAL, u.tdbal.val()),
            (TDBAH, u.tdbah.val()),
            (TDLEN, u.tdlen.val()),
            (TDT, u.tdt.val()),
        ];
        for (offset, value) in outputs {
            assert_eq!(
                value.to_u32(),
                expected(offset),
                "{} output",
                name_of(offset)
            );
        }
        assert_eq!(u.ipg.val().to_u32(), pattern(TIPG) & tipg::IPGT_MASK);
    }

    #[test]
    fn narrow_registers_keep_only_the_bits_the_nic_uses() {
        let mut b = Bench::build(u32::MAX, true);
        let ring = NARROW_RING_MASK;
        let interval = nic::INTERVAL_MASK;
        let kept = [
            (RCTL, RCTL_FIELDS),
            (TCTL, tctl::EN | tctl::PSP),
            (TIPG, tipg::IPGT_MASK),
            (ITR, interval),
            (RDTR, interval),
            (RADV, interval),
            (TIDV, interval),
            (TADV, interval),
            (RDBAL, !nic::RING_BASE_IGNORED),
            (RDBAH, 0),
            (RDLEN, ring & !nic::RING_LEN_IGNORED),
            (TDBAL, !nic::RING_BASE_IGNORED),
            (TDBAH, 0),
            (TDLEN, ring & !nic::RING_LEN_IGNORED),
        ];
        for (offset, bits) in kept {
            b.write(offset, u32::MAX);
            assert_eq!(b.read(offset), bits, "{}", name_of(offset));
        }
        assert_eq!(
            b.uut.tdlen.val().to_u32(),
            ring & !nic::RING_LEN_IGNORED,
            "the outputs are narrow too"
        );
        // The tails keep 16 bits, and the check looks at those: the last descriptor of the
        // longest ring, with junk above bit 15.
        let last = (ring & !nic::RING_LEN_IGNORED) / 16 - 1;
        for offset in [RDT, TDT] {
            b.write(offset, 0xABCD_0000 | last);
            assert_eq!(b.read(offset), last, "{}", name_of(offset));
        }
        assert_eq!(b.read(RINGERR), 0);
        b.write(CTRL, !ctrl::RST);
        assert_eq!(b.read(CTRL), ctrl::FD | ctrl::SLU | ctrl::PHY_RST);
        assert!(b.uut.phy_reset.val());
    }

    #[test]
    fn eecd_drives_the_eeprom_pins_and_reads_do_gnt_and_pres() {
        use nic::eecd;
        let mut b = Bench::new();
        b.uut.ee_present.next = false;
        b.uut.ee_do.next = false;
        assert_eq!(b.read(EECD), 0, "no EEPROM, DO low, nothing requested");
        b.write(EECD, eecd::SK | eecd::DI);
        assert!(b.uut.ee_sk.val() && b.uut.ee_di.val() && !b.uut.ee_cs.val());
        b.write(EECD, eecd::CS | eecd::REQ);
        assert!(!b.uut.ee_sk.val() && b.uut.ee_cs.val() && !b.uut.ee_di.val());
        assert_eq!(
            b.read(EECD),
            eecd::CS | eecd::REQ | eecd::GNT,
            "GNT follows REQ"
        );
        b.uut.ee_do.next = true;
        b.uut.ee_present.next = true;
        assert_eq!(
            b.read(EECD),
            eecd::CS | eecd::REQ | eecd::GNT | eecd::DO | eecd::PRES
        );
        // Only the writable bits are kept; the NIC's reset clears them.
        b.write(EECD, u32::MAX);
        assert_eq!(
            b.read(EECD),
            eecd::WRITABLE | eecd::GNT | eecd::DO | eecd::PRES
        );
        b.write(CTRL, ctrl::RST);
        assert_eq!(b.read(EECD), eecd::DO | eecd::PRES);
    }

    #[test]
    fn mdic_starts_one_access_at_a_time_and_takes_the_masters_result() {
        use nic::mdic;
        let mut b = Bench::new();
        assert_eq!(b.read(MDIC), mdic::READY, "done from power-up");
        // A read: one start pulse with the fields, in the cycle of the write.
        let cmd = mdic::command(mdic::OP_READ, 5, 17, 0xBEEF) | mdic::INT_EN;
        b.cycle_checked(
            |u| host(u, MDIC, Some(cmd)),
            |u| {
                assert!(u.mdio_start.val() && u.mdio_read.val());
                assert_eq!(u.mdio_phy.val().index(), 5);
                assert_eq!(u.mdio_reg.val().index(), 17);
                assert_eq!(u.mdio_wdata.val().index(), 0xBEEF);
            },
        );
        assert_eq!(b.read(MDIC), cmd, "in flight: R and E read 0");
        // A second command while it runs: no pulse, MDIC unchanged.
        b.cycle_checked(
            |u| host(u, MDIC, Some(mdic::command(mdic::OP_WRITE, 1, 1, 1))),
            |u| assert!(!u.mdio_start.val()),
        );
        assert_eq!(b.read(MDIC), cmd);
        // Done with an error and data: R, E, DATA replaced (a read), ICR.MDAC (I was set).
        b.cycle(|u| {
            u.mdio_done.next = true;
            u.mdio_error.next = true;
            u.mdio_rdata.next = 0x1234.into();
        });
        b.cycle(|u| u.mdio_done.next = false);
        assert_eq!(
            b.read(MDIC),
            (cmd & !mdic::DATA_MASK) | 0x1234 | mdic::READY | mdic::ERROR
        );
        assert_eq!(b.read(ICR), icr::MDAC);
        // A write without I: DATA stays as written, no cause.
        let write = mdic::command(mdic::OP_WRITE, 0, 4, 0x01E1);
        b.cycle_checked(
            |u| host(u, MDIC, Some(write)),
            |u| assert!(u.mdio_start.val() && !u.mdio_read.val()),
        );
        b.cycle(|u| {
            u.mdio_done.next = true;
            u.mdio_error.next = false;
            u.mdio_rdata.next = 0xFFFF.into();
        });
        b.cycle(|u| u.mdio_done.next = false);
        assert_eq!(b.read(MDIC), write | mdic::READY);
        assert_eq!(b.read(ICR), 0);
        // OP 00 and 11: no pulse, done at once with E.
        for op in [0b00, 0b11] {
            let bad = mdic::command(op, 2, 3, 4);
            b.cycle_checked(
                |u| host(u, MDIC, Some(bad)),
                |u| assert!(!u.mdio_start.val()),
            );
            assert_eq!(b.read(MDIC), bad | mdic::READY | mdic::ERROR);
        }
        // CTRL.RST while an access runs: MDIC reads R again, and takes a new command.
        b.write(MDIC, cmd);
        b.write(CTRL, ctrl::RST);
        assert_eq!(b.read(MDIC), mdic::READY);
        b.cycle_checked(
            |u| host(u, MDIC, Some(cmd)),
            |u| assert!(u.mdio_start.val()),
        );
    }

    #[test]
    fn status_lu_follows_ctrl_slu() {
        let mut b = Bench::new();
        let fixed = nic::status::FD | nic::status::SPEED_1000;
        assert_eq!(b.read(STATUS), fixed);
        assert!(!b.uut.ctrl_slu.val());
        b.write(CTRL, ctrl::SLU);
        assert!(b.uut.ctrl_slu.val());
        assert_eq!(b.read(STATUS), fixed | nic::status::LU);
        assert_eq!(b.read(CTRL), ctrl::FD | ctrl::SLU);
        assert_eq!(b.read(ICR), icr::LSC, "the link came up: LSC");
        b.write(CTRL, ctrl::SLU);
        assert_eq!(b.read(ICR), 0, "no change, no LSC");
        // FD reads 1 whatever is written.
        b.write(CTRL, 0);
        assert!(!b.uut.ctrl_slu.val());
        assert_eq!(b.read(STATUS), fixed);
        assert_eq!(b.read(CTRL), ctrl::FD);
        assert_eq!(b.read(ICR), icr::LSC, "the link went down: LSC");
        // The NIC's reset clears SLU without a link event.
        b.write(CTRL, ctrl::SLU);
        b.read(ICR);
        b.write(CTRL, ctrl::RST);
        b.idle(2);
        assert_eq!(b.read(ICR), 0, "CTRL.RST: no LSC");
    }

    #[test]
    fn ctrl_rst_is_a_one_cycle_pulse_and_reads_0() {
        let mut b = Bench::new();
        b.write(CTRL, ctrl::SLU);
        b.cycle_checked(
            |u| host(u, CTRL, Some(ctrl::RST | ctrl::SLU)),
            |u| assert!(u.nic_reset.val(), "nic_reset in the cycle of the write"),
        );
        b.cycle_checked(|_| {}, |u| assert!(!u.nic_reset.val(), "one cycle only"));
        // The reset wins over the value written with it: CTRL is back to FD alone.
        assert_eq!(b.read(CTRL), ctrl::FD);
        assert!(!b.uut.ctrl_slu.val());
    }

    #[test]
    fn reset_restores_every_register_to_its_documented_value() {
        let mut b = Bench::new();
        // Move everything away from reset: configuration, mask, causes, statistics, irq.
        for r in nic_registers().filter(|r| is_config_register(r)) {
            // A tail inside its (by now long) ring.
            let value = if [RDT, TDT].contains(&r.offset) {
                1
            } else {
                !r.reset
            };
            b.write(r.offset, value);
            assert_ne!(b.read(r.offset), r.reset, "{}", r.name);
        }
        b.write(TDT, u32::MAX);
        assert_ne!(b.read(RINGERR), 0);
        b.write(CTRL, ctrl::SLU);
        b.write(IMS, icr::ALL);
        b.write(ICS, icr::ALL);
        b.cycle(every_event);
        assert!(b.irq());
        assert_ne!(b.read(STATUS), documented_reset(STATUS));

        b.write(CTRL, ctrl::RST);
        assert!(!b.irq(), "irq falls with the reset");
        for r in nic_registers() {
            // The FIFO sizes are build parameters (documented as 0).
            let expected = match r.offset {
                TXFIFO_BYTES => TX_FIFO,
                RXFIFO_BYTES => RX_FIFO,
                _ => r.reset,
            };
            assert_eq!(b.read(r.offset), expected, "{} after reset", r.name);
        }
        let u = &b.uut;
        assert!(!u.ctrl_slu.val());
        let outputs = [
            (RCTL, u.rctl.val()),
            (TCTL, u.tctl.val()),
            (RDBAL, u.rdbal.val()),
            (RDBAH, u.rdbah.val()),
            (RDLEN, u.rdlen.val()),
            (RDT, u.rdt.val()),
            (TDBAL, u.tdbal.val()),
            (TDBAH, u.tdbah.val()),
            (TDLEN, u.tdlen.val()),
            (TDT, u.tdt.val()),
        ];
        for (offset, value) in outputs {
            assert_eq!(
                value.to_u32(),
                documented_reset(offset),
                "{}",
                name_of(offset)
            );
        }
        assert_eq!(u.ipg.val().to_u32(), documented_reset(TIPG));
    }

    #[test]
    fn reset_stops_the_delay_and_itr_timers() {
        let mut b = Bench::new();
        b.write(TIDV, 1);
        b.write(RDTR, 1);
        b.write(ITR, 100);
        b.write(IMS, icr::TXQE);
        b.cycle(|u| {
            txqe(u);
            txdw_delayed(u);
            rx_frame(u);
        });
        assert!(b.irq());
        b.write(CTRL, ctrl::RST);
        // The delays would have expired by now; the ITR interval would still run.
        b.write(IMS, icr::ALL);
        b.irq_rises.clear();
        b.idle(2 * TIMER_UNIT);
        assert!(b.irq_rises.is_empty(), "no TXDW/RXT0 after the reset");
        assert_eq!(b.read(ICR), 0);
        let now = b.now;
        b.cycle(txqe);
        assert_eq!(b.irq_rises, vec![now], "ITR timer cleared: irq at once");
    }

    #[test]
    fn head_write_gives_a_pulse_with_the_value() {
        let mut b = Bench::new();
        b.write(RDLEN, 0x1000);
        b.write(TDLEN, 0x1000);
        b.uut.rdh.next = 7.into();
        b.uut.tdh.next = 9.into();
        assert_eq!(b.read(RDH), 7, "RDH reads the RX engine's head");
        assert_eq!(b.read(TDH), 9, "TDH reads the TX engine's head");
        for (offset, value) in [(RDH, 0x40), (TDH, 0x55)] {
            b.cycle_checked(
                |u| host(u, offset, Some(value)),
                |u| {
                    assert_eq!(u.rdh_write.val(), offset == RDH);
                    assert_eq!(u.tdh_write.val(), offset == TDH);
                    assert_eq!(u.head_wdata.val().to_u32(), value);
                },
            );
            b.cycle_checked(
                |_| {},
                |u| assert!(!u.rdh_write.val() && !u.tdh_write.val(), "one cycle only"),
            );
        }
        assert_eq!(b.read(RDH), 7, "the engine owns the head");
        assert_eq!(b.read(TDH), 9);
    }

    #[test]
    fn ring_bases_and_lengths_ignore_their_low_bits_as_on_the_8254x() {
        let mut b = Bench::new();
        for (offset, written, read) in [
            (TDBAL, 0x0001_2344, 0x0001_2340),
            (RDBAL, 0x0002_000F, 0x0002_0000),
            (TDLEN, 0x0000_01F0, 0x0000_0180),
            (RDLEN, 0x0000_007F, 0),
        ] {
            b.write(offset, written);
            assert_eq!(b.read(offset), read, "{}", name_of(offset));
        }
        assert_eq!(
            b.uut.tdbal.val().to_u32(),
            0x0001_2340,
            "the engine sees it too"
        );
        assert_eq!(b.uut.tdlen.val().to_u32(), 0x180);
    }

    /// Writes `value` to `offset`; returns (read back, head pulse, RINGERR, ICR.RING) and
    /// clears RINGERR, ICR and RINGERRC again.
    fn ring_write(b: &mut Bench, offset: u32, value: u32) -> (u32, bool, u32, bool, u32) {
        let mut pulse = false;
        b.cycle_checked(
            |u| host(u, offset, Some(value)),
            |u| pulse = u.rdh_write.val() || u.tdh_write.val(),
        );
        let read = b.read(offset);
        let err = b.read(RINGERR);
        let icr = b.read(ICR) & icr::RING != 0;
        let count = b.read(RINGERRC);
        b.write(RINGERR, u32::MAX);
        (read, pulse, err, icr, count)
    }

    #[test]
    fn a_head_or_tail_write_outside_the_ring_is_ignored_counted_and_raises_ring() {
        let mut b = Bench::new();
        b.write(IMS, icr::RING);
        let count = 8; // descriptors per ring below
        for (len, tail, head, bits) in [
            (TDLEN, TDT, TDH, (ringerr::TDT, ringerr::TDH)),
            (RDLEN, RDT, RDH, (ringerr::RDT, ringerr::RDH)),
        ] {
            b.write(len, count * 16);
            // Inside: taken, no error. 0 always is (an empty or unconfigured ring).
            for v in [0, 1, count - 1] {
                assert_eq!(ring_write(&mut b, tail, v), (v, false, 0, false, 0));
                let (_, pulse, err, irq, n) = ring_write(&mut b, head, v);
                assert_eq!(
                    (pulse, err, irq, n),
                    (true, 0, false, 0),
                    "{} = {v}",
                    name_of(head)
                );
            }
            b.write(tail, 3);
            for v in [count, count + 1, 0x8000, 0xFFFF, 0x1_0000, u32::MAX] {
                assert_eq!(
                    ring_write(&mut b, tail, v),
                    (3, false, bits.0, true, 1),
                    "{} = {v:#x}: kept 3",
                    name_of(tail)
                );
                let (_, pulse, err, irq, n) = ring_write(&mut b, head, v);
                assert_eq!(
                    (pulse, err, irq, n),
                    (false, bits.1, true, 1),
                    "{} = {v:#x}: never reaches the engine",
                    name_of(head)
                );
            }
        }
        // With no ring at all, only 0 is inside.
        b.write(TDT, 0);
        b.write(TDLEN, 0);
        assert_eq!(
            ring_write(&mut b, TDT, 1),
            (0, false, ringerr::TDT, true, 1)
        );
        assert!(b.irq_rises.len() > 1, "ICR.RING interrupts when enabled");
    }

    #[test]
    fn a_length_that_leaves_the_head_or_tail_outside_is_taken_and_flagged() {
        let mut b = Bench::new();
        b.write(TDLEN, 16 * 16);
        b.write(TDT, 12);
        let (read, _, err, irq, n) = ring_write(&mut b, TDLEN, 8 * 16);
        assert_eq!((read, err, irq, n), (8 * 16, ringerr::TDLEN, true, 1));
        assert_eq!(b.read(TDT), 12, "the tail is left for software to fix");
        b.write(TDT, 2);
        // The engine's head counts too.
        b.write(RDLEN, 16 * 16);
        b.uut.rdh.next = 9.into();
        let (_, _, err, _, _) = ring_write(&mut b, RDLEN, 8 * 16);
        assert_eq!(err, ringerr::RDLEN);
        b.uut.rdh.next = 0.into();
        let (_, _, err, _, _) = ring_write(&mut b, RDLEN, 16 * 16);
        assert_eq!(err, 0);
        // RINGERR is sticky until written with 1s, and the reset clears it.
        b.write(TDT, 0x100);
        b.write(RDT, 0x100);
        assert_eq!(b.read(RINGERR), ringerr::TDT | ringerr::RDT);
        b.write(RINGERR, ringerr::TDT);
        assert_eq!(b.read(RINGERR), ringerr::RDT);
        b.write(CTRL, ctrl::RST);
        assert_eq!(b.read(RINGERR), 0);
    }

    #[test]
    fn dmaerr_reads_the_halted_rings_and_ones_restart_them() {
        let mut b = Bench::new();
        assert_eq!(b.read(DMAERR), 0);
        b.uut.tx_halted.next = true;
        assert_eq!(b.read(DMAERR), DMAERR_TX_HALTED);
        b.uut.rx_halted.next = true;
        assert_eq!(b.read(DMAERR), DMAERR_TX_HALTED | DMAERR_RX_HALTED);
        b.uut.dmaerr_addr.next = 0xDEAD_B000u64.into();
        assert_eq!(b.read(DMAERR_ADDR), 0xDEAD_B000);
        for (value, tx, rx) in [
            (DMAERR_TX_HALTED, true, false),
            (DMAERR_RX_HALTED, false, true),
            (DMAERR_TX_HALTED | DMAERR_RX_HALTED, true, true),
            (0, false, false),
        ] {
            b.cycle_checked(
                |u| host(u, DMAERR, Some(value)),
                |u| assert_eq!((u.restart_tx.val(), u.restart_rx.val()), (tx, rx)),
            );
            b.cycle_checked(
                |_| {},
                |u| assert!(!u.restart_tx.val() && !u.restart_rx.val(), "one cycle only"),
            );
        }
    }

    #[test]
    fn engine_state_and_fifo_sizes_read_their_sources() {
        let mut b = Bench::new();
        b.uut.tx_state.next = 5.into();
        b.uut.rx_state.next = 8.into();
        assert_eq!(
            b.read(ENGINE_STATE),
            (5 << ENGINE_STATE_TX_SHIFT) | (8 << ENGINE_STATE_RX_SHIFT)
        );
        assert_eq!(b.read(TXFIFO_BYTES), TX_FIFO);
        assert_eq!(b.read(RXFIFO_BYTES), RX_FIFO);
    }

    #[test]
    fn unimplemented_offsets_read_0_and_ignore_writes() {
        let mut b = Bench::new();
        let holes = [0x0004, 0x00CC, 0x0104, 0x2814, 0x4F28, 0xFFFC];
        for offset in holes {
            assert!(nic_registers().all(|r| r.offset != offset));
            b.write(offset, u32::MAX);
            assert_eq!(b.read(offset), 0, "{offset:#06x}");
        }
        for r in nic_registers().filter(|r| r.access == Access::Rw) {
            assert_eq!(b.read(r.offset), r.reset, "{} untouched", r.name);
        }
        assert_eq!(b.read(ICR), 0);
    }

    #[test]
    fn rdata_is_valid_the_cycle_after_the_read_and_holds() {
        let mut b = Bench::new();
        b.write(RCTL, nic::rctl::EN);
        b.cycle_checked(
            |u| host(u, RCTL, None),
            |u| assert_eq!(u.host.rdata.val().to_u32(), 0, "not yet"),
        );
        assert_eq!(b.uut.host.rdata.val().to_u32(), nic::rctl::EN);
        b.write(RCTL, 0);
        assert_eq!(
            b.uut.host.rdata.val().to_u32(),
            nic::rctl::EN,
            "a write leaves rdata"
        );
    }

    // ---- statistics ----

    #[test]
    fn statistics_count_their_events() {
        #[derive(Clone, Copy)]
        enum Unit {
            Frames,
            Octets,
        }
        use Unit::{Frames, Octets};
        type Drive = fn(&mut NicRegs, u16);
        let cases: [(Drive, &[(u32, Unit)]); 11] = [
            (|u, _| u.ev_crc_err.next = true, &[(CRCERRS, Frames)]),
            (|u, _| u.ev_rx_er.next = true, &[(RXERRC, Frames)]),
            (|u, _| u.ev_missed.next = true, &[(MPC, Frames)]),
            (
                |u, n| {
                    u.ev_rx_good.next = true;
                    u.ev_rx_good_bytes.next = (n as u64).into();
                },
                &[(GPRC, Frames), (GORCL, Octets)],
            ),
            (
                |u, n| {
                    u.ev_tx_good.next = true;
                    u.ev_tx_good_bytes.next = (n as u64).into();
                },
                &[
                    (GPTC, Frames),
                    (GOTCL, Octets),
                    (TPT, Frames),
                    (TOTL, Octets),
                ],
            ),
            (
                |u, n| {
                    u.ev_rx_frame.next = true;
                    u.ev_rx_frame_bytes.next = (n as u64).into();
                },
                &[(TPR, Frames), (TORL, Octets)],
            ),
            (|u, _| u.ev_no_buffer.next = true, &[(RNBC, Frames)]),
            (|u, _| u.ev_runt.next = true, &[(RUC, Frames)]),
            (|u, _| u.ev_oversize.next = true, &[(ROC, Frames)]),
            (|u, _| u.ev_tx_drop.next = true, &[(TDEC, Frames)]),
            (|u, _| u.ev_rx_dma_drop.next = true, &[(RDFC, Frames)]),
        ];
        let lengths = [nic::MIN_FRAME as u16, 100, nic::MAX_FRAME as u16];
        let octets: u32 = lengths.iter().map(|&n| n as u32).sum();
        let mut b = Bench::new();
        for (drive, counted) in cases {
            for n in lengths {
                b.cycle(|u| drive(u, n));
                b.idle(1);
            }
            for s in STATISTICS {
                let expected = match counted.iter().find(|(o, _)| *o == s) {
                    Some((_, Frames)) => lengths.len() as u32,
                    Some((_, Octets)) => octets,
                    None => 0,
                };
                let counting: Vec<_> = counted.iter().map(|(o, _)| name_of(*o)).collect();
                assert_eq!(
                    b.read(s),
                    expected,
                    "{} (events of {counting:?})",
                    name_of(s)
                );
            }
        }
    }

    #[test]
    fn statistics_clear_on_read_and_saturate() {
        let mut b = Bench::new();
        // 65538 frames of 65535 octets: more than 2^32 - 1 octets.
        let frames = (u32::MAX / u16::MAX as u32) as u64 + 2;
        for _ in 0..frames {
            b.cycle(|u| {
                u.ev_rx_good.next = true;
                u.ev_rx_good_bytes.next = (u16::MAX as u64).into();
            });
        }
        assert_eq!(b.read(GORCL), u32::MAX, "saturated, not wrapped");
        assert_eq!(b.read(GORCL), 0, "cleared by the read");
        assert_eq!(b.read(GPRC), frames as u32);
        assert_eq!(b.read(GPRC), 0);
    }

    #[test]
    fn narrow_statistics_saturate_at_their_width_and_read_0_above() {
        // An 8-bit build (`counter_max` 0xFF).
        let mut b = Bench::with_counter_max(0xFF);
        for _ in 0..300 {
            b.cycle(|u| {
                u.ev_rx_good.next = true;
                u.ev_rx_good_bytes.next = 64.into();
            });
        }
        assert_eq!(b.read(GPRC), 0xFF, "300 frames saturate at 0xFF");
        assert_eq!(b.read(GORCL), 0xFF, "19200 octets saturate at 0xFF");
        assert_eq!(b.read(GPRC), 0, "cleared by the read");
        // One event of more than the width at once saturates too.
        b.cycle(|u| {
            u.ev_tx_good.next = true;
            u.ev_tx_good_bytes.next = 0x1234.into();
        });
        assert_eq!(b.read(GOTCL), 0xFF);
        assert_eq!(b.read(GPTC), 1);
        b.cycle(|u| {
            u.ev_tx_good.next = true;
            u.ev_tx_good_bytes.next = 0xFE.into();
        });
        assert_eq!(b.read(GOTCL), 0xFE, "below the width: the exact count");
    }

    #[test]
    fn statistic_event_in_the_cycle_of_its_read_is_kept() {
        let mut b = Bench::new();
        b.cycle(|u| u.ev_crc_err.next = true);
        b.cycle(|u| u.ev_crc_err.next = true);
        let crc_err = |u: &mut NicRegs| u.ev_crc_err.next = true;
        assert_eq!(b.read_with(CRCERRS, crc_err), 2);
        assert_eq!(b.read(CRCERRS), 1, "the event of the read's cycle");
        assert_eq!(b.read(CRCERRS), 0);
    }

    // ---- interrupt causes and mask ----

    #[test]
    fn icr_read_clears_and_returns_the_causes() {
        let mut b = Bench::new();
        b.cycle(|u| u.c_txqe.next = true);
        b.cycle(|u| u.c_rxo.next = true);
        assert_eq!(b.read(ICR), icr::TXQE | icr::RXO);
        assert_eq!(b.read(ICR), 0);
    }

    #[test]
    fn icr_cause_raised_during_the_read_stays_set() {
        let mut b = Bench::new();
        b.cycle(txqe);
        assert_eq!(b.read_with(ICR, |u| u.c_rxdmt0.next = true), icr::TXQE);
        assert_eq!(b.read(ICR), icr::RXDMT0);
        assert_eq!(b.read(ICR), 0);
    }

    #[test]
    fn each_cause_input_sets_its_icr_bit() {
        let cases: [(Pulse, u32); 6] = [
            (|u| u.c_txdw.next = true, icr::TXDW),
            (|u| u.c_txqe.next = true, icr::TXQE),
            (|u| u.c_rxdmt0.next = true, icr::RXDMT0),
            (|u| u.c_rxo.next = true, icr::RXO),
            (|u| u.c_nic_dma.next = true, icr::NIC_DMA),
            // TIDV and RDTR are 0: at once.
            (|u| u.c_rx_frame.next = true, icr::RXT0),
        ];
        let mut b = Bench::new();
        for (pulse, bit) in cases {
            b.cycle(pulse);
            assert_eq!(b.read(ICR), bit);
        }
    }

    #[test]
    fn ics_sets_causes() {
        let mut b = Bench::new();
        b.write(ICS, icr::RXO);
        assert_eq!(b.read(ICR), icr::RXO);
        b.write(ICS, u32::MAX);
        assert_eq!(b.read(ICR), icr::ALL, "only the implemented causes exist");
        b.write(IMS, icr::TXQE);
        b.write(ICS, icr::TXQE);
        assert!(b.irq(), "a software-set cause interrupts like any other");
    }

    #[test]
    fn ims_imc_mask_causes() {
        let mut b = Bench::new();
        b.cycle(txqe);
        b.cycle(|u| u.c_rxo.next = true);
        assert!(!b.irq(), "masked");
        b.write(IMS, icr::TXQE);
        assert!(b.irq(), "unmasking a pending cause interrupts");
        assert_eq!(b.read(IMS), icr::TXQE);
        b.write(IMS, icr::RXDMT0);
        assert_eq!(
            b.read(IMS),
            icr::TXQE | icr::RXDMT0,
            "IMS sets, keeps the others"
        );
        b.write(IMC, icr::TXQE);
        assert!(!b.irq(), "masking the only unmasked cause drops irq");
        assert_eq!(b.read(IMS), icr::RXDMT0);
        assert_eq!(
            b.read(ICR),
            icr::TXQE | icr::RXO,
            "the mask leaves ICR alone"
        );
        b.write(IMS, u32::MAX);
        assert_eq!(b.read(IMS), icr::ALL, "only the implemented causes exist");
        b.write(IMC, u32::MAX);
        assert_eq!(b.read(IMS), 0);
    }

    #[test]
    fn irq_falls_when_icr_is_read() {
        let mut b = Bench::new();
        b.write(IMS, icr::ALL);
        b.cycle(|u| u.c_nic_dma.next = true);
        assert!(b.irq(), "at the edge the cause arrives");
        assert_eq!(b.read(ICR), icr::NIC_DMA);
        assert!(!b.irq(), "at the edge of the read");
    }

    fn level_sets_icr_on_rising_edge_only(level: fn(&mut NicRegs, bool), bit: u32) {
        let mut b = Bench::new();
        b.cycle(|u| level(u, true));
        b.idle(10);
        assert_eq!(b.read(ICR), bit);
        b.idle(10);
        assert_eq!(
            b.read(ICR),
            0,
            "a level that stays high sets the cause once"
        );
        b.cycle(|u| level(u, false));
        b.idle(10);
        assert_eq!(b.read(ICR), 0, "the falling edge sets nothing");
        b.cycle(|u| level(u, true));
        assert_eq!(b.read(ICR), bit, "the next rising edge");
    }

    #[test]
    fn dmac_level_sets_icr_on_rising_edge_only() {
        level_sets_icr_on_rising_edge_only(|u, v| u.c_dmac.next = v, icr::DMAC);
    }

    #[test]
    fn iommu_level_sets_icr_on_rising_edge_only() {
        level_sets_icr_on_rising_edge_only(|u, v| u.c_iommu.next = v, icr::IOMMU);
    }

    #[test]
    fn irqc_counts_interrupts() {
        let mut b = Bench::new();
        b.write(IMS, icr::TXQE);
        for _ in 0..3 {
            b.cycle(txqe);
            b.read(ICR);
        }
        assert_eq!(b.irq_rises.len(), 3);
        assert_eq!(b.read(IRQC), 3);
        assert_eq!(b.read(IRQC), 0);
    }

    // ---- moderation ----

    /// A cause in every cycle the handler does not spend reading ICR, which it does as soon as
    /// `irq` is up. Returns the gaps between the rising edges of `irq`.
    fn gaps_under_a_storm(itr: u32, cycles: u64) -> Vec<u64> {
        let mut b = Bench::new();
        b.write(ITR, itr);
        b.write(IMS, icr::TXQE);
        for _ in 0..cycles {
            if b.irq() {
                b.read(ICR);
            } else {
                b.cycle(txqe);
            }
        }
        b.irq_rises.windows(2).map(|w| w[1] - w[0]).collect()
    }

    #[test]
    fn itr_zero_interrupts_at_once_after_every_clear() {
        let gaps = gaps_under_a_storm(0, 200);
        assert!(gaps.len() > 50);
        // Rise, ICR read, the next cause: the shortest possible gap.
        assert!(gaps.iter().all(|&g| g == 2), "{gaps:?}");
    }

    #[test]
    fn itr_spaces_interrupts_by_the_interval() {
        let itr = 3;
        let interval = itr as u64 * ITR_UNIT;
        let gaps = gaps_under_a_storm(itr, 6 * interval);
        assert!(gaps.len() >= 4, "{gaps:?}");
        assert!(
            gaps.iter().all(|g| (interval..=interval + 2).contains(g)),
            "interval {interval}: {gaps:?}"
        );
    }

    #[test]
    fn itr_uses_bits_15_to_0() {
        let high = 1 << INTERVAL_BITS;
        let gaps = gaps_under_a_storm(high | 1, 10 * ITR_UNIT);
        assert!(
            gaps.iter().all(|g| (ITR_UNIT..=ITR_UNIT + 2).contains(g)),
            "{gaps:?}"
        );
    }

    // ---- interrupt delay timers ----

    #[test]
    fn tidv_zero_raises_txdw_at_once() {
        let mut b = Bench::new();
        let arrivals = cause_arrivals(&mut b, txdw_delayed, &[5], icr::TXDW, 50);
        assert_eq!(arrivals, vec![5]);
    }

    #[test]
    fn txdw_without_ide_is_raised_at_once_whatever_tidv() {
        let mut b = Bench::new();
        b.write(TIDV, 4);
        let arrivals = cause_arrivals(&mut b, |u| u.c_txdw.next = true, &[5], icr::TXDW, 50);
        assert_eq!(arrivals, vec![5]);
    }

    #[test]
    fn tidv_delays_txdw_until_descriptors_stop() {
        let mut b = Bench::new();
        b.write(TIDV, 2);
        let pulses = [0, 100, 200];
        let arrivals = cause_arrivals(&mut b, txdw_delayed, &pulses, icr::TXDW, 1000);
        assert_eq!(arrivals, vec![200 + 2 * TIMER_UNIT]);
    }

    #[test]
    fn tadv_bounds_the_delay_of_a_stream_of_descriptors() {
        let mut b = Bench::new();
        b.write(TIDV, 1);
        b.write(TADV, 3);
        let pulses: Vec<u64> = (0..10).map(|i| i * 100).collect();
        let arrivals = cause_arrivals(&mut b, txdw_delayed, &pulses, icr::TXDW, 1500);
        // TADV from the first descriptor after each TXDW; after the last one, TIDV.
        let (packet, absolute) = (TIMER_UNIT, 3 * TIMER_UNIT);
        assert_eq!(arrivals, vec![absolute, 400 + absolute, 900 + packet]);
    }

    #[test]
    fn rdtr_zero_raises_rxt0_at_once() {
        let mut b = Bench::new();
        b.write(RADV, 2);
        let arrivals = cause_arrivals(&mut b, rx_frame, &[5], icr::RXT0, 50);
        assert_eq!(arrivals, vec![5]);
    }

    #[test]
    fn rdtr_delays_rxt0_until_frames_stop() {
        let mut b = Bench::new();
        b.write(RDTR, 2);
        let pulses = [0, 100, 200];
        let arrivals = cause_arrivals(&mut b, rx_frame, &pulses, icr::RXT0, 1000);
        assert_eq!(arrivals, vec![200 + 2 * TIMER_UNIT]);
    }

    #[test]
    fn radv_bounds_the_delay_of_a_stream_of_frames() {
        let mut b = Bench::new();
        b.write(RDTR, 1);
        b.write(RADV, 3);
        let pulses: Vec<u64> = (0..10).map(|i| i * 100).collect();
        let arrivals = cause_arrivals(&mut b, rx_frame, &pulses, icr::RXT0, 1500);
        let (packet, absolute) = (TIMER_UNIT, 3 * TIMER_UNIT);
        assert_eq!(arrivals, vec![absolute, 400 + absolute, 900 + packet]);
    }

    // ---- the interrupt path against a model ----

    /// One delay scheme (TIDV/TADV or RDTR/RADV) with its timers as deadlines.
    #[derive(Clone, Copy, Debug, Default)]
    struct DelayModel {
        packet_units: u32,
        absolute_units: u32,
        packet_deadline: Option<u64>,
        absolute_deadline: Option<u64>,
    }

    impl DelayModel {
        /// Cycle `now`, with a descriptor written back or not: does the cause fire now?
        fn step(&mut self, now: u64, written_back: bool) -> bool {
            let expired = self.packet_deadline == Some(now) || self.absolute_deadline == Some(now);
            let packet = (self.packet_units & INTERVAL_MASK) as u64 * TIMER_UNIT;
            let absolute = (self.absolute_units & INTERVAL_MASK) as u64 * TIMER_UNIT;
            if expired || (written_back && packet == 0) {
                self.packet_deadline = None;
                self.absolute_deadline = None;
                return true;
            }
            if written_back {
                self.packet_deadline = Some(now + packet);
                if absolute != 0 && self.absolute_deadline.is_none() {
                    self.absolute_deadline = Some(now + absolute);
                }
            }
            false
        }
    }

    /// The interrupt path as the module documentation describes it, one cycle at a time.
    #[derive(Debug, Default)]
    struct IrqModel {
        icr: u32,
        ims: u32,
        itr: u32,
        tx: DelayModel,
        rx: DelayModel,
        dmac: bool,
        iommu: bool,
        irq: bool,
        /// The first cycle in which `irq` may rise again.
        may_rise_at: u64,
        rises: u32,
    }

    #[derive(Clone, Copy, Debug, Default)]
    struct Inputs {
        txdw: bool,
        txdw_delayed: bool,
        rx_frame: bool,
        txqe: bool,
        rxo: bool,
        dmac: bool,
        iommu: bool,
        /// (offset, Some(wdata) for a write)
        access: Option<(u32, Option<u32>)>,
    }

    impl IrqModel {
        /// Cycle `now`; returns what a read in it returns.
        fn step(&mut self, now: u64, i: &Inputs) -> Option<u32> {
            let mut causes = 0;
            if i.txdw | self.tx.step(now, i.txdw_delayed) {
                causes |= icr::TXDW;
            }
            if self.rx.step(now, i.rx_frame) {
                causes |= icr::RXT0;
            }
            if i.txqe {
                causes |= icr::TXQE;
            }
            if i.rxo {
                causes |= icr::RXO;
            }
            if i.dmac && !self.dmac {
                causes |= icr::DMAC;
            }
            if i.iommu && !self.iommu {
                causes |= icr::IOMMU;
            }
            (self.dmac, self.iommu) = (i.dmac, i.iommu);
            let mut read = None;
            let mut icr_read = false;
            let mut itr_written = None;
            match i.access {
                Some((ICS, Some(w))) => causes |= w & icr::ALL,
                Some((IMS, Some(w))) => self.ims |= w & icr::ALL,
                Some((IMC, Some(w))) => self.ims &= !w,
                Some((ITR, Some(w))) => itr_written = Some(w),
                Some((TIDV, Some(w))) => self.tx.packet_units = w,
                Some((TADV, Some(w))) => self.tx.absolute_units = w,
                Some((RDTR, Some(w))) => self.rx.packet_units = w,
                Some((RADV, Some(w))) => self.rx.absolute_units = w,
                Some((ICR, None)) => {
                    read = Some(self.icr);
                    icr_read = true;
                }
                Some((IMS, None)) => read = Some(self.ims),
                Some((ITR, None)) => read = Some(self.itr),
                Some(other) => panic!("the model does not do {other:?}"),
                None => {}
            }
            self.icr = if icr_read { causes } else { self.icr | causes };
            if self.icr & self.ims == 0 {
                self.irq = false;
            } else if !self.irq && now >= self.may_rise_at {
                self.irq = true;
                self.rises += 1;
                self.may_rise_at = now + (self.itr & INTERVAL_MASK) as u64 * ITR_UNIT + 1;
            }
            // A new interval counts from the next rise.
            self.itr = itr_written.unwrap_or(self.itr);
            read
        }
    }

    #[test]
    fn interrupt_path_matches_the_model_on_random_stimulus() {
        let mut rng = StdRng::seed_from_u64(0x1C2);
        let mut b = Bench::new();
        let mut model = IrqModel::default();
        let mut levels = (false, false);
        for now in 0..20_000u64 {
            if rng.gen_bool(0.01) {
                levels.0 = !levels.0;
            }
            if rng.gen_bool(0.01) {
                levels.1 = !levels.1;
            }
            let word = rng.gen_range(0..=u32::MAX);
            let small = rng.gen_range(0..4);
            let access = if b.irq() && rng.gen_bool(0.3) {
                Some((ICR, None))
            } else {
                match rng.gen_range(0..40) {
                    0..=2 => Some((ICR, None)),
                    3 => Some((IMS, None)),
                    4 => Some((ITR, None)),
                    5 => Some((ICS, Some(word & rng.gen_range(0..=u32::MAX)))),
                    6 => Some((IMS, Some(word))),
                    7 => Some((IMC, Some(word))),
                    8 => Some((ITR, Some(small))),
                    9 => Some((TIDV, Some(small))),
                    10 => Some((TADV, Some(small))),
                    11 => Some((RDTR, Some(small))),
                    12 => Some((RADV, Some(small))),
                    _ => None,
                }
            };
            let inputs = Inputs {
                txdw: rng.gen_bool(0.005),
                txdw_delayed: rng.gen_bool(0.01),
                rx_frame: rng.gen_bool(0.01),
                txqe: rng.gen_bool(0.005),
                rxo: rng.gen_bool(0.005),
                dmac: levels.0,
                iommu: levels.1,
                access,
            };
            let expected = model.step(now, &inputs);
            b.cycle(|u| {
                u.c_txdw.next = inputs.txdw;
                u.c_txdw_delayed.next = inputs.txdw_delayed;
                u.c_rx_frame.next = inputs.rx_frame;
                u.c_txqe.next = inputs.txqe;
                u.c_rxo.next = inputs.rxo;
                u.c_dmac.next = inputs.dmac;
                u.c_iommu.next = inputs.iommu;
                if let Some((offset, wdata)) = inputs.access {
                    host(u, offset, wdata);
                }
            });
            assert_eq!(b.irq(), model.irq, "irq after cycle {now} ({inputs:?})");
            if let Some(value) = expected {
                assert_eq!(
                    b.uut.host.rdata.val().to_u32(),
                    value,
                    "read in cycle {now}"
                );
            }
        }
        assert!(model.rises > 100, "the stimulus interrupts often");
        assert_eq!(b.read(IRQC), model.rises);
    }

    #[test]
    fn generates_verilog() {
        let mut uut = NicRegs::new(TX_FIFO, RX_FIFO, u32::MAX, false);
        uut.connect_all();
        let verilog = generate_verilog(&uut);
        assert!(verilog.contains("module top"));
    }
}
