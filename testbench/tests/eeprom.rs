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

/// Linux 6.1's e1000 EEPROM code for an 82540 (microwire, 64 words), transcribed step by step
/// from `e1000_hw.c` (acquire, shift out, shift in, standby, release), with its
/// read-modify-write of EECD (the read-only bits go back in), `E1000_WRITE_FLUSH` (a STATUS
/// read) and `udelay` (a few cycles here): a different sequence from `driver::eeprom`'s, the
/// one the guest will run.
struct LinuxEeprom<'a> {
    soc: &'a mut sim::Soc,
}

impl LinuxEeprom<'_> {
    fn er32(&mut self) -> u32 {
        self.soc.read32(reg(hw::EECD))
    }
    fn ew32(&mut self, v: u32) {
        self.soc.write32(reg(hw::EECD), v);
    }
    fn flush_delay(&mut self) {
        self.soc.read32(reg(hw::STATUS));
        self.soc.advance(10);
    }
    fn raise_clk(&mut self, eecd: &mut u32) {
        *eecd |= eecd::SK;
        self.ew32(*eecd);
        self.flush_delay();
    }
    fn lower_clk(&mut self, eecd: &mut u32) {
        *eecd &= !eecd::SK;
        self.ew32(*eecd);
        self.flush_delay();
    }
    fn acquire(&mut self) {
        let mut eecd = self.er32();
        eecd |= eecd::REQ;
        self.ew32(eecd);
        eecd = self.er32();
        assert_ne!(eecd & eecd::GNT, 0, "EE_GNT");
        eecd &= !(eecd::DI | eecd::SK);
        self.ew32(eecd);
        eecd |= eecd::CS;
        self.ew32(eecd);
    }
    fn shift_out(&mut self, data: u16, count: u32) {
        let mut eecd = self.er32() & !eecd::DO;
        for i in (0..count).rev() {
            eecd &= !eecd::DI;
            if data >> i & 1 != 0 {
                eecd |= eecd::DI;
            }
            self.ew32(eecd);
            self.flush_delay();
            self.raise_clk(&mut eecd);
            self.lower_clk(&mut eecd);
        }
        eecd &= !eecd::DI;
        self.ew32(eecd);
    }
    fn shift_in(&mut self, count: u32) -> u16 {
        let mut eecd = self.er32() & !(eecd::DO | eecd::DI);
        let mut data = 0u16;
        for _ in 0..count {
            data <<= 1;
            self.raise_clk(&mut eecd);
            eecd = self.er32() & !eecd::DI;
            if eecd & eecd::DO != 0 {
                data |= 1;
            }
            self.lower_clk(&mut eecd);
        }
        data
    }
    fn standby(&mut self) {
        let mut eecd = self.er32();
        eecd &= !(eecd::CS | eecd::SK);
        self.ew32(eecd);
        self.flush_delay();
        eecd |= eecd::SK; // clock high
        self.ew32(eecd);
        self.flush_delay();
        eecd |= eecd::CS; // select
        self.ew32(eecd);
        self.flush_delay();
        eecd &= !eecd::SK; // clock low
        self.ew32(eecd);
        self.flush_delay();
    }
    fn release(&mut self) {
        let mut eecd = self.er32();
        eecd &= !(eecd::CS | eecd::DI);
        self.ew32(eecd);
        eecd |= eecd::SK;
        self.ew32(eecd);
        self.flush_delay();
        eecd &= !eecd::SK;
        self.ew32(eecd);
        self.flush_delay();
        eecd &= !eecd::REQ;
        self.ew32(eecd);
    }
    /// `e1000_read_eeprom(hw, offset, 1, &word)`: acquire, one READ, standby, release.
    fn read_word(&mut self, offset: u16) -> u16 {
        self.acquire();
        self.shift_out(0x6, 3);
        self.shift_out(offset, 6);
        let w = self.shift_in(16);
        self.standby();
        self.release();
        w
    }
}

#[test]
fn linux_e1000s_own_eecd_sequence_reads_every_word_and_validates_the_checksum() {
    let mut soc = new_soc();
    let want = image(SIM_MAC);
    let mut linux = LinuxEeprom { soc: &mut soc };
    // e1000_validate_eeprom_checksum: words 0..=0x3F one call each, summed.
    let words: Vec<u16> = (0..WORDS as u16).map(|i| linux.read_word(i)).collect();
    assert_eq!(words, want.to_vec());
    assert_eq!(words.iter().fold(0u16, |s, &w| s.wrapping_add(w)), 0xBABA);
    // e1000_read_mac_addr: words 0-2 again, low byte first.
    let mac: Vec<u8> = (0..3)
        .flat_map(|i| linux.read_word(i).to_le_bytes())
        .collect();
    assert_eq!(mac, SIM_MAC.to_vec());
    // The driver's own reader afterwards still works: nothing was left selected or requested.
    assert_eq!(
        soc.read32(reg(hw::EECD)) & (eecd::CS | eecd::REQ | eecd::SK),
        0
    );
    assert_eq!(
        eeprom::read(&mut soc, 0, 3).expect("words 0-2"),
        want[..3].to_vec()
    );
}
