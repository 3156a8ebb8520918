//! Bus arbiter between the host CPU port and the DMA side, with performance counters.
//!
//! ```text
//!                 ┌───────────────────────┐
//!  cpu_req     ──►│                       ├──► cpu_grant   (combinational: this cycle's beat)
//!  dma_req     ──►│  burst / cycle-steal  ├──► dma_grant
//!  dma_last    ──►│                       │
//!  cycle_steal ──►│                       ├──► counters[8]: total_cycles, cpu_req_cycles,
//!  burst_cap   ──►│                       │    cpu_stall_cycles, cpu_worst_wait, dma_beats,
//!  steal_bound ──►│                       │    dma_wait_cycles, idle_cycles, dma_longest_hold
//!  clear_counters►│                       │
//!                 └───────────────────────┘
//! ```
//!
//! One beat per cycle on one bus: each cycle at most one of the grants is high.
//!
//! **Burst mode** (`cycle_steal` low). A DMA burst, once started, keeps the bus until it has
//! `burst_cap` beats (0 = no cap, the 8237's block mode), until a beat flagged `dma_last` (the
//! DMA side's next address is in another 4 KiB page), or until the DMA side stops requesting.
//! Between bursts a waiting CPU gets one beat before the next burst starts; so the CPU waits
//! at most one burst, and the DMA at most one CPU beat per burst.
//!
//! **Cycle-steal mode** (`cycle_steal` high). The CPU has priority; the DMA side gets the cycles
//! the CPU leaves idle, one beat per grant. When the DMA has waited `steal_bound` cycles it takes
//! the next cycle even from a busy CPU, but never two cycles in a row from a waiting CPU, so a CPU
//! request waits at most one cycle. `steal_bound` = [`regs::arb::STEAL_NEVER`] never steals
//! (transparent mode: the DMA can starve).
//!
//! The counters are the register-file cells of `crate::regfile` (six `Counter`s, two
//! `LongestRun`s): they count from the last `clear_counters` pulse and wrap at the build's
//! counter width (`regs::SocConfig::counter_bits`: 32 bits in simulation). The arbitration
//! state (`burst_beats`, `dma_waited`) is not a counter and stays 32 bits.

use crate::regfile::{Counter, LongestRun};
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct Arbiter {
    pub clock: Signal<In, Clock>,
    pub cpu_req: Signal<In, Bit>,
    pub dma_req: Signal<In, Bit>,
    /// This DMA beat is the last one before the DMA side crosses a 4 KiB boundary.
    pub dma_last: Signal<In, Bit>,
    pub cycle_steal: Signal<In, Bit>,
    pub burst_cap: Signal<In, Bits<32>>,
    pub steal_bound: Signal<In, Bits<32>>,
    pub clear_counters: Signal<In, Bit>,
    pub cpu_grant: Signal<Out, Bit>,
    pub dma_grant: Signal<Out, Bit>,
    /// The counters, in the order of `regs::arb::COUNTERS` (TOTAL_CYCLES, CPU_REQ_CYCLES,
    /// CPU_STALL_CYCLES, CPU_WORST_WAIT, DMA_BEATS, DMA_WAIT_CYCLES, IDLE_CYCLES,
    /// DMA_LONGEST_HOLD): the register block `ArbRegs` reads them by index.
    pub counters: [Signal<Out, Bits<32>>; 8],
    // Arbitration state.
    /// Beats of the DMA burst in progress (0 = between bursts).
    burst_beats: DFF<Bits<32>>,
    /// Burst mode: the CPU has had its beat since the last burst ended; the DMA goes next.
    dma_turn: DFF<Bit>,
    /// Cycle-steal mode: consecutive cycles the DMA has been waiting (saturating).
    dma_waited: DFF<Bits<32>>,
    /// Cycle-steal mode: last cycle's DMA beat was taken from a waiting CPU.
    stole: DFF<Bit>,
    steal_never: Constant<Bits<32>>,
    /// TOTAL_CYCLES, CPU_REQ_CYCLES, CPU_STALL_CYCLES, DMA_BEATS, DMA_WAIT_CYCLES,
    /// IDLE_CYCLES.
    count: [Counter; 6],
    /// CPU_WORST_WAIT, DMA_LONGEST_HOLD.
    longest: [LongestRun; 2],
    stall: Signal<Local, Bit>,
    dma_wins: Signal<Local, Bit>,
    burst_ends: Signal<Local, Bit>,
}

