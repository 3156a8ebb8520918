pub const CTRL: u32 = 0x0000;
pub const STATUS: u32 = 0x0008;
/// EEPROM/flash control: the pins of the card's microwire EEPROM (fields in [`eecd`]).
pub const EECD: u32 = 0x0010;
/// MDI control: the PHY's management registers over MDIO (fields in [`mdic`]).
pub const MDIC: u32 = 0x0020;
pub const ICR: u32 = 0x00C0;
pub const ITR: u32 = 0x00C4;
pub const ICS: u32 = 0x00C8;
pub const IMS: u32 = 0x00D0;
pub const IMC: u32 = 0x00D8;
pub const RCTL: u32 = 0x0100;
pub const TCTL: u32 = 0x0400;
pub const TIPG: u32 = 0x0410;
pub const RDBAL: u32 = 0x2800;
pub const RDBAH: u32 = 0x2804;
pub const RDLEN: u32 = 0x2808;
pub const RDH: u32 = 0x2810;
pub const RDT: u32 = 0x2818;
pub const RDTR: u32 = 0x2820;
pub const RADV: u32 = 0x282C;
pub const TDBAL: u32 = 0x3800;
pub const TDBAH: u32 = 0x3804;
pub const TDLEN: u32 = 0x3808;
pub const TDH: u32 = 0x3810;
pub const TDT: u32 = 0x3818;
pub const TIDV: u32 = 0x3820;
pub const TADV: u32 = 0x382C;
// ---- statistics (8254x offsets, clear on read) ----
/// CRC error count.
pub const CRCERRS: u32 = 0x4000;
/// RX error count (frames with rx_er).
pub const RXERRC: u32 = 0x400C;
/// Missed packets: frames dropped because the RX FIFO (or its frame queue) was full.
pub const MPC: u32 = 0x4010;
/// Good packets received (delivered to a descriptor without error).
pub const GPRC: u32 = 0x4074;
/// Good packets transmitted.
pub const GPTC: u32 = 0x4080;
/// Good octets received (FCS included, as on the 8254x), the low `counter_bits` bits.
pub const GORCL: u32 = 0x4088;
pub const GORCH: u32 = 0x408C;
/// Good octets transmitted (FCS included), the low `counter_bits` bits.
pub const GOTCL: u32 = 0x4090;
pub const GOTCH: u32 = 0x4094;
/// Receive no buffers: frames that found the RX ring empty (they wait in the FIFO).
pub const RNBC: u32 = 0x40A0;
/// Receive undersize (runt) count: < 64 bytes with FCS.
pub const RUC: u32 = 0x40A4;
/// Receive oversize count: > 1518 bytes with FCS while long packets are off.
pub const ROC: u32 = 0x40AC;
/// Total octets received, the low `counter_bits` bits (every frame the MAC saw, good or bad).
pub const TORL: u32 = 0x40C0;
pub const TORH: u32 = 0x40C4;
/// Total octets transmitted, the low `counter_bits` bits.
pub const TOTL: u32 = 0x40C8;
pub const TOTH: u32 = 0x40CC;
/// Total packets received (every frame the MAC saw after an SFD).
pub const TPR: u32 = 0x40D0;
/// Total packets transmitted.
pub const TPT: u32 = 0x40D4;
// ---- this design's own registers (8254x reserved space) ----
/// TX descriptors with a malformed field (non-zero high address, zero length on EOP,
/// frame longer than the TX FIFO) or a refused buffer read: frame dropped, `STA_ERR` set.
pub const TDEC: u32 = 0x4F00;
/// RX frames dropped because the IOMMU refused a buffer write (`ERR_DMA` set).
pub const RDFC: u32 = 0x4F04;
/// Rising edges of the NIC interrupt output (interrupts delivered).
pub const IRQC: u32 = 0x4F08;
/// Descriptor-ring DMA error: bit 0 TX ring halted, bit 1 RX ring halted (a descriptor
/// fetch or write-back the IOMMU refused); write 1 to clear (the ring restarts).
pub const DMAERR: u32 = 0x4F0C;
/// IOVA of the last refused NIC access.
pub const DMAERR_ADDR: u32 = 0x4F10;
/// Size of the TX FIFO in bytes (build parameter): the longest frame TX can send.
pub const TXFIFO_BYTES: u32 = 0x4F14;
/// Size of the RX FIFO in bytes (build parameter).
pub const RXFIFO_BYTES: u32 = 0x4F18;
/// Free-running TX and RX engine states (for debugging): bits 3:0 TX, 11:8 RX.
pub const ENGINE_STATE: u32 = 0x4F1C;
/// Ring register errors, sticky, write 1 to clear ([`ringerr`]): which ring register got
/// a value outside its ring. Each also counts in [`RINGERRC`] and sets `ICR.RING`.
pub const RINGERR: u32 = 0x4F20;
/// Ring register errors counted (clear on read, saturating like the statistics).
pub const RINGERRC: u32 = 0x4F24;

