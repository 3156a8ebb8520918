//! FST waveform output (only with the `trace` feature).
#![cfg(feature = "trace")]

use sim::{Soc, CYCLE_NS};

/// The VCD text of an FST (`fst2vcd`, from GTKWave), or `None` without it (a failure under
/// `make test`, which sets DMANIC_REQUIRE_TOOLS and installs it).
fn fst2vcd(path: &std::path::Path) -> Option<String> {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("fst2vcd").is_file()));
    if !found {
        assert!(
            std::env::var_os("DMANIC_REQUIRE_TOOLS").is_none(),
            "fst2vcd not found, and DMANIC_REQUIRE_TOOLS is set: `bash scripts/setup.sh test` installs it"
        );
        eprintln!("note: fst2vcd not found; the FST's time and clock are not checked");
        return None;
    }
    let out = std::process::Command::new("fst2vcd")
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "fst2vcd failed");
    Some(String::from_utf8(out.stdout).unwrap())
}

#[test]
fn with_trace_writes_an_fst_file_in_nanoseconds_with_a_visible_clock() {
    let path = std::env::temp_dir().join(format!("sim-trace-test-{}.fst", std::process::id()));
    {
        let mut soc = Soc::with_trace(&path);
        soc.host_write(0x100, 0x1234_5678, 0xF);
        soc.run(100);
        soc.finish_trace();
        soc.run(10); // no longer traced, must not fail
    }
    let bytes = std::fs::read(&path).unwrap();
    // An FST file opens with a header block (type 0) of 329 bytes.
    assert!(bytes.len() > 329, "only {} bytes", bytes.len());
    assert_eq!(bytes[0], 0, "not an FST header block");
    if let Some(vcd) = fst2vcd(&path) {
        assert!(
            vcd.contains("$timescale\n\t1ns\n$end") || vcd.contains("$timescale 1ns $end"),
            "{}",
            &vcd[..vcd.len().min(400)]
        );
        // The top-level clock's identifier, then its value at each time stamp.
        let id = vcd
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() >= 5 && f[0] == "$var" && f[4] == "clock").then(|| f[3].to_owned())
            })
            .expect("a clock variable");
        let mut now = 0u64;
        let mut edges = vec![];
        for l in vcd.lines() {
            if let Some(t) = l.strip_prefix('#') {
                now = t.parse().unwrap();
            } else if l == format!("1{id}") || l == format!("0{id}") {
                edges.push((now, l.starts_with('1')));
            }
        }
        // Falls at half a period, rises at whole periods: 8 ns per cycle, 125 MHz.
        let half = CYCLE_NS / 2;
        assert_eq!(
            &edges[..4],
            &[
                (half, false),
                (CYCLE_NS, true),
                (CYCLE_NS + half, false),
                (2 * CYCLE_NS, true)
            ],
            "clock edges"
        );
        assert!(edges.len() >= 2 * 100, "{} clock changes", edges.len());
    }
    std::fs::remove_file(&path).unwrap();
}
