//! The NIC parts of `dmanic-sim`: the loopback scenario of `make sim`, and the io-forward
//! application (`--rx-pcap IN --tx-pcap OUT`) with frames from a pcap file on the PHY RX pins and
//! the PHY TX pins written back to a pcap file.

use super::{Failure, Report};
use driver::dma::Dma;
use driver::iommu::DeviceId;
use driver::nic::{forward_once, Nic, NicConfig, RxFrame};
use driver::{Device, PageAllocator};
use sim::Soc;
use std::path::Path;
use testbench::frames::{self, FrameGen};
use testbench::pcap;
use testbench::phy::{self, encode_rx, FcsMode, RxFrameSpec, TxFrameSeen, TxSample};

pub const NIC_LABEL: &str = "NIC loopback";
/// Frame lengths (without FCS) of the loopback scenario: the shortest, one that needs padding
/// (TCTL.PSP), a medium one and the longest untagged frame.
const LOOPBACK_LENGTHS: [usize; 4] = [60, 42, 300, 1514];
/// Cycles before the first frame's preamble where `nic.gtkw` opens.
const NIC_VIEW_LEAD: u64 = 40;
/// Cycle budget of each NIC scenario's wait.
const NIC_WATCHDOG: u64 = 2_000_000;
/// NAPI budget per poll.
const BUDGET: usize = 64;

/// The frames the PHY TX pins carried since the last call, decoded.
fn tx_pins(soc: &mut Soc, log: &mut Vec<TxSample>) -> Result<Vec<TxFrameSeen>, Failure> {
    log.extend(soc.take_phy_tx_log().into_iter().map(|s| TxSample {
        cycle: s.cycle,
        data: s.data,
        en: s.en,
        er: s.er,
    }));
    Ok(phy::decode_tx(log)?)
}

/// Four frames through the MAC loopback with the IOMMU translating the NIC: descriptor fetches,
/// the frames on the PHY TX pins and the write-backs are all in the waveform.
pub fn loopback_scenario(soc: &mut Soc, dma: &mut Dma, report: &mut Report) -> Result<(), Failure> {
    let cfg = NicConfig {
        loopback: true,
        tx_descriptors: 16,
        rx_descriptors: 16,
        ..NicConfig::default()
    };
    let mut nic = Nic::open(soc, dma, cfg)?;
    let mut gen = FrameGen::new(<rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(4));
    let frames: Vec<Vec<u8>> = LOOPBACK_LENGTHS.iter().map(|&l| gen.frame(l)).collect();
    soc.set_phy_tx_log(true);
    dma.iommu().clear_counters(soc);
    report.starts.push((NIC_LABEL, soc.now()));
    let start = soc.now();
    for f in &frames {
        nic.xmit(soc, dma, f)?;
    }
    let mut got: Vec<RxFrame> = vec![];
    while got.len() < frames.len() {
        if soc.now() - start > NIC_WATCHDOG {
            return Err(Failure(format!(
                "{NIC_LABEL}: {} of {} frames back after {NIC_WATCHDOG} cycles; {}",
                got.len(),
                frames.len(),
                soc.describe_state()
            )));
        }
        let r = nic.poll(soc, dma, BUDGET);
        if let Some(e) = r.errors.first() {
            return Err(Failure(format!("{NIC_LABEL}: poll: {e}")));
        }
        got.extend(r.frames);
        if got.len() < frames.len() {
            soc.wait_irq(5_000);
        }
    }
    let cycles = soc.now() - start;
    for (i, (want, f)) in frames.iter().zip(&got).enumerate() {
        // Short frames come back padded to 60 bytes (the FCS is stripped).
        let mut padded = want.clone();
        padded.resize(want.len().max(60), 0);
        if f.errors != 0 || f.data != padded {
            return Err(Failure(format!(
                "{NIC_LABEL}: frame {i} ({} bytes) came back wrong: {} bytes, errors {:#x}",
                want.len(),
                f.data.len(),
                f.errors
            )));
        }
    }
    soc.run(2_000);
    let seen = tx_pins(soc, &mut vec![])?;
    phy::check_tx(&seen, regs::nic::MIN_IFG_BYTES as u64)?;
    if seen.len() != frames.len() {
        return Err(Failure(format!(
            "{NIC_LABEL}: {} frames on the PHY TX pins, {} sent",
            seen.len(),
            frames.len()
        )));
    }
    let min_gap = seen.iter().filter_map(|s| s.gap_before).min().unwrap_or(0);
    // The descriptor fetch and buffer read come some 30 cycles before the preamble.
    report.nic_view_at = Some(seen[0].start_cycle.saturating_sub(NIC_VIEW_LEAD));
    let stats = nic.stats(soc);
    let io = dma.iommu().read_counters(soc);
    nic.close(soc, dma)?;
    let left = dma.live_mappings(DeviceId::NIC).len();
    if left != 0 {
        return Err(Failure(format!(
            "{NIC_LABEL}: {left} NIC mappings left after close"
        )));
    }
    report.notes.push(format!(
        "NIC loopback (IOMMU on): {} frames of {:?} bytes sent and received byte for byte in \
         {cycles} cycles",
        frames.len(),
        LOOPBACK_LENGTHS
    ));
    report.notes.push(format!(
        "  PHY TX pins: 7 x 0x55 + SFD, good FCS on every frame, smallest gap {min_gap} bytes; \
         GPTC {} GPRC {}, {} interrupts; IOTLB {} hits, {} misses; no NIC mapping left after close",
        stats.hw.good_tx_packets,
        stats.hw.good_rx_packets,
        stats.hw.irqs,
        io.iotlb_hits,
        io.iotlb_misses
    ));
    Ok(())
}

