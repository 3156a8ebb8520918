//! The memcpy DMA channel: register mode (one SRC/DST/LEN transfer) and chain mode
//! (a linked list of [`desc`] descriptors in host RAM).
//!
//! The driver does not validate addresses or lengths it passes to the hardware: the channel
//! checks them itself and reports a [`Cause`], and tests need to provoke exactly those
//! errors. It only refuses what it cannot express (a length that does not fit a
//! descriptor) or what would corrupt its own bookkeeping (starting a busy channel).

use regs::dmac::{ctrl, desc, status, Cause};
use regs::{csr, dmac};
use thiserror::Error;

use crate::Device;

/// Cycles [`Completion::Poll`] lets pass between two `STATUS` reads: short enough to notice
/// completion promptly, long enough that polling does not hog the bus.
pub const POLL_INTERVAL_CYCLES: u64 = 16;

/// Default bound for [`Dmac::memcpy`] and [`Dmac::run_chain`]. Generous: copying all of the
/// 1 MiB simulation RAM takes about 0.5 M bus beats; a channel that needs 20 times that is
/// stuck or starved, and the timeout error says which.
pub const DEFAULT_TIMEOUT_CYCLES: u64 = 10_000_000;

/// Cycles [`Dmac::abort`] allows the channel to stop. The hardware stops in the cycle of the
/// `CTRL.ABORT` write; this only bounds the driver's own `STATUS` reads.
pub const ABORT_TIMEOUT_CYCLES: u64 = 1_000;

/// Host-port address of channel 0's register `offset` (tests of register writes use it).
#[cfg(test)]
fn reg(offset: u32) -> u32 {
    csr(regs::block::DMAC, offset)
}

/// How [`Dmac::wait`] learns that a transfer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Sleep until the interrupt line rises, then read `STATUS` once. Needs `irq: true` at
    /// start.
    Irq,
    /// Read `STATUS` every [`POLL_INTERVAL_CYCLES`] cycles; every read is a real host-port
    /// transaction competing with the DMA for the bus.
    Poll,
}

/// A transfer that finished without error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// `BYTES_DONE`: bytes copied by the run.
    pub bytes: u32,
    /// `DESC_DONE`: descriptors completed (0 in register mode).
    pub descriptors: u32,
    /// Cycles from just before the `START` write until the driver saw completion (the
    /// interrupt, or the `STATUS` read showing `DONE`).
    pub cycles: u64,
    /// `STATUS` reads made while waiting (1 with [`Completion::Irq`]).
    pub status_reads: u32,
    /// `STATUS.REJECTED_START` was set: someone wrote `START` while the run was going.
    pub rejected_start: bool,
}

/// What [`Dmac::abort`] left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Aborted {
    /// `BYTES_DONE`: whole words copied before the channel stopped.
    pub bytes: u32,
    /// `DESC_DONE`: descriptors completed (written back) before it stopped.
    pub descriptors: u32,
    /// The run had already ended by itself (`DONE`) when the abort came.
    pub completed: bool,
    /// `STATUS` after the abort (`ERR` with cause [`Cause::Aborted`] when it stopped a run).
    pub status: u32,
}

