//! The IOMMU (docs/iommu.md): every DMA requester's address goes through it on its way to the
//! arbiter. A subset of the RISC-V IOMMU with Sv32 first-stage page tables; registers, device
//! context, fault record and commands are laid out in `regs::iommu`.
//!
//! ```text
//!  device side: up (DmaTarget, IOVAs)                       bus side: dn (DmaPort, PAs)
//!                ┌────────┐   S1    ┌──────────────┐   S2   ┌────────────┐
//!  up.valid ────►│ input  │ head ──►│ lookup: mode,│──reg──►│ go / fault │──► dn.valid,addr,
//!  addr,we,wdata │ buffer │         │ DC cache,    │        │ / walker   │    we,wdata,last
//!  last,dev      │2 entries│ ◄─┐    │ IOTLB, RAM   │        │ (S2 held)  │◄── dn.ready
//!  up.ready ◄─reg┤        │    │    │ range, perm  │        └─────┬──────┘    (= grant)
//!                └────────┘    └────┤ replay: S2's │◄── S2 ──────┘ replay
//!                                   │ own beat     │
//!  up.resp, fault ◄── registers: dev beat granted last cycle, or a fault (S2's, poison)
//!  up.rdata ◄──────── dn.rdata (read data), or the faulting IOVA
//!                   ┌──────────────────┐ config  ┌──────────────────────┐
//!  sel/offset/we ──►│ IommuRegs        ├────────►│ walker FSM: DC fetch,│── own beats on dn (DC,
//!  wdata, rdata ◄───│ (registers.rs):  │         │ PTE walk, fault      │   PTE, record, command,
//!  irq ◄── CIP|FIP  │ RISC-V offsets,  │◄────────┤ record, command      │   fence)
//!                   │ counters[8]      │ events  │ queue                │── mode_bare, state,
//!                   └──────────────────┘         └──────────────────────┘   own_beat, dev_beat,
//!                                                              dn_iova, dn_dev, iotlb_occupancy
//! ```
//!
//! **The pipeline.** A device beat accepted on `up` goes into a 2-entry input buffer; `up.ready`
//! is a register function (buffer not full, and low in the cycle of a fault response). The
//! buffer's head is S1: the mode, the device-context cache, the IOTLB, the RAM range and the
//! permission are looked up from it and the decision is registered into S2 with the beat
//! (go with the physical address, fault with its cause, needs a device-context fetch, needs a
//! walk). S2 needs little logic: in `Idle`, with no command pending (commands still go before
//! device beats), a go drives `dn` (valid, PA, `last` the beat's own), a fault starts the
//! fault record, a miss starts the walker. S2 leaves when `dn.ready` grants its beat, and the
//! head moves up in the same cycle, so hits stream at **one beat per cycle**. Latency with an
//! idle arbiter: accepted in t, looked up in t + 1, granted in t + 2, answered in t + 3 (3
//! cycles, `HIT_LATENCY` in the tests; a beat that walks a 2-level table: 15).
//!
//! **Responses.** A device beat granted on `dn` in t is answered in t + 1 (`up.resp`, the
//! RAM's word passed through from `dn.rdata`); a fault decided for S2 is answered the cycle
//! after its record is written (or dropped), with `up.fault` and `rdata` = its IOVA. One
//! response per cycle at most, in order (everything leaves through S2).
//!
//! **Walk and replay.** The walker runs with S2 held (S2 presents nothing while the walker
//! owns `dn`); when it returns (context cached, leaf installed, or a stale walk abandoned) S2
//! is looked up again (*replay*: S2's IOVA recirculates into the lookup, one cycle) and then
//! decides. S2's decision is also thrown away (replayed) after every command that changes
//! the IOTLB or the device-context cache (`IOTINVAL.VMA`, `IODIR.INVAL_DDT`) and after every
//! `DDTP` write, including a lookup made in the very cycle of the change: no beat looked up
//! before an invalidation or a `DDTP` change is let out after it.
//!
//! **Poison.** After a fault, every beat accepted before the fault response was presented (in
//! the buffer, or accepted in the cycle the fault is done) is answered with a fault too,
//! without a record and without being counted in `FAULTS`, and never reaches `dn`; beats
//! accepted after the fault response are translated normally. (No counter: the register map
//! has none for them; the device counts them as its own outstanding beats.)
//!
//! **What changed from the unpipelined IOMMU.** It translated a request combinationally in
//! `Idle` and drove the bus in the same cycle (`up_grant` was the arbiter's grant: a hit added
//! no cycle). Now every beat takes at least 3 cycles to its response but hits go back to
//! back; the walker's retry is a replay cycle (a walked beat takes 4 cycles more than before:
//! buffer, S2, and one replay per slow path); a fault poisons the beats behind it; a
//! `DDTP` write or an invalidation also replays S2.
//!
//! **The slow paths** take the request off the bus (the device waits: no grant):
//! * device context not cached: read the 8-byte context at `DDT + dev * 8` (fault 257 if outside
//!   RAM, 258 if V = 0, 259 if reserved bits are set), cache it, retry;
//! * IOTLB miss: the Sv32 walk of the RISC-V privileged spec, two PTE reads at most, with the
//!   checks in the spec's order (PTE address in RAM, V and the W-without-R encoding, leaf at
//!   level 0, superpage alignment, R for reads / W for writes, A and for writes D, final address
//!   in RAM). A/D are never set by hardware. A success is installed in the IOTLB and retried;
//! * a fault (any of the above, mode Off = 256, a physical address outside RAM = 5/7): the
//!   access is not performed. The 32-byte record goes into the fault queue if it is on, not
//!   full and inside RAM (else it is counted as dropped and FQOF / FQMF set; while either is
//!   set, later records are dropped too, as the specification says); then the fault
//!   response goes to the device (`up.resp` + `up.fault`), which ends its transfer with an
//!   error. The record is in
//!   memory before the device sees the fault.
//! * a command at `CQH != CQT` has priority over device requests (commands are few and short):
//!   fetch 16 bytes, execute (IOTINVAL.VMA, IODIR.INVAL_DDT take effect at once; IOFENCE.C
//!   then writes DATA to ADDR and/or raises CIP), advance `CQH`. An unknown command sets
//!   CMD_ILL and stops the queue there.
//!
//! **Changing the tables under DMA.** Nothing the walker read under an older `DDTP` is ever
//! cached, used for a grant or reported as a fault. Writing `DDTP` flushes the device-context
//! cache and the IOTLB at once (a hit granted in the cycle of the write belongs to the old
//! value, like any access before it), and marks a device-context fetch or page walk in
//! flight, or starting in that cycle, `stale`: in its next cycle it returns to Idle (issuing
//! no further read) without installing or faulting, counted
//! in `WALKS_RESTARTED`, and the device's beat, held in S2, is looked up again (replay) under
//! the new `DDTP`; so is a beat in S2 that had been looked up before the write. Software sees nothing else: `DDTP` may be written at any time,
//! and no BUSY bit holds the write back. A fault or install decided in the cycle of the write
//! itself belongs to the old value (an install is then flushed at the same edge; a fault is
//! reported, being an answer to an access made under the old tables).
//! Commands and walks are run by the one state machine, so an `IOTINVAL.VMA` or
//! `IODIR.INVAL_DDT` never overlaps a walk: a walk that read the old entry finishes first and
//! the command removes what it installed before the device's next access is translated
//! (commands go before device beats, and S2 is looked up again after the command), so after
//! an `IOFENCE.C` behind the command has completed, only the new tables are used.
//!
//! **PPN width.** The walker's table PPN and the IOTLB's entries keep only the PPN bits a page
//! inside RAM needs: a table or page outside RAM faults before it is used or installed (an
//! IOTLB hit is still checked against the RAM size, for the rest of a superpage). The cached
//! device contexts keep the same bits of their root PPN and one bit that says it is outside
//! RAM. The registers (DDTP, CQB, FQB) keep all 22 bits.
//!
//! **Registers and counters** are the block `registers::IommuRegs` (docs/iommu.md, "Queues and
//! registers"); the counters (`regs::iommu::COUNTERS`) are an array of the register-file counter
//! cells there, `counter_max` wide (the build's `regs::SocConfig::counter_bits`: 32 in
//! simulation), wrapping to 0 after `counter_max`, cleared by CNT_CTRL bit 0.

