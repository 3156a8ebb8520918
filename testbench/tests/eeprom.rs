//! The card's EEPROM through the whole SoC: the driver (`driver::eeprom`) bit-bangs EECD as
//! Linux's e1000 does on an 82540, the NIC drives the EEPROM's pins, and the harness's 93C46
//! model (`sim/cpp/eeprom_93c46.h`) answers with the image `regs::eeprom::image` makes.

use driver::eeprom::{self, EepromError};
use driver::Device;
use pretty_assertions::assert_eq;
use regs::eeprom::{image, CHECKSUM_WORD, SIM_MAC, WORDS};
use regs::nic::{self as hw, ctrl, eecd};
use regs::{block, csr};
use testbench::new_soc;

fn reg(offset: u32) -> u32 {
    csr(block::NIC, offset)
}

#[test]
fn the_driver_reads_the_whole_eeprom_its_checksum_and_the_mac_address() {
    let mut soc = new_soc();
    let t0 = soc.now();
    let words = eeprom::read_all(&mut soc).expect("EEPROM");
    assert_eq!(words, image(SIM_MAC).to_vec());
    assert_eq!(eeprom::mac_address(&words), Ok(SIM_MAC));
    assert_eq!(soc.eeprom_reads(), WORDS as u64, "one READ per word");
    // 1 + 2 + 6 + 16 clocks a word, each three EECD writes and a read.
    println!("64 words in {} cycles", soc.now() - t0);
    // A part of it, from the middle.
    assert_eq!(
        eeprom::read(&mut soc, 1, 2).expect("words 1-2"),
        image(SIM_MAC)[1..3].to_vec()
    );
}

#[test]
fn eecd_reads_back_its_pins_grants_a_request_and_says_the_eeprom_is_there() {
    let mut soc = new_soc();
    let v = soc.read32(reg(hw::EECD));
    assert_eq!(
        v,
        eecd::PRES | eecd::DO,
        "idle: present, DO high, nothing granted"
    );
    soc.write32(reg(hw::EECD), eecd::REQ | eecd::CS | eecd::FWE_MASK);
    assert_eq!(
        soc.read32(reg(hw::EECD)),
        eecd::REQ | eecd::GNT | eecd::CS | eecd::FWE_MASK | eecd::PRES | eecd::DO
    );
    // Read-only bits are not written; CTRL.RST clears the rest.
    soc.write32(reg(hw::EECD), u32::MAX);
    assert_eq!(
        soc.read32(reg(hw::EECD)) & !(eecd::DO),
        eecd::WRITABLE | eecd::GNT | eecd::PRES
    );
    soc.write32(reg(hw::CTRL), ctrl::RST);
    assert_eq!(soc.read32(reg(hw::EECD)) & eecd::WRITABLE, 0);
}

#[test]
fn no_eeprom_or_a_bad_checksum_is_an_error() {
    let mut soc = new_soc();
    let mut bad = image(SIM_MAC);
    bad[CHECKSUM_WORD] ^= 1;
    soc.set_eeprom(Some(&bad));
    assert_eq!(
        eeprom::read_all(&mut soc),
        Err(EepromError::BadChecksum { sum: 0xBABA ^ 1 })
    );
    assert_eq!(
        eeprom::read(&mut soc, 60, 5),
        Err(EepromError::BadAddress(64))
    );
    soc.set_eeprom(None);
    assert_eq!(soc.read32(reg(hw::EECD)) & eecd::PRES, 0);
    assert_eq!(eeprom::read_all(&mut soc), Err(EepromError::NotPresent));
}