/// Why a DMAC operation failed.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DmacError {
    /// `STATUS.BUSY` was set, so the start was refused (the hardware would ignore it too).
    #[error("DMAC busy (STATUS={status:#x}); start refused")]
    Busy { status: u32 },
    /// [`Dmac::wait`] without a transfer started by this driver.
    #[error("no DMAC transfer has been started")]
    NotStarted,
    /// [`Completion::Irq`] on a transfer started without `IRQ_EN`: it would never come.
    #[error("waiting for an interrupt on a transfer started with irq = false")]
    IrqNotEnabled,
    /// The run ended with `STATUS.ERR`.
    #[error(
        "DMA transfer failed: {} at {addr:#010x} after {bytes_done} bytes, {desc_done} descriptors",
        .cause.name()
    )]
    Transfer {
        cause: Cause,
        /// `ERR_ADDR`: the bad SRC/DST or the bad descriptor's address.
        addr: u32,
        bytes_done: u32,
        desc_done: u32,
    },
    /// `STATUS.ERR` with a cause code that [`Cause`] does not know.
    #[error("DMA transfer failed with unknown cause code {code} at {addr:#010x}")]
    UnknownCause { code: u32, addr: u32 },
    /// Neither `DONE` nor `ERR` within the allowed cycles. From [`Dmac::wait`] the transfer
    /// is still outstanding (`aborted` false): `wait` may be called again, or
    /// [`Dmac::abort`]. [`Dmac::memcpy`] and [`Dmac::run_chain`] abort it (`aborted` true;
    /// `bytes_done` is then what the aborted run copied, whole words).
    #[error("DMAC timed out after {waited} cycles (STATUS={status:#x}, BYTES_DONE={bytes_done}, aborted {aborted}): {state}")]
    Timeout {
        waited: u64,
        status: u32,
        bytes_done: u32,
        /// [`Device::describe_state`] at the timeout: what the hardware was stuck in.
        state: String,
        /// The channel was stopped with `CTRL.ABORT` and is idle.
        aborted: bool,
    },
    /// `CTRL.ABORT` did not stop the channel within [`ABORT_TIMEOUT_CYCLES`].
    #[error("DMAC still busy after ABORT (STATUS={status:#x}): {state}")]
    AbortFailed { status: u32, state: String },
    /// The interrupt line was high but `STATUS` showed neither `DONE` nor `ERR`.
    #[error("interrupt without DMAC completion (STATUS={status:#x}): {state}")]
    SpuriousIrq { status: u32, state: String },
    /// The chain could not be written.
    #[error(transparent)]
    Chain(#[from] ChainError),
}

/// A transfer this driver started and has not yet seen finish.
#[derive(Clone, Copy, Debug)]
struct Run {
    start: u64,
    irq: bool,
}

/// The memcpy channel. Holds only what the driver must remember between start and wait.
/// # Example
///
/// A 4 KiB copy in register mode with its completion interrupt, on any [`Device`]: the
/// Verilator model (`sim::Soc`) or a board over the UART bridge. The addresses are the
/// channel's DMA addresses: physical in the IOMMU's Bare mode, IOVAs from [`crate::Dma`]
/// otherwise.
///
/// ```no_run
/// use driver::{Completion, Device, Dmac, DmacError};
///
/// fn copy(dev: &mut dyn Device) -> Result<(), DmacError> {
///     let mut dmac = Dmac::new(); // channel 0
///     dmac.start(dev, 0x1_0000, 0x4_0000, 4096, true)?;
///     let done = dmac.wait(dev, Completion::Irq, 100_000)?;
///     assert_eq!(done.bytes, 4096);
///     Ok(())
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Dmac {
    run: Option<Run>,
    timeout_cycles: u64,
    /// Block offset of the channel's registers.
    base: u32,
}

impl Default for Dmac {
    fn default() -> Self {
        Self::new()
    }
}

impl Dmac {
    /// memcpy channel 0 (IOMMU device 0).
    pub fn new() -> Self {
        Dmac {
            run: None,
            timeout_cycles: DEFAULT_TIMEOUT_CYCLES,
            base: dmac::channel_block(0),
        }
    }

    /// memcpy channel `n` (IOMMU device `n`), or `None` if the SoC has no such channel.
    pub fn channel(n: u32) -> Option<Self> {
        (n < dmac::CHANNELS).then(|| Dmac {
            base: dmac::channel_block(n),
            ..Dmac::new()
        })
    }

    /// Host-port address of this channel's register `offset`.
    fn reg(&self, offset: u32) -> u32 {
        csr(self.base, offset)
    }

    /// Sets the bound [`memcpy`](Self::memcpy) and [`run_chain`](Self::run_chain) wait for.
    pub fn with_timeout(mut self, cycles: u64) -> Self {
        self.timeout_cycles = cycles;
        self
    }

    /// Sets `CHAIN_LIMIT`: the most descriptors one chain run may process.
    pub fn set_chain_limit(&self, dev: &mut dyn Device, limit: u32) {
        dev.write32(self.reg(dmac::CHAIN_LIMIT), limit);
    }

