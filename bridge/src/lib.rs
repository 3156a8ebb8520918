//! The device side of QEMU 7.2's experimental multi-process PCI device, `x-pci-proxy-dev`:
//! the pieces a separate process needs to play an Intel 82540EM (8086:100E) to a QEMU guest.
//!
//! QEMU is started with `-device x-pci-proxy-dev,id=...,fd=N`, where `N` is one end of a UNIX
//! stream socket pair; the device process holds the other end. QEMU keeps a proxy PCI function
//! on its bus and forwards to the device process every configuration-space access, every access
//! to the BARs, the guest's RAM layout and a device reset. The device raises INTx through an
//! eventfd that QEMU wires to KVM (an irqfd with a resample fd).
//!
//! * [`proto`]: the messages on that socket ([`proto::Channel`], [`proto::Request`]).
//! * [`guest_ram`]: the guest RAM QEMU shares with `SYNC_SYSMEM` ([`guest_ram::GuestRam`]),
//!   for the device's DMA.
//! * [`pci`]: the 82540EM's type 0 configuration space ([`pci::ConfigSpace`]): ID registers,
//!   command register, BAR sizing and decoding.
//!
//! # The protocol
//!
//! Every message, in both directions, is a 16-byte header followed by `size` bytes of payload.
//! The header is `MPQemuMsg` up to its `data` union: `{ int cmd; /* 4 bytes padding */
//! size_t size; }` (`MPQEMU_MSG_HDR_SIZE = offsetof(MPQemuMsg, data.u64)`), in the host's byte
//! order. File descriptors travel as one `SCM_RIGHTS` control message with the header
//! (`mpqemu_msg_send` writes header and payload with one `sendmsg`), at most 8
//! (`REMOTE_MAX_FDS`). Source: `include/hw/remote/mpqemu-link.h`, `hw/remote/mpqemu-link.c`.
//!
//! | cmd | name | payload (host byte order) | fds | QEMU waits for |
//! |----:|------|---------------------------|-----|----------------|
//! | 0 | `SYNC_SYSMEM` | `u64 gpas[8]; u64 sizes[8]; i64 offsets[8]` (192 B) | one per RAM region | nothing |
//! | 1 | `RET` | `u64` (8 B) | none | (the reply itself) |
//! | 2 | `PCI_CFGWRITE` | `u32 addr; u32 val; i32 len` (12 B) | none | `RET` |
//! | 3 | `PCI_CFGREAD` | `u32 addr; u32 val (0); i32 len` (12 B) | none | `RET` with the value |
//! | 4 | `BAR_WRITE` | `u64 addr; u64 val; u32 size; bool memory; 3 B padding` (24 B) | none | `RET` |
//! | 5 | `BAR_READ` | as `BAR_WRITE`, `val` 0 | none | `RET` with the value |
//! | 6 | `SET_IRQFD` | none (size 0) | irqfd, resamplefd | nothing |
//! | 7 | `DEVICE_RESET` | none (size 0) | none | `RET` (QEMU's own remote sends size 0) |
//!
//! * `SYNC_SYSMEM` (`hw/remote/proxy-memory-listener.c`): QEMU's memory listener on
//!   `address_space_memory` sends the whole set of RAM sections that have a file descriptor
//!   after every memory transaction commit (the first one while the proxy is realized, then
//!   after every change of the memory map, such as a BAR being moved), so it arrives often and
//!   each one replaces the last (`hw/remote/memory.c`, `remote_sysmem_reconfig`). The number of
//!   regions is the number of fds; region `i` is `sizes[i]` bytes at guest-physical `gpas[i]`,
//!   backed by fd `i` from file offset `offsets[i]`. Guest RAM is shared only if QEMU's RAM has
//!   a file descriptor, e.g. `-object memory-backend-memfd,id=mem,size=...,share=on -machine
//!   memory-backend=mem`; sections without one are skipped by QEMU.
//! * `PCI_CFGREAD`/`PCI_CFGWRITE` (`hw/remote/proxy.c`, `config_op_send`): every config access
//!   of the guest, and QEMU's own probing when the proxy is realized (`probe_pci_info`: the
//!   vendor, device, class and subsystem IDs as 2-byte reads at 0x00, 0x02, 0x0A and 0x2E, then
//!   for each of 0x10, 0x14, ..., 0x28: read, write `0xFFFF_FFFF`, read back, write the original
//!   back; the size is `!(readback & 0xFFFF_FFF0) + 1` and bit 0 of the readback chooses I/O
//!   over memory). The reply to a read is the value in the low bits of the `RET`.
//! * `BAR_READ`/`BAR_WRITE` (`hw/remote/proxy.c`, `send_bar_access_msg`): `addr` is the BAR's
//!   base as QEMU mapped it plus the offset, so a guest-physical address (`memory`) or an I/O
//!   port; `size` is 1, 2, 4 or 8. QEMU's own remote answers an access it cannot serve with
//!   `RET` `u64::MAX` (`hw/remote/message.c`).
//! * `SET_IRQFD` (`hw/remote/proxy.c`, `setup_irqfd`; `hw/remote/iohub.c`): the device raises
//!   its INTx line by writing an 8-byte 1 to the irqfd; after the guest's EOI, KVM signals the
//!   resamplefd, and if the line is still high the device writes the irqfd again. QEMU wires it
//!   with `kvm_irqchip_add_irqfd_notifier_gsi`, so interrupts need KVM.
//! * `DEVICE_RESET` (`hw/remote/message.c`, `process_device_reset_msg`): reset the device, then
//!   reply `RET`; QEMU's remote sends it with size 0 and QEMU accepts either size.
//!
//! The vCPU (or QEMU thread) that sent a request that needs a reply blocks in
//! `mpqemu_msg_send_and_await_reply` until the `RET` arrives, so a device must answer each one,
//! malformed ones included ([`proto::Request::needs_reply`], [`proto::RET_ERROR`]).
//!
//! # What QEMU sends, in order
//!
//! When the proxy is realized (`pci_proxy_dev_realize` in `hw/remote/proxy.c`): a
//! `SYNC_SYSMEM` (registering the memory listener commits the current map at once), then
//! `SET_IRQFD`, then the probe's config accesses (IDs, then BAR sizing). At every machine reset,
//! the first one before the guest runs included, `DEVICE_RESET`: QEMU resets its local copy of
//! the config space at the same time (command 0, BARs and interrupt line cleared,
//! `pci_do_device_reset` in `hw/pci/pci.c`), so resetting [`pci::ConfigSpace`] then keeps both
//! copies alike. Then the guest's config and BAR accesses, with a `SYNC_SYSMEM` after every
//! change of the memory map.
//!
//! QEMU enforces neither bus mastering nor INTx disable for the proxy: the guest's RAM is
//! always shared and the irqfd goes straight to KVM, so the device checks
//! [`pci::ConfigSpace::bus_master`] before DMA and [`pci::ConfigSpace::intx_disabled`] before
//! raising its interrupt.
//!
//! The layout above is the one of a 64-bit host (`size_t`, `off_t` and `hwaddr` 8 bytes);
//! this crate builds only for 64-bit Linux.
//!
//! # Example
//!
//! The heart of a device process (not run here: it needs QEMU at the other end of the socket).
//!
//! ```no_run
//! use dmanic_qemu::proto::RET_ERROR;
//! use dmanic_qemu::{Bar, Channel, ConfigSpace, GuestRam, Request};
//! use std::os::fd::{FromRawFd, OwnedFd};
//!
//! # fn main() -> std::io::Result<()> {
//! // Say fd 3 is the socket whose other end QEMU got as `x-pci-proxy-dev,fd=N`.
//! // SAFETY: the process owns fd 3 and nothing else uses it.
//! let mut ch = Channel::from_fd(unsafe { OwnedFd::from_raw_fd(3) });
//! let mut config = ConfigSpace::new();
//! let mut ram = GuestRam::empty();
//! let mut irqfd = None;
//! while let Some(req) = ch.recv()? {
//!     match req {
//!         Request::SyncSysmem(regions) => {
//!             ram = GuestRam::new(&regions).unwrap_or_else(|e| {
//!                 eprintln!("{e}");
//!                 GuestRam::empty()
//!             })
//!         }
//!         Request::CfgRead { addr, len } => ch.send_ret(config.read(addr, len).into())?,
//!         Request::CfgWrite { addr, val, len } => {
//!             config.write(addr, val, len);
//!             ch.send_ret(0)?;
//!         }
//!         Request::BarRead { addr, size, memory } => {
//!             let val = match config.decode_access(addr, size, memory) {
//!                 Some((Bar::Mmio, _offset)) => 0, // the NIC's register read
//!                 Some((Bar::Io, _offset)) => 0,   // IOADDR/IODATA
//!                 None => RET_ERROR,
//!             };
//!             ch.send_ret(val)?;
//!         }
//!         Request::BarWrite { .. } => ch.send_ret(0)?,
//!         Request::SetIrqfd { irqfd: fd, .. } => irqfd = Some(fd),
//!         Request::DeviceReset => {
//!             config.reset();
//!             ch.send_ret_empty()?;
//!         }
//!         malformed @ Request::Malformed { .. } => {
//!             eprintln!("{malformed}");
//!             if malformed.needs_reply() {
//!                 ch.send_ret(RET_ERROR)?;
//!             }
//!         }
//!     }
//! }
//! # drop((ram, irqfd));
//! # Ok(())
//! # }
//! ```
//!

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
compile_error!("dmanic-qemu speaks the x-pci-proxy-dev protocol of a 64-bit Linux host only");

pub mod card;
pub mod guest_ram;
pub mod pci;
pub mod proto;
pub mod report;

#[cfg(test)]
mod testutil;

pub use guest_ram::{GuestRam, RamRegion};
pub use pci::{Bar, ConfigSpace};
pub use proto::{Channel, Request, SysmemRegion};
