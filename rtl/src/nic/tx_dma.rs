//! The TX ring engine: walks the e1000 legacy TX descriptor ring, reads each buffer into the TX
//! FIFO a word per cycle, writes DD back, and hands each complete frame to the MAC
//! (store-and-forward).
//!
//! ```text
//!  enable, tdbal, tdlen, tdt ──►┌─────────────────────────────────┐──► bus_req/addr/we/wdata/last
//!  head_write, head_wdata    ──►│ Idle ─► FetchDesc ─► CheckDesc ─┤◄── bus_grant, bus_fault,
//!  restart, soft_reset       ──►│   ▲                    │        │    bus_rvalid, bus_rdata
//!                               │   │      WaitSpace ◄───┤        │──► fifo_wr_pos/data/mask
//!  fifo_rd_ptr (MAC side)    ──►│   │          ▼         │        │──► q_push, q_push_data
//!  q_full                    ──►│ Commit ◄─ WriteBack ◄─ ReadData │──► tdh, state, halted, err_addr
//!                               │ Halted (refused descriptor)     │──► ev_drop, c_txdw, c_txdw_delayed,
//!                               └─────────────────────────────────┘    c_txqe, c_dma_err
//! ```
//!
//! Ring semantics as on the 8254x: the engine owns the head, software the tail; head == tail
//! is empty. The engine fetches only while the head and the tail are inside the ring (TDLEN
//! not 0 and both below TDLEN / 16): the register file refuses head and tail writes outside
//! it, and a TDLEN write that leaves them outside stops the engine until software fixes them. A frame is the run of descriptors up to the one with EOP. A descriptor's buffer is
//! read only once the FIFO has room for all of it; its bytes land at the FIFO's write pointer
//! whatever the buffer's alignment (the [`LaneBuffer`](super::lane_buffer::LaneBuffer) rotates
//! them). With RS the status word is written back with DD after the buffer was read. At EOP
//! the frame is committed to the MAC's queue (length, IFCS).
//!
//! Malformed descriptors (buffer address high half non-zero, a buffer that wraps the 32-bit
//! space, a frame longer than the FIFO, an EOP frame of zero bytes) and refused buffer reads
//! drop the frame: its bytes are discarded from the FIFO, every descriptor of it with RS from
//! the bad one on is written back with DD and STA_ERR (those before it already got DD without
//! ERR), and `ev_drop` pulses once. A refused descriptor fetch or write-back halts the
//! engine (`halted`, `c_dma_err`) until `restart`; the head stays on that descriptor, and the
//! restart fetches and reads it again (its bytes count once in the frame).
//!
//! **Ring width.** The head keeps the bits of `ring_mask` (its next value is ANDed with it):
//! all 32 in simulation, 16 in a build with `regs::SocConfig::narrow_registers`, whose
//! RDLEN/RDT/TDLEN/TDT registers are 16 bits too; there synthesis removes the upper bits of
//! the head and of the ring arithmetic.

use regs::nic::tx_desc;
use rust_hdl::prelude::*;

/// TX frame-queue entry: bits 15:0 the frame's bytes in the FIFO, bit 16 IFCS.
pub const TX_Q_IFCS_BIT: usize = 16;

/// Engine states in encoding order (`regs::nic::TX_STATE_NAMES`).
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum TxState {
    Idle,
    FetchDesc,
    CheckDesc,
    WaitSpace,
    ReadData,
    WriteBack,
    Commit,
    Halted,
}

