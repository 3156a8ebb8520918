//! The PHY model: the testbench standing in for the wire on the MAC's GMII-like pins (8-bit
//! data, valid, error; one byte per clock enable).
//!
//! - RX (model → MAC RX pins): [`encode_rx`] turns [`RxFrameSpec`]s into one [`PinSymbol`] per
//!   cycle: preamble, SFD, the frame, its FCS (good, bad or none), an optional `rx_er`, then the
//!   idle gap.
//! - TX (MAC TX pins → frames): the harness hands over the cycles on which `tx_en` or `tx_er`
//!   was set as [`TxSample`]s; [`decode_tx`] cuts them into frames ([`TxFrameSeen`]) and
//!   [`check_tx_timing`] checks preamble, SFD and the inter-frame gap.

use crate::frames;
use regs::nic::{MIN_IFG_BYTES, PREAMBLE_BYTE, PREAMBLE_BYTES, SFD_BYTE};
use std::fmt;

/// 0x55 bytes before the SFD in a standard preamble.
pub const PREAMBLE_LEN: usize = PREAMBLE_BYTES as usize - 1;
/// Minimum inter-frame gap, in byte times (cycles).
pub const MIN_IFG: usize = MIN_IFG_BYTES as usize;

/// The RX pins during one cycle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PinSymbol {
    pub data: u8,
    pub dv: bool,
    pub er: bool,
}

impl PinSymbol {
    /// Nothing on the wire.
    pub const IDLE: PinSymbol = PinSymbol {
        data: 0,
        dv: false,
        er: false,
    };

    /// A data byte with `dv` set.
    pub const fn byte(data: u8) -> PinSymbol {
        PinSymbol {
            data,
            dv: true,
            er: false,
        }
    }
}

/// What goes after the frame's bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FcsMode {
    /// The correct FCS.
    #[default]
    Good,
    /// The correct FCS with its first bit (bit 0 of the first FCS byte on the wire) flipped.
    Bad,
    /// Nothing: the bytes already end with whatever FCS the test wants.
    None,
}

/// One frame to put on the MAC's RX pins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RxFrameSpec {
    /// The frame without FCS (unless `fcs` is [`FcsMode::None`]).
    pub bytes: Vec<u8>,
    pub fcs: FcsMode,
    /// Assert `rx_er` on this byte, counted from the first byte after the SFD (the FCS bytes
    /// follow `bytes`); it must lie inside the frame.
    pub rx_er_at: Option<usize>,
    /// 0x55 bytes before the SFD (standard: [`PREAMBLE_LEN`] = 7).
    pub preamble_bytes: usize,
    /// The start-of-frame delimiter (standard: 0xD5).
    pub sfd: u8,
    /// Idle cycles after the frame (standard minimum: [`MIN_IFG`] = 12).
    pub gap_after: usize,
}

impl Default for RxFrameSpec {
    fn default() -> Self {
        RxFrameSpec {
            bytes: vec![],
            fcs: FcsMode::Good,
            rx_er_at: None,
            preamble_bytes: PREAMBLE_LEN,
            sfd: SFD_BYTE,
            gap_after: MIN_IFG,
        }
    }
}

impl RxFrameSpec {
    /// A well-formed frame: standard preamble, good FCS, minimum gap.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        RxFrameSpec {
            bytes: bytes.into(),
            ..Default::default()
        }
    }

    /// The bytes after the SFD, FCS included.
    pub fn wire_bytes(&self) -> Vec<u8> {
        match self.fcs {
            FcsMode::Good => frames::with_fcs(&self.bytes),
            FcsMode::Bad => {
                let mut v = frames::with_fcs(&self.bytes);
                let n = v.len();
                v[n - frames::FCS_LEN] ^= 1;
                v
            }
            FcsMode::None => self.bytes.clone(),
        }
    }

    /// Cycles this frame occupies on the pins: preamble, SFD, bytes, FCS and gap.
    pub fn cycles(&self) -> usize {
        self.preamble_bytes + 1 + self.wire_bytes().len() + self.gap_after
    }
}