/// The software-written configuration registers, in the order of the NIC register block's
/// array of register cells (`cfg[i]` in `rtl/src/nic/regs.rs` holds `CONFIG[i]`).
pub const CONFIG: [u32; 17] = [
    CTRL, ITR, RCTL, TCTL, TIPG, RDBAL, RDBAH, RDLEN, RDT, RDTR, RADV, TDBAL, TDBAH, TDLEN, TDT,
    TIDV, TADV,
];

/// The statistics counters (clear on read, saturating), in the order of the NIC register
/// block's array of counter cells (`stats[i]` counts what `STATS[i]` reads). The high halves
/// (GORCH, GOTCH, TORH, TOTH) are not counters: they read 0.
pub const STATS: [u32; 18] = [
    CRCERRS, RXERRC, MPC, GPRC, GPTC, GORCL, GOTCL, RNBC, RUC, ROC, TORL, TOTL, TPR, TPT, TDEC,
    RDFC, IRQC, RINGERRC,
];

/// Clock cycles per ITR unit (256 ns at 125 MHz).
pub const ITR_UNIT_CYCLES: u32 = 32;
/// Clock cycles per RDTR/RADV/TIDV/TADV unit (1.024 µs at 125 MHz).
pub const TIMER_UNIT_CYCLES: u32 = 128;
/// Minimum inter-frame gap in bytes (IEEE 802.3: 96 bit times).
pub const MIN_IFG_BYTES: u32 = 12;
/// Preamble (7 × 0x55) plus SFD (0xD5).
pub const PREAMBLE_BYTES: u32 = 8;
pub const PREAMBLE_BYTE: u8 = 0x55;
pub const SFD_BYTE: u8 = 0xD5;
/// Shortest frame on the wire without FCS (padding target) and with it.
pub const MIN_FRAME_NO_FCS: u32 = 60;
pub const MIN_FRAME: u32 = 64;
/// Longest untagged frame with FCS while long packets are off.
pub const MAX_FRAME: u32 = 1518;
/// Longest frame with long packets on (RCTL.LPE), as on the 8254x; the RX FIFO may be the
/// smaller limit.
pub const MAX_LONG_FRAME: u32 = 16383;
pub const FCS_BYTES: u32 = 4;
/// Descriptors are 16 bytes; ring lengths (RDLEN/TDLEN) are multiples of 128 bytes.
pub const DESC_BYTES: u32 = 16;
pub const RING_LEN_ALIGN: u32 = 128;
/// Bits of RDLEN/TDLEN that are ignored on write and read 0, as on the 8254x (6:0).
pub const RING_LEN_IGNORED: u32 = RING_LEN_ALIGN - 1;
/// Bits of RDBAL/TDBAL that are ignored on write and read 0, as on the 8254x (3:0): a
/// ring starts on a descriptor boundary.
pub const RING_BASE_IGNORED: u32 = DESC_BYTES - 1;
/// Names of the TX engine states (the `obs_nic_tx_state` pin), in encoding order.
pub const TX_STATE_NAMES: [&str; 8] = [
    "Idle",
    "FetchDesc",
    "CheckDesc",
    "WaitSpace",
    "ReadData",
    "WriteBack",
    "Commit",
    "Halted",
];
/// Names of the RX engine states (the `obs_nic_rx_state` pin), in encoding order.
pub const RX_STATE_NAMES: [&str; 9] = [
    "Idle",
    "WaitDesc",
    "FetchDesc",
    "CheckDesc",
    "WriteData",
    "WriteBack",
    "Discard",
    "Release",
    "Halted",
];