#[derive(LogicBlock)]
pub struct TxDma {
    pub clock: Signal<In, Clock>,
    pub soft_reset: Signal<In, Bit>,
    pub enable: Signal<In, Bit>,
    pub tdbal: Signal<In, Bits<32>>,
    pub tdlen: Signal<In, Bits<32>>,
    pub tdt: Signal<In, Bits<32>>,
    pub head_write: Signal<In, Bit>,
    pub head_wdata: Signal<In, Bits<32>>,
    pub restart: Signal<In, Bit>,
    // ---- FIFO ----
    pub fifo_rd_ptr: Signal<In, Bits<16>>,
    pub fifo_wr_pos: Signal<Out, Bits<16>>,
    pub fifo_wr_data: Signal<Out, Bits<32>>,
    pub fifo_wr_mask: Signal<Out, Bits<4>>,
    pub q_push: Signal<Out, Bit>,
    pub q_push_data: Signal<Out, Bits<40>>,
    pub q_full: Signal<In, Bit>,
    // ---- bus master ----
    pub bus_req: Signal<Out, Bit>,
    pub bus_addr: Signal<Out, Bits<32>>,
    pub bus_we: Signal<Out, Bit>,
    pub bus_wdata: Signal<Out, Bits<32>>,
    pub bus_last: Signal<Out, Bit>,
    pub bus_grant: Signal<In, Bit>,
    pub bus_fault: Signal<In, Bit>,
    pub bus_rvalid: Signal<In, Bit>,
    pub bus_rdata: Signal<In, Bits<32>>,
    // ---- status and events ----
    pub tdh: Signal<Out, Bits<32>>,
    pub state: Signal<Out, TxState>,
    /// The state's index in `regs::nic::TX_STATE_NAMES` (for ENGINE_STATE).
    pub state_code: Signal<Out, Bits<4>>,
    pub halted: Signal<Out, Bit>,
    pub err_addr: Signal<Out, Bits<32>>,
    pub ev_drop: Signal<Out, Bit>,
    pub c_txdw: Signal<Out, Bit>,
    pub c_txdw_delayed: Signal<Out, Bit>,
    pub c_txqe: Signal<Out, Bit>,
    pub c_dma_err: Signal<Out, Bit>,
    // ==== implementation ====
    fsm: DFF<TxState>,
    head: DFF<Bits<32>>,
    desc_addr: DFF<Bits<32>>,
    d_addr: DFF<Bits<32>>,
    /// The descriptor's buffer address high half is not 0 (only that is checked).
    d_hi: DFF<Bit>,
    d_len_cmd: DFF<Bits<32>>,
    d_sta: DFF<Bits<32>>,
    issued: DFF<Bits<3>>,
    received: DFF<Bits<3>>,
    issue_addr: DFF<Bits<32>>,
    recv_addr: DFF<Bits<32>>,
    fpos: DFF<Bits<16>>,
    wr_ptr: DFF<Bits<16>>,
    frame_start: DFF<Bits<16>>,
    frame_bytes: DFF<Bits<32>>,
    dropping: DFF<Bit>,
    r_halted: DFF<Bit>,
    r_err_addr: DFF<Bits<32>>,
    // ---- per-cycle values ----
    count: Signal<Local, Bits<32>>,
    next_head: Signal<Local, Bits<32>>,
    /// The head and the tail are inside the ring (which has descriptors): the engine may
    /// fetch. Software can put them outside only through TDLEN (the register file refuses
    /// such head and tail writes); then the engine waits for valid values.
    ring_ok: Signal<Local, Bit>,
    len: Signal<Local, Bits<32>>,
    cmd: Signal<Local, Bits<8>>,
    end_addr: Signal<Local, Bits<33>>,
    /// Bytes in the FIFO (this engine's frames not yet taken by the MAC), 16 bits like the
    /// pointers.
    fifo_used: Signal<Local, Bits<16>>,
    fifo_free: Signal<Local, Bits<32>>,
    malformed: Signal<Local, Bit>,
    first_byte: Signal<Local, Bits<2>>,
    bytes_left: Signal<Local, Bits<33>>,
    mask_lo: Signal<Local, Bits<4>>,
    mask_hi: Signal<Local, Bits<4>>,
    finish: Signal<Local, Bit>,
    capacity: Constant<Bits<32>>,
    k_eop: Constant<Bits<8>>,
    k_ifcs: Constant<Bits<8>>,
    k_rs: Constant<Bits<8>>,
    k_ide: Constant<Bits<8>>,
    k_sta_dd: Constant<Bits<32>>,
    k_sta_err: Constant<Bits<32>>,
    k_len_mask: Constant<Bits<32>>,
    k_sta_offset: Constant<Bits<32>>,
    page_mask: Constant<Bits<32>>,
    /// The head's bits (`ring_mask`): its next value is ANDed with it.
    index_mask: Constant<Bits<32>>,
    word_mask: Constant<Bits<32>>,
    all_lanes: Constant<Bits<4>>,
    sta_keep: Constant<Bits<32>>,
    q_ifcs_flag: Constant<Bits<40>>,
}

