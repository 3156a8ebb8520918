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
    // Time in ns: 20 per core cycle (50 MHz), the PHY's RXC edges between (board.h).
    fst_->set_time_unit("1ns");
    fst_->set_time_resolution("1ns");
    fst_->open(fst_path.c_str());
    if (!fst_->isOpen()) throw std::runtime_error("cannot open FST trace file " + fst_path);
  }
#endif
  top_->clk25 = 0;
  top_->eth_rxc = 0;
  top_->reset_n = 1;
  top_->uart_rx = 1;
  top_->eth_rxd = 0;
  top_->eth_rx_ctl = 0;
  top_->eth_mdio = 1;
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

// Core cycle c: the core clock falls at 20c + 10 ns, RXC has an edge at 20c + 13 ns, the core
// clock rises at 20c + 20 ns.
void BoardSim::step() {
  const uint64_t t0 = 20 * cycle_;
  top_->uart_rx = host_line() ? 1 : 0;
  top_->reset_n = button_ ? 0 : 1;
  top_->eth_mdio = mdio_line_ ? 1 : 0;
  // The PHY's outputs change 7 ns after RXC's last edge, 13 ns before its next.
  phy_rx_drive(!rxc_);
  top_->clk25 = 0;
  eval_at(t0 + 10);
  sample_board_line(top_->uart_tx != 0);
  rxc_ = !rxc_;
  top_->eth_rxc = rxc_ ? 1 : 0;
  eval_at(t0 + 13);
  top_->clk25 = 1;
  eval_at(t0 + 20);
  ++cycle_;
  mdio_line_ = mdio_phy_.cycle(top_->eth_mdc, top_->eth_mdio__en, top_->eth_mdio__out,
                               top_->eth_rst_n == 0);
}

void BoardSim::eval_at(uint64_t ns) {
  top_->eval();
  watch_tx();
#ifdef SIM_TRACE
  if (fst_) fst_->dump(ns);
#else
  (void)ns;
#endif
}

// The PHY's transmit side: TX_EN and the nibble at TXC's rising edge, TX_EN xor TX_ER at its
// falling edge; nibbles low first make the bytes, TX_EN low ends a frame.
void BoardSim::watch_tx() {
  const bool txc = top_->eth_txc != 0;
  if (txc == txc_) return;
  txc_ = txc;
  if (txc) {
    tx_en_ = top_->eth_tx_ctl != 0;
    tx_nibble_ = top_->eth_txd & 0xF;
    return;
  }
  const bool er = tx_en_ != (top_->eth_tx_ctl != 0);
  if (loopback_) loop_.push_back(static_cast<uint8_t>(tx_nibble_ | (tx_en_ << 4) | (er << 5)));
  if (!tx_en_) {
    if (!tx_frame_.empty()) {
      tx_frames_.insert(tx_frames_.end(), tx_frame_.begin(), tx_frame_.end());
      tx_frames_.push_back(0xFFFF);
      tx_frame_.clear();
    }
    tx_half_ = 0;
    return;
  }
  ++tx_nibbles_;
  if (tx_half_ == 0) {
    tx_byte_ = static_cast<uint16_t>(tx_nibble_ | (er << 8));
    tx_half_ = 1;
  } else {
    tx_byte_ = static_cast<uint16_t>(tx_byte_ | (tx_nibble_ << 4) | (er << 8));
    tx_frame_.push_back(tx_byte_);
    tx_half_ = 0;
  }
}

// The PHY's receive side, between RXC's edges (centred, as with a PHY's RGMII-ID receive
// delay): before a rising edge the next nibble with RX_DV, before a falling edge RX_DV xor
// RX_ER.
void BoardSim::phy_rx_drive(bool next_edge_rising) {
  if (!next_edge_rising) {
    top_->eth_rx_ctl = (rx_cur_ >> 4 & 1) ^ (rx_cur_ >> 5 & 1);
    return;
  }
  rx_cur_ = 0;
  if (loopback_ && !loop_.empty()) {
    rx_cur_ = loop_.front();
    loop_.pop_front();
  }
  top_->eth_rxd = rx_cur_ & 0xF;
  top_->eth_rx_ctl = rx_cur_ >> 4 & 1;
}

rust::Vec<uint16_t> BoardSim::take_tx_frames() {
  rust::Vec<uint16_t> out;
  for (uint16_t w : tx_frames_) out.push_back(w);
  tx_frames_.clear();
  return out;
}

void BoardSim::set_mdio_phy(bool present, uint8_t address, rust::Slice<const uint16_t> power_up) {
  if (power_up.size() != 32) throw std::runtime_error("a PHY has 32 registers");
  mdio_phy_.configure(present, address, power_up.data());
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
