//! Ethernet frames as the testbench sees them: the FCS (CRC-32) reference, random test frames
//! that carry a sequence number, and a scoreboard that compares what came out of the NIC with
//! what went in.
//!
//! The FCS reference is the `crc` crate's `CRC_32_ISO_HDLC`, independent of the RTL's own CRC.
//! It goes on the wire least significant byte first, so a frame with its FCS is
//! `frame ++ fcs(frame).to_le_bytes()`.

use crc::{Crc, CRC_32_ISO_HDLC};
use rand::Rng;
use std::fmt;

/// The Ethernet FCS: CRC-32 as in IEEE 802.3 (reflected, init and final XOR all ones).
pub const ETHERNET_CRC: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// Bytes of the FCS on the wire.
pub const FCS_LEN: usize = regs::nic::FCS_BYTES as usize;
/// Destination MAC, source MAC and EtherType.
pub const HEADER_LEN: usize = 14;
/// The EtherType of frames made by [`random_frame`]: IEEE 802 "local experimental 1".
pub const TEST_ETHERTYPE: u16 = 0x88B5;
/// Header plus the 4-byte sequence number: the shortest frame that carries the whole number.
pub const MIN_SEQ_FRAME: usize = HEADER_LEN + 4;

/// The FCS of `frame` (which does not contain one).
pub fn fcs(frame: &[u8]) -> u32 {
    ETHERNET_CRC.checksum(frame)
}

/// `frame` with its FCS appended, least significant byte first.
pub fn with_fcs(frame: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(frame.len() + FCS_LEN);
    v.extend_from_slice(frame);
    v.extend_from_slice(&fcs(frame).to_le_bytes());
    v
}

/// The last four bytes of `frame_with_fcs` are the FCS of the bytes before them. False for
/// anything shorter than an FCS.
pub fn fcs_ok(frame_with_fcs: &[u8]) -> bool {
    if frame_with_fcs.len() < FCS_LEN {
        return false;
    }
    let (body, tail) = frame_with_fcs.split_at(frame_with_fcs.len() - FCS_LEN);
    tail == fcs(body).to_le_bytes()
}

/// A random test frame of `len` bytes (no FCS): a random unicast, locally administered
/// destination and source MAC, EtherType [`TEST_ETHERTYPE`], then `seq` big-endian, then random
/// payload. Frames shorter than [`MIN_SEQ_FRAME`] are the first `len` bytes of such a frame
/// (for runt tests); [`frame_seq`] reads the number back.
pub fn random_frame<R: Rng + ?Sized>(rng: &mut R, seq: u32, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len.max(MIN_SEQ_FRAME)];
    rng.fill(&mut f[..12]);
    // Unicast (I/G bit clear), locally administered (U/L bit set).
    f[0] = (f[0] & !0x01) | 0x02;
    f[6] = (f[6] & !0x01) | 0x02;
    f[12..14].copy_from_slice(&TEST_ETHERTYPE.to_be_bytes());
    f[14..18].copy_from_slice(&seq.to_be_bytes());
    rng.fill(&mut f[MIN_SEQ_FRAME..]);
    f.truncate(len);
    f
}

/// The sequence number of a frame made by [`random_frame`] (with or without its FCS), if it
/// has the test EtherType and is long enough.
pub fn frame_seq(frame: &[u8]) -> Option<u32> {
    if frame.len() < MIN_SEQ_FRAME || frame[12..14] != TEST_ETHERTYPE.to_be_bytes() {
        return None;
    }
    Some(u32::from_be_bytes(frame[14..18].try_into().unwrap()))
}

/// Makes numbered random frames: the sequence number counts up from 0, so every frame is
/// distinguishable and a scoreboard can tell a reordered frame from a corrupted one.
pub struct FrameGen<R: Rng> {
    pub rng: R,
    pub next_seq: u32,
}

impl<R: Rng> FrameGen<R> {
    pub fn new(rng: R) -> Self {
        FrameGen { rng, next_seq: 0 }
    }

    /// The next frame, `len` bytes without FCS.
    pub fn frame(&mut self, len: usize) -> Vec<u8> {
        let f = random_frame(&mut self.rng, self.next_seq, len);
        self.next_seq = self.next_seq.wrapping_add(1);
        f
    }

    /// The next frame with a random length in `lens` (without FCS).
    pub fn frame_in(&mut self, lens: std::ops::RangeInclusive<usize>) -> Vec<u8> {
        let len = self.rng.gen_range(lens);
        self.frame(len)
    }
}

