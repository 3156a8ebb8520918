//! The UART-to-bus bridge: frames from a serial line become transactions on the SoC's host
//! port, and their results go back as replies (protocol v2: `regs::uart_bridge`).
//!
//! ```text
//!                 ┌───────────────────────────────────────────────────┐
//!  rxd          ─►│ UartRx ─► receive: WaitSync ─► ReceiveCommand ─►  ├─► host_addr[32]
//!                 │   ReceiveTag ─► ReceiveAddress ─► ReceiveCount ─►  ├─► host_wdata[32]
//!                 │   ReceiveData ─► ReceiveByteEnables ─► ReceiveCrc ├─► host_be[4]
//!                 │   (burst words ─► buffer 64 × 32; CRC-16 per byte;├─► host_we
//!                 │    inter-byte timeout ─► WaitSync)                ├─► host_req
//!  host_ready   ─►│ execute: WriteRequest, BurstFetch ─► BurstWrite,  │
//!  host_rvalid  ─►│          ReadRequest ─► ReadWait                  │
//!  host_rdata   ─►│   or replay: the last executed frame's reply      ├─► frames_ok[16]
//!  irq          ─►│              ▼                                    ├─► bad_crc[16]
//!  divisor[16]  ─►│ reply: SendSync ─► SendStatus ─► SendTag ─►       ├─► bad_command[16]
//!  clock        ─►│   SendData/SendByte ─► SendCrc (2) ─► UartTx      ├─► discarded_bytes[16]
//!                 │                                                   ├─► framing_errors[16]
//!  txd          ◄─┤                                                   ├─► timeouts[16]
//!                 │                                                   ├─► replays[16]
//!                 └───────────────────────────────────────────────────┘─► state
//! ```
//!
//! The bridge is the host port's **master**: it holds `host_req` with address, data, byte
//! enables and `host_we` until `host_ready` is high (the request is taken at that edge) and
//! takes a read's data when `host_rvalid` is high (the cycle after, on the SoC). One frame is
//! handled at a time: receive it, check its CRC, execute it (or answer it from memory), send
//! the reply, then hunt for the next `SYNC`.
//!
//! * **CRC.** One byte-wise CRC-16/CCITT-FALSE step (`regs::uart_bridge::crc16_update`, an XOR
//!   network) serves both directions: it runs over every received byte after `SYNC`, the CRC
//!   bytes included, and the frame is intact when the register ends at 0; while replying it
//!   runs over the bytes sent after `REPLY_SYNC`, and the register goes out most significant
//!   byte first.
//! * **Nothing unchecked executes.** A burst write's words go into the buffer as they arrive;
//!   only after the CRC checked out are they written to the host port, in address order, all
//!   byte enables set. READ32 is a READ_BURST of one word (same reply layout); a burst read
//!   sends `REPLY_SYNC`, `STATUS` and `TAG` first and then reads and sends one word at a time,
//!   so it needs no buffer. A frame with a bad CRC is answered `STATUS_BAD_CRC` with the TAG as
//!   received and nothing reaches the host port. An unknown CMD (at its TAG) or a bad burst
//!   count is answered `STATUS_BAD_COMMAND` as soon as it is seen.
//! * **Replay.** When it executes a READ32, WRITE32, WRITE_BURST or IRQ_STATUS the bridge
//!   remembers the frame's TAG and CRC, and for READ32 and IRQ_STATUS the reply payload. A good
//!   frame with that TAG and that CRC is answered from memory (counted in `replays`) and not
//!   executed. READ_BURST is executed again and NOP never changes the memory; NOP's payload is
//!   the remembered TAG.
//! * **Framing errors and timeouts.** A framing error is counted in `framing_errors`, and a gap
//!   of more than `INTERBYTE_TIMEOUT_BITS` bit times (`divisor << INTERBYTE_TIMEOUT_SHIFT`
//!   cycles) between two bytes of a frame in `timeouts`; either abandons the frame without a
//!   reply, so a truncated frame cannot swallow the start of the next one.
//! * Every received byte that belongs to no frame (garbage before `SYNC`, bytes arriving
//!   while the bridge executes or replies) is counted in `discarded_bytes`.
//! * The counters wrap at 2^16.

use super::rx::UartRx;
use super::tx::UartTx;
use regs::uart_bridge as ub;
use rust_hdl::prelude::*;

/// States of the bridge: receiving a frame, executing it, replying.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum BridgeState {
    /// Hunting for `SYNC`; any other byte is discarded.
    WaitSync,
    ReceiveCommand,
    ReceiveTag,
    ReceiveAddress,
    ReceiveCount,
    ReceiveData,
    ReceiveByteEnables,
    /// The two CRC bytes; the second one decides: reply BAD_CRC, replay, or execute.
    ReceiveCrc,
    /// WRITE32 on the host port.
    WriteRequest,
    /// Burst write: the buffer reads the next word (registered read).
    BurstFetch,
    /// Burst write: that word into `data` (one cycle), then from there on the host port.
    BurstWrite,
    ReadRequest,
    /// The read was taken; waiting for `host_rvalid`.
    ReadWait,
    SendSync,
    SendStatus,
    SendTag,
    /// The bytes of a word (READ32, READ_BURST).
    SendData,
    /// A one-byte payload (IRQ_STATUS, NOP).
    SendByte,
    /// The two CRC bytes, most significant first.
    SendCrc,
}

