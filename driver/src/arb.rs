//! The bus arbiter between the CPU (host port) and the DMA engines: its mode and its
//! performance counters, which are how the experiments measure what DMA costs the CPU.

use regs::{arb, block, csr};

use crate::Device;

/// How the arbiter shares the memory bus between the CPU and DMA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArbMode {
    /// DMA keeps the bus for up to `cap` beats per burst (0 = unlimited, i.e. block mode);
    /// bursts also end at every page boundary of a DMA address.
    Burst { cap: u32 },
    /// DMA uses cycles the CPU leaves free. With `Some(n)`, after waiting `n` cycles for a
    /// busy CPU it steals one cycle anyway; `None` never steals (transparent DMA).
    /// `Some(u32::MAX)` is the same as `None`: the register cannot tell them apart.
    CycleSteal { bound: Option<u32> },
}

/// Snapshot of the arbiter's counters since the last [`clear_counters`]. The registers are
/// 32 bits and wrap; they are widened to `u64` so callers can subtract and sum freely.
/// The counters keep running while they are read one by one, so `total_cycles` is a few
/// cycles behind the others at most.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArbCounters {
    pub total_cycles: u64,
    pub cpu_req_cycles: u64,
    pub cpu_stall_cycles: u64,
    pub cpu_worst_wait: u64,
    pub dma_beats: u64,
    pub dma_wait_cycles: u64,
    pub idle_cycles: u64,
    pub dma_longest_hold: u64,
}

fn reg(offset: u32) -> u32 {
    csr(block::ARB, offset)
}

/// Sets the arbitration mode. The parameter register is written before `MODE`, so the new
/// mode never runs with the old mode's parameter.
pub fn set_mode(dev: &mut dyn Device, mode: ArbMode) {
    match mode {
        ArbMode::Burst { cap } => {
            dev.write32(reg(arb::BURST_CAP), cap);
            dev.write32(reg(arb::MODE), arb::MODE_BURST);
        }
        ArbMode::CycleSteal { bound } => {
            dev.write32(reg(arb::STEAL_BOUND), bound.unwrap_or(arb::STEAL_NEVER));
            dev.write32(reg(arb::MODE), arb::MODE_CYCLE_STEAL);
        }
    }
}

/// Reads the current mode back. `None` if `MODE` holds a value this driver does not know.
pub fn mode(dev: &mut dyn Device) -> Option<ArbMode> {
    match dev.read32(reg(arb::MODE)) {
        arb::MODE_BURST => Some(ArbMode::Burst {
            cap: dev.read32(reg(arb::BURST_CAP)),
        }),
        arb::MODE_CYCLE_STEAL => {
            let b = dev.read32(reg(arb::STEAL_BOUND));
            Some(ArbMode::CycleSteal {
                bound: (b != arb::STEAL_NEVER).then_some(b),
            })
        }
        _ => None,
    }
}

/// Zeroes every counter.
pub fn clear_counters(dev: &mut dyn Device) {
    dev.write32(reg(arb::CNT_CTRL), arb::CNT_CLEAR);
}

/// Reads every counter (one host-port read each).
pub fn read_counters(dev: &mut dyn Device) -> ArbCounters {
    let mut rd = |offset| u64::from(dev.read32(reg(offset)));
    ArbCounters {
        total_cycles: rd(arb::TOTAL_CYCLES),
        cpu_req_cycles: rd(arb::CPU_REQ_CYCLES),
        cpu_stall_cycles: rd(arb::CPU_STALL_CYCLES),
        cpu_worst_wait: rd(arb::CPU_WORST_WAIT),
        dma_beats: rd(arb::DMA_BEATS),
        dma_wait_cycles: rd(arb::DMA_WAIT_CYCLES),
        idle_cycles: rd(arb::IDLE_CYCLES),
        dma_longest_hold: rd(arb::DMA_LONGEST_HOLD),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::MockDevice;
    use pretty_assertions::assert_eq;

    #[test]
    fn modes_round_trip_through_the_registers() {
        let mut dev = MockDevice::new(regs::PAGE_BYTES);
        for m in [
            ArbMode::Burst { cap: 0 },
            ArbMode::Burst { cap: 8 },
            ArbMode::CycleSteal { bound: None },
            ArbMode::CycleSteal { bound: Some(4) },
        ] {
            set_mode(&mut dev, m);
            assert_eq!(mode(&mut dev), Some(m));
            if m == (ArbMode::CycleSteal { bound: None }) {
                assert_eq!(dev.reg(reg(arb::STEAL_BOUND)), arb::STEAL_NEVER);
            }
        }
    }

    #[test]
    fn counters_come_from_their_registers() {
        let mut dev = MockDevice::new(regs::PAGE_BYTES);
        dev.set_reg(reg(arb::TOTAL_CYCLES), 100);
        dev.set_reg(reg(arb::DMA_BEATS), 40);
        dev.set_reg(reg(arb::DMA_LONGEST_HOLD), 7);
        let c = read_counters(&mut dev);
        assert_eq!(
            c,
            ArbCounters {
                total_cycles: 100,
                dma_beats: 40,
                dma_longest_hold: 7,
                ..ArbCounters::default()
            }
        );
        clear_counters(&mut dev);
        assert_eq!(
            dev.writes().last(),
            Some(&(reg(arb::CNT_CTRL), arb::CNT_CLEAR))
        );
    }
}