impl TxDma {
    /// An engine in front of a TX FIFO of `fifo_bytes` bytes whose head keeps the bits of
    /// `ring_mask` (`u32::MAX`: 32 bits; the FPGA build's 16-bit ring registers: 0xFFFF).
    pub fn new(fifo_bytes: u32, ring_mask: u32) -> Self {
        let k8 = |v: u32| Constant::new((v as u64).into());
        let k32 = |v: u32| Constant::new((v as u64).into());
        Self {
            clock: Default::default(),
            soft_reset: Default::default(),
            enable: Default::default(),
            tdbal: Default::default(),
            tdlen: Default::default(),
            tdt: Default::default(),
            head_write: Default::default(),
            head_wdata: Default::default(),
            restart: Default::default(),
            fifo_rd_ptr: Default::default(),
            fifo_wr_pos: Default::default(),
            fifo_wr_data: Default::default(),
            fifo_wr_mask: Default::default(),
            q_push: Default::default(),
            q_push_data: Default::default(),
            q_full: Default::default(),
            bus_req: Default::default(),
            bus_addr: Default::default(),
            bus_we: Default::default(),
            bus_wdata: Default::default(),
            bus_last: Default::default(),
            bus_grant: Default::default(),
            bus_fault: Default::default(),
            bus_rvalid: Default::default(),
            bus_rdata: Default::default(),
            tdh: Default::default(),
            state: Default::default(),
            state_code: Default::default(),
            halted: Default::default(),
            err_addr: Default::default(),
            ev_drop: Default::default(),
            c_txdw: Default::default(),
            c_txdw_delayed: Default::default(),
            c_txqe: Default::default(),
            c_dma_err: Default::default(),
            fsm: Default::default(),
            head: Default::default(),
            desc_addr: Default::default(),
            d_addr: Default::default(),
            d_hi: Default::default(),
            d_len_cmd: Default::default(),
            d_sta: Default::default(),
            issued: Default::default(),
            received: Default::default(),
            issue_addr: Default::default(),
            recv_addr: Default::default(),
            fpos: Default::default(),
            wr_ptr: Default::default(),
            frame_start: Default::default(),
            frame_bytes: Default::default(),
            dropping: Default::default(),
            r_halted: Default::default(),
            r_err_addr: Default::default(),
            count: Default::default(),
            next_head: Default::default(),
            ring_ok: Default::default(),
            len: Default::default(),
            cmd: Default::default(),
            end_addr: Default::default(),
            fifo_used: Default::default(),
            fifo_free: Default::default(),
            malformed: Default::default(),
            first_byte: Default::default(),
            bytes_left: Default::default(),
            mask_lo: Default::default(),
            mask_hi: Default::default(),
            finish: Default::default(),
            capacity: k32(fifo_bytes),
            k_eop: k8(tx_desc::CMD_EOP),
            k_ifcs: k8(tx_desc::CMD_IFCS),
            k_rs: k8(tx_desc::CMD_RS),
            k_ide: k8(tx_desc::CMD_IDE),
            k_sta_dd: k32(tx_desc::STA_DD),
            k_sta_err: k32(tx_desc::STA_ERR),
            k_len_mask: k32(tx_desc::LEN_MASK),
            k_sta_offset: k32(tx_desc::STA_WORD),
            page_mask: k32(regs::PAGE_BYTES - 1),
            index_mask: k32(ring_mask),
            word_mask: k32(!3),
            all_lanes: Constant::new(15.into()),
            sta_keep: k32(!0xF),
            q_ifcs_flag: Constant::new((1u64 << TX_Q_IFCS_BIT).into()),
        }
    }
}

