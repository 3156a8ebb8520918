//! The register-file cells the blocks build their statistics from: a counter and a
//! longest-run counter, used in arrays (docs/soc.md, "Counters"); and [`RegPort`], the host
//! side every register block takes from the SoC's address decode.
//!
//! ```text
//!           ┌─────────┐                    ┌─────────────┐
//!  inc   ──►│ Counter ├──► value    run ──►│ LongestRun  ├──► value (longest run of
//!  clear ──►│ & mask  │           clear ──►│ & mask      │    consecutive `run` cycles)
//!           └─────────┘                    └─────────────┘
//! ```
//!
//! Both count from the last `clear` (the counter is 0 in the cycle after it) and wrap at
//! `counter_max` + 1 (the build's counter width, `regs::SocConfig::counter_bits`): the next
//! value is ANDed with the mask, so in a narrow build the flip-flops above the width have a
//! constant input and synthesis removes them with their adder bits; the bits above read 0.

use rust_hdl::prelude::*;

/// A register block's host side, declared once for every register block (each DMAC channel's,
/// the arbiter's, SYS, the IOMMU's, the NIC's), with the width of its window's offsets as `T`.
/// An access is taken in the cycle `sel` is high: `we` writes the whole word `wdata` at
/// `offset`; a read returns its word on `rdata` in the next cycle (the blocks register it) and
/// `rdata` holds it until the next read. Unimplemented offsets read 0 and ignore writes.
#[derive(Clone, Debug, Default, LogicInterface)]
pub struct RegPort<T: Synth> {
    /// This block's window is addressed this cycle.
    pub sel: Signal<In, Bit>,
    /// Byte offset inside the window.
    pub offset: Signal<In, T>,
    pub we: Signal<In, Bit>,
    pub wdata: Signal<In, Bits<32>>,
    pub rdata: Signal<Out, Bits<32>>,
}

fn mask(counter_max: u32) -> Constant<Bits<32>> {
    assert!(
        counter_max.wrapping_add(1).is_power_of_two() || counter_max == u32::MAX,
        "counter_max must be 2^n - 1"
    );
    Constant::new((counter_max as u64).into())
}

/// Counts the cycles with `inc` high.
#[derive(LogicBlock)]
pub struct Counter {
    pub clock: Signal<In, Clock>,
    pub inc: Signal<In, Bit>,
    pub clear: Signal<In, Bit>,
    pub value: Signal<Out, Bits<32>>,
    count: DFF<Bits<32>>,
    mask: Constant<Bits<32>>,
}

impl Counter {
    pub fn new(counter_max: u32) -> Self {
        Self {
            clock: Default::default(),
            inc: Default::default(),
            clear: Default::default(),
            value: Default::default(),
            count: Default::default(),
            mask: mask(counter_max),
        }
    }
}

impl Default for Counter {
    fn default() -> Self {
        Self::new(u32::MAX)
    }
}

impl Logic for Counter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, count);
        self.value.next = self.count.q.val();
        if self.clear.val() {
            self.count.d.next = 0.into();
        } else if self.inc.val() {
            self.count.d.next = (self.count.q.val() + 1) & self.mask.val();
        }
    }
}

/// The longest run of consecutive cycles with `run` high.
#[derive(LogicBlock)]
pub struct LongestRun {
    pub clock: Signal<In, Clock>,
    pub run: Signal<In, Bit>,
    pub clear: Signal<In, Bit>,
    pub value: Signal<Out, Bits<32>>,
    current: DFF<Bits<32>>,
    longest: DFF<Bits<32>>,
    next_run: Signal<Local, Bits<32>>,
    mask: Constant<Bits<32>>,
}

impl LongestRun {
    pub fn new(counter_max: u32) -> Self {
        Self {
            clock: Default::default(),
            run: Default::default(),
            clear: Default::default(),
            value: Default::default(),
            current: Default::default(),
            longest: Default::default(),
            next_run: Default::default(),
            mask: mask(counter_max),
        }
    }
}

impl Default for LongestRun {
    fn default() -> Self {
        Self::new(u32::MAX)
    }
}

impl Logic for LongestRun {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, current, longest);
        self.value.next = self.longest.q.val();
        self.next_run.next = (self.current.q.val() + 1) & self.mask.val();
        if self.clear.val() {
            self.current.d.next = 0.into();
            self.longest.d.next = 0.into();
        } else if self.run.val() {
            self.current.d.next = self.next_run.val();
            if self.next_run.val() > self.longest.q.val() {
                self.longest.d.next = self.next_run.val();
            }
        } else {
            self.current.d.next = 0.into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};
    use rand::{Rng, SeedableRng};

    #[test]
    fn counters_count_clear_and_wrap_at_their_width() {
        for max in [u32::MAX, 15] {
            let mut c = Counter::new(max);
            let mut r = LongestRun::new(max);
            c.connect_all();
            r.connect_all();
            let mut rng = rand::rngs::StdRng::seed_from_u64(7);
            let (mut count, mut run, mut longest) = (0u64, 0u64, 0u64);
            for cycle in 0..3000 {
                let inc = rng.gen_bool(0.7);
                let clear = rng.gen_bool(0.002);
                c.inc.next = inc;
                c.clear.next = clear;
                r.run.next = inc;
                r.clear.next = clear;
                settle(&mut c);
                settle(&mut r);
                assert_eq!(c.value.val().index() as u64, count, "cycle {cycle}");
                assert_eq!(r.value.val().index() as u64, longest, "cycle {cycle}");
                let m = max as u64;
                if clear {
                    (count, run, longest) = (0, 0, 0);
                } else {
                    if inc {
                        count = (count + 1) & m;
                        run = (run + 1) & m;
                        longest = longest.max(run);
                    } else {
                        run = 0;
                    }
                }
                clock_edge(&mut c, |c| &mut c.clock);
                clock_edge(&mut r, |r| &mut r.clock);
            }
        }
    }
}
