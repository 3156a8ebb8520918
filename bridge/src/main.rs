//! `dmanic-qemu`: the Verilated NIC (`sim::nic::NicModel`) as an Intel 82540EM in a QEMU guest,
//! through QEMU 7.2's experimental multi-process device `x-pci-proxy-dev` (docs/linux.md).
//!
//! ```text
//!  guest: Linux e1000.ko ── MMIO/PIO ──► QEMU (x-pci-proxy-dev) ══ UNIX socket ══► this bridge
//!        ▲ RAM (memfd, shared) ◄───────────────── DMA: the NIC's two DMA ports ◄──┤
//!        │                                                                         ├─ Card, NicModel
//!  QEMU's user network (slirp, 10.0.2.2) ◄─ hub ─► -netdev dgram ◄═ datagrams ════┘  PHY pins
//! ```
//!
//! It launches QEMU with one end of a socket pair as the proxy's `fd=N` and one end of a
//! datagram socket pair as the network (`-netdev dgram,local.type=fd`: one frame per
//! datagram, no FCS). The card ([`dmanic_qemu::card`]) answers the protocol (config space with
//! BAR sizing, BAR0 MMIO, BAR1 I/O with IOADDR/IODATA, guest RAM from SYNC_SYSMEM, reset) and
//! clocks the NIC only while it has work or an interrupt timer may still fire; this binary
//! moves frames between the NIC's PHY pins and the datagrams, writes every frame to a pcap
//! (with its FCS), serves the file the guest fetches over HTTP, and reads the guest's console.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use clap::Parser;
use dmanic_qemu::card::{Card, Reply};
use dmanic_qemu::proto::Channel;
use dmanic_qemu::report::{self, Report};
use sim::nic::NicModel;

#[derive(Parser, Debug)]
#[command(about = "The Verilated NIC as an 82540EM for a QEMU guest (x-pci-proxy-dev)")]
struct Args {
    /// The guest image (scripts/linux-guest.sh): bzImage and initramfs.cpio.gz.
    #[arg(long, default_value = "out/linux-guest")]
    guest: PathBuf,
    /// Every frame on the NIC's PHY pins, with its FCS.
    #[arg(long, default_value = "out/linux.pcap")]
    pcap: PathBuf,
    /// The run's figures as JSON.
    #[arg(long, default_value = "out/linux.json")]
    json: PathBuf,
    /// The run's figures and the registers the NIC lacks as Markdown (the README's block).
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// The QEMU binary.
    #[arg(long, default_value = "qemu-system-x86_64")]
    qemu: String,
    /// Guest RAM in MiB.
    #[arg(long, default_value_t = 256)]
    memory_mib: u32,
    /// Give up (and kill QEMU) after this many seconds.
    #[arg(long, default_value_t = 150)]
    timeout: u64,
    /// Print every console line of the guest, not only the ones that matter.
    #[arg(long)]
    console: bool,
    /// Log every register access.
    #[arg(long)]
    trace_regs: bool,
    /// An FST waveform of the NIC (needs the sim/trace feature; large).
    #[arg(long)]
    fst: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    std::process::exit(match run(&args) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("dmanic-qemu: {e}");
            2
        }
    });
}

