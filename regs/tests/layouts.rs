//! The descriptor and PTE layouts of `regs`, checked bit by bit against the bit numbers of
//! their specifications, typed here from the documents and not from `regs`: Intel's "PCI/PCI-X
//! Family of Gigabit Ethernet Controllers Software Developer's Manual" (8254x), 3.2.3 (legacy
//! receive descriptor) and 3.3.3 (legacy transmit descriptor), and the RISC-V privileged
//! specification's Sv32 page-table entry. A descriptor is viewed as the 128 bits it occupies in
//! memory (little-endian, bit 0 = bit 0 of byte 0) with `bitvec`, so a field is a bit range as
//! the manual draws it, not a mask and a shift as `regs` and the hardware write it.

use bitvec::prelude::*;
use pretty_assertions::assert_eq;
use regs::nic::{rx_desc, tx_desc};
use regs::sv32::pte;

/// A 16-byte descriptor in memory from its four little-endian words.
fn bytes(words: [u32; 4]) -> [u8; 16] {
    let mut b = [0u8; 16];
    for (i, w) in words.iter().enumerate() {
        b[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
    }
    b
}

/// The word of a descriptor at byte offset `offset`.
fn word(words: &mut [u32; 4], offset: u32) -> &mut u32 {
    &mut words[offset as usize / 4]
}

/// The indices of the set bits.
fn ones(bits: &BitSlice<u8, Lsb0>) -> Vec<usize> {
    bits.iter_ones().collect()
}

#[test]
fn transmit_descriptor_matches_the_8254x_manual() {
    // 3.3.3: buffer address 63:0, length 79:64, CSO 87:80, CMD 95:88, STA 99:96, RSV 103:100,
    // CSS 111:104, special 127:112. CMD: EOP 88, IFCS 89, IC 90, RS 91, DEXT 93, VLE 94,
    // IDE 95. STA: DD 96.
    let mut w = [0u32; 4];
    *word(&mut w, tx_desc::ADDR_LO) = 0x89AB_CDEF;
    *word(&mut w, tx_desc::ADDR_HI) = 0x0123_4567;
    *word(&mut w, tx_desc::LEN_CMD) = tx_desc::len_cmd(1514, 0);
    let b = bytes(w);
    let bits = b.view_bits::<Lsb0>();
    assert_eq!(bits[0..64].load_le::<u64>(), 0x0123_4567_89AB_CDEF);
    assert_eq!(bits[64..80].load_le::<u16>(), 1514);
    assert_eq!(ones(&bits[80..128]), Vec::<usize>::new());
    for (cmd, bit) in [
        (tx_desc::CMD_EOP, 88),
        (tx_desc::CMD_IFCS, 89),
        (tx_desc::CMD_RS, 91),
        (tx_desc::CMD_IDE, 95),
    ] {
        let mut w = [0u32; 4];
        *word(&mut w, tx_desc::LEN_CMD) = tx_desc::len_cmd(0, cmd);
        assert_eq!(
            ones(bytes(w).view_bits::<Lsb0>()),
            vec![bit],
            "CMD {cmd:#x}"
        );
    }
    let mut w = [0u32; 4];
    *word(&mut w, tx_desc::STA_WORD) = tx_desc::STA_DD;
    assert_eq!(ones(bytes(w).view_bits::<Lsb0>()), vec![96], "STA.DD");
    // The design's own STA_ERR is bit 3 of STA (99), reserved ("TU") in the manual.
    let mut w = [0u32; 4];
    *word(&mut w, tx_desc::STA_WORD) = tx_desc::STA_ERR;
    assert_eq!(ones(bytes(w).view_bits::<Lsb0>()), vec![99], "STA.ERR");
}

#[test]
fn receive_descriptor_matches_the_8254x_manual() {
    // 3.2.3: buffer address 63:0, length 79:64, packet checksum 95:80, status 103:96, errors
    // 111:104, special 127:112. Status: DD 96, EOP 97. Errors: CE 104, SEQ 106, RXE 111.
    let mut w = [0u32; 4];
    *word(&mut w, rx_desc::ADDR_LO) = 0x0004_2000;
    *word(&mut w, rx_desc::LEN_CSUM) = 60 & rx_desc::LEN_MASK;
    let b = bytes(w);
    let bits = b.view_bits::<Lsb0>();
    assert_eq!(bits[0..64].load_le::<u64>(), 0x0004_2000);
    assert_eq!(bits[64..80].load_le::<u16>(), 60);
    for (status, bit) in [(rx_desc::STA_DD, 96), (rx_desc::STA_EOP, 97)] {
        let mut w = [0u32; 4];
        *word(&mut w, rx_desc::STATUS_WORD) = status;
        assert_eq!(
            ones(bytes(w).view_bits::<Lsb0>()),
            vec![bit],
            "STATUS {status:#x}"
        );
    }
    // ERR_DMA uses SEQ's bit (106) and ERR_LEN reserved bit 107: the design's own errors.
    for (err, bit) in [
        (rx_desc::ERR_CE, 104),
        (rx_desc::ERR_DMA, 106),
        (rx_desc::ERR_LEN, 107),
        (rx_desc::ERR_RXE, 111),
    ] {
        let mut w = [0u32; 4];
        *word(&mut w, rx_desc::STATUS_WORD) = err << rx_desc::ERRORS_SHIFT;
        assert_eq!(
            ones(bytes(w).view_bits::<Lsb0>()),
            vec![bit],
            "ERRORS {err:#x}"
        );
    }
}

#[test]
fn sv32_pte_matches_the_risc_v_privileged_specification() {
    // V 0, R 1, W 2, X 3, U 4, G 5, A 6, D 7, RSW 9:8, PPN[0] 19:10, PPN[1] 31:20.
    for (flag, bit) in [
        (pte::V, 0),
        (pte::R, 1),
        (pte::W, 2),
        (pte::X, 3),
        (pte::U, 4),
        (pte::G, 5),
        (pte::A, 6),
        (pte::D, 7),
    ] {
        let b = flag.to_le_bytes();
        assert_eq!(ones(b.view_bits::<Lsb0>()), vec![bit], "flag {flag:#x}");
    }
    let b = pte::RSW_MASK.to_le_bytes();
    assert_eq!(ones(b.view_bits::<Lsb0>()), vec![8, 9]);
    // A PTE in memory: 4 bytes, little-endian.
    let b = pte::new(0x2B_CDEF, pte::V | pte::R).to_le_bytes();
    let bits = b.view_bits::<Lsb0>();
    assert_eq!(bits[10..20].load_le::<u32>(), 0x2B_CDEF & 0x3FF, "PPN[0]");
    assert_eq!(bits[20..32].load_le::<u32>(), 0x2B_CDEF >> 10, "PPN[1]");
    assert_eq!(ones(&bits[0..10]), vec![0, 1]);
}
