//! The harness against the Verilog top: host-port transactions and the CPU workload model.

use driver::Device;
use regs::{block, csr, sys};
use sim::{CpuWorkload, Soc};

#[test]
fn sys_id_reads_dmnc() {
    let mut soc = Soc::new();
    let id = soc.host_read(csr(block::SYS, sys::ID));
    assert_eq!(id, sys::ID_VALUE);
}

#[test]
fn csr_write_is_accepted_at_once_and_reads_back() {
    let mut soc = Soc::new();
    let scratch = csr(block::SYS, sys::SCRATCH);
    assert_eq!(soc.host_write(scratch, 0xA5A5_1234, 0xF), 1);
    assert_eq!(soc.host_read(scratch), 0xA5A5_1234);
}

#[test]
fn ram_write_read_round_trip() {
    let mut soc = Soc::new();
    soc.write32(0x100, 0xDEAD_BEEF);
    soc.write32(0xF_FFFC, 0x0123_4567);
    assert_eq!(soc.read32(0x100), 0xDEAD_BEEF);
    assert_eq!(soc.read32(0xF_FFFC), 0x0123_4567);
}

#[test]
fn byte_enables_write_only_enabled_bytes() {
    let mut soc = Soc::new();
    soc.write32(0x200, 0x1122_3344);
    soc.write32_be(0x200, 0xAABB_CCDD, 0b0101);
    assert_eq!(soc.read32(0x200), 0x11BB_33DD);
}

#[test]
fn unmapped_reads_return_zero() {
    let mut soc = Soc::new();
    assert_eq!(soc.read32(0x8000_0000), 0);
}

#[test]
fn block_write_read_round_trip() {
    let mut soc = Soc::new();
    let words: Vec<u32> = (0..1000u32)
        .map(|i| i.wrapping_mul(0x9E37_79B9) ^ 0x5A5A)
        .collect();
    let start = soc.now();
    soc.write_words(0x1000, &words);
    let write_cycles = soc.now() - start;
    let mut back = vec![0; words.len()];
    let start = soc.now();
    soc.read_words(0x1000, &mut back);
    let read_cycles = soc.now() - start;
    assert_eq!(back, words);
    // Pipelined on an idle bus: one word per cycle, plus the last read's data cycle.
    assert_eq!(write_cycles, words.len() as u64);
    assert_eq!(read_cycles, words.len() as u64 + 1);
}

#[test]
fn workload_at_zero_load_retires_one_instruction_per_cycle() {
    let mut soc = Soc::new();
    soc.set_cpu_workload(CpuWorkload {
        enabled: true,
        load_per_65536: 0,
        seed: 1,
        base: 0,
        span_words: 1024,
    });
    soc.clear_observed();
    soc.run(10_000);
    let o = soc.observed();
    assert_eq!(o.total_cycles, 10_000);
    assert_eq!(o.cpu_work, 10_000);
    assert_eq!(o.cpu_bus_reads, 0);
    assert_eq!(o.cpu_req_cycles, 0);
}

#[test]
fn workload_without_contention_requests_at_its_load() {
    let mut soc = Soc::new();
    soc.set_cpu_workload(CpuWorkload {
        enabled: true,
        load_per_65536: 16384,
        seed: 7,
        base: 0,
        span_words: 4096,
    });
    soc.clear_observed();
    soc.run(100_000);
    let o = soc.observed();
    assert_eq!(o.cpu_work, o.total_cycles);
    assert_eq!(o.cpu_stall_cycles, 0);
    assert_eq!(o.cpu_req_cycles, o.cpu_bus_reads);
    let share = o.cpu_req_cycles as f64 / o.total_cycles as f64;
    assert!((share - 0.25).abs() < 0.01, "request share {share}");
}

#[test]
fn workload_is_deterministic_for_a_seed() {
    let run = |seed| {
        let mut soc = Soc::new();
        soc.set_cpu_workload(CpuWorkload {
            enabled: true,
            load_per_65536: 30000,
            seed,
            base: 0,
            span_words: 64,
        });
        soc.run(5_000);
        soc.observed()
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
}

#[test]
fn write_log_records_granted_host_writes() {
    let mut soc = Soc::new();
    soc.set_write_log(true);
    soc.write32_be(0x40, 0x1234_5678, 0x3);
    soc.write32(csr(block::SYS, sys::SCRATCH), 1); // not a RAM bus beat
    let log = soc.take_write_log();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].addr, log[0].data, log[0].be, log[0].dma),
        (0x40, 0x1234_5678, 0x3, false)
    );
    assert!(soc.take_write_log().is_empty());
}

#[test]
fn memcpy_with_interrupt_copies_the_block() {
    let mut soc = Soc::new();
    let words: Vec<u32> = (0..256u32).map(|i| i * 3 + 1).collect();
    soc.write_words(0x1_0000, &words);
    soc.set_cpu_workload(CpuWorkload {
        enabled: true,
        load_per_65536: 32768,
        seed: 9,
        base: 0x8_0000,
        span_words: 1024,
    });
    let cycles = soc.bench_memcpy_loop(0x1_0000, 0x2_0000, 4 * words.len() as u32, 1);
    assert!(cycles > words.len() as u64);
    assert!(!soc.irq());
    let mut back = vec![0; words.len()];
    soc.read_words(0x2_0000, &mut back);
    assert_eq!(back, words);
    assert_eq!(
        soc.describe_state(),
        "DMAC in state Idle (0), IOMMU in state Idle (0), NIC TX in state Idle (0), NIC RX in state Idle (0)"
    );
}