/// The RX pin activity for `specs`, back to back, one symbol per cycle (each frame followed by
/// its gap; nothing before the first).
///
/// Panics if an `rx_er_at` lies outside its frame.
pub fn encode_rx(specs: &[RxFrameSpec]) -> Vec<PinSymbol> {
    let mut out = Vec::with_capacity(specs.iter().map(RxFrameSpec::cycles).sum());
    for (i, spec) in specs.iter().enumerate() {
        let bytes = spec.wire_bytes();
        if let Some(at) = spec.rx_er_at {
            assert!(
                at < bytes.len(),
                "frame {i}: rx_er_at {at} beyond its {} bytes",
                bytes.len()
            );
        }
        out.extend(std::iter::repeat_n(
            PinSymbol::byte(PREAMBLE_BYTE),
            spec.preamble_bytes,
        ));
        out.push(PinSymbol::byte(spec.sfd));
        out.extend(bytes.iter().enumerate().map(|(j, &data)| PinSymbol {
            data,
            dv: true,
            er: spec.rx_er_at == Some(j),
        }));
        out.extend(std::iter::repeat_n(PinSymbol::IDLE, spec.gap_after));
    }
    out
}

/// Cycles one frame takes at line rate: preamble and SFD (8), the frame with its FCS, and the
/// gap.
pub fn line_rate_cycles(frame_len_with_fcs: usize, ifg: usize) -> u64 {
    (PREAMBLE_BYTES as usize + frame_len_with_fcs + ifg) as u64
}

/// The TX pins on one cycle on which `tx_en` or `tx_er` was set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxSample {
    pub cycle: u64,
    pub data: u8,
    pub en: bool,
    pub er: bool,
}

/// One frame seen on the TX pins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxFrameSeen {
    /// Cycle of the first byte (the first preamble byte).
    pub start_cycle: u64,
    /// Cycle of the last byte.
    pub end_cycle: u64,
    /// Exactly 7 × 0x55 then 0xD5.
    pub preamble_ok: bool,
    /// How many 0x55 bytes the frame started with.
    pub preamble_len: usize,
    /// The byte after them, taken as the SFD (`None` if the frame was all 0x55).
    pub sfd: Option<u8>,
    /// Everything after the SFD, FCS included.
    pub bytes_after_sfd: Vec<u8>,
    /// The last four bytes are the FCS of the rest.
    pub fcs_ok: bool,
    /// Idle cycles since the previous frame's last byte (`None` for the first frame).
    pub gap_before: Option<u64>,
    /// First cycle of the frame on which `tx_er` was also set.
    pub er_cycle: Option<u64>,
}

impl TxFrameSeen {
    /// The frame without its FCS (what the driver handed over, padded).
    pub fn frame(&self) -> &[u8] {
        let n = self.bytes_after_sfd.len();
        &self.bytes_after_sfd[..n.saturating_sub(frames::FCS_LEN)]
    }

    /// Cycles on the wire, preamble to last byte.
    pub fn len_cycles(&self) -> u64 {
        self.end_cycle - self.start_cycle + 1
    }
}

/// Something wrong on the TX pins. `frame` counts from 0 in the decoded list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhyError {
    /// Samples must come in strictly increasing cycle order.
    CycleOrder { index: usize, cycle: u64, prev: u64 },
    /// `tx_er` without `tx_en` (carrier extension or error propagation outside a frame).
    ErOutsideFrame { cycle: u64 },
    /// `tx_er` during a frame.
    ErInFrame { frame: usize, cycle: u64 },
    /// Not 7 × 0x55 then 0xD5.
    BadPreamble {
        frame: usize,
        start_cycle: u64,
        preamble_len: usize,
        sfd: Option<u8>,
    },
    /// Fewer idle cycles than the minimum inter-frame gap.
    ShortGap {
        frame: usize,
        start_cycle: u64,
        gap: u64,
        min: u64,
    },
    /// The FCS does not match.
    BadFcs { frame: usize, start_cycle: u64 },
}

impl fmt::Display for PhyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhyError::CycleOrder { index, cycle, prev } => write!(
                f,
                "TX sample {index} at cycle {cycle} does not come after cycle {prev}"
            ),
            PhyError::ErOutsideFrame { cycle } => {
                write!(f, "tx_er without tx_en at cycle {cycle}")
            }
            PhyError::ErInFrame { frame, cycle } => {
                write!(f, "TX frame {frame}: tx_er at cycle {cycle}")
            }
            PhyError::BadPreamble {
                frame,
                start_cycle,
                preamble_len,
                sfd,
            } => write!(
                f,
                "TX frame {frame} at cycle {start_cycle}: preamble of {preamble_len} × 0x55 then \
                 SFD {}, want {PREAMBLE_LEN} × 0x55 then 0xd5",
                sfd.map_or("missing".to_string(), |b| format!("{b:#04x}"))
            ),
            PhyError::ShortGap {
                frame,
                start_cycle,
                gap,
                min,
            } => write!(
                f,
                "TX frame {frame} at cycle {start_cycle}: gap of {gap} idle cycles, minimum {min}"
            ),
            PhyError::BadFcs { frame, start_cycle } => {
                write!(f, "TX frame {frame} at cycle {start_cycle}: bad FCS")
            }
        }
    }
}

