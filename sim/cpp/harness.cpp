#include "sim/cpp/harness.h"

#include <cstdio>
#include <limits>
#include <stdexcept>

#include "sim/src/lib.rs.h"

namespace dmanic {

namespace {

// A host-port request that is not accepted within this many cycles means the port is stuck.
constexpr uint64_t kHostStallBound = 1000000;

// xorshift32 has a fixed point at 0; a zero seed is replaced by this one.
constexpr uint32_t kZeroSeedReplacement = 0x9E3779B9u;

}  // namespace

Harness::Harness(const std::string& fst_path, uint32_t ns_per_cycle)
    : ctx_(std::make_unique<VerilatedContext>()), ns_per_cycle_(ns_per_cycle) {
  if (ns_per_cycle < 2 || ns_per_cycle % 2 != 0)
    throw std::invalid_argument("ns_per_cycle must be even and at least 2");
  prepare_trace(*ctx_, fst_path);
  top_ = std::make_unique<Vtop>(ctx_.get(), "TOP");
#ifdef SIM_TRACE
  // Real time: the clock's edges at their nanoseconds, so cursors read like the pcaps.
  if (!fst_path.empty()) fst_ = open_fst(*top_, fst_path, "1ns");
#endif
  drive_idle();
  // The MACs' clock enables: one byte per clock (GMII-like), as the simulation always ran.
  top_->phy_tx_ce = 1;
  top_->phy_rx_ce = 1;
  // Idle blocks on stopped clocks (rtl::clock_gate), unless set_clock_gating(false).
  top_->clock_gating = 1;
  top_->clock = 0;
}

Harness::~Harness() {
  finish_trace();
  top_->final();
}

void Harness::finish_trace() {
#ifdef SIM_TRACE
  close_fst(fst_);
#endif
}

std::unique_ptr<Harness> new_harness(rust::Str fst_path, uint32_t ns_per_cycle) {
  return std::make_unique<Harness>(std::string(fst_path), ns_per_cycle);
}

// ---------------------------------------------------------------------------------------------
// One clock cycle

void Harness::drive(Master who, uint32_t addr, uint32_t data, uint8_t be, bool we) {
  master_ = who;
  top_->host_req = who != Master::None;
  top_->host_addr = addr;
  top_->host_wdata = data;
  top_->host_be = be & 0xF;
  top_->host_we = we;
}

void Harness::drive_idle() { drive(Master::None, 0, 0, 0, false); }

void Harness::step() {
  Vtop& t = *top_;
  if (phy_rx_next_ < phy_rx_.size()) {
    const uint16_t sym = phy_rx_[phy_rx_next_++];
    t.phy_rxd = sym & 0xFF;
    t.phy_rx_dv = (sym >> 8) & 1;
    t.phy_rx_er = (sym >> 9) & 1;
    if (phy_rx_next_ == phy_rx_.size()) {
      phy_rx_.clear();
      phy_rx_next_ = 0;
    }
  } else {
    t.phy_rxd = 0;
    t.phy_rx_dv = 0;
    t.phy_rx_er = 0;
  }
  t.mdio_in = mdio_line_;
  t.ee_do = ee_do_;
  t.eeprom_present = eeprom_present_;
  t.clock = 0;
  t.eval();
  if (phy_log_on_ && (t.phy_tx_en || t.phy_tx_er))
    phy_log_.push_back(LoggedPhy{cycle_, static_cast<uint8_t>(t.phy_txd), bool(t.phy_tx_en),
                                 bool(t.phy_tx_er)});

  // Host port, as seen in this cycle.
  ready_ = t.host_ready;
  rvalid_ = t.host_rvalid;
  rdata_ = t.host_rdata;
  const Master due = read_due_;
  if (rvalid_ != (due != Master::None)) {
    char msg[160];
    std::snprintf(msg, sizeof msg,
                  "host port: host_rvalid=%d in cycle %llu, but %s read was accepted in the "
                  "previous cycle",
                  int(rvalid_), static_cast<unsigned long long>(cycle_),
                  due == Master::None ? "no" : "a");
    throw std::runtime_error(msg);
  }
  rdata_owner_ = due;
  read_due_ = (ready_ && master_ != Master::None && !t.host_we) ? master_ : Master::None;

  // Observer.
  const bool cpu_req = t.obs_cpu_req, cpu_grant = t.obs_cpu_grant;
  const bool dma_req = t.obs_dma_req, dma_grant = t.obs_dma_grant;
  Counters& c = c_;
  c.total_cycles++;
  c.cpu_req_cycles += cpu_req;
  if (cpu_req && !cpu_grant) {
    c.cpu_stall_cycles++;
    if (++c.stall_run > c.cpu_worst_wait) c.cpu_worst_wait = c.stall_run;
  } else {
    c.stall_run = 0;
  }
  c.dma_beats += dma_grant;
  c.dma_wait_cycles += dma_req && !dma_grant;
  c.idle_cycles += !cpu_grant && !dma_grant;
  if (dma_grant && cpu_req) {
    if (++c.hold_run > c.dma_longest_hold) c.dma_longest_hold = c.hold_run;
  } else {
    c.hold_run = 0;
  }
  if (log_on_ && t.obs_bus_we && (cpu_grant || dma_grant))
    log_.push_back(LoggedWrite{cycle_, t.obs_bus_addr, t.obs_bus_wdata,
                               static_cast<uint8_t>(t.obs_bus_be), dma_grant});
  if (dma_log_on_ && dma_grant)
    dma_log_.push_back(LoggedBeat{cycle_, t.obs_bus_addr, t.obs_bus_wdata, t.obs_dma_iova,
                                  bool(t.obs_bus_we), bool(t.obs_iommu_beat),
                                  static_cast<uint8_t>(t.obs_dma_dev)});

#ifdef SIM_TRACE
  // Cycle c runs from the rising edge at c × ns_per_cycle; this cycle's inputs (and the clock's
  // fall) are at half a period, the next rising edge at a full one.
  if (fst_) fst_->dump(ns_per_cycle_ * cycle_ + ns_per_cycle_ / 2);
#endif

  t.clock = 1;
  t.eval();
  cycle_++;
  if (irq_log_on_ && bool(t.irq) != irq_level_) {
    irq_level_ = t.irq;
    irq_log_.push_back(cycle_);
  }
  mdio_line_ = mdio_phy_.cycle(t.mdc, t.mdio_oe, t.mdio_out, t.phy_reset);
  ee_do_ = eeprom_present_ ? eeprom_.cycle(t.ee_cs, t.ee_sk, t.ee_di) : true;
#ifdef SIM_TRACE
  if (fst_) fst_->dump(ns_per_cycle_ * cycle_);
#endif
}

// ---------------------------------------------------------------------------------------------
// CPU workload

void Harness::set_cpu_workload(const CpuWorkload& w) {
  if (w.enabled && w.span_words == 0)
    throw std::invalid_argument("CPU workload: span_words must be at least 1");
  if (w.load_per_65536 > 65536)
    throw std::invalid_argument("CPU workload: load_per_65536 must be at most 65536");
  cpu_.enabled = w.enabled;
  cpu_.load_per_65536 = w.load_per_65536;
  cpu_.state = w.seed ? w.seed : kZeroSeedReplacement;
  cpu_.base = w.base;
  cpu_.span_words = w.span_words ? w.span_words : 1;
  // A miss already waiting for the bus stays the CPU's next bus access.
}

void Harness::workload_cycle() {
  Workload& w = cpu_;
  if (w.enabled && !w.pending) {
    const uint32_t r = w.next();
    if ((r & 0xFFFF) < w.load_per_65536) {
      w.pending = true;
      w.addr = w.base + 4 * (w.next() % w.span_words);
    } else {
      c_.cpu_work++;
    }
  }
  if (w.pending) {
    drive(Master::Cpu, w.addr, 0, 0xF, false);
  } else {
    drive_idle();
  }
  step();
  if (w.pending && ready_) {
    // The missing instruction retires now; its data (next cycle) overlaps the next one.
    w.pending = false;
    c_.cpu_work++;
    c_.cpu_bus_reads++;
  }
}

void Harness::drain_cpu_miss() {
  if (!cpu_.pending) return;
  uint64_t waited = 0;
  while (cpu_.pending) {
    if (waited++ == kHostStallBound) stuck("CPU workload read of", cpu_.addr);
    drive(Master::Cpu, cpu_.addr, 0, 0xF, false);
    step();
    if (ready_) {
      cpu_.pending = false;
      c_.cpu_work++;
      c_.cpu_bus_reads++;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Running

void Harness::cycle() { workload_cycle(); }

void Harness::run(uint64_t n) {
  for (uint64_t i = 0; i < n; i++) workload_cycle();
}

bool Harness::run_until_irq(uint64_t max) {
  for (uint64_t i = 0; i < max; i++) {
    if (top_->irq) return true;
    workload_cycle();
  }
  return top_->irq;
}

bool Harness::run_until_dma_idle(uint64_t max) {
  for (uint64_t i = 0; i < max; i++) {
    if (top_->obs_dma_state == 0) return true;
    workload_cycle();
  }
  return top_->obs_dma_state == 0;
}

// ---------------------------------------------------------------------------------------------
// Host-port transactions

void Harness::stuck(const char* what, uint32_t addr) const {
  char msg[200];
  std::snprintf(msg, sizeof msg,
                "host port stuck: %s 0x%08x not accepted within %llu cycles (cycle %llu, "
                "DMAC state %u)",
                what, addr, static_cast<unsigned long long>(kHostStallBound),
                static_cast<unsigned long long>(cycle_), unsigned(dma_state()));
  throw std::runtime_error(msg);
}

uint64_t Harness::host_write(uint32_t addr, uint32_t data, uint8_t be) {
  const uint64_t start = cycle_;
  drain_cpu_miss();
  uint64_t waited = 0;
  do {
    if (waited++ == kHostStallBound) stuck("write to", addr);
    drive(Master::Host, addr, data, be, true);
    step();
  } while (!ready_);
  drive_idle();
  return cycle_ - start;
}

uint32_t Harness::host_read(uint32_t addr) {
  drain_cpu_miss();
  uint64_t waited = 0;
  do {
    if (waited++ == kHostStallBound) stuck("read of", addr);
    drive(Master::Host, addr, 0, 0xF, false);
    step();
  } while (!ready_);
  drive_idle();
  step();  // rvalid is checked in step(): the data is here now
  return rdata_;
}

void Harness::host_write_block(uint32_t addr, rust::Slice<const uint32_t> words) {
  drain_cpu_miss();
  const size_t n = words.size();
  uint64_t waited = 0;
  for (size_t i = 0; i < n;) {
    const uint32_t a = addr + 4 * static_cast<uint32_t>(i);
    if (waited++ == kHostStallBound) stuck("block write to", a);
    drive(Master::Host, a, words[i], 0xF, true);
    step();
    if (ready_) {
      i++;
      waited = 0;
    }
  }
  drive_idle();
}

void Harness::host_read_block(uint32_t addr, rust::Slice<uint32_t> out) {
  drain_cpu_miss();
  const size_t n = out.size();
  size_t issued = 0, received = 0;
  uint64_t waited = 0;
  while (received < n) {
    const uint32_t a = addr + 4 * static_cast<uint32_t>(issued);
    if (issued < n) {
      if (waited++ == kHostStallBound) stuck("block read of", a);
      drive(Master::Host, a, 0, 0xF, false);
    } else {
      drive_idle();
    }
    step();
    if (rdata_owner_ == Master::Host) out[received++] = rdata_;
    if (issued < n && ready_) {
      issued++;
      waited = 0;
    }
  }
  drive_idle();
}

// ---------------------------------------------------------------------------------------------
// Observation

Observed Harness::observed() const {
  Observed o;
  o.total_cycles = c_.total_cycles;
  o.cpu_req_cycles = c_.cpu_req_cycles;
  o.cpu_stall_cycles = c_.cpu_stall_cycles;
  o.cpu_worst_wait = c_.cpu_worst_wait;
  o.dma_beats = c_.dma_beats;
  o.dma_wait_cycles = c_.dma_wait_cycles;
  o.idle_cycles = c_.idle_cycles;
  o.dma_longest_hold = c_.dma_longest_hold;
  o.cpu_work = c_.cpu_work;
  o.cpu_bus_reads = c_.cpu_bus_reads;
  return o;
}

void Harness::clear_observed() { c_ = Counters{}; }

void Harness::set_dma_log(bool on) { dma_log_on_ = on; }

rust::Vec<DmaBeat> Harness::take_dma_log() {
  rust::Vec<DmaBeat> v;
  v.reserve(dma_log_.size());
  for (const LoggedBeat& b : dma_log_)
    v.push_back(DmaBeat{b.cycle, b.pa, b.wdata, b.iova, b.we, b.iommu, b.dev});
  dma_log_.clear();
  return v;
}

uint8_t Harness::iommu_state() const { return top_->obs_iommu_state; }

void Harness::phy_rx_push(rust::Slice<const uint16_t> symbols) {
  phy_rx_.insert(phy_rx_.end(), symbols.begin(), symbols.end());
}

uint64_t Harness::phy_rx_pending() const { return phy_rx_.size() - phy_rx_next_; }

void Harness::set_phy_tx_log(bool on) { phy_log_on_ = on; }

void Harness::set_mdio_phy(uint8_t slot, bool present, uint8_t address,
                           rust::Slice<const uint16_t> power_up) {
  mdio_phy_.phy(slot).configure(present, address, power_up.data(), power_up.size());
}

uint16_t Harness::mdio_phy_reg(uint8_t slot, uint8_t reg) const {
  return mdio_phy_.phy(slot).reg(reg);
}
uint64_t Harness::mdio_phy_frames() const { return mdio_phy_.frames(); }
bool Harness::phy_reset_pin() const { return top_->phy_reset; }

void Harness::set_clock_gating(bool on) { top_->clock_gating = on; }

uint8_t Harness::clock_gates() const { return top_->obs_gates; }

void Harness::set_irq_log(bool on) {
  irq_log_on_ = on;
  irq_level_ = top_->irq;
}

rust::Vec<uint64_t> Harness::take_irq_log() {
  rust::Vec<uint64_t> v;
  v.reserve(irq_log_.size());
  for (uint64_t c : irq_log_) v.push_back(c);
  irq_log_.clear();
  return v;
}

void Harness::set_eeprom(bool present, rust::Slice<const uint16_t> words) {
  eeprom_.load(words.data(), words.size());
  eeprom_present_ = present;
}

uint16_t Harness::eeprom_word(uint8_t i) const { return eeprom_.word(i); }
uint64_t Harness::eeprom_reads() const { return eeprom_.reads(); }

rust::Vec<PhySample> Harness::take_phy_tx_log() {
  rust::Vec<PhySample> v;
  v.reserve(phy_log_.size());
  for (const LoggedPhy& p : phy_log_) v.push_back(PhySample{p.cycle, p.data, p.en, p.er});
  phy_log_.clear();
  return v;
}

uint16_t Harness::nic_states() const {
  return static_cast<uint16_t>(top_->obs_nic_tx_state | (top_->obs_nic_rx_state << 8));
}

void Harness::set_write_log(bool on) { log_on_ = on; }

rust::Vec<BusWrite> Harness::take_write_log() {
  rust::Vec<BusWrite> v;
  v.reserve(log_.size());
  for (const LoggedWrite& w : log_) v.push_back(BusWrite{w.cycle, w.addr, w.data, w.be, w.dma});
  log_.clear();
  return v;
}

bool Harness::irq() const { return top_->irq; }

uint8_t Harness::dma_state() const { return top_->obs_dma_state; }

uint64_t Harness::now() const { return cycle_; }

// ---------------------------------------------------------------------------------------------
// Benchmark: one register-mode memcpy per iteration, exactly as the driver does it.

uint64_t Harness::bench_memcpy_loop(const DmacRegs& regs, uint32_t src, uint32_t dst,
                                    uint32_t len, uint32_t iterations) {
  const uint64_t start = cycle_;
  for (uint32_t i = 0; i < iterations; i++) {
    host_write(regs.src, src, 0xF);
    host_write(regs.dst, dst, 0xF);
    host_write(regs.len, len, 0xF);
    host_write(regs.ctrl, regs.ctrl_start_irq, 0xF);
    if (!run_until_irq(std::numeric_limits<uint64_t>::max()))
      throw std::runtime_error("bench_memcpy_loop: no interrupt");
    host_write(regs.status, regs.status_clear, 0xF);
  }
  return cycle_ - start;
}

}  // namespace dmanic