    pub fn chain_limit(&self, dev: &mut dyn Device) -> u32 {
        dev.read32(self.reg(dmac::CHAIN_LIMIT))
    }

    /// Raw `STATUS`.
    pub fn status(&self, dev: &mut dyn Device) -> u32 {
        dev.read32(self.reg(dmac::STATUS))
    }

    /// Starts a register-mode copy of `len` bytes from `src` to `dst`, raising the interrupt
    /// at the end if `irq`. Stale `DONE`/`ERR` bits of a run nobody waited for are cleared
    /// first, so they cannot be mistaken for this run's completion.
    pub fn start(
        &mut self,
        dev: &mut dyn Device,
        src: u32,
        dst: u32,
        len: u32,
        irq: bool,
    ) -> Result<(), DmacError> {
        self.prepare(dev)?;
        dev.write32(self.reg(dmac::SRC), src);
        dev.write32(self.reg(dmac::DST), dst);
        dev.write32(self.reg(dmac::LEN), len);
        self.go(dev, 0, irq);
        Ok(())
    }

    /// Starts a chain-mode run at the descriptor at `head` (see [`Chain::write`]).
    pub fn start_chain(
        &mut self,
        dev: &mut dyn Device,
        head: u32,
        irq: bool,
    ) -> Result<(), DmacError> {
        self.prepare(dev)?;
        dev.write32(self.reg(dmac::DESC), head);
        self.go(dev, ctrl::CHAIN, irq);
        Ok(())
    }

    /// Waits up to `max_cycles` for the started run to end, then reads its counters and
    /// clears `DONE`/`ERR`/`REJECTED_START` (which also drops the interrupt).
    pub fn wait(
        &mut self,
        dev: &mut dyn Device,
        completion: Completion,
        max_cycles: u64,
    ) -> Result<Outcome, DmacError> {
        let run = self.run.ok_or(DmacError::NotStarted)?;
        let t0 = dev.now();
        let ended = status::DONE | status::ERR;
        let mut status_reads = 0;
        let (st, seen) = match completion {
            Completion::Irq => {
                if !run.irq {
                    return Err(DmacError::IrqNotEnabled);
                }
                if !dev.wait_irq(max_cycles) {
                    return Err(timeout(dev, self.base, t0));
                }
                let seen = dev.now();
                let st = dev.read32(self.reg(dmac::STATUS));
                status_reads += 1;
                if st & ended == 0 {
                    let state = dev.describe_state();
                    return Err(DmacError::SpuriousIrq { status: st, state });
                }
                (st, seen)
            }
            Completion::Poll => loop {
                let st = dev.read32(self.reg(dmac::STATUS));
                status_reads += 1;
                let waited = dev.now() - t0;
                if st & ended != 0 {
                    break (st, dev.now());
                }
                if waited >= max_cycles {
                    return Err(timeout(dev, self.base, t0));
                }
                dev.advance(POLL_INTERVAL_CYCLES.min(max_cycles - waited));
            },
        };
        self.run = None;
        let bytes = dev.read32(self.reg(dmac::BYTES_DONE));
        let descriptors = dev.read32(self.reg(dmac::DESC_DONE));
        let err_addr = (st & status::ERR != 0).then(|| dev.read32(self.reg(dmac::ERR_ADDR)));
        dev.write32(
            self.reg(dmac::STATUS),
            st & (ended | status::REJECTED_START),
        );
        if let Some(addr) = err_addr {
            let code = (st & status::CAUSE_MASK) >> status::CAUSE_SHIFT;
            return Err(match Cause::from_code(code) {
                Some(cause) => DmacError::Transfer {
                    cause,
                    addr,
                    bytes_done: bytes,
                    desc_done: descriptors,
                },
                None => DmacError::UnknownCause { code, addr },
            });
        }
        Ok(Outcome {
            bytes,
            descriptors,
            cycles: seen - run.start,
            status_reads,
            rejected_start: st & status::REJECTED_START != 0,
        })
    }

