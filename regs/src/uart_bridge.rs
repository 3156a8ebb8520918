/// First byte of every host → bridge frame.
pub const SYNC: u8 = 0xA5;
/// First byte of every bridge → host reply.
pub const REPLY_SYNC: u8 = 0x5A;
/// Protocol version (CRC-16, TAG, replay, inter-byte timeout, NOP). Version 1 had an 8-bit
/// additive checksum and no TAG.
pub const PROTOCOL_VERSION: u8 = 2;

/// Read one word: `addr`. Reply payload: the word.
pub const CMD_READ32: u8 = 0x01;
/// Write one word: `addr`, `data`, `be` (byte enables in the low 4 bits; bit i enables byte
/// i). No reply payload.
pub const CMD_WRITE32: u8 = 0x02;
/// Read `count` consecutive words from `addr`: `addr`, `count`. Reply payload: the words.
pub const CMD_READ_BURST: u8 = 0x03;
/// Write `count` consecutive words from `addr`, all bytes enabled: `addr`, `count`, the
/// words. No reply payload.
pub const CMD_WRITE_BURST: u8 = 0x04;
/// Read the interrupt line. Reply payload: one byte, [`IRQ_LINE`] set while it is high.
pub const CMD_IRQ_STATUS: u8 = 0x05;
/// Do nothing; no fields. Reply payload: the TAG of the last frame the bridge executed and
/// remembers (0 after power-up). The host's resync.
pub const CMD_NOP: u8 = 0x06;

/// The command was executed (or answered from the bridge's memory).
pub const STATUS_OK: u8 = 0x00;
/// The frame's CRC did not check out; the command was not executed (nothing written).
pub const STATUS_BAD_CRC: u8 = 0x01;
/// Unknown CMD, or a burst count of 0 or above [`MAX_BURST_WORDS`]; nothing executed.
pub const STATUS_BAD_COMMAND: u8 = 0x02;

/// Every command: code, name, fields after TAG, OK reply payload (for documentation: the
/// protocol table in docs/fpga.md is generated from this and the constants).
pub const COMMANDS: [(u8, &str, &str, &str); 6] = [
    (CMD_READ32, "READ32", "addr (4)", "data (4)"),
    (
        CMD_WRITE32,
        "WRITE32",
        "addr (4), data (4), be (1, low 4 bits)",
        "none",
    ),
    (
        CMD_READ_BURST,
        "READ_BURST",
        "addr (4), count (1)",
        "count × data (4)",
    ),
    (
        CMD_WRITE_BURST,
        "WRITE_BURST",
        "addr (4), count (1), count × data (4)",
        "none",
    ),
    (
        CMD_IRQ_STATUS,
        "IRQ_STATUS",
        "none",
        "irq (1): bit 0 = interrupt line",
    ),
    (CMD_NOP, "NOP", "none", "the remembered TAG (1)"),
];
/// Every status: code, name, meaning.
pub const STATUSES: [(u8, &str, &str); 3] = [
    (
        STATUS_OK,
        "OK",
        "executed, or answered from the replay memory",
    ),
    (
        STATUS_BAD_CRC,
        "BAD_CRC",
        "the frame's CRC did not check out; nothing executed",
    ),
    (
        STATUS_BAD_COMMAND,
        "BAD_COMMAND",
        "unknown CMD, or burst count 0 or above MAX_BURST_WORDS; nothing executed",
    ),
];

/// Most words in one burst (the bridge buffers a burst write in a RAM of this many words).
pub const MAX_BURST_WORDS: usize = 64;
/// Bit of the IRQ_STATUS reply byte that is the SoC's interrupt line.
pub const IRQ_LINE: u8 = 1 << 0;
/// Bits of the WRITE32 `be` byte that are used.
pub const BE_MASK: u8 = 0x0F;

