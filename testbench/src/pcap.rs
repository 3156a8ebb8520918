//! Frames to and from capture files (through the `pcap-file` crate), so a test can replay a
//! capture into the MAC and a run can be looked at in Wireshark or tshark.
//!
//! [`read_capture`] reads libpcap and pcapng files with Ethernet frames, and what each file
//! declares about the FCS: a libpcap file in the upper bits of its link-type field (libpcap's
//! `LT_FCS_LENGTH_PRESENT`: bit 26 set, FCS length in 16-bit words in bits 31:28), a pcapng
//! file in each interface's `if_fcslen` option (bytes). Most files declare nothing; then the
//! caller decides ([`FcsChoice`], [`decide_fcs`]).
//!
//! Files written here are classic libpcap files with LINKTYPE_ETHERNET, snaplen 65535, little
//! endian, and nanosecond timestamps (magic `0xA1B23C4D`, read by libpcap ≥ 1.5, Wireshark and
//! tshark), so that the 8 ns clock of the simulation survives. Frames are written with their
//! FCS; tshark checks it with `-o eth.fcs:Always -o eth.check_fcs:TRUE`.

use crate::frames;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::{DataLink, Endianness, TsResolution};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use sim::CYCLE_NS;
/// Snapshot length of the files written.
pub const SNAPLEN: u32 = 65535;

/// One frame of a capture file: the bytes as captured (with the FCS if the capture has it: see
/// [`decide_fcs`]) and the timestamp from the start of the epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcapFrame {
    pub data: Vec<u8>,
    pub ts: Duration,
    /// The FCS length in bytes the file declares for this frame (0: no FCS, 4: an FCS), or
    /// `None` where the file says nothing.
    pub fcs_len: Option<usize>,
}

impl PcapFrame {
    /// The timestamp as a cycle count at [`CYCLE_NS`] per cycle (rounded down).
    pub fn cycle(&self) -> u64 {
        (self.ts.as_nanos() / CYCLE_NS as u128) as u64
    }
}

/// Why a capture could not be read or written.
#[derive(Debug)]
pub enum PcapFileError {
    Io {
        path: PathBuf,
        err: std::io::Error,
    },
    /// Not a valid libpcap file (pcapng included), or a packet `pcap-file` refused.
    Format {
        path: PathBuf,
        err: pcap_file::PcapError,
    },
    /// Not LINKTYPE_ETHERNET.
    LinkType {
        path: PathBuf,
        datalink: DataLink,
    },
    /// The file declares an FCS length Ethernet does not have (only 0 and 4 bytes are).
    FcsLength {
        path: PathBuf,
        bytes: usize,
    },
    /// A packet was cut by the capture's snaplen.
    Truncated {
        path: PathBuf,
        index: usize,
        captured: usize,
        orig_len: u32,
    },
    /// [`write_frames`] got a different number of timestamps than frames.
    Timestamps {
        frames: usize,
        cycles: usize,
    },
}

impl fmt::Display for PcapFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PcapFileError::Io { path, err } => write!(f, "{}: {err}", path.display()),
            PcapFileError::Format { path, err } => {
                write!(
                    f,
                    "{}: not a usable libpcap or pcapng file: {err}",
                    path.display()
                )
            }
            PcapFileError::LinkType { path, datalink } => write!(
                f,
                "{}: link type {datalink:?} ({}), only Ethernet (1) is supported",
                path.display(),
                u32::from(*datalink)
            ),
            PcapFileError::FcsLength { path, bytes } => write!(
                f,
                "{}: declares a {bytes}-byte FCS; an Ethernet frame has 4 bytes or none",
                path.display()
            ),
            PcapFileError::Truncated {
                path,
                index,
                captured,
                orig_len,
            } => write!(
                f,
                "{}: packet {index} truncated to {captured} of {orig_len} bytes",
                path.display()
            ),
            PcapFileError::Timestamps { frames, cycles } => {
                write!(f, "{frames} frames but {cycles} timestamps")
            }
        }
    }
}

impl std::error::Error for PcapFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PcapFileError::Io { err, .. } => Some(err),
            PcapFileError::Format { err, .. } => Some(err),
            _ => None,
        }
    }
}