    /// Stops the running transfer (`CTRL.ABORT`): the channel ends between two whole-word
    /// beats in the cycle of the write. Waits until `STATUS.BUSY` is clear, clears the
    /// end-of-run bits and forgets the run. A run that had already finished is reported as
    /// it ended (`completed`).
    pub fn abort(&mut self, dev: &mut dyn Device) -> Result<Aborted, DmacError> {
        dev.write32(self.reg(dmac::CTRL), ctrl::ABORT);
        let t0 = dev.now();
        let st = loop {
            let st = dev.read32(self.reg(dmac::STATUS));
            if st & status::BUSY == 0 {
                break st;
            }
            if dev.now() - t0 >= ABORT_TIMEOUT_CYCLES {
                let state = dev.describe_state();
                return Err(DmacError::AbortFailed { status: st, state });
            }
            dev.advance(POLL_INTERVAL_CYCLES);
        };
        self.run = None;
        let out = Aborted {
            bytes: dev.read32(self.reg(dmac::BYTES_DONE)),
            descriptors: dev.read32(self.reg(dmac::DESC_DONE)),
            completed: st & status::DONE != 0,
            status: st,
        };
        let ended = st & (status::DONE | status::ERR | status::REJECTED_START);
        if ended != 0 {
            dev.write32(self.reg(dmac::STATUS), ended);
        }
        Ok(out)
    }

    /// [`wait`](Self::wait) with the configured timeout; on a timeout the run is aborted.
    fn wait_or_abort(
        &mut self,
        dev: &mut dyn Device,
        completion: Completion,
    ) -> Result<Outcome, DmacError> {
        match self.wait(dev, completion, self.timeout_cycles) {
            Err(DmacError::Timeout {
                waited,
                status,
                state,
                ..
            }) => {
                let stopped = self.abort(dev)?;
                Err(DmacError::Timeout {
                    waited,
                    status,
                    bytes_done: stopped.bytes,
                    state,
                    aborted: true,
                })
            }
            other => other,
        }
    }

    /// [`start`](Self::start) then [`wait`](Self::wait) with the configured timeout, after
    /// which a run still going is aborted ([`DmacError::Timeout`] with `aborted`).
    pub fn memcpy(
        &mut self,
        dev: &mut dyn Device,
        src: u32,
        dst: u32,
        len: u32,
        completion: Completion,
    ) -> Result<Outcome, DmacError> {
        self.start(dev, src, dst, len, completion == Completion::Irq)?;
        self.wait_or_abort(dev, completion)
    }

    /// Writes `chain` to RAM, runs it and waits with the configured timeout (then aborts it,
    /// as [`memcpy`](Self::memcpy)). Per-descriptor results are then available from
    /// [`Chain::read_back`].
    pub fn run_chain(
        &mut self,
        dev: &mut dyn Device,
        chain: &Chain,
        completion: Completion,
    ) -> Result<Outcome, DmacError> {
        let head = chain.write(dev)?;
        self.start_chain(dev, head, completion == Completion::Irq)?;
        self.wait_or_abort(dev, completion)
    }

    /// Refuses a busy channel and clears stale end-of-run bits.
    fn prepare(&mut self, dev: &mut dyn Device) -> Result<(), DmacError> {
        let st = dev.read32(self.reg(dmac::STATUS));
        if st & status::BUSY != 0 {
            return Err(DmacError::Busy { status: st });
        }
        let stale = st & (status::DONE | status::ERR | status::REJECTED_START);
        if stale != 0 {
            dev.write32(self.reg(dmac::STATUS), stale);
        }
        Ok(())
    }

    fn go(&mut self, dev: &mut dyn Device, mode: u32, irq: bool) {
        let start = dev.now();
        let irq_en = if irq { ctrl::IRQ_EN } else { 0 };
        dev.write32(self.reg(dmac::CTRL), ctrl::START | mode | irq_en);
        self.run = Some(Run { start, irq });
    }
}

