//! The SoC as software first meets it: identification, reset values of every register in the
//! register map, the host port's byte enables, and unmapped accesses.

use pretty_assertions::assert_eq;
use regs::{block, csr, sys, Access, REGISTERS};
use testbench::new_soc;

#[test]
fn every_readable_register_resets_to_its_documented_value() {
    let mut soc = new_soc();
    for r in REGISTERS.iter().filter(|r| r.access != Access::Wo) {
        let value = driver::Device::read32(&mut soc, r.address());
        let expected = if (r.block, r.name) == ("SYS", "RAM_BYTES") {
            regs::SocConfig::SIM.bytes()
        } else if r.block == "ARB" && r.name.ends_with("CYCLES") || r.name == "IDLE_CYCLES" {
            // Free-running counters: they have counted the cycles since power-up.
            continue;
        } else {
            r.reset
        };
        assert_eq!(
            value,
            expected,
            "{}.{} at {:#010x}",
            r.block,
            r.name,
            r.address()
        );
    }
}

#[test]
fn scratch_register_holds_what_software_writes() {
    let mut soc = new_soc();
    let scratch = csr(block::SYS, sys::SCRATCH);
    for v in [0xDEAD_BEEF, 0, 0x1234_5678] {
        soc.host_write(scratch, v, 0xF);
        assert_eq!(soc.host_read(scratch), v);
    }
}

#[test]
fn host_byte_enables_write_only_their_bytes() {
    let mut soc = new_soc();
    soc.host_write(0x100, 0x1122_3344, 0xF);
    soc.host_write(0x100, 0xAABB_CCDD, 0b0101);
    assert_eq!(soc.host_read(0x100), 0x11BB_33DD);
    soc.host_write(0x100, 0xEEFF_0000, 0b1000);
    assert_eq!(soc.host_read(0x100), 0xEEBB_33DD);
}

#[test]
fn unmapped_accesses_read_zero_write_nothing_and_are_counted() {
    let mut soc = new_soc();
    let errors = csr(block::SYS, sys::HOST_ERRORS);
    let ram_end = regs::SocConfig::SIM.bytes();
    soc.host_write(ram_end, 0x5555_5555, 0xF);
    assert_eq!(soc.host_read(ram_end), 0);
    assert_eq!(soc.host_read(0x8000_0000), 0);
    assert_eq!(soc.host_read(errors), 3);
    // RAM did not wrap the write around to address 0.
    assert_eq!(soc.host_read(0), 0);
    soc.host_write(errors, 0, 0xF);
    assert_eq!(soc.host_read(errors), 0);
}