/// The first block type of a pcapng file (its section header), as read from its first bytes.
const PCAPNG_MAGIC: [u8; 4] = [0x0A, 0x0D, 0x0D, 0x0A];
/// libpcap's `LT_FCS_LENGTH_PRESENT`: the link-type field's bits 31:28 hold the FCS length.
const LT_FCS_LENGTH_PRESENT: u32 = 0x0400_0000;
/// The link-type field's link type (the other bits are the FCS information and reserved).
const LT_LINKTYPE_MASK: u32 = 0xFFFF;
/// pcapng's default timestamp resolution (`if_tsresol` absent): microseconds.
const PCAPNG_DEFAULT_TSRESOL: u8 = 6;

/// The container a capture came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic libpcap (microsecond or nanosecond timestamps, either byte order).
    Pcap,
    /// pcapng (its Enhanced and Simple Packet Blocks; every interface must be Ethernet).
    PcapNg,
}

/// A capture file's frames, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    pub format: CaptureFormat,
    pub frames: Vec<PcapFrame>,
}

/// All frames of a libpcap or pcapng file of Ethernet frames, in file order, with the FCS
/// length the file declares for each. Other link types and truncated packets are errors.
pub fn read_capture(path: impl AsRef<Path>) -> Result<Capture, PcapFileError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|err| PcapFileError::Io {
        path: path.to_path_buf(),
        err,
    })?;
    if bytes.starts_with(&PCAPNG_MAGIC) {
        Ok(Capture {
            format: CaptureFormat::PcapNg,
            frames: read_pcapng(path, &bytes)?,
        })
    } else {
        Ok(Capture {
            format: CaptureFormat::Pcap,
            frames: read_pcap(path, bytes)?,
        })
    }
}

/// The frames of [`read_capture`] without the rest.
pub fn read_frames(path: impl AsRef<Path>) -> Result<Vec<PcapFrame>, PcapFileError> {
    read_capture(path).map(|c| c.frames)
}

/// An FCS length declared in bytes, checked: Ethernet has 4 bytes or none.
fn declared_fcs(path: &Path, bytes: usize) -> Result<usize, PcapFileError> {
    match bytes {
        0 | frames::FCS_LEN => Ok(bytes),
        _ => Err(PcapFileError::FcsLength {
            path: path.to_path_buf(),
            bytes,
        }),
    }
}

fn check_length(
    path: &Path,
    index: usize,
    captured: usize,
    orig_len: u32,
) -> Result<(), PcapFileError> {
    if (captured as u64) < u64::from(orig_len) {
        return Err(PcapFileError::Truncated {
            path: path.to_path_buf(),
            index,
            captured,
            orig_len,
        });
    }
    if captured as u64 > u64::from(orig_len) {
        return Err(PcapFileError::Format {
            path: path.to_path_buf(),
            err: pcap_file::PcapError::InvalidField("packet captured length > original length"),
        });
    }
    Ok(())
}

fn read_pcap(path: &Path, mut bytes: Vec<u8>) -> Result<Vec<PcapFrame>, PcapFileError> {
    let format = |err| PcapFileError::Format {
        path: path.to_path_buf(),
        err,
    };
    // The link-type field's FCS bits, which pcap-file does not know: read them, then hand it
    // the bare link type.
    let mut fcs_len = None;
    if let (Some(magic), Some(field)) = (bytes.get(0..4), bytes.get(20..24)) {
        let big = matches!(magic, [0xA1, 0xB2, 0xC3, 0xD4] | [0xA1, 0xB2, 0x3C, 0x4D]);
        let field: [u8; 4] = field.try_into().expect("4 bytes");
        let raw = if big {
            u32::from_be_bytes(field)
        } else {
            u32::from_le_bytes(field)
        };
        if raw & LT_FCS_LENGTH_PRESENT != 0 {
            fcs_len = Some(declared_fcs(path, 2 * (raw >> 28) as usize)?);
        }
        let bare = raw & LT_LINKTYPE_MASK;
        let bare = if big {
            bare.to_be_bytes()
        } else {
            bare.to_le_bytes()
        };
        bytes[20..24].copy_from_slice(&bare);
    }
    let mut reader = PcapReader::new(&bytes[..]).map_err(format)?;
    let header = reader.header();
    if header.datalink != DataLink::ETHERNET {
        return Err(PcapFileError::LinkType {
            path: path.to_path_buf(),
            datalink: header.datalink,
        });
    }
    let mut out = vec![];
    // Raw packets, checked here: pcap-file 2.0's own check refuses any orig_len above the
    // snaplen, which is exactly what a truncated capture has.
    while let Some(packet) = reader.next_raw_packet() {
        let packet = packet.map_err(format)?;
        let nanos = match header.ts_resolution {
            TsResolution::MicroSecond => packet.ts_frac.checked_mul(1000),
            TsResolution::NanoSecond => Some(packet.ts_frac),
        };
        let Some(nanos) = nanos.filter(|&n| n < 1_000_000_000) else {
            return Err(format(pcap_file::PcapError::InvalidField(
                "packet timestamp fraction out of range",
            )));
        };
        check_length(path, out.len(), packet.data.len(), packet.orig_len)?;
        out.push(PcapFrame {
            data: packet.data.into_owned(),
            ts: Duration::new(packet.ts_sec as u64, nanos),
            fcs_len,
        });
    }
    Ok(out)
}

