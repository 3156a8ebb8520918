#include "sim/cpp/nic_model.h"

#include <cstring>
#include <stdexcept>

#include "sim/src/nic.rs.h"

namespace dmanic {

NicModel::NicModel(const std::string& fst_path)
    : ctx_(std::make_unique<VerilatedContext>()) {
  prepare_trace(*ctx_, fst_path);
  top_ = std::make_unique<Vnic>(ctx_.get(), "TOP");
#ifdef SIM_TRACE
  // 8 ns per cycle, as the SoC's waveform.
  if (!fst_path.empty()) fst_ = open_fst(*top_, fst_path, "1ns");
#endif
  Vnic& t = *top_;
  t.host__024sel = 0;
  t.host__024we = 0;
  t.dmac_irq = 0;
  t.iommu_irq = 0;
  t.phy_tx_ce = 1;
  t.phy_rx_ce = 1;
  t.clock = 0;
}

NicModel::~NicModel() {
  finish_trace();
  top_->final();
}

void NicModel::finish_trace() {
#ifdef SIM_TRACE
  close_fst(fst_);
#endif
}

std::unique_ptr<NicModel> new_nic_model(rust::Str fst_path) {
  return std::make_unique<NicModel>(std::string(fst_path));
}

// ---------------------------------------------------------------------------------------------
// Memory

void NicModel::set_memory(rust::Slice<const MemRegion> regions) {
  // All or nothing: a bad region leaves the old table in place.
  std::vector<Region> table;
  for (const MemRegion& r : regions) {
    if (r.size == 0) continue;
    if (r.host == 0) throw std::invalid_argument("memory region without host memory");
    table.push_back(Region{r.base, r.size, reinterpret_cast<uint8_t*>(r.host)});
  }
  mem_.swap(table);
}

void NicModel::set_waiting_states(uint32_t tx_mask, uint32_t rx_mask) {
  tx_waiting_ = tx_mask;
  rx_waiting_ = rx_mask;
}

uint8_t* NicModel::word_at(uint32_t addr) {
  if (addr & 3) return nullptr;
  for (const Region& r : mem_)
    if (addr >= r.base && uint64_t(addr) + 4 <= r.base + r.size) return r.host + (addr - r.base);
  return nullptr;
}

// One DMA port in the low phase of a cycle: `ready` was driven before the eval.
void NicModel::serve(Port& p, bool valid, uint32_t addr, bool we, uint32_t wdata, bool ready) {
  p.resp_due = false;
  if (!(valid && ready)) return;
  active_ = true;
  last_dma_cycle_ = cycle_;
  p.resp_due = true;
  uint8_t* w = word_at(addr);
  if (!w) {
    p.fault_due = true;
    p.rdata_due = addr;
    dma_faults_++;
    return;
  }
  p.fault_due = false;
  if (we) {
    std::memcpy(w, &wdata, 4);  // little endian, as the NIC's words are
    p.rdata_due = 0;
    dma_writes_++;
  } else {
    std::memcpy(&p.rdata_due, w, 4);
    dma_reads_++;
  }
}

// ---------------------------------------------------------------------------------------------
// One clock cycle

void NicModel::step() {
  Vnic& t = *top_;
  active_ = false;
  if (rx_next_ < rx_.size()) {
    const uint16_t sym = rx_[rx_next_++];
    t.phy_rxd = sym & 0xFF;
    t.phy_rx_dv = (sym >> 8) & 1;
    active_ = true;
    if (rx_next_ == rx_.size()) {
      rx_.clear();
      rx_next_ = 0;
    }
  } else {
    t.phy_rxd = 0;
    t.phy_rx_dv = 0;
  }
  t.phy_rx_er = 0;
  t.mdio_in = mdio_line_;
  t.ee_do = ee_do_;
  t.ee_present = eeprom_present_;
  // Responses to the beats accepted in the last cycle; no acceptance in a fault's cycle.
  t.tx_bus__024resp = tx_port_.resp_due;
  t.tx_bus__024fault = tx_port_.resp_due && tx_port_.fault_due;
  t.tx_bus__024rdata = tx_port_.rdata_due;
  t.tx_bus__024ready = !(tx_port_.resp_due && tx_port_.fault_due);
  t.rx_bus__024resp = rx_port_.resp_due;
  t.rx_bus__024fault = rx_port_.resp_due && rx_port_.fault_due;
  t.rx_bus__024rdata = rx_port_.rdata_due;
  t.rx_bus__024ready = !(rx_port_.resp_due && rx_port_.fault_due);
  active_ |= tx_port_.resp_due || rx_port_.resp_due;
  t.clock = 0;
  t.eval();

  serve(tx_port_, t.tx_bus__024valid, t.tx_bus__024addr, t.tx_bus__024we, t.tx_bus__024wdata,
        t.tx_bus__024ready);
  serve(rx_port_, t.rx_bus__024valid, t.rx_bus__024addr, t.rx_bus__024we, t.rx_bus__024wdata,
        t.rx_bus__024ready);
  active_ |= t.tx_bus__024valid || t.rx_bus__024valid;
  if (t.phy_tx_en || t.phy_tx_er) {
    tx_cur_.push_back(static_cast<uint8_t>(t.phy_txd));
    tx_cur_er_ |= bool(t.phy_tx_er);
    active_ = true;
  } else if (!tx_cur_.empty()) {
    tx_done_.push_back(TxDone{std::move(tx_cur_), tx_cur_er_, cycle_});
    tx_cur_.clear();
    tx_cur_er_ = false;
    tx_frames_++;
  }
  // A ring engine in a state that waits for software is not work (set_waiting_states).
  const bool tx_waits = (tx_waiting_ >> (t.tx_state & 31)) & 1;
  const bool rx_waits = (rx_waiting_ >> (t.rx_state & 31)) & 1;
  active_ |= !tx_waits || !rx_waits || t.mdio_busy;

  quiet_ = active_ ? 0 : quiet_ + 1;

#ifdef SIM_TRACE
  if (fst_) fst_->dump(8 * cycle_ + 4);
#endif
  t.clock = 1;
  t.eval();
  cycle_++;
  mdio_line_ = mdio_.cycle(t.mdc, t.mdio_oe, t.mdio_out, t.phy_reset);
  ee_do_ = eeprom_present_ ? eeprom_.cycle(t.ee_cs, t.ee_sk, t.ee_di) : true;
#ifdef SIM_TRACE
  if (fst_) fst_->dump(8 * cycle_);
#endif
}

void NicModel::run(uint64_t n) {
  for (uint64_t i = 0; i < n; i++) step();
}

uint64_t NicModel::run_until_quiet(uint64_t idle_tail, uint64_t max) {
  uint64_t n = 0;
  while (n < max && quiet_ < idle_tail) {
    step();
    n++;
  }
  return n;
}

bool NicModel::active() const { return active_ || rx_next_ < rx_.size(); }

// ---------------------------------------------------------------------------------------------
// Register port

void NicModel::reg_write(uint32_t offset, uint32_t data) {
  Vnic& t = *top_;
  t.host__024sel = 1;
  t.host__024we = 1;
  t.host__024offset = offset & 0xFFFF;
  t.host__024wdata = data;
  step();
  quiet_ = 0;  // a write may start work that shows a cycle later
  t.host__024sel = 0;
  t.host__024we = 0;
}

uint32_t NicModel::reg_read(uint32_t offset) {
  Vnic& t = *top_;
  t.host__024sel = 1;
  t.host__024we = 0;
  t.host__024offset = offset & 0xFFFF;
  step();
  t.host__024sel = 0;
  // The register block answers in the cycle after the access (RegPort).
  step();
  return t.host__024rdata;
}

// ---------------------------------------------------------------------------------------------
// PHY, MDIO, EEPROM

void NicModel::phy_rx_push(rust::Slice<const uint8_t> frame, uint32_t gap) {
  for (uint8_t b : frame) rx_.push_back(uint16_t(b) | 0x100);
  for (uint32_t i = 0; i < gap; i++) rx_.push_back(0);
  quiet_ = 0;
  rx_frames_++;
}

uint64_t NicModel::phy_rx_pending() const { return rx_.size() - rx_next_; }

bool NicModel::take_tx_frame(rust::Vec<uint8_t>& out, bool& er, uint64_t& end_cycle) {
  if (tx_taken_ == tx_done_.size()) {
    tx_done_.clear();
    tx_taken_ = 0;
    return false;
  }
  const auto& f = tx_done_[tx_taken_++];
  out.clear();
  out.reserve(f.bytes.size());
  for (uint8_t b : f.bytes) out.push_back(b);
  er = f.er;
  end_cycle = f.end_cycle;
  return true;
}

void NicModel::set_mdio_phy(uint8_t slot, bool present, uint8_t address,
                            rust::Slice<const uint16_t> power_up) {
  mdio_.phy(slot).configure(present, address, power_up.data(), power_up.size());
}

uint16_t NicModel::mdio_phy_reg(uint8_t slot, uint8_t reg) const { return mdio_.phy(slot).reg(reg); }

void NicModel::set_eeprom(bool present, rust::Slice<const uint16_t> words) {
  eeprom_.load(words.data(), words.size());
  eeprom_present_ = present;
}

uint64_t NicModel::eeprom_reads() const { return eeprom_.reads(); }

bool NicModel::irq() const { return top_->irq; }
uint64_t NicModel::now() const { return cycle_; }

NicActivity NicModel::activity() const {
  NicActivity a;
  a.cycles = cycle_;
  a.dma_reads = dma_reads_;
  a.dma_writes = dma_writes_;
  a.dma_faults = dma_faults_;
  a.tx_frames = tx_frames_;
  a.rx_frames = rx_frames_;
  a.last_dma_cycle = last_dma_cycle_;
  return a;
}

}  // namespace dmanic