fn timeout(dev: &mut dyn Device, base: u32, t0: u64) -> DmacError {
    let waited = dev.now() - t0;
    let status = dev.read32(csr(base, dmac::STATUS));
    let bytes_done = dev.read32(csr(base, dmac::BYTES_DONE));
    DmacError::Timeout {
        waited,
        status,
        bytes_done,
        state: dev.describe_state(),
        aborted: false,
    }
}

/// Why a [`Chain`] could not be built or written.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ChainError {
    #[error("the chain has no descriptors")]
    Empty,
    /// Descriptors are 16-byte aligned ([`desc::BYTES`]).
    #[error("descriptor address {addr:#010x} is not {}-byte aligned", desc::BYTES)]
    Misaligned { addr: u32 },
    /// Address 0 is [`desc::END_OF_CHAIN`]: a `NEXT` cannot point there.
    #[error("a descriptor cannot live at address 0: NEXT = 0 means end of chain")]
    AtEndOfChain,
    #[error("descriptor address {addr:#010x} is used twice")]
    Duplicate { addr: u32 },
    /// The length field is 24 bits ([`desc::LEN_MASK`]).
    #[error("length {len:#x} does not fit the descriptor's length field")]
    TooLong { len: u32 },
    #[error("loop target {index} is not one of the {len} descriptors")]
    BadIndex { index: usize, len: usize },
}

/// One chain-mode descriptor as software writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    pub src: u32,
    pub dst: u32,
    /// Bytes; at most [`desc::LEN_MASK`].
    pub len: u32,
    /// Address of the next descriptor, [`desc::END_OF_CHAIN`] for the last.
    pub next: u32,
}

impl Descriptor {
    /// The four words in memory order, status bits clear.
    pub fn encode(&self) -> Result<[u32; 4], ChainError> {
        if self.len & !desc::LEN_MASK != 0 {
            return Err(ChainError::TooLong { len: self.len });
        }
        let mut w = [0; (desc::BYTES / 4) as usize];
        w[(desc::SRC / 4) as usize] = self.src;
        w[(desc::DST / 4) as usize] = self.dst;
        w[(desc::LEN_STATUS / 4) as usize] = self.len;
        w[(desc::NEXT / 4) as usize] = self.next;
        Ok(w)
    }
}

/// A descriptor's `LEN_STATUS` word after a run, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DescStatus {
    /// Address of the descriptor.
    pub addr: u32,
    pub len: u32,
    pub done: bool,
    pub err: bool,
    /// `None` if the hardware wrote a cause code [`Cause`] does not know (see `raw`).
    pub cause: Option<Cause>,
    /// The whole `LEN_STATUS` word.
    pub raw: u32,
}

impl DescStatus {
    pub fn decode(addr: u32, len_status: u32) -> Self {
        DescStatus {
            addr,
            len: len_status & desc::LEN_MASK,
            done: len_status & desc::DONE != 0,
            err: len_status & desc::ERR != 0,
            // The cause is the top field of the word, so the shift alone isolates it.
            cause: Cause::from_code(len_status >> desc::CAUSE_SHIFT),
            raw: len_status,
        }
    }
}

/// Builds a descriptor chain: each [`push`](Self::push) places one descriptor at an address
/// the caller carved out of an allocated page, linked after the previous one. The last
/// descriptor ends the chain unless [`loop_back`](Self::loop_back) or
/// [`set_last_next`](Self::set_last_next) says otherwise (for `CHAIN_LIMIT` and
/// bad-descriptor tests).
#[derive(Clone, Debug, Default)]
pub struct Chain {
    /// (descriptor address, src, dst, len)
    descs: Vec<(u32, u32, u32, u32)>,
    last_next: u32,
}

impl Chain {
    pub fn new() -> Self {
        Chain {
            descs: Vec::new(),
            last_next: desc::END_OF_CHAIN,
        }
    }