/// A timestamp of `ticks` units of pcapng's `if_tsresol` `resol` (bit 7 clear: 10^-n s, set:
/// 2^-n s).
fn pcapng_time(ticks: u64, resol: u8) -> Duration {
    let n = u32::from(resol & 0x7F);
    let nanos: u128 = if resol & 0x80 != 0 {
        (u128::from(ticks) * 1_000_000_000) >> n.min(127)
    } else if n <= 9 {
        u128::from(ticks) * 10u128.pow(9 - n)
    } else {
        u128::from(ticks) / 10u128.pow((n - 9).min(38))
    };
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    Duration::new(secs, (nanos % 1_000_000_000) as u32)
}

fn read_pcapng(path: &Path, bytes: &[u8]) -> Result<Vec<PcapFrame>, PcapFileError> {
    let format = |err| PcapFileError::Format {
        path: path.to_path_buf(),
        err,
    };
    let mut reader = PcapNgReader::new(bytes).map_err(format)?;
    // Per interface of the current section: (if_tsresol, if_fcslen).
    let mut interfaces: Vec<(u8, Option<usize>)> = vec![];
    let mut out = vec![];
    while let Some(block) = reader.next_block() {
        let (interface, ts, data, orig_len) = match block.map_err(format)? {
            Block::SectionHeader(_) => {
                interfaces.clear();
                continue;
            }
            Block::InterfaceDescription(idb) => {
                if idb.linktype != DataLink::ETHERNET {
                    return Err(PcapFileError::LinkType {
                        path: path.to_path_buf(),
                        datalink: idb.linktype,
                    });
                }
                let mut resol = PCAPNG_DEFAULT_TSRESOL;
                let mut fcs = None;
                for o in &idb.options {
                    match o {
                        InterfaceDescriptionOption::IfTsResol(r) => resol = *r,
                        InterfaceDescriptionOption::IfFcsLen(b) => {
                            fcs = Some(declared_fcs(path, usize::from(*b))?)
                        }
                        _ => {}
                    }
                }
                interfaces.push((resol, fcs));
                continue;
            }
            // pcap-file reads the 64-bit timestamp as nanoseconds whatever if_tsresol says:
            // take the raw count back and scale it here.
            Block::EnhancedPacket(epb) => (
                epb.interface_id as usize,
                Some(epb.timestamp.as_nanos() as u64),
                epb.data.into_owned(),
                epb.original_len,
            ),
            Block::SimplePacket(spb) => (0, None, spb.data.into_owned(), spb.original_len),
            _ => continue,
        };
        let Some(&(resol, fcs_len)) = interfaces.get(interface) else {
            return Err(format(pcap_file::PcapError::InvalidField(
                "packet of an interface the section does not describe",
            )));
        };
        check_length(path, out.len(), data.len(), orig_len)?;
        out.push(PcapFrame {
            data,
            ts: ts.map_or(Duration::ZERO, |t| pcapng_time(t, resol)),
            fcs_len,
        });
    }
    Ok(out)
}

/// Heuristic: the frame ends in its FCS (the last 4 bytes are a good FCS of the rest). Captures
/// from ordinary NICs usually have it stripped; one in 2³² frames without an FCS passes by
/// chance.
pub fn has_fcs(frame: &[u8]) -> bool {
    frame.len() > frames::FCS_LEN && frames::fcs_ok(frame)
}

/// What the user says about a capture's FCS (`dmanic-sim --fcs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FcsChoice {
    /// What the file declares; where it declares nothing, "present" when at least half the
    /// undeclared frames end in a good FCS ([`decide_fcs`]).
    #[default]
    Auto,
    /// Every frame ends in its FCS (good or bad).
    Present,
    /// No frame has an FCS.
    Absent,
}

