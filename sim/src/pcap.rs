//! Frames to and from libpcap capture files (through the `pcap-file` crate), so a test can
//! replay a capture into the MAC and a run can be looked at in Wireshark or tshark.
//!
//! Files written here are classic libpcap files with LINKTYPE_ETHERNET, snaplen 65535, little
//! endian, and nanosecond timestamps (magic `0xA1B23C4D`, read by libpcap ≥ 1.5, Wireshark and
//! tshark), so that the 8 ns clock of the simulation survives. Frames are written with their
//! FCS; tshark checks it with `-o eth.fcs:Always -o eth.check_fcs:TRUE`.

use crate::frames;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Nanoseconds per clock cycle at 125 MHz (one byte per cycle: gigabit).
pub const CYCLE_NS: u64 = 8;
/// Snapshot length of the files written.
pub const SNAPLEN: u32 = 65535;

/// One frame of a capture file: the bytes as captured (with the FCS if the capture has it: see
/// [`has_fcs`]) and the timestamp from the start of the epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcapFrame {
    pub data: Vec<u8>,
    pub ts: Duration,
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
                write!(f, "{}: not a usable libpcap file: {err}", path.display())
            }
            PcapFileError::LinkType { path, datalink } => write!(
                f,
                "{}: link type {datalink:?} ({}), only Ethernet (1) is supported",
                path.display(),
                u32::from(*datalink)
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

/// All frames of a libpcap file with LINKTYPE_ETHERNET, in file order. Other link types,
/// pcapng files and truncated packets are errors.
pub fn read_frames(path: impl AsRef<Path>) -> Result<Vec<PcapFrame>, PcapFileError> {
    let path = path.as_ref();
    let io = |err| PcapFileError::Io {
        path: path.to_path_buf(),
        err,
    };
    let format = |err| PcapFileError::Format {
        path: path.to_path_buf(),
        err,
    };
    let bytes = std::fs::read(path).map_err(io)?;
    if bytes.starts_with(&PCAPNG_MAGIC) {
        return Err(format(pcap_file::PcapError::InvalidField(
            "pcapng file: save it as libpcap (editcap -F pcap)",
        )));
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
        if packet.incl_len > packet.orig_len {
            return Err(format(pcap_file::PcapError::InvalidField(
                "packet incl_len > orig_len",
            )));
        }
        if packet.incl_len < packet.orig_len {
            return Err(PcapFileError::Truncated {
                path: path.to_path_buf(),
                index: out.len(),
                captured: packet.data.len(),
                orig_len: packet.orig_len,
            });
        }
        out.push(PcapFrame {
            data: packet.data.into_owned(),
            ts: Duration::new(packet.ts_sec as u64, nanos),
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
    fn rejects_other_link_types_and_pcapng() {
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
        assert!(err.to_string().contains("pcapng"), "{err}");

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
