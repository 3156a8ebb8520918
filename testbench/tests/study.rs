//! A reduced arbitration study: the same code as `make study`, checked against the numbered
//! requirements (burst ≥ 0.97 beats/cycle on an idle bus; cycle-steal CPU wait ≤ bound + 1;
//! burst holds ≤ cap) and the expected shape of the trade-off.

use testbench::study::{self, Mode};

#[test]
fn reduced_study_meets_the_requirements_and_shows_the_trade_off() {
    let result = study::run(&[1024, 4096], &[0, 50, 90]);
    assert_eq!(study::check_requirements(&result), Vec::<String>::new());
    let row = |mode, load, bytes| {
        result
            .rows
            .iter()
            .find(|r| r.mode == mode && r.cpu_load_pct == load && r.bytes == bytes)
            .unwrap()
            .clone()
    };
    // Burst mode is as fast at 90 % CPU load as with an idle CPU; the CPU pays.
    let (idle, busy) = (
        row(Mode::BurstUncapped, 0, 4096),
        row(Mode::BurstUncapped, 90, 4096),
    );
    assert!(busy.dma_cycles <= idle.dma_cycles + 2);
    assert!(busy.cpu_worst_wait > 1000);
    // Cycle stealing slows the DMA by about the CPU's bus share and spares the CPU.
    let steal = row(Mode::CycleSteal8, 50, 4096);
    assert!(steal.dma_cycles > idle.dma_cycles * 3 / 2);
    assert!(steal.cpu_worst_wait <= 1 && steal.cpu_work_per_cycle > 0.95);
    // PIO costs the CPU hundreds of cycles per KiB; DMA a handful.
    for p in &result.pio_vs_dma {
        assert!(
            p.pio_cpu_cycles_per_kib > 500.0 && p.dma_cpu_cycles_per_kib < 60.0,
            "{p:?}"
        );
    }
    // The plot renders.
    assert!(study::svg(&result, 4096).unwrap().contains("<svg"));
}