/// A hex dump of `expected` against `got` around their first difference, in the style of
/// `pretty_assertions`: equal rows start with a space, differing rows show the expected row
/// (`-`), the received row (`+`) and a `^` under each differing byte. `None` if they are equal.
pub fn hex_diff(expected: &[u8], got: &[u8]) -> Option<String> {
    const ROW: usize = 16;
    const CONTEXT_ROWS: usize = 2;
    const SHOWN_ROWS: usize = 8;
    let first = first_difference(expected, got)?;
    let differing = (0..expected.len().max(got.len()))
        .filter(|&i| expected.get(i) != got.get(i))
        .count();
    let mut s = format!(
        "first difference at byte {first} of {} expected / {} received ({differing} bytes differ)\n",
        expected.len(),
        got.len()
    );
    let row_text = |data: &[u8], start: usize| -> String {
        (start..start + ROW)
            .map(|i| data.get(i).map_or("  ".to_string(), |b| format!("{b:02x}")))
            .collect::<Vec<_>>()
            .join(" ")
            .trim_end()
            .to_string()
    };
    let first_row = (first / ROW).saturating_sub(CONTEXT_ROWS);
    let end_rows = expected.len().max(got.len()).div_ceil(ROW);
    for row in first_row..end_rows.min(first_row + SHOWN_ROWS) {
        let start = row * ROW;
        let (e, g) = (row_text(expected, start), row_text(got, start));
        if e == g {
            s += &format!(" {start:04x}: {e}\n");
        } else {
            let marks: String = (start..start + ROW)
                .map(|i| {
                    if expected.get(i) != got.get(i) {
                        "^^"
                    } else {
                        "  "
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
            s += &format!(
                "-{start:04x}: {e}\n+{start:04x}: {g}\n       {}\n",
                marks.trim_end()
            );
        }
    }
    if end_rows > first_row + SHOWN_ROWS {
        s += &format!(" ... {} more rows\n", end_rows - first_row - SHOWN_ROWS);
    }
    Some(s)
}

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => Some(i),
        None if a.len() != b.len() => Some(a.len().min(b.len())),
        None => None,
    }
}

/// What the scoreboard found wrong. Indices count from 0: `expected` in the order
/// [`FrameScoreboard::expect`] was called, `received` in the order of
/// [`FrameScoreboard::offer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// Byte-exact, but ahead of `next_expected`, which has not been seen yet.
    Reordered {
        expected: usize,
        received: usize,
        next_expected: usize,
    },
    /// Taken to be `expected` (same sequence number, or mostly the same bytes) but different.
    Corrupted {
        expected: usize,
        received: usize,
        diff: String,
    },
    /// Matches nothing that was expected (or was already received: a duplicate).
    Unexpected {
        received: usize,
        len: usize,
        seq: Option<u32>,
    },
    /// Expected but never received (reported by [`FrameScoreboard::finish`]).
    Missing {
        expected: usize,
        len: usize,
        seq: Option<u32>,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = |s: &Option<u32>| s.map_or(String::new(), |s| format!(", seq {s}"));
        match self {
            Mismatch::Reordered {
                expected,
                received,
                next_expected,
            } => write!(
                f,
                "reordered: received #{received} is expected #{expected}, \
                 but expected #{next_expected} has not arrived yet"
            ),
            Mismatch::Corrupted {
                expected,
                received,
                diff,
            } => write!(
                f,
                "corrupted: received #{received} differs from expected #{expected}: {}",
                diff.lines().next().unwrap_or("")
            ),
            Mismatch::Unexpected {
                received,
                len,
                seq: s,
            } => {
                write!(
                    f,
                    "unexpected: received #{received} ({len} bytes{})",
                    seq(s)
                )
            }
            Mismatch::Missing {
                expected,
                len,
                seq: s,
            } => {
                write!(f, "missing: expected #{expected} ({len} bytes{})", seq(s))
            }
        }
    }
}

