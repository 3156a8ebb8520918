#include "sim/cpp/board.h"

#include <algorithm>
#include <stdexcept>

#include "sim/src/board.rs.h"

namespace dmanic {

BoardSim::BoardSim(uint32_t divisor, const std::string& fst_path)
    : ctx_(std::make_unique<VerilatedContext>()), divisor_(divisor) {
  if (divisor < 4) throw std::runtime_error("UART divisor below 4");
  prepare_trace(*ctx_, fst_path);
  top_ = std::make_unique<Vboard>(ctx_.get(), "TOP");
#ifdef SIM_TRACE
  // Time in ps: 20000 per core cycle (50 MHz), the PHY's RXC edges between (board.h).
  if (!fst_path.empty()) fst_ = open_fst(*top_, fst_path, "1ps");
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
  close_fst(fst_);
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

// Core cycle c runs from 20000c ps to 20000(c+1) ps: the core clock falls at its middle and
// rises at its end. The PHY's RXC and its RX outputs have their own timeline (board.h), so the
// events of a cycle are taken in time order, one eval each.
void BoardSim::step() {
  const uint64_t t0 = kCorePs * cycle_;
  const uint64_t fall = t0 + kCorePs / 2, rise = t0 + kCorePs;
  top_->uart_rx = host_line() ? 1 : 0;
  top_->reset_n = button_ ? 0 : 1;
  top_->eth_mdio = mdio_line_ ? 1 : 0;
  bool fell = false;
  for (;;) {
    const uint64_t core = fell ? rise : fall;
    const uint64_t t = std::min({core, rxc_next_ps_, drive_next_ps_});
    if (t == drive_next_ps_ && t <= rise) {
      // The PHY launches: before (or after) RXC's edge by its offset.
      phy_rx_drive(drive_rising_);
      drive_rising_ = !drive_rising_;
      drive_next_ps_ += kRxcHalfPs;
      continue;  // the pins change with the next eval
    }
    if (t == rxc_next_ps_ && t <= rise) {
      rxc_ = !rxc_;
      top_->eth_rxc = rxc_ ? 1 : 0;
      rxc_next_ps_ += kRxcHalfPs;
      eval_at(t);
      continue;
    }
    if (!fell) {
      top_->clk25 = 0;
      eval_at(fall);
      sample_board_line(top_->uart_tx != 0);
      fell = true;
      continue;
    }
    top_->clk25 = 1;
    eval_at(rise);
    break;
  }
  ++cycle_;
  mdio_line_ = mdio_phy_.cycle(top_->eth_mdc, top_->eth_mdio__en, top_->eth_mdio__out,
                               top_->eth_rst_n == 0);
}

void BoardSim::set_phy_rx_launch_ps(int32_t offset_ps) {
  if (offset_ps <= -static_cast<int32_t>(kRxcHalfPs) || offset_ps >= static_cast<int32_t>(kRxcHalfPs))
    throw std::runtime_error("the PHY's launch offset must be within half an RXC period");
  // The next launch: for the next rising edge of RXC at or after now.
  uint64_t edge = rxc_next_ps_;
  bool rising = !rxc_;
  if (!rising) edge += kRxcHalfPs;
  const int64_t when = static_cast<int64_t>(edge) + offset_ps;
  drive_next_ps_ = static_cast<uint64_t>(std::max<int64_t>(when, kCorePs * cycle_));
  drive_rising_ = true;
}

void BoardSim::eval_at(uint64_t ps) {
  top_->eval();
  watch_tx(ps);
#ifdef SIM_TRACE
  if (fst_) fst_->dump(ps);
#else
  (void)ps;
#endif
}

// The PHY's transmit side: TX_EN and the nibble at TXC's rising edge, TX_EN xor TX_ER at its
// falling edge; nibbles low first make the bytes, TX_EN low ends a frame.
void BoardSim::watch_tx(uint64_t ps) {
  const uint8_t data = static_cast<uint8_t>((top_->eth_txd & 0xF) | (top_->eth_tx_ctl << 4));
  if (data != tx_pins_) {
    tx_pins_ = data;
    tx_change_ps_ = ps;
    // A change right after the edge that sampled: hold.
    if (ps - txc_edge_ps_ < kTxMarginPs) ++tx_timing_violations_;
  }
  const bool txc = top_->eth_txc != 0;
  if (txc == txc_) return;
  txc_ = txc;
  txc_edge_ps_ = ps;
  // The PHY samples at both edges: TXD/TX_CTL must have been still for the setup time.
  if (ps - tx_change_ps_ < kTxMarginPs) ++tx_timing_violations_;
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

// The PHY's receive side, launched at its offset from RXC's edges: for a rising edge the next
// nibble with RX_DV, for a falling edge RX_DV xor RX_ER.
void BoardSim::phy_rx_drive(bool for_rising_edge) {
  if (!for_rising_edge) {
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
  mdio_phy_.phy(0).configure(present, address, power_up.data(), power_up.size());
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