fn run(args: &Args) -> Result<bool, String> {
    for f in ["bzImage", "initramfs.cpio.gz"] {
        if !args.guest.join(f).exists() {
            return Err(format!(
                "{} has no {f}: build the guest with `bash scripts/linux-guest.sh` (make linux does)",
                args.guest.display()
            ));
        }
    }
    // QEMU's protocol socket, and the wire: a datagram socket pair, one frame per datagram
    // (QEMU's `-netdev dgram` on its end), so no port is chosen or raced for.
    let (ours, theirs) = UnixStream::pair().map_err(|e| format!("socketpair: {e}"))?;
    let (wire, qemu_wire) = UnixDatagram::pair().map_err(|e| format!("socketpair: {e}"))?;
    wire.set_nonblocking(true).map_err(|e| e.to_string())?;

    // The UDP and TCP transfers: a file in QEMU's TFTP directory, an HTTP server on loopback
    // (which QEMU's user network reaches as the gateway).
    let tftp_dir = args.json.with_extension("tftp");
    std::fs::create_dir_all(&tftp_dir).map_err(|e| format!("{}: {e}", tftp_dir.display()))?;
    let tftp_body = test_file(TFTP_BYTES, 0x5EED_0001);
    std::fs::write(tftp_dir.join(TFTP_FILE), &tftp_body)
        .map_err(|e| format!("{}: {e}", tftp_dir.display()))?;
    let http_body = test_file(HTTP_BYTES, 0x5EED_0002);
    let http = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("TCP: {e}"))?;
    let http_port = http.local_addr().unwrap().port();
    let expected = [("udp", &tftp_body), ("tcp", &http_body)].map(|(p, body)| {
        (
            p.to_owned(),
            report::Transfer {
                status: 0,
                bytes: body.len() as u64,
                sha256: report::sha256_hex(body),
            },
        )
    });
    let served = http_body.clone();
    std::thread::spawn(move || serve_http(http, served));

    let started = Instant::now();
    let mut qemu = launch_qemu(args, theirs.into(), qemu_wire.into(), &tftp_dir, http_port)?;
    // The console, line by line until QEMU closes it (bytes that are not UTF-8 replaced, so
    // that they cannot end the reading).
    let (lines_tx, lines) = mpsc::channel();
    let stdout = qemu.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = BufReader::new(stdout);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match out.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf)
                        .trim_end_matches(['\n', '\r'])
                        .to_owned();
                    if lines_tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });

    let nic = match &args.fst {
        Some(p) => NicModel::with_trace(p),
        None => NicModel::new(),
    };
    let mut bridge = Bridge {
        card: Card::new(nic, args.trace_regs),
        pcap: Some(open_pcap(&args.pcap)?),
        console: Console::default(),
    };
    let outcome = bridge.serve(Channel::new(ours), &wire, &lines, &mut qemu, started, args);
    let _ = qemu.kill();
    let _ = qemu.wait();
    // Every console line: the reader ends at the pipe's end, once QEMU is gone.
    let _ = reader.join();
    while let Ok(line) = lines.try_recv() {
        bridge.console.line(&line, started, args.console);
    }
    if let Some(p) = bridge.pcap.take() {
        p.into_writer().flush().map_err(|e| e.to_string())?;
    }
    let mut report = bridge.card.report();
    report.transfers_expected = expected.into_iter().collect();
    bridge.console.into_report(&mut report);
    report.outcome = format!("{outcome:?}");
    report.wall_secs = started.elapsed().as_secs_f64();
    report::print(&report);
    std::fs::write(&args.json, serde_json::to_string_pretty(&report).unwrap())
        .map_err(|e| format!("writing {}: {e}", args.json.display()))?;
    println!("wrote {} and {}", args.pcap.display(), args.json.display());
    if let Some(md) = &args.markdown {
        std::fs::write(md, report::markdown(&report, "make linux"))
            .map_err(|e| format!("writing {}: {e}", md.display()))?;
        println!("wrote {}", md.display());
    }
    Ok(report.passed())
}

/// Starts QEMU with `proxy` (its end of the protocol's socket pair) as the proxy device's
/// socket and `wire` (its end of the datagram pair) as the network's.
fn launch_qemu(
    args: &Args,
    proxy: OwnedFd,
    wire: OwnedFd,
    tftp_dir: &std::path::Path,
    http_port: u16,
) -> Result<Child, String> {
    // QEMU inherits both descriptors: no close-on-exec on them (the bridge starts nothing
    // else while they are open, and closes its copies once QEMU runs).
    for fd in [&proxy, &wire] {
        // SAFETY: fcntl on a descriptor this function owns.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, 0) } != 0 {
            return Err(format!("fcntl: {}", std::io::Error::last_os_error()));
        }
    }
    let (fd, wire_fd) = (proxy.as_raw_fd(), wire.as_raw_fd());
    let mib = args.memory_mib;
    let mut cmd = Command::new(&args.qemu);
    cmd.args([
        "-accel",
        "tcg",
        "-m",
        &format!("{mib}M"),
        "-nodefaults",
        "-no-reboot",
    ])
    .args(["-display", "none", "-serial", "stdio"])
    .args([
        "-object",
        &format!("memory-backend-memfd,id=mem,size={mib}M,share=on"),
        "-machine",
        "pc,memory-backend=mem",
    ])
    .args(["-device", &format!("x-pci-proxy-dev,id=nic,fd={fd}")])
    .arg("-netdev")
    .arg(format!("user,id=user,tftp={}", tftp_dir.display()))
    .args([
        "-netdev",
        &format!("dgram,id=wire,local.type=fd,local.str={wire_fd}"),
    ])
    .args(["-netdev", "hubport,id=hub-user,hubid=0,netdev=user"])
    .args(["-netdev", "hubport,id=hub-wire,hubid=0,netdev=wire"])
    .arg("-kernel")
    .arg(args.guest.join("bzImage"))
    .arg("-initrd")
    .arg(args.guest.join("initramfs.cpio.gz"))
    .arg("-append")
    .arg(format!(
        "{KERNEL_CMDLINE} dmanic.tftp={TFTP_FILE} dmanic.http={http_port}"
    ))
    .stdin(Stdio::null())
    .stdout(Stdio::piped());
    let child = cmd.spawn().map_err(|e| {
        format!(
            "cannot run {}: {e} (`bash scripts/setup.sh linux` installs QEMU)",
            args.qemu
        )
    })?;
    drop((proxy, wire));
    Ok(child)
}