impl std::error::Error for PhyError {}

/// Cuts the TX samples into frames: a frame is a maximal run of consecutive cycles with
/// `tx_en`. Fails on samples out of cycle order and on `tx_er` outside a frame.
pub fn decode_tx(samples: &[TxSample]) -> Result<Vec<TxFrameSeen>, PhyError> {
    for (index, w) in samples.windows(2).enumerate() {
        if w[1].cycle <= w[0].cycle {
            return Err(PhyError::CycleOrder {
                index: index + 1,
                cycle: w[1].cycle,
                prev: w[0].cycle,
            });
        }
    }
    if let Some(s) = samples.iter().find(|s| s.er && !s.en) {
        return Err(PhyError::ErOutsideFrame { cycle: s.cycle });
    }
    let mut frames_seen: Vec<TxFrameSeen> = vec![];
    let mut run: Vec<&TxSample> = vec![];
    let mut prev_end: Option<u64> = None;
    let mut flush = |run: &mut Vec<&TxSample>, frames_seen: &mut Vec<TxFrameSeen>| {
        if run.is_empty() {
            return;
        }
        let start_cycle = run[0].cycle;
        let end_cycle = run[run.len() - 1].cycle;
        let bytes: Vec<u8> = run.iter().map(|s| s.data).collect();
        let preamble_len = bytes.iter().take_while(|&&b| b == PREAMBLE_BYTE).count();
        let sfd = bytes.get(preamble_len).copied();
        let bytes_after_sfd = bytes.get(preamble_len + 1..).unwrap_or(&[]).to_vec();
        frames_seen.push(TxFrameSeen {
            start_cycle,
            end_cycle,
            preamble_ok: preamble_len == PREAMBLE_LEN && sfd == Some(SFD_BYTE),
            preamble_len,
            sfd,
            fcs_ok: frames::fcs_ok(&bytes_after_sfd),
            bytes_after_sfd,
            gap_before: prev_end.map(|e| start_cycle - e - 1),
            er_cycle: run.iter().find(|s| s.er).map(|s| s.cycle),
        });
        prev_end = Some(end_cycle);
        run.clear();
    };
    for s in samples.iter().filter(|s| s.en) {
        if run.last().is_some_and(|l| l.cycle + 1 != s.cycle) {
            flush(&mut run, &mut frames_seen);
        }
        run.push(s);
    }
    flush(&mut run, &mut frames_seen);
    Ok(frames_seen)
}

/// The wire rules for decoded TX frames: every frame has the standard preamble and SFD and no
/// `tx_er`, and every gap is at least `min_ifg` idle cycles. The first error found, in frame
/// order.
pub fn check_tx_timing(frames_seen: &[TxFrameSeen], min_ifg: u64) -> Result<(), PhyError> {
    for (frame, f) in frames_seen.iter().enumerate() {
        if !f.preamble_ok {
            return Err(PhyError::BadPreamble {
                frame,
                start_cycle: f.start_cycle,
                preamble_len: f.preamble_len,
                sfd: f.sfd,
            });
        }
        if let Some(gap) = f.gap_before.filter(|&g| g < min_ifg) {
            return Err(PhyError::ShortGap {
                frame,
                start_cycle: f.start_cycle,
                gap,
                min: min_ifg,
            });
        }
        if let Some(cycle) = f.er_cycle {
            return Err(PhyError::ErInFrame { frame, cycle });
        }
    }
    Ok(())
}

