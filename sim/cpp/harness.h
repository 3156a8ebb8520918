// Cycle-accurate harness around the Verilated SoC (module `top`).
//
// The clock loop lives here, so Rust crosses the FFI boundary once per transaction or run,
// never per cycle. One cycle is:
//
//   set inputs -> clock=0, eval -> sample ready/rvalid/rdata and the obs_* pins -> observer
//   -> (trace dump at 10*cycle) -> clock=1, eval -> cycle++
//
// The host port is shared by two masters that never overlap: the synthetic CPU workload
// (only inside run/run_until_*) and the driver's host_* transactions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "Vtop.h"
#include "sim/cpp/eeprom_93c46.h"
#include "sim/cpp/mdio_phy.h"
#include "rust/cxx.h"
#include "sim/cpp/fst_trace.h"


namespace dmanic {

struct Observed;
struct BusWrite;
struct DmaBeat;
struct CpuWorkload;
struct DmacRegs;
struct PhySample;

class Harness {
 public:
  Harness(const std::string& fst_path, uint32_t ns_per_cycle);
  ~Harness();
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  // Time passes with the CPU workload running.
  void cycle();
  void run(uint64_t n);
  bool run_until_irq(uint64_t max);
  bool run_until_dma_idle(uint64_t max);

  // Host-port transactions (the CPU executing the driver; the workload is suspended).
  uint64_t host_write(uint32_t addr, uint32_t data, uint8_t be);
  uint32_t host_read(uint32_t addr);
  void host_write_block(uint32_t addr, rust::Slice<const uint32_t> words);
  void host_read_block(uint32_t addr, rust::Slice<uint32_t> out);

  void set_cpu_workload(const CpuWorkload& w);
  Observed observed() const;
  void clear_observed();
  void set_write_log(bool on);
  rust::Vec<BusWrite> take_write_log();
  void set_dma_log(bool on);
  rust::Vec<DmaBeat> take_dma_log();
  uint8_t iommu_state() const;

  // The NIC's PHY pins. RX symbols are played one per cycle (every cycle, host transactions
  // included: the wire does not wait for the driver); TX pins are recorded while the log is on.
  void phy_rx_push(rust::Slice<const uint16_t> symbols);
  uint64_t phy_rx_pending() const;
  void set_phy_tx_log(bool on);
  rust::Vec<PhySample> take_phy_tx_log();
  uint16_t nic_states() const;

  // The PHY on the NIC's MDC/MDIO pins (mdio_phy.h): present or not, its address and its
  // power-up registers; a register's value now, frames it answered, the PHY reset pin.
  void set_mdio_phy(uint8_t slot, bool present, uint8_t address,
                    rust::Slice<const uint16_t> power_up);
  uint16_t mdio_phy_reg(uint8_t slot, uint8_t reg) const;
  uint64_t mdio_phy_frames() const;
  bool phy_reset_pin() const;

  // The card's EEPROM on EECD's pins (eeprom_93c46.h): its 64 words, or none (EE_PRES 0).
  void set_eeprom(bool present, rust::Slice<const uint16_t> words);
  // The SoC's clock_gating pin (rtl::clock_gate): on from the start.
  void set_clock_gating(bool on);
  // The SoC's obs_gates: the gated clocks that run in this cycle (bit 0 the NIC's, bit 1 + n
  // memcpy channel n's).
  uint8_t clock_gates() const;
  // The cycles at which irq changed (from low, alternating), while the log is on.
  void set_irq_log(bool on);
  rust::Vec<uint64_t> take_irq_log();
  uint16_t eeprom_word(uint8_t i) const;
  uint64_t eeprom_reads() const;

  bool irq() const;
  uint8_t dma_state() const;
  uint64_t now() const;
  void finish_trace();

  uint64_t bench_memcpy_loop(const DmacRegs& regs, uint32_t src, uint32_t dst, uint32_t len,
                             uint32_t iterations);

 private:
  // Who drives the host port: nobody, the CPU workload, or the driver (host_* calls).
  enum class Master : uint8_t { None, Cpu, Host };

  struct Counters {
    uint64_t total_cycles = 0, cpu_req_cycles = 0, cpu_stall_cycles = 0, cpu_worst_wait = 0,
             dma_beats = 0, dma_wait_cycles = 0, idle_cycles = 0, dma_longest_hold = 0,
             cpu_work = 0, cpu_bus_reads = 0;
    uint64_t stall_run = 0, hold_run = 0;
  };

  struct LoggedWrite {
    uint64_t cycle;
    uint32_t addr, data;
    uint8_t be;
    bool dma;
  };

  struct Workload {
    bool enabled = false;
    uint32_t load_per_65536 = 0, state = 1, base = 0, span_words = 1;
    bool pending = false;  // a cache miss waiting for host_ready
    uint32_t addr = 0;
    uint32_t next() {
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      return state;
    }
  };

  void step();             // one clock cycle with the inputs as set
  void workload_cycle();   // one cycle driven by the CPU workload
  void drain_cpu_miss();   // finish a workload miss still waiting for the bus
  void drive(Master who, uint32_t addr, uint32_t data, uint8_t be, bool we);
  void drive_idle();
  [[noreturn]] void stuck(const char* what, uint32_t addr) const;

  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Vtop> top_;
#ifdef SIM_TRACE
  std::unique_ptr<VerilatedFstC> fst_;
#endif
  uint64_t cycle_ = 0;
  // Waveform time per clock cycle (ns): the FST is written in nanoseconds.
  uint64_t ns_per_cycle_;

  // Sampled after the low-phase eval of the last cycle.
  bool ready_ = false, rvalid_ = false;
  uint32_t rdata_ = 0;
  Master master_ = Master::None;       // who drives the host port inputs now
  Master read_due_ = Master::None;     // whose read was accepted last cycle (rvalid due next)
  Master rdata_owner_ = Master::None;  // whose read data host_rdata carried in the last cycle

  struct LoggedBeat {
    uint64_t cycle;
    uint32_t pa, wdata, iova;
    bool we, iommu;
    uint8_t dev;
  };

  Counters c_;
  bool log_on_ = false;
  std::vector<LoggedWrite> log_;
  bool dma_log_on_ = false;
  std::vector<LoggedBeat> dma_log_;
  Workload cpu_;

  struct LoggedPhy {
    uint64_t cycle;
    uint8_t data;
    bool en, er;
  };
  std::vector<uint16_t> phy_rx_;   // symbols still to play: data | dv << 8 | er << 9
  size_t phy_rx_next_ = 0;
  bool phy_log_on_ = false;
  bool irq_log_on_ = false;
  bool irq_level_ = false;
  std::vector<uint64_t> irq_log_;
  std::vector<LoggedPhy> phy_log_;
  MdioBus mdio_phy_;
  bool mdio_line_ = true;  // the MDIO pin as both sides leave it, the NIC's input next cycle
  Eeprom93c46 eeprom_;
  bool eeprom_present_ = false;
  bool ee_do_ = true;
};

std::unique_ptr<Harness> new_harness(rust::Str fst_path, uint32_t ns_per_cycle);

}  // namespace dmanic