/// `irqpoll nolapic_timer`: under TCG the proxy delivers no interrupts, so the timer tick
/// calls every shared handler (e1000's too) at HZ. The guest's init (scripts/linux-guest-init.sh)
/// also reads `dmanic.tftp=` and `dmanic.http=` (added per run).
const KERNEL_CMDLINE: &str = "console=ttyS0 irqpoll nolapic_timer quiet panic=-1";

/// The file the guest fetches over UDP from QEMU's TFTP server (five 512-byte blocks and a
/// short one), and the one it fetches over TCP from this process's HTTP server (five
/// full-size segments and a short one at the guest's MSS of 1460).
const TFTP_FILE: &str = "dmanic.bin";
const TFTP_BYTES: usize = 3000;
const HTTP_BYTES: usize = 7500;

/// `len` bytes of xorshift32 output from `seed`: content that any corruption shows in.
fn test_file(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Serves `body` to every HTTP request on `listener`, until the process ends.
fn serve_http(listener: std::net::TcpListener, body: Vec<u8>) {
    use std::io::Read;
    for stream in listener.incoming() {
        let Ok(mut s) = stream else { continue };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        // The request: read up to its blank line (or give up), then answer.
        let mut req = Vec::new();
        let mut byte = [0u8; 1];
        while !req.ends_with(b"\r\n\r\n") && req.len() < 4096 {
            match s.read(&mut byte) {
                Ok(1) => req.push(byte[0]),
                _ => break,
            }
        }
        let head = format!(
            "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = s
            .write_all(head.as_bytes())
            .and_then(|_| s.write_all(&body));
    }
}

/// What the run ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// QEMU exited (the guest powered off) with this status.
    QemuExited(String),
    /// QEMU closed the socket (it does when the guest powers off).
    Disconnected,
    TimedOut,
    /// The connection failed (an I/O error on the socket).
    Failed(String),
}

type Pcap = pcap_file::pcap::PcapWriter<BufWriter<File>>;

fn open_pcap(path: &std::path::Path) -> Result<Pcap, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let file = File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    let header = pcap_file::pcap::PcapHeader {
        datalink: pcap_file::DataLink::ETHERNET,
        ts_resolution: pcap_file::TsResolution::NanoSecond,
        ..Default::default()
    };
    pcap_file::pcap::PcapWriter::with_header(BufWriter::new(file), header)
        .map_err(|e| format!("pcap: {e}"))
}

/// The guest's console: the lines that matter, shown with their time and kept for the report.
#[derive(Default)]
struct Console {
    lines: Vec<(f64, String)>,
    /// Inside a "DMANIC-LINUX: begin X" ... "end X" section (e.g. /proc/interrupts): its name.
    section: Option<String>,
}

