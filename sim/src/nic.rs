//! The NIC alone (`rtl/verilog/nic_sim.v`, class prefix `Vnic`) behind a cycle-accurate C++
//! harness (`cpp/nic_model.cpp`): the model the QEMU bridge (`dmanic-qemu`) drives with the
//! unmodified Linux e1000 driver (docs/linux.md).
//!
//! Around the NIC the harness puts what a card and its host would:
//! - the register port: [`NicModel::reg_read`] / [`NicModel::reg_write`] at a byte offset of
//!   the NIC's window (BAR0's offset on a PCI card);
//! - both DMA ports served from **memory outside the model**: the regions given to
//!   [`NicModel::set_memory`] (a guest's RAM mapped from QEMU's memfd), word by word, answered in
//!   the next cycle; a word outside every region is refused with `fault` (the NIC's DMA error);
//! - the PHY: RX frames played one byte per cycle with a 12-byte gap, TX frames collected
//!   from the pins ([`NicModel::take_tx_frame`]);
//! - the MDIO bus with two PHY models and the 93C46 EEPROM on EECD, as in the SoC harness.
//!
//! [`NicModel::run_until_quiet`] clocks the NIC while it has work (a DMA request or response,
//! a ring engine not idle, the TX pins busy, RX symbols to play, an MDIO frame) and for a
//! tail of quiet cycles the caller chooses (its interrupt timers are inside the NIC; the
//! bridge picks a tail longer than the longest one the driver set).

use std::pin::Pin;

#[cxx::bridge(namespace = "dmanic")]
mod ffi {
    /// A region of this process's memory that the NIC's DMA sees at bus address `base`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct MemRegion {
        base: u64,
        size: u64,
        /// The region's first byte in this process (a pointer as an integer).
        host: usize,
    }

    /// What the harness counted since the model was made.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    struct NicActivity {
        cycles: u64,
        dma_reads: u64,
        dma_writes: u64,
        /// DMA beats refused because their word is outside the memory regions.
        dma_faults: u64,
        tx_frames: u64,
        rx_frames: u64,
        /// The cycle of the last DMA beat accepted.
        last_dma_cycle: u64,
    }

    unsafe extern "C++" {
        include!("sim/cpp/nic_model.h");

        type NicModel;

        fn new_nic_model(fst_path: &str) -> Result<UniquePtr<NicModel>>;
        fn reg_write(self: Pin<&mut NicModel>, offset: u32, data: u32);
        fn reg_read(self: Pin<&mut NicModel>, offset: u32) -> u32;
        fn set_memory(self: Pin<&mut NicModel>, regions: &[MemRegion]) -> Result<()>;
        fn run(self: Pin<&mut NicModel>, n: u64);
        fn run_until_quiet(self: Pin<&mut NicModel>, idle_tail: u64, max: u64) -> u64;
        fn active(self: &NicModel) -> bool;
        fn phy_rx_push(self: Pin<&mut NicModel>, frame_with_preamble: &[u8], gap: u32);
        fn set_waiting_states(self: Pin<&mut NicModel>, tx_mask: u32, rx_mask: u32);
        fn phy_rx_pending(self: &NicModel) -> u64;
        fn take_tx_frame(
            self: Pin<&mut NicModel>,
            out: &mut Vec<u8>,
            er: &mut bool,
            end_cycle: &mut u64,
        ) -> bool;
        fn set_mdio_phy(
            self: Pin<&mut NicModel>,
            slot: u8,
            present: bool,
            address: u8,
            power_up: &[u16],
        ) -> Result<()>;
        fn mdio_phy_reg(self: &NicModel, slot: u8, reg: u8) -> Result<u16>;
        fn set_eeprom(self: Pin<&mut NicModel>, present: bool, words: &[u16]) -> Result<()>;
        fn eeprom_reads(self: &NicModel) -> u64;
        fn irq(self: &NicModel) -> bool;
        fn now(self: &NicModel) -> u64;
        fn activity(self: &NicModel) -> NicActivity;
        fn finish_trace(self: Pin<&mut NicModel>);
    }
}

pub use ffi::{MemRegion, NicActivity};

fn check<T>(r: Result<T, cxx::Exception>) -> T {
    r.unwrap_or_else(|e| panic!("{}", e.what()))
}

/// A frame as the MAC put it on its TX pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxFrame {
    /// From the first preamble byte to the last FCS byte.
    pub bytes: Vec<u8>,
    /// TX_ER was high in it.
    pub er: bool,
    /// The cycle after its last byte (the model's cycle count, [`NicModel::now`]).
    pub end_cycle: u64,
}

/// The Verilated NIC and its surroundings (see the module docs). A new model has the
/// M88E1011-like PHY Linux's e1000 looks for at MDIO address 1
/// ([`regs::phy::m88e1011_power_up`]) and an EEPROM with [`regs::eeprom::SIM_MAC`].
pub struct NicModel {
    m: cxx::UniquePtr<ffi::NicModel>,
}

impl Default for NicModel {
    fn default() -> Self {
        Self::new()
    }
}

impl NicModel {
    pub fn new() -> Self {
        Self::open("")
    }

    /// A model that writes an FST waveform to `path` (needs the `trace` feature).
    pub fn with_trace(path: impl AsRef<std::path::Path>) -> Self {
        let p = path.as_ref().to_str().expect("trace path is UTF-8");
        assert!(!p.is_empty(), "empty trace path");
        Self::open(p)
    }