/// `RINGERR` bits: a software write that would have put a ring's head or tail outside the
/// ring. TDT, TDH, RDT and RDH writes of a value that is not 0 and not below the ring's
/// descriptor count (`xDLEN / 16`) are ignored (the register keeps its value; the 8254x
/// leaves this undefined). A TDLEN or RDLEN write is taken, but flagged when it leaves
/// that ring's head or tail at or beyond the new count; while a ring's head or tail is
/// outside it, its engine does not fetch descriptors (TX sends nothing, RX frames wait
/// and count in RNBC) until software writes valid values.
pub mod ringerr {
    pub const TDT: u32 = 1 << 0;
    pub const TDH: u32 = 1 << 1;
    pub const TDLEN: u32 = 1 << 2;
    pub const RDT: u32 = 1 << 3;
    pub const RDH: u32 = 1 << 4;
    pub const RDLEN: u32 = 1 << 5;
    pub const ALL: u32 = TDT | TDH | TDLEN | RDT | RDH | RDLEN;
}

/// `DMAERR` bits.
pub mod dmaerr {
    /// The TX ring engine halted on a refused descriptor fetch or write-back.
    pub const TX: u32 = 1 << 0;
    /// The RX ring engine halted on a refused descriptor fetch or write-back.
    pub const RX: u32 = 1 << 1;
}

/// `ENGINE_STATE` fields: each engine's state index in [`TX_STATE_NAMES`]
/// / [`RX_STATE_NAMES`].
pub mod engine_state {
    pub const TX_SHIFT: u32 = 0;
    pub const RX_SHIFT: u32 = 8;
    pub const FIELD_BITS: u32 = 4;
    pub const TX_MASK: u32 = ((1 << FIELD_BITS) - 1) << TX_SHIFT;
    pub const RX_MASK: u32 = ((1 << FIELD_BITS) - 1) << RX_SHIFT;
}

/// ITR, RDTR, RADV, TIDV and TADV hold their interval in bits 15:0 (as on the 8254x).
pub const INTERVAL_MASK: u32 = 0xFFFF;

pub mod ctrl {
    /// Full duplex (always 1 here).
    pub const FD: u32 = 1 << 0;
    /// Set link up: STATUS.LU follows it.
    pub const SLU: u32 = 1 << 6;
    /// Software reset: self-clearing; resets rings, FIFOs, ICR and statistics.
    pub const RST: u32 = 1 << 26;
    /// PHY reset: while 1 the NIC holds the PHY's reset pin asserted (the 8254x's bit 31;
    /// software writes 1, waits, writes 0). The NIC's own reset (RST) clears it.
    pub const PHY_RST: u32 = 1 << 31;
}

pub mod status {
    pub const FD: u32 = 1 << 0;
    /// Link up (= CTRL.SLU).
    pub const LU: u32 = 1 << 1;
    /// Speed: 10 = 1000 Mb/s (bits 7:6), what a byte-per-clock GMII MAC is.
    pub const SPEED_1000: u32 = 0b10 << 6;
}

