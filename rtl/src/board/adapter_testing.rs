//! What the PHY adapters' tests (`rmii`, `rgmii`) share: frames with their FCS, and what the
//! MAC side shows (byte times, the frames an adapter handed over, the frames MacRx took).

use crate::mac::crc::tests::reference_fcs;
use rand::{rngs::StdRng, Rng};

/// `data` with its FCS appended.
pub fn with_fcs(data: &[u8]) -> Vec<u8> {
    let mut f = data.to_vec();
    f.extend_from_slice(&reference_fcs(data));
    f
}

/// `len` random bytes and their FCS.
pub fn random_frame(rng: &mut StdRng, len: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
    with_fcs(&data)
}

/// What the MAC RX side shows in one cycle with `rx_ce`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ByteTime {
    pub cycle: usize,
    pub dv: bool,
    pub er: bool,
    pub data: u8,
}

/// A frame as the adapter handed it to the MAC: the bytes after the SFD, each with rx_er.
pub type Handed = Vec<(u8, bool)>;

pub fn handed_good(bytes: &[u8]) -> Handed {
    bytes.iter().map(|&b| (b, false)).collect()
}

/// A frame as a real MacRx took it.
#[derive(Clone, Debug, PartialEq)]
pub struct MacFrame {
    pub bytes: Vec<u8>,
    pub err_crc: bool,
    pub err_rxer: bool,
}

pub fn mac_good(bytes: &[u8]) -> MacFrame {
    MacFrame {
        bytes: bytes.to_vec(),
        err_crc: false,
        err_rxer: false,
    }
}