    /// Appends a descriptor at `addr` copying `len` bytes from `src` to `dst`. `src`, `dst`
    /// and `len` are not checked beyond fitting the fields, so hardware errors can be tested.
    pub fn push(
        &mut self,
        addr: u32,
        src: u32,
        dst: u32,
        len: u32,
    ) -> Result<&mut Self, ChainError> {
        if !addr.is_multiple_of(desc::BYTES) {
            return Err(ChainError::Misaligned { addr });
        }
        if addr == desc::END_OF_CHAIN {
            return Err(ChainError::AtEndOfChain);
        }
        if self.descs.iter().any(|d| d.0 == addr) {
            return Err(ChainError::Duplicate { addr });
        }
        if len & !desc::LEN_MASK != 0 {
            return Err(ChainError::TooLong { len });
        }
        self.descs.push((addr, src, dst, len));
        Ok(self)
    }

    /// Makes the last descriptor's `NEXT` point at descriptor `index`: an endless loop that
    /// only `CHAIN_LIMIT` stops.
    pub fn loop_back(&mut self, index: usize) -> Result<&mut Self, ChainError> {
        let len = self.descs.len();
        self.last_next = self
            .descs
            .get(index)
            .ok_or(ChainError::BadIndex { index, len })?
            .0;
        Ok(self)
    }

    /// Sets the last descriptor's `NEXT` to any address, e.g. an unaligned or out-of-RAM one.
    pub fn set_last_next(&mut self, next: u32) -> &mut Self {
        self.last_next = next;
        self
    }

    /// Address of the first descriptor.
    pub fn head(&self) -> Option<u32> {
        self.descs.first().map(|d| d.0)
    }

    pub fn len(&self) -> usize {
        self.descs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.descs.is_empty()
    }

    /// Sum of the lengths: what `BYTES_DONE` should read after one pass without error.
    pub fn total_bytes(&self) -> u64 {
        self.descs.iter().map(|d| u64::from(d.3)).sum()
    }

    /// The descriptors with their links, in chain order.
    pub fn descriptors(&self) -> Vec<(u32, Descriptor)> {
        self.descs
            .iter()
            .enumerate()
            .map(|(i, &(addr, src, dst, len))| {
                let next = self.descs.get(i + 1).map_or(self.last_next, |d| d.0);
                (
                    addr,
                    Descriptor {
                        src,
                        dst,
                        len,
                        next,
                    },
                )
            })
            .collect()
    }

    /// Writes every descriptor to RAM through the device (status bits clear) and returns
    /// the head address for [`Dmac::start_chain`].
    pub fn write(&self, dev: &mut dyn Device) -> Result<u32, ChainError> {
        let head = self.head().ok_or(ChainError::Empty)?;
        for (addr, d) in self.descriptors() {
            dev.write_words(addr, &d.encode()?);
        }
        Ok(head)
    }

