//! The messages of QEMU's `x-pci-proxy-dev` on its UNIX stream socket, as the device process
//! sees them: [`Channel::recv`] reads one request, [`Channel::send_ret`] answers it.
//!
//! The wire format is QEMU's `MPQemuMsg` (`include/hw/remote/mpqemu-link.h`): a 16-byte header
//! `{ int cmd; 4 bytes padding; size_t size; }` in host byte order, then `size` bytes of payload,
//! with up to [`REMOTE_MAX_FDS`] file descriptors as `SCM_RIGHTS` ancillary data on the header
//! (`hw/remote/mpqemu-link.c`, `mpqemu_msg_send` and `mpqemu_msg_recv`). The crate
//! documentation has the table of commands.
//!
//! Robustness: a message this module cannot use becomes [`Request::Malformed`] after its whole
//! payload has been read, so the stream stays in step and the next message parses. Only a
//! payload larger than [`MAX_PAYLOAD`] (which cannot be skipped sensibly), a connection closed
//! inside a message, or a socket error is an `Err`; the caller should then drop the connection.
//! Every file descriptor received is an [`OwnedFd`] from the moment it arrives (received with
//! `MSG_CMSG_CLOEXEC`), so one that a request does not keep is closed when the request, or the
//! malformed message, is dropped.
//!
//! Checks follow QEMU's own remote (`mpqemu_msg_valid` in `hw/remote/mpqemu-link.c`, the
//! handlers in `hw/remote/message.c`), a little stricter where QEMU never sends otherwise: a
//! config access has `len` 1, 2 or 4; a BAR access has `size` 1, 2, 4 or 8 (QEMU's remote
//! answers other sizes with `u64::MAX`); no command but `SYNC_SYSMEM` and `SET_IRQFD` carries
//! fds.

use std::fmt;
use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::ptr;

/// The most file descriptors one message carries (`REMOTE_MAX_FDS` in
/// `include/hw/remote/mpqemu-link.h`), so also the most RAM regions of one `SYNC_SYSMEM`.
///
/// QEMU's own remote (`mpqemu_msg_valid`) rejects a message with 8 fds (`num_fds >=
/// REMOTE_MAX_FDS`) although the proxy sends up to 8 RAM regions; this crate accepts 8.
pub const REMOTE_MAX_FDS: usize = 8;

/// Bytes in a message header: `offsetof(MPQemuMsg, data.u64)` on a 64-bit host.
pub const HEADER_SIZE: usize = 16;

/// The largest payload [`Channel::recv`] reads (and, for a message it cannot use, discards).
///
/// QEMU's biggest payload is `SYNC_SYSMEM`'s 192 bytes, and its own remote refuses anything
/// larger than the `data` union (`mpqemu_msg_recv`); a larger announced size means the stream
/// is not QEMU's, or is out of step, and [`Channel::recv`] fails.
pub const MAX_PAYLOAD: u64 = 4096;

/// The value QEMU's remote puts in a `RET` for an access it could not perform
/// (`hw/remote/message.c`: `UINT64_MAX`); QEMU's proxy logs "Failed to perform PCI config ..."
/// when a config access gets it. The answer to a [`Request::Malformed`] that needs a reply.
pub const RET_ERROR: u64 = u64::MAX;

/// Payload bytes of `SYNC_SYSMEM`: `SyncSysmemMsg { hwaddr gpas[8]; uint64_t sizes[8]; off_t
/// offsets[8]; }`.
pub const SYNC_SYSMEM_SIZE: usize = 3 * 8 * REMOTE_MAX_FDS;

/// Payload bytes of `PCI_CFGWRITE`/`PCI_CFGREAD`: `PciConfDataMsg { uint32_t addr; uint32_t
/// val; int len; }`.
pub const PCI_CONF_DATA_SIZE: usize = 12;

/// Payload bytes of `BAR_WRITE`/`BAR_READ`: `BarAccessMsg { hwaddr addr; uint64_t val;
/// unsigned size; bool memory; }`, 21 bytes padded to 24.
pub const BAR_ACCESS_SIZE: usize = 24;

/// Payload bytes of a `RET`: one `uint64_t`.
pub const RET_SIZE: usize = 8;

/// The command numbers (`MPQemuCmd` in `include/hw/remote/mpqemu-link.h`).
pub mod cmd {
    /// QEMU shares its guest RAM: regions and one fd per region. No reply.
    pub const SYNC_SYSMEM: i32 = 0;
    /// A reply, the only message the device sends.
    pub const RET: i32 = 1;
    /// A configuration-space write. Reply `RET`.
    pub const PCI_CFGWRITE: i32 = 2;
    /// A configuration-space read. Reply `RET` with the value.
    pub const PCI_CFGREAD: i32 = 3;
    /// A write to a BAR. Reply `RET`.
    pub const BAR_WRITE: i32 = 4;
    /// A read from a BAR. Reply `RET` with the value.
    pub const BAR_READ: i32 = 5;
    /// The interrupt's eventfds: irqfd and resamplefd. No reply.
    pub const SET_IRQFD: i32 = 6;
    /// A device reset. Reply `RET`.
    pub const DEVICE_RESET: i32 = 7;

