//! The card's serial EEPROM behind EECD (`nic::eecd`): a 93C46-style microwire part of 64
//! 16-bit words, as on the 82540 whose PCI ID the NIC would present to Linux. Software sends a
//! start bit and a 2-bit opcode (together [`READ_OPCODE`], 3 bits), a 6-bit word address, and
//! reads 16 bits MSB first. The layout is the 8254x's: the MAC address in words 0–2 (each
//! word's low byte first), and all 64 words summing to [`CHECKSUM`] (word [`CHECKSUM_WORD`]
//! makes it so). The simulation's model (`sim/cpp/eeprom_93c46.h`) loads [`image`].

/// Words in the part (93C46 organised as x16).
pub const WORDS: usize = 64;
/// Address bits of a 64-word part.
pub const ADDRESS_BITS: u32 = 6;
/// The start bit and the READ opcode 10, sent MSB first.
pub const READ_OPCODE: u32 = 0b110;
pub const OPCODE_BITS: u32 = 3;
/// The sum of all words of a valid image.
pub const CHECKSUM: u16 = 0xBABA;
/// The word that makes the sum come out.
pub const CHECKSUM_WORD: usize = 0x3F;
/// The MAC address the simulation's EEPROM holds: locally administered (bit 1 of the first
/// byte), unicast.
pub const SIM_MAC: [u8; 6] = [0x02, 0x00, 0x5E, 0x10, 0x00, 0x01];

/// An EEPROM image with `mac` in words 0–2, the other words 0 and the checksum word set.
pub fn image(mac: [u8; 6]) -> [u16; WORDS] {
    let mut w = [0u16; WORDS];
    for i in 0..3 {
        w[i] = u16::from_le_bytes([mac[2 * i], mac[2 * i + 1]]);
    }
    let sum = w.iter().fold(0u16, |s, &x| s.wrapping_add(x));
    w[CHECKSUM_WORD] = CHECKSUM.wrapping_sub(sum);
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_sums_to_0xbaba_and_holds_the_mac_low_byte_first() {
        let w = image(SIM_MAC);
        assert_eq!(w.iter().fold(0u16, |s, &x| s.wrapping_add(x)), CHECKSUM);
        assert_eq!(w[0], 0x0002);
        assert_eq!(w[1], 0x105E);
        assert_eq!(w[2], 0x0100);
    }
}
