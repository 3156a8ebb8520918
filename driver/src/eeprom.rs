//! The card's EEPROM through the NIC's EECD register (`regs::nic::eecd`): a 93C46-style
//! microwire part of 64 16-bit words, bit-banged as an 8254x driver does on an 82540 (Linux's
//! e1000 reads it this way, with no EERD). Words 0–2 hold the MAC address; the sum of all 64
//! words is 0xBABA (`regs::eeprom`).
//!
//! Each bit is a write of EECD with DI set up and SK low, then SK high (the part samples DI and
//! drives DO at that rising edge), then a read of DO, then SK low. A word costs 1 + 2 + 6 + 16
//! such clocks.
//!
//! ```no_run
//! # fn demo(dev: &mut dyn driver::Device) -> Result<(), driver::eeprom::EepromError> {
//! let words = driver::eeprom::read_all(dev)?;
//! let mac = driver::eeprom::mac_address(&words)?;
//! # Ok(()) }
//! ```

use crate::Device;
use regs::eeprom::{CHECKSUM, WORDS};
use regs::nic::{self, eecd};
use std::fmt;

/// Reads of EECD the driver waits for EE_GNT before it gives up.
pub const GRANT_POLLS: u32 = 1000;

/// Cycles between raising SK and reading DO: the part drives DO after SK's rising edge, and
/// the NIC takes DO through two flip-flops. 8 cycles suit the simulation's model (no delay of
/// its own). A real 93C46 needs about 250 ns to 1 µs from SK to DO and hundreds of ns of SK
/// high and low: Linux waits 50 µs at each step, and a driver for a board with a real part
/// must too (none of this project's boards has one).
pub const SETTLE_CYCLES: u64 = 8;

/// Why the EEPROM could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EepromError {
    /// EECD.EE_PRES is 0: no EEPROM on this card.
    NotPresent,
    /// EE_GNT never followed EE_REQ.
    NotGranted,
    /// A word address outside the part.
    BadAddress(usize),
    /// The 64 words do not sum to 0xBABA.
    BadChecksum { sum: u16 },
}

impl fmt::Display for EepromError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EepromError::NotPresent => write!(f, "no EEPROM (EECD.EE_PRES is 0)"),
            EepromError::NotGranted => {
                write!(
                    f,
                    "EECD.EE_GNT did not follow EE_REQ in {GRANT_POLLS} reads"
                )
            }
            EepromError::BadAddress(a) => write!(f, "EEPROM word {a} is beyond its {WORDS}"),
            EepromError::BadChecksum { sum } => write!(
                f,
                "EEPROM checksum {sum:#06x}, not {CHECKSUM:#06x}: the EEPROM is not valid"
            ),
        }
    }
}

impl std::error::Error for EepromError {}

fn addr() -> u32 {
    crate::nic::reg(nic::EECD)
}

/// The EEPROM's pins through EECD, with EE_REQ held while it is owned.
struct Bus<'a> {
    dev: &'a mut dyn Device,
    eecd: u32,
}

impl Bus<'_> {
    fn set(&mut self, v: u32) {
        self.eecd = v;
        self.dev.write32(addr(), v);
    }

    /// One clock: DI set up with SK low, SK high, DO read, SK low.
    fn clock(&mut self, di: bool) -> bool {
        let base = (self.eecd & !(eecd::SK | eecd::DI)) | if di { eecd::DI } else { 0 };
        self.set(base);
        self.set(base | eecd::SK);
        self.dev.advance(SETTLE_CYCLES);
        let d = self.dev.read32(addr()) & eecd::DO != 0;
        self.set(base);
        d
    }

    fn shift_out(&mut self, value: u32, bits: u32) {
        for i in (0..bits).rev() {
            self.clock(value >> i & 1 != 0);
        }
    }

    fn shift_in(&mut self, bits: u32) -> u32 {
        (0..bits).fold(0, |acc, _| acc << 1 | self.clock(false) as u32)
    }

    /// CS low for a moment ends a command (the part's standby).
    fn standby(&mut self) {
        let v = self.eecd & !(eecd::CS | eecd::SK | eecd::DI);
        self.set(v);
        self.set(v | eecd::CS);
    }
}

/// Takes the EEPROM (EE_REQ until EE_GNT, then CS), runs `f`, and gives it back.
fn with_bus<T>(
    dev: &mut dyn Device,
    f: impl FnOnce(&mut Bus) -> Result<T, EepromError>,
) -> Result<T, EepromError> {
    let v = dev.read32(addr());
    if v & eecd::PRES == 0 {
        return Err(EepromError::NotPresent);
    }
    let keep = v & eecd::FWE_MASK;
    dev.write32(addr(), keep | eecd::REQ);
    if !(0..GRANT_POLLS).any(|_| dev.read32(addr()) & eecd::GNT != 0) {
        dev.write32(addr(), keep);
        return Err(EepromError::NotGranted);
    }
    let mut bus = Bus {
        dev,
        eecd: keep | eecd::REQ,
    };
    bus.set(keep | eecd::REQ | eecd::CS);
    let out = f(&mut bus);
    bus.set(keep | eecd::REQ);
    bus.set(keep);
    out
}

/// Reads `n` words from `start`, one READ command each (as Linux does on a microwire part).
pub fn read(dev: &mut dyn Device, start: usize, n: usize) -> Result<Vec<u16>, EepromError> {
    if start + n > WORDS {
        return Err(EepromError::BadAddress(start + n - 1));
    }
    with_bus(dev, |bus| {
        let mut words = Vec::with_capacity(n);
        for a in start..start + n {
            bus.shift_out(regs::eeprom::READ_OPCODE, regs::eeprom::OPCODE_BITS);
            bus.shift_out(a as u32, regs::eeprom::ADDRESS_BITS);
            words.push(bus.shift_in(16) as u16);
            bus.standby();
        }
        Ok(words)
    })
}

/// The whole part, checked: its words sum to 0xBABA.
pub fn read_all(dev: &mut dyn Device) -> Result<Vec<u16>, EepromError> {
    let words = read(dev, 0, WORDS)?;
    let sum = words.iter().fold(0u16, |s, &w| s.wrapping_add(w));
    if sum != CHECKSUM {
        return Err(EepromError::BadChecksum { sum });
    }
    Ok(words)
}

/// The MAC address in words 0–2 (each word's low byte first), as the 8254x keeps it.
pub fn mac_address(words: &[u16]) -> Result<[u8; 6], EepromError> {
    if words.len() < 3 {
        return Err(EepromError::BadAddress(2));
    }
    let mut mac = [0u8; 6];
    for (i, w) in words[..3].iter().enumerate() {
        mac[2 * i..2 * i + 2].copy_from_slice(&w.to_le_bytes());
    }
    Ok(mac)
}