/// How `--rx-pcap` replays a capture.
#[derive(Clone, Copy, Debug)]
pub struct ForwardOptions {
    /// Which frames end in their FCS.
    pub fcs: pcap::FcsChoice,
    /// Pad frames without FCS shorter than 60 bytes to 60 before the FCS.
    pub pad: bool,
    /// Longest frame forwarded, FCS included; above 1518 RCTL.LPE is on.
    pub max_frame: u32,
    /// Send the frames back to back at line rate instead of at their capture times.
    pub line_rate: bool,
}

/// The longest idle time between two replayed frames: a longer gap in the capture is
/// shortened to this (the NIC is long idle by then; one 16-bit pin symbol is held per cycle).
pub const MAX_GAP_CYCLES: u64 = 125_000;

/// Idle cycles after each frame so that frame i+1 starts at its capture time (relative to the
/// first frame's, at 8 ns per cycle), at least the minimum gap after frame i and at most
/// [`MAX_GAP_CYCLES`]; with `line_rate`, the minimum gap. Also returns how many gaps were
/// shortened.
fn replay_gaps(frames: &[pcap::PcapFrame], wire: &[usize], line_rate: bool) -> (Vec<usize>, usize) {
    let min = regs::nic::MIN_IFG_BYTES as u64;
    let mut gaps = vec![];
    let mut shortened = 0;
    // Cycle at which the replayed frame i starts, and the capture's.
    let mut at = 0u64;
    let t0 = frames.first().map_or(0, |f| f.cycle());
    for (i, &len) in wire.iter().enumerate() {
        // Preamble and SFD, then the frame.
        let end = at + regs::nic::PREAMBLE_BYTES as u64 + len as u64;
        let gap = match frames.get(i + 1) {
            Some(next) if !line_rate => {
                let want = next.cycle().saturating_sub(t0);
                // The capture's gap after this frame, from the replay's own position.
                let g = want.saturating_sub(end).max(min);
                if g > MAX_GAP_CYCLES {
                    shortened += 1;
                }
                g.min(MAX_GAP_CYCLES)
            }
            _ => min,
        };
        gaps.push(gap as usize);
        at = end + gap;
    }
    (gaps, shortened)
}

/// Why a frame of the capture is expected not to come back out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum DropKind {
    /// Bad FCS: the MAC counts it in CRCERRS and drops it.
    BadFcs,
    /// Under 64 bytes with the FCS: RUC.
    Runt,
    /// Over the MAC's limit (1518, or 16383 with RCTL.LPE): ROC.
    Oversize,
    /// Within the MAC's limit but over `--max-frame`: the app drops it.
    OverMaxFrame,
}

impl DropKind {
    const ALL: [DropKind; 4] = [
        DropKind::BadFcs,
        DropKind::Runt,
        DropKind::Oversize,
        DropKind::OverMaxFrame,
    ];

