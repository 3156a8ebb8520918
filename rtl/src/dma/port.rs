//! The DMA port: the one bus type every DMA master and slave uses (memcpy channels, NIC TX
//! and RX engines, channel mux, IOMMU upstream and downstream, the arbiter's DMA side).
//! Declared once here; [`DmaPort`] is the initiator's (master's) view, [`DmaTarget`] the
//! target's (slave's), joined with `DmaPort::join(&mut master.dma, &mut target.up)`.
//!
//! ```text
//!   initiator                                    target
//!  ┌──────────┐  valid, addr, we, wdata, last, dev  ┌──────────┐
//!  │          ├────────────────────────────────────►│          │  request channel:
//!  │          │◄────────────────────────────────────┤          │  a beat moves when
//!  │          │  ready                               │          │  valid && ready
//!  │          │◄────────────────────────────────────┤          │  response channel:
//!  │          │  resp, fault, rdata                  │          │  one per beat, in order
//!  └──────────┘                                      └──────────┘
//! ```
//!
//! **Request channel.** A beat is *accepted* in a cycle where `valid` and `ready` are both
//! high. `addr` is a byte address of a 32-bit word (bits 1:0 zero), `we` a write of the whole
//! word `wdata`, `dev` the initiator's device ID (the IOMMU's device context index), `last`
//! marks the beat after which the initiator's next address is in another 4 KiB page, or the
//! end of a unit of work (a descriptor fetch, a buffer, a write-back): the channel mux keeps
//! the port with one initiator until it has accepted a `last` beat (or the initiator stops
//! asking and its beats are answered: a pause, which ends the arbiter's burst too), and the
//! arbiter ends a burst after one.
//!
//! - An initiator's request fields are functions of its own registers (its `abort` input may
//!   pull `valid` low): **never of `ready`, `resp`, `fault` or `rdata` in the same cycle**.
//!   That rule is what keeps the request → translate → grant path out of one clock cycle.
//! - `valid` may fall without an acceptance (an aborted channel withdraws its request): a
//!   target must not assume a request stays until it is accepted.
//! - A target's `ready` may depend on `valid` in the same cycle (the mux picks a requester),
//!   but a target that holds beats (the IOMMU, [`DmaStage`]) computes `ready` from registers.
//!
//! **Response channel.** Every accepted beat gets exactly one response: `resp` high for one
//! cycle, at least one cycle after the acceptance, in the order the beats were accepted, at
//! most one per cycle. The initiator takes a response in every cycle (there is no back
//! pressure), so it accepts a read only when it has room for the data.
//!
//! - `fault` low: the beat was performed; for a read, `rdata` is the word.
//! - `fault` high: the beat was **not** performed (nothing written, nothing read), and
//!   `rdata` holds the beat's `addr` (the refused IOVA). After a fault the target also
//!   refuses, with `fault`, every beat the initiator had issued before it saw the fault's
//!   response, and `ready` is low in the cycle of a fault response: an initiator stops issuing
//!   at its first fault, waits for the responses of the beats still in flight (all faults),
//!   and memory holds every word of the beats before the first fault and none after.
//! - An initiator that has stopped issuing (a fault, an abort) counts its outstanding beats
//!   down to zero before it reports `done` or `err`, so software that sees the end of a run
//!   sees its memory settled and the port free.
//!
//! **Latency.** The target decides it. The SoC's: the arbiter's DMA side answers one cycle
//! after its grant (a fixed latency the IOMMU's walker relies on); the IOMMU adds two
//! registers (its input buffer and the IOTLB lookup) in front of that; a [`DmaStage`] adds
//! one. An initiator that wants one beat per cycle keeps as many beats in flight as the
//! latency is long (docs/dma.md, "The DMA port").
//!
//! [`DmaStage`]: super::stage::DmaStage

use rust_hdl::prelude::*;

/// The initiator's (master's) side of the DMA port.
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "DmaTarget"]
pub struct DmaPort {
    pub valid: Signal<Out, Bit>,
    pub addr: Signal<Out, Bits<32>>,
    pub we: Signal<Out, Bit>,
    pub wdata: Signal<Out, Bits<32>>,
    pub last: Signal<Out, Bit>,
    pub dev: Signal<Out, Bits<2>>,
    pub ready: Signal<In, Bit>,
    pub resp: Signal<In, Bit>,
    pub fault: Signal<In, Bit>,
    pub rdata: Signal<In, Bits<32>>,
}

/// The target's (slave's) side of the DMA port.
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "DmaPort"]
pub struct DmaTarget {
    pub valid: Signal<In, Bit>,
    pub addr: Signal<In, Bits<32>>,
    pub we: Signal<In, Bit>,
    pub wdata: Signal<In, Bits<32>>,
    pub last: Signal<In, Bit>,
    pub dev: Signal<In, Bits<2>>,
    pub ready: Signal<Out, Bit>,
    pub resp: Signal<Out, Bit>,
    pub fault: Signal<Out, Bit>,
    pub rdata: Signal<Out, Bits<32>>,
}