/// Compares received frames with the expected ones, in order.
///
/// The test pushes what it expects with [`expect`](Self::expect) (in the order it should
/// arrive), hands over each received frame with [`offer`](Self::offer), and calls
/// [`finish`](Self::finish) at the end. A received frame is
/// - good if it equals the oldest expected frame not yet received;
/// - reordered if it equals a later one;
/// - corrupted if it is not byte-exact but has the sequence number ([`frame_seq`]) of an
///   expected frame not yet received, or, failing that, agrees with the oldest such frame of
///   the same length in at least three quarters of its bytes (the frame is then taken as
///   received, so it is not reported missing as well);
/// - unexpected otherwise (duplicates included).
#[derive(Default)]
pub struct FrameScoreboard {
    expected: Vec<Vec<u8>>,
    seen: Vec<bool>,
    /// Oldest expected frame not yet received.
    next: usize,
    received: usize,
    good: usize,
    mismatches: Vec<Mismatch>,
}

impl FrameScoreboard {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next expected frame.
    pub fn expect(&mut self, frame: impl Into<Vec<u8>>) {
        self.expected.push(frame.into());
        self.seen.push(false);
    }

    /// Checks one received frame: `Ok(expected index)` if it is the next expected frame,
    /// otherwise the mismatch (which is also recorded for [`finish`](Self::finish)).
    pub fn offer(&mut self, frame: &[u8]) -> Result<usize, Mismatch> {
        let received = self.received;
        self.received += 1;
        let pending = || (self.next..self.expected.len()).filter(|&i| !self.seen[i]);
        let result = if let Some(i) = pending().find(|&i| self.expected[i] == frame) {
            if i == self.next {
                Ok(i)
            } else {
                Err(Mismatch::Reordered {
                    expected: i,
                    received,
                    next_expected: self.next,
                })
            }
        } else if let Some(i) = self.corruption_candidate(frame) {
            Err(Mismatch::Corrupted {
                expected: i,
                received,
                diff: hex_diff(&self.expected[i], frame).expect("frames differ"),
            })
        } else {
            Err(Mismatch::Unexpected {
                received,
                len: frame.len(),
                seq: frame_seq(frame),
            })
        };
        match &result {
            Ok(i) | Err(Mismatch::Reordered { expected: i, .. }) => self.mark_seen(*i),
            Err(Mismatch::Corrupted { expected: i, .. }) => self.mark_seen(*i),
            Err(_) => {}
        }
        if result.is_ok() {
            self.good += 1;
        }
        if let Err(m) = &result {
            self.mismatches.push(m.clone());
        }
        result
    }

    fn corruption_candidate(&self, frame: &[u8]) -> Option<usize> {
        let mut pending = (self.next..self.expected.len()).filter(|&i| !self.seen[i]);
        if let Some(seq) = frame_seq(frame) {
            if let Some(i) = pending
                .clone()
                .find(|&i| frame_seq(&self.expected[i]) == Some(seq))
            {
                return Some(i);
            }
        }
        pending.find(|&i| {
            let e = &self.expected[i];
            let same = e.iter().zip(frame).filter(|(a, b)| a == b).count();
            e.len() == frame.len() && same * 4 >= e.len() * 3
        })
    }

    fn mark_seen(&mut self, i: usize) {
        self.seen[i] = true;
        while self.next < self.seen.len() && self.seen[self.next] {
            self.next += 1;
        }
    }

    /// Frames expected and not yet received.
    pub fn pending(&self) -> usize {
        self.seen.iter().filter(|s| !**s).count()
    }

    /// Frames received in order and byte-exact.
    pub fn good(&self) -> usize {
        self.good
    }

    /// Mismatches found so far (missing frames are only added by [`finish`](Self::finish)).
    pub fn mismatches(&self) -> &[Mismatch] {
        &self.mismatches
    }