impl Default for Arbiter {
    /// 32-bit counters (the simulation build).
    fn default() -> Self {
        Self::new(u32::MAX)
    }
}

impl Arbiter {
    /// An arbiter whose counters hold up to `counter_max` (`2^counter_bits - 1`).
    pub fn new(counter_max: u32) -> Self {
        assert!(
            counter_max.wrapping_add(1).is_power_of_two() || counter_max == u32::MAX,
            "counter_max must be 2^n - 1"
        );
        Self {
            clock: Default::default(),
            cpu_req: Default::default(),
            dma_req: Default::default(),
            dma_last: Default::default(),
            cycle_steal: Default::default(),
            burst_cap: Default::default(),
            steal_bound: Default::default(),
            clear_counters: Default::default(),
            cpu_grant: Default::default(),
            dma_grant: Default::default(),
            counters: std::array::from_fn(|_| Default::default()),
            burst_beats: Default::default(),
            dma_turn: Default::default(),
            dma_waited: Default::default(),
            stole: Default::default(),
            steal_never: Constant::new((regs::arb::STEAL_NEVER as u64).into()),
            count: std::array::from_fn(|_| Counter::new(counter_max)),
            longest: std::array::from_fn(|_| LongestRun::new(counter_max)),
            stall: Default::default(),
            dma_wins: Default::default(),
            burst_ends: Default::default(),
        }
    }
}

impl Logic for Arbiter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, burst_beats, dma_turn, dma_waited, stole);
        for i in 0..6 {
            self.count[i].clock.next = self.clock.val();
            self.count[i].clear.next = self.clear_counters.val();
        }
        for i in 0..2 {
            self.longest[i].clock.next = self.clock.val();
            self.longest[i].clear.next = self.clear_counters.val();
        }
        // ---- who gets this cycle ----
        if self.cycle_steal.val() {
            self.dma_wins.next = self.dma_req.val()
                & (!self.cpu_req.val()
                    | ((self.dma_waited.q.val() >= self.steal_bound.val())
                        & (self.steal_bound.val() != self.steal_never.val())
                        & !self.stole.q.val()));
        } else {
            self.dma_wins.next = self.dma_req.val()
                & ((self.burst_beats.q.val() != 0) | !self.cpu_req.val() | self.dma_turn.q.val());
        }
        self.dma_grant.next = self.dma_wins.val();
        self.cpu_grant.next = self.cpu_req.val() & !self.dma_wins.val();
        self.burst_ends.next = self.dma_last.val()
            | ((self.burst_cap.val() != 0)
                & ((self.burst_beats.q.val() + 1) >= self.burst_cap.val()));

        // ---- burst bookkeeping ----
        if self.dma_wins.val() {
            if self.burst_ends.val() | self.cycle_steal.val() {
                self.burst_beats.d.next = 0.into();
                self.dma_turn.d.next = false;
            } else {
                self.burst_beats.d.next = self.burst_beats.q.val() + 1;
            }
        } else {
            self.burst_beats.d.next = 0.into();
            if self.cpu_req.val() & self.dma_req.val() {
                self.dma_turn.d.next = true;
            }
        }

        // ---- cycle-steal bookkeeping ----
        self.stole.d.next = self.dma_wins.val() & self.cpu_req.val();
        if self.dma_req.val() & !self.dma_wins.val() {
            if self.dma_waited.q.val() != self.steal_never.val() {
                self.dma_waited.d.next = self.dma_waited.q.val() + 1;
            }
        } else {
            self.dma_waited.d.next = 0.into();
        }

        // ---- counters (regs::arb::COUNTERS order at the output) ----
        // A stall cycle is a DMA beat while the CPU requests: CPU_WORST_WAIT and
        // DMA_LONGEST_HOLD are the longest run of the same condition (docs/arbiter.md).
        self.stall.next = self.cpu_req.val() & self.dma_wins.val();
        self.count[0].inc.next = true;
        self.count[1].inc.next = self.cpu_req.val();
        self.count[2].inc.next = self.stall.val();
        self.count[3].inc.next = self.dma_wins.val();
        self.count[4].inc.next = self.dma_req.val() & !self.dma_wins.val();
        self.count[5].inc.next = !self.cpu_req.val() & !self.dma_wins.val();
        self.longest[0].run.next = self.stall.val();
        self.longest[1].run.next = self.stall.val();
        self.counters[0].next = self.count[0].value.val();
        self.counters[1].next = self.count[1].value.val();
        self.counters[2].next = self.count[2].value.val();
        self.counters[3].next = self.longest[0].value.val();
        self.counters[4].next = self.count[3].value.val();
        self.counters[5].next = self.count[4].value.val();
        self.counters[6].next = self.count[5].value.val();
        self.counters[7].next = self.longest[1].value.val();
    }
}