pub mod iotlb;
pub mod registers;

use crate::dma::port::{DmaPort, DmaTarget};
use crate::regfile::RegPort;
use iotlb::Iotlb;
use registers::IommuRegs;
use regs::iommu::{cmd, dc, ddtp, fault};
use regs::iommu_cause::FaultCause;
use rust_hdl::prelude::*;

/// Offsets inside the IOMMU's 4 KiB register window.
pub type RegOffset = Bits<12>;

/// Walker states, in the order of their encoding (the `state` pin); their names are also in
/// `regs::iommu::STATE_NAMES`.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum IommuState {
    Idle,
    DcFetch,
    DcCheck,
    PteRead1,
    PteWait1,
    PteRead0,
    PteWait0,
    FaultStart,
    FaultWrite,
    FaultDone,
    CmdFetch,
    CmdExec,
    FenceWrite,
    CmdDone,
}

const DEVICES: usize = 1 << regs::iommu::DEVICE_ID_BITS;

#[derive(LogicBlock)]
pub struct Iommu<const N: usize> {
    pub clock: Signal<In, Clock>,
    // ---- device side (target: the channel mux's beats, with IOVAs) ----
    pub up: DmaTarget,
    // ---- bus side (initiator: the arbiter's DMA port, physical addresses) ----
    pub dn: DmaPort,
    /// The IOVA of the device beat S2 presents on `dn` (valid with `dev_beat`).
    pub dn_iova: Signal<Out, Bits<32>>,
    /// The device ID of the device beat S2 presents on `dn` (valid with `dev_beat`).
    pub dn_dev: Signal<Out, Bits<2>>,
    // ---- registers ----
    /// Host side (`RegPort`: an access in the cycle `sel` is high, read data the cycle after).
    pub host: RegPort<RegOffset>,
    // ---- status ----
    pub irq: Signal<Out, Bit>,
    /// Global mode is Bare: device addresses are physical (the memcpy channel then checks
    /// them against the RAM size itself).
    pub mode_bare: Signal<Out, Bit>,
    pub state: Signal<Out, IommuState>,
    /// This cycle's granted bus beat is the IOMMU's own (DC, PTE, record, command, fence).
    pub own_beat: Signal<Out, Bit>,
    /// This cycle's granted bus beat is a translated device beat (S2's: `dn_iova`, `dn_dev`).
    pub dev_beat: Signal<Out, Bit>,
    /// Valid IOTLB entries.
    pub iotlb_occupancy: Signal<Out, Bits<8>>,
    // ==== blocks ====
    iotlb: Iotlb<N>,
    // ==== registers (the software-visible ones) ====
    regs: IommuRegs<N>,
    // ==== device-context cache, one entry per device ID ====
    dc_valid: [DFF<Bit>; DEVICES],
    dc_sv32: [DFF<Bit>; DEVICES],
    /// The root table's PPN, cut to `ram_ppn_mask`; `dc_outside` says it was not below RAM's
    /// page count (the walk then faults).
    dc_ppn: [DFF<Bits<22>>; DEVICES],
    dc_outside: [DFF<Bit>; DEVICES],
    // ==== walker ====
    fsm: DFF<IommuState>,
    req_dev: DFF<Bits<2>>,
    req_iova: DFF<Bits<32>>,
    req_we: DFF<Bit>,
    table_ppn: DFF<Bits<22>>,
    f_cause: DFF<Bits<12>>,
    issued: DFF<Bits<4>>,
    received: DFF<Bits<4>>,
    word0: DFF<Bits<32>>,
    word1: DFF<Bits<32>>,
    word2: DFF<Bits<32>>,
    own_rvalid: DFF<Bit>,
    /// The device's request walked and is being retried: its hit is not counted again.
    retried: DFF<Bit>,
    /// `DDTP` was written after the device-context fetch or page walk in flight began: what
    /// it read belongs to the old tables, so it ends without installing or faulting.
    stale: DFF<Bit>,
    // ==== the device pipeline: input buffer (2 entries, b0 the head = S1) ====
    b_count: DFF<Bits<2>>,
    b0_addr: DFF<Bits<32>>,
    b0_we: DFF<Bit>,
    b0_wdata: DFF<Bits<32>>,
    b0_last: DFF<Bit>,
    b0_dev: DFF<Bits<2>>,
    b1_addr: DFF<Bits<32>>,
    b1_we: DFF<Bit>,
    b1_wdata: DFF<Bits<32>>,
    b1_last: DFF<Bit>,
    b1_dev: DFF<Bits<2>>,
    // ==== S2: the beat (`req_iova`, `req_we`, `req_dev` above, shared with the walker) and
    // what the lookup decided for it ====
    s2_valid: DFF<Bit>,
    s2_wdata: DFF<Bits<32>>,
    s2_last: DFF<Bit>,
    /// The decision below was looked up after the last change of the caches or of `DDTP`:
    /// S2 may act on it. Cleared by a walk's end, an invalidation, a `DDTP` write (replay).
    s2_fresh: DFF<Bit>,
    s2_go: DFF<Bit>,
    s2_hit: DFF<Bit>,
    s2_pa: DFF<Bits<32>>,
    s2_fault: DFF<Bit>,
    s2_cause: DFF<Bits<12>>,
    s2_need_dc: DFF<Bit>,
    s2_need_walk: DFF<Bit>,
    s2_root_ppn: DFF<Bits<22>>,
    s2_root_outside: DFF<Bit>,
    /// Beats still to answer with a fault without a record (poison after a fault).
    poison: DFF<Bits<2>>,
    // ==== responses to `up` ====
    /// A device beat was granted on `dn` last cycle: its response (data on `dn.rdata`) now.
    dev_resp: DFF<Bit>,
    /// A fault response now (the faulting beat or a poisoned one), `rdata` = `flt_iova`.
    flt_resp: DFF<Bit>,
    flt_iova: DFF<Bits<32>>,
    // ==== combinational ====
    /// The lookup's beat: S2 (replay) or the buffer head.
    lk_addr: Signal<Local, Bits<32>>,
    lk_we: Signal<Local, Bit>,
    lk_dev: Signal<Local, Bits<2>>,
    lk_s2: Signal<Local, Bit>,
    /// S2 leaves without the arbiter's grant (fault done, poisoned).
    s2_exit_nogrant: Signal<Local, Bit>,
    poison_exit: Signal<Local, Bit>,
    dev_go: Signal<Local, Bit>,
    s2_leave: Signal<Local, Bit>,
    accept: Signal<Local, Bit>,
    pop: Signal<Local, Bit>,
    /// The caches or DDTP change at this edge: nothing looked up now or before may be used.
    flush_s2: Signal<Local, Bit>,
    cur_dc_valid: Signal<Local, Bit>,
    cur_dc_sv32: Signal<Local, Bit>,
    cur_dc_ppn: Signal<Local, Bits<22>>,
    cur_dc_outside: Signal<Local, Bit>,
    pass_ok: Signal<Local, Bit>,
    pass_pa: Signal<Local, Bits<32>>,
    pass_hit: Signal<Local, Bit>,
    x_fault: Signal<Local, Bit>,
    x_cause: Signal<Local, Bits<12>>,
    need_dc: Signal<Local, Bit>,
    need_walk: Signal<Local, Bit>,
    access_cause: Signal<Local, Bits<12>>,
    page_cause: Signal<Local, Bits<12>>,
    req_access_cause: Signal<Local, Bits<12>>,
    req_page_cause: Signal<Local, Bits<12>>,
    pte_leaf: Signal<Local, Bit>,
    pte_bad: Signal<Local, Bit>,
    pte_perm_ok: Signal<Local, Bit>,
    super_ppn: Signal<Local, Bits<22>>,
    cmd_pending: Signal<Local, Bit>,
    cmd_end: Signal<Local, Bits<34>>,
    rec_end: Signal<Local, Bits<34>>,
    fq_full: Signal<Local, Bit>,
    cmd_opcode: Signal<Local, Bits<7>>,
    cmd_func3: Signal<Local, Bits<3>>,
    own_req: Signal<Local, Bit>,
    walking: Signal<Local, Bit>,
    /// Idle starts a device-context fetch or a page walk this cycle.
    walk_start: Signal<Local, Bit>,
    /// A stale fetch or walk ends here (back to Idle, nothing installed or reported).
    abandon: Signal<Local, Bit>,
    ddtp_write: Signal<Local, Bit>,
    // ==== constants ====
    ram_bytes: Constant<Bits<32>>,
    ram_bytes34: Constant<Bits<34>>,
    ram_pages: Constant<Bits<22>>,
    /// The PPN bits a page inside RAM needs (the walker's table PPN and the IOTLB keep these).
    ram_ppn_mask: Constant<Bits<22>>,
    k_mode_off: Constant<Bits<4>>,
    k_mode_bare: Constant<Bits<4>>,
    k_tc_reserved: Constant<Bits<32>>,
    k_fsc_reserved: Constant<Bits<32>>,
    c_read_access: Constant<Bits<12>>,
    c_write_access: Constant<Bits<12>>,
    c_read_page: Constant<Bits<12>>,
    c_write_page: Constant<Bits<12>>,
    c_all_disallowed: Constant<Bits<12>>,
    c_ddt_load: Constant<Bits<12>>,
    c_ddt_invalid: Constant<Bits<12>>,
    c_ddt_misconfigured: Constant<Bits<12>>,
    k_op_iotinval: Constant<Bits<7>>,
    k_op_iofence: Constant<Bits<7>>,
    k_op_iodir: Constant<Bits<7>>,
    k_ttyp_read: Constant<Bits<32>>,
    k_ttyp_write: Constant<Bits<32>>,
}