    /// Every expected frame was received, in order and byte-exact, and nothing else:
    /// `Ok(number of frames)`. Otherwise a report: the counts, the mismatches (the first 20)
    /// and the hex diff of the first corrupted frame.
    pub fn finish(&self) -> Result<usize, String> {
        let mut all = self.mismatches.clone();
        all.extend(
            (0..self.expected.len())
                .filter(|&i| !self.seen[i])
                .map(|i| Mismatch::Missing {
                    expected: i,
                    len: self.expected[i].len(),
                    seq: frame_seq(&self.expected[i]),
                }),
        );
        if all.is_empty() {
            return Ok(self.good);
        }
        let count = |p: fn(&Mismatch) -> bool| all.iter().filter(|m| p(m)).count();
        let mut s = format!(
            "frame scoreboard: {} expected, {} received, {} good; {} missing, {} unexpected, \
             {} reordered, {} corrupted\n",
            self.expected.len(),
            self.received,
            self.good,
            count(|m| matches!(m, Mismatch::Missing { .. })),
            count(|m| matches!(m, Mismatch::Unexpected { .. })),
            count(|m| matches!(m, Mismatch::Reordered { .. })),
            count(|m| matches!(m, Mismatch::Corrupted { .. })),
        );
        const SHOWN: usize = 20;
        for m in all.iter().take(SHOWN) {
            s += &format!("  {m}\n");
        }
        if all.len() > SHOWN {
            s += &format!("  ... and {} more\n", all.len() - SHOWN);
        }
        if let Some(Mismatch::Corrupted {
            expected,
            received,
            diff,
        }) = all.iter().find(|m| matches!(m, Mismatch::Corrupted { .. }))
        {
            s += &format!(
                "first corrupted frame (received #{received} vs expected #{expected}):\n{diff}"
            );
        }
        Err(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn crc_check_value_and_residue() {
        assert_eq!(fcs(b"123456789"), 0xCBF4_3926);
        let f = with_fcs(b"123456789");
        assert_eq!(&f[9..], &0xCBF4_3926u32.to_le_bytes());
        // CRC over frame + FCS is the constant 0x2144DF1C after the final XOR.
        assert_eq!(ETHERNET_CRC.checksum(&f), 0x2144_DF1C);
    }

    #[test]
    fn fcs_ok_accepts_good_rejects_bit_flips() {
        let mut rng = StdRng::seed_from_u64(1);
        let f = with_fcs(&random_frame(&mut rng, 7, 60));
        assert!(fcs_ok(&f));
        for bit in [0, 7, 100, f.len() * 8 - 1] {
            let mut g = f.clone();
            g[bit / 8] ^= 1 << (bit % 8);
            assert!(!fcs_ok(&g), "bit {bit}");
        }
        assert!(!fcs_ok(&[1, 2, 3]));
        assert!(fcs_ok(&with_fcs(&[])));
    }

    #[test]
    fn known_frame_fcs() {
        // A minimum-size frame of zeros, checked against the bitwise definition of the CRC
        // (reflected polynomial 0xEDB88320, init and final XOR all ones).
        let frame = [0u8; 60];
        let mut crc = 0xFFFF_FFFFu32;
        for &b in &frame {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        assert_eq!(fcs(&frame), !crc);
    }

    #[test]
    fn random_frames_are_ethernet_and_numbered() {
        let mut gen = FrameGen::new(StdRng::seed_from_u64(2));
        let frames: Vec<_> = (0..50).map(|_| gen.frame_in(60..=1514)).collect();
        for (i, f) in frames.iter().enumerate() {
            assert!((60..=1514).contains(&f.len()));
            assert_eq!(f[0] & 0x03, 0x02, "unicast, locally administered dst");
            assert_eq!(f[6] & 0x03, 0x02, "unicast, locally administered src");
            assert_eq!(&f[12..14], &[0x88, 0xB5]);
            assert_eq!(frame_seq(f), Some(i as u32));
            assert_eq!(frame_seq(&with_fcs(f)), Some(i as u32));
        }
        let runt = random_frame(&mut gen.rng, 9, 10);
        assert_eq!(runt.len(), 10);
        assert_eq!(frame_seq(&runt), None);
    }

    fn frames(n: usize) -> Vec<Vec<u8>> {
        let mut gen = FrameGen::new(StdRng::seed_from_u64(3));
        (0..n).map(|_| gen.frame_in(60..=200)).collect()
    }

    #[test]
    fn scoreboard_clean_run() {
        let fs = frames(10);
        let mut sb = FrameScoreboard::new();
        for f in &fs {
            sb.expect(f.clone());
        }
        for (i, f) in fs.iter().enumerate() {
            assert_eq!(sb.offer(f), Ok(i));
        }
        assert_eq!(sb.pending(), 0);
        assert_eq!(sb.finish(), Ok(10));
    }

    #[test]
    fn scoreboard_missing_and_unexpected() {
        let fs = frames(4);
        let mut sb = FrameScoreboard::new();
        for f in &fs[..3] {
            sb.expect(f.clone());
        }
        assert_eq!(sb.offer(&fs[0]), Ok(0));
        // A frame nobody expected.
        assert_eq!(
            sb.offer(&fs[3]),
            Err(Mismatch::Unexpected {
                received: 1,
                len: fs[3].len(),
                seq: Some(3)
            })
        );
        // A duplicate is unexpected too.
        assert!(matches!(
            sb.offer(&fs[0]),
            Err(Mismatch::Unexpected { received: 2, .. })
        ));
        assert_eq!(
            sb.offer(&fs[2]).unwrap_err().to_string(),
            "reordered: received #3 is expected #2, but expected #1 has not arrived yet"
        );
        let report = sb.finish().unwrap_err();
        assert!(
            report.contains("1 missing, 2 unexpected, 1 reordered, 0 corrupted"),
            "{report}"
        );
        assert!(
            report.contains(&format!(
                "missing: expected #1 ({} bytes, seq 1)",
                fs[1].len()
            )),
            "{report}"
        );
    }

    #[test]
    fn scoreboard_reordered_frames() {
        let fs = frames(3);
        let mut sb = FrameScoreboard::new();
        for f in &fs {
            sb.expect(f.clone());
        }
        assert!(matches!(
            sb.offer(&fs[1]),
            Err(Mismatch::Reordered {
                expected: 1,
                received: 0,
                next_expected: 0
            })
        ));
        assert_eq!(sb.offer(&fs[0]), Ok(0));
        assert_eq!(sb.offer(&fs[2]), Ok(2));
        let report = sb.finish().unwrap_err();
        assert!(
            report.contains("0 missing, 0 unexpected, 1 reordered"),
            "{report}"
        );
    }

    #[test]
    fn scoreboard_corrupted_frame_diff() {
        let fs = frames(3);
        let mut sb = FrameScoreboard::new();
        for f in &fs {
            sb.expect(f.clone());
        }
        assert_eq!(sb.offer(&fs[0]), Ok(0));
        let mut bad = fs[1].clone();
        bad[40] ^= 0x10;
        bad[41] ^= 0xFF;
        let Err(Mismatch::Corrupted {
            expected: 1,
            received: 1,
            diff,
        }) = sb.offer(&bad)
        else {
            panic!("not reported as corrupted");
        };
        let lines: Vec<&str> = diff.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "first difference at byte 40 of {0} expected / {0} received (2 bytes differ)",
                bad.len()
            )
        );
        // Rows 0x00 and 0x10 as context, then row 0x20 differs.
        assert!(lines[1].starts_with(" 0000: "), "{diff}");
        assert!(lines[2].starts_with(" 0010: "), "{diff}");
        assert_eq!(lines[3], format!("-0020: {}", hex_row(&fs[1][32..48])));
        assert_eq!(lines[4], format!("+0020: {}", hex_row(&bad[32..48])));
        assert_eq!(lines[5], format!("       {}^^ ^^", "   ".repeat(8)));
        assert_eq!(sb.offer(&fs[2]), Ok(2));
        let report = sb.finish().unwrap_err();
        assert!(
            report.contains("0 missing, 0 unexpected, 0 reordered, 1 corrupted"),
            "{report}"
        );
        assert!(report.contains("-0020: "), "{report}");
    }

    fn hex_row(b: &[u8]) -> String {
        b.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn scoreboard_corruption_without_sequence_number() {
        // Frames without the test EtherType: matched by similarity; a truncated frame with a
        // wrecked header is unexpected, and its original is then missing.
        let a = vec![0xAAu8; 64];
        let b: Vec<u8> = (0..64).collect();
        let mut sb = FrameScoreboard::new();
        sb.expect(a.clone());
        sb.expect(b.clone());
        let mut a2 = a.clone();
        a2[63] = 0;
        assert!(matches!(
            sb.offer(&a2),
            Err(Mismatch::Corrupted { expected: 0, .. })
        ));
        assert!(matches!(
            sb.offer(&[0u8; 20]),
            Err(Mismatch::Unexpected { len: 20, .. })
        ));
        let report = sb.finish().unwrap_err();
        assert!(
            report.contains("missing: expected #1 (64 bytes)"),
            "{report}"
        );
        assert!(report.contains("first difference at byte 63"), "{report}");
    }

    #[test]
    fn hex_diff_of_length_difference() {
        let a: Vec<u8> = (0..40).collect();
        let d = hex_diff(&a, &a[..36]).unwrap();
        assert!(
            d.starts_with(
                "first difference at byte 36 of 40 expected / 36 received (4 bytes differ)"
            ),
            "{d}"
        );
        assert!(d.contains("+0020: 20 21 22 23\n"), "{d}");
        assert_eq!(hex_diff(&a, &a), None);
    }
}