    fn open(fst: &str) -> Self {
        let mut n = NicModel {
            m: check(ffi::new_nic_model(fst)),
        };
        // The ring engines' states that wait for software, not work: Idle and Halted, and
        // RX's WaitDesc (a frame waits for RDT).
        let mask = |names: &[&str], waiting: &[&str]| {
            waiting.iter().fold(0u32, |m, w| {
                let i = names.iter().position(|n| n == w);
                m | 1 << i.unwrap_or_else(|| panic!("no engine state {w} in regs::nic"))
            })
        };
        use regs::nic::{RX_STATE_NAMES, TX_STATE_NAMES};
        n.pin().set_waiting_states(
            mask(&TX_STATE_NAMES, &["Idle", "Halted"]),
            mask(&RX_STATE_NAMES, &["Idle", "WaitDesc", "Halted"]),
        );
        n.set_eeprom(Some(&regs::eeprom::image(regs::eeprom::SIM_MAC)));
        n.set_mdio_phy(0, Some(1), &regs::phy::m88e1011_power_up());
        n.set_mdio_phy(1, None, &[0; 32]);
        n
    }

    fn pin(&mut self) -> Pin<&mut ffi::NicModel> {
        self.m.pin_mut()
    }

    pub fn reg_write(&mut self, offset: u32, data: u32) {
        self.pin().reg_write(offset, data)
    }

    pub fn reg_read(&mut self, offset: u32) -> u32 {
        self.pin().reg_read(offset)
    }

    /// The memory both DMA ports see.
    ///
    /// # Safety
    /// Every region's `host .. host + size` must be valid, writable memory that nothing else
    /// frees while this model may still run (the next `set_memory` or the model's drop): the
    /// NIC's DMA reads and writes it.
    pub unsafe fn set_memory(&mut self, regions: &[MemRegion]) {
        check(self.pin().set_memory(regions))
    }

    /// Runs `n` cycles.
    pub fn run(&mut self, n: u64) {
        self.pin().run(n)
    }

    /// Runs until `idle_tail` cycles in a row without work, or `max` cycles; returns the
    /// cycles run. The quiet cycles count across calls (a run cut by `max` goes on where it
    /// stopped) and from 0 again after a register write or an RX frame.
    pub fn run_until_quiet(&mut self, idle_tail: u64, max: u64) -> u64 {
        self.pin().run_until_quiet(idle_tail, max)
    }

    /// Work in the last cycle (see the module docs), or RX symbols still to play.
    pub fn active(&self) -> bool {
        self.m.active()
    }

    /// Plays a frame into the MAC's RX pins after those queued: `frame` is the frame from the
    /// destination address to the end of the FCS; the preamble, the SFD and the inter-frame
    /// gap ([`regs::nic::MIN_IFG_BYTES`] idle cycles after it) are added here.
    pub fn receive(&mut self, frame: &[u8]) {
        use regs::nic::{MIN_IFG_BYTES, PREAMBLE_BYTE, PREAMBLE_BYTES, SFD_BYTE};
        let mut wire = vec![PREAMBLE_BYTE; PREAMBLE_BYTES as usize - 1];
        wire.push(SFD_BYTE);
        wire.extend_from_slice(frame);
        self.pin().phy_rx_push(&wire, MIN_IFG_BYTES)
    }

    /// The preamble and SFD, as a TX frame starts with them on the pins.
    pub fn preamble() -> [u8; regs::nic::PREAMBLE_BYTES as usize] {
        let mut p = [regs::nic::PREAMBLE_BYTE; regs::nic::PREAMBLE_BYTES as usize];
        p[p.len() - 1] = regs::nic::SFD_BYTE;
        p
    }

    /// RX symbols still to play.
    pub fn rx_pending(&self) -> u64 {
        self.m.phy_rx_pending()
    }

    /// The next frame the MAC has finished sending, if any.
    pub fn take_tx_frame(&mut self) -> Option<TxFrame> {
        let mut bytes = Vec::new();
        let (mut er, mut end_cycle) = (false, 0);
        self.pin()
            .take_tx_frame(&mut bytes, &mut er, &mut end_cycle)
            .then_some(TxFrame {
                bytes,
                er,
                end_cycle,
            })
    }

    /// Puts a PHY model in MDIO bus slot `slot` (0 or 1) at `address` with these power-up
    /// registers, or (`None`) takes the slot's PHY off the bus.
    pub fn set_mdio_phy(&mut self, slot: u8, address: Option<u8>, power_up: &[u16; 32]) {
        check(
            self.pin()
                .set_mdio_phy(slot, address.is_some(), address.unwrap_or(0), power_up),
        )
    }

    /// A register of the PHY in `slot` as it is now.
    pub fn mdio_phy_reg(&self, slot: u8, reg: u8) -> u16 {
        check(self.m.mdio_phy_reg(slot, reg))
    }

    /// The EEPROM on EECD's pins (EE_PRES 1), or none.
    pub fn set_eeprom(&mut self, words: Option<&[u16; regs::eeprom::WORDS]>) {
        let blank = [0xFFFFu16; regs::eeprom::WORDS];
        check(
            self.pin()
                .set_eeprom(words.is_some(), words.unwrap_or(&blank)),
        )
    }

    /// Words the EEPROM model has shifted out whole.
    pub fn eeprom_reads(&self) -> u64 {
        self.m.eeprom_reads()
    }

    pub fn irq(&self) -> bool {
        self.m.irq()
    }

    /// Cycles since the model was made.
    pub fn now(&self) -> u64 {
        self.m.now()
    }

    pub fn activity(&self) -> NicActivity {
        self.m.activity()
    }

    /// Closes the waveform (also done on drop).
    pub fn finish_trace(&mut self) {
        self.pin().finish_trace()
    }
}
