//! Byte-addressed FIFO storage with a 4-byte write port and a 4-byte read port, each at any
//! byte position: the TX and RX FIFOs between the ring DMA engines and the MAC.
//!
//! ```text
//!  wr_pos[16] ──►┌──────────────────────────┐
//!  wr_data[32]──►│ 4 byte lanes (RAM 2^W),  │
//!  wr_mask[4] ──►│ lane l holds the bytes   ├──► rd_data[32] = bytes rd_pos..rd_pos+3
//!  rd_pos[16] ──►│ whose position is l mod 4│    of the previous cycle (registered)
//!  clock      ──►└──────────────────────────┘
//! ```
//!
//! Byte `k` of `wr_data` goes to position `wr_pos + k` when `wr_mask` bit `k` is set; byte `k`
//! of `rd_data` is the byte at `rd_pos + k` (as addressed in the previous cycle). Positions wrap
//! at `4 · 2^W` bytes. Any four consecutive positions fall in four different lanes, so one word
//! at any alignment is written or read in one cycle: the DMA side moves a word per cycle while
//! the MAC side moves a byte per cycle (its data in byte 0).
//!
//! Each lane's address is the word of `wr_pos` (or `rd_pos`), plus one for the lanes below the
//! position's byte offset; the data is rotated into lane order on the way in and out of lane
//! order on the way out. yosys maps each lane to iCE40 block RAM; Verilator to an array.

use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct LaneBuffer<const W: usize> {
    pub clock: Signal<In, Clock>,
    pub wr_pos: Signal<In, Bits<16>>,
    pub wr_data: Signal<In, Bits<32>>,
    pub wr_mask: Signal<In, Bits<4>>,
    pub rd_pos: Signal<In, Bits<16>>,
    pub rd_data: Signal<Out, Bits<32>>,
    lane: [RAM<Bits<8>, W>; 4],
    /// Byte offset of the read position of the previous cycle (for the output rotation).
    rd_off: DFF<Bits<2>>,
    wr_off: Signal<Local, Bits<2>>,
    wr_word: Signal<Local, Bits<W>>,
    rd_word: Signal<Local, Bits<W>>,
    wr_rot: Signal<Local, Bits<32>>,
    wr_mask_rot: Signal<Local, Bits<4>>,
    lanes_read: Signal<Local, Bits<32>>,
}

impl<const W: usize> Logic for LaneBuffer<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, rd_off);
        for l in 0..4 {
            self.lane[l].read_clock.next = self.clock.val();
            self.lane[l].write_clock.next = self.clock.val();
        }
        // ---- write: rotate byte k to lane (wr_pos + k) mod 4 ----
        self.wr_off.next = self.wr_pos.val().get_bits::<2>(0);
        self.wr_word.next = self.wr_pos.val().get_bits::<W>(2);
        self.wr_rot.next = self.wr_data.val();
        self.wr_mask_rot.next = self.wr_mask.val();
        if self.wr_off.val() == 1 {
            self.wr_rot.next = (self.wr_data.val() << 8) | (self.wr_data.val() >> 24);
            self.wr_mask_rot.next = (self.wr_mask.val() << 1) | (self.wr_mask.val() >> 3);
        }
        if self.wr_off.val() == 2 {
            self.wr_rot.next = (self.wr_data.val() << 16) | (self.wr_data.val() >> 16);
            self.wr_mask_rot.next = (self.wr_mask.val() << 2) | (self.wr_mask.val() >> 2);
        }
        if self.wr_off.val() == 3 {
            self.wr_rot.next = (self.wr_data.val() << 24) | (self.wr_data.val() >> 8);
            self.wr_mask_rot.next = (self.wr_mask.val() << 3) | (self.wr_mask.val() >> 1);
        }
        for l in 0..4 {
            if self.wr_off.val().index() > l {
                self.lane[l].write_address.next = self.wr_word.val() + 1;
            } else {
                self.lane[l].write_address.next = self.wr_word.val();
            }
            self.lane[l].write_data.next = self.wr_rot.val().get_bits::<8>(8 * l);
            self.lane[l].write_enable.next = self.wr_mask_rot.val().get_bit(l);
        }
        // ---- read: lane (rd_pos + k) mod 4 becomes byte k ----
        self.rd_off.d.next = self.rd_pos.val().get_bits::<2>(0);
        self.rd_word.next = self.rd_pos.val().get_bits::<W>(2);
        for l in 0..4 {
            if self.rd_pos.val().get_bits::<2>(0).index() > l {
                self.lane[l].read_address.next = self.rd_word.val() + 1;
            } else {
                self.lane[l].read_address.next = self.rd_word.val();
            }
        }
        self.lanes_read.next = bit_cast::<32, 8>(self.lane[0].read_data.val())
            | (bit_cast::<32, 8>(self.lane[1].read_data.val()) << 8)
            | (bit_cast::<32, 8>(self.lane[2].read_data.val()) << 16)
            | (bit_cast::<32, 8>(self.lane[3].read_data.val()) << 24);
        self.rd_data.next = self.lanes_read.val();
        if self.rd_off.q.val() == 1 {
            self.rd_data.next = (self.lanes_read.val() >> 8) | (self.lanes_read.val() << 24);
        }
        if self.rd_off.q.val() == 2 {
            self.rd_data.next = (self.lanes_read.val() >> 16) | (self.lanes_read.val() << 16);
        }
        if self.rd_off.q.val() == 3 {
            self.rd_data.next = (self.lanes_read.val() >> 24) | (self.lanes_read.val() << 8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};
    use rand::{Rng, SeedableRng};

    #[test]
    fn words_at_any_alignment_read_back_as_written() {
        const W: usize = 4; // 64 bytes
        let size = 4usize << W;
        let mut buf = LaneBuffer::<W>::default();
        buf.connect_all();
        let mut model = vec![0u8; size];
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut expect: Option<[u8; 4]> = None;
        for _ in 0..4000 {
            let wr_pos: u16 = rng.gen();
            let rd_pos: u16 = rng.gen();
            let data: u32 = rng.gen();
            let mask = rng.gen_range(0..16u64);
            buf.wr_pos.next = (wr_pos as u64).into();
            buf.wr_data.next = (data as u64).into();
            buf.wr_mask.next = mask.into();
            buf.rd_pos.next = (rd_pos as u64).into();
            settle(&mut buf);
            if let Some(e) = expect.take() {
                assert_eq!(buf.rd_data.val().to_u64() as u32, u32::from_le_bytes(e));
            }
            // Registered read: the data at this cycle's address. The NIC never reads a byte in
            // the cycle it is written, so those cycles are not checked.
            let read_set: Vec<usize> = (0..4).map(|k| (rd_pos as usize + k) % size).collect();
            let collides = (0..4).any(|j| {
                mask & (1 << j) != 0 && read_set.contains(&((wr_pos as usize + j) % size))
            });
            if !collides {
                expect = Some(std::array::from_fn(|k| model[read_set[k]]));
            }
            for k in 0..4 {
                if mask & (1 << k) != 0 {
                    model[(wr_pos as usize + k) % size] = data.to_le_bytes()[k];
                }
            }
            clock_edge(&mut buf, |b| &mut b.clock);
        }
    }

    #[test]
    fn generates_verilog() {
        let mut buf = LaneBuffer::<9>::default();
        buf.connect_all();
        let v = generate_verilog(&buf);
        assert!(v.contains("module top"));
    }
}