/// Reference model of the arbiter, cycle by cycle, written from the module doc (not from the
/// `update` function above). The block test compares the two on random stimulus; the testbench
/// uses the same rules to check the SoC from its pins.
#[derive(Clone, Debug, Default)]
pub struct ArbiterModel {
    pub cycle_steal: bool,
    pub burst_cap: u32,
    pub steal_bound: u32,
    burst_beats: u32,
    cpu_had_beat: bool,
    dma_waited: u32,
    stole_last: bool,
}

impl ArbiterModel {
    /// Decide one cycle: returns (cpu_grant, dma_grant).
    pub fn step(&mut self, cpu_req: bool, dma_req: bool, dma_last: bool) -> (bool, bool) {
        let dma = if !dma_req {
            false
        } else if self.cycle_steal {
            let may_steal = self.steal_bound != regs::arb::STEAL_NEVER
                && self.dma_waited >= self.steal_bound
                && !self.stole_last;
            !cpu_req || may_steal
        } else {
            let in_burst = self.burst_beats > 0;
            in_burst || !cpu_req || self.cpu_had_beat
        };
        let cpu = cpu_req && !dma;
        // Burst state.
        if dma {
            let capped = self.burst_cap != 0 && self.burst_beats + 1 >= self.burst_cap;
            if self.cycle_steal || dma_last || capped {
                self.burst_beats = 0;
                self.cpu_had_beat = false;
            } else {
                self.burst_beats += 1;
            }
        } else {
            self.burst_beats = 0;
            if cpu_req && dma_req {
                self.cpu_had_beat = true;
            }
        }
        // Steal state.
        self.stole_last = dma && cpu_req;
        if dma_req && !dma {
            self.dma_waited = self.dma_waited.saturating_add(1);
        } else {
            self.dma_waited = 0;
        }
        (cpu, dma)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};
    use rand::{Rng, SeedableRng};

    /// The index of the counter at register offset `offset` in the `counters` output.
    fn at(offset: u32) -> usize {
        regs::arb::COUNTERS
            .iter()
            .position(|&o| o == offset)
            .unwrap()
    }

