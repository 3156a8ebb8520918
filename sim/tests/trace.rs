//! FST waveform output (only with the `trace` feature).
#![cfg(feature = "trace")]

use sim::Soc;

#[test]
fn with_trace_writes_an_fst_file() {
    let path = std::env::temp_dir().join(format!("sim-trace-test-{}.fst", std::process::id()));
    {
        let mut soc = Soc::with_trace(&path);
        soc.host_write(0x100, 0x1234_5678, 0xF);
        soc.run(100);
        soc.finish_trace();
        soc.run(10); // no longer traced, must not fail
    }
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    // An FST file opens with a header block (type 0) of 329 bytes.
    assert!(bytes.len() > 329, "only {} bytes", bytes.len());
    assert_eq!(bytes[0], 0, "not an FST header block");
}