/// Which frames of a capture end in their FCS, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FcsDecision {
    /// One per frame: it ends in its FCS (which may be bad).
    pub present: Vec<bool>,
    /// How it was decided, for the user.
    pub reason: String,
}

/// Decides which frames end in their FCS. With [`FcsChoice::Auto`], a frame the file declares
/// an FCS length for follows the declaration; the undeclared frames are decided together:
/// they carry an FCS when at least half of them end in four bytes that are a good FCS of the
/// rest. Frames without an FCS pass that test only by a 1 in 2³² chance, so a capture without
/// FCSs is never taken for one with them, and one corrupted frame cannot turn a capture of
/// two or more frames with FCSs into one without: it goes on as captured, with its bad FCS.
pub fn decide_fcs(frames: &[PcapFrame], choice: FcsChoice) -> FcsDecision {
    let all = |present: bool, reason: &str| FcsDecision {
        present: vec![present; frames.len()],
        reason: reason.to_owned(),
    };
    match choice {
        FcsChoice::Present => return all(true, "--fcs present: every frame ends in its FCS"),
        FcsChoice::Absent => return all(false, "--fcs absent: no frame has an FCS"),
        FcsChoice::Auto => {}
    }
    let undeclared: Vec<&PcapFrame> = frames.iter().filter(|f| f.fcs_len.is_none()).collect();
    let good = undeclared.iter().filter(|f| has_fcs(&f.data)).count();
    let guess = 2 * good >= undeclared.len() && !undeclared.is_empty();
    let present = frames
        .iter()
        .map(|f| f.fcs_len.map_or(guess, |n| n > 0))
        .collect();
    let declared = frames.len() - undeclared.len();
    let mut reason = vec![];
    if declared > 0 {
        let with = frames
            .iter()
            .filter(|f| f.fcs_len.is_some_and(|n| n > 0))
            .count();
        reason.push(format!(
            "the file declares {declared} frames' FCS ({with} with, {} without)",
            declared - with
        ));
    }
    if !undeclared.is_empty() {
        reason.push(format!(
            "{good} of {} frames{} end in a good FCS, so they {} (auto: FCS when at least half do)",
            undeclared.len(),
            if declared > 0 {
                " it does not declare"
            } else {
                ""
            },
            if guess { "carry one" } else { "carry none" },
        ));
    }
    FcsDecision {
        present,
        reason: reason.join("; "),
    }
}

/// Writes `frames` (each with its FCS) to a new libpcap Ethernet file at `path`; frame `i` is
/// stamped `cycles[i]` × [`CYCLE_NS`] ns (see [`line_rate_start_cycles`] for frames sent back
/// to back).
pub fn write_frames(
    path: impl AsRef<Path>,
    frames: &[Vec<u8>],
    cycles: &[u64],
) -> Result<(), PcapFileError> {
    let path = path.as_ref();
    if frames.len() != cycles.len() {
        return Err(PcapFileError::Timestamps {
            frames: frames.len(),
            cycles: cycles.len(),
        });
    }
    let format = |err| PcapFileError::Format {
        path: path.to_path_buf(),
        err,
    };
    let file = std::fs::File::create(path).map_err(|err| PcapFileError::Io {
        path: path.to_path_buf(),
        err,
    })?;
    let header = PcapHeader {
        snaplen: SNAPLEN,
        datalink: DataLink::ETHERNET,
        ts_resolution: TsResolution::NanoSecond,
        endianness: Endianness::Little,
        ..Default::default()
    };
    let mut writer =
        PcapWriter::with_header(std::io::BufWriter::new(file), header).map_err(format)?;
    for (frame, &cycle) in frames.iter().zip(cycles) {
        let ts = Duration::from_nanos(cycle.saturating_mul(CYCLE_NS));
        let orig_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        writer
            .write_packet(&PcapPacket::new(ts, orig_len, frame))
            .map_err(format)?;
    }
    use std::io::Write;
    writer
        .into_writer()
        .flush()
        .map_err(|err| PcapFileError::Io {
            path: path.to_path_buf(),
            err,
        })
}