impl Logic for TxDma {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            fsm,
            head,
            desc_addr,
            d_addr,
            d_hi,
            d_len_cmd,
            d_sta,
            issued,
            received,
            issue_addr,
            recv_addr,
            fpos,
            wr_ptr,
            frame_start,
            frame_bytes,
            dropping,
            r_halted,
            r_err_addr
        );
        // ---- per-cycle values ----
        self.count.next = self.tdlen.val() >> 4;
        self.ring_ok.next = (self.count.val() != 0)
            & (self.head.q.val() < self.count.val())
            & (self.tdt.val() < self.count.val());
        if (self.head.q.val() + 1) >= self.count.val() {
            self.next_head.next = 0.into();
        } else {
            self.next_head.next = self.head.q.val() + 1;
        }
        self.len.next = self.d_len_cmd.q.val() & self.k_len_mask.val();
        self.cmd.next = self.d_len_cmd.q.val().get_bits::<8>(24);
        self.end_addr.next =
            bit_cast::<33, 32>(self.d_addr.q.val()) + bit_cast::<33, 32>(self.len.val());
        // The 16-bit difference in a 16-bit signal: written inside the 32-bit expression, the
        // Verilog rust-hdl emits computes it at 32 bits and does not wrap, so once `wr_ptr`
        // had wrapped past 2^16 and the MAC's pointer had not, the FIFO looked almost empty
        // and new frames overwrote ones not yet sent (the simulator of rust-hdl wraps, which
        // is why only the Verilator model showed it).
        self.fifo_used.next = self.wr_ptr.q.val() - self.fifo_rd_ptr.val();
        self.fifo_free.next = self.capacity.val() - bit_cast::<32, 16>(self.fifo_used.val());
        self.malformed.next = self.d_hi.q.val()
            | (self.end_addr.val().get_bit(32) & (self.end_addr.val().get_bits::<32>(0) != 0))
            | ((self.frame_bytes.q.val() + self.len.val()) > self.capacity.val())
            | (((self.cmd.val() & self.k_eop.val()) != 0)
                & ((self.frame_bytes.q.val() + self.len.val()) == 0));
        // Byte mask of the word at recv_addr: from the buffer's first byte, up to its end.
        if self.recv_addr.q.val() == (self.d_addr.q.val() & self.word_mask.val()) {
            self.first_byte.next = self.d_addr.q.val().get_bits::<2>(0);
        } else {
            self.first_byte.next = 0.into();
        }
        self.mask_lo.next = self.all_lanes.val() << self.first_byte.val();
        self.bytes_left.next = self.end_addr.val() - bit_cast::<33, 32>(self.recv_addr.q.val());
        self.mask_hi.next = 15.into();
        if self.bytes_left.val() == 3 {
            self.mask_hi.next = 7.into();
        }
        if self.bytes_left.val() == 2 {
            self.mask_hi.next = 3.into();
        }
        if self.bytes_left.val() == 1 {
            self.mask_hi.next = 1.into();
        }

        // ---- defaults ----
        self.bus_req.next = false;
        self.bus_we.next = false;
        self.bus_addr.next = self.issue_addr.q.val();
        self.bus_wdata.next = (self.d_sta.q.val() & self.sta_keep.val()) | self.k_sta_dd.val();
        if self.dropping.q.val() {
            self.bus_wdata.next = (self.d_sta.q.val() & self.sta_keep.val())
                | self.k_sta_dd.val()
                | self.k_sta_err.val();
        }
        self.bus_last.next = false;
        self.fifo_wr_pos.next = self.fpos.q.val();
        self.fifo_wr_data.next = self.bus_rdata.val();
        self.fifo_wr_mask.next = 0.into();
        self.q_push.next = false;
        self.q_push_data.next = bit_cast::<40, 32>(self.frame_bytes.q.val());
        if (self.cmd.val() & self.k_ifcs.val()) != 0 {
            self.q_push_data.next =
                bit_cast::<40, 32>(self.frame_bytes.q.val()) | self.q_ifcs_flag.val();
        }
        self.ev_drop.next = false;
        self.c_txdw.next = false;
        self.c_txdw_delayed.next = false;
        self.c_txqe.next = false;
        self.c_dma_err.next = false;
        self.finish.next = false;

        match self.fsm.q.val() {
            TxState::Idle => {
                if self.r_halted.q.val() {
                    self.fsm.d.next = TxState::Halted;
                } else if self.enable.val()
                    & (self.head.q.val() != self.tdt.val())
                    & self.ring_ok.val()
                {
                    self.desc_addr.d.next = self.tdbal.val() + (self.head.q.val() << 4);
                    self.issued.d.next = 0.into();
                    self.received.d.next = 0.into();
                    self.fsm.d.next = TxState::FetchDesc;
                }
            }
            TxState::FetchDesc => {
                self.bus_req.next = self.issued.q.val() != 4;
                self.bus_addr.next =
                    self.desc_addr.q.val() + (bit_cast::<32, 3>(self.issued.q.val()) << 2);
                self.bus_last.next = self.issued.q.val() == 3;
                if self.bus_grant.val() {
                    self.issued.d.next = self.issued.q.val() + 1;
                }
                if self.bus_rvalid.val() {
                    self.received.d.next = self.received.q.val() + 1;
                    if self.received.q.val() == 0 {
                        self.d_addr.d.next = self.bus_rdata.val();
                    }
                    if self.received.q.val() == 1 {
                        self.d_hi.d.next = self.bus_rdata.val() != 0;
                    }
                    if self.received.q.val() == 2 {
                        self.d_len_cmd.d.next = self.bus_rdata.val();
                    }
                    if self.received.q.val() == 3 {
                        self.d_sta.d.next = self.bus_rdata.val();
                        self.fsm.d.next = TxState::CheckDesc;
                    }
                }
                if self.bus_fault.val() {
                    self.r_halted.d.next = true;
                    self.r_err_addr.d.next = self.bus_addr.val();
                    self.c_dma_err.next = true;
                    self.fsm.d.next = TxState::Halted;
                }
            }
            TxState::CheckDesc => {
                if self.malformed.val() {
                    if !self.dropping.q.val() {
                        self.ev_drop.next = true;
                    }
                    self.dropping.d.next = true;
                    self.fsm.d.next = TxState::WriteBack;
                } else if self.dropping.q.val() | (self.len.val() == 0) {
                    self.fsm.d.next = TxState::WriteBack;
                } else {
                    self.issue_addr.d.next = self.d_addr.q.val() & self.word_mask.val();
                    self.recv_addr.d.next = self.d_addr.q.val() & self.word_mask.val();
                    self.fpos.d.next = self.wr_ptr.q.val()
                        - bit_cast::<16, 2>(self.d_addr.q.val().get_bits::<2>(0));
                    self.fsm.d.next = TxState::WaitSpace;
                }
            }
            TxState::WaitSpace => {
                if self.fifo_free.val() >= self.len.val() {
                    self.fsm.d.next = TxState::ReadData;
                }
            }
            TxState::ReadData => {
                // The second term: after a buffer that ends at 2^32, issue_addr wraps to 0.
                self.bus_req.next = (bit_cast::<33, 32>(self.issue_addr.q.val())
                    < self.end_addr.val())
                    & (self.issue_addr.q.val() >= (self.d_addr.q.val() & self.word_mask.val()));
                self.bus_addr.next = self.issue_addr.q.val();
                self.bus_last.next = (((self.issue_addr.q.val() + 4) & self.page_mask.val()) == 0)
                    | ((bit_cast::<33, 32>(self.issue_addr.q.val()) + 4) >= self.end_addr.val());
                if self.bus_grant.val() {
                    self.issue_addr.d.next = self.issue_addr.q.val() + 4;
                }
                if self.bus_rvalid.val() {
                    self.fifo_wr_mask.next = self.mask_lo.val() & self.mask_hi.val();
                    self.fpos.d.next = self.fpos.q.val() + 4;
                    self.recv_addr.d.next = self.recv_addr.q.val() + 4;
                    if self.bytes_left.val() <= 4 {
                        self.wr_ptr.d.next = self.wr_ptr.q.val() + self.len.val().get_bits::<16>(0);
                        self.frame_bytes.d.next = self.frame_bytes.q.val() + self.len.val();
                        self.fsm.d.next = TxState::WriteBack;
                    }
                }
                if self.bus_fault.val() {
                    if !self.dropping.q.val() {
                        self.ev_drop.next = true;
                    }
                    self.dropping.d.next = true;
                    self.r_err_addr.d.next = self.issue_addr.q.val();
                    self.fsm.d.next = TxState::WriteBack;
                }
            }
            TxState::WriteBack => {
                if (self.cmd.val() & self.k_rs.val()) != 0 {
                    self.bus_req.next = true;
                    self.bus_we.next = true;
                    self.bus_last.next = true;
                    self.bus_addr.next = self.desc_addr.q.val() + self.k_sta_offset.val();
                    if self.bus_grant.val() {
                        self.finish.next = true;
                        if (self.cmd.val() & self.k_ide.val()) != 0 {
                            self.c_txdw_delayed.next = true;
                        } else {
                            self.c_txdw.next = true;
                        }
                    }
                    if self.bus_fault.val() {
                        self.r_halted.d.next = true;
                        self.r_err_addr.d.next = self.bus_addr.val();
                        self.c_dma_err.next = true;
                        self.fsm.d.next = TxState::Halted;
                        // The restart fetches this descriptor again: take its bytes back
                        // out of the frame (unless dropping, they were added in ReadData).
                        if !self.dropping.q.val() {
                            self.wr_ptr.d.next =
                                self.wr_ptr.q.val() - self.len.val().get_bits::<16>(0);
                            self.frame_bytes.d.next = self.frame_bytes.q.val() - self.len.val();
                        }
                    }
                } else {
                    self.finish.next = true;
                }
                if self.finish.val() {
                    self.head.d.next = self.next_head.val() & self.index_mask.val();
                    if self.next_head.val() == self.tdt.val() {
                        self.c_txqe.next = true;
                    }
                    if (self.cmd.val() & self.k_eop.val()) != 0 {
                        self.fsm.d.next = TxState::Commit;
                    } else {
                        self.fsm.d.next = TxState::Idle;
                    }
                }
            }
            TxState::Commit => {
                if self.dropping.q.val() {
                    self.wr_ptr.d.next = self.frame_start.q.val();
                    self.frame_bytes.d.next = 0.into();
                    self.dropping.d.next = false;
                    self.fsm.d.next = TxState::Idle;
                } else if !self.q_full.val() {
                    self.q_push.next = true;
                    self.frame_start.d.next = self.wr_ptr.q.val();
                    self.frame_bytes.d.next = 0.into();
                    self.fsm.d.next = TxState::Idle;
                }
            }
            TxState::Halted => {
                if self.restart.val() {
                    self.r_halted.d.next = false;
                    self.fsm.d.next = TxState::Idle;
                }
            }
            _ => {
                self.fsm.d.next = TxState::Idle;
            }
        }
        if self.head_write.val() {
            self.head.d.next = self.head_wdata.val() & self.index_mask.val();
        }
        if self.soft_reset.val() {
            self.fsm.d.next = TxState::Idle;
            self.head.d.next = 0.into();
            self.wr_ptr.d.next = 0.into();
            self.frame_start.d.next = 0.into();
            self.frame_bytes.d.next = 0.into();
            self.dropping.d.next = false;
            self.r_halted.d.next = false;
        }
        self.tdh.next = self.head.q.val();
        self.state.next = self.fsm.q.val();
        match self.fsm.q.val() {
            TxState::Idle => {
                self.state_code.next = 0.into();
            }
            TxState::FetchDesc => {
                self.state_code.next = 1.into();
            }
            TxState::CheckDesc => {
                self.state_code.next = 2.into();
            }
            TxState::WaitSpace => {
                self.state_code.next = 3.into();
            }
            TxState::ReadData => {
                self.state_code.next = 4.into();
            }
            TxState::WriteBack => {
                self.state_code.next = 5.into();
            }
            TxState::Commit => {
                self.state_code.next = 6.into();
            }
            TxState::Halted => {
                self.state_code.next = 7.into();
            }
        }
        self.halted.next = self.r_halted.q.val();
        self.err_addr.next = self.r_err_addr.q.val();
    }
}

#[cfg(test)]
#[path = "tx_dma_tests.rs"]
mod tests;