/// Interrupt cause bits (ICR, ICS, IMS, IMC).
pub mod icr {
    /// Transmit descriptor written back (a descriptor with RS, after TIDV/TADV if IDE).
    pub const TXDW: u32 = 1 << 0;
    /// Transmit queue empty (TDH reached TDT).
    pub const TXQE: u32 = 1 << 1;
    /// Link status change: STATUS.LU changed (here: CTRL.SLU was set or cleared by a write;
    /// CTRL.RST clears SLU without it). Linux's e1000 writes ICS.LSC in `e1000_open` to start
    /// its link watchdog.
    pub const LSC: u32 = 1 << 2;
    /// Receive sequence error (an 8254x's ordered-set error): never raised by this MAC, but
    /// ICS can set it and IMS can enable it, as the 8254x's drivers expect.
    pub const RXSEQ: u32 = 1 << 3;
    /// Receive descriptor minimum threshold reached (free descriptors ≤ the RDMTS share).
    pub const RXDMT0: u32 = 1 << 4;
    /// Receiver overrun: a frame was dropped because the RX FIFO was full.
    pub const RXO: u32 = 1 << 6;
    /// Receiver timer: RDTR (packet) or RADV (absolute) expired after a frame was written.
    pub const RXT0: u32 = 1 << 7;
    /// A memcpy DMAC channel raised its interrupt (rising edge).
    pub const DMAC: u32 = 1 << 24;
    /// The IOMMU raised its interrupt (fault or command queue; rising edge).
    pub const IOMMU: u32 = 1 << 25;
    /// A NIC descriptor ring halted on a refused access (`DMAERR`).
    pub const NIC_DMA: u32 = 1 << 26;
    /// MDI/O access complete: an MDIC access with MDIC.I set finished (`mdic`).
    pub const MDAC: u32 = 1 << 9;
    /// A ring register write was refused or left a ring inconsistent (`RINGERR`).
    pub const RING: u32 = 1 << 27;
    /// Every cause bit this design implements.
    pub const ALL: u32 =
        TXDW | TXQE | LSC | RXSEQ | RXDMT0 | RXO | RXT0 | MDAC | DMAC | IOMMU | NIC_DMA | RING;
}

pub mod rctl {
    pub const EN: u32 = 1 << 1;
    /// Store bad packets: frames with errors are delivered with their error bits set.
    pub const SBP: u32 = 1 << 2;
    /// Long packet enable: frames up to MAX_LONG_FRAME (or the RX FIFO) are good.
    pub const LPE: u32 = 1 << 5;
    /// Loopback mode, bits 7:6: 00 none, 01 MAC loopback (TX pins to RX inside the chip).
    pub const LBM_SHIFT: u32 = 6;
    pub const LBM_MASK: u32 = 0b11 << LBM_SHIFT;
    pub const LBM_MAC: u32 = 0b01 << LBM_SHIFT;
    /// RX descriptor minimum threshold size, bits 9:8: 00 1/2, 01 1/4, 10 1/8 of the ring.
    pub const RDMTS_SHIFT: u32 = 8;
    pub const RDMTS_MASK: u32 = 0b11 << RDMTS_SHIFT;
    /// Buffer size, bits 17:16: 00 2048, 01 1024, 10 512, 11 256 bytes (× 16 with BSEX).
    pub const BSIZE_SHIFT: u32 = 16;
    pub const BSIZE_MASK: u32 = 0b11 << BSIZE_SHIFT;
    pub const BSEX: u32 = 1 << 25;
    /// Strip the Ethernet CRC (FCS) before the frame goes to host memory.
    pub const SECRC: u32 = 1 << 26;

    /// RX buffer bytes for an RCTL value (BSIZE, BSEX). BSEX with BSIZE 00 is reserved on
    /// the 8254x; here it means 2048 as without BSEX.
    pub const fn buffer_bytes(rctl: u32) -> u32 {
        let bsize = (rctl & BSIZE_MASK) >> BSIZE_SHIFT;
        let base = 2048 >> bsize;
        if rctl & BSEX != 0 && bsize != 0 {
            base * 16
        } else {
            base
        }
    }

    /// The BSIZE/BSEX bits for a buffer size (256, 512, 1024, 2048, 4096, 8192, 16384).
    pub const fn for_buffer_bytes(bytes: u32) -> Option<u32> {
        match bytes {
            2048 => Some(0),
            1024 => Some(1 << BSIZE_SHIFT),
            512 => Some(2 << BSIZE_SHIFT),
            256 => Some(3 << BSIZE_SHIFT),
            16384 => Some(BSEX | (1 << BSIZE_SHIFT)),
            8192 => Some(BSEX | (2 << BSIZE_SHIFT)),
            4096 => Some(BSEX | (3 << BSIZE_SHIFT)),
            _ => None,
        }
    }
}

