//! `dmanic-sim` (the `make sim` program) end to end: a short traced run whose GTKWave save file
//! is checked against the FST's variables (with `fst2vcd`) and, where `xvfb-run` is installed,
//! against the signals GTKWave itself shows when it opens the file (those need the
//! `sim/trace` feature, which `make test` turns on), and the io-forward app on captures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_dmanic-sim");

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dmanic-sim-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Whether `tool` is on PATH. Under `make test` (which sets DMANIC_REQUIRE_TOOLS, and whose
/// setup installs every tool these tests use) a missing tool fails the test instead of
/// skipping its check.
fn on_path(tool: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
    assert!(
        found || std::env::var_os("DMANIC_REQUIRE_TOOLS").is_none(),
        "{tool} not found, and DMANIC_REQUIRE_TOOLS is set: `bash scripts/setup.sh test` installs it"
    );
    found
}

/// Whether this build writes waveforms (`sim/trace`); under `make test`
/// (DMANIC_REQUIRE_TOOLS) it must.
fn tracing() -> bool {
    assert!(
        sim::TRACE || std::env::var_os("DMANIC_REQUIRE_TOOLS").is_none(),
        "built without sim/trace, and DMANIC_REQUIRE_TOOLS is set"
    );
    if !sim::TRACE {
        eprintln!("note: built without sim/trace; the waveform is not checked");
    }
    sim::TRACE
}

fn text(o: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The signal names a save file's trace lines stand for (`dmanic-sim` writes each as the
/// escaped name followed by `\**$`).
fn save_file_traces(gtkw: &str) -> Vec<String> {
    gtkw.lines()
        .filter_map(|l| l.strip_suffix("\\**$"))
        .filter(|l| !l.starts_with('['))
        .map(|l| {
            let mut name = String::new();
            let mut chars = l.chars();
            while let Some(c) = chars.next() {
                name.push(if c == '\\' { chars.next().unwrap() } else { c });
            }
            name
        })
        .collect()
}

/// Every variable of the FST as GTKWave names it (scopes joined by '.', vector range appended
/// except for parameters), from `fst2vcd`'s header; `None` without `fst2vcd`.
fn fst_vars(fst: &Path) -> Option<Vec<String>> {
    if !on_path("fst2vcd") {
        return None;
    }
    let out = Command::new("fst2vcd").arg(fst).output().unwrap();
    assert!(out.status.success(), "fst2vcd: {}", text(&out));
    let mut scope: Vec<&str> = Vec::new();
    let mut vars = Vec::new();
    let vcd = String::from_utf8(out.stdout).unwrap();
    for line in vcd.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.first().copied() {
            Some("$scope") => scope.push(f[2]),
            Some("$upscope") => {
                scope.pop();
            }
            Some("$var") => {
                let range = if f.len() == 7 && f[1] != "parameter" {
                    f[5]
                } else {
                    ""
                };
                vars.push(format!("{}.{}{range}", scope.join("."), f[4]));
            }
            Some("$enddefinitions") => break,
            _ => {}
        }
    }
    Some(vars)
}

/// The signals GTKWave 3 shows after loading `gtkw` (through a Tcl script, on a virtual X
/// display); `None` without `xvfb-run` or `gtkwave`.
fn gtkwave_shows(gtkw: &Path, dir: &Path) -> Option<Vec<String>> {
    if !on_path("xvfb-run") || !on_path("gtkwave") {
        return None;
    }
    let listing = dir.join("displayed.txt");
    let script = dir.join("list.tcl");
    std::fs::write(
        &script,
        format!(
            "set fp [open {{{}}} w]\n\
             foreach s [gtkwave::getDisplayedSignals] {{ puts $fp $s }}\n\
             close $fp\n\
             gtkwave::/File/Quit\n",
            listing.display()
        ),
    )
    .unwrap();
    let out = Command::new("timeout")
        .args(["120", "xvfb-run", "-a", "gtkwave", "-S"])
        .arg(&script)
        .arg(gtkw)
        .output()
        .unwrap();
    assert!(out.status.success(), "gtkwave: {}", text(&out));
    let shown = std::fs::read_to_string(&listing).unwrap();
    Some(shown.lines().map(str::to_owned).collect())
}

#[test]
fn traced_run_writes_a_save_file_whose_signals_are_in_the_fst() {
    if !tracing() {
        return;
    }
    let dir = scratch("trace");
    let out = Command::new(BIN)
        .arg("--out")
        .arg(&dir)
        .args(["--bytes", "256"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for want in [
        "burst, uncapped",
        "burst, cap 16",
        "cycle steal, bound 8",
        "burst, IOMMU on (Sv32)",
        "all 4 copies verified",
        "IOMMU fault: copy from unmapped IOVA 0x70000000 refused; fault record: cause 13",
        "NIC loopback (IOMMU on): 4 frames of [60, 42, 300, 1514] bytes sent and received byte for byte",
        "PHY TX pins: 7 x 0x55 + SFD, good FCS on every frame, smallest gap 12 bytes; GPTC 4 GPRC 4",
        "no NIC mapping left after close",
    ] {
        assert!(stdout.contains(want), "no {want:?} in\n{stdout}");
    }

    let fst = std::path::absolute(dir.join("sim.fst")).unwrap();
    let gtkw_path = dir.join("sim.gtkw");
    let gtkw = std::fs::read_to_string(&gtkw_path).unwrap();
    assert!(
        gtkw.contains(&format!("[dumpfile] \"{}\"", fst.display())),
        "dumpfile is not {}:\n{gtkw}",
        fst.display()
    );
    let traces = save_file_traces(&gtkw);
    assert!(traces.len() >= 30, "only {} traces:\n{gtkw}", traces.len());
    assert!(traces.contains(&"TOP.top.obs_iommu_state[3:0]".to_string()));
    let fault_view = std::fs::read_to_string(dir.join("iommu_fault.gtkw")).unwrap();
    assert_eq!(
        save_file_traces(&fault_view),
        traces,
        "same signals, opened at the fault"
    );
    assert!(traces.contains(&"TOP.top.arbiter.counters$0[31:0]".to_string()));
    assert!(traces.contains(&"TOP.top.phy_txd[7:0]".to_string()));
    // The NIC view has the same signals, with the NIC group on top.
    let nic_view = std::fs::read_to_string(dir.join("nic.gtkw")).unwrap();
    let mut nic_traces = save_file_traces(&nic_view);
    assert_eq!(
        nic_traces[0], "TOP.top.obs_nic_tx_state[2:0]",
        "NIC group first"
    );
    let mut all = traces.clone();
    nic_traces.sort();
    all.sort();
    assert_eq!(nic_traces, all, "same signals, opened at the NIC run");
    assert!(dir.join("nic_tx_state.gtkwf").exists() && dir.join("nic_rx_state.gtkwf").exists());

    match fst_vars(&fst) {
        None => eprintln!("note: fst2vcd not found; save file not checked against the FST"),
        Some(vars) => {
            let lower: Vec<String> = vars.iter().map(|v| v.to_lowercase()).collect();
            for t in &traces {
                assert!(vars.contains(t), "{t} is not a variable of the FST");
                // GTKWave matches the pattern case-insensitively and unanchored at the start.
                let suffix = t.to_lowercase();
                let hits = lower.iter().filter(|v| v.ends_with(&suffix)).count();
                assert_eq!(hits, 1, "{t} matches {hits} variables");
            }
        }
    }

    match gtkwave_shows(&gtkw_path, &dir) {
        None => eprintln!("note: xvfb-run or gtkwave not found; save file not loaded in GTKWave"),
        Some(shown) => assert_eq!(shown, traces, "GTKWave shows other signals"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn watchdog_expiry_fails_with_the_driver_error() {
    let dir = scratch("watchdog");
    let out = Command::new(BIN)
        .arg("--out")
        .arg(&dir)
        .args(["--bytes", "4096", "--watchdog", "100", "--no-trace"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("burst, uncapped: DMAC timed out after")
            && stderr.contains("DMAC in state"),
        "{}",
        text(&out)
    );
    assert!(
        !dir.join("sim.gtkw").exists(),
        "--no-trace wrote a save file"
    );
}

#[test]
fn forward_app_sends_the_good_frames_of_a_pcap_back_out_with_good_fcs() {
    use testbench::frames::{with_fcs, FrameGen};
    let dir = scratch("forward");
    std::fs::create_dir_all(&dir).unwrap();
    let mut gen = FrameGen::new(<rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(3));
    // Without FCS (the program adds one), as most captures are.
    let frames: Vec<Vec<u8>> = [60usize, 61, 333, 1000, 1514]
        .iter()
        .map(|&l| gen.frame(l))
        .collect();
    let input = dir.join("in.pcap");
    let output = dir.join("out.pcap");
    let at: Vec<u64> = (0..frames.len() as u64).map(|i| i * 2000).collect();
    testbench::pcap::write_frames(&input, &frames, &at).unwrap();
    let out = Command::new(BIN)
        .arg("--rx-pcap")
        .arg(&input)
        .arg("--tx-pcap")
        .arg(&output)
        .args(["--no-trace"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("received 5 good + 0 bad, forwarded 5"),
        "{stdout}"
    );
    let sent = sent_frames(&output);
    let want: Vec<Vec<u8>> = frames.iter().map(|f| with_fcs(f)).collect();
    assert_eq!(sent, want, "the frames on the TX pins, FCS included");
    if let Some(status) = tshark_fields(&output, &["eth.fcs.status"]) {
        assert_eq!(status, vec!["1"; frames.len()], "tshark: FCS good");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tx_pcap_without_rx_pcap_is_refused() {
    let out = Command::new(BIN)
        .args(["--tx-pcap", "x.pcap", "--no-trace"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn bad_arguments_are_refused() {
    for args in [
        &["--bytes", "6"][..],
        &["--bytes", "0"],
        &["--cpu-load", "101"],
    ] {
        let out = Command::new(BIN)
            .args(args)
            .arg("--no-trace")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
}

/// The frames of a capture the forward app wrote.
fn sent_frames(pcap: &Path) -> Vec<Vec<u8>> {
    testbench::pcap::read_frames(pcap)
        .unwrap()
        .into_iter()
        .map(|f| f.data)
        .collect()
}

/// Runs the forward app on `input` with `args`; its output capture and the process output.
fn forward_run(dir: &Path, input: &Path, args: &[&str]) -> (PathBuf, Output) {
    let output = dir.join("out.pcap");
    let out = Command::new(BIN)
        .arg("--rx-pcap")
        .arg(input)
        .arg("--tx-pcap")
        .arg(&output)
        .args(args)
        .arg("--no-trace")
        .output()
        .unwrap();
    (output, out)
}

/// tshark's fields `fields` for every frame of `pcap` (with the FCS checked), one line per
/// frame, or `None` without tshark.
fn tshark_fields(pcap: &Path, fields: &[&str]) -> Option<Vec<String>> {
    if !on_path("tshark") {
        eprintln!("note: tshark not found; the frames are not checked by Wireshark's dissectors");
        return None;
    }
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(pcap)
        .args(["-o", "eth.fcs:Always", "-o", "eth.check_fcs:TRUE"])
        .args(["-T", "fields", "-E", "separator=,"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "tshark: {}", text(&out));
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect(),
    )
}

#[test]
fn forward_keeps_a_bad_fcs_bad_in_a_capture_with_fcs() {
    use testbench::frames::{with_fcs, FrameGen};
    let dir = scratch("forward-fcs");
    std::fs::create_dir_all(&dir).unwrap();
    let mut gen = FrameGen::new(<rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(4));
    // A wire capture: every frame with its FCS, the longest untagged one included, and one
    // corrupted in transit.
    let mut frames: Vec<Vec<u8>> = [60usize, 1514, 200, 500, 64]
        .iter()
        .map(|&l| with_fcs(&gen.frame(l)))
        .collect();
    frames[2][40] ^= 0x10;
    let input = dir.join("wire.pcap");
    let at: Vec<u64> = (0..frames.len() as u64).map(|i| i * 3000).collect();
    testbench::pcap::write_frames(&input, &frames, &at).unwrap();
    let (output, out) = forward_run(&dir, &input, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for want in [
        "FCS: 4 of 5 frames end in a good FCS, so they carry one",
        "expected: 4 forwarded; dropped: 1 bad FCS (CRCERRS), 0 runt (RUC), 0 oversize (ROC)",
        "CRCERRS 1 RUC 0 ROC 0",
    ] {
        assert!(stdout.contains(want), "{want:?} not in\n{stdout}");
    }
    let sent = sent_frames(&output);
    let want: Vec<Vec<u8>> = [0, 1, 3, 4].iter().map(|&i| frames[i].clone()).collect();
    assert_eq!(sent, want, "the good frames, unchanged, FCS included");
    if let Some(status) = tshark_fields(&input, &["eth.fcs.status"]) {
        assert_eq!(status, ["1", "1", "0", "1", "1"], "tshark on the input");
    }
    if let Some(status) = tshark_fields(&output, &["eth.fcs.status"]) {
        assert_eq!(status, ["1"; 4], "tshark on the output");
    }
    // Told there is no FCS, the app would append one to every frame: the 1514 + 4 byte frame
    // becomes oversize, and the bad frame's FCS is covered by a good one (what --fcs auto
    // prevents). The NIC's counters agree with the model either way.
    let (_, out) = forward_run(&dir, &input, &["--fcs", "absent"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("CRCERRS 0 RUC 0 ROC 1"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An ARP request (42 bytes) and a TCP SYN (54 bytes) as a sending host captures them: no FCS,
/// no padding.
fn host_capture_frames() -> Vec<Vec<u8>> {
    let me = [0x02, 0, 0, 0, 0, 1];
    let peer = [0x02, 0, 0, 0, 0, 2];
    let mut arp = vec![0xFF; 6];
    arp.extend(me);
    arp.extend([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    arp.extend(me);
    arp.extend([10, 0, 0, 1]);
    arp.extend([0; 6]);
    arp.extend([10, 0, 0, 2]);
    let mut syn = peer.to_vec();
    syn.extend(me);
    syn.extend([0x08, 0x00]);
    // IPv4: 20 bytes header + 20 bytes TCP, protocol 6, 10.0.0.1 -> 10.0.0.2.
    syn.extend([
        0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]);
    // TCP: 12345 -> 80, seq 1, data offset 5, SYN, window 1024.
    syn.extend([
        0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 4, 0, 0, 0, 0, 0,
    ]);
    assert_eq!((arp.len(), syn.len()), (42, 54));
    vec![arp, syn]
}

#[test]
fn forward_pads_short_frames_from_a_host_capture_unless_told_not_to() {
    use testbench::frames::with_fcs;
    let dir = scratch("forward-pad");
    std::fs::create_dir_all(&dir).unwrap();
    let frames = host_capture_frames();
    let input = dir.join("host.pcap");
    testbench::pcap::write_frames(&input, &frames, &[0, 5000]).unwrap();
    let (output, out) = forward_run(&dir, &input, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("0 of 2 frames end in a good FCS, so they carry none")
            && stdout.contains("frames under 60 bytes without FCS: 2, 2 padded to 60"),
        "{stdout}"
    );
    let sent = sent_frames(&output);
    let padded: Vec<Vec<u8>> = frames
        .iter()
        .map(|f| {
            let mut p = f.clone();
            p.resize(60, 0);
            with_fcs(&p)
        })
        .collect();
    assert_eq!(sent, padded, "padded to 60 bytes before the FCS");
    if let Some(lines) = tshark_fields(
        &output,
        &[
            "eth.fcs.status",
            "arp.opcode",
            "tcp.flags.syn",
            "tcp.dstport",
        ],
    ) {
        assert_eq!(
            lines,
            ["1,1,,", "1,,1,80"],
            "tshark: FCS, ARP request, SYN to port 80"
        );
    }
    // --no-pad: both go out as runts and the MAC drops them, as expected: exit status 0.
    let (output, out) = forward_run(&dir, &input, &["--no-pad"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("0 bad FCS (CRCERRS), 2 runt (RUC)") && stdout.contains("RUC 2"),
        "{stdout}"
    );
    assert_eq!(testbench::pcap::read_frames(&output).unwrap(), vec![]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn forward_replays_pcapng_and_a_jumbo_frame_with_max_frame() {
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::{
        InterfaceDescriptionBlock, InterfaceDescriptionOption,
    };
    use pcap_file::pcapng::PcapNgWriter;
    use std::borrow::Cow;
    use std::time::Duration;
    use testbench::frames::{with_fcs, FrameGen};
    let dir = scratch("forward-ng");
    std::fs::create_dir_all(&dir).unwrap();
    let mut gen = FrameGen::new(<rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(5));
    // A 9000-byte jumbo (9004 with its FCS) between two ordinary frames; the interface
    // declares no FCS (if_fcslen 0).
    let frames: Vec<Vec<u8>> = [100usize, 9000, 700]
        .iter()
        .map(|&l| gen.frame(l))
        .collect();
    let input = dir.join("jumbo.pcapng");
    let mut w = PcapNgWriter::new(std::fs::File::create(&input).unwrap()).unwrap();
    w.write_pcapng_block(InterfaceDescriptionBlock {
        linktype: pcap_file::DataLink::ETHERNET,
        snaplen: 0,
        options: vec![InterfaceDescriptionOption::IfFcsLen(0)],
    })
    .unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_nanos(i as u64 * 100),
            original_len: f.len() as u32,
            data: Cow::Borrowed(f),
            options: vec![],
        })
        .unwrap();
    }
    drop(w);
    let (output, out) = forward_run(&dir, &input, &["--max-frame", "9018"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("(pcapng)")
            && stdout.contains("the file declares 3 frames' FCS (0 with, 3 without)")
            && stdout.contains("RCTL.LPE on"),
        "{stdout}"
    );
    let sent = sent_frames(&output);
    let want: Vec<Vec<u8>> = frames.iter().map(|f| with_fcs(f)).collect();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent, want, "all three, the jumbo included");
    if let Some(lines) = tshark_fields(&output, &["eth.fcs.status", "frame.len"]) {
        assert_eq!(
            lines,
            ["1,104", "1,9004", "1,704"],
            "tshark: FCS and length"
        );
    }
    // Without --max-frame (LPE off) the jumbo is oversize: counted in ROC and expected lost.
    let (output, out) = forward_run(&dir, &input, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 oversize (ROC)") && stdout.contains("ROC 1"),
        "{stdout}"
    );
    assert_eq!(testbench::pcap::read_frames(&output).unwrap().len(), 2);
    // --max-frame below the jumbo, with LPE on: the MAC takes it, the app drops it.
    let (_, out) = forward_run(&dir, &input, &["--max-frame", "2000"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 over --max-frame") && stdout.contains("dropped 1 (over --max-frame)"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn forward_writes_its_own_waveform_and_leaves_make_sims_alone() {
    if !tracing() {
        return;
    }
    use testbench::frames::FrameGen;
    let dir = scratch("forward-waves");
    std::fs::create_dir_all(&dir).unwrap();
    let mut gen = FrameGen::new(<rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(6));
    let input = dir.join("in put.pcap");
    testbench::pcap::write_frames(&input, &[gen.frame(100)], &[0]).unwrap();
    // What an earlier `make sim` left in the same directory.
    std::fs::write(dir.join("sim.fst"), "make sim's waveform").unwrap();
    std::fs::write(dir.join("forward.gtkw"), "a stale save file").unwrap();
    let out = Command::new(BIN)
        .arg("--out")
        .arg(&dir)
        .arg("--rx-pcap")
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(dir.join("sim.fst")).unwrap(),
        "make sim's waveform"
    );
    assert!(dir.join("forward.fst").is_file(), "{}", text(&out));
    let gtkw = std::fs::read_to_string(dir.join("forward.gtkw")).unwrap();
    let fst = std::path::absolute(dir.join("forward.fst")).unwrap();
    assert!(
        gtkw.contains(&format!("[dumpfile] \"{}\"", fst.display())),
        "{gtkw}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn forward_checks_its_paths_before_the_simulation_starts() {
    let dir = scratch("forward-paths");
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.pcap");
    let (_, out) = forward_run(&dir, &missing, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing.pcap"), "{}", text(&out));
    let input = dir.join("in.pcap");
    testbench::pcap::write_frames(&input, &[vec![0; 60]], &[0]).unwrap();
    let out = Command::new(BIN)
        .arg("--rx-pcap")
        .arg(&input)
        .arg("--tx-pcap")
        .arg(dir.join("no such dir/out.pcap"))
        .arg("--no-trace")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--tx-pcap"), "{}", text(&out));
    // Neither run simulated: no summary.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("forward:"));
    // `make forward`'s default: --tx-pcap inside an --out that does not exist yet, both with
    // spaces in their names.
    let out_dir = dir.join("out dir");
    let out = Command::new(BIN)
        .arg("--out")
        .arg(&out_dir)
        .arg("--rx-pcap")
        .arg(&input)
        .arg("--tx-pcap")
        .arg(out_dir.join("for ward.pcap"))
        .arg("--no-trace")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(out_dir.join("for ward.pcap").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn forward_replays_the_capture_times_and_reports_overload_as_a_loss() {
    use testbench::frames::FrameGen;
    let dir = scratch("forward-pace");
    std::fs::create_dir_all(&dir).unwrap();
    let mut gen = FrameGen::new(<rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(8));
    // 300 minimum-size frames captured 2 µs apart (250 cycles): slower than the wire, and
    // slow enough for the driver.
    let frames: Vec<Vec<u8>> = (0..300).map(|_| gen.frame(60)).collect();
    let input = dir.join("spaced.pcap");
    let at: Vec<u64> = (0..300u64).map(|i| 1000 + i * 250).collect();
    testbench::pcap::write_frames(&input, &frames, &at).unwrap();
    let (output, out) = forward_run(&dir, &input, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("replayed at the capture's times"),
        "{stdout}"
    );
    assert_eq!(sent_frames(&output).len(), 300);
    // Back to back at line rate (84 cycles a frame) the driver cannot keep up: frames are
    // lost, the exit status says so, and the summary is printed all the same.
    let (_, out) = forward_run(&dir, &input, &["--line-rate"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("300 frames should have come back out") && stderr.contains("overload"),
        "{}",
        text(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("forward: 300 frames") && stdout.contains("--line-rate"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