    fn label(self) -> &'static str {
        match self {
            DropKind::BadFcs => "bad FCS (CRCERRS)",
            DropKind::Runt => "runt (RUC)",
            DropKind::Oversize => "oversize (ROC)",
            DropKind::OverMaxFrame => "over --max-frame (dropped by the app)",
        }
    }
}

/// One capture frame as it goes onto the RX pins, and what should become of it.
struct Planned {
    /// The bytes after the SFD, FCS included.
    wire: Vec<u8>,
    /// Why it should not come back out (several may apply, as the MAC counts each); empty:
    /// it should, unchanged.
    drops: Vec<DropKind>,
    padded: bool,
}

/// The frames of a capture on the wire: as captured where they end in their FCS (a bad one
/// stays bad), else padded (unless `--no-pad`) with a good FCS appended.
fn plan(input: &[pcap::PcapFrame], fcs: &[bool], opts: &ForwardOptions) -> Vec<Planned> {
    let mac_limit = if opts.max_frame > regs::nic::MAX_FRAME {
        regs::nic::MAX_LONG_FRAME.min(regs::SocConfig::SIM.nic_fifo_bytes())
    } else {
        regs::nic::MAX_FRAME
    } as usize;
    input
        .iter()
        .zip(fcs)
        .map(|(f, &has_fcs)| {
            let min = regs::nic::MIN_FRAME_NO_FCS as usize;
            let pad = !has_fcs && opts.pad && f.data.len() < min;
            let wire = if has_fcs {
                f.data.clone()
            } else {
                let mut body = f.data.clone();
                if pad {
                    body.resize(min, 0);
                }
                frames::with_fcs(&body)
            };
            let mut drops = vec![];
            if !frames::fcs_ok(&wire) {
                drops.push(DropKind::BadFcs);
            }
            if wire.len() < regs::nic::MIN_FRAME as usize {
                drops.push(DropKind::Runt);
            }
            if wire.len() > mac_limit {
                drops.push(DropKind::Oversize);
            }
            if drops.is_empty() && wire.len() > opts.max_frame as usize {
                drops.push(DropKind::OverMaxFrame);
            }
            Planned {
                wire,
                drops,
                padded: pad,
            }
        })
        .collect()
}