pub mod tctl {
    pub const EN: u32 = 1 << 1;
    /// Pad short packets to 60 bytes (before the FCS).
    pub const PSP: u32 = 1 << 3;
}

pub mod tipg {
    /// IPGT, bits 9:0: the inter-frame gap in bytes; values below MIN_IFG_BYTES act as 12.
    pub const IPGT_MASK: u32 = 0x3FF;
}

/// Legacy transmit descriptor (16 bytes).
///
/// ```text
/// +0x0 buffer address [31:0]      +0x4 buffer address [63:32] (must be 0)
/// +0x8 bits 15:0 LENGTH, 23:16 CSO, 31:24 CMD
/// +0xC bits 3:0 STA, 7:4 RSV, 15:8 CSS, 31:16 SPECIAL
/// ```
pub mod tx_desc {
    pub const ADDR_LO: u32 = 0x0;
    pub const ADDR_HI: u32 = 0x4;
    pub const LEN_CMD: u32 = 0x8;
    pub const STA_WORD: u32 = 0xC;
    pub const LEN_MASK: u32 = 0xFFFF;
    pub const CMD_SHIFT: u32 = 24;
    /// CMD bits (in the CMD byte).
    pub const CMD_EOP: u32 = 1 << 0;
    pub const CMD_IFCS: u32 = 1 << 1;
    /// Interrupt delay enable: TXDW for this descriptor waits for TIDV/TADV.
    pub const CMD_IDE: u32 = 1 << 7;
    /// Descriptor extension: a context descriptor (DTYP 0 in bits 23:20 of the length word) or
    /// an extended data descriptor (DTYP 1): the 8254x's checksum and TSO offloads. Not carried
    /// out: a context descriptor is skipped (DD if RS), an extended data descriptor is
    /// malformed (its frame dropped with STA_ERR and TDEC), never sent as a legacy frame.
    pub const CMD_DEXT: u32 = 1 << 5;
    pub const CMD_RS: u32 = 1 << 3;
    /// STA bits (bits 3:0 of word 3).
    pub const STA_DD: u32 = 1 << 0;
    /// This design's: the frame was dropped (malformed descriptor or refused buffer read).
    /// Bit 3 is "TU" (reserved) on the 8254x legacy descriptor.
    pub const STA_ERR: u32 = 1 << 3;

    /// Word 2 of a descriptor: `len` bytes with command bits `cmd`.
    pub const fn len_cmd(len: u32, cmd: u32) -> u32 {
        (len & LEN_MASK) | (cmd << CMD_SHIFT)
    }
}

/// Legacy receive descriptor (16 bytes).
///
/// ```text
/// +0x0 buffer address [31:0]      +0x4 buffer address [63:32] (must be 0)
/// +0x8 bits 15:0 LENGTH (written), 31:16 packet checksum (written 0)
/// +0xC bits 7:0 STATUS, 15:8 ERRORS, 31:16 SPECIAL (all written; SPECIAL 0)
/// ```
pub mod rx_desc {
    pub const ADDR_LO: u32 = 0x0;
    pub const ADDR_HI: u32 = 0x4;
    pub const LEN_CSUM: u32 = 0x8;
    pub const STATUS_WORD: u32 = 0xC;
    pub const LEN_MASK: u32 = 0xFFFF;
    pub const ERRORS_SHIFT: u32 = 8;
    /// STATUS bits.
    pub const STA_DD: u32 = 1 << 0;
    pub const STA_EOP: u32 = 1 << 1;
    /// ERRORS bits (in the ERRORS byte), valid on the EOP descriptor.
    /// CRC (FCS) error.
    pub const ERR_CE: u32 = 1 << 0;
    /// This design's: the IOMMU refused a write into this frame's buffers; the frame is
    /// incomplete. Bit 2 is "SEQ" on the 8254x, which this MAC never reports.
    pub const ERR_DMA: u32 = 1 << 2;
    /// This design's: length error, runt (< 64 bytes with FCS) or oversize (> 1518 with FCS
    /// and LPE off); the LENGTH field tells which. Bit 3 is reserved on the 8254x.
    pub const ERR_LEN: u32 = 1 << 3;
    /// RX data error: rx_er was asserted during the frame.
    pub const ERR_RXE: u32 = 1 << 7;
}

