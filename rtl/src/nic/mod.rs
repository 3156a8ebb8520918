//! The descriptor-ring NIC (docs/nic.md): e1000-style TX and RX rings walked by two DMA
//! engines, FIFOs between them and the MAC, and the 8254x register subset with interrupt
//! moderation.

pub mod frame_queue;
pub mod lane_buffer;
pub mod mdio;
pub mod regs;
pub mod rx_dma;
pub mod top;
pub mod tx_dma;