/// io-forward: every frame of `capture` (read from `rx_pcap`, libpcap or pcapng) is driven onto the PHY RX pins as
/// [`plan`] says, the driver forwards every good frame back out, and every frame the PHY TX
/// pins carry is written, FCS included, to `tx_pcap`. Fails when a frame that should have come
/// back out did not (or came out changed), or when the NIC's error counters disagree with the
/// frames that should have been dropped.
/// The summary goes into `lines` as far as the run got, also when it fails.
pub fn forward(
    soc: &mut Soc,
    rx_pcap: &Path,
    capture: &pcap::Capture,
    tx_pcap: Option<&Path>,
    opts: &ForwardOptions,
    cpu_workload: sim::CpuWorkload,
    lines: &mut Vec<String>,
) -> Result<(), Failure> {
    let input = &capture.frames;
    if input.is_empty() {
        return Err(Failure(format!("{}: no frames", rx_pcap.display())));
    }
    let decision = pcap::decide_fcs(input, opts.fcs);
    let planned = plan(input, &decision.present, opts);
    let wire: Vec<usize> = planned.iter().map(|p| p.wire.len()).collect();
    let (gaps, shortened) = replay_gaps(input, &wire, opts.line_rate);
    let specs: Vec<RxFrameSpec> = planned
        .iter()
        .zip(&gaps)
        .map(|(p, &gap)| {
            let mut s = RxFrameSpec::new(p.wire.clone());
            s.fcs = FcsMode::None;
            s.gap_after = gap;
            s
        })
        .collect();
    let info = driver::probe(soc)?;
    let mut mm = PageAllocator::new(info.ram_bytes)?;
    mm.reserve(0, 1)?;
    let workload_bytes = cpu_workload.span_words * 4;
    mm.reserve(cpu_workload.base, workload_bytes.div_ceil(regs::PAGE_BYTES))?;
    let mut dma = Dma::init(soc, mm, super::scenario_dma())?;
    let long = opts.max_frame > regs::nic::MAX_FRAME;
    let mut nic = Nic::open(
        soc,
        &mut dma,
        NicConfig {
            long_packets: long,
            ..NicConfig::default()
        },
    )?;
    soc.set_cpu_workload(cpu_workload);
    soc.set_phy_tx_log(true);
    let symbols: Vec<u16> = encode_rx(&specs)
        .iter()
        .map(|s| u16::from(s.data) | u16::from(s.dv) << 8 | u16::from(s.er) << 9)
        .collect();
    let start = soc.now();
    soc.phy_rx_push(&symbols);
    let mut totals = driver::nic::ForwardStats::default();
    let mut log = vec![];
    let mut quiet_polls = 0;
    // Run until the wire is idle and nothing has moved for a while.
    while quiet_polls < 8 {
        if soc.now() - start > NIC_WATCHDOG + symbols.len() as u64 * 4 {
            return Err(Failure(format!(
                "forward: still busy after {} cycles; {}",
                soc.now() - start,
                soc.describe_state()
            )));
        }
        let fs = forward_once(&mut nic, soc, &mut dma, BUDGET, opts.max_frame as usize);
        if let Some(e) = fs.errors.first() {
            return Err(Failure(format!("forward: {e}")));
        }
        let moved = fs.received + fs.tx_completed;
        totals.received += fs.received;
        totals.forwarded += fs.forwarded;
        totals.dropped_bad += fs.dropped_bad;
        totals.dropped_too_long += fs.dropped_too_long;
        totals.dropped_ring_full += fs.dropped_ring_full;
        totals.dropped_other += fs.dropped_other;
        if moved == 0 && soc.phy_rx_pending() == 0 {
            quiet_polls += 1;
        } else {
            quiet_polls = 0;
        }
        soc.wait_irq(4_000);
    }
    let seen = tx_pins(soc, &mut log)?;
    // From the first RX symbol to the end of the last frame sent (not the quiet polls after).
    let cycles = seen.last().map_or(0, |s| s.end_cycle + 1 - start);
    let stats = nic.stats(soc);
    nic.close(soc, &mut dma)?;
    let fcs_good = seen.iter().filter(|s| s.fcs_ok).count();
    let expected: Vec<&Planned> = planned.iter().filter(|p| p.drops.is_empty()).collect();
    let count = |d: DropKind| planned.iter().filter(|p| p.drops.contains(&d)).count();
    let short = input
        .iter()
        .zip(&decision.present)
        .filter(|(f, &fcs)| !fcs && f.data.len() < regs::nic::MIN_FRAME_NO_FCS as usize)
        .count();
    lines.extend([
        format!(
            "forward: {} frames from {} ({}), IOMMU on, CPU at {} % bus load",
            input.len(),
            rx_pcap.display(),
            match capture.format {
                pcap::CaptureFormat::Pcap => "libpcap",
                pcap::CaptureFormat::PcapNg => "pcapng",
            },
            cpu_workload.load_per_65536 * 100 / 65536
        ),
        format!("  FCS: {}", decision.reason),
        if opts.line_rate {
            "  replayed back to back at line rate (--line-rate)".to_owned()
        } else {
            format!(
                "  replayed at the capture's times (8 ns per cycle; {shortened} idle gaps over \
                 {MAX_GAP_CYCLES} cycles shortened to it)"
            )
        },
        format!(
            "  frames under 60 bytes without FCS: {short}, {}",
            if opts.pad {
                format!(
                    "{} padded to 60 before the FCS (--no-pad sends them as runts)",
                    planned.iter().filter(|p| p.padded).count()
                )
            } else {
                "sent as they are (--no-pad)".to_owned()
            }
        ),
        format!(
            "  longest frame forwarded: {} bytes with FCS (RCTL.LPE {})",
            opts.max_frame,
            if long { "on" } else { "off" }
        ),
        format!(
            "  expected: {} forwarded; dropped: {}",
            expected.len(),
            DropKind::ALL
                .iter()
                .map(|&d| format!("{} {}", count(d), d.label()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!(
            "  received {} good + {} bad, forwarded {}, dropped {} (over --max-frame) + {} (TX ring full) + {} (other)",
            totals.received - totals.dropped_bad,
            totals.dropped_bad,
            totals.forwarded,
            totals.dropped_too_long,
            totals.dropped_ring_full,
            totals.dropped_other
        ),
        format!(
            "  PHY TX pins: {} frames, {fcs_good} with a good FCS, the last one done {cycles} \
             cycles after the first RX byte; \
             CRCERRS {} RUC {} ROC {} RXERRC {} MPC {}",
            seen.len(),
            stats.hw.crc_errors,
            stats.hw.runts,
            stats.hw.oversize,
            stats.hw.rx_errors,
            stats.hw.missed
        ),
    ]);
    phy::check_tx_timing(&seen, regs::nic::MIN_IFG_BYTES as u64)?;
    if let Some(out) = tx_pcap {
        let frames: Vec<Vec<u8>> = seen.iter().map(|s| s.bytes_after_sfd.clone()).collect();
        let cycles: Vec<u64> = seen.iter().map(|s| s.start_cycle).collect();
        pcap::write_frames(out, &frames, &cycles)?;
        lines.push(format!(
            "  wrote {} frames (FCS included, nanosecond timestamps at 8 ns per cycle) to {}",
            frames.len(),
            out.display()
        ));
    }
    if fcs_good != seen.len() {
        return Err(Failure(format!(
            "forward: {} of {} transmitted frames have a bad FCS",
            seen.len() - fcs_good,
            seen.len()
        )));
    }
    // Every frame that should have come back out did, unchanged and in order.
    let sent: Vec<&[u8]> = seen.iter().map(|s| &s.bytes_after_sfd[..]).collect();
    let want: Vec<&[u8]> = expected.iter().map(|p| &p.wire[..]).collect();
    if sent != want {
        let first = sent.iter().zip(&want).position(|(a, b)| a != b);
        // Frames the NIC had no room for (RX FIFO full: MPC; no RX descriptor: RNBC) or the
        // driver had no TX descriptor for: the replay outran the driver.
        let overload =
            if stats.hw.missed + stats.hw.rx_no_buffer + totals.dropped_ring_full as u64 > 0 {
                format!(
                    " (overload: MPC {}, RNBC {}, TX ring full {}: the frames came faster than \
                 the driver forwarded them; the capture's own timing is replayed unless \
                 --line-rate)",
                    stats.hw.missed, stats.hw.rx_no_buffer, totals.dropped_ring_full
                )
            } else {
                String::new()
            };
        return Err(Failure(format!(
            "forward: {} frames should have come back out, {} did{}{overload}",
            want.len(),
            sent.len(),
            match first {
                Some(i) => format!("; frame {i} of the output differs from what was expected"),
                None => String::new(),
            }
        )));
    }
    let hw = [
        ("CRCERRS", stats.hw.crc_errors, count(DropKind::BadFcs)),
        ("RUC", stats.hw.runts, count(DropKind::Runt)),
        ("ROC", stats.hw.oversize, count(DropKind::Oversize)),
    ];
    for (name, got, want) in hw {
        if got != want as u64 {
            return Err(Failure(format!(
                "forward: {name} counted {got} frames where the capture has {want}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::time::Duration;

    fn at(cycle: u64) -> pcap::PcapFrame {
        pcap::PcapFrame {
            data: vec![],
            ts: Duration::from_nanos(cycle * sim::CYCLE_NS),
            fcs_len: None,
        }
    }

    #[test]
    fn replay_keeps_the_capture_times_within_the_minimum_and_maximum_gap() {
        // Frames of 64 bytes on the wire (72 cycles with preamble and SFD), captured at
        // cycles 1000, 2000 (so 1000 cycles apart), 2050 (closer than the frame itself) and a
        // second later.
        let frames = [at(1000), at(2000), at(2050), at(2000 + 125_000_000)];
        let (gaps, shortened) = replay_gaps(&frames, &[64; 4], false);
        let min = regs::nic::MIN_IFG_BYTES as usize;
        // Frame 1 starts at 1000 - 1000 = 1000 after frame 0's start: gap 1000 - 72.
        // Frame 2 wanted at 1050 but frame 1 ends at 1072: the minimum gap.
        assert_eq!(gaps, vec![1000 - 72, min, MAX_GAP_CYCLES as usize, min]);
        assert_eq!(shortened, 1);
        let (gaps, shortened) = replay_gaps(&frames, &[64; 4], true);
        assert_eq!((gaps, shortened), (vec![min; 4], 0));
    }
}