/// Bytes of a frame before its fields: SYNC, CMD and TAG.
pub const FRAME_HEADER_BYTES: usize = 3;
/// Bytes of a reply before its payload: REPLY_SYNC, STATUS and TAG.
pub const REPLY_HEADER_BYTES: usize = 3;
/// Bytes of the CRC at the end of every frame and reply.
pub const CRC_BYTES: usize = 2;
/// Bit times on the wire per data byte (8N1: start, 8 data, stop).
pub const BITS_PER_BYTE: u32 = 10;
/// Smallest divisor (clock cycles per bit) the receiver can sample mid-bit with.
pub const MIN_DIVISOR: u32 = 4;

/// log2 of [`INTERBYTE_TIMEOUT_BITS`] (the bridge compares its idle counter with `divisor`
/// shifted by this much).
pub const INTERBYTE_TIMEOUT_SHIFT: u32 = 7;
/// A frame whose next byte is not complete within this many bit times after the previous
/// one (12.8 byte times; 128 µs at 1 Mbaud) is abandoned and counted as a timeout. Bytes
/// sent back to back are 10 bit times apart, so a host may leave gaps of about 11 byte
/// times inside a frame; a host that waits longer than this before its next frame knows
/// that the bridge is hunting for SYNC again.
pub const INTERBYTE_TIMEOUT_BITS: u32 = 1 << INTERBYTE_TIMEOUT_SHIFT;

/// The CRC register before the first byte after a sync byte.
pub const CRC_INIT: u16 = 0xFFFF;
/// The CRC register after the bytes of an intact frame or reply *and* their CRC.
pub const CRC_RESIDUE: u16 = 0x0000;

/// One byte step of the CRC-16/CCITT-FALSE register (polynomial 0x1021, most significant
/// bit first): the byte-wise form that `rtl::uart::bridge` builds as an XOR network.
pub const fn crc16_update(crc: u16, byte: u8) -> u16 {
    let mut x = (crc >> 8) ^ byte as u16;
    x ^= x >> 4;
    (crc << 8) ^ (x << 12) ^ (x << 5) ^ x
}

/// The CRC of `bytes` (everything after the sync byte, the CRC itself excluded).
pub const fn crc16(bytes: &[u8]) -> u16 {
    let mut crc = CRC_INIT;
    let mut i = 0;
    while i < bytes.len() {
        crc = crc16_update(crc, bytes[i]);
        i += 1;
    }
    crc
}

/// The two CRC bytes as they go on the wire (most significant first).
pub const fn crc_bytes(crc: u16) -> [u8; CRC_BYTES] {
    crc.to_be_bytes()
}

/// Whether `bytes` (everything after the sync byte, the CRC included) checks out.
pub const fn crc_ok(bytes: &[u8]) -> bool {
    bytes.len() >= CRC_BYTES && crc16(bytes) == CRC_RESIDUE
}

/// Field bytes after TAG of a frame with `cmd` (`count` is a burst's word count, 1 to
/// [`MAX_BURST_WORDS`]), or `None` for an unknown CMD.
pub const fn field_bytes(cmd: u8, count: usize) -> Option<usize> {
    match cmd {
        CMD_READ32 => Some(4),
        CMD_WRITE32 => Some(9),
        CMD_READ_BURST => Some(5),
        CMD_WRITE_BURST => Some(5 + 4 * count),
        CMD_IRQ_STATUS | CMD_NOP => Some(0),
        _ => None,
    }
}

/// Payload bytes of the OK reply to `cmd` (`count` as in [`field_bytes`]).
pub const fn payload_bytes(cmd: u8, count: usize) -> Option<usize> {
    match cmd {
        CMD_READ32 => Some(4),
        CMD_WRITE32 | CMD_WRITE_BURST => Some(0),
        CMD_READ_BURST => Some(4 * count),
        CMD_IRQ_STATUS | CMD_NOP => Some(1),
        _ => None,
    }
}

/// Whether the bridge remembers an executed `cmd` and answers its retransmission from
/// memory (everything but READ_BURST, which is executed again, and NOP, which executes
/// nothing).
pub const fn is_replayed(cmd: u8) -> bool {
    matches!(
        cmd,
        CMD_READ32 | CMD_WRITE32 | CMD_WRITE_BURST | CMD_IRQ_STATUS
    )
}

