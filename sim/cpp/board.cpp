#include "sim/cpp/board.h"

#include <stdexcept>

#include "sim/src/board.rs.h"

namespace dmanic {

BoardSim::BoardSim(uint32_t divisor, const std::string& fst_path)
    : ctx_(std::make_unique<VerilatedContext>()), divisor_(divisor) {
  if (divisor < 4) throw std::runtime_error("UART divisor below 4");
#ifdef SIM_TRACE
  if (!fst_path.empty()) ctx_->traceEverOn(true);
#else
  if (!fst_path.empty())
    throw std::runtime_error("sim was built without the `trace` feature; cannot write " + fst_path);
#endif
  top_ = std::make_unique<Vboard>(ctx_.get(), "TOP");
#ifdef SIM_TRACE
  if (!fst_path.empty()) {
    fst_ = std::make_unique<VerilatedFstC>();
    top_->trace(fst_.get(), 99);
    // Time in ns of the board's 100 MHz input clock (10 per cycle; the PLL wrapper passes the
    // clock through in simulation, so the core runs on it).
    fst_->set_time_unit("1ns");
    fst_->set_time_resolution("1ns");
    fst_->open(fst_path.c_str());
    if (!fst_->isOpen()) throw std::runtime_error("cannot open FST trace file " + fst_path);
  }
#endif
  top_->clock_100mhz = 0;
  top_->reset_n = 1;
  top_->uart_rx = 1;
  top_->rmii_rxd = 0;
  top_->rmii_crs_dv = 0;
  top_->eval();
}

BoardSim::~BoardSim() {
#ifdef SIM_TRACE
  if (fst_) fst_->close();
#endif
  top_->final();
}

void BoardSim::send(rust::Slice<const uint8_t> bytes) {
  for (uint8_t b : bytes) tx_queue_.push_back(b);
}

bool BoardSim::host_line() {
  if (tx_bit_ < 0) {
    if (tx_queue_.empty()) return true;
    tx_bit_ = 0;
    tx_tick_ = 0;
  }
  const uint8_t byte = tx_queue_.front();
  const bool level = tx_bit_ == 0 ? false : tx_bit_ == 9 ? true : ((byte >> (tx_bit_ - 1)) & 1) != 0;
  if (++tx_tick_ == divisor_) {
    tx_tick_ = 0;
    if (++tx_bit_ == 10) {
      tx_bit_ = -1;
      tx_queue_.pop_front();
    }
  }
  return level;
}

void BoardSim::sample_board_line(bool level) {
  if (rx_bit_ < 0) {
    if (!level) {  // start bit: sample every bit in its middle
      rx_bit_ = 0;
      rx_tick_ = 0;
    }
    return;
  }
  ++rx_tick_;
  const uint32_t mid = divisor_ / 2;
  if (rx_tick_ != mid + static_cast<uint32_t>(rx_bit_) * divisor_) return;
  if (rx_bit_ == 0) {
    if (level) rx_bit_ = -1;  // a glitch, not a start bit
    else rx_bit_ = 1;
    return;
  }
  if (rx_bit_ <= 8) {
    rx_shift_ = static_cast<uint8_t>((rx_shift_ >> 1) | (level ? 0x80 : 0));
    ++rx_bit_;
    return;
  }
  if (level) rx_queue_.push_back(rx_shift_);
  else ++framing_errors_;
  rx_bit_ = -1;
}

void BoardSim::step() {
  top_->uart_rx = host_line() ? 1 : 0;
  top_->reset_n = button_ ? 0 : 1;
  if (loopback_) {
    top_->rmii_rxd = prev_txd_;
    top_->rmii_crs_dv = prev_tx_en_ ? 1 : 0;
  } else {
    top_->rmii_rxd = 0;
    top_->rmii_crs_dv = 0;
  }
  top_->clock_100mhz = 0;
  top_->eval();
  sample_board_line(top_->uart_tx != 0);
  prev_txd_ = top_->rmii_txd;
  prev_tx_en_ = top_->rmii_tx_en != 0;
  if (prev_tx_en_) ++rmii_tx_cycles_;
#ifdef SIM_TRACE
  if (fst_) fst_->dump(10 * cycle_);
#endif
  top_->clock_100mhz = 1;
  top_->eval();
#ifdef SIM_TRACE
  if (fst_) fst_->dump(10 * cycle_ + 5);
#endif
  ++cycle_;
}

rust::Vec<uint8_t> BoardSim::receive(uint64_t max_cycles, uint64_t want) {
  for (uint64_t i = 0; i < max_cycles && rx_queue_.size() < want; ++i) step();
  rust::Vec<uint8_t> out;
  for (uint8_t b : rx_queue_) out.push_back(b);
  rx_queue_.clear();
  return out;
}

void BoardSim::idle(uint64_t cycles) {
  for (uint64_t i = 0; i < cycles; ++i) step();
}

std::unique_ptr<BoardSim> new_board_sim(uint32_t divisor, rust::Str fst_path) {
  return std::make_unique<BoardSim>(divisor, std::string(fst_path));
}

}  // namespace dmanic