#[derive(LogicBlock)]
pub struct UartBridge {
    pub clock: Signal<In, Clock>,
    /// Clock cycles per bit, at least `regs::uart_bridge::MIN_DIVISOR`.
    pub divisor: Signal<In, Bits<16>>,
    pub rxd: Signal<In, Bit>,
    pub txd: Signal<Out, Bit>,
    pub irq: Signal<In, Bit>,
    // ---- host port (master) ----
    pub host_addr: Signal<Out, Bits<32>>,
    pub host_wdata: Signal<Out, Bits<32>>,
    pub host_be: Signal<Out, Bits<4>>,
    pub host_we: Signal<Out, Bit>,
    pub host_req: Signal<Out, Bit>,
    pub host_ready: Signal<In, Bit>,
    pub host_rvalid: Signal<In, Bit>,
    pub host_rdata: Signal<In, Bits<32>>,
    // ---- counters ----
    /// Good frames executed (CRC good, command known, not a retransmission); NOPs included.
    pub frames_ok: Signal<Out, Bits<16>>,
    /// Frames whose CRC did not check out (answered BAD_CRC).
    pub bad_crc: Signal<Out, Bits<16>>,
    pub bad_command: Signal<Out, Bits<16>>,
    pub discarded_bytes: Signal<Out, Bits<16>>,
    pub framing_errors: Signal<Out, Bits<16>>,
    /// Frames abandoned because their next byte did not come in time.
    pub timeouts: Signal<Out, Bits<16>>,
    /// Retransmissions answered from memory instead of executed.
    pub replays: Signal<Out, Bits<16>>,
    pub state: Signal<Out, BridgeState>,
    // ==== implementation ====
    rx: UartRx,
    tx: UartTx,
    /// Burst-write words, by word index in the burst.
    buffer: RAM<Bits<32>, 6>,
    fsm: DFF<BridgeState>,
    cmd: DFF<Bits<8>>,
    tag: DFF<Bits<8>>,
    addr: DFF<Bits<32>>,
    /// Word being received, written or sent (sent from bit 0 up, shifting right).
    data: DFF<Bits<32>>,
    be: DFF<Bits<4>>,
    /// Words in this command (1 for READ32).
    count: DFF<Bits<7>>,
    /// Words of this command received, written or sent.
    word: DFF<Bits<7>>,
    /// Burst write: the buffer's word is in `data` (the host port's write data then comes
    /// from a register, not from the buffer RAM's output).
    loaded: DFF<Bit>,
    /// Byte of the current field or word.
    byte_index: DFF<Bits<2>>,
    /// CRC register of the frame's bytes after `SYNC`, then of the reply's after `REPLY_SYNC`.
    crc: DFF<Bits<16>>,
    /// The CRC of the frame's bytes before its CRC field (its key in the replay memory).
    body_crc: DFF<Bits<16>>,
    status: DFF<Bits<8>>,
    /// This frame is a retransmission, answered from memory.
    replay: DFF<Bit>,
    // ---- replay memory: the last executed READ32, WRITE32, WRITE_BURST or IRQ_STATUS ----
    last_valid: DFF<Bit>,
    last_tag: DFF<Bits<8>>,
    last_crc: DFF<Bits<16>>,
    /// Its reply payload: the word (READ32) or the irq byte (IRQ_STATUS, in bits 7:0).
    last_data: DFF<Bits<32>>,
    /// Cycles since the last byte of the frame being received.
    idle_cycles: DFF<Bits<24>>,
    n_frames_ok: DFF<Bits<16>>,
    n_bad_crc: DFF<Bits<16>>,
    n_bad_command: DFF<Bits<16>>,
    n_discarded: DFF<Bits<16>>,
    n_framing_errors: DFF<Bits<16>>,
    n_timeouts: DFF<Bits<16>>,
    n_replays: DFF<Bits<16>>,
    // ---- working values ----
    /// The received byte (not `byte`: a SystemVerilog keyword, which Verilator rejects).
    rx_byte: Signal<Local, Bits<8>>,
    /// The byte the CRC register takes this cycle: received, or being sent.
    crc_byte: Signal<Local, Bits<8>>,
    crc_x: Signal<Local, Bits<8>>,
    crc_fold: Signal<Local, Bits<8>>,
    crc_fold_wide: Signal<Local, Bits<16>>,
    crc_with_byte: Signal<Local, Bits<16>>,
    /// The frame now received is the one the memory holds.
    replay_hit: Signal<Local, Bit>,
    /// The command is one the memory keeps (READ32, WRITE32, WRITE_BURST, IRQ_STATUS).
    remembered_cmd: Signal<Local, Bit>,
    irq_byte: Signal<Local, Bits<8>>,
    timeout_cycles: Signal<Local, Bits<24>>,
    timed_out: Signal<Local, Bit>,
    /// `data` with the received byte shifted in at the top (little endian assembly).
    data_with_byte: Signal<Local, Bits<32>>,
    addr_with_byte: Signal<Local, Bits<32>>,
    field_done: Signal<Local, Bit>,
    word_next: Signal<Local, Bits<7>>,
    burst_done: Signal<Local, Bit>,
    tx_byte: Signal<Local, Bits<8>>,
    tx_go: Signal<Local, Bit>,
    receiving: Signal<Local, Bit>,
    discard: Signal<Local, Bit>,
    reject_command: Signal<Local, Bit>,
    k_sync: Constant<Bits<8>>,
    k_reply_sync: Constant<Bits<8>>,
    k_read32: Constant<Bits<8>>,
    k_write32: Constant<Bits<8>>,
    k_read_burst: Constant<Bits<8>>,
    k_write_burst: Constant<Bits<8>>,
    k_irq_status: Constant<Bits<8>>,
    k_nop: Constant<Bits<8>>,
    k_ok: Constant<Bits<8>>,
    k_bad_crc: Constant<Bits<8>>,
    k_bad_command: Constant<Bits<8>>,
    k_max_burst: Constant<Bits<8>>,
    k_irq_line: Constant<Bits<8>>,
    k_crc_init: Constant<Bits<16>>,
    k_crc_residue: Constant<Bits<16>>,
    k_timeout_shift: Constant<Bits<5>>,
}

fn byte_const(v: u8) -> Constant<Bits<8>> {
    Constant::new((v as u64).into())
}

impl Default for UartBridge {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            divisor: Default::default(),
            rxd: Default::default(),
            txd: Default::default(),
            irq: Default::default(),
            host_addr: Default::default(),
            host_wdata: Default::default(),
            host_be: Default::default(),
            host_we: Default::default(),
            host_req: Default::default(),
            host_ready: Default::default(),
            host_rvalid: Default::default(),
            host_rdata: Default::default(),
            frames_ok: Default::default(),
            bad_crc: Default::default(),
            bad_command: Default::default(),
            discarded_bytes: Default::default(),
            framing_errors: Default::default(),
            timeouts: Default::default(),
            replays: Default::default(),
            state: Default::default(),
            rx: Default::default(),
            tx: Default::default(),
            buffer: Default::default(),
            fsm: Default::default(),
            cmd: Default::default(),
            tag: Default::default(),
            addr: Default::default(),
            data: Default::default(),
            be: Default::default(),
            count: Default::default(),
            word: Default::default(),
            loaded: Default::default(),
            byte_index: Default::default(),
            crc: Default::default(),
            body_crc: Default::default(),
            status: Default::default(),
            replay: Default::default(),
            last_valid: Default::default(),
            last_tag: Default::default(),
            last_crc: Default::default(),
            last_data: Default::default(),
            idle_cycles: Default::default(),
            n_frames_ok: Default::default(),
            n_bad_crc: Default::default(),
            n_bad_command: Default::default(),
            n_discarded: Default::default(),
            n_framing_errors: Default::default(),
            n_timeouts: Default::default(),
            n_replays: Default::default(),
            rx_byte: Default::default(),
            crc_byte: Default::default(),
            crc_x: Default::default(),
            crc_fold: Default::default(),
            crc_fold_wide: Default::default(),
            crc_with_byte: Default::default(),
            replay_hit: Default::default(),
            remembered_cmd: Default::default(),
            irq_byte: Default::default(),
            timeout_cycles: Default::default(),
            timed_out: Default::default(),
            data_with_byte: Default::default(),
            addr_with_byte: Default::default(),
            field_done: Default::default(),
            word_next: Default::default(),
            burst_done: Default::default(),
            tx_byte: Default::default(),
            tx_go: Default::default(),
            receiving: Default::default(),
            discard: Default::default(),
            reject_command: Default::default(),
            k_sync: byte_const(ub::SYNC),
            k_reply_sync: byte_const(ub::REPLY_SYNC),
            k_read32: byte_const(ub::CMD_READ32),
            k_write32: byte_const(ub::CMD_WRITE32),
            k_read_burst: byte_const(ub::CMD_READ_BURST),
            k_write_burst: byte_const(ub::CMD_WRITE_BURST),
            k_irq_status: byte_const(ub::CMD_IRQ_STATUS),
            k_nop: byte_const(ub::CMD_NOP),
            k_ok: byte_const(ub::STATUS_OK),
            k_bad_crc: byte_const(ub::STATUS_BAD_CRC),
            k_bad_command: byte_const(ub::STATUS_BAD_COMMAND),
            k_max_burst: byte_const(ub::MAX_BURST_WORDS as u8),
            k_irq_line: byte_const(ub::IRQ_LINE),
            k_crc_init: Constant::new((ub::CRC_INIT as u64).into()),
            k_crc_residue: Constant::new((ub::CRC_RESIDUE as u64).into()),
            k_timeout_shift: Constant::new((ub::INTERBYTE_TIMEOUT_SHIFT as u64).into()),
        }
    }
}

