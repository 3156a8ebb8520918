//! DMA channels. Each channel is a bus master; [`mux::ChannelMux`] puts them on the one port
//! the IOMMU translates, round robin per burst.

pub mod memcpy;
pub mod mux;
pub mod port;
pub mod regs;
pub mod stage;
