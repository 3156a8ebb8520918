//! The Ethernet MAC (docs/mac.md): an 8-bit datapath, one byte per clock enable, GMII-like pins.
//!
//! A pipeline of small stages, one per file: [`crc`] (the FCS, CRC-32), [`tx`] (preamble + SFD,
//! data, padding, FCS, inter-frame gap) and [`rx`] (SFD search, FCS check, length and rx_er
//! errors).

pub mod crc;
pub mod rx;
pub mod tx;
