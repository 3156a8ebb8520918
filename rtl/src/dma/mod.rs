//! DMA channels. Each channel is a bus master on the DMA side of the arbiter.

pub mod memcpy;
