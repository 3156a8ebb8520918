//! Test helpers: QEMU's side of the socket, written from the struct layouts in
//! `include/hw/remote/mpqemu-link.h` independently of [`crate::proto`]'s parser.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

/// `MPQemuMsg`'s first 16 bytes: `int cmd`, 4 bytes padding, `size_t size`.
pub fn raw_header(cmd: i32, size: u64) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[..4].copy_from_slice(&cmd.to_ne_bytes());
    h[8..].copy_from_slice(&size.to_ne_bytes());
    h
}

/// `PciConfDataMsg { uint32_t addr; uint32_t val; int len; }`.
pub fn conf_payload(addr: u32, val: u32, len: i32) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&addr.to_ne_bytes());
    p.extend_from_slice(&val.to_ne_bytes());
    p.extend_from_slice(&len.to_ne_bytes());
    p
}

/// `BarAccessMsg { hwaddr addr; uint64_t val; unsigned size; bool memory; }` with its 3
/// trailing padding bytes (zero: QEMU zero-initializes the message).
pub fn bar_payload(addr: u64, val: u64, size: u32, memory: bool) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&addr.to_ne_bytes());
    p.extend_from_slice(&val.to_ne_bytes());
    p.extend_from_slice(&size.to_ne_bytes());
    p.push(memory as u8);
    p.extend_from_slice(&[0; 3]);
    assert_eq!(p.len(), 24);
    p
}

/// `SyncSysmemMsg { hwaddr gpas[8]; uint64_t sizes[8]; off_t offsets[8]; }` with the given
/// `(gpa, size, offset)` in the first slots and zeros after them.
pub fn sync_payload(regions: &[(u64, u64, i64)]) -> Vec<u8> {
    let mut gpas = [0u64; 8];
    let mut sizes = [0u64; 8];
    let mut offsets = [0i64; 8];
    for (i, &(g, s, o)) in regions.iter().enumerate() {
        gpas[i] = g;
        sizes[i] = s;
        offsets[i] = o;
    }
    let mut p = Vec::new();
    gpas.iter()
        .for_each(|v| p.extend_from_slice(&v.to_ne_bytes()));
    sizes
        .iter()
        .for_each(|v| p.extend_from_slice(&v.to_ne_bytes()));
    offsets
        .iter()
        .for_each(|v| p.extend_from_slice(&v.to_ne_bytes()));
    assert_eq!(p.len(), 192);
    p
}

/// Sends `bytes` with `fds` as one `SCM_RIGHTS` control message, in one `sendmsg`.
pub fn send_with_fds(sock: &UnixStream, bytes: &[u8], fds: &[RawFd]) {
    send_parts(sock, &[bytes], fds);
}

/// What `mpqemu_msg_send` does: header and payload as two iovecs of one `sendmsg`, the fds
/// (if any) as `SCM_RIGHTS` with them.
pub fn qemu_send(sock: &UnixStream, cmd: i32, payload: &[u8], fds: &[RawFd]) {
    let header = raw_header(cmd, payload.len() as u64);
    send_parts(sock, &[&header, payload], fds);
}

fn send_parts(sock: &UnixStream, parts: &[&[u8]], fds: &[RawFd]) {
    let mut iov: Vec<libc::iovec> = parts
        .iter()
        .map(|p| libc::iovec {
            iov_base: p.as_ptr() as *mut libc::c_void,
            iov_len: p.len(),
        })
        .collect();
    let fd_bytes = mem::size_of_val(fds);
    // SAFETY: CMSG_SPACE is arithmetic.
    let space = unsafe { libc::CMSG_SPACE(fd_bytes as libc::c_uint) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)];
    // SAFETY: an all-zero msghdr is valid.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = iov.len() as _;
    if !fds.is_empty() {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: the control buffer has room for one cmsghdr with `fd_bytes` of data.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(fd_bytes as libc::c_uint) as _;
            std::ptr::copy_nonoverlapping(
                fds.as_ptr().cast::<u8>(),
                libc::CMSG_DATA(cmsg),
                fd_bytes,
            );
        }
    }
    let total: usize = parts.iter().map(|p| p.len()).sum();
    // SAFETY: msg points at live iovecs and control buffer.
    let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
    assert_eq!(n, total as isize, "sendmsg: {}", io::Error::last_os_error());
}

/// A memfd of `len` bytes, each byte `(offset * 7 + offset / 256) as u8` so that every page
/// differs.
pub fn memfd(len: usize) -> OwnedFd {
    // SAFETY: a NUL-terminated name, valid flags.
    let fd = unsafe { libc::memfd_create(c"dmanic-test".as_ptr(), libc::MFD_CLOEXEC) };
    assert!(fd >= 0, "memfd_create: {}", io::Error::last_os_error());
    // SAFETY: fd is new and ours.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let content: Vec<u8> = (0..len).map(pattern).collect();
    let file = std::fs::File::from(fd);
    std::os::unix::fs::FileExt::write_all_at(&file, &content, 0).unwrap();
    file.into()
}

/// The byte [`memfd`] puts at `offset`.
pub fn pattern(offset: usize) -> u8 {
    (offset * 7 + offset / 256) as u8
}

/// A new eventfd.
pub fn eventfd() -> OwnedFd {
    // SAFETY: plain syscall.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    assert!(fd >= 0);
    // SAFETY: fd is new and ours.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// The (device, inode) of an open file.
pub fn inode(fd: &OwnedFd) -> (u64, u64) {
    // SAFETY: fstat fills the struct.
    let mut st: libc::stat = unsafe { mem::zeroed() };
    // SAFETY: valid fd and struct pointer.
    assert_eq!(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) }, 0);
    (st.st_dev, st.st_ino)
}
