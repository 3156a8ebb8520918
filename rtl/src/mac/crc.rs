//! One byte step of the Ethernet FCS (CRC-32, IEEE 802.3), combinational.
//!
//! ```text
//!                ┌──────────────┐
//!  crc_in[32] ──►│  8 LFSR bit  ├──► crc_out[32]   (same cycle)
//!  data[8]    ──►│  steps       │
//!                └──────────────┘
//! ```
//!
//! The register runs reflected (polynomial 0xEDB88320), bit 0 of `data` first, as the bits go
//! on the wire. The user loads [`CRC_INIT`] before the first byte and holds the register in a
//! DFF; `crc_out` is the register after `data`.
//!
//! * **Sending**: the FCS is the complement of the register after the last byte, sent least
//!   significant byte first.
//! * **Checking**: running the register over the frame *and* its FCS leaves [`CRC_RESIDUE`]
//!   when the frame is intact.
//!
//! ```text
//! let mut crc = CRC_INIT;  for b in frame { crc = step(crc, b) }  fcs = !crc  (le bytes)
//! ```

use rust_hdl::prelude::*;

/// The register value before the first byte of a frame.
pub const CRC_INIT: u32 = 0xFFFF_FFFF;
/// The register value after a frame and its correct FCS (before any final complement).
pub const CRC_RESIDUE: u32 = 0xDEBB_20E3;
/// The Ethernet generator polynomial 0x04C11DB7, bit-reversed for the LSB-first register.
pub const CRC_POLY_REFLECTED: u32 = 0xEDB8_8320;

#[derive(LogicBlock)]
pub struct Crc32Byte {
    pub crc_in: Signal<In, Bits<32>>,
    pub data: Signal<In, Bits<8>>,
    pub crc_out: Signal<Out, Bits<32>>,
    poly: Constant<Bits<32>>,
    /// The register after data bits 0..=k-1.
    after_bit1: Signal<Local, Bits<32>>,
    after_bit2: Signal<Local, Bits<32>>,
    after_bit3: Signal<Local, Bits<32>>,
    after_bit4: Signal<Local, Bits<32>>,
    after_bit5: Signal<Local, Bits<32>>,
    after_bit6: Signal<Local, Bits<32>>,
    after_bit7: Signal<Local, Bits<32>>,
}

impl Default for Crc32Byte {
    fn default() -> Self {
        Self {
            crc_in: Default::default(),
            data: Default::default(),
            crc_out: Default::default(),
            poly: Constant::new((CRC_POLY_REFLECTED as u64).into()),
            after_bit1: Default::default(),
            after_bit2: Default::default(),
            after_bit3: Default::default(),
            after_bit4: Default::default(),
            after_bit5: Default::default(),
            after_bit6: Default::default(),
            after_bit7: Default::default(),
        }
    }
}

impl Logic for Crc32Byte {
    #[hdl_gen]
    fn update(&mut self) {
        // Each bit step: shift right; fold the polynomial in when the bit shifted out differs
        // from the data bit going in.
        self.after_bit1.next = self.crc_in.val() >> 1;
        if self.crc_in.val().get_bit(0) ^ self.data.val().get_bit(0) {
            self.after_bit1.next = (self.crc_in.val() >> 1) ^ self.poly.val();
        }
        self.after_bit2.next = self.after_bit1.val() >> 1;
        if self.after_bit1.val().get_bit(0) ^ self.data.val().get_bit(1) {
            self.after_bit2.next = (self.after_bit1.val() >> 1) ^ self.poly.val();
        }
        self.after_bit3.next = self.after_bit2.val() >> 1;
        if self.after_bit2.val().get_bit(0) ^ self.data.val().get_bit(2) {
            self.after_bit3.next = (self.after_bit2.val() >> 1) ^ self.poly.val();
        }
        self.after_bit4.next = self.after_bit3.val() >> 1;
        if self.after_bit3.val().get_bit(0) ^ self.data.val().get_bit(3) {
            self.after_bit4.next = (self.after_bit3.val() >> 1) ^ self.poly.val();
        }
        self.after_bit5.next = self.after_bit4.val() >> 1;
        if self.after_bit4.val().get_bit(0) ^ self.data.val().get_bit(4) {
            self.after_bit5.next = (self.after_bit4.val() >> 1) ^ self.poly.val();
        }
        self.after_bit6.next = self.after_bit5.val() >> 1;
        if self.after_bit5.val().get_bit(0) ^ self.data.val().get_bit(5) {
            self.after_bit6.next = (self.after_bit5.val() >> 1) ^ self.poly.val();
        }
        self.after_bit7.next = self.after_bit6.val() >> 1;
        if self.after_bit6.val().get_bit(0) ^ self.data.val().get_bit(6) {
            self.after_bit7.next = (self.after_bit6.val() >> 1) ^ self.poly.val();
        }
        self.crc_out.next = self.after_bit7.val() >> 1;
        if self.after_bit7.val().get_bit(0) ^ self.data.val().get_bit(7) {
            self.crc_out.next = (self.after_bit7.val() >> 1) ^ self.poly.val();
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testing::settle;
    use rand::{Rng, SeedableRng};

    /// The reference FCS of `frame`, from the `crc` crate: the 4 bytes to append, in wire order.
    pub(crate) fn reference_fcs(frame: &[u8]) -> [u8; 4] {
        crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC)
            .checksum(frame)
            .to_le_bytes()
    }

    /// Run the hardware byte step over `bytes` from `start`.
    fn run(uut: &mut Crc32Byte, start: u32, bytes: &[u8]) -> u32 {
        let mut crc = start;
        for &b in bytes {
            uut.crc_in.next = (crc as u64).into();
            uut.data.next = (b as u64).into();
            settle(uut);
            crc = uut.crc_out.val().to_u32();
        }
        crc
    }

    fn uut() -> Crc32Byte {
        let mut uut = Crc32Byte::default();
        uut.connect_all();
        uut
    }

    #[test]
    fn crc_of_123456789_is_the_check_value() {
        let mut uut = uut();
        assert_eq!(!run(&mut uut, CRC_INIT, b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn crc_matches_the_crc_crate_on_random_data() {
        let mut uut = uut();
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for _ in 0..200 {
            let len = rng.gen_range(0..300);
            let frame: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            let fcs = !run(&mut uut, CRC_INIT, &frame);
            assert_eq!(
                fcs.to_le_bytes(),
                reference_fcs(&frame),
                "frame {frame:02x?}"
            );
        }
    }

    #[test]
    fn frame_plus_fcs_leaves_the_residue_and_a_flipped_bit_does_not() {
        let mut uut = uut();
        let mut rng = rand::rngs::StdRng::seed_from_u64(12);
        for _ in 0..100 {
            let len = rng.gen_range(1..200);
            let mut frame: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            frame.extend_from_slice(&reference_fcs(&frame));
            assert_eq!(run(&mut uut, CRC_INIT, &frame), CRC_RESIDUE);
            let bit = rng.gen_range(0..8 * frame.len());
            frame[bit / 8] ^= 1 << (bit % 8);
            assert_ne!(run(&mut uut, CRC_INIT, &frame), CRC_RESIDUE);
        }
    }

    #[test]
    fn crc_generates_verilog() {
        let v = generate_verilog(&uut());
        assert!(v.contains("module top"));
    }
}
