//! `DMANIC_TRACE=dir`: each system test writes its own waveform and GTKWave save file, named
//! after the test (`testbench::new_soc`).

use std::process::Command;

/// A short system run: the model a test makes through `new_soc`, one memcpy.
#[test]
fn a_short_memcpy() {
    let mut soc = testbench::new_soc();
    let mut dmac = driver::Dmac::new();
    dmac.start(&mut soc, 0x1_0000, 0x2_0000, 256, true).unwrap();
    dmac.wait(&mut soc, driver::Completion::Irq, 10_000)
        .unwrap();
    // A second model in the same test gets its own file.
    let _second = testbench::new_soc();
}

#[test]
fn dmanic_trace_writes_a_waveform_and_save_file_per_test() {
    if !sim::TRACE {
        assert!(
            std::env::var_os("DMANIC_REQUIRE_TOOLS").is_none(),
            "make test builds with sim/trace"
        );
        eprintln!("note: built without sim/trace; DMANIC_TRACE not checked");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_short_memcpy", "--test-threads=1"])
        .env("DMANIC_TRACE", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let fst = dir.path().join("a_short_memcpy.fst");
    let gtkw = dir.path().join("a_short_memcpy.gtkw");
    assert!(fst.is_file() && dir.path().join("a_short_memcpy-2.fst").is_file());
    let text = std::fs::read_to_string(&gtkw).unwrap();
    assert!(
        text.contains(&format!("[dumpfile] \"{}\"", fst.display())),
        "{text}"
    );
    // Every signal of the save file is a variable of the FST (fst2vcd; required under make
    // test, which installs it).
    match testbench::waves::check_names(&fst).unwrap() {
        Some(n) => assert!(n > 20, "{n} signals"),
        None => assert!(
            std::env::var_os("DMANIC_REQUIRE_TOOLS").is_none(),
            "fst2vcd not found, and DMANIC_REQUIRE_TOOLS is set"
        ),
    }
}
