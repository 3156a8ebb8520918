//! A small memory with one synchronous write port and one asynchronous (combinational) read
//! port: the storage of the NIC's frame queues (docs/nic.md, "FIFOs and frame queues").
//!
//! ```text
//!  write_enable, write_address, write_data ──► ┌────────────────┐
//!                              (clock edge)    │ `depth` words  ├──► read_data = mem[read_address]
//!  read_address ──────────────────────────────►└────────────────┘     (same cycle)
//! ```
//!
//! Why not registers: a block of `DFF`s written by index costs a comparator and a copy per
//! entry per cycle in every simulator, and in Verilator that was the largest part of a frame
//! queue's cost per simulated cycle. As a Verilog memory (`reg [W-1:0] mem [0:depth-1]`) a
//! write is one indexed store and a read one indexed load. Synthesis maps it to distributed
//! RAM where the FPGA has it (ECP5: `TRELLIS_DPR16X4`) and to flip-flops and a read
//! multiplexer where it does not (iCE40), which is what the registers were.
//!
//! A write to an address at or above `depth` is ignored and a read there gives 0; the users
//! never form one (their pointers wrap at `depth - 1`). A read of the address being written in
//! the same cycle gives the old word; the new one from the next cycle on.

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct LutRam<T: Synth, const A: usize> {
    pub clock: Signal<In, Clock>,
    pub write_enable: Signal<In, Bit>,
    pub write_address: Signal<In, Bits<A>>,
    pub write_data: Signal<In, T>,
    pub read_address: Signal<In, Bits<A>>,
    pub read_data: Signal<Out, T>,
    /// The words, for rust-hdl's simulator (the Verilog has its own array).
    _mem: Vec<T>,
}

impl<T: Synth, const A: usize> LutRam<T, A> {
    /// `depth` words (1 to 2^A), all 0 at the start.
    pub fn new(depth: usize) -> Self {
        assert!(
            (1..=1usize << A).contains(&depth),
            "LUT RAM depth {depth}: 1 to 2^{A}"
        );
        Self {
            clock: Default::default(),
            write_enable: Default::default(),
            write_address: Default::default(),
            write_data: Default::default(),
            read_address: Default::default(),
            read_data: Default::default(),
            _mem: vec![T::default(); depth],
        }
    }
}

impl<T: Synth, const A: usize> Logic for LutRam<T, A> {
    fn update(&mut self) {
        if self.clock.pos_edge() && self.write_enable.val() {
            if let Some(word) = self._mem.get_mut(self.write_address.val().index()) {
                *word = self.write_data.val();
            }
        }
        self.read_data.next = self
            ._mem
            .get(self.read_address.val().index())
            .copied()
            .unwrap_or_default();
    }

    fn connect(&mut self) {
        self.read_data.connect();
    }

    fn hdl(&self) -> Verilog {
        let depth = self._mem.len();
        // The full-range guard is left out when every address exists (Verilator would flag
        // the constant-true compare).
        let (wguard, read) = if depth == 1 << A {
            (String::new(), "mem[read_address]".to_string())
        } else {
            (
                format!(" && write_address < {depth}"),
                format!(
                    "(read_address < {depth}) ? mem[read_address] : {}'d0",
                    T::BITS
                ),
            )
        };
        Verilog::Custom(format!(
            "\
reg [{msb}:0] mem [0:{last}];
integer i;
initial begin
   for (i = 0; i < {depth}; i = i + 1) mem[i] = {bits}'d0;
end

always @(posedge clock) begin
   if (write_enable{wguard}) mem[write_address] <= write_data;
end

always @(*) begin
   read_data = {read};
end
",
            msb = T::BITS - 1,
            last = depth - 1,
            bits = T::BITS,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};

    #[test]
    fn writes_at_the_edge_and_reads_in_the_same_cycle() {
        let mut ram = LutRam::<Bits<8>, 3>::new(5);
        ram.connect_all();
        let write = |ram: &mut LutRam<Bits<8>, 3>, addr: u64, data: u64| {
            ram.write_enable.next = true;
            ram.write_address.next = addr.into();
            ram.write_data.next = data.into();
            ram.read_address.next = addr.into();
            settle(ram);
            let before = ram.read_data.val();
            clock_edge(ram, |r| &mut r.clock);
            ram.write_enable.next = false;
            settle(ram);
            (before.index(), ram.read_data.val().index())
        };
        assert_eq!(write(&mut ram, 2, 0xAB), (0, 0xAB));
        assert_eq!(write(&mut ram, 2, 0xCD), (0xAB, 0xCD));
        // Beyond the depth: ignored, reads 0.
        assert_eq!(write(&mut ram, 6, 0xEE), (0, 0));
        ram.read_address.next = 2.into();
        settle(&mut ram);
        assert_eq!(ram.read_data.val().index(), 0xCD);
    }

    #[test]
    fn the_verilog_is_a_memory_with_a_guard_only_when_the_depth_is_short() {
        let full = LutRam::<Bits<40>, 5>::new(32).hdl();
        let short = LutRam::<Bits<40>, 5>::new(4).hdl();
        let text = |v: Verilog| match v {
            Verilog::Custom(s) => s,
            _ => panic!("not custom Verilog"),
        };
        let (full, short) = (text(full), text(short));
        assert!(full.contains("reg [39:0] mem [0:31];"), "{full}");
        assert!(!full.contains("write_address <"), "{full}");
        assert!(short.contains("reg [39:0] mem [0:3];"), "{short}");
        assert!(short.contains("write_address < 4"), "{short}");
    }
}