    fn run_random(cycle_steal: bool, cap: u32, bound: u32, cpu_load: f64, seed: u64) {
        let mut uut = Arbiter::default();
        uut.connect_all();
        let mut model = ArbiterModel {
            cycle_steal,
            burst_cap: cap,
            steal_bound: bound,
            ..Default::default()
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        uut.cycle_steal.next = cycle_steal;
        uut.burst_cap.next = (cap as u64).into();
        uut.steal_bound.next = (bound as u64).into();
        uut.clear_counters.next = false;
        let (mut stalls, mut run, mut worst, mut beats, mut hold, mut longest) =
            (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
        let n = 3000u64;
        for _ in 0..n {
            let cpu_req = rng.gen_bool(cpu_load);
            let dma_req = rng.gen_bool(0.9);
            let dma_last = rng.gen_bool(0.05);
            uut.cpu_req.next = cpu_req;
            uut.dma_req.next = dma_req;
            uut.dma_last.next = dma_last;
            settle(&mut uut);
            let (cpu, dma) = model.step(cpu_req, dma_req, dma_last);
            assert_eq!((uut.cpu_grant.val(), uut.dma_grant.val()), (cpu, dma));
            if cpu_req && !cpu {
                stalls += 1;
                run += 1;
                worst = worst.max(run);
                hold += 1;
                longest = longest.max(hold);
            } else {
                run = 0;
                hold = 0;
            }
            beats += dma as u64;
            clock_edge(&mut uut, |u| &mut u.clock);
        }
        settle(&mut uut);
        assert_eq!(uut.counters[at(regs::arb::TOTAL_CYCLES)].val().to_u64(), n);
        assert_eq!(
            uut.counters[at(regs::arb::CPU_STALL_CYCLES)].val().to_u64(),
            stalls
        );
        assert_eq!(
            uut.counters[at(regs::arb::CPU_WORST_WAIT)].val().to_u64(),
            worst
        );
        assert_eq!(uut.counters[at(regs::arb::DMA_BEATS)].val().to_u64(), beats);
        assert_eq!(
            uut.counters[at(regs::arb::DMA_LONGEST_HOLD)].val().to_u64(),
            longest
        );
        if cycle_steal {
            assert!(worst <= 1, "cycle stealing let the CPU wait {worst} cycles");
        } else if cap != 0 {
            assert!(
                longest <= cap as u64,
                "burst held the bus {longest} beats, cap {cap}"
            );
        }
        uut.clear_counters.next = true;
        settle(&mut uut);
        clock_edge(&mut uut, |u| &mut u.clock);
        assert_eq!(uut.counters[at(regs::arb::TOTAL_CYCLES)].val().to_u64(), 0);
        assert_eq!(
            uut.counters[at(regs::arb::CPU_WORST_WAIT)].val().to_u64(),
            0
        );
    }

    #[test]
    fn burst_mode_matches_model_and_respects_cap() {
        for (seed, cap) in [(1, 0), (2, 1), (3, 16), (4, 5)] {
            run_random(false, cap, 0, 0.5, seed);
        }
    }

    #[test]
    fn cycle_steal_matches_model_and_cpu_waits_at_most_one_cycle() {
        for (seed, bound) in [(5, 0), (6, 1), (7, 8), (8, regs::arb::STEAL_NEVER)] {
            run_random(true, 0, bound, 0.9, seed);
        }
    }

    #[test]
    fn narrow_counters_wrap_at_their_width_and_read_0_above() {
        // A 4-bit build (`counter_max` 15): the DMA bursts for ever after the CPU's first
        // beat, so the CPU waits 19 cycles in a row.
        let mut uut = Arbiter::new(0xF);
        uut.connect_all();
        uut.cpu_req.next = true;
        uut.dma_req.next = true;
        for _ in 0..21 {
            settle(&mut uut);
            clock_edge(&mut uut, |u| &mut u.clock);
        }
        settle(&mut uut);
        assert_eq!(
            uut.counters[at(regs::arb::TOTAL_CYCLES)].val().to_u64(),
            21 - 16,
            "wrapped past 15"
        );
        assert_eq!(
            uut.counters[at(regs::arb::CPU_REQ_CYCLES)].val().to_u64(),
            21 - 16
        );
        assert_eq!(
            uut.counters[at(regs::arb::DMA_BEATS)].val().to_u64(),
            20 - 16
        );
        assert_eq!(
            uut.counters[at(regs::arb::CPU_STALL_CYCLES)].val().to_u64(),
            20 - 16
        );
        assert_eq!(
            uut.counters[at(regs::arb::CPU_WORST_WAIT)].val().to_u64(),
            15,
            "the run wraps too"
        );
        assert_eq!(
            uut.counters[at(regs::arb::DMA_LONGEST_HOLD)].val().to_u64(),
            15
        );
    }

    #[test]
    fn transparent_mode_never_takes_a_cycle_from_the_cpu() {
        let mut uut = Arbiter::default();
        uut.connect_all();
        uut.cycle_steal.next = true;
        uut.steal_bound.next = (regs::arb::STEAL_NEVER as u64).into();
        uut.cpu_req.next = true;
        uut.dma_req.next = true;
        for _ in 0..100 {
            settle(&mut uut);
            assert!(uut.cpu_grant.val() && !uut.dma_grant.val());
            clock_edge(&mut uut, |u| &mut u.clock);
        }
    }
}