    /// The name of a command number, as in QEMU's `MPQEMU_CMD_*` without the prefix.
    pub fn name(cmd: i32) -> Option<&'static str> {
        Some(match cmd {
            SYNC_SYSMEM => "SYNC_SYSMEM",
            RET => "RET",
            PCI_CFGWRITE => "PCI_CFGWRITE",
            PCI_CFGREAD => "PCI_CFGREAD",
            BAR_WRITE => "BAR_WRITE",
            BAR_READ => "BAR_READ",
            SET_IRQFD => "SET_IRQFD",
            DEVICE_RESET => "DEVICE_RESET",
            _ => return None,
        })
    }

    /// Whether QEMU waits for a `RET` after sending this command
    /// (`mpqemu_msg_send_and_await_reply` in `hw/remote/proxy.c`).
    pub fn awaits_reply(cmd: i32) -> bool {
        matches!(
            cmd,
            PCI_CFGWRITE | PCI_CFGREAD | BAR_WRITE | BAR_READ | DEVICE_RESET
        )
    }
}

/// One guest RAM region of a `SYNC_SYSMEM`: `size` bytes at guest-physical `gpa`, which are the
/// bytes of `fd` from file offset `offset` on. Several regions may come with the same file
/// (each with its own received descriptor).
#[derive(Debug)]
pub struct SysmemRegion {
    /// Guest-physical address of the region's first byte.
    pub gpa: u64,
    /// Length in bytes (QEMU never sends 0 for a region it has, but the slots past the last
    /// region are 0; [`crate::GuestRam`] skips empty regions).
    pub size: u64,
    /// Offset of the region's first byte in `fd` (QEMU's `off_t`, never negative here).
    pub offset: u64,
    /// The file holding the region, typically a memfd; closed on drop.
    pub fd: OwnedFd,
}

/// One message from QEMU.
#[derive(Debug)]
pub enum Request {
    /// `SYNC_SYSMEM`: the guest's RAM, replacing all earlier regions, one per fd received (the
    /// payload's slots past the last fd are ignored). No reply. Without fds it is an empty map
    /// (QEMU's own remote would reject it; QEMU's proxy sends at least one region when the
    /// guest has any fd-backed RAM).
    SyncSysmem(Vec<SysmemRegion>),
    /// `PCI_CFGWRITE`: write the low `len` (1, 2 or 4) bytes of `val` at config offset `addr`.
    /// Reply with [`Channel::send_ret`] (QEMU's remote sends 0).
    CfgWrite {
        /// Config-space offset.
        addr: u32,
        /// The value, in its low `len` bytes.
        val: u32,
        /// 1, 2 or 4.
        len: u32,
    },
    /// `PCI_CFGREAD`: read `len` (1, 2 or 4) bytes at config offset `addr`. Reply with the value
    /// through [`Channel::send_ret`].
    CfgRead {
        /// Config-space offset.
        addr: u32,
        /// 1, 2 or 4.
        len: u32,
    },
    /// `BAR_WRITE`: write the low `size` bytes of `val` at `addr`, a guest-physical address if
    /// `memory`, else an I/O port; the address lies in a BAR as QEMU has it mapped. Reply with
    /// [`Channel::send_ret`].
    BarWrite {
        /// Guest-physical address or I/O port.
        addr: u64,
        /// The value, in its low `size` bytes.
        val: u64,
        /// 1, 2, 4 or 8.
        size: u32,
        /// Memory space (`true`) or I/O space.
        memory: bool,
    },
    /// `BAR_READ`: read `size` bytes at `addr` (see [`Request::BarWrite`]). Reply with the
    /// value through [`Channel::send_ret`].
    BarRead {
        /// Guest-physical address or I/O port.
        addr: u64,
        /// 1, 2, 4 or 8.
        size: u32,
        /// Memory space (`true`) or I/O space.
        memory: bool,
    },
    /// `SET_IRQFD`: raise INTx by writing the 8-byte value 1 to `irqfd`; when `resamplefd`
    /// becomes readable (the guest's EOI), read it and write `irqfd` again if the line is still
    /// high. Replaces earlier fds. No reply. QEMU always sends both fds.
    SetIrqfd {
        /// The eventfd KVM injects the interrupt from.
        irqfd: OwnedFd,
        /// The eventfd KVM signals on EOI.
        resamplefd: Option<OwnedFd>,
    },
    /// `DEVICE_RESET`: reset the device, then reply with [`Channel::send_ret_empty`].
    DeviceReset,
    /// A message that could not be used: unknown command, wrong payload size, wrong number of
    /// fds, a value out of range. Its payload has been read, so the stream is in step; its fds
    /// are closed. If [`Request::needs_reply`] is true, QEMU is waiting: answer
    /// [`RET_ERROR`].
    Malformed {
        /// The header's command number.
        cmd: i32,
        /// The header's payload size.
        size: u64,
        /// What was wrong, for a log.
        why: String,
    },
}

impl Request {
    /// The command number this request came with.
    pub fn cmd(&self) -> i32 {
        match self {
            Request::SyncSysmem(_) => cmd::SYNC_SYSMEM,
            Request::CfgWrite { .. } => cmd::PCI_CFGWRITE,
            Request::CfgRead { .. } => cmd::PCI_CFGREAD,
            Request::BarWrite { .. } => cmd::BAR_WRITE,
            Request::BarRead { .. } => cmd::BAR_READ,
            Request::SetIrqfd { .. } => cmd::SET_IRQFD,
            Request::DeviceReset => cmd::DEVICE_RESET,
            Request::Malformed { cmd, .. } => *cmd,
        }
    }