    /// Reads back each descriptor's `LEN_STATUS` (one read each), in chain order.
    pub fn read_back(&self, dev: &mut dyn Device) -> Vec<DescStatus> {
        self.descs
            .iter()
            .map(|d| DescStatus::decode(d.0, dev.read32(d.0 + desc::LEN_STATUS)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::MockDevice;
    use pretty_assertions::assert_eq;

    fn dev() -> MockDevice {
        MockDevice::new(2 * regs::PAGE_BYTES)
    }

    #[test]
    fn chain_writes_linked_descriptors() {
        let mut dev = dev();
        let mut c = Chain::new();
        c.push(0x100, 0x1000, 0x1800, 64)
            .unwrap()
            .push(0x200, 0x1040, 0x1900, 8)
            .unwrap();
        assert_eq!(c.write(&mut dev), Ok(0x100));
        let mut w = [0; 8];
        dev.read_words(0x100, &mut w[..4]);
        dev.read_words(0x200, &mut w[4..]);
        assert_eq!(
            w,
            [
                0x1000,
                0x1800,
                64,
                0x200,
                0x1040,
                0x1900,
                8,
                desc::END_OF_CHAIN
            ]
        );
        assert_eq!(c.total_bytes(), 72);
    }

    #[test]
    fn looping_and_raw_next() {
        let mut c = Chain::new();
        c.push(0x10, 0, 0, 4).unwrap().push(0x20, 0, 0, 4).unwrap();
        c.loop_back(0).unwrap();
        assert_eq!(c.descriptors()[1].1.next, 0x10);
        assert_eq!(
            c.loop_back(2).unwrap_err(),
            ChainError::BadIndex { index: 2, len: 2 }
        );
        c.set_last_next(0x13);
        assert_eq!(c.descriptors()[1].1.next, 0x13);
    }

    #[test]
    fn chain_refuses_what_it_cannot_encode() {
        let mut c = Chain::new();
        assert_eq!(c.write(&mut dev()), Err(ChainError::Empty));
        assert_eq!(
            c.push(0x18, 0, 0, 4).unwrap_err(),
            ChainError::Misaligned { addr: 0x18 }
        );
        assert_eq!(c.push(0, 0, 0, 4).unwrap_err(), ChainError::AtEndOfChain);
        let too_long = desc::LEN_MASK + 1;
        assert_eq!(
            c.push(0x10, 0, 0, too_long).unwrap_err(),
            ChainError::TooLong { len: too_long }
        );
        c.push(0x10, 0, 0, desc::LEN_MASK).unwrap();
        assert_eq!(
            c.push(0x10, 0, 0, 4).unwrap_err(),
            ChainError::Duplicate { addr: 0x10 }
        );
    }

    #[test]
    fn read_back_decodes_status_bits() {
        let mut dev = dev();
        let mut c = Chain::new();
        c.push(0x40, 0, 0, 32).unwrap().push(0x50, 0, 0, 6).unwrap();
        c.write(&mut dev).unwrap();
        dev.write32(0x40 + desc::LEN_STATUS, 32 | desc::DONE);
        let bad = 6 | desc::ERR | (Cause::Unaligned as u32) << desc::CAUSE_SHIFT;
        dev.write32(0x50 + desc::LEN_STATUS, bad);
        assert_eq!(
            c.read_back(&mut dev),
            vec![
                DescStatus {
                    addr: 0x40,
                    len: 32,
                    done: true,
                    err: false,
                    cause: Some(Cause::None),
                    raw: 32 | desc::DONE
                },
                DescStatus {
                    addr: 0x50,
                    len: 6,
                    done: false,
                    err: true,
                    cause: Some(Cause::Unaligned),
                    raw: bad
                },
            ]
        );
    }

    #[test]
    fn start_programs_the_registers_and_refuses_when_busy() {
        let mut dev = dev();
        let mut dmac = Dmac::new();
        dmac.start(&mut dev, 0x100, 0x200, 64, true).unwrap();
        assert_eq!(
            dev.writes(),
            &[
                (reg(dmac::SRC), 0x100),
                (reg(dmac::DST), 0x200),
                (reg(dmac::LEN), 64),
                (reg(dmac::CTRL), ctrl::START | ctrl::IRQ_EN),
            ]
        );
        dev.set_reg(reg(dmac::STATUS), status::BUSY);
        assert_eq!(
            dmac.start_chain(&mut dev, 0x40, false),
            Err(DmacError::Busy {
                status: status::BUSY
            })
        );
    }

    #[test]
    fn start_clears_stale_completion_bits() {
        let mut dev = dev();
        dev.set_reg(reg(dmac::STATUS), status::DONE);
        Dmac::new().start_chain(&mut dev, 0x40, false).unwrap();
        assert_eq!(
            dev.writes(),
            &[
                (reg(dmac::STATUS), status::DONE),
                (reg(dmac::DESC), 0x40),
                (reg(dmac::CTRL), ctrl::START | ctrl::CHAIN),
            ]
        );
    }

    #[test]
    fn wait_reports_done_and_clears_it() {
        let mut dev = dev();
        let mut dmac = Dmac::new();
        assert_eq!(
            dmac.wait(&mut dev, Completion::Poll, 10),
            Err(DmacError::NotStarted)
        );
        dmac.start(&mut dev, 0, 0x100, 16, false).unwrap();
        assert_eq!(
            dmac.wait(&mut dev, Completion::Irq, 10),
            Err(DmacError::IrqNotEnabled)
        );
        dev.set_reg(reg(dmac::STATUS), status::DONE);
        dev.set_reg(reg(dmac::BYTES_DONE), 16);
        let out = dmac.wait(&mut dev, Completion::Poll, 10).unwrap();
        assert_eq!((out.bytes, out.descriptors, out.status_reads), (16, 0, 1));
        assert_eq!(
            dev.writes().last(),
            Some(&(reg(dmac::STATUS), status::DONE))
        );
    }

    #[test]
    fn wait_decodes_errors() {
        let mut dev = dev();
        let mut dmac = Dmac::new();
        dmac.start(&mut dev, 0, 0x100, 16, true).unwrap();
        let st = status::ERR | (Cause::OutOfRange as u32) << status::CAUSE_SHIFT;
        dev.set_reg(reg(dmac::STATUS), st);
        dev.set_reg(reg(dmac::ERR_ADDR), 0x100);
        dev.set_irq(true);
        assert_eq!(
            dmac.wait(&mut dev, Completion::Irq, 10),
            Err(DmacError::Transfer {
                cause: Cause::OutOfRange,
                addr: 0x100,
                bytes_done: 0,
                desc_done: 0
            })
        );
        // Only the W1C bits are written back; clearing ERR clears the cause with it.
        assert_eq!(dev.writes().last(), Some(&(reg(dmac::STATUS), status::ERR)));
    }

    #[test]
    fn an_abort_that_does_not_stop_the_channel_is_an_error() {
        let mut dev = dev();
        let mut dmac = Dmac::new();
        dmac.start(&mut dev, 0, 0x100, 16, false).unwrap();
        dev.set_reg(reg(dmac::STATUS), status::BUSY);
        let err = dmac.abort(&mut dev).unwrap_err();
        assert!(matches!(
            err,
            DmacError::AbortFailed {
                status: status::BUSY,
                ..
            }
        ));
        assert!(dev.writes().contains(&(reg(dmac::CTRL), ctrl::ABORT)));
    }

    #[test]
    fn memcpy_aborts_a_run_that_times_out() {
        let mut dev = dev();
        let mut dmac = Dmac::new().with_timeout(100);
        // The mock's STATUS does not move: BUSY through the wait. The ABORT write is what a
        // stopped channel then shows: ERR with cause Aborted.
        dev.set_reg(reg(dmac::STATUS), status::BUSY);
        dev.set_reg(reg(dmac::BYTES_DONE), 8);
        let aborted = status::ERR | (Cause::Aborted as u32) << status::CAUSE_SHIFT;
        // start() refuses a busy channel, so start by hand.
        dmac.run = Some(Run {
            start: 0,
            irq: false,
        });
        let Err(DmacError::Timeout { waited, .. }) = dmac.wait(&mut dev, Completion::Poll, 100)
        else {
            panic!("expected a timeout");
        };
        assert!(waited >= 100);
        dev.set_reg(reg(dmac::STATUS), aborted);
        let out = dmac.abort(&mut dev).unwrap();
        assert_eq!(
            out,
            Aborted {
                bytes: 8,
                descriptors: 0,
                completed: false,
                status: aborted
            }
        );
        assert_eq!(dev.writes().last(), Some(&(reg(dmac::STATUS), status::ERR)));
        assert!(matches!(
            dmac.wait(&mut dev, Completion::Poll, 10),
            Err(DmacError::NotStarted)
        ));
    }

    #[test]
    fn polling_timeout_names_the_state_and_keeps_the_run() {
        let mut dev = dev();
        let mut dmac = Dmac::new();
        dmac.start(&mut dev, 0, 0x100, 16, false).unwrap();
        dev.set_reg(reg(dmac::STATUS), status::BUSY);
        let Err(DmacError::Timeout {
            waited,
            status,
            state,
            ..
        }) = dmac.wait(&mut dev, Completion::Poll, 100)
        else {
            panic!("expected a timeout");
        };
        assert!(waited >= 100, "{waited}");
        assert_eq!(
            (status, state.as_str()),
            (status::BUSY, "mock: nothing moves")
        );
        // Still outstanding: a later wait can see it finish.
        dev.set_reg(reg(dmac::STATUS), status::DONE);
        assert!(dmac.wait(&mut dev, Completion::Poll, 100).is_ok());
    }
}