/// EECD (8254x offset `0x0010`): software's pins to the card's serial EEPROM (a 93C46-style
/// microwire part on the 82540: `crate::eeprom`), bit-banged as Linux's e1000 does. SK, CS, DI,
/// FWE and EE_REQ read back as written; DO is the EEPROM's data out (through a synchronizer);
/// EE_GNT follows EE_REQ (nothing else owns the EEPROM here); EE_PRES says whether the board
/// has an EEPROM (the SoC's `eeprom_present` strap); EE_SIZE reads 0 (64 words). The pins follow
/// the register whether or not EE_REQ is set.
pub mod eecd {
    /// Clock to the EEPROM.
    pub const SK: u32 = 1 << 0;
    /// Chip select.
    pub const CS: u32 = 1 << 1;
    /// Data to the EEPROM.
    pub const DI: u32 = 1 << 2;
    /// Data from the EEPROM (read only).
    pub const DO: u32 = 1 << 3;
    /// Flash write enable (kept for read-back; there is no flash).
    pub const FWE_MASK: u32 = 0b11 << 4;
    /// Software requests the EEPROM.
    pub const REQ: u32 = 1 << 6;
    /// The EEPROM is granted to software (read only: follows REQ).
    pub const GNT: u32 = 1 << 7;
    /// An EEPROM is present (read only).
    pub const PRES: u32 = 1 << 8;
    /// The bits a write keeps.
    pub const WRITABLE: u32 = SK | CS | DI | FWE_MASK | REQ;
}

/// MDIC (8254x offset `0x0020`): the host's access to the PHY's management registers over
/// MDIO (IEEE 802.3 clause 22), one read or write at a time. The layout is the 8254x's; the
/// MDIO master that carries it out is `rtl::nic::mdio` (docs/mdio.md), on the NIC's MDC and
/// MDIO pins.
///
/// A write with OP read or write while no access is in flight starts one: R and E read 0 until
/// it is done, then R reads 1, E tells whether a read found no PHY, and DATA holds what was
/// read (a write's DATA stays as written). A write while an access is in flight is ignored
/// (software polls R first). A write with OP 00 or 11 starts nothing and reads back with R and
/// E set. The NIC's reset (CTRL.RST) abandons an access in flight and reads R.
pub mod mdic {
    /// Offset in the NIC window.
    pub const OFFSET: u32 = super::MDIC;
    /// DATA: the value to write, or the value read.
    pub const DATA_MASK: u32 = 0xFFFF;
    /// REGADD: the PHY register (0..31).
    pub const REGADD_SHIFT: u32 = 16;
    pub const REGADD_MASK: u32 = 0x1F << REGADD_SHIFT;
    /// PHYADD: the PHY's address on the bus (0..31).
    pub const PHYADD_SHIFT: u32 = 21;
    pub const PHYADD_MASK: u32 = 0x1F << PHYADD_SHIFT;
    /// OP: 01 = write, 10 = read (the clause 22 op codes).
    pub const OP_SHIFT: u32 = 26;
    pub const OP_MASK: u32 = 0x3 << OP_SHIFT;
    pub const OP_WRITE: u32 = 0b01;
    pub const OP_READ: u32 = 0b10;
    /// R: the access is done (cleared by the write that starts one).
    pub const READY: u32 = 1 << 28;
    /// I: raise ICR.MDAC when the access is done.
    pub const INT_EN: u32 = 1 << 29;
    /// E: a read found no PHY (nobody drove the turnaround's second bit low).
    pub const ERROR: u32 = 1 << 30;

    /// An MDIC value that starts an access.
    pub const fn command(op: u32, phy: u32, reg: u32, data: u32) -> u32 {
        ((op << OP_SHIFT) & OP_MASK)
            | ((phy << PHYADD_SHIFT) & PHYADD_MASK)
            | ((reg << REGADD_SHIFT) & REGADD_MASK)
            | (data & DATA_MASK)
    }
}