    /// Whether QEMU waits for a `RET` after this message: config and BAR accesses, device
    /// reset, and a [`Request::Malformed`] whose command is one of those (answer it
    /// [`RET_ERROR`], as QEMU's own remote does for an access it cannot perform).
    pub fn needs_reply(&self) -> bool {
        cmd::awaits_reply(self.cmd())
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn space(memory: bool) -> &'static str {
            if memory {
                "mem"
            } else {
                "io"
            }
        }
        match self {
            Request::SyncSysmem(regions) => {
                write!(f, "SYNC_SYSMEM {} region(s)", regions.len())?;
                for r in regions {
                    write!(
                        f,
                        " [gpa {:#x} size {:#x} offset {:#x} fd {}]",
                        r.gpa,
                        r.size,
                        r.offset,
                        r.fd.as_raw_fd()
                    )?;
                }
                Ok(())
            }
            Request::CfgWrite { addr, val, len } => {
                write!(f, "PCI_CFGWRITE addr {addr:#04x} len {len} val {val:#x}")
            }
            Request::CfgRead { addr, len } => write!(f, "PCI_CFGREAD addr {addr:#04x} len {len}"),
            Request::BarWrite {
                addr,
                val,
                size,
                memory,
            } => write!(
                f,
                "BAR_WRITE {} {addr:#x} size {size} val {val:#x}",
                space(*memory)
            ),
            Request::BarRead { addr, size, memory } => {
                write!(f, "BAR_READ {} {addr:#x} size {size}", space(*memory))
            }
            Request::SetIrqfd { irqfd, resamplefd } => {
                write!(f, "SET_IRQFD irqfd {}", irqfd.as_raw_fd())?;
                match resamplefd {
                    Some(fd) => write!(f, " resamplefd {}", fd.as_raw_fd()),
                    None => write!(f, " (no resamplefd)"),
                }
            }
            Request::DeviceReset => write!(f, "DEVICE_RESET"),
            Request::Malformed { cmd, size, why } => {
                write!(f, "malformed message (cmd {cmd}")?;
                if let Some(name) = cmd::name(*cmd) {
                    write!(f, " {name}")?;
                }
                write!(f, ", size {size}): {why}")
            }
        }
    }
}

/// The device's end of the socket QEMU was given as `x-pci-proxy-dev,fd=N`.
///
/// Blocking; one request at a time, as QEMU sends them (each reply-needing request waits for
/// its `RET` before QEMU sends anything else on that thread). Polling is possible through
/// [`AsFd`].
#[derive(Debug)]
pub struct Channel {
    stream: UnixStream,
}

/// Room for this many fds in one receive's control buffer: more than [`REMOTE_MAX_FDS`], so a
/// message with too many is seen (and its fds closed) rather than cut short silently.
const FD_ROOM: usize = 32;

/// Bytes of control buffer for [`FD_ROOM`] fds.
// SAFETY: CMSG_SPACE is plain arithmetic on its argument.
const CMSG_BUF_LEN: usize =
    unsafe { libc::CMSG_SPACE((FD_ROOM * mem::size_of::<libc::c_int>()) as libc::c_uint) } as usize;

/// How far [`recv_exact`] got.
enum Fill {
    /// The buffer is full.
    Full,
    /// The peer closed the connection after this many bytes.
    Eof(usize),
}

impl Channel {
    /// A channel on a connected UNIX stream socket.
    pub fn new(stream: UnixStream) -> Self {
        Channel { stream }
    }

    /// A channel on a file descriptor that is a connected UNIX stream socket, e.g. one end of a
    /// `socketpair` whose other end QEMU got as `fd=N`. (A descriptor that is not a socket
    /// makes [`Channel::recv`] fail with `ENOTSOCK`.)
    pub fn from_fd(fd: OwnedFd) -> Self {
        Channel::new(UnixStream::from(fd))
    }

    /// The socket.
    pub fn stream(&self) -> &UnixStream {
        &self.stream
    }

    /// The socket, giving up the channel.
    pub fn into_inner(self) -> UnixStream {
        self.stream
    }

    /// Reads the next message.
    ///
    /// `Ok(None)` when QEMU closed the connection between messages. `Err` when it closed inside
    /// a message (`UnexpectedEof`), when a header announces a payload over [`MAX_PAYLOAD`]
    /// (`InvalidData`), or on a socket error; the connection is then of no further use. Anything
    /// else is a [`Request`], [`Request::Malformed`] included.
    pub fn recv(&mut self) -> io::Result<Option<Request>> {
        let sock = self.stream.as_fd();
        let mut fds = Vec::new();
        let mut truncated = false;

        let mut header = [0u8; HEADER_SIZE];
        match recv_exact(sock, &mut header, &mut fds, &mut truncated)? {
            Fill::Full => {}
            Fill::Eof(0) => return Ok(None),
            Fill::Eof(got) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "connection closed after {got} of a message header's {HEADER_SIZE} bytes"
                    ),
                ))
            }
        }
        let cmd = i32::from_ne_bytes(header[0..4].try_into().unwrap());
        let size = u64::from_ne_bytes(header[8..16].try_into().unwrap());
        if size > MAX_PAYLOAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "message header (cmd {cmd}) announces a {size}-byte payload, over the \
                     {MAX_PAYLOAD}-byte limit: not QEMU's protocol, or out of step"
                ),
            ));
        }

        let mut payload = vec![0u8; size as usize];
        if let Fill::Eof(got) = recv_exact(sock, &mut payload, &mut fds, &mut truncated)? {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("connection closed after {got} of a {size}-byte payload (cmd {cmd})"),
            ));
        }
        Ok(Some(parse(cmd, size, &payload, fds, truncated)))
    }

    /// Sends `RET` with an 8-byte payload: the value of a read, or the status of a write (QEMU's
    /// remote sends 0 for success; [`RET_ERROR`] for failure).
    pub fn send_ret(&mut self, val: u64) -> io::Result<()> {
        let mut msg = [0u8; HEADER_SIZE + RET_SIZE];
        msg[..HEADER_SIZE].copy_from_slice(&header(cmd::RET, RET_SIZE as u64));
        msg[HEADER_SIZE..].copy_from_slice(&val.to_ne_bytes());
        send_all(self.stream.as_fd(), &msg)
    }

    /// Sends `RET` with no payload, the reply QEMU's own remote gives to `DEVICE_RESET`
    /// (`process_device_reset_msg` in `hw/remote/message.c`); QEMU then reads the value 0.
    pub fn send_ret_empty(&mut self) -> io::Result<()> {
        send_all(self.stream.as_fd(), &header(cmd::RET, 0))
    }
}