impl Logic for UartBridge {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            fsm,
            cmd,
            tag,
            addr,
            data,
            be,
            count,
            word,
            loaded,
            byte_index,
            crc,
            body_crc,
            status,
            replay,
            last_valid,
            last_tag,
            last_crc,
            last_data,
            idle_cycles,
            n_frames_ok,
            n_bad_crc,
            n_bad_command,
            n_discarded,
            n_framing_errors,
            n_timeouts,
            n_replays
        );
        // ---- serial line ----
        self.rx.clock.next = self.clock.val();
        self.tx.clock.next = self.clock.val();
        self.rx.divisor.next = self.divisor.val();
        self.tx.divisor.next = self.divisor.val();
        self.rx.rxd.next = self.rxd.val();
        self.txd.next = self.tx.txd.val();

        // ---- outputs ----
        self.frames_ok.next = self.n_frames_ok.q.val();
        self.bad_crc.next = self.n_bad_crc.q.val();
        self.bad_command.next = self.n_bad_command.q.val();
        self.discarded_bytes.next = self.n_discarded.q.val();
        self.framing_errors.next = self.n_framing_errors.q.val();
        self.timeouts.next = self.n_timeouts.q.val();
        self.replays.next = self.n_replays.q.val();
        self.state.next = self.fsm.q.val();
        self.host_addr.next = self.addr.q.val();
        self.host_wdata.next = self.data.q.val();
        self.host_be.next = self.be.q.val();
        self.host_we.next = false;
        self.host_req.next = false;

        // ---- CRC-16/CCITT-FALSE, one byte per step ----
        // The byte is known before the FSM runs: received, or taken from the register it is
        // sent from, so one XOR network serves both directions.
        self.rx_byte.next = self.rx.data.val();
        self.crc_byte.next = self.rx_byte.val();
        if self.fsm.q.val() == BridgeState::SendStatus {
            self.crc_byte.next = self.status.q.val();
        }
        if self.fsm.q.val() == BridgeState::SendTag {
            self.crc_byte.next = self.tag.q.val();
        }
        if (self.fsm.q.val() == BridgeState::SendData) | (self.fsm.q.val() == BridgeState::SendByte)
        {
            self.crc_byte.next = self.data.q.val().get_bits::<8>(0);
        }
        // x = (crc >> 8) ^ byte; x ^= x >> 4; crc = (crc << 8) ^ (x << 12) ^ (x << 5) ^ x
        self.crc_x.next = self.crc.q.val().get_bits::<8>(8) ^ self.crc_byte.val();
        self.crc_fold.next = self.crc_x.val() ^ (self.crc_x.val() >> 4);
        self.crc_fold_wide.next = bit_cast::<16, 8>(self.crc_fold.val());
        self.crc_with_byte.next = (self.crc.q.val() << 8)
            ^ (self.crc_fold_wide.val() << 12)
            ^ (self.crc_fold_wide.val() << 5)
            ^ self.crc_fold_wide.val();

        // ---- working values ----
        self.data_with_byte.next =
            (self.data.q.val() >> 8) | (bit_cast::<32, 8>(self.rx.data.val()) << 24);
        self.addr_with_byte.next =
            (self.addr.q.val() >> 8) | (bit_cast::<32, 8>(self.rx.data.val()) << 24);
        self.field_done.next = self.byte_index.q.val() == 3;
        self.word_next.next = self.word.q.val() + 1;
        self.burst_done.next = self.word_next.val() == self.count.q.val();
        self.remembered_cmd.next = (self.cmd.q.val() == self.k_read32.val())
            | (self.cmd.q.val() == self.k_write32.val())
            | (self.cmd.q.val() == self.k_write_burst.val())
            | (self.cmd.q.val() == self.k_irq_status.val());
        self.replay_hit.next = self.last_valid.q.val()
            & self.remembered_cmd.val()
            & (self.tag.q.val() == self.last_tag.q.val())
            & (self.body_crc.q.val() == self.last_crc.q.val());
        self.irq_byte.next = 0.into();
        if self.irq.val() {
            self.irq_byte.next = self.k_irq_line.val();
        }
        self.timeout_cycles.next =
            bit_cast::<24, 16>(self.divisor.val()) << self.k_timeout_shift.val();
        self.tx_byte.next = 0.into();
        self.tx_go.next = false;
        self.receiving.next = false;
        self.discard.next = false;
        self.reject_command.next = false;

        // ---- burst buffer: written while receiving, read by word index ----
        self.buffer.read_clock.next = self.clock.val();
        self.buffer.write_clock.next = self.clock.val();
        self.buffer.read_address.next = self.word.q.val().get_bits::<6>(0);
        self.buffer.write_address.next = self.word.q.val().get_bits::<6>(0);
        self.buffer.write_data.next = self.data_with_byte.val();
        self.buffer.write_enable.next = false;

        match self.fsm.q.val() {
            // ==== receive ====
            BridgeState::WaitSync => {
                if self.rx.valid.val() {
                    self.discard.next = true;
                    if self.rx_byte.val() == self.k_sync.val() {
                        self.discard.next = false;
                        self.crc.d.next = self.k_crc_init.val();
                        self.fsm.d.next = BridgeState::ReceiveCommand;
                    }
                }
            }
            BridgeState::ReceiveCommand => {
                self.receiving.next = true;
                if self.rx.valid.val() {
                    self.cmd.d.next = self.rx_byte.val();
                    self.crc.d.next = self.crc_with_byte.val();
                    self.fsm.d.next = BridgeState::ReceiveTag;
                }
            }
            BridgeState::ReceiveTag => {
                self.receiving.next = true;
                if self.rx.valid.val() {
                    self.tag.d.next = self.rx_byte.val();
                    self.crc.d.next = self.crc_with_byte.val();
                    self.byte_index.d.next = 0.into();
                    self.word.d.next = 0.into();
                    self.count.d.next = 1.into();
                    self.be.d.next = 0xF.into();
                    // Answered here, not at CMD, so that the reply can carry the TAG.
                    self.reject_command.next = true;
                    if (self.cmd.q.val() == self.k_read32.val())
                        | (self.cmd.q.val() == self.k_write32.val())
                        | (self.cmd.q.val() == self.k_read_burst.val())
                        | (self.cmd.q.val() == self.k_write_burst.val())
                    {
                        self.reject_command.next = false;
                        self.fsm.d.next = BridgeState::ReceiveAddress;
                    }
                    if (self.cmd.q.val() == self.k_irq_status.val())
                        | (self.cmd.q.val() == self.k_nop.val())
                    {
                        self.reject_command.next = false;
                        self.fsm.d.next = BridgeState::ReceiveCrc;
                    }
                }
            }
            BridgeState::ReceiveAddress => {
                self.receiving.next = true;
                if self.rx.valid.val() {
                    self.addr.d.next = self.addr_with_byte.val();
                    self.crc.d.next = self.crc_with_byte.val();
                    self.byte_index.d.next = self.byte_index.q.val() + 1;
                    if self.field_done.val() {
                        self.fsm.d.next = BridgeState::ReceiveCount;
                        if self.cmd.q.val() == self.k_read32.val() {
                            self.fsm.d.next = BridgeState::ReceiveCrc;
                        }
                        if self.cmd.q.val() == self.k_write32.val() {
                            self.fsm.d.next = BridgeState::ReceiveData;
                        }
                    }
                }
            }
            BridgeState::ReceiveCount => {
                self.receiving.next = true;
                if self.rx.valid.val() {
                    self.crc.d.next = self.crc_with_byte.val();
                    self.count.d.next = self.rx_byte.val().get_bits::<7>(0);
                    if (self.rx_byte.val() == 0) | (self.rx_byte.val() > self.k_max_burst.val()) {
                        self.reject_command.next = true;
                    } else {
                        self.fsm.d.next = BridgeState::ReceiveData;
                        if self.cmd.q.val() == self.k_read_burst.val() {
                            self.fsm.d.next = BridgeState::ReceiveCrc;
                        }
                    }
                }
            }
            BridgeState::ReceiveData => {
                self.receiving.next = true;
                if self.rx.valid.val() {
                    self.data.d.next = self.data_with_byte.val();
                    self.crc.d.next = self.crc_with_byte.val();
                    self.byte_index.d.next = self.byte_index.q.val() + 1;
                    if self.field_done.val() {
                        if self.cmd.q.val() == self.k_write32.val() {
                            self.fsm.d.next = BridgeState::ReceiveByteEnables;
                        } else {
                            self.buffer.write_enable.next = true;
                            self.word.d.next = self.word_next.val();
                            if self.burst_done.val() {
                                self.fsm.d.next = BridgeState::ReceiveCrc;
                            }
                        }
                    }
                }
            }
            BridgeState::ReceiveByteEnables => {
                self.receiving.next = true;
                if self.rx.valid.val() {
                    self.crc.d.next = self.crc_with_byte.val();
                    self.be.d.next = self.rx_byte.val().get_bits::<4>(0);
                    self.fsm.d.next = BridgeState::ReceiveCrc;
                }
            }
            BridgeState::ReceiveCrc => {
                self.receiving.next = true;
                if self.rx.valid.val() {
                    self.crc.d.next = self.crc_with_byte.val();
                    self.byte_index.d.next = self.byte_index.q.val() + 1;
                    if !self.byte_index.q.val().get_bit(0) {
                        self.body_crc.d.next = self.crc.q.val();
                    } else {
                        self.word.d.next = 0.into();
                        self.byte_index.d.next = 0.into();
                        self.replay.d.next = false;
                        self.fsm.d.next = BridgeState::SendSync;
                        if self.crc_with_byte.val() == self.k_crc_residue.val() {
                            self.status.d.next = self.k_ok.val();
                            if self.cmd.q.val() == self.k_nop.val() {
                                self.data.d.next = bit_cast::<32, 8>(self.last_tag.q.val());
                                self.n_frames_ok.d.next = self.n_frames_ok.q.val() + 1;
                            } else if self.replay_hit.val() {
                                self.replay.d.next = true;
                                self.data.d.next = self.last_data.q.val();
                                self.n_replays.d.next = self.n_replays.q.val() + 1;
                            } else {
                                self.n_frames_ok.d.next = self.n_frames_ok.q.val() + 1;
                                if self.remembered_cmd.val() {
                                    self.last_valid.d.next = true;
                                    self.last_tag.d.next = self.tag.q.val();
                                    self.last_crc.d.next = self.body_crc.q.val();
                                }
                                if self.cmd.q.val() == self.k_write32.val() {
                                    self.fsm.d.next = BridgeState::WriteRequest;
                                }
                                if self.cmd.q.val() == self.k_write_burst.val() {
                                    self.fsm.d.next = BridgeState::BurstFetch;
                                }
                                if self.cmd.q.val() == self.k_irq_status.val() {
                                    self.data.d.next = bit_cast::<32, 8>(self.irq_byte.val());
                                    self.last_data.d.next = bit_cast::<32, 8>(self.irq_byte.val());
                                }
                            }
                        } else {
                            self.status.d.next = self.k_bad_crc.val();
                            self.n_bad_crc.d.next = self.n_bad_crc.q.val() + 1;
                        }
                    }
                }
            }
            // ==== execute ====
            BridgeState::WriteRequest => {
                self.discard.next = self.rx.valid.val();
                self.host_req.next = true;
                self.host_we.next = true;
                if self.host_ready.val() {
                    self.fsm.d.next = BridgeState::SendSync;
                }
            }
            BridgeState::BurstFetch => {
                self.discard.next = self.rx.valid.val();
                self.fsm.d.next = BridgeState::BurstWrite;
            }
            BridgeState::BurstWrite => {
                self.discard.next = self.rx.valid.val();
                if !self.loaded.q.val() {
                    // First cycle: the buffer's word into `data`; the request follows.
                    self.data.d.next = self.buffer.read_data.val();
                    self.loaded.d.next = true;
                } else {
                    self.host_req.next = true;
                    self.host_we.next = true;
                }
                if self.loaded.q.val() & self.host_ready.val() {
                    self.loaded.d.next = false;
                    self.addr.d.next = self.addr.q.val() + 4;
                    self.word.d.next = self.word_next.val();
                    self.fsm.d.next = BridgeState::BurstFetch;
                    if self.burst_done.val() {
                        self.fsm.d.next = BridgeState::SendSync;
                    }
                }
            }
            BridgeState::ReadRequest => {
                self.discard.next = self.rx.valid.val();
                self.host_req.next = true;
                if self.host_ready.val() {
                    self.fsm.d.next = BridgeState::ReadWait;
                }
            }
            BridgeState::ReadWait => {
                self.discard.next = self.rx.valid.val();
                if self.host_rvalid.val() {
                    self.data.d.next = self.host_rdata.val();
                    if self.cmd.q.val() == self.k_read32.val() {
                        self.last_data.d.next = self.host_rdata.val();
                    }
                    self.addr.d.next = self.addr.q.val() + 4;
                    self.byte_index.d.next = 0.into();
                    self.fsm.d.next = BridgeState::SendData;
                }
            }
            // ==== reply (one byte each time the transmitter is free) ====
            BridgeState::SendSync => {
                self.discard.next = self.rx.valid.val();
                if !self.tx.busy.val() {
                    self.tx_go.next = true;
                    self.tx_byte.next = self.k_reply_sync.val();
                    self.crc.d.next = self.k_crc_init.val();
                    self.fsm.d.next = BridgeState::SendStatus;
                }
            }
            BridgeState::SendStatus => {
                self.discard.next = self.rx.valid.val();
                if !self.tx.busy.val() {
                    self.tx_go.next = true;
                    self.tx_byte.next = self.status.q.val();
                    self.crc.d.next = self.crc_with_byte.val();
                    self.fsm.d.next = BridgeState::SendTag;
                }
            }
            BridgeState::SendTag => {
                self.discard.next = self.rx.valid.val();
                if !self.tx.busy.val() {
                    self.tx_go.next = true;
                    self.tx_byte.next = self.tag.q.val();
                    self.crc.d.next = self.crc_with_byte.val();
                    self.byte_index.d.next = 0.into();
                    self.fsm.d.next = BridgeState::SendCrc;
                    if self.status.q.val() == self.k_ok.val() {
                        if (self.cmd.q.val() == self.k_read32.val())
                            | (self.cmd.q.val() == self.k_read_burst.val())
                        {
                            self.fsm.d.next = BridgeState::ReadRequest;
                            if self.replay.q.val() {
                                self.fsm.d.next = BridgeState::SendData;
                            }
                        }
                        if (self.cmd.q.val() == self.k_irq_status.val())
                            | (self.cmd.q.val() == self.k_nop.val())
                        {
                            self.fsm.d.next = BridgeState::SendByte;
                        }
                    }
                }
            }
            BridgeState::SendData => {
                self.discard.next = self.rx.valid.val();
                if !self.tx.busy.val() {
                    self.tx_go.next = true;
                    self.tx_byte.next = self.data.q.val().get_bits::<8>(0);
                    self.crc.d.next = self.crc_with_byte.val();
                    self.data.d.next = self.data.q.val() >> 8;
                    self.byte_index.d.next = self.byte_index.q.val() + 1;
                    if self.field_done.val() {
                        self.word.d.next = self.word_next.val();
                        self.fsm.d.next = BridgeState::ReadRequest;
                        if self.burst_done.val() {
                            self.fsm.d.next = BridgeState::SendCrc;
                        }
                    }
                }
            }
            BridgeState::SendByte => {
                self.discard.next = self.rx.valid.val();
                if !self.tx.busy.val() {
                    self.tx_go.next = true;
                    self.tx_byte.next = self.data.q.val().get_bits::<8>(0);
                    self.crc.d.next = self.crc_with_byte.val();
                    self.fsm.d.next = BridgeState::SendCrc;
                }
            }
            BridgeState::SendCrc => {
                self.discard.next = self.rx.valid.val();
                if !self.tx.busy.val() {
                    self.tx_go.next = true;
                    self.byte_index.d.next = self.byte_index.q.val() + 1;
                    self.tx_byte.next = self.crc.q.val().get_bits::<8>(8);
                    if self.byte_index.q.val().get_bit(0) {
                        self.tx_byte.next = self.crc.q.val().get_bits::<8>(0);
                        self.byte_index.d.next = 0.into();
                        self.fsm.d.next = BridgeState::WaitSync;
                    }
                }
            }
        }
        self.tx.start.next = self.tx_go.val();
        self.tx.data.next = self.tx_byte.val();

        // ---- errors and counters ----
        if self.reject_command.val() {
            self.status.d.next = self.k_bad_command.val();
            self.n_bad_command.d.next = self.n_bad_command.q.val() + 1;
            self.fsm.d.next = BridgeState::SendSync;
        }
        if self.discard.val() {
            self.n_discarded.d.next = self.n_discarded.q.val() + 1;
        }
        // Inter-byte timeout: a frame whose next byte does not come is abandoned.
        self.idle_cycles.d.next = 0.into();
        if self.receiving.val() & !self.rx.valid.val() {
            self.idle_cycles.d.next = self.idle_cycles.q.val() + 1;
        }
        self.timed_out.next =
            self.receiving.val() & (self.idle_cycles.q.val() == self.timeout_cycles.val());
        if self.timed_out.val() {
            self.n_timeouts.d.next = self.n_timeouts.q.val() + 1;
            self.fsm.d.next = BridgeState::WaitSync;
        }
        if self.rx.framing_error.val() {
            self.n_framing_errors.d.next = self.n_framing_errors.q.val() + 1;
            if self.receiving.val() {
                self.fsm.d.next = BridgeState::WaitSync;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};
    use crate::uart::line::{LineDriver, LineMonitor};
    use rand::{rngs::StdRng, Rng, SeedableRng};
    use regs::uart_bridge::*;
    use std::collections::HashMap;

    const DIVISOR: usize = 4;
    /// The inter-byte timeout in cycles at [`DIVISOR`].
    const TIMEOUT: usize = DIVISOR << INTERBYTE_TIMEOUT_SHIFT;

    /// The reference CRC: the `crc` crate's CRC-16/IBM-3740 (= CCITT-FALSE), not `regs`'s.
    fn reference_crc(bytes: &[u8]) -> u16 {
        crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740).checksum(bytes)
    }

    /// A host → bridge frame: SYNC, CMD, TAG, fields, CRC (most significant byte first).
    fn frame(cmd: u8, tag: u8, fields: &[u8]) -> Vec<u8> {
        let mut f = vec![SYNC, cmd, tag];
        f.extend_from_slice(fields);
        let crc = reference_crc(&f[1..]);
        f.extend_from_slice(&crc.to_be_bytes());
        f
    }

    fn read32(tag: u8, addr: u32) -> Vec<u8> {
        frame(CMD_READ32, tag, &addr.to_le_bytes())
    }

    fn write32(tag: u8, addr: u32, data: u32, be: u8) -> Vec<u8> {
        let mut fields = addr.to_le_bytes().to_vec();
        fields.extend_from_slice(&data.to_le_bytes());
        fields.push(be);
        frame(CMD_WRITE32, tag, &fields)
    }

    fn read_burst(tag: u8, addr: u32, count: u8) -> Vec<u8> {
        let mut fields = addr.to_le_bytes().to_vec();
        fields.push(count);
        frame(CMD_READ_BURST, tag, &fields)
    }

    fn write_burst(tag: u8, addr: u32, words: &[u32]) -> Vec<u8> {
        let mut fields = addr.to_le_bytes().to_vec();
        fields.push(words.len() as u8);
        for w in words {
            fields.extend_from_slice(&w.to_le_bytes());
        }
        frame(CMD_WRITE_BURST, tag, &fields)
    }

    /// Offsets in a WRITE32 frame.
    const W32_ADDR: usize = 3;
    const W32_DATA: usize = 7;

    /// Checks a reply's sync byte, TAG and CRC (against the reference); returns (status,
    /// payload).
    #[track_caller]
    fn parse_reply(reply: &[u8], tag: u8) -> (u8, Vec<u8>) {
        assert!(reply.len() >= reply_len(0), "reply too short: {reply:02x?}");
        assert_eq!(reply[0], REPLY_SYNC, "reply {reply:02x?}");
        let (body, crc) = reply[1..].split_at(reply.len() - 3);
        assert_eq!(
            reference_crc(body).to_be_bytes(),
            crc,
            "reply CRC of {reply:02x?}"
        );
        assert_eq!(reply[2], tag, "reply TAG of {reply:02x?}");
        (reply[1], body[2..].to_vec())
    }

    fn words_of(payload: &[u8]) -> Vec<u32> {
        payload
            .chunks(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }

    /// The bridge between a software serial line and a host-port model: a word RAM that
    /// stalls `host_ready` at random and answers reads with `host_rvalid` the next cycle.
    struct Bench {
        uut: UartBridge,
        line: LineDriver,
        monitor: LineMonitor,
        ram: HashMap<u32, u32>,
        rng: StdRng,
        read_data: Option<u32>,
        irq: bool,
        /// (we, addr, be) of every request taken.
        accesses: Vec<(bool, u32, u8)>,
    }

    impl Bench {
        fn new(seed: u64) -> Self {
            let mut uut = UartBridge::default();
            uut.connect_all();
            uut.divisor.next = (DIVISOR as u64).into();
            Bench {
                uut,
                line: LineDriver::default(),
                monitor: LineMonitor::new(DIVISOR),
                ram: HashMap::new(),
                rng: StdRng::seed_from_u64(seed),
                read_data: None,
                irq: false,
                accesses: Vec::new(),
            }
        }

        fn cycle(&mut self) {
            let u = &mut self.uut;
            u.rxd.next = self.line.next_level();
            u.irq.next = self.irq;
            u.host_ready.next = self.rng.gen_bool(0.6);
            u.host_rvalid.next = self.read_data.is_some();
            u.host_rdata.next = (self.read_data.take().unwrap_or(0xDEAD_BEEF) as u64).into();
            settle(u);
            self.monitor.sample(u.txd.val());
            if u.host_req.val() && u.host_ready.val() {
                let addr = u.host_addr.val().to_u64() as u32;
                let be = u.host_be.val().to_u64() as u8;
                let we = u.host_we.val();
                self.accesses.push((we, addr, be));
                if we {
                    let mask = (0..4)
                        .filter(|i| be & (1 << i) != 0)
                        .fold(0u32, |m, i| m | 0xFF << (8 * i));
                    let data = u.host_wdata.val().to_u64() as u32;
                    let old = self.ram.get(&addr).copied().unwrap_or(0);
                    self.ram.insert(addr, (old & !mask) | (data & mask));
                } else {
                    self.read_data = Some(self.ram.get(&addr).copied().unwrap_or(0));
                }
            }
            clock_edge(u, |u| &mut u.clock);
        }

        /// Sends `bytes` and runs until `reply_len` reply bytes came back and the line has
        /// been quiet for a few byte times (no more bytes may follow).
        fn transact(&mut self, bytes: &[u8], reply_len: usize) -> Vec<u8> {
            let first = self.monitor.bytes.len();
            for b in bytes {
                self.line.queue_byte(*b, DIVISOR);
            }
            let limit = 40 * 11 * DIVISOR * (bytes.len() + reply_len + 4);
            let mut cycles = 0;
            while !(self.line.is_idle() && self.monitor.bytes.len() - first >= reply_len) {
                self.cycle();
                cycles += 1;
                assert!(cycles < limit, "no reply: {:?}", self.uut.state.val());
            }
            for _ in 0..3 * 11 * DIVISOR {
                self.cycle();
            }
            assert_eq!(self.uut.state.val(), BridgeState::WaitSync);
            self.monitor.bytes[first..].to_vec()
        }

        /// Sends `bytes` (a damaged frame: its reply, if any, is unknown), then keeps the line
        /// idle past the inter-byte timeout and until any reply is out, as the driver's resync
        /// does; returns what came back.
        fn send_then_quiet(&mut self, bytes: &[u8]) -> Vec<u8> {
            let first = self.monitor.bytes.len();
            for b in bytes {
                self.line.queue_byte(*b, DIVISOR);
            }
            while !self.line.is_idle() {
                self.cycle();
            }
            for _ in 0..TIMEOUT + 2 + 11 * DIVISOR * reply_len(4) {
                self.cycle();
            }
            assert_eq!(self.uut.state.val(), BridgeState::WaitSync, "back in sync");
            self.monitor.bytes[first..].to_vec()
        }

        /// [frames_ok, bad_crc, bad_command, discarded_bytes, framing_errors, timeouts,
        /// replays]
        fn counters(&self) -> [u64; 7] {
            let u = &self.uut;
            [
                u.frames_ok.val().to_u64(),
                u.bad_crc.val().to_u64(),
                u.bad_command.val().to_u64(),
                u.discarded_bytes.val().to_u64(),
                u.framing_errors.val().to_u64(),
                u.timeouts.val().to_u64(),
                u.replays.val().to_u64(),
            ]
        }
    }

    /// The seed of a randomized test: `UART_SEED` if set, else `default`; printed so that a
    /// failure can be rerun.
    fn seed(default: u64) -> u64 {
        let seed = std::env::var("UART_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default);
        println!("seed {seed} (rerun with UART_SEED={seed})");
        seed
    }

    #[test]
    fn bridge_write32_then_read32_round_trip() {
        let mut b = Bench::new(1);
        let mut rng = StdRng::seed_from_u64(11);
        for i in 0..4u8 {
            let addr = rng.gen::<u32>() & !3;
            let data = rng.gen::<u32>();
            let reply = b.transact(&write32(2 * i, addr, data, 0xF), reply_len(0));
            assert_eq!(parse_reply(&reply, 2 * i), (STATUS_OK, vec![]));
            assert_eq!(b.ram.get(&addr), Some(&data));
            let reply = b.transact(&read32(2 * i + 1, addr), reply_len(4));
            assert_eq!(
                parse_reply(&reply, 2 * i + 1),
                (STATUS_OK, data.to_le_bytes().to_vec())
            );
        }
        assert_eq!(b.counters(), [8, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn bridge_burst_write_64_words_then_burst_read_them() {
        let mut b = Bench::new(2);
        let mut rng = StdRng::seed_from_u64(12);
        let words: Vec<u32> = (0..MAX_BURST_WORDS).map(|_| rng.gen()).collect();
        let base = 0x0000_0400;
        let reply = b.transact(&write_burst(1, base, &words), reply_len(0));
        assert_eq!(parse_reply(&reply, 1), (STATUS_OK, vec![]));
        for (i, w) in words.iter().enumerate() {
            assert_eq!(b.ram.get(&(base + 4 * i as u32)), Some(w), "word {i}");
        }
        let expected_writes: Vec<_> = (0..64).map(|i| (true, base + 4 * i, 0xF)).collect();
        assert_eq!(b.accesses, expected_writes);
        let reply = b.transact(&read_burst(2, base, 64), reply_len(4 * 64));
        let (status, payload) = parse_reply(&reply, 2);
        assert_eq!(status, STATUS_OK);
        assert_eq!(words_of(&payload), words);
        // A short burst from the middle.
        let reply = b.transact(&read_burst(3, base + 8, 3), reply_len(12));
        assert_eq!(words_of(&parse_reply(&reply, 3).1), words[2..5].to_vec());
        assert_eq!(b.counters(), [3, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn bridge_corrupted_frame_is_bad_crc_and_writes_nothing() {
        let mut b = Bench::new(3);
        let mut single = write32(1, 0x100, 0x1234_5678, 0xF);
        single[W32_DATA] ^= 0x10; // a data bit
        let reply = b.transact(&single, reply_len(0));
        assert_eq!(parse_reply(&reply, 1), (STATUS_BAD_CRC, vec![]));
        let mut burst = write_burst(2, 0x200, &[1, 2, 3, 4, 5, 6, 7, 8]);
        burst[20] ^= 0x01;
        let reply = b.transact(&burst, reply_len(0));
        assert_eq!(parse_reply(&reply, 2), (STATUS_BAD_CRC, vec![]));
        let mut read = read32(3, 0x100);
        read[8] ^= 0x80; // the CRC itself
        let reply = b.transact(&read, reply_len(0));
        assert_eq!(parse_reply(&reply, 3), (STATUS_BAD_CRC, vec![]));
        assert!(b.ram.is_empty(), "written: {:x?}", b.ram);
        assert!(b.accesses.is_empty(), "host port used: {:x?}", b.accesses);
        assert_eq!(b.counters(), [0, 3, 0, 0, 0, 0, 0]);
        // The bridge is back in step: the next good frame is executed.
        let reply = b.transact(&write32(4, 0x100, 7, 0xF), reply_len(0));
        assert_eq!(parse_reply(&reply, 4).0, STATUS_OK);
        assert_eq!(b.ram.get(&0x100), Some(&7));
    }

    /// The reviewer's case: +4 on an address byte and -4 on a data byte kept the 8-bit sum of
    /// protocol v1, which then wrote the wrong word at the wrong address.
    #[test]
    fn bridge_two_compensating_byte_errors_are_bad_crc() {
        let mut b = Bench::new(21);
        let mut f = write32(9, 0x100, 0x1234_5678, 0xF);
        f[W32_ADDR] = f[W32_ADDR].wrapping_add(4);
        f[W32_DATA] = f[W32_DATA].wrapping_sub(4);
        let sum = |bytes: &[u8]| bytes.iter().fold(0u8, |s, x| s.wrapping_add(*x));
        assert_eq!(sum(&f), sum(&write32(9, 0x100, 0x1234_5678, 0xF)));
        let reply = b.transact(&f, reply_len(0));
        assert_eq!(parse_reply(&reply, 9).0, STATUS_BAD_CRC);
        assert!(b.ram.is_empty(), "written: {:x?}", b.ram);
        assert!(b.accesses.is_empty(), "host port used: {:x?}", b.accesses);
    }

    /// Noise that starts with SYNC and a known CMD and whose bytes after SYNC sum to 0 (a good
    /// frame to protocol v1) is not executed, nor is any random noise.
    #[test]
    fn bridge_noise_executes_nothing() {
        let seed = seed(22);
        let mut b = Bench::new(seed);
        let mut rng = StdRng::seed_from_u64(seed);
        for cmd in [CMD_WRITE32, CMD_READ32, CMD_IRQ_STATUS, CMD_WRITE_BURST] {
            let mut noise = vec![SYNC, cmd];
            let fields = match cmd {
                CMD_WRITE_BURST => vec![rng.gen(), 0, 0, 0, 0, 1, rng.gen(), 0, 0, 0],
                _ => (0..field_bytes(cmd, 1).unwrap() + 1)
                    .map(|_| rng.gen())
                    .collect(),
            };
            noise.extend(fields);
            let sum = noise[1..].iter().fold(0u8, |s, x| s.wrapping_add(*x));
            noise.push(0);
            noise.push(sum.wrapping_neg());
            b.send_then_quiet(&noise);
            assert!(
                b.accesses.is_empty(),
                "seed {seed}: host port used: {:x?}",
                b.accesses
            );
        }
        for _ in 0..8 {
            let noise: Vec<u8> = (0..rng.gen_range(1..40))
                .map(|i| if i == 0 { SYNC } else { rng.gen() })
                .collect();
            b.send_then_quiet(&noise);
            assert!(
                b.accesses.is_empty(),
                "seed {seed}: noise {noise:02x?} used the host port: {:x?}",
                b.accesses
            );
        }
    }

    /// A truncated frame followed, after a pause, by a good one: the pause abandons the
    /// first (counted as a timeout) and the second is executed once.
    #[test]
    fn bridge_truncated_frame_times_out_and_the_next_command_executes() {
        let mut b = Bench::new(23);
        let first = write32(1, 0x20, 0x55, 0xF);
        for cut in 1..first.len() {
            for byte in &first[..cut] {
                b.line.queue_byte(*byte, DIVISOR);
            }
            b.line.queue_idle(TIMEOUT + 11 * DIVISOR);
            let tag = 0x40 + cut as u8;
            let reply = b.transact(&write32(tag, 0x30, cut as u32, 0xF), reply_len(0));
            assert_eq!(parse_reply(&reply, tag), (STATUS_OK, vec![]), "cut {cut}");
            assert_eq!(b.ram.get(&0x20), None, "cut {cut}");
            assert_eq!(b.ram.get(&0x30), Some(&(cut as u32)), "cut {cut}");
        }
        let n = first.len() as u64 - 1;
        // The cut after SYNC alone leaves the bridge in ReceiveCommand: a timeout too.
        assert_eq!(b.counters(), [n, 0, 0, 0, 0, n, 0]);
        assert_eq!(b.accesses.len(), n as usize, "each good frame once");
    }

    #[test]
    fn bridge_gaps_shorter_than_the_timeout_are_fine() {
        let mut b = Bench::new(24);
        for byte in &write32(5, 0x44, 0xABCD, 0xF) {
            b.line.queue_byte(*byte, DIVISOR);
            b.line.queue_idle(TIMEOUT - 12 * DIVISOR);
        }
        let reply = b.transact(&[], reply_len(0));
        assert_eq!(parse_reply(&reply, 5), (STATUS_OK, vec![]));
        assert_eq!(b.ram.get(&0x44), Some(&0xABCD));
        assert_eq!(b.counters()[5], 0, "no timeout");
    }

    /// How a frame is damaged on the line at one byte position.
    #[derive(Clone, Copy, Debug)]
    enum Damage {
        /// XOR with a random non-zero pattern.
        Flip,
        Drop,
        /// A random byte inserted before it.
        Insert,
        /// The frame ends before it.
        Truncate,
    }

    fn damaged(good: &[u8], at: usize, damage: Damage, rng: &mut StdRng) -> Vec<u8> {
        let mut f = good.to_vec();
        match damage {
            Damage::Flip => f[at] ^= rng.gen_range(1..=255u8),
            Damage::Drop => {
                f.remove(at);
            }
            Damage::Insert => f.insert(at, rng.gen()),
            Damage::Truncate => f.truncate(at),
        }
        f
    }

    /// For a WRITE32, a READ32 and a WRITE_BURST, every byte position and every kind of
    /// damage: the host port sees nothing and whatever comes back is a refusal; then the good
    /// frame, sent after the pause a driver's resync makes, is executed exactly once.
    #[test]
    fn bridge_damage_at_every_byte_position_executes_nothing() {
        let seed = seed(25);
        let mut b = Bench::new(seed);
        let mut rng = StdRng::seed_from_u64(seed);
        b.ram.insert(0x80, 0x8080_8080);
        let mut tag = 0u8;
        for kind in 0..3 {
            let frame_len = [14, 9, 3 + 5 + 12 + 2][kind];
            for at in 0..frame_len {
                for damage in [Damage::Flip, Damage::Drop, Damage::Insert, Damage::Truncate] {
                    // Every frame gets a new TAG, or it would be a retransmission.
                    tag = tag.wrapping_add(1);
                    let (good, reply_bytes, accesses) = match kind {
                        0 => (write32(tag, 0x100, rng.gen(), 0xF), reply_len(0), 1),
                        1 => (read32(tag, 0x80), reply_len(4), 1),
                        _ => {
                            let words = [rng.gen(), rng.gen(), rng.gen()];
                            (write_burst(tag, 0x200, &words), reply_len(0), 3)
                        }
                    };
                    assert_eq!(good.len(), frame_len);
                    let what = format!("seed {seed}: {damage:?} at byte {at} of {good:02x?}");
                    let ram_before = b.ram.clone();
                    let executed_before = b.counters()[0];
                    let discarded_before = b.counters()[3];
                    let bad = damaged(&good, at, damage, &mut rng);
                    let reply = b.send_then_quiet(&bad);
                    if at == 0 && matches!(damage, Damage::Insert) && bad[0] != SYNC {
                        // Noise before SYNC: the frame itself arrived intact, and runs once.
                        assert_eq!(parse_reply(&reply, tag).0, STATUS_OK, "{what}");
                        assert_eq!(b.accesses.len(), accesses, "{what}: executed once");
                        assert_eq!(b.counters()[3], discarded_before + 1, "{what}");
                        b.accesses.clear();
                        continue;
                    }
                    assert!(
                        b.accesses.is_empty(),
                        "{what}: host port used {:x?}",
                        b.accesses
                    );
                    assert_eq!(b.ram, ram_before, "{what}");
                    assert_eq!(b.counters()[0], executed_before, "{what}: a frame executed");
                    // Whatever came back are well-formed refusals (5 bytes each), never OK.
                    for refusal in reply.chunks(reply_len(0)) {
                        let got_tag = refusal.get(2).copied().unwrap_or(0);
                        assert_ne!(parse_reply(refusal, got_tag).0, STATUS_OK, "{what}");
                    }
                    let reply = b.transact(&good, reply_bytes);
                    let (status, payload) = parse_reply(&reply, tag);
                    assert_eq!(status, STATUS_OK, "{what}: the good frame after it");
                    if kind == 1 {
                        assert_eq!(payload, 0x8080_8080u32.to_le_bytes(), "{what}");
                    }
                    assert_eq!(b.accesses.len(), accesses, "{what}: executed once");
                    assert_eq!(b.accesses[0].1, [0x100, 0x80, 0x200][kind], "{what}");
                    b.accesses.clear();
                }
            }
        }
        assert_eq!(
            b.counters()[6],
            0,
            "no frame was taken for a retransmission"
        );
    }

    #[test]
    fn bridge_retransmission_is_answered_from_memory_not_executed() {
        let mut b = Bench::new(26);
        // WRITE32: the second copy is not written (the RAM changed in between, and stays).
        let w = write32(7, 0x10, 0x1111, 0xF);
        assert_eq!(parse_reply(&b.transact(&w, reply_len(0)), 7).0, STATUS_OK);
        b.ram.insert(0x10, 0x2222);
        assert_eq!(parse_reply(&b.transact(&w, reply_len(0)), 7).0, STATUS_OK);
        assert_eq!(b.ram[&0x10], 0x2222, "WRITE32 retransmission not executed");
        assert_eq!(b.accesses.len(), 1);
        // READ32: the second copy gets the first copy's word, without a read.
        let r = read32(8, 0x10);
        assert_eq!(
            parse_reply(&b.transact(&r, reply_len(4)), 8).1,
            0x2222u32.to_le_bytes()
        );
        b.ram.insert(0x10, 0x3333);
        assert_eq!(
            parse_reply(&b.transact(&r, reply_len(4)), 8).1,
            0x2222u32.to_le_bytes()
        );
        assert_eq!(b.accesses.len(), 2);
        // IRQ_STATUS: the line as it was when the command was executed.
        let i = frame(CMD_IRQ_STATUS, 9, &[]);
        b.irq = true;
        assert_eq!(
            parse_reply(&b.transact(&i, reply_len(1)), 9).1,
            vec![IRQ_LINE]
        );
        b.irq = false;
        assert_eq!(
            parse_reply(&b.transact(&i, reply_len(1)), 9).1,
            vec![IRQ_LINE]
        );
        // WRITE_BURST.
        let wb = write_burst(10, 0x40, &[1, 2]);
        assert_eq!(parse_reply(&b.transact(&wb, reply_len(0)), 10).0, STATUS_OK);
        assert_eq!(parse_reply(&b.transact(&wb, reply_len(0)), 10).0, STATUS_OK);
        assert_eq!(b.accesses.len(), 4);
        // READ_BURST is executed again.
        let rb = read_burst(11, 0x40, 2);
        b.transact(&rb, reply_len(8));
        b.transact(&rb, reply_len(8));
        assert_eq!(b.accesses.len(), 8);
        // The same TAG with another CRC is a new command.
        let w2 = write32(10, 0x44, 5, 0xF);
        assert_eq!(parse_reply(&b.transact(&w2, reply_len(0)), 10).0, STATUS_OK);
        assert_eq!(b.ram[&0x44], 5);
        // frames_ok counts executions only; replays the answers from memory.
        let c = b.counters();
        assert_eq!((c[0], c[6]), (7, 4));
    }

    #[test]
    fn bridge_nop_answers_the_remembered_tag_and_keeps_the_memory() {
        let mut b = Bench::new(27);
        let nop = |tag| frame(CMD_NOP, tag, &[]);
        assert_eq!(
            parse_reply(&b.transact(&nop(1), reply_len(1)), 1),
            (STATUS_OK, vec![0])
        );
        let w = write32(0x33, 0x10, 0xAA, 0xF);
        b.transact(&w, reply_len(0));
        assert_eq!(
            parse_reply(&b.transact(&nop(2), reply_len(1)), 2),
            (STATUS_OK, vec![0x33])
        );
        // A READ_BURST is not remembered.
        b.transact(&read_burst(0x34, 0x10, 1), reply_len(4));
        assert_eq!(
            parse_reply(&b.transact(&nop(3), reply_len(1)), 3),
            (STATUS_OK, vec![0x33])
        );
        // After NOPs the WRITE32 is still a retransmission.
        b.transact(&w, reply_len(0));
        assert_eq!(b.accesses.iter().filter(|a| a.0).count(), 1);
        assert!(b.accesses.len() == 2);
    }

    #[test]
    fn bridge_unknown_command_or_bad_count_is_bad_command() {
        let mut b = Bench::new(4);
        // Answered at the TAG; the frame's CRC then arrives during the reply.
        let reply = b.transact(&frame(0x7E, 0x61, &[]), reply_len(0));
        assert_eq!(parse_reply(&reply, 0x61), (STATUS_BAD_COMMAND, vec![]));
        assert_eq!(b.counters(), [0, 0, 1, 2, 0, 0, 0]);
        let reply = b.transact(&read_burst(0x62, 0x40, 0), reply_len(0));
        assert_eq!(parse_reply(&reply, 0x62), (STATUS_BAD_COMMAND, vec![]));
        let reply = b.transact(
            &read_burst(0x63, 0x40, MAX_BURST_WORDS as u8 + 1),
            reply_len(0),
        );
        assert_eq!(parse_reply(&reply, 0x63), (STATUS_BAD_COMMAND, vec![]));
        assert_eq!(b.counters(), [0, 0, 3, 6, 0, 0, 0]);
        assert!(b.accesses.is_empty());
        let reply = b.transact(&read32(0x64, 0x40), reply_len(4));
        assert_eq!(parse_reply(&reply, 0x64), (STATUS_OK, vec![0; 4]));
    }

    #[test]
    fn bridge_garbage_before_sync_is_discarded_and_counted() {
        let mut b = Bench::new(5);
        b.ram.insert(0x80, 0xCAFE_F00D);
        let mut bytes = vec![0x00, 0xFF, REPLY_SYNC, 0x13];
        bytes.extend(read32(1, 0x80));
        let reply = b.transact(&bytes, reply_len(4));
        assert_eq!(
            parse_reply(&reply, 1),
            (STATUS_OK, 0xCAFE_F00Du32.to_le_bytes().to_vec())
        );
        assert_eq!(b.counters(), [1, 0, 0, 4, 0, 0, 0]);
    }

    #[test]
    fn bridge_irq_status_reflects_the_irq_input() {
        let mut b = Bench::new(6);
        let reply = b.transact(&frame(CMD_IRQ_STATUS, 1, &[]), reply_len(1));
        assert_eq!(parse_reply(&reply, 1), (STATUS_OK, vec![0]));
        b.irq = true;
        let reply = b.transact(&frame(CMD_IRQ_STATUS, 2, &[]), reply_len(1));
        assert_eq!(parse_reply(&reply, 2), (STATUS_OK, vec![IRQ_LINE]));
        assert!(b.accesses.is_empty());
    }

    #[test]
    fn bridge_byte_enables_reach_host_be() {
        let mut b = Bench::new(7);
        b.ram.insert(0x10, 0x1122_3344);
        let reply = b.transact(&write32(1, 0x10, 0xAABB_CCDD, 0b0101), reply_len(0));
        assert_eq!(parse_reply(&reply, 1).0, STATUS_OK);
        assert_eq!(b.ram[&0x10], 0x11BB_33DD);
        // Only the low 4 bits of the be byte are used.
        let reply = b.transact(&write32(2, 0x10, 0xEEEE_EEEE, 0xF8), reply_len(0));
        assert_eq!(parse_reply(&reply, 2).0, STATUS_OK);
        assert_eq!(b.ram[&0x10], 0xEEBB_33DD);
        assert_eq!(b.accesses, vec![(true, 0x10, 0b0101), (true, 0x10, 0b1000)]);
    }

    #[test]
    fn bridge_framing_error_abandons_the_frame_and_is_counted() {
        let mut b = Bench::new(8);
        for byte in &write32(1, 0x20, 0x55, 0xF)[..5] {
            b.line.queue_byte(*byte, DIVISOR);
        }
        b.line.queue_byte_with_stop(0x00, DIVISOR, false);
        b.line.queue_idle(2 * DIVISOR);
        let reply = b.transact(&write32(2, 0x30, 0x66, 0xF), reply_len(0));
        assert_eq!(parse_reply(&reply, 2), (STATUS_OK, vec![]));
        assert_eq!(b.ram.get(&0x20), None);
        assert_eq!(b.ram.get(&0x30), Some(&0x66));
        assert_eq!(b.counters(), [1, 0, 0, 0, 1, 0, 0]);
    }

    #[test]
    fn bridge_generates_verilog() {
        let mut uut = UartBridge::default();
        uut.connect_all();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
    }
}
