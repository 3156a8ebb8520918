//! A reduced arbitration study: the same code as `make study`, checked against the numbered
//! requirements (burst ≥ 0.97 beats/cycle on an idle bus; cycle-steal CPU wait ≤ bound + 1;
//! burst holds ≤ cap) and the expected shape of the trade-off.

use testbench::study::{self, Mode, StudyConfig};

#[test]
fn reduced_study_meets_the_requirements_and_shows_the_trade_off() {
    let cfg = StudyConfig {
        sizes: vec![1024, 4096],
        loads: vec![0, 50, 90],
        ..StudyConfig::default()
    };
    let result = study::run(&cfg, &mut || {});
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
        row(Mode::BURST_UNCAPPED, 0, 4096),
        row(Mode::BURST_UNCAPPED, 90, 4096),
    );
    assert!(busy.dma_cycles <= idle.dma_cycles + 2);
    assert!(busy.cpu_worst_wait > 1000);
    // Cycle stealing slows the DMA by about the CPU's bus share and spares the CPU.
    let steal = row(Mode::CYCLE_STEAL8, 50, 4096);
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

/// The study binary takes its settings from the command line and, without `--update-docs`,
/// writes nothing.
#[test]
fn study_binary_runs_what_the_command_line_asks_and_writes_nothing() {
    let reports = testbench::reports_dir();
    let before = std::fs::read_to_string(reports.join("arbitration.md")).ok();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_study"))
        .args([
            "--modes",
            "burst:4,steal:2",
            "--sizes",
            "1024",
            "--loads",
            "0,50",
        ])
        .args(["--iommu", "on", "--no-nic"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("memcpy study: IOMMU on"), "{stdout}");
    assert!(
        stdout.contains("| burst, cap 4 | 50 % |")
            && stdout.contains("| cycle steal, bound 2 | 50 % |"),
        "{stdout}"
    );
    assert!(!stdout.contains("NIC under CPU bus load"), "{stdout}");
    assert!(stdout.contains("nothing written"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(reports.join("arbitration.md")).ok(),
        before
    );
}