impl From<UnixStream> for Channel {
    fn from(stream: UnixStream) -> Self {
        Channel::new(stream)
    }
}

impl From<OwnedFd> for Channel {
    fn from(fd: OwnedFd) -> Self {
        Channel::from_fd(fd)
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }
}

impl AsRawFd for Channel {
    fn as_raw_fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }
}

/// A message header: `cmd`, 4 bytes of padding (zero), `size`.
fn header(cmd: i32, size: u64) -> [u8; HEADER_SIZE] {
    let mut h = [0u8; HEADER_SIZE];
    h[0..4].copy_from_slice(&cmd.to_ne_bytes());
    h[8..16].copy_from_slice(&size.to_ne_bytes());
    h
}

/// Writes all of `bytes`, without SIGPIPE if QEMU has gone (`EPIPE` instead).
fn send_all(sock: BorrowedFd<'_>, bytes: &[u8]) -> io::Result<()> {
    let mut done = 0;
    while done < bytes.len() {
        let rest = &bytes[done..];
        // SAFETY: `rest` is valid for reads of `rest.len()` bytes for the duration of the call.
        let n = unsafe {
            libc::send(
                sock.as_raw_fd(),
                rest.as_ptr().cast(),
                rest.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        done += n as usize;
    }
    Ok(())
}

/// Fills `buf` from the socket, keeping every fd that arrives on the way in `fds`; sets
/// `truncated` if the kernel had to drop fds (`MSG_CTRUNC`).
fn recv_exact(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
    truncated: &mut bool,
) -> io::Result<Fill> {
    let mut done = 0;
    while done < buf.len() {
        let n = recv_some(sock, &mut buf[done..], fds, truncated)?;
        if n == 0 {
            return Ok(Fill::Eof(done));
        }
        done += n;
    }
    Ok(Fill::Full)
}

/// One `recvmsg` into `buf` (retried on `EINTR`); returns the bytes read, 0 at end of stream.
fn recv_some(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
    truncated: &mut bool,
) -> io::Result<usize> {
    // u64 elements keep the control buffer aligned for `cmsghdr`.
    let mut control = [0u64; CMSG_BUF_LEN.div_ceil(8)];
    loop {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: an all-zero msghdr is a valid value (null pointers, zero lengths).
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = CMSG_BUF_LEN as _;
        // SAFETY: `msg` points at `iov` (which points at `buf`) and at `control`, all alive and
        // writable for the lengths given.
        let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        // SAFETY: `msg` was just filled by a successful recvmsg; its control buffer holds what
        // the kernel wrote, and every fd in an SCM_RIGHTS message is newly installed and ours.
        unsafe { take_fds(&msg, fds) };
        if msg.msg_flags & libc::MSG_CTRUNC != 0 {
            *truncated = true;
        }
        return Ok(n as usize);
    }
}

/// Moves every fd of every `SCM_RIGHTS` control message in `msg` into `fds`.
///
/// # Safety
///
/// `msg` must come from a successful `recvmsg`, with its control buffer still alive, and the
/// fds in it must not be owned by anything else.
unsafe fn take_fds(msg: &libc::msghdr, fds: &mut Vec<OwnedFd>) {
    let mut cmsg = libc::CMSG_FIRSTHDR(msg);
    while !cmsg.is_null() {
        let hdr: libc::cmsghdr = ptr::read_unaligned(cmsg);
        if hdr.cmsg_level == libc::SOL_SOCKET && hdr.cmsg_type == libc::SCM_RIGHTS {
            let data = libc::CMSG_DATA(cmsg).cast::<libc::c_int>();
            let bytes = (hdr.cmsg_len as usize).saturating_sub(libc::CMSG_LEN(0) as usize);
            for i in 0..bytes / mem::size_of::<libc::c_int>() {
                let fd = ptr::read_unaligned(data.add(i));
                if fd >= 0 {
                    fds.push(OwnedFd::from_raw_fd(fd));
                }
            }
        }
        cmsg = libc::CMSG_NXTHDR(msg, cmsg);
    }
}

fn u32_at(payload: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(payload[at..at + 4].try_into().unwrap())
}

fn u64_at(payload: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(payload[at..at + 8].try_into().unwrap())
}

/// Turns a complete message into a request. `fds` are dropped (closed) unless the request
/// keeps them.
fn parse(cmd: i32, size: u64, payload: &[u8], fds: Vec<OwnedFd>, truncated: bool) -> Request {
    let malformed = |why: String| Request::Malformed { cmd, size, why };
    if truncated {
        return malformed(format!(
            "more file descriptors than the {FD_ROOM} room for (got {}; the rest were dropped)",
            fds.len()
        ));
    }
    let want_size = |want: usize| -> Result<(), String> {
        if payload.len() == want {
            Ok(())
        } else {
            Err(format!(
                "payload of {} bytes, expected {want}",
                payload.len()
            ))
        }
    };
    let want_no_fds = || -> Result<(), String> {
        if fds.is_empty() {
            Ok(())
        } else {
            Err(format!("{} unexpected file descriptor(s)", fds.len()))
        }
    };

    match cmd {
        cmd::SYNC_SYSMEM => {
            if let Err(why) = want_size(SYNC_SYSMEM_SIZE) {
                return malformed(why);
            }
            if fds.len() > REMOTE_MAX_FDS {
                return malformed(format!(
                    "{} file descriptors, at most {REMOTE_MAX_FDS} regions",
                    fds.len()
                ));
            }
            let mut regions = Vec::with_capacity(fds.len());
            for (i, fd) in fds.into_iter().enumerate() {
                let gpa = u64_at(payload, 8 * i);
                let len = u64_at(payload, 8 * (REMOTE_MAX_FDS + i));
                let offset = u64_at(payload, 8 * (2 * REMOTE_MAX_FDS + i)) as i64;
                if offset < 0 {
                    return malformed(format!("region {i}: negative file offset {offset}"));
                }
                if gpa.checked_add(len).is_none() {
                    return malformed(format!(
                        "region {i}: {len:#x} bytes at {gpa:#x} pass the end of the address space"
                    ));
                }
                regions.push(SysmemRegion {
                    gpa,
                    size: len,
                    offset: offset as u64,
                    fd,
                });
            }
            Request::SyncSysmem(regions)
        }
        cmd::PCI_CFGWRITE | cmd::PCI_CFGREAD => {
            if let Err(why) = want_size(PCI_CONF_DATA_SIZE).and_then(|()| want_no_fds()) {
                return malformed(why);
            }
            let addr = u32_at(payload, 0);
            let val = u32_at(payload, 4);
            let len = u32_at(payload, 8) as i32;
            if !matches!(len, 1 | 2 | 4) {
                return malformed(format!("config access of length {len}"));
            }
            let len = len as u32;
            if cmd == cmd::PCI_CFGWRITE {
                Request::CfgWrite { addr, val, len }
            } else {
                Request::CfgRead { addr, len }
            }
        }
        cmd::BAR_WRITE | cmd::BAR_READ => {
            if let Err(why) = want_size(BAR_ACCESS_SIZE).and_then(|()| want_no_fds()) {
                return malformed(why);
            }
            let addr = u64_at(payload, 0);
            let val = u64_at(payload, 8);
            let access = u32_at(payload, 16);
            let memory = payload[20] != 0;
            if !matches!(access, 1 | 2 | 4 | 8) {
                return malformed(format!("BAR access of {access} bytes"));
            }
            if cmd == cmd::BAR_WRITE {
                Request::BarWrite {
                    addr,
                    val,
                    size: access,
                    memory,
                }
            } else {
                Request::BarRead {
                    addr,
                    size: access,
                    memory,
                }
            }
        }
        cmd::SET_IRQFD => {
            if let Err(why) = want_size(0) {
                return malformed(why);
            }
            if !matches!(fds.len(), 1 | 2) {
                return malformed(format!(
                    "{} file descriptors, expected irqfd and resamplefd",
                    fds.len()
                ));
            }
            let mut fds = fds.into_iter();
            let irqfd = fds.next().expect("one fd checked above");
            Request::SetIrqfd {
                irqfd,
                resamplefd: fds.next(),
            }
        }
        cmd::DEVICE_RESET => {
            if let Err(why) = want_size(0).and_then(|()| want_no_fds()) {
                return malformed(why);
            }
            Request::DeviceReset
        }
        cmd::RET => malformed("a RET from QEMU, which sends no replies".into()),
        _ => malformed("unknown command".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{
        bar_payload, conf_payload, eventfd, memfd, qemu_send, raw_header, sync_payload,
    };
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;

    fn pair() -> (Channel, UnixStream) {
        let (dev, qemu) = UnixStream::pair().unwrap();
        (Channel::new(dev), qemu)
    }

    fn next(ch: &mut Channel) -> Request {
        ch.recv().unwrap().expect("a message, not EOF")
    }

    /// Reads exactly `n` bytes QEMU would receive.
    fn read_reply(qemu: &mut UnixStream, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        qemu.read_exact(&mut buf).unwrap();
        buf
    }

    /// Whether the file behind `fd` still has another descriptor open somewhere in this
    /// process: `fd` is the read end of a pipe whose write end was sent away; once every copy
    /// of the write end is closed, a read gives EOF instead of `EAGAIN`.
    fn pipe_writer_open(read_end: &OwnedFd) -> bool {
        let mut b = [0u8; 1];
        // SAFETY: plain read into a 1-byte buffer.
        let n = unsafe { libc::read(read_end.as_raw_fd(), b.as_mut_ptr().cast(), 1) };
        if n == 0 {
            return false;
        }
        assert_eq!(io::Error::last_os_error().kind(), io::ErrorKind::WouldBlock);
        true
    }

    fn nonblocking_pipe() -> (OwnedFd, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two fds into the array.
        let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
        assert_eq!(rc, 0);
        // SAFETY: both fds are new and owned by nobody else.
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
    }

    #[test]
    fn config_read_and_write_parse_and_ret_bytes_are_qemus() {
        let (mut ch, mut qemu) = pair();
        qemu_send(&qemu, cmd::PCI_CFGREAD, &conf_payload(0x10, 0, 4), &[]);
        let req = next(&mut ch);
        assert!(
            matches!(req, Request::CfgRead { addr: 0x10, len: 4 }),
            "{req:?}"
        );
        assert!(req.needs_reply());
        assert_eq!(req.to_string(), "PCI_CFGREAD addr 0x10 len 4");
        ch.send_ret(0xfffe_0000).unwrap();
        let reply = read_reply(&mut qemu, 24);
        let mut want = vec![1, 0, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(&8u64.to_ne_bytes());
        want.extend_from_slice(&0xfffe_0000u64.to_ne_bytes());
        assert_eq!(reply, want);

        qemu_send(
            &qemu,
            cmd::PCI_CFGWRITE,
            &conf_payload(0x04, 0x0407, 2),
            &[],
        );
        let req = next(&mut ch);
        assert!(
            matches!(
                req,
                Request::CfgWrite {
                    addr: 4,
                    val: 0x0407,
                    len: 2
                }
            ),
            "{req:?}"
        );
        assert!(req.needs_reply());
        ch.send_ret(0).unwrap();
        assert_eq!(&read_reply(&mut qemu, 24)[16..], &[0; 8]);
    }

    #[test]
    fn bar_accesses_parse() {
        let (mut ch, qemu) = pair();
        qemu_send(
            &qemu,
            cmd::BAR_WRITE,
            &bar_payload(0xfebc_00d0, 0x1234_5678_9abc_def0, 8, true),
            &[],
        );
        qemu_send(&qemu, cmd::BAR_READ, &bar_payload(0xc008, 0, 2, false), &[]);
        let w = next(&mut ch);
        assert!(
            matches!(
                w,
                Request::BarWrite {
                    addr: 0xfebc_00d0,
                    val: 0x1234_5678_9abc_def0,
                    size: 8,
                    memory: true
                }
            ),
            "{w:?}"
        );
        assert!(w.needs_reply());
        assert_eq!(
            w.to_string(),
            "BAR_WRITE mem 0xfebc00d0 size 8 val 0x123456789abcdef0"
        );
        let r = next(&mut ch);
        assert!(
            matches!(
                r,
                Request::BarRead {
                    addr: 0xc008,
                    size: 2,
                    memory: false
                }
            ),
            "{r:?}"
        );
        assert_eq!(r.to_string(), "BAR_READ io 0xc008 size 2");
    }

    #[test]
    fn sync_sysmem_gives_one_owned_fd_per_region() {
        let (mut ch, qemu) = pair();
        let low = memfd(0x2000);
        let high = memfd(0x1000);
        let payload = sync_payload(&[(0, 0xa0000, 0), (0x1_0000_0000, 0x1000, 0x1000)]);
        qemu_send(
            &qemu,
            cmd::SYNC_SYSMEM,
            &payload,
            &[low.as_raw_fd(), high.as_raw_fd()],
        );
        let req = next(&mut ch);
        assert!(!req.needs_reply());
        let Request::SyncSysmem(regions) = req else {
            panic!("{req:?}")
        };
        assert_eq!(regions.len(), 2);
        assert_eq!(
            (regions[0].gpa, regions[0].size, regions[0].offset),
            (0, 0xa0000, 0)
        );
        assert_eq!(
            (regions[1].gpa, regions[1].size, regions[1].offset),
            (0x1_0000_0000, 0x1000, 0x1000)
        );
        // The received fds are new descriptors of the same files.
        for (region, original) in regions.iter().zip([&low, &high]) {
            assert_ne!(region.fd.as_raw_fd(), original.as_raw_fd());
            assert_eq!(
                crate::testutil::inode(&region.fd),
                crate::testutil::inode(original)
            );
        }
        let text = Request::SyncSysmem(regions).to_string();
        assert!(
            text.starts_with("SYNC_SYSMEM 2 region(s) [gpa 0x0 size 0xa0000"),
            "{text}"
        );
    }

    #[test]
    fn set_irqfd_hands_over_both_eventfds() {
        let (mut ch, qemu) = pair();
        let irq = eventfd();
        let resample = eventfd();
        qemu_send(
            &qemu,
            cmd::SET_IRQFD,
            &[],
            &[irq.as_raw_fd(), resample.as_raw_fd()],
        );
        let req = next(&mut ch);
        assert!(!req.needs_reply());
        let Request::SetIrqfd {
            irqfd,
            resamplefd: Some(resamplefd),
        } = req
        else {
            panic!("{req:?}")
        };
        // Writing the received irqfd signals QEMU's eventfd; QEMU's resample write is seen on
        // the received resamplefd.
        std::fs::File::from(irqfd)
            .write_all(&1u64.to_ne_bytes())
            .unwrap();
        let mut count = [0u8; 8];
        std::fs::File::from(irq).read_exact(&mut count).unwrap();
        assert_eq!(u64::from_ne_bytes(count), 1);
        std::fs::File::from(resample)
            .write_all(&1u64.to_ne_bytes())
            .unwrap();
        std::fs::File::from(resamplefd)
            .read_exact(&mut count)
            .unwrap();
        assert_eq!(u64::from_ne_bytes(count), 1);
    }

    #[test]
    fn device_reset_and_the_empty_ret() {
        let (mut ch, mut qemu) = pair();
        qemu_send(&qemu, cmd::DEVICE_RESET, &[], &[]);
        let req = next(&mut ch);
        assert!(matches!(req, Request::DeviceReset));
        assert!(req.needs_reply());
        assert_eq!(req.to_string(), "DEVICE_RESET");
        ch.send_ret_empty().unwrap();
        let mut want = vec![1, 0, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(&0u64.to_ne_bytes());
        assert_eq!(read_reply(&mut qemu, 16), want);
        // Nothing more was sent.
        qemu.set_nonblocking(true).unwrap();
        let mut b = [0u8; 1];
        assert_eq!(
            qemu.read(&mut b).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
    }

    #[test]
    fn unknown_command_is_skipped_and_the_stream_stays_in_step() {
        let (mut ch, qemu) = pair();
        qemu_send(&qemu, 42, &[0xaa; 100], &[]);
        qemu_send(&qemu, -1, &[], &[]);
        qemu_send(&qemu, cmd::PCI_CFGREAD, &conf_payload(0, 0, 2), &[]);
        let req = next(&mut ch);
        assert!(
            matches!(&req, Request::Malformed { cmd: 42, size: 100, why } if why == "unknown command"),
            "{req:?}"
        );
        assert!(!req.needs_reply());
        assert_eq!(
            req.to_string(),
            "malformed message (cmd 42, size 100): unknown command"
        );
        assert!(matches!(
            next(&mut ch),
            Request::Malformed {
                cmd: -1,
                size: 0,
                ..
            }
        ));
        assert!(matches!(
            next(&mut ch),
            Request::CfgRead { addr: 0, len: 2 }
        ));
    }

    #[test]
    fn wrong_sizes_and_values_are_malformed_and_in_step() {
        let (mut ch, qemu) = pair();
        // Config read with 8 bytes instead of 12: QEMU would still wait for a reply.
        qemu_send(&qemu, cmd::PCI_CFGREAD, &[0; 8], &[]);
        // Config write of length 3, BAR read of 3 bytes, BAR write short by its padding.
        qemu_send(&qemu, cmd::PCI_CFGWRITE, &conf_payload(4, 0, 3), &[]);
        qemu_send(&qemu, cmd::BAR_READ, &bar_payload(0x1000, 0, 3, true), &[]);
        qemu_send(
            &qemu,
            cmd::BAR_WRITE,
            &bar_payload(0x1000, 0, 4, true)[..21],
            &[],
        );
        // A reset with a payload, a RET from QEMU, SYNC_SYSMEM of the wrong size.
        qemu_send(&qemu, cmd::DEVICE_RESET, &[0; 8], &[]);
        qemu_send(&qemu, cmd::RET, &0u64.to_ne_bytes(), &[]);
        qemu_send(&qemu, cmd::SYNC_SYSMEM, &[0; 191], &[]);
        // A negative offset in SYNC_SYSMEM.
        let fd = memfd(0x1000);
        qemu_send(
            &qemu,
            cmd::SYNC_SYSMEM,
            &sync_payload(&[(0, 0x1000, -4096)]),
            &[fd.as_raw_fd()],
        );
        qemu_send(&qemu, cmd::BAR_READ, &bar_payload(0x2000, 0, 4, true), &[]);

        for (cmd, reply, why) in [
            (cmd::PCI_CFGREAD, true, "payload of 8 bytes, expected 12"),
            (cmd::PCI_CFGWRITE, true, "config access of length 3"),
            (cmd::BAR_READ, true, "BAR access of 3 bytes"),
            (cmd::BAR_WRITE, true, "payload of 21 bytes, expected 24"),
            (cmd::DEVICE_RESET, true, "payload of 8 bytes, expected 0"),
            (cmd::RET, false, "a RET from QEMU, which sends no replies"),
            (
                cmd::SYNC_SYSMEM,
                false,
                "payload of 191 bytes, expected 192",
            ),
            (
                cmd::SYNC_SYSMEM,
                false,
                "region 0: negative file offset -4096",
            ),
        ] {
            let req = next(&mut ch);
            match &req {
                Request::Malformed { cmd: c, why: w, .. } => {
                    assert_eq!((*c, w.as_str()), (cmd, why));
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(req.needs_reply(), reply, "{req}");
        }
        assert!(matches!(
            next(&mut ch),
            Request::BarRead {
                addr: 0x2000,
                size: 4,
                memory: true
            }
        ));
    }

    #[test]
    fn fd_count_must_match_and_stray_fds_are_closed() {
        let (mut ch, qemu) = pair();
        let (read_end, write_end) = nonblocking_pipe();
        // A config read carrying an fd: malformed, and the fd it brought is closed on drop.
        qemu_send(
            &qemu,
            cmd::PCI_CFGREAD,
            &conf_payload(0, 0, 4),
            &[write_end.as_raw_fd()],
        );
        drop(write_end);
        assert!(pipe_writer_open(&read_end), "the copy in flight is alive");
        let req = next(&mut ch);
        assert!(
            matches!(&req, Request::Malformed { why, .. } if why == "1 unexpected file descriptor(s)"),
            "{req:?}"
        );
        assert!(!pipe_writer_open(&read_end), "the received copy was closed");

        // SET_IRQFD without fds, with three; SYNC_SYSMEM with nine.
        let e = eventfd();
        qemu_send(&qemu, cmd::SET_IRQFD, &[], &[]);
        qemu_send(&qemu, cmd::SET_IRQFD, &[], &[e.as_raw_fd(); 3]);
        qemu_send(
            &qemu,
            cmd::SYNC_SYSMEM,
            &sync_payload(&[]),
            &[e.as_raw_fd(); 9],
        );
        // SET_IRQFD with only the irqfd is taken.
        qemu_send(&qemu, cmd::SET_IRQFD, &[], &[e.as_raw_fd()]);
        for why in [
            "0 file descriptors, expected irqfd and resamplefd",
            "3 file descriptors, expected irqfd and resamplefd",
            "9 file descriptors, at most 8 regions",
        ] {
            let req = next(&mut ch);
            assert!(
                matches!(&req, Request::Malformed { why: w, .. } if w == why),
                "{req:?}"
            );
            assert!(!req.needs_reply());
        }
        let req = next(&mut ch);
        assert!(
            matches!(
                req,
                Request::SetIrqfd {
                    resamplefd: None,
                    ..
                }
            ),
            "{req:?}"
        );
    }

    #[test]
    fn more_fds_than_room_are_dropped_not_leaked() {
        let (mut ch, qemu) = pair();
        let (read_end, write_end) = nonblocking_pipe();
        qemu_send(
            &qemu,
            cmd::SYNC_SYSMEM,
            &sync_payload(&[]),
            &[write_end.as_raw_fd(); FD_ROOM + 8],
        );
        drop(write_end);
        let req = next(&mut ch);
        assert!(
            matches!(&req, Request::Malformed { why, .. } if why.starts_with("more file descriptors")),
            "{req:?}"
        );
        drop(req);
        assert!(!pipe_writer_open(&read_end));
        qemu_send(&qemu, cmd::DEVICE_RESET, &[], &[]);
        assert!(matches!(next(&mut ch), Request::DeviceReset));
    }

    #[test]
    fn sync_sysmem_without_regions_is_an_empty_map() {
        let (mut ch, qemu) = pair();
        qemu_send(&qemu, cmd::SYNC_SYSMEM, &sync_payload(&[]), &[]);
        assert!(matches!(next(&mut ch), Request::SyncSysmem(r) if r.is_empty()));
    }

    #[test]
    fn a_header_in_pieces_still_parses_with_its_fds() {
        let (mut ch, mut qemu) = pair();
        let e = eventfd();
        let whole = raw_header(cmd::SET_IRQFD, 0);
        // The fds come with the first 5 bytes; the rest of the header follows later.
        crate::testutil::send_with_fds(&qemu, &whole[..5], &[e.as_raw_fd(), e.as_raw_fd()]);
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            qemu.write_all(&whole[5..]).unwrap();
            qemu
        });
        let req = next(&mut ch);
        assert!(
            matches!(
                req,
                Request::SetIrqfd {
                    resamplefd: Some(_),
                    ..
                }
            ),
            "{req:?}"
        );
        drop(t.join().unwrap());
        assert!(ch.recv().unwrap().is_none());
    }

    #[test]
    fn absurd_size_is_an_error() {
        let (mut ch, mut qemu) = pair();
        qemu.write_all(&raw_header(cmd::PCI_CFGREAD, MAX_PAYLOAD + 1))
            .unwrap();
        let e = ch.recv().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("4097-byte payload"), "{e}");
        // The biggest size still allowed is read and skipped.
        let (mut ch, qemu) = pair();
        qemu_send(&qemu, 99, &vec![7u8; MAX_PAYLOAD as usize], &[]);
        qemu_send(&qemu, cmd::DEVICE_RESET, &[], &[]);
        assert!(matches!(next(&mut ch), Request::Malformed { cmd: 99, .. }));
        assert!(matches!(next(&mut ch), Request::DeviceReset));
    }

    #[test]
    fn end_of_stream_clean_and_inside_a_message() {
        let (mut ch, qemu) = pair();
        drop(qemu);
        assert!(ch.recv().unwrap().is_none());

        let (mut ch, mut qemu) = pair();
        qemu.write_all(&raw_header(cmd::PCI_CFGREAD, 12)[..10])
            .unwrap();
        drop(qemu);
        let e = ch.recv().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(e.to_string().contains("10 of a message header"), "{e}");

        let (mut ch, mut qemu) = pair();
        qemu.write_all(&raw_header(cmd::PCI_CFGREAD, 12)).unwrap();
        qemu.write_all(&[0; 4]).unwrap();
        drop(qemu);
        let e = ch.recv().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(e.to_string().contains("4 of a 12-byte payload"), "{e}");
    }

    #[test]
    fn reply_to_a_closed_peer_is_an_error_not_a_signal() {
        let (mut ch, qemu) = pair();
        drop(qemu);
        let e = ch.send_ret(0).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn channel_from_an_owned_fd() {
        let (dev, qemu) = UnixStream::pair().unwrap();
        let mut ch = Channel::from(OwnedFd::from(dev));
        qemu_send(&qemu, cmd::DEVICE_RESET, &[], &[]);
        assert!(matches!(next(&mut ch), Request::DeviceReset));
        assert_eq!(ch.as_raw_fd(), ch.stream().as_raw_fd());
    }

    #[test]
    fn command_names() {
        assert_eq!(cmd::name(cmd::BAR_READ), Some("BAR_READ"));
        assert_eq!(cmd::name(8), None);
        assert!((0..8).all(|c| cmd::name(c).is_some()));
        assert_eq!(
            (0..8).filter(|&c| cmd::awaits_reply(c)).collect::<Vec<_>>(),
            [2, 3, 4, 5, 7]
        );
    }
}