impl Console {
    fn line(&mut self, line: &str, started: Instant, all: bool) {
        let line = line.trim_end_matches('\r');
        let t = started.elapsed().as_secs_f64();
        let marker = line.split_once(report::MARKER).map(|(_, r)| r.trim());
        // Inside a section every line matters, but of `ethtool -S`'s counters only those
        // that are not 0.
        let matters = match self.section.as_deref() {
            Some("ethtool-stats") => marker.is_some() || !line.trim_end().ends_with(": 0"),
            Some(_) => true,
            None => report::console_matters(line),
        };
        match marker {
            Some(m) if m.starts_with("begin ") => {
                self.section = Some(m["begin ".len()..].to_owned())
            }
            Some(m) if m.starts_with("end ") => self.section = None,
            _ => {}
        }
        if all || matters {
            println!("[{t:6.1} s] {line}");
        }
        if matters {
            self.lines.push((t, line.to_owned()));
        }
    }

    fn into_report(self, r: &mut Report) {
        for (t, line) in self.lines {
            r.console(&line, t);
        }
    }
}

struct Bridge {
    card: Card,
    pcap: Option<Pcap>,
    console: Console,
}

/// Cycles run per step of the loop while the NIC is busy, between looks at the sockets.
const CHUNK: u64 = 20_000;

impl Bridge {
    fn serve(
        &mut self,
        mut chan: Channel,
        wire: &UnixDatagram,
        lines: &mpsc::Receiver<String>,
        qemu: &mut Child,
        started: Instant,
        args: &Args,
    ) -> Outcome {
        let deadline = started + Duration::from_secs(args.timeout);
        let mut buf = vec![0u8; 65536];
        loop {
            while let Ok(line) = lines.try_recv() {
                self.console.line(&line, started, args.console);
            }
            if let Ok(Some(status)) = qemu.try_wait() {
                return Outcome::QemuExited(status.to_string());
            }
            if Instant::now() > deadline {
                return Outcome::TimedOut;
            }
            // Block (briefly, to watch QEMU and the clock) only when the NIC has nothing to do.
            let wait_ms = if self.card.busy() { 0 } else { 50 };
            // The resample fd (after the guest's EOI under KVM), if QEMU gave one; else the
            // protocol socket again, to keep the array's shape.
            let resample = self.card.resample_fd().unwrap_or(chan.as_raw_fd());
            let (from_qemu, from_network, eoi) =
                match wait_readable([chan.as_raw_fd(), wire.as_raw_fd(), resample], wait_ms) {
                    Ok(r) => (r[0], r[1], r[2] && self.card.resample_fd().is_some()),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Outcome::Failed(format!("poll: {e}")),
                };
            if eoi {
                self.card.resample();
            }
            if from_qemu {
                let reply = match chan.recv() {
                    Ok(Some(req)) => self.card.handle(req),
                    Ok(None) => return Outcome::Disconnected,
                    Err(e) => return Outcome::Failed(format!("reading from QEMU: {e}")),
                };
                let sent = match reply {
                    Reply::None => Ok(()),
                    Reply::Ret(v) => chan.send_ret(v),
                    Reply::RetEmpty => chan.send_ret_empty(),
                };
                if let Err(e) = sent {
                    return Outcome::Failed(format!("replying to QEMU: {e}"));
                }
            }
            if from_network {
                while let Ok(n) = wire.recv(&mut buf) {
                    if let Some(wire) = self.card.frame_from_network(&buf[..n]) {
                        self.write_pcap(&wire);
                    }
                }
            }
            self.card.run(CHUNK);
            for f in self.card.frames_to_network() {
                self.write_pcap(&f.wire);
                if let Some(p) = f.payload {
                    if let Err(e) = wire.send(&p) {
                        self.card.error(format!("sending a frame to QEMU: {e}"));
                    }
                }
            }
        }
    }

    fn write_pcap(&mut self, frame: &[u8]) {
        let ts = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let pkt = pcap_file::pcap::PcapPacket::new(ts, frame.len() as u32, frame);
        if let Some(Err(e)) = self.pcap.as_mut().map(|p| p.write_packet(&pkt)) {
            self.card.error(format!("pcap: {e}"));
        }
    }
}

/// Waits up to `timeout_ms` (0: not at all) for input on `fds`; which of them have some (or
/// a hang-up or error to read).
fn wait_readable<const N: usize>(fds: [i32; N], timeout_ms: i32) -> std::io::Result<[bool; N]> {
    let mut p = fds.map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    // SAFETY: `p` is N valid pollfd structures.
    if unsafe { libc::poll(p.as_mut_ptr(), N as libc::nfds_t, timeout_ms) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(p.map(|f| f.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0))
}