/// [`check_tx_timing`] and every FCS good.
pub fn check_tx(frames_seen: &[TxFrameSeen], min_ifg: u64) -> Result<(), PhyError> {
    check_tx_timing(frames_seen, min_ifg)?;
    match frames_seen.iter().position(|f| !f.fcs_ok) {
        Some(frame) => Err(PhyError::BadFcs {
            frame,
            start_cycle: frames_seen[frame].start_cycle,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::{random_frame, with_fcs, FrameGen};
    use pretty_assertions::assert_eq;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// What a software MAC RX makes of the pins: (frame without FCS, FCS good, rx_er seen,
    /// preamble + SFD standard).
    #[derive(Debug, PartialEq)]
    struct Received {
        frame: Vec<u8>,
        fcs_ok: bool,
        er: bool,
        preamble_ok: bool,
    }

    fn soft_mac_rx(pins: &[PinSymbol]) -> Vec<Received> {
        let mut out = vec![];
        let mut cur: Option<(Vec<u8>, bool)> = None;
        for p in pins.iter().chain(std::iter::once(&PinSymbol::IDLE)) {
            match (&mut cur, p.dv) {
                (None, true) => cur = Some((vec![p.data], p.er)),
                (Some((bytes, er)), true) => {
                    bytes.push(p.data);
                    *er |= p.er;
                }
                (Some(_), false) => {
                    let (bytes, er) = cur.take().unwrap();
                    let pre = bytes.iter().take_while(|&&b| b == 0x55).count();
                    let preamble_ok = pre == 7 && bytes.get(7) == Some(&0xD5);
                    let body = &bytes[(pre + 1).min(bytes.len())..];
                    out.push(Received {
                        frame: body[..body.len().saturating_sub(4)].to_vec(),
                        fcs_ok: frames::fcs_ok(body),
                        er,
                        preamble_ok,
                    });
                }
                (None, false) => {}
            }
        }
        out
    }

    #[test]
    fn encode_rx_then_soft_mac_gets_the_frames() {
        let mut gen = FrameGen::new(StdRng::seed_from_u64(10));
        let fs: Vec<Vec<u8>> = (0..20).map(|_| gen.frame_in(60..=1514)).collect();
        let specs: Vec<RxFrameSpec> = fs.iter().map(|f| RxFrameSpec::new(f.clone())).collect();
        let pins = encode_rx(&specs);
        let total: u64 = fs.iter().map(|f| line_rate_cycles(f.len() + 4, 12)).sum();
        assert_eq!(pins.len() as u64, total);
        let got = soft_mac_rx(&pins);
        let want: Vec<Received> = fs
            .iter()
            .map(|f| Received {
                frame: f.clone(),
                fcs_ok: true,
                er: false,
                preamble_ok: true,
            })
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn encode_rx_layout_and_error_modes() {
        let mut rng = StdRng::seed_from_u64(11);
        let f = random_frame(&mut rng, 0, 60);
        let specs = vec![
            RxFrameSpec {
                fcs: FcsMode::Bad,
                ..RxFrameSpec::new(f.clone())
            },
            RxFrameSpec {
                rx_er_at: Some(20),
                gap_after: 3,
                ..RxFrameSpec::new(f.clone())
            },
            RxFrameSpec {
                fcs: FcsMode::None,
                preamble_bytes: 2,
                sfd: 0xD4,
                gap_after: 0,
                ..RxFrameSpec::new(with_fcs(&f))
            },
        ];
        let pins = encode_rx(&specs);
        // First frame: 7 × 0x55, SFD, 60 + 4 bytes, 12 idle.
        assert!(pins[..7].iter().all(|p| *p == PinSymbol::byte(0x55)));
        assert_eq!(pins[7], PinSymbol::byte(0xD5));
        assert_eq!(pins[8].data, f[0]);
        let fcs0 = frames::fcs(&f).to_le_bytes();
        assert_eq!(pins[68].data, fcs0[0] ^ 1, "bad FCS flips bit 0");
        assert_eq!(pins[69].data, fcs0[1]);
        assert!(pins[72..84].iter().all(|p| *p == PinSymbol::IDLE));
        // Second frame: rx_er on byte 20 after the SFD only.
        let second = &pins[84..84 + 72];
        let er: Vec<usize> = (0..second.len()).filter(|&i| second[i].er).collect();
        assert_eq!(er, vec![8 + 20]);
        assert_eq!(pins.len(), 84 + 75 + 67);
        let got = soft_mac_rx(&pins);
        assert_eq!(got.len(), 3);
        assert_eq!((got[0].fcs_ok, got[0].er), (false, false));
        assert_eq!((got[1].fcs_ok, got[1].er), (true, true));
        assert_eq!(got[2].preamble_ok, false);
        assert_eq!(specs[2].cycles(), 67);
    }

    #[test]
    #[should_panic(expected = "rx_er_at 64 beyond its 64 bytes")]
    fn encode_rx_rejects_er_outside_frame() {
        encode_rx(&[RxFrameSpec {
            rx_er_at: Some(64),
            ..RxFrameSpec::new(vec![0; 60])
        }]);
    }

    /// TX samples for frames sent back to back: (preamble bytes, SFD, bytes after SFD, gap
    /// after).
    fn tx_stream(start: u64, frames_spec: &[(usize, u8, Vec<u8>, u64)]) -> Vec<TxSample> {
        let mut cycle = start;
        let mut out = vec![];
        for (pre, sfd, bytes, gap) in frames_spec {
            let wire = std::iter::repeat_n(0x55, *pre)
                .chain(std::iter::once(*sfd))
                .chain(bytes.iter().copied());
            for data in wire {
                out.push(TxSample {
                    cycle,
                    data,
                    en: true,
                    er: false,
                });
                cycle += 1;
            }
            cycle += gap;
        }
        out
    }

    fn good_frames(n: usize) -> Vec<Vec<u8>> {
        let mut gen = FrameGen::new(StdRng::seed_from_u64(12));
        (0..n).map(|_| with_fcs(&gen.frame_in(60..=300))).collect()
    }

    #[test]
    fn decode_tx_good_stream() {
        let fs = good_frames(5);
        let spec: Vec<_> = fs.iter().map(|f| (7, 0xD5, f.clone(), 12)).collect();
        let seen = decode_tx(&tx_stream(1000, &spec)).unwrap();
        assert_eq!(seen.len(), 5);
        let mut start = 1000;
        for (i, (s, f)) in seen.iter().zip(&fs).enumerate() {
            assert_eq!(s.start_cycle, start);
            assert_eq!(s.len_cycles(), 8 + f.len() as u64);
            assert!(s.preamble_ok);
            assert!(s.fcs_ok);
            assert_eq!(&s.bytes_after_sfd, f);
            assert_eq!(s.frame(), &f[..f.len() - 4]);
            assert_eq!(s.gap_before, if i == 0 { None } else { Some(12) });
            start += line_rate_cycles(f.len(), 12);
        }
        assert_eq!(check_tx(&seen, 12), Ok(()));
    }

    #[test]
    fn decode_tx_catches_short_preamble() {
        let fs = good_frames(2);
        let seen = decode_tx(&tx_stream(
            0,
            &[(7, 0xD5, fs[0].clone(), 12), (6, 0xD5, fs[1].clone(), 0)],
        ))
        .unwrap();
        assert!(!seen[1].preamble_ok);
        assert_eq!(seen[1].preamble_len, 6);
        assert_eq!(
            &seen[1].bytes_after_sfd, &fs[1],
            "data still found after a short preamble"
        );
        let err = check_tx_timing(&seen, 12).unwrap_err();
        assert_eq!(
            err,
            PhyError::BadPreamble {
                frame: 1,
                start_cycle: 8 + fs[0].len() as u64 + 12,
                preamble_len: 6,
                sfd: Some(0xD5)
            }
        );
        assert!(
            err.to_string()
                .contains("preamble of 6 × 0x55 then SFD 0xd5"),
            "{err}"
        );
    }

    #[test]
    fn decode_tx_catches_long_preamble_and_bad_sfd() {
        let fs = good_frames(1);
        let seen = decode_tx(&tx_stream(0, &[(8, 0xD5, fs[0].clone(), 0)])).unwrap();
        assert!(!seen[0].preamble_ok);
        let seen = decode_tx(&tx_stream(5, &[(7, 0xD4, fs[0].clone(), 0)])).unwrap();
        assert!(!seen[0].preamble_ok);
        assert_eq!(seen[0].sfd, Some(0xD4));
        assert_eq!(
            check_tx_timing(&seen, 12),
            Err(PhyError::BadPreamble {
                frame: 0,
                start_cycle: 5,
                preamble_len: 7,
                sfd: Some(0xD4)
            })
        );
        // All preamble, no SFD at all.
        let seen = decode_tx(&tx_stream(0, &[(5, 0x55, vec![], 0)])).unwrap();
        assert_eq!((seen[0].preamble_len, seen[0].sfd), (6, None));
        assert!(seen[0].bytes_after_sfd.is_empty());
        assert!(!seen[0].fcs_ok);
    }

    #[test]
    fn decode_tx_catches_short_gap() {
        let fs = good_frames(3);
        let stream = tx_stream(
            0,
            &[
                (7, 0xD5, fs[0].clone(), 12),
                (7, 0xD5, fs[1].clone(), 11),
                (7, 0xD5, fs[2].clone(), 0),
            ],
        );
        let seen = decode_tx(&stream).unwrap();
        assert_eq!(
            seen.iter().map(|f| f.gap_before).collect::<Vec<_>>(),
            vec![None, Some(12), Some(11)]
        );
        assert!(matches!(
            check_tx_timing(&seen, 12),
            Err(PhyError::ShortGap {
                frame: 2,
                gap: 11,
                min: 12,
                ..
            })
        ));
        assert_eq!(check_tx_timing(&seen, 11), Ok(()));
        // A gap of one idle cycle still splits the frames.
        let seen = decode_tx(&tx_stream(
            0,
            &[(7, 0xD5, fs[0].clone(), 1), (7, 0xD5, fs[1].clone(), 0)],
        ))
        .unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[1].gap_before, Some(1));
    }

    #[test]
    fn decode_tx_catches_bad_fcs() {
        let fs = good_frames(2);
        let mut bad = fs[1].clone();
        *bad.last_mut().unwrap() ^= 0x80;
        let seen = decode_tx(&tx_stream(
            0,
            &[(7, 0xD5, fs[0].clone(), 12), (7, 0xD5, bad, 0)],
        ))
        .unwrap();
        assert_eq!(
            seen.iter().map(|f| f.fcs_ok).collect::<Vec<_>>(),
            vec![true, false]
        );
        assert_eq!(check_tx_timing(&seen, 12), Ok(()), "timing is fine");
        assert!(matches!(
            check_tx(&seen, 12),
            Err(PhyError::BadFcs { frame: 1, .. })
        ));
    }

    #[test]
    fn decode_tx_er_and_order_errors() {
        let fs = good_frames(1);
        let mut stream = tx_stream(0, &[(7, 0xD5, fs[0].clone(), 0)]);
        stream[30].er = true;
        let seen = decode_tx(&stream).unwrap();
        assert_eq!(seen[0].er_cycle, Some(30));
        assert_eq!(
            check_tx_timing(&seen, 12),
            Err(PhyError::ErInFrame {
                frame: 0,
                cycle: 30
            })
        );
        let last = stream.last().unwrap().cycle;
        stream.push(TxSample {
            cycle: last + 5,
            data: 0x0F,
            en: false,
            er: true,
        });
        assert_eq!(
            decode_tx(&stream),
            Err(PhyError::ErOutsideFrame { cycle: last + 5 })
        );
        let mut stream = tx_stream(0, &[(7, 0xD5, fs[0].clone(), 0)]);
        stream.swap(3, 4);
        assert!(matches!(
            decode_tx(&stream),
            Err(PhyError::CycleOrder { index: 4, .. })
        ));
        assert_eq!(decode_tx(&[]), Ok(vec![]));
    }

    #[test]
    fn rx_encoding_decodes_as_tx() {
        // The two directions agree: RX pins replayed as TX samples decode to the same frames.
        let fs = good_frames(4);
        let specs: Vec<_> = fs
            .iter()
            .enumerate()
            .map(|(i, f)| RxFrameSpec {
                fcs: FcsMode::None,
                gap_after: 12 + i,
                ..RxFrameSpec::new(f.clone())
            })
            .collect();
        let samples: Vec<TxSample> = encode_rx(&specs)
            .iter()
            .enumerate()
            .filter(|(_, p)| p.dv || p.er)
            .map(|(c, p)| TxSample {
                cycle: c as u64,
                data: p.data,
                en: p.dv,
                er: p.er,
            })
            .collect();
        let seen = decode_tx(&samples).unwrap();
        assert_eq!(
            seen.iter()
                .map(|f| f.bytes_after_sfd.clone())
                .collect::<Vec<_>>(),
            fs
        );
        assert_eq!(
            seen.iter().map(|f| f.gap_before).collect::<Vec<_>>(),
            vec![None, Some(12), Some(13), Some(14)]
        );
        assert_eq!(check_tx(&seen, MIN_IFG as u64), Ok(()));
    }
}
