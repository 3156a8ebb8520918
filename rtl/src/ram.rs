//! Host RAM: single port, 32-bit words, byte enables, registered read (data one cycle after
//! the address), `2^A` words.
//!
//! ```text
//!            ┌────────────┐
//!  addr[A] ─►│            │
//!  wdata   ─►│  4 byte    ├─► rdata   (mem[addr] of the previous cycle)
//!  be[4]   ─►│  lanes     │
//!  we      ─►│            │
//!  clock   ─►│            │
//!            └────────────┘
//! ```
//! Four 8-bit lanes of rust-hdl's `RAM` make the byte enables: yosys maps each lane to block
//! RAM on the iCE40, Verilator to a plain array.

use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct ByteRam<const A: usize> {
    pub clock: Signal<In, Clock>,
    pub addr: Signal<In, Bits<A>>,
    pub wdata: Signal<In, Bits<32>>,
    pub be: Signal<In, Bits<4>>,
    pub we: Signal<In, Bit>,
    pub rdata: Signal<Out, Bits<32>>,
    lane0: RAM<Bits<8>, A>,
    lane1: RAM<Bits<8>, A>,
    lane2: RAM<Bits<8>, A>,
    lane3: RAM<Bits<8>, A>,
}

impl<const A: usize> Logic for ByteRam<A> {
    #[hdl_gen]
    fn update(&mut self) {
        self.lane0.read_clock.next = self.clock.val();
        self.lane1.read_clock.next = self.clock.val();
        self.lane2.read_clock.next = self.clock.val();
        self.lane3.read_clock.next = self.clock.val();
        self.lane0.write_clock.next = self.clock.val();
        self.lane1.write_clock.next = self.clock.val();
        self.lane2.write_clock.next = self.clock.val();
        self.lane3.write_clock.next = self.clock.val();
        self.lane0.read_address.next = self.addr.val();
        self.lane1.read_address.next = self.addr.val();
        self.lane2.read_address.next = self.addr.val();
        self.lane3.read_address.next = self.addr.val();
        self.lane0.write_address.next = self.addr.val();
        self.lane1.write_address.next = self.addr.val();
        self.lane2.write_address.next = self.addr.val();
        self.lane3.write_address.next = self.addr.val();
        self.lane0.write_data.next = self.wdata.val().get_bits::<8>(0);
        self.lane1.write_data.next = self.wdata.val().get_bits::<8>(8);
        self.lane2.write_data.next = self.wdata.val().get_bits::<8>(16);
        self.lane3.write_data.next = self.wdata.val().get_bits::<8>(24);
        self.lane0.write_enable.next = self.we.val() & self.be.val().get_bit(0);
        self.lane1.write_enable.next = self.we.val() & self.be.val().get_bit(1);
        self.lane2.write_enable.next = self.we.val() & self.be.val().get_bit(2);
        self.lane3.write_enable.next = self.we.val() & self.be.val().get_bit(3);
        self.rdata.next = bit_cast::<32, 8>(self.lane0.read_data.val())
            | (bit_cast::<32, 8>(self.lane1.read_data.val()) << 8)
            | (bit_cast::<32, 8>(self.lane2.read_data.val()) << 16)
            | (bit_cast::<32, 8>(self.lane3.read_data.val()) << 24);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};
    use rand::{Rng, SeedableRng};

    #[test]
    fn byte_enables_write_only_their_lanes_and_reads_lag_one_cycle() {
        let mut ram = ByteRam::<6>::default();
        ram.connect_all();
        let mut model = [0u32; 64];
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut expect_next: Option<u32> = None;
        for _ in 0..2000 {
            let addr = rng.gen_range(0..64u64);
            let we = rng.gen_bool(0.5);
            let be = rng.gen_range(0..16u64);
            let data: u32 = rng.gen();
            ram.addr.next = addr.into();
            ram.we.next = we;
            ram.be.next = be.into();
            ram.wdata.next = (data as u64).into();
            settle(&mut ram);
            if let Some(e) = expect_next.take() {
                assert_eq!(ram.rdata.val().to_u64() as u32, e);
            }
            expect_next = Some(model[addr as usize]);
            if we {
                let mask = (0..4)
                    .filter(|i| be & (1 << i) != 0)
                    .fold(0u32, |m, i| m | 0xFF << (8 * i));
                model[addr as usize] = (model[addr as usize] & !mask) | (data & mask);
            }
            clock_edge(&mut ram, |r| &mut r.clock);
        }
    }
}
