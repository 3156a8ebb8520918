//! The UART-to-bus bridge: frames from a serial line become transactions on the SoC's host
//! port, and their results go back as replies (protocol: `regs::uart_bridge`).
//!
//! ```text
//!                 ┌───────────────────────────────────────────────────┐
//!  rxd          ─►│ UartRx ─► receive: WaitSync ─► ReceiveCommand ─►  ├─► host_addr[32]
//!                 │   ReceiveAddress ─► ReceiveCount ─► ReceiveData   ├─► host_wdata[32]
//!                 │   ─► ReceiveByteEnables ─► ReceiveChecksum        ├─► host_be[4]
//!                 │              │ (burst words ─► buffer 64 × 32)    ├─► host_we
//!                 │              ▼                                    ├─► host_req
//!  host_ready   ─►│ execute: WriteRequest, BurstFetch ─► BurstWrite,  │
//!  host_rvalid  ─►│          ReadRequest ─► ReadWait                  │
//!  host_rdata   ─►│              │                                    ├─► frames_ok[16]
//!  irq          ─►│              ▼                                    ├─► bad_checksum[16]
//!  divisor[16]  ─►│ reply: SendSync ─► SendStatus ─► SendData/SendIrq ├─► bad_command[16]
//!  clock        ─►│        ─► SendChecksum ─► UartTx                  ├─► discarded_bytes[16]
//!                 │                                                   ├─► framing_errors[16]
//!  txd          ◄─┤                                                   ├─► state
//!                 └───────────────────────────────────────────────────┘
//! ```
//!
//! The bridge is the host port's **master**: it holds `host_req` with address, data, byte
//! enables and `host_we` until `host_ready` is high (the request is taken at that edge) and
//! takes a read's data when `host_rvalid` is high (the cycle after, on the SoC). One frame is
//! handled at a time: receive it, check its CHK, execute it, send the reply, then wait for the
//! next `SYNC`.
//!
//! * READ32 is a READ_BURST of one word (same reply layout). A burst read sends `REPLY_SYNC` and
//!   `STATUS` first and then reads and sends one word at a time, so it needs no buffer.
//! * A burst write's words go into the buffer as they arrive; only after CHK checked out are
//!   they written to the host port, in address order, all byte enables set.
//! * The reply to a frame with a bad CHK is `STATUS_BAD_CHECKSUM` and nothing is executed. An
//!   unknown CMD or a bad burst count is answered `STATUS_BAD_COMMAND` as soon as it is seen.
//! * Every received byte that belongs to no frame (garbage before `SYNC`, bytes arriving
//!   while the bridge executes or replies) is counted in `discarded_bytes`. A framing error is
//!   counted in `framing_errors` and abandons a frame being received, without a reply.
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
    ReceiveAddress,
    ReceiveCount,
    ReceiveData,
    ReceiveByteEnables,
    ReceiveChecksum,
    /// WRITE32 on the host port.
    WriteRequest,
    /// Burst write: the buffer reads the next word (registered read).
    BurstFetch,
    /// Burst write: that word on the host port.
    BurstWrite,
    ReadRequest,
    /// The read was taken; waiting for `host_rvalid`.
    ReadWait,
    SendSync,
    SendStatus,
    SendData,
    SendIrq,
    SendChecksum,
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
    /// Frames executed (CHK good, command known).
    pub frames_ok: Signal<Out, Bits<16>>,
    pub bad_checksum: Signal<Out, Bits<16>>,
    pub bad_command: Signal<Out, Bits<16>>,
    pub discarded_bytes: Signal<Out, Bits<16>>,
    pub framing_errors: Signal<Out, Bits<16>>,
    pub state: Signal<Out, BridgeState>,
    // ==== implementation ====
    rx: UartRx,
    tx: UartTx,
    /// Burst-write words, by word index in the burst.
    buffer: RAM<Bits<32>, 6>,
    fsm: DFF<BridgeState>,
    cmd: DFF<Bits<8>>,
    addr: DFF<Bits<32>>,
    /// Word being received, written or sent (sent from bit 0 up, shifting right).
    data: DFF<Bits<32>>,
    be: DFF<Bits<4>>,
    /// Words in this command (1 for READ32).
    count: DFF<Bits<7>>,
    /// Words of this command received, written or sent.
    word: DFF<Bits<7>>,
    /// Byte of the current field or word.
    byte_index: DFF<Bits<2>>,
    /// Running sum of the frame's bytes after `SYNC`, then of the reply's after `REPLY_SYNC`.
    sum: DFF<Bits<8>>,
    status: DFF<Bits<8>>,
    n_frames_ok: DFF<Bits<16>>,
    n_bad_checksum: DFF<Bits<16>>,
    n_bad_command: DFF<Bits<16>>,
    n_discarded: DFF<Bits<16>>,
    n_framing_errors: DFF<Bits<16>>,
    // ---- working values ----
    /// The received byte (not `byte`: a SystemVerilog keyword, which Verilator rejects).
    rx_byte: Signal<Local, Bits<8>>,
    sum_with_byte: Signal<Local, Bits<8>>,
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
    k_ok: Constant<Bits<8>>,
    k_bad_checksum: Constant<Bits<8>>,
    k_bad_command: Constant<Bits<8>>,
    k_max_burst: Constant<Bits<8>>,
    k_irq_line: Constant<Bits<8>>,
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
            bad_checksum: Default::default(),
            bad_command: Default::default(),
            discarded_bytes: Default::default(),
            framing_errors: Default::default(),
            state: Default::default(),
            rx: Default::default(),
            tx: Default::default(),
            buffer: Default::default(),
            fsm: Default::default(),
            cmd: Default::default(),
            addr: Default::default(),
            data: Default::default(),
            be: Default::default(),
            count: Default::default(),
            word: Default::default(),
            byte_index: Default::default(),
            sum: Default::default(),
            status: Default::default(),
            n_frames_ok: Default::default(),
            n_bad_checksum: Default::default(),
            n_bad_command: Default::default(),
            n_discarded: Default::default(),
            n_framing_errors: Default::default(),
            rx_byte: Default::default(),
            sum_with_byte: Default::default(),
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
            k_ok: byte_const(ub::STATUS_OK),
            k_bad_checksum: byte_const(ub::STATUS_BAD_CHECKSUM),
            k_bad_command: byte_const(ub::STATUS_BAD_COMMAND),
            k_max_burst: byte_const(ub::MAX_BURST_WORDS as u8),
            k_irq_line: byte_const(ub::IRQ_LINE),
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
            addr,
            data,
            be,
            count,
            word,
            byte_index,
            sum,
            status,
            n_frames_ok,
            n_bad_checksum,
            n_bad_command,
            n_discarded,
            n_framing_errors
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
        self.bad_checksum.next = self.n_bad_checksum.q.val();
        self.bad_command.next = self.n_bad_command.q.val();
        self.discarded_bytes.next = self.n_discarded.q.val();
        self.framing_errors.next = self.n_framing_errors.q.val();
        self.state.next = self.fsm.q.val();
        self.host_addr.next = self.addr.q.val();
        self.host_wdata.next = self.data.q.val();
        self.host_be.next = self.be.q.val();
        self.host_we.next = false;
        self.host_req.next = false;

        // ---- working values ----
        self.rx_byte.next = self.rx.data.val();
        self.sum_with_byte.next = self.sum.q.val() + self.rx.data.val();
        self.data_with_byte.next =
            (self.data.q.val() >> 8) | (bit_cast::<32, 8>(self.rx.data.val()) << 24);
        self.addr_with_byte.next =
            (self.addr.q.val() >> 8) | (bit_cast::<32, 8>(self.rx.data.val()) << 24);
        self.field_done.next = self.byte_index.q.val() == 3;
        self.word_next.next = self.word.q.val() + 1;
        self.burst_done.next = self.word_next.val() == self.count.q.val();
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
                        self.sum.d.next = 0.into();
                        self.fsm.d.next = BridgeState::ReceiveCommand;
                    }
                }
            }
            BridgeState::ReceiveCommand => {
                self.receiving.next = true;
                if self.rx.valid.val() {
                    self.cmd.d.next = self.rx_byte.val();
                    self.sum.d.next = self.sum_with_byte.val();
                    self.byte_index.d.next = 0.into();
                    self.word.d.next = 0.into();
                    self.count.d.next = 1.into();
                    self.be.d.next = 0xF.into();
                    self.reject_command.next = true;
                    if (self.rx_byte.val() == self.k_read32.val())
                        | (self.rx_byte.val() == self.k_write32.val())
                        | (self.rx_byte.val() == self.k_read_burst.val())
                        | (self.rx_byte.val() == self.k_write_burst.val())
                    {
                        self.reject_command.next = false;
                        self.fsm.d.next = BridgeState::ReceiveAddress;
                    }
                    if self.rx_byte.val() == self.k_irq_status.val() {
                        self.reject_command.next = false;
                        self.fsm.d.next = BridgeState::ReceiveChecksum;
                    }
                }
            }
            BridgeState::ReceiveAddress => {
                self.receiving.next = true;
                if self.rx.valid.val() {
                    self.addr.d.next = self.addr_with_byte.val();
                    self.sum.d.next = self.sum_with_byte.val();
                    self.byte_index.d.next = self.byte_index.q.val() + 1;
                    if self.field_done.val() {
                        self.fsm.d.next = BridgeState::ReceiveCount;
                        if self.cmd.q.val() == self.k_read32.val() {
                            self.fsm.d.next = BridgeState::ReceiveChecksum;
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
                    self.sum.d.next = self.sum_with_byte.val();
                    self.count.d.next = self.rx_byte.val().get_bits::<7>(0);
                    if (self.rx_byte.val() == 0) | (self.rx_byte.val() > self.k_max_burst.val()) {
                        self.reject_command.next = true;
                    } else {
                        self.fsm.d.next = BridgeState::ReceiveData;
                        if self.cmd.q.val() == self.k_read_burst.val() {
                            self.fsm.d.next = BridgeState::ReceiveChecksum;
                        }
                    }
                }
            }
            BridgeState::ReceiveData => {
                self.receiving.next = true;
                if self.rx.valid.val() {
                    self.data.d.next = self.data_with_byte.val();
                    self.sum.d.next = self.sum_with_byte.val();
                    self.byte_index.d.next = self.byte_index.q.val() + 1;
                    if self.field_done.val() {
                        if self.cmd.q.val() == self.k_write32.val() {
                            self.fsm.d.next = BridgeState::ReceiveByteEnables;
                        } else {
                            self.buffer.write_enable.next = true;
                            self.word.d.next = self.word_next.val();
                            if self.burst_done.val() {
                                self.fsm.d.next = BridgeState::ReceiveChecksum;
                            }
                        }
                    }
                }
            }
            BridgeState::ReceiveByteEnables => {
                self.receiving.next = true;
                if self.rx.valid.val() {
                    self.sum.d.next = self.sum_with_byte.val();
                    self.be.d.next = self.rx_byte.val().get_bits::<4>(0);
                    self.fsm.d.next = BridgeState::ReceiveChecksum;
                }
            }
            BridgeState::ReceiveChecksum => {
                self.receiving.next = true;
                if self.rx.valid.val() {
                    self.word.d.next = 0.into();
                    self.fsm.d.next = BridgeState::SendSync;
                    if self.sum_with_byte.val() == 0 {
                        self.status.d.next = self.k_ok.val();
                        self.n_frames_ok.d.next = self.n_frames_ok.q.val() + 1;
                        if self.cmd.q.val() == self.k_write32.val() {
                            self.fsm.d.next = BridgeState::WriteRequest;
                        }
                        if self.cmd.q.val() == self.k_write_burst.val() {
                            self.fsm.d.next = BridgeState::BurstFetch;
                        }
                    } else {
                        self.status.d.next = self.k_bad_checksum.val();
                        self.n_bad_checksum.d.next = self.n_bad_checksum.q.val() + 1;
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
                self.host_req.next = true;
                self.host_we.next = true;
                self.host_wdata.next = self.buffer.read_data.val();
                if self.host_ready.val() {
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
                    self.sum.d.next = 0.into();
                    self.fsm.d.next = BridgeState::SendStatus;
                }
            }
            BridgeState::SendStatus => {
                self.discard.next = self.rx.valid.val();
                if !self.tx.busy.val() {
                    self.tx_go.next = true;
                    self.tx_byte.next = self.status.q.val();
                    self.sum.d.next = self.status.q.val();
                    self.fsm.d.next = BridgeState::SendChecksum;
                    if self.status.q.val() == self.k_ok.val() {
                        if (self.cmd.q.val() == self.k_read32.val())
                            | (self.cmd.q.val() == self.k_read_burst.val())
                        {
                            self.fsm.d.next = BridgeState::ReadRequest;
                        }
                        if self.cmd.q.val() == self.k_irq_status.val() {
                            self.fsm.d.next = BridgeState::SendIrq;
                        }
                    }
                }
            }
            BridgeState::SendData => {
                self.discard.next = self.rx.valid.val();
                if !self.tx.busy.val() {
                    self.tx_go.next = true;
                    self.tx_byte.next = self.data.q.val().get_bits::<8>(0);
                    self.sum.d.next = self.sum.q.val() + self.data.q.val().get_bits::<8>(0);
                    self.data.d.next = self.data.q.val() >> 8;
                    self.byte_index.d.next = self.byte_index.q.val() + 1;
                    if self.field_done.val() {
                        self.word.d.next = self.word_next.val();
                        self.fsm.d.next = BridgeState::ReadRequest;
                        if self.burst_done.val() {
                            self.fsm.d.next = BridgeState::SendChecksum;
                        }
                    }
                }
            }
            BridgeState::SendIrq => {
                self.discard.next = self.rx.valid.val();
                if !self.tx.busy.val() {
                    self.tx_go.next = true;
                    if self.irq.val() {
                        self.tx_byte.next = self.k_irq_line.val();
                    }
                    self.sum.d.next = self.sum.q.val() + self.tx_byte.val();
                    self.fsm.d.next = BridgeState::SendChecksum;
                }
            }
            BridgeState::SendChecksum => {
                self.discard.next = self.rx.valid.val();
                if !self.tx.busy.val() {
                    self.tx_go.next = true;
                    self.tx_byte.next = !self.sum.q.val() + 1;
                    self.fsm.d.next = BridgeState::WaitSync;
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

    /// A host → bridge frame: SYNC, CMD, fields, CHK.
    fn frame(cmd: u8, fields: &[u8]) -> Vec<u8> {
        let mut body = vec![cmd];
        body.extend_from_slice(fields);
        let mut f = vec![SYNC];
        f.extend_from_slice(&body);
        f.push(checksum(&body));
        f
    }

    fn read32(addr: u32) -> Vec<u8> {
        frame(CMD_READ32, &addr.to_le_bytes())
    }

    fn write32(addr: u32, data: u32, be: u8) -> Vec<u8> {
        let mut fields = addr.to_le_bytes().to_vec();
        fields.extend_from_slice(&data.to_le_bytes());
        fields.push(be);
        frame(CMD_WRITE32, &fields)
    }

    fn read_burst(addr: u32, count: u8) -> Vec<u8> {
        let mut fields = addr.to_le_bytes().to_vec();
        fields.push(count);
        frame(CMD_READ_BURST, &fields)
    }

    fn write_burst(addr: u32, words: &[u32]) -> Vec<u8> {
        let mut fields = addr.to_le_bytes().to_vec();
        fields.push(words.len() as u8);
        for w in words {
            fields.extend_from_slice(&w.to_le_bytes());
        }
        frame(CMD_WRITE_BURST, &fields)
    }

    /// Checks a reply's sync byte and CHK; returns (status, payload).
    fn parse_reply(reply: &[u8]) -> (u8, Vec<u8>) {
        assert!(reply.len() >= 3, "reply too short: {reply:02x?}");
        assert_eq!(reply[0], REPLY_SYNC, "reply {reply:02x?}");
        let body = &reply[1..reply.len() - 1];
        assert_eq!(
            checksum(body),
            reply[reply.len() - 1],
            "reply CHK of {reply:02x?}"
        );
        (reply[1], body[1..].to_vec())
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

        fn counters(&self) -> [u64; 5] {
            let u = &self.uut;
            [
                u.frames_ok.val().to_u64(),
                u.bad_checksum.val().to_u64(),
                u.bad_command.val().to_u64(),
                u.discarded_bytes.val().to_u64(),
                u.framing_errors.val().to_u64(),
            ]
        }
    }

    #[test]
    fn bridge_write32_then_read32_round_trip() {
        let mut b = Bench::new(1);
        let mut rng = StdRng::seed_from_u64(11);
        for _ in 0..4 {
            let addr = rng.gen::<u32>() & !3;
            let data = rng.gen::<u32>();
            let reply = b.transact(&write32(addr, data, 0xF), 3);
            assert_eq!(parse_reply(&reply), (STATUS_OK, vec![]));
            assert_eq!(b.ram.get(&addr), Some(&data));
            let reply = b.transact(&read32(addr), 7);
            assert_eq!(
                parse_reply(&reply),
                (STATUS_OK, data.to_le_bytes().to_vec())
            );
        }
        assert_eq!(b.counters(), [8, 0, 0, 0, 0]);
    }

    #[test]
    fn bridge_burst_write_64_words_then_burst_read_them() {
        let mut b = Bench::new(2);
        let mut rng = StdRng::seed_from_u64(12);
        let words: Vec<u32> = (0..MAX_BURST_WORDS).map(|_| rng.gen()).collect();
        let base = 0x0000_0400;
        let reply = b.transact(&write_burst(base, &words), 3);
        assert_eq!(parse_reply(&reply), (STATUS_OK, vec![]));
        for (i, w) in words.iter().enumerate() {
            assert_eq!(b.ram.get(&(base + 4 * i as u32)), Some(w), "word {i}");
        }
        let expected_writes: Vec<_> = (0..64).map(|i| (true, base + 4 * i, 0xF)).collect();
        assert_eq!(b.accesses, expected_writes);
        let reply = b.transact(&read_burst(base, 64), 3 + 4 * 64);
        let (status, payload) = parse_reply(&reply);
        assert_eq!(status, STATUS_OK);
        assert_eq!(words_of(&payload), words);
        // A short burst from the middle.
        let reply = b.transact(&read_burst(base + 8, 3), 3 + 12);
        assert_eq!(words_of(&parse_reply(&reply).1), words[2..5].to_vec());
        assert_eq!(b.counters(), [3, 0, 0, 0, 0]);
    }

    #[test]
    fn bridge_corrupted_frame_is_bad_checksum_and_writes_nothing() {
        let mut b = Bench::new(3);
        let mut single = write32(0x100, 0x1234_5678, 0xF);
        single[7] ^= 0x10; // a data bit
        let reply = b.transact(&single, 3);
        assert_eq!(parse_reply(&reply), (STATUS_BAD_CHECKSUM, vec![]));
        let mut burst = write_burst(0x200, &[1, 2, 3, 4, 5, 6, 7, 8]);
        burst[20] ^= 0x01;
        let reply = b.transact(&burst, 3);
        assert_eq!(parse_reply(&reply), (STATUS_BAD_CHECKSUM, vec![]));
        let mut read = read32(0x100);
        read[6] ^= 0x80; // the checksum itself
        let reply = b.transact(&read, 3);
        assert_eq!(parse_reply(&reply), (STATUS_BAD_CHECKSUM, vec![]));
        assert!(b.ram.is_empty(), "written: {:x?}", b.ram);
        assert!(b.accesses.is_empty(), "host port used: {:x?}", b.accesses);
        assert_eq!(b.counters(), [0, 3, 0, 0, 0]);
        // The bridge is back in step: the next good frame is executed.
        let reply = b.transact(&write32(0x100, 7, 0xF), 3);
        assert_eq!(parse_reply(&reply).0, STATUS_OK);
        assert_eq!(b.ram.get(&0x100), Some(&7));
    }

    #[test]
    fn bridge_unknown_command_or_bad_count_is_bad_command() {
        let mut b = Bench::new(4);
        // Answered at the CMD byte; the frame's CHK then arrives during the reply.
        let reply = b.transact(&frame(0x7E, &[]), 3);
        assert_eq!(parse_reply(&reply), (STATUS_BAD_COMMAND, vec![]));
        assert_eq!(b.counters(), [0, 0, 1, 1, 0]);
        let reply = b.transact(&read_burst(0x40, 0), 3);
        assert_eq!(parse_reply(&reply), (STATUS_BAD_COMMAND, vec![]));
        let reply = b.transact(&read_burst(0x40, MAX_BURST_WORDS as u8 + 1), 3);
        assert_eq!(parse_reply(&reply), (STATUS_BAD_COMMAND, vec![]));
        assert_eq!(b.counters(), [0, 0, 3, 3, 0]);
        assert!(b.accesses.is_empty());
        let reply = b.transact(&read32(0x40), 7);
        assert_eq!(parse_reply(&reply), (STATUS_OK, vec![0; 4]));
    }

    #[test]
    fn bridge_garbage_before_sync_is_discarded_and_counted() {
        let mut b = Bench::new(5);
        b.ram.insert(0x80, 0xCAFE_F00D);
        let mut bytes = vec![0x00, 0xFF, REPLY_SYNC, 0x13];
        bytes.extend(read32(0x80));
        let reply = b.transact(&bytes, 7);
        assert_eq!(
            parse_reply(&reply),
            (STATUS_OK, 0xCAFE_F00Du32.to_le_bytes().to_vec())
        );
        assert_eq!(b.counters(), [1, 0, 0, 4, 0]);
    }

    #[test]
    fn bridge_irq_status_reflects_the_irq_input() {
        let mut b = Bench::new(6);
        let reply = b.transact(&frame(CMD_IRQ_STATUS, &[]), 4);
        assert_eq!(parse_reply(&reply), (STATUS_OK, vec![0]));
        b.irq = true;
        let reply = b.transact(&frame(CMD_IRQ_STATUS, &[]), 4);
        assert_eq!(parse_reply(&reply), (STATUS_OK, vec![IRQ_LINE]));
        assert!(b.accesses.is_empty());
    }

    #[test]
    fn bridge_byte_enables_reach_host_be() {
        let mut b = Bench::new(7);
        b.ram.insert(0x10, 0x1122_3344);
        let reply = b.transact(&write32(0x10, 0xAABB_CCDD, 0b0101), 3);
        assert_eq!(parse_reply(&reply).0, STATUS_OK);
        assert_eq!(b.ram[&0x10], 0x11BB_33DD);
        // Only the low 4 bits of the be byte are used.
        let reply = b.transact(&write32(0x10, 0xEEEE_EEEE, 0xF8), 3);
        assert_eq!(parse_reply(&reply).0, STATUS_OK);
        assert_eq!(b.ram[&0x10], 0xEEBB_33DD);
        assert_eq!(b.accesses, vec![(true, 0x10, 0b0101), (true, 0x10, 0b1000)]);
    }

    #[test]
    fn bridge_framing_error_abandons_the_frame_and_is_counted() {
        let mut b = Bench::new(8);
        for byte in &write32(0x20, 0x55, 0xF)[..5] {
            b.line.queue_byte(*byte, DIVISOR);
        }
        b.line.queue_byte_with_stop(0x00, DIVISOR, false);
        b.line.queue_idle(2 * DIVISOR);
        let reply = b.transact(&write32(0x30, 0x66, 0xF), 3);
        assert_eq!(parse_reply(&reply), (STATUS_OK, vec![]));
        assert_eq!(b.ram.get(&0x20), None);
        assert_eq!(b.ram.get(&0x30), Some(&0x66));
        assert_eq!(b.counters(), [1, 0, 0, 0, 1]);
    }

    #[test]
    fn bridge_generates_verilog() {
        let mut uut = UartBridge::default();
        uut.connect_all();
        let v = generate_verilog(&uut);
        assert!(v.contains("module top"));
    }
}