/// Start cycles of frames (lengths with FCS) sent back to back from cycle 0 at line rate with
/// `ifg` idle cycles between them ([`crate::phy::line_rate_cycles`]).
pub fn line_rate_start_cycles(frames: &[Vec<u8>], ifg: usize) -> Vec<u64> {
    frames
        .iter()
        .scan(0u64, |next, f| {
            let start = *next;
            *next += crate::phy::line_rate_cycles(f.len(), ifg);
            Some(start)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::{with_fcs, FrameGen};
    use pretty_assertions::assert_eq;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn test_frames(n: usize) -> Vec<Vec<u8>> {
        let mut gen = FrameGen::new(StdRng::seed_from_u64(20));
        (0..n).map(|_| with_fcs(&gen.frame_in(60..=1514))).collect()
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frames.pcap");
        let fs = test_frames(10);
        let cycles = line_rate_start_cycles(&fs, 12);
        assert_eq!(cycles[1], 8 + fs[0].len() as u64 + 12);
        write_frames(&path, &fs, &cycles).unwrap();
        let got = read_frames(&path).unwrap();
        assert_eq!(got.iter().map(|f| f.data.clone()).collect::<Vec<_>>(), fs);
        assert_eq!(got.iter().map(PcapFrame::cycle).collect::<Vec<_>>(), cycles);
        assert_eq!(got[1].ts, Duration::from_nanos(cycles[1] * 8));
        assert!(got.iter().all(|f| has_fcs(&f.data)));
    }

    #[test]
    fn file_layout_is_standard_libpcap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("one.pcap");
        let f = with_fcs(&[0xAB; 60]);
        write_frames(&path, std::slice::from_ref(&f), &[125_000_001]).unwrap();
        let b = std::fs::read(&path).unwrap();
        let le32 = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        assert_eq!(le32(0), 0xA1B2_3C4D, "nanosecond magic, little endian");
        assert_eq!(&b[4..8], &[2, 0, 4, 0], "version 2.4");
        assert_eq!(le32(16), 65535, "snaplen");
        assert_eq!(le32(20), 1, "LINKTYPE_ETHERNET");
        // Record: 125_000_001 cycles = 1.000000008 s.
        assert_eq!((le32(24), le32(28)), (1, 8));
        assert_eq!((le32(32), le32(36)), (64, 64));
        assert_eq!(&b[40..], &f[..]);
    }

    #[test]
    fn has_fcs_heuristic() {
        let fs = test_frames(3);
        for f in &fs {
            assert!(has_fcs(f));
            assert!(!has_fcs(&f[..f.len() - 4]));
        }
        assert!(!has_fcs(&with_fcs(&[])), "an FCS alone is not a frame");
    }

    #[test]
    fn rejects_other_link_types_and_broken_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.pcap");
        let header = PcapHeader {
            datalink: DataLink::RAW,
            ..Default::default()
        };
        let mut w = PcapWriter::with_header(std::fs::File::create(&path).unwrap(), header).unwrap();
        w.write_packet(&PcapPacket::new(Duration::ZERO, 20, &[0x45; 20]))
            .unwrap();
        drop(w);
        let err = read_frames(&path).unwrap_err();
        assert!(
            matches!(
                err,
                PcapFileError::LinkType {
                    datalink: DataLink::RAW,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("only Ethernet (1)"), "{err}");

        let ng = dir.path().join("x.pcapng");
        std::fs::write(&ng, [0x0A, 0x0D, 0x0D, 0x0A, 0, 0, 0, 0]).unwrap();
        let err = read_frames(&ng).unwrap_err();
        assert!(matches!(err, PcapFileError::Format { .. }), "{err}");

        let junk = dir.path().join("junk.pcap");
        std::fs::write(&junk, [0u8; 40]).unwrap();
        assert!(matches!(
            read_frames(&junk),
            Err(PcapFileError::Format { .. })
        ));
        assert!(matches!(
            read_frames(dir.path().join("absent.pcap")),
            Err(PcapFileError::Io { .. })
        ));
    }

    fn frame(data: Vec<u8>, fcs_len: Option<usize>) -> PcapFrame {
        PcapFrame {
            data,
            ts: Duration::ZERO,
            fcs_len,
        }
    }

    #[test]
    fn one_bad_fcs_does_not_turn_a_capture_with_fcs_into_one_without() {
        let mut fs = test_frames(2);
        fs[1][10] ^= 1;
        let frames: Vec<PcapFrame> = fs.into_iter().map(|d| frame(d, None)).collect();
        let d = decide_fcs(&frames, FcsChoice::Auto);
        assert_eq!(d.present, vec![true, true]);
        assert!(
            d.reason.contains("1 of 2 frames end in a good FCS"),
            "{}",
            d.reason
        );
        // Without FCS: none passes.
        let bare: Vec<PcapFrame> = test_frames(3)
            .into_iter()
            .map(|d| frame(d[..d.len() - 4].to_vec(), None))
            .collect();
        assert_eq!(decide_fcs(&bare, FcsChoice::Auto).present, vec![false; 3]);
        assert_eq!(decide_fcs(&bare, FcsChoice::Present).present, vec![true; 3]);
        assert_eq!(
            decide_fcs(&frames, FcsChoice::Absent).present,
            vec![false; 2]
        );
    }

    #[test]
    fn a_declared_fcs_length_wins_over_the_guess() {
        let fs = test_frames(2);
        let frames = vec![frame(fs[0].clone(), Some(0)), frame(fs[1].clone(), None)];
        let d = decide_fcs(&frames, FcsChoice::Auto);
        assert_eq!(d.present, vec![false, true]);
        assert!(
            d.reason
                .contains("declares 1 frames' FCS (0 with, 1 without)"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn reads_the_fcs_length_from_the_link_type_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fcs.pcap");
        let fs = test_frames(2);
        write_frames(&path, &fs, &[0, 1000]).unwrap();
        let mut b = std::fs::read(&path).unwrap();
        // LT_FCS_DATALINK_EXT(2) | LINKTYPE_ETHERNET: a 4-byte FCS (two 16-bit words).
        b[20..24].copy_from_slice(&0x2400_0001u32.to_le_bytes());
        std::fs::write(&path, &b).unwrap();
        let c = read_capture(&path).unwrap();
        assert_eq!(c.format, CaptureFormat::Pcap);
        assert_eq!(
            c.frames.iter().map(|f| f.fcs_len).collect::<Vec<_>>(),
            vec![Some(4); 2]
        );
        assert_eq!(c.frames[1].data, fs[1]);
        // A 2-byte FCS is not Ethernet's.
        b[20..24].copy_from_slice(&0x1400_0001u32.to_le_bytes());
        std::fs::write(&path, &b).unwrap();
        let err = read_capture(&path).unwrap_err();
        assert!(
            matches!(err, PcapFileError::FcsLength { bytes: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn reads_pcapng_with_its_interfaces_fcs_length_and_time_resolution() {
        use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
        use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
        use pcap_file::pcapng::PcapNgWriter;
        use std::borrow::Cow;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("two.pcapng");
        let fs = test_frames(2);
        let mut w = PcapNgWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
        // Interface 0: microseconds (the default), FCS declared; interface 1: nanoseconds,
        // nothing declared.
        for options in [
            vec![InterfaceDescriptionOption::IfFcsLen(4)],
            vec![InterfaceDescriptionOption::IfTsResol(9)],
        ] {
            w.write_pcapng_block(InterfaceDescriptionBlock {
                linktype: DataLink::ETHERNET,
                snaplen: 0,
                options,
            })
            .unwrap();
        }
        for (i, f) in fs.iter().enumerate() {
            w.write_pcapng_block(EnhancedPacketBlock {
                interface_id: i as u32,
                // The raw count: 1500 ticks.
                timestamp: Duration::from_nanos(1500),
                original_len: f.len() as u32,
                data: Cow::Borrowed(f),
                options: vec![],
            })
            .unwrap();
        }
        drop(w);
        let c = read_capture(&path).unwrap();
        assert_eq!(c.format, CaptureFormat::PcapNg);
        assert_eq!(
            c.frames,
            vec![
                PcapFrame {
                    data: fs[0].clone(),
                    ts: Duration::from_micros(1500),
                    fcs_len: Some(4),
                },
                PcapFrame {
                    data: fs[1].clone(),
                    ts: Duration::from_nanos(1500),
                    fcs_len: None,
                },
            ]
        );
    }

    #[test]
    fn rejects_truncated_packets_and_timestamp_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.pcap");
        let header = PcapHeader {
            snaplen: 32,
            ..Default::default()
        };
        let mut w = PcapWriter::with_header(std::fs::File::create(&path).unwrap(), header).unwrap();
        w.write_packet(&PcapPacket::new(Duration::ZERO, 64, &[0; 32]))
            .unwrap();
        drop(w);
        assert!(matches!(
            read_frames(&path),
            Err(PcapFileError::Truncated {
                index: 0,
                captured: 32,
                orig_len: 64,
                ..
            })
        ));
        assert!(matches!(
            write_frames(dir.path().join("x.pcap"), &test_frames(2), &[0]),
            Err(PcapFileError::Timestamps {
                frames: 2,
                cycles: 1
            })
        ));
    }
}