/// Bytes on the wire of a frame with `cmd` (`count` as in [`field_bytes`]).
pub const fn frame_len(cmd: u8, count: usize) -> Option<usize> {
    match field_bytes(cmd, count) {
        Some(n) => Some(FRAME_HEADER_BYTES + n + CRC_BYTES),
        None => None,
    }
}

/// Bytes on the wire of a reply whose payload is `payload` bytes.
pub const fn reply_len(payload: usize) -> usize {
    REPLY_HEADER_BYTES + payload + CRC_BYTES
}

/// The bridge's `divisor` input for `baud` with a `clock_hz` clock, rounded to nearest.
pub const fn divisor(clock_hz: u32, baud: u32) -> u32 {
    (clock_hz + baud / 2) / baud
}

/// Clock cycles of the inter-byte timeout at `divisor`.
pub const fn interbyte_timeout_cycles(divisor: u32) -> u64 {
    (divisor as u64) << INTERBYTE_TIMEOUT_SHIFT
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check value every CRC catalogue lists for CRC-16/CCITT-FALSE (CRC-16/IBM-3740).
    #[test]
    fn crc16_is_ccitt_false() {
        assert_eq!(crc16(b"123456789"), 0x29B1);
        assert_eq!(crc16(&[]), CRC_INIT);
    }

    /// Against the `crc` crate's CRC-16/IBM-3740 (= CCITT-FALSE), on frames of every length
    /// up to a 64-word burst's, with pseudo-random contents.
    #[test]
    fn crc16_matches_the_crc_crate() {
        let reference = crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740);
        let mut state = 0x1234_5678u32;
        let mut bytes = [0u8; 300];
        for b in bytes.iter_mut() {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *b = (state >> 24) as u8;
        }
        for len in 0..bytes.len() {
            assert_eq!(
                crc16(&bytes[..len]),
                reference.checksum(&bytes[..len]),
                "{len} bytes"
            );
        }
    }

    #[test]
    fn crc16_update_matches_the_bitwise_register() {
        for crc in (0..=u16::MAX).step_by(251) {
            for byte in 0..=255u8 {
                let mut r = crc;
                for i in (0..8).rev() {
                    let feedback = ((r >> 15) as u8 ^ (byte >> i)) & 1 != 0;
                    r <<= 1;
                    if feedback {
                        r ^= 0x1021;
                    }
                }
                assert_eq!(
                    crc16_update(crc, byte),
                    r,
                    "crc {crc:#06x} byte {byte:#04x}"
                );
            }
        }
    }

    #[test]
    fn crc_sent_msb_first_leaves_the_residue() {
        let mut body = [CMD_READ32, 0x17, 0x00, 0x00, 0x02, 0x40, 0, 0];
        let [hi, lo] = crc_bytes(crc16(&body[..6]));
        body[6] = hi;
        body[7] = lo;
        assert!(crc_ok(&body));
        body[3] ^= 0x20;
        assert!(!crc_ok(&body));
        assert!(!crc_ok(&[0x00]));
    }

    #[test]
    fn lengths_by_command() {
        assert_eq!(frame_len(CMD_READ32, 1), Some(3 + 4 + 2));
        assert_eq!(frame_len(CMD_WRITE32, 1), Some(3 + 9 + 2));
        assert_eq!(frame_len(CMD_WRITE_BURST, 64), Some(3 + 5 + 256 + 2));
        assert_eq!(frame_len(CMD_NOP, 0), Some(5));
        assert_eq!(frame_len(0x7E, 0), None);
        assert_eq!(reply_len(4), 9);
        assert!(!is_replayed(CMD_READ_BURST) && !is_replayed(CMD_NOP));
    }

    #[test]
    fn divisor_rounds_to_nearest() {
        assert_eq!(divisor(12_000_000, 115_200), 104);
        assert_eq!(divisor(100_000_000, 1_000_000), 100);
        assert!(divisor(12_000_000, 1_000_000) >= MIN_DIVISOR);
        assert_eq!(interbyte_timeout_cycles(25), 25 * 128);
    }
}