fn cause(c: FaultCause) -> Constant<Bits<12>> {
    Constant::new((c.code() as u64).into())
}

impl<const N: usize> Iommu<N> {
    /// An IOMMU for a host RAM of `ram_bytes` bytes (a multiple of 4 KiB) at address 0, whose
    /// counters hold up to `counter_max` (`2^counter_bits - 1`) and then wrap to 0.
    pub fn new(ram_bytes: u32, counter_max: u32) -> Self {
        assert!(ram_bytes.is_multiple_of(regs::PAGE_BYTES));
        // Every PPN the walker follows or installs is below the RAM's page count.
        let ram_ppn_mask = (ram_bytes >> 12).next_power_of_two() - 1;
        Self {
            clock: Default::default(),
            up: Default::default(),
            dn: Default::default(),
            dn_iova: Default::default(),
            dn_dev: Default::default(),
            host: Default::default(),
            irq: Default::default(),
            mode_bare: Default::default(),
            state: Default::default(),
            own_beat: Default::default(),
            dev_beat: Default::default(),
            iotlb_occupancy: Default::default(),
            iotlb: Iotlb::new(ram_ppn_mask),
            regs: IommuRegs::new(counter_max),
            dc_valid: std::array::from_fn(|_| Default::default()),
            dc_sv32: std::array::from_fn(|_| Default::default()),
            dc_ppn: std::array::from_fn(|_| Default::default()),
            dc_outside: std::array::from_fn(|_| Default::default()),
            fsm: Default::default(),
            req_dev: Default::default(),
            req_iova: Default::default(),
            req_we: Default::default(),
            table_ppn: Default::default(),
            f_cause: Default::default(),
            issued: Default::default(),
            received: Default::default(),
            word0: Default::default(),
            word1: Default::default(),
            word2: Default::default(),
            own_rvalid: Default::default(),
            retried: Default::default(),
            stale: Default::default(),
            b_count: Default::default(),
            b0_addr: Default::default(),
            b0_we: Default::default(),
            b0_wdata: Default::default(),
            b0_last: Default::default(),
            b0_dev: Default::default(),
            b1_addr: Default::default(),
            b1_we: Default::default(),
            b1_wdata: Default::default(),
            b1_last: Default::default(),
            b1_dev: Default::default(),
            s2_valid: Default::default(),
            s2_wdata: Default::default(),
            s2_last: Default::default(),
            s2_fresh: Default::default(),
            s2_go: Default::default(),
            s2_hit: Default::default(),
            s2_pa: Default::default(),
            s2_fault: Default::default(),
            s2_cause: Default::default(),
            s2_need_dc: Default::default(),
            s2_need_walk: Default::default(),
            s2_root_ppn: Default::default(),
            s2_root_outside: Default::default(),
            poison: Default::default(),
            dev_resp: Default::default(),
            flt_resp: Default::default(),
            flt_iova: Default::default(),
            lk_addr: Default::default(),
            lk_we: Default::default(),
            lk_dev: Default::default(),
            lk_s2: Default::default(),
            s2_exit_nogrant: Default::default(),
            poison_exit: Default::default(),
            dev_go: Default::default(),
            s2_leave: Default::default(),
            accept: Default::default(),
            pop: Default::default(),
            flush_s2: Default::default(),
            cur_dc_valid: Default::default(),
            cur_dc_sv32: Default::default(),
            cur_dc_ppn: Default::default(),
            cur_dc_outside: Default::default(),
            pass_ok: Default::default(),
            pass_pa: Default::default(),
            pass_hit: Default::default(),
            x_fault: Default::default(),
            x_cause: Default::default(),
            need_dc: Default::default(),
            need_walk: Default::default(),
            access_cause: Default::default(),
            page_cause: Default::default(),
            req_access_cause: Default::default(),
            req_page_cause: Default::default(),
            pte_leaf: Default::default(),
            pte_bad: Default::default(),
            pte_perm_ok: Default::default(),
            super_ppn: Default::default(),
            cmd_pending: Default::default(),
            cmd_end: Default::default(),
            rec_end: Default::default(),
            fq_full: Default::default(),
            cmd_opcode: Default::default(),
            cmd_func3: Default::default(),
            own_req: Default::default(),
            walking: Default::default(),
            walk_start: Default::default(),
            abandon: Default::default(),
            ddtp_write: Default::default(),
            ram_bytes: Constant::new((ram_bytes as u64).into()),
            ram_bytes34: Constant::new((ram_bytes as u64).into()),
            ram_pages: Constant::new(((ram_bytes >> 12) as u64).into()),
            ram_ppn_mask: Constant::new((ram_ppn_mask as u64).into()),
            k_mode_off: Constant::new((ddtp::MODE_OFF as u64).into()),
            k_mode_bare: Constant::new((ddtp::MODE_BARE as u64).into()),
            k_tc_reserved: Constant::new((dc::TC_RESERVED as u64).into()),
            k_fsc_reserved: Constant::new((dc::FSC_RESERVED as u64).into()),
            c_read_access: cause(FaultCause::ReadAccessFault),
            c_write_access: cause(FaultCause::WriteAccessFault),
            c_read_page: cause(FaultCause::ReadPageFault),
            c_write_page: cause(FaultCause::WritePageFault),
            c_all_disallowed: cause(FaultCause::AllDisallowed),
            c_ddt_load: cause(FaultCause::DdtLoadAccessFault),
            c_ddt_invalid: cause(FaultCause::DdtEntryNotValid),
            c_ddt_misconfigured: cause(FaultCause::DdtMisconfigured),
            k_op_iotinval: Constant::new((cmd::OP_IOTINVAL as u64).into()),
            k_op_iofence: Constant::new((cmd::OP_IOFENCE as u64).into()),
            k_op_iodir: Constant::new((cmd::OP_IODIR as u64).into()),
            k_ttyp_read: Constant::new(((fault::TTYP_READ << fault::TTYP_SHIFT) as u64).into()),
            k_ttyp_write: Constant::new(((fault::TTYP_WRITE << fault::TTYP_SHIFT) as u64).into()),
        }
    }
}

