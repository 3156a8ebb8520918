//! Programmed I/O copy: the CPU moves every word itself over the host port. This is the
//! baseline the DMA channel is compared against, so it uses the same bus and the same
//! cycle clock ([`Device::now`]).

use thiserror::Error;

use crate::Device;

/// Words moved per `read_words`/`write_words` call: big enough for the device to pipeline,
/// small enough to stay a plausible CPU buffer.
pub const CHUNK_WORDS: usize = 64;

/// Why [`copy`] refused.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum PioError {
    /// `src`, `dst` or `len` is not a multiple of 4: the host port moves whole words.
    #[error("PIO copy needs word alignment: src {src:#010x}, dst {dst:#010x}, len {len:#x}")]
    Unaligned { src: u32, dst: u32, len: u32 },
    /// `src + len` or `dst + len` overflows the 32-bit address space.
    #[error("PIO copy wraps the address space: src {src:#010x}, dst {dst:#010x}, len {len:#x}")]
    Wraps { src: u32, dst: u32, len: u32 },
}

/// Copies `len` bytes from `src` to `dst` in chunks of [`CHUNK_WORDS`] words, front to back
/// (like the DMAC, so overlapping copies behave alike only if `dst <= src`). Returns the
/// clock cycles the copy took. A zero length copies nothing and takes no cycles.
pub fn copy(dev: &mut dyn Device, src: u32, dst: u32, len: u32) -> Result<u64, PioError> {
    if !(src | dst | len).is_multiple_of(4) {
        return Err(PioError::Unaligned { src, dst, len });
    }
    let last = len.saturating_sub(1);
    if src.checked_add(last).is_none() || dst.checked_add(last).is_none() {
        return Err(PioError::Wraps { src, dst, len });
    }
    let start = dev.now();
    let mut buf = [0u32; CHUNK_WORDS];
    let mut off = 0;
    while off < len {
        let words = (((len - off) / 4) as usize).min(CHUNK_WORDS);
        dev.read_words(src + off, &mut buf[..words]);
        dev.write_words(dst + off, &buf[..words]);
        off += 4 * words as u32;
    }
    Ok(dev.now() - start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::MockDevice;
    use pretty_assertions::assert_eq;

    #[test]
    fn copies_words_across_chunks_and_counts_cycles() {
        let mut dev = MockDevice::new(regs::PAGE_BYTES);
        let n = CHUNK_WORDS + 3;
        let data: Vec<u32> = (0..n as u32).map(|i| i * 0x0101_0101).collect();
        dev.write_words(0x100, &data);
        let cycles = copy(&mut dev, 0x100, 0x800, 4 * n as u32).unwrap();
        let mut back = vec![0; n];
        dev.read_words(0x800, &mut back);
        assert_eq!(back, data);
        // The mock charges one cycle per access: n reads and n writes.
        assert_eq!(cycles, 2 * n as u64);
    }

    #[test]
    fn refuses_unaligned_and_wrapping_copies() {
        let mut dev = MockDevice::new(regs::PAGE_BYTES);
        assert_eq!(
            copy(&mut dev, 2, 0, 4),
            Err(PioError::Unaligned {
                src: 2,
                dst: 0,
                len: 4
            })
        );
        assert_eq!(
            copy(&mut dev, 0, 0xFFFF_FFFC, 8),
            Err(PioError::Wraps {
                src: 0,
                dst: 0xFFFF_FFFC,
                len: 8
            })
        );
        assert_eq!(copy(&mut dev, 0, 0x10, 0), Ok(0));
    }
}