// The field positions the logic below hard-codes (rust-hdl kernels take no const paths); a
// change in `regs` fails the build here instead of silently mis-decoding (the registers'
// own are in `registers.rs`).
const _: () = {
    assert!(dc::BYTES == 8 && dc::TC == 0 && dc::FSC == 4 && dc::TC_V == 1);
    assert!(dc::FSC_SV32 == 1 << 31 && dc::FSC_PPN_MASK == 0x3F_FFFF);
    assert!(fault::WORDS == 8 && fault::IOTVAL_WORD == 4 && fault::DID_SHIFT == 8);
    assert!(cmd::WORDS == 4 && cmd::FUNC3_SHIFT == 7 && cmd::AV == 1 << 10);
    assert!(cmd::WSI == 1 << 11 && cmd::GV == 2 && cmd::GSCID_SHIFT == 12);
    assert!(cmd::DV == 2 && cmd::DID_SHIFT == 8 && cmd::ADDR_PPN_SHIFT == 10);
    assert!(regs::sv32::pte::PPN_SHIFT == 10 && regs::iommu::DEVICE_ID_BITS == 2);
};

impl<const N: usize> Logic for Iommu<N> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            fsm,
            req_dev,
            req_iova,
            req_we,
            table_ppn,
            f_cause,
            issued,
            received,
            word0,
            word1,
            word2,
            own_rvalid,
            retried,
            stale,
            b_count,
            b0_addr,
            b0_we,
            b0_wdata,
            b0_last,
            b0_dev,
            b1_addr,
            b1_we,
            b1_wdata,
            b1_last,
            b1_dev,
            s2_valid,
            s2_wdata,
            s2_last,
            s2_fresh,
            s2_go,
            s2_hit,
            s2_pa,
            s2_fault,
            s2_cause,
            s2_need_dc,
            s2_need_walk,
            s2_root_ppn,
            s2_root_outside,
            poison,
            dev_resp,
            flt_resp,
            flt_iova
        );
        clock!(self, clock, iotlb, regs);
        // ---- the register block: the host port, and the events below (default none) ----
        self.regs.host.sel.next = self.host.sel.val();
        self.regs.host.offset.next = self.host.offset.val();
        self.regs.host.we.next = self.host.we.val();
        self.regs.host.wdata.next = self.host.wdata.val();
        self.regs.cq_done.next = false;
        self.regs.cq_memory_fault.next = false;
        self.regs.cq_illegal.next = false;
        self.regs.cq_fence_wip.next = false;
        self.regs.fq_recorded.next = false;
        self.regs.fq_overflow.next = false;
        self.regs.fq_memory_fault.next = false;
        for i in 0..8 {
            self.regs.count[i].next = false;
        }
        self.ddtp_write.next = self.regs.ddtp_write.val();
        self.cmd_pending.next = self.regs.cmd_pending.val();
        self.fq_full.next = self.regs.fq_full.val();
        for i in 0..DEVICES {
            self.dc_valid[i].clock.next = self.clock.val();
            self.dc_sv32[i].clock.next = self.clock.val();
            self.dc_ppn[i].clock.next = self.clock.val();
            self.dc_valid[i].d.next = self.dc_valid[i].q.val();
            self.dc_sv32[i].d.next = self.dc_sv32[i].q.val();
            self.dc_ppn[i].d.next = self.dc_ppn[i].q.val();
            self.dc_outside[i].clock.next = self.clock.val();
            self.dc_outside[i].d.next = self.dc_outside[i].q.val();
        }

        // ---- status outputs ----
        self.state.next = self.fsm.q.val();
        self.iotlb_occupancy.next = self.iotlb.occupancy.val();
        self.irq.next = self.regs.irq.val();
        self.mode_bare.next = self.regs.ddtp_mode.val() == self.k_mode_bare.val();
        self.host.rdata.next = self.regs.host.rdata.val();

        // ---- responses to the device side: registers, but for the RAM's read data ----
        self.up.resp.next = self.dev_resp.q.val() | self.flt_resp.q.val();
        self.up.fault.next = self.flt_resp.q.val();
        if self.flt_resp.q.val() {
            self.up.rdata.next = self.flt_iova.q.val();
        } else {
            self.up.rdata.next = self.dn.rdata.val();
        }
        // Registers only: room in the buffer, and not in the cycle of a fault response.
        self.up.ready.next = (self.b_count.q.val() != 2) & !self.flt_resp.q.val();
        self.accept.next = self.up.valid.val() & self.up.ready.val();
        // The bus side: S2's beat (the walker's own beats override below).
        self.dn.dev.next = 0.into();
        self.dn_iova.next = self.req_iova.q.val();
        self.dn_dev.next = self.req_dev.q.val();

        // ---- queues ----
        // End of the command at CQH and of the record slot at FQT, in the 34-bit PA space.
        self.cmd_end.next = (bit_cast::<34, 22>(self.regs.cq_ppn.val()) << 12)
            + (bit_cast::<34, 8>(self.regs.cqh.val()) << 4)
            + 16;
        self.rec_end.next = (bit_cast::<34, 22>(self.regs.fq_ppn.val()) << 12)
            + (bit_cast::<34, 8>(self.regs.fqt.val()) << 5)
            + 32;
        self.cmd_opcode.next = self.word0.q.val().get_bits::<7>(0);
        self.cmd_func3.next = self.word0.q.val().get_bits::<3>(7);

        // ---- S1: the lookup, registered into S2 ----
        // S2 leaves without a grant when its fault is done or it is poisoned; S2 that stays
        // and is not fresh is looked up again (replay), else the buffer head is.
        self.poison_exit.next = self.s2_valid.q.val()
            & (self.poison.q.val() != 0)
            & (self.fsm.q.val() != IommuState::FaultDone);
        self.s2_exit_nogrant.next =
            self.poison_exit.val() | (self.fsm.q.val() == IommuState::FaultDone);
        self.lk_s2.next =
            self.s2_valid.q.val() & !self.s2_fresh.q.val() & !self.s2_exit_nogrant.val();
        if self.lk_s2.val() {
            self.lk_addr.next = self.req_iova.q.val();
            self.lk_we.next = self.req_we.q.val();
            self.lk_dev.next = self.req_dev.q.val();
        } else {
            self.lk_addr.next = self.b0_addr.q.val();
            self.lk_we.next = self.b0_we.q.val();
            self.lk_dev.next = self.b0_dev.q.val();
        }
        self.cur_dc_valid.next = false;
        self.cur_dc_sv32.next = false;
        self.cur_dc_ppn.next = 0.into();
        self.cur_dc_outside.next = false;
        for i in 0..DEVICES {
            if self.lk_dev.val().index() == i {
                self.cur_dc_valid.next = self.dc_valid[i].q.val();
                self.cur_dc_sv32.next = self.dc_sv32[i].q.val();
                self.cur_dc_ppn.next = self.dc_ppn[i].q.val();
                self.cur_dc_outside.next = self.dc_outside[i].q.val();
            }
        }
        self.iotlb.dev.next = self.lk_dev.val();
        self.iotlb.vpn.next = self.lk_addr.val().get_bits::<20>(12);
        if self.lk_we.val() {
            self.access_cause.next = self.c_write_access.val();
            self.page_cause.next = self.c_write_page.val();
        } else {
            self.access_cause.next = self.c_read_access.val();
            self.page_cause.next = self.c_read_page.val();
        }
        if self.req_we.q.val() {
            self.req_access_cause.next = self.c_write_access.val();
            self.req_page_cause.next = self.c_write_page.val();
        } else {
            self.req_access_cause.next = self.c_read_access.val();
            self.req_page_cause.next = self.c_read_page.val();
        }
        self.pass_ok.next = false;
        self.pass_hit.next = false;
        self.pass_pa.next = self.lk_addr.val();
        self.x_fault.next = false;
        self.x_cause.next = self.access_cause.val();
        self.need_dc.next = false;
        self.need_walk.next = false;
        if self.regs.ddtp_mode.val() == self.k_mode_off.val() {
            self.x_fault.next = true;
            self.x_cause.next = self.c_all_disallowed.val();
        } else if (self.regs.ddtp_mode.val() == self.k_mode_bare.val())
            | (self.cur_dc_valid.val() & !self.cur_dc_sv32.val())
        {
            // Bare, globally or for this device: the IOVA is the physical address.
            if self.lk_addr.val() < self.ram_bytes.val() {
                self.pass_ok.next = true;
            } else {
                self.x_fault.next = true;
            }
        } else if !self.cur_dc_valid.val() {
            self.need_dc.next = true;
        } else if !self.iotlb.hit.val() {
            self.need_walk.next = true;
        } else if !((self.lk_we.val() & self.iotlb.w.val() & self.iotlb.d.val())
            | (!self.lk_we.val() & self.iotlb.r.val()))
        {
            self.x_fault.next = true;
            self.x_cause.next = self.page_cause.val();
        } else if self.iotlb.ppn.val() >= self.ram_pages.val() {
            self.x_fault.next = true;
        } else {
            self.pass_ok.next = true;
            self.pass_hit.next = true;
            self.pass_pa.next = (bit_cast::<32, 22>(self.iotlb.ppn.val()) << 12)
                | bit_cast::<32, 12>(self.lk_addr.val().get_bits::<12>(0));
        }

        // ---- the PTE read last cycle (on dn_rdata in PteWait*) ----
        self.pte_leaf.next = self.dn.rdata.val().get_bit(1) | self.dn.rdata.val().get_bit(3);
        // V = 0, or W without R.
        self.pte_bad.next = !self.dn.rdata.val().get_bit(0)
            | (self.dn.rdata.val().get_bit(2) & !self.dn.rdata.val().get_bit(1));
        if self.req_we.q.val() {
            self.pte_perm_ok.next = self.dn.rdata.val().get_bit(2)
                & self.dn.rdata.val().get_bit(6)
                & self.dn.rdata.val().get_bit(7);
        } else {
            self.pte_perm_ok.next = self.dn.rdata.val().get_bit(1) & self.dn.rdata.val().get_bit(6);
        }
        self.super_ppn.next = (self.dn.rdata.val().get_bits::<22>(10) & 0x3F_FC00)
            | bit_cast::<22, 10>(self.req_iova.q.val().get_bits::<10>(12));

        // ---- bus port defaults: nothing ----
        self.own_req.next = false;
        self.dn.valid.next = false;
        self.dn.addr.next = 0.into();
        self.dn.we.next = false;
        self.dn.wdata.next = 0.into();
        self.dn.last.next = false;
        self.dev_go.next = false;
        self.flush_s2.next = false;
        self.iotlb.install.next = false;
        self.iotlb.i_dev.next = self.req_dev.q.val();
        self.iotlb.i_vpn.next = self.req_iova.q.val().get_bits::<20>(12);
        self.iotlb.i_super.next = false;
        self.iotlb.i_ppn.next = self.dn.rdata.val().get_bits::<22>(10);
        self.iotlb.i_r.next = self.dn.rdata.val().get_bit(1);
        self.iotlb.i_w.next = self.dn.rdata.val().get_bit(2);
        self.iotlb.i_d.next = self.dn.rdata.val().get_bit(7);
        self.iotlb.inv.next = false;
        self.iotlb.inv_by_dev.next = self.word1.q.val().get_bit(1);
        self.iotlb.inv_dev.next = self.word1.q.val().get_bits::<2>(12);
        self.iotlb.inv_by_addr.next = self.word0.q.val().get_bit(10);
        self.iotlb.inv_vpn.next = self.word2.q.val().get_bits::<20>(10);
        self.walking.next = false;
        self.walk_start.next = false;
        self.abandon.next = false;
        if self.own_rvalid.q.val() {
            self.received.d.next = self.received.q.val() + 1;
        }

        match self.fsm.q.val() {
            IommuState::Idle => {
                if self.cmd_pending.val() {
                    if self.cmd_end.val() > bit_cast::<34, 32>(self.ram_bytes.val()) {
                        self.regs.cq_memory_fault.next = true;
                    } else {
                        self.issued.d.next = 0.into();
                        self.received.d.next = 0.into();
                        self.fsm.d.next = IommuState::CmdFetch;
                    }
                } else if self.s2_valid.q.val() & self.s2_fresh.q.val() & (self.poison.q.val() == 0)
                {
                    // S2 decides: the lookup did the work, a few registered bits are left.
                    if self.s2_go.q.val() {
                        self.dev_go.next = true;
                        self.dn.addr.next = self.s2_pa.q.val();
                        self.dn.we.next = self.req_we.q.val();
                        self.dn.wdata.next = self.s2_wdata.q.val();
                        self.dn.last.next = self.s2_last.q.val();
                        if self.dn.ready.val() & self.s2_hit.q.val() & !self.retried.q.val() {
                            self.regs.count[0].next = true;
                        }
                    } else if self.s2_fault.q.val() {
                        self.f_cause.d.next = self.s2_cause.q.val();
                        self.fsm.d.next = IommuState::FaultStart;
                    } else if self.s2_need_dc.q.val() {
                        self.regs.count[6].next = true;
                        if self.regs.ddtp_ppn.val() >= self.ram_pages.val() {
                            self.f_cause.d.next = self.c_ddt_load.val();
                            self.fsm.d.next = IommuState::FaultStart;
                        } else {
                            self.issued.d.next = 0.into();
                            self.received.d.next = 0.into();
                            self.walk_start.next = true;
                            self.fsm.d.next = IommuState::DcFetch;
                        }
                    } else if self.s2_need_walk.q.val() {
                        self.regs.count[1].next = true;
                        self.table_ppn.d.next = self.s2_root_ppn.q.val();
                        if self.s2_root_outside.q.val() {
                            self.f_cause.d.next = self.req_access_cause.val();
                            self.fsm.d.next = IommuState::FaultStart;
                        } else {
                            self.walk_start.next = true;
                            self.fsm.d.next = IommuState::PteRead1;
                        }
                    }
                }
            }
            IommuState::DcFetch => {
                self.walking.next = true;
                // A stale fetch stops at once: no read of the new table's address (never
                // range-checked against RAM) and nothing kept of what was read.
                self.own_req.next = (self.issued.q.val() != 2) & !self.stale.q.val();
                if self.stale.q.val() {
                    self.abandon.next = true;
                }
                self.dn.addr.next = (bit_cast::<32, 22>(self.regs.ddtp_ppn.val()) << 12)
                    + (bit_cast::<32, 2>(self.req_dev.q.val()) << 3)
                    + (bit_cast::<32, 4>(self.issued.q.val()) << 2);
                if self.dn.ready.val() {
                    self.issued.d.next = self.issued.q.val() + 1;
                }
                if self.own_rvalid.q.val() {
                    if self.received.q.val() == 0 {
                        self.word0.d.next = self.dn.rdata.val();
                    } else {
                        self.word1.d.next = self.dn.rdata.val();
                        self.fsm.d.next = IommuState::DcCheck;
                    }
                }
            }
            IommuState::DcCheck => {
                self.walking.next = true;
                if self.stale.q.val() {
                    self.abandon.next = true;
                } else if !self.word0.q.val().get_bit(0) {
                    self.f_cause.d.next = self.c_ddt_invalid.val();
                    self.fsm.d.next = IommuState::FaultStart;
                } else if ((self.word0.q.val() & self.k_tc_reserved.val()) != 0)
                    | ((self.word1.q.val() & self.k_fsc_reserved.val()) != 0)
                {
                    self.f_cause.d.next = self.c_ddt_misconfigured.val();
                    self.fsm.d.next = IommuState::FaultStart;
                } else {
                    for i in 0..DEVICES {
                        if self.req_dev.q.val().index() == i {
                            self.dc_valid[i].d.next = true;
                            self.dc_sv32[i].d.next = self.word1.q.val().get_bit(31);
                            self.dc_ppn[i].d.next =
                                self.word1.q.val().get_bits::<22>(0) & self.ram_ppn_mask.val();
                            self.dc_outside[i].d.next =
                                self.word1.q.val().get_bits::<22>(0) >= self.ram_pages.val();
                        }
                    }
                    // The context is cached: S2 is looked up again.
                    self.flush_s2.next = true;
                    self.fsm.d.next = IommuState::Idle;
                }
            }
            IommuState::PteRead1 => {
                self.walking.next = true;
                self.dn.addr.next = (bit_cast::<32, 22>(self.table_ppn.q.val()) << 12)
                    + (bit_cast::<32, 10>(self.req_iova.q.val().get_bits::<10>(22)) << 2);
                if self.stale.q.val() {
                    self.abandon.next = true;
                } else {
                    self.own_req.next = true;
                    if self.dn.ready.val() {
                        self.fsm.d.next = IommuState::PteWait1;
                    }
                }
            }
            IommuState::PteWait1 => {
                self.walking.next = true;
                if self.stale.q.val() {
                    self.abandon.next = true;
                } else if self.pte_bad.val() {
                    self.f_cause.d.next = self.req_page_cause.val();
                    self.fsm.d.next = IommuState::FaultStart;
                } else if self.pte_leaf.val() {
                    if self.dn.rdata.val().get_bits::<10>(10) != 0 {
                        // Misaligned superpage.
                        self.f_cause.d.next = self.req_page_cause.val();
                        self.fsm.d.next = IommuState::FaultStart;
                    } else if !self.pte_perm_ok.val() {
                        self.f_cause.d.next = self.req_page_cause.val();
                        self.fsm.d.next = IommuState::FaultStart;
                    } else if self.super_ppn.val() >= self.ram_pages.val() {
                        self.f_cause.d.next = self.req_access_cause.val();
                        self.fsm.d.next = IommuState::FaultStart;
                    } else {
                        self.iotlb.install.next = true;
                        self.iotlb.i_super.next = true;
                        self.retried.d.next = true;
                        self.flush_s2.next = true;
                        self.fsm.d.next = IommuState::Idle;
                    }
                } else if self.dn.rdata.val().get_bits::<22>(10) >= self.ram_pages.val() {
                    self.f_cause.d.next = self.req_access_cause.val();
                    self.fsm.d.next = IommuState::FaultStart;
                } else {
                    self.table_ppn.d.next =
                        self.dn.rdata.val().get_bits::<22>(10) & self.ram_ppn_mask.val();
                    self.fsm.d.next = IommuState::PteRead0;
                }
            }
            IommuState::PteRead0 => {
                self.walking.next = true;
                self.dn.addr.next = (bit_cast::<32, 22>(self.table_ppn.q.val()) << 12)
                    + (bit_cast::<32, 10>(self.req_iova.q.val().get_bits::<10>(12)) << 2);
                if self.stale.q.val() {
                    self.abandon.next = true;
                } else {
                    self.own_req.next = true;
                    if self.dn.ready.val() {
                        self.fsm.d.next = IommuState::PteWait0;
                    }
                }
            }
            IommuState::PteWait0 => {
                self.walking.next = true;
                if self.stale.q.val() {
                    self.abandon.next = true;
                } else if self.pte_bad.val() | !self.pte_leaf.val() | !self.pte_perm_ok.val() {
                    self.f_cause.d.next = self.req_page_cause.val();
                    self.fsm.d.next = IommuState::FaultStart;
                } else if self.dn.rdata.val().get_bits::<22>(10) >= self.ram_pages.val() {
                    self.f_cause.d.next = self.req_access_cause.val();
                    self.fsm.d.next = IommuState::FaultStart;
                } else {
                    self.iotlb.install.next = true;
                    self.retried.d.next = true;
                    self.flush_s2.next = true;
                    self.fsm.d.next = IommuState::Idle;
                }
            }
            IommuState::FaultStart => {
                self.regs.count[3].next = true;
                self.issued.d.next = 0.into();
                if !self.regs.fqen.val() {
                    self.regs.count[4].next = true;
                    self.fsm.d.next = IommuState::FaultDone;
                } else if self.regs.fq_stopped.val() {
                    // As in the specification: no records until software clears FQOF / FQMF.
                    self.regs.count[4].next = true;
                    self.fsm.d.next = IommuState::FaultDone;
                } else if self.fq_full.val() {
                    // Never overwrite an unread record: drop this one and say so.
                    self.regs.count[4].next = true;
                    self.regs.fq_overflow.next = true;
                    self.fsm.d.next = IommuState::FaultDone;
                } else if self.rec_end.val() > self.ram_bytes34.val() {
                    self.regs.count[4].next = true;
                    self.regs.fq_memory_fault.next = true;
                    self.fsm.d.next = IommuState::FaultDone;
                } else {
                    self.fsm.d.next = IommuState::FaultWrite;
                }
            }
            IommuState::FaultWrite => {
                self.own_req.next = true;
                self.dn.we.next = true;
                self.dn.addr.next = (bit_cast::<32, 22>(self.regs.fq_ppn.val()) << 12)
                    + (bit_cast::<32, 8>(self.regs.fqt.val()) << 5)
                    + (bit_cast::<32, 4>(self.issued.q.val()) << 2);
                self.dn.last.next = self.issued.q.val() == 7;
                if self.issued.q.val() == 0 {
                    self.dn.wdata.next = bit_cast::<32, 12>(self.f_cause.q.val());
                }
                if self.issued.q.val() == 1 {
                    if self.req_we.q.val() {
                        self.dn.wdata.next = self.k_ttyp_write.val()
                            | (bit_cast::<32, 2>(self.req_dev.q.val()) << 8);
                    } else {
                        self.dn.wdata.next =
                            self.k_ttyp_read.val() | (bit_cast::<32, 2>(self.req_dev.q.val()) << 8);
                    }
                }
                if self.issued.q.val() == 4 {
                    self.dn.wdata.next = self.req_iova.q.val();
                }
                if self.dn.ready.val() {
                    self.issued.d.next = self.issued.q.val() + 1;
                    if self.issued.q.val() == 7 {
                        self.regs.fq_recorded.next = true;
                        self.fsm.d.next = IommuState::FaultDone;
                    }
                }
            }
            IommuState::FaultDone => {
                // S2 leaves (below) and its fault response goes out next cycle; every beat
                // accepted until then (in the buffer, or accepted now) is poisoned.
                self.poison.d.next =
                    self.b_count.q.val() + bit_cast::<2, 1>(self.accept.val().into());
                self.fsm.d.next = IommuState::Idle;
            }
            IommuState::CmdFetch => {
                self.own_req.next = self.issued.q.val() != 4;
                self.dn.addr.next = (bit_cast::<32, 22>(self.regs.cq_ppn.val()) << 12)
                    + (bit_cast::<32, 8>(self.regs.cqh.val()) << 4)
                    + (bit_cast::<32, 4>(self.issued.q.val()) << 2);
                self.dn.last.next = self.issued.q.val() == 3;
                if self.dn.ready.val() {
                    self.issued.d.next = self.issued.q.val() + 1;
                }
                if self.own_rvalid.q.val() {
                    if self.received.q.val() == 0 {
                        self.word0.d.next = self.dn.rdata.val();
                    }
                    if self.received.q.val() == 1 {
                        self.word1.d.next = self.dn.rdata.val();
                    }
                    if self.received.q.val() == 2 {
                        self.word2.d.next = self.dn.rdata.val();
                    }
                    if self.received.q.val() == 3 {
                        self.fsm.d.next = IommuState::CmdExec;
                    }
                }
            }
            IommuState::CmdExec => {
                if (self.cmd_opcode.val() == self.k_op_iotinval.val()) & (self.cmd_func3.val() == 0)
                {
                    self.iotlb.inv.next = true;
                    self.flush_s2.next = true;
                    self.fsm.d.next = IommuState::CmdDone;
                } else if (self.cmd_opcode.val() == self.k_op_iodir.val())
                    & (self.cmd_func3.val() == 0)
                {
                    for i in 0..DEVICES {
                        if !self.word1.q.val().get_bit(1)
                            | (self.word1.q.val().get_bits::<2>(8).index() == i)
                        {
                            self.dc_valid[i].d.next = false;
                        }
                    }
                    self.flush_s2.next = true;
                    self.fsm.d.next = IommuState::CmdDone;
                } else if (self.cmd_opcode.val() == self.k_op_iofence.val())
                    & (self.cmd_func3.val() == 0)
                {
                    if !self.word0.q.val().get_bit(10) {
                        self.fsm.d.next = IommuState::CmdDone;
                    } else if self.word2.q.val() >= self.ram_bytes.val() {
                        self.regs.cq_memory_fault.next = true;
                        self.fsm.d.next = IommuState::Idle;
                    } else {
                        self.fsm.d.next = IommuState::FenceWrite;
                    }
                } else {
                    // Unknown command: stop here, CQH keeps pointing at it.
                    self.regs.cq_illegal.next = true;
                    self.fsm.d.next = IommuState::Idle;
                }
            }
            IommuState::FenceWrite => {
                self.own_req.next = true;
                self.dn.we.next = true;
                self.dn.last.next = true;
                self.dn.addr.next = (self.word2.q.val() >> 2) << 2;
                self.dn.wdata.next = self.word1.q.val();
                if self.dn.ready.val() {
                    self.fsm.d.next = IommuState::CmdDone;
                }
            }
            IommuState::CmdDone => {
                self.regs.cq_done.next = true;
                self.regs.count[5].next = true;
                if (self.cmd_opcode.val() == self.k_op_iofence.val())
                    & self.word0.q.val().get_bit(11)
                {
                    self.regs.cq_fence_wip.next = true;
                }
                self.fsm.d.next = IommuState::Idle;
            }
        }
        if self.abandon.val() {
            self.flush_s2.next = true;
            self.regs.count[7].next = true;
            self.fsm.d.next = IommuState::Idle;
        }
        // A DDTP write makes the fetch or walk in flight (or starting now) stale; the next
        // one Idle starts is fresh.
        if self.ddtp_write.val() & (self.walking.val() | self.walk_start.val()) {
            self.stale.d.next = true;
        } else if self.fsm.q.val() == IommuState::Idle {
            self.stale.d.next = false;
        }
        if self.own_req.val() {
            self.dn.valid.next = true;
        }
        if self.dev_go.val() {
            self.dn.valid.next = true;
        }
        self.own_beat.next = self.own_req.val() & self.dn.ready.val();
        self.dev_beat.next = self.dev_go.val() & self.dn.ready.val();
        self.own_rvalid.d.next = self.own_req.val() & self.dn.ready.val() & !self.dn.we.val();

        // ---- the device pipeline's registers ----
        self.s2_leave.next = self.dev_beat.val() | self.s2_exit_nogrant.val();
        self.pop.next =
            (self.b_count.q.val() != 0) & (!self.s2_valid.q.val() | self.s2_leave.val());
        self.dev_resp.d.next = self.dev_beat.val();
        self.flt_resp.d.next = self.s2_exit_nogrant.val();
        self.flt_iova.d.next = self.req_iova.q.val();
        if self.poison_exit.val() {
            self.poison.d.next = self.poison.q.val() - 1;
        }
        if self.s2_leave.val() {
            self.retried.d.next = false;
        }
        // A DDTP write flushes the caches at this edge: nothing looked up before it is used.
        if self.ddtp_write.val() {
            self.flush_s2.next = true;
        }
        if self.pop.val() | self.lk_s2.val() {
            // S2 takes the lookup: the head's (moving in) or its own (replay).
            self.s2_go.d.next = self.pass_ok.val();
            self.s2_hit.d.next = self.pass_hit.val();
            self.s2_pa.d.next = self.pass_pa.val();
            self.s2_fault.d.next = self.x_fault.val();
            self.s2_cause.d.next = self.x_cause.val();
            self.s2_need_dc.d.next = self.need_dc.val();
            self.s2_need_walk.d.next = self.need_walk.val();
            self.s2_root_ppn.d.next = self.cur_dc_ppn.val();
            self.s2_root_outside.d.next = self.cur_dc_outside.val();
        }
        if self.pop.val() {
            self.s2_valid.d.next = true;
            self.req_iova.d.next = self.b0_addr.q.val();
            self.req_we.d.next = self.b0_we.q.val();
            self.req_dev.d.next = self.b0_dev.q.val();
            self.s2_wdata.d.next = self.b0_wdata.q.val();
            self.s2_last.d.next = self.b0_last.q.val();
            self.s2_fresh.d.next = !self.flush_s2.val();
            self.retried.d.next = false;
        } else if self.s2_leave.val() {
            self.s2_valid.d.next = false;
            self.s2_fresh.d.next = false;
        } else if self.lk_s2.val() & (self.fsm.q.val() == IommuState::Idle) {
            // Replay: one cycle, in Idle (after a walk, an invalidation, a DDTP write).
            self.s2_fresh.d.next = !self.flush_s2.val();
        } else if self.flush_s2.val() {
            self.s2_fresh.d.next = false;
        }
        // The buffer: the head moves to S2, an accepted beat goes behind what is left.
        self.b_count.d.next = self.b_count.q.val() + bit_cast::<2, 1>(self.accept.val().into())
            - bit_cast::<2, 1>(self.pop.val().into());
        if self.pop.val() {
            self.b0_addr.d.next = self.b1_addr.q.val();
            self.b0_we.d.next = self.b1_we.q.val();
            self.b0_wdata.d.next = self.b1_wdata.q.val();
            self.b0_last.d.next = self.b1_last.q.val();
            self.b0_dev.d.next = self.b1_dev.q.val();
        }
        if self.accept.val() {
            if (self.b_count.q.val() == 0) | ((self.b_count.q.val() == 1) & self.pop.val()) {
                self.b0_addr.d.next = self.up.addr.val();
                self.b0_we.d.next = self.up.we.val();
                self.b0_wdata.d.next = self.up.wdata.val();
                self.b0_last.d.next = self.up.last.val();
                self.b0_dev.d.next = self.up.dev.val();
            } else {
                self.b1_addr.d.next = self.up.addr.val();
                self.b1_we.d.next = self.up.we.val();
                self.b1_wdata.d.next = self.up.wdata.val();
                self.b1_last.d.next = self.up.last.val();
                self.b1_dev.d.next = self.up.dev.val();
            }
        }
        if self.walking.val() {
            self.regs.count[2].next = true;
        }

        // A DDTP write flushes both caches; after the state machine, so it always wins.
        if self.ddtp_write.val() {
            for i in 0..DEVICES {
                self.dc_valid[i].d.next = false;
            }
            self.iotlb.inv.next = true;
            self.iotlb.inv_by_dev.next = false;
            self.iotlb.inv_by_addr.next = false;
        }
    }
}

#[cfg(test)]
mod tests;
